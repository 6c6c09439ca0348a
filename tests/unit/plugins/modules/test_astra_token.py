# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The expiry a replacement token gets, without HTTP: astra_token and the rotation role share it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._records import MAX_INSTANT, UTC, now, parse_timestamp
from ansible_collections.astra.devops.plugins.module_utils._tokens import replacement_expiry


def old(expiry, generated="2025-01-01T00:00:00Z"):
    return {"client_id": "BOjPpMRcaWergiKIyHXEAymP", "expiry": expiry, "generated_on": generated}


def test_a_replacement_keeps_the_old_lifetime_from_now():
    before = now()
    expiry, source = replacement_expiry(None, old("2025-04-01T00:00:00Z"))  # 90 days
    assert source == "replaced_token_lifetime"
    assert before + datetime.timedelta(days=90) <= expiry <= now() + datetime.timedelta(days=90)


def test_a_long_lived_token_is_not_replaced_by_one_that_never_expires():
    expiry, source = replacement_expiry(None, old("2030-01-01T00:00:00Z"))
    assert source == "replaced_token_lifetime" and expiry is not None and expiry > now()


def test_a_token_that_never_expires_is_replaced_by_one_that_never_expires():
    assert replacement_expiry(None, old(None)) == (None, "none")
    assert replacement_expiry(None, None) == (None, "none")  # a first create


def test_the_expiry_option_wins_over_the_replaced_lifetime():
    asked = datetime.datetime(2031, 1, 1, tzinfo=UTC)
    assert replacement_expiry(asked, old("2030-01-01T00:00:00Z")) == (asked, "option")
    assert replacement_expiry(asked, None) == (asked, "option")


def test_without_a_creation_time_the_future_expiry_is_kept():
    expiry, source = replacement_expiry(None, old("2030-01-01T00:00:00Z", generated=None))
    assert (expiry, source) == (parse_timestamp("2030-01-01T00:00:00Z"), "replaced_token_expiry")


def test_without_a_creation_time_an_expired_token_needs_the_expiry_option():
    with pytest.raises(AstraInputError) as caught:
        replacement_expiry(None, old("2020-01-01T00:00:00Z", generated=None))
    assert str(caught.value).startswith("expiry must be given to replace token BOjPpMRcaWergiKIyHXEAymP")


def test_an_absurd_lifetime_is_capped_at_the_last_instant():
    expiry, source = replacement_expiry(None, old("9998-12-31T00:00:00Z", generated="1970-01-01T00:00:00Z"))
    assert (expiry, source) == (MAX_INSTANT, "replaced_token_lifetime")
