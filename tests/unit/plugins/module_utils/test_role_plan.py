# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_role's planner (module_utils/_role_plan.py) in tables, on roles and tokens read through the API classes
from the emulator's own model (tests/unit/plugins/emulated_api.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _role_plan as plan
from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._custom_roles import holders_of
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError
from ansible_collections.astra.devops.tests.unit.plugins.emulated_api import EmulatedClient

# The organization of the emulated World (EmulatedClient's seed makes it the same in every test).
ORG_DRN = "drn:astra:org:%s" % EmulatedClient().world.org_id
DB_DRN = ORG_DRN + ":db:5b70892f-e01a-4595-98e6-19ecc9985d50"


def params(name="orders-reader", description=None, role_id=None):
    return {"name": name, "description": description, "role_id": role_id}


@pytest.fixture(name="api")
def emulated_api():
    """A World with one custom role, orders-reader (db-cql on the org), held by the token 'app'."""
    client = EmulatedClient()
    role_id = RoleApi(client).create({"name": "orders-reader", "description": "reads orders", "actions": ["db-cql"],
                                      "resources": [ORG_DRN]})
    client.new_token("app", roles=[role_id])
    client.calls[:] = []
    return client


def read(client, name="orders-reader", role_id=None):
    roles = RoleApi(client).list()
    return roles, plan.find(roles, role_id, name)


@pytest.mark.parametrize("name, role_id, found", [
    ("orders-reader", None, "orders-reader"),
    ("  ORDERS-READER ", None, "orders-reader"),  # names compare as every role name does (_roles.names_role)
    ("Orders-Reader", None, "orders-reader"),
    ("billing", None, None),
])
def test_a_role_is_found_by_its_name_as_every_role_name_compares(api, name, role_id, found):
    current = read(api, name, role_id)[1]
    assert (current["name"] if current else None) == found


def test_a_role_is_found_by_its_id_in_any_letter_case_and_an_unknown_id_is_refused(api):
    roles, current = read(api)
    assert plan.find(roles, " %s " % current["id"].upper(), None) == current
    with pytest.raises(AstraInputError, match="role_id 3c1c4c5e-5f5e-4d2b-9c1e-7e4b1b9d9f10 is not a role"):
        plan.find(roles, "3C1C4C5E-5F5E-4D2B-9C1E-7E4B1B9D9F10", None)


def test_a_built_in_role_is_never_planned_for(api):
    with pytest.raises(AstraInputError, match="is built in"):
        read(api, "Read/Write Service Account")


@pytest.mark.parametrize("options, write, gained, warning, refused", [
    # (what the options change, the write, the resources it gains, whether holders are warned, refused without force)
    ({}, None, None, False, False),
    ({"description": "reads orders"}, None, None, False, False),
    ({"description": "reads the orders"}, "update", [], False, False),
    ({"actions": ["db-cql", "db-table-select"]}, "update", [], True, False),
    ({"resources": [ORG_DRN, DB_DRN]}, "update", [DB_DRN], True, False),
    ({"actions": ["db-table-select"]}, "update", [], True, True),
    ({"resources": []}, "update", [], False, True),
])
def test_an_existing_role_is_planned_by_what_the_options_change(api, options, write, gained, warning, refused):
    current = read(api)[1]
    wanted = plan.wanted_role(params(description=options.get("description")), current, options.get("actions"),
                              options.get("resources"))
    assert plan.gained_resources(current, wanted) == gained
    held_by = holders_of(TokenApi(api).list(), current["id"]) if gained is not None else None
    if refused:
        with pytest.raises(AstraInputError, match=r"is held by 1 token\(s\) .* Nothing was changed. Set force=true"):
            plan.plan_present(current, wanted, held_by, force=False)
        planned = plan.plan_present(current, wanted, held_by, force=True)
    else:
        planned = plan.plan_present(current, wanted, held_by, force=False)
    assert planned["write"] == write
    assert bool(planned["warning"]) == warning
    result = plan.result(planned, diff=True)
    assert result["changed"] == (write is not None)
    assert ("held_by" in result) == (write is not None)
    assert api.calls == [("GET", "/v2/organizations/roles")] + ([("GET", "/v2/tokens")] if gained is not None else [])


