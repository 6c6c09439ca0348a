# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The connection options every astra.devops module shares."""

    DOCUMENTATION = r'''
options:
  api_token:
    description:
      - The caller's Astra application token (C(AstraCS:...)), sent as a bearer token.
      - If not set, the environment variable E(ASTRA_API_TOKEN) is used. One of the two is required.
      - Its role needs C(org-token-read) to list tokens and C(org-token-write) to create or delete them,
        as the Organization Administrator role has.
      - Prefer the environment variable, Ansible Vault or an AWX credential over a literal or C(-e) value.
    type: str
  api_url:
    description:
      - The root of the Astra DevOps API, with or without a trailing C(/v2).
      - If not set, the environment variable E(ASTRA_API_URL) is used, else U(https://api.astra.datastax.com).
    type: str
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate. Set to V(false) only for test endpoints; the module warns.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM CA bundle to verify the API's certificate with, for private endpoints and TLS-inspecting proxies.
      - It must be a readable file; a missing or unreadable one fails before any API call. Ignored when
        O(validate_certs=false).
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request.
    type: int
    default: 30
  retries:
    description:
      - How many times an idempotent call (list, delete) is retried on a connection error, HTTP 408, 429 or 5xx.
        A TLS certificate that fails verification is not retried.
      - Waits honour C(Retry-After); otherwise they back off exponentially from 1 second with jitter, capped at 30 seconds
        each, so the total wait is at most about O(retries) times 30 seconds.
      - A token create is never re-sent blindly. After an ambiguous failure (connection lost, timeout, 5xx) the module
        lists the tokens, deletes any token that request made (its secret never arrived), and only then tries again.
        After a create that timed out, it also watches the list for another O(timeout) seconds, since the server may
        still commit it.
      - "Time bound of one API call: at most (O(retries) + 1) times O(timeout) waiting for answers, plus the waits
        between attempts (each at most 30 seconds), plus, for a create that timed out, O(timeout) seconds of watching
        per attempt. With the defaults (5 retries, 30 seconds) a call that never succeeds gives up within about 6
        minutes; lower both for a fast failure."
      - Every retry is listed, without any secret, in the result's C(api_retries), which C(-v) shows.
    type: int
    default: 5
notes:
  - The module runs on the controller (or wherever it is delegated); use C(hosts) set to C(localhost), or C(delegate_to) set to C(localhost).
  - Requires the Python library C(requests) on that host.
  - Plays using this module should set C(gather_facts) to C(false), since facts include the environment and with it
    E(ASTRA_API_TOKEN).
requirements:
  - requests >= 2.25
'''
