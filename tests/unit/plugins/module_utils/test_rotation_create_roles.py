# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation's create step when the roles of the family's current token are carried over: a role deleted since
(astra_role with force, the portal) is named, with token_rotation_roles as the fix, when the API refuses the create;
the roles are read only then, so a rotation that works pays no roles call. On the emulator's own model
(tests/unit/plugins/emulated_api.py), which refuses a create with a role it does not know."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _rotation_steps
from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError
from ansible_collections.astra.devops.tests.unit.plugins.emulated_api import EmulatedClient

KEPT = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"  # R/W Svc Acct


def family(carried_gone):
    """A World whose family 'app' holds one token; with carried_gone, a custom role it held was deleted since."""
    server = EmulatedClient()
    roles = [KEPT]
    gone = None
    if carried_gone:
        gone = RoleApi(server).create({"name": "gone", "description": "", "actions": ["db-cql"], "resources": []})
        roles.append(gone)
    old = server.new_token("app", roles=roles)["clientId"]
    if gone:
        RoleApi(server).delete({"id": gone, "name": "gone"})
    server.calls[:] = []
    return server, old, [role.upper() if role == gone else role for role in roles], gone


def create(server, old, carried):
    replaces = {"client_id": old, "roles": carried, "expiry": None, "generated_on": "2026-11-01T00:00:00Z"}
    return _rotation_steps.create(TokenApi(server), server.client_for, "app", replaces, None, None, [old], 0)


def test_a_deleted_role_of_the_current_token_is_named_when_the_create_is_refused():
    server, old, carried, gone = family(carried_gone=True)
    with pytest.raises(AstraInputError) as caught:
        create(server, old, carried)
    message = str(caught.value)
    assert gone in message and old in message and "no longer exists" in message, message
    assert "token_rotation_roles" in message and "Nothing was created" in message, message
    assert "does not exist" not in message and "\n" not in message  # the API's own words are replaced
    assert server.calls == [("POST", "/v2/tokens"), ("GET", "/v2/organizations/roles")]


def test_roles_that_still_exist_are_carried_over_without_a_roles_call():
    server, old, carried, _gone = family(carried_gone=False)
    token = create(server, old, carried)[0]
    assert token["client_id"] != old and token["roles"] == [KEPT]
    assert server.calls == [("POST", "/v2/tokens"), ("GET", "/v2/currentOrg")]
