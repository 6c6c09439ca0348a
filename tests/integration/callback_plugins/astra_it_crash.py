# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: counts the task starts of a run and kills the controller with SIGKILL at the Nth one.

The crash matrix (test_crash_matrix.py) enables it for its runs only. It appends one line per task start
(``<number><TAB><task name>``) to the file named by ``ASTRA_IT_CRASH_TRACE``, so that a run without a kill gives the
task boundaries of a rotation, and a killed run shows where it stopped. With ``ASTRA_IT_CRASH_AT=N`` it kills the
controller at the start of the Nth task, after task N-1 ended everywhere and before task N was sent to any host, as
an operator's ``kill -9`` or the OOM killer would (N = the task starts + 1: at the end of the play, before
ansible-core's own clean-up): every process below ansible-playbook (workers may run in process
groups of their own) is stopped, then each of them and ansible-playbook's own process group get SIGKILL. Nothing of
ansible-core's clean-up runs: no temporary folder is removed, no lock is released.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: astra_it_crash
type: aggregate
short_description: Kill the controller at the Nth task start (astra.devops integration tests only)
description:
  - Appends each task start to the file named by E(ASTRA_IT_CRASH_TRACE), and kills ansible-playbook and every
    process below it with SIGKILL at the task start number E(ASTRA_IT_CRASH_AT) (1 is the first task).
requirements:
  - enabled in callbacks_enabled
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _processes import descendants as _descendants, signal_quietly as _signal  # noqa: E402 pylint: disable=wrong-import-position,import-error

from ansible.plugins.callback import CallbackBase


def kill_controller():
    """SIGKILL this ansible-playbook and every process below it; does not return."""
    me = os.getpid()
    stopped = set()
    for _round in range(20):  # stop first, so that no process starts another one meanwhile
        found = set(_descendants(me)) - stopped
        if not found:
            break
        for pid in found:
            _signal(pid, signal.SIGSTOP)
        stopped |= found
    for pid in stopped:
        _signal(pid, signal.SIGKILL)
    if os.getpgrp() == me:  # a group of its own (the tests start it in a new session): the whole group
        os.killpg(me, signal.SIGKILL)
    os.kill(me, signal.SIGKILL)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'astra_it_crash'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._trace = os.environ.get('ASTRA_IT_CRASH_TRACE')
        at = os.environ.get('ASTRA_IT_CRASH_AT', '')
        self._kill_at = int(at) if at.strip() else None
        self._count = 0

    def _started(self, task):
        self._count += 1
        if self._trace:
            line = '%d\t%s\n' % (self._count, task.get_name().replace('\n', ' '))
            fd = os.open(self._trace, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode('utf-8'))
            finally:
                os.close(fd)
        if self._count == self._kill_at:
            kill_controller()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._started(task)

    def v2_playbook_on_stats(self, stats):
        """The boundary after the last task: ASTRA_IT_CRASH_AT one more than the task starts."""
        if self._kill_at == self._count + 1:
            kill_controller()
