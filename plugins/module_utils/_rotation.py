# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the token_rotation role decides, as plain functions: the checks of its variables and consumers, the lock
of a family, the plan of a run, the consumer files, the messages built from consumer output, and the result. The
role's YAML only orchestrates; the filters in plugins/filter/rotation.py call these, and the rules themselves
(durations, descriptions, the API root, the scrub) come from the other module_utils, never copied."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import re
from urllib.parse import urlsplit

from ansible_collections.astra.devops.plugins.module_utils._errors import (
    CLIENT_SECRET,
    DEBUG_REFUSED,
    KEPT_FILES_REFUSED,
    TOKEN_HASH,
    AstraInputError,
    hide_fragments,
    one_line,
    scrub,
    shown,
)
from ansible_collections.astra.devops.plugins.module_utils._records import now, parse_duration, parse_timestamp, resolve_expiry
from ansible_collections.astra.devops.plugins.module_utils._tokens import check_description, client_id_of
from ansible_collections.astra.devops.plugins.module_utils._urls import canonical_host, check_ca_path, normalise_base_url

_WHOLE = re.compile(r"^\d+$")
_DETAIL_MAX = 300
# The actions a caller needs to rotate (an enterprise token holds the enterprise- twin of each).
ROTATION_ACTIONS = ("org-token-read", "org-token-write")
# Exit status of coreutils' timeout when the command ran out of time.
TIMEOUT_EXIT = 124


