# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input (issue 4, item 4): one table of invalid inputs across astra_token, astra_token_info, astra_role_info,
astra_rotation_consumer and the token_rotation role.

Every row must fail before any write, with one line that names the option and says what is accepted, and without a
traceback. The whole table runs in ONE ansible-playbook run: each module row is a task with ignore_errors and a
register, each role row an include_role inside a block whose rescue keeps the failure; a `show` task per row prints
the result (without any secret) for the assertions here. The emulator must see no POST, PUT or DELETE at all.

A row is (id, what, arguments, option): `what` is the module (token, info, role_info, consumer) or `role`; `option` is the name
that must appear in the message. Arguments may hold the placeholders below, filled in at run time.
"""

from __future__ import annotations

import re

import pytest

from _astra_it import play, show, task

RW = 'R/W Svc Acct'
DESC = 'it-bad-input'
LONG = 'x' * 300
MODULES = {
    'token': 'astra.devops.astra_token',
    'info': 'astra.devops.astra_token_info',
    'role_info': 'astra.devops.astra_role_info',
    'consumer': 'astra.devops.astra_rotation_consumer',
}
# Placeholders, replaced by paths of the test's tmp dir and ids of the emulator.
RW_ID = '<rw-role-id>'
NO_FILE = '<missing-file>'
A_DIR = '<a-directory>'
CONSUMER = '<consumer-file>'
NO_DIR_CONSUMER = '<consumer-file-in-missing-folder>'

# Words that say what is accepted. 'must', 'one of' and 'required' are the collection's own wording (and Ansible's
# for choices and required options); 'unable to convert to <type>' and 'valid booleans include' are how Ansible's
# argument-spec validation names the accepted type.
ACCEPTED = re.compile(r"\bmust\b|one of|expected|choices|accepted|required|unable to convert to \w+|"
                      r"valid booleans include", re.IGNORECASE)

# "<option> must ...": which options a message complains about.
MUST = re.compile(r"\b([a-z_]+) must\b")

# The role's own checks; a role row must fail in one of these tasks, before anything is listed or created.
ROLE_CHECK_TASKS = ('Check the role\'s variables and the shape of the play', 'Stop, since this consumer cannot take a token')
ARGSPEC_ACTIONS = ('validate_argument_spec', 'ansible.builtin.validate_argument_spec')

ROWS = [
    # ---- astra_token ----------------------------------------------------------------------------------------
    ('token: roles as a dict', 'token', {'description': DESC, 'roles': {RW: True}}, 'roles'),
    ('token: timeout abc', 'token', {'description': DESC, 'roles': [RW], 'timeout': 'abc'}, 'timeout'),
    ('token: timeout 0', 'token', {'description': DESC, 'roles': [RW], 'timeout': 0}, 'timeout'),
    ('token: retries -1', 'token', {'description': DESC, 'roles': [RW], 'retries': -1}, 'retries'),
    ('token: validate_certs maybe', 'token', {'description': DESC, 'roles': [RW], 'validate_certs': 'maybe'},
     'validate_certs'),
    ('token: delete_replaced perhaps', 'token', {'description': DESC, 'roles': [RW], 'delete_replaced': 'perhaps'},
     'delete_replaced'),
    ('token: unknown role', 'token', {'description': DESC, 'roles': ['No Such Role']}, 'roles'),
    ('token: malformed expiry', 'token', {'description': DESC, 'roles': [RW], 'expiry': 'next tuesday'}, 'expiry'),
    ('token: impossible date', 'token', {'description': DESC, 'roles': [RW], 'expiry': '2027-02-30T00:00:00Z'},
     'expiry'),
    ('token: expiry in the past', 'token', {'description': DESC, 'roles': [RW], 'expiry': '2001-01-01T00:00:00Z'},
     'expiry'),
    ('token: expiry 0d', 'token', {'description': DESC, 'roles': [RW], 'expiry': '0d'}, 'expiry'),
    ('token: expiry 5y', 'token', {'description': DESC, 'roles': [RW], 'expiry': '5y'}, 'expiry'),
    ('token: empty roles', 'token', {'description': DESC, 'roles': []}, 'roles'),
    ('token: a blank role', 'token', {'description': DESC, 'roles': [RW, '  ']}, 'roles'),
    ('token: one role in both spellings', 'token', {'description': DESC, 'roles': [RW, 'Read/Write Service Account']},
     'roles'),
    ('token: one role by name and by id', 'token', {'description': DESC, 'roles': [RW, RW_ID]}, 'roles'),
    ('token: no roles to create', 'token', {'description': DESC}, 'roles'),
    ('token: unknown recreate', 'token', {'description': DESC, 'roles': [RW], 'recreate': 'sometimes'}, 'recreate'),
    ('token: unknown state', 'token', {'description': DESC, 'roles': [RW], 'state': 'gone'}, 'state'),
    ('token: unknown endpoint', 'token', {'description': DESC, 'roles': [RW], 'endpoint': 'v1'}, 'endpoint'),
    ('token: client_id with spaces', 'token', {'client_id': 'not a client id!', 'state': 'absent'}, 'client_id'),
    ('token: client_id too short', 'token', {'client_id': 'abc123', 'state': 'absent'}, 'client_id'),
    ('token: org_id not a UUID', 'token', {'description': DESC, 'roles': [RW], 'org_id': 'my-org'}, 'org_id'),
    ('token: api_url without scheme', 'token', {'description': DESC, 'roles': [RW], 'api_url': 'api.astra.datastax.com'},
     'api_url'),
    ('token: api_url ftp', 'token', {'description': DESC, 'roles': [RW], 'api_url': 'ftp://x'}, 'api_url'),
    ('token: api_token empty', 'token', {'description': DESC, 'roles': [RW], 'api_token': ''}, 'api_token'),
    ('token: no api_token anywhere', 'token', {'description': DESC, 'roles': [RW], '_environment': {'ASTRA_API_TOKEN': ''}},
     'api_token'),
    ('token: ca_path missing', 'token', {'description': DESC, 'roles': [RW], 'ca_path': NO_FILE}, 'ca_path'),
    ('token: non-ASCII description', 'token', {'description': 'caf\u00e9-service', 'roles': [RW]}, 'description'),
    ('token: 300-char description', 'token', {'description': LONG, 'roles': [RW]}, 'description'),
    ('token: blank description', 'token', {'description': '   ', 'roles': [RW]}, 'description'),
    ('token: neither description nor client_id', 'token', {'roles': [RW]}, 'description'),
    ('token: present without no_log', 'token', {'description': DESC, 'roles': [RW], '_no_log': False}, 'no_log'),
    # ---- astra_token_info -----------------------------------------------------------------------------------
    ('info: older_than ten days', 'info', {'older_than': 'ten days'}, 'older_than'),
    ('info: older_than 0d', 'info', {'older_than': '0d'}, 'older_than'),
    ('info: older_than 5y', 'info', {'older_than': '5y'}, 'older_than'),
    ('info: expires_within 5y', 'info', {'expires_within': '5y'}, 'expires_within'),
    ('info: expires_within soon', 'info', {'expires_within': 'soon'}, 'expires_within'),
    ('info: never_expires sometimes', 'info', {'never_expires': 'sometimes'}, 'never_expires'),
    ('info: expired maybe', 'info', {'expired': 'maybe'}, 'expired'),
    ('info: roles as a dict', 'info', {'roles': {RW: True}}, 'roles'),
    ('info: unknown role', 'info', {'roles': ['No Such Role']}, 'roles'),
    ('info: empty roles', 'info', {'roles': []}, 'roles'),
    ('info: one role in both spellings', 'info', {'roles': ['RO Svc Acct', 'Read Only Service Account']}, 'roles'),
    ('info: malformed client_id', 'info', {'client_id': 'bad id'}, 'client_id'),
    ('info: non-ASCII description', 'info', {'description': 'r\u00e9sum\u00e9'}, 'description'),
    ('info: unknown endpoint', 'info', {'endpoint': 'legacy'}, 'endpoint'),
    ('info: timeout abc', 'info', {'timeout': 'abc'}, 'timeout'),
    ('info: retries -1', 'info', {'retries': -1}, 'retries'),
    ('info: api_url ftp', 'info', {'api_url': 'ftp://x'}, 'api_url'),
    # ---- astra_role_info ------------------------------------------------------------------------------------
    ('role_info: id as a dict', 'role_info', {'id': {'a': 1}}, 'id'),
    ('role_info: id as a list', 'role_info', {'id': [1, 2]}, 'id'),
    ('role_info: id as a number', 'role_info', {'id': 12345}, 'id'),
    ('role_info: a name as id', 'role_info', {'id': RW}, 'id'),
    ('role_info: custom maybe', 'role_info', {'custom': 'maybe'}, 'custom'),
    ('role_info: timeout -5', 'role_info', {'timeout': -5}, 'timeout'),
    ('role_info: retries many', 'role_info', {'retries': 'many'}, 'retries'),
    ('role_info: validate_certs maybe', 'role_info', {'validate_certs': 'maybe'}, 'validate_certs'),
    ('role_info: api_url without scheme', 'role_info', {'api_url': 'localhost:8080'}, 'api_url'),
    ('role_info: ca_path a directory', 'role_info', {'ca_path': A_DIR}, 'ca_path'),
    # ---- astra_rotation_consumer (internal to the role, which always gives it good options) --------------------
    ('consumer: write without new_token', 'consumer', {'action': 'write', 'path': CONSUMER, 'format': 'raw'},
     'new_token'),
    ('consumer: write, new_token without client_secret', 'consumer',
     {'action': 'write', 'path': CONSUMER, 'format': 'raw', 'new_token': {'token': 'x', 'client_id': 'y'}},
     'new_token'),
    ('consumer: action delete', 'consumer', {'action': 'delete', 'path': CONSUMER}, 'action'),
    ('consumer: observe, mode 0644', 'consumer',
     {'action': 'observe', 'path': CONSUMER, 'host': 'c1', 'format': 'raw', 'mode': '0644'},
     'token_rotation_consumer_mode'),
    ('consumer: observe, a relative path', 'consumer',
     {'action': 'observe', 'path': 'app.token', 'host': 'c1', 'format': 'raw'}, 'token_rotation_consumer_path'),
    # ---- the token_rotation role (run against localhost; vars on top of a valid baseline) --------------------
    ('role: description missing', 'role', {'token_rotation_description': None}, 'token_rotation_description'),
    ('role: description blank', 'role', {'token_rotation_description': '  '}, 'token_rotation_description'),
    ('role: description non-ASCII', 'role', {'token_rotation_description': 'caf\u00e9'}, 'token_rotation_description'),
    ('role: description of 300 chars', 'role', {'token_rotation_description': LONG}, 'token_rotation_description'),
    ('role: api token empty', 'role', {'token_rotation_api_token': ''}, 'token_rotation_api_token'),
    ('role: api_url ftp', 'role', {'token_rotation_api_url': 'ftp://x'}, 'token_rotation_api_url'),
    ('role: api_url without scheme', 'role', {'token_rotation_api_url': 'api.astra.datastax.com'},
     'token_rotation_api_url'),
    ('role: validate_certs maybe', 'role', {'token_rotation_validate_certs': 'maybe'}, 'token_rotation_validate_certs'),
    ('role: ca_path missing', 'role', {'token_rotation_ca_path': NO_FILE}, 'token_rotation_ca_path'),
    ('role: roles as a dict', 'role', {'token_rotation_roles': {RW: True}}, 'token_rotation_roles'),
    ('role: empty roles', 'role', {'token_rotation_roles': []}, 'token_rotation_roles'),
    ('role: malformed expiry', 'role', {'token_rotation_expiry': 'next tuesday'}, 'token_rotation_expiry'),
    ('role: expiry in the past', 'role', {'token_rotation_expiry': '2001-01-01T00:00:00Z'}, 'token_rotation_expiry'),
    ('role: expiry 0d', 'role', {'token_rotation_expiry': '0d'}, 'token_rotation_expiry'),
    ('role: min_age ten days', 'role', {'token_rotation_min_age': 'ten days'}, 'token_rotation_min_age'),
    ('role: min_age 0d', 'role', {'token_rotation_min_age': '0d'}, 'token_rotation_min_age'),
    ('role: retire_after 5y', 'role', {'token_rotation_retire_after': '5y'}, 'token_rotation_retire_after'),
    ('role: grace period -5', 'role', {'token_rotation_grace_period': -5}, 'token_rotation_grace_period'),
    ('role: grace period abc', 'role', {'token_rotation_grace_period': 'abc'}, 'token_rotation_grace_period'),
    ('role: propagation timeout 0', 'role', {'token_rotation_propagation_timeout': 0},
     'token_rotation_propagation_timeout'),
    ('role: distribute tasks file missing', 'role', {'token_rotation_distribute_tasks': NO_FILE},
     'token_rotation_distribute_tasks'),
    ('role: unknown consumer format', 'role', {'token_rotation_consumer_format': 'yaml'}, 'token_rotation_consumer_format'),
    ('role: template format without template', 'role', {'token_rotation_consumer_format': 'template'},
     'token_rotation_consumer_template'),
    ('role: template file missing', 'role', {'token_rotation_consumer_format': 'template',
                                             'token_rotation_consumer_template': NO_FILE},
     'token_rotation_consumer_template'),
    ('role: template not a readable file', 'role', {'token_rotation_consumer_format': 'template',
                                                    'token_rotation_consumer_template': A_DIR},
     'token_rotation_consumer_template'),
    ('role: bad env variable name', 'role', {'token_rotation_consumer_format': 'env',
                                             'token_rotation_consumer_env_var': 'BAD-NAME'},
     'token_rotation_consumer_env_var'),
    ('role: world-readable mode 0644', 'role', {'token_rotation_consumer_mode': '0644'}, 'token_rotation_consumer_mode'),
    ('role: mode as an unquoted number', 'role', {'token_rotation_consumer_mode': 0o644}, 'token_rotation_consumer_mode'),
    ('role: symbolic mode readable by others', 'role', {'token_rotation_consumer_mode': 'u=rw,o=r'},
     'token_rotation_consumer_mode'),
    ('role: relative consumer path', 'role', {'token_rotation_consumer_path': 'tokens/app.token'},
     'token_rotation_consumer_path'),
    ('role: consumer folder missing', 'role', {'token_rotation_consumer_path': NO_DIR_CONSUMER},
     'token_rotation_consumer_path'),
]


def _fill(value, places):
    if isinstance(value, str):
        return places.get(value, value)
    if isinstance(value, list):
        return [_fill(v, places) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, places) for k, v in value.items()}
    return value


def _row_tasks(index, name, what, args, places):
    """The tasks of one row; the row's result ends up in the variable row<index>, printed by 'show row<index>'."""
    var = 'row%02d' % index
    args = _fill(dict(args), places)
    if what != 'role':
        no_log = args.pop('_no_log', what == 'token')
        environment = args.pop('_environment', None)
        extra = {'environment': environment} if environment else {}
        return [task(name, MODULES[what], args, var, no_log, ignore_errors=True, **extra), show(var)]
    role_vars = {
        'token_rotation_description': DESC,
        'token_rotation_roles': [RW],
        'token_rotation_consumer_path': CONSUMER,
    }
    role_vars.update(args)
    role_vars = {k: v for k, v in _fill(role_vars, places).items() if v is not None}
    kept = ("{{ {'failed': ansible_failed_result.failed | default(false), 'msg': ansible_failed_result.msg | default(''),"
            " 'argument_errors': ansible_failed_result.argument_errors | default(none),"
            " 'action': ansible_failed_task.action, 'task': ansible_failed_task.name} }}")
    return [
        {'name': name + ' (block)', 'block': [
            task(name, 'ansible.builtin.include_role', {'name': 'astra.devops.token_rotation'}, vars=role_vars),
            task(name + ': the role did not fail', 'ansible.builtin.set_fact',
                 {var: {'failed': False, 'msg': 'the role did not fail', 'action': None, 'task': None}}),
        ], 'rescue': [
            task(name + ': keep the failure', 'ansible.builtin.set_fact', {var: kept}),
        ]},
        show(var),
    ]


