# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_token's decisions, pure functions of the options and of what was read (reads: the tokens, the roles list
when it was needed, the caller's organization, the scoped role of databases). A decision that needs the roles list
before it was read raises NeedRead; the module reads it and asks again, so the list is read only when a decision
needs it, as before. The module applies the plan: the one place that writes or looks at check mode."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.astra.devops.plugins.module_utils import _custom_roles as custom
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._records import format_timestamp, role_id_key
from ansible_collections.astra.devops.plugins.module_utils._roles import is_role_id, names_by_id, names_role, resolve_roles
from ansible_collections.astra.devops.plugins.module_utils._tokens import replacement_expiry


class NeedRead(Exception):
    """The roles list is needed and was not read yet. optional: a failed read is no failure (the names in a message)."""

    def __init__(self, optional=False):
        super(NeedRead, self).__init__("the roles list")
        self.optional = optional


def new_reads(tokens):
    """What a run read: the tokens; the roles list (catalog, None until read; catalog_failed after an optional read
    that failed); the caller's organization (None until read); the scoped role (None without databases)."""
    return {"tokens": tokens, "catalog": None, "catalog_failed": False, "caller": None, "scoped": None}


def catalog(reads, optional=False):
    """The roles list, or NeedRead; None when optional and its read failed."""
    if reads["catalog"] is None and not (optional and reads["catalog_failed"]):
        raise NeedRead(optional)
    return reads["catalog"]


# -- reads that decide nothing yet ----------------------------------------------------------------------------

def database_role(name, roles):
    """The built-in role whose actions a scoped token gets (checked before the organization and databases are read)."""
    builtin = [role for role in roles if role["built_in"] and names_role(role, name)]
    if not builtin:
        raise AstraInputError("database_role must name a built-in role (such as Database Administrator), got "
                              "'%s'." % shown(name))
    return builtin[0]


def scoped_role(builtin, database_ids, roles, org_id, names):
    """The custom role a token limited to databases holds, found by its name (id None when it does not exist yet),
    from the built-in role (database_role), the roles list, the caller's organization id and the databases' names
    (by id, None when unknown)."""
    databases = [{"id": database_id, "name": names.get(database_id)} for database_id in database_ids]
    wanted = custom.scoped_role(org_id, databases, builtin)
    found = custom.named(roles, wanted["name"])
    if found:
        if found["built_in"] or custom.policy_differs(custom.change_of(found, wanted)):
            raise AstraInputError(
                "The role '%s' (%s) exists with other actions or resources than a token limited to %s needs; it "
                "is not changed, since other tokens may hold it. Rename or delete it, or manage it with "
                "astra.devops.astra_role." % (found["name"], found["id"], ", ".join(database_ids)))
        return dict(wanted, id=found["id"], created=False)
    return dict(wanted, id=None, created=False)


def org_warning(org_id, caller):
    """An enterprise token's list shows enterprise tokens only, so tokens made in a member org stay unseen."""
    if org_id and caller.get("id") != org_id:
        return ("org_id %s is not the api_token's own organization: its token list does not show that organization's "
                "tokens, so this task cannot find a token it created there before and creates one on every run. "
                "For idempotent management use an api_token of organization %s." % (org_id, org_id))
    return None


# -- the plan ---------------------------------------------------------------------------------------------------

def matches(params, tokens):
    client_id, description = params["client_id"], params["description"]
    if client_id:
        found = [t for t in tokens if t["client_id"] == client_id]
        if found and description is not None and found[0]["description"] != description and params["state"] == "absent":
            raise AstraInputError("client_id %s has the description '%s', not '%s': refusing to delete it."
                                  % (client_id, shown(found[0]["description"]), shown(description)))
        return found
    return [t for t in tokens if t["description"] == description]


def wanted_role_ids(params, reads, for_create):
    """Role ids asked for; the roles list is needed only for names, or to check ids before a create."""
    scoped = reads["scoped"]
    if scoped is not None:  # the scoped role's id, none yet in check mode
        return [scoped["id"]] if scoped["id"] else []
    roles = params["roles"]
    if roles is None:
        return None
    all_ids = all(is_role_id(r) for r in roles)
    # An enterprise caller lists only enterprise roles, so a member org's role ids cannot be checked here.
    if all_ids and (params["org_id"] or not for_create):
        return [role_id_key(r) for r in roles]
    try:
        return resolve_roles(roles, catalog(reads))
    except AstraInputError as error:
        if params["org_id"]:
            error.message += " With org_id, give the member organization's role ids."
        raise


def described(token, reads):
    """Metadata with role names filled in when the roles list is at hand."""
    token = dict(token)
    if reads["catalog"] is not None:
        names = names_by_id(reads["catalog"])
        token["role_names"] = [names.get(r, r) for r in token["roles"]]
    return token


def role_label(params, reads, role_ids, more=()):
    """Roles by name for a message (the roles list is read for it if need be); an id the list does not know
    stays an id, said to be no role of this organization (a deleted role), unless org_id names another one."""
    names = names_by_id(catalog(reads, optional=True) or [])
    unknown = "%s" if params["org_id"] or not names else "%s (no such role)"
    labels = [names.get(r) or unknown % r for r in role_ids]
    return "[%s]" % ", ".join(sorted(labels) + list(more))