def normalise_roles(value, option="token_rotation_roles"):
    """Role names or ids as a list, None when unset; a comma-separated string is split as the modules' list options
    split it."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise AstraInputError("%s must be a list of role names or ids (or one comma-separated string), got %s."
                              % (option, shown(value)))
    roles = [item.strip() for item in value]
    if not roles or not all(roles):
        raise AstraInputError("%s must be a non-empty list of role names or ids, without empty entries, got %s."
                              % (option, shown(value)))
    return roles


def _whole_seconds(value, option, minimum):
    text = str(value).strip()
    if isinstance(value, bool) or not _WHOLE.match(text) or int(text) < minimum or int(text) > 86400 * 7:
        raise AstraInputError("%s must be a whole number of seconds from %d to 604800 (a week), got '%s'."
                              % (option, minimum, shown(value)))
    return int(text)


def _collect(problems, check, *args):
    """Run one check; an AstraInputError becomes a problem, so the user sees every problem in one run."""
    try:
        return check(*args)
    except AstraInputError as error:
        problems.append(str(error))
        return None


def _parse_stores(entries):
    # Imported here, not at the top: every forked worker that uses a rotation filter imports this module, and only
    # the validate step needs the stores.
    from ansible_collections.astra.devops.plugins.module_utils._stores import parse_stores  # pylint: disable=import-outside-toplevel
    return parse_stores(entries)


def store_label(store):
    """How a store is named in the plan and the result: its index in token_rotation_stores, kind and location."""
    return "store %s (%s, %s)" % (store.get("index"), store.get("kind"), store.get("location"))


def play_problems(settings):
    """Every problem of the role's variables and of the play's shape, as sentences (empty when all is well).

    settings: the role's variables under their names without the token_rotation_ prefix, and what only the play
    knows: debug (ansible-core's debug mode), play_hosts, batch_hosts, failed_hosts, limit, consumer_paths (how many
    consumers have a file), distribute_tasks_found, and the AWX job's awx_job_template_name and
    awx_workflow_job_name. stores is token_rotation_stores, as written."""
    problems = []
    if settings.get("debug"):
        problems.append(DEBUG_REFUSED)
    if settings.get("keep_remote_files"):
        problems.append(KEPT_FILES_REFUSED)
    strategy = settings.get("strategy")
    if strategy and not steps_in_line(strategy):
        problems.append(
            "The play's strategy is %s, which does not run the play's tasks in step across hosts: each host would "
            "mint its own token and delete the one the others hold. Use the linear strategy (the default) or a "
            "drop-in such as mitogen_linear for the play that runs the role." % shown(strategy))
    description = settings.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append("token_rotation_description must be set to the description shared by the tokens of the "
                        "family to rotate, got none.")
    else:
        _collect(problems, check_description, description, "token_rotation_description")
    if not client_id_of(settings.get("api_token")):
        problems.append("token_rotation_api_token must be an AstraCS: token whose role can list, create and delete "
                        "tokens (Organization Administrator): set it, or the environment variable ASTRA_API_TOKEN.")
    api_url = settings.get("api_url")
    if not isinstance(api_url, str):
        problems.append("token_rotation_api_url must be an http(s) URL such as https://api.astra.datastax.com.")
    else:
        _collect(problems, _option_error, normalise_base_url, api_url, "api_url", "token_rotation_api_url")
    ca_path = settings.get("ca_path")
    if ca_path and settings.get("validate_certs") is not False:
        _collect(problems, check_ca_path, os.path.expanduser(str(ca_path)), "token_rotation_ca_path")
    _collect(problems, normalise_roles, settings.get("roles"))
    if settings.get("expiry") is not None:
        _collect(problems, resolve_expiry, str(settings["expiry"]), "token_rotation_expiry")
    for name in ("min_age", "retire_after"):
        if settings.get(name) is not None:
            _collect(problems, parse_duration, settings[name], "token_rotation_" + name)
    _collect(problems, _whole_seconds, settings.get("grace_period"), "token_rotation_grace_period", 0)
    _collect(problems, _whole_seconds, settings.get("propagation_timeout"), "token_rotation_propagation_timeout", 1)
    _collect(problems, _whole_seconds, settings.get("command_timeout"), "token_rotation_command_timeout", 1)
    stores = _collect(problems, _parse_stores, settings.get("stores")) or []
    if settings.get("distribute_tasks") is not None and not settings.get("distribute_tasks_found"):
        problems.append("token_rotation_distribute_tasks must be the path of an existing tasks file (absolute, or "
                        "relative to the role or the playbook), got '%s'." % shown(settings["distribute_tasks"]))
    if settings.get("retire_after") is not None:
        if settings.get("distribute_tasks") is not None:
            problems.append(
                "token_rotation_retire_after cannot be combined with token_rotation_distribute_tasks: the role cannot "
                "see what a distribute tasks file delivered, so a later run could not tell a finished rotation from "
                "an interrupted one. Use token_rotation_grace_period instead.")
        elif not settings.get("consumer_paths") and not stores:
            problems.append(
                "token_rotation_retire_after needs at least one consumer with token_rotation_consumer_path or one "
                "entry of token_rotation_stores: the role reads those to tell a finished rotation from an interrupted "
                "one. Use token_rotation_grace_period instead.")
    if len(settings.get("batch_hosts") or ()) != len(settings.get("play_hosts") or ()):
        problems.append(
            "The play runs its hosts in batches (serial): every consumer must be in the same run, or each batch would "
            "mint its own token and delete the one the other batches hold. Remove serial from the play.")
    if settings.get("limit") and not settings.get("allow_limit"):
        problems.append(
            "The play runs with --limit (%s): consumers outside the limit would not get the new token. Run without "
            "--limit, or set token_rotation_allow_limit=true to update only these consumers; such a run never "
            "deletes a token, and a later run without --limit retires the old ones." % shown(settings["limit"]))
    # AWX passes no slice number to a slice job, but the workflow job it runs in is named after the job template
    # (awx/main/models/jobs.py, JobTemplate.create_unified_job); a workflow of the user's own has its own name.
    template = settings.get("awx_job_template_name")
    if template and template == settings.get("awx_workflow_job_name"):
        problems.append(
            "This AWX job is a slice of the sliced job template '%s': its slices run at the same time, each would "
            "rotate the family for its share of the consumers and delete the token another slice has just "
            "distributed. Set Job Slicing to 1 on the template. (A workflow named exactly like its job template "
            "looks the same: rename the workflow.)" % shown(template))
    if settings.get("failed_hosts"):
        problems.append("These consumers already failed or were unreachable before the role started: %s. Nothing was "
                        "changed; fix them and run again." % ", ".join(settings["failed_hosts"]))
    return problems


def steps_in_line(strategy):
    """Whether a strategy plugin runs each task on every host before the next (linear and its drop-ins such as
    mitogen_linear), as the role's run-once steps need; free and host_pinned (and their mitogen_ twins) do not."""
    name = str(strategy).rsplit(".", 1)[-1]
    return not (name in ("free", "host_pinned") or name.endswith(("_free", "_host_pinned")))


