# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of astra_rotation_consumer: checks the options, runs the module of the same name on the
consumer for the file work, and decides from what it found (module_utils/_consumer.py), so that the module itself can
stay a standard-library script that costs the consumer little."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

from ansible_collections.astra.devops.plugins.module_utils._consumer import CONSUMER_FORMATS, consumer_problems
from ansible_collections.astra.devops.plugins.module_utils._errors import KEPT_FILES_REFUSED, shown
from ansible_collections.astra.devops.plugins.modules.astra_rotation_consumer import ARGUMENT_SPEC

NEW_TOKEN_KEYS = ("token", "client_id", "client_secret")

# What a template consumer is checked with before any token exists: a token of the right shape that works nowhere.
PLACEHOLDER_TOKEN = {
    "token": "AstraCS:PLACEHOLDERclientId:" + "0" * 64,
    "client_id": "PLACEHOLDERclientId",
    "client_secret": "PLACEHOLDER-client-secret",
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        if args["action"] == "write":
            if self._task.check_mode:  # the role never writes in check mode
                return dict(result, changed=True)
            if C.DEFAULT_KEEP_REMOTE_FILES:  # the module file would keep the new token on the consumer
                return dict(result, failed=True, msg=KEPT_FILES_REFUSED)
            if not set(NEW_TOKEN_KEYS) <= set(args["new_token"] or {}):
                return dict(result, failed=True, msg="new_token is required with action=write, with the keys %s."
                            % ", ".join(NEW_TOKEN_KEYS))
            if args["format"] not in CONSUMER_FORMATS:
                return dict(result, failed=True, msg="format must be one of %s with action=write, got '%s'."
                            % (", ".join(CONSUMER_FORMATS), shown(args["format"])))
            if args["format"] == "template":
                try:
                    args["content"] = self._render(args["template"], task_vars, args["new_token"])
                except AnsibleError as error:
                    return dict(result, failed=True, msg="Rendering token_rotation_consumer_template %s failed: %s"
                                % (args["template"], error))
                keep = ("action", "path", "content", "owner", "group", "mode")
            else:
                # The module builds the content from the file as it is on the consumer, keeping its other values.
                keep = ("action", "path", "format", "env_var", "new_token", "owner", "group", "mode")
        else:
            keep = ("action", "path", "format", "env_var", "owner", "group")
        found = self._execute_module(module_args=dict((name, args[name]) for name in keep), task_vars=task_vars)
        if found.get("failed") or args["action"] == "write":
            if found.get("failed") and args["action"] == "observe":
                found["msg"] = "Consumer %s: %s. Nothing was changed." % (args["host"], found.get("msg"))
            result.update(found)
            return result
        consumer = dict((name, args[name]) for name in (
            "host", "path", "format", "env_var", "template", "mode", "owner", "group"))
        if args["format"] == "template" and args["template"]:
            consumer["template_error"] = self._template_error(args["template"], task_vars)
        consumer.update((name, found.get(name)) for name in (
            "path_stat", "dir_stat", "owner_found", "group_found", "content_problem", "owner_problem"))
        problems = consumer_problems(consumer)
        if problems:
            return dict(result, failed=True, msg=" ".join(problems))
        held = found.get("held", "missing")
        token = found.get("held_token")
        # also_held: client ids (never a token) of the tokens the file holds besides its format's place; the plan
        # refuses a run when one is of the family being rotated.
        result.update(changed=False, held=held, also_held=found.get("also_held") or [],
                      ansible_facts={"token_rotation_held_client_id": held if token else None})
        if token:
            result["held_token"] = token
        return result

    def _template_error(self, template, task_vars):
        """What rendering the consumer's template with the placeholder token says, as the write step renders it;
        None when it renders."""
        try:
            self._render(template, task_vars, PLACEHOLDER_TOKEN)
        except AnsibleError as error:
            return str(error)
        return None

    def _render(self, template, task_vars, new_token):
        """The consumer's template rendered as the template lookup renders it, with the host's variables and
        token_rotation_new_token."""
        variables = dict(task_vars, token_rotation_new_token=new_token, token_rotation__template=template)
        templar = self._templar.copy_with_new_env(available_variables=variables)
        return templar.template(trust_as_template("{{ lookup('ansible.builtin.template', token_rotation__template) }}"))