def test_a_new_role_needs_actions_and_is_planned_as_a_create(api):
    with pytest.raises(AstraInputError, match="actions \\(or actions_from\\) is required to create the role 'new'"):
        plan.wanted_role(params(" new "), None, None, None)
    wanted = plan.wanted_role(params(" new "), None, ["db-cql"], None)
    assert wanted == {"id": None, "name": "new", "description": "", "actions": ["db-cql"], "resources": [],
                      "built_in": False}
    planned = plan.plan_present(None, wanted, None, force=False)
    assert planned["write"] == "create" and plan.gained_resources(None, wanted) == []
    assert plan.result(planned, diff=True) == {
        "changed": True, "role": dict(wanted, actions=["db-cql"]),
        "diff": {"before": {}, "after": dict(wanted, actions=["db-cql"])}}


@pytest.mark.parametrize("exists, held, force, write, refused", [
    (False, False, False, None, False),
    (True, False, False, "delete", False),
    (True, True, False, None, True),
    (True, True, True, "delete", False),
])
def test_a_deletion_is_refused_while_tokens_hold_the_role_unless_forced(api, exists, held, force, write, refused):
    current = read(api)[1] if exists else None
    held_by = (["SomeClientIdOfAToken1"] if held else []) if exists else None
    if refused:
        with pytest.raises(AstraInputError, match="Nothing was deleted. Set force=true"):
            plan.plan_absent(current, held_by, force)
        return
    planned = plan.plan_absent(current, held_by, force)
    assert planned["write"] == write
    result = plan.result(planned, diff=False)
    assert result["changed"] == (write is not None)
    assert result["role"] == (None if current is None else plan.custom.shown_role(current))


@pytest.mark.parametrize("wanted, outcome", [
    ("Database Administrator", "actions"),
    ("database admin", "actions"),
    ("orders-reader", "a custom role"),
    ("No Such Role", "which is not a role of this organization"),
])
def test_actions_from_takes_a_built_in_roles_actions_only(api, wanted, outcome):
    roles = read(api)[0]
    if outcome == "actions":
        assert "org-db-view" in plan.actions_of_builtin(roles, wanted)
    else:
        with pytest.raises(AstraInputError, match=outcome):
            plan.actions_of_builtin(roles, wanted)


class WithoutCreateBody(EmulatedClient):
    """The emulated API, but a role create answers 201 without a body (as some shapes do)."""

    def call(self, method, path, action, body=None, **kwargs):
        status, data = super(WithoutCreateBody, self).call(method, path, action, body, **kwargs)
        return (201, None) if (method, path) == ("POST", "/v2/organizations/roles") else (status, data)


def test_a_role_created_without_an_answer_body_is_found_in_a_new_list():
    """The one place a create answered without a body reads the roles again (astra_role and astra_token's scoped
    role alike), so a created role never has no id."""
    api = WithoutCreateBody()
    role = {"name": "made", "description": "", "actions": ["db-cql"], "resources": []}
    role_id = RoleApi(api).create(role)
    assert role_id and role_id == plan.find(RoleApi(api).list(), None, "MADE")["id"]
    assert api.calls == [("POST", "/v2/organizations/roles"), ("GET", "/v2/organizations/roles"),
                         ("GET", "/v2/organizations/roles")]


def test_a_role_id_that_is_gone_is_nothing_to_do_for_state_absent(api):
    roles = RoleApi(api).list()
    gone = "3c1c4c5e-5f5e-4d2b-9c1e-7e4b1b9d9f10"
    assert plan.find(roles, gone, None, "absent") is None
    assert plan.plan_absent(None, None, False)["write"] is None


@pytest.mark.parametrize("new_name, refused", [
    ("orders-reader", None),           # its own name: no rename
    ("ORDERS-READER", None),           # a case-only rename of itself
    ("billing-writer", "another role, 'billing-writer'"),
    (" Billing-Writer ", "another role, 'billing-writer'"),
    ("RO User", "another role, the built-in role 'RO User'"),
    ("Read Only User", "another role, the built-in role 'RO User'"),  # a built-in role answers to every spelling
    ("a brand new name", None),
])
def test_a_rename_to_the_name_of_another_role_is_refused_before_any_write(api, new_name, refused):
    RoleApi(api).create({"name": "billing-writer", "description": "", "actions": ["db-cql"], "resources": [ORG_DRN]})
    roles, current = read(api)
    wanted = dict(current, name=new_name.strip())
    api.calls[:] = []
    if refused is None:
        plan.name_taken(roles, current, wanted)
    else:
        with pytest.raises(AstraInputError, match="is the name of %s" % refused):
            plan.name_taken(roles, current, wanted)
    assert not api.calls