def play_warnings(settings):
    """What may go wrong although nothing is refused, as sentences: a token_rotation_min_age that is not shorter
    than the lifetime token_rotation_expiry gives, so every scheduled run would skip until the token has expired (an
    expired newest token is replaced whatever min_age says, but its consumers are refused until then)."""
    warnings = []
    if settings.get("min_age") is None or settings.get("expiry") is None:
        return warnings
    try:
        min_age = parse_duration(settings["min_age"], "token_rotation_min_age")
        expiry = resolve_expiry(str(settings["expiry"]), "token_rotation_expiry")
    except AstraInputError:  # reported by play_problems
        return warnings
    instant, relative = expiry
    lifetime = parse_duration(settings["expiry"], "token_rotation_expiry") if relative else instant - now()
    if min_age >= lifetime:
        warnings.append(
            "token_rotation_min_age (%s) is not shorter than the lifetime of the new token (token_rotation_expiry %s, "
            "%s): a scheduled run would skip while the token is younger than min_age, so its consumers would hold "
            "an expired token until a run replaces it. Set min_age well below the lifetime (for example half)."
            % (settings["min_age"], settings["expiry"], _age_text(lifetime.total_seconds())))
    return warnings


def _option_error(check, value, generic, option):
    """Run a shared check whose messages name a module option, and name the role's variable instead."""
    try:
        return check(value)
    except AstraInputError as error:
        error.message = error.message.replace(generic, option, 1)
        raise


def lock_path(lock_dir, api_url, org_id, description):
    """The lock file of a family: keyed on the API root (its host as resolved, see _urls.canonical_host) and the organization,
    never on the text the user typed."""
    root = urlsplit(normalise_base_url(api_url))
    key = "%s|%s|%s|%s|%s" % (root.scheme, canonical_host(root.hostname), root.port or "", org_id or "", description)
    return "%s/%s.lock" % (str(lock_dir).rstrip("/") or "/", hashlib.sha256(key.encode("utf-8")).hexdigest()[:16])


def scrub_output(text, secrets, limit=_DETAIL_MAX):
    """Command output fit for a message: every secret of the run removed (whole, and its hash part alone) before the
    text is cut, so a cut never leaves part of a secret; one line."""
    values = set()
    for secret in secrets or ():
        if isinstance(secret, str) and secret:
            values.add(secret)
            if secret.startswith("AstraCS:"):
                values.add(secret.rsplit(":", 1)[-1])
    text = str(text or "")
    # Longest first: a token holds its hash, which must not be replaced first and leave the rest behind.
    for secret in sorted(values, key=len, reverse=True):
        text = text.replace(secret, "<hidden>")
    # Parts of them, and their URL-encoded forms; then secrets the run does not know, such as the client secret in a
    # consumer's previous JSON file.
    text = hide_fragments(text, values)
    text = CLIENT_SECRET.sub("<hidden>", TOKEN_HASH.sub("<hidden>", scrub(text)))
    return one_line(text, limit)


# Each step of a consumer: what the message calls it, and what to fix when it failed.
_STEPS = {
    "write": ("writing the token file", "the path, owner, group or mode of %(path)s"),
    "reload": ("the reload command", "the reload command (token_rotation_consumer_reload_command)"),
    "distribute": ("the distribute tasks file", "the distribute tasks file (%(tasks)s)"),
    "verify": ("the verify command", "the verify command (token_rotation_consumer_verify_command), or what it checks,"),
}


