# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time values and API records in one normal form, whatever key casing or precision the API used."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
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


def normalise_token(item, role_names=None):
    """The collection's token metadata from a list item or a create answer; optional fields may be missing."""
    raw = lower_keys(item)
    roles = [str(r) for r in (raw.get("roles") or [])]
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


def normalise_role(item):
    """The collection's role record from either key casing of the API."""
    raw = lower_keys(item)
    policy = lower_keys(raw.get("policy"))
    role_type = str(raw.get("type") or "").lower()
    resources = list(policy.get("resources") or [])
    built_in = role_type in ("built-in", "builtin", "default", "system") or (
        role_type == "" and any("__ORG_ID__" in str(r) for r in resources))
    return {
        "id": _first(raw, "id", "roleid"),
        "name": raw.get("name") or "",
        "description": policy.get("description") or "",
        "effect": policy.get("effect") or "",
        "actions": list(policy.get("actions") or []),
        "resources": resources,
        "built_in": built_in,
    }
