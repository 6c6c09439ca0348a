#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_token
short_description: Create, replace and delete DataStax Astra application tokens
version_added: 1.0.0
description:
  - Manages Astra application tokens through the Astra DevOps API, idempotently.
  - A token is found by O(client_id) or, without it, by O(description). By description, no match creates a token,
    one match is compared with what is asked, and several matches fail with their client ids listed.
  - A token's roles, description and expiry cannot be changed after creation. When the existing token differs,
    O(recreate) decides whether to fail (the default) or to create a replacement and then delete the old token.
  - The token string and client secret are returned only when this task created a token, in RV(secret). They are
    never shown again by the API. The task must have C(no_log) set to C(true) when O(state=present), or the module fails
    before any change, so that the secret cannot reach the output, a log or a callback.
author:
  - Astra DevOps maintainers (@astra-devops)
extends_documentation_fragment:
  - astra.devops.auth
  - astra.devops.auth.api_token
attributes:
  check_mode:
    support: full
    description: Check mode reports what would change and never creates or deletes a token.
  diff_mode:
    support: full
    description: The diff shows the token metadata before and after, never a secret.
options:
  state:
    description:
      - V(present) makes sure a token exists; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - The token's description, its name. Identifies the token when O(client_id) is not given.
      - Required to create a token. Printable ASCII, at most 255 characters, without spaces at its start or end.
      - It must not hold a token or a secret (C(AstraCS:...), a 64-character hex hash, or a run of 100 or more
        secret-like characters), since the API shows descriptions to everyone who can list tokens.
      - With O(state=absent) and no O(client_id), every token with this description is deleted.
    type: str
  client_id:
    description:
      - The client id of an existing token (the part after C(AstraCS:) in the token string).
      - A token cannot be created with a chosen client id, so O(state=present) with an unknown client id fails.
    type: str
  roles:
    description:
      - The roles of the token, as API names (C(R/W Svc Acct)), portal names (C(Read/Write Service Account)),
        in any letter case, or as role ids. Compared as a set.
      - Role ids are compared in any letter case and sent to the API in lower case.
      - A comma-separated string is split into names; spaces around each name are ignored.
      - Required to create a token. When replacing a token and not given, the old token's roles are used.
      - Names are resolved with one extra call listing the roles; ids need no extra call when nothing changes.
    type: list
    elements: str
  databases:
    description:
      - A token limited to these databases (database ids), instead of O(roles). The module makes, or reuses, the
        custom role the Astra portal would make for it, named C(<database names> <database_role>) (the names read
        with C(GET /v2/databases/<id>)), with the actions of O(database_role) and the databases' resources (every
        DRN level, as M(astra.devops.astra_role) builds them), then the token with that role.
      - A custom role of that name that differs is never changed, since other tokens may hold it; the task fails
        and names it.
      - The role is made only when a token is about to be created with it, so a task that fails on an existing token
        that differs (O(recreate=never)) makes none; a task that fails after making it (the API refuses the token)
        deletes it again, unless a token holds it by then.
      - With O(state=absent), the scoped role is deleted too when no other token holds it, unless
        O(keep_unused_role=true). Changing O(databases) of an existing token with O(recreate=state_change) deletes
        the role of the replaced token when no token holds it any more (see O(keep_unused_role)).
    type: list
    elements: str
  database_role:
    description: The built-in role whose actions a token limited to O(databases) gets.
    type: str
    default: Database Administrator
  keep_unused_role:
    description:
      - Keep the roles this module made for scoped tokens when no token holds them any more.
      - By default, after a run that deleted tokens (O(state=absent), or a token replaced under O(recreate)), with
        or without O(databases), each role that a deleted token held and that this module made for a scoped token
        (its description ends with C(astra.devops.astra_token) in parentheses) is deleted when no token holds it any
        more; with O(databases) and O(state=absent), the scoped role of those databases too. The tokens and roles are
        listed again just before, and a role that a token holds at that moment is never deleted.
      - The default removes them, since a role nobody holds is a grant waiting to be misused, and the next scoped
        token makes it again.
    type: bool
    default: false
  expiry:
    description:
      - When the token expires, as an ISO-8601 instant such as V(2027-01-31T00:00:00Z), or as a duration from now
        such as V(90d), V(12h), V(30m) (units s, m, h, d, w).
      - An instant is compared with the existing token to the second. A duration applies at creation only and
        never counts as a difference.
      - Not given, no expiry is sent when a token is created from nothing (the token never expires, or the
        organization's maximum applies), and the existing token's expiry is not compared.
      - Not given when a token is replaced (O(recreate)), the replacement keeps the old token's lifetime (its expiry
        minus its creation time), counted from now. A token that never expires is replaced by one that never expires;
        one whose creation time is unknown passes on its own expiry if that is still ahead. RV(expiry_source) says
        which applied.
      - Durations range from V(1s) to V(36500d) (100 years); instants must lie in the future and no later than
        V(9998-12-31T23:59:59Z).
    type: str
  org_id:
    description:
      - With an enterprise O(api_token), create the token in this member organization (its UUID).
      - An enterprise token's list shows only enterprise tokens, so the module cannot find tokens it made in a member
        organization. With an O(org_id) other than the caller's own organization, every run creates a token, and the
        module warns. Use an O(api_token) of that organization to manage its tokens idempotently.
      - Role names cannot be looked up for a member organization, so give its role ids.
      - When the API refuses the create (HTTP 403) and O(org_id) is not the organization of O(api_token), the error
        says so and names both organizations, instead of suggesting a missing permission.
    type: str
  recreate:
    description:
      - What to do when the existing token differs from what is asked (roles, an absolute expiry, description).
      - V(never) fails with a message listing the differences.
      - V(state_change) creates a replacement with the asked values, then deletes the old token.
      - A replacement keeps the old token's lifetime unless O(expiry) is given (see O(expiry)).
      - V(always) replaces the token on every run, even when nothing differs. This is a rotation without
        distribution; use the P(astra.devops.token_rotation#role) role to rotate tokens that applications use.
    type: str
    choices: [never, always, state_change]
    default: never
  delete_replaced:
    description:
      - Whether a token replaced under O(recreate) is deleted right after its replacement is created.
      - Set V(false) to keep it, for example while its consumers switch to the new token (the
        P(astra.devops.token_rotation#role) role does this and deletes it later). It keeps its description,
        so the next run by description sees two tokens; give O(client_id) to pick one.
    type: bool
    default: true
  endpoint:
    description:
      - The API family. V(tokens) (C(/v2/tokens)) handles organization and enterprise tokens. V(clientIdSecrets) is the
        legacy C(/v2/clientIdSecrets) family for older setups; it cannot see enterprise tokens.
    type: str
    choices: [tokens, clientIdSecrets]
    default: tokens
seealso:
  - module: astra.devops.astra_token_info
  - module: astra.devops.astra_role_info
  - name: Manage application tokens
    description: The Astra documentation on application tokens.
    link: https://docs.datastax.com/en/astra-db-serverless/administration/manage-application-tokens.html
'''

EXAMPLES = r'''
- name: Make sure the inventory service has a token (the secret is returned only when it is created)
  astra.devops.astra_token:
    description: inventory-service
    roles:
      - R/W Svc Acct
    expiry: 90d
  no_log: true
  register: inventory_token

- name: Store the new token for the application, readable by its owner only
  ansible.builtin.copy:
    content: "{{ inventory_token.secret.token }}\n"
    dest: /etc/inventory-service/astra-token
    mode: "0600"
  no_log: true
  diff: false
  when: inventory_token.secret is defined

- name: Replace the token if its roles or expiry differ from these
  astra.devops.astra_token:
    description: reporting-job
    roles:
      - Read Only Service Account
    expiry: "2030-01-31T00:00:00Z"
    recreate: state_change
  no_log: true
  register: reporting_token

- name: Replace a token now, keeping its lifetime (a 90-day token gets a new 90-day token)
  astra.devops.astra_token:
    description: nightly-export
    recreate: always
  no_log: true
  register: nightly_token

- name: Say where the new expiry came from (no secret in this message)
  ansible.builtin.debug:
    msg: "{{ nightly_token.token.client_id }} expires {{ nightly_token.token.expiry }} ({{ nightly_token.expiry_source }})"

- name: Create a token in a member organization with an enterprise token
  astra.devops.astra_token:
    description: billing-export
    # role ids of the member organization (names cannot be looked up there): astra.devops.astra_role_info, run with
    # a token of that organization, lists them
    roles: [6f0b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d]
    org_id: 9f876543-21ab-4cde-8f90-123456789abc
  no_log: true

- name: Delete a token by client id
  astra.devops.astra_token:
    client_id: BOjPpMRcaWergiKIyHXEAymP
    state: absent

- name: Delete every token described as old-batch-job
  astra.devops.astra_token:
    description: old-batch-job
    state: absent
'''

RETURN = r'''
token:
  description:
    - The token's metadata after the task, never a secret. In check mode, what would be created (with a null client id).
    - Empty with O(state=absent).
  returned: always
  type: dict
  contains:
    client_id:
      description: The token's client id.
      type: str
      sample: BOjPpMRcaWergiKIyHXEAymP
    description:
      description: The token's description.
      type: str
      sample: inventory-service
    roles:
      description: The role ids of the token, in lower case.
      type: list
      elements: str
      sample: [b4ed0e9e-67e8-47b6-8b58-c6629be961a9]
    role_names:
      description:
        - The role names, in the order of RV(token.roles).
        - Null when the roles list was not fetched (roles given as ids and nothing to create).
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
      sample: "2027-01-31T00:00:00Z"
    org_id:
      description: The organization of the token, when the API says it (on creation).
      type: str
      sample: 9f876543-21ab-4cde-8f90-123456789abc
secret:
  description:
    - The new token's credentials. Only returned when this task created a token, never otherwise.
    - Keep the task under C(no_log) set to C(true) and write it only where it is needed.
  returned: when a token was created
  type: dict
  contains:
    token:
      description: The C(AstraCS:) token string, the password for drivers (user name C(token)) and the API's bearer token.
      type: str
      sample: "AstraCS:BOjPpMRcaWergiKIyHXEAymP:0123...cdef"
    client_id:
      description: The client id, the legacy user name.
      type: str
      sample: BOjPpMRcaWergiKIyHXEAymP
    client_secret:
      description: The client secret, the legacy password.
      type: str
      sample: "Xy-9KLmN8oPq1RsT..."
deleted_role_ids:
  description:
    - Ids of the custom roles this task deleted because no token holds them any more (in check mode, would delete),
      see O(keep_unused_role).
  returned: always
  type: list
  elements: str
  sample: [3c1c4c5e-5f5e-4d2b-9c1e-7e4b1b9d9f10]
deleted_client_ids:
  description: Client ids of the tokens this task deleted (in check mode, would delete).
  returned: always
  type: list
  elements: str
  sample: [aBc123XyZ789LmnOpQrStUvW]
replaced_client_ids:
  description:
    - Client ids of tokens this task replaced but kept because O(delete_replaced=false) (in check mode, would keep).
  returned: always
  type: list
  elements: str
  sample: [BOjPpMRcaWergiKIyHXEAymP]
expiry_source:
  description:
    - Where the expiry of the token this task created (in check mode, would create) came from.
    - V(option) from O(expiry); V(replaced_token_lifetime) the replaced token's lifetime counted from now;
      V(replaced_token_expiry) the replaced token's own expiry (its creation time was unknown); V(none) no expiry
      was sent (no O(expiry), and no replaced token, or one that never expires).
    - Null when no token was created.
  returned: always
  type: str
  sample: replaced_token_lifetime
scoped_role:
  description:
    - With O(databases), the custom role of the token (C(id), C(name), C(resources)); C(created) (state present)
      whether this run made it; C(deleted) and C(held_by) (state absent) whether it was deleted with the token, and
      the tokens that still hold it.
    - Its C(id) is null in check mode when the role does not exist yet.
  returned: when databases is given
  type: dict
  sample: {"id": "3c1c4c5e-5f5e-4d2b-9c1e-7e4b1b9d9f10", "name": "orders Database Administrator", "created": true,
           "resources": ["drn:astra:org:f9f4b1e0-4c05-451e-9bba-d631295a7f73"]}
api_retries:
  description:
    - One line for each retried API call (what failed and how long the module waited), without secrets.
    - Each retry is also shown as a warning, which C(no_log) does not hide.
  returned: when a call was retried
  type: list
  elements: str
  sample: ["retry 1 of 5 in 1.0s after Listing tokens: HTTP 429"]
'''

from ansible_collections.astra.devops.plugins.module_utils import _custom_roles as custom
from ansible_collections.astra.devops.plugins.module_utils import _token_plan as plan
from ansible_collections.astra.devops.plugins.module_utils._api_org import DatabaseApi, OrgApi
from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._api_tokens import TokenApi
from ansible_collections.astra.devops.plugins.module_utils._errors import (
    AstraApiError,
    AstraError,
    AstraInputError,
    ModuleFailException,
    sentence,
)
from ansible_collections.astra.devops.plugins.module_utils._module import AstraModule
from ansible_collections.astra.devops.plugins.module_utils._records import resolve_expiry, role_id_key
from ansible_collections.astra.devops.plugins.module_utils._roles import check_role_list
from ansible_collections.astra.devops.plugins.module_utils._tokens import (
    check_client_id,
    check_description,
    check_org_id,
    other_org_hint,
)


def _add_to(error, text):
    """One more sentence at the end of an error's one line (after its hint, if it has one)."""
    if error.hint:
        error.hint = "%s %s" % (sentence(error.hint), text)
    else:
        error.message = "%s %s" % (sentence(error.message), text)


def checked_options(module):
    """Every option checked before any call; returns the expiry as (instant or None, relative)."""
    params = module.params
    check_client_id(params["client_id"])
    check_description(params["description"])
    check_org_id(params["org_id"])
    if params["roles"] is not None:
        params["roles"] = check_role_list(params["roles"])
    if params["databases"] is not None:
        params["databases"] = [entry["id"] for entry in custom.check_databases(params["databases"])]
        if params["org_id"]:
            raise AstraInputError("databases cannot be combined with org_id: the scoped role is made in the "
                                  "api_token's own organization.")
    expiry = (None, False)
    if params["expiry"] is not None:
        expiry = resolve_expiry(params["expiry"])
    if params["state"] == "present" and not module.no_log:
        raise AstraInputError(
            "no_log must be true on this task, since state=present can return a new token's secret: "
            "add 'no_log: true' to the task.")
    return expiry


class TokenTask:
    """One run of astra_token: check the options, read, plan (module_utils/_token_plan.py), then apply."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.expiry = checked_options(module)
        self.api = TokenApi(module.client, self.params["endpoint"])
        self.roles = RoleApi(module.client)
        self.reads = None
        self.deleted = []
        self.replaced = []
        self.expiry_source = None
        self.made_role = None  # the scoped role this run made, deleted again if the task fails

    # -- read ---------------------------------------------------------------------------------------------------

    def run(self):
        params = self.params
        self.reads = plan.new_reads(self.api.list())
        if params["databases"] is not None:
            self.reads["scoped"] = self.read_scoped_role()
        if params["state"] == "present" and params["org_id"]:
            warning = plan.org_warning(params["org_id"], self.caller_org())
            if warning:
                self.module.warn(warning)
        planned = self.decide(lambda reads: plan.plan(params, self.expiry, reads))
        try:
            result = self.apply_absent(planned) if planned["state"] == "absent" else self.apply_present(planned)
        except AstraError as error:
            self.undo_made_role(error)
            raise
        result.update(self.remove_unused_roles())
        return result

    def decide(self, decision):
        """A decision of _token_plan, with the roles list read when (and only when) it asks for it."""
        while True:
            try:
                return decision(self.reads)
            except plan.NeedRead as need:
                try:
                    self.reads["catalog"] = self.roles.list()
                except AstraError:
                    if not need.optional:  # the names in a message are a bonus: the message must still come
                        raise
                    self.reads["catalog_failed"] = True

    def read_scoped_role(self):
        """The scoped role of databases: the roles list, the caller's organization, each database's name."""
        catalog = self.decide(plan.catalog)
        builtin = plan.database_role(self.params["database_role"], catalog)
        org_id = self.caller_org().get("id")
        databases = DatabaseApi(self.module.client)
        names = dict((database_id, databases.name(database_id)) for database_id in self.params["databases"])
        return plan.scoped_role(builtin, self.params["databases"], catalog, org_id, names)

    def caller_org(self):
        """GET /v2/currentOrg, once: read only when org_id or databases is given, or to explain a refusal."""
        if self.reads["caller"] is None:
            self.reads["caller"] = OrgApi(self.module.client).current()[1]
        return self.reads["caller"]

    # -- apply: the one place that writes or looks at check mode ----------------------------------------------------

    def apply_present(self, planned):
        current = planned["current"]
        if planned.get("keep"):
            return self.result(False, plan.described(current, self.reads), current)
        self.expiry_source = planned["expiry_source"]
        if self.module.check_mode:
            if current:
                (self.deleted if self.params["delete_replaced"] else self.replaced).append(current["client_id"])
            return self.result(True, plan.described(plan.planned_token(planned, self.params["org_id"]), self.reads),
                               current)
        role_ids = [self.make_scoped_role()] if planned["make_scoped_role"] else planned["role_ids"]
        try:
            token, secret = self.api.create(role_ids, planned["description"], planned["expiry"],
                                            self.params["org_id"], planned["known_client_ids"])
        except AstraApiError as error:
            self.explain_refusal(error)
            raise
        self.made_role = None  # the new token holds it
        if current and not self.params["delete_replaced"]:
            self.replaced.append(current["client_id"])
        elif current:
            try:
                self.api.delete(current["client_id"])  # gone already counts as deleted, as for state=absent
                self.deleted.append(current["client_id"])
            except AstraError as error:  # the new secret must still reach the user, or the new token is lost
                raise ModuleFailException(
                    "Created the replacement token %s, but deleting the old token %s failed: %s Delete it by hand "
                    "or run again; the new secret is in this result's 'secret' (register the task with "
                    "ignore_errors: true to read it: no_log hides a failed task's result)." % (
                        token["client_id"], current["client_id"], sentence(str(error))),
                    token=plan.described(token, self.reads), secret=secret, deleted_client_ids=self.deleted,
                    changed=True, expiry_source=self.expiry_source)
        result = self.result(True, plan.described(token, self.reads), current)
        result["secret"] = secret
        return result

    def apply_absent(self, planned):
        targets = planned["targets"]
        for token in targets:
            if not self.module.check_mode:
                # Listed a moment ago: gone now (a retried delete whose first answer was lost) is deleted too.
                self.api.delete(token["client_id"])
            self.deleted.append(token["client_id"])
        result = self.result(bool(self.deleted), {}, None)
        if self.reads["scoped"] is not None:
            result["scoped_role"] = dict(plan.public_scoped(self.reads["scoped"]), deleted=False, held_by=[])
        if self.module._diff:
            result["diff"] = {"before": {"tokens": [plan.described(t, self.reads) for t in targets]},
                              "after": {"tokens": []}}
        return result

    def make_scoped_role(self):
        """POST the scoped role, just before the token that holds it is created; its id, or an error."""
        scoped = self.reads["scoped"]
        scoped.update(id=self.roles.create(scoped), created=True)
        self.made_role = dict(scoped, built_in=False)
        if self.reads["catalog"] is not None:
            self.reads["catalog"].append(self.made_role)
        return scoped["id"]

    def explain_refusal(self, error):
        """A 403 on a create with another organization's org_id is not a missing permission: say what it is."""
        if error.status != 403 or not self.params["org_id"]:
            return
        try:
            hint = other_org_hint(self.params["org_id"], self.caller_org())
        except AstraError:  # the explanation is a bonus: the create's own error is what counts
            return
        if hint:
            error.hint = hint

    def undo_made_role(self, error):
        """A failed task leaves no role it made: after a fresh look (tokens and roles listed again), the role is
        deleted unless a token holds it. What happened is added to the error's message."""
        if not self.made_role:
            return
        name = self.made_role["name"]
        try:
            deleted = self.delete_unheld_roles([self.made_role["id"]], own_only=False)[0]
        except AstraError as cleanup:
            _add_to(error, "The role '%s' this task made could not be deleted again: %s Delete it with "
                           "astra.devops.astra_role (state=absent)." % (name, sentence(str(cleanup))))
            return
        if deleted:
            _add_to(error, "The role '%s' this task made was deleted again." % name)

    def remove_unused_roles(self):
        """After a run that deleted tokens: the roles no token holds any more (_token_plan.unused_role_candidates)
        are deleted after a fresh look, unless keep_unused_role. Returns the result's keys."""
        candidates, explicit = self.decide(lambda reads: plan.unused_role_candidates(self.params, reads, self.deleted))
        result = {"deleted_role_ids": []}
        if not candidates:
            return result
        if self.params["keep_unused_role"]:
            holders = plan.holders(candidates, self.reads["tokens"], self.deleted)
        else:
            result["deleted_role_ids"], holders = self.delete_unheld_roles(candidates, own_only=True, explicit=explicit)
            if result["deleted_role_ids"]:
                result["changed"] = True
        if explicit:
            result["scoped_role"] = dict(plan.public_scoped(self.reads["scoped"]),
                                         deleted=explicit in result["deleted_role_ids"],
                                         held_by=holders.get(explicit, []))
        return result

    def delete_unheld_roles(self, role_ids, own_only, explicit=None):
        """Delete each role that no token holds, looking again first (tokens and roles listed now, not at the start
        of the run: another task may have given the role to a token since). Check mode uses the first look and
        deletes nothing. Returns (the ids deleted, or that would be; who holds each role)."""
        role_ids = [role_id_key(role_id) for role_id in role_ids]
        if self.module.check_mode:
            holders = plan.holders(role_ids, self.reads["tokens"], self.deleted)
            return [role_id for role_id in role_ids if not holders[role_id]], holders
        holders = plan.holders(role_ids, self.api.list())
        deleted = []
        for role in plan.deletable_roles(role_ids, holders, self.roles.list(), own_only, explicit):
            self.roles.delete(role, missing_ok=True)  # gone already: as good as deleted by this run
            deleted.append(role["id"])
        return deleted, holders

    def result(self, changed, token, before):
        scoped = self.reads["scoped"]
        result = {"changed": changed, "token": token, "deleted_client_ids": self.deleted,
                  "replaced_client_ids": self.replaced, "expiry_source": self.expiry_source}
        if scoped is not None and self.params["state"] == "present":
            result["scoped_role"] = dict(plan.public_scoped(scoped), created=scoped["created"])
            result["changed"] = changed or scoped["id"] is None or scoped["created"]
        if self.module._diff and self.params["state"] == "present":
            result["diff"] = {"before": plan.described(before, self.reads) if before else {}, "after": token}
        return result


def main():
    module = AstraModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            description=dict(type="str"),
            client_id=dict(type="str"),
            roles=dict(type="list", elements="str"),
            databases=dict(type="list", elements="str"),
            database_role=dict(type="str", default="Database Administrator"),
            keep_unused_role=dict(type="bool", default=False),
            expiry=dict(type="str"),
            org_id=dict(type="str"),
            recreate=dict(type="str", default="never", choices=["never", "always", "state_change"]),
            delete_replaced=dict(type="bool", default=True),
            endpoint=dict(type="str", default="tokens", choices=["tokens", "clientIdSecrets"]),
        ),
        required_one_of=[("description", "client_id")],
        mutually_exclusive=[("roles", "databases")],
    )
    module.run(lambda: TokenTask(module).run())


if __name__ == "__main__":
    main()
