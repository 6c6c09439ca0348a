#!/usr/bin/env python
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The astra.devops demo against a local Astra DevOps API emulator, AWS Secrets Manager (moto_server) and OpenBao.

    python tools/run_demo.py [extra ansible-playbook arguments, e.g. -v]

Starts the emulator (tests/emulator/control.py) and runs, with ASTRA_API_URL and ASTRA_API_TOKEN pointing at it:

1. playbooks/demo.yml: create a token, run again (no change), list tokens and roles, delete the token;
2. playbooks/rotate_token.yml on three local consumer hosts whose token files are under build/demo/, and on two
   secret stores (an AWS Secrets Manager secret on moto_server, a Vault KV v2 secret on OpenBao's dev server, both
   started here as the integration tests start them): provision the token of an example application, rotate it, and
   check that every file and store holds the new token, that the old token is refused and the new one works;
3. playbooks/least_privilege.yml makes a token limited to one database (and its scoped role), then
   playbooks/audit_tokens.yml shows each token's reach, with its report written to build/demo/audit/ and printed; then
   the limited token is removed with its role;
4. Event-Driven Ansible: a token family expiring in 2 days, held by one consumer file; ansible-rulebook (Java 17) runs
   the collection's rulebook astra.devops.renew_expiring_tokens for one poll: the source astra.devops.token_events
   sends an `expiring` event and the rule's playbook renews the family. The part prints how long it took.

The demo folder is build/demo/ (ignored by git), or ASTRA_DEMO_DIR when set; each run replaces what the last left.

Then it checks that no secret the emulator issued appears in anything it printed, removes the consumer files (the
only files that hold a secret), stops the emulator, and exits 0 only if every part succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLAYBOOKS = REPO / 'playbooks'
# build/ is ignored by git; ASTRA_DEMO_DIR moves the demo folder elsewhere (the tests use a temporary one)
DEMO_DIR = Path(os.environ.get('ASTRA_DEMO_DIR') or REPO / 'build' / 'demo').resolve()
CONSUMER_DIR = DEMO_DIR / 'consumers'
FAMILY = 'demo: orders-service'
FAMILY_ROLES = ['R/W Svc Acct']
# (host, file format, file name): one consumer per format the role writes without a template
# the role's steps, in the order they run (token_rotation_result.timings has one entry per step that ran)
STEP_ORDER = ('validate', 'discover', 'observe', 'decide', 'create', 'propagate', 'distribute', 'check', 'grace',
              'retire', 'confirm')
CONSUMERS = (('app-1', 'raw', 'astra-token'), ('app-2', 'env', 'astra.env'), ('app-3', 'json', 'astra.json'))
sys.path.insert(0, str(REPO / 'tests' / 'emulator'))

from control import Emulator, EmulatorError  # noqa: E402  pylint: disable=wrong-import-position,import-error

sys.path.insert(0, str(REPO / 'tests' / 'integration'))
from _astra_it import rulebook_token_events  # noqa: E402  pylint: disable=wrong-import-position,import-error
from _stores_it import BaoServer, MotoServer  # noqa: E402  pylint: disable=wrong-import-position,import-error

AWS_SECRET = 'demo/orders-service/astra'
VAULT_PATH = 'demo/orders-service'
STORE_ENV = {}  # the AWS and Vault settings of the running servers, for every ansible-playbook run

TRANSCRIPT = []  # everything this script printed, for the leak check


def emit(text):
    TRANSCRIPT.append(text)
    sys.stdout.write(text)
    sys.stdout.flush()


def say(text=''):
    emit((textwrap.fill(text, 100) if text else '') + '\n')


def line(text):
    """One line, not wrapped (tables and aligned lists)."""
    emit(text + '\n')


def field(label, items):
    """'  label:  item, item, ...', wrapped between items and aligned under the first."""
    lead = '  %-19s' % (label + ':')
    lines, current = [], lead
    for item in items or ['-']:
        piece = item if current == lead else ', ' + item
        if current != lead and len(current) + len(piece) > 100:
            lines.append(current + ',')
            current, piece = ' ' * len(lead), item
        current += piece
    emit('\n'.join(lines + [current]) + '\n')


