# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

import requests

from ansible_collections.astra.devops.plugins.module_utils._client import (
    BACKOFF_CAP,
    AstraClient,
    _switch_scheme,
    parse_retry_after,
    retry_delay,
)
from ansible_collections.astra.devops.plugins.module_utils._urls import check_ca_path, normalise_base_url, url_credentials
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError


@pytest.mark.parametrize("given, expected", [
    (None, "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com", "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com/", "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com/v2", "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com/v2/", "https://api.astra.datastax.com"),
    ("http://127.0.0.1:8080/V2", "http://127.0.0.1:8080"),
])
def test_normalise_base_url(given, expected):
    assert normalise_base_url(given) == expected


@pytest.mark.parametrize("given", ["api.astra.datastax.com", "ftp://host", "https://", "http:///v2", "not a url"])
def test_normalise_base_url_refuses(given):
    with pytest.raises(AstraInputError) as caught:
        normalise_base_url(given)
    assert caught.value.message.startswith("api_url must be an http(s) URL")


def test_retry_delay_honours_retry_after_and_caps():
    assert retry_delay(1, 0) == 0
    assert retry_delay(1, 7) == 7
    assert retry_delay(1, 10000) == BACKOFF_CAP
    for attempt in range(1, 10):
        delay = retry_delay(attempt)
        ceiling = min(BACKOFF_CAP, 2 ** (attempt - 1))
        assert ceiling / 2.0 <= delay <= ceiling


