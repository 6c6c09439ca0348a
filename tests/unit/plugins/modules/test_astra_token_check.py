# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_token_check: token parsing, what counts as refused, the wait loop on a scripted client and clock, the
module's options (no api_token) and its documentation against the shared doc fragment."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import socket

import pytest
import yaml

from ansible.module_utils import basic
from ansible_collections.astra.devops.plugins.doc_fragments.auth import ModuleDocFragment
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError, error_from_response, scrub
from ansible_collections.astra.devops.plugins.module_utils._module import (
    AUTH_ARGUMENT_SPEC,
    CONNECTION_ARGUMENT_SPEC,
    AstraModule,
)
from ansible_collections.astra.devops.plugins.modules import astra_token_check as module_under_test
from ansible_collections.astra.devops.plugins.modules.astra_token_check import (
    ARGUMENT_SPEC,
    DOCUMENTATION,
    TokenCheckModule,
    check_wait,
    parse_token,
)
from ansible_collections.astra.devops.plugins.module_utils._probe import NotReached, check_token

CLIENT_ID = "BOjPpMRcaWergiKIyHXEAymP"
TOKEN = "AstraCS:%s:%s" % (CLIENT_ID, "0123456789abcdef" * 4)
ORG = "6ad4e4a4-0c3f-4b4c-8f0e-0e0b7d61f1c9"
ACTION = "Checking token %s" % CLIENT_ID


def api_error(status, body, content_type="application/json"):
    """An AstraApiError as the client raises it for an HTTP answer (error_from_response), scrubbed of the token."""
    return error_from_response(status, body, content_type, ACTION, secrets={TOKEN})


def envelope(error_id, message):
    return json.dumps({"errors": [{"ID": error_id, "message": message}]})


UNAUTHORIZED = api_error(401, envelope(340012, "the token is not valid: unknown or revoked"))
MALFORMED_403 = api_error(403, envelope(340017, "Resource, token, was malformed. Error: auth-manager returned 403"))


# ---------------------------------------------------------------------------------------------------------------
# parse_token
# ---------------------------------------------------------------------------------------------------------------

def test_parse_token_gives_the_client_id():
    assert parse_token(TOKEN) == CLIENT_ID
    assert parse_token("  %s\n" % TOKEN) == CLIENT_ID  # the newline at the end of a token file


@pytest.mark.parametrize("value, reason", [
    ("", "got an empty value"),
    ("   \n", "got an empty value"),
    (None, "got an empty value"),
    (CLIENT_ID, "does not start with AstraCS (not shown)"),
    ("0123456789abcdef" * 8, "does not start with AstraCS (not shown)"),
    ("Bearer " + TOKEN, "does not start with AstraCS (not shown)"),
    ("AstraCS:%s" % CLIENT_ID, "another shape (not shown)"),
    ("AstraCS:%s:%s" % (CLIENT_ID, "0123456789abcdef" * 3), "another shape (not shown)"),  # hash cut short
    ("AstraCS:%s:%sZ" % (CLIENT_ID, "0123456789abcdef" * 4), "another shape (not shown)"),
    ("AstraCS:short:%s" % ("0123456789abcdef" * 4), "another shape (not shown)"),
    ("AstraCS:%s:%s" % (CLIENT_ID + "!", "0123456789abcdef" * 4), "another shape (not shown)"),
    (TOKEN + "\n" + TOKEN, "another shape (not shown)"),  # two tokens in one file
    (TOKEN.replace(":", " ", 1), "does not start with AstraCS (not shown)"),
])
def test_a_malformed_token_fails_naming_the_option_without_showing_the_value(value, reason):
    with pytest.raises(AstraInputError) as caught:
        parse_token(value)
    message = caught.value.message
    assert message.startswith("token must be an Astra application token, the word AstraCS, its client id and 64 hex "
                              "digits joined by colons; got ")
    assert message.endswith("%s." % reason) and "\n" not in message
    assert scrub(message) == message  # what every failure goes through would not change it
    for part in (value or "").split(":") + (value or "").split():
        if len(part) >= 8:
            assert part not in message, (part, message)


