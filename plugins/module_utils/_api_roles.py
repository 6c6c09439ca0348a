# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role endpoints (/v2/organizations/roles): list, create, update, delete. The only place that calls them; every
role it returns is normalised (_records.normalise_role: ids in lower case)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.astra.devops.plugins.module_utils._custom_roles import named, request_body
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraError
from ansible_collections.astra.devops.plugins.module_utils._records import normalise_role

ROLES_PATH = "/v2/organizations/roles"
READ = "org-role-read"
WRITE = "org-role-write"
DELETE = "org-role-delete"


class RoleApi:
    """The roles of the caller's organization (or enterprise)."""

    def __init__(self, client):
        self.client = client

    def list(self):
        """Every role, normalised; an envelope around the array is tolerated."""
        _status, data = self.client.call("GET", ROLES_PATH, "Listing roles", permission=READ)
        if isinstance(data, dict):
            data = next((value for value in data.values() if isinstance(value, list)), [])
        return [normalise_role(item) for item in (data or []) if isinstance(item, dict)]

    def create(self, role):
        """POST a role (name, description, actions, resources); its id. An answer without a body (or without an id)
        is followed by a new list, where the role is found by its name: so a create never yields a role without id."""
        _status, data = self.client.call("POST", ROLES_PATH, "Creating role '%s'" % role["name"],
                                         body=request_body(role), idempotent=False, permission=WRITE)
        role_id = normalise_role(data)["id"] if isinstance(data, dict) else None
        if not role_id:
            found = named(self.list(), role["name"])
            role_id = found["id"] if found else None
        if not role_id:
            raise AstraError("Created the role '%s', but the API did not say its id; run the task again (it finds the "
                             "role by its name)." % role["name"])
        return role_id

    def update(self, current, role):
        """PUT the whole role (a full replace) over the existing role current."""
        self.client.call("PUT", "%s/%s" % (ROLES_PATH, current["id"]), "Updating role '%s'" % current["name"],
                         body=request_body(role), permission=WRITE, resource="Role %s" % current["id"])

    def delete(self, role, missing_ok=False):
        """DELETE a role (a normalised record); with missing_ok, one already gone (404) counts as deleted."""
        try:
            self.client.call("DELETE", "%s/%s" % (ROLES_PATH, role["id"]), "Deleting role '%s'" % role["name"],
                             permission=DELETE, resource="Role %s" % role["id"])
        except AstraApiError as error:
            if not (missing_ok and error.status == 404):
                raise
