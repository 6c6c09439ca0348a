# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role's hardening (issue 9): what a new user's misuse found, each with a test. Every run goes
through the harness's leak scanner (every secret the emulator issued, in stdout, stderr, the log and every file but the
consumer files), at -vvvv unless a test says otherwise."""

from __future__ import annotations

import calendar
import json
import os
import stat
import subprocess
import time

import pytest

from _rotation import (CREATE_ROUTE, DELETE_ROUTE, FAMILY_ROLES, ROTATE_PLAYBOOK, Consumers, failure_messages,
                       family_ids, result_of, rotation_args, seed_family, token_status, wait_for, wait_probing)
from test_rotation import api_counts, assert_converged, rotate, start_rotation


@pytest.fixture
def consumers(tmp_path):
    return Consumers(tmp_path / 'consumers')


def one_failure(run, *words):
    messages = [m for m in failure_messages(run) if all(w in m for w in words)]
    assert messages, 'no failure message with %s; failures: %s\n%s' % (words, failure_messages(run), run.describe())
    return messages[0]


# A secret printed by a consumer command -----------------------------------------------------------------------

# A hook whose command prints what it was given when it fails, as a careless one might. (A hook's own fail or assert
# task that templates a secret into its message is printed by ansible-core 2.19+ whatever no_log says: see the leak
# table in docs/rotation.md.)
HOOK_FAILS = """---
- name: Store the token somewhere, and fail printing it
  ansible.builtin.command:
    argv: [/bin/sh, -c, 'echo "could not store $0 / $1" >&2; exit 4', "{{ token_rotation_new_token.client_secret }}",
           "{{ token_rotation_new_token.token }}"]
