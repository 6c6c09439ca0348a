# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the API accepts a token (GET /v2/currentOrg with it as the bearer), once or until the answer settles."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.astra.devops.plugins.module_utils._api_org import OrgApi
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError

POLL_INTERVAL = 2.0


def probe(client, action):
    """One call of GET /v2/currentOrg: (accepted, org_id, HTTP status, what the API said when it refused)."""
    try:
        status, org = OrgApi(client).current(action)
    except AstraApiError as error:
        # A 401, or a 400/403 about the token itself: the one rule of module_utils/_errors.py, about_the_token.
        if error.bad_token:
            return False, None, error.status, error.said
        if error.status == 403:
            error.hint = ("Any valid token may read its own organization, so the API refused this token for another "
                          "reason: check the organization's access list and any proxy between here and the API.")
        raise
    return True, org.get("id"), status, ""


class NotReached(Exception):
    """The answer stayed the other one until wait ran out; carries the result to fail with."""

    def __init__(self, message, result):
        super(NotReached, self).__init__(message)
        self.message = message
        self.result = result


def check_token(client, client_id, state, wait, clock=time.monotonic):
    """Ask until the answer is the one state asks for, or wait seconds have passed (then NotReached)."""
    want = state == "accepted"
    action = "Checking token %s" % client_id
    start = clock()
    while True:
        accepted, org_id, status, said = probe(client, action)
        waited = clock() - start
        result = {"changed": False, "client_id": client_id, "accepted": accepted, "waited": round(waited, 1)}
        if accepted:
            result["org_id"] = org_id
        if accepted == want:
            return result
        remaining = wait - waited
        if remaining <= 0:
            break
        client.pause(min(POLL_INTERVAL, remaining))
    message = "token %s was not %s%s (last answer HTTP %s)." % (
        client_id, state, " within %d seconds" % wait if wait else "", status)
    if said:
        message += " The API said: %s." % said
    raise NotReached(message, result)
