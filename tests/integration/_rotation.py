# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the rotation tests (test_rotation.py): consumer files and their inventory, the prober that calls the
API with every consumer's token while a rotation runs, and small waits on the emulator and the files."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path

from _astra_it import REPO, http_json, write_inventory

ROTATE_PLAYBOOK = REPO / 'playbooks' / 'rotate_token.yml'
GROUP = 'astra_consumers'
ENV_VAR = 'ASTRA_DB_APPLICATION_TOKEN'
TOKEN = re.compile(r'AstraCS:([A-Za-z0-9]+):[0-9A-Fa-f]{64}')
DELETE_ROUTE = 'DELETE /v2/tokens/{clientId}'
CREATE_ROUTE = 'POST /v2/tokens'
CURRENT_ORG_ROUTE = 'GET /v2/currentOrg'

# The roles of the families the tests seed.
FAMILY_ROLES = ['R/W Svc Acct']
# The three consumers of the tests: host name -> file format.
FORMATS = {'c1': 'raw', 'c2': 'env', 'c3': 'json'}


class ConsumerFileError(ValueError):
    """A consumer file that is missing, unreadable, partial or not in its format."""


def parse_consumer(text, fmt):
    """The AstraCS token a consumer file holds, checked strictly against its format (a partial or torn file fails)."""
    if fmt == 'raw':
        token = text.strip()
        if not text.endswith('\n') or not TOKEN.fullmatch(token):
            raise ConsumerFileError('not a raw token file (%d bytes)' % len(text))
        return token
    if fmt == 'env':
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) != 1 or not lines[0].startswith(ENV_VAR + '=') or not TOKEN.fullmatch(lines[0][len(ENV_VAR) + 1:]):
            raise ConsumerFileError('not an env token file (%d bytes)' % len(text))
        return lines[0][len(ENV_VAR) + 1:]
    if fmt == 'json':
        try:
            data = json.loads(text)
        except ValueError:
            raise ConsumerFileError('not JSON (%d bytes)' % len(text)) from None
        token = data.get('token') if isinstance(data, dict) else None
        if not isinstance(token, str) or not TOKEN.fullmatch(token) or data.get('clientId') != token.split(':')[1] \
                or not isinstance(data.get('secret'), str) or len(data['secret']) < 100:
            raise ConsumerFileError('JSON without a consistent clientId, secret and token')
        return token
    raise ValueError(fmt)


def client_id(token):
    return token.split(':')[1]


