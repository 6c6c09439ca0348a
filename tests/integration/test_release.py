# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release hygiene: the tarball `ansible-galaxy collection build` makes from the working tree holds what Galaxy and
users need and nothing local (galaxy.yml build_ignore is the only filter: the build does not read .gitignore); its
version is the one of galaxy.yml and of the top release in changelogs/changelog.yaml; and the copy installed from it
(offline, into an empty folder) works against the emulator. The tarball's size and file count are printed and
written to tests/output/release.json."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile

import pytest
import yaml

from _astra_it import REPO, info, play

GALAXY = os.path.join(os.path.dirname(sys.executable), 'ansible-galaxy')
OUTPUT = REPO / 'tests' / 'output' / 'release.json'
REQUIRED = [
    'MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'CHANGELOG.rst', 'requirements.txt',
    'meta/runtime.yml', 'meta/execution-environment.yml', 'meta/ee-requirements.txt',
    'plugins/modules/astra_token.py', 'plugins/modules/astra_token_info.py', 'plugins/modules/astra_role_info.py',
    'plugins/modules/astra_role.py',
    'plugins/doc_fragments/auth.py', 'plugins/filter/token_audit.py',
    'roles/token_rotation/meta/argument_specs.yml', 'roles/token_rotation/tasks/main.yml',
    'roles/token_rotation/defaults/main.yml',
    'playbooks/rotate_token.yml', 'playbooks/audit_tokens.yml', 'playbooks/templates/token-audit.md.j2',
    'docs/rotation.md', 'docs/awx.md', 'docs/awx-credential-type.yml', 'docs/eda.md',
    'extensions/eda/plugins/event_source/token_events.py', 'extensions/eda/rulebooks/renew_expiring_tokens.yml',
    'examples/inventory.example.yml', 'examples/inventory.stores.example.yml',
    'playbooks/templates/reporting-astra.properties.j2',
    'changelogs/changelog.yaml',
]
# local folders at the top of the checkout (also any .venv*), and what may appear at any depth
LOCAL_TOP = {'.venv', '.ansible', '.tools', '.ci', '.git', '.github', 'build', 'collections', 'astra-token-audit',
             '.pytest_cache', '.cache', '.tox', '.mypy_cache'}
LOCAL_ANYWHERE = {'__pycache__', '.pytest_cache', '.mypy_cache', '.ruff_cache'}
LOCAL_SUFFIXES = ('.pyc', '.pyo', '.tar.gz', '.swp', '.log')
# what must ship: every tracked file under these folders
SHIPPED_FOLDERS = ['plugins', 'roles', 'playbooks', 'docs', 'meta']


