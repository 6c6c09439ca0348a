# Copyright (c) 2025, astra.devops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stateful local stand-in for the Astra DevOps API (tokens and roles).

Standard library only. See README.md beside this file for the contract.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import calendar
import hashlib
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
import ssl
from collections import deque, namedtuple
from http.client import responses as HTTP_REASONS
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADMIN_PREFIX = "/_emulator"
LOG_LIMIT = 100000
NS = 1000000000
DAY_NS = 86400 * NS

LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SECRET_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,+_-"
LETTERS_TABLE = bytes(LETTERS[b % len(LETTERS)] for b in range(256))
SECRET_TABLE = bytes(SECRET_ALPHABET[b % len(SECRET_ALPHABET)] for b in range(256))
TOKEN_RE = re.compile(r"^AstraCS:[A-Za-z]{24}:[0-9a-f]{64}$")
ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)

# ---------------------------------------------------------------------------
# Role catalogue
# ---------------------------------------------------------------------------

ORG_ACTIONS = (
    "accesslist-read", "accesslist-write",
    "db-all-keyspace-create", "db-all-keyspace-describe",
    "db-keyspace-alter", "db-keyspace-authorize", "db-keyspace-create", "db-keyspace-describe",
    "db-keyspace-drop", "db-keyspace-grant", "db-keyspace-modify",
    "db-table-alter", "db-table-authorize", "db-table-create", "db-table-describe", "db-table-drop",
    "db-table-grant", "db-table-modify", "db-table-select",
    "db-cql", "db-graphql", "db-rest", "db-data-import",
    "db-manage-privateendpoint", "db-manage-region", "db-manage-telemetry", "db-manage-thirdpartymetrics",
    "org-read", "org-write", "org-audits-read", "org-billing-read", "org-billing-write",
    "org-cmk-read", "org-cmk-write",
    "org-db-addpeering", "org-db-create", "org-db-expand", "org-db-managemigratorproxy",
    "org-db-passwordreset", "org-db-readpeering", "org-db-suspend", "org-db-terminate", "org-db-view",
    "org-external-auth-read", "org-external-auth-write", "org-integrations-read", "org-integrations-write",
    "org-notification-write", "org-role-read", "org-role-write", "org-role-delete", "org-stream-manage",
    "org-token-read", "org-token-write", "org-user-read", "org-user-write",
)
KNOWN_ORG_ACTIONS = frozenset(ORG_ACTIONS)

ORG_DRN = "drn:astra:org:__ORG_ID__"
DB_DRNS = (ORG_DRN, ORG_DRN + ":db:*", ORG_DRN + ":db:*:keyspace:*", ORG_DRN + ":db:*:keyspace:*:table:*")
STREAM_DRN = ORG_DRN + ":stream:*"
ROLE_DRN = ORG_DRN + ":role:*"
ENTERPRISE_DRN = "drn:astra:enterprise:__ENTERPRISE_ID__"

RO_DATA = ("accesslist-read", "db-all-keyspace-describe", "db-keyspace-describe", "db-table-select",
           "db-table-describe", "db-graphql", "db-rest", "db-cql")
RW_DATA = ("accesslist-read", "db-all-keyspace-describe", "db-keyspace-describe", "db-table-select",
           "db-table-modify", "db-table-describe", "db-graphql", "db-rest", "db-cql")
DB_SCHEMA = ("db-all-keyspace-create", "db-all-keyspace-describe", "db-manage-privateendpoint",
             "db-keyspace-grant", "db-keyspace-modify", "db-keyspace-describe", "db-keyspace-create",
             "db-keyspace-authorize", "db-keyspace-alter", "db-keyspace-drop", "db-manage-region",
             "db-table-select", "db-table-grant", "db-table-modify", "db-table-describe", "db-table-create",
             "db-table-authorize", "db-table-alter", "db-table-drop", "db-graphql", "db-rest")
ORG_DB = ("org-db-create", "org-db-passwordreset", "org-db-terminate", "org-db-suspend", "org-db-addpeering",
          "org-db-managemigratorproxy", "org-db-expand", "org-db-view")
# Actions of the sample's "Admin User" (samples/roles-list.json), in the sample's order.
ADMIN_USER = (("org-read", "org-billing-read", "org-billing-write", "org-cmk-read", "org-cmk-write",
               "org-user-read", "org-user-write") + ORG_DB + DB_SCHEMA
              + ("db-cql", "db-data-import", "db-manage-thirdpartymetrics"))
# "API Admin User" of the sample (it lists org-db-view twice, as recorded).
API_ADMIN = (("accesslist-read", "org-billing-read", "org-billing-write", "org-user-read", "org-user-write",
              "org-db-view") + ORG_DB + ("org-stream-manage",) + DB_SCHEMA)
# "Organization Administrator" of the sample, plus the two FACTS actions the sample lacks.
ORG_ADMIN = (("accesslist-read", "accesslist-write", "org-read", "org-write", "org-audits-read", "org-cmk-read",
              "org-cmk-write", "org-role-read", "org-role-write", "org-role-delete", "org-external-auth-read",
              "org-external-auth-write", "org-notification-write", "org-token-read", "org-token-write",
              "org-billing-read", "org-billing-write", "org-user-read", "org-user-write") + ORG_DB
             + ("org-integrations-read", "org-integrations-write", "org-stream-manage") + DB_SCHEMA
             + ("db-cql", "db-data-import", "db-manage-thirdpartymetrics", "org-db-readpeering", "db-manage-telemetry"))
DB_ADMIN = (("accesslist-read", "accesslist-write", "org-read", "org-token-read", "org-token-write",
             "org-db-view", "org-db-passwordreset", "org-db-suspend", "org-db-expand", "org-db-addpeering",
             "org-db-readpeering", "org-db-managemigratorproxy") + DB_SCHEMA
            + ("db-cql", "db-data-import", "db-manage-telemetry", "db-manage-thirdpartymetrics"))