def _check_row(name, what, option, shown):
    """Problems with one row's outcome ([] when it is right)."""
    problems = []
    if shown.get('failed') is not True:
        return ['did not fail: %r' % shown]
    msg = shown.get('msg') or ''
    if 'Traceback' in msg or 'Traceback' in str(shown):
        problems.append('a traceback')
    if what == 'role' and shown.get('action') in ARGSPEC_ACTIONS:
        # Ansible's own role argument validation: a fixed header line, then one line per error. Each error line must
        # be one line that names the option and what is accepted.
        errors = shown.get('argument_errors') or []
        lines = msg.split('\n')
        if lines[0] != 'Validation of arguments failed:' or lines[1:] != errors or len(errors) != 1:
            problems.append('argument validation message is not the header plus one error line: %r' % msg)
        msg = errors[0] if errors else ''
    else:
        if what == 'role' and shown.get('task') not in ROLE_CHECK_TASKS:
            problems.append('failed in task %r, not in the role\'s checks' % shown.get('task'))
        if '\n' in msg or not msg.strip():
            problems.append('not one line')
    if option not in msg:
        problems.append('does not name %s' % option)
    others = set(MUST.findall(msg)) - {option}
    if others:  # the row must fail for its own reason, not because of another option
        problems.append('also complains about %s' % ', '.join(sorted(others)))
    if not ACCEPTED.search(msg):
        problems.append('does not say what is accepted')
    return ['%s (%s)' % (p, msg) for p in problems]


