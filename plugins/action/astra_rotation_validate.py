# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_rotation_validate: the token_rotation role's checks of its variables and of the play
(module_utils/_rotation_checks.py, play_problems and play_warnings), with what only the controller knows and no
variable carries: the play's strategy, debug mode, kept module files, and the hosts the play selects without
--limit. It returns the run's limit as the role's later steps must see it (effective_limit)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.plugins.action import ActionBase

from ansible_collections.astra.devops.plugins.module_utils._rotation_checks import (
    GROUP_DEFAULTS, effective_limit, group_defaults_problems, play_problems, play_warnings)

ARGUMENT_SPEC = dict(settings=dict(type="dict", required=True))
# What ansible-core 2.19+ raises when a value resolves to omit.
OMITTED_ERROR = "AnsibleValueOmittedError"
# Variables without a default that the role's conditions read as a whole: omit cannot stand for unset there.
NOT_OMITTABLE = {"token_rotation_stores": [], "token_rotation_distribute_tasks": None}
OMITTED = "%s is set to omit (default(omit)), which would replace its default with nothing: leave it unset, or write " \
    "default(%s) instead."


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
            unlimited_play_hosts=self._unlimited_play_hosts(play, task_vars or {}),
        )
        omitted = self._omitted(task_vars or {})
        # Checked as if unset, so that each is said once.
        settings.update((name[len("token_rotation_"):], default) for name, default in omitted.items()
                        if not _templated(default))
        problems = [OMITTED % (name, self._shown_default(default)) for name, default in sorted(omitted.items())]
        problems += group_defaults_problems(settings, self._group_defaults())
        problems += play_problems(settings)
        if problems:
            return dict(result, failed=True, msg=" ".join(problems))
        warnings = play_warnings(settings)
        if warnings:
            result["warnings"] = warnings
        return dict(result, changed=False, limit=effective_limit(settings))

    def _unlimited_play_hosts(self, play, task_vars):
        """The hosts the play's pattern selects in the whole inventory, as if there were no --limit (the way the
        inventory_hostnames lookup reads the groups variable, which --limit does not narrow); None when unknown."""
        groups = task_vars.get("groups")
        if play is None or not play.hosts or not isinstance(groups, dict):
            return None
        manager = InventoryManager(self._loader, parse=False)
        for group, hosts in groups.items():
            manager.add_group(group)
            for host in hosts:
                manager.add_host(host, group=group)
        try:
            return [host.name for host in manager.get_hosts(pattern=play.hosts)]
        except AnsibleError:
            return None

    def _group_defaults(self):
        """api_url and api_token as the play's module_defaults for the collection's action group give them, templated
        (the last one given wins, as for a module); a value that does not template is left to the modules."""
        found = {}
        for defaults in self._task.module_defaults or []:
            for name, value in ((defaults or {}).get(GROUP_DEFAULTS) or {}).items():
                if name in ("api_url", "api_token"):
                    try:
                        found[name] = self._templar.template(value)
                    except Exception:  # pylint: disable=broad-except
                        found.pop(name, None)
        return found

    def _omitted(self, task_vars):
        """{variable: its default} of the role variables set to omit (`default(omit)`) that cannot stand for unset:
        one with a default would replace the default with nothing, which the steps cannot use (a variable cannot fall
        back to its role default once a play sets it); so would stores and distribute_tasks, which the steps'
        conditions read whole. Any other variable set to omit is simply not in the settings: unset."""
        role = getattr(self._task, "_role", None)
        defaults = dict(NOT_OMITTABLE, **(role.get_default_vars() if role is not None else {}))
        omitted = {}
        for name in defaults:
            if not name.startswith("token_rotation_") or name not in task_vars:
                continue
            try:
                self._templar.template(task_vars[name])
            except Exception as error:  # pylint: disable=broad-except
                if type(error).__name__ == OMITTED_ERROR:  # any other error is said by the checks of the settings
                    omitted[name] = defaults[name]
        return omitted

    @staticmethod
    def _shown_default(value):
        if _templated(value):
            return "its default"
        if value is None or isinstance(value, bool):
            return str(value).lower()
        return repr(value) if isinstance(value, str) else str(value)


def _templated(value):
    return isinstance(value, str) and "{{" in value
