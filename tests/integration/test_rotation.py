# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role through playbooks/rotate_token.yml, run by the real ansible-playbook against the emulator,
on three consumer hosts (local connections; c1 raw, c2 env, c3 json files under the test's tmp dir).

Issue 3, "What the tests must show":
- No outage: a prober reads every consumer file in a loop and calls the API with its token during the rotation
  (plain, with a propagation delay on new tokens, with a grace period): zero failures.
- Nothing deleted early: a consumer that cannot be written, fails its verify command or is unreachable stops the
  run before any DELETE; every consumer still holds a working token; the message names the consumer.
- Crash and re-run: ansible-playbook SIGKILLed after the create, during distribution and before the delete; a
  second run leaves exactly one token in the family, held by every consumer.
- Idempotent schedule: with token_rotation_min_age a second run creates and deletes nothing and says it skipped;
  a family of two tokens is completed even so. Resume: a family whose newest token every consumer holds is
  completed without a new token. Refusal: an API token of the family itself is refused.
- No secret in output: every run goes through the harness's leak scanner (stdout, stderr, ANSIBLE_LOG_PATH, every
  file under the tmp dir except the consumer files, which must be 0600); one provisioning and one rotation run at
  -vvvv with --diff, and the audit at -vvvv.
The plain rotation's duration and request counts per route are printed and written to
tests/output/rotation-measurements.json.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import time

import pytest

from _astra_it import REPO, closed_port
from _rotation import (CREATE_ROUTE, CURRENT_ORG_ROUTE, DELETE_ROUTE, FAMILY_ROLES, ROTATE_PLAYBOOK, Consumers, Prober,
                       client_id, failure_messages, family_ids, result_of, rotation_args, seed_family, token_status,
                       wait_for, wait_probing)

ROLES = FAMILY_ROLES
ROLES_ROUTE = 'GET /v2/organizations/roles'
MEASUREMENTS = REPO / 'tests' / 'output' / 'rotation-measurements.json'


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------

@pytest.fixture
def consumers(tmp_path):
    return Consumers(tmp_path / 'consumers')


def rotate(run_playbook, consumers, desc, overrides=None, verbosity=4, diff=False, expect_rc=0, extra_env=None,
           **role_vars):
    """One run of playbooks/rotate_token.yml on the consumers (the API token comes from the environment)."""
    return run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(overrides), verbosity=verbosity, diff=diff,
                        expect_rc=expect_rc, extra_env=extra_env, allowed_secret_files=consumers.paths,
                        extra_args=rotation_args(token_rotation_description=desc, **role_vars))


def start_rotation(run_playbook, consumers, desc, overrides=None, verbosity=1, **role_vars):
    return run_playbook.start(ROTATE_PLAYBOOK, inventory=consumers.inventory(overrides), verbosity=verbosity,
                              extra_args=rotation_args(token_rotation_description=desc, **role_vars))


def api_counts(emu, minus_probes=0):
    counts = {route: n for route, n in emu.counts().items() if n}
    if minus_probes:
        counts[CURRENT_ORG_ROUTE] = counts.get(CURRENT_ORG_ROUTE, 0) - minus_probes
        if not counts[CURRENT_ORG_ROUTE]:
            del counts[CURRENT_ORG_ROUTE]
    return counts


def assert_converged(emu, consumers, desc):
    """Exactly one token in the family, every consumer file holds it, the API accepts it, and nothing but the
    consumer files is in their folder (no temporary or backup copy). Returns its client id."""
    family = family_ids(emu, desc)
    assert len(family) == 1, 'the family %r holds %s, expected exactly one token' % (desc, family)
    held = consumers.client_ids()
    assert set(held.values()) == set(family), 'consumers hold %s, the family is %s' % (held, family)
    for host in consumers.hosts:
        assert token_status(emu, consumers.token(host)) == 200, '%s holds a token the API refuses' % host
    assert consumers.stray_files() == [], 'files left next to the consumer files: %s' % consumers.stray_files()
    return family[0]


def assert_all_work(emu, consumers, hosts=None):
    """Every consumer (with a file) holds a token the API accepts."""
    for host in hosts or consumers.hosts:
        token = consumers.token(host)
        assert token_status(emu, token) == 200, '%s holds %s, which the API refuses' % (host, client_id(token))