"""


@pytest.mark.parametrize('where', ['verify', 'verify_cut', 'reload', 'distribute_tasks'])
def test_a_secret_a_failing_consumer_command_prints_is_hidden_in_the_message(emu, run_playbook, consumers, tmp_path,
                                                                             where):
    """A json consumer whose command prints its file (with the client secret) on failure: the role's message shows
    the exit code and the command's words, never the token, the client secret or a part of them, also when the
    output is cut in the middle of the secret."""
    desc = emu.desc('f1-' + where)
    seed_family(emu, consumers, desc, age_days=3)
    path = consumers.path('c3')
    command = 'cat %s >&2; exit 3' % path
    if where == 'verify_cut':  # the 300-character cut lands inside the client secret
        command = "printf '%%0200d' 0 >&2; cat %s >&2; exit 3" % path
    overrides = {'c3': {'verify': {'token_rotation_consumer_verify_command': command},
                        'verify_cut': {'token_rotation_consumer_verify_command': command},
                        'reload': {'token_rotation_consumer_reload_command': command}}.get(where, {})}
    role_vars = {}
    if where == 'distribute_tasks':
        hook = tmp_path / 'hook.yml'
        hook.write_text(HOOK_FAILS)
        role_vars['token_rotation_distribute_tasks'] = str(hook)
    run = rotate(run_playbook, consumers, desc, overrides, expect_rc=None, **role_vars)
    assert run.rc != 0
    host = 'c1' if where == 'distribute_tasks' else 'c3'
    message = one_failure(run, 'Consumer %s failed at' % host, 'Nothing was deleted')
    new = json.loads(path.read_text())
    for piece in (new['secret'], new['secret'][:16], new['secret'][-16:], new['token'].split(':')[2][:16]):
        assert piece not in run.output, 'part of a secret is in the output'
    if where == 'distribute_tasks':
        assert 'exit code 4: could not store <hidden> / <hidden>' in message, message
    else:
        assert 'exit code 3' in message and '<hidden>' in message, message
        assert '"clientId": "%s"' % new['clientId'] in message, message  # the client id is no secret
    assert emu.writes().get(DELETE_ROUTE, 0) == 0


# The family lock, whatever the spelling of the API URL --------------------------------------------------------

@pytest.mark.parametrize('spelling', ['case-and-v2', 'localhost'])
def test_two_spellings_of_one_api_url_share_the_family_lock(emu, run_playbook, consumers, tmp_path, spelling):
    """Run A with the URL as the emulator gives it; while A waits in its grace period, run B with '/V2/' and an
    upper-case scheme, or with 'localhost' for '127.0.0.1': B stops before any change and names A's lock. Without
    the normalised key (and the host resolved), B took its own lock and deleted the token A was distributing."""
    desc = emu.desc('f2-lock')
    seed_family(emu, consumers, desc, age_days=3)
    # A grace period long enough for run B to start on a loaded 2-core machine while A holds the lock.
    job = start_rotation(run_playbook, consumers, desc, token_rotation_grace_period=12)
    wait_for(lambda: len(family_ids(emu, desc)) == 2, 60, 'run A created its token', alive=lambda: job.running)
    if spelling == 'localhost':
        assert '//127.0.0.1:' in emu.url, emu.url
        other = emu.url.replace('//127.0.0.1:', '//localhost:')
    else:
        other = emu.url.replace('http://', 'HTTP://').rstrip('/') + '/V2/'
    run_b = rotate(run_playbook, consumers, desc, expect_rc=None, verbosity=1, extra_env={'ASTRA_API_URL': other})
    run_a = job.wait(allowed_secret_files=consumers.paths)
    assert run_b.rc != 0
    one_failure(run_b, 'Another rotation of the family', 'Nothing was changed')
    assert result_of(run_a)['action'] == 'rotated'
    assert_converged(emu, consumers, desc)


# A run limited with --limit -----------------------------------------------------------------------------------

def test_a_limited_run_never_retires_a_token_held_outside_the_limit(emu, run_playbook, consumers):
    """--limit c1 with token_rotation_allow_limit: c1 gets the new token, c2 and c3 (outside the limit) keep theirs,
    and the prober sees them working during and after the run; nothing is deleted, and the run says what it kept.
    A later full run converges to one token."""
    desc = emu.desc('f3-limit')
    old = seed_family(emu, consumers, desc, age_days=3)
    outside = Consumers(consumers.folder, hosts={'c2': 'env', 'c3': 'json'})
    emu.reset_counts()
    job = run_playbook.start(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=2, extra_args=rotation_args(
        token_rotation_description=desc, token_rotation_allow_limit=True) + ['--limit', 'c1'])
    run, prober = wait_probing(emu, job, outside, consumers.paths)
    assert prober.failures == [] and prober.probes > 5, prober.failures[:10]
    assert emu.writes() == {CREATE_ROUTE: 1}, emu.writes()
    held = consumers.client_ids()
    new = held['c1']
    assert new != old['clientId'] and held['c2'] == held['c3'] == old['clientId']
    for host in ('c2', 'c3'):
        assert token_status(emu, consumers.token(host)) == 200
    result = result_of(run)
    assert result['deleted_client_ids'] == [] and result['kept_client_ids'] == [old['clientId']], result
    assert 'this run is limited (--limit c1)' in run.stdout

    rotate(run_playbook, consumers, desc)
    assert_converged(emu, consumers, desc)


# ansible-core's debug mode ------------------------------------------------------------------------------------

def test_ansible_debug_mode_is_refused_before_any_api_call(emu, run_playbook, consumers):
    """ANSIBLE_DEBUG=1 prints module arguments and results whatever no_log says: the role stops before it calls
    the API (no request at all), naming the setting, and the debug output holds no secret."""
    desc = emu.desc('f4-debug')
    seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, expect_rc=None, verbosity=1, extra_env={'ANSIBLE_DEBUG': '1'})
    assert run.rc != 0
    one_failure(run, 'ANSIBLE_DEBUG')
    assert api_counts(emu) == {}, api_counts(emu)


# Reload and verify commands have a time bound -----------------------------------------------------------------

@pytest.mark.parametrize('which', ['verify', 'reload'])
def test_a_command_past_token_rotation_command_timeout_is_stopped_and_fails_its_consumer(emu, run_playbook, consumers,
                                                                                         which):
    desc = emu.desc('f5-' + which)
    seed_family(emu, consumers, desc, age_days=3)
    marker = 'sleep 10%04d' % (os.getpid() % 10000)
    started = time.monotonic()
    run = rotate(run_playbook, consumers, desc, {'c2': {'token_rotation_consumer_%s_command' % which: marker}},
                 expect_rc=None, token_rotation_command_timeout=3)
    assert time.monotonic() - started < 60
    assert run.rc != 0
    one_failure(run, 'Consumer c2 failed at the %s command' % which, 'did not finish within 3 seconds',
                'token_rotation_command_timeout', 'Nothing was deleted')
    assert emu.writes().get(DELETE_ROUTE, 0) == 0
    left = subprocess.run(['pgrep', '-f', marker], capture_output=True, text=True, check=False).stdout.split()
    assert left == [], 'the timed-out command is still running: %s' % left


# A consumer path that is a symbolic link or a folder ----------------------------------------------------------

def test_a_symlink_consumer_path_is_refused_and_its_target_untouched(emu, run_playbook, consumers, tmp_path):
    desc = emu.desc('f6-link')
    seed_family(emu, consumers, desc, age_days=3)
    target = tmp_path / 'elsewhere.conf'
    target.write_text('other = settings\n')
    target.chmod(0o644)
    link = consumers.folder / 'c1-link.token'
    link.symlink_to(target)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, {'c1': {'token_rotation_consumer_path': str(link)}}, expect_rc=None)
    assert run.rc != 0
    one_failure(run, 'Consumer c1', str(link), 'symbolic link', str(target), 'Nothing was changed')
    assert emu.writes() == {}
    assert link.is_symlink() and target.read_text() == 'other = settings\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_folder_as_consumer_path_is_refused_naming_the_consumer_the_path_and_why(emu, run_playbook, consumers):
    desc = emu.desc('f6-folder')
    seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, {'c2': {'token_rotation_consumer_path': str(consumers.folder)}},
                 expect_rc=None)
    assert run.rc != 0
    one_failure(run, 'Consumer c2', str(consumers.folder), 'is a folder', 'Nothing was changed')
    assert "'failed_when' expression" not in run.output
    assert emu.writes() == {}


# Owner, group and template checked before the create ----------------------------------------------------------

@pytest.mark.parametrize('problem', ['owner', 'group', 'template'])
def test_an_unknown_owner_group_or_broken_template_stops_the_run_before_the_create(emu, run_playbook, consumers,
                                                                                   tmp_path, problem):
    desc = emu.desc('f7-' + problem)
    seed_family(emu, consumers, desc, age_days=3)
    if problem == 'template':
        template = tmp_path / 'broken.j2'
        template.write_text('token = {{ token_rotation_new_token.token }\n')
        override = {'token_rotation_consumer_format': 'template', 'token_rotation_consumer_template': str(template)}
        words = ('token_rotation_consumer_template must be a readable template file', "Syntax error in template")
    else:
        override = {'token_rotation_consumer_' + problem: 'no-such-%s-f7' % problem}
        words = ("token_rotation_consumer_%s 'no-such-%s-f7' does not exist" % (problem, problem),)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, {'c3': override}, expect_rc=None)
    assert run.rc != 0
    one_failure(run, 'Consumer c3', 'Nothing was changed', *words)
    assert emu.writes() == {}


def test_a_template_consumer_gets_the_new_token_rendered_into_its_file(emu, run_playbook, consumers, tmp_path):
    desc = emu.desc('f7-template-ok')
    template = tmp_path / 'app.conf.j2'
    template.write_text('[astra]\nclient_id = {{ token_rotation_new_token.client_id }}\n'
                        'token = {{ token_rotation_new_token.token }}\n')
    rotate(run_playbook, consumers, desc, {'c1': {'token_rotation_consumer_format': 'template',
                                                  'token_rotation_consumer_template': str(template)}},
           token_rotation_roles=FAMILY_ROLES)
    text = consumers.path('c1').read_text()
    (new,) = family_ids(emu, desc)
    assert 'client_id = %s\n' % new in text and 'token = AstraCS:%s:' % new in text


# A replacement keeps the replaced token's lifetime ------------------------------------------------------------

def test_a_rotation_without_expiry_gives_the_new_token_the_old_tokens_lifetime(emu, run_playbook, consumers):
    """The family's token was made 10 days ago to expire in 80 days (a 90-day token): without token_rotation_expiry
    the new token gets 90 days from now, not 'never'; the result says so."""
    desc = emu.desc('f9-lifetime')
    seed_family(emu, consumers, desc, age_days=10, expires_in_days=80)
    started = time.time()
    result = result_of(rotate(run_playbook, consumers, desc))
    assert result['expiry_source'] == 'replaced_token_lifetime', result
    (token,) = [t for t in emu.state_tokens(desc) if t['clientId'] == result['new_client_id']]
    expiry = token['tokenExpiry']
    assert expiry, token
    seconds = calendar.timegm(time.strptime(expiry[:19], '%Y-%m-%dT%H:%M:%S')) - started
    assert abs(seconds - 90 * 86400) < 600, (expiry, seconds / 86400)
    assert result['new_expiry'][:16] == expiry[:16], (result['new_expiry'], expiry)


# Role variables -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('role_vars, words', [
    ({'token_rotation_min_age': '99999999999d'}, 'token_rotation_min_age must'),
    ({'token_rotation_retire_after': '3000000d'}, 'token_rotation_retire_after must'),
    ({'token_rotation_expiry': '99999999999d'}, 'token_rotation_expiry must'),
    ({'token_rotation_description_suffix': ' '}, 'token_rotation_description'),
    ({'token_rotation_description_token_shaped': True}, 'token_rotation_description'),
    ({'token_rotation_api_url_userinfo': True}, 'token_rotation_api_url'),
])
def test_bad_role_variables_are_refused_in_one_line_before_any_api_call(emu, run_playbook, consumers, role_vars, words):
    desc = emu.desc('f10-f15')
    seed_family(emu, consumers, desc, age_days=3)
    role_vars = dict(role_vars)
    extra_env = None
    if role_vars.pop('token_rotation_description_suffix', None):
        desc += ' '
    if role_vars.pop('token_rotation_api_url_userinfo', None):
        extra_env = {'ASTRA_API_URL': emu.url.replace('://', '://admin:hunter2pw@')}
    overrides = None
    if role_vars.pop('token_rotation_description_token_shaped', None):
        # in the inventory: ansible-playbook -vvvv prints -e values, and the scanner would find the token shape there
        shaped = 'AstraCS:AbCdEfGhIjKlMnOpQrStUvWx:' + 'ab' * 32
        overrides = {host: {'token_rotation_description': shaped} for host in consumers.hosts}
    else:
        role_vars.setdefault('token_rotation_description', desc)
    inventory = consumers.inventory(overrides)
    os.chmod(inventory, 0o600)  # it holds the token-shaped description on purpose: the scanner allows it there only
    emu.reset_counts()
    run = run_playbook(ROTATE_PLAYBOOK, inventory=inventory, expect_rc=None, extra_env=extra_env,
                       allowed_secret_files=consumers.paths + [inventory], extra_args=rotation_args(**role_vars))
    assert run.rc != 0
    message = one_failure(run, words)
    assert '\n' not in message and 'hunter2pw' not in run.output and 'AstraCS:AbCd' not in message
    assert api_counts(emu) == {}


def test_roles_as_a_comma_string_provision_the_family(emu, run_playbook, consumers):
    desc = emu.desc('f14-roles')
    rotate(run_playbook, consumers, desc, token_rotation_roles='R/W Svc Acct, RO Svc Acct')
    (token,) = emu.state_tokens(desc)
    assert sorted(token['roles']) == sorted([emu.role_id('R/W Svc Acct'), emu.role_id('RO Svc Acct')])


# Check mode ---------------------------------------------------------------------------------------------------

def test_check_mode_reports_a_rotation_as_changed_and_changes_nothing(emu, run_playbook, consumers):
    desc = emu.desc('f12-check')
    old = seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    run = run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), check=True,
                       allowed_secret_files=consumers.paths, extra_args=rotation_args(token_rotation_description=desc))
    assert 'would have rotated' in run.stdout
    assert sum(host.get('changed', 0) for host in run.stats.values()) >= 1, run.stats
    assert emu.writes() == {} and family_ids(emu, desc) == [old['clientId']]


def test_check_mode_stops_when_the_api_token_cannot_create_or_delete_tokens(emu, run_playbook, consumers):
    desc = emu.desc('f12-readonly')
    seed_family(emu, consumers, desc, age_days=3)
    status, role = emu.api('POST', '/v2/organizations/roles', {
        'name': 'f12 token reader', 'policy': {'description': 'reads tokens', 'effect': 'allow',
                                               'actions': ['org-token-read'],
                                               'resources': ['drn:astra:org:%s' % emu.org_id]}})
    assert status == 201, role
    reader = emu.mint(roles=[role['id']], description='f12 reader')
    emu.reset_counts()
    run = run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), check=True, expect_rc=None,
                       allowed_secret_files=consumers.paths, extra_env={'ASTRA_API_TOKEN': reader['token']},
                       extra_args=rotation_args(token_rotation_description=desc))
    assert run.rc != 0
    one_failure(run, 'Check mode', 'lacks org-token-write', 'Nothing was changed')
    assert emu.writes() == {}


# The lock folder ----------------------------------------------------------------------------------------------

def test_the_lock_folder_is_empty_after_a_rotation(emu, run_playbook, consumers, tmp_path):
    desc = emu.desc('f16-lock')
    seed_family(emu, consumers, desc, age_days=3)
    locks = tmp_path / 'locks'
    rotate(run_playbook, consumers, desc, token_rotation_lock_dir=str(locks))
    assert locks.is_dir() and sorted(os.listdir(locks)) == []


# Issue 11: one URL rule ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('suffix', ['/V2', '/v2/', ''])
def test_api_url_spellings_give_the_same_calls_as_the_modules(emu, run_playbook, consumers, suffix):
    """The role's probes go through astra_token_check, the modules' own client: an api_url ending in /V2, /v2/ or
    nothing rotates with the same requests (before, the probes called /V2/v2/currentOrg)."""
    desc = emu.desc('api-url-' + (suffix.strip('/') or 'root'))
    seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    rotate(run_playbook, consumers, desc, verbosity=1, extra_env={'ASTRA_API_URL': emu.url.rstrip('/') + suffix})
    assert_converged(emu, consumers, desc)
    counts = api_counts(emu)
    assert set(counts) <= {'GET /v2/tokens', 'GET /v2/organizations/roles', 'GET /v2/currentOrg', CREATE_ROUTE,
                           DELETE_ROUTE}, counts
    assert counts[CREATE_ROUTE] == 1 and counts[DELETE_ROUTE] == 1 and counts['GET /v2/currentOrg'] >= 3, counts