BUILTIN_ROLES = (
    ("ad0566b5-2a67-49de-89e8-92258c2f2c98", "Organization Administrator", DB_DRNS + (STREAM_DRN, ROLE_DRN), ORG_ADMIN),
    ("e5f107e6-d34f-41e4-824f-5989814191d0", "Database Administrator", DB_DRNS, DB_ADMIN),
    ("bc4ff500-aa36-4bc1-a28a-86673c513c3b", "Billing Admin", (ORG_DRN,), ("org-read", "org-billing-read", "org-billing-write")),
    ("43745b73-ad46-46e4-b826-c15d06d2cea0", "Admin User", DB_DRNS, ADMIN_USER),
    ("3efe92e0-fcc8-459d-a709-b39720d20aab", "Admin Svc Acct", DB_DRNS, ADMIN_USER),
    ("99d8ba04-e73b-4b45-a7b7-4f121d190260", "RO User", DB_DRNS, ("org-db-view",) + RO_DATA),
    ("188c50e0-27a3-4490-af7e-0f41af6d480e", "R/W User", DB_DRNS, ("org-db-view",) + RW_DATA),
    ("16a4b1d7-a615-41f8-95ca-52b0280f4d77", "RO Svc Acct", DB_DRNS, RO_DATA),
    ("b4ed0e9e-67e8-47b6-8b58-c6629be961a9", "R/W Svc Acct", DB_DRNS, RW_DATA),
    ("67c4b5dc-dd3f-4b2d-be51-09be12836d57", "API Admin User", DB_DRNS + (STREAM_DRN,), API_ADMIN),
    ("193ed7dd-4b55-4f3a-bef3-f261976c03ba", "API Admin Svc Acct", DB_DRNS + (STREAM_DRN,), API_ADMIN),
    ("50461a7c-9a6f-4568-a599-2231a1a836e8", "API RO User", DB_DRNS, ("org-db-view",) + RO_DATA[:-1]),
    ("5c3b2053-a613-46cc-a0cd-e8731cb92660", "API RO Svc Acct", DB_DRNS, RO_DATA[:-1]),
    ("3831ef72-5fc7-4fab-aa21-b6ea8e87e6c1", "API R/W User", DB_DRNS, ("org-db-view",) + RW_DATA[:-1]),
    ("317a7205-f980-4f7c-a700-65ec00ceba01", "API R/W Svc Acct", DB_DRNS, RW_DATA[:-1]),
    ("9257d1ef-4d78-4ef6-a63d-53f4698b9074", "UI View Only", DB_DRNS,
     ("org-read", "org-db-view", "org-user-read", "org-billing-read", "accesslist-read",
      "db-all-keyspace-describe", "db-keyspace-describe", "db-table-describe")),
)
ENTERPRISE_ROLES = (
    ("61eaa286-63c5-4336-b2ff-bd7b728ac860", "Enterprise Administrator", (ENTERPRISE_DRN,),
     ("enterprise-token-read", "enterprise-token-write", "enterprise-read", "enterprise-write")),
    ("2a530d72-d8cd-4b37-84d0-1252fcb27c5c", "Enterprise Read Only", (ENTERPRISE_DRN,),
     ("enterprise-read", "enterprise-token-read")),
)
BUILTIN_UPDATED = "2021-03-24T16:54:36Z"

DEFAULT_CONFIG = {
    "profile": "default",
    "role_key_case": "lower",
    "role_policy": "object",
    "role_type": None,
    "error_shape": "envelope",
    "error_shapes": {},
    "bad_token_status": 401,
    "list_roles_requires": None,
    "delete_status": 200,
    "activation_delay": 0,
    "echo_create_fields": False,
    "list_legacy_fields": False,
    "list_expired": True,
}
ERROR_SHAPES = ("envelope", "string", "text")
CONFIG_CHOICES = {
    "role_key_case": ("lower", "upper", "reference"),
    "role_policy": ("object", "string"),
    "role_type": (None, "none", "built-in", "default"),
    "error_shape": ERROR_SHAPES,
    "bad_token_status": (401, 403),
    "delete_status": (200, 204),
}
BOOL_CONFIG = ("echo_create_fields", "list_legacy_fields", "list_expired")
# Endpoint families whose error bodies can differ (config "error_shapes"): the two token families, the roles, and
# /v2/currentOrg.
ERROR_FAMILIES = ("tokens", "roles", "org")
# Bundles of the shape settings above (config "profile"; README.md gives the evidence of each).
PROFILES = {
    "default": {},
    # DataStax's "Managing roles" reference: {"ID","Name","Type":"default","policy":"<JSON string>"}; the OpenAPI
    # file's text/plain bodies on the token endpoints; 403 with 340017/340018 for a malformed or unknown token
    # (astra-cli issue 66).
    "docs": {"role_key_case": "reference", "role_policy": "string", "error_shapes": {"tokens": "text"},
             "bad_token_status": 403},
    # The OpenAPI file v2.3.0: id/name/policy/last_update_datetime/last_update_userid, bare JSON strings as the
    # error bodies of the role endpoints.
    "openapi": {"role_key_case": "lower", "role_policy": "object", "error_shapes": {"roles": "string"}},
}


def error_family(path):
    """The endpoint family of a request path, for the per-family error shape."""
    if path.startswith(("/v2/tokens", "/v2/clientIdSecrets")):
        return "tokens"
    if path.startswith("/v2/organizations/roles"):
        return "roles"
    if path.startswith("/v2/currentOrg"):
        return "org"
    return None


def builtin_role(spec, org_id=None):
    """Turn a catalogue tuple into the internal role record."""
    role_id, name, resources, actions = spec
    return {"id": role_id, "name": name, "description": name, "resources": list(resources),
            "actions": list(actions), "effect": "allow", "builtin": True, "orgId": org_id,
            "updated": BUILTIN_UPDATED}


BUILTINS = dict((spec[0], builtin_role(spec)) for spec in BUILTIN_ROLES)
ENTERPRISE = dict((spec[0], builtin_role(spec)) for spec in ENTERPRISE_ROLES)

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


class ApiError(Exception):
    """An API failure that the dispatcher renders in the configured error shape."""

    def __init__(self, status, message, code=None):
        super(ApiError, self).__init__(message)
        self.status = status
        self.message = message
        self.code = code or status * 1000


class AdminError(Exception):
    """A bad request to an admin route (always answered as JSON)."""

    def __init__(self, status, message):
        super(AdminError, self).__init__(message)
        self.status = status
        self.message = message


Call = namedtuple("Call", "params body legacy")


class Reply:
    """What a handler answers: status, body bytes, content type and extra headers."""

    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status, body=b"", content_type="application/json", headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def json_reply(status, payload):
    """A JSON reply; compact separators keep big token lists small and fast."""
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode("utf-8"))


