# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The create that never leaves an orphan token, on a scripted client (no HTTP)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._tokens import (
    check_client_id,
    check_description,
    check_org_id,
    client_id_of,
    other_org_hint,
)

ROLE = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"


def token(client_id, description="app"):
    return {"clientId": client_id, "roles": [ROLE], "description": description, "generatedOn": "2026-11-01T00:00:00Z"}


class ScriptedClient:
    """The server of the test: `tokens` is its list; a POST runs the next entry of `posts` (an error to raise,
    optionally after committing a token that shows up in the list `late` list calls later)."""

    def __init__(self, posts, timeout=3, retries=1):
        self.timeout = timeout
        self.retries = retries
        self.tokens = []
        self.posts = list(posts)
        self.pending = []  # [calls left before it shows, token]
        self.calls = []
        self.paused = 0

    def call(self, method, path, action, body=None, idempotent=True, **kwargs):
        self.calls.append((method, path))
        if method == "GET":
            for entry in self.pending:
                entry[0] -= 1
            self.tokens += [entry[1] for entry in self.pending if entry[0] < 0]
            self.pending = [entry for entry in self.pending if entry[0] >= 0]
            return 200, list(self.tokens)
        if method == "DELETE":
            client_id = path.rsplit("/", 1)[1]
            self.tokens = [t for t in self.tokens if t["clientId"] != client_id]
            return 204, None
        outcome = self.posts.pop(0)
        if outcome == "ok":
            created = dict(token("Created%s" % len(self.calls)), secret="s" * 128, token="AstraCS:x:" + "0" * 64)
            self.tokens.append(token(created["clientId"]))
            return 200, created
        late, error = outcome
        if late is not None:
            self.pending.append([late, token("Late%s" % len(self.calls))])
        raise error

    def wait_before_retry(self, attempt, retry_after, reason):
        pass

    def pause(self, seconds):
        self.paused += seconds

    def remember_secret(self, value):
        pass


def timed_out():
    error = AstraApiError("Creating token 'app' failed: no answer within 3 seconds.")
    error.timed_out = True
    return error


@pytest.mark.parametrize("late", [0, 1, 2])
def test_a_create_committed_after_its_timeout_is_deleted_before_the_retry(late):
    client = ScriptedClient([(late, timed_out()), "ok"])
    metadata, _secret = TokenApi(client).create([ROLE], "app")
    assert [t["clientId"] for t in client.tokens] == [metadata["client_id"]]
    assert client.paused == client.timeout  # it watched the list for `timeout` seconds


def test_a_dropped_connection_is_not_watched():
    error = AstraApiError("Creating token 'app' failed: the connection failed (ConnectionError).")
    client = ScriptedClient([(None, error), "ok"])
    TokenApi(client).create([ROLE], "app")
    assert client.paused == 0 and len(client.tokens) == 1


def test_every_attempt_timed_out_leaves_nothing_and_says_so():
    client = ScriptedClient([(1, timed_out()), (2, timed_out())], retries=1)
    with pytest.raises(AstraApiError) as raised:
        TokenApi(client).create([ROLE], "app")
    assert client.tokens == []
    assert "deleted 1 token(s) it created without returning the secret (Late" in raised.value.message


# ---- descriptions that would make a near-duplicate family, or publish a secret -------------------

@pytest.mark.parametrize("option", ["description", "token_rotation_description"])
@pytest.mark.parametrize("value", [" app", "app ", "  app  ", "app\t".replace("\t", " ")])
def test_spaces_around_a_description_are_refused(option, value):
    with pytest.raises(AstraInputError) as caught:
        check_description(value, option)
    message = str(caught.value)
    assert message.startswith(option + " must not start or end with a space"), message
    assert "client_id" in message


