# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of a token's options (client id, organization id, description), its client id from the token string,
the expiry of a replacement, and the hint for a create refused in another organization. No API call here: the calls
are in _api_tokens.TokenApi."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.astra.devops.plugins.module_utils._errors import (
    CLIENT_SECRET,
    TOKEN,
    TOKEN_HASH,
    AstraInputError,
    shown,
)
from ansible_collections.astra.devops.plugins.module_utils._records import MAX_INSTANT, now, parse_timestamp

_CLIENT_ID = re.compile(r"^[A-Za-z0-9]{16,64}$")
_ORG_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DESCRIPTION_MAX = 255
# What a token or its secret looks like inside a description.
_TOKEN_LIKE = (
    ("an AstraCS: token", re.compile(r"astracs:", re.IGNORECASE)),
    ("a token's 64-character hex hash", TOKEN_HASH),
    ("a client secret", CLIENT_SECRET),
)


def check_client_id(value, option="client_id"):
    if value is not None and not _CLIENT_ID.match(value):
        raise AstraInputError(
            "%s must be an Astra client id (16 to 64 letters and digits, such as BOjPpMRcaWergiKIyHXEAymP), got '%s'."
            % (option, shown(value)))


def client_id_of(token):
    """The client id of an AstraCS:<clientId>:<64 hex> token (spaces around it ignored), None for anything else; the
    token itself is not kept."""
    match = TOKEN.match(token.strip()) if isinstance(token, str) else None
    return match.group(1) if match else None


def check_org_id(value, option="org_id"):
    if value is not None and not _ORG_ID.match(value):
        raise AstraInputError("%s must be an organization id (a UUID), got '%s'." % (option, shown(value)))


def check_description(value, option="description"):
    """Descriptions are identities here, so they must be unambiguous: printable ASCII, not blank, bounded, without
    spaces around them (' app' and 'app' would be two families). The API shows them to everyone who can list tokens,
    so one that holds a token or secret is refused, and never repeated in the message."""
    if value is None:
        return
    for what, pattern in _TOKEN_LIKE:
        if pattern.search(value):
            raise AstraInputError(
                "%s must not hold a token or secret, and this one looks like %s (not shown here): anyone who can "
                "list tokens sees descriptions; give a name such as inventory-service." % (option, what))
    if not value.strip():
        raise AstraInputError("%s must not be empty or blank; give a name such as inventory-service." % option)
    if len(value) > DESCRIPTION_MAX:
        raise AstraInputError("%s must be at most %d characters, got %d." % (option, DESCRIPTION_MAX, len(value)))
    if any(not (32 <= ord(char) < 127) for char in value):
        raise AstraInputError("%s must be printable ASCII (letters, digits, spaces and punctuation), got '%s'."
                              % (option, shown(value.encode("ascii", "backslashreplace").decode("ascii"))))
    if value != value.strip():
        raise AstraInputError(
            "%s must not start or end with a space (tokens are found by their exact description, so '%s' and '%s' "
            "would be two different families), got '%s'; to manage an existing token named so, give its client_id."
            % (option, value.strip(), shown(value), shown(value)))


def other_org_hint(org_id, caller):
    """The hint for a 403 on a create with an org_id that is not the caller's own organization (None when it is)."""
    own = caller.get("id")
    if not own or not org_id or str(own).lower() == org_id.lower():
        return None
    if str(caller.get("type") or "").lower() == "enterprise":
        return ("The api_token belongs to enterprise %s, and organization %s is not one of its member organizations "
                "(or the token's role lacks enterprise-token-write): creating a token there needs an enterprise token "
                "of that organization's enterprise, or a token of organization %s itself." % (own, org_id, org_id))
    return ("The api_token belongs to organization %s, and org_id %s is another organization: an organization token "
            "creates tokens only in its own organization. Creating a token in %s needs an enterprise token of its "
            "enterprise (Enterprise Administrator), or a token of organization %s itself." % (own, org_id, org_id, org_id))


def replacement_expiry(asked, current, reference=None):
    """(expiry, source) of a token to create: the asked expiry; else, when replacing a token that expires, its
    lifetime (expiry minus creation) counted from now, or its own expiry when its creation time is unknown; else
    none. A replacement must not silently outlive the token it replaces, nor expire sooner."""
    if asked is not None:
        return asked, "option"
    old_expiry = parse_timestamp(current["expiry"]) if current else None
    if old_expiry is None:
        return None, "none"
    generated = parse_timestamp(current["generated_on"])
    reference = reference or now()
    if generated is not None and old_expiry > generated:
        try:
            return min(reference + (old_expiry - generated), MAX_INSTANT), "replaced_token_lifetime"
        except OverflowError:
            return MAX_INSTANT, "replaced_token_lifetime"
    if old_expiry > reference:
        return old_expiry, "replaced_token_expiry"
    raise AstraInputError(
        "expiry must be given to replace token %s (an ISO-8601 instant or a duration such as 90d): it expired at %s "
        "and its creation time is unknown, so its lifetime cannot be carried over."
        % (current["client_id"], current["expiry"]))
