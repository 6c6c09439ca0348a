# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix (issue 4): each API fault, injected through the emulator's fault controls, against each module
and the rotation role, run by the real ansible-playbook. Each cell states its expected outcome (recovered, or a
clear one-line failure saying what to do) and checks what is left afterwards: no orphan token (one whose secret
never reached anybody), no consumer without a working token, no half-written or stray consumer file.

The matrix is printed at the end of the pytest run and written to tests/output/fault-matrix.md."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from _astra_it import REPO, info, play, show, task, token
from _rotation import Consumers, client_id, family_ids, rotation_args, seed_family, token_status, wait_for

RW = 'R/W Svc Acct'
READ, WRITE = 'read', 'write'
# Each cell appends its row to ROWS (one JSON object per line: pytest-xdist workers share it); the session hook in
# conftest.py renders them as a table, prints it and writes it to OUTPUT.
ROWS = REPO / 'tests' / 'output' / 'fault-matrix.jsonl'
OUTPUT = REPO / 'tests' / 'output' / 'fault-matrix.md'

# fault name -> (which call it hits, fault rules, module options, expected outcome)
FAULTS = {
    '429 with Retry-After: 1 (x2)': (READ, [dict(status=429, retry_after=1, times=2)], {}, 'recovered'),
    '429 without Retry-After (x1)': (READ, [dict(status=429, times=1)], {}, 'recovered'),
    '502 then 504, within the retry budget': (READ, [dict(status=502, times=1), dict(status=504, times=1)], {},
                                              'recovered'),
    '500 on every try, beyond the retry budget': (READ, [dict(status=500, times=-1)], {'retries': 1}, 'failed'),
    'latency 3 s above timeout 1 s': (READ, [dict(latency=3, times=-1)], {'timeout': 1, 'retries': 1}, 'failed'),
    '503 on every write, beyond the retry budget': (WRITE, [dict(status=503, times=-1)], {'retries': 1}, 'failed'),
    'connection dropped before the write': (WRITE, [dict(drop='before', times=1)], {}, 'recovered'),
    'connection dropped after the write committed': (WRITE, [dict(drop='after', times=1)], {}, 'recovered'),
    'create committed, its answer lost (timeout)': ('create', [dict(latency=1.5, times=1)], {'timeout': 1},
                                                    'recovered'),
}
SUBJECTS = ['astra_token create', 'astra_token delete', 'astra_token_info', 'astra_role_info', 'token_rotation']
ROUTES = {  # subject -> (method, path) of its read and write calls
    'astra_token create': {READ: ('GET', '/v2/tokens'), WRITE: ('POST', '/v2/tokens'), 'create': ('POST', '/v2/tokens')},
    'astra_token delete': {READ: ('GET', '/v2/tokens'), WRITE: ('DELETE', '/v2/tokens/')},
    'astra_token_info': {READ: ('GET', '/v2/tokens')},
    'astra_role_info': {READ: ('GET', '/v2/organizations/roles')},
    'token_rotation': {READ: ('GET', '/v2/tokens'), WRITE: ('POST', '/v2/tokens'), 'create': ('POST', '/v2/tokens')},
}
CELLS = [(fault, subject) for fault in FAULTS for subject in SUBJECTS if FAULTS[fault][0] in ROUTES[subject]]


def record(fault, subject, outcome, seconds, requests, detail):
    row = {'fault': fault, 'subject': subject, 'outcome': outcome, 'seconds': round(seconds, 1),
           'requests': requests, 'detail': detail}
    with open(ROWS, 'a', encoding='utf-8') as handle:
        handle.write(json.dumps(row) + '\n')


def render_matrix(rows):
    """The matrix as a Markdown table."""
    lines = ['| fault | subject | outcome | s | API requests | message or state after |', '|---|---|---|---|---|---|']

    def order(row):
        return list(FAULTS).index(row['fault']) if row['fault'] in FAULTS else 99, SUBJECTS.index(row['subject'])

    for row in sorted(rows, key=order):
        lines.append('| %(fault)s | %(subject)s | %(outcome)s | %(seconds)s | %(requests)s | %(detail)s |' % row)
    return '\n'.join(lines) + '\n'


def failure_message(run):
    """The one failure message of the run (a one-line text without a traceback)."""
    failed = [item['result'] for item in run.results if item['status'] == 'failed']
    assert failed, 'no task failed\n' + run.describe()
    msg = str(failed[-1].get('msg', ''))  # the last: a role's rescue explains the module's failure
    assert msg.strip() and '\n' not in msg and 'Traceback' not in msg, repr(msg)
    return msg


def module_play(subject, desc, options):
    common = dict(options)
    if subject == 'astra_token create':
        # no_log hides a failure's message: the registered result (never a secret in a failure) is shown instead
        return play([token('create', 'created', ignore_errors=True, description=desc, roles=[RW], **common),
                     show('created'),
                     task('fail as the create did', 'ansible.builtin.fail', {'msg': '{{ created.msg }}'},
                          when='created is failed')])
    if subject == 'astra_token delete':
        return play([token('delete', 'deleted', no_log=False, description=desc, state='absent', **common)])
    if subject == 'astra_token_info':
        return play([info('list', 'listed', **common)])
    return play([task('roles', 'astra.devops.astra_role_info', common, register='roles')])


def rotation_play(options):
    """The role in a play whose module_defaults set the retry and timeout options of the matrix cell."""
    return yaml.safe_dump([{
        'name': 'Rotate under a fault', 'hosts': 'astra_consumers', 'gather_facts': False,
        'module_defaults': {'group/astra.devops.astra': dict(options)},
        'roles': [{'role': 'astra.devops.token_rotation'}],
    }], sort_keys=False)


