# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The create that never leaves an orphan token, on a scripted client (no HTTP)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError
from ansible_collections.astra.devops.plugins.module_utils._tokens import TokenApi

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
