# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The connection options every astra.devops module shares."""

    # astra.devops.auth: the connection options, the notes and the requirements of every module. The caller's
    # api_token is the API_TOKEN section (astra.devops.auth.api_token), which every module but astra_token_check
    # (it checks a token given in its own option) adds.
    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - The root of the Astra DevOps API, with or without a trailing C(/v2), such as U(https://api.astra.datastax.com).
      - Only C(http) and C(https) URLs of a host, with an optional port, are accepted. A user name or password, any
        other path (such as C(/v2/tokens)), a query string or a fragment is refused.
      - Scheme and host are compared without regard to case, and a default port (443 for https, 80 for http) is
        dropped, so two spellings of one root are one API to the P(astra.devops.token_rotation#role) role's lock.
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
      - Every retry is shown as a warning (naming the call, the HTTP status or connection failure, and the wait; never
        a secret or a response body), so it is visible even under C(no_log), which M(astra.devops.astra_token)
        requires. The result's C(api_retries) lists them too, but C(no_log) hides that result.
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

    API_TOKEN = r'''
options:
  api_token:
    description:
      - The caller's Astra application token (C(AstraCS:...)), sent as a bearer token.
      - If not set, the environment variable E(ASTRA_API_TOKEN) is used. One of the two is required.
      - Its role needs C(org-token-read) to list tokens and C(org-token-write) to create or delete them,
        as the Organization Administrator role has.
      - Prefer the environment variable, Ansible Vault or an AWX credential over a literal or C(-e) value.
    type: str
'''
