# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role's decisions: its checks and messages (module_utils/_rotation_checks.py), its plan
(_rotation_plan.py) and its result (_rotation_result.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest

from ansible_collections.astra.devops.plugins.module_utils import (
    _consumer,
    _rotation_checks,
    _rotation_plan,
    _rotation_result,
)
from ansible_collections.astra.devops.plugins.module_utils._records import UTC, format_timestamp

TOKEN = "AstraCS:AbCdEfGhIjKlMnOpQrStUvWx:" + "0123456789abcdef" * 4
SECRET = "Xy-9KLmN8oPq1RsTuVwY+ZaBcDeFgHiJkLmNoPqRs.TuV-WxYz0123.4567abcdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKlMnOpQr" \
         "abcdefghijklmnopqrstuvwx"
CALLER = "AstraCS:CallerCallerCallerCallerCa:" + "fedcba9876543210" * 4


def settings(**changes):
    base = {"description": "orders-service", "api_token": CALLER, "api_url": "https://api.astra.datastax.com",
            "grace_period": 0, "propagation_timeout": 120, "command_timeout": 300, "play_hosts": ["c1"],
            "batch_hosts": ["c1"], "failed_hosts": [], "consumer_paths": 1}
    base.update(changes)
    return base


def test_good_settings_have_no_problem():
    assert _rotation_checks.play_problems(settings()) == []


def test_debug_mode_is_refused_naming_the_setting():
    problems = _rotation_checks.play_problems(settings(debug=True))
    assert len(problems) == 1 and "ANSIBLE_DEBUG" in problems[0]


def test_a_limited_run_is_refused_unless_allowed_and_the_refusal_says_what_allowing_it_does():
    problems = _rotation_checks.play_problems(settings(limit="c1"))
    assert len(problems) == 1 and "--limit (c1)" in problems[0] and "never deletes a token" in problems[0]
    assert _rotation_checks.play_problems(settings(limit="c1", allow_limit=True)) == []


@pytest.mark.parametrize("value", ["a, b", ["a", " b"], "R/W Svc Acct"])
def test_roles_are_accepted_as_a_list_or_one_comma_separated_string(value):
    assert _rotation_checks.play_problems(settings(roles=value)) == []
    assert all(_rotation_checks.normalise_roles(value))


@pytest.mark.parametrize("value", [[], ["a", ""], "a,,b", {"a": 1}, [1]])
def test_bad_roles_are_refused_naming_token_rotation_roles(value):
    problems = _rotation_checks.play_problems(settings(roles=value))
    assert len(problems) == 1 and problems[0].startswith("token_rotation_roles must be")


@pytest.mark.parametrize("name, value", [
    ("min_age", "99999999999d"), ("retire_after", "3000000d"), ("expiry", "99999999999d"), ("min_age", "0d"),
    ("min_age", "soon"), ("expiry", "2001-01-01T00:00:00Z"),
])
def test_a_bad_duration_is_refused_naming_its_variable(name, value):
    problems = _rotation_checks.play_problems(settings(**{name: value}))
    assert len(problems) == 1, problems
    assert problems[0].startswith("token_rotation_%s must" % name), problems
    assert "\n" not in problems[0]


@pytest.mark.parametrize("name, value", [("grace_period", "-1"), ("grace_period", "x"), ("propagation_timeout", 0),
                                         ("command_timeout", True), ("command_timeout", 10 ** 12)])
def test_whole_seconds_are_bounded(name, value):
    problems = _rotation_checks.play_problems(settings(**{name: value}))
    assert len(problems) == 1 and problems[0].startswith("token_rotation_%s must be a whole number" % name)


@pytest.mark.parametrize("description", ["orders ", " orders", TOKEN, "a\nb", ""])
def test_descriptions_are_checked_like_the_module_does_and_never_echo_a_token(description):
    problems = _rotation_checks.play_problems(settings(description=description))
    assert len(problems) == 1 and "token_rotation_description" in problems[0], problems
    assert TOKEN not in problems[0] and "\n" not in problems[0]


@pytest.mark.parametrize("url", ["http://user:pw@localhost:8080", "https://api.astra.datastax.com/v2/tokens",
                                 "https://api.astra.datastax.com/api", "ftp://x", "https://x/?a=b"])
def test_api_url_mistakes_name_the_role_variable_and_never_the_password(url):
    problems = _rotation_checks.play_problems(settings(api_url=url))
    assert len(problems) == 1 and problems[0].startswith("token_rotation_api_url"), problems
    assert "pw" not in problems[0]


def test_ca_path_must_be_a_file_unless_certificates_are_not_checked(tmp_path):
    problems = _rotation_checks.play_problems(settings(ca_path=str(tmp_path / "none.pem")))
    assert len(problems) == 1 and problems[0].startswith("token_rotation_ca_path must be a readable file")
    assert _rotation_checks.play_problems(settings(ca_path=str(tmp_path / "none.pem"), validate_certs=False)) == []


@pytest.mark.parametrize("changes, variable", [
    ({"description": 42}, "token_rotation_description"),
    ({"description": "x" * 256}, "token_rotation_description"),
    ({"description": "caf\u00e9"}, "token_rotation_description"),
    ({"api_token": "not-a-token"}, "token_rotation_api_token"),
    ({"api_token": "AstraCS::abc"}, "token_rotation_api_token"),
    ({"api_url": "api.astra.datastax.com"}, "token_rotation_api_url"),
    ({"api_url": "https://"}, "token_rotation_api_url"),
    ({"api_url": 8080}, "token_rotation_api_url"),
    ({"api_url": "https://host:99999"}, "token_rotation_api_url"),
    ({"expiry": "tomorrow"}, "token_rotation_expiry"),
    ({"expiry": "2027-13-01T00:00:00Z"}, "token_rotation_expiry"),
    ({"min_age": "30"}, "token_rotation_min_age"),
    ({"min_age": "-5d"}, "token_rotation_min_age"),
    ({"retire_after": "1y"}, "token_rotation_retire_after"),
    ({"grace_period": 1.5}, "token_rotation_grace_period"),
    ({"propagation_timeout": "2m"}, "token_rotation_propagation_timeout"),
    ({"command_timeout": 0}, "token_rotation_command_timeout"),
    ({"distribute_tasks": "missing.yml"}, "token_rotation_distribute_tasks"),
    ({"retire_after": "1d", "distribute_tasks": "hook.yml", "distribute_tasks_found": True},
     "token_rotation_retire_after cannot be combined"),
    ({"retire_after": "1d", "consumer_paths": 0}, "token_rotation_retire_after needs"),
    ({"batch_hosts": []}, "serial"),
    ({"failed_hosts": ["c9"]}, "already failed or were unreachable before the role started: c9."),
])
def test_more_bad_values_give_one_line_naming_the_variable(changes, variable):
    problems = _rotation_checks.play_problems(settings(**changes))
    assert len(problems) == 1 and variable in problems[0], problems
    assert "\n" not in problems[0] and problems[0].endswith("."), problems


def test_a_slice_of_a_sliced_awx_job_template_is_refused():
    problems = _rotation_checks.play_problems(settings(awx_job_template_name="Astra: rotate token",
                                                       awx_workflow_job_name="Astra: rotate token"))
    assert len(problems) == 1 and "Set Job Slicing to 1" in problems[0]
    assert _rotation_checks.play_problems(settings(awx_job_template_name="Astra: rotate token",
                                                   awx_workflow_job_name="Nightly rotations")) == []
    assert _rotation_checks.play_problems(settings(awx_job_template_name="Astra: rotate token")) == []


def test_missing_token_and_description():
    problems = _rotation_checks.play_problems(settings(api_token="", description=None))
    assert [p.split(" ", 1)[0] for p in problems] == ["token_rotation_description", "token_rotation_api_token"]


@pytest.mark.parametrize("spelling", [
    "https://api.example.com", "https://API.Example.com/", "HTTPS://api.example.com/v2", "https://api.example.com/V2/",
    "https://api.example.com:443/v2", "  https://api.example.com//  ",
])
def test_the_lock_is_keyed_on_the_normalised_api_root_not_on_its_spelling(spelling):
    first = _rotation_plan.lock_path("/tmp/locks/", "https://api.example.com", "org-1", "orders")
    assert _rotation_plan.lock_path("/tmp/locks", spelling, "org-1", "orders") == first


def test_the_lock_differs_by_organization_port_scheme_and_family():
    base = _rotation_plan.lock_path("/l", "http://127.0.0.1:8080", "org-1", "orders")
    others = [_rotation_plan.lock_path("/l", "http://127.0.0.1:8081", "org-1", "orders"),
              _rotation_plan.lock_path("/l", "http://127.0.0.1:8080", "org-2", "orders"),
              _rotation_plan.lock_path("/l", "http://127.0.0.1:8080", "org-1", "orders2"),
              _rotation_plan.lock_path("/l", "https://127.0.0.1:8080", "org-1", "orders")]
    assert base not in others and len(set(others)) == 4
    assert base.startswith("/l/") and base.endswith(".lock")


@pytest.mark.parametrize("cut", [40, 100, 300])
def test_command_output_loses_every_secret_before_it_is_cut(cut):
    output = 'health check failed: {"clientId": "AbCdEfGhIjKlMnOpQrStUvWx", "secret": "%s", "token": "%s"}' % (
        SECRET, TOKEN)
    text = _rotation_checks.scrub_output(output, [TOKEN, SECRET], limit=cut)
    assert len(text) <= cut
    for piece in (SECRET[:12], SECRET[-12:], TOKEN.split(":")[2][:12], "0123456789abcdef"):
        assert piece not in text, text


def test_command_output_loses_unknown_secret_like_runs_but_keeps_words_and_paths():
    other_secret = "Qw1-" + "aB3dE5fG7hI9" * 10
    text = _rotation_checks.scrub_output("cannot read /etc/app/token.json: %s is not accepted, org_id missing"
                                         % other_secret, [])
    assert other_secret[:20] not in text
    assert "/etc/app/token.json" in text and "org_id missing" in text


def failure(**changes):
    base = {"host": "c1", "step": "verify", "result": {"rc": 3, "stderr": "cat: %s" % SECRET, "stdout": ""},
            "secrets": [TOKEN, SECRET, CALLER], "held": "OldOldOldOldOldOldOldOldO", "new_client_id": "NewNew",
            "path": "/etc/app/token.json", "tasks": None, "command_timeout": 300}
    base.update(changes)
    return _rotation_checks.consumer_failure(base)


def test_a_consumer_failure_hides_the_secret_printed_by_a_verify_command():
    message = failure()
    assert SECRET[:10] not in message and "exit code 3" in message and "Consumer c1 failed at the verify command" \
        in message


@pytest.mark.parametrize("step", ["reload", "verify"])
def test_a_reload_or_verify_command_past_the_timeout_is_reported_as_stopped(step):
    assert "did not finish within 300 seconds (token_rotation_command_timeout)" in failure(
        step=step, result={"rc": 124, "stdout": "", "stderr": ""})
    assert "did not finish within 300 seconds" in failure(
        step=step, result={"msg": "The command action failed to execute in the expected time frame (330) and was "
                                  "terminated"})


def test_a_consumer_failure_says_which_token_the_consumer_still_holds():
    assert "its file still holds no token (it held none before this run)" in failure(
        step="write", held=None, result={"msg": "chown failed"})
    assert "its file still holds its previous token OldOld" in failure(step="write", result={"msg": "x"})
    assert "its file holds the new token NewNew" in failure()
    assert "the distribute tasks file (hook.yml)" in failure(step="distribute", path=None, tasks="hook.yml",
                                                             result={"msg": "boom %s" % TOKEN})
    assert TOKEN not in failure(step="distribute", result={"msg": "boom %s" % TOKEN})


def consumer(**changes):
    base = {"host": "c1", "path": "/etc/app/token", "format": "raw", "env_var": "X", "mode": "0600",
            "path_stat": {"exists": True, "isreg": True}, "dir_stat": {}}
    base.update(changes)
    return _consumer.consumer_problems(base)


def test_a_good_consumer_and_one_without_a_file_have_no_problem():
    assert consumer() == []
    assert consumer(path="") == []
    assert consumer(path_stat={"exists": False}, dir_stat={"isdir": True}) == []


@pytest.mark.parametrize("stat, words", [
    ({"exists": True, "islnk": True, "lnk_source": "/srv/real"}, "is a symbolic link (to /srv/real)"),
    ({"exists": True, "isdir": True}, "is a folder"),
])
def test_a_link_or_folder_consumer_path_is_refused_naming_the_consumer_and_the_path(stat, words):
    problems = consumer(path_stat=stat)
    assert len(problems) == 1 and problems[0].startswith("Consumer c1: token_rotation_consumer_path /etc/app/token")
    assert words in problems[0] and problems[0].endswith("Nothing was changed.")


def test_an_unknown_owner_or_group_and_a_bad_template_are_found_before_the_create():
    problems = consumer(owner="nosuchuser", owner_found=False, group="staff", group_found=True)
    assert "token_rotation_consumer_owner 'nosuchuser' does not exist on this host." in problems[0]
    assert "group" not in problems[0].split("owner", 1)[1]
    problems = consumer(format="template", template="t.j2", template_error="template error while templating "
                        "string: unexpected '}'")
    assert "token_rotation_consumer_template must be a readable template file" in problems[0]
    assert "got 't.j2': template error while templating string: unexpected '}'." in problems[0]
    problems = consumer(format="template", template="t.j2", template_error="Task failed: Finalization of task args "
                        "failed: The lookup plugin 'ansible.builtin.template' failed: the template file t.j2 could not "
                        "be found for the lookup")
    assert "got 't.j2': the template file t.j2 could not be found for the lookup." in problems[0]


def test_missing_actions_reads_the_caller_roles():
    tokens = [{"client_id": "me", "roles": ["r1"]}]
    roles = [{"id": "r1", "actions": ["org-token-read"]}, {"id": "r2", "actions": ["org-token-write"]}]
    assert _rotation_checks.missing_actions("me", tokens, roles) == ["org-token-write"]
    assert _rotation_checks.missing_actions("me", tokens, [{"id": "r1", "actions": [
        "enterprise-token-read", "enterprise-token-write"]}]) == []
    assert _rotation_checks.missing_actions("other", tokens, roles) is None


# --------------------------------------------------------------------------------------------------------------
# the plan (issue 11): one decision gives the action, the consumers to update and the reason
# --------------------------------------------------------------------------------------------------------------

NOW = datetime.datetime(2026, 6, 1, tzinfo=UTC)


def tok(client_id, days_old):
    return {"client_id": client_id, "generated_on": format_timestamp(NOW - datetime.timedelta(days=days_old))}


HOSTS = ["c1", "c2", "c3"]


@pytest.mark.parametrize("family, held, options, action, needy, others, phrase", [
    ([], {"c1": "missing", "c2": "missing"}, {"roles": ["R/W Svc Acct"]}, "provision", ["c1", "c2"], [],
     "has no token yet. Creating one with the roles R/W Svc Acct and distributing it to c1, c2."),
    ([], {}, {"hook": True}, "provision", [], [], "distributing it to c1, c2, c3."),
    ([tok("A", 40)], {"c1": "A", "c2": "A"}, {}, "rotate", [], ["A"], "Rotate: replacing A (40d 0h old)"),
    ([tok("A", 40)], {"c1": "A"}, {"min_age": "30d"}, "rotate", [], ["A"], "then deleting A."),
    ([tok("A", 3)], {"c1": "A", "c2": "A"}, {"min_age": "30d"}, "skip", [], ["A"],
     "is 3d 0h old, younger than token_rotation_min_age (30d), and every consumer holds it. Nothing changes."),
    ([tok("A", 3)], {"c1": "A", "c2": "unknown"}, {"min_age": "30d"}, "skip", [], ["A"], "Nothing changes."),
    ([tok("A", 3)], {"c1": "A", "c2": "missing"}, {"min_age": "30d"}, "rotate", ["c2"], ["A"],
     "although it is younger than token_rotation_min_age, because these consumers do not hold it: c2"),
    ([tok("A", 3)], {"c1": "OLD"}, {"min_age": "30d"}, "rotate", ["c1"], ["A"], "do not hold it: c1"),
    ([tok("A", 3)], {}, {"min_age": "30d", "hook": True}, "skip", [], ["A"], "Skip:"),
    ([tok("A", 40), tok("B", 1)], {"c1": "B", "c2": "B"}, {}, "complete", [], ["A"],
     "every consumer already holds the newest, B (c1 holds B, c2 holds B). No new token"),
    ([tok("A", 40), tok("B", 1)], {"c1": "B", "c2": "B"}, {"min_age": "30d"}, "complete", [], ["A"], "Complete"),
    ([tok("A", 40), tok("B", 1)], {"c1": "B", "c2": "A"}, {}, "rotate", ["c2"], ["A", "B"],
     "the consumers do not all hold the newest (c1 holds B, c2 holds A)"),
    ([tok("A", 40), tok("B", 1)], {"c1": "B", "c2": "B"}, {"hook": True}, "rotate", [], ["A", "B"],
     "a distribute tasks file is set, whose destination the role cannot read"),
    ([tok("A", 40), tok("B", 1)], {}, {}, "rotate", [], ["A", "B"], "distributing it to no consumer"),
    ([tok("A", 50), tok("B", 20), tok("C", 1)], {"c1": "C", "c2": "C", "c3": "C"}, {}, "complete", [], ["A", "B"],
     "has 3 tokens (A, B, C)"),
    ([tok("A", 50), tok("B", 20), tok("C", 1)], {"c1": "C", "c2": "B", "c3": "missing"}, {}, "rotate",
     ["c2", "c3"], ["A", "B", "C"], "then deleting every other token of the family."),
])
def test_plan_table(family, held, options, action, needy, others, phrase):
    situation = dict({"description": "orders", "family": family, "held": held, "play_hosts": HOSTS}, **options)
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["action"] == action, decided["reason"]
    assert decided["needy"] == needy
    assert decided["others"] == others
    assert phrase in decided["reason"], decided["reason"]
    assert decided["file_consumers"] == sorted(held)
    assert decided["keep"] is False and decided["keep_message"] is None
    assert decided["retire"] == others and decided["kept"] == []


@pytest.mark.parametrize("family, held, options, keep, words", [
    ([tok("A", 40)], {"c1": "A"}, {"retire_after": "1d"}, True, "Keeping A until the new token is 1d old"),
    ([tok("A", 40), tok("B", 0.5)], {"c1": "B"}, {"retire_after": "1d"}, True, "Keeping A until"),
    ([tok("A", 40), tok("B", 2)], {"c1": "B"}, {"retire_after": "1d"}, False, None),
    ([tok("A", 40)], {"c1": "A"}, {"limit": "c1"}, True,
     "Keeping A: this run is limited (--limit c1), and consumers outside the limit may still hold it."),
    ([tok("A", 40), tok("B", 2)], {"c1": "B"}, {"limit": "c1", "retire_after": "1d"}, True, "limited"),
    ([], {"c1": "missing"}, {"limit": "c1", "roles": ["x"]}, False, None),
])
def test_plan_keeps_the_other_tokens_in_a_limited_run_or_until_retire_after(family, held, options, keep, words):
    situation = dict({"description": "orders", "family": family, "held": held, "play_hosts": HOSTS}, **options)
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["keep"] is keep
    assert (decided["kept"], decided["retire"]) == ((decided["others"], []) if keep else ([], decided["others"]))
    if words:
        assert words in decided["keep_message"], decided["keep_message"]
    if options.get("limit") and decided["action"] != "skip":
        assert "This run is limited (--limit c1): it deletes no token." in decided["reason"]


AWS = {"index": 0, "kind": "aws_secretsmanager", "location": "secret app/astra in us-east-1"}
VAULT = {"index": 1, "kind": "vault_kv2", "location": "secret/app/astra at https://vault:8200"}
AWS_LABEL = "store 0 (aws_secretsmanager, secret app/astra in us-east-1)"
VAULT_LABEL = "store 1 (vault_kv2, secret/app/astra at https://vault:8200)"


@pytest.mark.parametrize("family, held, stores, action, needy", [
    # stores alone are consumers: they decide like files
    ([tok("A", 40)], {}, [dict(AWS, held="A"), dict(VAULT, held="A")], "rotate", []),
    ([tok("A", 40), tok("B", 1)], {}, [dict(AWS, held="B"), dict(VAULT, held="B")], "complete", []),
    # a version staged and not promoted that holds the newest token counts: only promotion is left
    ([tok("A", 40), tok("B", 1)], {"c1": "B"}, [dict(AWS, held="A", pending="B"), dict(VAULT, held="B")],
     "complete", []),
    # staged with an older token, it does not
    ([tok("A", 40), tok("B", 20), tok("C", 1)], {"c1": "C"}, [dict(AWS, held="A", pending="B")], "rotate",
     [AWS_LABEL]),
    ([tok("A", 40), tok("B", 1)], {"c1": "B"}, [dict(VAULT, held="missing")], "rotate", [VAULT_LABEL]),
])
def test_plan_counts_stores_as_consumers(family, held, stores, action, needy):
    decided = _rotation_plan.plan({"description": "orders", "family": family, "held": held, "stores": stores,
                                   "play_hosts": HOSTS}, reference=NOW)
    assert (decided["action"], decided["needy"]) == (action, needy)
    assert decided["stores"] == [_rotation_plan.store_label(store) for store in stores]
    assert decided["file_consumers"] == sorted(held)


def test_result_lists_the_stores_updated_and_only_when_the_run_changed_them():
    decided = _rotation_plan.plan({"description": "orders", "family": [tok("A", 40)], "held": {"c1": "A"},
                                   "stores": [dict(AWS, held="A")], "play_hosts": HOSTS}, reference=NOW)
    base = {"description": "orders", "plan": decided, "new_client_id": "B", "deleted_client_ids": ["A"],
            "marks": [["validate", 100.0], ["end", 101.0]]}
    report = _rotation_result.result(dict(base, check_mode=False))
    assert report["result"]["stores_updated"] == [AWS_LABEL]
    assert "in %s" % AWS_LABEL in report["summary"]
    assert _rotation_result.result(dict(base, check_mode=True))["result"]["stores_updated"] == []


def test_play_problems_name_a_bad_store_entry():
    problems = _rotation_checks.play_problems({"stores": [{"kind": "s3"}], "description": "orders"})
    assert any("token_rotation_stores[0].kind must be one of aws_secretsmanager, vault_kv2, got 's3'." in problem
               for problem in problems), problems


def outcome(**changes):
    decided = _rotation_plan.plan({"description": "orders", "family": [tok("A", 40)], "held": {"c1": "A", "c2": "A"},
                                   "play_hosts": HOSTS}, reference=NOW)
    base = {"description": "orders", "plan": decided, "check_mode": False, "new_client_id": "B",
            "created": {"token": {"expiry": "2027-01-01T00:00:00Z"}, "expiry_source": "option"},
            "deleted_client_ids": ["A"], "play_hosts": HOSTS, "hook": False,
            "marks": [["validate", 100.0], ["discover", 100.5], ["end", 103.25]]}
    base.update(changes)
    return _rotation_result.result(base)


def test_result_of_a_rotation():
    report = outcome()
    assert report["result"] == {
        "description": "orders", "action": "rotated", "planned_action": "rotated", "check_mode": False,
        "reason": report["result"]["reason"], "old_client_ids": ["A"], "new_client_id": "B",
        "new_expiry": "2027-01-01T00:00:00Z", "expiry_source": "option", "current_client_id": "B",
        "consumers_updated": ["c1", "c2"], "stores_updated": [], "deleted_client_ids": ["A"], "kept_client_ids": [],
        "timings": {"validate": 0.5, "discover": 2.75, "total": 3.25}}
    assert report["summary"] == "Rotated: family 'orders', token B; held by c1, c2; deleted A; 3.25 s."


def test_result_in_check_mode_says_what_would_have_happened():
    report = outcome(check_mode=True, new_client_id=None, deleted_client_ids=[])
    assert report["result"]["action"] == "skipped" and report["result"]["planned_action"] == "rotated"
    assert report["result"]["current_client_id"] == "A" and report["result"]["consumers_updated"] == []
    assert report["summary"].startswith("Skipped (check mode: nothing was changed; this run would have rotated): "
                                        "family 'orders', current token A;")


def test_result_with_a_hook_counts_every_host_as_updated():
    assert outcome(hook=True)["result"]["consumers_updated"] == HOSTS


# --------------------------------------------------------------------------------------------------------------
# states nobody planned for (issue 20)
# --------------------------------------------------------------------------------------------------------------

def expiring(client_id, days_old, expires_in_days):
    token = tok(client_id, days_old)
    token["expiry"] = format_timestamp(NOW + datetime.timedelta(days=expires_in_days))
    return token


@pytest.mark.parametrize("family, held, options, action, phrase", [
    ([expiring("A", 3, -1)], {"c1": "A", "c2": "A"}, {"min_age": "30d"}, "rotate", "expired on"),
    ([expiring("A", 3, -1)], {"c1": "A"}, {}, "rotate", "replacing it whatever token_rotation_min_age says"),
    ([tok("A", 40), expiring("B", 1, -0.01)], {"c1": "B", "c2": "B"}, {}, "rotate", "B, expired on"),
    ([expiring("A", 3, 1)], {"c1": "A", "c2": "A"}, {"min_age": "30d"}, "skip", "younger than"),
    ([expiring("A", 3, 1), tok("B", 1)], {"c1": "B"}, {}, "complete", "Complete"),
])
def test_an_expired_newest_token_is_always_replaced(family, held, options, action, phrase):
    situation = dict({"description": "orders", "family": family, "held": held, "play_hosts": HOSTS}, **options)
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["action"] == action, decided["reason"]
    assert phrase in decided["reason"], decided["reason"]
    assert decided["problems"] == []
    if action == "rotate":
        assert decided["replaces"] == family[-1] and decided["retire"] == [token["client_id"] for token in family]


@pytest.mark.parametrize("min_age, expiry, warned", [
    ("30d", "7d", True), ("7d", "7d", True), ("6d", "7d", False), ("30d", None, False), (None, "7d", False),
    ("30d", "2999-01-01T00:00:00Z", False), ("1d", "x", False),
])
def test_a_min_age_not_shorter_than_the_new_token_lifetime_is_warned(min_age, expiry, warned):
    warnings = _rotation_checks.play_warnings(settings(min_age=min_age, expiry=expiry))
    assert bool(warnings) is warned, warnings
    if warned:
        assert "token_rotation_min_age (%s) is not shorter than the lifetime" % min_age in warnings[0]


def test_kept_module_files_are_refused_naming_the_setting():
    problems = _rotation_checks.play_problems(settings(keep_remote_files=True))
    assert len(problems) == 1 and "ANSIBLE_KEEP_REMOTE_FILES" in problems[0] and "keep_remote_files" in problems[0]


@pytest.mark.parametrize("strategy, refused", [
    ("linear", False), ("ansible.builtin.linear", False), ("mitogen_linear", False), ("debug", False),
    ("free", True), ("ansible.builtin.free", True), ("host_pinned", True), ("mitogen_free", True),
    ("mitogen_host_pinned", True), ("ansible.builtin.host_pinned", True),
])
def test_a_strategy_that_does_not_run_tasks_in_step_is_refused(strategy, refused):
    problems = _rotation_checks.play_problems(settings(strategy=strategy))
    assert bool(problems) is refused, problems
    if refused:
        assert "The play's strategy is %s" % strategy in problems[0] and "linear" in problems[0]


def test_a_consumer_or_store_holding_another_family_token_is_refused_naming_that_family():
    situation = {"description": "orders", "family": [tok("A", 40)], "play_hosts": HOSTS,
                 "held": {"c1": "A", "c2": "X"}, "stores": [dict(AWS, held="X")],
                 "others": {"X": "billing", "GONE": "unused"}}
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert len(decided["problems"]) == 1, decided["problems"]
    problem = decided["problems"][0]
    assert "c2 holds X of the family 'billing'" in problem and AWS_LABEL + " holds X of the family 'billing'" in problem
    assert "Nothing was created or changed" in problem


def test_a_consumer_holding_a_deleted_token_is_rotated_not_refused():
    situation = {"description": "orders", "family": [tok("A", 40)], "play_hosts": HOSTS,
                 "held": {"c1": "A", "c2": "GONE"}, "others": {"X": "billing"}}
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["problems"] == [] and decided["action"] == "rotate" and decided["needy"] == ["c2"]


def test_a_first_token_without_roles_is_a_problem_of_the_plan():
    decided = _rotation_plan.plan({"description": "orders", "family": [], "held": {"c1": "missing"}}, reference=NOW)
    assert decided["action"] == "provision" and "set token_rotation_roles" in decided["problems"][0]


def test_split_family_keeps_the_family_in_order_and_the_others_by_client_id():
    tokens = [{"client_id": "A", "description": "orders"}, {"client_id": "X", "description": "billing"},
              {"client_id": "B", "description": "orders"}, {"client_id": "Y", "description": "Orders"}]
    split = _rotation_plan.split_family(tokens, "orders")
    assert split["ids"] == ["A", "B"] and [t["client_id"] for t in split["family"]] == ["A", "B"]
    assert split["others"] == {"X": "billing", "Y": "Orders"}


@pytest.mark.parametrize("consumer, held", [
    ({"token_rotation__observed": {"held": "OLD"}}, "OLD"),
    ({"token_rotation__observed": {"held": "OLD"}, "token_rotation__written": {"changed": True}}, "NEW"),
    ({"token_rotation__observed": {"held": "OLD"}, "token_rotation__written": {"skipped": True}}, "OLD"),
    ({"token_rotation__observed": {"held": "OLD"}, "token_rotation__written": {"failed": True}}, "OLD"),
    ({"token_rotation__observed": {"held": "OLD"}, "token_rotation__written": {"changed": True},
      "token_rotation__observed_again": {"held": "OLD"}}, "OLD"),
    ({"token_rotation__observed": {"held": "OLD"}, "token_rotation__written": {"changed": True},
      "token_rotation__observed_again": {"failed": True, "msg": "gone"}}, None),
    ({"token_rotation__observed": {"held": "OLD"}, "token_rotation__observed_again": {"skipped": True}}, "OLD"),
])
def test_holders_now_takes_the_freshest_look_at_each_consumer(consumer, held):
    assert _rotation_plan.holders_now([dict(consumer, inventory_hostname="c1")], [], "NEW") == {"c1": held}


def test_holders_now_leaves_out_hosts_without_a_file_and_names_stores_by_label():
    consumers = [{"inventory_hostname": "hook-only"}, {"inventory_hostname": "c1", "token_rotation__observed": {}}]
    assert _rotation_plan.holders_now(consumers, [dict(AWS, held="OLD")], "NEW") == {AWS_LABEL: "OLD"}


def test_the_lock_of_one_machine_is_the_same_whatever_its_name():
    spellings = ["http://localhost:8080", "http://127.0.0.1:8080/v2", "http://[::1]:8080", "http://LOCALHOST:8080/"]
    assert len(set(_rotation_plan.lock_path("/l", url, "org-1", "orders") for url in spellings)) == 1
    assert _rotation_plan.lock_path("/l", "http://localhost:8081", "org-1", "orders") != \
        _rotation_plan.lock_path("/l", "http://localhost:8080", "org-1", "orders")


@pytest.mark.parametrize("shape", ["url-encoded", "prefix", "middle", "suffix after a colon"])
def test_scrub_removes_parts_and_encodings_of_a_secret(shape):
    from urllib.parse import quote  # pylint: disable=import-outside-toplevel
    printed = {"url-encoded": "urlenc secret: " + quote(SECRET, safe=""),
               "prefix": "secret starts " + SECRET[:40],
               "middle": "part=" + SECRET[30:50] + " end",
               "suffix after a colon": "AbCdEfGhIjKlMnOpQrStUvWx:" + SECRET[-20:]}[shape]
    text = _rotation_checks.scrub_output("verify failed: " + printed, [TOKEN, SECRET], limit=400)
    for start in range(len(SECRET) - 15):
        assert SECRET[start:start + 16] not in text, text
    assert quote(SECRET, safe="")[:30] not in text and "verify failed" in text


def test_scrub_keeps_ordinary_long_words_paths_and_client_ids():
    said = "/etc/inventory-service/application-configuration.env not readable by inventory_service_user"
    assert _rotation_checks.scrub_output(said, [TOKEN, SECRET], limit=400) == said
    client_id = "Q9q8Q7q6Q5q4Q3q2Q1q0Q9q8"  # shares no 16 characters with SECRET
    token = "AstraCS:%s:%s" % (client_id, "fedcba9876543210" * 4)
    assert _rotation_checks.scrub_output('"clientId": "%s"' % client_id, [token, SECRET], limit=400) == \
        '"clientId": "%s"' % client_id


def test_a_family_token_held_in_a_second_place_of_a_file_or_store_is_refused():
    situation = {"description": "orders", "family": [tok("A", 40)], "play_hosts": HOSTS,
                 "held": {"c1": "A", "c2": "A"}, "also_held": {"c1": ["A"], "c2": ["X"]},
                 "stores": [dict(AWS, held="A", also_held=["A"])], "others": {"X": "billing"}}
    problems = _rotation_plan.plan(situation, reference=NOW)["problems"]
    assert len(problems) == 1, problems
    assert "c1 also holds A of this family in another place" in problems[0]
    assert AWS_LABEL + " also holds A of this family in another place" in problems[0]
    assert "c2" not in problems[0] and "Nothing was created" in problems[0]


# --------------------------------------------------------------------------------------------------------------
# renewal before expiry (token_rotation_renew_before)
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("token, options, action, phrases", [
    # expiring within renew_before: rotate, whatever min_age says
    (expiring("A", 3, 2), {"renew_before": "7d"}, "rotate",
     ["Rotate: the newest token of the family 'orders', A, expires on ", "in 2d 0h, within token_rotation_renew_before (7d)"]),
    (expiring("A", 3, 2), {"renew_before": "7d", "min_age": "30d"}, "rotate", ["within token_rotation_renew_before (7d)"]),
    # not within renew_before, and no min_age: skip
    (expiring("A", 3, 60), {"renew_before": "7d"}, "skip",
     ["Skip: the only token of the family 'orders', A, expires on ",
      "in 60d 0h, not within token_rotation_renew_before (7d), and every consumer holds it. Nothing changes."]),
    # not within, and younger than min_age: neither rule triggers
    (expiring("A", 3, 60), {"renew_before": "7d", "min_age": "30d"}, "skip",
     ["not within token_rotation_renew_before (7d), and is 3d 0h old, younger than token_rotation_min_age (30d), and "
      "every consumer holds it. Nothing changes."]),
    # not within, but older than min_age: min_age triggers
    (expiring("A", 40, 60), {"renew_before": "7d", "min_age": "30d"}, "rotate",
     ["not within token_rotation_renew_before (7d), but is 40d 0h old, not younger than token_rotation_min_age (30d)"]),
    # expired: rotate
    (expiring("A", 3, -1), {"renew_before": "7d"}, "rotate", ["expired on"]),
    # a token that never expires is left to min_age
    (tok("A", 3), {"renew_before": "7d", "min_age": "30d"}, "skip",
     ["never expires, so token_rotation_renew_before does not apply", "younger than token_rotation_min_age (30d)"]),
    (tok("A", 40), {"renew_before": "7d", "min_age": "30d"}, "rotate",
     ["never expires, so token_rotation_renew_before does not apply", "Rotate: replacing A (40d 0h old)"]),
    (tok("A", 3), {"renew_before": "7d"}, "rotate", ["never expires, so token_rotation_renew_before does not apply"]),
    # neither rule set: rotate, as before
    (expiring("A", 3, 60), {}, "rotate", ["Rotate: replacing A (3d 0h old)"]),
])
def test_renew_before_rotates_a_token_that_expires_within_it(token, options, action, phrases):
    situation = dict({"description": "orders", "family": [token], "held": {"c1": "A", "c2": "A"},
                      "play_hosts": HOSTS}, **options)
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["action"] == action, decided["reason"]
    for phrase in phrases:
        assert phrase in decided["reason"], decided["reason"]
    if "renew_before" not in options or "never expires" in decided["reason"]:
        assert "within token_rotation_renew_before" not in decided["reason"]


def test_renew_before_never_skips_a_consumer_that_lacks_the_token():
    situation = {"description": "orders", "family": [expiring("A", 3, 60)], "held": {"c1": "A", "c2": "missing"},
                 "play_hosts": HOSTS, "renew_before": "7d"}
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["action"] == "rotate" and decided["needy"] == ["c2"], decided["reason"]
    assert "because these consumers do not hold it: c2" in decided["reason"]


@pytest.mark.parametrize("value", ["soon", "14", "-1d", "0d", "99999999999d"])
def test_a_bad_renew_before_is_one_line_naming_the_variable(value):
    problems = _rotation_checks.play_problems(settings(renew_before=value))
    assert len(problems) == 1 and "token_rotation_renew_before" in problems[0], problems


def test_a_good_renew_before_has_no_problem():
    assert _rotation_checks.play_problems(settings(renew_before="14d", min_age="60d")) == []


# --------------------------------------------------------------------------------------------------------------
# a limit that selects every host of the play (ansible-rulebook's run_playbook passes hosts: all as --limit all)
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit, play_hosts, failed, unlimited, full", [
    ("all", ["c1", "c2"], [], ["c1", "c2"], True),
    ("c1,c2", ["c2", "c1"], [], ["c1", "c2"], True),
    ("c1,c2", ["c1"], ["c2"], ["c1", "c2"], True),  # a host that failed earlier is still selected by the limit
    ("c1", ["c1"], [], ["c1", "c2"], False),
    ("c1", ["c1"], [], None, False),  # the play's hosts without the limit unknown: a limit stays a limit
    (None, ["c1"], [], ["c1"], True),
])
def test_a_limit_counts_as_no_limit_only_when_it_selects_every_play_host(limit, play_hosts, failed, unlimited, full):
    given = settings(limit=limit, play_hosts=play_hosts, batch_hosts=play_hosts, failed_hosts=failed,
                     unlimited_play_hosts=unlimited)
    assert (_rotation_checks.effective_limit(given) is None) is full
    if limit and not full:
        assert _rotation_checks.effective_limit(given) == limit


