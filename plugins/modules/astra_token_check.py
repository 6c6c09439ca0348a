#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_token_check
short_description: Check that a DataStax Astra application token authenticates, or that it no longer does
version_added: 1.1.0
description:
  - Calls C(GET /v2/currentOrg) with O(token) as the bearer token, a call any valid token may make, and tells whether
    the API accepts the token.
  - With O(state=accepted) (the default) the module succeeds when the token is accepted; with O(state=refused), when
    it is refused, for example to confirm that a deleted token stopped working.
  - With O(wait), the module asks again every 2 seconds until the answer is the one O(state) asks for, or O(wait)
    seconds have passed; then it fails, naming the client id and the last answer. A new token may take a moment to
    work everywhere, and a deleted one to stop working.
  - The API refuses a token with HTTP 401 (unknown, deleted, expired or not yet active). A 403 or 400 about the
    token itself counts as refused too, since the API answers so for some bad tokens. That is one whose body
    carries the error ID 340012, 340017 or 340018, or whose message says the token is malformed, invalid, unknown
    or not found (the same rule as the other modules' invalid-token hint). Any other error (another 403, 5xx after the
    retries, a connection or TLS failure) fails the module, whatever O(state) is.
  - The token is never returned, logged or shown in a message; the result names it by its client id, the middle
    part of C(AstraCS:<client id>:<hash>).
  - The module never changes anything (C(changed) is always V(false)). The rotation role C(astra.devops.token_rotation)
    uses it for both of its probes, that the new token works and that the old ones are refused.
author:
  - Astra DevOps maintainers (@astra-devops)
extends_documentation_fragment:
  - astra.devops.auth
attributes:
  check_mode:
    support: full
    description: The module only reads, and runs in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  token:
    description:
      - The application token to check (C(AstraCS:<client id>:<hash>)). It is the only token the module sends, since
        any valid token may make this call; O(api_token) is ignored.
      - Whitespace around it (the newline at the end of a token file) is ignored. A value of any other shape fails
        before any call, with a message that does not show it.
      - Take it from a file, Ansible Vault or a registered result rather than a literal in the playbook.
    type: str
    required: true
  state:
    description:
      - V(accepted) succeeds when the API accepts O(token).
      - V(refused) succeeds when the API refuses O(token).
    type: str
    choices: [accepted, refused]
    default: accepted
  wait:
    description:
      - Seconds to keep asking, every 2 seconds, until the answer is the one O(state) asks for. The last call is
        made at the end of that time.
      - V(0) asks once.
    type: int
    default: 0
  api_token:
    description:
      - Ignored. The module calls with O(token) only.
      - Accepted so that C(module_defaults) for C(group/astra.devops.astra), which give every module of the group its
        O(api_url) and O(api_token), work for this module too.
    type: str
    version_added: 1.1.0
notes:
  - The API itself is reached with the connection options O(api_url), O(validate_certs), O(ca_path), O(timeout) and
    O(retries). A retried answer (a 5xx, 429 or connection error) does not count as a refusal; a 401 is never retried.
seealso:
  - module: astra.devops.astra_token
  - module: astra.devops.astra_token_info
'''

EXAMPLES = r'''
- name: Check that the token in the application's file works
  astra.devops.astra_token_check:
    token: "{{ lookup('ansible.builtin.file', '/etc/myapp/astra-token') }}"
  register: app_token

- name: Show the token's client id and organization
  ansible.builtin.debug:
    msg: "{{ app_token.client_id }} works in organization {{ app_token.org_id }}"

- name: Wait up to 60 seconds until a new token works
  astra.devops.astra_token_check:
    token: "{{ created.secret.token }}"
    wait: 60
  no_log: true

- name: Confirm that a deleted token is refused, allowing 30 seconds for the deletion to spread
  astra.devops.astra_token_check:
    token: "{{ old_token }}"
    state: refused
    wait: 30

- name: Find out whether a token works, without failing when it does not
  astra.devops.astra_token_check:
    token: "{{ candidate_token }}"
  register: probe
  failed_when: false

- name: Use the answer
  ansible.builtin.debug:
    msg: "{{ probe.client_id }} is {{ 'accepted' if probe.accepted else 'refused' }}"
'''

RETURN = r'''
client_id:
  description: The client id of O(token), the middle part of C(AstraCS:<client id>:<hash>).
  returned: always, once O(token) is well-formed (also when the module fails because the answer was not the expected one)
  type: str
  sample: BOjPpMRcaWergiKIyHXEAymP
accepted:
  description: Whether the API accepted the token at the last call.
  returned: always, once O(token) is well-formed
  type: bool
  sample: true
org_id:
  description: The id of the token's organization (of its enterprise, for an enterprise token), as C(GET /v2/currentOrg) gave it.
  returned: when the token was accepted
  type: str
  sample: 6ad4e4a4-0c3f-4b4c-8f0e-0e0b7d61f1c9
waited:
  description: Seconds from the first call to the answer that settled it, to a tenth of a second; about V(0) when the first answer did.
  returned: always, once O(token) is well-formed
  type: float
  sample: 4.0
api_retries:
  description: One line for each retried API call, without secrets.
  returned: when a call was retried
  type: list
  elements: str
  sample: ["retry 1 of 5 in 1.0s after Checking token BOjPpMRcaWergiKIyHXEAymP: HTTP 503"]
'''

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, ModuleFailException
from ansible_collections.astra.devops.plugins.module_utils._module import CONNECTION_ARGUMENT_SPEC, AstraModule
from ansible_collections.astra.devops.plugins.module_utils._probe import NotReached, check_token
from ansible_collections.astra.devops.plugins.module_utils._tokens import client_id_of


def parse_token(value):
    """The client id of an AstraCS token; any other shape is an input error whose message never shows the value."""
    client_id = client_id_of(value)
    if client_id:
        return client_id
    text = (value or "").strip()
    # No 'AstraCS:' in the message: the scrubbing of every message would take it for a token.
    if not text:
        reason = "got an empty value"
    elif not text.startswith("AstraCS:"):
        reason = "got a value that does not start with AstraCS (not shown)"
    else:
        reason = "got a value of another shape (not shown)"
    raise AstraInputError("token must be an Astra application token, the word AstraCS, its client id and 64 hex "
                          "digits joined by colons; %s." % reason)


def check_wait(value):
    if value is None or value < 0:
        raise AstraInputError("wait must be 0 or a positive number of seconds, got '%s'." % value)


class TokenCheckModule(AstraModule):
    """AstraModule whose client calls with the checked token: the shared connection options, but no api_token."""

    auth_spec = CONNECTION_ARGUMENT_SPEC

    def bearer(self):
        """The checked token (check it with parse_token first)."""
        return self.params["token"].strip()


def run_check(module):
    params = module.params
    client_id = parse_token(params["token"])
    check_wait(params["wait"])
    try:
        return check_token(module.client, client_id, params["state"], params["wait"])
    except NotReached as outcome:  # a failure that still returns client_id, accepted and waited
        raise ModuleFailException(outcome.message, **outcome.result)


ARGUMENT_SPEC = dict(
    token=dict(type="str", required=True, no_log=True),
    api_token=dict(type="str", no_log=True),  # ignored: the group's module_defaults give it to every module
    state=dict(type="str", default="accepted", choices=["accepted", "refused"]),
    wait=dict(type="int", default=0),
)


def main():
    module = TokenCheckModule(argument_spec=ARGUMENT_SPEC)
    module.run(lambda: run_check(module))


if __name__ == "__main__":
    main()