def test_wait_must_not_be_negative():
    check_wait(0)
    check_wait(30)
    with pytest.raises(AstraInputError) as caught:
        check_wait(-1)
    assert caught.value.message == "wait must be 0 or a positive number of seconds, got '-1'."


# ---------------------------------------------------------------------------------------------------------------
# refused: 401, and a 403 (or 400) that is about the token itself (AstraApiError.bad_token)
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("error", [
    UNAUTHORIZED,
    api_error(401, ""),
    api_error(401, "Unauthorized", "text/plain"),
    MALFORMED_403,
    api_error(403, envelope(340018, "Resource not found: token with identifier %s" % CLIENT_ID)),
    api_error(403, json.dumps("Resource, token, was malformed")),  # a bare JSON string
    api_error(403, "invalid token format", "text/plain"),
    api_error(400, envelope(340012, "invalid token format")),
    api_error(403, envelope(340018, "Resource not found: token with identifier %s" % TOKEN)),  # scrubbed
], ids=["401", "401-empty", "401-text", "403-340017", "403-340018", "403-string", "403-text", "400-340012",
        "403-token-in-body"])
def test_what_counts_as_refused(error):
    assert error.bad_token is True


@pytest.mark.parametrize("error", [
    api_error(403, envelope(403, "insufficient permissions: the token lacks the org-read permission")),
    api_error(403, json.dumps("insufficient permissions")),
    api_error(403, "<html><title>403 Forbidden</title></html>", "text/html"),
    api_error(400, envelope(400, "bad request")),
    api_error(404, envelope(404, "token not found")),  # a 404 is a wrong api_url, not a refused token
    api_error(500, envelope(500, "internal error: token store unknown")),
    api_error(503, ""),
    AstraApiError("Checking token %s failed: the connection was refused." % CLIENT_ID),
], ids=["403-permission", "403-string", "403-html", "400-other", "404", "500", "503", "connection"])
def test_what_is_a_failure_of_the_check(error):
    assert error.bad_token is False


# ---------------------------------------------------------------------------------------------------------------
# check_token: the wait loop, on a scripted client and a clock that only the pauses move
# ---------------------------------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class ScriptedClient:
    """Answers GET /v2/currentOrg from `answers` (an AstraApiError to raise, or a dict body); the last answer
    repeats. Each call takes `latency` seconds of the clock; pause() moves the clock."""

    def __init__(self, answers, clock, latency=0.2):
        self.answers = list(answers)
        self.clock = clock
        self.latency = latency
        self.calls = []
        self.pauses = []

    def call(self, method, path, action, body=None, idempotent=True, **kwargs):
        self.calls.append((method, path, action, idempotent))
        self.clock.now += self.latency
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return 200, answer

    def pause(self, seconds):
        self.pauses.append(round(seconds, 3))
        self.clock.now += seconds


def run(answers, state="accepted", wait=0):
    clock = Clock()
    client = ScriptedClient(answers, clock)
    try:
        outcome = check_token(client, CLIENT_ID, state, wait, clock=clock)
    except NotReached as not_reached:
        outcome = not_reached
    return outcome, client


def test_accepted_at_once_is_one_call():
    result, client = run([{"id": ORG, "name": "Default Organization"}])
    assert result == {"changed": False, "client_id": CLIENT_ID, "accepted": True, "org_id": ORG, "waited": 0.2}
    assert client.calls == [("GET", "/v2/currentOrg", ACTION, True)] and client.pauses == []


def test_accepted_without_an_org_id_in_the_answer():
    result, _client = run([None])
    assert result["accepted"] is True and result["org_id"] is None