def test_a_limit_that_selects_every_play_host_is_not_refused():
    given = settings(limit="all", play_hosts=["c1", "c2"], batch_hosts=["c1", "c2"], unlimited_play_hosts=["c1", "c2"])
    assert _rotation_checks.play_problems(given) == []


def test_a_limit_that_leaves_a_play_host_out_is_still_refused_unless_allowed():
    given = settings(limit="c1", unlimited_play_hosts=["c1", "c2"])
    problems = _rotation_checks.play_problems(given)
    assert len(problems) == 1 and "--limit (c1)" in problems[0], problems
    assert _rotation_checks.play_problems(dict(given, allow_limit=True)) == []


def test_renew_before_never_skips_an_unfinished_rotation():
    situation = {"description": "orders", "family": [expiring("A", 40, 20), expiring("B", 1, 60)],
                 "held": {"c1": "B", "c2": "B"}, "play_hosts": HOSTS, "renew_before": "7d", "min_age": "30d"}
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["action"] == "complete" and decided["retire"] == ["A"], decided["reason"]
    assert "renew_before" not in decided["reason"], decided["reason"]


@pytest.mark.parametrize("renew_before, expiry, warned", [
    ("14d", "7d", True), ("7d", "7d", True), ("6d", "7d", False), ("14d", None, False), (None, "7d", False),
])
def test_a_renew_before_not_shorter_than_the_new_token_lifetime_is_warned(renew_before, expiry, warned):
    warnings = _rotation_checks.play_warnings(settings(renew_before=renew_before, expiry=expiry))
    assert len(warnings) == (1 if warned else 0), warnings
    if warned:
        assert "token_rotation_renew_before (%s) is not shorter than the lifetime" % renew_before in warnings[0]
        assert "every run would rotate" in warnings[0]


