#!/usr/bin/env python
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where astra.devops.astra_token_info spends its time in a large organisation (issue 12).

    PYTHONPATH=/tmp/coll .venv/bin/python tools/profile_token_info.py [--tokens 10000] [--timing]

1. Records the answer of GET /v2/tokens (and of the roles list) in an organisation of --tokens tokens: starts the
   emulator (tests/emulator/control.py), seeds the tokens plus one token described 'needle', and saves the bodies
   in a temporary folder (nothing is written to the repository). The seeded tokens share a handful of creation
   times; the saved answer gives each its own, and an expiry to every third (see spread()).
2. Runs the module's main() in this process on that recorded answer (requests' HTTP call is patched to return the
   recorded body, so the JSON is parsed as in a real run), (a) without a filter and (b) with description=needle:
   the best and median time of --repeat runs, then cProfile's top functions by cumulative time.
3. Runs `python -X importtime` on the module's imports (and, to compare, on ansible.builtin.uri's) and sums up the
   biggest imports.
4. Runs the AnsiballZ payloads of astra_token_info and of ansible.builtin.uri (kept with ANSIBLE_KEEP_REMOTE_FILES)
   as Ansible does, against a 10-token emulator: wall time of the whole module process, and its imports.
5. With --timing: whole ansible-playbook tasks, timed by a small callback plugin from the start of each task to its
   result. (1) --tasks identical astra_token_info tasks with description=needle against the --tokens organisation
   and against a 10-token one, the two playbooks alternated, --pairs pairs; then astra_token_info (role_names=false:
   the same single GET) against ansible.builtin.uri GET /v2/tokens. Each run's figure is the median task time; the
   ratio is the median of the pairs' ratios. (2) The same comparisons with the two tasks alternated inside one
   playbook, which a shared, busy machine disturbs less.

--collections-path DIR takes the collection from DIR/ansible_collections/astra/devops (default /tmp/coll, a symlink
to this checkout, made when missing), for example a copy of an older commit to compare before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_COLLECTIONS = Path('/tmp/coll')
MODULE = 'ansible_collections.astra.devops.plugins.modules.astra_token_info'
NEEDLE = 'needle'
RO = 'RO Svc Acct'
RW = 'R/W Svc Acct'
SMALL_ORG = 10
EMULATOR_LIFETIME = 4 * 3600  # seconds; a --timing run on a busy machine can take an hour

sys.path.insert(0, str(REPO / 'tests' / 'emulator'))

from control import Emulator  # noqa: E402  pylint: disable=wrong-import-position,import-error

# A callback that writes, per task, the seconds from its start to its result (and the status) to a JSON file.
TIMER_CALLBACK = '''
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'astra_task_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = None
        self.tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started = time.perf_counter()

    def _done(self, result, status):
        self.tasks.append({'task': result.task_name, 'status': status,
                           'seconds': time.perf_counter() - self.started})

    def v2_runner_on_ok(self, result, **kwargs):
        self._done(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._done(result, 'failed')

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._done(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['ASTRA_TASK_TIMES'], 'w') as handle:
            json.dump(self.tasks, handle)
'''


def ensure_collection(collections_path):
    """The default collections path is a symlink to this checkout, made when missing."""
    link = collections_path / 'ansible_collections' / 'astra' / 'devops'
    if collections_path == DEFAULT_COLLECTIONS and not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(str(REPO), str(link))
    if not (link / 'plugins' / 'modules' / 'astra_token_info.py').is_file():
        sys.exit('no astra.devops collection under %s' % link)
    return link


def raw_get(emu, path):
    """The body of a GET with the emulator's admin token, as bytes."""
    request = urllib.request.Request(emu.url + path, headers={
        'Authorization': 'Bearer ' + emu.admin_token, 'Accept': 'application/json'})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


@contextlib.contextmanager
def org(count):
    """A running emulator whose organisation holds count tokens: the bootstrap admin token, count - 2 described
    bulk-<i> with the RO role, and the needle with the R/W role."""
    with Emulator(max_lifetime=EMULATOR_LIFETIME) as emu:
        if count > 2:
            emu.seed(count=count - 2, description='bulk-{i}', roles=[RO])
        emu.mint(description=NEEDLE, roles=[RW])
        yield emu


