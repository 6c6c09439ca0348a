#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_rotation_store
short_description: The secret stores of a token family, for the astra.devops.token_rotation role (internal)
version_added: 1.1.0
description:
  - Internal to the C(astra.devops.token_rotation) role; not meant for playbooks, and its options may change.
  - Reads and writes the secret stores that hold a token family (the role's C(token_rotation_stores)) from the
    controller, all of them in one module run per action.
  - O(action=observe) checks every entry and reads which token each store currently holds (AWS Secrets Manager the
    version labelled C(AWSCURRENT); Vault KV v2 the current version, whose client id this collection also keeps in
    the secret's custom metadata), and the version it observed.
  - O(action=observe) refuses, before anything is written, a store the stage would harm. A secret that does not exist
    where its entry points (a wrong region, a path typo), unless the entry says C(create=true). A Vault C(mount_point)
    that is not a KV version 2 mount (nothing mounted, another engine, KV version 1, a folder inside a mount) and an
    AWS C(secret_id) ARN that does not exist, whatever C(create) says. A value of another shape than C(format) (a JSON
    object under V(raw) or V(env), JSON that is not an object, a binary AWS secret, a Vault field that is not a
    string). One secret listed twice (by name and by ARN, or with and without its region).
  - O(action=stage_and_verify) puts O(new_token) in every store, then reads it back and checks its client id. AWS
    Secrets Manager stages it as C(AWSPENDING), with a version id derived from the new client id, so a run repeated
    after a crash finds the version it staged instead of adding another; a secret that does not exist is created when
    its entry says C(create=true). Vault KV v2 writes it with check-and-set on the version O(observed) (or read just
    before), keeping the secret's other keys, and notes the client id in the custom metadata (only C(custom_metadata)
    is sent, so the secret's settings are kept, with OpenBao's C(metadata_cas) when the server keeps a metadata
    version). A KV write is live at once (Vault has no pending label).
  - V(json) and V(astra_integration) write their keys into the JSON object the store holds and keep its other keys;
    V(env) rewrites the token's line and keeps the other lines.
  - O(action=promote) makes the staged version current. AWS Secrets Manager moves C(AWSCURRENT) to it (the old version
    becomes C(AWSPREVIOUS)) and removes C(AWSPENDING), then reads C(AWSCURRENT) back. Vault has nothing to promote; the
    module checks that the current version still holds the new token.
  - A secret of AWS Secrets Manager with rotation enabled (owned by a rotation Lambda) is refused, naming it.
  - Every failure is one line naming the store (its index in C(token_rotation_stores), kind and location), never a
    value; the first failure stops the action.
requirements:
  - requests on the controller, as for every module of this collection (this one does not call the Astra API).
  - boto3 on the controller, for stores of kind C(aws_secretsmanager).
  - hvac on the controller, for stores of kind C(vault_kv2).
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    support: none
    description: The stores hold secrets, so there is never a diff.
options:
  action:
    description: What to do with every store.
    type: str
    required: true
    choices: [observe, stage_and_verify, promote]
  stores:
    description:
      - The role's C(token_rotation_stores), as the user wrote it. Each entry has C(kind) (V(aws_secretsmanager) or
        V(vault_kv2)), C(format) (V(raw), V(env) with C(env_var), V(json) or V(astra_integration)), C(create) (bool,
        default V(false), whether a secret that does not exist may be made) and its location and authentication.
      - V(aws_secretsmanager) takes C(secret_id) (name or ARN), C(region), C(profile), C(endpoint_url); whatever is not
        set comes from the standard AWS settings (C(AWS_PROFILE), C(AWS_REGION), C(AWS_DEFAULT_REGION),
        C(AWS_ENDPOINT_URL_SECRETS_MANAGER), the credentials chain) as boto3 reads them.
      - V(vault_kv2) takes C(url) (else C(VAULT_ADDR)), C(mount_point) (default V(secret)), C(path), C(key) (default
        V(token)), C(auth_method) (V(token), from C(VAULT_TOKEN), or V(approle) with C(role_id) and C(secret_id)),
        C(namespace) (else C(VAULT_NAMESPACE)) and C(ca_cert) (else C(VAULT_CACERT)).
    type: list
    elements: dict
    required: true
  new_token:
    description: With O(action=stage_and_verify), the new token (C(token), C(client_id), C(client_secret)). A secret.
    type: dict
  client_id:
    description: With O(action=promote), the client id of the new token; default the client id of O(new_token).
    type: str
  observed:
    description: With O(action=stage_and_verify), the RV(stores) result of an earlier O(action=observe); each store is
      written only if it still holds the version observed then (Vault check-and-set; for AWS, C(AWSCURRENT) must not
      have moved).
    type: list
    elements: dict
  return_held_tokens:
    description: With O(action=observe), also return the token each store holds, in RV(held_tokens), for the role's
      probes. Run the task with C(no_log).
    type: bool
    default: false
