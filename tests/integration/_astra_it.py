# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Harness of the integration tests: targets (emulator or a real Astra organisation), ansible-playbook runs,
and the leak scanner that every run goes through."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import yaml

from _processes import descendants as _descendants, signal_quietly as _signal

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EMULATOR_DIR = REPO / 'tests' / 'emulator'
CALLBACK_DIR = HERE / 'callback_plugins'
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / 'ansible-playbook'
RUN_TIMEOUT = 240

# ansible-rulebook --print-events prints each event as a Python literal between 'Event:' and a line of stars.
PRINTED_EVENT = re.compile(r'^Event:\n(.*?)\n\*{20,}$', re.S | re.M)
# Any AstraCS token (clientId + sha256 hex): nothing in a test's output may look like one.
TOKEN_SHAPE = re.compile(r'AstraCS:[A-Za-z0-9]{8,}:[0-9a-fA-F]{64}')


SESSION_EMULATOR_LIFETIME = 3 * 3600  # seconds

# What the leak scanner covered in this pytest process, for the summary at the end of the run (conftest.py):
# runs scanned, files read besides stdout/stderr/log, and the most secrets the emulator had issued at one scan.
LEAK_SCANS = {'runs': 0, 'files': 0, 'secrets': 0}


class LeakError(AssertionError):
    """A secret was found where it must never be."""


# --------------------------------------------------------------------------------------------------------------
# plain HTTP (stdlib) for the few direct API calls the tests make themselves
# --------------------------------------------------------------------------------------------------------------

