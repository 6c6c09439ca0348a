# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.astra_token_info: every filter on seeded tokens of known ages."""

from __future__ import annotations

import pytest

from _astra_it import info, play

RW = 'R/W Svc Acct'
RO = 'RO Svc Acct'

# description -> mint arguments; ages and expiries relative to now
SEEDS = {
    'it-old': {'age_days': 100, 'roles': [RO], 'expiry': None},
    'it-new': {'age_days': 1, 'roles': [RW], 'expiry': None},
    'it-soon': {'age_days': 10, 'roles': [RW], 'expires_in_days': 5},
    'it-later': {'age_days': 10, 'roles': [RO, RW], 'expires_in_days': 200},
    'it-expired': {'age_days': 40, 'roles': [RO], 'expires_in_days': -3},
}
EVERY = set(SEEDS)


def _names(run, task_name):
    """Descriptions of the seeded tokens a task returned (the bootstrap admin token is left out)."""
    return {t['description'] for t in run.result(task_name)['tokens'] if t['description'] in EVERY}


def test_token_info_filters_on_tokens_of_known_ages(emu, run_playbook):
    minted = {desc: emu.mint(description=desc, **kw) for desc, kw in SEEDS.items()}
    ro_id = emu.role_id(RO)
    run = run_playbook(play([
        info('everything', 'all'),
        info('older than 30 days', older_than='30d'),
        info('older than 36 hours', older_than='36h'),
        info('expires within 7 days', expires_within='7d'),
        info('expires within 300 days', expires_within='300d'),
        info('never expires', never_expires=True),
        info('has an expiry', never_expires=False),
        info('expired', expired=True),
        info('not expired', expired=False),
        info('holds RO by name', roles=[RO]),
        info('holds R/W by portal name', roles=['Read/Write Service Account']),
        info('holds RO by id', roles=[ro_id]),
        info('by description', description='it-soon'),
        info('by client id', client_id=minted['it-old']['clientId']),
        info('R/W with an expiry', roles=[RW], never_expires=False),
        info('nothing matches', description='it-nobody'),
        dict(info('in check mode', older_than='30d'), check_mode=True),
    ]))
    assert _names(run, 'everything') == EVERY
    assert _names(run, 'older than 30 days') == {'it-old', 'it-expired'}
    assert _names(run, 'older than 36 hours') == EVERY - {'it-new'}
    assert _names(run, 'expires within 7 days') == {'it-soon'}
    assert _names(run, 'expires within 300 days') == {'it-soon', 'it-later'}
    assert _names(run, 'never expires') == {'it-old', 'it-new'}
    assert _names(run, 'has an expiry') == {'it-soon', 'it-later', 'it-expired'}
    assert _names(run, 'expired') == {'it-expired'}
    assert _names(run, 'not expired') == EVERY - {'it-expired'}
    assert _names(run, 'holds RO by name') == {'it-old', 'it-later', 'it-expired'}
    assert _names(run, 'holds R/W by portal name') == {'it-new', 'it-soon', 'it-later'}
    assert _names(run, 'holds RO by id') == {'it-old', 'it-later', 'it-expired'}
    assert _names(run, 'by description') == {'it-soon'}
    assert _names(run, 'by client id') == {'it-old'}
    assert _names(run, 'R/W with an expiry') == {'it-soon', 'it-later'}
    assert run.result('nothing matches')['tokens'] == []
    assert _names(run, 'in check mode') == {'it-old', 'it-expired'}
    for item in run.results:
        if item['action'] == 'astra.devops.astra_token_info':
            assert item['status'] == 'ok' and item['result']['changed'] is False, item['task']

    by_desc = {t['description']: t for t in run.result('everything')['tokens']}
    old, soon, later, expired = by_desc['it-old'], by_desc['it-soon'], by_desc['it-later'], by_desc['it-expired']
    assert old['client_id'] == minted['it-old']['clientId']
    assert abs(old['age_days'] - 100) <= 1
    assert old['expires_in_days'] is None and old['expired'] is False and old['expiry'] is None
    assert old['role_names'] == [RO] and old['roles'] == [ro_id]
    assert 4 <= soon['expires_in_days'] <= 5 and soon['expired'] is False
    assert 199 <= later['expires_in_days'] <= 200
    assert sorted(later['role_names']) == sorted([RO, RW])
    assert expired['expired'] is True
    assert abs(expired['age_days'] - 40) <= 1
    for item in by_desc.values():
        assert {'client_id', 'description', 'roles', 'role_names', 'generated_on', 'expiry',
                'age_days', 'expired', 'expires_in_days'} <= set(item)
        assert 'secret' not in item and 'token' not in item


