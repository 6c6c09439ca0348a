# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.astra.devops.plugins.filter import markdown_cell as markdown_filter
from ansible_collections.astra.devops.plugins.filter.markdown_cell import markdown_cell
from ansible_collections.astra.devops.plugins.filter.token_audit import KINDS, FilterModule, token_audit

ADMIN = "ad0566b5-2a67-49de-89e8-92258c2f2c98"
DBA = "5b3f3e8f-0000-4000-8000-000000000001"
RO = "5b3f3e8f-0000-4000-8000-000000000002"
ROLE_MANAGER = "5b3f3e8f-0000-4000-8000-000000000003"
TOKEN_READER = "5b3f3e8f-0000-4000-8000-000000000004"
ENTERPRISE_ADMIN = "5b3f3e8f-0000-4000-8000-000000000005"

ROLES = [
    {"id": ADMIN, "name": "Organization Administrator",
     "actions": ["org-read", "org-role-delete", "org-role-read", "org-role-write", "org-token-read", "org-token-write"]},
    {"id": DBA, "name": "Database Administrator", "actions": ["db-cql", "org-token-read", "org-token-write"]},
    {"id": RO, "name": "RO Svc Acct", "actions": ["db-cql", "db-table-select"]},
    {"id": ROLE_MANAGER, "name": "role manager", "actions": ["org-role-write"]},
    {"id": TOKEN_READER, "name": "token reader", "actions": ["org-token-read", "org-role-read"]},
    {"id": ENTERPRISE_ADMIN, "name": "Enterprise Administrator", "actions": ["enterprise-token-write"]},
]
NAMES = dict((role["id"], role["name"]) for role in ROLES)


def tok(client_id, description="", roles=(RO,), age=1, expires_in=200):
    """A token record as astra_token_info returns it; expires_in None: no expiry."""
    return {
        "client_id": client_id,
        "description": description,
        "roles": list(roles),
        "role_names": [NAMES.get(r, r) for r in roles],
        "generated_on": "2026-01-01T00:00:00Z",
        "expiry": None if expires_in is None else "2026-06-01T00:00:00Z",
        "org_id": None,
        "age_days": age,
        "expired": expires_in is not None and expires_in < 0,
        "expires_in_days": expires_in,
    }


def pairs(audit):
    return set((finding["kind"], client_id) for finding in audit["findings"] for client_id in finding["client_ids"])


def test_clean_token_has_no_finding():
    audit = token_audit([tok("A", "app")], ROLES)
    assert audit["findings"] == [] and audit["total"] == 0
    assert audit["counts"] == dict((kind, 0) for kind in KINDS)
    assert audit["tokens"][0]["findings"] == [] and audit["tokens"][0]["role_names"] == ["RO Svc Acct"]


def test_every_kind_on_a_seeded_set():
    tokens = [
        tok("NEVER", "n", expires_in=None),
        tok("OLD", "o", age=100),
        tok("SOON", "s", expires_in=5),
        tok("GONE", "g", expires_in=-2),
        tok("ADMIN", "a", roles=[ADMIN]),
        tok("DBA", "d", roles=[RO, DBA]),
        tok("ROLEMGR", "r", roles=[ROLE_MANAGER]),
        tok("READER", "t", roles=[TOKEN_READER]),
        tok("ENT", "e", roles=[ENTERPRISE_ADMIN]),
        tok("FAM1", "family"),
        tok("FAM2", "family"),
        tok("EMPTY1", ""),
        tok("EMPTY2", ""),
        tok("ALL", "all", roles=[ADMIN], age=400, expires_in=None),
    ]
    audit = token_audit(tokens, ROLES)
    assert pairs(audit) == {
        ("never_expires", "NEVER"), ("old", "OLD"), ("expiring_soon", "SOON"), ("expired", "GONE"),
        ("privileged", "ADMIN"), ("privileged", "DBA"), ("privileged", "ROLEMGR"), ("privileged", "ENT"),
        ("multiple_in_family", "FAM1"), ("multiple_in_family", "FAM2"),
        ("never_expires", "ALL"), ("old", "ALL"), ("privileged", "ALL"),
    }
    assert audit["counts"] == {"never_expires": 2, "old": 2, "expiring_soon": 1, "expired": 1, "privileged": 5,
                               "wide_scoped_role": 0, "deleted_role": 0, "multiple_in_family": 1}
    assert audit["total"] == 12 and audit["token_count"] == 14 and audit["ignored_count"] == 0
    assert [f["kind"] for f in audit["findings"]] == sorted((f["kind"] for f in audit["findings"]), key=KINDS.index)
    family = [f for f in audit["findings"] if f["kind"] == "multiple_in_family"]
    assert family == [{"kind": "multiple_in_family", "client_ids": ["FAM1", "FAM2"], "description": "family",
                       "detail": "2 tokens share this description: an unfinished rotation or a duplicate"}]
    rows = dict((row["client_id"], row) for row in audit["tokens"])
    assert rows["ALL"]["findings"] == ["never_expires", "old", "privileged"]
    assert rows["FAM2"]["findings"] == ["multiple_in_family"]


