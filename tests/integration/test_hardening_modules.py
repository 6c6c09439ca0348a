# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9 (a new user's trial), what it found on the modules, through ansible-playbook against the emulator.

Every bad input fails in one line that names the option and what is accepted, without a traceback (the runner checks
every run for tracebacks and leaked secrets), and makes no write."""

from __future__ import annotations

import datetime as dt

from _astra_it import info, play, show, token

RW = 'R/W Svc Acct'
RO = 'RO Svc Acct'
FAST = {'retries': 0}


def _utc(text):
    return dt.datetime.fromisoformat(text.replace('Z', '+00:00'))


def _now():
    return dt.datetime.now(dt.timezone.utc)


def one_line(run, task_name, result=None):
    """The failure message of a task: one non-empty line, no control character, no traceback."""
    assert run.status(task_name) in ('failed', 'ignored'), (task_name, run.status(task_name))
    if result is None:
        result = run.result(task_name)
    else:
        assert result.get('failed') is True, result
    msg = result['msg']
    assert msg.strip() and not any(ord(c) < 32 for c in msg), repr(msg)
    assert 'Traceback' not in msg and 'Traceback' not in run.output
    return msg


def failing_info(name, **args):
    return info(name, ignore_errors=True, **args)


def failing_token(name, var, **args):
    """An astra_token task (no_log) that must fail; its result is printed by show(var)."""
    return [token(name, var, ignore_errors=True, **args), show(var)]


def warnings_of(result):
    return [w.get('msg', str(w)) if isinstance(w, dict) else str(w) for w in result.get('warnings') or []]


# ----------------------------------------------------------------------------------------------------------------
# api_url mistakes
# ----------------------------------------------------------------------------------------------------------------

def test_a_user_and_password_in_api_url_are_refused_and_never_printed(emu, run_playbook):
    """A user and password in api_url (option or ASTRA_API_URL) are refused before any call, and neither the
    password nor the user:password part appears anywhere, even at -vvvv (the invocation is scrubbed too)."""
    host = emu.url.split('://', 1)[1]
    with_password = 'http://alice:Pa55wordXyZ@%s' % host
    # Given through a variable: on a failure ansible-core shows the playbook lines around the task, which would show a
    # URL typed into the playbook whatever the module does.
    from_env = "{{ lookup('ansible.builtin.env', 'IT_F8_URL') }}"
    emu.reset_counts()
    run = run_playbook(play([
        failing_info('info with a password in api_url', api_url=from_env),
        *failing_token('token with a password in api_url', 'created', description='it-f8', roles=[RW],
                       api_url=from_env + '/v2'),
    ]), extra_env={'IT_F8_URL': with_password}, verbosity=4)
    env_run = run_playbook(play([failing_info('info with a password in ASTRA_API_URL')]),
                           extra_env={'ASTRA_API_URL': with_password}, verbosity=4)
    for msg in (one_line(run, 'info with a password in api_url'),
                one_line(run, 'token with a password in api_url', run.shown('created')),
                one_line(env_run, 'info with a password in ASTRA_API_URL')):
        assert msg.startswith('api_url must not contain a user name or password'), msg
        assert 'http://***@%s' % host in msg and 'optionally followed by /v2' in msg, msg
    for where in (run, env_run):
        text = where.output + where.log_text + ''.join(
            p.read_text(errors='replace') for p in where.run_dir.rglob('*') if p.is_file())
        assert 'Pa55wordXyZ' not in text and 'alice:' not in text
    assert emu.counts() == {}, emu.counts()


def test_a_path_query_or_fragment_in_api_url_is_refused(emu, run_playbook):
    """Only the API root, or the root plus /v2 (any case, trailing slash), is accepted; two spellings of one root
    both work."""
    base = emu.url.rstrip('/')
    scheme, host = base.split('://', 1)
    bad = {
        'the tokens path': (base + '/v2/tokens', 'without any other path'),
        'a proxy path': (base + '/api', 'without any other path'),
        'a query string': (base + '/v2?org=1', 'query string or fragment'),
        'a fragment': (base + '/#top', 'query string or fragment'),
    }
    tasks = [failing_info(name, api_url=url) for name, (url, _words) in bad.items()]
    tasks += [info('upper-case scheme, host and /V2/', api_url='%s://%s/V2/' % (scheme.upper(), host.upper())),
              info('plain root', api_url=base)]
    emu.reset_counts()
    run = run_playbook(play(tasks, module_defaults=FAST))
    for name, (url, words) in bad.items():
        msg = one_line(run, name)
        assert msg.startswith('api_url must') and words in msg, msg
        assert 'the API root such as https://api.astra.datastax.com, optionally followed by /v2' in msg, msg
    assert run.status('upper-case scheme, host and /V2/') == 'ok'
    assert run.status('plain root') == 'ok'
    assert emu.counts().get('GET /v2/tokens') == 2, emu.counts()


def test_an_https_url_against_a_plain_http_server_says_so_without_retrying(emu, run_playbook):
    """https:// against the plain-HTTP emulator with validate_certs false is not a certificate problem: the
    message says the server answered in plain HTTP and gives the http:// URL; it is not retried."""
    https_url = emu.url.replace('http://', 'https://')
    run = run_playbook(play([
        failing_info('https against plain http, certificates not checked', api_url=https_url, validate_certs=False,
                     retries=3),
        failing_info('https against plain http, certificates checked', api_url=https_url, retries=0),
    ]))
    for name in ('https against plain http, certificates not checked', 'https against plain http, certificates checked'):
        msg = one_line(run, name)
        assert 'answered in plain HTTP' in msg and 'use api_url %s' % emu.url.lower() in msg.lower(), msg
        assert 'set validate_certs to false' not in msg and 'certificate could not be verified' not in msg, msg
        assert 'retries' not in msg and not run.result(name).get('api_retries'), msg


