# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role's decisions as filters, thin over module_utils/_rotation_plan.py, _rotation_result.py and
_rotation_checks.py (each filter is documented in the .yml file of its name beside this one). An input error becomes
an AnsibleFilterError naming the problem."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.astra.devops.plugins.module_utils import _rotation_checks, _rotation_plan, _rotation_result
from ansible_collections.astra.devops.plugins.module_utils._consumer import file_content
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError


def _mapping(value, name):
    """The filter's dictionary, a role variable set to omit (`default(omit)`) read as unset (None)."""
    if not isinstance(value, dict):
        raise AnsibleFilterError("%s expects a dictionary, got %s" % (name, type(value).__name__))
    return dict((key, None if type(item).__name__ == "_OmitType" else item) for key, item in value.items())


def rotation_lock_path(lock_dir, api_url, org_id, description):
    try:
        return _rotation_plan.lock_path(lock_dir, api_url, org_id, description)
    except AstraError as error:
        raise AnsibleFilterError(str(error))


def rotation_family(tokens, description):
    if not isinstance(tokens, list):
        raise AnsibleFilterError("rotation_family expects a list of tokens, got %s" % type(tokens).__name__)
    return _rotation_plan.split_family(tokens, description)


def rotation_holders(consumers, stores, new_client_id):
    return _rotation_plan.holders_now(consumers, stores, new_client_id)


def rotation_consumer_failure(failure):
    return _rotation_checks.consumer_failure(_mapping(failure, "rotation_consumer_failure"))


def rotation_plan(situation):
    try:
        return _rotation_plan.plan(_mapping(situation, "rotation_plan"))
    except AstraError as error:
        raise AnsibleFilterError(str(error))


def rotation_result(outcome):
    return _rotation_result.result(_mapping(outcome, "rotation_result"))


def rotation_file_content(new_token, fmt, env_var=None):
    return file_content(_mapping(new_token, "rotation_file_content"), fmt, env_var)


def rotation_missing_actions(tokens, roles, client_id):
    return _rotation_checks.missing_actions(client_id, tokens, roles)


class FilterModule(object):
    """The rotation role's filters."""

    def filters(self):
        return {
            "rotation_family": rotation_family,
            "rotation_lock_path": rotation_lock_path,
            "rotation_consumer_failure": rotation_consumer_failure,
            "rotation_missing_actions": rotation_missing_actions,
            "rotation_plan": rotation_plan,
            "rotation_holders": rotation_holders,
            "rotation_file_content": rotation_file_content,
            "rotation_result": rotation_result,
        }
