# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recorded runs hold no secret (issue 23): the tools users record their runs with keep every result, file and
event, so what they keep is read back and scanned for every secret the emulator issued and the store servers'
credentials.

- ARA (`ara[server]`, its callback with the offline client and sqlite): contents are stored compressed, so the
  records are read back through ARA's own client (_ara_dump.py, in a process of its own) and every record of every
  endpoint is scanned: playbooks, plays, tasks, hosts (facts), results, files (the playbook and role files' text),
  records, labels.
- ansible-navigator (`run --ee false`, stdout mode): its playbook artifact (every task result and the stdout lines)
  and its log file.

The runs: a rotation (playbooks/rotate_token.yml) of a family held by two consumer files, an AWS Secrets Manager
secret (moto_server) and a Vault KV v2 secret (OpenBao); and module tasks: a create with no_log,
astra_token_check of the new token (without no_log: the module hides its token option), astra_token_info. Each run
also goes through the usual leak scan (stdout, stderr, log, every file under the test's folder). Each recorder must
have recorded the run (counts of results and events), and a negative control shows that a printed token is found
in both recorders' records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ara.setup import callback_plugins as ARA_CALLBACKS

from _astra_it import CALLBACK_DIR, TOKEN_SHAPE, LeakError, SecretFinder, info, play, task, token
from _rotation import ROTATE_PLAYBOOK, Consumers, family_ids, result_of, rotation_args, token_status
from _stores_it import aws_store, copy_logs, vault_store  # noqa: F401 pylint: disable=unused-import
from test_rotation_stores import environment, seed, stores_of

HERE = Path(__file__).resolve().parent
NAVIGATOR = Path(sys.executable).parent / 'ansible-navigator'
ARA_DUMP = HERE / '_ara_dump.py'
FILES = {'c1': 'raw', 'c2': 'env'}
ARA_ENDPOINTS = ('playbooks', 'plays', 'tasks', 'hosts', 'results', 'files', 'records', 'labels')


# --------------------------------------------------------------------------------------------------------------
# the recorders
# --------------------------------------------------------------------------------------------------------------

def ara_env(folder):
    """ARA's callback (beside the tests' capture callback), offline client, sqlite under `folder`."""
    return {'ANSIBLE_CALLBACK_PLUGINS': '%s:%s' % (CALLBACK_DIR, ARA_CALLBACKS), 'ARA_API_CLIENT': 'offline',
            'ARA_BASE_DIR': str(folder)}


def ara_records(folder, out):
    """Everything ARA recorded under `folder`, read back through its offline client: {endpoint: [records]}."""
    env = dict(os.environ, ARA_BASE_DIR=str(folder))
    proc = subprocess.run([sys.executable, str(ARA_DUMP), str(out)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, 'reading the ARA records failed:\n%s\n%s' % (proc.stdout[-3000:], proc.stderr[-3000:])
    records = json.loads(Path(out).read_text())
    assert set(records) == set(ARA_ENDPOINTS), sorted(records)
    return records


def navigator(run_playbook, folder, playbook, args, extra_env=None, allowed_secret_files=()):
    """ansible-navigator run --ee false in stdout mode, its playbook artifact and log file in `folder` (and its
    HOME there: its caches are scanned too); (the run, the artifact's JSON, the log's text)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(extra_env or {})
    env.update({'PATH': '%s:%s' % (NAVIGATOR.parent, os.environ['PATH']), 'HOME': str(folder / 'home')})
    run = run_playbook.run_tool(
        [str(NAVIGATOR), 'run', str(playbook), '--ee', 'false', '--mode', 'stdout', '--pae', 'true',
         '--pas', str(folder / '{playbook_name}-artifact-{time_stamp}.json'),
         '--lf', str(folder / 'navigator.log'), '--ll', 'debug'] + list(args),
        extra_env=env, allowed_secret_files=allowed_secret_files, timeout=180)
    return run, navigator_artifact(folder), (folder / 'navigator.log').read_text(errors='replace')


def navigator_artifact(folder):
    artifacts = sorted(folder.glob('*-artifact-*.json'))
    assert len(artifacts) == 1, 'expected one playbook artifact in %s, found %s' % (folder, artifacts)
    return json.loads(artifacts[0].read_text())


def artifact_results(artifact):
    """The task results (one per host and task) the playbook artifact holds."""
    return [result for one_play in artifact['plays'] for result in one_play['tasks']]


# --------------------------------------------------------------------------------------------------------------
# the scan
# --------------------------------------------------------------------------------------------------------------

def store_credentials(aws, vault):
    """The store servers' own credentials: OpenBao's root token and AppRole role id; moto's fixed dummy keys (too
    short for the scanner, which looks for secrets of 16 characters and more, like every such key)."""
    return [vault.root_token, vault.role_id, aws.env['AWS_ACCESS_KEY_ID'], aws.env['AWS_SECRET_ACCESS_KEY']]


class RecordScan:
    """Scans labelled records for the issued secrets and anything token-shaped; counts what it read."""

    def __init__(self, secrets):
        self.finder = SecretFinder(secrets)
        self.secrets = len(secrets)
        self.records = 0
        self.found = []

    def check(self, label, value):
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        self.records += 1
        hit = self.finder.find(text)
        if hit:
            self.found.append('%s holds an issued secret (%s...)' % (label, hit[:12]))
        elif TOKEN_SHAPE.search(text):
            self.found.append('%s holds a token-shaped string' % label)

    def ara(self, records):
        for endpoint in ARA_ENDPOINTS:
            for record in records[endpoint]:
                self.check('ARA %s/%s' % (endpoint, record['id']), record)

    def navigator(self, artifact, log_text):
        for index, result in enumerate(artifact_results(artifact)):
            self.check('artifact result %d (%s)' % (index, result.get('task')), result)
        self.check('artifact stdout', '\n'.join(artifact['stdout']))
        self.check('artifact (whole)', artifact)
        self.check('navigator log', log_text)


def ara_results_of(records, playbook_name):
    """The results ARA recorded for the playbooks whose path ends with playbook_name."""
    ids = {p['id'] for p in records['playbooks'] if p['path'].endswith(playbook_name)}
    assert ids, 'ARA recorded no playbook %s: %s' % (playbook_name, [p['path'] for p in records['playbooks']])
    return [r for r in records['results'] if r['playbook']['id'] in ids]


# --------------------------------------------------------------------------------------------------------------
# the runs
# --------------------------------------------------------------------------------------------------------------

def rotation(emu, tmp_path, aws, vault):
    """A family held by two files, an AWS secret and a Vault secret: (consumers, description, old token, role
    arguments, environment)."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('recorded-rotation')
    old, aws_secret, vault_path = seed(emu, consumers, aws, vault, desc)
    args = rotation_args(token_rotation_description=desc, token_rotation_stores=stores_of(aws_secret, vault_path))
    return consumers, desc, old, args, environment(aws, vault)


def assert_rotated(emu, run, consumers, desc, old):
    """The recorded rotation was a real one: one new token in the family, held by the files; the old refused."""
    result = result_of(run)
    family = family_ids(emu, desc)
    assert result['action'] == 'rotated' and len(family) == 1 and family[0] != old['clientId'], (result, family)
    assert result['new_client_id'] == family[0] and len(result['stores_updated']) == 2, result
    assert set(consumers.client_ids().values()) == {family[0]}
    assert token_status(emu, old['token']) == 401


def module_playbook(desc):
    return play([
        token('create a token', 'created', description=desc, roles=['R/W Svc Acct']),
        task('check the new token', 'astra.devops.astra_token_check', {'token': '{{ created.secret.token }}'},
             register='checked'),
        info('list the family', 'listed', description=desc),
        task('what the modules said', 'ansible.builtin.debug', {'msg': {
            'created': '{{ created.token.client_id }}', 'accepted': '{{ checked.accepted }}',
            'checked': '{{ checked.client_id }}', 'listed': "{{ listed.tokens | map(attribute='client_id') }}"}}),
    ], name='module tasks')


def assert_modules_ran(emu, run, desc):
    said = run.result('what the modules said')['msg']
    family = family_ids(emu, desc)
    assert run.status('create a token') == 'changed' and len(family) == 1, (run.status('create a token'), family)
    assert said['created'] == said['checked'] == family[0] and said['accepted'] in (True, 'True'), said
    assert said['listed'] in ([family[0]], str([family[0]])), said


# --------------------------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------------------------

def test_ara_and_navigator_records_of_a_rotation_with_stores_and_of_module_tasks_hold_no_secret(
        emu, run_playbook, tmp_path, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """Each run is recorded by both tools at once: ansible-navigator runs it, with ARA's callback enabled."""
    consumers, desc, old, args, env = rotation(emu, tmp_path, aws_store, vault_store)
    ara_dir = tmp_path / 'ara'
    env.update(ara_env(ara_dir))
    rotated, rotation_artifact, rotation_log = navigator(
        run_playbook, tmp_path / 'navigator-rotation', ROTATE_PLAYBOOK,
        ['-i', str(consumers.inventory()), '-vv'] + args, extra_env=env, allowed_secret_files=consumers.paths)
    assert_rotated(emu, rotated, consumers, desc, old)
    modules_desc = emu.desc('recorded-modules')
    playbook = tmp_path / 'modules.yml'
    playbook.write_text(module_playbook(modules_desc))
    modules, modules_artifact, modules_log = navigator(
        run_playbook, tmp_path / 'navigator-modules', playbook, ['-i', 'localhost,', '-c', 'local', '-vv'],
        extra_env=ara_env(ara_dir), allowed_secret_files=consumers.paths)
    assert_modules_ran(emu, modules, modules_desc)
    records = ara_records(ara_dir, tmp_path / 'ara-records.json')

    secrets = emu.secrets() + store_credentials(aws_store, vault_store)
    ara, nav = RecordScan(secrets), RecordScan(secrets)
    ara.ara(records)
    nav.navigator(rotation_artifact, rotation_log)
    nav.navigator(modules_artifact, modules_log)
    counts = {endpoint: len(items) for endpoint, items in records.items()}
    results = {'rotation': len(artifact_results(rotation_artifact)), 'modules': len(artifact_results(modules_artifact))}
    print('\nARA: %d records read (%s); %d secrets looked for, %d found'
          % (ara.records, ', '.join('%s %d' % item for item in sorted(counts.items())), ara.secrets, len(ara.found)))
    print('ansible-navigator: %d records read (task results %s, stdout lines %d, log %d bytes); %d secrets looked '
          'for, %d found' % (nav.records, results, len(rotation_artifact['stdout']) + len(modules_artifact['stdout']),
                             len(rotation_log) + len(modules_log), nav.secrets, len(nav.found)))
    assert ara.found == [], 'ARA: %s' % ara.found
    assert nav.found == [], 'ansible-navigator: %s' % nav.found

    # ARA recorded both runs whole: every result the capture callback saw, the contents, the role's files, the hosts.
    assert len(records['playbooks']) == 2 and all(p['status'] == 'completed' for p in records['playbooks'])
    rotation_results = ara_results_of(records, 'rotate_token.yml')
    assert len(rotation_results) >= len(rotated.results) > 40, (len(rotation_results), len(rotated.results))
    module_results = ara_results_of(records, 'modules.yml')
    assert len(module_results) >= len(modules.results) == 4, (len(module_results), len(modules.results))
    # the contents were read back decompressed: the check's answer, and the create's as no_log left it
    assert [r['content'].get('accepted') for r in module_results if 'accepted' in r['content']] == [True], module_results
    assert sum('censored' in r['content'] for r in module_results) == 1, module_results
    assert any(f['path'].endswith('roles/token_rotation/tasks/main.yml') and f['content'] for f in records['files'])
    assert {h['name'] for h in records['hosts']} >= {'c1', 'c2', 'localhost'}, records['hosts']

    # The navigator's artifacts hold both runs whole too.
    assert rotation_artifact['status'] == modules_artifact['status'] == 'successful'
    assert results['rotation'] >= len(rotated.results) > 40, (results, len(rotated.results))
    assert results['modules'] >= len(modules.results) == 4, (results, len(modules.results))

    # and the usual scan once more, with the ARA records as read back and the store servers' logs
    copy_logs(tmp_path, aws_store, vault_store)
    assert run_playbook.scan(rotated, consumers.paths) == []


def test_a_printed_token_is_found_in_the_ara_records_and_the_navigator_artifact(emu, run_playbook, tmp_path):
    """The negative control: a task that prints a minted token (debug without no_log) leaves it in ARA's records
    and in the navigator's playbook artifact, and the scans above report it there."""
    leaky = play([token('create a token', 'created', description=emu.desc('recorded-leak'), roles=['R/W Svc Acct']),
                  task('print it', 'ansible.builtin.debug', {'msg': '{{ created.secret.token }}'})], name='leak')
    playbook = tmp_path / 'leak.yml'
    playbook.write_text(leaky)
    ara_dir = tmp_path / 'ara'
    with pytest.raises(LeakError):  # the usual scan finds it in the output; the records are scanned below
        navigator(run_playbook, tmp_path / 'navigator', playbook, ['-i', 'localhost,', '-c', 'local'],
                  extra_env=ara_env(ara_dir))

    ara, nav = RecordScan(emu.secrets()), RecordScan(emu.secrets())
    nav.navigator(navigator_artifact(tmp_path / 'navigator'), '')
    ara.ara(ara_records(ara_dir, tmp_path / 'ara-records.json'))
    print('\nnegative control: ARA %d records read, found: %s\nansible-navigator %d records read, found: %s'
          % (ara.records, ara.found, nav.records, nav.found))
    assert any(f.startswith('ARA results/') for f in ara.found), ara.found
    assert any(f.startswith('artifact result') and 'print it' in f for f in nav.found), nav.found
    assert any(f.startswith('artifact stdout') for f in nav.found), nav.found