SECRET = "Ab3" + "xY9.-_,+" * 15  # 123 characters of the secret alphabet
TOKEN = "AstraCS:BOjPpMRcaWergiKIyHXEAymP:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("option", ["description", "token_rotation_description"])
@pytest.mark.parametrize("value, what", [
    (TOKEN, "an AstraCS: token"),
    ("token for app " + TOKEN, "an AstraCS: token"),
    ("astracs:BOjPpMRcaWergiKIyHXEAymP", "an AstraCS: token"),
    ("ASTRACS:x", "an AstraCS: token"),
    ("hash " + "0123456789ABCDEF" * 4, "a token's 64-character hex hash"),
    (SECRET, "a client secret"),
])
def test_token_shaped_descriptions_are_refused_without_echo(option, value, what):
    with pytest.raises(AstraInputError) as caught:
        check_description(value, option)
    message = str(caught.value)
    assert message.startswith(option + " must not hold a token or secret") and what in message, message
    for part in (value, value.split(":")[-1], "BOjPpMRcaWergiKIyHXEAymP", "0123456789", SECRET[:20]):
        assert part not in message, message


@pytest.mark.parametrize("value", ["inventory-service", "app 2 (prod)", "x" * 255, "z" * 63 + "0",
                                   "inventory-service-production-eu-west-1-reader-" * 5,
                                   "deadbeef" * 7, "Service" * 20])
def test_ordinary_descriptions_pass(value):
    check_description(value[:255], "description")


# ---- control characters in an echoed value are escaped ------------------------------------------

@pytest.mark.parametrize("value", ["app\nfoo", "app\r", "a\x1b[2Jb", "a\x7f"])
def test_control_characters_in_a_description_stay_on_one_line(value):
    with pytest.raises(AstraInputError) as caught:
        check_description(value, "description")
    message = str(caught.value)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in message), repr(message)
    assert "must be printable ASCII" in message


@pytest.mark.parametrize("check, value", [(check_client_id, "abc\ndef"), (check_org_id, "my\norg")])
def test_echoed_client_and_org_ids_stay_on_one_line(check, value):
    with pytest.raises(AstraInputError) as caught:
        check(value)
    assert "\n" not in str(caught.value) and "\\n" in str(caught.value)


# ---- a 403 for another organization's org_id ----------------------------------------------------

ORG_A = "350d4610-61cc-451c-9b1c-0ad6b7cf8d90"
ORG_B = "ee747367-babb-44b9-82d3-aa5eaa12cfcd"


def test_a_refusal_in_another_organization_names_both_organizations():
    hint = other_org_hint(ORG_A, {"id": ORG_B, "type": "organization"})
    assert "belongs to organization %s" % ORG_B in hint and "org_id %s is another organization" % ORG_A in hint
    assert "enterprise token" in hint and "org-token-write" not in hint
    hint = other_org_hint(ORG_A, {"id": ORG_B, "type": "enterprise"})
    assert "belongs to enterprise %s" % ORG_B in hint and ORG_A in hint
    assert other_org_hint(ORG_A, {"id": ORG_A.upper(), "type": "organization"}) is None
    assert other_org_hint(ORG_A, {}) is None
    assert other_org_hint(None, {"id": ORG_B}) is None


# ---- a create's retry line (shown as a warning) names the status, never the API's words -----------

def test_the_reason_of_a_retried_create_carries_no_words_of_the_api():
    reasons = []

    class Recording(ScriptedClient):
        def wait_before_retry(self, attempt, retry_after, reason):
            reasons.append(reason)

    error = AstraApiError("Creating token 'app' failed with HTTP 503: upstream said BODYTEXT.", status=503)
    client = Recording([(None, error), "ok"])
    TokenApi(client).create([ROLE], "app")
    assert reasons == ["Creating token 'app': HTTP 503 (no token was left behind.)"], reasons


@pytest.mark.parametrize("token, client_id", [
    ("AstraCS:AbCdEfGhIjKlMnOpQrStUvWx:" + "0a" * 32, "AbCdEfGhIjKlMnOpQrStUvWx"),
    (" AstraCS:AbCdEfGhIjKlMnOpQrStUvWx:%s\n" % ("0a" * 32), "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("AstraCS:short:" + "0a" * 32, None), ("AstraCS:AbCdEfGhIjKlMnOpQrStUvWx:xyz", None), ("", None), (None, None),
])
def test_client_id_of_a_token(token, client_id):
    assert client_id_of(token) == client_id