def differences(params, expiry, reads, current, wanted_role_ids_):
    """What differs between the existing token and what is asked, one phrase each."""
    found = []
    scoped = reads["scoped"]
    if wanted_role_ids_ is not None and set(wanted_role_ids_) != set(current["roles"]):
        unmade = [] if not scoped or scoped["id"] else ["%s (not made yet)" % scoped["name"]]
        found.append("roles are %s, asked %s" % (role_label(params, reads, current["roles"]),
                                                 role_label(params, reads, wanted_role_ids_, unmade)))
    instant, relative = expiry
    if instant is not None and not relative:
        asked = format_timestamp(instant)
        if asked != current["expiry"]:
            found.append("expiry is %s, asked %s" % (current["expiry"] or "never", asked))
    description = params["description"]
    if params["client_id"] and description is not None and description != current["description"]:
        found.append("description is '%s', asked '%s'" % (shown(current["description"]), shown(description)))
    org_id = params["org_id"]
    if org_id and current["org_id"] and org_id != current["org_id"]:
        found.append("organization is %s, asked %s" % (current["org_id"], org_id))
    return found


def _create(params, expiry, reads, current, role_ids):
    """The plan of a create (replacing current when given): what to send, and whether the scoped role is made first."""
    description = params["description"] if params["description"] is not None else current["description"]
    instant, source = replacement_expiry(expiry[0], current)
    scoped = reads["scoped"]
    return {"state": "present", "current": current, "role_ids": role_ids, "description": description,
            "expiry": instant, "expiry_source": source, "make_scoped_role": bool(scoped is not None and not scoped["id"]),
            "known_client_ids": [t["client_id"] for t in reads["tokens"]]}


def plan(params, expiry, reads):
    """The plan of a run. state=absent: {state, targets}. state=present: {state, current, role_ids, description,
    expiry, expiry_source, make_scoped_role, known_client_ids} for a create (a replacement when current is set), or
    {state, current, keep: True} when the existing token is as asked. expiry: (instant or None, relative)."""
    tokens = reads["tokens"]
    if params["state"] == "absent":
        return {"state": "absent", "targets": matches(params, tokens)}
    found = matches(params, tokens)
    if len(found) > 1:
        raise AstraInputError(
            "%d tokens have the description '%s' (client ids: %s): give client_id to pick one, or delete the extras."
            % (len(found), shown(params["description"]), ", ".join(t["client_id"] for t in found)))
    if not found:
        if params["client_id"]:
            raise AstraInputError(
                "client_id %s was not found among the tokens of this organization; Astra chooses client ids, "
                "so to create a token give description (and roles) without client_id." % params["client_id"])
        if params["roles"] is None and reads["scoped"] is None:
            raise AstraInputError("roles must be given to create the token '%s' (role names or ids), got none."
                                  % shown(params["description"]))
        return _create(params, expiry, reads, None, wanted_role_ids(params, reads, for_create=True))
    current = found[0]
    wanted = wanted_role_ids(params, reads, for_create=False)
    found_differences = differences(params, expiry, reads, current, wanted)
    recreate = params["recreate"]
    if recreate == "always" or (found_differences and recreate == "state_change"):
        role_ids = wanted_role_ids(params, reads, for_create=True)
        if not role_ids and reads["scoped"] is None:  # the old token's roles (the scoped role is made in apply)
            role_ids = resolve_roles(current["roles"], catalog(reads))
        return _create(params, expiry, reads, current, role_ids)
    if found_differences:
        raise AstraInputError(
            "Token '%s' (client id %s) differs from what is asked: %s. A token cannot be changed after creation: "
            "set recreate: state_change to replace it, or align the options with the existing token."
            % (shown(current["description"]), current["client_id"], "; ".join(found_differences)))
    return {"state": "present", "current": current, "keep": True}


def planned_token(create, org_id):
    """The token check mode reports for a create (no client id yet)."""
    return {"client_id": None, "description": create["description"], "roles": create["role_ids"], "role_names": None,
            "generated_on": None, "expiry": format_timestamp(create["expiry"]), "org_id": org_id}


# -- the roles no token holds any more --------------------------------------------------------------------------

def holders(role_ids, tokens, gone=()):
    """role id -> sorted client ids of the tokens (but those in gone) that hold it."""
    found = dict((role_id, []) for role_id in role_ids)
    for token in tokens:
        if token["client_id"] in gone:
            continue
        for role in token["roles"]:
            if role_id_key(role) in found:
                found[role_id_key(role)].append(token["client_id"])
    return dict((role_id, sorted(ids)) for role_id, ids in found.items())


def unused_role_candidates(params, reads, deleted):
    """(role ids to delete if no token holds them, the scoped role asked for with state=absent or None): each role
    astra_token made for a scoped token (custom.SCOPED_MARK) that a deleted token held, the explicit one first."""
    scoped = reads["scoped"]
    explicit = scoped["id"] if scoped and params["state"] == "absent" else None
    by_client_id = dict((token["client_id"], token) for token in reads["tokens"])
    held = set()
    for client_id in deleted:
        held.update(role_id_key(role) for role in by_client_id.get(client_id, {}).get("roles", []))
    candidates = []
    if held:
        own = dict((role["id"], role) for role in catalog(reads) if custom.made_for_a_scoped_token(role))
        candidates = sorted(role_id for role_id in held if role_id in own and role_id != explicit)
    if explicit:
        candidates.insert(0, explicit)
    return candidates, explicit


def deletable_roles(role_ids, found_holders, roles, own_only, explicit=None):
    """The roles (records) of role_ids to delete after a fresh look: no token holds them, they are custom, and with
    own_only astra_token made them for a scoped token (explicit, the one asked for by databases, aside)."""
    by_id = dict((role["id"], role) for role in roles)
    kept = []
    for role_id in role_ids:
        role = by_id.get(role_id)
        if role is None or found_holders[role_id] or role["built_in"]:
            continue
        if own_only and role_id != explicit and not custom.made_for_a_scoped_token(role):
            continue
        kept.append(role)
    return kept


def public_scoped(scoped):
    return {"id": scoped["id"], "name": scoped["name"], "resources": sorted(scoped["resources"])}
