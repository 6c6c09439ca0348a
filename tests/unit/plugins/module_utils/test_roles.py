# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._roles import (
    check_role_id,
    check_role_list,
    is_role_id,
    names_role,
    resolve_roles,
)

ROLES = [
    {"id": "b4ed0e9e-67e8-47b6-8b58-c6629be961a9", "name": "R/W Svc Acct", "built_in": True},
    {"id": "16a4b1d7-a615-41f8-95ca-52b0280f4d77", "name": "RO Svc Acct", "built_in": True},
    {"id": "ad0566b5-2a67-49de-89e8-92258c2f2c98", "name": "Organization Administrator", "built_in": True},
    {"id": "43745b73-ad46-46e4-b826-c15d06d2cea0", "name": "Admin User", "built_in": True},
    {"id": "11111111-2222-4333-8444-555555555555", "name": "orders Database Administrator", "built_in": False},
]


@pytest.mark.parametrize("spelling, role_id", [
    ("R/W Svc Acct", "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"),
    ("Read/Write Service Account", "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"),
    ("read/write service account", "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"),
    ("Read Only Service Account", "16a4b1d7-a615-41f8-95ca-52b0280f4d77"),
    ("Read-Only Service Account", "16a4b1d7-a615-41f8-95ca-52b0280f4d77"),
    ("organization administrator", "ad0566b5-2a67-49de-89e8-92258c2f2c98"),
    ("Administrator User", "43745b73-ad46-46e4-b826-c15d06d2cea0"),
    ("AD0566B5-2A67-49DE-89E8-92258C2F2C98", "ad0566b5-2a67-49de-89e8-92258c2f2c98"),
    ("orders Database Administrator", "11111111-2222-4333-8444-555555555555"),
])
def test_resolve_both_spellings_and_ids(spelling, role_id):
    assert resolve_roles([spelling], ROLES) == [role_id]


def test_unknown_role_lists_known_ones():
    with pytest.raises(AstraInputError) as caught:
        resolve_roles(["Super User"], ROLES)
    assert "unknown role 'Super User'" in caught.value.message and "RO Svc Acct" in caught.value.message


def test_unknown_role_id():
    with pytest.raises(AstraInputError):
        resolve_roles(["00000000-0000-4000-8000-000000000000"], ROLES)


@pytest.mark.parametrize("values, words", [
    ([], "at least one role"),
    (["RO Svc Acct", " "], "empty entries"),
    (["RO Svc Acct", "Read Only Service Account"], "more than once"),
])
def test_check_role_list(values, words):
    with pytest.raises(AstraInputError) as caught:
        check_role_list(values)
    assert words in caught.value.message and caught.value.message.startswith("roles")


def test_is_role_id():
    assert is_role_id("b4ed0e9e-67e8-47b6-8b58-c6629be961a9")
    assert not is_role_id("R/W Svc Acct")


def test_a_name_and_the_id_of_one_role_are_a_duplicate():
    with pytest.raises(AstraInputError) as caught:
        resolve_roles(["R/W Svc Acct", "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"], ROLES)
    assert caught.value.message.startswith("roles must name each role once") and "more than once" in caught.value.message


@pytest.mark.parametrize("value", ["R/W Svc Acct", "12345", "{'a': 1}", ""])
def test_check_role_id_refuses_anything_but_a_uuid(value):
    with pytest.raises(AstraInputError) as caught:
        check_role_id(value)
    assert caught.value.message.startswith("id must be a role id")


def test_check_role_id_accepts_a_uuid_and_none():
    check_role_id("b4ed0e9e-67e8-47b6-8b58-c6629be961a9")
    check_role_id(None)


# ---- roles given as one comma string ("a, b") arrive as ['a', ' b'] --------------------------------

def test_spaces_around_role_names_are_stripped_and_repeats_refused():
    assert check_role_list(["R/W Svc Acct", " RO Svc Acct ", "  b4ed0e9e-67e8-47b6-8b58-c6629be961a9"]) == [
        "R/W Svc Acct", "RO Svc Acct", "b4ed0e9e-67e8-47b6-8b58-c6629be961a9"]
    with pytest.raises(AstraInputError) as caught:
        check_role_list(["R/W Svc Acct", " r/w svc acct"])
    assert "more than once" in str(caught.value)


# ---- control characters in role values are escaped --------------------------------------------

def test_role_messages_stay_on_one_line():
    for call in (lambda: check_role_id("a\nb"), lambda: check_role_list(["a", "\n"]),
                 lambda: resolve_roles(["No\nSuch"], [{"id": "1", "name": "Bad\nName"}])):
        with pytest.raises(AstraInputError) as caught:
            call()
        assert "\n" not in str(caught.value), repr(str(caught.value))


@pytest.mark.parametrize("role, name, expected", [
    ({"name": "R/W Svc Acct", "built_in": True}, "Read/Write Service Account", True),
    ({"name": "R/W Svc Acct", "built_in": True}, " r/w svc acct ", True),
    ({"name": "Database Administrator", "built_in": True}, "database_administrator", True),
    ({"name": "Service Reader", "built_in": False}, "service reader", True),
    ({"name": "Service Reader", "built_in": False}, " SERVICE READER ", True),
    ({"name": "Service Reader", "built_in": False}, "svc reader", False),
    ({"name": "a b", "built_in": False}, "a_b", False),
    ({"name": "Readers", "built_in": False}, "Reader", False),
])
def test_a_name_finds_a_builtin_role_by_any_spelling_and_a_custom_role_only_by_its_own_name(role, name, expected):
    assert names_role(role, name) is expected
