# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX set-up of docs/awx.md, as close as it gets without AWX: both playbooks run through ansible-runner (the
engine of AWX jobs) in a private data dir laid out like an AWX job's (the playbooks copied into project/), with an
environment made only from the "Astra DevOps API" credential type's injectors (docs/awx-credential-type.yml)
rendered with the emulator's URL and admin token. Nothing named ASTRA_* comes from the test process: ansible-runner
passes os.environ through, so the test removes those variables (and plants decoys first, to see them gone).

Then: the job status is successful, the family rotated (emulator state, consumer files), the audit report was
written, and no secret the emulator issued appears in any file of the private data dir (job_events, stdout, the
report). The one exception is the job's own record of its environment, artifacts/<ident>/command (mode 0600), which
may hold the credential's token as ASTRA_API_TOKEN and nothing else."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
from pathlib import Path

import ansible_runner
import yaml
from ansible.parsing.yaml.loader import AnsibleLoader
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from _astra_it import REPO, TOKEN_SHAPE, SecretFinder
from _rotation import Consumers, seed_family, token_status

CREDENTIAL_TYPE = REPO / 'docs' / 'awx-credential-type.yml'
AWX_DOC = REPO / 'docs' / 'awx.md'
VENV_BIN = Path(sys.executable).parent
YAML_BLOCK = re.compile(r'^```yaml\n(.*?)^```$', re.S | re.M)


def credential_type():
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


def render_injectors(inputs):
    """The environment AWX would inject for a credential with these input values (AWX renders injector templates
    with a sandboxed Jinja2; an input the credential leaves empty takes the field's default)."""
    definition = credential_type()
    fields = definition['inputs']['fields']
    values = {field['id']: inputs.get(field['id'], field.get('default', '')) for field in fields}
    jinja = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    return {name: jinja.from_string(template).render(**values)
            for name, template in definition['injectors']['env'].items()}


def run_job(private_data_dir, ident, playbook, inventory, envvars, extravars):
    """One 'AWX job': ansible-runner with the playbook from project/, env files not written (AWX keeps the
    credential out of env/envvars the same way)."""
    return ansible_runner.run(private_data_dir=str(private_data_dir), ident=ident, playbook=playbook,
                              inventory=str(inventory), envvars=envvars, extravars=extravars, verbosity=4,
                              quiet=True, suppress_env_files=True, timeout=180)


def job_env(private_data_dir, ident):
    """The environment ansible-playbook ran with, as ansible-runner recorded it."""
    command = Path(private_data_dir) / 'artifacts' / ident / 'command'
    assert stat.S_IMODE(command.stat().st_mode) == 0o600, oct(command.stat().st_mode)
    return json.loads(command.read_text())['env']


def leaks(target, root, allowed):
    """Files under root holding an issued secret or a token-shaped string. `allowed`: {path: transform}, where the
    transform returns the part of the file's text that must be clean."""
    finder = SecretFinder(target.secrets())
    found, scanned = [], 0
    for path in sorted(Path(root).rglob('*')):
        if not path.is_file() or path.is_symlink():
            continue
        text = path.read_bytes().decode('utf-8', 'replace')
        transform = allowed.get(path.resolve())
        if transform is not None:
            text = transform(path, text)
            if text is None:
                continue
        scanned += 1
        hit = finder.find(text) or (TOKEN_SHAPE.search(text) or [None])[0]
        if hit:
            found.append('%s (%s...)' % (path.relative_to(root), hit[:12]))
    return found, scanned


