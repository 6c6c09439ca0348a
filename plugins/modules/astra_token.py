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
    expiry: "2027-01-31T00:00:00Z"
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
    roles: [RO Svc Acct]
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
from ansible_collections.astra.devops.plugins.module_utils._errors import (
    AstraApiError,
    AstraError,
    AstraInputError,
    sentence,
    shown,
)
from ansible_collections.astra.devops.plugins.module_utils._module import AstraModule
from ansible_collections.astra.devops.plugins.module_utils._records import (
    format_timestamp,
    normalise_role,
    resolve_expiry,
    role_id_key,
)
from ansible_collections.astra.devops.plugins.module_utils._roles import (
    ROLES_PATH,
    check_role_list,
    fetch_roles,
    is_role_id,
    names_by_id,
    read_database,
    resolve_roles,
    role_key,
)
from ansible_collections.astra.devops.plugins.module_utils._tokens import (
    TokenApi,
    check_client_id,
    check_description,
    check_org_id,
    current_org,
    other_org_hint,
    replacement_expiry,
)


def _add_to(error, text):
    """One more sentence at the end of an error's one line (after its hint, if it has one)."""
    if error.hint:
        error.hint = "%s %s" % (sentence(error.hint), text)
    else:
        error.message = "%s %s" % (sentence(error.message), text)


