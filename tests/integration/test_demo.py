# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo: playbooks/demo.yml at -vvv through the leak scanner, and tools/run_demo.py as `make demo` runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from _astra_it import REPO, TOKEN_SHAPE, rulebook_token_events

RENEWAL_FAMILY = 'demo-eda-renewal'


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


def test_make_demo_script(tmp_path, _collections):
    """tools/run_demo.py, the script `make demo` runs: the tour, the rotation on three consumers and two secret stores
    (AWS Secrets Manager on moto_server, Vault KV v2 on OpenBao) with the old token refused and the new one working,
    the audit report, the renewal of a token about to expire by ansible-rulebook on an event of the collection's
    source, and the leak check; it starts its own emulator and store servers."""
    demo_dir = tmp_path / 'demo'
    env = {k: v for k, v in os.environ.items() if not k.startswith('ASTRA_') and k != 'ANSIBLE_CONFIG'}
    env.update({
        'ASTRA_DEMO_DIR': str(demo_dir),
        'ANSIBLE_COLLECTIONS_PATH': _collections,
        'ANSIBLE_NOCOLOR': '1',
        'PATH': os.pathsep.join([str(Path(sys.executable).parent), env.get('PATH', '')]),
    })
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'run_demo.py')], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    tail = output[-6000:]
    assert proc.returncode == 0, tail
    assert TOKEN_SHAPE.search(output) is None, 'a token-shaped string was printed'
    assert 'Traceback (most recent call last)' not in output, tail
    flat = ' '.join(output.split())

    # Part 3: a token limited to one database, its reach in the audit, then its removal with its role
    assert re.search(r'Token \w+ holds the role orders Database Administrator \(made now\), which reaches only', flat)
    assert re.search(r'The audit shows the reach of each token: \w+ reaches only the database [0-9a-f-]{36}', flat)
    assert 'the role orders Database Administrator was deleted with it.' in flat

    for part in ('Part 1 of 4: create, list and delete a token', 'Part 2 of 4: rotate the token of an application',
                 'Part 3 of 4: audit every token', 'Part 4 of 4: renew a token about to expire',
                 'Part 1 done', 'Part 2 done', 'Part 3 done', 'Part 4 done'):
        assert part in flat, part

    # Part 2: every consumer holds one token after the first run, and one other token after the rotation
    held = re.findall(r'(app-[123]): \S+ \((raw|env|json) *, mode 0600\) holds client id (\w+)', flat)
    assert [h[0] for h in held] == ['app-1', 'app-2', 'app-3'] * 2, held
    before, after = {h[2] for h in held[:3]}, {h[2] for h in held[3:]}
    assert len(before) == 1 and len(after) == 1 and before != after, held
    new_id, old_id = re.search(r'Every consumer and store now holds the new client id (\w+) \(the old one was (\w+)\)',
                               flat).groups()
    # the two secret stores hold what the files hold, after each run
    stores = re.findall(r'(AWS Secrets Manager|Vault KV v2) \S+ (?:\(AWSCURRENT\) )?holds client id (\w+)', flat)
    assert stores == [('AWS Secrets Manager', old_id), ('Vault KV v2', old_id), ('AWS Secrets Manager', new_id),
                      ('Vault KV v2', new_id)], stores
    assert (old_id, new_id) == (before.pop(), after.pop())
    assert 'The old token works: GET /v2/currentOrg with it answers HTTP 200.' in flat
    assert 'The old token is refused: GET /v2/currentOrg with it answers HTTP 401 (expected 401).' in flat
    assert 'The new token works: GET /v2/currentOrg with it answers HTTP 200 (expected 200).' in flat
    for label, value in (('action', 'rotated'), ('old client ids', old_id), ('new client id', new_id),
                         ('consumers updated', 'app-1, app-2, app-3'), ('deleted', old_id)):
        assert '%s: %s' % (label, value) in flat, label
    assert re.search(r'step timings: validate [\d.]+ s, .*distribute [\d.]+ s, .*, total [\d.]+ s', flat)

    # Part 3: the Markdown report is printed, with the rotated token in it
    assert '# Astra token audit' in output
    assert re.search(r'^\| %s \| demo: orders-service \| R/W Svc Acct \|' % new_id, output, re.M)
    assert (demo_dir / 'audit' / 'token-audit.md').is_file()

    # Part 4: the source's one event (as ansible-rulebook printed it) names the family expiring in 2 days; the rule's
    # playbook renewed it: a new client id, held by the consumer file; the old token refused, the new one working
    events = rulebook_token_events(output)
    assert [(e['kind'], e['description']) for e in events] == [('expiring', RENEWAL_FAMILY)], events
    expiring_id = events[0]['client_id']
    assert 0 < events[0]['expires_in'] <= 2 * 86400, events
    assert 'Event: kind expiring, description %s, client id %s' % (RENEWAL_FAMILY, expiring_id) in flat
    old_id, new_id = re.search(r'Renewed: (\w+) -> (\w+), the consumer file holds the new one', flat).groups()
    assert old_id == expiring_id and new_id != old_id, (old_id, new_id)
    assert re.search(r'renewal-consumer: \S+ \(raw *, mode 0600\) holds client id %s' % new_id, flat)
    assert 'The renewed family\'s old token is refused (HTTP 401) and its new one works (HTTP 200).' in flat
    # the seconds the part adds are printed (measured, not asserted: a shared machine's timing is no test)
    assert re.search(r'Part 4 done in [\d.]+ s', flat), flat[-2000:]

    # the end: leak check, consumer files removed, emulator stopped
    assert 'Leak check: none of the' in flat
    assert not (demo_dir / 'consumers').exists()
    assert 'The emulator is stopped. The demo succeeded: all four parts ran.' in flat