# ----------------------------------------------------------------------------------------------------------------
# A replacement keeps the replaced token's lifetime
# ----------------------------------------------------------------------------------------------------------------

def test_recreate_always_without_expiry_keeps_the_replaced_tokens_lifetime(emu, run_playbook):
    """recreate always without expiry replaced a token expiring in years by one that never expires. Now the
    replacement lives as long as the old one did (expiry minus creation, from now); a never-expiring token stays
    never-expiring; the expiry option wins; expiry_source says which. Also by client_id with delete_replaced false,
    as the rotation role calls it, and in check mode."""
    lived = emu.mint(roles=[RW], description='it-f9-lived', age_days=100, expires_in_days=265)  # a 365-day token
    never = emu.mint(roles=[RW], description='it-f9-never', age_days=10, expiry=None)
    asked = emu.mint(roles=[RW], description='it-f9-asked', age_days=10, expires_in_days=20)
    run = run_playbook(play([
        dict(token('check mode: replace the 365-day token', 'planned', description='it-f9-lived', recreate='always'),
             check_mode=True),
        token('replace the 365-day token by client id, keeping it', 'lived', client_id=lived['clientId'],
              recreate='always', delete_replaced=False),
        token('replace the never-expiring token', 'never', description='it-f9-never', recreate='always'),
        token('replace with an expiry given', 'asked', description='it-f9-asked', recreate='always', expiry='7d'),
        token('create a new token without expiry', 'fresh', description='it-f9-fresh', roles=[RW]),
        token('the new token again, unchanged', 'again', description='it-f9-fresh', roles=[RW]),
        show('planned'), show('lived'), show('never'), show('asked'), show('fresh'), show('again'),
    ]))
    year_from_now = _now() + dt.timedelta(days=365)
    planned, replaced = run.shown('planned'), run.shown('lived')
    for result in (planned, replaced):
        assert result['expiry_source'] == 'replaced_token_lifetime', result
        assert abs((_utc(result['token']['expiry']) - year_from_now).total_seconds()) < 600, result['token']
    assert replaced['replaced_client_ids'] == [lived['clientId']] and replaced['deleted_client_ids'] == []
    (new,) = [t for t in emu.state_tokens('it-f9-lived') if t['clientId'] != lived['clientId']]
    assert abs((_utc(new['tokenExpiry']) - year_from_now).total_seconds()) < 600, new
    never_result = run.shown('never')
    assert never_result['expiry_source'] == 'none' and never_result['token']['expiry'] is None
    assert never_result['deleted_client_ids'] == [never['clientId']]
    assert [t['tokenExpiry'] for t in emu.state_tokens('it-f9-never')] == [None]
    asked_result = run.shown('asked')
    assert asked_result['expiry_source'] == 'option' and asked_result['deleted_client_ids'] == [asked['clientId']]
    assert abs((_utc(asked_result['token']['expiry']) - (_now() + dt.timedelta(days=7))).total_seconds()) < 600
    assert run.shown('fresh')['expiry_source'] == 'none' and run.shown('fresh')['token']['expiry'] is None
    assert run.shown('again')['changed'] is False and run.shown('again')['expiry_source'] is None


# ----------------------------------------------------------------------------------------------------------------
# Absurd durations and instants
# ----------------------------------------------------------------------------------------------------------------

