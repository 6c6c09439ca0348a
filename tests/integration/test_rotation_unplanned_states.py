# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role in states nobody planned for (issue 20): an expired token under token_rotation_min_age,
kept module files, a play that does not run its tasks in step, a run started midway, a consumer of two families,
and a delete that a skipped step or an outside writer would make unsafe. Every run goes through the leak scanner."""

from __future__ import annotations

import datetime

import pytest

from _rotation import (CREATE_ROUTE, DELETE_ROUTE, FAMILY_ROLES, ROTATE_PLAYBOOK, Consumers, family_ids, result_of,
                       rotation_args, seed_family, token_status, wait_for)
from test_rotation import api_counts, rotate, start_rotation
from test_rotation_hardening import one_failure


@pytest.fixture
def consumers(tmp_path):
    return Consumers(tmp_path / 'consumers')


def assert_every_consumer_holds_one_working_token(emu, consumers):
    held = consumers.client_ids()
    assert len(set(held.values())) == 1, held
    assert token_status(emu, consumers.token('c1')) == 200
    return held['c1']


@pytest.mark.parametrize('listed', [True, False], ids=['listed', 'not-listed'])
def test_an_expired_token_is_replaced_whatever_min_age_says(emu, run_playbook, consumers, listed):
    """The family's only token expired yesterday and every consumer holds it; a scheduled run with a min_age longer
    than the token's age replaces it. Whether the API still lists expired tokens is not known (the emulator's
    list_expired switch): listed, the plan says it expired; not listed, the family looks new and is provisioned
    with token_rotation_roles."""
    emu.config(list_expired=listed)
    desc = emu.desc('expired')
    old = seed_family(emu, consumers, desc, age_days=3,
                      expiry=(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
                      .strftime('%Y-%m-%dT%H:%M:%SZ'))
    assert token_status(emu, old['token']) == 401
    role_vars = {} if listed else {'token_rotation_roles': FAMILY_ROLES}
    run = rotate(run_playbook, consumers, desc, token_rotation_min_age='30d', **role_vars)
    result = result_of(run)
    assert result['action'] == ('rotated' if listed else 'provisioned'), result
    if listed:
        assert 'expired on' in result['reason'] and 'whatever token_rotation_min_age says' in result['reason']
        assert result['deleted_client_ids'] == [old['clientId']]
    new = assert_every_consumer_holds_one_working_token(emu, consumers)
    assert new == result['new_client_id'] != old['clientId']


def test_a_min_age_not_shorter_than_the_expiry_is_warned(emu, run_playbook, consumers):
    desc = emu.desc('min-age-warn')
    seed_family(emu, consumers, desc, age_days=1)
    run = rotate(run_playbook, consumers, desc, verbosity=0, token_rotation_min_age='30d', token_rotation_expiry='7d')
    assert result_of(run)['action'] == 'skipped'
    output = ' '.join((run.stdout + run.stderr).split())
    assert '[WARNING]: token_rotation_min_age (30d) is not shorter than the lifetime of the new token' in output, output


@pytest.mark.parametrize('how', ['environment', 'ansible.cfg'])
def test_kept_module_files_are_refused_before_any_call(emu, run_playbook, consumers, tmp_path, how):
    """ANSIBLE_KEEP_REMOTE_FILES (or keep_remote_files in ansible.cfg) would leave every module's arguments on disk:
    the role stops before any module that is given a secret runs, and no file anywhere holds one (the leak scanner
    reads every file under the test's folder, the kept temporary folders included)."""
    desc = emu.desc('kept-files')
    seed_family(emu, consumers, desc, age_days=3)
    if how == 'environment':
        env = {'ANSIBLE_KEEP_REMOTE_FILES': '1'}
    else:
        config = tmp_path / 'ansible.cfg'
        config.write_text('[defaults]\nkeep_remote_files = True\n')
        env = {'ANSIBLE_CONFIG': str(config)}
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, expect_rc=None, verbosity=1, extra_env=env)
    assert run.rc != 0
    one_failure(run, 'keeps module files', 'ANSIBLE_KEEP_REMOTE_FILES', 'keep_remote_files in ansible.cfg')
    assert api_counts(emu) == {}, api_counts(emu)


@pytest.mark.parametrize('setting, said', [('ANSIBLE_KEEP_REMOTE_FILES', 'keeps module files'),
                                           ('ANSIBLE_DEBUG', "ansible-core's debug mode is on")])
def test_a_module_given_the_api_token_refuses_kept_module_files_and_debug_mode(emu, run_playbook, setting, said):
    """Outside the role too: astra_token_info (given the API token) fails in its action plugin, before its module
    file is written or its arguments printed."""
    emu.reset_counts()
    run = run_playbook('''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: list
      astra.devops.astra_token_info:
''', expect_rc=2, verbosity=0, extra_env={setting: '1'})
    assert said in run.result('list')['msg']
    assert api_counts(emu) == {}


@pytest.mark.parametrize('strategy', ['free', 'host_pinned'])
def test_a_play_whose_hosts_do_not_run_in_step_is_refused(emu, run_playbook, consumers, tmp_path, strategy):
    desc = emu.desc('strategy-' + strategy)
    seed_family(emu, consumers, desc, age_days=3)
    playbook = tmp_path / 'rotate_free.yml'
    rotation_play = 'gather_facts: false  # facts include'  # the play that runs the role (not the group check's)
    shaped = 'strategy: %s\n  %s' % (strategy, rotation_play)
    playbook.write_text(ROTATE_PLAYBOOK.read_text().replace(rotation_play, shaped, 1))
    assert 'strategy: %s' % strategy in playbook.read_text()
    emu.reset_counts()
    run = run_playbook(str(playbook), inventory=consumers.inventory(), verbosity=1, expect_rc=None,
                       allowed_secret_files=consumers.paths,
                       extra_args=rotation_args(token_rotation_description=desc))
    assert run.rc != 0
    one_failure(run, "The play's strategy is %s" % strategy, 'linear')
    assert api_counts(emu) == {}, api_counts(emu)


