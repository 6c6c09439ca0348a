# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import (
    AstraError,
    api_message,
    error_from_response,
    escape_controls,
    one_line,
    redact,
    scrub,
    secret_parts,
    shown,
)

TOKEN = "AstraCS:BOjPpMRcaWergiKIyHXEAymP:" + "ab" * 32


@pytest.mark.parametrize("body, content_type, expected", [
    ('{"errors":[{"ID": 340012, "message": "invalid token format"}]}', "application/json", "invalid token format"),
    ('{"errors":[{"message": "a"}, {"message": "b"}]}', "application/json", "a; b"),
    ('"insufficient permissions"', "application/json", "insufficient permissions"),
    ("insufficient permissions\n", "text/plain", "insufficient permissions"),
    ('{"message": "flat"}', "application/json", "flat"),
    ('{"Errors":[{"Message": "upper case keys"}]}', "application/json", "upper case keys"),
    ("<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>", "text/html",
     "an HTML page: 502 Bad Gateway"),
    ("<!DOCTYPE html><body><p>Access   denied</p></body>", "", "an HTML page: Access denied"),
    ("", "application/json", ""),
])
def test_api_message_reads_every_shape(body, content_type, expected):
    assert api_message(body, content_type) == expected


def test_one_line_collapses_and_cuts():
    assert one_line("a\n  b\tc") == "a b c"
    cut = one_line("x" * 500, 50)
    assert len(cut) == 50 and cut.endswith("...")


def test_scrub_removes_tokens_and_known_secrets():
    text = "token %s and secret s3cr3t-value, partial AstraCS:abc" % TOKEN
    cleaned = scrub(text, ["s3cr3t-value"])
    assert TOKEN not in cleaned and "s3cr3t-value" not in cleaned and "AstraCS:abc" not in cleaned
    assert cleaned.count("AstraCS:********") == 2


@pytest.mark.parametrize("status, permission, words", [
    (401, None, ["invalid, revoked or expired"]),
    (403, "org-token-write", ["org-token-write"]),
    (404, None, ["Token XYZ was not found"]),
    (429, None, ["throttling"]),
    (503, None, ["try again later"]),
    (400, None, ["request body"]),
])
def test_error_from_response_has_status_message_and_hint(status, permission, words):
    error = error_from_response(status, '"said by api"', "application/json", "Listing tokens",
                                permission=permission, resource="Token XYZ")
    text = str(error)
    assert text.startswith("Listing tokens failed with HTTP %s: said by api." % status)
    assert error.status == status
    for word in words:
        assert word in text
    assert "\n" not in text


def test_error_from_response_scrubs_echoed_secrets():
    error = error_from_response(400, '{"errors":[{"message":"bad token %s"}]}' % TOKEN, "application/json",
                                "Creating token", secrets=[TOKEN])
    assert TOKEN not in str(error)


# ---- one line, and a full stop between message and hint -----------------------------------------------------

@pytest.mark.parametrize("message", ["Listing tokens failed (gave up after 2 retries)", "Listing tokens failed.",
                                     "Listing tokens failed (gave up after 2 retries) "])
def test_a_message_and_its_hint_are_two_sentences(message):
    text = str(AstraError(message, hint="The Astra service failed."))
    assert text.endswith(". The Astra service failed.") and ".." not in text, text


def test_shown_and_one_line_escape_control_characters():
    assert shown("a\nb\tc\x1b") == "a\\nb\\tc\\x1b"
    assert shown("AstraCS:abc:" + "f" * 64) == "AstraCS:********"
    assert "\x1b" not in one_line("x\x1b[0m y\nz") and "\n" not in one_line("x\ny")
    assert escape_controls("caf\u00e9") == "caf\u00e9"


@pytest.mark.parametrize("value, parts", [
    ("AstraCS:abcdefghijklmnopqrstuvwx:" + "a" * 64, ["a" * 64]),
    ("ASTRA_DB_APPLICATION_TOKEN=AstraCS:abcdefghijklmnopqrstuvwx:" + "b" * 64, ["b" * 64]),
    ('{"token": "AstraCS:abc:%s", "old": "AstraCS:def:%s"}' % ("c" * 64, "d" * 64), ["c" * 64, "d" * 64]),
    ("a-client-secret-of-some-length", ["a-client-secret-of-some-length"]),
])
def test_the_secret_parts_of_a_value_are_the_hashes_of_its_tokens_else_the_value(value, parts):
    assert secret_parts(value) == parts


