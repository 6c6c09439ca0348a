# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of the token_rotation role's inputs, and the messages it builds: play_problems and play_warnings (the
role's variables and the play's shape, for the astra_rotation_validate action), missing_actions (what the caller's
token lacks), consumer_failure and scrub_output (a consumer that did not take the new token). The rules themselves
(durations, descriptions, the API root, the scrub) come from the other module_utils, never copied."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.astra.devops.plugins.module_utils._errors import (
    CLIENT_SECRET,
    DEBUG_REFUSED,
    KEPT_FILES_REFUSED,
    TOKEN_HASH,
    AstraInputError,
    hide_fragments,
    one_line,
    scrub,
    secret_parts,
    shown,
)
from ansible_collections.astra.devops.plugins.module_utils._records import now, parse_duration, resolve_expiry
from ansible_collections.astra.devops.plugins.module_utils._rotation_plan import age_text
from ansible_collections.astra.devops.plugins.module_utils._tokens import check_description, client_id_of
from ansible_collections.astra.devops.plugins.module_utils._urls import check_ca_path, normalise_base_url

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
    from ansible_collections.astra.devops.plugins.module_utils._store_entries import parse_stores  # pylint: disable=import-outside-toplevel
    return parse_stores(entries)


def play_problems(settings):
    """Every problem of the role's variables and of the play's shape, as sentences (empty when all is well).

    settings: the role's variables under their names without the token_rotation_ prefix, and what only the play
    knows: debug (ansible-core's debug mode), play_hosts, batch_hosts, failed_hosts, limit and unlimited_play_hosts
    (see effective_limit), consumer_paths (how many consumers have a file), distribute_tasks_found, and the AWX job's
    awx_job_template_name and awx_workflow_job_name. stores is token_rotation_stores, as written."""
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
    for name in ("min_age", "renew_before", "retire_after"):
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
    if effective_limit(settings) and not settings.get("allow_limit"):
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


GROUP_DEFAULTS = "group/astra.devops.astra"


def group_defaults_problems(settings, group_defaults):
    """The play's module_defaults for the collection's action group give api_url or api_token, which the role does not
    use (it calls with token_rotation_api_url and token_rotation_api_token, from ASTRA_API_URL and ASTRA_API_TOKEN by
    default): a value other than the role's would send the role's calls, with its token, elsewhere than the play
    means. group_defaults: those two, as the play gives them (templated; missing when not given). Never shows a
    token."""
    problems = []
    given_url = group_defaults.get("api_url")
    if given_url is not None:
        try:
            differs = normalise_base_url(given_url) != normalise_base_url(settings.get("api_url"))
        except AstraInputError:
            differs = True
        if differs:
            problems.append(
                "The play's module_defaults for %s give api_url %s, but the role calls token_rotation_api_url (%s), "
                "which comes from ASTRA_API_URL or the public API by default, not from module_defaults: set "
                "token_rotation_api_url (and token_rotation_api_token) for the role. Nothing was changed."
                % (GROUP_DEFAULTS, shown(given_url), shown(settings.get("api_url") or "unset")))
    given_token = group_defaults.get("api_token")
    if given_token is not None and given_token != settings.get("api_token"):
        problems.append(
            "The play's module_defaults for %s give an api_token that is not the role's token_rotation_api_token "
            "(which comes from ASTRA_API_TOKEN by default, not from module_defaults): set token_rotation_api_token "
            "for the role. Nothing was changed." % GROUP_DEFAULTS)
    return problems


def effective_limit(settings):
    """The --limit of the run (settings' limit), or None when there is none or it selects every host of the play:
    ansible-rulebook's run_playbook passes a rulebook's hosts as --limit (hosts: all gives --limit all), which leaves
    no consumer out. unlimited_play_hosts: the hosts the play's pattern selects without the limit (None: unknown,
    and the limit counts); play_hosts and failed_hosts: those it runs on with the limit."""
    limit = settings.get("limit")
    unlimited = settings.get("unlimited_play_hosts")
    if not limit or unlimited is None:
        return limit or None
    selected = set(settings.get("play_hosts") or ()) | set(settings.get("failed_hosts") or ())
    return None if set(unlimited) <= selected else limit


def steps_in_line(strategy):
    """Whether a strategy plugin runs each task on every host before the next (linear and its drop-ins such as
    mitogen_linear), as the role's run-once steps need; free and host_pinned (and their mitogen_ twins) do not."""
    name = str(strategy).rsplit(".", 1)[-1]
    return not (name in ("free", "host_pinned") or name.endswith(("_free", "_host_pinned")))


def play_warnings(settings):
    """What may go wrong although nothing is refused, as sentences: a token_rotation_min_age that is not shorter
    than the lifetime token_rotation_expiry gives, so every scheduled run would skip until the token has expired (an
    expired newest token is replaced whatever min_age says, but its consumers are refused until then); a
    token_rotation_renew_before that is not shorter than that lifetime, so every run would rotate."""
    warnings = []
    if settings.get("expiry") is None:
        return warnings
    try:
        instant, relative = resolve_expiry(str(settings["expiry"]), "token_rotation_expiry")
        durations = dict((name, parse_duration(settings[name], "token_rotation_" + name))
                         for name in ("min_age", "renew_before") if settings.get(name) is not None)
    except AstraInputError:  # reported by play_problems
        return warnings
    lifetime = parse_duration(settings["expiry"], "token_rotation_expiry") if relative else instant - now()
    lifetime_text = "(token_rotation_expiry %s, %s)" % (settings["expiry"], age_text(lifetime.total_seconds()))
    if "min_age" in durations and durations["min_age"] >= lifetime:
        warnings.append(
            "token_rotation_min_age (%s) is not shorter than the lifetime of the new token %s: a scheduled run would "
            "skip while the token is younger than min_age, so its consumers would hold an expired token until a run "
            "replaces it. Set min_age well below the lifetime (for example half)." % (settings["min_age"], lifetime_text))
    if "renew_before" in durations and durations["renew_before"] >= lifetime:
        warnings.append(
            "token_rotation_renew_before (%s) is not shorter than the lifetime of the new token %s: every run would "
            "rotate, since a new token already expires within renew_before. Set renew_before well below the lifetime."
            % (settings["renew_before"], lifetime_text))
    return warnings


def _option_error(check, value, generic, option):
    """Run a shared check whose messages name a module option, and name the role's variable instead."""
    try:
        return check(value)
    except AstraInputError as error:
        error.message = error.message.replace(generic, option, 1)
        raise


def scrub_output(text, secrets, limit=_DETAIL_MAX):
    """Command output fit for a message: every secret of the run removed (whole, and its hash part alone) before the
    text is cut, so a cut never leaves part of a secret; one line."""
    values = set()
    for secret in secrets or ():
        if isinstance(secret, str) and secret:
            values.update([secret] + secret_parts(secret))
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