def fmt_ns(value):
    """ISO-8601 UTC with nanoseconds, as the create response carries it."""
    secs, frac = divmod(value, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%09dZ" % frac


def fmt_ms(value):
    """ISO-8601 UTC with milliseconds, as list items carry it."""
    if value is None:
        return None
    secs, frac = divmod(value, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % (frac // 1000000)


def parse_iso(text):
    """Parse an ISO-8601 instant (date, optional time, fraction and offset) into epoch nanoseconds."""
    match = ISO_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError("not an ISO-8601 instant: %r" % (text,))
    year, month, day, hour, minute, sec, frac, zone = match.groups()
    fields = (int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(sec or 0))
    if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] < 24 and fields[4] < 60 and fields[5] < 61):
        raise ValueError("out of range: %r" % (text,))
    secs = calendar.timegm(fields + (0, 0, 0))
    nanos = int((frac or "0")[:9].ljust(9, "0"))
    return (secs - zone_offset(zone)) * NS + nanos


def zone_offset(zone):
    """Seconds east of UTC for 'Z', '+02', '+0200' or '+02:00'."""
    if not zone or zone in ("Z", "z"):
        return 0
    digits = zone[1:].replace(":", "")
    offset = int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60
    return -offset if zone[0] == "-" else offset


def is_uuid(value):
    """True for a canonical uuid string."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, TypeError, AttributeError):
        return False


def parse_body(raw, admin=False):
    """Decode a JSON object body; an empty body is an empty object."""
    error = AdminError if admin else ApiError
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise error(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise error(400, "request body must be a JSON object")
    return data


class Randomness:
    """Ids and secrets: reproducible with --seed, from os.urandom otherwise."""

    def __init__(self, seed=None):
        self._rng = random.Random(seed) if seed is not None else None

    def raw(self, count):
        """Random bytes, cheap enough to mint 10,000 tokens in a blink."""
        if self._rng is None:
            return os.urandom(count)
        return self._rng.getrandbits(count * 8).to_bytes(count, "little")

    def uuid(self):
        """A uuid4 string."""
        return str(uuid.UUID(bytes=self.raw(16), version=4))

    def credentials(self, count):
        """`count` pairs of (24-letter client id, 128-char secret)."""
        blob = self.raw(count * 152)
        pairs = []
        for i in range(count):
            chunk = blob[i * 152:(i + 1) * 152]
            pairs.append((chunk[:24].translate(LETTERS_TABLE).decode("ascii"),
                          chunk[24:].translate(SECRET_TABLE).decode("ascii")))
        return pairs


# ---------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------

API_ROUTES = (
    ("GET", "/v2/currentOrg", "current_org"),
    ("GET", "/v2/tokens", "list_tokens"),
    ("POST", "/v2/tokens", "create_token"),
    ("DELETE", "/v2/tokens/{clientId}", "delete_token"),
    ("GET", "/v2/clientIdSecrets", "list_tokens"),
    ("POST", "/v2/clientIdSecrets", "create_token"),
    ("DELETE", "/v2/clientIdSecrets/{clientId}", "delete_token"),
    ("GET", "/v2/organizations/roles", "list_roles"),
    ("POST", "/v2/organizations/roles", "create_role"),
    ("GET", "/v2/organizations/roles/{roleId}", "get_role"),
    ("PUT", "/v2/organizations/roles/{roleId}", "update_role"),
    ("DELETE", "/v2/organizations/roles/{roleId}", "delete_role"),
    ("GET", "/v2/databases/{databaseId}", "get_database"),
)


def compile_route(template):
    """A regex for a templated route such as /v2/tokens/{clientId}."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile("^" + pattern + "$")


COMPILED_ROUTES = tuple((method, template, compile_route(template), name) for method, template, name in API_ROUTES)


def match_route(method, path):
    """Return (template, handler name, params); handler is None for a wrong method, template None if unknown."""
    template_seen = None
    for route_method, template, regex, name in COMPILED_ROUTES:
        found = regex.match(path)
        if found:
            if route_method == method:
                return template, name, found.groupdict()
            template_seen = template
    return template_seen, None, {}


# ---------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------


class World:
    """All state of the emulated service, guarded by one lock."""

    def __init__(self, seed=None):
        self.lock = threading.Lock()
        self.rand = Randomness(seed)
        self.started_ns = time.time_ns()
        self.enterprise = {"id": self.rand.uuid(), "name": "Example Enterprise"}
        self.org_keys = {}
        self.orgs = {}
        for key, name, member in (("default", "Default Organization", True),
                                  ("second", "Second Organization", True),
                                  ("standalone", "Standalone Organization", False)):
            org_id = self.rand.uuid()
            self.org_keys[key] = org_id
            self.orgs[org_id] = {"id": org_id, "name": name, "key": key,
                                 "enterprise_id": self.enterprise["id"] if member else None}
        self.org_id = self.org_keys["default"]
        self.issued = []
        self.tokens = {}
        self.by_token = {}
        self.scopes = {}
        self.custom_roles = {}
        self.faults = []
        self.fault_seq = 0
        self.config = dict(DEFAULT_CONFIG)
        self.counts = {}
        self.log = deque(maxlen=LOG_LIMIT)
        self.bootstrap = self.new_token(self.org_id, False, [BUILTIN_ROLES[0][0]], "bootstrap (portal)",
                                        self.started_ns)
        self.reset()

    # -- state -------------------------------------------------------------

    def reset(self):
        """Back to the initial world; the bootstrap token keeps its value."""
        self.tokens = {}
        self.by_token = {}
        self.scopes = dict((scope, {}) for scope in list(self.orgs) + [self.enterprise["id"]])
        self.custom_roles = dict((org_id, {}) for org_id in self.orgs)
        self.databases = dict((org_id, {}) for org_id in self.orgs)
        self.faults = []
        self.config = dict(DEFAULT_CONFIG)
        self.reset_counts()
        self.store(self.bootstrap)

    def reset_counts(self):
        """Forget request counts and the log."""
        self.counts = {}
        self.log = deque(maxlen=LOG_LIMIT)

    def new_token(self, scope, enterprise, roles, description, generated_ns, expiry_ns=None, active_ns=0, creds=None):
        """Build a token record with its list items cached (a token never changes)."""
        client_id, secret = creds or self.rand.credentials(1)[0]
        while client_id in self.tokens:
            client_id, secret = self.rand.credentials(1)[0]
        token = "AstraCS:" + client_id + ":" + hashlib.sha256(secret.encode("ascii")).hexdigest()
        self.issued.append(secret)
        self.issued.append(token)
        generated = fmt_ms(generated_ns)
        return {
            "clientId": client_id, "secret": secret, "token": token, "orgId": scope, "enterprise": enterprise,
            "roles": list(roles), "description": description or "", "generatedOn": generated_ns,
            "tokenExpiry": expiry_ns, "activeAt": active_ns,
            "item": {"clientId": client_id, "roles": list(roles), "generatedOn": generated,
                     "description": description or "", "tokenExpiry": fmt_ms(expiry_ns)},
            "legacy": {"clientId": client_id, "roles": list(roles), "generatedOn": generated},
        }

    def store(self, rec):
        """Index a token record for O(1) auth and per-scope listing."""
        self.tokens[rec["clientId"]] = rec
        self.by_token[rec["token"]] = rec
        self.scopes.setdefault(rec["orgId"], {})[rec["clientId"]] = rec

    def drop_token(self, rec):
        """Remove a token from every index."""
        self.tokens.pop(rec["clientId"], None)
        self.by_token.pop(rec["token"], None)
        self.scopes.get(rec["orgId"], {}).pop(rec["clientId"], None)

    def roles_of(self, scope):
        """Ordered role records available in a scope (org id or the enterprise id)."""
        if scope == self.enterprise["id"]:
            return list(ENTERPRISE.values())
        return list(BUILTINS.values()) + list(self.custom_roles.get(scope, {}).values())

    def find_role(self, scope, role_id):
        """A role by id within a scope, or None."""
        if scope == self.enterprise["id"]:
            return ENTERPRISE.get(role_id)
        return BUILTINS.get(role_id) or self.custom_roles.get(scope, {}).get(role_id)

    def allows(self, rec, action, resource):
        """Whether one of the token's roles grants action on resource (a DRN): a role's resources are patterns in
        which __ORG_ID__ is the token's organization and * matches one level (a role without resources reaches
        nothing)."""
        for role_id in rec["roles"]:
            role = self.find_role(rec["orgId"], role_id)
            if role and action in role["actions"]:
                for pattern in role["resources"]:
                    levels = pattern.replace("__ORG_ID__", rec["orgId"]).split(":")
                    wanted = resource.split(":")
                    if len(levels) == len(wanted) and all(a in ("*", b) for a, b in zip(levels, wanted)):
                        return True
        return False

    def actions_of(self, rec):
        """Live action set of a token: custom role edits apply at once."""
        actions = set()
        for role_id in rec["roles"]:
            role = self.find_role(rec["orgId"], role_id)
            if role:
                actions.update(role["actions"])
        return actions

    # -- auth --------------------------------------------------------------

    def authenticate(self, header):
        """The calling token record, or a 401 (config bad_token_status 403: a malformed or unknown token gets the
        403 of astra-cli issue 66, IDs 340017 and 340018)."""
        if not header or not header.strip():
            raise ApiError(401, "missing Authorization header", 340011)
        parts = header.strip().split(None, 1)
        value = parts[1].strip() if len(parts) == 2 else ""
        forbidden = self.config["bad_token_status"] == 403
        if parts[0].lower() != "bearer" or not TOKEN_RE.match(value):
            if forbidden:
                raise ApiError(403, "Resource, token, was malformed. Error: auth-manager returned 403 for call "
                                    "%s/v2/admin/tokens", 340017)
            raise ApiError(401, "invalid token format", 340012)
        rec = self.by_token.get(value)
        if rec is None:
            if forbidden:
                raise ApiError(403, "Resource not found: token with identifier %s" % value.split(":")[1], 340018)
            raise ApiError(401, "the token is not valid: unknown or revoked", 340013)
        now = time.time_ns()
        if rec["tokenExpiry"] is not None and rec["tokenExpiry"] <= now:
            raise ApiError(401, "the token has expired", 340014)
        if rec["activeAt"] > now:
            raise ApiError(401, "the token is not active yet", 340015)
        return rec

    def require(self, caller, org_action):
        """403 naming the action the caller lacks (enterprise callers need the enterprise twin)."""
        action = org_action
        if caller["enterprise"] and org_action.startswith("org-token"):
            action = "enterprise-" + org_action[len("org-"):]
        if action not in self.actions_of(caller):
            raise ApiError(403, "insufficient permissions: the token lacks the %s permission" % action, 340403)

    # -- tokens ------------------------------------------------------------

    def current_org(self, caller, _call):
        """GET /v2/currentOrg."""
        if caller["enterprise"]:
            return json_reply(200, {"id": self.enterprise["id"], "name": self.enterprise["name"], "type": "enterprise"})
        org = self.orgs[caller["orgId"]]
        return json_reply(200, {"id": org["id"], "name": org["name"], "type": "organization"})

    def list_tokens(self, caller, call):
        """GET /v2/tokens and /v2/clientIdSecrets: cached items, one dumps."""
        self.require(caller, "org-token-read")
        if call.legacy and caller["enterprise"]:
            return json_reply(200, {"clients": []})
        key = "legacy" if self.config["list_legacy_fields"] else "item"
        records = self.scopes.get(caller["orgId"], {}).values()
        if self.config["list_expired"]:
            items = [rec[key] for rec in records]
        else:
            now = time.time_ns()
            items = [rec[key] for rec in records if rec["tokenExpiry"] is None or rec["tokenExpiry"] > now]
        return {"clients": items}

    def create_token(self, caller, call):
        """POST /v2/tokens and /v2/clientIdSecrets."""
        if call.legacy and caller["enterprise"]:
            raise ApiError(403, "enterprise tokens cannot use /v2/clientIdSecrets", 340404)
        self.require(caller, "org-token-write")
        data = parse_body(call.body)
        scope, enterprise = self.target_scope(caller, data.get("orgId"))
        roles = self.check_roles(scope, data.get("roles"))
        expiry = self.check_expiry(data.get("tokenExpiry"))
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise ApiError(400, "description must be a string")
        now = time.time_ns()
        delay = int(float(self.config["activation_delay"]) * NS)
        rec = self.new_token(scope, enterprise, roles, description, now, expiry, now + delay if delay else 0)
        self.store(rec)
        return json_reply(200, self.create_response(rec, self.config["echo_create_fields"]))

    def target_scope(self, caller, org_id):
        """Where a new token lives: the caller's scope, or a member org for an enterprise caller."""
        if org_id is None or org_id == "" or org_id == caller["orgId"]:
            return caller["orgId"], caller["enterprise"]
        if not isinstance(org_id, str) or not is_uuid(org_id):
            raise ApiError(400, "orgId must be an organization uuid")
        if not caller["enterprise"]:
            raise ApiError(403, "an organization token can only create tokens in its own organization (%s)" % caller["orgId"], 340405)
        org = self.orgs.get(org_id.lower())
        if org is None or org["enterprise_id"] != caller["orgId"]:
            raise ApiError(403, "organization %s is not a member of this enterprise" % org_id, 340406)
        return org["id"], False

    def check_roles(self, scope, roles):
        """Role ids of a create body: a non-empty list, each known in the target scope."""
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            raise ApiError(400, "roles must be a non-empty list of role ids")
        unique = []
        for role_id in roles:
            if self.find_role(scope, role_id) is None:
                raise ApiError(400, "role %s does not exist in %s" % (role_id, scope))
            if role_id not in unique:
                unique.append(role_id)
        return unique

    @staticmethod
    def check_expiry(value):
        """tokenExpiry: absent/null means never; otherwise an ISO instant in the future."""
        if value is None or value == "":
            return None
        try:
            expiry = parse_iso(value)
        except ValueError:
            raise ApiError(400, "tokenExpiry must be an ISO-8601 date-time") from None
        if expiry <= time.time_ns():
            raise ApiError(400, "tokenExpiry must be in the future")
        return expiry

    @staticmethod
    def create_response(rec, echo):
        """The create response body; the secret and token are shown only here."""
        resp = {"clientId": rec["clientId"], "secret": rec["secret"], "orgId": rec["orgId"],
                "roles": list(rec["roles"]), "token": rec["token"], "generatedOn": fmt_ns(rec["generatedOn"])}
        if echo:
            resp["description"] = rec["description"]
            resp["tokenExpiry"] = fmt_ms(rec["tokenExpiry"])
        return resp

    def delete_token(self, caller, call):
        """DELETE /v2/tokens/{clientId} and /v2/clientIdSecrets/{clientId}."""
        if call.legacy and caller["enterprise"]:
            raise ApiError(403, "enterprise tokens cannot use /v2/clientIdSecrets", 340404)
        self.require(caller, "org-token-write")
        rec = self.tokens.get(call.params["clientId"])
        if rec is None or rec["orgId"] != caller["orgId"]:
            raise ApiError(404, "client id %s not found" % call.params["clientId"])
        self.drop_token(rec)
        return Reply(self.config["delete_status"])

    # -- databases (the one data-plane-like route: resources are evaluated, not only actions) ----------

    def get_database(self, caller, call):
        """GET /v2/databases/{databaseId}, the DevOps API's "get a database": org-db-view on that database's DRN
        (drn:astra:org:<org>:db:<id>), so a token scoped to another database gets 403; 404 for an unknown one."""
        database_id = call.params["databaseId"].lower()
        database = self.databases.get(caller["orgId"], {}).get(database_id)
        if database is None:
            raise ApiError(404, "database %s not found" % database_id)
        if not self.allows(caller, "org-db-view", "drn:astra:org:%s:db:%s" % (caller["orgId"], database_id)):
            raise ApiError(403, "insufficient permissions: the token may not view database %s" % database_id, 340403)
        return json_reply(200, {"id": database_id, "orgId": caller["orgId"], "info": {"name": database["name"]},
                                "status": "ACTIVE"})

    # -- roles -------------------------------------------------------------

    def render_role(self, role):
        """A role in the configured shape: key casing (lower: the OpenAPI file; upper: the Java SDK and astra-cli;
        reference: DataStax's "Managing roles" page), the policy as an object or a JSON string, and the Type of a
        built-in role (default by casing: none in lower, built-in in upper, default in reference)."""
        config = self.config
        policy = {"description": role["description"], "resources": list(role["resources"]),
                  "actions": list(role["actions"]), "effect": role["effect"]}
        if config["role_policy"] == "string":
            policy = json.dumps(policy)
        case = config["role_key_case"]
        role_type = config["role_type"] or {"lower": "none", "upper": "built-in", "reference": "default"}[case]
        if case == "lower":
            rendered = {"id": role["id"], "name": role["name"], "policy": policy,
                        "last_update_datetime": role["updated"], "last_update_userid": ""}
        elif case == "upper":
            rendered = {"ID": role["id"], "Name": role["name"], "Policy": policy, "OrgID": role["orgId"] or "",
                        "LastUpdateDateTime": role["updated"], "LastUpdateUserID": ""}
        else:
            rendered = {"ID": role["id"], "Name": role["name"], "policy": policy}
        if role_type != "none":
            rendered["type" if case == "lower" else "Type"] = role_type if role["builtin"] else "custom"
        return rendered

    def list_roles(self, caller, _call):
        """GET /v2/organizations/roles: any valid token (config list_roles_requires: that action); enterprise tokens
        see enterprise roles."""
        if self.config["list_roles_requires"]:
            self.require(caller, self.config["list_roles_requires"])
        return [self.render_role(role) for role in self.roles_of(caller["orgId"])]

    def get_role(self, caller, call):
        """GET /v2/organizations/roles/{roleId}."""
        self.require(caller, "org-role-read")
        return json_reply(200, self.render_role(self.known_role(caller, call.params["roleId"])))

    def known_role(self, caller, role_id):
        """A role of the caller's scope, or a 404."""
        role = self.find_role(caller["orgId"], role_id)
        if role is None:
            raise ApiError(404, "role %s not found" % role_id)
        return role

    def create_role(self, caller, call):
        """POST /v2/organizations/roles."""
        self.require(caller, "org-role-write")
        role = self.role_from_body(caller, parse_body(call.body), None)
        role["id"] = self.rand.uuid()
        self.custom_roles[caller["orgId"]][role["id"]] = role
        return json_reply(201, self.render_role(role))

    def update_role(self, caller, call):
        """PUT /v2/organizations/roles/{roleId}: full replace of a custom role."""
        self.require(caller, "org-role-write")
        old = self.known_role(caller, call.params["roleId"])
        if old["builtin"]:
            raise ApiError(400, "built-in roles cannot be changed")
        role = self.role_from_body(caller, parse_body(call.body), old["id"])
        role["id"] = old["id"]
        self.custom_roles[caller["orgId"]][old["id"]] = role
        return json_reply(200, self.render_role(role))

    def delete_role(self, caller, call):
        """DELETE /v2/organizations/roles/{roleId}."""
        self.require(caller, "org-role-delete")
        role = self.known_role(caller, call.params["roleId"])
        if role["builtin"]:
            raise ApiError(400, "built-in roles cannot be deleted")
        del self.custom_roles[caller["orgId"]][role["id"]]
        return Reply(204)

    def role_from_body(self, caller, data, own_id):
        """Validate a {name, policy} body into a custom role record (409 on a taken name)."""
        name = data.get("name")
        policy = data.get("policy")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "name is required")
        if not isinstance(policy, dict):
            raise ApiError(400, "policy is required")
        actions = policy.get("actions")
        resources = policy.get("resources", [])
        if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
            raise ApiError(400, "policy.actions must be a non-empty list")
        unknown = [a for a in actions if a not in KNOWN_ORG_ACTIONS]
        if unknown:
            raise ApiError(400, "unknown action(s): %s" % ", ".join(unknown))
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise ApiError(400, "policy.resources must be a list of strings")
        if policy.get("effect", "allow") != "allow":
            raise ApiError(400, "policy.effect must be 'allow'")
        description = policy.get("description", "")
        if not isinstance(description, str):
            raise ApiError(400, "policy.description must be a string")
        for role in self.roles_of(caller["orgId"]):
            if role["id"] != own_id and role["name"].lower() == name.strip().lower():
                raise ApiError(409, "a role named %s already exists" % role["name"])
        return {"id": own_id, "name": name.strip(), "description": description, "resources": resources,
                "actions": actions, "effect": "allow", "builtin": False, "orgId": caller["orgId"],
                "updated": fmt_ms(time.time_ns())}

    # -- dispatch ----------------------------------------------------------

    def handle_api(self, handler_name, auth_header, call):
        """Run one API handler under the lock; returns a Reply or a payload to serialise outside it."""
        with self.lock:
            caller = self.authenticate(auth_header)
            return getattr(self, handler_name)(caller, call)

    def error_reply(self, error, headers=None, family=None):
        """Render an ApiError in the configured shape (envelope, bare JSON string or text/plain): the shape of the
        endpoint family in error_shapes, else error_shape."""
        shape = self.config["error_shapes"].get(family) or self.config["error_shape"]
        if shape == "string":
            return Reply(error.status, json.dumps(error.message).encode("utf-8"), headers=headers)
        if shape == "text":
            return Reply(error.status, error.message.encode("utf-8"), "text/plain; charset=utf-8", headers)
        body = {"errors": [{"ID": error.code, "message": error.message}]}
        return Reply(error.status, json.dumps(body).encode("utf-8"), headers=headers)

    def record(self, method, path, route, status, fault_id=None):
        """Count a request (never an admin one)."""
        key = "%s %s" % (method, route or path)
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.log.append({"method": method, "path": path, "route": route or path, "status": status,
                             "ts": time.time(), "fault": fault_id})

    def take_fault(self, method, path):
        """The first matching fault rule, consuming one of its `times`."""
        with self.lock:
            for rule in self.faults:
                if rule["method"] and rule["method"] != method:
                    continue
                if rule["path"] and not path.startswith(rule["path"]):
                    continue
                if rule["times"] > 0:
                    rule["times"] -= 1
                    rule["hits"] += 1
                elif rule["times"] == 0:
                    continue
                else:
                    rule["hits"] += 1
                return dict(rule)
        return None

    def fault_reply(self, rule, family=None):
        """The injected answer of a status fault rule."""
        status = rule["status"]
        headers = {}
        if rule["retry_after"] is not None:
            headers["Retry-After"] = str(rule["retry_after"])
        content_type = rule["content_type"]
        body = rule["body"]
        if body is None:
            message = "%s (injected fault)" % HTTP_REASONS.get(status, "error")
            if content_type == "text/html":
                html = "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>" % (
                    status, HTTP_REASONS.get(status, ""), status, HTTP_REASONS.get(status, ""))
                return Reply(status, html.encode("utf-8"), "text/html", headers)
            with self.lock:
                return self.error_reply(ApiError(status, message, 340500), headers, family)
        if isinstance(body, str) and content_type != "application/json":
            raw = body.encode("utf-8")
        else:
            raw = json.dumps(body).encode("utf-8")
        return Reply(status, raw, content_type, headers)


