# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.astra_token_check through ansible-playbook against the emulator: accepted and refused tokens, the
wait loop (a token that becomes active, one revoked while the module waits, a wait that runs out), the 403 that
means a bad token, errors that fail the check, and a malformed token that fails without being shown. Every call is
counted. The checked tokens reach the playbooks only through environment variables, so the leak scanner (which
reads every file of the run) would see any token the module let out."""

from __future__ import annotations

import time

from _astra_it import play, show, task

CHECK = 'astra.devops.astra_token_check'
ROUTE = 'GET /v2/currentOrg'


def env(var):
    return "{{ lookup('ansible.builtin.env', '%s') }}" % var


def check(name, register=None, ignore_errors=False, **args):
    return task(name, CHECK, args, register, ignore_errors=ignore_errors)


def probes(emu):
    """(status, ts) of every GET /v2/currentOrg the emulator answered, in order."""
    return [(entry['status'], entry['ts']) for entry in emu.emu.requests()['log']
            if '%s %s' % (entry['method'], entry['route']) == ROUTE]


def failure(run, name):
    """The one-line failure message of a task."""
    assert run.status(name) in ('failed', 'ignored'), (name, run.status(name), run.describe())
    msg = run.result(name)['msg']
    assert msg.strip() and '\n' not in msg, repr(msg)
    return msg


def public(result):
    return {k: v for k, v in result.items() if k in ('changed', 'client_id', 'accepted', 'org_id', 'waited', 'failed')}


# --------------------------------------------------------------------------------------------------------------
# accepted / refused, no wait
# --------------------------------------------------------------------------------------------------------------

def test_the_admin_token_is_accepted_with_its_org_and_client_id(emu, run_playbook):
    """Also in check mode, through the action group's module_defaults (no ASTRA_API_URL in the environment), and
    for a token of the second organization, which gets that organization's id."""
    second = emu.mint(description='it-check-second-org', roles=['RO User'], org='second')
    run = run_playbook(play([
        check('check the admin token', 'admin', token=env('IT_ADMIN')),
        check('check it in check mode', 'admin_check', token=env('IT_ADMIN'), state='accepted'),
        check('check a token of the second organization', 'second', token=env('IT_SECOND')),
        show('admin'), show('admin_check'), show('second'),
    ], module_defaults={'api_url': env('IT_URL')}), extra_env={
        'IT_ADMIN': emu.api_token, 'IT_SECOND': second['token'], 'IT_URL': emu.url, 'ASTRA_API_URL': None,
        'ASTRA_API_TOKEN': None})

    admin = run.shown('admin')
    assert public(admin) == {'changed': False, 'client_id': emu.emu.info['admin_client_id'], 'accepted': True,
                             'org_id': emu.org_id, 'waited': admin['waited'], 'failed': False}, admin
    assert 0 <= admin['waited'] < 1 and 'token' not in admin and 'api_retries' not in admin
    assert public(run.shown('admin_check')) == public(admin)
    assert run.status('check the admin token') == 'ok' and run.status('check it in check mode') == 'ok'
    second_result = run.shown('second')
    assert second_result['client_id'] == second['clientId'] and second_result['accepted'] is True
    assert second_result['org_id'] == emu.state()['org_ids']['second'] != emu.org_id
    assert emu.counts() == {ROUTE: 3}, emu.counts()


def test_check_mode_runs_the_check(emu, run_playbook):
    run = run_playbook(play([check('check the admin token', 'admin', token=env('IT_ADMIN')), show('admin')]),
                       extra_env={'IT_ADMIN': emu.api_token}, check=True)
    assert run.shown('admin')['accepted'] is True and run.shown('admin')['org_id'] == emu.org_id
    assert emu.counts() == {ROUTE: 1}, emu.counts()