def test_privileged_names_roles_and_rights():
    audit = token_audit([tok("DBA", "d", roles=[RO, DBA, ADMIN])], ROLES)
    (finding,) = audit["findings"]
    assert finding["roles"] == ["Database Administrator", "Organization Administrator"]
    assert finding["actions"] == ["org-role-delete", "org-role-write", "org-token-write"]
    assert finding["detail"] == ("holds Database Administrator, Organization Administrator, which can "
                                 "org-role-delete, org-role-write, org-token-write")


def test_privileged_actions_can_be_chosen_and_unknown_roles_do_not_count():
    tokens = [tok("READER", "t", roles=[TOKEN_READER]), tok("GHOST", "x", roles=["not-a-known-role"])]
    assert pairs(token_audit(tokens, ROLES, privileged_actions=["org-token-read"])) == {
        ("privileged", "READER"), ("deleted_role", "GHOST")}
    assert token_audit(tokens, ROLES)["counts"]["privileged"] == 0
    assert token_audit(tokens, ROLES)["tokens"][1]["role_names"] == ["not-a-known-role"]


def test_role_ids_match_in_any_case_and_names_are_looked_up_when_missing():
    record = tok("ADMIN", "a", roles=[ADMIN.upper()])
    del record["role_names"]
    audit = token_audit([record], ROLES)
    assert pairs(audit) == {("privileged", "ADMIN")}
    assert audit["tokens"][0]["role_names"] == ["Organization Administrator"]


@pytest.mark.parametrize("age, flagged", [(89, False), (90, True), (91, True), (None, False)])
def test_old_is_at_least_max_age_whole_days(age, flagged):
    audit = token_audit([tok("A", "a", age=age)], ROLES, max_age_days=90)
    assert (("old", "A") in pairs(audit)) is flagged


@pytest.mark.parametrize("expires_in, kind", [(31, None), (30, "expiring_soon"), (0, "expiring_soon"),
                                              (-1, "expired"), (None, "never_expires")])
def test_expiry_kinds_are_exclusive(expires_in, kind):
    audit = token_audit([tok("A", "a", expires_in=expires_in)], ROLES, expiring_within_days=30)
    assert pairs(audit) == (set([(kind, "A")]) if kind else set())


def test_thresholds_accept_numeric_strings_as_extra_vars_give_them():
    audit = token_audit([tok("A", "a", age=40, expires_in=50)], ROLES, max_age_days="30", expiring_within_days=" 60 ")
    assert pairs(audit) == {("old", "A"), ("expiring_soon", "A")}
    assert audit["settings"]["max_age_days"] == 30 and audit["settings"]["expiring_within_days"] == 60


def test_ignored_tokens_stay_in_the_table_without_findings():
    tokens = [
        tok("BOOT", "bootstrap (portal)", roles=[ADMIN], expires_in=None),
        tok("FAM1", "family", expires_in=None),
        tok("FAM2", "family"),
        tok("FAM3", "family"),
    ]
    audit = token_audit(tokens, ROLES, ignore_descriptions=["bootstrap (portal)"], ignore_client_ids=["FAM1"])
    assert pairs(audit) == {("multiple_in_family", "FAM2"), ("multiple_in_family", "FAM3")}
    assert [row["ignored"] for row in audit["tokens"]] == [True, True, False, False]
    assert audit["ignored_count"] == 2 and audit["token_count"] == 4
    assert audit["settings"]["ignore_descriptions"] == ["bootstrap (portal)"]
    everything = token_audit(tokens, ROLES, ignore_descriptions="family", ignore_client_ids=["BOOT"])
    assert everything["total"] == 0 and everything["ignored_count"] == 4