class TokenTask:
    """One run of astra_token: validate everything, read once, then create, replace or delete."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_inputs()
        self.api = TokenApi(module.client, self.params["endpoint"])
        self.catalog = None
        self.caller = None
        self.deleted = []
        self.replaced = []
        self.expiry_source = None
        self.tokens = []
        self.made_role = None  # the scoped role this run made, deleted again if the task fails
        self.last_holders = {}

    def check_inputs(self):
        params = self.params
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
        self.scoped = None
        self.expiry, self.expiry_is_relative = (None, False)
        if params["expiry"] is not None:
            self.expiry, self.expiry_is_relative = resolve_expiry(params["expiry"])
        if params["state"] == "present" and not self.module.no_log:
            raise AstraInputError(
                "no_log must be true on this task, since state=present can return a new token's secret: "
                "add 'no_log: true' to the task.")

    def run(self):
        tokens = self.tokens = self.api.list()
        if self.params["databases"] is not None:
            self.scoped = self.scoped_role()
            if self.params["state"] == "present":
                self.params["roles"] = [self.scoped["id"]] if self.scoped["id"] else []
        try:
            result = self.absent(tokens) if self.params["state"] == "absent" else self.present(tokens)
        except AstraError as error:
            self.undo_made_role(error)
            raise
        result.update(self.remove_unused_roles())
        return result

    # -- database-scoped tokens ------------------------------------------------------------------------------

    def scoped_role(self):
        """The custom role a token limited to databases holds, found by its name; its id is None when it does not
        exist yet (make_scoped_role makes it, only once a token is to be created with it)."""
        catalog = self.load_catalog()
        builtin = [role for role in catalog if role["built_in"]
                   and role_key(role["name"]) == role_key(self.params["database_role"])]
        if not builtin:
            raise AstraInputError("database_role must name a built-in role (such as Database Administrator), got "
                                  "'%s'." % shown(self.params["database_role"]))
        org_id = self.caller_org().get("id")
        databases = []
        for database_id in self.params["databases"]:
            info = read_database(self.module.client, database_id).get("info")
            databases.append({"id": database_id, "name": info.get("name") if isinstance(info, dict) else None})
        wanted = custom.scoped_role(org_id, databases, builtin[0])
        found = custom.named(catalog, wanted["name"])
        if found:
            if found["built_in"] or custom.policy_differs(custom.change_of(found, wanted)):
                raise AstraInputError(
                    "The role '%s' (%s) exists with other actions or resources than a token limited to %s needs; it "
                    "is not changed, since other tokens may hold it. Rename or delete it, or manage it with "
                    "astra.devops.astra_role." % (found["name"], found["id"], ", ".join(self.params["databases"])))
            return dict(wanted, id=found["id"], created=False)
        return dict(wanted, id=None, created=False)

    def make_scoped_role(self):
        """POST the scoped role, just before the token that holds it is created; its id, or an error."""
        wanted = self.scoped
        _status, data = self.module.client.call(
            "POST", ROLES_PATH, "Creating role '%s'" % wanted["name"], idempotent=False,
            permission="org-role-write", body=custom.request_body(wanted))
        role_id = normalise_role(data)["id"] if isinstance(data, dict) else None
        if not role_id:  # an answer without a body: the role is in a new list
            found = custom.named(fetch_roles(self.module.client), wanted["name"])
            role_id = found["id"] if found else None
        if not role_id:
            raise AstraError("Created the role '%s', but the API did not say its id; run the task again (it finds the "
                             "role by its name)." % wanted["name"])
        self.scoped.update(id=role_id, created=True)
        self.made_role = dict(self.scoped, built_in=False)
        if self.catalog is not None:
            self.catalog.append(self.made_role)
        return role_id

    def undo_made_role(self, error):
        """A failed task leaves no role it made: after a fresh look (tokens and roles listed again), the role is
        deleted unless a token holds it. What happened is added to the error's message."""
        if not self.made_role:
            return
        name = self.made_role["name"]
        try:
            deleted = self.delete_unheld_roles([self.made_role["id"]], own_only=False)
        except AstraError as cleanup:
            _add_to(error, "The role '%s' this task made could not be deleted again: %s Delete it with "
                           "astra.devops.astra_role (state=absent)." % (name, sentence(str(cleanup))))
            return
        if deleted:
            _add_to(error, "The role '%s' this task made was deleted again." % name)

    def remove_unused_roles(self):
        """After a run that deleted tokens: each role astra_token made for a scoped token (custom.SCOPED_MARK) that a
        deleted token held, and, with databases and state=absent, the scoped role asked for, is deleted when no
        token holds it any more (after a fresh look), unless keep_unused_role. Returns the result's keys."""
        explicit = self.scoped["id"] if self.scoped and self.params["state"] == "absent" else None
        by_client_id = dict((token["client_id"], token) for token in self.tokens)
        held = set()
        for client_id in self.deleted:
            held.update(str(role).lower() for role in by_client_id.get(client_id, {}).get("roles", []))
        candidates = []
        if held:
            own = dict((str(role["id"]).lower(), role) for role in self.load_catalog()
                       if custom.made_for_a_scoped_token(role))
            candidates = sorted(role_id for role_id in held if role_id in own and role_id != explicit)
        result = {"deleted_role_ids": []}
        if explicit:
            candidates.insert(0, explicit)
        if not candidates:
            return result
        if self.params["keep_unused_role"]:
            holders = self.holders(candidates, self.tokens, self.deleted)
        else:
            result["deleted_role_ids"] = self.delete_unheld_roles(candidates, own_only=True, explicit=explicit)
            holders = self.last_holders
            if result["deleted_role_ids"]:
                result["changed"] = True
        if explicit:
            result["scoped_role"] = dict(self.public_scoped(), deleted=explicit in result["deleted_role_ids"],
                                         held_by=holders.get(explicit, []))
        return result

    @staticmethod
    def holders(role_ids, tokens, gone=()):
        """role id -> sorted client ids of the tokens (but those in gone) that hold it."""
        found = dict((role_id, []) for role_id in role_ids)
        for token in tokens:
            if token["client_id"] in gone:
                continue
            for role in token["roles"]:
                if str(role).lower() in found:
                    found[str(role).lower()].append(token["client_id"])
        return dict((role_id, sorted(ids)) for role_id, ids in found.items())

    def delete_unheld_roles(self, role_ids, own_only, explicit=None):
        """Delete each role that no token holds, looking again first (tokens and roles listed now, not at the start
        of the run: another task may have given the role to a token since). With own_only, only a role astra_token
        made for a scoped token (explicit, the one asked for by databases, aside). Check mode uses the first look and
        deletes nothing. Returns the ids deleted (or that would be); self.last_holders says who holds the others."""
        role_ids = [str(role_id).lower() for role_id in role_ids]
        if self.module.check_mode:
            self.last_holders = self.holders(role_ids, self.tokens, self.deleted)
            return [role_id for role_id in role_ids if not self.last_holders[role_id]]
        self.last_holders = self.holders(role_ids, self.api.list())
        roles = dict((str(role["id"]).lower(), role) for role in fetch_roles(self.module.client))
        deleted = []
        for role_id in role_ids:
            role = roles.get(role_id)
            if role is None or self.last_holders[role_id] or role["built_in"]:
                continue
            if own_only and role_id != explicit and not custom.made_for_a_scoped_token(role):
                continue
            try:
                self.module.client.call("DELETE", "%s/%s" % (ROLES_PATH, role["id"]), "Deleting role '%s'"
                                        % role["name"], permission="org-role-delete", resource="Role %s" % role["id"])
            except AstraApiError as error:
                if error.status != 404:  # gone already: as good as deleted by this run
                    raise
            deleted.append(role_id)
        return deleted

    # -- lookup -------------------------------------------------------------------------------------------------

    def matches(self, tokens):
        client_id, description = self.params["client_id"], self.params["description"]
        if client_id:
            found = [t for t in tokens if t["client_id"] == client_id]
            if found and description is not None and found[0]["description"] != description and self.params["state"] == "absent":
                raise AstraInputError("client_id %s has the description '%s', not '%s': refusing to delete it."
                                      % (client_id, shown(found[0]["description"]), shown(description)))
            return found
        return [t for t in tokens if t["description"] == description]

    def wanted_role_ids(self, for_create):
        """Role ids asked for; the roles list is fetched only for names, or to check ids before a create."""
        if self.scoped is not None:  # the scoped role's id, none yet in check mode
            return [self.scoped["id"]] if self.scoped["id"] else []
        roles = self.params["roles"]
        if roles is None:
            return None
        all_ids = all(is_role_id(r) for r in roles)
        # An enterprise caller lists only enterprise roles, so a member org's role ids cannot be checked here.
        if all_ids and (self.params["org_id"] or not for_create):
            return [role_id_key(r) for r in roles]
        try:
            return resolve_roles(roles, self.load_catalog())
        except AstraInputError as error:
            if self.params["org_id"]:
                error.message += " With org_id, give the member organization's role ids."
            raise

    def load_catalog(self):
        if self.catalog is None:
            self.catalog = fetch_roles(self.module.client)
        return self.catalog

    def described(self, token):
        """Metadata with role names filled in when the roles list is at hand."""
        token = dict(token)
        if self.catalog is not None:
            names = names_by_id(self.catalog)
            token["role_names"] = [names.get(r, r) for r in token["roles"]]
        return token

    # -- present ------------------------------------------------------------------------------------------------

    def present(self, tokens):
        self.warn_if_org_unlisted()
        found = self.matches(tokens)
        if len(found) > 1:
            raise AstraInputError(
                "%d tokens have the description '%s' (client ids: %s): give client_id to pick one, or delete the extras."
                % (len(found), shown(self.params["description"]), ", ".join(t["client_id"] for t in found)))
        if not found:
            if self.params["client_id"]:
                raise AstraInputError(
                    "client_id %s was not found among the tokens of this organization; Astra chooses client ids, "
                    "so to create a token give description (and roles) without client_id." % self.params["client_id"])
            if self.params["roles"] is None:
                raise AstraInputError("roles must be given to create the token '%s' (role names or ids), got none."
                                      % shown(self.params["description"]))
            return self.create(None, self.wanted_role_ids(for_create=True), tokens)
        current = found[0]
        wanted = self.wanted_role_ids(for_create=False)
        differences = self.differences(current, wanted)
        recreate = self.params["recreate"]
        if recreate == "always" or (differences and recreate == "state_change"):
            role_ids = self.wanted_role_ids(for_create=True)
            if not role_ids and self.scoped is None:  # the old token's roles (the scoped role is made in create)
                role_ids = resolve_roles(current["roles"], self.load_catalog())
            return self.create(current, role_ids, tokens)
        if differences:
            raise AstraInputError(
                "Token '%s' (client id %s) differs from what is asked: %s. A token cannot be changed after creation: "
                "set recreate: state_change to replace it, or align the options with the existing token."
                % (shown(current["description"]), current["client_id"], "; ".join(differences)))
        return self.result(False, self.described(current), current)

    def warn_if_org_unlisted(self):
        """An enterprise token's list shows enterprise tokens only, so tokens made in a member org stay unseen."""
        org_id = self.params["org_id"]
        if org_id and self.caller_org().get("id") != org_id:
            self.module.warn(
                "org_id %s is not the api_token's own organization: its token list does not show that organization's "
                "tokens, so this task cannot find a token it created there before and creates one on every run. "
                "For idempotent management use an api_token of organization %s." % (org_id, org_id))

    def caller_org(self):
        """GET /v2/currentOrg, once: read only when org_id is given."""
        if self.caller is None:
            self.caller = current_org(self.module.client)
        return self.caller

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

    def differences(self, current, wanted_role_ids):
        found = []
        if wanted_role_ids is not None and set(wanted_role_ids) != set(current["roles"]):
            unmade = [] if not self.scoped or self.scoped["id"] else ["%s (not made yet)" % self.scoped["name"]]
            found.append("roles are %s, asked %s"
                         % (self.role_label(current["roles"]), self.role_label(wanted_role_ids, unmade)))
        if self.expiry is not None and not self.expiry_is_relative:
            asked = format_timestamp(self.expiry)
            if asked != current["expiry"]:
                found.append("expiry is %s, asked %s" % (current["expiry"] or "never", asked))
        description = self.params["description"]
        if self.params["client_id"] and description is not None and description != current["description"]:
            found.append("description is '%s', asked '%s'" % (shown(current["description"]), shown(description)))
        org_id = self.params["org_id"]
        if org_id and current["org_id"] and org_id != current["org_id"]:
            found.append("organization is %s, asked %s" % (current["org_id"], org_id))
        return found

    def role_label(self, role_ids, more=()):
        """Roles by name for a message (the roles list is read for it if need be); an id the list does not know
        stays an id, said to be no role of this organization (a deleted role), unless org_id names another one."""
        try:
            names = names_by_id(self.load_catalog())
        except AstraError:  # the names are a bonus: the message must still come
            names = {}
        unknown = "%s" if self.params["org_id"] or not names else "%s (no such role)"
        labels = [names.get(r) or unknown % r for r in role_ids]
        return "[%s]" % ", ".join(sorted(labels) + list(more))

    def create(self, current, role_ids, tokens):
        """Create (and, when replacing, then delete the old token): the new one exists before the old one goes."""
        description = self.params["description"] if self.params["description"] is not None else current["description"]
        expiry, self.expiry_source = replacement_expiry(self.expiry, current)
        if self.scoped is not None and not self.scoped["id"] and not self.module.check_mode:
            role_ids = [self.make_scoped_role()]
        if self.module.check_mode:
            planned = {"client_id": None, "description": description, "roles": role_ids, "role_names": None,
                       "generated_on": None, "expiry": format_timestamp(expiry), "org_id": self.params["org_id"]}
            if current:
                (self.deleted if self.params["delete_replaced"] else self.replaced).append(current["client_id"])
            return self.result(True, self.described(planned), current)
        try:
            token, secret = self.api.create(role_ids, description, expiry, self.params["org_id"],
                                            [t["client_id"] for t in tokens])
        except AstraApiError as error:
            self.explain_refusal(error)
            raise
        if current and not self.params["delete_replaced"]:
            self.replaced.append(current["client_id"])
        elif current:
            try:
                if self.api.delete(current["client_id"]):
                    self.deleted.append(current["client_id"])
            except AstraError as error:  # the new secret must still reach the user, or the new token is lost
                self.module.fail_json(
                    msg="Created the replacement token %s, but deleting the old token %s failed: %s Delete it by hand "
                        "or run again; the new secret is in this result's 'secret'." % (
                            token["client_id"], current["client_id"], sentence(str(error))),
                    token=self.described(token), secret=secret, deleted_client_ids=self.deleted, changed=True,
                    expiry_source=self.expiry_source)
        result = self.result(True, self.described(token), current)
        result["secret"] = secret
        return result

    # -- absent -------------------------------------------------------------------------------------------------

    def absent(self, tokens):
        targets = self.matches(tokens)
        for token in targets:
            if self.module.check_mode or self.api.delete(token["client_id"]):
                self.deleted.append(token["client_id"])
        result = self.result(bool(self.deleted), {}, None)
        if self.scoped is not None:
            result["scoped_role"] = dict(self.public_scoped(), deleted=False, held_by=[])
        if self.module._diff:
            result["diff"] = {"before": {"tokens": [self.described(t) for t in targets]}, "after": {"tokens": []}}
        return result

    def public_scoped(self):
        return {"id": self.scoped["id"], "name": self.scoped["name"], "resources": sorted(self.scoped["resources"])}

    def result(self, changed, token, before):
        result = {"changed": changed, "token": token, "deleted_client_ids": self.deleted,
                  "replaced_client_ids": self.replaced, "expiry_source": self.expiry_source}
        if self.scoped is not None and self.params["state"] == "present":
            result["scoped_role"] = dict(self.public_scoped(), created=self.scoped["created"])
            result["changed"] = changed or self.scoped["id"] is None or self.scoped["created"]
        if self.module._diff and self.params["state"] == "present":
            result["diff"] = {"before": self.described(before) if before else {}, "after": token}
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
