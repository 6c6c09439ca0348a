# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation role's create and retire steps (module_utils/_rotation_steps.py) on a scripted API: which calls each
makes, and what its failures say."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _rotation_steps
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraError, AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._tokens import TokenApi

ROLE = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"
OLD = "OldOldOldOldOldOldOldOld"
NEW = "NewNewNewNewNewNewNewNew"
OLD_TOKEN = "AstraCS:%s:%s" % (OLD, "a" * 64)
NEW_TOKEN = "AstraCS:%s:%s" % (NEW, "b" * 64)
ROLES = [{"ID": ROLE, "Name": "R/W Svc Acct", "Policy": {"actions": [], "resources": [], "effect": "allow"}}]


class API:
    """The server of the test: records every call; `accepts` is the set of tokens GET /v2/currentOrg answers."""

    def __init__(self, family=(OLD,), fail=None):
        self.tokens = [{"clientId": cid, "roles": [ROLE], "description": "app", "generatedOn": "2026-11-01T00:00:00Z",
                        "tokenExpiry": None} for cid in family]
        self.accepts = {OLD_TOKEN, NEW_TOKEN} - ({OLD_TOKEN} if OLD not in family else set())
        self.calls = []
        self.fail = fail or {}
        self.timeout, self.retries = 3, 0

    def client_for(self, token):
        api = self

        class Probe:
            def call(self, method, path, action, **kwargs):
                api.calls.append((method, path))
                if token not in api.accepts:
                    refused = AstraApiError("%s failed: HTTP 401." % action, status=401)
                    refused.bad_token = True
                    raise refused
                return 200, {"id": "org"}

            def pause(self, seconds):
                pass
        return Probe()

    def call(self, method, path, action, body=None, **kwargs):
        self.calls.append((method, path))
        if (method, path) in self.fail:
            raise self.fail[(method, path)]
        if method == "GET" and path == "/v2/organizations/roles":
            return 200, ROLES
        if method == "GET":
            return 200, {"clients": list(self.tokens)}
        if method == "POST":
            self.tokens.append({"clientId": NEW, "roles": body["roles"], "description": body["description"],
                                "generatedOn": "2026-11-29T00:00:00Z"})
            return 200, {"clientId": NEW, "secret": "s" * 100, "token": NEW_TOKEN, "roles": body["roles"],
                         "generatedOn": "2026-11-29T00:00:00Z", "orgId": "org"}
        client_id = path.rsplit("/", 1)[1]
        self.tokens = [t for t in self.tokens if t["clientId"] != client_id]
        self.accepts.discard(OLD_TOKEN if client_id == OLD else NEW_TOKEN)
        return 204, None

    def remember_secret(self, value):
        pass


def create(server, roles=None, replaces="old"):
    if replaces == "old":
        replaces = {"client_id": OLD, "roles": [ROLE], "expiry": None, "generated_on": "2026-11-01T00:00:00Z"}
    return _rotation_steps.create(TokenApi(server), server.client_for, "app", replaces, roles, None, [OLD], 0)


def test_create_carries_the_roles_over_without_a_roles_call_and_waits_for_the_new_token():
    server = API()
    token, secret, source, _waited = create(server)
    assert token["client_id"] == NEW and token["roles"] == [ROLE] and secret["token"] == NEW_TOKEN
    assert source == "none"  # the replaced token never expired, nor does its replacement
    # the roles are read only when the create is refused (test_rotation_create_roles.py)
    assert server.calls == [("POST", "/v2/tokens"), ("GET", "/v2/currentOrg")]


def test_create_with_role_ids_makes_no_roles_call_and_with_names_one():
    server = API()
    create(server, roles=[ROLE.upper()])
    assert ("GET", "/v2/organizations/roles") not in server.calls
    server = API()
    assert create(server, roles=["r/w svc acct"])[0]["roles"] == [ROLE]
    assert server.calls[0] == ("GET", "/v2/organizations/roles") and len(server.calls) == 3


def test_the_first_token_needs_roles():
    with pytest.raises(AstraInputError, match="token_rotation_roles must be set"):
        create(API(family=()), replaces=None)


def test_a_new_token_never_accepted_stops_before_anything_is_distributed():
    server = API()
    server.accepts.discard(NEW_TOKEN)
    with pytest.raises(AstraError) as caught:
        create(server)
    message = str(caught.value)
    assert message.startswith("The new token %s was not accepted by the API within 0 seconds" % NEW)
    assert "Nothing was distributed or deleted" in message and NEW_TOKEN not in message


