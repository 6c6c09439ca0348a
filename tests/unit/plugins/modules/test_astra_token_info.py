# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 10: astra_token_info when the roles list is refused, on the error bodies of tests/unit/fixtures/errors."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError, error_from_response
from ansible_collections.astra.devops.plugins.modules.astra_token_info import list_tokens, read_catalog, role_filter

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "fixtures")
RO_ID = "16a4b1d7-a615-41f8-95ca-52b0280f4d77"
RW_ID = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"
TOKENS = {"clients": [
    {"clientId": "AAAAAAAAAAAAAAAAAAAAAAAA", "roles": [RO_ID.upper()], "generatedOn": "2025-06-17T02:26:29.846Z",
     "description": "ro", "tokenExpiry": None},
    {"clientId": "BBBBBBBBBBBBBBBBBBBBBBBB", "roles": [RW_ID], "generatedOn": "2025-06-18T02:26:29.846Z",
     "description": "rw", "tokenExpiry": None},
]}


def load_error(name):
    with open(os.path.join(FIXTURES, "errors", name)) as handle:
        return json.load(handle)


class Client:
    """Tokens answer the list above; roles answer with the given error, or with the roles in the reference shape."""

    def __init__(self, roles_error=None):
        self.roles_error = roles_error
        self.paths = []

    def call(self, method, path, action, **kwargs):
        self.paths.append(path)
        if path == "/v2/tokens":
            return 200, TOKENS
        if self.roles_error:
            case = self.roles_error
            raise error_from_response(case["status"], case["body"], case["content_type"], action,
                                      permission=kwargs.get("permission"))
        return 200, [{"ID": RO_ID, "Name": "RO Svc Acct", "Type": "default", "policy": "{}"},
                     {"ID": RW_ID.upper(), "Name": "R/W Svc Acct", "Type": "default", "policy": "{}"}]


class Module:
    def __init__(self, client, **params):
        self.client = client
        self.warnings = []
        self.params = dict(client_id=None, description=None, roles=None, older_than=None, expires_within=None,
                           never_expires=None, expired=None, endpoint="tokens", role_names=True)
        self.params.update(params)

    def warn(self, text):
        self.warnings.append(text)


def test_role_names_from_the_reference_shape_and_ids_in_any_case():
    result = list_tokens(Module(Client(), roles=[RO_ID.upper()]))
    assert [t["client_id"] for t in result["tokens"]] == ["AAAAAAAAAAAAAAAAAAAAAAAA"]
    assert result["tokens"][0]["roles"] == [RO_ID] and result["tokens"][0]["role_names"] == ["RO Svc Acct"]
    every = list_tokens(Module(Client()))["tokens"]
    assert [t["role_names"] for t in every] == [["RO Svc Acct"], ["R/W Svc Acct"]]


@pytest.mark.parametrize("name", ["403-permission-envelope.json", "403-permission-text-plain.json",
                                  "403-permission-role-bare-string.json"])
def test_a_refused_roles_list_gives_tokens_with_null_role_names_and_a_warning(name):
    module = Module(Client(load_error(name)))
    result = list_tokens(module)
    assert [t["client_id"] for t in result["tokens"]] == ["AAAAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBBBB"]
    assert all(t["role_names"] is None for t in result["tokens"])
    (warning,) = module.warnings
    assert warning.startswith("Listing roles was refused with HTTP 403, so every role_names is null")
    assert "org-role-read" in warning and "\n" not in warning
    assert "insufficient" not in warning  # the API's words stay out of a warning
    # ids still filter; names cannot
    module = Module(Client(load_error(name)), roles=[" %s " % RW_ID.upper()])
    assert [t["client_id"] for t in list_tokens(module)["tokens"]] == ["BBBBBBBBBBBBBBBBBBBBBBBB"]
    with pytest.raises(AstraInputError) as caught:
        list_tokens(Module(Client(load_error(name)), roles=["R/W Svc Acct"]))
    assert "role ids" in caught.value.message and "'R/W Svc Acct'" in caught.value.message


@pytest.mark.parametrize("name", ["astra-cli-66-403-malformed.json", "403-unknown-token-340018.json",
                                  "403-role-bare-string-token.json", "401-envelope.json"])
def test_a_roles_list_refused_for_a_bad_token_still_fails(name):
    with pytest.raises(AstraApiError) as caught:
        read_catalog(Module(Client(load_error(name))))
    assert caught.value.bad_token is True
    assert "invalid, revoked or expired" in str(caught.value)


def test_role_filter_without_the_roles_list():
    assert role_filter([RO_ID.upper(), RW_ID], None) == {RO_ID, RW_ID}
    with pytest.raises(AstraInputError):
        role_filter([RO_ID, "RO Svc Acct"], None)


def test_without_role_names_the_roles_are_not_listed_unless_a_filter_needs_them():
    client = Client()
    result = list_tokens(Module(client, role_names=False))
    assert client.paths == ["/v2/tokens"] and all(t["role_names"] is None for t in result["tokens"])
    client = Client()
    result = list_tokens(Module(client, role_names=False, roles=["RO Svc Acct"]))
    assert len(client.paths) == 2 and [t["role_names"] for t in result["tokens"]] == [None]
