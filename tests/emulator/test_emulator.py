# Copyright (c) 2025, astra.devops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the emulator itself, over real HTTP (control.py + urllib / http.client)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from urllib.error import URLError
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from control import Emulator  # noqa: E402  pylint: disable=wrong-import-position

OA_ID = "ad0566b5-2a67-49de-89e8-92258c2f2c98"
BUILTIN_NAMES = {
    "Organization Administrator", "Database Administrator", "Billing Admin", "Admin User", "Admin Svc Acct",
    "RO User", "R/W User", "RO Svc Acct", "R/W Svc Acct", "API Admin User", "API Admin Svc Acct", "API RO User",
    "API RO Svc Acct", "API R/W User", "API R/W Svc Acct", "UI View Only",
}
SECRET_RE = re.compile(r"^[A-Za-z0-9.,+_-]{128}$")
TOKEN_RE = re.compile(r"^AstraCS:[A-Za-z]{24}:[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def emu():
    """One emulator for the module."""
    with Emulator(seed=1234) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def fresh(request):
    """Every test starts from the initial world."""
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


def role_id(emu, name, token=None):
    """Resolve a role name through the API, as a client would."""
    _status, _headers, roles = emu.call("GET", "/v2/organizations/roles", token=token)
    return next(r.get("id") or r.get("ID") for r in roles if (r.get("name") or r.get("Name")) == name)


def list_ids(emu, token=None, path="/v2/tokens"):
    """Client ids of a token list call."""
    status, _headers, body = emu.call("GET", path, token=token)
    assert status == 200, body
    return [c["clientId"] for c in body["clients"]]


def error_text(body):
    """The message of any error shape."""
    if isinstance(body, dict):
        return body["errors"][0]["message"]
    return body


# ---------------------------------------------------------------------------
# Start-up and process control
# ---------------------------------------------------------------------------

def test_starts_fast_and_writes_ready_file():
    started = time.monotonic()
    with Emulator() as emulator:
        elapsed = time.monotonic() - started
        print("emulator start to ready: %.3f s" % elapsed)
        assert elapsed < 1.5
        assert set(emulator.info) >= {"url", "admin_token", "org_id", "pid", "admin_prefix"}
        assert emulator.info["admin_prefix"] == "/_emulator"
        assert TOKEN_RE.match(emulator.admin_token)
        assert emulator.url.startswith("http://127.0.0.1:")
        status, _headers, body = emulator.call("GET", "/v2/currentOrg")
        assert status == 200 and body["id"] == emulator.org_id
        process = emulator.process
    assert process.poll() is not None


def test_max_lifetime_ends_the_process():
    emulator = Emulator(max_lifetime=0.5).start()
    try:
        process = emulator.process
        process.wait(5)
        assert process.returncode == 0
    finally:
        emulator.stop()


def test_sigterm_stops_quickly():
    emulator = Emulator().start()
    process = emulator.process
    started = time.monotonic()
    process.terminate()
    process.wait(5)
    assert time.monotonic() - started < 2
    emulator.stop()


def test_seed_makes_ids_reproducible():
    with Emulator(seed=99) as first:
        token_a, org_a = first.admin_token, first.org_id
        minted_a = first.mint()["clientId"]
    with Emulator(seed=99) as second:
        assert (second.admin_token, second.org_id) == (token_a, org_a)
        assert second.mint()["clientId"] == minted_a


def test_ready_file_from_cli_and_attach(tmp_path):
    ready = str(tmp_path / "ready.json")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "astra_emulator.py")
    process = subprocess.Popen([sys.executable, script, "--port", "0", "--ready-file", ready, "--max-lifetime", "30"])
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        attached = Emulator.from_ready_file(ready)
        assert attached.pid == process.pid
        assert attached.call("GET", "/v2/currentOrg")[0] == 200
    finally:
        process.terminate()
        process.wait(5)
    assert not [name for name in os.listdir(str(tmp_path)) if name.endswith(".tmp")]


# ---------------------------------------------------------------------------
# Auth
# ---------------------------------------------------------------------------

def test_missing_and_malformed_tokens_get_401(emu):
    for token in ("", "nonsense", "AstraCS:short:abc", "AstraCS:" + "a" * 24 + ":" + "G" * 64):
        status, _headers, body = emu.call("GET", "/v2/tokens", token=token)
        assert status == 401, token
        assert "errors" in body
    status, _headers, body = emu.call("GET", "/v2/tokens", headers={"Authorization": "Basic " + emu.admin_token})
    assert status == 401
    assert body["errors"][0]["ID"] == 340012
    for header in (" ", "Bearer", "Bearer  " + emu.admin_token + "x"):
        assert emu.call("GET", "/v2/tokens", headers={"Authorization": header})[0] == 401, header
    assert emu.call("GET", "/v2/tokens", headers={"Authorization": "bearer  " + emu.admin_token})[0] == 200


def test_unknown_token_gets_401(emu):
    unknown = "AstraCS:" + "Q" * 24 + ":" + hashlib.sha256(b"x").hexdigest()
    assert emu.call("GET", "/v2/currentOrg", token=unknown)[0] == 401