def spread(body):
    """The emulator seeds its tokens a microsecond apart, so 10,000 of them share about ten creation times to the
    millisecond: give each its own (a minute apart, going back 10,000 minutes) and an expiry to every third (from 60
    days ago to 300 days ahead), as in a real organisation, where each timestamp is parsed on its own."""
    data = json.loads(body)
    now = time.time()
    for i, item in enumerate(data['clients']):
        item['generatedOn'] = stamp(now - 60 * i - 0.123)
        if i % 3 == 0:
            item['tokenExpiry'] = stamp(now + 86400 * (i % 360 - 60) + 0.456)
    return json.dumps(data, separators=(',', ':')).encode('utf-8')


def stamp(seconds):
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds)) + '.%03dZ' % int(seconds % 1 * 1000)


def record(count, folder):
    """Save the tokens answer (timestamps spread) and the roles answer of a count-token organisation."""
    with org(count) as emu:
        tokens = raw_get(emu, '/v2/tokens')
        roles = raw_get(emu, '/v2/organizations/roles')
    paths = {'/v2/tokens': folder / 'tokens.json', '/v2/organizations/roles': folder / 'roles.json'}
    paths['/v2/tokens'].write_bytes(spread(tokens))
    paths['/v2/organizations/roles'].write_bytes(roles)
    return paths


# --------------------------------------------------------------------------------------------------------------
# in-process runs of main() on the recorded answer
# --------------------------------------------------------------------------------------------------------------

class Recorded:
    """requests.Session.request replaced by the recorded bodies (a real requests.Response, so .json() runs)."""

    def __init__(self, paths):
        self.bodies = dict((path, Path(file).read_bytes()) for path, file in paths.items())

    def __get__(self, session, owner=None):
        # a class attribute: bound to the session like the method it replaces
        return lambda method, url, **kwargs: self(session, method, url, **kwargs)

    def __call__(self, session, method, url, **kwargs):
        import requests  # pylint: disable=import-outside-toplevel
        path = '/' + url.split('://', 1)[1].split('/', 1)[1]
        response = requests.Response()
        response.status_code = 200
        response.headers = requests.structures.CaseInsensitiveDict({'Content-Type': 'application/json'})
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response._content = self.bodies[path]  # pylint: disable=protected-access
        response.url = url
        return response


def module_args(args):
    """ansible-core's context manager that hands args to AnsibleModule (2.19 and later)."""
    from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    return patch_module_args(args)


def run_main(module, args):
    """One run of the module's main(); returns its result (the JSON it prints)."""
    out = io.StringIO()
    with module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    result = json.loads(out.getvalue())
    if result.get('failed'):
        raise RuntimeError('the module failed: %s' % result.get('msg'))
    return result


def profile_cases(paths, collections_path, repeat, top):
    sys.path.insert(0, str(collections_path))
    import importlib  # pylint: disable=import-outside-toplevel
    import requests  # pylint: disable=import-outside-toplevel
    module = importlib.import_module(MODULE)
    requests.Session.request = Recorded(paths)
    base = {'api_url': 'http://127.0.0.1:1', 'api_token': 'AstraCS:profile:0'}
    cases = (('(a) unfiltered', {}), ('(b) description=%s' % NEEDLE, {'description': NEEDLE}))
    # list_tokens (the list call, the roles call, filters and records) timed apart from the rest of main(): the
    # AnsibleModule set-up and exit_json, which sanitises (no_log) and encodes the result.
    work = []
    list_tokens = module.list_tokens

    def timed_list_tokens(*args, **kwargs):
        started = time.perf_counter()
        try:
            return list_tokens(*args, **kwargs)
        finally:
            work.append(time.perf_counter() - started)
    for title, extra in cases:
        args = dict(base, **extra)
        result = run_main(module, args)  # warm up (and check it works)
        times = []
        module.list_tokens = timed_list_tokens
        del work[:]
        for _run in range(repeat):
            started = time.perf_counter()
            run_main(module, args)
            times.append(time.perf_counter() - started)
        module.list_tokens = list_tokens
        print('%s: %d tokens returned; main() best %.1f ms, median %.1f ms of %d runs; of which list_tokens best %.1f '
              'ms, median %.1f ms' % (title, len(result['tokens']), min(times) * 1000,
                                      statistics.median(times) * 1000, repeat, min(work) * 1000,
                                      statistics.median(work) * 1000))
        profiler = cProfile.Profile()
        profiler.enable()
        run_main(module, args)
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats('cumulative').print_stats(top)
        print(trim_stats(text.getvalue()))


