#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_rotation_step
short_description: The create and retire steps of the astra.devops.token_rotation role (internal)
version_added: 1.1.0
description:
  - Internal to the C(astra.devops.token_rotation) role; not meant for playbooks, and its options may change.
  - Each action is one module run on the controller, and lists nothing that the role's discovery already listed.
  - O(action=create) creates the family's new token (POST), with O(roles), else the roles of O(replaces) as the API
    listed them, once one roles call shows that each still exists (a deleted one stops the step before the create,
    naming it and C(token_rotation_roles)), and with O(expiry), else the lifetime of O(replaces). Then it asks with
    the new token (C(GET /v2/currentOrg)) until the API accepts it, for up to O(wait) seconds.
  - O(action=retire) first looks again - it lists the family and checks O(holders) - and deletes nothing when a
    consumer or store still holds a token of O(client_ids), could not be read again, or when the family holds a token
    that is neither in O(client_ids) nor in O(expected) (another run or a person is changing it). Then it deletes each
    token of O(client_ids), asks with each deleted token in O(old_tokens) until the API
    refuses it, then lists the tokens once and checks that the family holds exactly O(expected).
  - Every failure is one line that says what the consumers hold and what to do.
extends_documentation_fragment:
  - astra.devops.auth
  - astra.devops.auth.api_token
attributes:
  check_mode:
    support: partial
    details: In check mode the module calls nothing and reports a change; the role never runs it in check mode.
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    support: none
    description: No diff; the role shows what it changes in C(token_rotation_result).
options:
  action:
    description: The step.
    type: str
    required: true
    choices: [create, retire]
  description:
    description: The family (the description its tokens share).
    type: str
    required: true
  replaces:
    description: With O(action=create), the token being replaced as the role's discovery listed it (C(client_id),
      C(roles), C(expiry), C(generated_on)); omitted for the first token of a family.
    type: dict
  roles:
    description: With O(action=create), role names or ids of the new token (the role's C(token_rotation_roles)).
    type: list
    elements: str
  expiry:
    description: With O(action=create), an ISO-8601 instant or a duration such as V(90d).
    type: str
  known_client_ids:
    description: The family's client ids before the create, so that a create whose answer was lost is cleaned up.
    type: list
    elements: str
    default: []
  wait:
    description: Seconds to wait for the new token to be accepted, or for each deleted token to be refused.
    type: int
    default: 60
  client_ids:
    description: With O(action=retire), the tokens to delete.
    type: list
    elements: str
    default: []
  old_tokens:
    description: With O(action=retire), the tokens the consumers held before; those deleted are checked to be refused.
    type: list
    elements: str
    default: []
  expected:
    description: With O(action=retire), the client ids the family must hold afterwards.
    type: list
    elements: str
    default: []
  new_client_id:
    description: With O(action=retire), the client id every consumer now holds, for the messages.
    type: str
  holders:
    description: With O(action=retire), the client id every consumer file and secret store holds at this moment
      (the filter astra.devops.rotation_holders), by host name or store label; V(null) for one that could not be read
      again. No token it names is deleted.
    type: dict
    default: {}
author:
  - Astra DevOps maintainers (@astra-devops)
'''

EXAMPLES = r'''
- name: Create the new token of the family and wait until it works
  astra.devops.astra_rotation_step:
    action: create
    description: inventory-service
    replaces: {client_id: BOjPpMRcaWergiKIyHXEAymP, roles: [b4ed0e9a-...], expiry: null, generated_on: ...}
    wait: 60
  register: created
  no_log: true
'''

RETURN = r'''
token:
  description: With O(action=create), the new token's metadata.
  returned: action is create
  type: dict
secret:
  description: With O(action=create), the new token (C(token), C(client_id), C(client_secret)). A secret.
  returned: action is create
  type: dict
expiry_source:
  description: With O(action=create), where the new expiry came from (as for astra.devops.astra_token).
  returned: action is create
  type: str
waited:
  description: With O(action=create), seconds until the new token was accepted.
  returned: action is create
  type: float
deleted_client_ids:
  description: With O(action=retire), the tokens this run deleted.
  returned: action is retire
  type: list
  elements: str
family_after:
  description: With O(action=retire), the client ids the family holds afterwards.
  returned: action is retire
  type: list
  elements: str
'''

from ansible_collections.astra.devops.plugins.module_utils import _rotation_steps
from ansible_collections.astra.devops.plugins.module_utils._module import AstraModule
from ansible_collections.astra.devops.plugins.module_utils._records import resolve_expiry
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi


def run(module):
    params = module.params
    if module.check_mode:  # the role never runs these steps in check mode
        return {"changed": True}
    api = TokenApi(module.client)
    if params["action"] == "create":
        expiry = resolve_expiry(params["expiry"], "token_rotation_expiry")[0] if params["expiry"] else None
        token, secret, source, waited = _rotation_steps.create(
            api, module.client_for, params["description"], params["replaces"], params["roles"], expiry,
            params["known_client_ids"], params["wait"])
        return {"changed": True, "token": token, "secret": secret, "expiry_source": source, "waited": waited}
    deleted, left = _rotation_steps.retire(
        api, module.client_for, params["description"], params["client_ids"], params["old_tokens"],
        params["expected"], params["new_client_id"], params["wait"], params["holders"])
    return {"changed": bool(deleted), "deleted_client_ids": deleted, "family_after": left}


def main():
    module = AstraModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["create", "retire"]),
            description=dict(type="str", required=True),
            replaces=dict(type="dict"),
            roles=dict(type="list", elements="str"),
            expiry=dict(type="str"),
            known_client_ids=dict(type="list", elements="str", default=[]),
            wait=dict(type="int", default=60),
            client_ids=dict(type="list", elements="str", default=[]),
            old_tokens=dict(type="list", elements="str", default=[], no_log=True),
            expected=dict(type="list", elements="str", default=[]),
            new_client_id=dict(type="str"),
            holders=dict(type="dict", default={}),
        ),
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