@pytest.mark.parametrize("header, expected", [
    ("3", 3.0), ("0", 0.0), ("1.5", 1.5), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", None),
])
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_check_ca_path_refuses_missing_files_and_directories(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    check_ca_path(str(bundle))
    for given, words in ((tmp_path / "missing.pem", "no such file"), (tmp_path, "a directory")):
        with pytest.raises(AstraInputError) as caught:
            check_ca_path(str(given))
        message = caught.value.message
        assert message.startswith("ca_path must be a readable file") and words in message and "\n" not in message


class _Response:
    status_code = 200
    content = b"[]"
    headers = {}

    @staticmethod
    def json():
        return []


def test_every_request_carries_verify_so_env_bundles_cannot_override_ca_path(tmp_path, monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE override a session's verify; the client passes it with each request."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "other.pem"))
    seen = []
    for validate_certs, ca_path, expected in ((True, str(bundle), str(bundle)), (False, str(bundle), False),
                                              (True, None, True)):
        client = AstraClient("AstraCS:abc:0123", "http://127.0.0.1:1", validate_certs=validate_certs, ca_path=ca_path)
        monkeypatch.setattr(client._session, "request", lambda *args, **kwargs: seen.append(kwargs) or _Response())
        client.call("GET", "/v2/tokens", "Listing tokens")
        assert seen[-1]["verify"] == expected


def test_client_refuses_a_missing_ca_path_unless_certificates_are_not_checked(tmp_path):
    with pytest.raises(AstraInputError) as caught:
        AstraClient("AstraCS:abc:0123", ca_path=str(tmp_path / "missing.pem"))
    assert caught.value.message.startswith("ca_path must be")
    AstraClient("AstraCS:abc:0123", validate_certs=False, ca_path=str(tmp_path / "missing.pem"))


@pytest.mark.parametrize("token", ["AstraCS:abc:0123\n", " AstraCS:abc:0123", "AstraCS:abc:01 23", "AstraCS:abc:0123\t"])
def test_client_refuses_an_api_token_with_a_space_or_line_break_without_showing_it(token):
    with pytest.raises(AstraInputError) as caught:
        AstraClient(token)
    assert "api_token holds a space, a line break" in str(caught.value) and "0123" not in str(caught.value)


def test_client_refuses_a_missing_api_token():
    with pytest.raises(AstraInputError) as caught:
        AstraClient("")
    assert caught.value.message.startswith("api_token must be set") and "ASTRA_API_TOKEN" in caught.value.message


# ---- api_url spellings and mistakes --------------------------------------------------------------

@pytest.mark.parametrize("given", [
    "https://api.astra.datastax.com", "https://api.astra.datastax.com/", "https://api.astra.datastax.com//",
    "https://api.astra.datastax.com/v2", "https://api.astra.datastax.com/V2/", "HTTPS://API.ASTRA.DATASTAX.COM",
    "Https://Api.Astra.DataStax.Com:443", "https://api.astra.datastax.com:443/v2/", "  https://api.astra.datastax.com  ",
    "https://api.astra.datastax.com:0443", None, "",
])
def test_spellings_of_one_api_root_normalise_alike(given):
    assert normalise_base_url(given) == "https://api.astra.datastax.com"


@pytest.mark.parametrize("given, expected", [
    ("http://127.0.0.1:80", "http://127.0.0.1"),
    ("HTTP://LocalHost:80/v2", "http://localhost"),
    ("http://localhost:443", "http://localhost:443"),
    ("https://localhost:80", "https://localhost:80"),
    ("https://Example.COM:8443/V2", "https://example.com:8443"),
    ("http://[::1]:8080/v2", "http://[::1]:8080"),
    ("http://[::1]:80", "http://[::1]"),
])
def test_scheme_and_host_are_lower_cased_and_a_default_port_dropped(given, expected):
    assert normalise_base_url(given) == expected


@pytest.mark.parametrize("given, shown_as", [
    ("http://user:pw@127.0.0.1:8080", "'http://***@127.0.0.1:8080'"),
    ("https://alice:S3cretPass@api.astra.datastax.com/v2", "'https://***@api.astra.datastax.com/v2'"),
    ("https://alice@api.astra.datastax.com", "'https://***@api.astra.datastax.com'"),
    ("https://al:p/w#x@host", "'https://***@host'"),
    ("ftp://bob:hunter22@host", "'ftp://***@host'"),
    ("bob:hunter22@host", "'***@host'"),
])
def test_a_user_name_and_password_in_api_url_are_refused_and_never_shown(given, shown_as):
    with pytest.raises(AstraInputError) as caught:
        normalise_base_url(given)
    message = str(caught.value)
    assert message.startswith("api_url must not contain a user name or password"), message
    assert shown_as in message and "API root" in message, message
    for secret in ("pw", "S3cretPass", "alice", "hunter22", "bob", "p/w"):
        assert secret not in message, (secret, message)


@pytest.mark.parametrize("given, words", [
    ("https://api.astra.datastax.com/v2/tokens", "without any other path"),
    ("https://api.astra.datastax.com/api", "without any other path"),
    ("https://api.astra.datastax.com/v2/v2", "without any other path"),
    ("https://api.astra.datastax.com/v3", "without any other path"),
    ("https://api.astra.datastax.com/?x=1", "query string or fragment"),
    ("https://api.astra.datastax.com/v2?", "query string or fragment"),
    ("https://api.astra.datastax.com#top", "query string or fragment"),
    ("https://api.astra.datastax.com:abc", "port from 1 to 65535"),
    ("https://api.astra.datastax.com:0", "port from 1 to 65535"),
    ("https://api.astra.datastax.com:70000", "port from 1 to 65535"),
    ("https://[::1", "port from 1 to 65535"),
    ("https://api astra.com", "spaces or control characters"),
    ("https://api.astra.datastax.com/v2\n/x", "spaces or control characters"),
])
def test_an_extra_path_query_fragment_or_bad_port_is_refused(given, words):
    with pytest.raises(AstraInputError) as caught:
        normalise_base_url(given)
    message = str(caught.value)
    assert message.startswith("api_url must") and words in message, message
    assert "https://api.astra.datastax.com, optionally followed by /v2" in message, message
    assert "\n" not in message and message.endswith("."), message


def test_a_plain_http_answer_to_https_is_named(monkeypatch):
    """an https:// URL against a plain-HTTP server is not a certificate problem (validate_certs false or not)."""
    client = AstraClient("AstraCS:x:y", api_url="https://127.0.0.1:8080", validate_certs=False, retries=3)

    def refuse(*args, **kwargs):
        raise requests.exceptions.SSLError(
            "HTTPSConnectionPool(host='127.0.0.1', port=8080): Max retries exceeded with url: /v2/tokens (Caused by "
            "SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)')))")
    monkeypatch.setattr(client._session, "request", refuse)
    with pytest.raises(AstraApiError) as caught:
        client.call("GET", "/v2/tokens", "Listing tokens")
    message = str(caught.value)
    assert "answered in plain HTTP" in message and "http://127.0.0.1:8080" in message, message
    assert "set validate_certs to false" not in message and "retries" not in message, message


@pytest.mark.parametrize("url, other", [("https://host", "http://host:443"), ("https://host:8443", "http://host:8443"),
                                        ("http://host:443", "https://host"), ("http://host", "https://host:80")])
def test_the_other_scheme_keeps_the_port(url, other):
    assert _switch_scheme(url) == other


def test_a_tls_port_read_as_plain_http_is_named(monkeypatch):
    client = AstraClient("AstraCS:x:y", api_url="http://127.0.0.1:8443", retries=0)

    def hang_up(*args, **kwargs):
        raise requests.exceptions.ConnectionError(
            "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))")
    monkeypatch.setattr(client._session, "request", hang_up)
    with pytest.raises(AstraApiError) as caught:
        client.call("GET", "/v2/tokens", "Listing tokens")
    assert "https://127.0.0.1:8443" in str(caught.value), str(caught.value)


@pytest.mark.parametrize("given, found", [
    ("http://user:pw@host", ["user:pw"]), ("https://alice:S3cretPass@h", ["alice:S3cretPass", "S3cretPass"]),
    ("https://h", []), (None, []),
])
def test_url_credentials_are_found_for_the_module_to_hide(given, found):
    assert url_credentials(given) == found


# ---- a retried call that gives up ends its message with a full stop before the hint --------------

def test_a_gave_up_message_ends_with_a_full_stop(monkeypatch):
    client = AstraClient("AstraCS:x:y", api_url="http://127.0.0.1:1", retries=2, sleep=lambda s: None)

    class Answer:
        status_code = 503
        text = '{"errors": [{"message": "service unavailable"}]}'
        headers = {"Content-Type": "application/json", "Retry-After": "0"}
    monkeypatch.setattr(client._session, "request", lambda *a, **k: Answer())
    with pytest.raises(AstraApiError) as caught:
        client.call("GET", "/v2/tokens", "Listing tokens")
    assert "(gave up after 2 retries). The Astra service failed" in str(caught.value), str(caught.value)


def test_a_success_answer_that_is_not_json_shows_no_part_of_the_secret_it_was_cut_from(monkeypatch):
    """A create answer cut short by a proxy holds a secret the run never learnt: it is hidden before the cut."""
    secret = ("Xy9" * 43)[:128]

    class Cut:
        status_code = 200
        headers = {"Content-Type": "text/plain"}
        text = '{"clientId":"NtNAfakeclientid0123","secret":"%s","token":"AstraCS:NtNAfakeclientid0123:%s' % (
            secret, "ef" * 32)
        content = text.encode()

        def json(self):
            raise ValueError("cut")

    client = AstraClient("AstraCS:abc:0123", "http://127.0.0.1:1")
    monkeypatch.setattr(client._session, "request", lambda *args, **kwargs: Cut())
    with pytest.raises(AstraApiError) as caught:
        client.call("POST", "/v2/tokens", "Creating token 'x'", idempotent=False)
    message = str(caught.value)
    assert "body that is not JSON" in message
    assert not [secret[i:i + 16] for i in range(len(secret) - 15) if secret[i:i + 16] in message], message
    assert "efefefefefefefef" not in message


@pytest.mark.parametrize("status, calls", [(429, 2), (503, 1), (500, 1)])
def test_a_write_that_mints_is_retried_after_a_429_only(monkeypatch, status, calls):
    """A 429 refused the request before it did anything; a 5xx may have come after the write committed."""
    answers = []

    class Answer:
        headers = {"Retry-After": "0"}
        text = ""
        content = b'{"clientId": "c"}'

        def __init__(self, code):
            self.status_code = code

        def json(self):
            return {"clientId": "c"}

    client = AstraClient("AstraCS:abc:0123", "http://127.0.0.1:1", sleep=lambda seconds: None)
    monkeypatch.setattr(client._session, "request",
                        lambda *args, **kwargs: answers.append(1) or Answer(status if len(answers) == 1 else 201))
    if calls == 2:
        assert client.call("POST", "/v2/tokens", "Creating token 'x'", idempotent=False) == (201, {"clientId": "c"})
    else:
        with pytest.raises(AstraApiError):
            client.call("POST", "/v2/tokens", "Creating token 'x'", idempotent=False)
    assert len(answers) == calls
