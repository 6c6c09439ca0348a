# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time values and API records in one normal form, whatever key casing or precision the API used."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import re

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown

UTC = datetime.timezone.utc
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Bounds of what a user may give. Beyond them Python's own errors ("int too large", "date value out of range") would
# surface; no token lives longer than a century, and every instant must stay computable (plus a lifetime) in Python.
MAX_DURATION_DAYS = 36500
MAX_DURATION = datetime.timedelta(days=MAX_DURATION_DAYS)
MAX_INSTANT = datetime.datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
DURATION_RANGE = "from 1s up to %dd (100 years), such as 90d, 12h, 30m, 45s or 2w" % MAX_DURATION_DAYS
INSTANT_RANGE = "up to %sZ" % MAX_INSTANT.strftime("%Y-%m-%dT%H:%M:%S")
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def now():
    return datetime.datetime.now(UTC)


def parse_duration(value, option):
    """'90d', '12h', '30m', '45s', '2w' as a timedelta, from 1s to MAX_DURATION; anything else is an input error
    naming the option (the caller's name for it: the role passes its own variable names)."""
    match = _DURATION.match(str(value)) if value is not None else None
    # The digits are bounded before int(): Python refuses to convert very long digit strings.
    seconds = int(match.group(1)) * _DURATION_SECONDS[match.group(2)] if match and len(match.group(1)) <= 12 else 0
    if not 0 < seconds <= MAX_DURATION.total_seconds():
        raise AstraInputError("%s must be a positive duration %s, got '%s'." % (option, DURATION_RANGE, shown(value)))
    return datetime.timedelta(seconds=seconds)


def parse_timestamp(value):
    """An ISO-8601 instant from the API or a user (seconds, milliseconds or nanoseconds) as aware UTC; None if not one."""
    if not value or not isinstance(value, str):
        return None
    match = _ISO.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        stamp = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                  int(second or 0), micro, tzinfo=UTC)
        if zone and zone.upper() != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            if int(digits[:2]) > 23 or int(digits[2:]) > 59:
                return None
            stamp -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    except (ValueError, OverflowError):  # a field out of range, or an offset past year 1 or 9999
        return None
    return stamp


def format_timestamp(stamp):
    """The one output form: seconds precision, Z suffix."""
    if stamp is None:
        return None
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_expiry(value, option="expiry", reference=None):
    """An absolute instant (kept) or a duration from now; returns (instant, is_relative). Past instants and
    instants or durations out of range are refused, naming the option."""
    reference = reference or now()
    if _DURATION.match(str(value)):
        return reference + parse_duration(value, option), True
    stamp = parse_timestamp(value) if isinstance(value, str) else None
    if stamp is None:
        raise AstraInputError(
            "%s must be a valid ISO-8601 instant %s, such as 2027-01-31T00:00:00Z, or a duration %s; got '%s'."
            % (option, INSTANT_RANGE, DURATION_RANGE, shown(value)))
    if stamp <= reference:
        raise AstraInputError("%s must be a future instant or a duration such as 90d, got '%s', which is in the past."
                              % (option, shown(value)))
    if stamp > MAX_INSTANT:
        raise AstraInputError("%s must be an instant %s or a duration %s, got '%s'."
                              % (option, INSTANT_RANGE, DURATION_RANGE, shown(value)))
    return stamp, False


def lower_keys(record):
    """A copy of a dict with lower-case keys, so ID/Name/Policy and id/name/policy read alike."""
    return dict((str(k).lower(), v) for k, v in (record or {}).items())


def _first(record, *keys):
    for key in keys:
        if record.get(key) is not None:
            return record[key]
    return None


def role_id_key(value):
    """A role id in the one form the collection compares and sends: no spaces around it, lower case (the API's ids
    are UUIDs; the Terraform provider lower-cases them too, so 'AD05...' and 'ad05...' are one role)."""
    return str(value).strip().lower()


def normalise_token(item, role_names=None):
    """The collection's token metadata from a list item or a create answer; optional fields may be missing. Role ids
    are in lower case (role_id_key)."""
    raw = lower_keys(item)
    roles = [role_id_key(r) for r in (raw.get("roles") or [])]
    generated = parse_timestamp(_first(raw, "generatedon", "generated_on"))
    expiry = parse_timestamp(_first(raw, "tokenexpiry", "token_expiry", "expiry"))
    return {
        "client_id": _first(raw, "clientid", "client_id"),
        "description": raw.get("description") or "",
        "roles": roles,
        "role_names": [role_names.get(r, r) for r in roles] if role_names is not None else None,
        "generated_on": format_timestamp(generated),
        "expiry": format_timestamp(expiry),
        "org_id": _first(raw, "orgid", "org_id"),
    }


def token_ages(token, reference=None):
    """age_days, expired and expires_in_days for a normalised token (whole days, rounded down)."""
    reference = reference or now()
    generated = parse_timestamp(token.get("generated_on"))
    expiry = parse_timestamp(token.get("expiry"))
    age_days = (reference - generated).days if generated else None
    if expiry is None:
        return {"age_days": age_days, "expired": False, "expires_in_days": None}
    return {"age_days": age_days, "expired": expiry <= reference, "expires_in_days": (expiry - reference).days}


# The role Type values that mean built-in: "default" (DataStax's "Managing roles" reference), "built-in" (older docs).
BUILT_IN_TYPES = ("built-in", "builtin", "default", "system")


def _policy(value):
    """A role's policy as a dict with lower-case keys: the API gives an object (the OpenAPI file, the Java SDK) or a
    string holding the JSON object (DataStax's "Managing roles" reference); anything unreadable is an empty policy."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return {}
    return lower_keys(value) if isinstance(value, dict) else {}


def _string_list(value):
    """A list of strings from a list (or a single string) of the API; anything else is empty."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if item is not None]
    return []


def normalise_role(item):
    """The collection's role record from every shape of the API: keys in any case (id/name/policy of the OpenAPI
    file, ID/Name/Policy/Type/OrgID of the Java SDK and astra-cli, ID/Name/Type with a lower-case policy of the
    reference), the policy as an object or a JSON string, Type default/built-in/custom or none. The id is in lower
    case (role_id_key)."""
    raw = lower_keys(item)
    policy = _policy(raw.get("policy"))
    role_type = str(raw.get("type") or "").strip().lower()
    resources = _string_list(policy.get("resources"))
    if role_type:
        built_in = role_type in BUILT_IN_TYPES
    else:  # no Type (the OpenAPI shape): built-in roles are the ones scoped with the __ORG_ID__ placeholder
        built_in = any("__ORG_ID__" in r for r in resources)
    role_id = _first(raw, "id", "roleid", "role_id")
    return {
        "id": role_id_key(role_id) if role_id is not None else None,
        "name": str(raw.get("name") or ""),
        "description": str(policy.get("description") or ""),
        "effect": str(policy.get("effect") or ""),
        "actions": _string_list(policy.get("actions")),
        "resources": resources,
        "built_in": built_in,
    }
