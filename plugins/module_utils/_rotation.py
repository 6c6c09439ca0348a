# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the token_rotation role decides, as plain functions: the checks of its variables and consumers, the lock
of a family, and the messages built from consumer output. The role's YAML only orchestrates; the filters in
plugins/filter/rotation.py call these, and the rules themselves (durations, descriptions, the API root, the scrub)
come from the other module_utils, never copied."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import re

from ansible_collections.astra.devops.plugins.module_utils._client import check_ca_path, normalise_base_url
from ansible_collections.astra.devops.plugins.module_utils._errors import (
    CLIENT_SECRET,
    TOKEN_HASH,
    AstraInputError,
    one_line,
    scrub,
    shown,
)
from ansible_collections.astra.devops.plugins.module_utils._records import parse_duration, resolve_expiry
from ansible_collections.astra.devops.plugins.module_utils._tokens import check_description

CONSUMER_FORMATS = ("raw", "env", "json", "template")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODE = re.compile(r"^0?[0-7][0-7]0$")
_WHOLE = re.compile(r"^\d+$")
_DETAIL_MAX = 300
# The actions a caller needs to rotate (an enterprise token holds the enterprise- twin of each).
ROTATION_ACTIONS = ("org-token-read", "org-token-write")
# Exit status of coreutils' timeout when the command ran out of time.
TIMEOUT_EXIT = 124


def caller_client_id(api_token):
    """The client id of an AstraCS:<clientId>:<hash> token ('' when it is not one); the token itself is not kept."""
    parts = api_token.split(":") if isinstance(api_token, str) else []
    return parts[1] if len(parts) == 3 and parts[0] == "AstraCS" and parts[1] else ""


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


def play_problems(settings):
    """Every problem of the role's variables and of the play's shape, as sentences (empty when all is well).

    settings: the role's variables under their names without the token_rotation_ prefix, and what only the play
    knows: debug (ansible-core's debug mode), play_hosts, batch_hosts, failed_hosts, limit, consumer_paths (how many
    consumers have a file), distribute_tasks_found."""
    problems = []
    if settings.get("debug"):
        problems.append(
            "ansible-core's debug mode is on (ANSIBLE_DEBUG, or debug in ansible.cfg): it prints every module's "
            "arguments and results whatever no_log says, so the API token, the new token and its client secret would "
            "be in the output. Turn it off to rotate; use -v to -vvvv, which keep no_log.")
    description = settings.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append("token_rotation_description must be set to the description shared by the tokens of the "
                        "family to rotate, got none.")
    else:
        _collect(problems, check_description, description, "token_rotation_description")
    if not caller_client_id(settings.get("api_token")):
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
    if settings.get("distribute_tasks") is not None and not settings.get("distribute_tasks_found"):
        problems.append("token_rotation_distribute_tasks must be the path of an existing tasks file (absolute, or "
                        "relative to the role or the playbook), got '%s'." % shown(settings["distribute_tasks"]))
    if settings.get("retire_after") is not None:
        if settings.get("distribute_tasks") is not None:
            problems.append(
                "token_rotation_retire_after cannot be combined with token_rotation_distribute_tasks: the role cannot "
                "see what a distribute tasks file delivered, so a later run could not tell a finished rotation from "
                "an interrupted one. Use token_rotation_grace_period instead.")
        elif not settings.get("consumer_paths"):
            problems.append(
                "token_rotation_retire_after needs at least one consumer with token_rotation_consumer_path: the role "
                "reads those files to tell a finished rotation from an interrupted one. Use "
                "token_rotation_grace_period instead.")
    if len(settings.get("batch_hosts") or ()) != len(settings.get("play_hosts") or ()):
        problems.append(
            "The play runs its hosts in batches (serial): every consumer must be in the same run, or each batch would "
            "mint its own token and delete the one the other batches hold. Remove serial from the play.")
    if settings.get("limit") and not settings.get("allow_limit"):
        problems.append(
            "The play runs with --limit (%s): consumers outside the limit would not get the new token. Run without "
            "--limit, or set token_rotation_allow_limit=true to update only these consumers; such a run never "
            "deletes a token, and a later run without --limit retires the old ones." % shown(settings["limit"]))
    if settings.get("failed_hosts"):
        problems.append("These consumers already failed or were unreachable before the role started: %s. Nothing was "
                        "changed; fix them and run again." % ", ".join(settings["failed_hosts"]))
    return problems


def _option_error(check, value, generic, option):
    """Run a shared check whose messages name a module option, and name the role's variable instead."""
    try:
        return check(value)
    except AstraInputError as error:
        error.message = error.message.replace(generic, option, 1)
        raise


