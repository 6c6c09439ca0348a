# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils._client import (
    BACKOFF_CAP,
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