class Consumers:
    """The consumer hosts of one test (c1 raw, c2 env, c3 json; local connections), their files under `folder`,
    and the inventory that describes them."""

    def __init__(self, folder, hosts=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hosts = {}
        for host, fmt in (hosts or FORMATS).items():
            self.hosts[host] = {
                'ansible_connection': 'local',
                'ansible_python_interpreter': sys.executable,
                'token_rotation_consumer_path': str(self.folder / ('%s-%s.token' % (host, fmt))),
                'token_rotation_consumer_format': fmt,
            }
        self.count = 0

    def path(self, host):
        return Path(self.hosts[host]['token_rotation_consumer_path'])

    def fmt(self, host):
        return self.hosts[host]['token_rotation_consumer_format']

    @property
    def paths(self):
        """The consumer files: the allowed_secret_files of the leak scanner."""
        return [self.path(host) for host in self.hosts]

    def inventory(self, overrides=None):
        """Write an inventory (a new file each time) of the group astra_consumers; overrides = {host: {var: value}}
        (a value None removes the variable)."""
        self.count += 1
        groups = {GROUP: {}}
        for host, hostvars in self.hosts.items():
            merged = dict(hostvars)
            for key, value in ((overrides or {}).get(host) or {}).items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            groups[GROUP][host] = merged
        return write_inventory(self.folder.parent / ('inventory-%02d.yml' % self.count), groups)

    def write(self, created, hosts=None):
        """Write a token (a create or mint answer: clientId, secret, token) to the consumer files, mode 0600, as an
        operator would have before the first rotation."""
        for host in hosts or self.hosts:
            fmt = self.fmt(host)
            if fmt == 'raw':
                text = created['token'] + '\n'
            elif fmt == 'env':
                text = '%s=%s\n' % (ENV_VAR, created['token'])
            else:
                text = json.dumps({'clientId': created['clientId'], 'secret': created['secret'],
                                   'token': created['token']}, indent=2) + '\n'
            path = self.path(host)
            fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as handle:
                handle.write(text)
            os.chmod(path, 0o600)

    def token(self, host):
        """The token the consumer's file holds (ConsumerFileError if it holds none, or a torn one)."""
        try:
            text = self.path(host).read_text()
        except OSError as error:
            raise ConsumerFileError('unreadable: %s' % error.strerror) from None
        return parse_consumer(text, self.fmt(host))

    def client_ids(self):
        """{host: client id its file holds, or None}."""
        held = {}
        for host in self.hosts:
            try:
                held[host] = client_id(self.token(host))
            except ConsumerFileError:
                held[host] = None
        return held

    def stray_files(self):
        """Files in the consumers' folder other than the consumer files (temporary or backup copies)."""
        known = {p.name for p in self.paths}
        return sorted(p.name for p in self.folder.iterdir() if p.name not in known)


def seed_family(emu, consumers, desc, **mint):
    """A family of one token (R/W Svc Acct), written to every consumer file (mode 0600); returns the mint answer."""
    old = emu.mint(roles=FAMILY_ROLES, description=desc, **mint)
    consumers.write(old)
    return old


def family_ids(emu, desc):
    """The client ids of the family's tokens, sorted (the emulator's state)."""
    return sorted(t['clientId'] for t in emu.state_tokens(desc))


def token_status(target, token):
    """The HTTP status of GET /v2/currentOrg with this token."""
    status, _body = http_json('GET', target.url.rstrip('/') + '/v2/currentOrg', token=token, timeout=30)
    return status


class Prober(threading.Thread):
    """Reads every consumer file in a loop and calls GET /v2/currentOrg with the token it holds, recording every
    failure (an unreadable or torn file, a token the API refuses). Stops when `until()` turns false, when stop() is
    called, or after `limit` seconds."""

    def __init__(self, target, consumers, until=None, limit=120.0, interval=0.2):
        super().__init__(daemon=True)
        self.target = target
        self.consumers = consumers
        self.until = until or (lambda: True)
        self.limit = limit
        self.interval = interval
        self.failures = []
        self.probes = 0
        self.seen = {host: [] for host in consumers.hosts}  # client ids in the order first seen
        self._stop_event = threading.Event()

    def stop(self):
        self._stop_event.set()
        self.join(timeout=60)

    def run(self):
        started = time.monotonic()
        while not self._stop_event.is_set() and time.monotonic() - started < self.limit:
            running = self.until()
            for host in self.consumers.hosts:
                when = round(time.monotonic() - started, 3)
                try:
                    token = self.consumers.token(host)
                except ConsumerFileError as error:
                    self.failures.append((when, host, str(error)))
                    continue
                cid = client_id(token)
                if cid not in self.seen[host]:
                    self.seen[host].append(cid)
                try:
                    status = token_status(self.target, token)
                except OSError as error:
                    status = 'connection error: %s' % error
                self.probes += 1
                if status != 200:
                    self.failures.append((when, host, 'client id %s: HTTP %s' % (cid, status)))
            if not running:
                break
            time.sleep(self.interval)


def wait_probing(target, job, holders, allowed_secret_files, limit=120):
    """Probe the holders while the ansible-playbook job runs; (its run, the prober) once it ended."""
    prober = Prober(target, holders, until=lambda: job.running, limit=limit)
    prober.start()
    try:
        run = job.wait(allowed_secret_files=allowed_secret_files)
    finally:
        prober.stop()
    return run, prober


def wait_for(condition, timeout, what, interval=0.05, alive=None):
    """Poll `condition` until it is true; fail after `timeout` seconds, or as soon as `alive()` turns false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if alive is not None and not alive():
            value = condition()
            if value:
                return value
            raise AssertionError('the run ended before: %s' % what)
        time.sleep(interval)
    raise AssertionError('timed out after %s s waiting for: %s' % (timeout, what))


def rotation_args(**role_vars):
    """ansible-playbook arguments giving the role's variables as extra vars (never a secret: the API token comes
    from the environment)."""
    return ['-e', json.dumps(role_vars)]


def result_of(run):
    """The token_rotation_result fact the role set (from the captured set_fact result)."""
    for item in run.results:
        facts = item['result'].get('ansible_facts') or {}
        if 'token_rotation_result' in facts:
            return facts['token_rotation_result']
    raise AssertionError('no task set token_rotation_result\n' + run.describe())


def failure_messages(run):
    return [str(item['result'].get('msg', '')) for item in run.results if item['status'] in ('failed', 'unreachable')]
