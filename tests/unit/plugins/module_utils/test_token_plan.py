# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_token's planner (module_utils/_token_plan.py) in tables, on tokens and roles read through the API classes
from the emulator's own model (tests/unit/plugins/emulated_api.py): what it plans, and which reads it asks for."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _token_plan as plan
from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._custom_roles import SCOPED_MARK
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._records import UTC
from ansible_collections.astra.devops.tests.unit.plugins.emulated_api import EmulatedClient

RW = "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"  # R/W Svc Acct, a built-in role of the emulator
NO_EXPIRY = (None, False)


def params(**given):
    found = {"state": "present", "description": "app", "client_id": None, "roles": None, "org_id": None,
             "recreate": "never", "databases": None}
    found.update(given)
    return found


@pytest.fixture(name="api")
def emulated_api():
    client = EmulatedClient()
    client.new_token("app", roles=["R/W Svc Acct"])
    return client


def read(client):
    return plan.new_reads(TokenApi(client).list())


def decide(client, reads, decision):
    """The module's loop: the roles list is read when a decision asks for it; returns (decision, reads asked)."""
    asked = []
    while True:
        try:
            return decision(reads), asked
        except plan.NeedRead as need:
            asked.append("optional" if need.optional else "roles")
            reads["catalog"] = RoleApi(client).list()


@pytest.mark.parametrize("given, outcome, asked", [
    # a token as asked: kept, without the roles list when roles are ids
    (dict(roles=[RW.upper()]), "keep", []),
    (dict(roles=["r/w svc acct"]), "keep", ["roles"]),
    (dict(), "keep", []),
    # a new description: a create, the roles list read to check the ids or resolve the names
    (dict(description="other", roles=[RW]), "create", ["roles"]),
    (dict(description="other", roles=["Read/Write Service Account"]), "create", ["roles"]),
    # with org_id, ids are sent unchecked (a member organization's roles cannot be listed)
    (dict(description="other", roles=[RW], org_id="9f876543-21ab-4cde-8f90-123456789abc"), "create", []),
    # differences: refused by default (the names in the message read the list, optionally), replaced on state_change
    (dict(roles=["RO Svc Acct"]), "roles are [R/W Svc Acct], asked [RO Svc Acct]", ["roles"]),
    (dict(roles=["RO Svc Acct"], recreate="state_change"), "replace", ["roles"]),
    (dict(recreate="always"), "replace", ["roles"]),
    (dict(description="other"), "roles must be given to create the token 'other'", []),
    (dict(client_id="AbCdEfGhIjKlMnOpQrStUvWx", description=None), "client_id AbCdEfGhIjKlMnOpQrStUvWx was not found",
     []),
])
def test_a_present_run_is_planned_from_the_tokens_and_only_the_reads_it_needs(api, given, outcome, asked):
    reads = read(api)
    if outcome not in ("keep", "create", "replace"):
        with pytest.raises(AstraInputError, match=outcome.replace("[", r"\[").replace("]", r"\]")):
            decide(api, reads, lambda r: plan.plan(params(**given), NO_EXPIRY, r))
        return
    planned, reads_asked = decide(api, reads, lambda r: plan.plan(params(**given), NO_EXPIRY, r))
    assert reads_asked == asked
    assert planned.get("keep", False) == (outcome == "keep")
    if outcome != "keep":
        assert (planned["current"] is not None) == (outcome == "replace")
        if given.get("roles") is None:  # a replacement carries the old token's roles over
            assert planned["role_ids"] == [RW]
        assert not planned["make_scoped_role"]
        assert len(planned["known_client_ids"]) == 2  # the bootstrap token and app


def test_a_description_shared_by_two_tokens_is_refused_with_their_client_ids(api):
    second = api.new_token("app")["clientId"]
    with pytest.raises(AstraInputError, match="2 tokens have the description 'app' .*%s" % second):
        plan.plan(params(roles=[RW]), NO_EXPIRY, read(api))