def http_json(method, url, token=None, body=None, timeout=30):
    """(status, parsed body or text) of one HTTP call."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header('Authorization', 'Bearer ' + token)
    if data is not None:
        request.add_header('Content-Type', 'application/json')
    request.add_header('Accept', 'application/json')
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    text = raw.decode('utf-8', 'replace')
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------------------------

class Target:
    """What the playbooks talk to. Subclasses: EmulatorTarget, RealAstraTarget."""

    is_emulator = False
    url = ''
    api_token = ''
    prefix = ''

    def desc(self, name):
        """A token description unique to this test session (real Astra) or simply prefixed (emulator)."""
        return self.prefix + name

    def api(self, method, path, body=None, token=None):
        return http_json(method, self.url.rstrip('/') + path, token or self.api_token, body)

    def roles(self, token=None):
        """The role list as the API gives it, keys lower-cased at the top level and in the policy (a policy given as
        a JSON string, as DataStax's reference shows it, is parsed)."""
        status, body = self.api('GET', '/v2/organizations/roles', token=token)
        assert status == 200, (status, body)
        roles = []
        for role in body:
            lowered = {k.lower(): v for k, v in role.items()}
            policy = lowered.get('policy') or {}
            if isinstance(policy, str):
                policy = json.loads(policy)
            policy = {k.lower(): v for k, v in policy.items()}
            roles.append({'id': lowered['id'], 'name': lowered['name'], 'policy': policy,
                          'type': lowered.get('type')})
        return roles

    def role_id(self, name):
        for role in self.roles():
            if role['name'] == name:
                return role['id']
        raise KeyError(name)

    def tokens(self, token=None, endpoint='tokens'):
        status, body = self.api('GET', '/v2/' + endpoint, token=token)
        assert status == 200, (status, body)
        return body['clients']

    def tokens_with(self, description, token=None):
        return [t for t in self.tokens(token) if t.get('description') == description]

    def secrets(self):
        return []

    def cleanup(self):
        """Delete every token this session created (real Astra)."""


API_PROFILES = ('default', 'docs', 'openapi')


class ApiProfile:
    """The emulator profile a test runs against (the api_profile fixture): its name and the emulator's whole config
    once the profile is applied, so a test reads what to expect (config['bad_token_status'], ...) instead of being
    written once per profile. Against real Astra: the name 'real' and an empty config."""

    def __init__(self, name, config=None):
        self.name = name
        self.config = dict(config or {})

    @property
    def bad_token_status(self):
        """The status of a malformed or unknown token: 401, or 403 (astra-cli issue 66)."""
        return self.config.get('bad_token_status', 401)

    def __repr__(self):
        return '<ApiProfile %s>' % self.name


class EmulatorTarget(Target):
    """The local emulator, through tests/emulator/control.py's Emulator helper."""

    is_emulator = True
    prefix = 'it-'

    def __init__(self, emu):
        self.emu = emu
        info = _emulator_info(emu)
        self.url = info['url']
        self.api_token = info['admin_token']
        self.org_id = info['org_id']

    # the admin routes, as README.md describes them
    def reset(self):
        self.emu.reset()

    def reset_counts(self):
        self.emu.reset_counts()

    def counts(self):
        counts = self.emu.counts()
        return dict(counts.get('counts', counts)) if isinstance(counts, dict) else counts

    def writes(self):
        """Every counted POST or DELETE of the API (not the admin routes)."""
        return {k: v for k, v in self.counts().items() if k.split(' ', 1)[0] in ('POST', 'DELETE', 'PUT') and v}

    def mint(self, **kw):
        return self.emu.mint(**kw)

    def seed(self, **kw):
        return self.emu.seed(**kw)

    def database(self, name):
        """Add a database to the default organization (for GET /v2/databases/{id}); returns {id, name}."""
        return self.emu.database(name)

    def revoke(self, client_id):
        return self.emu.revoke(client_id)

    def fault(self, **kw):
        return self.emu.fault(**kw)

    def clear_faults(self):
        return self.emu.clear_faults()

    def config(self, **kw):
        return self.emu.config(**kw)

    def state(self):
        return self.emu.state()

    def state_tokens(self, description=None):
        tokens = self.state()['tokens']
        if description is not None:
            tokens = [t for t in tokens if t.get('description') == description]
        return tokens

    def secrets(self):
        data = self.emu.secrets()
        return list(data.get('secrets', [])) if isinstance(data, dict) else list(data)

    def org_ids(self):
        """{'default': id, 'second': id, 'standalone': id, 'enterprise': id} from the emulator's state."""
        orgs = self.state()['orgs']
        return orgs


def _emulator_info(emu):
    """url / admin_token / org_id of a started Emulator, whatever attribute names control.py uses."""
    for name in ('info', 'ready', 'ready_info'):
        value = getattr(emu, name, None)
        if isinstance(value, dict) and 'url' in value:
            return value
    return {'url': getattr(emu, 'url'), 'admin_token': getattr(emu, 'admin_token'), 'org_id': getattr(emu, 'org_id', None)}


class RealAstraTarget(Target):
    """A real Astra organisation (opt-in with ASTRA_IT_API_TOKEN). Tokens are named with a unique prefix and deleted
    at the end of every test and of the session."""

    def __init__(self, api_token, api_url=None):
        self.api_token = api_token
        self.url = (api_url or 'https://api.astra.datastax.com').rstrip('/')
        if self.url.endswith('/v2'):
            self.url = self.url[:-3]
        self.prefix = 'astra-devops-it-%s-' % uuid.uuid4().hex[:8]

    def secrets(self):
        return [self.api_token]

    def cleanup(self):
        for item in self.tokens():
            if (item.get('description') or '').startswith(self.prefix):
                self.api('DELETE', '/v2/tokens/' + item['clientId'])


def start_emulator(stack):
    """Start the emulator with control.py's Emulator helper inside an ExitStack; returns an EmulatorTarget."""
    sys.path.insert(0, str(EMULATOR_DIR))
    try:
        from control import Emulator  # pylint: disable=import-error,import-outside-toplevel
    finally:
        sys.path.remove(str(EMULATOR_DIR))
    # The session's emulator must outlive the whole suite (about 20 minutes here); the fixture stops it at the end,
    # and the lifetime only ends an emulator whose pytest was killed.
    emu = stack.enter_context(Emulator(max_lifetime=SESSION_EMULATOR_LIFETIME))
    return EmulatorTarget(emu)


# --------------------------------------------------------------------------------------------------------------
# running ansible-playbook
# --------------------------------------------------------------------------------------------------------------

class TaskResults(list):
    """The captured results of one run; each item: play, task, action, host, status, result."""

    def named(self, name):
        found = [r for r in self if r['task'] == name]
        assert found, 'no result for task %r; tasks were: %s' % (name, [r['task'] for r in self])
        assert len(found) == 1, 'several results for task %r' % name
        return found[0]

    def result(self, name):
        return self.named(name)['result']

    def status(self, name):
        return self.named(name)['status']


class PlaybookRun:
    """What run_playbook returns."""

    def __init__(self, rc, stdout, stderr, results, stats, log_text, run_dir):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.results = TaskResults(results)
        self.stats = stats
        self.log_text = log_text
        self.run_dir = run_dir

    @property
    def output(self):
        return self.stdout + '\n' + self.stderr

    def result(self, task_name):
        return self.results.result(task_name)

    def status(self, task_name):
        return self.results.status(task_name)

    def shown(self, var):
        """The public view of a registered variable, printed by a `show(var)` task (see show())."""
        return self.results.result('show ' + var)['msg']

    def __repr__(self):
        return '<PlaybookRun rc=%s>' % self.rc

    def describe(self):
        return 'rc=%s\n--- stdout (tail) ---\n%s\n--- stderr (tail) ---\n%s' % (
            self.rc, self.stdout[-6000:], self.stderr[-3000:])


def task(name, module, args=None, register=None, no_log=False, ignore_errors=False, **keywords):
    """One task as data: task('list', 'astra.devops.astra_token_info', {'description': 'x'}, register='listed').
    register, no_log and ignore_errors appear in the task only when given; other keywords as they are."""
    item = {'name': name, module: dict(args or {})}
    item.update(keywords)
    if register:
        item['register'] = register
    if no_log:
        item['no_log'] = True
    if ignore_errors:
        item['ignore_errors'] = True
    return item


def token(name, register=None, no_log=True, ignore_errors=False, **args):
    """An astra.devops.astra_token task (no_log by default, as the module requires for state=present)."""
    return task(name, 'astra.devops.astra_token', args, register, no_log, ignore_errors)


def info(name, register=None, ignore_errors=False, **args):
    return task(name, 'astra.devops.astra_token_info', args, register, ignore_errors=ignore_errors)


def show(var):
    """A task printing a registered result without its `secret` key, plus whether it had one (has_secret).
    Used for results of no_log tasks, whose own output ansible hides; the leak scanner checks what it prints.
    Read it back with PlaybookRun.shown(var)."""
    return task('show ' + var, 'ansible.builtin.debug', {
        'msg': "{{ (%s | dict2items | rejectattr('key', 'equalto', 'secret') | items2dict)"
               " | combine({'has_secret': 'secret' in %s}) }}" % (var, var)})


def assert_secret_shape(var):
    """A no_log assert that the registered result carries a well-formed secret for the token it returned."""
    return task('check the secret of ' + var, 'ansible.builtin.assert', {'quiet': True, 'that': [
        "'secret' in %s" % var,
        "%s.secret.token is match('^AstraCS:[A-Za-z]{24}:[0-9a-f]{64}$')" % var,
        "%s.secret.client_id == %s.token.client_id" % (var, var),
        "%s.secret.token.split(':')[1] == %s.token.client_id" % (var, var),
        "%s.secret.client_secret | length >= 100" % var,
    ]}, no_log=True)


def assert_no_secret(var):
    return task('check %s carries no secret' % var, 'ansible.builtin.assert',
                {'quiet': True, 'that': ["'secret' not in %s" % var]})


def play(tasks, name='astra.devops integration', module_defaults=None, play_vars=None):
    """A one-play playbook on localhost (gather_facts: false), as YAML text."""
    the_play = {'name': name, 'hosts': 'localhost', 'gather_facts': False, 'connection': 'local'}
    if module_defaults:
        the_play['module_defaults'] = {'group/astra.devops.astra': dict(module_defaults)}
    if play_vars:
        the_play['vars'] = dict(play_vars)
    the_play['tasks'] = list(tasks)
    return yaml.safe_dump([the_play], sort_keys=False, width=1000)


class SecretFinder:
    """Finds any of many (tens of thousands of) secrets in large texts quickly: secrets are made of
    [A-Za-z0-9.,+_-] (and ':' in tokens), so only runs of those characters can hold one; each run is checked by
    exact lookup of its windows of every secret length."""

    RUN = re.compile(r'[A-Za-z0-9.,+_\-:]{16,}')

    def __init__(self, secrets):
        self.needles = set()
        self.odd = []  # secrets with characters outside the usual alphabet: plain substring search
        for secret in secrets:
            if not secret or len(secret) < 16:
                continue
            pieces = [secret]
            if secret.startswith('AstraCS:'):
                pieces.append(secret.rsplit(':', 1)[-1])  # the 64-hex half alone is a secret too
            for piece in pieces:
                if self.RUN.fullmatch(piece):
                    self.needles.add(piece)
                else:
                    self.odd.append(piece)
        self.lengths = sorted({len(n) for n in self.needles})

    def redact(self, text):
        """text with every known secret and token-shaped string replaced, for failure reports."""
        for needle in list(self.needles) + self.odd:
            if needle in text:
                text = text.replace(needle, '<SECRET>')
        return TOKEN_SHAPE.sub('<TOKEN>', text)

    def find(self, text):
        for needle in self.odd:
            if needle in text:
                return needle
        if not self.needles:
            return None
        for match in self.RUN.finditer(text):
            run = match.group(0)
            size = len(run)
            for length in self.lengths:
                if length > size:
                    break
                for start in range(size - length + 1):
                    if run[start:start + length] in self.needles:
                        return run[start:start + length]
        return None


class Runner:
    """run_playbook for one test: every run gets its own directory under the test's tmp dir and is leak-scanned."""

    def __init__(self, target, tmp_path, collections_path):
        self.target = target
        self.tmp_path = Path(tmp_path)
        self.collections_path = collections_path
        self.count = 0

    def __call__(self, playbook, extra_env=None, check=False, diff=False, verbosity=4, expect_rc=0,
                 extra_args=(), allowed_secret_files=(), expect_leak=False, inventory=None):
        cmd, env, run_dir = self._prepare(playbook, extra_env, check, diff, verbosity, extra_args, inventory)
        proc = subprocess.run(cmd, cwd=str(run_dir), env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, check=False)
        (run_dir / 'stdout.txt').write_text(proc.stdout)
        (run_dir / 'stderr.txt').write_text(proc.stderr)
        return self._finish(run_dir, proc.returncode, proc.stdout, proc.stderr, expect_rc, allowed_secret_files,
                            expect_leak)

    def start(self, playbook, extra_env=None, check=False, diff=False, verbosity=4, extra_args=(), inventory=None):
        """Start ansible-playbook in the background (its own process group, stdin from /dev/null, output to files in
        its run directory) and return a BackgroundRun: poll it, read its log while it runs, kill() it (SIGKILL of
        the whole process group), then wait() for the PlaybookRun, which goes through the leak scanner like any
        other run."""
        cmd, env, run_dir = self._prepare(playbook, extra_env, check, diff, verbosity, extra_args, inventory)
        with open(run_dir / 'stdout.txt', 'wb') as out, open(run_dir / 'stderr.txt', 'wb') as err:
            proc = subprocess.Popen(cmd, cwd=str(run_dir), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        return BackgroundRun(self, proc, run_dir)

    def run_tool(self, cmd, extra_env=None, expect_rc=0, allowed_secret_files=(), timeout=RUN_TIMEOUT):
        """Run another tool of the ecosystem (ansible-rulebook...) with the environment a playbook run gets, its own
        run directory as working directory, and the same leak scan, which also reads what the tool left in its TMPDIR
        (a short folder of its own, since ansible-core's RPC socket lives there; copied into the run directory).
        A tool still running after `timeout` seconds is killed and the test fails."""
        run_dir = self._new_run_dir()
        tool_tmp = tempfile.mkdtemp(prefix='astra-it-')
        env = self._environment(run_dir, dict({'TMPDIR': tool_tmp}, **(extra_env or {})))
        try:
            proc = subprocess.run(cmd, cwd=str(run_dir), env=env, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise AssertionError('%s still ran after %s s: killed (%s)' % (Path(cmd[0]).name, timeout, run_dir)) from None
        finally:
            shutil.copytree(tool_tmp, str(run_dir / 'tool-tmp'), symlinks=True, ignore_dangling_symlinks=True,
                            ignore=shutil.ignore_patterns('*.sock', 'pymp-*'))
            shutil.rmtree(tool_tmp, ignore_errors=True)
        (run_dir / 'stdout.txt').write_text(proc.stdout)
        (run_dir / 'stderr.txt').write_text(proc.stderr)
        return self._finish(run_dir, proc.returncode, proc.stdout, proc.stderr, expect_rc, allowed_secret_files,
                            expect_leak=False)

    def _new_run_dir(self):
        self.count += 1
        run_dir = self.tmp_path / ('run%02d' % self.count)
        (run_dir / 'ansible-tmp').mkdir(parents=True)
        return run_dir

    def _prepare(self, playbook, extra_env, check, diff, verbosity, extra_args, inventory):
        """The command line, environment and run directory of one run. With `inventory` (a path), the run uses that
        inventory and the connections it sets, instead of `-i localhost, -c local`."""
        run_dir = self._new_run_dir()
        if isinstance(playbook, Path) or (isinstance(playbook, str) and '\n' not in playbook and playbook.endswith(('.yml', '.yaml'))):
            playbook_path = Path(playbook)
        else:
            playbook_path = run_dir / 'playbook.yml'
            playbook_path.write_text(playbook)
        env = self._environment(run_dir, extra_env)
        if inventory is None:
            cmd = [str(ANSIBLE_PLAYBOOK), '-i', 'localhost,', '-c', 'local', str(playbook_path)]
        else:
            cmd = [str(ANSIBLE_PLAYBOOK), '-i', str(inventory), str(playbook_path)]
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        cmd.extend(extra_args)
        return cmd, env, run_dir

    def _environment(self, run_dir, extra_env):
        """The environment of a run: the target's URL and token, the capture callback, and every file under run_dir."""
        tmp_dir = run_dir / 'ansible-tmp'
        env = dict(os.environ)
        for key in [k for k in env if k.startswith('ASTRA_') or k in ('ANSIBLE_CONFIG',)]:
            del env[key]
        env.update({
            'ASTRA_API_URL': self.target.url,
            'ASTRA_API_TOKEN': self.target.api_token,
            'ANSIBLE_COLLECTIONS_PATH': self.collections_path,
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_LOG_PATH': str(run_dir / 'ansible.log'),
            'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
            'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACK_DIR),
            'ANSIBLE_CALLBACKS_ENABLED': 'astra_it_capture',
            'ASTRA_IT_CAPTURE': str(run_dir / 'results.json'),
            'ANSIBLE_LOCAL_TEMP': str(tmp_dir / 'local'),
            'ANSIBLE_REMOTE_TEMP': str(tmp_dir / 'remote'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'ANSIBLE_SHOW_CUSTOM_STATS': '0',
            'PYTHONDONTWRITEBYTECODE': '1',
        })
        for key, value in (extra_env or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def _finish(self, run_dir, rc, stdout, stderr, expect_rc, allowed_secret_files, expect_leak):
        """The PlaybookRun of a finished (or killed) run, after the leak scan and the rc and traceback checks."""
        capture_path = run_dir / 'results.json'
        log_path = run_dir / 'ansible.log'
        results, stats = [], {}
        if capture_path.exists():
            data = json.loads(capture_path.read_text())
            results, stats = data['results'], data['stats']
        log_text = log_path.read_text(errors='replace') if log_path.exists() else ''
        run = PlaybookRun(rc, stdout, stderr, results, stats, log_text, run_dir)

        leaks = self.scan(run, allowed_secret_files)
        if expect_leak:
            assert any(leak.startswith('stdout ') for leak in leaks), \
                'the leak scanner found no secret in stdout, but this run was built to print one: %s' % leaks
        elif leaks:
            finder = SecretFinder(self.target.secrets())
            raise LeakError('SECRET LEAKED in %s:\n  %s\n%s' % (run_dir, '\n  '.join(leaks), finder.redact(run.describe())))
        assert 'Traceback (most recent call last)' not in run.output, 'a traceback reached the output\n' + run.describe()
        if expect_rc is not None:
            assert run.rc == expect_rc, 'ansible-playbook exited %s, expected %s\n%s' % (run.rc, expect_rc, run.describe())
        return run

    def scan(self, run, allowed_secret_files=()):
        """Where (stdout, stderr, the log, any file under the test's tmp dir) a secret appears.

        The secrets are every secret and token the emulator issued (real Astra: the caller's token), the 64-hex half
        of each token, and anything shaped like an AstraCS token. Files the test wrote on purpose as consumer files
        may hold one only if they are listed in allowed_secret_files and have mode 0600."""
        secrets = self.target.secrets()
        finder = SecretFinder(secrets)
        allowed = {Path(p).resolve() for p in allowed_secret_files}
        found = []
        LEAK_SCANS['runs'] += 1
        LEAK_SCANS['secrets'] = max(LEAK_SCANS['secrets'], len(secrets))

        def check(label, text):
            hit = finder.find(text)
            if hit:
                found.append('%s contains an issued secret (%s...)' % (label, hit[:12]))
                return
            match = TOKEN_SHAPE.search(text)
            if match:
                found.append('%s contains a token-shaped string (%s...)' % (label, match.group(0)[:20]))

        check('stdout', run.stdout)
        check('stderr', run.stderr)
        check('ANSIBLE_LOG_PATH', run.log_text)
        for path in sorted(self.tmp_path.rglob('*')):
            if not path.is_file() or path.is_symlink():
                continue
            text = path.read_bytes().decode('utf-8', 'replace')
            if path.resolve() in allowed:
                mode = stat.S_IMODE(path.stat().st_mode)
                if mode != 0o600:
                    found.append('consumer file %s has mode %o, not 0600' % (path, mode))
                continue
            check(str(path.relative_to(self.tmp_path)), text)
            LEAK_SCANS['files'] += 1
        return found


class BackgroundRun:
    """An ansible-playbook run started by Runner.start()."""

    def __init__(self, runner, proc, run_dir):
        self.runner = runner
        self.proc = proc
        self.run_dir = run_dir
        self.killed = False

    @property
    def running(self):
        return self.proc.poll() is None

    def log_text(self):
        """The ANSIBLE_LOG_PATH file so far (task names as they start)."""
        path = self.run_dir / 'ansible.log'
        return path.read_text(errors='replace') if path.exists() else ''

    def kill(self, tree=True):
        """SIGKILL ansible-playbook as a crash would: its process group and (tree=True, the default) every process
        below it. ansible-core runs each worker in a process group (or session) of its own, so os.killpg alone
        leaves the running task's worker and module alive, finishing the task after the 'crash'. With tree=True
        every process of the tree is stopped (SIGSTOP) first, so none can start another, then killed."""
        if self.running:
            pids = set()
            try:
                os.killpg(self.proc.pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            if tree:
                for _round in range(20):
                    found = set(_descendants(self.proc.pid)) - pids
                    if not found:
                        break
                    for pid in found:
                        _signal(pid, signal.SIGSTOP)
                    pids |= found
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for pid in pids:
                _signal(pid, signal.SIGKILL)
            self.killed = True
        self.proc.wait(timeout=30)

    def wait(self, timeout=RUN_TIMEOUT, expect_rc=0, allowed_secret_files=(), expect_leak=False):
        """Wait for the end (killing it after `timeout` seconds), then leak-scan it and return the PlaybookRun.
        A killed run has rc -9: pass expect_rc=None (or -9)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('ansible-playbook still ran after %s s: killed (%s)' % (timeout, self.run_dir))
        stdout = (self.run_dir / 'stdout.txt').read_text(errors='replace')
        stderr = (self.run_dir / 'stderr.txt').read_text(errors='replace')
        return self.runner._finish(self.run_dir, self.proc.returncode, stdout, stderr, expect_rc,  # pylint: disable=protected-access
                                   allowed_secret_files, expect_leak)


def rulebook_token_events(output):
    """The astra_token fields of the events ansible-rulebook --print-events printed (its Shutdown notices, which are
    not literals, are left out)."""
    events = []
    for text in PRINTED_EVENT.findall(output):
        try:
            event = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(event, dict) and 'astra_token' in event:
            events.append(event['astra_token'])
    return events


def write_inventory(path, groups, all_vars=None):
    """Write a YAML inventory: groups = {group: {host: {hostvar: value}}}; all_vars go to `all: vars:`.
    Returns the path, for run_playbook(..., inventory=path)."""
    inventory = {'all': {'children': {group: {'hosts': {host: dict(hostvars or {}) for host, hostvars in hosts.items()}}
                                      for group, hosts in groups.items()}}}
    if all_vars:
        inventory['all']['vars'] = dict(all_vars)
    path = Path(path)
    path.write_text(yaml.safe_dump(inventory, sort_keys=False, width=1000))
    return path


def collections_path(tmp_root):
    """ANSIBLE_COLLECTIONS_PATH from the environment, else <repo>/.ansible/collections when the collection is
    installed there, else a symlink tree pointing at the working tree."""
    if os.environ.get('ANSIBLE_COLLECTIONS_PATH'):
        return os.environ['ANSIBLE_COLLECTIONS_PATH']
    installed = REPO / '.ansible' / 'collections'
    if (installed / 'ansible_collections' / 'astra' / 'devops').is_dir():
        return str(installed)
    link_parent = Path(tmp_root) / 'collections' / 'ansible_collections' / 'astra'
    link_parent.mkdir(parents=True, exist_ok=True)
    link = link_parent / 'devops'
    if not link.exists():
        link.symlink_to(REPO)
    return str(Path(tmp_root) / 'collections')
