# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 10: astra_token_info when the roles list is refused, on the error bodies of tests/unit/fixtures/errors.
Issue 12: filters before normalising give the tokens the whole-record reading gave, for every filter."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import datetime
import json
import os
import random

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError, error_from_response
from ansible_collections.astra.devops.plugins.module_utils._records import (
    UTC,
    format_timestamp,
    lower_keys,
    normalise_role,
    parse_duration,
    parse_timestamp,
    role_id_key,
    token_ages,
)
from ansible_collections.astra.devops.plugins.module_utils._roles import names_by_id, resolve_roles
from ansible_collections.astra.devops.plugins.modules import astra_token_info
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


# ---- issue 12: filters read the API's items before anything is normalised; the result is what it was --------------

REFERENCE = datetime.datetime(2026, 1, 1, tzinfo=UTC)
ROLES = [{"ID": RO_ID, "Name": "RO Svc Acct", "Type": "default", "policy": "{}"},
         {"ID": RW_ID.upper(), "Name": "R/W Svc Acct", "Type": "default", "policy": "{}"}]


def _first_of(raw, *keys):
    for key in keys:
        if raw.get(key) is not None:
            return raw[key]
    return None


def whole_record_list(items, params, reference):
    """list_tokens as it was before issue 12: every item normalised, then role names and ages added, then filtered."""
    tokens = []
    for item in items:
        raw = lower_keys(item)
        tokens.append({
            "client_id": _first_of(raw, "clientid", "client_id"),
            "description": raw.get("description") or "",
            "roles": [role_id_key(r) for r in (raw.get("roles") or [])],
            "role_names": None,
            "generated_on": format_timestamp(parse_timestamp(_first_of(raw, "generatedon", "generated_on"))),
            "expiry": format_timestamp(parse_timestamp(_first_of(raw, "tokenexpiry", "token_expiry", "expiry"))),
            "org_id": _first_of(raw, "orgid", "org_id"),
        })
    filters = []
    if params["client_id"]:
        filters.append(lambda t: t["client_id"] == params["client_id"])
    if params["description"] is not None:
        filters.append(lambda t: t["description"] == params["description"])
    if params["older_than"]:
        cutoff = reference - parse_duration(params["older_than"], "older_than")
        filters.append(lambda t: t["generated_on"] is not None and parse_timestamp(t["generated_on"]) < cutoff)
    if params["expires_within"]:
        horizon = reference + parse_duration(params["expires_within"], "expires_within")
        filters.append(lambda t: t["expiry"] is not None and reference < parse_timestamp(t["expiry"]) <= horizon)
    if params["never_expires"] is not None:
        filters.append(lambda t: (t["expiry"] is None) == params["never_expires"])
    if params["expired"] is not None:
        filters.append(lambda t: t["expired"] == params["expired"])
    catalog = [normalise_role(role) for role in ROLES]
    if params["roles"] is not None:
        wanted = set(resolve_roles(params["roles"], catalog))
        filters.append(lambda t: bool(wanted.intersection(t["roles"])))
    names = names_by_id(catalog) if params["role_names"] else None
    found = []
    for token in tokens:
        token["role_names"] = [names.get(r, r) for r in token["roles"]] if names is not None else None
        token.update(token_ages(token, reference))
        if all(keep(token) for keep in filters):
            found.append(token)
    found.sort(key=lambda t: (t["generated_on"] or "", t["client_id"] or ""))
    return found


