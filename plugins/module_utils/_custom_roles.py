# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Custom roles (astra_role): the checks of actions, resources (DRNs) and databases, the DRNs a database scope needs,
and what a change to a role does to the tokens that hold it. No API call here: _api_roles.RoleApi makes them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._records import role_id_key
from ansible_collections.astra.devops.plugins.module_utils._roles import names_role

# The actions the API is known to accept (see docs/api-notes.md, Roles: the OpenAPI file and the roles clients have
# seen).
ACTIONS = frozenset((
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
))

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NAME = r"[A-Za-z0-9_]{1,48}"  # a CQL keyspace or table name, unquoted
_DRN = re.compile(r"^drn:astra:org:(?:%s|__ORG_ID__)"
                  r"(?::db:(?:%s|\*)(?::keyspace:(?:%s|\*)(?::table:(?:%s|\*))?)?|:stream:\*|:role:\*)?$"
                  % (_UUID, _UUID, _NAME, _NAME))
_DATABASE_ID = re.compile(r"^%s$" % _UUID)
_CQL_NAME = re.compile(r"^%s$" % _NAME)
_DATABASE_KEYS = ("id", "keyspaces", "tables")


def check_actions(values, option="actions"):
    """A non-empty list of known actions, without repeats (order kept), or an AstraInputError naming the option."""
    if not isinstance(values, (list, tuple)) or not values:
        raise AstraInputError("%s must be a non-empty list of actions (such as db-cql, db-table-select), got '%s'."
                              % (option, shown(values)))
    unknown = [str(value) for value in values if value not in ACTIONS]
    if unknown:
        raise AstraInputError("%s has unknown actions: %s; accepted are the Astra DevOps API's actions, such as "
                              "db-cql, db-table-select, org-db-view (see the astra_role documentation)."
                              % (option, ", ".join(shown(value) for value in unknown)))
    return _unique(values)


def check_resources(values, option="resources"):
    """A list of DRNs (it may be empty: a role that reaches nothing), without repeats."""
    if not isinstance(values, (list, tuple)):
        raise AstraInputError("%s must be a list of resources (DRNs), got '%s'." % (option, shown(values)))
    bad = [value for value in values if not isinstance(value, str) or not _DRN.match(value)]
    if bad:
        raise AstraInputError(
            "%s must hold DRNs such as drn:astra:org:<org id>, drn:astra:org:<org id>:db:<database id|*>, "
            "...:db:<id>:keyspace:<name|*> or ...:keyspace:<name>:table:<name|*>, got '%s'."
            % (option, shown(bad[0])))
    return _unique(values)


def check_databases(values, option="databases"):
    """databases as a list of {id, keyspaces, tables}: each entry a database id, or a mapping narrowing it to
    keyspaces and, within them, tables."""
    if not isinstance(values, (list, tuple)) or not values:
        raise AstraInputError("%s must be a non-empty list of database ids (or of mappings with id, keyspaces and "
                              "tables), got '%s'." % (option, shown(values)))
    checked = []
    for index, value in enumerate(values):
        where = "%s[%d]" % (option, index)
        entry = {"id": value} if isinstance(value, str) else value
        if not isinstance(entry, dict):
            raise AstraInputError("%s must be a database id or a mapping with id, keyspaces and tables, got '%s'."
                                  % (where, shown(value)))
        extra = sorted(str(key) for key in entry if key not in _DATABASE_KEYS)
        if extra:
            raise AstraInputError("%s has unknown keys %s; accepted: id, keyspaces, tables."
                                  % (where, ", ".join(extra)))
        if not isinstance(entry.get("id"), str) or not _DATABASE_ID.match(entry["id"]):
            raise AstraInputError("%s.id must be a database id (a UUID such as "
                                  "5b70892f-e01a-4595-98e6-19ecc9985d50), got '%s'." % (where, shown(entry.get("id"))))
        keyspaces = _names(entry.get("keyspaces"), where + ".keyspaces")
        tables = _names(entry.get("tables"), where + ".tables")
        if tables and not keyspaces:
            raise AstraInputError("%s.tables needs keyspaces: tables are named within the keyspaces listed." % where)
        checked.append({"id": entry["id"].lower(), "keyspaces": keyspaces, "tables": tables})
    return checked


def _names(value, option):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not value:
        raise AstraInputError("%s must be a non-empty list of names, got '%s'." % (option, shown(value)))
    bad = [item for item in value if not isinstance(item, str) or not _CQL_NAME.match(item)]
    if bad:
        raise AstraInputError("%s must hold keyspace or table names (letters, digits and _, at most 48), got '%s'."
                              % (option, shown(bad[0])))
    return _unique(value)


