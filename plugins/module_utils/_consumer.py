# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of one consumer of the token_rotation role, made on the controller by the astra_rotation_consumer action
plugin from what its module found on the consumer host (the module does the file work itself, in the standard
library only)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.astra.devops.plugins.module_utils._errors import one_line, scrub, shown

CONSUMER_FORMATS = ("raw", "env", "json", "template")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODE = re.compile(r"^0?[0-7][0-7]0$")
_DETAIL_MAX = 300


def consumer_problems(consumer):
    """Problems of one consumer's variables and of its file's place, found before anything is created.

    consumer: host, path, format, env_var, template, template_error (what rendering it with a placeholder token
    said, or None), mode, owner, owner_found, group, group_found, path_stat and dir_stat (the stat results of the
    file, without following a link, and of its folder), content_problem (why the module would not write the file back
    in its format: other values a raw file holds, a JSON array, a variable set twice; never the content), or None."""
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
    if consumer.get("content_problem") and fmt in CONSUMER_FORMATS:
        problems.append(consumer["content_problem"])
    for kind in ("owner", "group"):
        if consumer.get(kind) and consumer.get(kind + "_found") is False:
            problems.append("token_rotation_consumer_%s '%s' does not exist on this host." % (kind, shown(consumer[kind])))
    return ["Consumer %s: %s Nothing was changed." % (consumer.get("host"), " ".join(problems))] if problems else []


def file_content(new_token, fmt, env_var=None):
    """What a consumer file of the format raw, env or json holds (a template consumer's template is rendered by the
    astra_rotation_consumer action plugin)."""
    if fmt == "env":
        return "%s=%s\n" % (env_var, new_token["token"])
    if fmt == "json":
        return json.dumps({"clientId": new_token["client_id"], "secret": new_token["client_secret"],
                           "token": new_token["token"]}, indent=4) + "\n"
    return new_token["token"] + "\n"
