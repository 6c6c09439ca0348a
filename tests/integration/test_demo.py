# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/demo.yml, run as `make demo` runs it, but at -vvv and through the leak scanner."""

from __future__ import annotations

from _astra_it import REPO


def test_demo_playbook(emu, run_playbook):
    emu.reset_counts()
    run = run_playbook(REPO / 'playbooks' / 'demo.yml')
    assert run.status('Create a token for the inventory service, with the role R/W Svc Acct') == 'changed'
    assert run.status('Run the same task again, which finds the token and changes nothing') == 'ok'
    assert run.status('Delete the demo token') == 'changed'
    assert run.status('Confirm that the demo token is gone') == 'ok'
    table = run.result('Show the tokens as a table')['msg']
    assert table[0].startswith('CLIENT ID') and any('demo: inventory-service' in line for line in table)
    roles = run.result('Show the roles as a table')['msg']
    assert any(line.startswith('R/W Svc Acct ') for line in roles)
    assert emu.state_tokens('demo: inventory-service') == []
    counts = emu.counts()
    assert counts.get('POST /v2/tokens') == 1 and counts.get('DELETE /v2/tokens/{clientId}') == 1