def galaxy(*args, cwd=REPO, env=None):
    proc = subprocess.run([GALAXY, *args], cwd=str(cwd), env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, 'ansible-galaxy %s: rc %s\n%s\n%s' % (
        ' '.join(args), proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def version_key(version):
    return tuple(int(part) for part in version.split('.'))


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    """The tarball built from the working tree (outside the test's tmp dir: the leak scanner need not read it)."""
    out = tmp_path_factory.mktemp('release-build')
    galaxy('collection', 'build', '--output-path', str(out))
    tarballs = list(out.glob('*.tar.gz'))
    assert len(tarballs) == 1, tarballs
    with tarfile.open(tarballs[0]) as tar:
        members = {m.name: m for m in tar.getmembers()}
        files = {name: tar.extractfile(m).read() for name, m in members.items() if m.isfile()}
    return tarballs[0], members, files


def test_tarball_holds_what_galaxy_needs_and_nothing_local(release):
    tarball, members, files = release
    missing = [name for name in REQUIRED if name not in files]
    assert not missing, 'missing from %s: %s' % (tarball.name, missing)

    local = sorted(name for name in members
                   if name.split('/')[0] in LOCAL_TOP or name.startswith(('.venv', 'tests/output'))
                   or LOCAL_ANYWHERE & set(name.split('/')) or name.endswith(LOCAL_SUFFIXES))
    assert not local, 'local files in the tarball (add them to build_ignore in galaxy.yml): %s' % local[:30]
    ignored = subprocess.run(['git', '-C', str(REPO), 'check-ignore', '--stdin'], input='\n'.join(members),
                             capture_output=True, text=True, check=False)
    assert ignored.returncode in (0, 1), ignored.stderr
    assert not ignored.stdout.split(), '.gitignore\'d files in the tarball: %s' % ignored.stdout.split()[:30]

    tracked = subprocess.run(['git', '-C', str(REPO), 'ls-files', '--', *SHIPPED_FOLDERS], capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked, 'git ls-files found nothing'
    left_out = sorted(set(tracked) - set(files))
    assert not left_out, 'tracked files build_ignore leaves out: %s' % left_out

    manifest = json.loads(files['FILES.json'])
    listed = {f['name']: f['chksum_sha256'] for f in manifest['files'] if f['ftype'] == 'file'}
    assert set(listed) == set(files) - {'MANIFEST.json', 'FILES.json'}
    bad = [name for name, digest in listed.items() if hashlib.sha256(files[name]).hexdigest() != digest]
    assert not bad, 'FILES.json checksums do not match: %s' % bad

    size = tarball.stat().st_size
    measured = {'tarball': tarball.name, 'bytes': size, 'files': len(files),
                'entries': len(members), 'unpacked_bytes': sum(len(data) for data in files.values())}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(measured, indent=2) + '\n')
    print('\n%s: %.1f KiB, %d files (%d entries, %.1f KiB unpacked)' % (
        tarball.name, size / 1024.0, len(files), len(members), measured['unpacked_bytes'] / 1024.0))
    assert len(files) < 300 and size < 1024 * 1024, measured


def test_versions_agree(release):
    tarball, _members, files = release
    manifest = json.loads(files['MANIFEST.json'])['collection_info']
    galaxy_yml = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    changelog = yaml.safe_load((REPO / 'changelogs' / 'changelog.yaml').read_text())
    top = max(changelog['releases'], key=version_key)
    assert (manifest['namespace'], manifest['name']) == ('astra', 'devops')
    assert manifest['version'] == galaxy_yml['version'] == top, (manifest['version'], galaxy_yml['version'], top)
    assert tarball.name == 'astra-devops-%s.tar.gz' % top


def test_installed_tarball_works(release, tmp_path_factory, emu, run_playbook):
    """An offline install into an empty folder, then a playbook with only that folder as collections path."""
    tarball = release[0]
    clean = tmp_path_factory.mktemp('release-install')
    # Only the empty folder as collections path: a copy in ~/.ansible/collections (ansible-lint leaves one there)
    # would make ansible-galaxy skip the install as done.
    env = dict(os.environ, ANSIBLE_GALAXY_CACHE_DIR=str(clean / '.galaxy-cache'), ANSIBLE_COLLECTIONS_PATH=str(clean))
    galaxy('collection', 'install', '--offline', '-p', str(clean), str(tarball), env=env)
    installed = clean / 'ansible_collections' / 'astra' / 'devops'
    assert (installed / 'MANIFEST.json').is_file() and not installed.is_symlink()

    listed = emu.mint(roles=['RO Svc Acct'], description=emu.desc('release'))
    run = run_playbook(play([info('list the tokens', description=emu.desc('release'))]),
                       extra_env={'ANSIBLE_COLLECTIONS_PATH': str(clean)})
    tokens = run.result('list the tokens')['tokens']
    assert [t['client_id'] for t in tokens] == [listed['clientId']], tokens
    used = [line for line in run.output.splitlines() if 'Using module file' in line and 'astra_token_info' in line]
    assert used, 'no "Using module file" line at -vvvv\n' + run.describe()
    assert all(str(installed) in line for line in used), used
