# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of every module that is given a secret (the API token, a new token, store credentials): it runs
the module as ansible.builtin.normal does, but refuses to while ansible-core keeps module files
(ANSIBLE_KEEP_REMOTE_FILES, or keep_remote_files in ansible.cfg: the module file it transfers holds the arguments,
whatever no_log says, and stays on disk) or runs in debug mode (ANSIBLE_DEBUG: it prints the arguments and results).
Only the controller can refuse before either happens."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.astra.devops.plugins.module_utils._errors import DEBUG_REFUSED, KEPT_FILES_REFUSED


class SecretArgsGuard(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(SecretArgsGuard, self).run(tmp, task_vars)
        del tmp
        if C.DEFAULT_KEEP_REMOTE_FILES or C.DEFAULT_DEBUG:
            return dict(result, failed=True, msg=KEPT_FILES_REFUSED if C.DEFAULT_KEEP_REMOTE_FILES else DEBUG_REFUSED)
        wrap_async = self._task.async_val
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
