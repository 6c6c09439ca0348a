# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The caller's organization (GET /v2/currentOrg) and its databases (GET /v2/databases/{id}). The only place that
calls them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError

CURRENT_ORG = "/v2/currentOrg"
DATABASE_PATH = "/v2/databases/%s"


class OrgApi:
    """The organization (or enterprise, for an enterprise token) of the token the client calls with. Any valid token
    may read it (no permission), which is why _probe checks a token with it."""

    def __init__(self, client):
        self.client = client

    def current(self, action="Reading the caller's organization"):
        """(HTTP status, the organization as the API gives it: id, name, type; {} for an answer of another shape)."""
        status, data = self.client.call("GET", CURRENT_ORG, action)
        return status, data if isinstance(data, dict) else {}


class DatabaseApi:
    """The databases of the caller's organization."""

    def __init__(self, client):
        self.client = client

    def read(self, database_id, option="databases"):
        """GET /v2/databases/{id} (the DevOps API's "get a database"): its record, or an AstraInputError naming the
        option when the caller's organization has no such database (404)."""
        path = DATABASE_PATH % database_id
        status, data = self.client.call("GET", path, "Reading database %s" % database_id, permission="org-db-view",
                                        resource="Database %s" % database_id, ok_statuses=(200, 404))
        if status == 404:
            raise AstraInputError("%s names the database %s, which the api_token's organization does not have (GET "
                                  "%s answered 404); give the id of one of its databases." % (option, database_id, path))
        return data if isinstance(data, dict) else {}

    def name(self, database_id, option="databases"):
        """The database's name (info.name), None when the answer has none."""
        info = self.read(database_id, option).get("info")
        return info.get("name") if isinstance(info, dict) else None
