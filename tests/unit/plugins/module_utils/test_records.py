# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import random

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._records import (
    UTC,
    TokenFields,
    ages,
    format_timestamp,
    lower_keys,
    normalise_role,
    normalise_token,
    parse_duration,
    parse_timestamp,
    resolve_expiry,
    role_id_key,
    token_ages,
    token_items,
    token_stamp,
)

REFERENCE = datetime.datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("2025-09-02T19:18:10.799083554Z", "2025-09-02T19:18:10Z"),
    ("2025-06-17T02:26:29.846Z", "2025-06-17T02:26:29Z"),
    ("2027-01-31T00:00:00Z", "2027-01-31T00:00:00Z"),
    ("2027-01-31", "2027-01-31T00:00:00Z"),
    ("2027-01-31T02:00:00+02:00", "2027-01-31T00:00:00Z"),
    ("2027-01-31T00:00:00-0130", "2027-01-31T01:30:00Z"),
])
def test_parse_timestamp_precisions_and_zones(text, expected):
    assert format_timestamp(parse_timestamp(text)) == expected


@pytest.mark.parametrize("text", [None, "", "yesterday", "2027-13-01T00:00:00Z", "2027-02-30", 12])
def test_parse_timestamp_rejects(text):
    assert parse_timestamp(text) is None


@pytest.mark.parametrize("text, seconds", [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("45s", 45),
                                           ("2w", 1209600), (" 7d ", 604800)])
def test_parse_duration(text, seconds):
    assert parse_duration(text, "older_than").total_seconds() == seconds


@pytest.mark.parametrize("text", ["0d", "-1d", "1y", "d", "1.5d", "", None])
def test_parse_duration_errors_name_the_option(text):
    with pytest.raises(AstraInputError) as caught:
        parse_duration(text, "older_than")
    assert caught.value.message.startswith("older_than must be a positive duration")


def test_resolve_expiry_relative_and_absolute():
    stamp, relative = resolve_expiry("90d", reference=REFERENCE)
    assert relative and stamp == REFERENCE + datetime.timedelta(days=90)
    stamp, relative = resolve_expiry("2027-01-31T00:00:00Z", reference=REFERENCE)
    assert not relative and format_timestamp(stamp) == "2027-01-31T00:00:00Z"


@pytest.mark.parametrize("text, words", [("2020-01-01T00:00:00Z", "in the past"), ("next week", "ISO-8601")])
def test_resolve_expiry_refuses(text, words):
    with pytest.raises(AstraInputError) as caught:
        resolve_expiry(text, reference=REFERENCE)
    assert words in caught.value.message and caught.value.message.startswith("expiry")


def test_normalise_token_list_item_and_legacy_shape():
    item = {"roles": ["r1"], "generatedOn": "2025-06-17T02:26:29.846Z", "clientId": "BOjPpMRcaWergiKIyHXEAymP",
            "description": "Token for service A", "tokenExpiry": "2025-12-31T23:59:59.000Z"}
    token = normalise_token(item, {"r1": "RO User"})
    assert token == {"client_id": "BOjPpMRcaWergiKIyHXEAymP", "description": "Token for service A", "roles": ["r1"],
                     "role_names": ["RO User"], "generated_on": "2025-06-17T02:26:29Z",
                     "expiry": "2025-12-31T23:59:59Z", "org_id": None}
    legacy = normalise_token({"clientId": "x", "roles": [], "generatedOn": "2025-06-17T02:26:29.846Z"})
    assert legacy["description"] == "" and legacy["expiry"] is None and legacy["role_names"] is None


def test_token_ages():
    token = {"generated_on": "2025-12-01T00:00:00Z", "expiry": "2026-01-11T12:00:00Z"}
    assert token_ages(token, REFERENCE) == {"age_days": 31, "expired": False, "expires_in_days": 10}
    token = {"generated_on": "2025-12-01T00:00:00Z", "expiry": "2025-12-31T00:00:00Z"}
    assert token_ages(token, REFERENCE)["expired"] is True
    assert token_ages({"generated_on": "2025-12-01T00:00:00Z", "expiry": None}, REFERENCE)["expires_in_days"] is None