def consumer_failure(failure):
    """The message of a consumer that did not take the new token.

    failure: host, step (write, reload, distribute or verify), result (the failed task's result), secrets, held
    (the client id the consumer held before, None when it held none), new_client_id, path, tasks, command_timeout."""
    step = failure.get("step") or "distribute"
    result = failure.get("result") or {}
    secrets = failure.get("secrets") or ()
    timeout = failure.get("command_timeout")
    if step in ("reload", "verify") and (result.get("rc") == TIMEOUT_EXIT
                                         or "expected time frame" in str(result.get("msg", ""))):
        detail = "it did not finish within %s seconds (token_rotation_command_timeout) and was stopped" % timeout
    elif result.get("rc") is not None:
        said = (result.get("stderr") or "").strip() or (result.get("stdout") or "").strip()
        detail = "exit code %s" % result["rc"] + (": " + scrub_output(said, secrets) if said else "")
    else:
        detail = scrub_output(result.get("msg") or "unknown error", secrets)
    held = failure.get("held")
    new = failure.get("new_client_id")
    if step == "write":
        holds = "its file still holds %s" % (
            "its previous token %s, which stays valid" % held if held else "no token (it held none before this run)")
    elif failure.get("path"):
        holds = "its file holds the new token %s" % new
    else:
        holds = "it holds the new token %s or its previous one, which stays valid" % new
    name, advice = _STEPS[step]
    advice %= {"path": failure.get("path") or "the consumer file", "tasks": failure.get("tasks")}
    return ("Consumer %s failed at %s: %s. Nothing was deleted: %s, and every other token of the family stays valid. "
            "Fix %s on %s and run the role again: the next run finishes the rotation."
            % (failure.get("host"), name, detail.rstrip("."), holds, advice, failure.get("host")))


def missing_actions(client_id, tokens, roles, needed=ROTATION_ACTIONS):
    """The actions of `needed` that the caller's token lacks (an enterprise- twin counts), from the token list and
    the role list; None when the caller's token is not in the list, so its roles cannot be told."""
    mine = [token for token in tokens or () if token.get("client_id") == client_id]
    if not mine:
        return None
    actions = set()
    for role in roles or ():
        if role.get("id") in mine[0].get("roles", ()):
            actions.update(role.get("actions") or ())
    return [action for action in needed
            if action not in actions and "enterprise-" + action[len("org-"):] not in actions]


def _age_text(seconds):
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
    retire_after, limit (the --limit text, or None). A store whose staged, not yet promoted, version (AWSPENDING)
    holds the newest token counts as holding it: promoting it is all that is left to do.
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
    consumers = files + stores
    needy = [host for host in consumers if held[host] not in (newest.get("client_id"), "unknown")]
    all_hold_newest = bool(consumers) and set(held.values()) == {newest.get("client_id")}
    young = min_age is not None and age is not None and age < min_age

    family_text = "'%s'" % situation.get("description")
    id_text = ", ".join(ids)
    held_text = ", ".join("%s holds %s" % (host, held[host]) for host in consumers) or "no consumer file"
    targets = ", ".join(list(situation.get("play_hosts") or ()) + stores) if hook else (", ".join(consumers) or "no consumer")
    if not family:
        action = "provision"
        reason = "Provision: the family %s has no token yet. Creating one with the roles %s and distributing it to %s." % (
            family_text, ", ".join(situation.get("roles") or ()), targets)
    elif expired:
        action = "rotate"
        reason = ("Rotate: the newest token of the family %s, %s, expired on %s, so every consumer that holds it is "
                  "refused; replacing it whatever token_rotation_min_age says. Creating a new token, distributing it "
                  "to %s, then deleting %s." % (family_text, newest["client_id"], newest.get("expiry"), targets,
                                                id_text))
    elif len(family) == 1 and young and not needy:
        action = "skip"
        reason = ("Skip: the only token of the family %s, %s, is %s old, younger than token_rotation_min_age (%s), and "
                  "every consumer holds it. Nothing changes." % (family_text, id_text, _age_text(age),
                                                                 situation.get("min_age")))
    elif len(family) > 1 and all_hold_newest and not hook:
        action = "complete"
        reason = ("Complete an unfinished rotation: the family %s has %d tokens (%s), and every consumer already holds "
                  "the newest, %s (%s). No new token: reloading and verifying the consumers, then retiring the others."
                  % (family_text, len(family), id_text, newest["client_id"], held_text))
    elif len(family) == 1:
        action = "rotate"
        reason = "Rotate: replacing %s (%s old) of the family %s%s. Creating a new token, distributing it to %s, then " \
                 "deleting %s." % (id_text, _age_text(age), family_text,
                                   ", although it is younger than token_rotation_min_age, because these consumers do "
                                   "not hold it: %s" % ", ".join(needy) if young else "", targets, id_text)
    else:
        action = "rotate"
        why = ("a distribute tasks file is set, whose destination the role cannot read" if hook and all_hold_newest
               else "the consumers do not all hold the newest (%s)" % held_text)
        reason = ("Rotate to finish an unfinished rotation: the family %s has %d tokens (%s) and %s. Creating a new "
                  "token, distributing it to %s, then deleting every other token of the family."
                  % (family_text, len(family), id_text, why, targets))

    others = ids[:-1] if action == "complete" else ids
    keep_message = None
    if situation.get("limit") and others:
        keep_message = ("Keeping %s: this run is limited (--limit %s), and consumers outside the limit may still hold "
                        "%s. Run the role without --limit to give every consumer the new token and retire %s."
                        % (", ".join(others), situation["limit"], _them(others), _them(others)))
    elif retire_after is not None and others and (age if action == "complete" else 0) < retire_after:
        keep_message = ("Keeping %s until the new token is %s old (token_rotation_retire_after): a later run deletes %s."
                        % (", ".join(others), situation.get("retire_after"), _them(others)))
    if situation.get("limit") and action != "skip":
        reason += " This run is limited (--limit %s): it deletes no token." % situation["limit"]
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


