# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source's decisions (module_utils/_token_events.py) in tables: which events a listing gives, compared with
the previous poll and with what this run already announced; its argument checks; its backoff and its end. Then the
source itself (extensions/eda/plugins/event_source/token_events.py) on the emulator's own model."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import asyncio
import datetime
import importlib.util
import json
import os

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _token_events as te
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._errors import TOKEN_HINT, AstraApiError, AstraError, \
    AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._records import UTC, format_timestamp
from ansible_collections.astra.devops.tests.unit.plugins.emulated_api import EmulatedClient

NOW = datetime.datetime(2027, 1, 10, 12, 0, 0, tzinfo=UTC)
DAY = 86400
RW = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"
FIELDS = {"kind", "client_id", "description", "roles", "generated", "expires", "expires_in", "age", "org_id"}


def token(client_id, description="app", expires_in_days=None, age_days=1, roles=(RW,)):
    """A normalised token record, as TokenApi.list() gives it."""
    expiry = NOW + datetime.timedelta(days=expires_in_days) if expires_in_days is not None else None
    return {"client_id": client_id, "description": description, "roles": list(roles), "role_names": None,
            "generated_on": format_timestamp(NOW - datetime.timedelta(days=age_days)),
            "expiry": format_timestamp(expiry), "org_id": "org-1"}


def opts(**given):
    found = te.options(dict({"api_token": "AstraCS:x"}, **given), {})
    return found


def decide(tokens, previous=None, announced=frozenset(), role_names=None, **given):
    """te.decide, then the role names as the source adds them (with_role_names)."""
    events, announced, seen = te.decide(tokens, previous, announced, opts(**given), NOW)
    return te.with_role_names(events, role_names), announced, seen


def kinds_of(events):
    return [(event["astra_token"]["kind"], event["astra_token"]["client_id"]) for event in events]


@pytest.mark.parametrize("expires_in_days, kinds", [
    (2, ["expiring"]),
    (14, ["expiring"]),          # within 14d, the default, inclusive
    (15, []),
    (60, []),
    (-1, ["expired"]),
    (0, ["expired"]),            # expires now: expired, not expiring
    (None, ["never_expires"]),
])
def test_each_condition_of_a_token_gives_its_kind(expires_in_days, kinds):
    events, _announced, _seen = decide([token("c1", expires_in_days=expires_in_days)])
    assert [kind for kind, _id in kinds_of(events)] == kinds


def test_an_event_has_the_documented_shape_in_seconds():
    events, _announced, _seen = decide([token("c1", expires_in_days=2, age_days=30)],
                                       role_names={RW: "R/W Svc Acct"})
    assert events == [{"astra_token": {
        "kind": "expiring", "client_id": "c1", "description": "app", "roles": ["R/W Svc Acct"],
        "generated": format_timestamp(NOW - datetime.timedelta(days=30)),
        "expires": format_timestamp(NOW + datetime.timedelta(days=2)),
        "expires_in": 2 * DAY, "age": 30 * DAY, "org_id": "org-1"}}]


def test_roles_are_ids_without_role_names_and_an_unknown_id_stays_an_id():
    events, _a, _s = decide([token("c1", roles=[RW, "gone-role"])], role_names=None)
    assert events[0]["astra_token"]["roles"] == [RW, "gone-role"]
    events, _a, _s = decide([token("c1", roles=[RW, "gone-role"])], role_names={RW: "R/W Svc Acct"})
    assert events[0]["astra_token"]["roles"] == ["R/W Svc Acct", "gone-role"]


def test_expiring_within_sets_the_window():
    tokens = [token("c1", expires_in_days=2), token("c2", expires_in_days=20)]
    assert kinds_of(decide(tokens, expiring_within="1d")[0]) == []
    assert kinds_of(decide(tokens, expiring_within="3w")[0]) == [("expiring", "c1"), ("expiring", "c2")]


