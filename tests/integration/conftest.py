# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration tests.

- ``target``: the API under test for the whole session: the local emulator (default), or a real Astra organisation
  when ASTRA_IT_API_TOKEN is set (ASTRA_IT_API_URL optional).
- ``emu``: the emulator, reset before the test; skips the test (with a reason) against real Astra.
- ``api_profile``: the emulator profile of the test (issue 10). The module tests (PROFILED_MODULES) run once per
  profile of API_PROFILES: ``default``, ``docs`` and ``openapi``, the response shapes the emulator can play
  (tests/emulator/README.md). A test that only makes sense in some profiles says which with
  ``@pytest.mark.api_profiles('default', reason=...)``; a test that expects something that differs by profile reads
  it from the fixture (``api_profile.bad_token_status``). Every other test runs in the default profile.
- ``run_playbook``: runs ansible-playbook and scans everything it produced for secrets.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# pylint: disable=wrong-import-position
from _astra_it import (  # noqa: E402
    API_PROFILES,
    LEAK_SCANS,
    REPO,
    ApiProfile,
    RealAstraTarget,
    Runner,
    collections_path,
    start_emulator,
)

REAL_TOKEN = os.environ.get('ASTRA_IT_API_TOKEN')
# The module tests, run in every profile of API_PROFILES (issue 10).
PROFILED_MODULES = ('test_astra_token', 'test_token_info', 'test_role_info', 'test_errors')


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'api_profiles(*names, reason): run this test of a profiled module only in these emulator profiles '
                   '(the reason says why the others add nothing)')


def pytest_generate_tests(metafunc):
    """The module tests get one instance per emulator profile (fewer with the api_profiles marker; against real
    Astra, one instance, 'real')."""
    if metafunc.module.__name__.rsplit('.', 1)[-1] not in PROFILED_MODULES or 'api_profile' not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker('api_profiles')
    names = tuple(marker.args) if marker else API_PROFILES
    unknown = set(names) - set(API_PROFILES)
    assert not unknown and (not marker or marker.kwargs.get('reason')), \
        '%s: api_profiles takes names of %s and a reason' % (metafunc.definition.nodeid, API_PROFILES)
    if REAL_TOKEN:
        names = ('real',)
    metafunc.parametrize('api_profile', names, indirect=True)


@pytest.fixture
def api_profile(request, target):
    """The profile of this test, applied to the emulator after its reset (see pytest_generate_tests)."""
    name = getattr(request, 'param', 'real' if not target.is_emulator else 'default')
    if not target.is_emulator:
        return ApiProfile(name)
    target.reset()
    return ApiProfile(name, target.config(profile=name))


@pytest.fixture(scope='session')
def target(tmp_path_factory):
    if REAL_TOKEN:
        real = RealAstraTarget(REAL_TOKEN, os.environ.get('ASTRA_IT_API_URL'))
        yield real
        real.cleanup()
        return
    with contextlib.ExitStack() as stack:
        yield start_emulator(stack)


@pytest.fixture(autouse=True)
def _fresh_target(target, api_profile):  # pylint: disable=unused-argument,redefined-outer-name
    """Every test starts from the initial emulator world in its profile (api_profile resets and applies it); against
    real Astra, its tokens are deleted afterwards."""
    yield
    if not target.is_emulator:
        target.cleanup()


@pytest.fixture
def emu(target):
    if not target.is_emulator:
        pytest.skip('needs the emulator (request counts, seeding, faults or config): not available against real Astra')
    return target


@pytest.fixture(scope='session')
def _collections(tmp_path_factory):
    return collections_path(tmp_path_factory.mktemp('collections'))


@pytest.fixture
def run_playbook(target, tmp_path, _collections):
    """run_playbook(playbook_text_or_path, extra_env=None, check=False, diff=False, verbosity=3, expect_rc=0, ...)."""
    return Runner(target, tmp_path, _collections)


OUTPUT = REPO / 'tests' / 'output'


def pytest_sessionstart(session):
    """Start the fault matrix and the leak scanner's tally afresh (once: in the main process, not in xdist workers)."""
    if not hasattr(session.config, 'workerinput'):
        OUTPUT.mkdir(parents=True, exist_ok=True)
        (OUTPUT / 'fault-matrix.jsonl').write_text('')
        for old in list(OUTPUT.glob('leak-scans-*.json')) + list(OUTPUT.glob('doc-blocks.json')):
            old.unlink()


def pytest_sessionfinish(session):
    """Each process (main or xdist worker) leaves what its leak scans covered, for the summary."""
    name = getattr(session.config, 'workerinput', {}).get('workerid', 'main')
    if LEAK_SCANS['runs']:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        (OUTPUT / ('leak-scans-%s.json' % name)).write_text(json.dumps(LEAK_SCANS))


def pytest_terminal_summary(terminalreporter):
    """Print what the leak scanner covered, and the fault matrix test_fault_matrix.py recorded (also written to
    tests/output)."""
    tallies = [json.loads(path.read_text()) for path in OUTPUT.glob('leak-scans-*.json')]
    if tallies:
        terminalreporter.section('leak scanner')
        terminalreporter.write_line(
            '%d ansible-playbook runs scanned (stdout, stderr, ANSIBLE_LOG_PATH and %d files) in %d process(es), each '
            'for every secret and token its emulator had issued (at most %d at one scan, %d in all)' % (
                sum(t['runs'] for t in tallies), sum(t['files'] for t in tallies), len(tallies),
                max(t['secrets'] for t in tallies), sum(t['secrets'] for t in tallies)))
    from test_docs_examples import write_summary  # pylint: disable=import-outside-toplevel
    write_summary(terminalreporter)
    rows_path = OUTPUT / 'fault-matrix.jsonl'
    rows = [json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()] if rows_path.exists() else []
    if not rows:
        return
    from test_fault_matrix import OUTPUT as MATRIX_OUTPUT, render_matrix  # pylint: disable=import-outside-toplevel
    text = render_matrix(rows)
    MATRIX_OUTPUT.write_text(text)
    terminalreporter.section("fault matrix: %d cells (also in %s)" % (len(rows), MATRIX_OUTPUT))
    terminalreporter.write(text)