def heading(text):
    emit('\n%s\n%s\n%s\n' % ('=' * 100, text, '=' * 100))


def rel(path):
    """path relative to the repository root (where ansible-playbook runs), or absolute outside it."""
    try:
        return str(Path(path).relative_to(REPO))
    except ValueError:
        return str(path)


def venv_tool(name):
    """The venv's own copy of a command (next to this Python), else the one on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def ansible_playbook():
    found = venv_tool('ansible-playbook')
    if not found:
        sys.exit('ansible-playbook was not found: run `make demo`, which creates .venv with ansible-core.')
    return found


def collections_path():
    path = os.environ.get('ANSIBLE_COLLECTIONS_PATH') or str(REPO / '.ansible' / 'collections')
    if not any((Path(p) / 'ansible_collections' / 'astra' / 'devops').is_dir() for p in path.split(os.pathsep)):
        sys.exit('The collection astra.devops is not installed in %s: run `make demo`, which builds and installs it.'
                 % path)
    return path


def tool_env(emu):
    """The environment of every ansible-playbook (and ansible-rulebook) run: the emulator's URL and token."""
    env = dict(os.environ)
    env.update({
        'ASTRA_API_URL': emu.url,
        'ASTRA_API_TOKEN': emu.admin_token,
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
    })
    for key, value in STORE_ENV.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def stream(cmd, env, timeout=None):
    """Run cmd in the repository root, its output shown as it comes; returns the exit code. With a timeout, a
    command still running after that many seconds is killed with its children (and so fails)."""
    with subprocess.Popen(cmd, env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1, start_new_session=bool(timeout)) as proc:
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL)) if timeout else None
        if timer:
            timer.start()
        try:
            for text in proc.stdout:
                emit(text)
            return proc.wait()
        finally:
            if timer:
                timer.cancel()


def run_playbook(emu, args, extra_args):
    """ansible-playbook <args> <extra_args>, its output shown as it comes; returns the exit code."""
    cmd = [ansible_playbook()] + [str(a) for a in args] + list(extra_args)
    emit('\n$ ansible-playbook %s\n' % ' '.join(rel(a) if isinstance(a, Path) else str(a) for a in args))
    return stream(cmd, tool_env(emu))


def api_calls(emu):
    """The API calls the emulator counted since the last reset, as a list of 'METHOD /route xN'."""
    return ['%s x%d' % (route, n) for route, n in sorted(emu.counts().items()) if n]


def leaked(emu, text):
    """The issued secrets (and the secret half of each token) that appear in text."""
    found = []
    for secret in emu.secrets():
        pieces = [secret] + ([secret.rsplit(':', 1)[-1]] if secret.startswith('AstraCS:') else [])
        if any(piece and piece in text for piece in pieces):
            found.append(secret)
    return found


class PartFailed(Exception):
    """A step of a part went wrong; the message says which (never with a secret)."""


# ------------------------------------------------------------------------------------------------------------------
# Part 1: playbooks/demo.yml
# ------------------------------------------------------------------------------------------------------------------

def part_tour(emu, extra_args):
    heading('Part 1 of 4: create, list and delete a token (playbooks/demo.yml)')
    say('The playbook creates a token for an example application with the role "R/W Svc Acct", runs the same task '
        'again to show that it changes nothing, lists the tokens and roles as tables, then deletes the token and '
        'checks that it is gone.')
    emu.reset_counts()
    if run_playbook(emu, ['-i', 'localhost,', PLAYBOOKS / 'demo.yml'], extra_args) != 0:
        raise PartFailed('playbooks/demo.yml failed; see the task that failed above.')
    say()
    say('Part 1 done: the token "demo: inventory-service" was created once, found unchanged by the second run, '
        'listed, deleted and confirmed gone. API calls: %s.' % (', '.join(api_calls(emu)) or 'none'))


# ------------------------------------------------------------------------------------------------------------------
# Part 2: playbooks/rotate_token.yml on three local consumers
# ------------------------------------------------------------------------------------------------------------------