def assert_names_failed_consumer(run, host, *words):
    """A failed task's message names the consumer (and the given words), and tells what happened to the tokens."""
    messages = [m for m in failure_messages(run) if host in m and all(w in m for w in words)
                and 'Nothing was' in m]
    assert messages, 'no failure message names %s with %s; failures: %s\n%s' % (
        host, words, failure_messages(run), run.describe())
    return messages


def timed_rotation_with_prober(emu, run_playbook, consumers, desc, overrides=None, **role_vars):
    """Start a rotation, probe the consumers while it runs, and return (run, prober, wall-clock seconds)."""
    emu.reset_counts()
    started = time.monotonic()
    job = start_rotation(run_playbook, consumers, desc, overrides, **role_vars)
    run, prober = wait_probing(emu, job, consumers, consumers.paths)
    return run, prober, time.monotonic() - started


# --------------------------------------------------------------------------------------------------------------
# No outage
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('variant', ['plain', 'activation_delay', 'grace_period'])
def test_no_outage_while_rotating(emu, run_playbook, consumers, variant):
    desc = emu.desc('rotation-outage-' + variant)
    old = seed_family(emu, consumers, desc, age_days=3)
    role_vars = {}
    if variant == 'activation_delay':
        emu.config(activation_delay=3)  # new tokens answer 401 for 3 s after their creation
    if variant == 'grace_period':
        role_vars['token_rotation_grace_period'] = 2

    run, prober, seconds = timed_rotation_with_prober(emu, run_playbook, consumers, desc, **role_vars)

    assert prober.failures == [], 'the prober saw failures during the rotation: %s' % prober.failures[:20]
    assert prober.probes > 20, 'only %d probes during the rotation' % prober.probes
    new = assert_converged(emu, consumers, desc)
    assert new != old['clientId']
    for host, seen in prober.seen.items():
        assert seen == [old['clientId'], new], '%s: the prober saw client ids %s, expected old then new' % (host, seen)
    assert token_status(emu, old['token']) == 401, 'the old token still works after the rotation'

    result = result_of(run)
    assert result['action'] == 'rotated'
    assert result['new_client_id'] == new and result['deleted_client_ids'] == [old['clientId']]
    assert sorted(result['consumers_updated']) == ['c1', 'c2', 'c3']
    counts = api_counts(emu, minus_probes=prober.probes)
    assert counts[CREATE_ROUTE] == 1 and counts[DELETE_ROUTE] == 1, counts
    if variant == 'activation_delay':
        # the role waited until the new token worked before any consumer got it
        assert result['timings']['propagate'] >= 2.5, result['timings']
        assert counts[CURRENT_ORG_ROUTE] >= 3, counts  # >= 2 calls with the new token, 1 with the deleted one
    if variant == 'grace_period':
        assert result['timings']['grace'] >= 2, result['timings']

    if variant == 'plain':
        measured = {
            'consumers': 3,
            'wall_clock_seconds': round(seconds, 2),
            'role_timings_seconds': result['timings'],
            'api_requests_per_route': counts,
            'api_requests_total': sum(counts.values()),
            'prober_probes_during_run': prober.probes,
            'note': 'ansible-playbook -v on 3 local-connection consumers against the emulator, with the prober '
                    'running (its GET /v2/currentOrg calls are subtracted)',
        }
        MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
        MEASUREMENTS.write_text(json.dumps(measured, indent=2) + '\n')
        print('\nrotation to 3 consumers: %.1f s wall clock; role timings %s; API requests %s'
              % (seconds, result['timings'], counts))


# --------------------------------------------------------------------------------------------------------------
# The fewest API requests (issue 12): counted exactly, without a prober
# --------------------------------------------------------------------------------------------------------------

# A rotation's requests, each needed once: the caller's organization (the lock's key, and the caller is not in the
# family), discover the family, create, the new token accepted, list the family again just before the delete (the
# fresh look), delete, the deleted token refused, confirm the family.
ROTATION_REQUESTS = {CURRENT_ORG_ROUTE: 3, 'GET /v2/tokens': 3, CREATE_ROUTE: 1, DELETE_ROUTE: 1}