def test_revoked_expired_and_unknown_tokens_are_refused(emu, run_playbook):
    revoked = emu.mint(description='it-check-revoked', roles=['R/W Svc Acct'])
    emu.revoke(revoked['clientId'])
    expired = emu.mint(description='it-check-expired', roles=['R/W Svc Acct'], expires_in_days=-1)
    unknown = emu.mint(description='it-check-unknown', roles=['R/W Svc Acct'])
    emu.revoke(unknown['clientId'])
    run = run_playbook(play([
        check('revoked is refused', 'revoked', token=env('IT_REVOKED'), state='refused'),
        check('expired is refused', 'expired', token=env('IT_EXPIRED'), state='refused'),
        check('revoked is not accepted', 'not_accepted', ignore_errors=True, token=env('IT_REVOKED')),
        check('expired is not accepted', 'expired_not_accepted', ignore_errors=True, token=env('IT_EXPIRED')),
        check('the admin token is not refused', 'not_refused', ignore_errors=True, token=env('IT_ADMIN'),
              state='refused'),
        show('revoked'), show('expired'), show('not_accepted'), show('not_refused'),
    ]), extra_env={'IT_REVOKED': revoked['token'], 'IT_EXPIRED': expired['token'], 'IT_ADMIN': emu.api_token})

    for var, token in (('revoked', revoked), ('expired', expired)):
        result = run.shown(var)
        assert public(result) == {'changed': False, 'client_id': token['clientId'], 'accepted': False,
                                  'waited': result['waited'], 'failed': False}, result
        assert 'org_id' not in result
    assert failure(run, 'revoked is not accepted') == (
        'token %s was not accepted (last answer HTTP 401). The API said: the token is not valid: unknown or revoked.'
        % revoked['clientId'])
    assert failure(run, 'expired is not accepted') == (
        'token %s was not accepted (last answer HTTP 401). The API said: the token has expired.' % expired['clientId'])
    not_accepted = run.shown('not_accepted')
    assert not_accepted['failed'] is True and not_accepted['accepted'] is False
    assert not_accepted['client_id'] == revoked['clientId']
    assert failure(run, 'the admin token is not refused') == (
        'token %s was not refused (last answer HTTP 200).' % emu.emu.info['admin_client_id'])
    assert run.shown('not_refused')['accepted'] is True and run.shown('not_refused')['org_id'] == emu.org_id
    assert emu.counts() == {ROUTE: 5}, emu.counts()


# --------------------------------------------------------------------------------------------------------------
# wait
# --------------------------------------------------------------------------------------------------------------

def test_wait_until_a_new_token_becomes_active(emu, run_playbook):
    """A token that works only some seconds after it was made (propagation): the module asks every 2 seconds and
    succeeds once it is active; every call before the last one was refused."""
    fresh = emu.mint(description='it-check-propagating', roles=['R/W Svc Acct'], active_in=7)
    run = run_playbook(play([check('wait for the new token', 'fresh', token=env('IT_FRESH'), wait=40),
                             show('fresh')]), extra_env={'IT_FRESH': fresh['token']})
    result = run.shown('fresh')
    assert result['accepted'] is True and result['org_id'] == emu.org_id and result['client_id'] == fresh['clientId']
    seen = probes(emu)
    statuses = [status for status, _ts in seen]
    assert len(seen) >= 2 and statuses == [401] * (len(seen) - 1) + [200], statuses
    gaps = [later - earlier for (_s, earlier), (_t, later) in zip(seen, seen[1:])]
    assert all(1.9 <= gap < 3.0 for gap in gaps), gaps
    assert 2 * (len(seen) - 1) <= result['waited'] < 2 * (len(seen) - 1) + 1.5, (result['waited'], len(seen))
    assert emu.counts() == {ROUTE: len(seen)}, emu.counts()


def test_wait_asks_every_two_seconds(emu, run_playbook):
    """The same with exactly two refusals (injected 401s): three calls, two pauses of 2 seconds."""
    emu.fault(method='GET', path='/v2/currentOrg', status=401, times=2)
    run = run_playbook(play([check('wait for the admin token', 'admin', token=env('IT_ADMIN'), wait=30),
                             show('admin')]), extra_env={'IT_ADMIN': emu.api_token})
    result = run.shown('admin')
    assert result['accepted'] is True and 4.0 <= result['waited'] < 5.5, result
    assert [status for status, _ts in probes(emu)] == [401, 401, 200]
    assert emu.counts() == {ROUTE: 3}, emu.counts()


