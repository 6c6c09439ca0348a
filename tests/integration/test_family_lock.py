# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/token_rotation/files/family_lock.py run as the role runs it: a child of a process whose command line names
ansible-playbook (here a small Python stand-in, a file named `ansible-playbook`, which runs the script on request and
stays alive as the lock's owner). Take and release leave nothing in the lock folder but the lock while it is held;
of several owners taking one lock at once exactly one gets it while it lives; a dead owner's lock is taken over;
the guard files of older versions go away on release.

The role-level test of two rotations started together is test_rotation.py::test_two_rotations_of_one_family_started_
together; these tests are about the script's own contract, faster and with many more racing takers."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap

import pytest

from _astra_it import REPO

LOCK_SCRIPT = REPO / 'roles' / 'token_rotation' / 'files' / 'family_lock.py'
DESCRIPTION = 'it-family-lock'

# The stand-in for ansible-playbook: reads one JSON argument list a line, runs family_lock.py with it as a child
# (as the role's command task does), and prints {"rc", "out"} a line.
STAND_IN = textwrap.dedent('''\
    import json, subprocess, sys
    for line in sys.stdin:
        proc = subprocess.run([sys.executable, sys.argv[1]] + json.loads(line), capture_output=True, text=True)
        print(json.dumps({"rc": proc.returncode, "out": json.loads(proc.stdout) if proc.stdout.strip() else None,
                          "err": proc.stderr}), flush=True)
''')


class Owner:
    """One stand-in ansible-playbook process: the owner of the locks its family_lock.py children take."""

    def __init__(self, stand_in):
        self.proc = subprocess.Popen([sys.executable, str(stand_in), str(LOCK_SCRIPT)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid

    def send(self, *args):
        self.proc.stdin.write(json.dumps(list(args)) + '\n')
        self.proc.stdin.flush()

    def answer(self):
        line = self.proc.stdout.readline()
        assert line, 'the stand-in ansible-playbook %d exited' % self.pid
        answer = json.loads(line)
        assert 'Traceback' not in answer['err'], answer['err']
        return answer

    def run(self, *args):
        self.send(*args)
        return self.answer()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()


@pytest.fixture
def owners(tmp_path):
    """owners() starts a new stand-in ansible-playbook; all are stopped at the end of the test."""
    stand_in = tmp_path / 'bin' / 'ansible-playbook'
    stand_in.parent.mkdir()
    stand_in.write_text(STAND_IN)
    started = []

    def start():
        owner = Owner(stand_in)
        started.append(owner)
        return owner

    yield start
    for owner in started:
        owner.stop()


@pytest.fixture
def lock(tmp_path):
    """The lock file's path, in a lock folder of its own (the role's token_rotation_lock_dir)."""
    return tmp_path / 'locks' / 'f00dfeedcafe0123.lock'


def listing(folder):
    return sorted(os.listdir(folder))


def test_take_and_release_leave_an_empty_folder(owners, lock):
    owner = owners()
    for _round in range(3):
        taken = owner.run('take', str(lock), DESCRIPTION)
        assert taken['rc'] == 0 and taken['out'] == {'taken': True, 'path': str(lock), 'stale': None}, taken
        assert listing(lock.parent) == [lock.name]
        record = json.loads(lock.read_text())
        assert record['pid'] == owner.pid and record['description'] == DESCRIPTION, record
        released = owner.run('release', str(lock), DESCRIPTION)
        assert released['rc'] == 0 and released['out'] == {'released': True, 'path': str(lock)}, released
        assert listing(lock.parent) == []
    assert oct(lock.parent.stat().st_mode & 0o777) == oct(0o700)


def test_taking_again_is_idempotent_for_the_owner(owners, lock):
    owner = owners()
    assert owner.run('take', str(lock), DESCRIPTION)['rc'] == 0
    again = owner.run('take', str(lock), DESCRIPTION)
    assert again['rc'] == 0 and again['out']['stale'] is None, again
    assert listing(lock.parent) == [lock.name]


@pytest.mark.parametrize('takers', [2, 8])
def test_of_owners_taking_one_lock_at_once_exactly_one_gets_it(owners, lock, takers):
    """Several rounds: all owners ask at the same moment; one gets rc 0, every other rc 3 naming it, and asks again
    in vain while it lives. Once it releases, another gets the lock (not as a stale one)."""
    lock.parent.mkdir(mode=0o700)
    group = [owners() for _owner in range(takers)]
    for _round in range(4):
        for owner in group:
            owner.send('take', str(lock), DESCRIPTION)
        answers = dict((owner.pid, owner.answer()) for owner in group)
        winners = [pid for pid, answer in answers.items() if answer['rc'] == 0]
        assert len(winners) == 1, answers
        winner = winners[0]
        assert answers[winner]['out']['stale'] is None
        for pid, answer in answers.items():
            if pid != winner:
                assert answer['rc'] == 3 and answer['out']['taken'] is False, answer
                assert answer['out']['holder']['pid'] == winner, answer
        assert listing(lock.parent) == [lock.name]
        loser = next(owner for owner in group if owner.pid != winner)
        assert loser.run('take', str(lock), DESCRIPTION)['rc'] == 3
        holder = next(owner for owner in group if owner.pid == winner)
        assert holder.run('release', str(lock), DESCRIPTION)['out']['released'] is True
        assert listing(lock.parent) == []


def test_the_lock_of_a_dead_owner_is_taken_over(owners, lock):
    first = owners()
    assert first.run('take', str(lock), DESCRIPTION)['rc'] == 0
    first.stop()  # a killed ansible-playbook: its lock stays, stale
    second = owners()
    taken = second.run('take', str(lock), DESCRIPTION)
    assert taken['rc'] == 0 and taken['out']['stale']['pid'] == first.pid, taken
    assert json.loads(lock.read_text())['pid'] == second.pid
    assert second.run('release', str(lock), DESCRIPTION)['out']['released'] is True
    assert listing(lock.parent) == []


def test_release_by_another_owner_keeps_the_lock(owners, lock):
    holder, other = owners(), owners()
    assert holder.run('take', str(lock), DESCRIPTION)['rc'] == 0
    released = other.run('release', str(lock), DESCRIPTION)
    assert released['rc'] == 0 and released['out'] == {'released': False, 'path': str(lock)}, released
    assert listing(lock.parent) == [lock.name] and json.loads(lock.read_text())['pid'] == holder.pid


def test_release_removes_the_guard_an_older_version_left(owners, lock):
    """Versions up to 1.0.0 left '<lock>.guard' beside each lock for ever; release removes this lock's one, and
    only it (not another family's, nor one an older version's process holds at that moment)."""
    lock.parent.mkdir(mode=0o700)
    guard = lock.parent / (lock.name + '.guard')
    other_guard = lock.parent / 'another0family00.lock.guard'
    guard.write_text('')
    other_guard.write_text('')
    owner = owners()
    assert owner.run('take', str(lock), DESCRIPTION)['rc'] == 0
    assert owner.run('release', str(lock), DESCRIPTION)['out']['released'] is True
    assert listing(lock.parent) == [other_guard.name]

    guard.write_text('')
    with open(guard, encoding='utf-8') as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # an older version's run inside its guard
        assert owner.run('release', str(lock), DESCRIPTION)['rc'] == 0
        assert guard.exists()
    assert owner.run('release', str(lock), DESCRIPTION)['rc'] == 0
    assert listing(lock.parent) == [other_guard.name]


@pytest.mark.parametrize('args', [[], ['take'], ['take', 'x.lock'], ['steal', 'x.lock', DESCRIPTION],
                                  ['take', 'x.lock', DESCRIPTION, 'extra']])
def test_usage_errors_exit_2_with_json(tmp_path, args):
    proc = subprocess.run([sys.executable, str(LOCK_SCRIPT)] + args, cwd=str(tmp_path), capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2 and json.loads(proc.stdout) == {
        'error': 'usage: family_lock.py take|release LOCK_FILE DESCRIPTION'}, proc
    assert listing(tmp_path) == []
