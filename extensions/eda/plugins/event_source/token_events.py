# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.token_events: an event source for ansible-rulebook and the EDA controller that polls the Astra DevOps
API's token listing and puts one event per token and condition on the queue.

Arguments:
    api_url:          the API root (default: ASTRA_API_URL, else https://api.astra.datastax.com)
    api_token:        the application token the source reads with (default: ASTRA_API_TOKEN); needs org-token-read,
                      and org-role-read to name roles (without it, events give role ids)
    validate_certs:   verify the API's TLS certificate (default true)
    ca_path:          a CA bundle to verify it with
    interval:         seconds between polls (default 3600)
    expiring_within:  a duration such as 14d, 12h or 2w: a token that expires within it is `expiring` (default 14d)
    descriptions:     exact token descriptions (families) to watch (default: every token)
    kinds:            the kinds to put on the queue (default: all of expiring, expired, never_expires, created, deleted)
    once:             one poll, then the source ends (default false)

Events: {"astra_token": {"kind", "client_id", "description", "roles", "generated", "expires", "expires_in", "age",
"org_id"}}; expires_in and age in seconds (expires_in negative once expired, null when the token never expires).
A token's expiring, expired and never_expires events come once per source run; created and deleted compare a poll
with the previous one. No event or log line holds a secret. A refused API token ends the source with the
invalid-token hint; another failed poll is tried again after 60 s, then 120 s, 240 s, 480 s (at most the interval),
and the source ends after 5 failed polls in a row.

Example:
    sources:
      - astra.devops.token_events:
          descriptions: [ci-deployer]
          expiring_within: 14d
          interval: 3600
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import asyncio
import logging
import os
import sys


def _importable_collection():
    """ansible-rulebook runs a source by its path (runpy), without the collections folder on sys.path: the folder that
    holds this file's ansible_collections is added, so that the collection's own client and API layer import."""
    folder = os.path.dirname(os.path.abspath(__file__))
    for _level in range(6):  # event_source, plugins, eda, extensions, devops, astra
        folder = os.path.dirname(folder)
    if os.path.basename(folder) == "ansible_collections" and os.path.dirname(folder) not in sys.path:
        sys.path.append(os.path.dirname(folder))


_importable_collection()

# pylint: disable=wrong-import-position
from ansible_collections.astra.devops.plugins.module_utils import _token_events as decisions
from ansible_collections.astra.devops.plugins.module_utils._api_org import OrgApi
from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._client import AstraClient
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraError

LOGGER = logging.getLogger("astra.devops.token_events")


def _client(opts):
    """The collection's client: its URL rules, TLS options, retries and error hints; retries are logged."""
    return AstraClient(opts["api_token"], api_url=opts["api_url"], validate_certs=opts["validate_certs"],
                       ca_path=opts["ca_path"], on_retry=LOGGER.warning)


def _role_names(client, warned):
    """Role name by id, or None (events then give role ids) when the token may not list roles."""
    try:
        return dict((role["id"], role["name"]) for role in RoleApi(client).list())
    except AstraApiError as error:
        if error.bad_token:
            raise
        if not warned:
            warned.append(True)
            LOGGER.warning("%s: events give role ids, not names: %s", decisions.NAME, error)
        return None


def _org_id(client, state):
    """The caller's organization id, read once per source run (GET /v2/currentOrg, which any valid token may read)."""
    if "org_id" not in state:
        state["org_id"] = OrgApi(client).current()[1].get("id")
    return state["org_id"]


def _poll(client, state, opts, warned):
    """One poll, blocking (run in a thread): one token listing, one role listing only when an event names roles, and
    the organization id once per run when an event needs it."""
    tokens = TokenApi(client).items()  # decide reads them as they are: only tokens with events are normalised
    events, announced, seen = decisions.decide(tokens, state["seen"], state["announced"], opts, decisions.now())
    if any(event["astra_token"]["roles"] for event in events):
        events = decisions.with_role_names(events, _role_names(client, warned))
    if any(event["astra_token"]["org_id"] is None for event in events):
        events = decisions.with_org_id(events, _org_id(client, state))
    return events, announced, seen


async def main(queue, args, client=None, sleep=None):
    """The ansible-rulebook entry point. client and sleep stand in for the HTTP client and asyncio.sleep in tests."""
    opts = decisions.options(args, os.environ)
    client = client or _client(opts)
    sleep = sleep or asyncio.sleep
    state = {"seen": None, "announced": frozenset()}
    failures, warned = 0, []
    while True:
        try:
            events, state["announced"], state["seen"] = await asyncio.get_running_loop().run_in_executor(
                None, _poll, client, state, opts, warned)
        except AstraApiError as error:
            failures += 1
            delay, line = decisions.after_failure(error, failures, opts["interval"])
            if delay is None:  # ansible-rulebook logs the line and ends
                raise AstraError(line)
            LOGGER.warning(line)
            await sleep(delay)
            continue
        failures = 0
        for event in events:
            await queue.put(event)
        if opts["once"]:
            return
        await sleep(opts["interval"])


if __name__ == "__main__":
    class _PrintQueue:
        async def put(self, event):
            print(event)

    asyncio.run(main(_PrintQueue(), {"once": True}))
