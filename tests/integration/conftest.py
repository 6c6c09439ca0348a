# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration tests.

- ``target``: the API under test for the whole session: the local emulator (default), or a real Astra organisation
  when ASTRA_IT_API_TOKEN is set (ASTRA_IT_API_URL optional).
- ``emu``: the emulator, reset before the test; skips the test (with a reason) against real Astra.
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
from _astra_it import REPO, RealAstraTarget, Runner, collections_path, start_emulator  # noqa: E402

REAL_TOKEN = os.environ.get('ASTRA_IT_API_TOKEN')


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
def _fresh_target(target):
    """Every test starts from the initial emulator world; against real Astra, its tokens are deleted afterwards."""
    if target.is_emulator:
        target.reset()
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


def pytest_sessionstart(session):
    """Start the fault matrix afresh (once: in the main process, not in pytest-xdist workers)."""
    if not hasattr(session.config, 'workerinput'):
        rows = REPO / 'tests' / 'output' / 'fault-matrix.jsonl'
        rows.parent.mkdir(parents=True, exist_ok=True)
        rows.write_text('')


def pytest_terminal_summary(terminalreporter):
    """Print the fault matrix the cells of test_fault_matrix.py recorded, and write it to tests/output."""
    rows_path = REPO / 'tests' / 'output' / 'fault-matrix.jsonl'
    rows = [json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()] if rows_path.exists() else []
    if not rows:
        return
    from test_fault_matrix import OUTPUT, render_matrix  # pylint: disable=import-outside-toplevel
    text = render_matrix(rows)
    OUTPUT.write_text(text)
    terminalreporter.section('fault matrix: %d cells (also in %s)' % (len(rows), OUTPUT))
    terminalreporter.write(text)