def test_wait_until_a_token_is_refused_while_it_is_revoked(emu, run_playbook):
    """state=refused with wait: the token works at first, is revoked while the module waits, and the module
    succeeds at the next call."""
    doomed = emu.mint(description='it-check-doomed', roles=['R/W Svc Acct'])
    job = run_playbook.start(play([
        check('wait until the token is refused', 'doomed', token=env('IT_DOOMED'), state='refused', wait=60),
        show('doomed')]), extra_env={'IT_DOOMED': doomed['token']})
    deadline = time.monotonic() + 60
    while not probes(emu) and time.monotonic() < deadline and job.running:
        time.sleep(0.1)
    time.sleep(3)  # at least one more call gets a 200
    emu.revoke(doomed['clientId'])
    run = job.wait()
    result = run.shown('doomed')
    assert result['accepted'] is False and result['client_id'] == doomed['clientId'] and 'org_id' not in result
    statuses = [status for status, _ts in probes(emu)]
    assert len(statuses) >= 3 and statuses == [200] * (len(statuses) - 1) + [401], statuses
    assert result['waited'] >= 2 * (len(statuses) - 1), result
    assert emu.counts() == {ROUTE: len(statuses)}, emu.counts()


def test_a_wait_that_runs_out_fails_with_a_clear_message(emu, run_playbook):
    """wait=3: calls at 0, 2 and 3 seconds; wait=2 for state=refused: calls at 0 and 2 seconds."""
    gone = emu.mint(description='it-check-gone', roles=['R/W Svc Acct'])
    emu.revoke(gone['clientId'])
    run = run_playbook(play([
        check('wait for a revoked token', 'gone', ignore_errors=True, token=env('IT_GONE'), wait=3),
        check('wait for the admin token to be refused', 'admin', ignore_errors=True, token=env('IT_ADMIN'),
              state='refused', wait=2),
        show('gone'), show('admin'),
    ]), extra_env={'IT_GONE': gone['token'], 'IT_ADMIN': emu.api_token})

    assert failure(run, 'wait for a revoked token') == (
        'token %s was not accepted within 3 seconds (last answer HTTP 401). The API said: the token is not valid: '
        'unknown or revoked.' % gone['clientId'])
    gone_result = run.shown('gone')
    assert gone_result['accepted'] is False and 3.0 <= gone_result['waited'] < 4.0, gone_result
    assert failure(run, 'wait for the admin token to be refused') == (
        'token %s was not refused within 2 seconds (last answer HTTP 200).' % emu.emu.info['admin_client_id'])
    admin = run.shown('admin')
    assert admin['accepted'] is True and admin['org_id'] == emu.org_id and 2.0 <= admin['waited'] < 3.0, admin
    assert [status for status, _ts in probes(emu)] == [401, 401, 401, 200, 200]
    assert emu.counts() == {ROUTE: 5}, emu.counts()


# --------------------------------------------------------------------------------------------------------------
# what a 403 means, and errors that fail the check
# --------------------------------------------------------------------------------------------------------------