def test_bad_input_table(emu, run_playbook, tmp_path):
    assert len(ROWS) >= 40 and len({r[0] for r in ROWS}) == len(ROWS)
    consumer_dir = tmp_path / 'consumer'
    consumer_dir.mkdir()
    places = {
        RW_ID: emu.role_id(RW),
        NO_FILE: str(tmp_path / 'no-such-file.yml'),
        A_DIR: str(consumer_dir),
        CONSUMER: str(consumer_dir / 'app.token'),
        NO_DIR_CONSUMER: str(tmp_path / 'no-such-folder' / 'app.token'),
    }
    tasks = []
    for index, (name, what, args, _option) in enumerate(ROWS):
        tasks.extend(_row_tasks(index, name, what, args, places))
    emu.reset_counts()
    run = run_playbook(play(tasks, name='bad input table', module_defaults={'retries': 0}))

    failures = []
    for index, (name, what, _args, option) in enumerate(ROWS):
        problems = _check_row(name, what, option, run.shown('row%02d' % index))
        failures.extend('%s: %s' % (name, problem) for problem in problems)
    assert not failures, '%d of %d rows are wrong:\n  %s' % (len(failures), len(ROWS), '\n  '.join(failures))

    assert 'Traceback' not in run.output
    assert emu.writes() == {}, 'the table made writes: %s' % emu.writes()
    assert not list(consumer_dir.iterdir()), 'a consumer file was written'
    assert [t for t in emu.state_tokens() if t['description'] != 'bootstrap (portal)'] == []