def test_normalise_role_both_casings():
    policy = {"description": "RO User", "effect": "allow", "resources": ["drn:astra:org:__ORG_ID__"], "actions": ["db-cql"]}
    upper = {"ID": "id-1", "Name": "RO User", "Policy": policy}
    lower = {"id": "id-2", "name": "Mine", "policy": {"description": "d", "effect": "allow",
                                                      "resources": ["drn:astra:org:1234"], "actions": []}}
    assert normalise_role(upper) == {"id": "id-1", "name": "RO User", "description": "RO User", "effect": "allow",
                                     "actions": ["db-cql"], "resources": ["drn:astra:org:__ORG_ID__"], "built_in": True}
    assert normalise_role(lower)["built_in"] is False
    assert normalise_role(dict(upper, Type="custom"))["built_in"] is False


# ---- absurd durations and instants give one line naming the option and the range ------------------

@pytest.mark.parametrize("option", ["expiry", "older_than", "expires_within", "token_rotation_min_age",
                                    "token_rotation_retire_after"])
@pytest.mark.parametrize("text", ["99999999999d", "3000000d", "36501d", "5215w", "876001h", "52560001m",
                                  "3153600001s", "1" + "0" * 5000 + "s", "0s"])
def test_durations_out_of_range_name_the_option_and_the_range(option, text):
    with pytest.raises(AstraInputError) as caught:
        parse_duration(text, option)
    message = str(caught.value)
    assert message.startswith("%s must be a positive duration from 1s up to 36500d (100 years)" % option), message
    assert "\n" not in message and len(message) < 400, message


@pytest.mark.parametrize("text, days", [("1s", 0), ("36500d", 36500), ("5214w", 36498), ("876000h", 36500)])
def test_durations_at_the_bounds_are_accepted(text, days):
    assert parse_duration(text, "expiry").days == days


@pytest.mark.parametrize("option", ["expiry", "token_rotation_expiry"])
@pytest.mark.parametrize("text", [
    "99999999999d", "3000000d",
    "9999-12-31T23:59:59Z",            # past the last accepted instant
    "9999-12-31T23:59:59-01:00",       # the offset pushes it past year 9999
    "0001-01-01T00:00:00+01:00",       # the offset pushes it before year 1
    "2027-13-01T00:00:00Z", "2027-01-32T00:00:00Z", "2027-01-01T24:00:00Z", "2027-01-01T00:60:00Z",
    "2027-01-01T00:00:60Z", "2027-01-01T00:00:00+24:00", "2027-01-01T00:00:00+01:60", "99999-01-01T00:00:00Z",
])
def test_instants_and_durations_out_of_range_name_the_option(option, text):
    with pytest.raises(AstraInputError) as caught:
        resolve_expiry(text, option, REFERENCE)
    message = str(caught.value)
    assert message.startswith(option + " must be"), message
    assert "36500d" in message, message
    if "T" in text:
        assert "9998-12-31T23:59:59Z" in message, message


def test_the_last_instant_and_the_longest_duration_are_accepted():
    stamp, relative = resolve_expiry("9998-12-31T23:59:59Z", "expiry", REFERENCE)
    assert not relative and stamp.year == 9998
    stamp, relative = resolve_expiry("36500d", "expiry", REFERENCE)
    assert relative and stamp == REFERENCE + datetime.timedelta(days=36500)


# ---- a value with a control character is echoed escaped, on one line ------------------------------

@pytest.mark.parametrize("text", ["90d\nrm -rf", "next\ttuesday", "2027-01-01\r\nX", "\x1b[31m90x"])
def test_echoed_duration_and_expiry_values_stay_on_one_line(text):
    for call in (lambda: parse_duration(text, "older_than"), lambda: resolve_expiry(text, "expiry", REFERENCE)):
        with pytest.raises(AstraInputError) as caught:
            call()
        message = str(caught.value)
        assert not any(ord(c) < 32 or ord(c) == 127 for c in message), repr(message)


