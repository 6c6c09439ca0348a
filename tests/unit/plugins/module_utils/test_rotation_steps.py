# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation role's create and retire steps (module_utils/_rotation_steps.py) on the emulator's own model
(tests/unit/plugins/emulated_api.py): which calls each makes, and what its failures say."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _rotation_steps
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError, AstraInputError
from ansible_collections.astra.devops.tests.unit.plugins.emulated_api import EmulatedClient

ROLE = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"  # R/W Svc Acct
STRANGER = "StrangerStrangerStranger"


class Family:
    """A World whose family 'app' holds the tokens named (old, new), each as the emulator made it."""

    def __init__(self, *names, **client):
        self.server = EmulatedClient(**client)
        made = dict((name, self.server.new_token("app", roles=["R/W Svc Acct"])) for name in names)
        self.ids = dict((name, token["clientId"]) for name, token in made.items())
        self.tokens = dict((name, token["token"]) for name, token in made.items())
        self.server.calls[:] = []

    @property
    def calls(self):
        return self.server.calls

    def create(self, roles=None, replaces="old"):
        if replaces == "old":
            replaces = {"client_id": self.ids["old"], "roles": [ROLE], "expiry": None,
                        "generated_on": "2026-11-01T00:00:00Z"}
        return _rotation_steps.create(TokenApi(self.server), self.server.client_for, "app", replaces, roles, None,
                                      list(self.ids.values()), 0)

    def retire(self, client_ids=("old",), old_tokens=("old",), expected=("new",), holders=None, new="new"):
        return _rotation_steps.retire(
            TokenApi(self.server), self.server.client_for, "app", [self.ids[n] for n in client_ids],
            [self.tokens[n] for n in old_tokens], [self.ids.get(n, n) for n in expected], self.ids.get(new, new), 0,
            dict((holder, self.ids.get(held, held)) for holder, held in (holders or {}).items()))


def test_create_carries_the_roles_over_without_a_roles_call_and_waits_for_the_new_token():
    family = Family("old")
    token, secret, source, _waited = family.create()
    assert token["roles"] == [ROLE] and secret["client_id"] == token["client_id"] != family.ids["old"]
    assert source == "none"  # the replaced token never expired, nor does its replacement
    # the roles are read only when the create is refused (test_rotation_create_roles.py)
    assert family.calls == [("POST", "/v2/tokens"), ("GET", "/v2/currentOrg")]


def test_create_with_role_ids_makes_no_roles_call_and_with_names_one():
    family = Family("old")
    family.create(roles=[ROLE.upper()])
    assert ("GET", "/v2/organizations/roles") not in family.calls
    family = Family("old")
    assert family.create(roles=["r/w svc acct"])[0]["roles"] == [ROLE]
    assert family.calls[0] == ("GET", "/v2/organizations/roles") and len(family.calls) == 3


def test_the_first_token_needs_roles():
    with pytest.raises(AstraInputError, match="token_rotation_roles must be set"):
        Family().create(replaces=None)


def test_a_new_token_never_accepted_stops_before_anything_is_distributed():
    family = Family("old")
    family.server.admin("POST", "config", {"activation_delay": 60})
    with pytest.raises(AstraError) as caught:
        family.create()
    message = str(caught.value)
    assert message.startswith("The new token ") and "was not accepted by the API within 0 seconds" in message
    assert "Nothing was distributed or deleted" in message and "AstraCS:" not in message


def test_a_failed_create_says_nothing_was_distributed():
    family = Family("old")
    family.server.token = family.server.new_token("reader", roles=["RO Svc Acct"])["token"]  # no org-token-write
    with pytest.raises(AstraError) as caught:
        family.create()
    message = str(caught.value)
    assert message.startswith("Creating the new token of the family 'app' failed: Creating token 'app' failed with "
                              "HTTP 403"), message
    assert message.endswith("Nothing was distributed or deleted: every consumer still holds its working token. Fix "
                            "the cause and run the role again."), message
    assert caught.value.status == 403