@pytest.mark.api_profiles('default', reason='the legacy list shape is a setting of its own, not part of a profile')
def test_token_info_on_the_legacy_list_shape(emu, run_playbook):
    """Older API answers carry only clientId, roles and generatedOn."""
    minted = emu.mint(description='it-legacy-shape', roles=[RW], age_days=3)
    emu.config(list_legacy_fields=True)
    run = run_playbook(play([info('list legacy-shaped items', client_id=minted['clientId'])]))
    (item,) = run.result('list legacy-shaped items')['tokens']
    assert item['client_id'] == minted['clientId']
    assert item['description'] in ('', None)
    assert item['expiry'] is None and item['expires_in_days'] is None
    assert abs(item['age_days'] - 3) <= 1


def test_token_info_in_a_10000_token_organisation(emu, run_playbook):
    emu.seed(count=10000, description='it-bulk-{i}', roles=[RO])
    emu.mint(description='it-needle', roles=[RW])
    run = run_playbook(play([
        info('find one among 10000', description='it-needle'),
        info('find it by role among 10000', roles=[RW]),
    ]))
    assert [t['description'] for t in run.result('find one among 10000')['tokens']] == ['it-needle']
    assert [t['description'] for t in run.result('find it by role among 10000')['tokens']] == ['it-needle']


def test_token_info_when_the_roles_list_is_refused(emu, run_playbook, api_profile):
    """Issue 10: a token that may list tokens but not roles (403 on the roles list, in the profile's error shape)
    still gets the tokens, with role_names null and a warning that says why; a roles filter then takes ids (in any
    letter case), and a role name fails in one line that says so."""
    emu.config(list_roles_requires='org-role-read')
    status, body = emu.api('POST', '/v2/organizations/roles', body={'name': 'it token reader', 'policy': {
        'description': 'lists tokens only', 'resources': ['drn:astra:org:%s' % emu.org_id],
        'actions': ['org-token-read'], 'effect': 'allow'}})
    assert status == 201, (status, body)
    reader = emu.mint(description='it-token-reader', roles=['it token reader'])
    minted = emu.mint(description='it-old', roles=[RO], age_days=100)
    ro_id = emu.role_id(RO)
    run = run_playbook(play([
        info('list without the roles list', older_than='30d'),
        info('filter by an upper-case role id', roles=[ro_id.upper()]),
        info('filter by a role name', ignore_errors=True, roles=[RO]),
    ]), extra_env={'ASTRA_API_TOKEN': reader['token']})
    listed = run.result('list without the roles list')
    (token,) = listed['tokens']
    assert token['client_id'] == minted['clientId'] and token['roles'] == [ro_id] and token['role_names'] is None
    assert abs(token['age_days'] - 100) <= 1
    (warning,) = [w for w in listed.get('warnings', []) if 'roles' in w]
    assert 'HTTP 403' in warning and 'role_names is null' in warning and 'org-role-read' in warning, warning
    (by_id,) = run.result('filter by an upper-case role id')['tokens']
    assert by_id['client_id'] == minted['clientId']
    assert run.status('filter by a role name') == 'ignored'
    msg = run.result('filter by a role name')['msg']
    assert '\n' not in msg and 'role ids' in msg and RO in msg, msg


def test_token_info_without_role_names_makes_one_call(emu, run_playbook):
    """Issue 11: role_names=false leaves out the roles call (the rotation role lists its family so); a roles filter
    still resolves names."""
    minted = emu.mint(description='it-no-names', roles=[RO])
    emu.reset_counts()
    run = run_playbook(play([info('list without names', description='it-no-names', role_names=False)]))
    (token,) = run.result('list without names')['tokens']
    assert token['client_id'] == minted['clientId'] and token['role_names'] is None
    assert {route: n for route, n in emu.counts().items() if n} == {'GET /v2/tokens': 1}
    emu.reset_counts()
    run = run_playbook(play([info('filter by name', roles=[RO], role_names=False)]))
    assert minted['clientId'] in [t['client_id'] for t in run.result('filter by name')['tokens']]
    expected = {'GET /v2/tokens': 1, 'GET /v2/organizations/roles': 1}
    assert {route: n for route, n in emu.counts().items() if n} == expected


def test_a_token_pasted_into_a_description_is_not_shown_at_any_verbosity(emu, run_playbook):
    """A token made elsewhere (the portal, the API) may carry a live token in its description: the listing shows the
    description with the token hidden, at -vvvv too (the leak scanner reads the whole run)."""
    pasted = emu.mint(roles=['R/W Svc Acct'])
    emu.mint(roles=['R/W Svc Acct'], description='ci ' + pasted['token'])
    run = run_playbook(play([info('list every token')]), verbosity=4)
    shown = [t['description'] for t in run.result('list every token')['tokens'] if t['description'].startswith('ci ')]
    assert shown == ['ci AstraCS:********'], shown