# ---------------------------------------------------------------------------
# Admin routes
# ---------------------------------------------------------------------------


class Admin:
    """The test controls under /_emulator (no auth, never counted, never faulted)."""

    def __init__(self, world):
        self.world = world

    def handle(self, method, path, raw):
        """Dispatch an admin request; returns a Reply."""
        name = "%s_%s" % (method.lower(), path[len(ADMIN_PREFIX):].strip("/").replace("-", "_"))
        handler = getattr(self, "route_" + name, None)
        if handler is None:
            return json_reply(404, {"error": "unknown admin route %s %s" % (method, path)})
        try:
            data = parse_body(raw, admin=True)
            with self.world.lock:
                return json_reply(200, handler(data))
        except AdminError as exc:
            return json_reply(exc.status, {"error": exc.message})
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return json_reply(400, {"error": "bad admin request: %s" % exc})

    # -- simple views ------------------------------------------------------

    def route_get_requests(self, _data):
        """Request counts per templated route, and the log."""
        return {"counts": dict(self.world.counts), "log": list(self.world.log)}

    def route_post_reset(self, _data):
        """Back to the initial world."""
        self.world.reset()
        return {"ok": True}

    def route_post_reset_counts(self, _data):
        """Clear counts and log only."""
        self.world.reset_counts()
        return {"ok": True}

    def route_get_state(self, _data):
        """Everything but secrets."""
        world = self.world
        orgs = {}
        for org_id, org in world.orgs.items():
            orgs[org_id] = dict(org, custom_roles=[world.render_role(r) for r in world.custom_roles[org_id].values()])
        tokens = [{"clientId": rec["clientId"], "orgId": rec["orgId"], "enterprise": rec["enterprise"],
                   "roles": list(rec["roles"]), "description": rec["description"],
                   "generatedOn": fmt_ms(rec["generatedOn"]), "tokenExpiry": fmt_ms(rec["tokenExpiry"])}
                  for rec in world.tokens.values()]
        members = [org_id for org_id, org in world.orgs.items() if org["enterprise_id"]]
        return {"orgs": orgs, "org_ids": dict(world.org_keys, enterprise=world.enterprise["id"]),
                "enterprise": dict(world.enterprise, members=members), "tokens": tokens,
                "config": dict(world.config)}

    def route_get_secrets(self, _data):
        """Every secret and token string issued since start, for leak scans."""
        return {"secrets": list(self.world.issued)}

    def route_get_config(self, _data):
        """The current settings."""
        return dict(self.world.config)

    def route_post_config(self, data):
        """Merge settings after validating every one; a "profile" first sets the shape settings it bundles (on top of
        the defaults), then the other settings given apply."""
        merged = dict(self.world.config)
        if "profile" in data:
            name = data["profile"]
            if name not in PROFILES:
                raise AdminError(400, "profile must be one of %s" % sorted(PROFILES))
            for key in ("role_key_case", "role_policy", "role_type", "error_shape", "error_shapes",
                        "bad_token_status"):
                merged[key] = DEFAULT_CONFIG[key]
            merged.update(PROFILES[name])
            merged["profile"] = name
        for key, value in data.items():
            if key != "profile":
                merged[key] = check_config(key, value)
        self.world.config = merged
        return dict(merged)

    # -- faults ------------------------------------------------------------

    def route_get_faults(self, _data):
        """The fault rules and how often each fired."""
        return {"faults": [dict(rule) for rule in self.world.faults]}

    def route_post_faults(self, data):
        """Add a fault rule."""
        rule = make_fault(data)
        self.world.fault_seq += 1
        rule["id"] = self.world.fault_seq
        self.world.faults.append(rule)
        return {"id": rule["id"]}

    def route_delete_faults(self, _data):
        """Clear every fault rule."""
        self.world.faults = []
        return {"ok": True}

    # -- tokens ------------------------------------------------------------

    def route_post_tokens(self, data):
        """Mint one token without counting; accepts role names."""
        scope, enterprise = self.scope_of(data.get("org", "default"))
        roles = self.role_ids(scope, data.get("roles", ["Organization Administrator"]))
        generated, expiry = self.times_of(data)
        if not isinstance(data.get("description", ""), str):
            raise AdminError(400, "description must be a string")
        active = time.time_ns() + int(float(data.get("active_in", 0)) * NS) if data.get("active_in") else 0
        rec = self.world.new_token(scope, enterprise, roles, data.get("description", ""), generated, expiry, active)
        self.world.store(rec)
        return World.create_response(rec, True)

    def route_post_databases(self, data):
        """Add a database to an org (the DevOps API's databases are not emulated beyond GET one): {name, org}."""
        scope, _enterprise = self.scope_of(data.get("org", "default"))
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise AdminError(400, "name must be a non-empty string")
        database_id = self.world.rand.uuid()
        self.world.databases[scope][database_id] = {"id": database_id, "name": name}
        return {"id": database_id, "name": name}

    def route_post_seed(self, data):
        """Add N tokens fast (one batch of randomness, cached list items)."""
        count = data.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0 or count > 1000000:
            raise AdminError(400, "count must be an integer between 0 and 1000000")
        scope, enterprise = self.scope_of(data.get("org", "default"))
        roles = self.role_ids(scope, data.get("roles", ["Organization Administrator"]))
        template = data.get("description", "svc-{i}")
        generated, expiry = self.times_of(data)
        ids, tokens = [], []
        for i, creds in enumerate(self.world.rand.credentials(count)):
            rec = self.world.new_token(scope, enterprise, roles, template.replace("{i}", str(i)),
                                       generated + i * 1000, expiry, creds=creds)
            self.world.store(rec)
            ids.append(rec["clientId"])
            tokens.append(rec["token"])
        resp = {"client_ids": ids}
        if data.get("with_tokens"):
            resp["tokens"] = tokens
        return resp

    def route_post_revoke(self, data):
        """Delete a token without counting."""
        rec = self.world.tokens.get(data.get("client_id"))
        if rec is None:
            raise AdminError(404, "unknown client_id %r" % (data.get("client_id"),))
        self.world.drop_token(rec)
        return {"deleted": rec["clientId"]}

    # -- helpers -----------------------------------------------------------

    def scope_of(self, org):
        """Resolve "default"/"second"/"standalone"/"enterprise" or an id to (scope, enterprise?)."""
        world = self.world
        if org == "enterprise" or org == world.enterprise["id"]:
            return world.enterprise["id"], True
        if org in world.org_keys:
            return world.org_keys[org], False
        if org in world.orgs:
            return org, False
        raise AdminError(400, "unknown org %r" % (org,))

    def role_ids(self, scope, names):
        """Role names (case-insensitive) or ids to ids within a scope."""
        if not isinstance(names, list) or not names:
            raise AdminError(400, "roles must be a non-empty list")
        by_name = dict((role["name"].lower(), role["id"]) for role in self.world.roles_of(scope))
        ids = []
        for name in names:
            if self.world.find_role(scope, name):
                ids.append(name)
            elif isinstance(name, str) and name.lower() in by_name:
                ids.append(by_name[name.lower()])
            else:
                raise AdminError(400, "unknown role %r in %s" % (name, scope))
        return ids

    @staticmethod
    def times_of(data):
        """generatedOn and tokenExpiry (ns) from generated_on/age_days and expiry/expires_in_days."""
        now = time.time_ns()
        try:
            generated = parse_iso(data["generated_on"]) if data.get("generated_on") else now
            generated -= int(float(data.get("age_days") or 0) * DAY_NS)
            expiry = parse_iso(data["expiry"]) if data.get("expiry") else None
            if data.get("expires_in_days") is not None:
                expiry = now + int(float(data["expires_in_days"]) * DAY_NS)
        except (ValueError, TypeError):
            raise AdminError(400, "bad generated_on/age_days/expiry/expires_in_days") from None
        return generated, expiry


