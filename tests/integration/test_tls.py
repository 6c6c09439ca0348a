# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS (issue 4, item 6): an emulator serving HTTPS with a certificate made at test time by a private CA.

The modules refuse the certificate by default (one line naming the certificate and ca_path, no retry), accept it with
ca_path set to the CA, and accept it with validate_certs: false while warning that the certificate is not checked.
Every run goes through the leak scanner, which knows the secrets of the HTTPS emulator."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _astra_it import EMULATOR_DIR, EmulatorTarget, Runner, play, task

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core depends on cryptography, openssl is the fallback
    HAS_CRYPTOGRAPHY = False

OPENSSL = shutil.which('openssl')
NOT_CHECKED_WARNING = 'certificate is not checked'


# --------------------------------------------------------------------------------------------------------------
# a private CA and a server certificate for 127.0.0.1 and localhost
# --------------------------------------------------------------------------------------------------------------

def _pem(path, data):
    path.write_bytes(data)
    path.chmod(0o600)
    return str(path)


def _certificates_with_cryptography(folder, ca_name):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_name)])
    ca_cert = (x509.CertificateBuilder()
               .subject_name(ca_subject).issuer_name(ca_subject)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')]))
            .issuer_name(ca_subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return {
        'ca': _pem(folder / 'ca.pem', ca_cert.public_bytes(serialization.Encoding.PEM)),
        'cert': _pem(folder / 'server.pem', cert.public_bytes(serialization.Encoding.PEM)),
        'key': _pem(folder / 'server.key', key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption())),
    }


def _certificates_with_openssl(folder, ca_name):
    def openssl(*args):
        subprocess.run([OPENSSL] + list(args), cwd=str(folder), check=True, capture_output=True, timeout=60)
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
            '-subj', '/CN=%s' % ca_name, '-keyout', 'ca.key', '-out', 'ca.pem',
            '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
            '-keyout', 'server.key', '-out', 'server.csr')
    (folder / 'server.ext').write_text('subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n'
                                       'extendedKeyUsage=serverAuth\n')
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
            '-extfile', 'server.ext', '-out', 'server.pem')
    return {'ca': str(folder / 'ca.pem'), 'cert': str(folder / 'server.pem'), 'key': str(folder / 'server.key')}


