# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: token_audit
short_description: Audit findings for Astra application tokens
version_added: 1.0.0
author:
  - astra.devops contributors
description:
  - Takes the C(tokens) that M(astra.devops.astra_token_info) returns and the C(roles) that
    M(astra.devops.astra_role_info) returns, and gives back a table of every token and the audit findings.
  - Each check applies to every token that is not ignored, so one token can have several findings.
  - V(never_expires) is a token without expiry.
  - V(old) is a token created O(max_age_days) whole days ago or more.
  - V(expiring_soon) is a token not yet expired that expires within O(expiring_within_days) whole days
    (its C(expires_in_days) is at most that number).
  - V(expired) is a token whose expiry has passed (the API still lists it).
  - V(privileged) is a token holding a role whose actions include one of O(privileged_actions), the rights to
    manage tokens or roles. The finding names the roles and the rights. A role id the role list does not know
    does not count as privileged.
  - V(wide_scoped_role) is a token holding a custom role named as the portal names a database-scoped role
    (C(<database name> Database Administrator)) that reaches every database (a C(db:*) resource).
  - V(deleted_role) is a token holding a role id that the role list does not know, a role deleted (for example with
    M(astra.devops.astra_role) and C(force)) while the token held it. The token has none of its permissions, and a
    rotation cannot carry the role over. The finding names the role ids. With an empty role list nothing is
    compared, so no token gets it.
  - Each token's row has C(reach), what its roles reach, V(all databases), V(databases) (then C(databases) lists
    their ids) or V(no database), read from the roles' resources (custom roles resolved by id).
  - V(multiple_in_family) is a description held by more than one token, an unfinished rotation or a duplicate.
    There is one finding per description, listing every client id; tokens without a description are not grouped.
  - Ages and expiries are the C(age_days), C(expired) and C(expires_in_days) of M(astra.devops.astra_token_info),
    computed when the tokens were listed, so the filter itself does not depend on the clock.
  - The filter sees no secret; its result holds client ids, descriptions, role names and dates only.
positional: roles
options:
  _input:
    description: The C(tokens) list of M(astra.devops.astra_token_info).
    type: list
    elements: dict
    required: true
  roles:
    description:
      - The C(roles) list of M(astra.devops.astra_role_info), to read the actions of each token's roles.
    type: list
    elements: dict
    required: true
  max_age_days:
    description:
      - Tokens this many whole days old or older get an V(old) finding.
    type: int
    default: 90
  expiring_within_days:
    description:
      - Tokens that expire within this many whole days get an V(expiring_soon) finding.
    type: int
    default: 30
  privileged_actions:
    description:
      - The role actions that make a token V(privileged).
      - The default lists the rights to create or delete tokens and to change roles. Reading tokens
        (C(org-token-read)) is not among them, since the API never returns a secret after creation.
    type: list
    elements: str
    default: [org-token-write, org-role-write, org-role-delete, enterprise-token-write]
  ignore_descriptions:
    description:
      - Tokens with one of these descriptions (exact match) get no finding, such as a known break-glass
        administrator token. They still appear in the table, marked as ignored.
    type: list
    elements: str
    default: []
  ignore_client_ids:
    description:
      - Tokens with one of these client ids get no finding. They still appear in the table, marked as ignored.
    type: list
    elements: str
    default: []
seealso:
  - module: astra.devops.astra_token_info
  - module: astra.devops.astra_role_info
'''

EXAMPLES = r'''
- name: List every token
  astra.devops.astra_token_info:
  register: audit_tokens

- name: List every role
  astra.devops.astra_role_info:
  register: audit_roles

- name: Compute the findings, with a stricter age limit and the portal's admin token exempted
  ansible.builtin.set_fact:
    audit: "{{ audit_tokens.tokens | astra.devops.token_audit(audit_roles.roles, max_age_days=60,
               ignore_descriptions=['bootstrap (portal)']) }}"

- name: Show the number of findings of each kind
  ansible.builtin.debug:
    msg: "{{ audit.counts }}"