@pytest.mark.parametrize('roles', ['carried_over', 'ids', 'names'])
def test_a_rotation_sends_the_fewest_api_requests(emu, run_playbook, consumers, roles):
    desc = emu.desc('rotation-requests-' + roles)
    old = seed_family(emu, consumers, desc, age_days=3)
    role_vars = {}
    if roles == 'ids':
        role_vars['token_rotation_roles'] = old['roles']
    if roles == 'names':
        role_vars['token_rotation_roles'] = FAMILY_ROLES
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, verbosity=0, **role_vars)
    counts = api_counts(emu)  # before the checks below, which call the API too
    assert result_of(run)['action'] == 'rotated'
    assert_converged(emu, consumers, desc)
    expected = dict(ROTATION_REQUESTS)
    if roles == 'names':  # names are resolved to ids: the one roles call
        expected[ROLES_ROUTE] = 1
    assert counts == expected


# --------------------------------------------------------------------------------------------------------------
# Nothing deleted early
# --------------------------------------------------------------------------------------------------------------

def _make_immutable(path):
    """chattr +i (root cannot write an immutable file); False where the filesystem does not support it."""
    proc = subprocess.run(['chattr', '+i', str(path)], capture_output=True, check=False)
    return proc.returncode == 0


@pytest.mark.parametrize('failure', ['unwritable', 'verify_fails', 'unreachable'])
def test_failed_consumer_stops_before_any_delete(emu, run_playbook, consumers, tmp_path, failure):
    desc = emu.desc('rotation-fails-' + failure)
    old = seed_family(emu, consumers, desc, age_days=3)
    overrides = {}
    immutable = None
    if failure == 'unwritable':
        failed_host = 'c1'
        if _make_immutable(consumers.path('c1')):
            immutable = consumers.path('c1')  # holds the old token; the write of the new one fails after the create
        else:  # a path whose parent is a regular file: refused before anything is created
            (tmp_path / 'not-a-folder').write_text('a regular file\n')
            overrides = {'c1': {'token_rotation_consumer_path': str(tmp_path / 'not-a-folder' / 'c1.token')}}
    elif failure == 'verify_fails':
        failed_host = 'c2'
        overrides = {'c2': {'token_rotation_consumer_verify_command': '/bin/false'}}
    else:
        failed_host = 'c3'
        overrides = {'c3': {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1', 'ansible_port': closed_port(),
                            'ansible_user': 'nobody', 'ansible_ssh_timeout': 3,
                            'ansible_ssh_common_args': '-o BatchMode=yes -o StrictHostKeyChecking=no '
                                                       '-o UserKnownHostsFile=/dev/null -o ConnectionAttempts=1'}}
    emu.reset_counts()
    try:
        run = rotate(run_playbook, consumers, desc, overrides, expect_rc=None)
    finally:
        if immutable is not None:
            subprocess.run(['chattr', '-i', str(immutable)], check=False)

    assert run.rc != 0, 'the run succeeded although %s failed\n%s' % (failed_host, run.describe())
    counts = api_counts(emu)
    assert counts.get(DELETE_ROUTE, 0) == 0, 'a token was deleted although %s failed: %s' % (failed_host, counts)
    assert old['clientId'] in family_ids(emu, desc)
    assert token_status(emu, old['token']) == 200
    assert_all_work(emu, consumers)
    assert consumers.stray_files() == []

    held = consumers.client_ids()
    family = family_ids(emu, desc)
    if failure == 'unwritable' and immutable is not None:
        assert counts.get(CREATE_ROUTE) == 1, counts
        assert held['c1'] == old['clientId'], held
        assert_names_failed_consumer(run, 'c1', 'Nothing was deleted')
    elif failure == 'unwritable':
        assert counts.get(CREATE_ROUTE, 0) == 0, counts
        assert set(held.values()) == {old['clientId']}, held
        assert_names_failed_consumer(run, 'c1')
    elif failure == 'verify_fails':
        assert counts.get(CREATE_ROUTE) == 1, counts
        new = (set(family) - {old['clientId']}).pop()
        assert set(held.values()) == {new}, held  # written everywhere, verified everywhere but c2
        assert_names_failed_consumer(run, 'c2', 'verify', 'Nothing was deleted')
    else:
        assert counts.get(CREATE_ROUTE, 0) == 0, counts  # c3 was unreachable before anything was created
        assert family == [old['clientId']], family
        assert set(held.values()) == {old['clientId']}, held
        assert_names_failed_consumer(run, 'c3')