def test_created_and_deleted_across_polls_and_none_on_the_first_poll():
    first = [token("a", expires_in_days=60), token("b", expires_in_days=60)]
    events, announced, seen = decide(first)
    assert events == []
    second = [token("b", expires_in_days=60), token("c", expires_in_days=60, description="new")]
    events, announced, seen = decide(second, seen, announced)
    assert kinds_of(events) == [("created", "c"), ("deleted", "a")]
    deleted = events[1]["astra_token"]
    assert deleted["description"] == "app" and deleted["expires_in"] == 60 * DAY  # as last seen
    events, announced, seen = decide(second, seen, announced)
    assert events == []


def test_expiry_events_come_once_per_run_not_every_poll():
    tokens = [token("e", expires_in_days=2), token("n")]
    events, announced, seen = decide(tokens)
    assert kinds_of(events) == [("expiring", "e"), ("never_expires", "n")]
    events2, announced, seen = decide(tokens, seen, announced)
    assert events2 == []
    # the token has expired by now: that is a new condition, announced once too
    events3, announced, seen = decide([token("e", expires_in_days=-1), token("n")], seen, announced)
    assert kinds_of(events3) == [("expired", "e")]
    assert decide([token("e", expires_in_days=-1), token("n")], seen, announced)[0] == []


def test_decide_does_not_change_what_it_was_given():
    announced = frozenset()
    tokens = [token("e", expires_in_days=2)]
    _events, new, _seen = decide(tokens, None, announced)
    assert announced == frozenset() and new != announced


def test_descriptions_keep_only_those_families_created_and_deleted_included():
    first = [token("a", "app"), token("b", "other")]
    events, announced, seen = decide(first, descriptions=["app"])
    assert kinds_of(events) == [("never_expires", "a")]
    events, announced, seen = decide([token("c", "other"), token("d", "app")], seen, announced, descriptions=["app"])
    assert kinds_of(events) == [("never_expires", "d"), ("created", "d"), ("deleted", "a")]  # KINDS order


@pytest.mark.parametrize("kinds, expected", [
    (["expiring"], [("expiring", "e")]),
    (["never_expires", "expired"], [("expired", "x"), ("never_expires", "n")]),
    (["created", "deleted"], []),
])
def test_kinds_keep_only_those_events(kinds, expected):
    tokens = [token("e", expires_in_days=2), token("x", expires_in_days=-3), token("n")]
    assert sorted(kinds_of(decide(tokens, kinds=kinds)[0])) == sorted(expected)


def test_a_kind_left_out_is_not_counted_as_announced():
    tokens = [token("e", expires_in_days=2)]
    _events, announced, seen = decide(tokens, kinds=["created"])
    assert kinds_of(decide(tokens, seen, announced)[0]) == [("expiring", "e")]


def test_no_event_holds_a_secret_even_a_token_pasted_in_a_description():
    pasted = "AstraCS:abcdefghijklmnopABCD:" + "a" * 64
    record = dict(token("c1", description="app " + pasted), token=pasted, secret="s3cr3t-Value-0123456789")
    events, _a, _s = decide([record])
    text = json.dumps(events)
    assert pasted not in text and "s3cr3t" not in text and "AstraCS:abcdef" not in text
    assert set(events[0]["astra_token"]) == FIELDS


@pytest.mark.parametrize("given, fragment", [
    ({"interval": 0}, "interval must be"),
    ({"interval": "often"}, "interval must be"),
    ({"interval": True}, "interval must be"),
    ({"expiring_within": "soon"}, "expiring_within must be"),
    ({"expiring_within": 1209600}, "expiring_within must be"),  # the role's renew_before takes no bare number either
    ({"expiring_within": "1209600"}, "expiring_within must be"),
    ({"descriptions": [1]}, "descriptions must be"),
    ({"descriptions": ["app", ""]}, "descriptions must be"),
    ({"kinds": ["expiring", "rotated"]}, "kinds must be"),
    ({"kinds": []}, "kinds must be"),
    ({"once": "maybe"}, "once must be"),
    ({"validate_certs": "perhaps"}, "validate_certs must be"),
    ({"ca_path": 3}, "ca_path must be"),
    ({"intervall": 60}, "intervall"),
])
def test_a_bad_argument_is_one_line_naming_it_and_what_is_accepted(given, fragment):
    with pytest.raises(AstraInputError) as raised:
        opts(**given)
    message = str(raised.value)
    assert fragment in message and "\n" not in message
    assert "accepted" in message or "must be" in message