INVENTORY = """\
# The consumers of the token family "{family}" for the astra.devops demo (tools/run_demo.py).
# Three hosts on this machine (local connections); each keeps the token in a file under {consumer_dir}.
all:
  children:
    astra_consumers:  # the group playbooks/rotate_token.yml targets
      vars:
        token_rotation_description: "{family}"
        token_rotation_roles: {roles}  # needed for the first token only
        token_rotation_expiry: 90d
        # Two secret stores hold the token too, written from the controller (created by the first run).
        token_rotation_stores:
          - kind: aws_secretsmanager
            secret_id: {aws_secret}
            create: true  # made by the first run; without it, a secret that does not exist is refused
          - kind: vault_kv2
            path: {vault_path}
            format: json
            create: true
        ansible_connection: local
        ansible_python_interpreter: "{python}"
      hosts:
{hosts}"""

HOST = """\
        {host}:
          token_rotation_consumer_path: "{path}"
          token_rotation_consumer_format: {fmt}
          token_rotation_consumer_mode: "0600"
"""

# A second playbook for the same ansible-playbook run: it saves the role's result fact (client ids, host names and
# timings, never a secret) as JSON, so that the demo can print it.
SAVE_RESULT = """\
- name: Save token_rotation_result for the demo (client ids, hosts and timings; never a secret)
  hosts: astra_consumers
  gather_facts: false
  tasks:
    - name: Write token_rotation_result to {result_rel}
      ansible.builtin.copy:
        content: "{{{{ token_rotation_result | to_nice_json }}}}\\n"
        dest: "{result}"
        mode: "0644"
      run_once: true
      delegate_to: localhost
"""


def consumer_path(host, name):
    return CONSUMER_DIR / host / name


def show_consumer(host, path, fmt, token):
    """Print '  host: path (fmt, mode 0600) holds client id X' for one consumer file; returns the client id."""
    held = client_id(token)
    line('  %s: %-38s (%-4s, mode %04o) holds client id %s'
         % (host, rel(path), fmt, stat.S_IMODE(path.stat().st_mode), held))
    return held


def prepare_demo_dir():
    """A fresh build/demo/ with the inventory, the result-saving playbook and one folder per consumer."""
    for old in (CONSUMER_DIR, DEMO_DIR / 'audit'):  # only what an earlier demo run left, never the whole folder
        if old.exists():
            shutil.rmtree(old)
    (DEMO_DIR / 'rotation-result.json').unlink(missing_ok=True)
    for host, _fmt, _name in CONSUMERS:
        (CONSUMER_DIR / host).mkdir(parents=True, mode=0o700)
    inventory = DEMO_DIR / 'inventory.yml'
    hosts = ''.join(HOST.format(host=host, path=consumer_path(host, name), fmt=fmt) for host, fmt, name in CONSUMERS)
    inventory.write_text(INVENTORY.format(family=FAMILY, roles=json.dumps(FAMILY_ROLES), python=sys.executable,
                                          consumer_dir=rel(CONSUMER_DIR), hosts=hosts, aws_secret=AWS_SECRET,
                                          vault_path=VAULT_PATH))
    result = DEMO_DIR / 'rotation-result.json'
    save = DEMO_DIR / 'save_result.yml'
    save.write_text(SAVE_RESULT.format(result=result, result_rel=rel(result)))
    return inventory, save, result


def read_token(host, fmt, name):
    """The AstraCS token string a consumer file holds (kept in memory only, never printed)."""
    text = consumer_path(host, name).read_text()
    if fmt == 'json':
        return json.loads(text)['token']
    if fmt == 'env':
        return text.strip().split('=', 1)[1]
    return text.strip()


def client_id(token):
    """The client id of an AstraCS:<clientId>:<hash> token: the part that is not secret."""
    return token.split(':')[1]


def show_consumers():
    """Print the client id each consumer file holds (and the file's mode); returns {host: client id}."""
    held = {}
    for host, fmt, name in CONSUMERS:
        path = consumer_path(host, name)
        if not path.is_file():
            raise PartFailed('the consumer file %s of %s is missing.' % (rel(path), host))
        held[host] = show_consumer(host, path, fmt, read_token(host, fmt, name))
    return held