def test_deleted_token_gets_401(emu):
    minted = emu.mint(roles=["Organization Administrator"])
    assert emu.call("GET", "/v2/tokens", token=minted["token"])[0] == 200
    assert emu.call("DELETE", "/v2/tokens/" + minted["clientId"])[0] == 200
    status, _headers, body = emu.call("GET", "/v2/tokens", token=minted["token"])
    assert status == 401
    assert "revoked" in error_text(body)


def test_expired_token_gets_401_and_is_listed(emu):
    minted = emu.mint(expires_in_days=-1, description="old")
    status, _headers, body = emu.call("GET", "/v2/currentOrg", token=minted["token"])
    assert status == 401
    assert "expired" in error_text(body)
    assert minted["clientId"] in list_ids(emu)
    emu.config(list_expired=False)
    assert minted["clientId"] not in list_ids(emu)


def test_activation_delay(emu):
    emu.config(activation_delay=0.6)
    status, _headers, created = emu.call("POST", "/v2/tokens", body={"roles": [OA_ID]})
    assert status == 200
    status, _headers, body = emu.call("GET", "/v2/currentOrg", token=created["token"])
    assert status == 401
    assert "not active" in error_text(body)
    time.sleep(0.7)
    assert emu.call("GET", "/v2/currentOrg", token=created["token"])[0] == 200


# ---------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------

def test_403_names_the_missing_action(emu):
    ro_token = emu.mint(roles=["RO User"])["token"]
    status, _headers, body = emu.call("GET", "/v2/tokens", token=ro_token)
    assert status == 403 and "org-token-read" in error_text(body)
    status, _headers, body = emu.call("POST", "/v2/tokens", token=ro_token, body={"roles": [OA_ID]})
    assert status == 403 and "org-token-write" in error_text(body)
    status, _headers, body = emu.call("DELETE", "/v2/tokens/" + emu.info["admin_client_id"], token=ro_token)
    assert status == 403 and "org-token-write" in error_text(body)
    status, _headers, body = emu.call("GET", "/v2/organizations/roles/" + OA_ID, token=ro_token)
    assert status == 403 and "org-role-read" in error_text(body)
    status, _headers, roles = emu.call("GET", "/v2/organizations/roles", token=ro_token)
    assert status == 200 and len(roles) == 16
    assert emu.call("GET", "/v2/currentOrg", token=ro_token)[0] == 200


def test_database_administrator_manages_tokens(emu):
    dba = emu.mint(roles=["Database Administrator"])["token"]
    assert emu.call("GET", "/v2/tokens", token=dba)[0] == 200
    status, _headers, created = emu.call("POST", "/v2/tokens", token=dba, body={"roles": [role_id(emu, "RO User")]})
    assert status == 200
    assert emu.call("POST", "/v2/organizations/roles", token=dba,
                    body={"name": "x", "policy": {"actions": ["db-cql"], "resources": []}})[0] == 403
    assert created["clientId"] in list_ids(emu)


def test_role_permissions_by_builtin_role(emu):
    for name in BUILTIN_NAMES:
        token = emu.mint(roles=[name])["token"]
        expected = 200 if name in ("Organization Administrator", "Database Administrator") else 403
        assert emu.call("GET", "/v2/tokens", token=token)[0] == expected, name


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------

def test_create_list_delete_round_trip(emu):
    body = {"roles": [OA_ID], "description": "svc-a", "tokenExpiry": "2099-01-31T00:00:00Z"}
    status, headers, created = emu.call("POST", "/v2/tokens", body=body)
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert set(created) == {"clientId", "secret", "orgId", "roles", "token", "generatedOn"}
    assert re.match(r"^[A-Za-z]{24}$", created["clientId"])
    assert SECRET_RE.match(created["secret"])
    assert created["token"] == "AstraCS:%s:%s" % (created["clientId"], hashlib.sha256(created["secret"].encode()).hexdigest())
    assert len(created["token"]) == 97
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", created["generatedOn"])
    assert created["orgId"] == emu.org_id and created["roles"] == [OA_ID]

    _status, _headers, listed = emu.call("GET", "/v2/tokens")
    item = next(c for c in listed["clients"] if c["clientId"] == created["clientId"])
    assert set(item) == {"clientId", "roles", "generatedOn", "description", "tokenExpiry"}
    assert item["description"] == "svc-a"
    assert item["tokenExpiry"] == "2099-01-31T00:00:00.000Z"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", item["generatedOn"])
    assert item["generatedOn"][:23] == created["generatedOn"][:23]
    assert "secret" not in json.dumps(listed) and created["secret"] not in json.dumps(listed)

    assert emu.call("GET", "/v2/tokens", token=created["token"])[0] == 200
    status, _headers, payload = emu.call("DELETE", "/v2/tokens/" + created["clientId"])
    assert status == 200 and payload is None
    assert created["clientId"] not in list_ids(emu)
    status, _headers, body = emu.call("DELETE", "/v2/tokens/" + created["clientId"])
    assert status == 404 and created["clientId"] in error_text(body)