def test_the_defaults_and_the_environment():
    found = te.options({}, {"ASTRA_API_URL": "http://127.0.0.1:1", "ASTRA_API_TOKEN": "AstraCS:env"})
    assert found["api_url"] == "http://127.0.0.1:1" and found["api_token"] == "AstraCS:env"
    assert found["interval"] == 3600 and found["expiring_within"] == 14 * DAY
    assert found["kinds"] == te.KINDS and found["descriptions"] is None and found["once"] is False
    assert found["validate_certs"] is True and found["ca_path"] is None
    given = te.options({"api_token": "AstraCS:arg", "descriptions": "app", "once": True, "interval": 60},
                       {"ASTRA_API_TOKEN": "AstraCS:env"})
    assert given["api_token"] == "AstraCS:arg" and given["descriptions"] == ["app"] and given["once"] is True


def test_backoff_grows_is_capped_by_the_interval_and_the_fifth_failure_in_a_row_ends():
    assert [te.backoff(n, 3600) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert te.backoff(3, 100) == 100
    error = AstraApiError("Listing tokens failed: HTTP 503.", status=503)
    for failures in (1, 2, 3, 4):
        delay, line = te.after_failure(error, failures, 3600)
        assert delay == te.backoff(failures, 3600) and "HTTP 503" in line and "\n" not in line
    delay, line = te.after_failure(error, 5, 3600)
    assert delay is None
    assert "5 failed polls in a row" in line and "HTTP 503" in line and "\n" not in line


def test_a_refused_token_ends_at_once_with_the_hint():
    error = AstraApiError("Listing tokens failed: HTTP 401.", status=401, hint=TOKEN_HINT)
    error.bad_token = True
    delay, line = te.after_failure(error, 1, 3600)
    assert delay is None and TOKEN_HINT in line


# -- the source itself, on the emulator's model --------------------------------------------------------------------

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "extensions", "eda",
                      "plugins", "event_source", "token_events.py")


def source():
    spec = importlib.util.spec_from_file_location("token_events_source", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args, client, sleeps=None):
    """main() with an asyncio queue; returns (events, the exception it ended with or None)."""
    queue = asyncio.Queue()
    naps = [] if sleeps is None else sleeps

    async def nap(seconds):
        naps.append(seconds)

    ended = None
    try:
        asyncio.run(source().main(queue, dict({"api_token": client.token}, **args), client=client, sleep=nap))
    except AstraError as error:
        ended = error
    found = []
    while not queue.empty():
        found.append(queue.get_nowait())
    return found, ended


@pytest.fixture(name="world")
def emulated_world():
    client = EmulatedClient()
    client.new_token("soon", expires_in_days=2)
    client.new_token("later", expires_in_days=60)
    client.new_token("forever")
    return client


def test_the_source_puts_one_poll_of_events_on_the_queue_and_ends_with_once(world):
    events, ended = run({"once": True, "descriptions": ["soon", "later", "forever"]}, world)
    assert ended is None
    got = dict((e["astra_token"]["description"], e["astra_token"]["kind"]) for e in events)
    assert got == {"soon": "expiring", "forever": "never_expires"}
    assert all(set(e["astra_token"]) == FIELDS for e in events)
    assert events[0]["astra_token"]["roles"] == ["R/W Svc Acct"]  # named: one role listing
    assert all(e["astra_token"]["org_id"] == world.world.org_id for e in events)  # list items carry none: read once
    assert world.calls == [("GET", "/v2/tokens"), ("GET", "/v2/organizations/roles"), ("GET", "/v2/currentOrg")]
    assert world.token not in json.dumps(events)


def test_a_poll_without_events_lists_no_roles(world):
    events, ended = run({"once": True, "descriptions": ["later"]}, world)
    assert events == [] and ended is None and world.calls == [("GET", "/v2/tokens")]


def test_the_source_backs_off_and_ends_after_five_failures_in_a_row(world):
    world.admin("POST", "faults", {"path": "/v2/tokens", "status": 503, "times": -1})
    naps = []
    events, ended = run({"interval": 3600}, world, naps)
    assert events == [] and naps == [60, 120, 240, 480]
    assert "5 failed polls in a row" in str(ended) and len(world.calls) == 5