def test_a_403_about_the_token_is_a_refusal_and_other_errors_fail(emu, run_playbook):
    """FACTS: the API may answer a malformed or unknown token with 403 and ID 340017 or 340018. A 403 about a
    permission, and a 503 beyond the retries, fail the check whatever its state."""
    emu.fault(method='GET', path='/v2/currentOrg', status=403, times=1, body={'errors': [
        {'ID': 340017, 'message': 'Resource, token, was malformed. Error: auth-manager returned 403'}]})
    emu.fault(method='GET', path='/v2/currentOrg', status=403, times=1, body={'errors': [
        {'ID': 340018, 'message': 'Resource not found: token with identifier xyz'}]})
    emu.fault(method='GET', path='/v2/currentOrg', status=403, times=1, body='insufficient permissions')
    emu.fault(method='GET', path='/v2/currentOrg', status=503, times=2, retry_after=0)
    client_id = emu.emu.info['admin_client_id']
    run = run_playbook(play([
        check('a malformed 403 is refused', 'malformed', token=env('IT_ADMIN'), state='refused'),
        check('a not-found 403 is not accepted', 'not_found', ignore_errors=True, token=env('IT_ADMIN')),
        check('a permission 403 fails', ignore_errors=True, token=env('IT_ADMIN'), state='refused'),
        check('a 503 after the retries fails', ignore_errors=True, token=env('IT_ADMIN'), state='refused',
              retries=1),
        show('malformed'),
    ]), extra_env={'IT_ADMIN': emu.api_token})

    assert run.shown('malformed')['accepted'] is False
    assert failure(run, 'a not-found 403 is not accepted') == (
        'token %s was not accepted (last answer HTTP 403). The API said: Resource not found: token with identifier '
        'xyz.' % client_id)
    permission = failure(run, 'a permission 403 fails')
    assert permission.startswith('Checking token %s failed with HTTP 403: insufficient permissions.' % client_id)
    assert 'access list' in permission and 'api_token' not in permission, permission
    assert run.result('a permission 403 fails')['status'] == 403
    unavailable = failure(run, 'a 503 after the retries fails')
    assert unavailable.startswith('Checking token %s failed with HTTP 503' % client_id), unavailable
    assert '(gave up after 1 retr' in unavailable, unavailable
    assert run.result('a 503 after the retries fails')['api_retries'][0].startswith(
        'retry 1 of 1 in 0.0s after Checking token %s: HTTP 503' % client_id)
    assert emu.counts() == {ROUTE: 5}, emu.counts()


# --------------------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------------------

MALFORMED = {
    'IT_BAD_SHAPE': 'AstraCS:itcheckmalformedvalue:zz-private-part-0123456789',
    'IT_NO_PREFIX': 'itcheckclientsecretlookalike.0123456789-private,part_+abcdefghijklmnopqrstuvwxyz',
    'IT_SHORT_HASH': 'AstraCS:ItCheckShortHashClientId:0123456789abcdef0123456789abcdef',
}


def test_a_malformed_token_fails_before_any_call_without_being_shown(emu, run_playbook):
    run = run_playbook(play([
        check('bad shape', ignore_errors=True, token=env('IT_BAD_SHAPE')),
        check('no prefix, state refused', ignore_errors=True, token=env('IT_NO_PREFIX'), state='refused'),
        check('short hash, with wait', ignore_errors=True, token=env('IT_SHORT_HASH'), wait=10),
        check('empty', ignore_errors=True, token=''),
        check('negative wait', ignore_errors=True, token=env('IT_ADMIN'), wait=-1),
    ]), extra_env=dict(MALFORMED, IT_ADMIN=emu.api_token))

    for name, reason in (('bad shape', 'got a value of another shape (not shown)'),
                         ('no prefix, state refused', 'got a value that does not start with AstraCS (not shown)'),
                         ('short hash, with wait', 'got a value of another shape (not shown)'),
                         ('empty', 'got an empty value')):
        assert failure(run, name) == ('token must be an Astra application token, the word AstraCS, its client id and '
                                      '64 hex digits joined by colons; %s.' % reason)
        assert 'accepted' not in run.result(name) and 'client_id' not in run.result(name)
    assert failure(run, 'negative wait') == "wait must be 0 or a positive number of seconds, got '-1'."
    everything = run.output + run.log_text + ''.join(
        path.read_text(errors='replace') for path in run.run_dir.rglob('*') if path.is_file())
    for value in MALFORMED.values():
        for part in [value] + value.split(':'):
            if len(part) >= 12:
                assert part not in everything, part
    assert emu.counts() == {}, emu.counts()