def test_bootstrap_token_is_listed_without_description_fields_when_legacy(emu):
    emu.config(list_legacy_fields=True)
    _status, _headers, listed = emu.call("GET", "/v2/tokens")
    assert listed["clients"] == [{"clientId": emu.info["admin_client_id"], "roles": [OA_ID],
                                  "generatedOn": listed["clients"][0]["generatedOn"]}]


def test_echo_create_fields_and_delete_status(emu):
    emu.config(echo_create_fields=True, delete_status=204)
    status, _headers, created = emu.call("POST", "/v2/tokens", body={"roles": [OA_ID], "description": "d"})
    assert status == 200 and created["description"] == "d" and created["tokenExpiry"] is None
    status, _headers, payload = emu.call("DELETE", "/v2/tokens/" + created["clientId"])
    assert status == 204 and payload is None


@pytest.mark.parametrize("body, fragment", [
    ({}, "roles"),
    ({"roles": []}, "roles"),
    ({"roles": "abc"}, "roles"),
    ({"roles": ["11111111-2222-4333-8444-555555555555"]}, "does not exist"),
    ({"roles": [OA_ID], "tokenExpiry": "2001-01-01T00:00:00Z"}, "future"),
    ({"roles": [OA_ID], "tokenExpiry": "next tuesday"}, "ISO-8601"),
    ({"roles": [OA_ID], "description": 5}, "description"),
])
def test_create_validation(emu, body, fragment):
    status, _headers, payload = emu.call("POST", "/v2/tokens", body=body)
    assert status == 400
    assert fragment in error_text(payload)
    assert len(list_ids(emu)) == 1


def test_create_rejects_non_json(emu):
    status, _headers, payload = emu.call("POST", "/v2/tokens", raw=b"{nope", headers={"Content-Type": "application/json"})
    assert status == 400 and "JSON" in error_text(payload)


def test_expiry_with_offset_and_fraction(emu):
    body = {"roles": [OA_ID], "tokenExpiry": "2099-06-01T12:00:00.5+02:00"}
    created = emu.call("POST", "/v2/tokens", body=body)[2]
    item = next(c for c in emu.call("GET", "/v2/tokens")[2]["clients"] if c["clientId"] == created["clientId"])
    assert item["tokenExpiry"] == "2099-06-01T10:00:00.500Z"


def test_custom_role_token(emu):
    status, _headers, role = emu.call("POST", "/v2/organizations/roles", body={
        "name": "token reader", "policy": {"description": "reads", "actions": ["org-token-read"], "resources": [],
                                           "effect": "allow"}})
    assert status == 201
    status, _headers, created = emu.call("POST", "/v2/tokens", body={"roles": [role["id"]]})
    assert status == 200
    assert emu.call("GET", "/v2/tokens", token=created["token"])[0] == 200
    assert emu.call("POST", "/v2/tokens", token=created["token"], body={"roles": [OA_ID]})[0] == 403
    # changing a custom role changes every token that holds it
    status, _headers, _body = emu.call("PUT", "/v2/organizations/roles/" + role["id"], body={
        "name": "token reader", "policy": {"description": "rw", "actions": ["org-token-read", "org-token-write"],
                                           "resources": [], "effect": "allow"}})
    assert status == 200
    assert emu.call("POST", "/v2/tokens", token=created["token"], body={"roles": [OA_ID]})[0] == 200
    assert emu.call("DELETE", "/v2/organizations/roles/" + role["id"])[0] == 204
    assert emu.call("GET", "/v2/tokens", token=created["token"])[0] == 403


def test_a_database_scoped_role_reaches_its_database_only(emu):
    """GET /v2/databases/{id} checks org-db-view on the database's DRN: resources are evaluated, not only actions."""
    mine, other = emu.database("orders"), emu.database("billing")
    org = "drn:astra:org:%s" % emu.org_id
    scoped = ["%s" % org, "%s:db:%s" % (org, mine["id"]), "%s:db:%s:keyspace:*" % (org, mine["id"]),
              "%s:db:%s:keyspace:*:table:*" % (org, mine["id"])]
    status, _headers, role = emu.call("POST", "/v2/organizations/roles", body={
        "name": "orders Database Administrator", "policy": {"description": "", "actions": ["org-db-view", "db-cql"],
                                                            "resources": scoped, "effect": "allow"}})
    assert status == 201
    token = emu.call("POST", "/v2/tokens", body={"roles": [role["id"]]})[2]["token"]
    status, _headers, body = emu.call("GET", "/v2/databases/" + mine["id"], token=token)
    assert status == 200 and body["info"]["name"] == "orders"
    assert emu.call("GET", "/v2/databases/" + other["id"], token=token)[0] == 403
    assert emu.call("GET", "/v2/databases/" + other["id"])[0] == 200  # Organization Administrator: db:* of its org
    assert emu.call("GET", "/v2/databases/0d4cd8e4-2d30-4b0c-9c39-4c2e6bdbd9b6")[0] == 404
    assert emu.call("DELETE", "/v2/organizations/roles/" + role["id"])[0] == 204


# ---------------------------------------------------------------------------
# Legacy family and enterprise
# ---------------------------------------------------------------------------