def generated_list(count=800, seed=12):
    """Items of a list answer around REFERENCE: every key spelling, timestamp precision and zone, tokens with and
    without expiry, expired ones, unreadable timestamps, duplicate descriptions and creation times."""
    rand = random.Random(seed)
    items = []
    for i in range(count):
        generated = REFERENCE - datetime.timedelta(seconds=rand.randint(-3600, 400 * 86400))
        expiry = REFERENCE + datetime.timedelta(seconds=rand.randint(-40 * 86400, 400 * 86400))
        shapes = [
            lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % rand.randint(0, 999),
            lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % rand.randint(0, 999999999),
            lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            lambda t: (t + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
            lambda t: t.strftime("%Y-%m-%d"),
            lambda t: t.strftime("%Y-%m-%dt%H:%M:%S.5z"),
            lambda t: "not a date",
        ]
        weights = [30, 10, 10, 3, 2, 2, 1]
        stamp = rand.choices(shapes, weights)[0]
        item = {
            rand.choice(["clientId", "ClientID", "client_id"]): "C%023d" % rand.randint(0, count // 2),
            rand.choice(["description", "Description"]): rand.choice(["svc-%d" % (i % 9), "", None, "needle"]),
            "roles": rand.sample([RO_ID, RW_ID.upper(), "0b7c52f1-c3f0-4a1c-9e0e-5d5d4e3f2a10"], rand.randint(0, 2)),
            rand.choice(["generatedOn", "generated_on"]): stamp(generated) if rand.random() < 0.97 else None,
        }
        if rand.random() < 0.5:
            item[rand.choice(["tokenExpiry", "token_expiry", "expiry"])] = rand.choices(shapes, weights)[0](expiry)
        elif rand.random() < 0.3:
            item["tokenExpiry"] = None
        if rand.random() < 0.2:
            item["orgId"] = "6ad4e4a4-0c3f-4b4c-8f0e-0e0b7d61f1c9"
        items.append(item)
    return items


class ListClient(Client):
    def __init__(self, items):
        super(ListClient, self).__init__()
        self.items = items

    def call(self, method, path, action, **kwargs):
        self.paths.append(path)
        if path in ("/v2/tokens", "/v2/clientIdSecrets"):
            return 200, {"clients": self.items}
        return 200, ROLES


ITEMS = generated_list()
FILTERS = [
    {}, {"role_names": False}, {"description": "needle"}, {"description": "svc-3"}, {"description": "nobody"},
    {"client_id": "C%023d" % 7}, {"client_id": "C%023d" % 99999},
    {"older_than": "30d"}, {"older_than": "36h"}, {"older_than": "1s"}, {"older_than": "36500d"},
    {"expires_within": "7d"}, {"expires_within": "300d"}, {"expires_within": "2d"},
    {"never_expires": True}, {"never_expires": False}, {"expired": True}, {"expired": False},
    {"roles": ["RO Svc Acct"]}, {"roles": ["Read/Write Service Account", RO_ID.upper()]},
    {"roles": ["R/W Svc Acct"], "never_expires": False, "role_names": False},
    {"description": "needle", "older_than": "30d", "expired": False},
    {"older_than": "90d", "expires_within": "300d", "roles": ["RO Svc Acct"]},
    {"never_expires": True, "expired": True},
    {"endpoint": "clientIdSecrets", "description": "svc-1"},
]


@pytest.mark.parametrize("given", FILTERS, ids=lambda given: ",".join("%s=%s" % i for i in sorted(given.items())))
def test_filtering_before_normalising_gives_the_same_tokens(given, monkeypatch):
    monkeypatch.setattr(astra_token_info, "now", lambda: REFERENCE)
    module = Module(ListClient(copy.deepcopy(ITEMS)), **given)
    expected = whole_record_list(copy.deepcopy(ITEMS), module.params, REFERENCE)
    result = list_tokens(module)
    assert result == {"changed": False, "tokens": expected}
    assert json.dumps(result["tokens"]) == json.dumps(expected)  # the same key order too


def test_the_generated_list_exercises_every_filter(monkeypatch):
    """The comparison above means something: every filter keeps some tokens and drops others."""
    monkeypatch.setattr(astra_token_info, "now", lambda: REFERENCE)
    keeps_none = ({"description": "nobody"}, {"client_id": "C%023d" % 99999}, {"older_than": "36500d"},
                  {"never_expires": True, "expired": True})
    for given in FILTERS[2:]:
        kept = len(list_tokens(Module(ListClient(ITEMS), **given))["tokens"])
        if given in keeps_none:
            assert kept == 0, given
        else:
            assert 0 < kept < len(ITEMS), given


def test_the_items_are_read_not_changed(monkeypatch):
    monkeypatch.setattr(astra_token_info, "now", lambda: REFERENCE)
    items = copy.deepcopy(ITEMS)
    list_tokens(Module(ListClient(items), older_than="30d"))
    assert items == ITEMS


def test_a_timestamp_that_cannot_be_read_back_is_neither_old_nor_expiring(monkeypatch):
    """A year before 1000 prints as 3 digits (strftime), which does not read back: the token is shown with that text
    and no age, as before, and the age and expiry filters leave it out instead of failing."""
    monkeypatch.setattr(astra_token_info, "now", lambda: REFERENCE)
    items = [{"clientId": "A" * 24, "generatedOn": "0999-01-01T00:00:00Z", "tokenExpiry": "0999-01-01T00:00:00Z"}]
    (token,) = list_tokens(Module(ListClient(items)))["tokens"]
    assert (token["generated_on"], token["age_days"], token["expired"], token["expires_in_days"]) == (
        "999-01-01T00:00:00Z", None, False, None)
    for given in ({"older_than": "1s"}, {"expires_within": "36500d"}, {"expired": True}, {"never_expires": True}):
        assert list_tokens(Module(ListClient(items), **given))["tokens"] == [], given
