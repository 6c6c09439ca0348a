# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No secret the API issued appears in any output at -vvv. Every run of every test is scanned by the runner
(stdout, stderr, ANSIBLE_LOG_PATH, every file under the test's tmp dir); these tests add the paths where a secret
is handled on purpose, and check the scanner itself."""

from __future__ import annotations

import re
import stat

import pytest

from _astra_it import LeakError, assert_secret_shape, info, play, show, task, token

RW = 'R/W Svc Acct'


def test_full_lifecycle_at_vvv_leaks_nothing_and_the_consumer_file_works(target, run_playbook, tmp_path):
    desc = target.desc('lifecycle')
    consumer = tmp_path / 'consumer' / 'astra-token'
    consumer.parent.mkdir()
    run = run_playbook(play([
        token('create', 'created', description=desc, roles=[RW], expiry='1d'),
        assert_secret_shape('created'),
        task('write the token for its consumer', 'ansible.builtin.copy',
             {'content': '{{ created.secret.token }}\n', 'dest': str(consumer), 'mode': '0600'},
             no_log=True, diff=False),
        token('rotate it in place', 'rotated', description=desc, roles=[RW], recreate='always'),
        assert_secret_shape('rotated'),
        task('print the metadata of the new token', 'ansible.builtin.debug', {'var': 'rotated.token'}),
        task('use the first token (now deleted) as api_token', 'astra.devops.astra_role_info',
             {'api_token': "{{ lookup('ansible.builtin.file', '%s') }}" % consumer}, ignore_errors=True),
        task('use the new token as api_token', 'astra.devops.astra_role_info',
             {'api_token': '{{ rotated.secret.token }}'}),
        info('list the tokens', description=desc),
        token('delete', no_log=False, description=desc, state='absent'),
    ]), diff=True, verbosity=3, allowed_secret_files=[consumer])
    assert stat.S_IMODE(consumer.stat().st_mode) == 0o600
    assert re.fullmatch(r'AstraCS:[A-Za-z]{24}:[0-9a-f]{64}\n', consumer.read_text())
    # the old token was deleted by the rotation, so the API refuses it; the new one works
    assert run.status('use the first token (now deleted) as api_token') == 'ignored'
    assert '401' in run.result('use the first token (now deleted) as api_token')['msg']
    assert run.status('use the new token as api_token') == 'ok'
    assert run.result('list the tokens')['tokens'][0]['client_id'] == run.result(
        'print the metadata of the new token')['rotated.token']['client_id']
    assert run.result('delete')['changed'] is True


def test_secrets_are_not_printed_at_vvvv_nor_in_check_and_diff_mode(target, run_playbook):
    desc = target.desc('vvvv')
    playbook = play([
        token('create', 'created', description=desc, roles=[RW]),
        show('created'),
        token('replace', 'replaced', description=desc, roles=['RO Svc Acct'], recreate='state_change'),
        show('replaced'),
    ])
    run_playbook(playbook, verbosity=4, diff=True, check=True)
    run = run_playbook(playbook, verbosity=4, diff=True)
    assert run.shown('created')['has_secret'] is True and run.shown('replaced')['has_secret'] is True


def test_error_text_echoing_a_token_is_scrubbed(emu, run_playbook):
    """An API (or proxy) error body that repeats the caller's token must not bring it to the output."""
    emu.fault(method='GET', path='/v2/tokens', status=400, times=1,
              body={'errors': [{'ID': 340012, 'message': 'invalid token format: %s' % emu.api_token}]})
    emu.fault(method='GET', path='/v2/organizations/roles', status=500, times=1, content_type='text/plain',
              body='backend said: Authorization: Bearer %s rejected' % emu.api_token)
    run = run_playbook(play([
        info('an error body that echoes the token', ignore_errors=True, retries=0),
        task('a text error body that echoes the token', 'astra.devops.astra_role_info', {'retries': 0},
             ignore_errors=True),
    ]))
    assert '400' in run.result('an error body that echoes the token')['msg']
    assert '500' in run.result('a text error body that echoes the token')['msg']


def test_a_secret_created_by_a_failed_replacement_is_still_not_printed(emu, run_playbook):
    """The old token cannot be deleted (403 injected): the module fails but returns the new secret for recovery."""
    emu.mint(description='it-half-rotated', roles=[RW])
    emu.fault(method='DELETE', path='/v2/tokens/', status=403, times=-1,
              body={'errors': [{'ID': 403, 'message': 'insufficient permissions'}]})
    run = run_playbook(play([
        token('replace, but the delete is refused', 'half', ignore_errors=True, description='it-half-rotated',
              roles=[RW], recreate='always', retries=0),
        show('half'),
    ]))
    half = run.shown('half')
    assert half['failed'] is True and '\n' not in half['msg']
    assert half['has_secret'] is True and half['token']['client_id'] in half['msg']
    assert len(emu.state_tokens('it-half-rotated')) == 2


# ----------------------------------------------------------------------------------------------------------------
# the harness checks itself
# ----------------------------------------------------------------------------------------------------------------

def test_harness_the_leak_scanner_catches_a_printed_secret(emu, run_playbook):
    leaky = emu.mint(description='it-leaky', roles=[RW])
    run_playbook(play([task('print a secret on purpose', 'ansible.builtin.debug',
                            {'msg': "{{ lookup('ansible.builtin.env', 'IT_LEAK') }}"})]),
                 extra_env={'IT_LEAK': leaky['secret']}, expect_leak=True)
    run_playbook(play([task('print a token on purpose', 'ansible.builtin.debug',
                            {'msg': "{{ lookup('ansible.builtin.env', 'IT_LEAK') }}"})]),
                 extra_env={'IT_LEAK': leaky['token']}, expect_leak=True)


def test_harness_a_file_with_a_secret_must_be_declared_and_0600(emu, run_playbook, tmp_path):
    leaky = emu.mint(description='it-leaky-file', roles=[RW])
    dest = tmp_path / 'wrong-mode'
    playbook = play([task('write a secret with mode 0644', 'ansible.builtin.copy',
                          {'content': "{{ lookup('ansible.builtin.env', 'IT_LEAK') }}", 'dest': str(dest),
                           'mode': '0644'}, no_log=True, diff=False)])
    with pytest.raises(LeakError):
        run_playbook(playbook, extra_env={'IT_LEAK': leaky['token']}, allowed_secret_files=[dest])
    dest.unlink()


def test_harness_a_failing_no_log_assert_fails_the_run(target, run_playbook):
    desc = target.desc('nolog-assert')
    run = run_playbook(play([
        token('create', 'created', description=desc, roles=[RW]),
        task('an assert about the secret that does not hold', 'ansible.builtin.assert',
             {'that': ["created.secret.token is match('^NotAstra')"]}, no_log=True),
        task('never reached', 'ansible.builtin.debug', {'msg': 'unreachable'}),
    ]), expect_rc=2)
    assert run.status('an assert about the secret that does not hold') == 'failed'
    assert 'censored' in run.result('an assert about the secret that does not hold')
    assert not any(r['task'] == 'never reached' for r in run.results)