def test_legacy_family_round_trip(emu):
    status, _headers, created = emu.call("POST", "/v2/clientIdSecrets", body={"roles": [OA_ID], "description": "legacy"})
    assert status == 200 and TOKEN_RE.match(created["token"])
    assert created["clientId"] in list_ids(emu, path="/v2/clientIdSecrets")
    assert created["clientId"] in list_ids(emu)
    assert emu.call("DELETE", "/v2/clientIdSecrets/" + created["clientId"])[0] == 200
    assert created["clientId"] not in list_ids(emu, path="/v2/clientIdSecrets")
    counts = emu.counts()
    assert counts["POST /v2/clientIdSecrets"] == 1
    assert counts["DELETE /v2/clientIdSecrets/{clientId}"] == 1


def test_enterprise_token_scope(emu):
    ent = emu.mint(org="enterprise", roles=["Enterprise Administrator"], description="ent")
    assert ent["orgId"] == emu.info["enterprise_id"]
    token = ent["token"]
    status, _headers, org = emu.call("GET", "/v2/currentOrg", token=token)
    assert status == 200 and org["id"] == emu.info["enterprise_id"]
    status, _headers, roles = emu.call("GET", "/v2/organizations/roles", token=token)
    assert {r["name"] for r in roles} == {"Enterprise Administrator", "Enterprise Read Only"}
    # enterprise list: enterprise tokens only; org list never shows them
    assert list_ids(emu, token=token) == [ent["clientId"]]
    assert ent["clientId"] not in list_ids(emu)
    # legacy family never sees enterprise tokens
    status, _headers, body = emu.call("GET", "/v2/clientIdSecrets", token=token)
    assert status == 200 and body == {"clients": []}
    assert emu.call("POST", "/v2/clientIdSecrets", token=token, body={"roles": [OA_ID]})[0] == 403
    assert emu.call("DELETE", "/v2/clientIdSecrets/" + ent["clientId"], token=token)[0] == 403
    assert emu.call("DELETE", "/v2/tokens/" + ent["clientId"])[0] == 404
    # an enterprise token with enterprise roles
    ent_ro = role_id(emu, "Enterprise Read Only", token=token)
    status, _headers, created = emu.call("POST", "/v2/tokens", token=token, body={"roles": [ent_ro]})
    assert status == 200 and created["orgId"] == emu.info["enterprise_id"]
    assert emu.call("POST", "/v2/tokens", token=created["token"], body={"roles": [ent_ro]})[2]["errors"][0][
        "message"].endswith("enterprise-token-write permission")


def test_enterprise_token_creates_in_member_org(emu):
    token = emu.mint(org="enterprise", roles=["Enterprise Administrator"])["token"]
    second = emu.info["second_org_id"]
    status, _headers, created = emu.call("POST", "/v2/tokens", token=token, body={"roles": [OA_ID], "orgId": second})
    assert status == 200 and created["orgId"] == second
    status, _headers, org = emu.call("GET", "/v2/currentOrg", token=created["token"])
    assert org["id"] == second
    assert list_ids(emu, token=created["token"]) == [created["clientId"]]
    status, _headers, body = emu.call("POST", "/v2/tokens", token=token,
                                      body={"roles": [OA_ID], "orgId": emu.info["standalone_org_id"]})
    assert status == 403 and "not a member" in error_text(body)
    ent_role = role_id(emu, "Enterprise Administrator", token=token)
    assert emu.call("POST", "/v2/tokens", token=token, body={"roles": [ent_role], "orgId": second})[0] == 400


def test_org_token_cannot_target_another_org(emu):
    status, _headers, body = emu.call("POST", "/v2/tokens", body={"roles": [OA_ID], "orgId": emu.info["second_org_id"]})
    assert status == 403 and emu.org_id in error_text(body)
    assert emu.call("POST", "/v2/tokens", body={"roles": [OA_ID], "orgId": emu.org_id})[0] == 200


def test_org_scopes_are_separate(emu):
    other = emu.mint(org="second")
    assert other["clientId"] not in list_ids(emu)
    assert emu.call("DELETE", "/v2/tokens/" + other["clientId"])[0] == 404
    assert emu.call("DELETE", "/v2/tokens/" + other["clientId"], token=other["token"])[0] == 200


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------

def test_builtin_roles_lower_case(emu):
    status, _headers, roles = emu.call("GET", "/v2/organizations/roles")
    assert status == 200 and isinstance(roles, list)
    assert {r["name"] for r in roles} == BUILTIN_NAMES
    oa = next(r for r in roles if r["name"] == "Organization Administrator")
    assert oa["id"] == OA_ID
    assert set(oa) == {"id", "name", "policy", "last_update_datetime", "last_update_userid"}
    assert {"org-token-read", "org-token-write", "org-role-read", "org-role-write", "org-role-delete"} <= set(
        oa["policy"]["actions"])
    assert "drn:astra:org:__ORG_ID__" in oa["policy"]["resources"]
    assert oa["policy"]["effect"] == "allow"
    ids = {r["name"]: r["id"] for r in roles}
    assert ids["R/W Svc Acct"] == "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"
    assert ids["RO Svc Acct"] == "16a4b1d7-a615-41f8-95ca-52b0280f4d77"
    assert len(set(ids.values())) == 16
    for role in roles:
        if role["name"] not in ("Organization Administrator", "Database Administrator"):
            assert not {"org-token-read", "org-token-write"} & set(role["policy"]["actions"]), role["name"]


