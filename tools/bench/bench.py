#!/usr/bin/env python
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench: how fast the collection is, measured with the real ansible-playbook against the local emulator.

    python tools/bench/bench.py --collection build/astra-devops-1.1.0.tar.gz [--smoke] [--runs 5] [--base REF] ...

Run through `make bench` / `make bench-smoke` (they build the collection and set up .venv). Sections (--only):
  modules   a playbook of N identical module tasks against the same N ansible.builtin.uri tasks (10-token org)
  org       astra_token_info in a 10,000-token org against a 10-token org (two emulators), and against uri there
  events    one poll of the event source astra.devops.token_events (a fresh Python process running the installed
            collection's source file), in the same two orgs, with its API requests checked
  rotation  playbooks/rotate_token.yml to 1..100 local consumers at forks 5 and 20, with API requests per route
  (memory)  peak RSS of ansible-playbook, taken on the org and rotation runs
  base      with --base REF, the collection at REF against the working tree's (modules and rotation)

Every figure is the median of --runs rounds after --warmup rounds. A round runs each variant of a section once,
in an order that flips every round; ratios are taken within a round and their median reported, because absolute
times drift on a shared machine. Any failed run, or a rotation that did not converge, stops the bench (exit 1).
Writes tests/output/bench.{json,md}, bench-rotation.png and (full runs only) docs/performance.md: see report.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests' / 'emulator'))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# pylint: disable=wrong-import-position,import-error
from control import Emulator  # noqa: E402
import report  # noqa: E402

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / 'ansible-playbook'
ANSIBLE_GALAXY = Path(sys.executable).parent / 'ansible-galaxy'
RUN_TIMEOUT = 900  # seconds, one ansible-playbook run
TOKEN = re.compile(r'AstraCS:([A-Za-z]+):[0-9a-f]{64}')
RECAP = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+'
                   r'rescued=(\d+)\s+ignored=(\d+)', re.M)
FAMILY_ROLES = ['R/W Svc Acct']
SECTIONS = ('modules', 'org', 'events', 'rotation', 'base')
DEFAULT_FORKS = 5
BIG_ROTATION = 10  # rotations to more consumers than this run --big-runs times, without a warm-up of their own
# What the bench's event source watches: the kinds and horizon of extensions/eda/rulebooks/renew_expiring_tokens.yml,
# over every token of the org (no descriptions: each token's expiry is read and compared), one poll.
EVENTS_ARGS = {'expiring_within': '14d', 'kinds': ['expiring', 'expired'], 'once': True}
EVENTS_GOAL = 1.4  # issue 22: one poll in the large org at most 1.4 times one in the 10-token org
# One poll in a fresh Python: the source file is run by its path, as ansible-rulebook does; main() alone is timed
# inside, so that the interpreter's start and the imports are apart. Prints one JSON line (no event, no secret).
EVENTS_DRIVER = '''\
import asyncio, json, runpy, sys, time
source = runpy.run_path(sys.argv[1], run_name='astra_bench_token_events')
events = []

class Queue:
    async def put(self, event):
        events.append(event['astra_token'])

async def poll():
    started = time.perf_counter()
    await source['main'](Queue(), json.loads(sys.argv[2]))
    return time.perf_counter() - started

seconds = asyncio.run(poll())
kinds = {}
for event in events:
    kinds[event['kind']] = kinds.get(event['kind'], 0) + 1
print(json.dumps({'poll_seconds': seconds, 'kinds': kinds, 'roles': any(e['roles'] for e in events),
                  'decisions': source['decisions'].__file__}))
'''

# Defaults of a full run and of the smoke run; the Makefile passes only the BENCH_* variables given to make, so
# these are the single place where the defaults live. Option -> (make variable, full default, smoke default).
OPTIONS = {
    'runs': ('BENCH_RUNS', 5, 1),
    'warmup': ('BENCH_WARMUP', 1, 0),
    'big_runs': ('BENCH_BIG_RUNS', 1, 1),
    'tasks': ('BENCH_TASKS', 10, 3),
    'org_size': ('BENCH_ORG', 10000, 100),
    'hosts': ('BENCH_HOSTS', '1,10,50,100', '1,3'),
    'forks': ('BENCH_FORKS', '5,20', '5,20'),
    'base_hosts': ('BENCH_BASE_HOSTS', '1', '1'),
    'only': ('BENCH_ONLY', ','.join(SECTIONS), ','.join(SECTIONS)),
    'base': ('BASE', '', ''),
}