def show_stores(stores, held):
    """Print the client id each store holds; fail unless it is the consumers' one. Returns the AWS secret's token."""
    aws, vault = stores
    aws_token = aws.value(AWS_SECRET, 'AWSCURRENT').strip()
    vault_token = json.loads(vault.read(VAULT_PATH)[0]['token'])['token']  # format json: the value is a JSON text
    for label, token in (('AWS Secrets Manager %s (AWSCURRENT)' % AWS_SECRET, aws_token),
                         ('Vault KV v2 secret/%s' % VAULT_PATH, vault_token)):
        line('  %-50s holds client id %s' % (label, client_id(token)))
        if client_id(token) != held:
            raise PartFailed('%s does not hold the token the consumer files hold (%s).' % (label, held))
    return aws_token


def status_with(emu, token):
    """The HTTP status of GET /v2/currentOrg called with token."""
    return emu.call('GET', '/v2/currentOrg', token=token)[0]


def part_rotation(emu, extra_args):
    heading('Part 2 of 4: rotate the token of an application across three consumers and two secret stores '
            '(playbooks/rotate_token.yml)')
    inventory, save, result_file = prepare_demo_dir()
    servers = DEMO_DIR / 'servers'
    if servers.exists():
        shutil.rmtree(servers)
    aws = MotoServer(servers / 'moto').start()
    try:
        vault = BaoServer(servers / 'bao').start()
    except Exception:
        aws.stop()
        raise
    try:
        STORE_ENV.update(aws.env)
        STORE_ENV.update(vault.env)
        say('Started AWS Secrets Manager (moto_server) at %s and Vault KV v2 (OpenBao\'s dev server) at %s, as the '
            'integration tests do; the playbooks reach them through the standard AWS_* and VAULT_* settings.'
            % (aws.url, vault.url))
        rotation_with_stores(emu, extra_args, inventory, save, result_file, (aws, vault))
    finally:
        STORE_ENV.clear()
        vault.stop()
        aws.stop()


def rotation_with_stores(emu, extra_args, inventory, save, result_file, stores):
    say('The example application "orders-service" runs on three hosts, app-1, app-2 and app-3. Here they are local '
        'connections, and each one keeps the application\'s Astra token in a file under %s, in one of three '
        'formats: raw (the token alone), env (NAME=token) and json (client id, secret and token), each with mode '
        '0600. Two other applications read it from secret stores: the AWS Secrets Manager secret %s and the Vault '
        'secret secret/%s. The inventory is %s.' % (rel(CONSUMER_DIR), AWS_SECRET, VAULT_PATH, rel(inventory)))
    say()
    say('First run: the family "%s" has no token yet, so the role provisions one with the role %s and writes it to '
        'the three files.' % (FAMILY, ', '.join(FAMILY_ROLES)))
    args = ['-i', inventory, PLAYBOOKS / 'rotate_token.yml', save]
    emu.reset_counts()
    if run_playbook(emu, args, extra_args) != 0:
        raise PartFailed('the first run of playbooks/rotate_token.yml failed; see the task that failed above.')
    say()
    say('After the first run, the consumers hold (only the client id is shown: it is the public part of a token):')
    before = show_consumers()
    if len(set(before.values())) != 1:
        raise PartFailed('the consumers hold different tokens after the first run.')
    old_id = before['app-1']
    show_stores(stores, old_id)
    old_token = read_token(*CONSUMERS[0])  # kept in memory to test it after the rotation; never printed
    first_status = status_with(emu, old_token)
    say('The old token works: GET /v2/currentOrg with it answers HTTP %d.' % first_status)
    if first_status != 200:
        raise PartFailed('the token of the first run should get 200.')

    say()
    say('Second run: the same playbook now rotates. It creates a new token next to the old one, waits until the new '
        'token is accepted, stages it in the two stores and reads it back (AWS keeps it as AWSPENDING), writes it to '
        'the three consumers in parallel, makes it current in the stores, and only then deletes the old token.')
    emu.reset_counts()
    if run_playbook(emu, args, extra_args) != 0:
        raise PartFailed('the rotation (second run of playbooks/rotate_token.yml) failed; see the task that failed '
                         'above.')
    calls = api_calls(emu)
    say()
    say('After the rotation, the consumers hold:')
    after = show_consumers()
    new_id = after['app-1']
    new_token = read_token(*CONSUMERS[2])  # from the json file this time
    if len(set(after.values())) != 1 or new_id == old_id:
        raise PartFailed('the consumers do not all hold one new token after the rotation.')
    show_stores(stores, new_id)
    say('Every consumer and store now holds the new client id %s (the old one was %s).' % (new_id, old_id))
    old_status, new_status = status_with(emu, old_token), status_with(emu, new_token)
    say('The old token is refused: GET /v2/currentOrg with it answers HTTP %d (expected 401).' % old_status)
    say('The new token works:      GET /v2/currentOrg with it answers HTTP %d (expected 200).' % new_status)
    if (old_status, new_status) != (401, 200):
        raise PartFailed('the old token should get 401 and the new one 200.')

    result = json.loads(result_file.read_text())
    steps = sorted((s for s in result['timings'] if s != 'total'),
                   key=lambda s: STEP_ORDER.index(s) if s in STEP_ORDER else len(STEP_ORDER))
    timings = ['%s %.2f s' % (step, result['timings'][step]) for step in steps]
    say()
    say('The role\'s result, the fact token_rotation_result (saved by %s to %s):' % (rel(save), rel(result_file)))
    field('action', [result['action']])
    field('old client ids', result['old_client_ids'])
    field('new client id', [result['new_client_id']])
    field('consumers updated', result['consumers_updated'])
    field('stores updated', result['stores_updated'])
    field('deleted', result['deleted_client_ids'])
    field('step timings', timings + ['total %.2f s' % result['timings']['total']])
    field('API calls', calls)
    if result['new_client_id'] != new_id or result['deleted_client_ids'] != [old_id]:
        raise PartFailed('token_rotation_result does not match what the consumer files hold.')
    say()
    if len(result['stores_updated']) != 2:
        raise PartFailed('token_rotation_result does not list the two stores as updated.')
    say()
    say('Part 2 done: the token of "orders-service" was rotated on three consumers and two secret stores; the old '
        'token is refused and the new one works.')


