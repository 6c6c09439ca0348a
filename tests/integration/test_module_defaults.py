# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action group `astra` (meta/runtime.yml): one `module_defaults: {group/astra.devops.astra: ...}` in a play
gives every module its api_url and api_token, so no task names an auth option. The run has no ASTRA_* variable in
its environment (the values come from other variables, through a lookup), so the group is the only way in."""

from __future__ import annotations

import yaml

from _astra_it import REPO, assert_secret_shape, info, play, show, task, token
from _rotation import Consumers, failure_messages, family_ids, result_of, seed_family

ROLES = ['R/W Svc Acct']
GROUP_DEFAULTS = {
    'api_url': "{{ lookup('ansible.builtin.env', 'IT_URL') }}",
    'api_token': "{{ lookup('ansible.builtin.env', 'IT_TOKEN') }}",
}


def no_astra_env(target):
    """extra_env for run_playbook: the credentials only under names the modules do not read."""
    return {'ASTRA_API_TOKEN': None, 'ASTRA_API_URL': None, 'IT_URL': target.url, 'IT_TOKEN': target.api_token}


def test_action_group_lists_every_module_that_calls_the_api():
    """A module missing from the group would silently ignore the play's module_defaults; one that takes none of the
    connection options (astra_rotation_consumer, which runs on a consumer) must stay out of it, or the group's
    defaults would be options it refuses."""
    runtime = yaml.safe_load((REPO / 'meta' / 'runtime.yml').read_text())
    sources = {p.stem: p.read_text() for p in (REPO / 'plugins' / 'modules').glob('*.py') if p.stem != '__init__'}
    calling = sorted(name for name, text in sources.items() if '  - astra.devops.auth\n' in text)
    assert len(calling) >= 5 and 'astra_rotation_consumer' in sources, sorted(sources)
    assert sorted(runtime['action_groups']['astra']) == calling, runtime['action_groups']


def test_module_defaults_give_every_module_its_auth(emu, run_playbook):
    desc = emu.desc('module-defaults')
    checked, refused = emu.mint(roles=ROLES), emu.mint(roles=ROLES)
    emu.revoke(refused['clientId'])
    emu.reset_counts()
    run = run_playbook(play([
        token('create', 'created', description=desc, roles=ROLES, expiry='30d'),  # no_log: true
        assert_secret_shape('created'),
        show('created'),
        info('list the token', 'listed', description=desc),
        task('list the roles', 'astra.devops.astra_role_info', {'name': ROLES[0]}, register='roles'),
        show('roles'),
        # astra_token_check calls with the token it checks: the group's api_token is accepted and not used.
        task('check a token', 'astra.devops.astra_token_check', {'token': "{{ lookup('ansible.builtin.env', 'IT_CHECKED') }}"}),
        task('check a refused token', 'astra.devops.astra_token_check',
             {'token': "{{ lookup('ansible.builtin.env', 'IT_REFUSED') }}", 'state': 'refused'}),
    ], module_defaults=GROUP_DEFAULTS), extra_env=dict(no_astra_env(emu), IT_CHECKED=checked['token'],
                                                       IT_REFUSED=refused['token']))

    created = run.shown('created')
    assert created['changed'] is True and created['has_secret'] is True
    client_id = created['token']['client_id']
    assert [t['clientId'] for t in emu.state_tokens(desc)] == [client_id]
    listed = run.result('list the token')
    assert [t['client_id'] for t in listed['tokens']] == [client_id], listed
    assert listed['tokens'][0]['role_names'] == ROLES
    roles = run.shown('roles')['roles']
    assert [r['name'] for r in roles] == ROLES and roles[0]['built_in'] is True, roles
    for name, accepted in (('check a token', True), ('check a refused token', False)):
        result = run.result(name)
        assert run.status(name) == 'ok' and result['accepted'] is accepted, result
        assert result['client_id'] == (checked if accepted else refused)['clientId'], result
    assert emu.writes() == {'POST /v2/tokens': 1}, emu.writes()


def test_without_module_defaults_the_same_run_has_no_token(emu, run_playbook):
    """The control: without the group defaults, the run's environment gives the modules nothing."""
    emu.reset_counts()
    run = run_playbook(play([info('list the tokens')]), extra_env=no_astra_env(emu), expect_rc=2)
    assert run.status('list the tokens') == 'failed', run.describe()
    assert 'api_token must be set' in run.result('list the tokens')['msg'], run.describe()
    assert not emu.counts() or not any(emu.counts().values()), emu.counts()


def role_play(hosts_group, module_defaults, role_vars):
    """A play on the consumers running the token_rotation role, with the group's module_defaults."""
    return yaml.safe_dump([{
        'name': 'rotate under group module_defaults', 'hosts': hosts_group, 'gather_facts': False,
        'module_defaults': {'group/astra.devops.astra': dict(module_defaults)},
        'roles': [{'role': 'astra.devops.token_rotation', 'vars': dict(role_vars)}],
    }], sort_keys=False)


def test_the_rotation_role_refuses_group_defaults_it_would_not_use(emu, run_playbook, tmp_path):
    """The role calls with token_rotation_api_url and token_rotation_api_token (from ASTRA_API_URL and
    ASTRA_API_TOKEN by default), not with the group's module_defaults: a play whose group defaults point elsewhere
    stops before any API call, with a line that says what to set, instead of sending the role's token to another
    API (here the public one, from the unset ASTRA_API_URL)."""
    consumers = Consumers(tmp_path / 'consumers')
    desc = emu.desc('group-defaults-role')
    old = seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    run = run_playbook(role_play('astra_consumers', GROUP_DEFAULTS, {'token_rotation_description': desc}),
                       inventory=consumers.inventory(), verbosity=1, expect_rc=None, allowed_secret_files=consumers.paths,
                       extra_env=dict(no_astra_env(emu), ASTRA_API_TOKEN=emu.api_token))
    assert run.rc != 0
    messages = [m for m in failure_messages(run) if 'module_defaults for group/astra.devops.astra give api_url' in m]
    assert len(messages) == 1 and 'set token_rotation_api_url' in messages[0], failure_messages(run)
    assert emu.api_token not in messages[0]
    assert emu.counts() == {} or not any(emu.counts().values()), emu.counts()
    assert family_ids(emu, desc) == [old['clientId']]


def test_the_rotation_role_runs_under_group_defaults_that_match_its_own(emu, run_playbook, tmp_path):
    consumers = Consumers(tmp_path / 'consumers')
    desc = emu.desc('group-defaults-same')
    old = seed_family(emu, consumers, desc, age_days=3)
    run = run_playbook(role_play('astra_consumers', GROUP_DEFAULTS, {'token_rotation_description': desc}),
                       inventory=consumers.inventory(), verbosity=1, allowed_secret_files=consumers.paths,
                       extra_env=dict(no_astra_env(emu), ASTRA_API_TOKEN=emu.api_token, ASTRA_API_URL=emu.url))
    assert result_of(run)['action'] == 'rotated'
    assert family_ids(emu, desc) != [old['clientId']] and len(family_ids(emu, desc)) == 1
