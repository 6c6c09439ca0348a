# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment definition (execution-environment.yml, issue 5).

There is no container engine here, so the image is not built: `ansible-builder create` writes the build context,
and the test checks what the image build would do with it. It then replays, outside a container, the two steps of
the build that concern this collection: the galaxy stage's `ansible-galaxy collection install -r requirements.yml`
(run in context/_build, as the image runs it in /build) and the builder stage's introspection of the installed
collections, which must find `requests` both in the definition and in the collection's own metadata.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BIN = Path(sys.executable).parent
EE_FILE = REPO / 'execution-environment.yml'


def galaxy_version():
    return str(yaml.safe_load((REPO / 'galaxy.yml').read_text())['version'])


def requirement_names(lines):
    """Project names (lower case) of the requirement lines of a pip requirements file."""
    names = set()
    for line in lines:
        line = line.split('#', 1)[0].strip()
        match = re.match(r'[A-Za-z0-9][A-Za-z0-9._-]*', line)
        if match:
            names.add(match.group(0).lower().replace('_', '-'))
    return names


def run(cmd, cwd, env=None):
    proc = subprocess.run([str(c) for c in cmd], cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, '%s failed (rc %s)\nstdout:\n%s\nstderr:\n%s' % (
        ' '.join(str(c) for c in cmd), proc.returncode, proc.stdout, proc.stderr)
    return proc


def test_definition_installs_the_collection_tarball_of_this_version():
    definition = yaml.safe_load(EE_FILE.read_text())
    assert definition['version'] == 3
    deps = definition['dependencies']
    assert deps['ansible_core']['package_pip'].startswith('ansible-core')
    assert deps['ansible_runner']['package_pip'].startswith('ansible-runner')
    tarball = 'astra-devops-%s.tar.gz' % galaxy_version()
    sources = [entry['src'] for entry in definition['additional_build_files']]
    assert 'build/' + tarball in sources, \
        'execution-environment.yml does not copy build/%s (the galaxy.yml version)' % tarball
    names = [entry['name'] for entry in deps['galaxy']['collections']]
    assert any(name.endswith('/' + tarball) for name in names), 'the galaxy requirements do not install %s' % tarball


def test_ansible_builder_create_makes_a_context_with_requests_and_the_collection(tmp_path):
    builder = BIN / 'ansible-builder'
    galaxy = BIN / 'ansible-galaxy'
    assert builder.exists(), '%s not found: ansible-builder is in tests/requirements-dev.txt' % builder
    version = galaxy_version()
    tarball = 'astra-devops-%s.tar.gz' % version

    # The definition and what it refers to, with a tarball built now from the working tree (not build/ of an
    # earlier `make build`).
    project = tmp_path / 'project'
    project.mkdir()
    shutil.copy(EE_FILE, project / EE_FILE.name)
    shutil.copy(REPO / 'requirements.txt', project / 'requirements.txt')
    run([galaxy, 'collection', 'build', '--force', '--output-path', project / 'build', REPO], cwd=tmp_path)
    assert (project / 'build' / tarball).is_file()

    context = tmp_path / 'context'
    run([builder, 'create', '-f', project / EE_FILE.name, '-c', context, '--output-filename', 'Containerfile',
         '-v', '3'], cwd=project)
    build = context / '_build'
    containerfile = (context / 'Containerfile').read_text()
    print(containerfile)

    # Python requirements of the image: requests, and boto3 and hvac for the secret stores of token_rotation.
    assert (build / 'requirements.txt').is_file(), 'no Python requirements in the build context'
    requirements = (build / 'requirements.txt').read_text().splitlines()
    assert {'requests', 'boto3', 'hvac'} <= set(requirement_names(requirements)), requirements

    # Galaxy requirements: the collection, from the tarball copied into the context.
    galaxy_requirements = yaml.safe_load((build / 'requirements.yml').read_text())
    entries = [c for c in galaxy_requirements['collections'] if isinstance(c, dict) and c.get('type') == 'file']
    assert len(entries) == 1, galaxy_requirements
    copied = build / entries[0]['name']
    assert copied.is_file(), '%s is not in the build context' % entries[0]['name']
    with tarfile.open(copied) as archive:
        manifest = json.load(archive.extractfile('MANIFEST.json'))['collection_info']
    assert (manifest['namespace'], manifest['name'], manifest['version']) == ('astra', 'devops', version)
    members = set(tarfile.open(copied).getnames())
    assert {'meta/execution-environment.yml', 'meta/ee-requirements.txt', 'meta/runtime.yml'} <= members
    assert 'execution-environment.yml' not in members, 'the image recipe is in galaxy.yml build_ignore'

    # The Containerfile: ansible-core and ansible-runner by pip, the collection by ansible-galaxy from /build
    # (the copy of _build), and the Python requirements through introspection and assemble.
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M)
    assert refs, 'no ANSIBLE_INSTALL_REFS in the Containerfile'
    assert {'ansible-core', 'ansible-runner'} <= requirement_names(refs.group(1).split()), refs.group(1)
    steps = [line.strip() for line in containerfile.splitlines()]
    expected_in_order = [
        'RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS',
        'COPY _build /build',
        'WORKDIR /build',
        'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml',
        'COPY _build/requirements.txt requirements.txt',
        'introspect.py introspect --user-pip=requirements.txt',
        'RUN /output/scripts/assemble',
        'RUN /output/scripts/check_ansible $PYCMD',
        'RUN /output/scripts/install-from-bindep',
    ]
    position = 0
    for expected in expected_in_order:
        found = [i for i, line in enumerate(steps) if i >= position and expected in line]
        assert found, 'the Containerfile has no %r after line %d' % (expected, position + 1)
        position = found[0] + 1

    # Replay the galaxy stage (working directory /build = context/_build) and the introspection of the builder stage.
    collections = tmp_path / 'image' / 'collections'
    env = dict(os.environ, ANSIBLE_GALAXY_DISABLE_GPG_VERIFY='1', ANSIBLE_COLLECTIONS_PATH=str(collections))
    run([galaxy, 'collection', 'install', '--offline', '-r', 'requirements.yml', '--collections-path', collections],
        cwd=build, env=env)
    installed = collections / 'ansible_collections' / 'astra' / 'devops'
    assert json.loads((installed / 'MANIFEST.json').read_text())['collection_info']['version'] == version

    introspected = run([sys.executable, build / 'scripts' / 'introspect.py', 'introspect',
                        '--user-pip=requirements.txt', collections], cwd=build)
    python = yaml.safe_load(introspected.stdout)['python']
    assert any(re.match(r'requests\b.*# from collection astra\.devops$', line) for line in python), python
    assert any(re.match(r'requests\b.*# from collection user$', line) for line in python), python