# ------------------------------------------------------------------------------------------------------------------
# Part 3: playbooks/audit_tokens.yml
# ------------------------------------------------------------------------------------------------------------------

def part_audit(emu, extra_args):
    heading('Part 3 of 4: audit every token of the organisation (playbooks/audit_tokens.yml)')
    report_dir = DEMO_DIR / 'audit'  # given relative: ansible-playbook runs in the repository root
    say('The audit lists every token with its roles, age and expiry, and flags risks: tokens that never expire, old '
        'or soon-expiring tokens, tokens that can manage tokens or roles, and descriptions held by several tokens. It '
        'writes a Markdown and a JSON report to %s. Expect findings for the emulator\'s administrator token, which '
        'never expires and can manage tokens.' % rel(report_dir))
    database = emu.database('orders')
    say('First, least privilege: a token limited to one database, the emulator\'s database "orders" (%s), in one '
        'task (playbooks/least_privilege.yml): the role the Astra portal would make, then the token.'
        % database['id'])
    scoped = ['-i', 'localhost,', PLAYBOOKS / 'least_privilege.yml', '-e', 'database_id=%s' % database['id']]
    if run_playbook(emu, scoped, extra_args) != 0:
        raise PartFailed('playbooks/least_privilege.yml failed; see the task that failed above.')
    emu.reset_counts()
    rc = run_playbook(emu, ['-i', 'localhost,', PLAYBOOKS / 'audit_tokens.yml', '-e',
                            'audit_report_dir=%s' % rel(report_dir)], extra_args)
    if rc != 0:
        raise PartFailed('playbooks/audit_tokens.yml failed; see the task that failed above.')
    report = report_dir / 'token-audit.md'
    say()
    say('The Markdown report, %s:' % rel(report))
    emit('\n' + report.read_text().rstrip('\n') + '\n\n')
    audit = json.loads((report_dir / 'token-audit.json').read_text())
    ours = [t for t in audit['tokens'] if t.get('description') == FAMILY]
    limited = [t for t in audit['tokens'] if t.get('databases') == [database['id']]]
    if len(limited) != 1:
        raise PartFailed('the audit does not show the token limited to the database orders.')
    say('The audit shows the reach of each token: %s reaches only the database %s; the others reach %s.'
        % (limited[0]['client_id'], database['id'], ', '.join(sorted(set(
            t['reach'] for t in audit['tokens'] if t is not limited[0])))))
    say()
    say('Then the token limited to "orders" is removed, and its role with it, since no other token holds it.')
    if run_playbook(emu, scoped + ['-e', 'state=absent'], extra_args) != 0:
        raise PartFailed('removing the token limited to one database failed; see the task that failed above.')
    _status, _headers, roles = emu.call('GET', '/v2/organizations/roles')
    if any(dict((k.lower(), v) for k, v in role.items()).get('name') == 'orders Database Administrator'
           for role in roles):
        raise PartFailed('the role orders Database Administrator is still there after its token was removed.')
    say('Part 3 done: %d tokens audited, %d findings. The family "%s" has %d token (%s, expiring %s).'
        % (audit['token_count'], audit['total'], FAMILY, len(ours), ', '.join(t['client_id'] for t in ours) or '-',
           ', '.join(t.get('expiry') or 'never' for t in ours) or '-'))