def test_builtin_roles_upper_case(emu):
    emu.config(role_key_case="upper")
    _status, _headers, roles = emu.call("GET", "/v2/organizations/roles")
    assert all({"ID", "Name", "Policy", "Type", "OrgID", "LastUpdateDateTime"} <= set(r) for r in roles)
    assert not any("id" in r or "name" in r for r in roles)
    status, _headers, one = emu.call("GET", "/v2/organizations/roles/" + OA_ID)
    assert status == 200 and one["Name"] == "Organization Administrator" and "actions" in one["Policy"]


def test_custom_role_crud(emu):
    policy = {"description": "ks", "actions": ["db-cql"], "resources": ["drn:astra:org:__ORG_ID__:db:abc"],
              "effect": "allow"}
    status, _headers, role = emu.call("POST", "/v2/organizations/roles", body={"name": "ks reader", "policy": policy})
    assert status == 201 and role["name"] == "ks reader" and role["policy"]["actions"] == ["db-cql"]
    assert emu.call("POST", "/v2/organizations/roles", body={"name": "KS Reader", "policy": policy})[0] == 409
    assert emu.call("POST", "/v2/organizations/roles", body={"name": "RO User", "policy": policy})[0] == 409
    assert emu.call("POST", "/v2/organizations/roles", body={"name": "x", "policy": {"actions": ["fly"]}})[0] == 400
    assert emu.call("POST", "/v2/organizations/roles", body={"name": "x"})[0] == 400
    assert emu.call("GET", "/v2/organizations/roles/" + role["id"])[2]["name"] == "ks reader"
    assert len(emu.call("GET", "/v2/organizations/roles")[2]) == 17
    assert emu.call("PUT", "/v2/organizations/roles/" + OA_ID, body={"name": "x", "policy": policy})[0] == 400
    assert emu.call("DELETE", "/v2/organizations/roles/" + OA_ID)[0] == 400
    assert emu.call("DELETE", "/v2/organizations/roles/" + role["id"])[0] == 204
    assert emu.call("GET", "/v2/organizations/roles/" + role["id"])[0] == 404
    assert emu.call("DELETE", "/v2/organizations/roles/" + role["id"])[0] == 404
    # custom roles are per organisation
    other = emu.mint(org="second")["token"]
    emu.call("POST", "/v2/organizations/roles", body={"name": "mine", "policy": policy})
    assert len(emu.call("GET", "/v2/organizations/roles", token=other)[2]) == 16


# ---------------------------------------------------------------------------
# Error shapes
# ---------------------------------------------------------------------------

def test_error_shapes(emu):
    ro_token = emu.mint(roles=["RO User"])["token"]
    status, headers, body = emu.call("GET", "/v2/tokens", token=ro_token)
    assert status == 403 and headers["content-type"] == "application/json"
    assert isinstance(body["errors"][0]["ID"], int) and "org-token-read" in body["errors"][0]["message"]
    emu.config(error_shape="string")
    status, headers, body = emu.call("GET", "/v2/tokens", token=ro_token)
    assert headers["content-type"] == "application/json"
    assert isinstance(body, str) and body.startswith("insufficient permissions") and "org-token-read" in body
    emu.config(error_shape="text")
    status, headers, body = emu.call("GET", "/v2/tokens", token=ro_token)
    assert status == 403 and headers["content-type"].startswith("text/plain")
    assert body.startswith("insufficient permissions") and "org-token-read" in body


# ---------------------------------------------------------------------------
# Issue 10: the shapes of the evidence, switchable
# ---------------------------------------------------------------------------

def _oa(roles):
    return next(r for r in roles if (r.get("Name") or r.get("name")) == "Organization Administrator")


@pytest.mark.parametrize("case, policy, role_type, keys, type_value", [
    ("lower", "object", None, {"id", "name", "policy", "last_update_datetime", "last_update_userid"}, None),
    ("lower", "string", "default", {"id", "name", "policy", "type", "last_update_datetime", "last_update_userid"},
     "default"),
    ("upper", "object", None, {"ID", "Name", "Policy", "Type", "OrgID", "LastUpdateDateTime", "LastUpdateUserID"},
     "built-in"),
    ("upper", "string", "none", {"ID", "Name", "Policy", "OrgID", "LastUpdateDateTime", "LastUpdateUserID"}, None),
    ("reference", "string", None, {"ID", "Name", "Type", "policy"}, "default"),
    ("reference", "object", "built-in", {"ID", "Name", "Type", "policy"}, "built-in"),
])
def test_role_shapes(emu, case, policy, role_type, keys, type_value):
    made = emu.call("POST", "/v2/organizations/roles", body={"name": "shape probe", "policy": {
        "description": "probe", "actions": ["db-cql"], "resources": [], "effect": "allow"}})
    assert made[0] == 201
    emu.config(role_key_case=case, role_policy=policy, role_type=role_type)
    _status, _headers, roles = emu.call("GET", "/v2/organizations/roles")
    oa = _oa(roles)
    assert set(oa) == keys
    value = oa.get("policy", oa.get("Policy"))
    assert isinstance(value, str) == (policy == "string")
    parsed = json.loads(value) if policy == "string" else value
    assert "org-token-write" in parsed["actions"] and parsed["effect"] == "allow"
    assert oa.get("Type", oa.get("type")) == type_value
    custom = next(r for r in roles if (r.get("Name") or r.get("name")) == "shape probe")
    if type_value:
        assert custom.get("Type", custom.get("type")) == "custom"
    emu.reset()