'''

RETURN = r'''
_value:
  description: The audit.
  type: dict
  contains:
    tokens:
      description: Every token of the input, in the input's order.
      type: list
      elements: dict
      contains:
        client_id:
          description: The client id.
          type: str
        description:
          description: The description, empty when it has none.
          type: str
        role_names:
          description: The names of the token's roles (an id the role list does not know stays an id).
          type: list
          elements: str
        generated_on:
          description: When the token was created.
          type: str
        age_days:
          description: Whole days since creation, null when unknown.
          type: int
        expiry:
          description: When the token expires, null when it never expires.
          type: str
        expires_in_days:
          description: Whole days until the expiry (negative once expired), null when it never expires.
          type: int
        expired:
          description: Whether the expiry has passed.
          type: bool
        ignored:
          description: Whether the token is exempt from findings.
          type: bool
        reach:
          description: What the token's roles reach, V(all databases), V(databases) or V(no database).
          type: str
        databases:
          description: With RV(_value.tokens[].reach=databases), the ids of the databases reached.
          type: list
          elements: str
        findings:
          description: The kinds of the findings about this token.
          type: list
          elements: str
    findings:
      description: The findings, grouped by kind in the order of RV(_value.counts), then in token order.
      type: list
      elements: dict
      contains:
        kind:
          description: >-
            V(never_expires), V(old), V(expiring_soon), V(expired), V(privileged), V(wide_scoped_role),
            V(deleted_role) or V(multiple_in_family).
          type: str
        client_ids:
          description: The client ids concerned, one except for V(multiple_in_family).
          type: list
          elements: str
        description:
          description: The description of the token (or of the family).
          type: str
        detail:
          description: A sentence saying what was found.
          type: str
          sample: created 120 days ago, at least 90 days
        roles:
          description: For V(privileged), the names of the roles that grant the rights.
          type: list
          elements: str
          returned: for V(privileged)
        actions:
          description: For V(privileged), the privileged actions those roles grant.
          type: list
          elements: str
          returned: for V(privileged)
        role_ids:
          description: For V(deleted_role), the ids of the roles that no longer exist.
          type: list
          elements: str
          returned: for V(deleted_role)
    counts:
      description: The number of findings of each kind, every kind present (zero when none).
      type: dict
      sample: {never_expires: 2, old: 1, expiring_soon: 0, expired: 0, privileged: 1, wide_scoped_role: 0,
               deleted_role: 1, multiple_in_family: 1}
    total:
      description: The number of findings.
      type: int
    token_count:
      description: The number of tokens audited, ignored ones included.
      type: int
    ignored_count:
      description: The number of ignored tokens.
      type: int
    settings:
      description: The thresholds, privileged actions and ignore lists used.
      type: dict
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.astra.devops.plugins.module_utils._custom_roles import SCOPED_NAME, reach

KINDS = ("never_expires", "old", "expiring_soon", "expired", "privileged", "wide_scoped_role", "deleted_role",
         "multiple_in_family")
DEFAULT_PRIVILEGED_ACTIONS = ("org-token-write", "org-role-write", "org-role-delete", "enterprise-token-write")


def _days(value, name):
    if isinstance(value, bool):
        raise AnsibleFilterError("token_audit: %s must be a whole number of days, not %r" % (name, value))
    try:
        number = int(to_text(value).strip())
    except (TypeError, ValueError):
        raise AnsibleFilterError("token_audit: %s must be a whole number of days, not %r" % (name, value))
    if number < 0:
        raise AnsibleFilterError("token_audit: %s must not be negative, got %d" % (name, number))
    return number


def _strings(value, name):
    """A list of strings; None is empty and one string is a list of one."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("token_audit: %s must be a list of strings" % name)
    return [to_text(item) for item in value if item is not None]


def _records(value, name, key):
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("token_audit: %s must be a list (the result's %s), not %s"
                                 % (name, name, type(value).__name__))
    for item in value:
        if not isinstance(item, dict) or key not in item:
            raise AnsibleFilterError("token_audit: every item of %s must be a dict with %s" % (name, key))
    return value


def _plural(number, word):
    return "%d %s%s" % (number, word, "" if number == 1 else "s")


def _finding(kind, token, detail, **extra):
    finding = {"kind": kind, "client_ids": [token["client_id"]], "description": token["description"], "detail": detail}
    finding.update(extra)
    return finding


def _role_names(token, roles_by_id):
    """The module's role_names; for a record without them, the names looked up by id."""
    if token.get("role_names") is not None:
        return list(token["role_names"])
    names = []
    for role_id in token.get("roles") or []:
        role = roles_by_id.get(to_text(role_id).lower())
        names.append(role.get("name") if role and role.get("name") else to_text(role_id))
    return names


def _privileges(token, roles_by_id, privileged):
    """(role names, actions) of the token's roles that grant one of the privileged actions."""
    names, actions = [], []
    for role_id in token.get("roles") or []:
        role = roles_by_id.get(to_text(role_id).lower())
        if role is None:
            continue
        granted = [a for a in role.get("actions") or [] if a in privileged]
        if granted:
            names.append(role.get("name") or to_text(role_id))
            actions.extend(a for a in granted if a not in actions)
    return names, sorted(actions)


def _reach(token, roles_by_id):
    """(reach, database ids) of the token's roles; a role id the list does not know counts as reaching nothing."""
    databases = []
    for role_id in token.get("roles") or []:
        role = roles_by_id.get(to_text(role_id).lower())
        kind, ids = reach((role or {}).get("resources"))
        if kind == "all":
            return "all databases", []
        databases.extend(i for i in ids if i not in databases)
    return ("databases", databases) if databases else ("no database", [])


def _wide_scoped_roles(token, roles_by_id):
    """Names of the token's custom roles named for one database that reach every database."""
    names = []
    for role_id in token.get("roles") or []:
        role = roles_by_id.get(to_text(role_id).lower())
        if role and not role.get("built_in") and SCOPED_NAME.match(to_text(role.get("name") or "")) \
                and reach(role.get("resources"))[0] == "all":
            names.append(to_text(role["name"]))
    return names