# --------------------------------------------------------------------------------------------------------------
# Crash and re-run
# --------------------------------------------------------------------------------------------------------------

TASK_BANNER = 'TASK [astra.devops.token_rotation : %s'


@pytest.mark.parametrize('moment', ['after_create', 'during_distribution', 'before_delete'])
def test_killed_run_then_rerun_converges(emu, run_playbook, consumers, moment):
    desc = emu.desc('rotation-crash-' + moment)
    old = seed_family(emu, consumers, desc, age_days=3)
    old_id = old['clientId']
    overrides, role_vars = {}, {}
    if moment == 'after_create':
        # every new-token check hangs, so the run is still waiting for the new token to work when it is killed
        emu.fault(method='GET', path='/v2/currentOrg', latency=20, times=-1)
    elif moment == 'during_distribution':
        overrides = {'c2': {'token_rotation_consumer_reload_command': 'sleep 10'}}
    else:
        role_vars['token_rotation_grace_period'] = 30

    emu.reset_counts()
    job = start_rotation(run_playbook, consumers, desc, overrides, **role_vars)

    def alive():
        return job.running

    if moment == 'after_create':
        wait_for(lambda: emu.counts().get(CREATE_ROUTE) == 1, 60, 'POST /v2/tokens', alive=alive)
        wait_for(lambda: TASK_BANNER % 'Create the new token of the family, then call the API with it' in job.log_text(),
                 30, 'the new-token check', alive=alive)
        time.sleep(0.5)
    elif moment == 'during_distribution':
        wait_for(lambda: consumers.client_ids()['c1'] not in (None, old_id), 60, 'c1 holds the new token', alive=alive)
        wait_for(lambda: TASK_BANNER % 'Run the reload command' in job.log_text(), 30, 'the reload command',
                 alive=alive)
        time.sleep(0.5)
    else:
        wait_for(lambda: old_id not in consumers.client_ids().values() and None not in consumers.client_ids().values(),
                 60, 'every consumer holds the new token', alive=alive)
        wait_for(lambda: TASK_BANNER % 'Wait the grace period' in job.log_text(), 30, 'the grace period',
                 alive=alive)
        time.sleep(0.5)
    assert job.running, 'the run ended before it could be killed'
    job.kill()
    killed = job.wait(expect_rc=None, allowed_secret_files=consumers.paths)  # the leak scan covers the killed run
    assert killed.rc == -9, killed.describe()
    emu.clear_faults()

    # what the killed run left: two tokens, nothing deleted, every consumer with a working token
    counts = api_counts(emu)
    assert counts.get(CREATE_ROUTE) == 1 and counts.get(DELETE_ROUTE, 0) == 0, counts
    family = family_ids(emu, desc)
    assert len(family) == 2 and old_id in family, family
    new_id = (set(family) - {old_id}).pop()
    held = consumers.client_ids()
    if moment == 'after_create':
        assert set(held.values()) == {old_id}, held
    elif moment == 'before_delete':
        assert set(held.values()) == {new_id}, held
    else:
        assert held['c1'] == new_id, held
    assert_all_work(emu, consumers)
    assert consumers.stray_files() == [], 'the killed run left files next to the consumer files'

    # the re-run (without the fault, the slow reload or the long grace) finishes the rotation, although min_age
    # says the newest token is fresh: a family of two tokens is an unfinished rotation (invariant 4)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, token_rotation_min_age='30d')
    final = assert_converged(emu, consumers, desc)
    # the killed run could not release the family's lock: the re-run takes it over at once, and says so
    assert 'which is no longer running' in run.stdout, 'the re-run does not say it took over the stale lock'
    assert token_status(emu, old['token']) == 401
    result = result_of(run)
    counts = api_counts(emu)
    if moment == 'after_create':
        # the consumers hold the old token: a fresh token is made, and both others are deleted
        assert result['action'] == 'rotated', result
        assert counts.get(CREATE_ROUTE) == 1 and counts.get(DELETE_ROUTE) == 2, counts
        assert final not in (old_id, new_id)
    else:
        # resume: every consumer already holds the newest token, so the re-run mints nothing and deletes the old one
        assert result['action'] == 'completed', result
        assert final == new_id
        assert counts.get(CREATE_ROUTE, 0) == 0 and counts.get(DELETE_ROUTE) == 1, counts
    assert sorted(result['deleted_client_ids']) == sorted(set(family) - {final})