@pytest.mark.parametrize("profile, expected", [
    ("docs", {"role_key_case": "reference", "role_policy": "string", "error_shapes": {"tokens": "text"},
              "bad_token_status": 403}),
    ("openapi", {"role_key_case": "lower", "role_policy": "object", "error_shapes": {"roles": "string"},
                 "bad_token_status": 401}),
    ("default", {"role_key_case": "lower", "role_policy": "object", "error_shapes": {}, "bad_token_status": 401,
                 "error_shape": "envelope"}),
])
def test_profiles_bundle_the_shape_settings(emu, profile, expected):
    emu.config(role_key_case="upper", error_shape="text", delete_status=204)
    config = emu.config(profile=profile)
    assert config["profile"] == profile
    for key, value in expected.items():
        assert config[key] == value, key
    assert config["delete_status"] == 204  # a profile sets only the shape settings
    emu.reset()
    assert emu.state()["config"]["profile"] == "default"


def test_error_shapes_per_endpoint_family(emu):
    ro_token = emu.mint(roles=["RO User"])["token"]
    emu.config(error_shapes={"tokens": "text", "roles": "string"}, list_roles_requires="org-role-read")
    status, headers, body = emu.call("GET", "/v2/tokens", token=ro_token)
    assert status == 403 and headers["content-type"].startswith("text/plain") and "org-token-read" in body
    status, headers, body = emu.call("GET", "/v2/organizations/roles", token=ro_token)
    assert status == 403 and headers["content-type"] == "application/json"
    assert isinstance(body, str) and "org-role-read" in body
    status, _headers, body = emu.call("GET", "/v2/organizations/roles/" + OA_ID, token=ro_token)
    assert status == 403 and isinstance(body, str)
    status, _headers, body = emu.call("GET", "/v2/tokens/AAAA")  # a known path, another method: its family's
    assert status == 405 and isinstance(body, str) and "not allowed" in body
    status, _headers, body = emu.call("GET", "/v2/nothing")  # an unknown route: the global shape
    assert status == 404 and "errors" in body
    emu.fault(method="GET", path="/v2/organizations/roles", status=503, times=1)
    status, _headers, body = emu.call("GET", "/v2/organizations/roles")
    assert status == 503 and body == "Service Unavailable (injected fault)"
    emu.fault(method="GET", path="/v2/currentOrg", status=503, times=1)
    status, _headers, body = emu.call("GET", "/v2/currentOrg")
    assert status == 503 and body["errors"][0]["message"] == "Service Unavailable (injected fault)"
    emu.reset()


def test_403_for_malformed_and_unknown_tokens(emu):
    revoked = emu.mint(roles=["Organization Administrator"])
    emu.revoke(revoked["clientId"])
    expired = emu.mint(roles=["Organization Administrator"], expires_in_days=-1)
    for setting, statuses in ((401, (401, 401, 401)), (403, (403, 403, 401))):
        emu.config(bad_token_status=setting)
        answers = [emu.call("GET", "/v2/currentOrg", token=token) for token in
                   ("AstraCS:not-a-token", revoked["token"], expired["token"])]
        assert tuple(a[0] for a in answers) == statuses
        if setting == 403:
            malformed, unknown = answers[0][2]["errors"][0], answers[1][2]["errors"][0]
            assert malformed["ID"] == 340017 and malformed["message"].startswith("Resource, token, was malformed.")
            assert unknown["ID"] == 340018
            assert unknown["message"] == "Resource not found: token with identifier %s" % revoked["clientId"]
        assert emu.call("GET", "/v2/currentOrg", token="")[0] == 401  # no token at all stays 401
    assert emu.call("GET", "/v2/currentOrg")[0] == 200
    emu.reset()


def test_unknown_route_and_method(emu):
    assert emu.call("GET", "/v2/nothing")[0] == 404
    assert emu.call("PATCH", "/v2/tokens")[0] == 405
    assert emu.counts() == {"GET /v2/nothing": 1, "PATCH /v2/tokens": 1}


def test_bad_config_is_refused(emu):
    for bad in ({"role_key_case": "camel"}, {"delete_status": 201}, {"activation_delay": -1}, {"bogus": 1},
                {"list_expired": "yes"}, {"profile": "nope"}, {"error_shapes": {"tokens": "xml"}},
                {"error_shapes": {"databases": "text"}}, {"bad_token_status": 404}, {"role_policy": "yaml"},
                {"list_roles_requires": "fly"}):
        status, _headers, body = emu.call("POST", "/_emulator/config", token="", body=bad)
        assert status == 400 and "error" in body
    assert emu.state()["config"]["role_key_case"] == "lower"


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------