author:
  - Astra DevOps maintainers (@astra-devops)
'''

EXAMPLES = r'''
- name: Learn which token each store holds (the result holds the tokens themselves, so no_log)
  astra.devops.astra_rotation_store:
    action: observe
    stores: "{{ token_rotation_stores }}"
    return_held_tokens: true
  register: observed_stores
  no_log: true

- name: Stage the new token in every store and read it back
  astra.devops.astra_rotation_store:
    action: stage_and_verify
    stores: "{{ token_rotation_stores }}"
    new_token: "{{ created.secret }}"
    observed: "{{ observed_stores.stores }}"
  no_log: true

- name: Make it current in every store
  astra.devops.astra_rotation_store:
    action: promote
    stores: "{{ token_rotation_stores }}"
    client_id: "{{ created.token.client_id }}"
'''

RETURN = r'''
stores:
  description: One entry per store, in the order of O(stores). Never a value or a credential.
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: The store's index in O(stores).
      type: int
      sample: 0
    kind:
      description: V(aws_secretsmanager) or V(vault_kv2).
      type: str
      sample: aws_secretsmanager
    location:
      description: Where the secret is, for messages and C(token_rotation_result) (AWS the region the calls go to, and
        the endpoint when it is not AWS's own).
      type: str
      sample: secret prod/inventory/astra in us-east-1
    format:
      description: The format of the value.
      type: str
      sample: raw
    held:
      description: With O(action=observe), the client id of the token the store's current value holds, V(missing) when
        the secret does not exist yet (only with C(create=true)), V(unknown) when its value holds no token.
      type: str
      sample: BOjPpMRcaWergiKIyHXEAymP
    also_held:
      description: With O(action=observe), the client ids of the tokens the store's current value holds besides the
        one its format rewrites (another variable of an C(env) value, a nested key or a list of a C(json) value, any
        key but C(astraKey) of an C(astra_integration) value); that place would keep its token, so the role refuses a
        run when one of them is of the family being rotated. Client ids only, never a token.
      type: list
      elements: str
      sample: []
    pending:
      description: With O(action=observe), for AWS Secrets Manager, the client id of the token staged as
        C(AWSPENDING) and not promoted yet (a run that stopped between staging and promotion), else null.
      type: str
    version:
      description: With O(action=observe), the version observed (AWS the C(AWSCURRENT) version id, null when missing;
        Vault the current version number, 0 when missing); with O(action=stage_and_verify), the version written or
        found.
      type: raw
      sample: 3
    action:
      description: With O(action=stage_and_verify) or O(action=promote), what was done (V(staged), V(created),
        V(written), V(staged again), V(already staged), V(already current), V(promoted), V(live since written)).
      type: str
      sample: staged
    changed:
      description: Whether this store was changed (would be, in check mode).
      type: bool
held_tokens:
  description: With O(action=observe) and O(return_held_tokens), the token each store holds, keyed by the store's
    index (a string); stores that hold no token are left out. Secrets.
  returned: action is observe and return_held_tokens is true
  type: dict
'''

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError, AstraInputError
from ansible_collections.astra.devops.plugins.module_utils._module import AstraModule
from ansible_collections.astra.devops.plugins.module_utils._store_entries import KINDS, check_distinct, parse_stores


class StoreModule(AstraModule):
    """AstraModule without the Astra API options: the stores are all this module calls."""

    auth_spec = {}


def observe(stores, return_tokens):
    results, tokens = [], {}
    for store in stores:
        found = store.observe()
        results.append(dict(store.describe(), held=found.held, version=found.version, pending=found.pending,
                            also_held=store.also_held(found.value)))
        if return_tokens and found.token:
            tokens[str(store.index)] = found.token
    check_distinct(stores)
    result = {"changed": False, "stores": results}
    if return_tokens:
        result["held_tokens"] = tokens
    return result


def stage_and_verify(stores, new_token, observed, check_mode):
    versions = dict((item.get("index"), item.get("version")) for item in observed or () if isinstance(item, dict))
    results = []
    for store in stores:
        try:
            staged = store.stage(new_token, versions.get(store.index), check_mode)
            if not check_mode:
                store.verify(new_token, staged)
        except AstraError as error:
            done = [str(item["index"]) for item in results if item["changed"]]
            if done:
                error.message = "%s The stores listed before it were staged: %s" % (error.message.rstrip(),
                                                                                    ", ".join(done))
            raise
        results.append(dict(store.describe(), action=staged["action"], changed=staged["changed"],
                            version=staged["version"]))
    return {"changed": any(item["changed"] for item in results), "stores": results}


def promote(stores, client_id, check_mode):
    results = []
    for store in stores:
        promoted = store.promote(client_id, check_mode)
        results.append(dict(store.describe(), action=promoted["action"], changed=promoted["changed"]))
    return {"changed": any(item["changed"] for item in results), "stores": results}


def run(module):
    params = module.params
    new_token = params["new_token"] or {}
    # The new token and its client secret are scrubbed from any failure; not its client id, which messages name.
    for key in ("token", "client_secret"):
        if isinstance(new_token.get(key), str):
            module.remember_secret(new_token[key])
    stores = []
    try:
        stores = parse_stores(params["stores"])
        if params["action"] == "observe":
            return observe(stores, params["return_held_tokens"])
        if params["action"] == "stage_and_verify":
            if not all(isinstance(new_token.get(key), str) and new_token.get(key)
                       for key in ("token", "client_id", "client_secret")):
                raise AstraInputError("new_token must have token, client_id and client_secret for action "
                                      "stage_and_verify.")
            return stage_and_verify(stores, new_token, params["observed"], module.check_mode)
        client_id = params["client_id"] or new_token.get("client_id")
        if not client_id:
            raise AstraInputError("client_id (or new_token) is required for action promote.")
        return promote(stores, client_id, module.check_mode)
    finally:
        # What each store has seen (its credentials, the values it read) is scrubbed from any failure too.
        for store in stores:
            for secret in store.secrets:
                module.remember_secret(secret)


def main():
    module = StoreModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["observe", "stage_and_verify", "promote"]),
            stores=dict(type="list", elements="dict", required=True),
            new_token=dict(type="dict", no_log=True),
            client_id=dict(type="str"),
            observed=dict(type="list", elements="dict"),
            return_held_tokens=dict(type="bool", default=False),
        ),
    )
    # The credentials an entry may carry (an AppRole secret_id) are hidden like no_log options.
    for entry in module.params["stores"]:
        kind = KINDS.get(entry.get("kind")) if isinstance(entry, dict) and isinstance(entry.get("kind"), str) else None
        for key in kind.secret_keys if kind else ():
            if isinstance(entry.get(key), str):
                module.no_log_values.add(entry[key])
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