def check_config(key, value):
    """Validate one config setting."""
    if key == "error_shapes":
        if not isinstance(value, dict) or any(k not in ERROR_FAMILIES or v not in ERROR_SHAPES for k, v in value.items()):
            raise AdminError(400, "error_shapes must map families %s to shapes %s"
                             % (list(ERROR_FAMILIES), list(ERROR_SHAPES)))
        return dict(value)
    if key == "list_roles_requires":
        if value is not None and value not in KNOWN_ORG_ACTIONS:
            raise AdminError(400, "list_roles_requires must be null or an organization action")
        return value
    if key in CONFIG_CHOICES:
        if value not in CONFIG_CHOICES[key] or isinstance(value, bool):
            raise AdminError(400, "%s must be one of %s" % (key, list(CONFIG_CHOICES[key])))
        return value
    if key in BOOL_CONFIG:
        if not isinstance(value, bool):
            raise AdminError(400, "%s must be a boolean" % key)
        return value
    if key == "activation_delay":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise AdminError(400, "activation_delay must be a number of seconds >= 0")
        return value
    raise AdminError(400, "unknown setting %r" % (key,))


def make_fault(data):
    """Validate a fault rule body."""
    rule = {"method": (data.get("method") or "").upper() or None, "path": data.get("path") or None,
            "times": data.get("times", 1), "status": data.get("status"), "body": data.get("body"),
            "content_type": data.get("content_type", "application/json"), "retry_after": data.get("retry_after"),
            "latency": data.get("latency"), "drop": data.get("drop"), "hits": 0}
    if not isinstance(rule["times"], int) or rule["times"] < -1 or rule["times"] == 0:
        raise AdminError(400, "times must be a positive integer or -1")
    if rule["drop"] not in (None, "before", "after"):
        raise AdminError(400, "drop must be 'before' or 'after'")
    if rule["content_type"] not in ("application/json", "text/plain", "text/html"):
        raise AdminError(400, "content_type must be application/json, text/plain or text/html")
    if rule["latency"] is not None and (not isinstance(rule["latency"], (int, float)) or rule["latency"] < 0):
        raise AdminError(400, "latency must be a number of seconds")
    if rule["status"] is None and rule["drop"] is None and rule["latency"] is None:
        rule["status"] = 503
    if rule["status"] is not None and (not isinstance(rule["status"], int) or not 100 <= rule["status"] <= 599):
        raise AdminError(400, "status must be an HTTP status code")
    return rule


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """One keep-alive connection; the server carries the world."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "AstraEmulator/1.0"
    timeout = 300

    def setup(self):
        """Finish a TLS handshake here, in the connection's thread, not in accept()."""
        super(Handler, self).setup()
        if hasattr(self.connection, "do_handshake"):
            self.connection.do_handshake()

    def version_string(self):
        """The Server header, without the Python version."""
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet unless --verbose."""
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    def do_GET(self):  # pylint: disable=invalid-name
        """Serve GET."""
        self.serve()

    def do_POST(self):  # pylint: disable=invalid-name
        """Serve POST."""
        self.serve()

    def do_PUT(self):  # pylint: disable=invalid-name
        """Serve PUT."""
        self.serve()

    def do_DELETE(self):  # pylint: disable=invalid-name
        """Serve DELETE."""
        self.serve()

    def do_PATCH(self):  # pylint: disable=invalid-name
        """Serve PATCH (always 405 or 404, but counted)."""
        self.serve()

    def read_body(self):
        """The request body (Content-Length or chunked), always drained to keep the connection usable."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def serve(self):
        """Admin routes, then faults, then the API."""
        path = self.path.split("?", 1)[0]
        if len(path) > 1:
            path = path.rstrip("/")
        body = self.read_body()
        world = self.server.world
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            self.send(self.server.admin.handle(self.command, path, body))
            return
        route, handler_name, params = match_route(self.command, path)
        rule = world.take_fault(self.command, path)
        if rule and rule["latency"]:
            time.sleep(rule["latency"])
        if rule and rule["drop"] == "before":
            world.record(self.command, path, route, None, rule["id"])
            self.close_connection = True
            return
        if rule and rule["status"] is not None:
            reply = world.fault_reply(rule, error_family(path))
        else:
            reply = self.answer(route, handler_name, params, body)
        world.record(self.command, path, route, reply.status, rule["id"] if rule else None)
        if rule and rule["drop"] == "after":
            self.close_connection = True
            return
        self.send(reply)

    def answer(self, route, handler_name, params, body):
        """Run the API handler; unknown routes 404, wrong methods 405, bugs 500."""
        world = self.server.world
        try:
            if route is None:
                raise ApiError(404, "no such endpoint: %s" % self.path.split("?", 1)[0])
            if handler_name is None:
                raise ApiError(405, "method %s not allowed on %s" % (self.command, route))
            call = Call(params, body, route.startswith("/v2/clientIdSecrets"))
            result = world.handle_api(handler_name, self.headers.get("Authorization"), call)
        except ApiError as exc:
            with world.lock:
                return world.error_reply(exc, family=error_family(route or ""))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            with world.lock:
                return world.error_reply(ApiError(500, "internal emulator error: %s" % exc),
                                         family=error_family(route or ""))
        return result if isinstance(result, Reply) else json_reply(200, result)

    def send(self, reply):
        """Write a reply with Content-Length so keep-alive works."""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status not in (204, 304):
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.status not in (204, 304) and reply.body:
            self.wfile.write(reply.body)