def test_retire_looks_again_deletes_checks_the_deleted_token_is_refused_and_confirms():
    family = Family("old", "new")
    assert family.retire(holders={"c1": "new", "store 0 (vault_kv2, secret/app key token at x)": "new"}) == (
        [family.ids["old"]], [family.ids["new"]])
    assert family.calls == [("GET", "/v2/tokens"), ("DELETE", "/v2/tokens/%s" % family.ids["old"]),
                            ("GET", "/v2/currentOrg"), ("GET", "/v2/tokens")]


@pytest.mark.parametrize("holders, said", [
    ({"c1": "new", "c2": "old"}, "still held just before the delete: c2 holds {old}"),
    ({"c1": "new", "store 0 (aws_secretsmanager, secret app in us-east-1)": "old"},
     "store 0 (aws_secretsmanager, secret app in us-east-1) holds {old}"),
    ({"c1": "new", "c2": None}, "could not be read again after the grace period: c2"),
])
def test_a_token_something_still_holds_is_not_deleted(holders, said):
    family = Family("old", "new")
    with pytest.raises(AstraError) as caught:
        family.retire(holders=holders)
    assert said.format(**family.ids) in str(caught.value)
    assert str(caught.value).startswith("Nothing was deleted from the family 'app'")
    assert family.calls == [("GET", "/v2/tokens")]


def test_retire_with_nothing_to_delete_only_confirms():
    family = Family("new")
    assert family.retire(client_ids=(), old_tokens=()) == ([], [family.ids["new"]])
    assert family.calls == [("GET", "/v2/tokens")]


class DeletedButAccepted(EmulatedClient):
    """The emulated API, but a deleted token is still accepted (a deletion that has not spread yet)."""

    def call(self, method, path, action, body=None, **kwargs):
        record = self.world.tokens.get(path.rsplit("/", 1)[-1]) if method == "DELETE" else None
        answer = super(DeletedButAccepted, self).call(method, path, action, body, **kwargs)
        if record:
            self.world.by_token[record["token"]] = record
        return answer


def test_a_deleted_token_still_accepted_is_reported():
    family = Family("old", "new")
    family.server.__class__ = DeletedButAccepted
    with pytest.raises(AstraError, match="was still accepted by the API 0 seconds after its deletion"):
        family.retire()


def test_a_failed_delete_names_the_tokens_left():
    family = Family("old", "new")
    family.server.admin("POST", "faults", {"method": "DELETE", "path": "/v2/tokens/%s" % family.ids["old"],
                                           "status": 500})
    with pytest.raises(AstraError) as caught:
        family.retire()
    assert "the tokens not deleted (%s) stay valid and unused" % family.ids["old"] in str(caught.value)


def test_a_family_changed_by_another_process_before_the_delete_loses_nothing():
    family = Family("old", "new", "stranger")
    with pytest.raises(AstraError, match="the family now also holds %s, which this run did not create"
                                         % family.ids["stranger"]):
        family.retire()
    assert family.calls == [("GET", "/v2/tokens")]


def test_a_new_token_gone_before_the_delete_keeps_the_old_one():
    """Someone deleted the new token meanwhile: the old token may be the only one that works; nothing is deleted."""
    family = Family("old")
    with pytest.raises(AstraError, match="NewNewNewNewNewNewNewNew, which the consumers now hold, is no longer in the "
                                         "family"):
        family.retire(holders={"c1": "NewNewNewNewNewNewNewNew"}, expected=("NewNewNewNewNewNewNewNew",))
    assert family.calls == [("GET", "/v2/tokens")]


class OneMoreAfterDelete(EmulatedClient):
    """The emulated API, where another process adds a token to the family right after each delete."""

    def call(self, method, path, action, body=None, **kwargs):
        answer = super(OneMoreAfterDelete, self).call(method, path, action, body, **kwargs)
        if method == "DELETE":
            self.new_token("app")
        return answer


def test_a_family_changed_by_another_process_after_the_delete_is_reported():
    family = Family("old", "new")
    family.server.__class__ = OneMoreAfterDelete
    with pytest.raises(AstraError, match="holds .*, but only %s were expected" % family.ids["new"]):
        family.retire()
