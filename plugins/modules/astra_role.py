#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_role
short_description: Create, update and delete DataStax Astra custom roles
version_added: 1.1.0
description:
  - Manages one custom role of the organization of O(api_token), idempotently, identified by O(name) or O(role_id).
  - The policy is O(actions) (or O(actions_from)), O(resources) (or O(databases)) and O(description); the effect is
    always C(allow). Actions and resources compare as sets, so their order never makes a change.
  - Built-in roles (Organization Administrator, R/W Svc Acct, ...) are never changed or deleted; naming one fails
    before any write.
  - Editing a custom role changes every token that holds it at once. So deleting a role that tokens hold, or removing
    actions or resources from it, is refused with the client ids of those tokens, unless O(force=true); adding to it
    warns with the same list.
  - An unchanged run lists the roles once and writes nothing. A change also lists the tokens (to find who holds the
    role); O(databases) also reads the caller's organization, whose id the resources carry.
  - Before a role is created or gains resources, each resource it gains is checked, and nothing is written when one
    fails. A DRN naming another organization than the one of O(api_token) is refused (its organization is read once,
    C(GET /v2/currentOrg), when a DRN names one; C(__ORG_ID__) stands for it), and each database named, in
    O(databases) or in a DRN, is read (C(GET /v2/databases/<id>)); one that the organization does not have is
    refused.
author:
  - Astra DevOps maintainers (@astra-devops)
extends_documentation_fragment:
  - astra.devops.auth
  - astra.devops.auth.api_token
attributes:
  check_mode:
    support: full
    description: Check mode says what would be created, changed or deleted, and writes nothing.
  diff_mode:
    support: full
    description: The diff shows the role before and after (name, description, actions and resources, sorted).
options:
  name:
    description:
      - The role's name, the identity of the role when O(role_id) is not given (in any letter case). A name that
        differs from the role's only in letter case finds the role and gives it this spelling (a change).
      - With O(role_id), the name the role gets (a rename).
    type: str
  role_id:
    description: The role's id (a UUID). With O(state=present) the role must exist; with O(state=absent) a role that is gone
      already is nothing to do.
    type: str
  state:
    description: Whether the role exists.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: The role's description. Not given, an existing role keeps its description; a new one gets none.
    type: str
  actions:
    description:
      - The permissions the role grants, such as V(db-cql), V(db-table-select), V(org-db-view); needed to create a
        role, unless O(actions_from) is given. Not given, an existing role keeps its actions.
      - Every action must be one the API knows; the list is in the collection's documentation.
    type: list
    elements: str
  actions_from:
    description:
      - The name or id of a built-in role whose actions the role gets, such as V(Database Administrator). Combined
        with O(databases), one task makes "Database Administrator, for database X".
    type: str
  resources:
    description:
      - The resources (DRNs) the role applies to, such as V(drn:astra:org:<org id>),
        V(drn:astra:org:<org id>:db:<database id>), V(drn:astra:org:<org id>:db:<database id>:keyspace:*) and
        V(drn:astra:org:<org id>:db:<database id>:keyspace:*:table:*). Not given, an existing role keeps its
        resources; a new one gets none.
      - The organization must be the one of O(api_token) (or V(__ORG_ID__)), and each database named must exist in
        it.
    type: list
    elements: str
  databases:
    description:
      - The databases the role applies to, instead of O(resources). Each item is a database id, or a mapping with
        C(id), C(keyspaces) (names; all when not given) and C(tables) (names within those keyspaces; all when not
        given).
      - They become the DRNs the API checks at every level, with V(*) where a level is open, plus the organization's
        DRN (for organization-level actions such as V(org-db-view)).
      - Each database must exist in the organization of O(api_token); it is read (C(GET /v2/databases/<id>)) before
        the role is created or gains it.
    type: list
    elements: raw
  force:
    description:
      - Delete a role that tokens hold, or remove actions or resources from it, although it changes what those
        tokens may do at once.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: A role that may read and write the tables of one database
  astra.devops.astra_role:
    name: orders-app data
    description: Read and write the tables of the orders database
    actions: [db-cql, db-rest, db-table-select, db-table-modify, db-table-describe, org-db-view]
    databases:
      - 5b70892f-e01a-4595-98e6-19ecc9985d50