# ------------------------------------------------------------------------------------------------------------------
# Part 4: Event-Driven Ansible renews a token before it expires (extensions/eda)
# ------------------------------------------------------------------------------------------------------------------

RENEWAL_FAMILY = 'demo-eda-renewal'
RENEWAL_HOST = 'renewal-consumer'
RENEWAL_GROUP = 'demo_renewal'
RULEBOOK = 'astra.devops.renew_expiring_tokens'
RULEBOOK_TIMEOUT = 120  # seconds; the part takes about 12 (the JVM start, one poll, one rotation)

RENEWAL_INVENTORY = """\
# The consumer of the token family "{family}" (tools/run_demo.py, part 4): one group per watched family.
all:
  children:
    {group}:
      hosts:
        {host}:
          ansible_connection: local
          ansible_python_interpreter: "{python}"
          token_rotation_consumer_path: "{path}"
          token_rotation_consumer_format: raw
          token_rotation_consumer_mode: "0600"
"""


def ansible_rulebook():
    found = venv_tool('ansible-rulebook')
    if not found or not shutil.which('java'):
        raise PartFailed('ansible-rulebook or Java 17 was not found: run `make demo`, which installs both.')
    return found


def part_renewal(emu, _extra_args):
    heading('Part 4 of 4: renew a token about to expire, on an event (ansible-rulebook and %s)' % RULEBOOK)
    started = time.monotonic()
    say('Event-Driven Ansible: the collection\'s event source astra.devops.token_events polls the token listing and '
        'sends an "expiring" event for a watched family whose token expires within 14 days; the rulebook %s then '
        'runs the playbook astra.devops.rotate_token for that family. Here the family "%s" has one token that '
        'expires in 2 days, held by one consumer file; ansible-rulebook polls once, then ends by itself.'
        % (RULEBOOK, RENEWAL_FAMILY))
    folder = DEMO_DIR / 'renewal'
    if folder.exists():
        shutil.rmtree(folder)
    path = CONSUMER_DIR / RENEWAL_HOST / 'astra-token'
    path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    folder.mkdir(parents=True)
    old = emu.mint(description=RENEWAL_FAMILY, roles=FAMILY_ROLES, expires_in_days=2, age_days=3)
    path.write_text(old['token'] + '\n')
    path.chmod(0o600)
    inventory = folder / 'inventory.yml'
    inventory.write_text(RENEWAL_INVENTORY.format(family=RENEWAL_FAMILY, group=RENEWAL_GROUP, host=RENEWAL_HOST,
                                                  python=sys.executable, path=path))
    rulebook_vars = folder / 'renew.yml'
    rulebook_vars.write_text('astra_renew_families:\n  %s: %s\nastra_poll_once: true\n'
                             % (json.dumps(RENEWAL_FAMILY), RENEWAL_GROUP))
    show_consumer(RENEWAL_HOST, path, 'raw', old['token'])

    args = ['-r', RULEBOOK, '-i', rel(inventory), '--vars', rel(rulebook_vars), '--print-events']
    env = tool_env(emu)
    env['PATH'] = os.pathsep.join([str(Path(sys.executable).parent), env.get('PATH', '')])
    # ansible-core's RPC socket lives in TMPDIR, and a socket path must stay under 108 characters
    env['TMPDIR'] = tempfile.mkdtemp(prefix='astra-demo-')
    emit('\n$ ansible-rulebook %s\n' % ' '.join(args))
    mark = len(TRANSCRIPT)
    try:
        rc = stream([ansible_rulebook()] + args, env, RULEBOOK_TIMEOUT)
    finally:
        shutil.rmtree(env['TMPDIR'], ignore_errors=True)
    if rc != 0:
        raise PartFailed('ansible-rulebook ended with exit code %s; see its output above.' % rc)

    events = rulebook_token_events(''.join(TRANSCRIPT[mark:]))
    say()
    for event in events:
        line('Event: kind %s, description %s, client id %s, expires %s'
             % (event['kind'], event['description'], event['client_id'], event['expires']))
    if [(e['kind'], e['description'], e['client_id']) for e in events] != \
            [('expiring', RENEWAL_FAMILY, old['clientId'])]:
        raise PartFailed('ansible-rulebook did not print the one expiring event of "%s".' % RENEWAL_FAMILY)
    new_token = path.read_text().strip()  # kept in memory only, never printed
    new_id = show_consumer(RENEWAL_HOST, path, 'raw', new_token)
    if new_id == old['clientId']:
        raise PartFailed('the consumer file still holds the old token: the family was not renewed.')
    say('Renewed: %s -> %s, the consumer file holds the new one.' % (old['clientId'], new_id))
    old_status, new_status = status_with(emu, old['token']), status_with(emu, new_token)
    if (old_status, new_status) != (401, 200):
        raise PartFailed('after the renewal the old token got HTTP %d and the new one HTTP %d (expected 401 and 200).'
                         % (old_status, new_status))
    say('The renewed family\'s old token is refused (HTTP %d) and its new one works (HTTP %d).'
        % (old_status, new_status))
    say()
    say('Part 4 done in %.1f s (what this part adds to the demo: the JVM start, one poll and one rotation).'
        % (time.monotonic() - started))