def database_resources(org_id, databases):
    """The DRNs of a role scoped to these databases: the organization (for org-level actions such as org-db-view),
    then for each database its own DRN, its keyspaces (* when not narrowed) and their tables (* when not narrowed):
    every level the API checks, as the portal's database-scoped roles and the Terraform provider's examples have."""
    org = "drn:astra:org:%s" % org_id
    resources = [org]
    for database in databases:
        db = "%s:db:%s" % (org, database["id"])
        resources.append(db)
        for keyspace in database["keyspaces"] or ["*"]:
            resources.append("%s:keyspace:%s" % (db, keyspace))
            for table in database["tables"] or ["*"]:
                resources.append("%s:keyspace:%s:table:%s" % (db, keyspace, table))
    return _unique(resources)


# The end of the description of a role astra_token made for a scoped token: such a role that no token holds any more
# is astra_token's to delete (a role of another name or description is never deleted without being asked for).
SCOPED_MARK = "(astra.devops.astra_token)"


def scoped_role(org_id, databases, builtin):
    """The role the portal makes for a token limited to databases: "<database names> <built-in role name>", with the
    built-in role's actions and the databases' DRNs. databases: [{id, name}] in the order asked."""
    names = ", ".join(database["name"] or database["id"] for database in databases)
    return {"name": "%s %s" % (names, builtin["name"]), "actions": check_actions(builtin["actions"]),
            "description": "%s, limited to the databases %s %s"
                           % (builtin["name"], ", ".join(database["id"] for database in databases), SCOPED_MARK),
            "resources": database_resources(org_id, [{"id": database["id"], "keyspaces": [], "tables": []}
                                                     for database in databases])}


def made_for_a_scoped_token(role):
    """Whether astra_token made this (normalised) role for a token limited to databases."""
    return bool(role) and not role.get("built_in") and str(role.get("description") or "").endswith(SCOPED_MARK)


def other_orgs(resources, org_id):
    """The organization ids that resources name other than org_id (in the order found, lower case); the placeholder
    __ORG_ID__ stands for the caller's organization."""
    found = []
    for resource in resources:
        named = str(resource).split(":")[3].lower()
        if named not in ("__org_id__", str(org_id).lower()) and named not in found:
            found.append(named)
    return found


def database_ids(resources):
    """The database ids that resources name (not *), lower case, in the order found."""
    found = []
    for resource in resources or ():
        match = re.match(r"^drn:astra:org:[^:]+:db:([^:*]+)", str(resource))
        if match and match.group(1).lower() not in found:
            found.append(match.group(1).lower())
    return found


def reach(resources):
    """Which databases a role's resources reach: ('all', []) with a db:* resource (as built-in roles have), ('some',
    [database ids]) or ('none', []) for a role of organization-level actions only."""
    databases = []
    for resource in resources or ():
        match = re.match(r"^drn:astra:org:[^:]+:db:([^:]+)", str(resource))
        if match:
            if match.group(1) == "*":
                return "all", []
            if match.group(1).lower() not in databases:
                databases.append(match.group(1).lower())
    return ("some", databases) if databases else ("none", [])


# The name the portal gives a database-scoped role ("orders Database Administrator"): a role so named that reaches
# every database is scoped wrongly.
SCOPED_NAME = re.compile(r"^\S.* database administrator$", re.IGNORECASE)


def holders_of(tokens, role_id):
    """The client ids of the tokens (normalised records) that hold the role, sorted."""
    wanted = role_id_key(role_id)
    return sorted(token["client_id"] for token in tokens if wanted in [role_id_key(role) for role in token["roles"]])


def change_of(current, wanted):
    """What changes from the role current to wanted (each with description, actions, resources): added and removed
    actions and resources (as sets), and whether the description changes."""
    return {
        "added_actions": sorted(set(wanted["actions"]) - set(current["actions"])),
        "removed_actions": sorted(set(current["actions"]) - set(wanted["actions"])),
        "added_resources": sorted(set(wanted["resources"]) - set(current["resources"])),
        "removed_resources": sorted(set(current["resources"]) - set(wanted["resources"])),
        "description": (current.get("description") or "") != (wanted.get("description") or ""),
    }


def changes(change):
    return any(change[key] for key in change)


def narrows(change):
    return bool(change["removed_actions"] or change["removed_resources"])


def policy_differs(change):
    """Whether actions or resources change (the description aside)."""
    return bool(change["added_actions"] or change["added_resources"] or narrows(change))


def named(roles, name):
    """The role of this name, compared as every role name is (_roles.names_role), or None."""
    return next((role for role in roles if names_role(role, name)), None)


def request_body(role):
    """The body of POST and PUT /v2/organizations/roles for a role (name, description, actions, resources)."""
    return {"name": role["name"], "policy": {"description": role["description"], "effect": "allow",
                                             "actions": list(role["actions"]), "resources": list(role["resources"])}}


def shown_role(role):
    """A role for a diff and the result: name, description, actions and resources sorted (they are sets)."""
    return {"id": role.get("id"), "name": role.get("name"), "description": role.get("description") or "",
            "actions": sorted(role.get("actions") or []), "resources": sorted(role.get("resources") or []),
            "built_in": bool(role.get("built_in"))}


def _unique(values):
    seen, kept = set(), []
    for value in values:
        if value not in seen:
            seen.add(value)
            kept.append(value)
    return kept
