# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every API failure and every invalid option value ends in one readable line, without a traceback, and invalid
options fail before any write. (Every run is also checked for tracebacks and leaked secrets by the runner.)"""

from __future__ import annotations

import random
import string

import pytest

from _astra_it import closed_port, info, play, show, task, token

RW = 'R/W Svc Acct'
FAST = {'retries': 0}


def one_line(run, task_name, result=None):
    """The failure message of a task, checked to be one non-empty line with no traceback; returns it."""
    assert run.status(task_name) in ('failed', 'ignored'), (task_name, run.status(task_name))
    if result is None:  # the callback's view (no_log tasks: pass the registered result, printed by show())
        result = run.result(task_name)
    else:
        assert result.get('failed') is True, result
    msg = result['msg']
    assert msg.strip() and '\n' not in msg, repr(msg)
    assert 'Traceback' not in msg and 'Traceback' not in run.output
    return msg


def failing_info(name, **args):
    return info(name, ignore_errors=True, **args)


def env_token(var):
    return "{{ lookup('ansible.builtin.env', '%s') }}" % var


def fake_token():
    letters = ''.join(random.choice(string.ascii_letters) for number in range(24))
    return 'AstraCS:%s:%s' % (letters, ''.join(random.choice('0123456789abcdef') for number in range(64)))


# ----------------------------------------------------------------------------------------------------------------
# 401 / 403 / 404
# ----------------------------------------------------------------------------------------------------------------

def test_401_for_invalid_revoked_and_expired_tokens(emu, run_playbook, api_profile):
    """Unknown, revoked and malformed tokens get the profile's status for a bad token (401, or the 403 with 340018 /
    340017 of astra-cli issue 66 in the docs profile), expired ones 401; every one gets the invalid-token hint."""
    revoked = emu.mint(description='it-revoked', roles=['Organization Administrator'])
    emu.revoke(revoked['clientId'])
    expired = emu.mint(description='it-expired', roles=['Organization Administrator'], expires_in_days=-1)
    run = run_playbook(play([
        failing_info('list with an unknown token', api_token=env_token('IT_UNKNOWN')),
        failing_info('list with a revoked token', api_token=env_token('IT_REVOKED')),
        failing_info('list with an expired token', api_token=env_token('IT_EXPIRED')),
        failing_info('list with a malformed token', api_token='not-a-token'),
        token('delete with a revoked token', no_log=False, ignore_errors=True, api_token=env_token('IT_REVOKED'),
              description='it-anything', state='absent'),
    ], module_defaults=FAST), extra_env={
        'IT_UNKNOWN': fake_token(), 'IT_REVOKED': revoked['token'], 'IT_EXPIRED': expired['token']})
    for name in ('list with an unknown token', 'list with a revoked token', 'list with an expired token',
                 'list with a malformed token', 'delete with a revoked token'):
        msg = one_line(run, name)
        status = 401 if name == 'list with an expired token' else api_profile.bad_token_status
        assert 'HTTP %d' % status in msg, msg
        assert 'api_token' in msg and 'invalid, revoked or expired' in msg, msg
        assert 'permission' not in msg, msg
    assert emu.writes() == {}


@pytest.mark.api_profiles('default', reason='no API call is made')
def test_missing_api_token_is_a_clear_error(target, run_playbook):
    run = run_playbook(play([failing_info('list without any api_token')]), extra_env={'ASTRA_API_TOKEN': None})
    msg = one_line(run, 'list without any api_token')
    assert 'api_token' in msg and 'ASTRA_API_TOKEN' in msg, msg


def test_403_names_the_missing_permission(emu, run_playbook):
    ro_user = emu.mint(description='it-ro-user', roles=['RO User'])
    status, role = emu.api('POST', '/v2/organizations/roles', body={'name': 'it token reader', 'policy': {
        'description': 'can list tokens only', 'resources': ['drn:astra:org:%s' % emu.org_id],
        'actions': ['org-token-read'], 'effect': 'allow'}})
    assert status in (200, 201), (status, role)
    reader = emu.mint(description='it-token-reader', roles=['it token reader'])
    emu.mint(description='it-victim', roles=[RW])
    emu.reset_counts()
    run = run_playbook(play([
        failing_info('list with an RO User token', api_token=env_token('IT_RO_USER')),
        token('create with a token that can only read tokens', 'create', ignore_errors=True,
              api_token=env_token('IT_READER'), description='it-denied', roles=[RW]),
        show('create'),
        token('delete with a token that can only read tokens', no_log=False, ignore_errors=True,
              api_token=env_token('IT_READER'), description='it-victim', state='absent'),
    ], module_defaults=FAST), extra_env={'IT_RO_USER': ro_user['token'], 'IT_READER': reader['token']})
    msg = one_line(run, 'list with an RO User token')
    assert '403' in msg and 'org-token-read' in msg, msg
    msg = one_line(run, 'create with a token that can only read tokens', run.shown('create'))
    assert '403' in msg and 'org-token-write' in msg, msg
    msg = one_line(run, 'delete with a token that can only read tokens')
    assert '403' in msg and 'org-token-write' in msg, msg
    assert 'invalid, revoked or expired' not in msg, msg
    assert emu.state_tokens('it-denied') == []
    assert len(emu.state_tokens('it-victim')) == 1


@pytest.mark.api_profiles('default', reason="the roles' 404 is a fault with its own body")
def test_404_unknown_client_id_and_404_answers(emu, run_playbook):
    missing = 'ZZZZZZZZZZZZZZZZZZZZZZZZ'
    emu.fault(method='GET', path='/v2/organizations/roles', status=404,
              body={'errors': [{'ID': 404, 'message': 'resource not found'}]}, times=-1)
    emu.reset_counts()
    run = run_playbook(play([
        token('present with an unknown client id', 'unknown', ignore_errors=True, client_id=missing, roles=[RW]),
        show('unknown'),
        token('absent with an unknown client id', no_log=False, client_id=missing, state='absent'),
        task('roles answered with 404', 'astra.devops.astra_role_info', {}, ignore_errors=True),
    ], module_defaults=FAST))
    msg = one_line(run, 'present with an unknown client id', run.shown('unknown'))
    assert missing in msg, msg
    absent = run.result('absent with an unknown client id')
    assert absent['changed'] is False and absent['deleted_client_ids'] == []
    msg = one_line(run, 'roles answered with 404')
    assert '404' in msg and 'resource not found' in msg, msg
    assert emu.writes() == {}


# ----------------------------------------------------------------------------------------------------------------
# throttling and server errors
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.api_profiles('default', reason='faults with bodies of their own')
def test_429_is_retried_then_fails_clearly(emu, run_playbook):
    # four 429 answers: the first task (retries 2) spends three and gives up, the second gets one and recovers
    emu.fault(method='GET', path='/v2/tokens', status=429, retry_after=0, times=4,
              body={'errors': [{'ID': 429, 'message': 'rate limit exceeded'}]})
    emu.reset_counts()
    run = run_playbook(play([
        failing_info('list while throttled', retries=2),
        info('list again, throttled once', 'recovered', retries=2),
    ]))
    msg = one_line(run, 'list while throttled')
    assert '429' in msg and 'retries' in msg, msg
    recovered = run.result('list again, throttled once')
    assert recovered['tokens'] and len(recovered.get('api_retries', [])) == 1
    assert emu.counts()['GET /v2/tokens'] == 3 + 2


@pytest.mark.api_profiles('default', reason='faults with bodies of their own')
def test_5xx_is_retried_then_fails_clearly(emu, run_playbook):
    emu.fault(method='GET', path='/v2/tokens', status=503, retry_after=0, times=-1,
              body={'errors': [{'ID': 503, 'message': 'service unavailable'}]})
    emu.reset_counts()
    run = run_playbook(play([
        failing_info('list while the service fails', retries=1),
        token('delete while the service fails', no_log=False, ignore_errors=True, retries=0,
              description='it-x', state='absent'),
    ]))
    msg = one_line(run, 'list while the service fails')
    assert '503' in msg, msg
    msg = one_line(run, 'delete while the service fails')
    assert '503' in msg, msg
    assert emu.counts()['GET /v2/tokens'] == 2 + 1


@pytest.mark.api_profiles('default', reason='faults with bodies of their own')
def test_retry_after_is_honoured(emu, run_playbook):
    emu.fault(method='GET', path='/v2/tokens', status=503, retry_after=2, times=1)
    run = run_playbook(play([info('list after one 503 with Retry-After 2', 'listed', retries=1)]))
    retries = run.result('list after one 503 with Retry-After 2')['api_retries']
    assert len(retries) == 1 and '2.0s' in retries[0] and '503' in retries[0], retries
    assert emu.counts()['GET /v2/tokens'] == 2


@pytest.mark.api_profiles('default', reason='it sets the error shapes itself')
def test_error_bodies_plain_text_html_and_bare_string(emu, run_playbook):
    ro_user = emu.mint(description='it-ro-user', roles=['RO User'])
    emu.fault(method='GET', path='/v2/tokens', status=502, times=1, content_type='text/plain',
              body='upstream connect error or disconnect/reset before headers.\nreset reason: connection termination\n')
    emu.fault(method='GET', path='/v2/organizations/roles', status=502, times=1, content_type='text/html',
              body='<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway'
                   '</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n')
    run = run_playbook(play([
        failing_info('plain-text error body'),
        task('HTML error body', 'astra.devops.astra_role_info', {}, ignore_errors=True),
    ], module_defaults=FAST))
    msg = one_line(run, 'plain-text error body')
    assert '502' in msg and 'upstream connect error' in msg, msg
    msg = one_line(run, 'HTML error body')
    assert '502' in msg and 'Bad Gateway' in msg, msg
    assert '<' not in msg, msg

    for shape in ('string', 'text'):
        emu.config(error_shape=shape)
        run = run_playbook(play([failing_info('403 as a %s body' % shape)], module_defaults=FAST),
                           extra_env={'ASTRA_API_TOKEN': ro_user['token']})
        msg = one_line(run, '403 as a %s body' % shape)
        assert '403' in msg and 'org-token-read' in msg, msg


@pytest.mark.api_profiles('default', reason='dropped connections and a 503 fault: no error body of the profile')
def test_ambiguous_create_leaves_no_orphan_token(emu, run_playbook):
    # the connection drops after the emulator made the token: the secret is lost, so that token must go
    emu.fault(method='POST', path='/v2/tokens', drop='after', times=1)
    emu.reset_counts()
    run = run_playbook(play([
        token('create through a dropped connection, one retry', 'recovered', description='it-dropped', roles=[RW],
              retries=1),
        show('recovered'),
    ]))
    recovered = run.shown('recovered')
    assert recovered['changed'] is True
    (left,) = emu.state_tokens('it-dropped')
    assert left['clientId'] == recovered['token']['client_id']
    counts = emu.counts()
    assert counts['POST /v2/tokens'] == 2 and counts['DELETE /v2/tokens/{clientId}'] == 1, counts

    emu.fault(method='POST', path='/v2/tokens', drop='after', times=1)
    emu.fault(method='POST', path='/v2/tokens', status=503, times=1)
    run = run_playbook(play([
        token('create through a dropped connection, no retry', 'dropped', ignore_errors=True,
              description='it-dropped-2', roles=[RW], retries=0),
        show('dropped'),
        token('create while the service fails, no retry', 'failed503', ignore_errors=True,
              description='it-503', roles=[RW], retries=0),
        show('failed503'),
    ]))
    one_line(run, 'create through a dropped connection, no retry', run.shown('dropped'))
    assert emu.state_tokens('it-dropped-2') == []
    msg = one_line(run, 'create while the service fails, no retry', run.shown('failed503'))
    assert '503' in msg, msg
    assert emu.state_tokens('it-503') == []


# ----------------------------------------------------------------------------------------------------------------
# connection problems and api_url
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.api_profiles('default', reason='connection and api_url problems: no error body of the profile')
def test_connection_refused_bad_api_url_and_timeout(target, run_playbook):
    port = closed_port()
    base = target.url.rstrip('/')
    tasks = [
        failing_info('nothing listens on the port', api_url='http://127.0.0.1:%d' % port),
        failing_info('api_url without a scheme', api_url=base.split('://', 1)[1]),
        failing_info('api_url with another scheme', api_url='ftp://%s' % base.split('://', 1)[1]),
        info('api_url with /v2', api_url=base + '/v2'),
        info('api_url with /v2/', api_url=base + '/v2/'),
    ]
    run = run_playbook(play(tasks, module_defaults=FAST))
    msg = one_line(run, 'nothing listens on the port')
    assert 'refused' in msg and str(port) in msg, msg
    for name in ('api_url without a scheme', 'api_url with another scheme'):
        msg = one_line(run, name)
        assert 'api_url' in msg, msg
    assert run.status('api_url with /v2') == 'ok'
    assert run.status('api_url with /v2/') == 'ok'


@pytest.mark.api_profiles('default', reason='a timeout: no error body')
def test_timeout_is_a_clear_error(emu, run_playbook):
    emu.fault(method='GET', path='/v2/tokens', latency=3, times=1)
    run = run_playbook(play([failing_info('an API slower than the timeout', timeout=1, retries=0)]))
    msg = one_line(run, 'an API slower than the timeout')
    assert '1 second' in msg, msg


# ----------------------------------------------------------------------------------------------------------------
# issue 10: a 403 about the token itself, in every body shape of the evidence
# ----------------------------------------------------------------------------------------------------------------

TOKEN_403_BODIES = [
    # (endpoint, body, content type): astra-cli issue 66's envelope, and the same words as the OpenAPI file's
    # text/plain (token endpoints) and bare JSON string (role endpoints)
    ('/v2/tokens', {'errors': [{'ID': 340017, 'message': 'Resource, token, was malformed. Error: auth-manager '
                                                         'returned 403 for call %s/v2/admin/tokens'}]},
     'application/json'),
    ('/v2/tokens', 'Resource not found: token with identifier AAAAAAAAAAAAAAAAAAAAAAAA', 'text/plain'),
    ('/v2/organizations/roles', 'Resource, token, was malformed', 'application/json'),
    ('/v2/organizations/roles', {'errors': [{'ID': 340018, 'message': 'no words here'}]}, 'application/json'),
]


@pytest.mark.api_profiles('default', reason='faults with bodies of their own')
def test_403_about_the_token_gets_the_invalid_token_hint(emu, run_playbook):
    """A 403 whose body says the token is malformed, unknown or not found (by its ID or its words) is a bad token,
    not a missing permission; a 403 about a permission keeps the permission hint."""
    # Faults fire in the order they were added, first match first: each task meets its own.
    emu.fault(method='GET', path='/v2/tokens', status=403, content_type='text/plain', times=1,
              body='insufficient permissions: the token lacks the org-token-read permission')
    tasks = [failing_info('403 about a permission')]
    for index, (path, body, content_type) in enumerate(TOKEN_403_BODIES):
        emu.fault(method='GET', path=path, status=403, body=body, content_type=content_type, times=1)
        tasks.append(failing_info('403 about the token %d' % index))
    run = run_playbook(play(tasks, module_defaults=FAST))
    for index in range(len(TOKEN_403_BODIES)):
        msg = one_line(run, '403 about the token %d' % index)
        assert 'HTTP 403' in msg and 'invalid, revoked or expired' in msg and 'permission' not in msg, msg
    msg = one_line(run, '403 about a permission')
    assert "lacks the 'org-token-read' permission" in msg and 'invalid, revoked' not in msg, msg


# ----------------------------------------------------------------------------------------------------------------
# invalid option values fail before any write
# ----------------------------------------------------------------------------------------------------------------

INVALID = [
    # (task name, astra_token arguments, words the message must contain)
    ('unknown role', {'description': 'it-bad', 'roles': ['No Such Role']}, ['No Such Role']),
    ('malformed expiry', {'description': 'it-bad', 'roles': [RW], 'expiry': 'next tuesday'}, ['expiry', 'next tuesday']),
    ('malformed duration', {'description': 'it-bad', 'roles': [RW], 'expiry': '90x'}, ['expiry', '90x']),
    ('expiry in the past', {'description': 'it-bad', 'roles': [RW], 'expiry': '2001-01-01T00:00:00Z'}, ['expiry', 'past']),
    ('empty roles', {'description': 'it-bad', 'roles': []}, ['roles']),
    ('no roles for a new token', {'description': 'it-bad'}, ['roles']),
    ('neither description nor client_id', {'roles': [RW]}, ['description', 'client_id']),
    ('neither, with state absent', {'state': 'absent'}, ['description', 'client_id']),
    ('a malformed client_id', {'client_id': 'not a client id!', 'state': 'absent'}, ['client_id']),
    ('an unknown recreate policy', {'description': 'it-bad', 'roles': [RW], 'recreate': 'sometimes'}, ['recreate']),
    ('a malformed org_id', {'description': 'it-bad', 'roles': [RW], 'org_id': 'my-org'}, ['org_id']),
]


def test_invalid_option_values_fail_before_any_write(target, run_playbook):
    desc = target.desc('bad')
    tasks = []
    for index, (name, args, _words) in enumerate(INVALID):
        args = dict(args)
        if 'description' in args:
            args['description'] = desc
        tasks.append(token(name, 'bad%d' % index, ignore_errors=True, **args))
        tasks.append(show('bad%d' % index))
    tasks.append(token('state present without no_log', 'nolog', no_log=False, ignore_errors=True,
                       description=desc, roles=[RW]))
    tasks.append(failing_info('info with a malformed older_than', older_than='yesterday'))
    tasks.append(failing_info('info with an unknown role', roles=['No Such Role']))
    if target.is_emulator:
        target.reset_counts()
    run = run_playbook(play(tasks, module_defaults=FAST))
    for index, (name, _args, words) in enumerate(INVALID):
        msg = one_line(run, name, run.shown('bad%d' % index))
        for word in words:
            assert word.lower() in msg.lower(), (name, msg)
    msg = one_line(run, 'state present without no_log')
    assert 'no_log' in msg, msg
    assert 'older_than' in one_line(run, 'info with a malformed older_than')
    assert 'No Such Role' in one_line(run, 'info with an unknown role')
    if target.is_emulator:
        assert target.writes() == {}, target.writes()
    assert target.tokens_with(desc) == []