# --------------------------------------------------------------------------------------------------------------
# Provisioning, idempotent schedule, unfinished family, no secret at -vvvv; refusal
# --------------------------------------------------------------------------------------------------------------

def test_provision_then_min_age_skips_then_a_family_of_two_is_completed_no_secret_at_vvvv(
        emu, run_playbook, consumers, tmp_path):
    """One family through four runs, each through the leak scanner (stdout, stderr, ANSIBLE_LOG_PATH, every file
    under the tmp dir but the consumer files, which must be 0600):
    1. -vvvv --diff: the family has no token: the role provisions it from token_rotation_roles;
    2. right after, with token_rotation_min_age=1d: the token is fresh, so nothing is created, deleted or changed,
       and the run says it skipped;
    3. -vvvv --diff, min_age 1d again, after a second token joined the family: an unfinished rotation, completed
       even though the newest token is fresh (invariant 4);
    4. the audit playbook at -vvvv."""
    desc = emu.desc('rotation-schedule')

    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, verbosity=4, diff=True, token_rotation_roles=ROLES,
                 token_rotation_min_age='1d')
    assert result_of(run)['action'] == 'provisioned'
    first = assert_converged(emu, consumers, desc)
    counts = api_counts(emu)
    assert counts.get(CREATE_ROUTE) == 1 and counts.get(DELETE_ROUTE, 0) == 0, counts
    for path in consumers.paths:  # no diff of a consumer file, even with --diff
        assert 'after: %s' % path not in run.stdout and 'before: %s' % path not in run.stdout

    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, token_rotation_min_age='1d')
    counts = api_counts(emu)
    assert [route for route in counts if not route.startswith('GET ')] == [], 'a skipped run wrote: %s' % counts
    result = result_of(run)
    assert result['action'] == 'skipped', result
    assert result['new_client_id'] is None and result['deleted_client_ids'] == [] and result['current_client_id'] == first
    assert 'Skip' in result['reason'] and 'min_age' in result['reason'], result['reason']
    assert 'Skipped' in run.stdout, 'the run does not say it skipped'
    assert all(host_stats['changed'] == 0 for host_stats in run.stats.values()), run.stats
    assert assert_converged(emu, consumers, desc) == first

    extra = emu.mint(roles=ROLES, description=desc)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, verbosity=4, diff=True, token_rotation_min_age='1d',
                 token_rotation_grace_period=1)
    result = result_of(run)
    assert result['action'] == 'rotated', result
    final = assert_converged(emu, consumers, desc)
    assert final not in (first, extra['clientId'])
    assert sorted(result['deleted_client_ids']) == sorted([first, extra['clientId']])
    counts = api_counts(emu)
    assert counts.get(CREATE_ROUTE) == 1 and counts.get(DELETE_ROUTE) == 2, counts

    run_playbook(REPO / 'playbooks' / 'audit_tokens.yml', verbosity=4, allowed_secret_files=consumers.paths,
                 extra_args=['-e', json.dumps({'audit_report_dir': str(tmp_path / 'audit')})])
    report = (tmp_path / 'audit' / 'token-audit.json').read_text()
    assert final in report