- name: Database Administrator, for one database only (as the portal's database-scoped tokens)
  astra.devops.astra_role:
    name: orders Database Administrator
    actions_from: Database Administrator
    databases:
      - 5b70892f-e01a-4595-98e6-19ecc9985d50

- name: Narrow a role to one keyspace, although tokens hold it
  astra.devops.astra_role:
    name: orders-app data
    databases:
      - id: 5b70892f-e01a-4595-98e6-19ecc9985d50
        keyspaces: [orders]
    force: true

- name: Delete a custom role that no token holds
  astra.devops.astra_role:
    name: orders-app data
    state: absent
'''

RETURN = r'''
role:
  description: The role after the run (before it, when it was deleted), or null when there is none.
  returned: always
  type: dict
  contains:
    id:
      description: The role's id (null for a role that check mode would create).
      type: str
    name:
      description: The role's name.
      type: str
    description:
      description: The role's description.
      type: str
    actions:
      description: The permissions the role grants, sorted.
      type: list
      elements: str
    resources:
      description: The resources (DRNs) the role applies to, sorted.
      type: list
      elements: str
    built_in:
      description: Always false for a role this module manages.
      type: bool
held_by:
  description: The client ids of the tokens that hold the role, when the run listed the tokens (a change or a
    deletion of an existing role).
  returned: when the role existed and the run changed it or would have
  type: list
  elements: str
  sample: [BOjPpMRcaWergiKIyHXEAymP]
api_retries:
  description: One line for each retried API call, without secrets; each retry is also shown as a warning.
  returned: when a call was retried
  type: list
  elements: str
'''

from ansible_collections.astra.devops.plugins.module_utils import _custom_roles as custom
from ansible_collections.astra.devops.plugins.module_utils import _role_plan as plan
from ansible_collections.astra.devops.plugins.module_utils._api_org import DatabaseApi, OrgApi
from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._module import AstraModule
from ansible_collections.astra.devops.plugins.module_utils._roles import check_role_id


class RoleTask(object):
    """One run of astra_role: check the options, read (the roles, then only what the change needs), plan, apply."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.roles = RoleApi(module.client)
        self.caller_org_id = None

    def checked(self):
        """The options checked before any API call: (actions, resources or None, databases or None)."""
        params = self.params
        if params["role_id"] is not None:
            check_role_id(params["role_id"], "role_id")
        elif not (params["name"] or "").strip():
            raise AstraInputError("name must be a role name (or give role_id), got '%s'." % shown(params["name"]))
        actions = custom.check_actions(params["actions"]) if params["actions"] is not None else None
        resources = custom.check_resources(params["resources"]) if params["resources"] is not None else None
        databases = custom.check_databases(params["databases"]) if params["databases"] is not None else None
        if params["actions_from"] is not None and not params["actions_from"].strip():
            raise AstraInputError("actions_from must name a built-in role (such as Database Administrator), got ''.")
        return actions, resources, databases

    def run(self):
        params = self.params
        actions, resources, databases = self.checked()
        roles = self.roles.list()
        current = plan.find(roles, params["role_id"], params["name"], params["state"])
        if params["state"] == "absent":
            held_by = self.holders(current) if current is not None else None
            return self.apply(plan.plan_absent(current, held_by, params["force"]))
        if params["actions_from"] is not None:
            actions = plan.actions_of_builtin(roles, params["actions_from"])
        if databases is not None:
            resources = custom.database_resources(self.org_id(), databases)
        wanted = plan.wanted_role(params, current, actions, resources)
        plan.name_taken(roles, current, wanted)
        gained = plan.gained_resources(current, wanted)
        held_by = None
        if gained is not None:  # something is to be written: check what it gains, and who holds the role
            self.check_reach(gained)
            held_by = self.holders(current) if current is not None else None
        return self.apply(plan.plan_present(current, wanted, held_by, params["force"]))

    def org_id(self):
        """The caller's organization id (GET /v2/currentOrg, once)."""
        if self.caller_org_id is None:
            org = OrgApi(self.module.client).current()[1]
            if not org.get("id"):
                raise AstraInputError("%s needs the organization's id, which GET /v2/currentOrg did not give."
                                      % ("databases" if self.params["databases"] is not None else "resources"))
            self.caller_org_id = str(org["id"])
        return self.caller_org_id

    def check_reach(self, added):
        """Before a role gains resources (a create, or an update that adds some): each must be in the caller's
        organization, and each database it names must exist there (GET /v2/databases/{id}, 404: no such database).
        Nothing is written before; the error names the option."""
        option = "databases" if self.params["databases"] is not None else "resources"
        if any(str(resource).split(":")[3] != "__ORG_ID__" for resource in added):
            others = custom.other_orgs(added, self.org_id())
            if others:
                raise AstraInputError(
                    "%s names the organization %s, but the api_token belongs to organization %s, and a custom role "
                    "reaches resources of its own organization only; use drn:astra:org:%s (or "
                    "drn:astra:org:__ORG_ID__)."
                    % (option, others[0], self.org_id(), self.org_id()))
        databases = DatabaseApi(self.module.client)
        for database_id in custom.database_ids(added):
            databases.read(database_id, option)

    def holders(self, role):
        return custom.holders_of(TokenApi(self.module.client).list(), role["id"])

    def apply(self, planned):
        """The one place that writes, and that looks at check mode."""
        if planned["warning"]:
            self.module.warn(planned["warning"])
        if not self.module.check_mode:
            if planned["write"] == "create":
                planned["after"] = dict(planned["after"], id=self.roles.create(planned["after"]))
            elif planned["write"] == "update":
                self.roles.update(planned["before"], planned["after"])
            elif planned["write"] == "delete":
                # It was listed a moment ago: gone now (a retried delete whose first answer was lost) is deleted.
                self.roles.delete(planned["before"], missing_ok=True)
        return plan.result(planned, self.module._diff)


def main():
    module = AstraModule(
        argument_spec=dict(
            name=dict(type="str"),
            role_id=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            description=dict(type="str"),
            actions=dict(type="list", elements="str"),
            actions_from=dict(type="str"),
            resources=dict(type="list", elements="str"),
            databases=dict(type="list", elements="raw"),
            force=dict(type="bool", default=False),
        ),
        required_one_of=[("name", "role_id")],
        mutually_exclusive=[("actions", "actions_from"), ("resources", "databases")],
    )
    task = RoleTask(module)
    module.run(task.run)


if __name__ == "__main__":
    main()