class BenchError(Exception):
    """A run failed or a rotation did not converge: the figures would be worthless."""


def redact(text):
    """Output tails shown on failure, with anything shaped like a token masked."""
    return TOKEN.sub('AstraCS:<redacted>', text)


# ---------------------------------------------------------------------------------------------------------------
# one ansible-playbook run
# ---------------------------------------------------------------------------------------------------------------

def vm_hwm_kb(pid):
    """The peak RSS (VmHWM) of a live process, in kB; 0 once it is gone or a zombie."""
    try:
        with open('/proc/%d/status' % pid, encoding='ascii', errors='replace') as handle:
            for line in handle:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_playbook(cmd, env, log_path, cwd):
    """Run ansible-playbook; return its wall time, exit code, output, and peak RSS in kB: `rss_controller_kb` of the
    ansible-playbook process itself (VmHWM, sampled every 10 ms), `rss_tree_kb` of the largest process of its tree
    (controller, forked workers or a module's Python: wait4's ru_maxrss)."""
    with open(log_path, 'wb') as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT)
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], vm_hwm_kb(proc.pid))
                done.wait(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        killer = threading.Timer(RUN_TIMEOUT, proc.kill)
        killer.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        killer.cancel()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {'seconds': seconds, 'rc': proc.returncode, 'output': Path(log_path).read_text(errors='replace'),
            'rss_controller_kb': peak[0], 'rss_tree_kb': usage.ru_maxrss}


def recap(output):
    """{host: {'ok': n, 'changed': n, 'unreachable': n, 'failed': n, 'skipped': n, 'rescued': n, 'ignored': n}}."""
    keys = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
    return {m.group(1): dict(zip(keys, map(int, m.groups()[1:]))) for m in RECAP.finditer(output)}


def fail(what, run, detail=''):
    raise BenchError('%s: %s\n--- ansible-playbook output (last 40 lines) ---\n%s' % (
        what, detail or 'exit code %s' % run['rc'], redact('\n'.join(run['output'].splitlines()[-40:]))))


# ---------------------------------------------------------------------------------------------------------------
# the bench: emulators, collections, playbooks
# ---------------------------------------------------------------------------------------------------------------

class Bench:
    """Everything one bench run shares: the temp folder, the emulators, the collections under test, the figures."""

    def __init__(self, args, tmp):
        self.args = args
        self.tmp = Path(tmp)
        self.count = 0
        self.figures = []
        self.emulators = {}
        (self.tmp / 'runs').mkdir()
        (self.tmp / 'ansible.cfg').write_text('')  # no ansible.cfg of the caller's applies
        self.collections = {'current': self.install_current(args.collection)}
        if args.base:
            self.collections['base'] = self.extract_base(args.base)
        self.playbook_dir = REPO / 'tests' / 'output' / ('bench-smoke' if args.smoke else 'bench')
        shutil.rmtree(self.playbook_dir, ignore_errors=True)
        self.playbook_dir.mkdir(parents=True)

    # -- setup ---------------------------------------------------------------------------------------------------

    def install_current(self, tarball):
        """The working tree's collection as `make build` made it, installed into a folder of its own, so that a
        later `make build` during the bench does not change what is measured."""
        root = self.tmp / 'current'
        subprocess.run([str(ANSIBLE_GALAXY), 'collection', 'install', '--offline', '-p', str(root), str(tarball)],
                       env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root)), check=True, capture_output=True)
        return root

    def extract_base(self, ref):
        """The collection at a git ref (git archive), laid out as ansible_collections/astra/devops."""
        root = self.tmp / 'base'
        folder = root / 'ansible_collections' / 'astra' / 'devops'
        folder.mkdir(parents=True)
        archive = subprocess.run(['git', 'archive', '--format=tar', ref], cwd=REPO, check=True, capture_output=True)
        subprocess.run(['tar', '-x', '-C', str(folder)], input=archive.stdout, check=True)
        return root

    @staticmethod
    def org_mix(size):
        """The seeded tokens of a `size`-token org, {description template: (count, expires in days)}: besides the
        bootstrap token (never expires), svc-0, svc-1, ... expire in 90 days, about 1% (soon-0, ...) in 7 days and
        0.2% (lapsed-0, ...) expired a day ago; svc-0 to svc-7 always exist (the modules and org sections use them)."""
        seeded = max(size - 1, 0)
        soon = min(max(1, seeded // 100), max(seeded - 8, 0))
        lapsed = min(seeded // 500, max(seeded - 8 - soon, 0))
        return {'svc-{i}': (seeded - soon - lapsed, 90), 'soon-{i}': (soon, 7), 'lapsed-{i}': (lapsed, -1)}

    def emulator(self, size):
        """An emulator whose default org holds `size` tokens (the bootstrap one and the org_mix)."""
        if size not in self.emulators:
            emu = Emulator(max_lifetime=3 * 3600).start()
            for description, (count, days) in self.org_mix(size).items():
                if count:
                    emu.seed(count=count, description=description, expires_in_days=days)
            emu.reset_counts()
            self.emulators[size] = emu
        return self.emulators[size]

    def env(self, emu, collection):
        """The environment of every run: the caller's, without any ANSIBLE_ or ASTRA_ setting, plus the API URL and
        token (never on the command line) and the collection under test as the only collections path."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'ASTRA_'))}
        env.update({
            'ASTRA_API_URL': emu.url,
            'ASTRA_API_TOKEN': emu.admin_token,
            'ANSIBLE_COLLECTIONS_PATH': str(self.collections[collection]),
            'ANSIBLE_CONFIG': str(self.tmp / 'ansible.cfg'),
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_LOCAL_TEMP': str(self.tmp / 'ansible-local'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        })
        return env

    def run(self, cmd, emu, collection):
        self.count += 1
        log = self.tmp / 'runs' / ('%04d.log' % self.count)
        return run_playbook([str(ANSIBLE_PLAYBOOK)] + cmd, self.env(emu, collection), log, cwd=str(self.tmp))

    def write_playbook(self, name, module, args, count):
        """A playbook of `count` identical tasks on localhost (kept in tests/output/bench/ for reading; no secret in
        it). Every task has no_log: astra_token requires it, and the uri tasks carry the API token in a header."""
        tasks = [{'name': '%s %d' % (module, i + 1), module: dict(args), 'no_log': True} for i in range(count)]
        play = {'name': name, 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}
        path = self.playbook_dir / (re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-') + '.yml')
        path.write_text(yaml.safe_dump([play], sort_keys=False, width=1000))
        return path

    # -- variants: each returns a callable that does one run and checks it --------------------------------------

    def tasks_variant(self, name, module, args, size, collection='current'):
        """N identical tasks: all ok, none changed, none failed; records API requests per task."""
        tasks = self.args.tasks
        playbook = self.write_playbook(name, module, args, tasks)

        def once():
            emu = self.emulator(size)
            emu.reset_counts()
            run = self.run(['-i', 'localhost,', str(playbook)], emu, collection)
            counts = {route: n for route, n in emu.counts().items() if n}
            host = recap(run['output']).get('localhost')
            if run['rc'] != 0 or not host or host['ok'] != tasks or host['changed'] or host['failed']:
                fail(name, run, 'expected %d tasks ok and unchanged, recap %s' % (tasks, host))
            run['requests_per_task'] = {route: n / tasks for route, n in counts.items()}
            return run
        return once

    def uri(self, path):
        return ('ansible.builtin.uri', {
            'url': "{{ lookup('ansible.builtin.env', 'ASTRA_API_URL') }}" + path,
            'headers': {'Authorization': "Bearer {{ lookup('ansible.builtin.env', 'ASTRA_API_TOKEN') }}",
                        'Accept': 'application/json'}})

    def events_variant(self, size, collection='current'):
        """One poll of the installed collection's event source (EVENTS_ARGS) in a fresh Python process, timed from
        its start to its end, and main() alone inside it. Checks the process, the events (one per soon-/lapsed-
        token: the org_mix) and the requests: exactly one GET of the token listing, plus one role listing when the
        events name roles and one GET /v2/currentOrg when there are events; nothing else."""
        root = self.collections[collection]
        source = root / 'ansible_collections' / 'astra' / 'devops' / 'extensions' / 'eda' / 'plugins' / \
            'event_source' / 'token_events.py'
        driver = self.tmp / 'events_driver.py'
        driver.write_text(EVENTS_DRIVER)
        mix = self.org_mix(size)
        expected = {kind: n for kind, n in (('expiring', mix['soon-{i}'][0]), ('expired', mix['lapsed-{i}'][0])) if n}

        def once():
            emu = self.emulator(size)
            env = self.env(emu, collection)
            env.pop('PYTHONPATH', None)  # only the installed collection, found by the source itself
            self.count += 1
            emu.reset_counts()
            run = run_playbook([sys.executable, str(driver), str(source), json.dumps(EVENTS_ARGS)], env,
                               self.tmp / 'runs' / ('%04d.log' % self.count), cwd=str(self.tmp))
            counts = {route: n for route, n in emu.counts().items() if n}
            what = 'one poll of token_events in a %d-token org' % size
            if run['rc'] != 0:
                fail(what, run)
            try:
                result = json.loads(run['output'].strip().splitlines()[-1])
            except (ValueError, IndexError):
                fail(what, run, 'no result line')
            if not result['decisions'].startswith(str(root) + os.sep):
                fail(what, run, 'the source imported %s, not the installed collection' % result['decisions'])
            if result['kinds'] != expected:
                fail(what, run, 'events %s, expected %s' % (result['kinds'], expected))
            wanted = {'GET /v2/tokens': 1}
            if result['roles']:
                wanted['GET /v2/organizations/roles'] = 1
            if result['kinds']:
                wanted['GET /v2/currentOrg'] = 1
            if counts != wanted:
                fail(what, run, 'the poll made the requests %s, expected exactly %s' % (counts, wanted))
            run.update(poll_seconds=result['poll_seconds'], requests=counts, events=result['kinds'])
            return run
        return once

    def rotation_variant(self, hosts, forks, collection='current'):
        """playbooks/rotate_token.yml (run as astra.devops.rotate_token, from the collection under test) on `hosts`
        local consumers whose raw token files hold a freshly minted family token. Checks that it rotated: exactly
        one token left in the family, not the old one, held by every consumer file and accepted by the API."""
        size = self.args.small_org

        def once():
            emu = self.emulator(size)
            self.count += 1
            desc = 'bench-rotation-%d' % self.count
            folder = self.tmp / 'consumers' / desc
            folder.mkdir(parents=True)
            old = emu.mint(roles=FAMILY_ROLES, description=desc)
            consumers = {}
            for i in range(hosts):
                path = folder / ('c%03d.token' % i)
                fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, 'w') as handle:
                    handle.write(old['token'] + '\n')
                consumers['c%03d' % i] = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                                          'token_rotation_consumer_path': str(path),
                                          'token_rotation_consumer_format': 'raw'}
            inventory = folder.parent / (desc + '.yml')
            inventory.write_text(yaml.safe_dump({'all': {
                'vars': {'token_rotation_description': desc, 'token_rotation_lock_dir': str(self.tmp / 'locks')},
                'children': {'astra_consumers': {'hosts': consumers}}}}, sort_keys=False))
            cmd = ['-i', str(inventory), 'astra.devops.rotate_token']
            if forks != DEFAULT_FORKS:
                cmd += ['-f', str(forks)]
            emu.reset_counts()
            run = self.run(cmd, emu, collection)
            run['requests'] = {route: n for route, n in emu.counts().items() if n}
            what = 'rotation to %d consumers, forks %d (%s collection)' % (hosts, forks, collection)
            hosts_recap = recap(run['output'])
            if run['rc'] != 0 or set(hosts_recap) - {'localhost'} != set(consumers) \
                    or any(r['failed'] or r['unreachable'] or r['rescued'] for r in hosts_recap.values()):
                fail(what, run, 'exit code %s, recap %s' % (run['rc'], hosts_recap))
            family = [t['clientId'] for t in emu.state()['tokens'] if t.get('description') == desc]
            try:
                held = {(folder / (host + '.token')).read_text() for host in consumers}
            except OSError as error:
                fail(what, run, 'a consumer file is unreadable: %s' % error.strerror)
            if len(family) != 1 or family[0] == old['clientId']:
                fail(what, run, 'did not rotate: the family holds %s, the old token was %s' % (family, old['clientId']))
            token = held.pop().strip() if len(held) == 1 else ''
            match = TOKEN.fullmatch(token)
            if not match or match.group(1) != family[0]:
                fail(what, run, 'the consumer files do not all hold the new token %s' % family[0])
            status, _headers, _body = emu.call('GET', '/v2/currentOrg', token=token)
            if status != 200:
                fail(what, run, 'the API refuses the new token (HTTP %s)' % status)
            emu.revoke(family[0])  # the org keeps its size from run to run
            shutil.rmtree(folder)
            return run
        return once

    # -- rounds and figures --------------------------------------------------------------------------------------

    def rounds(self, title, variants, big=()):
        """Run every variant once per round (--warmup rounds first, discarded); the order flips every round, so that
        a drift in the machine's speed favours no variant. The `big` variants (the slow rotations) run in the first
        --big-runs measured rounds only, and in no warm-up round (the small variants' warm-up warms the code they
        share). Returns {name: [run of each measured round it ran in]}."""
        runs, warmup = self.args.runs, self.args.warmup
        names = list(variants)
        measured = {name: [] for name in names}
        print('\n== %s: %d round(s) after %d warm-up round(s)%s' % (
            title, runs, warmup, '; %d of them with %s' % (min(runs, self.args.big_runs), ', '.join(big)) if big else ''),
            flush=True)
        for index in range(warmup + runs):
            line = []
            for name in names if index % 2 == 0 else names[::-1]:
                if name in big and not warmup <= index < warmup + self.args.big_runs:
                    continue
                run = variants[name]()
                run.pop('output')
                if index >= warmup:
                    measured[name].append(run)
                line.append('%s %.2f s' % (name, run['seconds']))
            label = 'warm-up %d' % (index + 1) if index < warmup else 'round %d' % (index - warmup + 1)
            print('  %s: %s' % (label, '; '.join(line)), flush=True)
        return measured

    def figure(self, section, key, label, unit, values, source=None, **extra):
        """One figure: its values (one per measured round) and their median; printed with how to reproduce it
        (the command that runs its section, or `source`, the section whose runs it was taken from)."""
        item = dict(section=section, key=key, label=label, unit=unit, values=[round(v, 4) for v in values],
                    median=round(report.median(values), 4), reproduce=self.args.command_for(only=source or section),
                    **extra)
        self.figures.append(item)
        print('  %-62s %s   (%s)' % (label, report.show(item), item['reproduce']), flush=True)
        return item

    def times(self, section, measured, source=None):
        """The wall time of each variant, with its API requests per task where it has them."""
        for name, runs in measured.items():
            extra = {}
            if 'requests_per_task' in runs[-1]:
                extra['requests_per_task'] = {route: round(n, 2) for route, n in
                                              sorted(runs[-1]['requests_per_task'].items())}
            self.figure(section, name, name, 's', [r['seconds'] for r in runs], source, **extra)

    def ratio(self, section, measured, top, bottom, label=None, per_task=False, source=None, **extra):
        """Median of the per-round ratios top/bottom (and, per_task, of the per-round difference per task, in ms)."""
        pairs = list(zip(measured[top], measured[bottom]))
        self.figure(section, '%s / %s' % (top, bottom), label or '%s / %s' % (top, bottom), 'ratio',
                    [a['seconds'] / b['seconds'] for a, b in pairs], source, **extra)
        if per_task:
            self.figure(section, '%s - %s per task' % (top, bottom), '%s - %s, per task' % (top, bottom), 'ms',
                        [(a['seconds'] - b['seconds']) * 1000 / self.args.tasks for a, b in pairs], source)


# ---------------------------------------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------------------------------------

def modules_section(bench):
    small, tasks = bench.args.small_org, bench.args.tasks
    role_id = [r['id'] for r in bench.emulator(small).call('GET', '/v2/organizations/roles')[2]
               if r['name'] == 'Organization Administrator'][0]
    token_args = {'description': 'svc-3', 'roles': [role_id]}  # a seeded token, roles as ids: one GET
    uri_tokens, uri_roles = bench.uri('/v2/tokens'), bench.uri('/v2/organizations/roles')
    variants = {
        'astra_token_info': bench.tasks_variant('astra_token_info', 'astra.devops.astra_token_info', {}, small),
        'uri GET /v2/tokens': bench.tasks_variant('uri tokens', uri_tokens[0], uri_tokens[1], small),
        'astra_role_info': bench.tasks_variant('astra_role_info', 'astra.devops.astra_role_info', {}, small),
        'uri GET /v2/organizations/roles': bench.tasks_variant('uri roles', uri_roles[0], uri_roles[1], small),
        'astra_token (unchanged)': bench.tasks_variant('astra_token unchanged', 'astra.devops.astra_token',
                                                       token_args, small),
    }
    base = 'base' in bench.args.sections and bench.args.base
    if base:
        for name, module, args in (('astra_token_info', 'astra.devops.astra_token_info', {}),
                                   ('astra_role_info', 'astra.devops.astra_role_info', {}),
                                   ('astra_token (unchanged)', 'astra.devops.astra_token', token_args)):
            variants[name + ' [BASE]'] = bench.tasks_variant(name + ' base', module, args, small, 'base')
    measured = bench.rounds('modules: %d identical tasks per playbook, %d-token org' % (tasks, small), variants)
    bench.times('modules', {k: v for k, v in measured.items() if not k.endswith('[BASE]')})
    bench.ratio('modules', measured, 'astra_token_info', 'uri GET /v2/tokens', per_task=True)
    bench.ratio('modules', measured, 'astra_role_info', 'uri GET /v2/organizations/roles', per_task=True)
    bench.ratio('modules', measured, 'astra_token (unchanged)', 'uri GET /v2/tokens', per_task=True)
    if base:
        bench.times('base', {k: v for k, v in measured.items() if k.endswith('[BASE]')}, 'modules')
        for name in ('astra_token_info', 'astra_role_info', 'astra_token (unchanged)'):
            bench.ratio('base', measured, name, name + ' [BASE]', label='%s: current / BASE' % name, source='modules')


def org_section(bench):
    large, small = bench.args.org_size, bench.args.small_org
    info, big, few = 'astra.devops.astra_token_info', '%d tokens' % large, '%d tokens' % small
    filtered = {'description': 'svc-7'}
    uri = bench.uri('/v2/tokens')
    variants = {
        'astra_token_info, ' + big: bench.tasks_variant('astra_token_info large org', info, {}, large),
        'astra_token_info, ' + few: bench.tasks_variant('astra_token_info small org', info, {}, small),
        'astra_token_info description=svc-7, ' + big: bench.tasks_variant('filtered large org', info, filtered, large),
        'astra_token_info description=svc-7, ' + few: bench.tasks_variant('filtered small org', info, filtered, small),
        'uri GET /v2/tokens, ' + big: bench.tasks_variant('uri tokens large org', uri[0], uri[1], large),
    }
    measured = bench.rounds('org: %d tasks per playbook, %d-token org against a %d-token org'
                            % (bench.args.tasks, large, small), variants)
    bench.times('org', measured)
    bench.ratio('org', measured, 'astra_token_info, ' + big, 'astra_token_info, ' + few)
    bench.ratio('org', measured, 'astra_token_info description=svc-7, ' + big, 'astra_token_info description=svc-7, ' + few)
    bench.ratio('org', measured, 'astra_token_info, ' + big, 'uri GET /v2/tokens, ' + big, per_task=True)
    memory(bench, 'astra_token_info, %d tasks, %s' % (bench.args.tasks, big), measured['astra_token_info, ' + big],
           'org')


def events_section(bench):
    """One poll in the large org against one in the 10-token org: the process (what a one-shot poll costs) and
    main() alone (the poll itself, without the interpreter's start and the imports, which dominate at 10 tokens)."""
    large, small = bench.args.org_size, bench.args.small_org
    big, few = 'token_events poll, %d tokens' % large, 'token_events poll, %d tokens' % small
    variants = {big: bench.events_variant(large), few: bench.events_variant(small)}
    measured = bench.rounds('events: one poll of astra.devops.token_events %s, %d-token org against a %d-token org'
                            % (json.dumps(EVENTS_ARGS), large, small), variants)
    for name, runs in measured.items():
        bench.figure('events', name, name + ': process', 's', [r['seconds'] for r in runs],
                     requests=runs[-1]['requests'], events=runs[-1]['events'],
                     requests_stable=all(r['requests'] == runs[-1]['requests'] for r in runs))
        bench.figure('events', name + ' main()', name + ': main() only', 'ms',
                     [r['poll_seconds'] * 1000 for r in runs])
    bench.ratio('events', measured, big, few, label='%d / %d tokens: process (goal: at most %.1f)'
                % (large, small, EVENTS_GOAL), goal=EVENTS_GOAL)
    bench.figure('events', 'main() %s / %s' % (big, few), '%d / %d tokens: main() only' % (large, small), 'ratio',
                 [a['poll_seconds'] / b['poll_seconds'] for a, b in zip(measured[big], measured[few])])


def rotation_name(hosts, forks):
    return 'rotation, %d consumer%s, forks %d' % (hosts, '' if hosts == 1 else 's', forks)


def rotation_section(bench):
    """One 1-host rotation per round serves as the reference of every forks setting (forks change nothing for a
    single host)."""
    hosts, forks = bench.args.host_counts, bench.args.fork_counts
    first, others = hosts[0], hosts[1:]
    variants = {rotation_name(first, forks[0]): bench.rotation_variant(first, forks[0])}
    for n in others:
        for f in forks:
            variants[rotation_name(n, f)] = bench.rotation_variant(n, f)
    big = [name for name in variants if int(name.split()[1]) > BIG_ROTATION]
    measured = bench.rounds('rotation: consumers %s, forks %s' % (hosts, forks), variants, big)
    reference = measured[rotation_name(first, forks[0])]
    for f in forks:
        measured[rotation_name(first, f)] = reference
    for n in hosts:
        for f in forks:
            name = rotation_name(n, f)
            if n == first and f != forks[0]:
                continue
            runs = measured[name]
            bench.figure('rotation', name, name, 's', [r['seconds'] for r in runs], hosts=n, forks=f,
                         collection='current', requests=runs[-1]['requests'],
                         requests_stable=all(r['requests'] == runs[-1]['requests'] for r in runs))
    for n in others:
        for f in forks:
            bench.ratio('rotation', measured, rotation_name(n, f), rotation_name(first, f),
                        label='%d / %d consumers, forks %d' % (n, first, f), hosts=n, forks=f)
    memory(bench, rotation_name(hosts[-1], forks[0]), measured[rotation_name(hosts[-1], forks[0])], 'rotation')


def base_section(bench):
    """The rotation with the collection at BASE against the working tree's, alternating (default forks)."""
    variants = {}
    for n in bench.args.base_host_counts:
        variants[rotation_name(n, DEFAULT_FORKS) + ' [current]'] = bench.rotation_variant(n, DEFAULT_FORKS)
        variants[rotation_name(n, DEFAULT_FORKS) + ' [BASE]'] = bench.rotation_variant(n, DEFAULT_FORKS, 'base')
    big = [name for name in variants if int(name.split()[1]) > BIG_ROTATION]
    measured = bench.rounds('base: rotation with the collection at %s against the working tree' % bench.args.base,
                            variants, big)
    for n in bench.args.base_host_counts:
        name = rotation_name(n, DEFAULT_FORKS)
        for collection, suffix in (('current', ' [current]'), ('base', ' [BASE]')):
            runs = measured[name + suffix]
            bench.figure('base', name + suffix, name + suffix, 's', [r['seconds'] for r in runs], hosts=n,
                         forks=DEFAULT_FORKS, collection=collection, requests=runs[-1]['requests'])
        bench.ratio('base', measured, name + ' [current]', name + ' [BASE]', label='%s: current / BASE' % name)


def memory(bench, label, runs, source):
    """Peak RSS figures, from the runs of another section (no runs of their own)."""
    bench.figure('memory', label + ' (controller)', label + ': ansible-playbook process', 'MB',
                 [r['rss_controller_kb'] / 1024 for r in runs], source, what=label, process='controller')
    bench.figure('memory', label + ' (largest)', label + ': largest process of its tree', 'MB',
                 [r['rss_tree_kb'] / 1024 for r in runs], source, what=label, process='tree')


# ---------------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--collection', required=True, help='the tarball `make build` wrote')
    parser.add_argument('--smoke', action='store_true', help='one round, no warm-up, small sizes (make bench-smoke)')
    for option, (var, _full, _smoke) in OPTIONS.items():
        parser.add_argument('--' + option.replace('_', '-'), default=None, help='make variable %s' % var)
    args = parser.parse_args(argv)
    given = {}
    for option, (var, full, smoke) in OPTIONS.items():
        value = getattr(args, option)
        if value not in (None, ''):
            given[var] = value
        default = smoke if args.smoke else full
        setattr(args, option, type(default)(value) if value not in (None, '') else default)
    args.host_counts = sorted({int(n) for n in str(args.hosts).replace(' ', ',').split(',') if n})
    args.fork_counts = sorted({int(n) for n in str(args.forks).replace(' ', ',').split(',') if n})
    args.base_host_counts = sorted({int(n) for n in str(args.base_hosts).replace(' ', ',').split(',') if n})
    args.sections = [s for s in args.only.replace(' ', ',').split(',') if s]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error('unknown section(s) %s: choose from %s' % (sorted(unknown), ', '.join(SECTIONS)))
    if 'BENCH_ONLY' in given and 'base' in args.sections and not args.base:
        parser.error('BENCH_ONLY=base needs BASE=<git ref>')
    args.small_org = 10
    target = 'bench-smoke' if args.smoke else 'bench'

    def command_for(**override):
        values = dict(given)
        values.update({OPTIONS[k][0]: v for k, v in override.items()})
        return ' '.join(['make', target] + ['%s=%s' % (k, v) for k, v in values.items()])
    args.command_for = command_for
    args.command = command_for()
    return args


def machine():
    """CPU count and model (/proc/cpuinfo), Python and ansible-core versions."""
    model = ''
    try:
        with open('/proc/cpuinfo', encoding='utf-8', errors='replace') as handle:
            model = next((line.split(':', 1)[1].strip() for line in handle if line.startswith('model name')), '')
    except OSError:
        pass
    core = subprocess.run([str(ANSIBLE_PLAYBOOK), '--version'], capture_output=True, text=True, check=True)
    return {'cpus': os.cpu_count(), 'cpu_model': model or platform.processor() or 'unknown',
            'os': '%s %s' % (platform.system(), platform.release()), 'python': platform.python_version(),
            'ansible_core': core.stdout.split('[core ', 1)[1].split(']', 1)[0]}


def git_describe():
    """The commit of the working tree, and whether it has local changes."""
    head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, capture_output=True, text=True,
                          check=False)
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=REPO, capture_output=True,
                           text=True, check=False)
    return {'commit': head.stdout.strip(), 'local_changes': bool(dirty.stdout.strip())}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    meta = {'date': datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), 'command': args.command,
            'machine': machine(), 'tree': git_describe(), 'smoke': args.smoke, 'runs': args.runs,
            'warmup': args.warmup, 'big_runs': args.big_runs, 'big_rotation': BIG_ROTATION, 'tasks': args.tasks,
            'org_size': args.org_size, 'small_org': args.small_org, 'hosts': args.host_counts,
            'forks': args.fork_counts, 'sections': args.sections, 'base': None, 'load': [os.getloadavg()[0]],
            'events_goal': EVENTS_GOAL}
    if args.base:
        commit = subprocess.run(['git', 'rev-parse', '--verify', '--short', args.base + '^{commit}'], cwd=REPO,
                                capture_output=True, text=True, check=False)
        if commit.returncode:
            print('BASE=%s is not a commit of this repository' % args.base, file=sys.stderr)
            return 1
        meta['base'] = {'ref': args.base, 'commit': commit.stdout.strip(), 'hosts': args.base_host_counts}
    print('bench: %s\n  %s; %s CPU(s) %s; Python %s; ansible-core %s' % (
        args.command, meta['date'], meta['machine']['cpus'], meta['machine']['cpu_model'], meta['machine']['python'],
        meta['machine']['ansible_core']), flush=True)
    tmp = tempfile.mkdtemp(prefix='astra-bench-')  # consumer files hold tokens: removed at the end, whatever happens
    bench = None
    try:
        bench = Bench(args, tmp)
        for section, function in (('modules', modules_section), ('org', org_section), ('events', events_section),
                                  ('rotation', rotation_section), ('base', base_section)):
            if section in args.sections and (section != 'base' or args.base):
                function(bench)
    except BenchError as error:
        print('\nBENCH FAILED: %s' % error, file=sys.stderr)
        return 1
    finally:
        for emu in (bench.emulators.values() if bench else ()):
            emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    meta['total_seconds'] = round(time.monotonic() - started, 1)
    meta['load'].append(os.getloadavg()[0])
    written = report.write_all({'meta': meta, 'figures': bench.figures}, REPO)
    print('\n' + (REPO / written[0]).read_text())
    print('written: %s\nbench: %s finished in %.0f s' % (', '.join(written), args.command, meta['total_seconds']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
