# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils._client import (
    BACKOFF_CAP,
    AstraClient,
    check_ca_path,
    normalise_base_url,
    parse_retry_after,
    retry_delay,
)
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError


@pytest.mark.parametrize("given, expected", [
    (None, "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com", "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com/", "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com/v2", "https://api.astra.datastax.com"),
    ("https://api.astra.datastax.com/v2/", "https://api.astra.datastax.com"),
    ("http://127.0.0.1:8080/V2", "http://127.0.0.1:8080"),
    ("https://proxy.example.com/astra", "https://proxy.example.com/astra"),
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


def test_client_refuses_a_missing_api_token():
    with pytest.raises(AstraInputError) as caught:
        AstraClient("")
    assert caught.value.message.startswith("api_token must be set") and "ASTRA_API_TOKEN" in caught.value.message
