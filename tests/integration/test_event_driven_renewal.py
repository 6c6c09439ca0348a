# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renewal driven by Event-Driven Ansible: the real ansible-rulebook (with this machine's Java 17) runs the
collection's rulebook astra.devops.renew_expiring_tokens with its event source astra.devops.token_events against the
emulator, and the rulebook's run_playbook rotates the family whose token expires soon. The run goes through the
leak scanner (ansible-rulebook's output, the playbook's log, and everything under the run's TMPDIR)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from _astra_it import rulebook_token_events, write_inventory
from _rotation import CREATE_ROUTE, DELETE_ROUTE, Consumers, family_ids, result_of, token_status

ANSIBLE_RULEBOOK = Path(sys.executable).parent / 'ansible-rulebook'
RULEBOOK = 'astra.devops.renew_expiring_tokens'
EVENT_FIELDS = {'kind', 'client_id', 'description', 'roles', 'generated', 'expires', 'expires_in', 'age', 'org_id'}


def test_an_expiring_event_renews_that_family_and_leaves_the_others(emu, run_playbook, tmp_path):
    families = {'soon': 2, 'later': 60, 'never': None}
    consumers, old, groups, watched = {}, {}, {}, {}
    for name, days in families.items():
        desc = emu.desc('eda-' + name)
        consumers[name] = Consumers(tmp_path / name, hosts={'eda_' + name: 'raw'})
        mint = {'expires_in_days': days} if days else {}
        old[name] = emu.mint(roles=['R/W Svc Acct'], description=desc, age_days=3, **mint)
        consumers[name].write(old[name])
        groups['renew_' + name] = consumers[name].hosts
        watched[desc] = 'renew_' + name
    inventory = write_inventory(tmp_path / 'inventory.yml', groups)
    rulebook_vars = tmp_path / 'renew.yml'
    rulebook_vars.write_text(yaml.safe_dump({'astra_renew_families': watched, 'astra_poll_once': True}))
    held_before = {name: consumers[name].path('eda_' + name).read_bytes() for name in families}
    emu.reset_counts()

    run = run_playbook.run_tool(
        [str(ANSIBLE_RULEBOOK), '-r', RULEBOOK, '-i', str(inventory), '--vars', str(rulebook_vars), '--print-events'],
        extra_env={'PATH': '%s:%s' % (ANSIBLE_RULEBOOK.parent, os.environ['PATH'])},
        allowed_secret_files=[path for group in consumers.values() for path in group.paths], timeout=180)

    # ansible-rulebook ended by itself (rc 0) after one poll: the events it printed have the documented shape.
    events = rulebook_token_events(run.stdout)
    soon = emu.desc('eda-soon')
    assert [(e['kind'], e['description'], e['client_id']) for e in events] == \
        [('expiring', soon, old['soon']['clientId'])], run.describe()
    event = events[0]
    assert set(event) == EVENT_FIELDS and event['roles'] == ['R/W Svc Acct'] and event['org_id'] == emu.org_id, event
    assert 0 < event['expires_in'] <= 2 * 86400 and 3 * 86400 - 60 <= event['age'] <= 3 * 86400 + 60, event
    assert event['expires'].endswith('Z') and event['generated'].endswith('Z'), event

    # The playbook the rule ran rotated that family: one new token, held by its consumer and accepted; the old refused.
    result = result_of(run)
    assert result['action'] == 'rotated' and result['description'] == soon, result
    family = family_ids(emu, soon)
    assert len(family) == 1 and family[0] != old['soon']['clientId'] and result['new_client_id'] == family[0], family
    assert consumers['soon'].client_ids() == {'eda_soon': family[0]}
    assert token_status(emu, consumers['soon'].token('eda_soon')) == 200
    assert token_status(emu, old['soon']['token']) == 401
    assert emu.writes() == {CREATE_ROUTE: 1, DELETE_ROUTE: 1}, emu.writes()

    # The family expiring in 60 days and the one that never expires are untouched, token and file.
    for name in ('later', 'never'):
        assert family_ids(emu, emu.desc('eda-' + name)) == [old[name]['clientId']], name
        assert consumers[name].path('eda_' + name).read_bytes() == held_before[name], name
