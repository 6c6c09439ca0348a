# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.astra_token_info: every filter on seeded tokens of known ages."""

from __future__ import annotations

import time

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
    started = time.monotonic()
    run = run_playbook(play([
        info('find one among 10000', description='it-needle'),
        info('find it by role among 10000', roles=[RW]),
    ]))
    elapsed = time.monotonic() - started
    assert [t['description'] for t in run.result('find one among 10000')['tokens']] == ['it-needle']
    assert [t['description'] for t in run.result('find it by role among 10000')['tokens']] == ['it-needle']
    assert elapsed < 30, elapsed