def test_status_fault_with_retry_after(emu):
    emu.fault(method="GET", path="/v2/tokens", status=429, retry_after=2, times=2)
    for _attempt in range(2):
        status, headers, body = emu.call("GET", "/v2/tokens")
        assert status == 429 and headers["retry-after"] == "2" and "errors" in body
    assert emu.call("GET", "/v2/tokens")[0] == 200
    assert emu.counts()["GET /v2/tokens"] == 3
    assert [entry["status"] for entry in emu.requests()["log"]] == [429, 429, 200]


def test_fault_body_shapes(emu):
    emu.fault(path="/v2/currentOrg", status=502, content_type="text/html")
    status, headers, body = emu.call("GET", "/v2/currentOrg")
    assert status == 502 and headers["content-type"] == "text/html" and "<html>" in body
    emu.fault(path="/v2/currentOrg", status=500, body="boom", content_type="text/plain")
    status, headers, body = emu.call("GET", "/v2/currentOrg")
    assert (status, headers["content-type"], body) == (500, "text/plain", "boom")
    emu.fault(path="/v2/currentOrg", status=503, body={"errors": [{"ID": 1, "message": "down"}]})
    status, _headers, body = emu.call("GET", "/v2/currentOrg")
    assert status == 503 and body["errors"][0]["message"] == "down"


def test_fault_only_matches_method_and_prefix(emu):
    emu.fault(method="POST", path="/v2/tokens", status=500, times=-1)
    assert emu.call("GET", "/v2/tokens")[0] == 200
    assert emu.call("DELETE", "/v2/tokens/abc")[0] == 404
    assert emu.call("POST", "/v2/tokens", body={"roles": [OA_ID]})[0] == 500
    assert emu.call("POST", "/v2/tokens", body={"roles": [OA_ID]})[0] == 500
    assert emu.faults()[0]["hits"] == 2
    emu.clear_faults()
    assert emu.call("POST", "/v2/tokens", body={"roles": [OA_ID]})[0] == 200


def test_drop_before_creates_nothing(emu):
    emu.fault(method="POST", path="/v2/tokens", drop="before")
    with pytest.raises((URLError, http.client.HTTPException, ConnectionError)):
        emu.call("POST", "/v2/tokens", body={"roles": [OA_ID], "description": "lost"})
    assert [t for t in emu.state()["tokens"] if t["description"] == "lost"] == []
    assert emu.counts()["POST /v2/tokens"] == 1


def test_drop_after_commits_the_write(emu):
    emu.fault(method="POST", path="/v2/tokens", drop="after")
    with pytest.raises((URLError, http.client.HTTPException, ConnectionError)):
        emu.call("POST", "/v2/tokens", body={"roles": [OA_ID], "description": "orphan"})
    orphans = [t for t in emu.state()["tokens"] if t["description"] == "orphan"]
    assert len(orphans) == 1
    assert orphans[0]["clientId"] in list_ids(emu)
    assert emu.requests()["log"][0]["status"] == 200


def test_latency_fault(emu):
    emu.fault(path="/v2/currentOrg", latency=0.4)
    started = time.monotonic()
    assert emu.call("GET", "/v2/currentOrg")[0] == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    emu.call("GET", "/v2/currentOrg")
    assert time.monotonic() - started < 0.3


# ---------------------------------------------------------------------------
# Admin routes
# ---------------------------------------------------------------------------

def test_request_counts_are_templated(emu):
    minted = [emu.mint()["clientId"] for _i in range(2)]
    emu.call("GET", "/v2/tokens")
    emu.call("GET", "/v2/tokens?x=1")
    for client_id in minted:
        emu.call("DELETE", "/v2/tokens/" + client_id)
    emu.call("GET", "/v2/organizations/roles/" + OA_ID)
    emu.state()
    assert emu.counts() == {"GET /v2/tokens": 2, "DELETE /v2/tokens/{clientId}": 2,
                            "GET /v2/organizations/roles/{roleId}": 1}
    log = emu.requests()["log"]
    assert log[2]["route"] == "/v2/tokens/{clientId}" and log[2]["path"] == "/v2/tokens/" + minted[0]
    assert set(log[0]) >= {"method", "path", "route", "status", "ts"}
    emu.reset_counts()
    assert emu.counts() == {}


def test_reset_restores_the_world(emu):
    token = emu.admin_token
    emu.seed(count=5)
    emu.config(role_key_case="upper")
    emu.fault(status=500, times=-1)
    emu.call("POST", "/v2/organizations/roles", body={"name": "r", "policy": {"actions": ["db-cql"]}})
    emu.reset()
    state = emu.state()
    assert [t["clientId"] for t in state["tokens"]] == [emu.info["admin_client_id"]]
    assert state["config"]["role_key_case"] == "lower"
    assert all(not org["custom_roles"] for org in state["orgs"].values())
    assert emu.call("GET", "/v2/tokens", token=token)[0] == 200
    assert emu.counts() == {"GET /v2/tokens": 1}


