#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_token_info
short_description: List DataStax Astra application tokens, with their roles, age and expiry
version_added: 1.0.0
description:
  - Lists the application tokens of the organization (or enterprise) of O(api_token), with filters, for audits and
    inventories. Never returns a secret, since the API does not give secrets after creation.
  - Makes two API calls, one listing tokens and one listing roles to name them (one call with O(role_names=false)).
    Filters apply on the controller, since the API has none. All filters given must match (AND).
  - When the API refuses the roles list (HTTP 403, for example to a token that may list tokens but not roles), the
    tokens are still returned, with RV(tokens[].role_names) null and a warning that says why. A O(roles) filter then
    works with role ids only; role names fail with a message that says so.
author:
  - Astra DevOps maintainers (@astra-devops)
extends_documentation_fragment:
  - astra.devops.auth
  - astra.devops.auth.api_token
attributes:
  check_mode:
    support: full
    description: The module only reads, and runs in check mode too.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  client_id:
    description:
      - Only the token with this client id.
    type: str
  description:
    description:
      - Only tokens with exactly this description.
      - The same rules as the description of M(astra.devops.astra_token) apply (no spaces at the start or end, nothing
        shaped like a token); to find a token whose description breaks them, filter by O(client_id).
    type: str
  roles:
    description:
      - Only tokens holding any of these roles (API names, portal names or role ids; ids in any letter case).
      - Names need the roles list; when the API refuses it, give role ids.
      - A comma-separated string is split into names; spaces around each name are ignored.
    type: list
    elements: str
  older_than:
    description:
      - Only tokens created longer ago than this duration, such as V(90d), V(12h), V(2w).
      - From V(1s) up to V(36500d) (100 years).
    type: str
  expires_within:
    description:
      - Only tokens with an expiry that falls between now and now plus this duration, such as V(30d).
      - From V(1s) up to V(36500d) (100 years).
      - Tokens already expired are not included; use O(expired) for those.
    type: str
  never_expires:
    description:
      - V(true) keeps only tokens without expiry; V(false) only tokens with one.
    type: bool
  expired:
    description:
      - V(true) keeps only expired tokens (when the API still lists them); V(false) only tokens not expired.
    type: bool
  role_names:
    description:
      - V(false) leaves out the call that lists roles, when only client ids, descriptions and dates matter (as in the
        P(astra.devops.token_rotation#role) role). RV(tokens[].role_names) is then null. A O(roles) filter still lists
        roles.
    type: bool
    default: true
    version_added: 1.1.0
  endpoint:
    description:
      - The API family to list from. V(tokens) lists organization or enterprise tokens (by the caller's token);
        V(clientIdSecrets) is the legacy family, which cannot see enterprise tokens.
    type: str
    choices: [tokens, clientIdSecrets]
    default: tokens
seealso:
  - module: astra.devops.astra_token
  - module: astra.devops.astra_role_info
'''

EXAMPLES = r'''
- name: List every token of the organization
  astra.devops.astra_token_info:
  register: all_tokens

- name: Find tokens that never expire and are older than 90 days
  astra.devops.astra_token_info:
    never_expires: true
    older_than: 90d
  register: stale_tokens

- name: Find tokens expiring in the next 30 days
  astra.devops.astra_token_info:
    expires_within: 30d
  register: expiring_tokens

- name: Find tokens that can manage other tokens
  astra.devops.astra_token_info:
    roles:
      - Organization Administrator
      - Database Administrator
  register: powerful_tokens

- name: Show client ids and ages
  ansible.builtin.debug:
    msg: "{{ item.client_id }} {{ item.description }} {{ item.age_days }} days"
  loop: "{{ stale_tokens.tokens }}"
  loop_control:
    label: "{{ item.client_id }}"
'''

RETURN = r'''
tokens:
  description: The tokens that pass every filter, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    client_id:
      description: The token's client id.
      type: str
      sample: BOjPpMRcaWergiKIyHXEAymP
    description:
      description: The token's description, empty when it has none.
      type: str
      sample: inventory-service
    roles:
      description: The role ids of the token, in lower case.
      type: list
      elements: str
      sample: [b4ed0e9e-67e8-47b6-8b58-c6629be961a9]
    role_names:
      description:
        - The role names, in the order of the ids; an id stays as it is when no role has it.
        - Null when the API refused the roles list (the module then warns), or with O(role_names=false).
      type: list
      elements: str
      sample: [R/W Svc Acct]
    generated_on:
      description: When the token was created (UTC, seconds precision).
      type: str
      sample: "2025-06-17T02:26:29Z"
    expiry:
      description: When the token expires (UTC), null when it never expires.
      type: str
      sample: "2025-12-31T23:59:59Z"
    org_id:
      description: The token's organization when the API says it, else null.
      type: str
      sample: null
    age_days:
      description: Whole days since the token was created.
      type: int
      sample: 164
    expired:
      description: Whether the expiry has passed.
      type: bool
      sample: false
    expires_in_days:
      description: Whole days until the expiry (negative once expired), null when it never expires.
      type: int
      sample: 30
api_retries:
  description: One line for each retried API call, without secrets; each retry is also shown as a warning.
  returned: when a call was retried
  type: list
  elements: str
  sample: ["retry 1 of 5 in 1.0s after Listing tokens: HTTP 503"]
'''

from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._module import AstraModule
from ansible_collections.astra.devops.plugins.module_utils._records import (
    TokenFields,
    ages,
    now,
    parse_duration,
    role_id_key,
)
from ansible_collections.astra.devops.plugins.module_utils._roles import (
    check_role_list,
    is_role_id,
    names_by_id,
    resolve_roles,
)
from ansible_collections.astra.devops.plugins.module_utils._tokens import check_client_id, check_description


def expired(token, reference):
    """Whether a token's expiry (TokenFields) has passed."""
    expiry = token.expiry[1]
    return expiry is not None and expiry <= reference


def build_filters(params, reference):
    """Predicates on TokenFields for the filters given, cheapest first (all must hold, so the order does not change
    the result); inputs are checked here, before any call."""
    check_client_id(params["client_id"])
    check_description(params["description"])
    filters = []
    client_id, description = params["client_id"], params["description"]
    if client_id:
        filters.append(lambda t: t.client_id == client_id)
    if description is not None:
        filters.append(lambda t: t.description == description)
    if params["never_expires"] is not None:
        never = params["never_expires"]
        filters.append(lambda t: (t.expiry[0] is None) == never)
    if params["older_than"]:
        cutoff = reference - parse_duration(params["older_than"], "older_than")

        def older(token):
            generated = token.generated[1]
            return generated is not None and generated < cutoff
        filters.append(older)
    if params["expires_within"]:
        horizon = reference + parse_duration(params["expires_within"], "expires_within")

        def expires_soon(token):
            expiry = token.expiry[1]
            return expiry is not None and reference < expiry <= horizon
        filters.append(expires_soon)
    if params["expired"] is not None:
        wanted_expired = params["expired"]
        filters.append(lambda t: expired(t, reference) == wanted_expired)
    if params["roles"] is not None:
        params["roles"] = check_role_list(params["roles"])
    return filters


# Statuses of the roles list that leave the token list usable: the caller may read tokens but not roles.
PARTIAL_STATUSES = (403,)


def read_catalog(module):
    """The roles list, or None with a warning when the API refuses it to this token (the tokens are still worth
    returning); a refusal about the token itself, or any other failure, fails the module as usual."""
    try:
        return RoleApi(module.client).list()
    except AstraApiError as error:
        if error.status not in PARTIAL_STATUSES or error.bad_token:
            raise
        # The status and the hint only: a warning is shown whatever no_log says, so no words of the API go in it.
        module.warn("Listing roles was refused with HTTP %s, so every role_names is null and a roles filter takes "
                    "role ids only. %s" % (error.status, error.hint))
        return None


def role_filter(values, catalog):
    """The role ids a roles filter stands for; without the roles list only ids can be told, names fail clearly."""
    if catalog is not None:
        return set(resolve_roles(values, catalog))
    names = [value for value in values if not is_role_id(value)]
    if names:
        raise AstraInputError(
            "roles must be given as role ids here, got the role name '%s': the API refused to list roles to this "
            "api_token (see the warning), so names cannot be resolved. Give role ids, or use an api_token whose role "
            "may list roles (org-role-read)." % shown(names[0]))
    return set(role_id_key(value) for value in values)


def select(items, filters):
    """TokenFields of the items that pass every filter, in the order of the list."""
    if not filters:
        return [TokenFields(item) for item in items]
    kept = []
    for item in items:
        token = TokenFields(item)
        for keep in filters:
            if not keep(token):
                break
        else:
            kept.append(token)
    return kept


def list_tokens(module):
    params = module.params
    reference = now()
    filters = build_filters(params, reference)
    items = TokenApi(module.client, params["endpoint"]).items()  # filtered before they are normalised
    catalog = read_catalog(module) if params["role_names"] or params["roles"] is not None else None
    if params["roles"] is not None:
        wanted = role_filter(params["roles"], catalog)
        filters.append(lambda t: not wanted.isdisjoint(t.roles))
    names = names_by_id(catalog) if catalog is not None and params["role_names"] else None
    found = []
    for token in select(items, filters):
        record = token.normalised(names)
        record.update(ages(token.generated[1], token.expiry[1], reference))
        found.append(record)
    found.sort(key=lambda t: (t["generated_on"] or "", t["client_id"] or ""))
    return {"changed": False, "tokens": found}


def main():
    module = AstraModule(argument_spec=dict(
        client_id=dict(type="str"),
        description=dict(type="str"),
        roles=dict(type="list", elements="str"),
        older_than=dict(type="str"),
        expires_within=dict(type="str"),
        never_expires=dict(type="bool"),
        expired=dict(type="bool"),
        role_names=dict(type="bool", default=True),
        endpoint=dict(type="str", default="tokens", choices=["tokens", "clientIdSecrets"]),
    ))
    module.run(lambda: list_tokens(module))


if __name__ == "__main__":
    main()