def consumer_problems(consumer):
    """Problems of one consumer's variables and of its file's place, found before anything is created.

    consumer: host, path, format, env_var, template, template_error (what rendering it with a placeholder token
    said, or None), mode, owner, owner_found, group, group_found, path_stat and dir_stat (the stat results of the
    file, without following a link, and of its folder)."""
    path = consumer.get("path")
    if not path:
        return []
    problems = []
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
        return ["token_rotation_consumer_path must be the absolute path of a file, got '%s'." % shown(path)]
    stat = consumer.get("path_stat") or {}
    if stat.get("exists"):
        if stat.get("islnk"):
            problems.append(
                "token_rotation_consumer_path %s is a symbolic link (to %s): the role writes the token file itself "
                "and never through a link, which could change another file. Give the path of the file the "
                "application reads." % (path, shown(stat.get("lnk_source") or stat.get("lnk_target") or "?")))
        elif stat.get("isdir"):
            problems.append("token_rotation_consumer_path %s is a folder: give the path of the token file in it "
                            "(for example %s/astra-token)." % (path, path.rstrip("/")))
        elif not stat.get("isreg", True):
            problems.append("token_rotation_consumer_path %s is not a regular file (a device, socket or pipe)."
                            % path)
    elif not (consumer.get("dir_stat") or {}).get("isdir"):
        problems.append("token_rotation_consumer_path must be in an existing folder, got '%s', whose folder does not "
                        "exist on this host." % path)
    fmt = consumer.get("format")
    if fmt not in CONSUMER_FORMATS:
        problems.append("token_rotation_consumer_format must be one of %s, got '%s'."
                        % (", ".join(CONSUMER_FORMATS), shown(fmt)))
    elif fmt == "env" and not _ENV_VAR.match(str(consumer.get("env_var"))):
        problems.append("token_rotation_consumer_env_var must be a variable name (letters, digits, _), got '%s'."
                        % shown(consumer.get("env_var")))
    elif fmt == "template":
        if not consumer.get("template"):
            problems.append("token_rotation_consumer_template must be set to a template file when "
                            "token_rotation_consumer_format is template, got none.")
        elif consumer.get("template_error"):
            # What the lookup said, without ansible-core's preamble about the task and the lookup.
            said = re.sub(r"^.*(?:failed: |Error while resolving value for '[^']*': )", "", str(consumer["template_error"]))
            problems.append("token_rotation_consumer_template must be a readable template file on the controller "
                            "(absolute, or in the templates folder of the role or the playbook) that renders, got "
                            "'%s': %s" % (shown(consumer["template"]), one_line(scrub(said), _DETAIL_MAX).rstrip(".") + "."))
    mode = consumer.get("mode")
    if not isinstance(mode, str) or not _MODE.match(mode):
        problems.append(
            "token_rotation_consumer_mode must be a quoted octal mode that gives others no access, such as '0600' or "
            "'0640', got '%s'%s." % (shown(mode), " (a number: quote it)" if isinstance(mode, int) else ""))
    for kind in ("owner", "group"):
        if consumer.get(kind) and consumer.get(kind + "_found") is False:
            problems.append("token_rotation_consumer_%s '%s' does not exist on this host." % (kind, shown(consumer[kind])))
    return ["Consumer %s: %s Nothing was changed." % (consumer.get("host"), " ".join(problems))] if problems else []


def lock_path(lock_dir, api_url, org_id, description):
    """The lock file of a family: keyed on the API root and the organization, never on the text the user typed."""
    key = "%s|%s|%s" % (normalise_base_url(api_url), org_id or "", description)
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
    # Also secrets the run does not know, such as the client secret in a consumer's previous JSON file.
    text = CLIENT_SECRET.sub("<hidden>", TOKEN_HASH.sub("<hidden>", scrub(text)))
    return one_line(text, limit)


_STEP_ADVICE = {
    "write": "the path, owner, group or mode of %(path)s",
    "reload": "the reload command (token_rotation_consumer_reload_command)",
    "distribute": "the distribute tasks file (%(tasks)s)",
    "verify": "the verify command (token_rotation_consumer_verify_command), or what it checks,",
}
_STEP_NAMES = {
    "write": "writing the token file",
    "reload": "the reload command",
    "distribute": "the distribute tasks file",
    "verify": "the verify command",
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
    advice = _STEP_ADVICE[step] % {"path": failure.get("path") or "the consumer file", "tasks": failure.get("tasks")}
    return ("Consumer %s failed at %s: %s. Nothing was deleted: %s, and every other token of the family stays valid. "
            "Fix %s on %s and run the role again: the next run finishes the rotation."
            % (failure.get("host"), _STEP_NAMES[step], detail.rstrip("."), holds, advice, failure.get("host")))


def missing_actions(caller_client_id_, tokens, roles, needed=ROTATION_ACTIONS):
    """The actions of `needed` that the caller's token lacks (an enterprise- twin counts), from the token list and
    the role list; None when the caller's token is not in the list, so its roles cannot be told."""
    mine = [token for token in tokens or () if token.get("client_id") == caller_client_id_]
    if not mine:
        return None
    actions = set()
    for role in roles or ():
        if role.get("id") in mine[0].get("roles", ()):
            actions.update(role.get("actions") or ())
    return [action for action in needed
            if action not in actions and "enterprise-" + action[len("org-"):] not in actions]