def test_mint_options(emu):
    minted = emu.mint(roles=["ro user", OA_ID], description="m", age_days=10, expires_in_days=5)
    assert TOKEN_RE.match(minted["token"]) and minted["description"] == "m"
    assert minted["roles"] == [role_id(emu, "RO User"), OA_ID]
    item = next(c for c in emu.call("GET", "/v2/tokens")[2]["clients"] if c["clientId"] == minted["clientId"])
    age = time.time() - time.mktime(time.strptime(item["generatedOn"][:19], "%Y-%m-%dT%H:%M:%S")) + time.timezone
    assert 9.9 * 86400 < age < 10.1 * 86400
    fixed = emu.mint(generated_on="2024-01-02T03:04:05Z", expiry="2030-01-01T00:00:00Z")
    assert fixed["generatedOn"] == "2024-01-02T03:04:05.000000000Z" and fixed["tokenExpiry"] == "2030-01-01T00:00:00.000Z"
    status, _headers, body = emu.call("POST", "/_emulator/tokens", token="", body={"roles": ["No Such Role"]})
    assert status == 400 and "No Such Role" in body["error"]
    assert emu.counts() == {"GET /v2/organizations/roles": 1, "GET /v2/tokens": 1}


def test_revoke_and_secrets(emu):
    minted = emu.mint()
    secrets = emu.secrets()
    assert emu.admin_token in secrets and minted["token"] in secrets and minted["secret"] in secrets
    assert minted["secret"] not in json.dumps(emu.state())
    emu.revoke(minted["clientId"])
    assert emu.call("GET", "/v2/tokens", token=minted["token"])[0] == 401
    assert minted["token"] in emu.secrets()
    status, _headers, _body = emu.call("POST", "/_emulator/revoke", token="", body={"client_id": "nope"})
    assert status == 404


def test_seed_and_list_10000_fast(emu):
    started = time.perf_counter()
    seeded = emu.seed(count=10000, description="svc-{i}", roles=["RO User"], with_tokens=True)
    seed_time = time.perf_counter() - started
    assert len(seeded["client_ids"]) == 10000 == len(set(seeded["client_ids"]))
    assert emu.call("GET", "/v2/currentOrg", token=seeded["tokens"][-1])[0] == 200

    parts = urlsplit(emu.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    timings = []
    try:
        for _attempt in range(5):
            started = time.perf_counter()
            conn.request("GET", "/v2/tokens", headers={"Authorization": "Bearer " + emu.admin_token})
            resp = conn.getresponse()
            payload = json.loads(resp.read())
            timings.append(time.perf_counter() - started)
            assert resp.status == 200 and len(payload["clients"]) == 10001
    finally:
        conn.close()
    descriptions = [c["description"] for c in payload["clients"]]
    assert descriptions[1] == "svc-0" and descriptions[-1] == "svc-9999"
    best, median = min(timings), sorted(timings)[2]
    print("seed 10,000: %.3f s; GET /v2/tokens with 10,001 tokens: best %.3f s, median %.3f s" % (seed_time, best, median))
    assert seed_time < 2.0
    assert median < 0.5


def test_keep_alive_without_nagle_stall(emu):
    parts = urlsplit(emu.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        started = time.perf_counter()
        for _attempt in range(100):
            conn.request("POST", "/v2/tokens", body=json.dumps({"roles": [OA_ID]}),
                         headers={"Authorization": "Bearer " + emu.admin_token, "Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    print("100 keep-alive POST /v2/tokens: %.3f s" % elapsed)
    assert elapsed < 2.0


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate():
    """A self-signed certificate for 127.0.0.1 and localhost (needs the openssl CLI)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available")
    folder = tempfile.mkdtemp(prefix="emu-tls-")
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    yield cert, key
    shutil.rmtree(folder, ignore_errors=True)


def test_tls(certificate):
    import ssl  # pylint: disable=import-outside-toplevel
    cert, key = certificate
    with Emulator(tls_cert=cert, tls_key=key) as emulator:
        assert emulator.url.startswith("https://127.0.0.1:")
        assert emulator.call("GET", "/v2/currentOrg")[0] == 200
        parts = urlsplit(emulator.url)
        trusted = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=trusted, timeout=10)
        conn.request("GET", "/v2/tokens", headers={"Authorization": "Bearer " + emulator.admin_token})
        assert conn.getresponse().status == 200
        conn.close()
        untrusted = http.client.HTTPSConnection(parts.hostname, parts.port, context=ssl.create_default_context(),
                                                timeout=10)
        with pytest.raises(ssl.SSLError):
            untrusted.request("GET", "/v2/currentOrg")
        untrusted.close()
        # a plain-HTTP client against the TLS port gets nothing useful, and the server survives it
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as plain:
            plain.sendall(b"GET /v2/currentOrg HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                assert not plain.recv(100).startswith(b"HTTP/1.1 200")
            except OSError:
                pass
        assert emulator.call("GET", "/v2/currentOrg")[0] == 200
