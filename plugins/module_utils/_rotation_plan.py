# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of a token_rotation run, as pure functions: the family (split_family, and lock_path, the lock that keeps
two runs of one family apart), what this run does and why (plan, from one decision), and what every consumer and
store holds at the moment of the delete (holders_now)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
from urllib.parse import urlsplit

from ansible_collections.astra.devops.plugins.module_utils._records import format_timestamp, now, parse_duration, parse_timestamp
from ansible_collections.astra.devops.plugins.module_utils._urls import canonical_host, normalise_base_url


def store_label(store):
    """How a store is named in the plan and the result: its index in token_rotation_stores, kind and location."""
    return "store %s (%s, %s)" % (store.get("index"), store.get("kind"), store.get("location"))


def lock_path(lock_dir, api_url, org_id, description):
    """The lock file of a family: keyed on the API root (its host as resolved, see _urls.canonical_host) and the organization,
    never on the text the user typed."""
    root = urlsplit(normalise_base_url(api_url))
    key = "%s|%s|%s|%s|%s" % (root.scheme, canonical_host(root.hostname), root.port or "", org_id or "", description)
    return "%s/%s.lock" % (str(lock_dir).rstrip("/") or "/", hashlib.sha256(key.encode("utf-8")).hexdigest()[:16])


def age_text(seconds):
    """An age as the messages show it: 2d 3h, 4h 5m or 6m 7s."""
    seconds = int(seconds or 0)
    if seconds >= 86400:
        return "%dd %dh" % (seconds // 86400, seconds % 86400 // 3600)
    if seconds >= 3600:
        return "%dh %dm" % (seconds // 3600, seconds % 3600 // 60)
    return "%dm %ds" % (seconds // 60, seconds % 60)


def _seconds(value, option):
    return None if value is None else int(parse_duration(value, option).total_seconds())


def plan(situation, reference=None):
    """What this run does and why, from one decision.

    situation: description, family (the family's tokens, oldest first: client_id, generated_on), held ({host:
    client id, 'missing' or 'unknown'} for the consumers with a file), stores (what astra_rotation_store observed:
    index, kind, location, held, pending), play_hosts, hook (a distribute tasks file is set), roles, min_age,
    renew_before, retire_after, expiry (token_rotation_expiry, or None), limit (the --limit text, or None). A store
    whose staged, not yet promoted, version (AWSPENDING) holds the newest token counts as holding it: promoting it is
    all that is left to do.
    Returns action (provision, skip, rotate, complete), reason, newest_client_id, newest_age_seconds,
    file_consumers, stores (their labels), held, needy (the consumers and stores that do not hold the newest token),
    others (the family's other tokens
    once every consumer holds the new one), keep (whether they are kept), keep_message, retire and kept (others
    split by keep), and replaces (the newest token, whose roles and lifetime a rotation's new token carries over)."""
    reference = reference or now()
    family = list(situation.get("family") or [])
    held = dict(situation.get("held") or {})
    hook = bool(situation.get("hook"))
    ids = [token["client_id"] for token in family]
    newest = family[-1] if family else {}
    files = sorted(held)
    stores = []
    for store in situation.get("stores") or ():
        label = store_label(store)
        stores.append(label)
        pending = store.get("pending")
        held[label] = pending if pending and pending == newest.get("client_id") else store.get("held")
    generated = parse_timestamp(newest.get("generated_on"))
    age = int((reference - generated).total_seconds()) if generated else None
    expires = parse_timestamp(newest.get("expiry"))
    expired = expires is not None and expires <= reference
    min_age = _seconds(situation.get("min_age"), "token_rotation_min_age")
    retire_after = _seconds(situation.get("retire_after"), "token_rotation_retire_after")
    renew_before = _seconds(situation.get("renew_before"), "token_rotation_renew_before")
    consumers = files + stores
    needy = [host for host in consumers if held[host] not in (newest.get("client_id"), "unknown")]
    all_hold_newest = bool(consumers) and set(held.values()) == {newest.get("client_id")}
    young = min_age is not None and age is not None and age < min_age
    renew = _renewal(situation, renew_before, min_age, age, expires, reference)

    action, reason = _decide(situation, family, dict(
        held=held, consumers=consumers, stores=stores, needy=needy, all_hold_newest=all_hold_newest,
        young=renew["stay"] if renew else young, renew=renew, expired=expired, age=age, hook=hook))
    others = ids[:-1] if action == "complete" else ids
    keep_message = _keep_message(situation, action, others, age, retire_after)
    if situation.get("limit") and action != "skip":
        reason += " This run is limited (--limit %s): it deletes no token." % situation["limit"]
    if action == "rotate":
        reason += _renewal_loop(situation, renew_before, generated, expires)
    return {
        "action": action,
        "problems": _plan_problems(situation, action, held, ids),
        "reason": reason,
        "newest_client_id": newest.get("client_id"),
        "newest_age_seconds": age,
        "file_consumers": files,
        "stores": stores,
        "held": held,
        "needy": needy,
        "others": others,
        "keep": keep_message is not None,
        "keep_message": keep_message,
        "retire": [] if keep_message else others,
        "kept": others if keep_message else [],
        "replaces": newest if action == "rotate" else None,
    }


def _renewal(situation, renew_before, min_age, age, expires, reference):
    """How token_rotation_renew_before judges the newest token, or None when it does not apply (unset, or a token
    that never expires: left to min_age). due: it expires within renew_before; stay: neither renew_before nor min_age
    (the token is at least min_age old) asks for a new token. when: the expiry as the lines say it."""
    if renew_before is None or expires is None:
        return None
    expires_in = int((expires - reference).total_seconds())
    due = expires_in <= renew_before
    old_enough = min_age is not None and age is not None and age >= min_age
    return {"due": due, "stay": not due and not old_enough, "old_enough": old_enough,
            "when": "expires on %s, in %s, %swithin token_rotation_renew_before (%s)" % (
                format_timestamp(expires), age_text(expires_in), "" if due else "not ", situation["renew_before"])}


def _renewal_loop(situation, renew_before, generated, expires):
    """A note when the new token, which carries over the replaced token's lifetime (no token_rotation_expiry), will
    expire within token_rotation_renew_before as soon as it exists, so that every run rotates again (validate warns
    about a token_rotation_expiry that short)."""
    if renew_before is None or situation.get("expiry") or generated is None or expires is None:
        return ""
    lifetime = int((expires - generated).total_seconds())
    if lifetime > renew_before:
        return ""
    return (" The new token gets the replaced token's lifetime, %s, which is not longer than token_rotation_renew_before"
            " (%s): it will be due for renewal at once, and every run will rotate again. Set token_rotation_expiry "
            "longer than renew_before." % (age_text(lifetime), situation["renew_before"]))


def _decide(situation, family, seen):
    """(action, reason): provision, rotate, skip or complete, and the one line that says why. seen: what plan()
    worked out (held, consumers, stores, needy, all_hold_newest, young (the token may stay: no rule asks for a new
    one), renew (_renewal), expired, age, hook)."""
    ids = [token["client_id"] for token in family]
    newest = family[-1] if family else {}
    held, consumers, stores, needy, age = seen["held"], seen["consumers"], seen["stores"], seen["needy"], seen["age"]
    hook, young, all_hold_newest = seen["hook"], seen["young"], seen["all_hold_newest"]
    family_text = "'%s'" % situation.get("description")
    id_text = ", ".join(ids)
    held_text = ", ".join("%s holds %s" % (host, held[host]) for host in consumers) or "no consumer file"
    targets = ", ".join(list(situation.get("play_hosts") or ()) + stores) if hook else (", ".join(consumers) or "no consumer")
    if not family:
        action = "provision"
        reason = "Provision: the family %s has no token yet. Creating one with the roles %s and distributing it to %s." % (
            family_text, ", ".join(situation.get("roles") or ()), targets)
    elif seen["expired"]:
        action = "rotate"
        reason = ("Rotate: the newest token of the family %s, %s, expired on %s, so every consumer that holds it is "
                  "refused; replacing it whatever token_rotation_min_age says. Creating a new token, distributing it "
                  "to %s, then deleting %s." % (family_text, newest["client_id"], newest.get("expiry"), targets,
                                                id_text))
    elif len(family) == 1 and young and not needy:
        action = "skip"
        reason = "Skip: the only token of the family %s, %s, %s, and every consumer holds it. Nothing changes." % (
            family_text, id_text, _why_it_stays(situation, seen["renew"], age))
    elif len(family) > 1 and all_hold_newest and not hook:
        action = "complete"
        reason = ("Complete an unfinished rotation: the family %s has %d tokens (%s), and every consumer already holds "
                  "the newest, %s (%s). No new token: reloading and verifying the consumers, then retiring the others."
                  % (family_text, len(family), id_text, newest["client_id"], held_text))
    elif len(family) == 1:
        action = "rotate"
        reason = "%s Creating a new token, distributing it to %s, then deleting %s." % (
            _why_it_goes(situation, seen, family_text, id_text), targets, id_text)
    else:
        action = "rotate"
        why = ("a distribute tasks file is set, whose destination the role cannot read" if hook and all_hold_newest
               else "the consumers do not all hold the newest (%s)" % held_text)
        reason = ("Rotate to finish an unfinished rotation: the family %s has %d tokens (%s) and %s. Creating a new "
                  "token, distributing it to %s, then deleting every other token of the family."
                  % (family_text, len(family), id_text, why, targets))

    if len(family) == 1 and situation.get("renew_before") is not None and not newest.get("expiry"):
        reason += " %s never expires, so token_rotation_renew_before does not apply." % newest["client_id"]
    return action, reason


def _why_it_stays(situation, renew, age):
    """Why the only token may stay: renew_before and min_age, whichever are set, say it may."""
    young = "is %s old, younger than token_rotation_min_age (%s)" % (age_text(age), situation.get("min_age"))
    if renew is None:
        return young
    return "%s, and %s" % (renew["when"], young) if situation.get("min_age") is not None else renew["when"]


def _why_it_goes(situation, seen, family_text, id_text):
    """The first sentence of the rotation of a family's only token: the rule that asks for it, or the consumers
    that do not hold the token when no rule does."""
    renew, age, needy = seen["renew"], seen["age"], seen["needy"]
    if renew and renew["due"]:
        return "Rotate: the newest token of the family %s, %s, %s." % (family_text, id_text, renew["when"])
    if renew and renew["old_enough"]:
        return "Rotate: the only token of the family %s, %s, %s, but is %s old, not younger than " \
               "token_rotation_min_age (%s)." % (family_text, id_text, renew["when"], age_text(age),
                                                 situation.get("min_age"))
    if renew:
        return "Rotate: replacing %s (%s old) of the family %s, although it %s, because these consumers do not hold " \
               "it: %s." % (id_text, age_text(age), family_text, renew["when"], ", ".join(needy))
    return "Rotate: replacing %s (%s old) of the family %s%s." % (
        id_text, age_text(age), family_text, ", although it is younger than token_rotation_min_age, because these "
        "consumers do not hold it: %s" % ", ".join(needy) if seen["young"] else "")


def _keep_message(situation, action, others, age, retire_after):
    """Why the family's other tokens are kept (a limited run, token_rotation_retire_after), or None."""
    if situation.get("limit") and others:
        keep_message = ("Keeping %s: this run is limited (--limit %s), and consumers outside the limit may still hold "
                        "%s. Run the role without --limit to give every consumer the new token and retire %s."
                        % (", ".join(others), situation["limit"], _them(others), _them(others)))
    elif retire_after is not None and others and (age if action == "complete" else 0) < retire_after:
        keep_message = ("Keeping %s until the new token is %s old (token_rotation_retire_after): a later run deletes %s."
                        % (", ".join(others), situation.get("retire_after"), _them(others)))
    else:
        keep_message = None
    return keep_message


def _plan_problems(situation, action, held, family_ids):
    """What stops this run before anything is created, as sentences: a first token without roles; a consumer or store
    that holds a token of the family in a second place, which the role would not rewrite (also_held); a consumer or
    store that holds a token of another family (one path in two families: they would take turns replacing each
    other's token, and the application would get the other family's roles)."""
    problems = []
    if action == "provision" and not situation.get("roles"):
        problems.append("The family '%s' has no token yet, so this run must create the first one: set "
                        "token_rotation_roles to its roles (for example [R/W Svc Acct]). Nothing was changed."
                        % situation.get("description"))
    also = dict((holder, ids) for holder, ids in (situation.get("also_held") or {}).items() if ids)
    for store in situation.get("stores") or ():
        if store.get("also_held"):
            also[store_label(store)] = store["also_held"]
    twice = sorted((holder, client_id) for holder, ids in also.items() for client_id in ids if client_id in family_ids)
    if twice:
        problems.append(
            "%s: the role rewrites the token only where the format keeps it (the variable token_rotation_consumer_env_var "
            "for env, the key token for json), so the other place would keep a token the role then deletes. Nothing "
            "was created or changed. Keep the token in one place, or use the template format to write every place."
            % "; ".join("%s also holds %s of this family in another place" % pair for pair in twice))
    others = situation.get("others") or {}
    foreign = sorted((holder, client_id) for holder, client_id in held.items()
                     if client_id not in family_ids and client_id in others)
    if foreign:
        problems.append(
            "%s of another family: %s. Nothing was created or changed. Each consumer file and secret store belongs to "
            "one family: give this family '%s' its own, or remove them from the other family's configuration and "
            "this run takes them over once that family's token is deleted." % (
                "A consumer holds a token" if len(foreign) == 1 else "Consumers hold tokens",
                "; ".join("%s holds %s of the family '%s'" % (holder, client_id, others[client_id])
                          for holder, client_id in foreign),
                situation.get("description")))
    return problems


def split_family(tokens, description):
    """The organization's tokens as the family (exact description, oldest first, as listed), its client ids, and the
    others ({client id: description}), so the plan can tell a token of another family from a deleted one."""
    family = [token for token in tokens or () if token.get("description") == description]
    others = dict((token.get("client_id"), token.get("description")) for token in tokens or ()
                  if token.get("description") != description)
    return {"family": family, "ids": [token.get("client_id") for token in family], "others": others}


def holders_now(consumers, stores, new_client_id):
    """{holder: client id} of what every file consumer and store holds at the moment of the delete, from the freshest
    look this run has: a consumer read again after the grace period, else the client id it was written (a write that
    ran and did not fail), else what the observe step read; a store as read again just now. None for a consumer that
    could not be read again.

    consumers: each consumer's variables (inventory_hostname, token_rotation__observed, and when they ran
    token_rotation__written and token_rotation__observed_again); stores: astra_rotation_store's observe result."""
    held = {}
    for consumer in consumers or ():
        observed = consumer.get("token_rotation__observed") or {}
        if not observed.get("held"):
            continue  # no consumer file
        again = consumer.get("token_rotation__observed_again") or {}
        written = consumer.get("token_rotation__written") or {}
        if again.get("failed") or again.get("unreachable"):
            now_held = None  # could not be read again: the delete waits
        elif again.get("held"):
            now_held = again["held"]
        elif written and not written.get("skipped") and not written.get("failed"):
            now_held = new_client_id
        else:
            now_held = observed["held"]
        held[consumer.get("inventory_hostname")] = now_held
    for store in stores or ():
        held[store_label(store)] = store.get("held")
    return held


def _them(items):
    return "it" if len(items) == 1 else "them"