# A client secret as the API issues them: 128 characters mixing upper case, lower case and digits.
SECRET = ("Ab1" * 43)[:128]
UNKNOWN_TOKEN = "AstraCS:NtNAfakeclientid0123:" + "cd" * 32


def _fragments(secret, size=16):
    return set(secret[start:start + size] for start in range(len(secret) - size + 1))


@pytest.mark.parametrize("status, body, content_type", [
    (200, '{"clientId":"NtNAfakeclientid0123","secret":"%s","token":"%s' % (SECRET, UNKNOWN_TOKEN), "text/plain"),
    (500, "<html><body><h1>500</h1> client secret=%s trace</body></html>" % SECRET, "text/html"),
    (500, "<html><title>Error for %s</title></html>" % UNKNOWN_TOKEN, "text/html"),
    (400, '{"errors":[{"message":"bad request: %s %s"}]}' % (SECRET, UNKNOWN_TOKEN), "application/json"),
    (502, "upstream said secret: %s" % SECRET[:60], "text/plain"),
])
def test_an_error_answer_holding_a_secret_the_run_never_saw_shows_no_part_of_it(status, body, content_type):
    error = error_from_response(status, body, content_type, "Creating token 'x'")
    text = "%s %s" % (error, error.said)
    for secret in (SECRET, UNKNOWN_TOKEN.rsplit(":", 1)[1]):
        assert not [part for part in _fragments(secret[:60]) if part in text], text


def test_redact_removes_secrets_before_a_cut_and_keeps_the_words_around_them():
    text = redact('{"message": "denied", "secret": "%s", "tokenExpiry": "2027-01-01"}' % SECRET)
    assert SECRET[:16] not in text
    assert '"secret": "********"' in text and '"tokenExpiry": "2027-01-01"' in text and "denied" in text
    assert redact("known one: abcdefgh12345678", ["abcdefgh12345678"]) == "known one: ********"


COMMA_SECRET = ("Ab1,Cd2.Ef3+Gh4_" * 8)[:120]
CALLER = "AstraCS:CallerClientId0123456789:" + "7229c2fe" * 8


@pytest.mark.parametrize("status, body, content_type", [
    # a create answer cut inside the secret, which holds commas and dots
    (200, '{"clientId":"NtNAfakeclientid0123","secret":"%s' % COMMA_SECRET[:90], "text/plain"),
    (200, "clientId=NtNAfakeclientid0123&secret=%s" % COMMA_SECRET[:90], "text/plain"),
])
def test_a_cut_secret_with_commas_and_dots_is_hidden_whole(status, body, content_type):
    error = error_from_response(status, body, content_type, "Creating token 'x'")
    text = "%s %s" % (error, error.said)
    assert not [part for part in _fragments(COMMA_SECRET[:90]) if part in text], text


@pytest.mark.parametrize("piece", [CALLER.rsplit(":", 1)[1][:40], CALLER.rsplit(":", 1)[1][-40:],
                                   CALLER.rsplit(":", 1)[1][20:40]])
def test_a_piece_of_a_known_secret_in_an_error_answer_is_hidden(piece):
    body = '{"errors":[{"ID":2,"message":"denied key %s"}]}' % piece
    error = error_from_response(403, body, "application/json", "Listing tokens", secrets=[CALLER])
    text = "%s %s" % (error, error.said)
    assert piece not in text and "denied key" in text, text


def test_redact_keeps_json_valid_and_client_ids_visible():
    import json
    text = redact('{"clientId": "CallerClientId0123456789", "secret": "%s", "n": 1}' % COMMA_SECRET, [CALLER])
    assert json.loads(text) == {"clientId": "CallerClientId0123456789", "secret": "********", "n": 1}


@pytest.mark.parametrize("text", [
    "it is the same secret as [0] (arn:aws:secretsmanager:us-east-1:123456789012:secret:twice-31c51ddb7e-pwMoIf).",
    "GET https://vault.example.com/v1/secret:data/apps/astra failed",
])
def test_redact_keeps_the_names_of_secrets_arns_and_paths(text):
    assert redact(text) == text


@pytest.mark.parametrize("text, hidden", [
    ("clientSecret=abc,def.ghi", "clientSecret=********"),
    ("client_secret: 'abc,def'", "client_secret: '********'"),
    ("x-token=abcdef;", "x-token=********;"),
])
def test_redact_hides_secret_named_fields_but_not_a_segment_of_a_name(text, hidden):
    assert redact(text) == hidden