@pytest.mark.parametrize('what', sorted({r[1] for r in ROWS}))
def test_every_target_has_rows(what):
    """The table covers each module and the role (cheap check of the table itself)."""
    assert sum(1 for r in ROWS if r[1] == what) >= 5


def test_role_play_fails_before_any_post(emu, run_playbook, tmp_path):
    """The same checks stop a plain play (roles:, no rescue) with exit code 2, before anything is listed or created."""
    consumer = tmp_path / 'consumer' / 'app.token'
    consumer.parent.mkdir()
    playbook = play([], name='rotate with a world-readable consumer file')
    playbook = playbook.replace('  tasks: []\n', '  roles:\n  - role: astra.devops.token_rotation\n')
    assert 'roles:' in playbook
    emu.reset_counts()
    run = run_playbook(playbook, expect_rc=2, extra_args=(
        '-e', 'token_rotation_description=%s' % DESC, '-e', 'token_rotation_consumer_path=%s' % consumer,
        '-e', 'token_rotation_consumer_mode=0644', '-e', '{"token_rotation_roles": ["%s"]}' % RW))
    failed = [r for r in run.results if r['status'] == 'failed']
    # the consumer's module run fails with its whole result hidden (no_log), then its rescue says why
    assert [r['task'].split(' : ')[-1].split(' (')[0] for r in failed] == [
        'Check this consumer and learn which token its file holds', 'Stop, since this consumer cannot take a token'], failed
    msg = failed[-1]['result']['msg']
    assert '\n' not in msg and "token_rotation_consumer_mode must be" in msg and "got '0644'" in msg, msg
    assert emu.counts() == {}, emu.counts()  # not even a list call
    assert not consumer.exists()