def test_a_failed_create_says_nothing_was_distributed():
    refusal = AstraApiError("Creating token 'app' failed: HTTP 403.", status=403, hint="The api_token needs org-token-write.")
    server = API(fail={("POST", "/v2/tokens"): refusal})
    with pytest.raises(AstraError) as caught:
        create(server)
    assert str(caught.value) == (
        "Creating the new token of the family 'app' failed: Creating token 'app' failed: HTTP 403. The api_token needs "
        "org-token-write. Nothing was distributed or deleted: every consumer still holds its working token. Fix the "
        "cause and run the role again.")
    assert caught.value.status == 403


def retire(server, client_ids=(OLD,), old_tokens=(OLD_TOKEN,), expected=(NEW,), holders=None):
    return _rotation_steps.retire(TokenApi(server), server.client_for, "app", list(client_ids), list(old_tokens),
                                  list(expected), NEW, 0, holders)


def test_retire_looks_again_deletes_checks_the_deleted_token_is_refused_and_confirms():
    server = API(family=(OLD, NEW))
    assert retire(server, holders={"c1": NEW, "store 0 (vault_kv2, secret/app key token at x)": NEW}) == ([OLD], [NEW])
    assert server.calls == [("GET", "/v2/tokens"), ("DELETE", "/v2/tokens/%s" % OLD), ("GET", "/v2/currentOrg"),
                            ("GET", "/v2/tokens")]


@pytest.mark.parametrize("holders, said", [
    ({"c1": NEW, "c2": OLD}, "still held just before the delete: c2 holds %s" % OLD),
    ({"c1": NEW, "store 0 (aws_secretsmanager, secret app in us-east-1)": OLD},
     "store 0 (aws_secretsmanager, secret app in us-east-1) holds %s" % OLD),
    ({"c1": NEW, "c2": None}, "could not be read again after the grace period: c2"),
])
def test_a_token_something_still_holds_is_not_deleted(holders, said):
    server = API(family=(OLD, NEW))
    with pytest.raises(AstraError) as caught:
        retire(server, holders=holders)
    assert said in str(caught.value) and str(caught.value).startswith("Nothing was deleted from the family 'app'")
    assert server.calls == [("GET", "/v2/tokens")]


def test_retire_with_nothing_to_delete_only_confirms():
    server = API(family=(NEW,))
    assert retire(server, client_ids=(), old_tokens=()) == ([], [NEW])
    assert server.calls == [("GET", "/v2/tokens")]


def test_a_deleted_token_still_accepted_is_reported():
    server = API(family=(OLD, NEW))
    server.call = _keep_accepting(server.call, server)
    with pytest.raises(AstraError, match="was still accepted by the API 0 seconds after its deletion"):
        retire(server)


def _keep_accepting(call, server):
    def wrapped(method, path, action, body=None, **kwargs):
        answer = call(method, path, action, body, **kwargs)
        server.accepts.add(OLD_TOKEN)
        return answer
    return wrapped


def test_a_failed_delete_names_the_tokens_left():
    failure = AstraApiError("Deleting failed: HTTP 500.", status=500)
    server = API(family=(OLD, NEW), fail={("DELETE", "/v2/tokens/%s" % OLD): failure})
    with pytest.raises(AstraError) as caught:
        retire(server)
    assert "the tokens not deleted (%s) stay valid and unused" % OLD in str(caught.value)


def test_a_family_changed_by_another_process_before_the_delete_loses_nothing():
    server = API(family=(OLD, NEW, "StrangerStrangerStranger"))
    with pytest.raises(AstraError, match="the family now also holds StrangerStrangerStranger, which this run did not "
                                         "create"):
        retire(server)
    assert server.calls == [("GET", "/v2/tokens")]


def test_a_new_token_gone_before_the_delete_keeps_the_old_one():
    """Someone deleted the new token meanwhile: the old token may be the only one that works; nothing is deleted."""
    server = API(family=(OLD,))
    with pytest.raises(AstraError, match="NewNewNewNewNewNewNewNew, which the consumers now hold, is no longer in the "
                                         "family"):
        retire(server, holders={"c1": NEW})
    assert server.calls == [("GET", "/v2/tokens")]


def test_a_family_changed_by_another_process_after_the_delete_is_reported():
    server = API(family=(OLD, NEW))
    server.call = _add_after_delete(server.call, server)
    with pytest.raises(AstraError, match="holds NewNewNewNewNewNewNewNew, StrangerStrangerStranger, but only "
                                         "NewNewNewNewNewNewNewNew were expected"):
        retire(server)


def _add_after_delete(call, server):
    def wrapped(method, path, action, body=None, **kwargs):
        answer = call(method, path, action, body, **kwargs)
        if method == "DELETE":
            server.tokens.append(dict(server.tokens[-1], clientId="StrangerStrangerStranger"))
        return answer
    return wrapped