@pytest.mark.parametrize("given, targets", [
    (dict(state="absent"), 1),
    (dict(state="absent", description="nothing"), 0),
])
def test_an_absent_run_targets_every_token_of_the_description(api, given, targets):
    assert len(plan.plan(params(**given), NO_EXPIRY, read(api))["targets"]) == targets


def test_deleting_by_client_id_with_another_description_is_refused(api):
    client_id = api.new_token("other")["clientId"]
    with pytest.raises(AstraInputError, match="refusing to delete it"):
        plan.plan(params(state="absent", client_id=client_id), NO_EXPIRY, read(api))


@pytest.mark.parametrize("asked, relative, differs", [
    (datetime.datetime(2031, 1, 1, tzinfo=UTC), False, True),
    (datetime.datetime(2031, 1, 1, tzinfo=UTC), True, False),  # a duration never counts as a difference
])
def test_an_absolute_expiry_is_a_difference_and_a_duration_is_not(api, asked, relative, differs):
    reads = read(api)
    found = plan.differences(params(), (asked, relative), reads, reads["tokens"][-1], None)
    assert bool(found) == differs


def test_a_replacement_keeps_the_lifetime_of_the_token_it_replaces():
    client = EmulatedClient()
    client.new_token("app", roles=["R/W Svc Acct"], age_days=10, expires_in_days=80)
    planned, _asked = decide(client, read(client), lambda r: plan.plan(params(recreate="always"), NO_EXPIRY, r))
    assert planned["expiry_source"] == "replaced_token_lifetime"
    assert 89 <= (planned["expiry"] - datetime.datetime.now(UTC)).days <= 90


def test_a_scoped_token_plans_its_role_made_just_before_the_token(api):
    reads = read(api)
    roles = RoleApi(api).list()
    builtin = plan.database_role("database admin", roles)
    reads["scoped"] = plan.scoped_role(builtin, ["5b70892f-e01a-4595-98e6-19ecc9985d50"], roles, api.world.org_id,
                                       {"5b70892f-e01a-4595-98e6-19ecc9985d50": "orders"})
    assert reads["scoped"]["name"] == "orders Database Administrator" and reads["scoped"]["id"] is None
    planned = plan.plan(params(description="scoped", databases=["5b70892f-e01a-4595-98e6-19ecc9985d50"]), NO_EXPIRY,
                        reads)
    assert planned["make_scoped_role"] and planned["role_ids"] == []
    with pytest.raises(AstraInputError, match="database_role must name a built-in role"):
        plan.database_role("R/W", [role for role in roles if not role["built_in"]])


def test_a_scoped_role_of_that_name_with_another_policy_is_never_reused(api):
    roles = RoleApi(api).list()
    builtin = plan.database_role("Database Administrator", roles)
    RoleApi(api).create({"name": "orders Database Administrator", "description": "", "actions": ["db-cql"],
                         "resources": []})
    with pytest.raises(AstraInputError, match="exists with other actions or resources"):
        plan.scoped_role(builtin, ["5b70892f-e01a-4595-98e6-19ecc9985d50"], RoleApi(api).list(), api.world.org_id,
                         {"5b70892f-e01a-4595-98e6-19ecc9985d50": "orders"})


def test_only_roles_astra_token_made_and_no_token_holds_are_deleted(api):
    roles = RoleApi(api)
    made = roles.create({"name": "x Database Administrator", "description": "limited %s" % SCOPED_MARK,
                         "actions": ["db-cql"], "resources": []})
    other = roles.create({"name": "hand-made", "description": "", "actions": ["db-cql"], "resources": []})
    gone = api.new_token("gone", roles=[made, other])["clientId"]
    api.new_token("keeps", roles=[other])
    reads = read(api)
    (candidates, explicit), asked = decide(api, reads, lambda r: plan.unused_role_candidates(
        params(state="absent", description="gone"), r, [gone]))
    assert (candidates, explicit, asked) == ([made], None, ["roles"])  # the hand-made role is never a candidate
    holders = plan.holders([made, other], reads["tokens"], [gone])
    assert holders[made] == [] and len(holders[other]) == 1
    deletable = plan.deletable_roles([made, other], holders, reads["catalog"], own_only=True)
    assert [role["id"] for role in deletable] == [made]
