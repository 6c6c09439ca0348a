# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.astra_role_info on both key casings of the API's role objects."""

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


def test_role_info_on_both_key_casings(emu, run_playbook):
    """The API's role objects come as id/name/policy (the spec) or ID/Name/Policy (recorded responses)."""
    _make_custom_role(emu, 'it custom reader')
    rw_id = emu.role_id('R/W Svc Acct')
    every = {}
    for case in ('lower', 'upper'):
        emu.config(role_key_case=case)
        status, body = emu.api('GET', '/v2/organizations/roles')
        assert status == 200 and ('Name' in body[0]) == (case == 'upper'), body[0]
        run = run_playbook(_playbook(rw_id))
        every[case] = sorted(_check(run, rw_id, custom_name='it custom reader'), key=lambda r: r['id'])
    assert every['lower'] == every['upper']


def test_role_info_against_the_target(target, run_playbook):
    """Read-only, for real Astra; on the emulator the test above covers it."""
    if target.is_emulator:
        pytest.skip('runs against real Astra only; test_role_info_on_both_key_casings covers the emulator')
    rw_id = target.role_id('R/W Svc Acct')
    run = run_playbook(_playbook(rw_id, custom=False))
    _check(run, rw_id)
