#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_role_info
short_description: List DataStax Astra roles, built-in and custom
version_added: 1.0.0
description:
  - Lists the roles of the organization (or enterprise) of O(api_token) with their permissions, in one API call.
  - Reads the role records in every shape the API has been seen or documented to use, keys in any letter case
    (C(id)/C(name)/C(policy) of the OpenAPI file, C(ID)/C(Name)/C(Policy)/C(OrgID) of the Java SDK), with the
    policy as an object or as a JSON-encoded string (C(ID)/C(Name)/C(Type)/C(policy) of DataStax's "Managing roles"
    reference). A C(Type) of C(default) or C(built-in) is a built-in role, C(custom) a custom one; without a
    C(Type), a role with a built-in role's name and scoped with the C(__ORG_ID__) placeholder is built in; a custom role
    written with the placeholder stays custom.
  - Use it to find role ids, to audit what a role allows, or to check a role exists before creating tokens.
author:
  - Astra DevOps maintainers (@astra-devops)
extends_documentation_fragment:
  - astra.devops.auth
  - astra.devops.auth.api_token
attributes:
  check_mode:
    support: full
    description: The module only reads, and runs in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  name:
    description:
      - Only the role with this name, in any letter case. A built-in role also answers to the portal's spelling
        (V(Read/Write Service Account) for V(R/W Svc Acct)); a custom role only to its own name.
    type: str
  id:
    description:
      - Only the role with this id, a UUID in any letter case. Anything else fails before the API is called; use
        O(name) to look a role up by its name.
    type: str
  custom:
    description:
      - V(true) keeps only custom roles; V(false) only built-in roles.
    type: bool
  databases:
    description:
      - Only the roles that reach one of these databases (database ids), through a resource of that database or of
        every database (V(db:*), as the built-in roles have). Combine with O(custom=true) for the roles scoped to
        them.
    type: list
    elements: str
  held_by:
    description:
      - Also return, for each role, the client ids of the tokens that hold it (one more call, listing the tokens),
        to see who a change to a role would affect.
    type: bool
    default: false
seealso:
  - module: astra.devops.astra_token
  - module: astra.devops.astra_token_info
'''

EXAMPLES = r'''
- name: List every role of the organization
  astra.devops.astra_role_info:
  register: all_roles

- name: Look up one role by its portal name
  astra.devops.astra_role_info:
    name: Read/Write Service Account
  register: rw_role

- name: Show the id of that role
  ansible.builtin.debug:
    msg: "{{ rw_role.roles[0].id }}"

- name: List only custom roles, such as the database-scoped ones the portal makes
  astra.devops.astra_role_info:
    custom: true
  register: custom_roles

- name: Who holds the custom roles that reach the orders database
  astra.devops.astra_role_info:
    custom: true
    databases: [5b70892f-e01a-4595-98e6-19ecc9985d50]
    held_by: true
  register: orders_roles
'''

RETURN = r'''
roles:
  description: The roles that pass every filter, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The role id, in lower case.
      type: str
      sample: b4ed0e9e-67e8-47b6-8b58-c6629be961a9
    name:
      description: The role name as the API spells it.
      type: str
      sample: R/W Svc Acct
    description:
      description: The policy description.
      type: str
      sample: R/W Svc Acct
    effect:
      description: The policy effect, normally C(allow).
      type: str
      sample: allow
    actions:
      description: The permissions the role grants.
      type: list
      elements: str
      sample: [db-cql, db-table-select, db-table-modify]
    resources:
      description: The resources (DRNs) the role applies to; built-in roles carry the placeholder C(__ORG_ID__).
      type: list
      elements: str
      sample: ["drn:astra:org:__ORG_ID__:db:*"]
    built_in:
      description: Whether the role is built in (cannot be edited or deleted) rather than custom.
      type: bool
      sample: true
    held_by:
      description: With O(held_by=true), the client ids of the tokens that hold the role.
      returned: when held_by is true
      type: list
      elements: str
      sample: [BOjPpMRcaWergiKIyHXEAymP]
api_retries:
  description: One line for each retried API call, without secrets; each retry is also shown as a warning.
  returned: when a call was retried
  type: list
  elements: str
  sample: ["retry 1 of 5 in 1.0s after Listing roles: HTTP 503"]
'''

from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._custom_roles import check_databases, holders_of, reach
from ansible_collections.astra.devops.plugins.module_utils._module import AstraModule
from ansible_collections.astra.devops.plugins.module_utils._records import role_id_key
from ansible_collections.astra.devops.plugins.module_utils._roles import check_role_id, names_role


def list_roles(module):
    params = module.params
    check_role_id(params["id"])
    wanted = None if params["databases"] is None else set(entry["id"] for entry in check_databases(params["databases"]))
    roles = RoleApi(module.client).list()
    if params["name"] is not None:
        roles = [r for r in roles if names_role(r, params["name"])]
    if params["id"] is not None:
        roles = [r for r in roles if r["id"] == role_id_key(params["id"])]
    if params["custom"] is not None:
        roles = [r for r in roles if r["built_in"] != params["custom"]]
    if wanted is not None:
        roles = [r for r in roles if reach(r["resources"])[0] == "all" or wanted & set(reach(r["resources"])[1])]
    if params["held_by"]:
        tokens = TokenApi(module.client).list()
        for role in roles:
            role["held_by"] = holders_of(tokens, role["id"])
    roles.sort(key=lambda r: (r["name"].lower(), str(r["id"])))
    return {"changed": False, "roles": roles}


def main():
    module = AstraModule(argument_spec=dict(
        name=dict(type="str"),
        id=dict(type="str"),
        custom=dict(type="bool"),
        databases=dict(type="list", elements="str"),
        held_by=dict(type="bool", default=False),
    ))
    module.run(lambda: list_roles(module))


if __name__ == "__main__":
    main()