def test_refused_at_once_is_one_call_and_has_no_org_id():
    result, client = run([UNAUTHORIZED], state="refused")
    assert result == {"changed": False, "client_id": CLIENT_ID, "accepted": False, "waited": 0.2}
    assert len(client.calls) == 1 and client.pauses == []


def test_a_malformed_403_counts_as_refused():
    result, _client = run([MALFORMED_403], state="refused")
    assert result["accepted"] is False


def test_wait_asks_every_two_seconds_until_accepted():
    result, client = run([UNAUTHORIZED, UNAUTHORIZED, {"id": ORG}], wait=30)
    assert result["accepted"] is True and result["org_id"] == ORG
    assert len(client.calls) == 3 and client.pauses == [2.0, 2.0]
    assert result["waited"] == 4.6  # two pauses and three calls of 0.2 s


def test_wait_asks_until_refused():
    result, client = run([{"id": ORG}, {"id": ORG}, {"id": ORG}, UNAUTHORIZED], state="refused", wait=30)
    assert result["accepted"] is False and "org_id" not in result
    assert len(client.calls) == 4 and client.pauses == [2.0, 2.0, 2.0]


def test_without_wait_the_other_answer_fails_at_once():
    outcome, client = run([UNAUTHORIZED])
    assert isinstance(outcome, NotReached) and len(client.calls) == 1 and client.pauses == []
    assert outcome.message == ("token %s was not accepted (last answer HTTP 401). The API said: the token is not "
                               "valid: unknown or revoked." % CLIENT_ID)
    assert outcome.result == {"changed": False, "client_id": CLIENT_ID, "accepted": False, "waited": 0.2}


def test_wait_runs_out_with_a_last_call_at_its_end():
    """wait=5: calls at 0, 2.2, 4.4 and 5 s (each takes 0.2 s), then the failure names the client id, the time and the last answer."""
    outcome, client = run([UNAUTHORIZED], wait=5)
    assert isinstance(outcome, NotReached)
    assert len(client.calls) == 4 and client.pauses == [2.0, 2.0, 0.4]
    assert outcome.message.startswith("token %s was not accepted within 5 seconds (last answer HTTP 401)." % CLIENT_ID)
    assert outcome.result["waited"] == 5.2 and outcome.result["accepted"] is False


def test_refused_never_reached_names_the_state():
    outcome, client = run([{"id": ORG}], state="refused", wait=4)
    assert isinstance(outcome, NotReached) and len(client.calls) == 3
    assert outcome.message == "token %s was not refused within 4 seconds (last answer HTTP 200)." % CLIENT_ID
    assert outcome.result["accepted"] is True and outcome.result["org_id"] == ORG


@pytest.mark.parametrize("state", ["accepted", "refused"])
def test_errors_that_are_not_a_refusal_fail_the_check_whatever_the_state(state):
    server_error = api_error(503, "")
    with pytest.raises(AstraApiError) as caught:
        run([server_error], state=state, wait=10)
    assert caught.value is server_error


def test_a_permission_403_fails_with_a_hint_about_the_token_not_the_api_token():
    error = api_error(403, envelope(403, "insufficient permissions"))
    with pytest.raises(AstraApiError) as caught:
        run([error], state="refused")
    text = str(caught.value)
    assert text.startswith("Checking token %s failed with HTTP 403: insufficient permissions." % CLIENT_ID)
    assert "api_token" not in text and "access list" in text


# ---------------------------------------------------------------------------------------------------------------
# the module: options, documentation, and failures through AnsibleModule
# ---------------------------------------------------------------------------------------------------------------

def documented_options():
    own = yaml.safe_load(DOCUMENTATION)["options"]
    shared = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    return own, shared


