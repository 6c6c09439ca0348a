# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.astra_role_info on every shape of the API's role objects: each emulator profile's (the api_profile
fixture), and the other casings, policy forms and Type values of the evidence (docs/api-notes.md, Role records)."""

from __future__ import annotations

import pytest

from _astra_it import play, task

BUILT_IN = {
    'Organization Administrator', 'Database Administrator', 'Billing Admin', 'Admin User', 'Admin Svc Acct',
    'RO User', 'R/W User', 'RO Svc Acct', 'R/W Svc Acct', 'API Admin User', 'API Admin Svc Acct', 'API RO User',
    'API RO Svc Acct', 'API R/W User', 'API R/W Svc Acct', 'UI View Only',
}
KEYS = {'id', 'name', 'description', 'effect', 'actions', 'resources', 'built_in'}


def role_info(title, **args):
    return task(title, 'astra.devops.astra_role_info', args)


def _playbook(rw_id, custom=True):
    tasks = [
        role_info('every role'),
        role_info('by API name', name='R/W Svc Acct'),
        role_info('by portal name in lower case', name='read/write service account'),
        role_info('by id', id=rw_id),
        role_info('built-in only', custom=False),
        role_info('unknown name', name='No Such Role'),
    ]
    if custom:
        tasks.append(role_info('custom only', custom=True))
    return play(tasks)


def _check(run, rw_id, custom_name=None):
    every = run.result('every role')['roles']
    names = {r['name'] for r in every}
    assert BUILT_IN <= names
    for role in every:
        assert KEYS <= set(role), role
        assert isinstance(role['actions'], list) and isinstance(role['resources'], list)
        assert role['effect'] == 'allow'
    org_admin = next(r for r in every if r['name'] == 'Organization Administrator')
    assert {'org-token-read', 'org-token-write'} <= set(org_admin['actions'])
    assert org_admin['built_in'] is True
    for task_name in ('by API name', 'by portal name in lower case', 'by id'):
        (role,) = run.result(task_name)['roles']
        assert role['id'] == rw_id and role['name'] == 'R/W Svc Acct', task_name
    built_in = run.result('built-in only')['roles']
    assert BUILT_IN <= {r['name'] for r in built_in}
    if custom_name:
        assert {r['name'] for r in built_in} == BUILT_IN
    assert all(r['built_in'] for r in built_in)
    assert run.result('unknown name')['roles'] == []
    for item in run.results:
        assert item['status'] == 'ok' and item['result']['changed'] is False, item['task']
    if custom_name:
        (custom,) = run.result('custom only')['roles']
        assert custom['name'] == custom_name and custom['built_in'] is False
        assert custom['actions'] == ['org-token-read']
        assert custom['description'] == 'made by the integration tests'
    return every


def _make_custom_role(target, name):
    status, body = target.api('POST', '/v2/organizations/roles', body={'name': name, 'policy': {
        'description': 'made by the integration tests', 'resources': ['drn:astra:org:%s' % target.org_id],
        'actions': ['org-token-read'], 'effect': 'allow'}})
    assert status in (200, 201), (status, body)


def _raw_roles(emu):
    status, body = emu.api('GET', '/v2/organizations/roles')
    assert status == 200, (status, body)
    return body


def test_role_info_in_the_profile(emu, run_playbook, api_profile):
    """The profile's role shape: id/name/policy (default, openapi: the OpenAPI file), or ID/Name/Type with the
    policy as a JSON string (docs: DataStax's "Managing roles" reference, which crashed the module before issue 10)."""
    _make_custom_role(emu, 'it custom reader')
    raw = _raw_roles(emu)
    if api_profile.name == 'docs':
        assert {'ID', 'Name', 'Type', 'policy'} == set(raw[0]) and isinstance(raw[0]['policy'], str), raw[0]
        assert {r['Type'] for r in raw} == {'default', 'custom'}
    else:
        assert {'id', 'name', 'policy'} <= set(raw[0]) and isinstance(raw[0]['policy'], dict), raw[0]
    rw_id = emu.role_id('R/W Svc Acct')
    _check(run_playbook(_playbook(rw_id)), rw_id, custom_name='it custom reader')


# (casing, policy form, Type of built-in roles) beyond the profiles: the Java SDK and astra-cli fixtures
# (samples/roles-list.json: ID/Name/Policy, no Type), older docs (Type built-in, OrgID), and the policy string with
# the upper-case keys.
OTHER_SHAPES = [('upper', 'object', 'none'), ('upper', 'string', 'built-in'), ('lower', 'string', 'default')]


@pytest.mark.api_profiles('default', reason='it sets every role shape itself, whatever the profile')
def test_role_info_on_every_role_shape(emu, run_playbook):
    """The same roles read from each of these shapes give one result (each checked like the profiles' shapes)."""
    _make_custom_role(emu, 'it custom reader')
    rw_id = emu.role_id('R/W Svc Acct')
    results = []
    for case, policy, role_type in OTHER_SHAPES:
        emu.config(role_key_case=case, role_policy=policy, role_type=role_type)
        raw = _raw_roles(emu)
        value = raw[0].get('policy', raw[0].get('Policy'))
        assert ('Name' in raw[0]) == (case == 'upper'), raw[0]
        assert isinstance(value, str if policy == 'string' else dict), raw[0]
        run = run_playbook(_playbook(rw_id))
        results.append(sorted(_check(run, rw_id, custom_name='it custom reader'), key=lambda r: r['id']))
    assert results[0] == results[1] == results[2]


@pytest.mark.api_profiles('default', reason='runs against real Astra only')
def test_role_info_against_the_target(target, run_playbook):
    """Read-only, for real Astra; on the emulator the test above covers it."""
    if target.is_emulator:
        pytest.skip('runs against real Astra only; test_role_info_in_the_profile covers the emulator')
    rw_id = target.role_id('R/W Svc Acct')
    run = run_playbook(_playbook(rw_id, custom=False))
    _check(run, rw_id)