def test_a_failure_then_a_success_resets_the_count(world):
    world.admin("POST", "faults", {"path": "/v2/tokens", "status": 503, "times": 4})
    naps = []
    events, ended = run({"once": True, "descriptions": ["soon"]}, world, naps)
    assert ended is None and naps == [60, 120, 240, 480] and [e["astra_token"]["kind"] for e in events] == ["expiring"]


def test_a_refused_token_ends_the_source_with_the_hint(world):
    refused = world.client_for("AstraCS:unknownunknownunk:" + "0" * 64)
    events, ended = run({"interval": 60}, refused)
    assert events == [] and ended is not None and TOKEN_HINT in str(ended)
    assert refused.token not in str(ended)


def test_a_bad_argument_ends_the_source_before_any_call(world):
    events, ended = run({"kinds": ["rotated"]}, world)
    assert events == [] and "kinds must be" in str(ended) and world.calls == []


def test_the_listing_the_source_reads_is_the_api_layers(world):
    tokens = TokenApi(world).list()
    events, _a, _s = te.decide(tokens, None, frozenset(), opts(descriptions=["soon"]), te.now())
    assert [e["astra_token"]["kind"] for e in events] == ["expiring"]


@pytest.mark.parametrize("given", [{}, {"descriptions": ["soon", "gone"]}, {"kinds": ["deleted", "expired"]}])
def test_the_listing_as_the_api_gives_it_decides_as_its_normalised_records(world, given):
    """The source hands decide the listing's items unnormalised (normalising 10,000 tokens is most of a poll)."""
    world.new_token("lapsed", expiry="2020-01-01T00:00:00.123Z")
    gone = world.new_token("gone", roles=("R/W Svc Acct", "Organization Administrator"), expires_in_days=3)
    reference = te.now()
    first = te.decide(TokenApi(world).list(), None, frozenset(), opts(**given), reference)
    from_items = te.decide(TokenApi(world).items(), None, frozenset(), opts(**given), reference)
    assert first[:2] == from_items[:2] and set(first[2]) == set(from_items[2])  # seen: what was given, by client id
    assert first[0]  # the table's rows have events to compare
    TokenApi(world).delete(gone["clientId"])
    world.new_token("newcomer")
    second = te.decide(TokenApi(world).list(), first[2], first[1], opts(**given), reference)
    assert second[:2] == te.decide(TokenApi(world).items(), first[2], first[1], opts(**given), reference)[:2]


class Stop(Exception):
    """Ends a test's run of the source from its sleep."""


def test_the_source_keeps_polling_and_gives_created_and_deleted_between_polls(world):
    gone = world.new_token("short-lived")
    naps = []

    async def nap(seconds):
        naps.append(seconds)
        if len(naps) == 1:  # between the first and the second poll: one token made, one deleted
            world.new_token("newcomer")
            TokenApi(world).delete(gone["clientId"])
        else:
            raise Stop()

    queue = asyncio.Queue()
    with pytest.raises(Stop):
        asyncio.run(source().main(queue, {"api_token": world.token, "interval": 900,
                                          "kinds": ["created", "deleted", "expiring"]}, client=world, sleep=nap))
    found = []
    while not queue.empty():
        found.append(queue.get_nowait()["astra_token"])
    assert [(e["kind"], e["description"]) for e in found] == [
        ("expiring", "soon"), ("created", "newcomer"), ("deleted", "short-lived")]
    assert naps == [900, 900]
    assert world.calls.count(("GET", "/v2/tokens")) == 2 and world.calls.count(("GET", "/v2/currentOrg")) == 1


def test_an_org_id_the_listing_gives_is_kept_and_a_missing_one_filled_in():
    given = {"astra_token": dict((field, None) for field in FIELDS)}
    given["astra_token"].update(client_id="a", org_id="org-of-the-record")
    missing = {"astra_token": dict(given["astra_token"], client_id="b", org_id=None)}
    filled = te.with_org_id([given, missing], "caller-org")
    assert [e["astra_token"]["org_id"] for e in filled] == ["org-of-the-record", "caller-org"]
    assert missing["astra_token"]["org_id"] is None  # the events given are not changed