# ------------------------------------------------------------------------------------------------------------------

PARTS = (('Part 1 (create, list, delete)', part_tour), ('Part 2 (rotation)', part_rotation),
         ('Part 3 (audit)', part_audit), ('Part 4 (renewal on an event)', part_renewal))


def main(argv):
    failed = []
    with Emulator() as emu:
        say('Started a local Astra API emulator at %s. It behaves like the Astra DevOps API at '
            'https://api.astra.datastax.com, with one organisation and the administrator token a person would '
            'create in the Astra portal; the playbooks receive both through ASTRA_API_URL and ASTRA_API_TOKEN.'
            % emu.url)
        for name, part in PARTS:
            try:
                part(emu, argv)
            except (PartFailed, EmulatorError, OSError, ValueError, KeyError, IndexError, TypeError,
                    subprocess.SubprocessError) as error:
                say()
                say('%s FAILED: %s' % (name, error))
                failed.append(name)

        heading('Checks and clean-up')
        issued = len(emu.secrets())
        leaks = leaked(emu, ''.join(TRANSCRIPT))
        if CONSUMER_DIR.exists():
            shutil.rmtree(CONSUMER_DIR)
        say('Removed the consumer files under %s, the only files that held a token. The inventories, the rotation '
            'result, the audit reports and the renewal\'s variables (no secret in them) stay in %s.'
            % (rel(CONSUMER_DIR), rel(DEMO_DIR)))
    if leaks:
        print('!' * 100)
        say('SECRET LEAK: %d of the %d secrets issued by the emulator appeared in the demo output above. This is a '
            'bug: no astra.devops task may print a secret.' % (len(leaks), issued))
        print('!' * 100)
        failed.append('the leak check')
    else:
        say('Leak check: none of the %d secrets the emulator issued appeared in anything this demo printed.' % issued)
    say('The emulator is stopped.')
    if failed:
        say('The demo FAILED: %s.' % ', '.join(failed))
        return 1
    say('The demo succeeded: all four parts ran.')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