def trim_stats(text):
    """pstats output from its column header on, paths shortened."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith('ncalls')), 0)
    total = next((line.strip() for line in lines if 'function calls' in line), '')
    site = str(Path(sys.executable).resolve().parents[1])
    out = ['  ' + total] + ['  ' + line for line in lines[start:] if line.strip()]
    return '\n'.join(out).replace(str(REPO) + '/', '').replace(site + '/', '')


# --------------------------------------------------------------------------------------------------------------
# import time
# --------------------------------------------------------------------------------------------------------------

def parse_importtime(text):
    """[(cumulative us, self us, depth, name)] of -X importtime's report."""
    rows = []
    for line in text.splitlines():
        if not line.startswith('import time:') or 'self [us]' in line:
            continue
        own, cumulative, name = line[len('import time:'):].split('|')
        rows.append((int(cumulative), int(own), (len(name) - len(name.lstrip(' ')) - 1) // 2, name.strip()))
    return rows


def importtime(command, env, runs=5):
    """(median total microseconds, rows of that run) of -X importtime over runs runs of command (after python)."""
    samples = []
    for _run in range(runs):
        done = subprocess.run([sys.executable, '-X', 'importtime'] + command, env=env, check=True,
                              capture_output=True, text=True)
        rows = parse_importtime(done.stderr)
        samples.append((sum(row[1] for row in rows), rows))
    samples.sort(key=lambda sample: sample[0])
    return samples[len(samples) // 2]


THIRD_PARTY = {'requests': 'requests', 'urllib3': 'requests', 'charset_normalizer': 'requests', 'idna': 'requests',
               'certifi': 'requests', 'cryptography': 'cryptography', '_cffi_backend': 'cryptography',
               'gssapi': 'cryptography'}


def group_of(name):
    """What an imported module belongs to, for the summaries."""
    if name.startswith('ansible_collections.'):
        return 'astra.devops module_utils'
    if name.startswith('ansible.') or name == 'ansible':
        return 'ansible-core'
    top = name.split('.')[0]
    if top in THIRD_PARTY:
        return {'requests': 'requests, urllib3, charset_normalizer, idna, certifi',
                'cryptography': 'cryptography (ansible.module_utils.urls)'}[THIRD_PARTY[top]]
    return 'standard library' if top in sys.stdlib_module_names or top.lstrip('_') in sys.stdlib_module_names \
        else 'other'


def groups(rows):
    found = {}
    for _cumulative, own, _depth, name in rows:
        found[group_of(name)] = found.get(group_of(name), 0) + own
    return ', '.join('%s %.1f' % (group, own / 1000) for group, own in sorted(found.items(), key=lambda item: -item[1]))


def report_imports(collections_path, top):
    stmt = 'import ' + MODULE
    env = dict(os.environ, PYTHONPATH=str(collections_path))
    print('$ PYTHONPATH=%s %s -X importtime -c %s' % (collections_path, sys.executable, shlex.quote(stmt)))
    total, rows = importtime(['-c', stmt], env)
    print('import of the module from the collection folder (bytecode cached): %.1f ms (median of 5 runs); the '
          'biggest, cumulative and self ms, indented by nesting:' % (total / 1000))
    for cumulative, own, depth, name in sorted(rows, key=lambda row: -row[0])[:top]:
        print('  %7.1f %6.1f  %s%s' % (cumulative / 1000, own / 1000, '  ' * depth, name))
    print('self ms by origin: ' + groups(rows))
    print('self ms of the collection\'s files: ' + ', '.join(
        '%s %.1f' % (name.rsplit('.', 1)[1], own / 1000) for _c, own, _d, name in rows
        if name.startswith('ansible_collections.astra.devops.plugins.')))
    uri_total, uri_rows = importtime(['-c', 'import ansible.modules.uri'], env)
    print('to compare, import ansible.modules.uri (ansible.builtin.uri): %.1f ms; self ms by origin: %s' % (
        uri_total / 1000, groups(uri_rows)))


def report_payloads(folder, collections_path, runs):
    """The AnsiballZ payloads Ansible runs (module_utils imported from a zip, compiled from source on every run):
    the wall time of a whole payload process, and its imports, for astra_token_info and for uri doing one GET."""
    remote = folder / 'remote'
    with org(SMALL_ORG) as emu:
        auth = {'api_url': emu.url, 'api_token': emu.admin_token}
        book = playbook(folder, 'payloads', {'astra.devops.astra_token_info': dict(
            auth, description=NEEDLE, role_names=False)}, 1)
        tasks = json.loads(book.read_text())
        tasks[0]['tasks'].append({'name': 'uri', 'ansible.builtin.uri': {'url': emu.url + '/v2/tokens', 'headers': {
            'Authorization': 'Bearer ' + emu.admin_token, 'Accept': 'application/json'}}})
        tasks[0]['tasks'].append({'name': 'info, two calls', 'astra.devops.astra_token_info': dict(
            auth, description=NEEDLE)})
        book.write_text(json.dumps(tasks))
        run_playbook(book, folder, collections_path, {'ANSIBLE_KEEP_REMOTE_FILES': '1',
                                                      'ANSIBLE_REMOTE_TEMP': str(remote)})
        payloads = sorted(remote.glob('*/AnsiballZ_*.py'), key=lambda path: path.stat().st_mtime)
        names = ['astra_token_info role_names=false (one GET)', 'uri (one GET)',
                 'astra_token_info role_names=true (two GETs)']
        print('AnsiballZ payloads run as Ansible runs them (python AnsiballZ_<module>.py, %d runs each, alternated; '
              'wall ms of the whole process):' % runs)
        walls = dict((name, []) for name in names)
        for _run in range(runs):
            for name, payload in zip(names, payloads):
                started = time.perf_counter()
                done = subprocess.run([sys.executable, str(payload)], capture_output=True, text=True, check=False)
                walls[name].append(time.perf_counter() - started)
                if '"failed": true' in done.stdout or done.returncode:
                    raise RuntimeError('%s failed: %s %s' % (payload.name, done.stdout[-2000:], done.stderr[-2000:]))
        imports = {}
        for name, payload in zip(names, payloads):
            total, rows = imports[name] = importtime([str(payload)], dict(os.environ), runs=3)
            print('  %-45s median %5.0f ms (best %4.0f); imports %5.1f ms: %s' % (
                name, statistics.median(walls[name]) * 1000, min(walls[name]) * 1000, total / 1000, groups(rows)))
        ratio = statistics.median(walls[names[0]]) / statistics.median(walls[names[1]])
        print('  payload ratio astra_token_info (one GET) / uri: %.2f' % ratio)
        ours = [(own, name) for _c, own, _d, name in imports[names[0]][1] if name.startswith('ansible_collections.')]
        print('  the collection\'s files in the payload (compiled from source, run), self ms: ' + ', '.join(
            '%s %.1f' % (name.rsplit('.', 1)[1], own / 1000) for own, name in ours))


# --------------------------------------------------------------------------------------------------------------
# whole tasks through ansible-playbook
# --------------------------------------------------------------------------------------------------------------

def playbook(folder, name, task, count, other=None):
    """A playbook of count tasks like task; with other (name, task), count pairs of the two, alternated."""
    path = folder / ('%s%s.yml' % (name, '-' + other[0] if other else ''))
    tasks = []
    for i in range(count):
        tasks.append(dict({'name': '%s %d' % (name, i + 1)}, **task))
        if other:
            tasks.append(dict({'name': '%s %d' % (other[0], i + 1)}, **other[1]))
    path.write_text(json.dumps([{'name': name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                               indent=1))
    return path


def run_playbook(path, folder, collections_path, extra_env=None):
    """{task name without its number: [seconds of each task]} of one ansible-playbook run, and the run's wall time."""
    times_file = folder / 'times.json'
    env = dict(os.environ)
    for key in [key for key in env if key.startswith(('ASTRA_', 'ANSIBLE_'))]:
        del env[key]
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': str(collections_path),
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_CALLBACK_PLUGINS': str(folder / 'callbacks'),
        'ANSIBLE_CALLBACKS_ENABLED': 'astra_task_timer',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_LOCAL_TEMP': str(folder / 'tmp'),
        'ASTRA_TASK_TIMES': str(times_file),
        'PATH': '%s%s%s' % (Path(sys.executable).parent, os.pathsep, env.get('PATH', '')),
    })
    env.update(extra_env or {})
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           str(path)], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError('%s failed:\n%s\n%s' % (path.name, done.stdout[-3000:], done.stderr[-3000:]))
    tasks = json.loads(times_file.read_text())
    bad = [task for task in tasks if task['status'] != 'ok']
    if bad:
        raise RuntimeError('%s: tasks not ok: %s' % (path.name, bad))
    found = {}
    for task in tasks:
        found.setdefault(task['task'].rsplit(' ', 1)[0], []).append(task['seconds'])
    return found, wall


def alternate(title, first, second, folder, collections_path, pairs):
    """Run the two playbooks alternately; print each pair (median task time of each run) and the median ratio."""
    print(title)
    ratios = []
    for pair in range(pairs):
        a, a_wall = run_playbook(first[1], folder, collections_path)
        b, b_wall = run_playbook(second[1], folder, collections_path)
        a, b = [statistics.median(times) for run in (a, b) for times in run.values()]
        ratios.append(a / b)
        print('  pair %d: %s %.0f ms/task (run %.1f s), %s %.0f ms/task (run %.1f s), ratio %.2f' % (
            pair + 1, first[0], a * 1000, a_wall, second[0], b * 1000, b_wall, a / b))
    print('  median ratio %s / %s: %.2f (min %.2f, max %.2f)' % (
        first[0], second[0], statistics.median(ratios), min(ratios), max(ratios)))
    return statistics.median(ratios)


def interleaved(title, book, first, second, folder, collections_path, runs):
    """Run a playbook whose tasks alternate first, second, first, ...: each task is timed next to its partner, so a
    burst of load on the machine hits both. Per run: median task time of each, and the median of the ratios of
    adjacent tasks; then the median over the runs."""
    print(title)
    ratios = []
    for run in range(runs):
        times, wall = run_playbook(book, folder, collections_path)
        a, b = times[first], times[second]
        ratio = statistics.median(x / y for x, y in zip(a, b))
        ratios.append(ratio)
        print('  run %d (%.1f s): %s %.0f ms/task, %s %.0f ms/task, median ratio of neighbours %.2f' % (
            run + 1, wall, first, statistics.median(a) * 1000, second, statistics.median(b) * 1000, ratio))
    print('  median ratio %s / %s: %.2f (min %.2f, max %.2f)' % (
        first, second, statistics.median(ratios), min(ratios), max(ratios)))


def timing(args, folder, collections_path):
    with org(args.tokens) as big, org(SMALL_ORG) as small:
        tasks = {}
        for label, emu in (('big', big), ('small', small)):
            auth = {'api_url': emu.url, 'api_token': emu.admin_token}
            tasks['info-' + label] = {'astra.devops.astra_token_info': dict(auth, description=NEEDLE)}
            tasks['info1-' + label] = {'astra.devops.astra_token_info': dict(auth, description=NEEDLE,
                                                                             role_names=False)}
            tasks['uri-' + label] = {'ansible.builtin.uri': {'url': emu.url + '/v2/tokens', 'headers': {
                'Authorization': 'Bearer ' + emu.admin_token, 'Accept': 'application/json'}}}
        books = dict((name, playbook(folder, name, task, args.tasks)) for name, task in tasks.items())
        run_playbook(books['info-small'], folder, collections_path)  # warm caches (AnsiballZ, page cache)
        print('(1) %d identical tasks per playbook, playbooks alternated; each figure is the median task time of one '
              'ansible-playbook run' % args.tasks)
        alternate('astra_token_info description=%s: %d-token org vs %d-token org' % (NEEDLE, args.tokens, SMALL_ORG),
                  ('%d tokens' % args.tokens, books['info-big']), ('%d tokens' % SMALL_ORG, books['info-small']),
                  folder, collections_path, args.pairs)
        alternate('astra_token_info description=%s role_names=false (one GET /v2/tokens) vs ansible.builtin.uri '
                  'GET /v2/tokens, %d-token org' % (NEEDLE, SMALL_ORG),
                  ('astra_token_info', books['info1-small']), ('uri', books['uri-small']),
                  folder, collections_path, args.pairs)
        print()
        print('(2) one playbook of %d pairs of tasks, alternated task by task, run %d times' % (args.tasks, args.pairs))
        for title, first, second in (
                ('astra_token_info description=%s: %d-token org vs %d-token org' % (NEEDLE, args.tokens, SMALL_ORG),
                 'info-big', 'info-small'),
                ('astra_token_info role_names=false vs uri, %d-token org' % SMALL_ORG, 'info1-small', 'uri-small'),
                ('astra_token_info with its default role_names=true (two GETs) vs uri, %d-token org' % SMALL_ORG,
                 'info-small', 'uri-small'),
                ('astra_token_info role_names=false vs uri, %d-token org (uri returns all %d tokens)' % (
                    args.tokens, args.tokens), 'info1-big', 'uri-big')):
            book = playbook(folder, first, tasks[first], args.tasks, (second, tasks[second]))
            interleaved(title, book, first, second, folder, collections_path, args.pairs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--tokens', type=int, default=10000, help='tokens in the large organisation (10000)')
    parser.add_argument('--repeat', type=int, default=5, help='in-process runs of each case (5)')
    parser.add_argument('--top', type=int, default=25, help='functions and imports shown (25)')
    parser.add_argument('--profile-only', action='store_true', help='only the in-process runs of main()')
    parser.add_argument('--payload-runs', type=int, default=15, help='runs of each AnsiballZ payload (15)')
    parser.add_argument('--timing', action='store_true', help='also time whole ansible-playbook tasks')
    parser.add_argument('--timing-only', action='store_true', help='only the whole tasks of --timing')
    parser.add_argument('--tasks', type=int, default=20, help='tasks per playbook with --timing (20)')
    parser.add_argument('--pairs', type=int, default=5, help='alternated pairs of runs with --timing (5)')
    parser.add_argument('--collections-path', type=Path, default=DEFAULT_COLLECTIONS,
                        help='folder holding ansible_collections/astra/devops (/tmp/coll, this checkout)')
    args = parser.parse_args()
    # A SIGTERM unwinds like an exception, so the emulators stop with it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    collections_path = args.collections_path.resolve() if args.collections_path != DEFAULT_COLLECTIONS \
        else DEFAULT_COLLECTIONS
    print('$ cd %s && PYTHONPATH=%s %s' % (REPO, collections_path, ' '.join(
        shlex.quote(part) for part in [os.path.relpath(sys.executable, REPO), 'tools/profile_token_info.py']
        + sys.argv[1:])))
    link = ensure_collection(collections_path)
    print('collection: %s -> %s; Python %s' % (link, link.resolve(), sys.version.split()[0]))
    with tempfile.TemporaryDirectory(prefix='astra-profile-') as tmp:
        folder = Path(tmp)
        paths = record(args.tokens, folder)
        print('recorded GET /v2/tokens of a %d-token organisation, timestamps spread: %d bytes (%s)' % (
            args.tokens, paths['/v2/tokens'].stat().st_size, paths['/v2/tokens']))
        (folder / 'callbacks').mkdir()
        (folder / 'callbacks' / 'astra_task_timer.py').write_text(TIMER_CALLBACK)
        if not args.timing_only:
            print()
            profile_cases(paths, collections_path, args.repeat, args.top)
        if not (args.profile_only or args.timing_only):
            print()
            report_imports(collections_path, args.top)
            print()
            report_payloads(folder, collections_path, args.payload_runs)
        if args.timing or args.timing_only:
            print()
            timing(args, folder, collections_path)


if __name__ == '__main__':
    main()
