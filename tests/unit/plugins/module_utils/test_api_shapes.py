# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 10: every role record and error body shape of the evidence, from the JSON fixtures in tests/unit/fixtures/
(each names its source in "_source")."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import (
    TOKEN_HINT,
    about_the_token,
    api_error_ids,
    error_from_response,
)
from ansible_collections.astra.devops.plugins.module_utils._records import normalise_role, normalise_token
from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._roles import names_by_id, resolve_roles

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "fixtures")
ROLE_FIXTURES = sorted(os.listdir(os.path.join(FIXTURES, "roles")))
ERROR_FIXTURES = sorted(os.listdir(os.path.join(FIXTURES, "errors")))
BUILT_IN_ID = "3fb93abd-1c6e-4a55-a2b1-9d8c7e6f5a41"
CUSTOM_ID = "11111111-2222-4333-8444-555555555555"
EXPECTED_ROLES = [
    {"id": BUILT_IN_ID, "name": "API Admin Svc Acct", "description": "API Admin Svc Acct", "effect": "allow",
     "actions": ["org-db-view", "db-cql", "db-table-select"],
     "resources": ["drn:astra:org:__ORG_ID__", "drn:astra:org:__ORG_ID__:db:*", "drn:astra:org:__ORG_ID__:db:*:keyspace:*",
                   "drn:astra:org:__ORG_ID__:db:*:keyspace:*:table:*", "drn:astra:org:__ORG_ID__:stream:*"],
     "built_in": True},
    {"id": CUSTOM_ID, "name": "orders reader", "description": "orders read", "effect": "allow",
     "actions": ["db-cql", "db-table-select"],
     "resources": ["drn:astra:org:9f876543-21ab-4cde-8f90-123456789abc:db:5b1a2c3d-0000-4000-8000-000000000001"],
     "built_in": False},
]


def load(kind, name):
    with open(os.path.join(FIXTURES, kind, name)) as handle:
        return json.load(handle)


class ListingClient:
    """A client whose one answer is a fixture's response."""

    def __init__(self, data):
        self.data = data
        self.calls = []

    def call(self, method, path, action, **kwargs):
        self.calls.append((method, path))
        return 200, self.data


def test_every_role_fixture_names_its_source():
    assert len(ROLE_FIXTURES) >= 4 and len(ERROR_FIXTURES) >= 10
    for kind, names in (("roles", ROLE_FIXTURES), ("errors", ERROR_FIXTURES)):
        for name in names:
            assert load(kind, name)["_source"], name


@pytest.mark.parametrize("name", ROLE_FIXTURES)
def test_every_role_shape_reads_alike(name):
    """ID/Name/Type/policy-string (the reference), id/name/policy (OpenAPI), ID/Name/Policy/OrgID (SDK, astra-cli),
    Type built-in (older docs): the same roles, ids in lower case, Type default and built-in as built-in."""
    assert [normalise_role(item) for item in load("roles", name)["response"]] == EXPECTED_ROLES


@pytest.mark.parametrize("name", ROLE_FIXTURES)
def test_role_names_resolve_on_every_shape_and_ids_in_any_case(name):
    client = ListingClient(load("roles", name)["response"])
    roles = RoleApi(client).list()
    assert client.calls == [("GET", "/v2/organizations/roles")]
    assert resolve_roles(["API Admin Service Account", " %s " % CUSTOM_ID.upper()], roles) \
        == [BUILT_IN_ID, CUSTOM_ID]
    assert resolve_roles([BUILT_IN_ID.upper()], roles) == [BUILT_IN_ID]
    token = normalise_token({"clientId": "BOjPpMRcaWergiKIyHXEAymP", "roles": [CUSTOM_ID.upper(), BUILT_IN_ID],
                             "generatedOn": "2025-06-17T02:26:29.846Z"}, names_by_id(roles))
    assert token["roles"] == [CUSTOM_ID, BUILT_IN_ID]
    assert token["role_names"] == ["orders reader", "API Admin Svc Acct"]


@pytest.mark.parametrize("policy", ["", "not json", "[1, 2]", "null", 42, None, ["db-cql"]])
def test_an_unreadable_policy_is_an_empty_policy_not_a_traceback(policy):
    role = normalise_role({"ID": CUSTOM_ID, "Name": "odd", "Type": "custom", "policy": policy})
    assert role == {"id": CUSTOM_ID, "name": "odd", "description": "", "effect": "", "actions": [], "resources": [],
                    "built_in": False}


@pytest.mark.parametrize("role_type, built_in", [
    ("default", True), ("Default", True), ("built-in", True), ("BUILT-IN", True), ("builtin", True),
    ("custom", False), ("Custom", False), ("", True), (None, True),
])
def test_type_decides_built_in_and_without_it_the_org_placeholder_does(role_type, built_in):
    item = {"ID": BUILT_IN_ID, "Name": "RO User", "Type": role_type,
            "policy": json.dumps({"resources": ["drn:astra:org:__ORG_ID__"], "actions": ["db-cql"]})}
    assert normalise_role(item)["built_in"] is built_in


def test_policy_keys_inside_the_string_in_any_case():
    item = {"ID": BUILT_IN_ID, "Name": "x", "Type": "custom",
            "policy": json.dumps({"Description": "d", "Actions": ["db-cql"], "Resources": "drn:astra:org:1",
                                  "Effect": "allow"})}
    role = normalise_role(item)
    assert (role["description"], role["actions"], role["resources"], role["effect"]) == (
        "d", ["db-cql"], ["drn:astra:org:1"], "allow")


@pytest.mark.parametrize("name", ERROR_FIXTURES)
def test_every_error_body_gives_its_message_and_the_right_hint(name):
    case = load("errors", name)
    error = error_from_response(case["status"], case["body"], case["content_type"], "Listing tokens",
                                permission="org-token-read")
    text = str(error)
    assert text.startswith("Listing tokens failed with HTTP %d: %s." % (case["status"], case["message"].rstrip(".")))
    assert "\n" not in text
    assert error.bad_token is case["bad_token"]
    assert about_the_token(case["status"], case["body"], case["content_type"]) is case["bad_token"]
    if case["bad_token"]:
        assert error.hint == TOKEN_HINT
    elif case["status"] == 403:
        assert error.hint.startswith("The api_token's role lacks the 'org-token-read' permission"), error.hint


@pytest.mark.parametrize("body, ids", [
    ('{"errors":[{"ID":340017,"message":"m"}]}', [340017]),
    ('{"Errors":[{"id":"340018"},{"ID":340012}]}', [340018, 340012]),
    ('"insufficient permissions"', []),
    ("plain text", []),
    ('{"errors":[{"ID":"x"}]}', []),
    ("", []),
])
def test_api_error_ids(body, ids):
    assert api_error_ids(body) == ids


@pytest.mark.parametrize("status, body, expected", [
    (401, "", True),
    (403, '{"errors":[{"ID":340018,"message":"no words"}]}', True),
    (403, "token revoked", True),
    (403, "insufficient permissions: the token lacks the org-token-write permission", False),
    (403, '"an organization token can only create tokens in its own organization"', False),
    (400, "tokenExpiry must be in the future", False),
    (404, '{"errors":[{"ID":340018,"message":"Resource not found: token with identifier X"}]}', False),
    (500, "invalid token store", False),
])
def test_about_the_token(status, body, expected):
    assert about_the_token(status, body, "application/json") is expected