def test_refuses_an_api_token_of_the_family(emu, run_playbook, consumers):
    desc = emu.desc('rotation-refusal')
    held = seed_family(emu, consumers, desc)
    admin_in_family = emu.mint(roles=['Organization Administrator'], description=desc)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, expect_rc=None, extra_env={'ASTRA_API_TOKEN': admin_in_family['token']})
    assert run.rc != 0
    messages = [m for m in failure_messages(run) if 'belongs to the family' in m]
    assert messages, failure_messages(run)
    assert admin_in_family['clientId'] in messages[0] and 'Nothing was changed' in messages[0], messages[0]
    counts = api_counts(emu)
    assert [route for route in counts if not route.startswith('GET ')] == [], counts
    assert family_ids(emu, desc) == sorted([held['clientId'], admin_in_family['clientId']])
    assert set(consumers.client_ids().values()) == {held['clientId']}


# --------------------------------------------------------------------------------------------------------------
# Two rotations of one family at once
# --------------------------------------------------------------------------------------------------------------

def test_two_rotations_of_one_family_started_together(emu, run_playbook, consumers):
    """Two ansible-playbook runs of one family started together (two cron jobs, two AWX jobs on one node): the
    family's lock lets one rotate; the other stops before any change and names the running one. The prober sees
    no failure, and the family ends with one token that every consumer holds."""
    desc = emu.desc('rotation-concurrent')
    old = seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    jobs = [start_rotation(run_playbook, consumers, desc, token_rotation_grace_period=2) for _job in range(2)]
    prober = Prober(emu, consumers, until=lambda: any(job.running for job in jobs), limit=120)
    prober.start()
    try:
        runs = [job.wait(expect_rc=None, allowed_secret_files=consumers.paths) for job in jobs]
    finally:
        prober.stop()

    assert prober.failures == [], 'the prober saw failures: %s' % prober.failures[:20]
    assert sorted(run.rc for run in runs) == [0, 2], [run.describe() for run in runs]
    refused = next(run for run in runs if run.rc != 0)
    messages = [m for m in failure_messages(refused) if 'Another rotation of the family' in m]
    assert messages and 'Nothing was changed' in messages[0] and 'Concurrent Jobs' in messages[0], \
        failure_messages(refused)
    counts = api_counts(emu, minus_probes=prober.probes)
    assert counts.get(CREATE_ROUTE) == 1 and counts.get(DELETE_ROUTE) == 1, counts
    new = assert_converged(emu, consumers, desc)
    assert result_of(next(run for run in runs if run.rc == 0))['new_client_id'] == new != old['clientId']


# --------------------------------------------------------------------------------------------------------------
# Consumer files: mode from the first byte
# --------------------------------------------------------------------------------------------------------------

class ModeWatcher(threading.Thread):
    """Stats every file in a folder in a tight loop and records each moment one that holds a token could be read
    by its group or others (mode & 0o077), and every temporary file left at the end."""

    def __init__(self, folder):
        super().__init__(daemon=True)
        self.folder = folder
        self.violations = []
        self.observations = 0
        self.running = True

    def run(self):
        while self.running:
            for name in os.listdir(self.folder):
                path = os.path.join(self.folder, name)
                try:
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                    if mode & 0o077:
                        with open(path, encoding='utf-8', errors='replace') as handle:
                            if 'AstraCS:' in handle.read():
                                self.violations.append((name, oct(mode)))
                except OSError:  # renamed or removed between listdir and stat: fine
                    continue
                self.observations += 1


def test_consumer_files_hold_a_token_only_with_their_mode(emu, run_playbook, tmp_path):
    """Five new consumer files (provisioning), then a rotation: a watcher stats them in a tight loop and never sees
    a token in a file its group or others could read. (Without the role's empty pre-created file, ansible's copy
    first gives a new file the umask's 0644 and only then 0600: the watcher caught that.)"""
    consumers = Consumers(tmp_path / 'consumers', hosts={'c%d' % n: 'raw' for n in range(1, 6)})
    desc = emu.desc('rotation-modes')
    watcher = ModeWatcher(str(consumers.folder))
    watcher.start()
    try:
        rotate(run_playbook, consumers, desc, token_rotation_roles=ROLES)
        first = assert_converged(emu, consumers, desc)
        rotate(run_playbook, consumers, desc)
    finally:
        watcher.running = False
        watcher.join(timeout=30)
    assert watcher.violations == [], 'a token was readable by group or others: %s' % watcher.violations[:10]
    assert watcher.observations > 100, watcher.observations
    assert assert_converged(emu, consumers, desc) != first
    for path in consumers.paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))
