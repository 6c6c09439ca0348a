# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Custom roles (module_utils/_custom_roles.py): actions, DRNs, databases and what a change removes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
from pathlib import Path

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _custom_roles as custom
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError

ORG = "f9f4b1e0-4c05-451e-9bba-d631295a7f73"
DB = "5b70892f-e01a-4595-98e6-19ecc9985d50"
EMULATOR = Path(__file__).resolve().parents[3] / "emulator" / "astra_emulator.py"


def test_the_emulator_knows_the_same_actions():
    """The emulator stands in for the API and imports nothing of the collection, so it keeps its own list of the
    actions the API accepts; the two lists must not drift apart."""
    spec = importlib.util.spec_from_file_location("astra_emulator", str(EMULATOR))
    emulator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(emulator)
    assert emulator.KNOWN_ORG_ACTIONS == custom.ACTIONS


@pytest.mark.parametrize("drn", [
    "drn:astra:org:%s" % ORG, "drn:astra:org:__ORG_ID__:db:*", "drn:astra:org:%s:db:%s:keyspace:*" % (ORG, DB),
    "drn:astra:org:%s:db:%s:keyspace:orders:table:items" % (ORG, DB), "drn:astra:org:%s:db:*:keyspace:*:table:*" % ORG,
    "drn:astra:org:%s:stream:*" % ORG, "drn:astra:org:%s:role:*" % ORG,
])
def test_drns_the_api_uses_are_accepted(drn):
    assert custom.check_resources([drn, drn]) == [drn]


@pytest.mark.parametrize("drn", [
    "drn:astra:org:not-a-uuid", "drn:astra:org:%s:db:%s:table:t" % (ORG, DB), "drn:astra:org:%s:db:x" % ORG,
    "drn:astra:org:%s:keyspace:*" % ORG, "drn:astra:org:%s:db:%s:keyspace:bad-name" % (ORG, DB), 42, "",
])
def test_other_resources_are_refused_naming_the_option(drn):
    with pytest.raises(AstraInputError, match="^resources must hold DRNs"):
        custom.check_resources([drn])


def test_actions_are_checked_and_kept_once_in_order():
    assert custom.check_actions(["db-cql", "org-db-view", "db-cql"]) == ["db-cql", "org-db-view"]
    with pytest.raises(AstraInputError, match="unknown actions: db-all"):
        custom.check_actions(["db-cql", "db-all"])
    with pytest.raises(AstraInputError, match="non-empty list"):
        custom.check_actions([])


def test_databases_become_every_drn_level_with_wildcards_where_open():
    databases = custom.check_databases([DB.upper(), {"id": DB, "keyspaces": ["orders"], "tables": ["items"]}])
    assert custom.database_resources(ORG, databases) == [
        "drn:astra:org:%s" % ORG,
        "drn:astra:org:%s:db:%s" % (ORG, DB),
        "drn:astra:org:%s:db:%s:keyspace:*" % (ORG, DB),
        "drn:astra:org:%s:db:%s:keyspace:*:table:*" % (ORG, DB),
        "drn:astra:org:%s:db:%s:keyspace:orders" % (ORG, DB),
        "drn:astra:org:%s:db:%s:keyspace:orders:table:items" % (ORG, DB),
    ]


@pytest.mark.parametrize("value, words", [
    ([], "databases must be a non-empty list"),
    (["x"], "databases[0].id must be a database id"),
    ([{"id": DB, "tables": ["t"]}], "databases[0].tables needs keyspaces"),
    ([{"id": DB, "keyspace": ["k"]}], "databases[0] has unknown keys keyspace"),
    ([{"id": DB, "keyspaces": []}], "databases[0].keyspaces must be a non-empty list"),
    ([7], "databases[0] must be a database id or a mapping"),
])
def test_bad_databases_name_the_entry(value, words):
    with pytest.raises(AstraInputError) as error:
        custom.check_databases(value)
    assert str(error.value).startswith(words), str(error.value)


def test_a_change_compares_actions_and_resources_as_sets():
    current = {"description": "d", "actions": ["a", "b"], "resources": ["r1", "r2"]}
    same = custom.change_of(current, {"description": "d", "actions": ["b", "a"], "resources": ["r2", "r1"]})
    assert not custom.changes(same)
    wider = custom.change_of(current, {"description": "d", "actions": ["a", "b", "c"], "resources": ["r1", "r2"]})
    assert custom.changes(wider) and not custom.narrows(wider) and wider["added_actions"] == ["c"]
    narrower = custom.change_of(current, {"description": "e", "actions": ["a"], "resources": ["r1", "r2", "r3"]})
    assert custom.narrows(narrower) and narrower["removed_actions"] == ["b"] and narrower["description"]


def test_other_orgs_and_database_ids_read_from_resources():
    own, other = "f9f4b1e0-4c05-451e-9bba-d631295a7f73", "0D4CD8E4-2D30-4B0C-9C39-4C2E6BDBD9B6"
    db = "5b70892f-e01a-4595-98e6-19ecc9985d50"
    resources = ["drn:astra:org:%s" % own.upper(), "drn:astra:org:__ORG_ID__:db:%s" % db.upper(),
                 "drn:astra:org:%s:db:*" % other, "drn:astra:org:%s:db:%s:keyspace:*" % (other, db)]
    assert custom.other_orgs(resources, own) == [other.lower()]
    assert custom.other_orgs(resources[:2], own) == []
    assert custom.database_ids(resources) == [db]
    assert custom.database_ids(["drn:astra:org:%s:db:*:keyspace:*" % own]) == []


def test_a_role_made_for_a_scoped_token_is_known_by_its_description():
    builtin = {"name": "Database Administrator", "actions": ["db-cql"]}
    made = custom.scoped_role("org", [{"id": "db1", "name": "orders"}], builtin)
    assert custom.made_for_a_scoped_token(dict(made, built_in=False))
    assert not custom.made_for_a_scoped_token({"description": "orders admins", "built_in": False})
    assert not custom.made_for_a_scoped_token(dict(made, built_in=True))
    assert not custom.made_for_a_scoped_token(None)