@pytest.mark.parametrize("token, options, loops", [
    # a 5-day token (3 days old, 2 left) renewed 7 days before expiry: its successor, 5 days long, is due at once
    (expiring("A", 3, 2), {"renew_before": "7d"}, True),
    (expiring("A", 3, 2), {"renew_before": "5d"}, True),  # a lifetime equal to renew_before is due at once too
    # a 90-day token: its successor is not due for 83 days
    (expiring("A", 88, 2), {"renew_before": "7d"}, False),
    # token_rotation_expiry sets the new lifetime (validate warns when it is too short): no note here
    (expiring("A", 3, 2), {"renew_before": "7d", "expiry": "90d"}, False),
    # no renew_before, or an expired token rotated under min_age alone: no loop to speak of
    (expiring("A", 3, -1), {"min_age": "30d"}, False),
])
def test_a_rotation_whose_new_token_would_be_due_at_once_says_so(token, options, loops):
    situation = dict({"description": "orders", "family": [token], "held": {"c1": "A", "c2": "A"},
                      "play_hosts": HOSTS}, **options)
    decided = _rotation_plan.plan(situation, reference=NOW)
    assert decided["action"] == "rotate", decided["reason"]
    assert ("every run will rotate again" in decided["reason"]) is loops, decided["reason"]