def consumer_file(path, text):
    """A consumer file may hold the token, with mode 0600 only."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return None if mode == 0o600 else 'mode %o: %s' % (mode, text)


def make_command_check(api_token):
    def command_file(path, text):
        """The job's command record: everything but env.ASTRA_API_TOKEN (the credential's token) must be clean."""
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, '%s is not 0600' % path
        data = json.loads(text)
        assert data['env'].get('ASTRA_API_TOKEN') == api_token
        data['env'].pop('ASTRA_API_TOKEN')
        return json.dumps(data)
    return command_file


def test_docs_show_the_credential_type_of_the_yaml_file():
    """docs/awx.md's pasted blocks are exactly docs/awx-credential-type.yml, which the job test below uses; every
    YAML block of the guide parses (as Ansible reads it: the awx.awx example uses !unsafe)."""
    definition = credential_type()
    blocks = [AnsibleLoader(block).get_single_data() for block in YAML_BLOCK.findall(AWX_DOC.read_text())]
    assert len(blocks) >= 4, 'docs/awx.md: %d YAML blocks' % len(blocks)
    assert definition['inputs'] in blocks, 'docs/awx.md does not show the inputs of %s' % CREDENTIAL_TYPE
    assert definition['injectors'] in blocks, 'docs/awx.md does not show the injectors of %s' % CREDENTIAL_TYPE
    fields = {field['id']: field for field in definition['inputs']['fields']}
    assert fields['api_token']['secret'] is True and definition['inputs']['required'] == ['api_token']
    assert fields['api_url']['default'] == 'https://api.astra.datastax.com' and not fields['api_url'].get('secret')
    assert sorted(definition['injectors']) == ['env'], 'inject through the environment only, never extra_vars'
    assert render_injectors({'api_token': 'T'}) == {'ASTRA_API_TOKEN': 'T',
                                                    'ASTRA_API_URL': 'https://api.astra.datastax.com'}


def test_rotate_and_audit_through_ansible_runner_with_the_credential_type(emu, tmp_path, monkeypatch, _collections):
    desc = emu.desc('awx-runner')
    consumers = Consumers(tmp_path / 'consumers')
    old = seed_family(emu, consumers, desc, age_days=3)

    injected = render_injectors({'api_token': emu.api_token, 'api_url': emu.url})
    assert injected == {'ASTRA_API_TOKEN': emu.api_token, 'ASTRA_API_URL': emu.url}
    envvars = dict(injected, ANSIBLE_COLLECTIONS_PATH=_collections, ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    # ansible-runner seeds the job's environment with os.environ: decoys first, then every ASTRA_* is removed
    monkeypatch.setenv('ASTRA_API_TOKEN', 'decoy-from-the-test-process')
    monkeypatch.setenv('ASTRA_DECOY', 'decoy-from-the-test-process')
    for key in [k for k in os.environ if k.startswith('ASTRA_')]:
        monkeypatch.delenv(key)
    # ansible-runner runs `ansible-playbook` from PATH: this venv's, as an execution environment has its own
    monkeypatch.setenv('PATH', str(VENV_BIN) + os.pathsep + os.environ.get('PATH', ''))

    private_data_dir = tmp_path / 'job'
    shutil.copytree(REPO / 'playbooks', private_data_dir / 'project')  # AWX checks the project out here
    rotate = run_job(private_data_dir, 'rotate', 'rotate_token.yml', consumers.inventory(), envvars,
                     {'token_rotation_description': desc})
    audit = run_job(private_data_dir, 'audit', 'audit_tokens.yml', consumers.inventory(), envvars, {})

    for ident, job in (('rotate', rotate), ('audit', audit)):
        stdout = (private_data_dir / 'artifacts' / ident / 'stdout').read_text()
        assert (job.status, job.rc) == ('successful', 0), '%s: %s rc=%s\n%s' % (
            ident, job.status, job.rc, SecretFinder(emu.secrets()).redact(stdout[-6000:]))
        env = job_env(private_data_dir, ident)
        assert {k: v for k, v in env.items() if k.startswith('ASTRA_')} == injected, \
            '%s: the job saw ASTRA_* variables other than the injectors: %s' % (ident, sorted(env))
        assert len(list((private_data_dir / 'artifacts' / ident / 'job_events').glob('*.json'))) > 10

    family = emu.state_tokens(desc)
    assert len(family) == 1 and family[0]['clientId'] != old['clientId'], family
    new = family[0]['clientId']
    assert set(consumers.client_ids().values()) == {new}, consumers.client_ids()
    assert token_status(emu, consumers.token('c1')) == 200 and token_status(emu, old['token']) == 401

    report = json.loads((private_data_dir / 'project' / 'astra-token-audit' / 'token-audit.json').read_text())
    listed = {row['client_id'] for row in report['tokens']}
    assert new in listed and old['clientId'] not in listed, listed
    assert report['token_count'] == len(emu.state_tokens())

    allowed = {path.resolve(): consumer_file for path in consumers.paths}
    command_check = make_command_check(emu.api_token)
    for ident in ('rotate', 'audit'):
        allowed[(private_data_dir / 'artifacts' / ident / 'command').resolve()] = command_check
    found, scanned = leaks(emu, tmp_path, allowed)
    assert not found, 'secrets in the job files: %s' % found
    assert scanned > 30, 'only %d files scanned' % scanned
    assert not (private_data_dir / 'env').exists() or not list((private_data_dir / 'env').iterdir())
