# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_rotation_validate: the token_rotation role's checks of its variables and of the play
(module_utils/_rotation.py, play_problems and play_warnings), with what only the controller knows and no variable
carries: the play's strategy, debug mode and kept module files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.astra.devops.plugins.module_utils._rotation import play_problems, play_warnings

ARGUMENT_SPEC = dict(settings=dict(type="dict", required=True))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        settings = dict(self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]["settings"])
        play = self._task.get_play()
        settings.update(
            debug=C.DEFAULT_DEBUG,
            keep_remote_files=C.DEFAULT_KEEP_REMOTE_FILES,
            strategy=play.strategy if play is not None else None,
        )
        problems = play_problems(settings)
        if problems:
            return dict(result, failed=True, msg=" ".join(problems))
        warnings = play_warnings(settings)
        if warnings:
            result["warnings"] = warnings
        return dict(result, changed=False)
