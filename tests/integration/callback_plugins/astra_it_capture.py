# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: records every task result to a JSON file for the integration tests.

It runs beside the normal stdout callback, so a test gets both the human output (scanned for
leaked secrets) and machine-readable results.  Results reach callbacks already censored by
ansible for ``no_log`` tasks, so this file never holds more than the screen shows.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: astra_it_capture
type: aggregate
short_description: Record task results to a JSON file (astra.devops integration tests only)
description:
  - Writes every task result of the run to the file named by the environment variable E(ASTRA_IT_CAPTURE).
requirements:
  - enabled in callbacks_enabled
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def _plain(value):
    """Turn ansible's tagged/custom types into plain JSON types."""
    return json.loads(json.dumps(value, default=str))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'astra_it_capture'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('ASTRA_IT_CAPTURE')
        self._results = []
        self._play = None

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def _record(self, result, status):
        task = result._task
        self._results.append({
            'play': self._play,
            'task': task.get_name(),
            'action': task.action,
            'host': result._host.get_name(),
            'status': status,
            'result': _plain(dict(result._result)),
        })

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result, 'changed' if result._result.get('changed') else 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        if not self._path:
            return
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        with open(self._path, 'w', encoding='utf-8') as handle:
            json.dump({'results': self._results, 'stats': summary}, handle, indent=1, default=str)
