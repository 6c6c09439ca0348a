# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time values and API records in one normal form, whatever key casing or precision the API used."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import re

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, scrub_shown, shown

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
# The API's own timestamp shape (see token_stamp), in ASCII digits, from year 1000 (strftime writes earlier years
# with fewer digits), hours 00 to 23.
_API_STAMP = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z\Z")
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


# The API's spellings of each token field (lower case), in the order normalise_token prefers them.
TOKEN_FIELDS = (
    ("client_id", ("clientid", "client_id")),
    ("description", ("description",)),
    ("roles", ("roles",)),
    ("generated_on", ("generatedon", "generated_on")),
    ("expiry", ("tokenexpiry", "token_expiry", "expiry")),
    ("org_id", ("orgid", "org_id")),
)
# Per key layout of a token item (its keys, in their order): for each field, the item's own keys that spell it, in
# TOKEN_FIELDS order. A list answer has one or two layouts, so 10,000 items lower-case their keys once, not 10,000
# times. Bounded, for answers whose items all differ.
_LAYOUTS = {}
_LAYOUTS_MAX = 64


def _layout(item):
    keys = tuple(item)
    layout = _LAYOUTS.get(keys)
    if layout is None:
        spelled = dict((str(key).lower(), key) for key in keys)  # the last of two spellings wins, as in lower_keys
        layout = dict((field, tuple(spelled[name] for name in names if name in spelled))
                      for field, names in TOKEN_FIELDS)
        if len(_LAYOUTS) < _LAYOUTS_MAX:
            _LAYOUTS[keys] = layout
    return layout


def _canonical_stamp(value):
    """(output form, instant) of the API's own shape, 'YYYY-MM-DDTHH:MM:SS[.digits]Z' in ASCII digits from year 1000,
    without the general regular expression, strftime and a second parse: the output form is the text up to the
    seconds plus Z. None for any other shape, or an impossible date, which token_stamp then leaves to parse_timestamp.
    (Hour 24 is left out of the shape: some Python versions read it as midnight of the next day.)"""
    if _API_STAMP.match(value) is None:
        return None
    try:  # the offset in the text, not .replace(tzinfo=UTC): the same instant, five times faster
        instant = datetime.datetime.fromisoformat(value[:19] + "+00:00")
    except ValueError:
        return None
    return value[:19] + "Z", instant


def token_stamp(value):
    """(output form, instant) of a timestamp of the API: the output form is format_timestamp(parse_timestamp(value)),
    the instant is parse_timestamp of that form (seconds precision, what ages and filters compare); (None, None) when
    value is not an instant."""
    if not value or not isinstance(value, str):
        return None, None
    found = _canonical_stamp(value)
    if found is None:
        text = format_timestamp(parse_timestamp(value))
        found = (text, parse_timestamp(text))
    return found


class TokenFields:
    """One token item of the API (a list item or a create answer), read in the normal form of normalise_token one
    field at a time: a filter on the description or client id reads that field only, without copying the item,
    lower-casing its keys, copying its roles or parsing its timestamps; normalised() builds the whole record. Roles and
    timestamps are read once, whichever of the filters and the record asks first."""

    __slots__ = ("item", "keys", "_roles", "_generated", "_expiry")

    def __init__(self, item):
        self.item = item
        self.keys = _layout(item)
        self._roles = self._generated = self._expiry = None

    def raw(self, field):
        """The first value that is not null among the item's spellings of a TOKEN_FIELDS field, else None."""
        item = self.item
        for key in self.keys[field]:
            value = item[key]
            if value is not None:
                return value
        return None

    @property
    def client_id(self):
        return self.raw("client_id")

    @property
    def description(self):
        return self.raw("description") or ""

    @property
    def roles(self):
        """Role ids in lower case (role_id_key)."""
        if self._roles is None:
            self._roles = [role_id_key(r) for r in (self.raw("roles") or [])]
        return self._roles

    @property
    def generated(self):
        """(output form, instant) of the creation time, see token_stamp."""
        if self._generated is None:
            self._generated = token_stamp(self.raw("generated_on"))
        return self._generated

    @property
    def expiry(self):
        """(output form, instant) of the expiry, see token_stamp; (None, None) for a token that never expires."""
        if self._expiry is None:
            self._expiry = token_stamp(self.raw("expiry"))
        return self._expiry

    def normalised(self, role_names=None):
        """The collection's token metadata (normalise_token)."""
        raw, roles = self.raw, self.roles
        return {
            "client_id": raw("client_id"),
            "description": scrub_shown(raw("description") or ""),  # shown: never a secret pasted into it
            "roles": roles,
            "role_names": [role_names.get(r, r) for r in roles] if role_names is not None else None,
            "generated_on": self.generated[0],
            "expiry": self.expiry[0],
            "org_id": raw("org_id"),
        }


def normalise_token(item, role_names=None):
    """The collection's token metadata from a list item or a create answer; optional fields may be missing. Role ids
    are in lower case (role_id_key)."""
    return TokenFields(item or {}).normalised(role_names)


def ages(generated, expiry, reference):
    """age_days, expired and expires_in_days from the creation and expiry instants (whole days, rounded down)."""
    age_days = (reference - generated).days if generated else None
    if expiry is None:
        return {"age_days": age_days, "expired": False, "expires_in_days": None}
    return {"age_days": age_days, "expired": expiry <= reference, "expires_in_days": (expiry - reference).days}


def token_ages(token, reference=None):
    """age_days, expired and expires_in_days for a normalised token (whole days, rounded down)."""
    reference = reference or now()
    return ages(parse_timestamp(token.get("generated_on")), parse_timestamp(token.get("expiry")), reference)


def token_items(data):
    """The token objects of a list answer: the array of its {"clients": [...]} envelope, or a bare array."""
    items = data.get("clients") if isinstance(data, dict) else data
    return [item for item in (items or []) if isinstance(item, dict)]


# The role Type values that mean built-in: "default" (DataStax's "Managing roles" reference), "built-in" (older docs).
BUILT_IN_TYPES = ("built-in", "builtin", "default", "system")
# The built-in roles' names as the API returns them (docs/api-notes.md, Roles), in lower case: without a Type, a role
# is built in when it has one of them and the __ORG_ID__ placeholder. The placeholder alone is not enough: a custom
# role may be written with it (astra_role takes drn:astra:org:__ORG_ID__), and must stay the user's to change.
BUILT_IN_NAMES = frozenset(name.lower() for name in (
    "Organization Administrator", "Database Administrator", "Billing Admin", "Admin User", "Admin Svc Acct",
    "RO User", "R/W User", "RO Svc Acct", "R/W Svc Acct", "API Admin User", "API Admin Svc Acct", "API RO User",
    "API RO Svc Acct", "API R/W User", "API R/W Svc Acct", "UI View Only", "Enterprise Administrator",
    "Enterprise Read Only"))


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
    else:  # no Type (the OpenAPI shape): a built-in role's name, scoped with the __ORG_ID__ placeholder
        built_in = (str(raw.get("name") or "").strip().lower() in BUILT_IN_NAMES
                    and any("__ORG_ID__" in r for r in resources))
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