def _deleted_roles(token, roles_by_id):
    """The token's role ids that the role list does not know (lower case); none when there is no list to compare."""
    if not roles_by_id:
        return []
    return [to_text(role_id).lower() for role_id in token.get("roles") or []
            if to_text(role_id).lower() not in roles_by_id]


def token_audit(tokens, roles, max_age_days=90, expiring_within_days=30, privileged_actions=None,
                ignore_descriptions=None, ignore_client_ids=None):
    tokens = _records(tokens, "tokens", "client_id")
    roles = _records(roles, "roles", "id")
    max_age = _days(max_age_days, "max_age_days")
    within = _days(expiring_within_days, "expiring_within_days")
    privileged = _strings(DEFAULT_PRIVILEGED_ACTIONS if privileged_actions is None else privileged_actions,
                          "privileged_actions")
    ignored_descriptions = set(_strings(ignore_descriptions, "ignore_descriptions"))
    ignored_ids = set(_strings(ignore_client_ids, "ignore_client_ids"))
    roles_by_id = dict((to_text(role["id"]).lower(), role) for role in roles)

    rows, by_kind, families = [], dict((kind, []) for kind in KINDS), {}
    for token in tokens:
        description = to_text(token.get("description") or "")
        row = {
            "client_id": to_text(token["client_id"]),
            "description": description,
            "role_names": _role_names(token, roles_by_id),
            "generated_on": token.get("generated_on"),
            "age_days": token.get("age_days"),
            "expiry": token.get("expiry"),
            "expires_in_days": token.get("expires_in_days"),
            "expired": bool(token.get("expired")),
            "ignored": description in ignored_descriptions or to_text(token["client_id"]) in ignored_ids,
            "findings": [],
        }
        row["reach"], row["databases"] = _reach(token, roles_by_id)
        rows.append(row)
        if row["ignored"]:
            continue
        if row["expiry"] is None:
            by_kind["never_expires"].append(_finding("never_expires", row, "never expires"))
        if row["age_days"] is not None and row["age_days"] >= max_age:
            by_kind["old"].append(_finding("old", row, "created %s ago, at least %s" % (
                _plural(row["age_days"], "day"), _plural(max_age, "day"))))
        if row["expired"]:
            by_kind["expired"].append(_finding("expired", row, "expired on %s" % row["expiry"]))
        elif row["expires_in_days"] is not None and row["expires_in_days"] <= within:
            by_kind["expiring_soon"].append(_finding("expiring_soon", row, "expires on %s, in %s (within %s)" % (
                row["expiry"], _plural(row["expires_in_days"], "day"), _plural(within, "day"))))
        names, actions = _privileges(token, roles_by_id, privileged)
        if names:
            by_kind["privileged"].append(_finding("privileged", row, "holds %s, which can %s" % (
                ", ".join(names), ", ".join(actions)), roles=names, actions=actions))
        for name in _wide_scoped_roles(token, roles_by_id):
            by_kind["wide_scoped_role"].append(_finding("wide_scoped_role", row, (
                "holds the custom role '%s', named for one database, which reaches every database (db:*)" % name),
                roles=[name]))
        deleted = _deleted_roles(token, roles_by_id)
        if deleted:
            by_kind["deleted_role"].append(_finding("deleted_role", row, (
                "holds the role %s, which no longer exists: the token has none of its permissions, and a rotation "
                "cannot carry it over (give the family its roles with token_rotation_roles)" % ", ".join(deleted)),
                role_ids=deleted))
        if description:
            families.setdefault(description, []).append(row)

    for description, members in families.items():
        if len(members) > 1:
            by_kind["multiple_in_family"].append({
                "kind": "multiple_in_family",
                "client_ids": [member["client_id"] for member in members],
                "description": description,
                "detail": "%d tokens share this description: an unfinished rotation or a duplicate" % len(members),
            })

    findings = [finding for kind in KINDS for finding in by_kind[kind]]
    by_client_id = dict((row["client_id"], row) for row in rows)
    for finding in findings:
        for client_id in finding["client_ids"]:
            by_client_id[client_id]["findings"].append(finding["kind"])
    return {
        "tokens": rows,
        "findings": findings,
        "counts": dict((kind, len(by_kind[kind])) for kind in KINDS),
        "total": len(findings),
        "token_count": len(rows),
        "ignored_count": sum(1 for row in rows if row["ignored"]),
        "settings": {
            "max_age_days": max_age,
            "expiring_within_days": within,
            "privileged_actions": privileged,
            "ignore_descriptions": sorted(ignored_descriptions),
            "ignore_client_ids": sorted(ignored_ids),
        },
    }


class FilterModule(object):
    """The token audit filter."""

    def filters(self):
        return {"token_audit": token_audit}