ROLE_TOKEN = "AstraCS:" + "R" * 24 + ":" + "0" * 64
OTHER_TOKEN = "AstraCS:" + "P" * 24 + ":" + "1" * 64


@pytest.mark.parametrize("group, problems", [
    ({}, []),
    # the same root in another spelling, and the same token: the role would call where the play means
    ({"api_url": "HTTPS://api.example.com:443/v2/", "api_token": ROLE_TOKEN}, []),
    ({"api_url": "https://other.example.com"}, ["give api_url https://other.example.com, but the role calls "
                                                "token_rotation_api_url (https://api.example.com)"]),
    ({"api_url": "ftp://nowhere"}, ["give api_url ftp://nowhere"]),
    ({"api_token": OTHER_TOKEN}, ["give an api_token that is not the role's token_rotation_api_token"]),
    ({"api_url": "https://other.example.com", "api_token": OTHER_TOKEN}, ["give api_url", "give an api_token"]),
])
def test_group_defaults_the_role_would_not_use_are_refused(group, problems):
    found = _rotation_checks.group_defaults_problems({"api_url": "https://api.example.com", "api_token": ROLE_TOKEN},
                                                     group)
    assert len(found) == len(problems), found
    for problem, phrase in zip(found, problems):
        assert phrase in problem and "Nothing was changed." in problem, problem
        assert ROLE_TOKEN not in problem and OTHER_TOKEN not in problem