@pytest.mark.parametrize('fault,subject', CELLS, ids=['%s | %s' % cell for cell in CELLS])
def test_fault(emu, run_playbook, tmp_path, fault, subject):
    kind, rules, options, expected = FAULTS[fault]
    method, path = ROUTES[subject][kind]
    desc = emu.desc('fault')
    consumers = old = None
    if subject == 'astra_token delete':
        old = emu.mint(roles=[RW], description=desc)
    if subject == 'token_rotation':
        consumers = Consumers(tmp_path / 'consumers')
        old = seed_family(emu, consumers, desc, age_days=3)
    for rule in rules:
        emu.fault(method=method, path=path, **rule)
    emu.reset_counts()
    started = time.monotonic()
    if subject == 'token_rotation':
        run = run_playbook(rotation_play(options), inventory=consumers.inventory(), expect_rc=None,
                           allowed_secret_files=consumers.paths, extra_args=rotation_args(token_rotation_description=desc))
    else:
        run = run_playbook(module_play(subject, desc, options), expect_rc=None)
    seconds = time.monotonic() - started
    requests = sum(emu.counts().values())
    emu.clear_faults()
    family = family_ids(emu, desc)

    if subject == 'astra_token create' and run.rc != 0:
        assert run.shown('created')['failed'] is True
    if expected == 'failed':
        assert run.rc != 0, 'the run succeeded under %s\n%s' % (fault, run.describe())
        detail = failure_message(run)
        assert any(hint in detail for hint in ('gave up after', 'Raise timeout', 'try again later')), detail
        if subject == 'token_rotation' and kind != READ:
            assert 'Nothing was' in detail and 'consumer' in detail, detail
        outcome = 'clear failure'
    else:
        assert run.rc == 0, 'the run did not recover from %s\n%s' % (fault, run.describe())
        outcome = 'recovered'

    # what is left: no orphan token, consumers with a working token, no half-written or stray file
    if subject == 'astra_token create':
        if run.rc == 0:
            created = run.shown('created')
            assert created['has_secret'] and family == [created['token']['client_id']], (family, created)
            detail = 'one token, its secret returned; retries: %d' % len(created.get('api_retries', []))
        else:
            assert family == [], 'orphan tokens left: %s' % family
    elif subject == 'astra_token delete':
        assert family == ([] if run.rc == 0 else [old['clientId']]), family
        if run.rc == 0:
            detail = 'token deleted; retries: %d' % len(run.result('delete').get('api_retries', []))
    elif subject in ('astra_token_info', 'astra_role_info'):
        if run.rc == 0:
            name = 'list' if subject == 'astra_token_info' else 'roles'
            result = run.result(name)
            assert result.get('tokens' if name == 'list' else 'roles'), result
            detail = 'listed; retries: %d' % len(result.get('api_retries', []))
    else:
        held = consumers.client_ids()
        for host in consumers.hosts:
            assert token_status(emu, consumers.token(host)) == 200, '%s holds a refused token' % host
        assert consumers.stray_files() == [], consumers.stray_files()
        if run.rc == 0:
            assert len(family) == 1 and set(held.values()) == set(family) and family != [old['clientId']], \
                (family, held)
            detail = 'rotated to %s; every consumer holds it' % family[0]
        else:
            assert family == [old['clientId']] and set(held.values()) == {old['clientId']}, (family, held)
            detail = 'nothing created or deleted; consumers keep %s. %s' % (old['clientId'], detail)
    record(fault, subject, outcome, seconds, requests, detail.replace('|', '/'))


def test_caller_token_revoked_in_the_middle_of_a_rotation(emu, run_playbook, tmp_path):
    """The API token the role runs with is revoked while the role waits its grace period: the delete fails with a
    clear 401 message; every consumer holds the new, working token; nothing else is deleted. A re-run with a valid
    API token completes the rotation."""
    desc = emu.desc('fault-revoked')
    consumers = Consumers(tmp_path / 'consumers')
    old = seed_family(emu, consumers, desc, age_days=3)
    caller = emu.mint(roles=['Organization Administrator'], description='it-fault-caller')
    emu.reset_counts()
    started = time.monotonic()
    job = run_playbook.start(REPO / 'playbooks' / 'rotate_token.yml', inventory=consumers.inventory(),
                             extra_env={'ASTRA_API_TOKEN': caller['token']}, verbosity=1,
                             extra_args=rotation_args(token_rotation_description=desc, token_rotation_grace_period=3))
    wait_for(lambda: 'Wait the grace period' in job.log_text(), 60, 'the grace period', alive=lambda: job.running)
    emu.revoke(caller['clientId'])
    run = job.wait(expect_rc=None, allowed_secret_files=consumers.paths)
    seconds = time.monotonic() - started
    assert run.rc != 0, run.describe()
    message = failure_message(run)
    assert '401' in message and 'api_token' in message, message

    family = family_ids(emu, desc)
    held = set(consumers.client_ids().values())
    assert len(held) == 1 and held != {old['clientId']} and set(family) == held | {old['clientId']}, (family, held)
    for host in consumers.hosts:
        assert token_status(emu, consumers.token(host)) == 200
    assert consumers.stray_files() == []

    requests = sum(emu.counts().values())
    rerun = run_playbook(REPO / 'playbooks' / 'rotate_token.yml', inventory=consumers.inventory(),
                         allowed_secret_files=consumers.paths,
                         extra_args=rotation_args(token_rotation_description=desc))
    assert rerun.rc == 0
    family = family_ids(emu, desc)
    assert family == sorted(held), (family, held)
    record('caller token revoked mid-rotation', 'token_rotation', 'clear failure', seconds, requests,
           '%s Consumers hold %s (works); the re-run with a valid token completed it, deleting only %s.'
           % (message[:160], client_id(consumers.token('c1')), old['clientId']))