def test_result_is_plain_json():
    audit = token_audit([tok("A", "a", roles=[ADMIN], expires_in=None)], ROLES)
    assert json.loads(json.dumps(audit)) == audit


@pytest.mark.parametrize("kwargs, message", [
    ({"max_age_days": "ninety"}, "max_age_days must be a whole number of days"),
    ({"max_age_days": True}, "max_age_days must be a whole number of days"),
    ({"expiring_within_days": -1}, "expiring_within_days must not be negative"),
    ({"ignore_descriptions": {"a": 1}}, "ignore_descriptions must be a list of strings"),
])
def test_bad_settings_fail_with_the_setting_named(kwargs, message):
    with pytest.raises(AnsibleFilterError) as caught:
        token_audit([tok("A")], ROLES, **kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize("tokens, roles, message", [
    ({"tokens": []}, ROLES, "tokens must be a list"),
    ([{"description": "x"}], ROLES, "every item of tokens must be a dict with client_id"),
    ([tok("A")], [{"name": "x"}], "every item of roles must be a dict with id"),
])
def test_wrong_inputs_fail_clearly(tokens, roles, message):
    with pytest.raises(AnsibleFilterError) as caught:
        token_audit(tokens, roles)
    assert message in str(caught.value)


def test_filter_is_registered():
    assert FilterModule().filters()["token_audit"] is token_audit


ORG = "f9f4b1e0-4c05-451e-9bba-d631295a7f73"
DB1, DB2 = "5b70892f-e01a-4595-98e6-19ecc9985d50", "0d4cd8e4-2d30-4b0c-9c39-4c2e6bdbd9b6"
SCOPED = "5b3f3e8f-0000-4000-8000-000000000006"
WIDE = "5b3f3e8f-0000-4000-8000-000000000007"
SCOPED_ROLES = ROLES + [
    {"id": SCOPED, "name": "orders Database Administrator", "built_in": False, "actions": ["db-cql"],
     "resources": ["drn:astra:org:%s" % ORG, "drn:astra:org:%s:db:%s" % (ORG, DB1),
                   "drn:astra:org:%s:db:%s:keyspace:*" % (ORG, DB2)]},
    {"id": WIDE, "name": "billing Database Administrator", "built_in": False, "actions": ["db-cql"],
     "resources": ["drn:astra:org:%s:db:*" % ORG, "drn:astra:org:%s:db:*:keyspace:*" % ORG]},
    {"id": ADMIN + "-builtin", "name": "R/W Svc Acct", "built_in": True, "actions": ["db-cql"],
     "resources": ["drn:astra:org:__ORG_ID__:db:*"]},
]


def test_reach_of_custom_roles_and_a_wide_role_named_for_one_database():
    audit = token_audit([tok("SCOPED", "s", roles=[SCOPED]), tok("WIDE", "w", roles=[WIDE]),
                         tok("ORG", "o", roles=[ROLE_MANAGER]), tok("RW", "r", roles=[ADMIN + "-builtin"])],
                        SCOPED_ROLES)
    rows = dict((row["client_id"], (row["reach"], row["databases"])) for row in audit["tokens"])
    assert rows == {"SCOPED": ("databases", [DB1, DB2]), "WIDE": ("all databases", []),
                    "ORG": ("no database", []), "RW": ("all databases", [])}
    wide = [f for f in audit["findings"] if f["kind"] == "wide_scoped_role"]
    assert [(f["client_ids"], f["roles"]) for f in wide] == [(["WIDE"], ["billing Database Administrator"])]
    assert "reaches every database (db:*)" in wide[0]["detail"]


# --------------------------------------------------------------------------------------------------------------
# a token whose role was deleted
# --------------------------------------------------------------------------------------------------------------

GONE_ROLE = "5b3f3e8f-0000-4000-8000-0000000000ff"


def test_a_token_whose_role_was_deleted_gets_a_deleted_role_finding():
    audit = token_audit([tok("ORPHAN", "orphan", roles=[RO, GONE_ROLE.upper()]), tok("FINE", "fine")], ROLES)
    assert pairs(audit) == {("deleted_role", "ORPHAN")}
    (finding,) = audit["findings"]
    assert finding["role_ids"] == [GONE_ROLE]
    assert GONE_ROLE in finding["detail"] and "no longer exists" in finding["detail"]
    rows = dict((row["client_id"], row) for row in audit["tokens"])
    assert rows["ORPHAN"]["findings"] == ["deleted_role"]
    assert audit["counts"]["deleted_role"] == 1 and "deleted_role" in KINDS


def test_no_deleted_role_finding_without_a_roles_list_or_for_an_ignored_token():
    orphan = tok("ORPHAN", "orphan", roles=[GONE_ROLE])
    assert token_audit([orphan], [])["counts"]["deleted_role"] == 0  # nothing to compare with
    assert token_audit([orphan], ROLES, ignore_client_ids=["ORPHAN"])["total"] == 0


# --------------------------------------------------------------------------------------------------------------
# the Markdown report: user-controlled text is escaped
# --------------------------------------------------------------------------------------------------------------

NASTY = [
    "<script>alert(1)</script>",
    "[click me](https://evil.example/steal)",
    "![img](https://evil.example/x.png)",
    "a | b | c",
    "line one\nline two\r\n# heading",
    "**bold** _em_ `code` ~~strike~~ <b>html</b> &amp; \\",
    "<https://evil.example/autolink>",
]


@pytest.mark.parametrize("text", NASTY)
def test_markdown_cell_escapes_html_and_markdown(text):
    cell = markdown_cell(text)
    assert "<" not in cell and ">" not in cell and "\n" not in cell and "\r" not in cell
    for special in "[]()|*_`~!":
        assert all(cell[i - 1] == "\\" for i, char in enumerate(cell) if char == special), (special, cell)
    assert "&" not in cell.replace("&lt;", "").replace("&gt;", "").replace("&amp;", "")


def test_markdown_cell_of_nothing_is_a_dash_and_numbers_stay_numbers():
    assert markdown_cell(None) == "-" and markdown_cell("") == "-" and markdown_cell(12) == "12"
    assert markdown_cell("plain-name 1.2, 2026-01-01T00:00:00Z") == "plain-name 1.2, 2026-01-01T00:00:00Z"
    assert markdown_filter.FilterModule().filters()["markdown_cell"] is markdown_cell


def render_report(audit):
    """playbooks/templates/token-audit.md.j2 rendered as the audit playbook renders it (the collection's filters under
    their full names)."""
    import os

    import jinja2

    folder = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "playbooks", "templates")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), trim_blocks=True, lstrip_blocks=False)
    for module in (FilterModule(), markdown_filter.FilterModule()):
        env.filters.update(dict(("astra.devops." + name, function) for name, function in module.filters().items()))
    return env.get_template("token-audit.md.j2").render(audit=audit, audit_generated_at="2026-01-01T00:00:00Z")


def test_the_markdown_report_escapes_nasty_descriptions_and_role_names():
    roles = ROLES + [{"id": GONE_ROLE.replace("ff", "fe"), "name": "[evil](https://evil.example) <i>role</i>",
                      "actions": ["org-token-write"]}]
    tokens = [tok("NASTY%d" % index, text, roles=[roles[-1]["id"]]) for index, text in enumerate(NASTY)]
    tokens.append(tok("FAMILY1", NASTY[0]))
    tokens.append(tok("FAMILY2", NASTY[0]))
    for record in tokens:
        record["role_names"] = None  # looked up from the roles list
    audit = token_audit(tokens, roles, ignore_descriptions=[NASTY[1]])
    report = render_report(audit)
    assert "<script" not in report and "<i>" not in report and "<b>" not in report and "<https" not in report
    assert "](" not in report.replace("\\](", "") and "[evil]" not in report
    rows = [line for line in report.splitlines() if line.startswith("| NASTY") or line.startswith("| FAMILY")]
    assert len(rows) == len(tokens), report
    for line in rows:  # every row keeps its 7 columns: no unescaped | from the text
        unescaped = [i for i, char in enumerate(line) if char == "|" and line[i - 1] != "\\"]
        assert len(unescaped) == 8, line
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in report