def test_a_run_started_midway_is_refused_clearly(emu, run_playbook, consumers):
    desc = emu.desc('start-at')
    old = seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    run = run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=1, expect_rc=None,
                       allowed_secret_files=consumers.paths,
                       extra_args=rotation_args(token_rotation_description=desc) +
                       ['--start-at-task', 'Delete the other tokens of the family, call the API with each deleted '
                        'token a consumer held until it is refused, and list the family once'])
    assert run.rc != 0
    output = ' '.join(run.stdout.split())
    assert 'token_rotation ran from the middle' in output, output
    assert emu.writes() == {}, emu.writes()
    assert family_ids(emu, desc) == [old['clientId']]


def test_a_consumer_holding_another_family_token_is_refused_before_the_create(emu, run_playbook, consumers):
    """One consumer file configured in two families: c2 holds the working token of 'other'. The run stops before
    anything is created, naming the other family; nothing changes, and the other family's token keeps working."""
    desc, other_desc = emu.desc('family-a'), emu.desc('family-b')
    seed_family(emu, consumers, desc, age_days=3)
    other = emu.mint(roles=FAMILY_ROLES, description=other_desc)
    consumers.write(other, hosts=['c2'])
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, expect_rc=None, verbosity=1)
    assert run.rc != 0
    one_failure(run, "c2 holds %s of the family '%s'" % (other['clientId'], other_desc), 'Nothing was created')
    assert emu.writes() == {}, emu.writes()
    assert consumers.client_ids()['c2'] == other['clientId'] and token_status(emu, other['token']) == 200


def test_a_consumer_reverted_during_the_grace_period_keeps_its_token(emu, run_playbook, consumers):
    """An outside writer (configuration management, a backup restore) puts the old token back into c1 while the run
    waits its grace period: the fresh look before the delete sees it, nothing is deleted, the old token keeps
    working, and once the writer is gone the next run converges."""
    desc = emu.desc('reverted')
    old = seed_family(emu, consumers, desc, age_days=3)
    job = start_rotation(run_playbook, consumers, desc, token_rotation_grace_period=8)
    wait_for(lambda: set(consumers.client_ids().values()) - {old['clientId'], None}, 60,
             'the consumers got the new token', alive=lambda: job.running)
    wait_for(lambda: len(set(consumers.client_ids().values())) == 1, 30, 'every consumer got the new token',
             alive=lambda: job.running)
    consumers.write(old, hosts=['c1'])
    run = job.wait(expect_rc=None, allowed_secret_files=consumers.paths)
    assert run.rc != 0
    message = one_failure(run, 'Nothing was deleted from the family', 'c1 holds %s' % old['clientId'])
    assert 'could not be read again' not in message
    assert emu.writes() == {CREATE_ROUTE: 1} or DELETE_ROUTE not in emu.writes(), emu.writes()
    assert old['clientId'] in family_ids(emu, desc) and token_status(emu, old['token']) == 200

    rotate(run_playbook, consumers, desc)
    assert len(family_ids(emu, desc)) == 1
    assert_every_consumer_holds_one_working_token(emu, consumers)


def test_role_variables_set_to_omit_count_as_unset(emu, run_playbook, consumers, tmp_path):
    """`token_rotation_expiry: "{{ maybe_expiry | default(omit) }}"` and the like, as a playbook that passes optional
    settings through writes them: each variable without a default counts as not set (the run rotates with the
    carried-over roles and lifetime). One with a default is refused, naming it and its default, before any call."""
    desc = emu.desc('omit')
    old = seed_family(emu, consumers, desc, age_days=3)
    playbook = tmp_path / 'rotate_omit.yml'
    names = ('expiry', 'min_age', 'roles', 'retire_after', 'ca_path')
    play_vars = ''.join('    token_rotation_%s: "{{ unset_%s | default(omit) }}"\n' % (name, name) for name in names)
    playbook.write_text(ROTATE_PLAYBOOK.read_text().replace('  roles:\n', '  vars:\n' + play_vars + '  roles:\n', 1))
    assert 'token_rotation_min_age: "{{ unset_min_age | default(omit) }}"' in playbook.read_text()
    run = run_playbook(str(playbook), inventory=consumers.inventory(), verbosity=2, allowed_secret_files=consumers.paths,
                       extra_args=rotation_args(token_rotation_description=desc))
    result = result_of(run)
    assert result['action'] == 'rotated' and result['deleted_client_ids'] == [old['clientId']], result
    assert '<<Omit>>' not in run.stdout and 'omit_place_holder' not in run.stdout
    assert_every_consumer_holds_one_working_token(emu, consumers)

    emu.reset_counts()
    refused = tmp_path / 'rotate_omit_default.yml'
    refused.write_text(ROTATE_PLAYBOOK.read_text().replace(
        '  roles:\n', '  vars:\n    token_rotation_propagation_timeout: "{{ unset | default(omit) }}"\n  roles:\n', 1))
    run = run_playbook(str(refused), inventory=consumers.inventory(), verbosity=1, allowed_secret_files=consumers.paths,
                       expect_rc=None, extra_args=rotation_args(token_rotation_description=desc))
    assert run.rc != 0
    one_failure(run, 'token_rotation_propagation_timeout is set to omit', 'write default(120) instead')
    assert api_counts(emu) == {}, api_counts(emu)