ACTION_DONE = {"provision": "provisioned", "rotate": "rotated", "complete": "completed", "skip": "skipped"}


def result(outcome):
    """token_rotation_result (client ids, hosts, timings; never a secret) and the closing summary line.

    outcome: description, plan, check_mode, new_client_id, created (the create's result, without its secret: token,
    expiry_source), deleted_client_ids, play_hosts, hook, marks ([step, unix time] in order; the last is the end)."""
    plan_ = outcome["plan"]
    ran = plan_["action"] != "skip" and not outcome.get("check_mode")
    new = outcome.get("new_client_id") if ran else None
    created = outcome.get("created") or {}
    updated = set(plan_["file_consumers"]) if ran else set()
    if ran and plan_["action"] != "complete" and outcome.get("hook"):
        updated.update(outcome.get("play_hosts") or ())
    stores_updated = list(plan_.get("stores") or ()) if ran else []
    marks = outcome.get("marks") or []
    timings = dict((step, round(marks[index + 1][1] - start, 3)) for index, (step, start) in enumerate(marks[:-1]))
    if marks:
        timings["total"] = round(marks[-1][1] - marks[0][1], 3)
    planned = ACTION_DONE[plan_["action"]]
    report = {
        "description": outcome.get("description"),
        "action": planned if ran else "skipped",
        "planned_action": planned,
        "check_mode": bool(outcome.get("check_mode")),
        "reason": plan_["reason"],
        "old_client_ids": [cid for cid in plan_["others"] if cid != new] if ran else [],
        "new_client_id": new,
        "new_expiry": (created.get("token") or {}).get("expiry") if ran else None,
        "expiry_source": created.get("expiry_source") if ran else None,
        "current_client_id": new if ran else plan_["newest_client_id"],
        "consumers_updated": sorted(updated),
        "stores_updated": stores_updated,
        "deleted_client_ids": list(outcome.get("deleted_client_ids") or []) if ran else [],
        "kept_client_ids": list(plan_["kept"]) if ran else [],
        "timings": timings,
    }
    parts = ["%s%s: family '%s', %s" % (
        report["action"].capitalize(),
        " (check mode: nothing was changed; this run would have %s)" % planned if report["check_mode"] else "",
        report["description"],
        "token %s" % new if new else "current token %s" % (report["current_client_id"] or "none"))]
    for label, key in (("held by", "consumers_updated"), ("in", "stores_updated"), ("deleted", "deleted_client_ids"),
                       ("kept", "kept_client_ids")):
        if report[key]:
            parts.append("%s %s" % (label, ", ".join(report[key])))
    parts.append("%s s" % timings.get("total", 0))
    return {"result": report, "summary": "; ".join(parts) + "."}
