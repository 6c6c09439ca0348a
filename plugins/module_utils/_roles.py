# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role lookup: the API's names, the portal's longer names (any case) and role ids all lead to one role id. Role
names compare with names_role, role ids with _records.role_id_key, everywhere. No API call here (_api_roles.RoleApi)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._records import role_id_key

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# The API abbreviates what the portal spells out ("R/W Svc Acct" is "Read/Write Service Account").
_WORDS = {
    "svc": "service", "acct": "account", "ro": "read only", "r/w": "read/write", "rw": "read/write",
    "admin": "administrator", "read-only": "read only", "read-write": "read/write",
}


def is_role_id(value):
    return bool(_UUID.match(str(value).strip()))


def role_key(name):
    """A spelling-independent key for a role name."""
    words = str(name).strip().lower().replace("_", " ").split()
    return " ".join(_WORDS.get(word, word) for word in words)


def names_role(role, name):
    """Whether name names role, the one rule for every role name. Any letter case, spaces around ignored (the API
    refuses a second role of the same name in another case); a built-in role also by the portal's spelled-out name
    (role_key). A custom role is never found by an abbreviation or a spelling: 'svc reader' must not find, change
    or delete 'Service Reader'."""
    if role.get("built_in"):
        return role_key(role["name"]) == role_key(name)
    return str(role["name"]).strip().lower() == str(name).strip().lower()


def names_by_id(roles):
    return dict((role["id"], role["name"]) for role in roles)


def check_role_id(value, option="id"):
    """A role id is a UUID; anything else (a name, a number, a dict turned into text) is an input error."""
    if value is not None and not is_role_id(value):
        raise AstraInputError(
            "%s must be a role id (a UUID such as b4ed0e9e-67e8-47b6-8b58-c6629be961a9), got '%s'; "
            "use name to look a role up by its name." % (option, shown(value)))


def check_role_list(values, option="roles"):
    """Shape checks that need no API call: not empty, no blanks, no duplicates (one role in two spellings too).
    Returns the names with spaces around them removed: 'a, b' given as one string arrives as ['a', ' b']."""
    if not values:
        raise AstraInputError(
            "%s must name at least one role (an API name, a portal name or a role id), got an empty list." % option)
    seen = {}
    for value in values:
        if not str(value).strip():
            raise AstraInputError("%s must not contain empty entries, got '%s'; give role names or ids."
                                  % (option, shown(value)))
        key = role_id_key(value) if is_role_id(value) else role_key(value)
        if key in seen:
            raise AstraInputError("%s must name each role once, got one role more than once: '%s' and '%s'."
                                  % (option, shown(seen[key]), shown(value)))
        seen[key] = value
    return [str(value).strip() for value in values]


def resolve_roles(values, roles, option="roles"):
    """Role ids for names or ids, in the given order; an unknown or repeated one is an input error."""
    by_id = dict((role_id_key(role["id"]), role["id"]) for role in roles)
    resolved = []
    given = {}
    for value in values:
        text = str(value).strip()
        if is_role_id(text):
            found = by_id.get(role_id_key(text))
        else:
            found = next((role["id"] for role in roles if names_role(role, text)), None)
        if found is None:
            available = ", ".join(sorted(shown(role["name"]) for role in roles))
            raise AstraInputError("%s must name roles of this organization (API or portal names, or role ids), "
                                  "got unknown role '%s'. Known roles: %s." % (option, shown(text), available))
        if found in given:  # a name and the id of the same role
            raise AstraInputError("%s must name each role once, got one role more than once: '%s' and '%s'."
                                  % (option, shown(given[found]), shown(text)))
        given[found] = text
        resolved.append(found)
    return resolved
