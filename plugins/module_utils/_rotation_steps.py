# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role's two API steps, each one module run with no listing that discovery already did:
create the new token and wait until it works; retire the other tokens, wait until the deleted ones are refused,
and confirm what is left of the family. Every failure is an AstraError whose message says what each consumer holds
and what to do, since the role stops on it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.astra.devops.plugins.module_utils._api_roles import RoleApi
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError, AstraInputError, sentence
from ansible_collections.astra.devops.plugins.module_utils._probe import NotReached, check_token
from ansible_collections.astra.devops.plugins.module_utils._records import role_id_key
from ansible_collections.astra.devops.plugins.module_utils._roles import is_role_id, resolve_roles
from ansible_collections.astra.devops.plugins.module_utils._tokens import client_id_of, replacement_expiry


def new_role_ids(client, roles, replaces):
    """Role ids of the new token: the asked ones (the roles list is read only to resolve names), else the replaced
    token's, carried over as the API listed them."""
    if roles:
        if all(is_role_id(role) for role in roles):
            return [role_id_key(role) for role in roles]
        return resolve_roles(roles, RoleApi(client).list(), "token_rotation_roles")
    if replaces and replaces.get("roles"):
        return list(replaces["roles"])
    raise AstraInputError("token_rotation_roles must be set to create the first token of the family.")


def deleted_roles_error(client, replaces):
    """After a refused create with carried-over roles: an AstraInputError naming the roles of the replaced token that
    no longer exist (deleted while the family held them: astra_role with force, the portal), with
    token_rotation_roles as the fix; None when they all exist. Read only then, so a rotation that works pays no roles
    call."""
    known = set(role_id_key(role["id"]) for role in RoleApi(client).list())
    gone = [role_id_key(role) for role in replaces["roles"] if role_id_key(role) not in known]
    if not gone:
        return None
    one = len(gone) == 1
    return AstraInputError(
        "The %s %s of the family's current token %s no longer %s (deleted), so the new token cannot carry %s over. "
        "Nothing was created, distributed or deleted. Set token_rotation_roles to the roles the new token should "
        "hold (names or ids), then run the role again."
        % ("role" if one else "roles", ", ".join(gone), replaces.get("client_id"), "exists" if one else "exist",
           "it" if one else "them"))


def create(api, client_for, description, replaces, roles, expiry, known_client_ids, wait):
    """POST the new token (the replaced token's roles and lifetime unless asked otherwise), then ask with it until the
    API accepts it. Returns (metadata, secret, expiry_source, seconds waited)."""
    role_ids = new_role_ids(api.client, roles, replaces)
    expiry, source = replacement_expiry(expiry, replaces)
    try:
        token, secret = api.create(role_ids, description, expiry, None, known_client_ids)
    except AstraError as error:
        if error.status == 400 and not roles:
            gone = deleted_roles_error(api.client, replaces)
            if gone is not None:
                raise gone
        raise AstraError("Creating the new token of the family '%s' failed: %s Nothing was distributed or deleted: "
                         "every consumer still holds its working token. Fix the cause and run the role again."
                         % (description, sentence(str(error))), status=error.status)
    try:
        waited = check_token(client_for(secret["token"]), token["client_id"], "accepted", wait)["waited"]
    except (NotReached, AstraError) as outcome:
        raise AstraError(
            "The new token %s was not accepted by the API within %s seconds (%s). Nothing was distributed or deleted: "
            "every consumer still holds its working token. The new token stays in the family; the next run replaces "
            "it and removes it. Raise token_rotation_propagation_timeout if the API is slow to accept new tokens."
            % (token["client_id"], wait, str(outcome).rstrip(".")))
    return token, secret, source, waited


def family_ids(api, description):
    return [token["client_id"] for token in api.list() if token["description"] == description]


def check_nothing_holds(description, client_ids, holders, listed, expected, new_client_id):
    """The fresh look before the delete: refuse (AstraError, nothing deleted) when a consumer or store still holds a
    token to delete or could not be read again, when the family holds a token this run does not know (another run or
    person is rotating it), or when a token the family should keep (the new one) is gone from it."""
    unread = sorted(holder for holder, held in holders.items() if held is None)
    still = sorted((holder, held) for holder, held in holders.items() if held in client_ids)
    strangers = sorted(set(listed) - set(client_ids) - set(expected))
    gone = sorted(set(expected) - set(listed))
    if not (unread or still or strangers or gone):
        return
    why = []
    if gone:
        why.append("%s, which the consumers now hold, is no longer in the family (deleted by someone else?): the "
                   "tokens to delete may be the only ones that still work" % ", ".join(gone))
    if still:
        why.append("still held just before the delete: %s" % ", ".join("%s holds %s" % pair for pair in still))
    if unread:
        why.append("could not be read again after the grace period: %s" % ", ".join(unread))
    if strangers:
        why.append("the family now also holds %s, which this run did not create (another rotation, or a person, is "
                   "changing it)" % ", ".join(strangers))
    raise AstraError(
        "Nothing was deleted from the family '%s': %s. Every token of the family stays valid, the new token %s too. "
        "Find what holds or changed it (a step skipped with --step, an outside writer, a second run), then run the "
        "role again: it finishes the rotation." % (description, "; ".join(why), new_client_id))


def retire(api, client_for, description, client_ids, old_tokens, expected, new_client_id, wait, holders=None):
    """Look again (the family, and what every consumer and store holds, see check_nothing_holds), DELETE each token of
    client_ids (one already gone counts as deleted by someone else), ask with each deleted token a consumer held until
    the API refuses it, then list the family once to confirm only `expected` is left.
    Returns (deleted client ids, client ids left in the family)."""
    if client_ids:
        check_nothing_holds(description, client_ids, holders or {}, family_ids(api, description), expected,
                            new_client_id)
    deleted = []
    for index, client_id in enumerate(client_ids):
        try:
            if api.delete(client_id):
                deleted.append(client_id)
        except AstraError as error:
            raise AstraError(
                "Deleting the old tokens of the family '%s' failed: %s Every consumer holds the new token %s, which "
                "works; the tokens not deleted (%s) stay valid and unused. Fix the cause and run the role again: it "
                "completes the rotation without a new token."
                % (description, sentence(str(error)), new_client_id, ", ".join(client_ids[index:])),
                status=error.status)
    for token in sorted(set(old_tokens)):
        client_id = client_id_of(token)
        if client_id not in deleted:
            continue
        try:
            check_token(client_for(token), client_id, "refused", wait)
        except (NotReached, AstraError):
            raise AstraError(
                "A deleted token of the family '%s' (%s) was still accepted by the API %s seconds after its deletion. "
                "Every consumer holds the new token %s; check the organization's tokens in the Astra portal."
                % (description, client_id, wait, new_client_id))
    left = family_ids(api, description)
    if sorted(left) != sorted(set(expected)):
        raise AstraError(
            "After the rotation the family '%s' holds %s, but only %s were expected (another process changed it?). "
            "Every consumer holds %s; run the role again to clean up."
            % (description, ", ".join(left) or "no token", ", ".join(sorted(set(expected))), new_client_id))
    return deleted, left