# ---- issue 12: token items read field by field (TokenFields, token_stamp) give what the whole-record reading gave --

def _first_of(raw, *keys):
    for key in keys:
        if raw.get(key) is not None:
            return raw[key]
    return None


def whole_record_token(item, role_names=None):
    """normalise_token as it was before issue 12: every key lower-cased, every timestamp parsed and formatted."""
    raw = lower_keys(item)
    roles = [role_id_key(r) for r in (raw.get("roles") or [])]
    return {
        "client_id": _first_of(raw, "clientid", "client_id"),
        "description": raw.get("description") or "",
        "roles": roles,
        "role_names": [role_names.get(r, r) for r in roles] if role_names is not None else None,
        "generated_on": format_timestamp(parse_timestamp(_first_of(raw, "generatedon", "generated_on"))),
        "expiry": format_timestamp(parse_timestamp(_first_of(raw, "tokenexpiry", "token_expiry", "expiry"))),
        "org_id": _first_of(raw, "orgid", "org_id"),
    }


# Every timestamp shape parse_timestamp takes or refuses, and the API's own ones.
STAMP_TEXTS = [
    "2025-06-17T02:26:29.846Z", "2025-09-02T19:18:10.799083554Z", "2025-06-17T02:26:29Z", "2025-06-17T02:26:29.Z",
    "2025-06-17t02:26:29.846z", "2025-06-17 02:26:29Z", "2025-06-17T02:26:29.846+02:00", "2025-06-17T02:26:29-0130",
    "2025-06-17T02:26Z", "2025-06-17", " 2025-06-17T02:26:29Z ", "2025-06-17T02:26:29.846Z ", "2025-06-17T02:26:29",
    "0999-06-17T02:26:29Z", "0001-01-01T00:00:00Z", "1000-01-01T00:00:00.5Z", "9999-12-31T23:59:59.999Z",
    "2027-02-30T00:00:00Z", "2027-01-01T24:00:00Z", "2027-01-01T00:60:00Z", "2027-13-01T00:00:00.000Z",
    "2027-01-01T00:00:00+24:00", "2027-01-01T24:00:00.000Z", "2027-01-01T23:59:59.999Z", "2024-02-29T12:00:00.000Z",
    "2023-02-29T12:00:00.000Z", "2027-01-01T00:00:60.5Z", "2025-06-17T02:26:29.000000000000Z", "2025-06-17X02:26:29Z",
    "2025-06-17T02:26:29.84a6Z", "2025-06-17T02:26:29.\u0663Z",
    "\u0662\u0660\u0662\u0665-06-17T02:26:29Z", "2025-06-17T02:26:29.846ZZ", "yesterday", "", None, 12, ["x"],
]


@pytest.mark.parametrize("text", STAMP_TEXTS)
def test_token_stamp_is_the_output_form_and_what_it_stands_for(text):
    shown_as = format_timestamp(parse_timestamp(text))
    assert token_stamp(text) == (shown_as, parse_timestamp(shown_as))


def generated_items(count=600, seed=12):
    """Token items in every key spelling and timestamp shape seen or possible, with duplicates of a spelling."""
    rand = random.Random(seed)
    spellings = {
        "client_id": ["clientId", "ClientID", "client_id", "clientid"],
        "description": ["description", "Description"],
        "roles": ["roles", "Roles"],
        "generated_on": ["generatedOn", "generated_on", "GeneratedOn"],
        "expiry": ["tokenExpiry", "token_expiry", "expiry", "TokenExpiry"],
        "org_id": ["orgId", "org_id", "OrgID"],
    }
    role_ids = ["16a4b1d7-a615-41f8-95ca-52b0280f4d77", "B4ED0E9E-67E8-47B6-8B58-C6629BE961A9", " ad0566b5-2a67 "]
    items = []
    for i in range(count):
        item = {}
        for field, names in spellings.items():
            for name in rand.sample(names, rand.choice((0, 1, 1, 1, 2))):
                if field == "client_id":
                    value = rand.choice(["C%023d" % i, None])
                elif field == "description":
                    value = rand.choice(["svc-%d" % (i % 7), "", None, "needle"])
                elif field == "roles":
                    value = rand.choice([rand.sample(role_ids, rand.randint(0, 3)), None, []])
                elif field in ("generated_on", "expiry"):
                    value = rand.choice(STAMP_TEXTS + [None, None, None])
                else:
                    value = rand.choice(["6ad4e4a4-0c3f-4b4c-8f0e-0e0b7d61f1c9", None])
                item[name] = value
        item["activeAt"] = i  # a key the collection does not read
        items.append(item)
    return items


