# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role's lock of one token family on the controller, so two rotations of the family never run
at once (two cron runs, two AWX jobs on one node, a person and a schedule).

Run by the role with the controller's Python:  family_lock.py take|release LOCK_FILE DESCRIPTION
It prints one JSON object. The owner of a lock is the ansible-playbook process the role runs in (the topmost
ancestor of this script whose command line names an ansible program), recorded with its start time so a reused
pid is not taken for it. A lock whose owner is gone (a crashed or killed run) is stale and is taken over, so a
re-run after a crash goes on at once. Exit codes: 0 taken or released, 3 held by a running owner, 2 usage error.

Taking and releasing are serialised by an exclusive flock on the lock folder itself: the folder holds the lock file
while a run holds the lock, and nothing of this lock once it is released."""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import re
import socket
import subprocess
import sys

ANSIBLE_PROGRAM = re.compile(r'(^|[/\s])ansible-(playbook|pull|console|runner|navigator)(\s|$)')


def process(pid):
    """(parent pid, start time, command line) of a process, or None when it does not exist."""
    try:
        with open('/proc/%d/stat' % pid, encoding='utf-8', errors='replace') as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            command = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
        return int(fields[1]), fields[19], command
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:  # no /proc (macOS, BSD)
        out = subprocess.run(['ps', '-o', 'ppid=,lstart=,command=', '-p', str(pid)], capture_output=True, text=True,
                             check=False).stdout.strip()
    except OSError:
        return None
    match = re.match(r'(\d+)\s+(\S+\s+\S+\s+\d+\s+\S+\s+\d+)\s+(.*)', out)
    return (int(match.group(1)), match.group(2), match.group(3)) if match else None


def owner():
    """The ansible-playbook process this script runs under: {pid, start}."""
    found, pid = None, os.getppid()
    while pid > 1:
        info = process(pid)
        if info is None:
            break
        if ANSIBLE_PROGRAM.search(info[2]):
            found = {'pid': pid, 'start': info[1]}
        pid = info[0]
    return found or {'pid': os.getppid(), 'start': (process(os.getppid()) or (0, '', ''))[1]}


def alive(holder):
    info = process(int(holder.get('pid', 0) or 0))
    return info is not None and info[1] == holder.get('start')


def read(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def folder_locked(folder):
    """Serialise take and release between processes on this controller: an exclusive flock on the lock folder
    itself, so no file is left behind for it. Released when the descriptor closes, also when the process dies."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def remove_old_guard(path):
    """Versions up to 1.0.0 serialised with a '<lock>.guard' file that they never removed: remove this lock's one,
    unless a process of such a version is inside it right now."""
    try:
        descriptor = os.open(path + '.guard', os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path + '.guard')
    except OSError:
        pass
    finally:
        os.close(descriptor)


def main(argv):
    if len(argv) != 4 or argv[1] not in ('take', 'release'):
        print(json.dumps({'error': 'usage: family_lock.py take|release LOCK_FILE DESCRIPTION'}))
        return 2
    action, path, description = argv[1], os.path.expanduser(argv[2]), argv[3]
    folder = os.path.dirname(path) or '.'
    os.makedirs(folder, mode=0o700, exist_ok=True)
    me = owner()
    with folder_locked(folder):
        holder = read(path)
        mine = holder is not None and holder.get('pid') == me['pid'] and holder.get('start') == me['start']
        if action == 'release':
            if mine:
                os.unlink(path)
            remove_old_guard(path)
            print(json.dumps({'released': mine, 'path': path}))
            return 0
        if holder is not None and not mine and alive(holder):
            print(json.dumps({'taken': False, 'path': path, 'holder': holder}))
            return 3
        record = dict(me, host=socket.gethostname(), description=description,
                      since=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))
        temporary = '%s.%d.tmp' % (path, os.getpid())
        try:
            with open(temporary, 'w', encoding='utf-8') as handle:
                json.dump(record, handle)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        print(json.dumps({'taken': True, 'path': path, 'stale': None if mine else holder}))
        return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