def test_absurd_durations_and_instants_name_the_option_and_the_range(emu, run_playbook):
    """'99999999999d' gave "Python int too large to convert to C int", '3000000d' "date value out of range";
    an offset past year 9999 overflowed too. Each is now one line naming the option and the accepted range."""
    cases = [
        ('token', 'expiry', '99999999999d'), ('token', 'expiry', '3000000d'),
        ('token', 'expiry', '9999-12-31T23:59:59-01:00'), ('token', 'expiry', '9999-12-31T23:59:59Z'),
        ('token', 'expiry', '2027-01-01T00:00:00+25:00'),
        ('info', 'older_than', '99999999999d'), ('info', 'older_than', '3000000d'),
        ('info', 'expires_within', '99999999999d'), ('info', 'expires_within', '3000000d'),
    ]
    tasks = []
    for index, (what, option, value) in enumerate(cases):
        name = '%s %s %s' % (what, option, value)
        if what == 'token':
            tasks += failing_token(name, 'case%d' % index, description='it-f10', roles=[RW], **{option: value})
        else:
            tasks.append(failing_info(name, **{option: value}))
    emu.reset_counts()
    run = run_playbook(play(tasks, module_defaults=FAST))
    for index, (what, option, value) in enumerate(cases):
        name = '%s %s %s' % (what, option, value)
        msg = one_line(run, name, run.shown('case%d' % index) if what == 'token' else None)
        assert msg.startswith(option + ' must be'), msg
        assert '36500d' in msg, msg
        if 'T' in value:
            assert '9998-12-31T23:59:59Z' in msg, msg
        assert 'Python' not in msg and 'out of range' not in msg, msg
    assert emu.writes() == {}, emu.writes()


# ----------------------------------------------------------------------------------------------------------------
# A 403 for another organization's org_id
# ----------------------------------------------------------------------------------------------------------------

def test_a_403_for_the_org_id_of_another_organization_names_both_organizations(emu, run_playbook):
    """An Organization Administrator of organization B creating with org_id of organization A got "role lacks
    org-token-write". Now the hint names both organizations and says what token can create there. The currentOrg call
    is the one the org_id warning already makes (none is added), and nothing is created."""
    orgs = emu.state()['org_ids']
    org_a, org_b = orgs['default'], orgs['second']
    admin_b = emu.mint(org='second', roles=['Organization Administrator'], description='it-f11-admin-of-b')
    enterprise = emu.mint(org='enterprise', roles=['Enterprise Administrator'], description='it-f11-enterprise')
    rw_id = emu.role_id(RW)
    emu.reset_counts()
    run = run_playbook(play([
        *failing_token('create in org A with a token of org B', 'refused', description='it-f11', roles=[rw_id],
                       org_id=org_a),
    ]), extra_env={'ASTRA_API_TOKEN': admin_b['token']})
    msg = one_line(run, 'create in org A with a token of org B', run.shown('refused'))
    assert '403' in msg, msg
    assert 'belongs to organization %s' % org_b in msg and 'org_id %s is another organization' % org_a in msg, msg
    assert 'enterprise token' in msg and "lacks the 'org-token-write'" not in msg, msg
    counts = emu.counts()
    assert counts.get('GET /v2/currentOrg') == 1 and counts.get('POST /v2/tokens') == 1, counts
    standalone = orgs['standalone']
    run = run_playbook(play([
        *failing_token('create outside the enterprise', 'outside', description='it-f11', roles=[rw_id],
                       org_id=standalone),
    ]), extra_env={'ASTRA_API_TOKEN': enterprise['token']})
    msg = one_line(run, 'create outside the enterprise', run.shown('outside'))
    assert 'belongs to enterprise %s' % orgs['enterprise'] in msg and standalone in msg, msg
    assert emu.state_tokens('it-f11') == []


# ----------------------------------------------------------------------------------------------------------------
# Retries are visible under no_log
# ----------------------------------------------------------------------------------------------------------------

def test_retries_show_as_warnings_under_no_log(emu, run_playbook):
    """astra_token must run under no_log, which hid api_retries. Each retry is now a warning, which no_log does
    not hide, naming the call and the status, never a secret or the response body."""
    body = {'errors': [{'ID': 503, 'message': 'BODYWORDS from the server'}]}
    emu.fault(method='GET', path='/v2/tokens', status=503, retry_after=0, times=1, body=body)
    emu.fault(method='POST', path='/v2/tokens', status=503, retry_after=0, times=1, body=body)
    run = run_playbook(play([
        token('create while the API hiccups', 'created', description='it-f13', roles=[RW], no_log=True),
    ]), verbosity=0)
    assert run.status('create while the API hiccups') == 'changed'
    assert 'censored' in run.result('create while the API hiccups')
    assert '[WARNING]: astra.devops API call retried: retry 1 of 5 in 0.0s after Listing tokens: HTTP 503' \
        in run.output, run.output
    assert "after Creating token 'it-f13': HTTP 503 (no token was left behind.)" in run.output, run.output
    assert 'BODYWORDS' not in run.output and 'BODYWORDS' not in run.log_text
    assert len(emu.state_tokens('it-f13')) == 1


