# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token endpoints of both API families (/v2/tokens and the legacy /v2/clientIdSecrets): list, delete, and the
create that never leaves an orphan token behind. The only place that calls them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, shown
from ansible_collections.astra.devops.plugins.module_utils._records import format_timestamp, normalise_token, token_items

TOKEN_PATHS = {"tokens": "/v2/tokens", "clientIdSecrets": "/v2/clientIdSecrets"}
READ = "org-token-read"
WRITE = "org-token-write"


class TokenApi:
    """Tokens of one API family (/v2/tokens or the legacy /v2/clientIdSecrets)."""

    def __init__(self, client, endpoint="tokens"):
        self.client = client
        self.path = TOKEN_PATHS[endpoint]

    def items(self):
        """The token objects as the API listed them, not normalised (astra_token_info filters them first)."""
        _status, data = self.client.call("GET", self.path, "Listing tokens", permission=READ)
        return token_items(data)

    def list(self):
        return [normalise_token(item) for item in self.items()]

    def delete(self, client_id):
        """True when this call deleted the token, False when it was already gone (404)."""
        try:
            self.client.call("DELETE", "%s/%s" % (self.path, client_id), "Deleting token %s" % client_id,
                             permission=WRITE, resource="Token %s" % client_id)
        except AstraApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    def create(self, role_ids, description, expiry=None, org_id=None, known_client_ids=()):
        """Mint a token; returns (metadata, secret). An ambiguous failure is cleaned up and retried, never blind."""
        body = {"roles": list(role_ids), "description": description}
        if expiry is not None:
            body["tokenExpiry"] = format_timestamp(expiry)
        if org_id:
            body["orgId"] = org_id
        attempt = 0
        while True:
            try:
                _status, data = self.client.call("POST", self.path, "Creating token '%s'" % shown(description), body,
                                                 idempotent=False, permission=WRITE)
                break
            except AstraApiError as error:
                if error.status is not None and error.status < 500:
                    raise
                removed = self._remove_unreturned(description, role_ids, known_client_ids)
                if getattr(error, "timed_out", False):
                    removed += self._watch_late_create(description, role_ids, known_client_ids)
                if attempt >= self.client.retries:
                    error.message = "%s The create's outcome was unknown; %s" % (
                        error.message, _removed_note(removed))
                    raise
                attempt += 1
                # The reason names the status or the connection failure, never the API's words (a warning shows it).
                reason = "Creating token '%s': HTTP %s" % (shown(description), error.status) if error.status else error.message
                self.client.wait_before_retry(attempt, None, "%s (%s)" % (reason.rstrip("."), _removed_note(removed)))
        return self._created(data or {}, description, role_ids, expiry, org_id)

    def _created(self, data, description, role_ids, expiry, org_id):
        secret = {
            "token": data.get("token"),
            "client_id": data.get("clientId"),
            "client_secret": data.get("secret"),
        }
        for value in (secret["token"], secret["client_secret"]):
            self.client.remember_secret(value)
        token = normalise_token(data)
        # The create answer may omit description and expiry: fill in what was sent.
        token["description"] = token["description"] or description
        token["roles"] = token["roles"] or list(role_ids)
        token["expiry"] = token["expiry"] or format_timestamp(expiry)
        token["org_id"] = token["org_id"] or org_id
        return token, secret

    def _watch_late_create(self, description, role_ids, known_client_ids):
        """A create that timed out may be committed after the client gave up: watch the list for another `timeout`
        seconds, once a second, and delete what that request made late."""
        removed = []
        for _second in range(int(math.ceil(self.client.timeout))):
            self.client.pause(1)
            removed += self._remove_unreturned(description, role_ids, known_client_ids)
        return removed

    def _remove_unreturned(self, description, role_ids, known_client_ids):
        """Delete tokens the failed request may have created: their secret never reached us, so nobody can use them."""
        known = set(known_client_ids)
        wanted = set(role_ids)
        removed = []
        for token in self.list():
            if token["client_id"] not in known and token["description"] == description and set(token["roles"]) == wanted:
                if self.delete(token["client_id"]):
                    removed.append(token["client_id"])
        return removed


def _removed_note(removed):
    if removed:
        return "deleted %d token(s) it created without returning the secret (%s)." % (len(removed), ", ".join(removed))
    return "no token was left behind."