def test_options_are_the_shared_connection_options_and_an_ignored_api_token():
    """api_token is accepted, for a group's module_defaults, but is its own option: documented as ignored, secret,
    and without the ASTRA_API_TOKEN fallback of the shared one (the module calls with token only)."""
    own, shared = documented_options()
    assert "api_token" not in shared and "Ignored" in own["api_token"]["description"][0]
    assert set(shared) == set(CONNECTION_ARGUMENT_SPEC)
    assert set(yaml.safe_load(ModuleDocFragment.API_TOKEN)["options"]) == set(AUTH_ARGUMENT_SPEC) - set(shared)
    assert set(own) == set(ARGUMENT_SPEC) == {"token", "state", "wait", "api_token"}
    assert ARGUMENT_SPEC["api_token"] == {"type": "str", "no_log": True}
    assert ARGUMENT_SPEC["token"]["no_log"] is True and ARGUMENT_SPEC["token"]["required"] is True
    assert yaml.safe_load(DOCUMENTATION)["extends_documentation_fragment"] == ["astra.devops.auth"]


def run_module(capsys, args):
    """Run main() with module args; returns the JSON it printed (it always exits)."""
    with pytest.raises(SystemExit):
        with_args(args, module_under_test.main)
    return json.loads(capsys.readouterr().out)


def with_args(args, function):
    try:
        from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    except ImportError:  # ansible-core before 2.19
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            return function()
    saved = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    try:
        return function()
    finally:
        basic._ANSIBLE_ARGS = saved


def test_the_module_sets_up_what_astra_module_does(capsys):
    """TokenCheckModule is AstraModule without api_token: the same attributes, and the same no_log values apart
    from the token option's (a password typed into api_url too)."""
    url = "https://someone:pa55word-in-url@api.example.com"
    base = with_args({"api_token": TOKEN, "api_url": url}, lambda: AstraModule(argument_spec={}))
    check = with_args({"token": TOKEN, "api_url": url}, lambda: TokenCheckModule(argument_spec=ARGUMENT_SPEC))
    assert sorted(vars(check)) == sorted(vars(base))
    assert check.no_log_values == base.no_log_values and "pa55word-in-url" in check.no_log_values
    assert check.params["api_token"] is None and check.api_retries == [] and check._client is None
    capsys.readouterr()


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_module_refuses_a_malformed_token_before_any_call_without_showing_it(capsys):
    value = "AstraCS:%s:not-hex-%s" % (CLIENT_ID, "f" * 40)
    out = run_module(capsys, {"token": value, "api_url": "http://127.0.0.1:%d" % closed_port(), "retries": 0})
    assert out["failed"] is True
    assert out["msg"] == ("token must be an Astra application token, the word AstraCS, its client id and 64 hex "
                          "digits joined by colons; got a value of another shape (not shown).")
    assert value not in json.dumps(out) and "f" * 40 not in json.dumps(out) and "status" not in out


def test_an_api_token_given_is_ignored_and_hidden(capsys):
    """The group's module_defaults give api_token to every module: this one calls with token only, and keeps the
    other token out of its output like any secret."""
    other = "AstraCS:" + "Q" * 24 + ":" + "ab" * 32
    check = with_args({"token": TOKEN, "api_token": other}, lambda: TokenCheckModule(argument_spec=ARGUMENT_SPEC))
    assert check.bearer() == TOKEN and other in check.no_log_values
    out = run_module(capsys, {"token": TOKEN, "api_token": other, "retries": 0,
                              "api_url": "http://127.0.0.1:%d" % closed_port()})
    assert out["failed"] is True and out["msg"].startswith("Checking token %s failed" % CLIENT_ID), out["msg"]
    assert other not in json.dumps(out) and TOKEN not in json.dumps(out)


def test_module_fails_on_a_connection_error_naming_the_client_id_only(capsys):
    out = run_module(capsys, {"token": TOKEN, "api_url": "http://127.0.0.1:%d" % closed_port(), "retries": 0,
                              "state": "refused"})
    assert out["failed"] is True
    assert out["msg"].startswith("Checking token %s failed: the connection was refused." % CLIENT_ID), out["msg"]
    assert TOKEN not in json.dumps(out) and TOKEN.rsplit(":", 1)[1] not in json.dumps(out)