# ----------------------------------------------------------------------------------------------------------------
# Roles as one comma-separated string
# ----------------------------------------------------------------------------------------------------------------

def test_roles_as_a_comma_string_with_spaces_resolve_like_a_list(emu, run_playbook):
    """'R/W Svc Acct, RO Svc Acct' is split by Ansible into names with a leading space; they resolve like the
    list, the second run is unchanged, and astra_token_info filters alike."""
    run = run_playbook(play([
        token('create with a comma string', 'created', description='it-f14', roles='R/W Svc Acct, RO Svc Acct'),
        token('again as a list', 'again', description='it-f14', roles=[RO, RW]),
        token('again with spaces around ids', 'ids', description='it-f14',
              roles=' %s ,  %s ' % (emu.role_id(RW), emu.role_id(RO))),
        info('list by a comma string', 'listed', description='it-f14', roles='RO Svc Acct ,  R/W Svc Acct'),
        show('created'), show('again'), show('ids'),
    ]))
    created = run.shown('created')
    assert created['changed'] is True and sorted(created['token']['role_names']) == sorted([RW, RO])
    assert run.shown('again')['changed'] is False and run.shown('ids')['changed'] is False
    assert [t['client_id'] for t in run.result('list by a comma string')['tokens']] == [created['token']['client_id']]


# ----------------------------------------------------------------------------------------------------------------
# Descriptions with spaces around them, or shaped like a token
# ----------------------------------------------------------------------------------------------------------------

def test_descriptions_with_edge_spaces_or_token_shapes_are_refused(emu, run_playbook):
    """' app' made a near-duplicate family of 'app'; an AstraCS: string was accepted as a description, which
    everyone who can list tokens would see. Both are refused, and a token-shaped value is never repeated."""
    emu.mint(roles=[RW], description='it-f15')
    cases = {
        'leading space': (' it-f15', 'must not start or end with a space'),
        'trailing space': ('it-f15 ', 'must not start or end with a space'),
        'an AstraCS string': ('AstraCS:notARealTokenF15', 'must not hold a token or secret'),
        'lower-case astracs': ('copy of astracs:f15Value', 'must not hold a token or secret'),
        'a 64-hex hash': ('hash ' + 'f15e' * 16, 'must not hold a token or secret'),
    }
    tasks = []
    for index, (name, (value, _words)) in enumerate(cases.items()):
        tasks += failing_token(name, 'case%d' % index, description=value, roles=[RW])
    tasks.append(failing_info('info with a trailing space', description='it-f15 '))
    emu.reset_counts()
    run = run_playbook(play(tasks, module_defaults=FAST))
    for index, (name, (value, words)) in enumerate(cases.items()):
        msg = one_line(run, name, run.shown('case%d' % index))
        assert msg.startswith('description ' + words), msg
        if 'token or secret' in words:
            assert value not in msg and value.split(':')[-1] not in msg and 'f15e' * 4 not in msg, msg
    assert 'client_id' in one_line(run, 'info with a trailing space')
    assert emu.writes() == {} and len(emu.state_tokens()) == 2  # the bootstrap token and it-f15


# ----------------------------------------------------------------------------------------------------------------
# One line, full stops
# ----------------------------------------------------------------------------------------------------------------

def test_control_characters_are_escaped_and_messages_end_with_a_full_stop(emu, run_playbook):
    """A newline in a value split the error over lines; "(gave up after 2 retries) The Astra ..." lacked its
    full stop. Values are echoed with \\n escapes, and the message ends with a full stop before the hint."""
    emu.fault(method='GET', path='/v2/tokens', status=503, retry_after=0, times=-1)
    run = run_playbook(play([
        *failing_token('description with a newline', 'newline', description='it-f16\nsecond line', roles=[RW]),
        failing_info('client_id with a newline', client_id='abc\ndef'),
        failing_info('expires_within with a tab', expires_within='soon\tish'),
        failing_info('list while the service fails', retries=2),
    ]))
    msg = one_line(run, 'description with a newline', run.shown('newline'))
    assert "'it-f16\\nsecond line'" in msg, msg
    assert "'abc\\ndef'" in one_line(run, 'client_id with a newline')
    assert "'soon\\tish'" in one_line(run, 'expires_within with a tab')
    msg = one_line(run, 'list while the service fails')
    assert '(gave up after 2 retries). The Astra service failed' in msg, msg