class Server(ThreadingHTTPServer):
    """Threaded server that carries the world and stays quiet about dropped clients."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, world, verbose=False):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.world = world
        self.admin = Admin(world)
        self.verbose = verbose
        ThreadingHTTPServer.__init__(self, address, Handler)

    def handle_error(self, request, client_address):
        """Clients that hang up (or fail TLS) are normal here; other errors go to stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) and not self.verbose:
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


def wrap_tls(server, cert, key):
    """Serve HTTPS with the given certificate; the handshake runs in the handler thread."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)


def public_url(host, port, tls):
    """The URL clients use; a wildcard bind is reached through loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s:%d" % ("https" if tls else "http", host, port)


def write_ready(path, info):
    """Write the ready-file atomically (tmp file + rename in the same folder)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(info, handle)
    os.replace(tmp, path)


def parse_args(argv):
    """Command line, as in README.md."""
    parser = argparse.ArgumentParser(description="Local Astra DevOps API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--max-lifetime", type=float, default=3600)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


def main(argv=None):
    """Bind, announce through the ready-file, serve until SIGTERM/SIGINT or --max-lifetime."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    world = World(args.seed)
    server = Server((args.host, args.port), world, args.verbose)
    tls = bool(args.tls_cert)
    if tls:
        wrap_tls(server, args.tls_cert, args.tls_key)
    info = {"url": public_url(args.host, server.server_address[1], tls), "admin_token": world.bootstrap["token"],
            "org_id": world.org_id, "pid": os.getpid(), "admin_prefix": ADMIN_PREFIX,
            "port": server.server_address[1], "tls": tls, "second_org_id": world.org_keys["second"],
            "standalone_org_id": world.org_keys["standalone"], "enterprise_id": world.enterprise["id"],
            "admin_client_id": world.bootstrap["clientId"]}

    def stop(*_args):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(args.max_lifetime, stop)
    timer.daemon = True
    timer.start()
    if args.ready_file:
        write_ready(args.ready_file, info)
    else:
        print(json.dumps(info), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        timer.cancel()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
