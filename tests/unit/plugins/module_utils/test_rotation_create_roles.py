# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation's create step when the roles of the family's current token are carried over: a role deleted since
(astra_role with force, the portal) is named, with token_rotation_roles as the fix, when the API refuses the create;
the roles are read only then, so a rotation that works pays no roles call."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _rotation_steps
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._tokens import TokenApi

KEPT = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"
GONE = "3c1c4c5e-5f5e-4d2b-9c1e-7e4b1b9d9f10"
OLD = "OldOldOldOldOldOldOldOld"
NEW = "NewNewNewNewNewNewNewNew"
NEW_TOKEN = "AstraCS:%s:%s" % (NEW, "b" * 64)


class Server:
    """Records every call; the roles list holds KEPT only."""

    def __init__(self):
        self.calls = []
        self.timeout, self.retries = 3, 0

    def call(self, method, path, action, body=None, **kwargs):
        self.calls.append((method, path))
        if method == "GET" and path == "/v2/organizations/roles":
            return 200, [{"id": KEPT, "name": "R/W Svc Acct", "policy": {"actions": ["db-cql"], "resources": []}}]
        if method == "POST":
            if GONE in [role.lower() for role in body["roles"]]:  # as the API refuses a role id it does not know
                raise AstraApiError("Creating token failed: HTTP 400: check the option values.", status=400)
            return 200, {"clientId": NEW, "secret": "s" * 100, "token": NEW_TOKEN, "roles": body["roles"],
                         "generatedOn": "2026-11-29T00:00:00Z", "orgId": "org"}
        return 200, {"id": "org"}

    def client_for(self, _token):
        return self

    def pause(self, seconds):
        pass

    def remember_secret(self, value):
        pass


def create(server, carried):
    replaces = {"client_id": OLD, "roles": carried, "expiry": None, "generated_on": "2026-11-01T00:00:00Z"}
    return _rotation_steps.create(TokenApi(server), server.client_for, "app", replaces, None, None, [OLD], 0)


def test_a_deleted_role_of_the_current_token_is_named_when_the_create_is_refused():
    server = Server()
    with pytest.raises(AstraInputError) as caught:
        create(server, [KEPT, GONE.upper()])
    message = str(caught.value)
    assert GONE in message and OLD in message and "no longer exists" in message, message
    assert "token_rotation_roles" in message and "Nothing was created" in message, message
    assert "check the option values" not in message and "\n" not in message
    assert server.calls == [("POST", "/v2/tokens"), ("GET", "/v2/organizations/roles")]


def test_roles_that_still_exist_are_carried_over_without_a_roles_call():
    server = Server()
    token = create(server, [KEPT])[0]
    assert token["client_id"] == NEW and token["roles"] == [KEPT]
    assert server.calls == [("POST", "/v2/tokens"), ("GET", "/v2/currentOrg")]