def test_normalise_token_field_by_field_equals_the_whole_record_reading():
    names = {"16a4b1d7-a615-41f8-95ca-52b0280f4d77": "RO Svc Acct"}
    for item in generated_items():
        for role_names in (None, names):
            assert normalise_token(item, role_names) == whole_record_token(item, role_names), item
            fields = TokenFields(item)
            assert fields.generated[0] == whole_record_token(item)["generated_on"]
            assert fields.expiry[0] == whole_record_token(item)["expiry"]
            assert fields.normalised(role_names) == whole_record_token(item, role_names)  # after the fields


def test_normalise_token_of_an_empty_answer():
    assert normalise_token(None) == normalise_token({}) == whole_record_token({})


def test_ages_are_token_ages_of_the_normalised_record():
    for item in generated_items(200):
        token = normalise_token(item)
        fields = TokenFields(item)
        assert ages(fields.generated[1], fields.expiry[1], REFERENCE) == token_ages(token, REFERENCE), item


def test_token_items_of_every_answer_shape():
    item = {"clientId": "x"}
    assert token_items({"clients": [item, "y", None, 3]}) == [item]
    assert token_items([item, [item]]) == [item]
    assert token_items({"clients": None}) == token_items(None) == token_items({}) == []


@pytest.mark.parametrize("record, built_in", [
    ({"id": "a", "name": "RO Svc Acct", "policy": {"resources": ["drn:astra:org:__ORG_ID__"]}}, True),
    ({"id": "a", "name": "Database Administrator", "policy": {"resources": ["drn:astra:org:__ORG_ID__:db:*"]}}, True),
    # a custom role written with the placeholder, as astra_role allows: still the user's role
    ({"id": "a", "name": "Service Reader", "policy": {"resources": ["drn:astra:org:__ORG_ID__"]}}, False),
    ({"id": "a", "name": "RO Svc Acct", "policy": {"resources": ["drn:astra:org:0e6a41b5-0d45-4b8a-9ba2-5d8a5e5e5e5e"]}},
     False),
    ({"ID": "a", "Name": "Service Reader", "Type": "default", "policy": "{}"}, True),
    ({"ID": "a", "Name": "RO Svc Acct", "Type": "custom", "policy": "{}"}, False),
])
def test_without_a_type_a_role_is_built_in_only_by_a_built_in_name_and_the_org_placeholder(record, built_in):
    assert normalise_role(record)["built_in"] is built_in


@pytest.mark.parametrize("pasted", [
    "AstraCS:QETTMMHMKPRpdMxtUiKVWsBc:" + "0a1b2c3d" * 8,  # a whole token
    "deploy " + "0a1b2c3d" * 8,  # a token's hash alone
    "svc " + "aB3.dE5-fG7_hI9+" * 7,  # a client secret (100 or more characters of its alphabet)
])
def test_a_secret_pasted_into_a_description_is_never_shown(pasted):
    """The API lists descriptions as they were written; the collection refuses to write a secret there, but a token
    made elsewhere may hold one: what the modules, the role and the event source show hides it."""
    token = normalise_token({"clientId": "a" * 24, "description": pasted, "roles": []})
    secret = pasted.split(" ")[-1].rsplit(":", 1)[-1]
    assert secret not in token["description"] and "********" in token["description"], token