def make_certificates(folder, ca_name='astra.devops test CA'):
    """{'ca', 'cert', 'key'}: PEM paths of a new CA and of a server certificate it signed for 127.0.0.1/localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    if HAS_CRYPTOGRAPHY:
        return _certificates_with_cryptography(folder, ca_name)
    if OPENSSL:
        return _certificates_with_openssl(folder, ca_name)
    pytest.skip('no way to make a test certificate: neither the cryptography package (in %s) nor the openssl '
                'command is available' % sys.executable)
    return None


# --------------------------------------------------------------------------------------------------------------
# an HTTPS emulator and playbook runs against it
# --------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def tls(tmp_path_factory):
    """(certificates, EmulatorTarget) of an emulator serving HTTPS with the generated server certificate."""
    folder = tmp_path_factory.mktemp('tls')
    certs = make_certificates(folder / 'ca')
    other = make_certificates(folder / 'other-ca', ca_name='another CA')
    sys.path.insert(0, str(EMULATOR_DIR))
    try:
        from control import Emulator  # pylint: disable=import-error,import-outside-toplevel
    finally:
        sys.path.remove(str(EMULATOR_DIR))
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(Emulator(tls_cert=certs['cert'], tls_key=certs['key']))
        assert emu.url.startswith('https://127.0.0.1:'), emu.url
        yield dict(certs, other_ca=other['ca']), EmulatorTarget(emu)


@pytest.fixture
def run_tls(tls, tmp_path, _collections):
    """run_playbook against the HTTPS emulator (its URL and admin token in the environment, its secrets scanned)."""
    _certs, target = tls
    target.reset()
    return Runner(target, tmp_path, _collections)


def _one_line_failure(run, name):
    assert run.status(name) in ('failed', 'ignored'), (name, run.status(name))
    msg = run.result(name)['msg']
    assert msg.strip() and '\n' not in msg and 'Traceback' not in msg, repr(msg)
    return msg


def _warnings(result):
    """The warning texts of a task result (plain strings, or dicts with a msg in newer ansible-core)."""
    return [w.get('msg', str(w)) if isinstance(w, dict) else str(w) for w in result.get('warnings') or []]


def test_tls_refused_by_default_accepted_with_ca_path_or_validate_certs_false(tls, run_tls):
    certs, target = tls
    localhost_url = target.url.replace('127.0.0.1', 'localhost')
    target.reset_counts()
    run = run_tls(play([
        # default: validate_certs true, no ca_path; default retries (a refused certificate is not retried)
        task('token_info refuses the certificate by default', 'astra.devops.astra_token_info', {}, ignore_errors=True),
        task('role_info refuses the certificate by default', 'astra.devops.astra_role_info', {}, ignore_errors=True),
        task('astra_token refuses the certificate by default', 'astra.devops.astra_token',
             {'description': 'it-tls', 'state': 'absent'}, ignore_errors=True),
        task('a CA bundle of another CA is refused too', 'astra.devops.astra_token_info',
             {'ca_path': certs['other_ca']}, ignore_errors=True),
        # ca_path: the CA that signed the server certificate
        task('token_info with ca_path', 'astra.devops.astra_token_info', {'ca_path': certs['ca']}),
        task('role_info with ca_path, by host name', 'astra.devops.astra_role_info',
             {'ca_path': certs['ca'], 'api_url': localhost_url, 'name': 'R/W Svc Acct'}),
        task('astra_token with ca_path', 'astra.devops.astra_token',
             {'ca_path': certs['ca'], 'description': 'it-tls', 'state': 'absent'}),
        # validate_certs false: accepted, with a warning
        task('token_info with validate_certs false', 'astra.devops.astra_token_info', {'validate_certs': False}),
        task('role_info with validate_certs false', 'astra.devops.astra_role_info', {'validate_certs': False}),
    ]))

    for name in ('token_info refuses the certificate by default', 'role_info refuses the certificate by default',
                 'astra_token refuses the certificate by default', 'a CA bundle of another CA is refused too'):
        msg = _one_line_failure(run, name)
        assert 'certificate' in msg and 'ca_path' in msg, (name, msg)
        assert 'validate_certs' in msg, (name, msg)
        assert 'retries' not in msg and not run.result(name).get('api_retries'), (name, run.result(name))

    listed = run.result('token_info with ca_path')
    assert listed['tokens'] and not listed.get('api_retries')
    assert [r['name'] for r in run.result('role_info with ca_path, by host name')['roles']] == ['R/W Svc Acct']
    assert run.result('astra_token with ca_path')['changed'] is False
    for name in ('token_info with ca_path', 'role_info with ca_path, by host name', 'astra_token with ca_path'):
        assert not any(NOT_CHECKED_WARNING in w for w in _warnings(run.result(name))), name

    for name in ('token_info with validate_certs false', 'role_info with validate_certs false'):
        result = run.result(name)
        assert run.status(name) == 'ok', (name, result)
        assert any(NOT_CHECKED_WARNING in w and 'validate_certs' in w for w in _warnings(result)), (name, result)
    assert run.result('token_info with validate_certs false')['tokens']
    assert "[WARNING]: validate_certs is false" in run.output  # ansible shows one identical warning once

    # Refused handshakes never reach HTTP: the emulator counted only the calls that were let through.
    counts = target.counts()
    assert counts.get('GET /v2/tokens') == 3, counts  # token_info with ca_path, astra_token with ca_path, insecure
    assert counts.get('GET /v2/organizations/roles') == 4, counts  # the two token_info and the two role_info tasks
    assert target.writes() == {}


def test_plain_http_client_gets_no_answer_from_the_tls_port(tls, run_tls):
    """api_url with http:// on the HTTPS port fails in one line and is not mistaken for an API answer."""
    _certs, target = tls
    run = run_tls(play([task('http on the https port', 'astra.devops.astra_token_info',
                             {'api_url': target.url.replace('https://', 'http://'), 'retries': 0, 'timeout': 5},
                             ignore_errors=True)]))
    msg = _one_line_failure(run, 'http on the https port')
    assert 'Listing tokens' in msg, msg


def test_certificates_are_made_by_the_ca(tmp_path):
    """The helper's output: a CA and a server certificate for both names, whichever tool made them."""
    certs = make_certificates(tmp_path / 'ca')
    for key in ('ca', 'cert', 'key'):
        assert Path(certs[key]).read_text().startswith('-----BEGIN'), key
    if HAS_CRYPTOGRAPHY:
        cert = x509.load_pem_x509_certificate(Path(certs['cert']).read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert 'localhost' in names.get_values_for_type(x509.DNSName)
        assert ipaddress.ip_address('127.0.0.1') in names.get_values_for_type(x509.IPAddress)
