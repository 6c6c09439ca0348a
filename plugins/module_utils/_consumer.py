# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of one consumer of the token_rotation role, made on the controller by the astra_rotation_consumer action
plugin from what its module found on the consumer host (the module does the file work itself, in the standard
library only); and the value rule (new_content, held) of consumer files and secret stores, between the markers."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.astra.devops.plugins.module_utils._errors import TOKEN_IN_TEXT, one_line, scrub, shown

CONSUMER_FORMATS = ("raw", "env", "json", "template")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODE = re.compile(r"^0?[0-7][0-7]0$")
_DETAIL_MAX = 300


# BEGIN value rule
# The one rule that turns a current value and a new token into the new value, and reads which token a value holds,
# for consumer files and secret stores alike. Canonical in plugins/module_utils/_consumer.py (the stores use it there);
# plugins/modules/astra_rotation_consumer.py holds a verbatim copy, because that WANT_JSON module runs as a plain
# script on the consumer and can import nothing of the collection. The unit test test_value_format.py fails when the
# two copies differ: change both. Standard library only (json, re), and TOKEN_IN_TEXT, the token pattern of
# _errors.py, which the module copies above its block (the same test checks that copy).
# One line of an env file that sets a variable: NAME=value or export NAME=value, spaces allowed around them.
_ASSIGNMENT = re.compile(r"^(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<eq>[ \t]*=)"
                         r"(?P<rest>.*)$", re.S)
# What follows its '=': the value, bare or quoted, on that one line, then nothing or a comment after a space.
_ENV_VALUE = re.compile(r"""^(?P<pre>[ \t]*)"""
                        r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|(?P<bare>(?:[^\s'"\\#][^\s'"\\]*)?))"""
                        r"(?P<tail>[ \t]*|[ \t]+#.*)$", re.S)
_JSON_KEYS = ("clientId", "secret", "token")
# A UTF-8 byte order mark some editors put before the first line: not part of that line's variable, kept as it is.
_BOM = "\ufeff"
_KEEP_JSON = ("To keep it, use format json (clientId, secret and token written into the JSON object, its other keys "
              "kept), for a secret store also astra_integration, for a file template.")
# What a value is judged writable with, in the exact form the write will give it.
PLACEHOLDER = {"token": "AstraCS:PLACEHOLDER:" + "0" * 64, "client_id": "PLACEHOLDER", "client_secret": "PLACEHOLDER"}


class ShapeError(ValueError):
    """The value holds something its format would not write back as it is (other lines in a raw value, a JSON array,
    the variable set twice). The message says what (line numbers, JSON types, key names), never a value."""


def _is_token(value):
    return isinstance(value, str) and TOKEN_IN_TEXT.fullmatch(value) is not None


def _env_lines(text, env_var):
    """(lines, [(index, match of the value)] of the variable's lines): each line without its '\n'; a value that is
    not of a form the role rewrites raises ShapeError naming the line."""
    lines = text.split("\n")
    found = []
    for index, line in enumerate(lines):
        if index == 0 and line.startswith(_BOM):
            line = line[len(_BOM):]
        assignment = _ASSIGNMENT.match(line[:-1] if line.endswith("\r") else line)
        if not assignment or assignment.group("name") != env_var:
            continue
        value = _ENV_VALUE.match(assignment.group("rest"))
        if not value:
            raise ShapeError(
                "sets %s on line %d in a form the role does not rewrite: accepted are NAME=value and export "
                "NAME=value, the value bare or in single or double quotes, on one line, then nothing or a # comment."
                % (env_var, index + 1))
        found.append((index, assignment, value))
    if len(found) > 1:
        numbers = [str(index + 1) for index, _assignment, _value in found]
        raise ShapeError("sets %s on lines %s and %s: the role cannot tell which one the application reads. Keep one "
                         "of them." % (env_var, ", ".join(numbers[:-1]), numbers[-1]))
    return lines, found


def _keys(data):
    """The keys of a JSON object as a message shows them: sorted, at most 12, each cut to 40 characters, a
    token-shaped part or a control character hidden."""
    names = sorted(re.sub(r"[\x00-\x1f\x7f]", "?", TOKEN_IN_TEXT.sub("<token>", str(key))) for key in data)
    names = [name if len(name) <= 40 else name[:37] + "..." for name in names]
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")


def _json_shape(text):
    """'a JSON object with the keys ...' or 'a JSON array' when the text is one (what a raw or env value must not
    be), else None."""
    stripped = text.strip().lstrip(_BOM)
    if stripped[:1] not in ("{", "["):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(data, dict):
        return "a JSON object with the keys %s" % _keys(data) if data else "an empty JSON object"
    return "a JSON array" if isinstance(data, list) else None


def _json_object(text, keys=_JSON_KEYS):
    """The JSON object a json value holds ({} when it is empty); ShapeError for anything else, or for one of keys (the
    ones the role writes) holding something other than a string."""
    if not text.strip():
        return {}

    def pairs(items):
        if len(set(key for key, _value in items)) < len(items):
            raise ShapeError("has the same key twice in one object, which writing it back would lose: keep one.")
        return dict(items)

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except ValueError as error:
        if isinstance(error, ShapeError):
            raise
        data = ShapeError
    if not isinstance(data, dict):
        raise ShapeError(
            "is not a JSON object but %s: the role writes %s and %s into a JSON object and keeps its other keys. Use "
            "format template for a file of another shape; in a secret store, keep the token in a value of its own."
            % (_json_kind(data), ", ".join(keys[:-1]), keys[-1]))
    for key in keys:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ShapeError("holds %s under the key %s, where the role writes a string. Use format template for a "
                             "file of another shape." % (_json_kind(data[key]), key))
    return data


def _json_kind(value):
    """What a JSON value is, in words (never the value)."""
    if value is ShapeError:
        return "text that is not JSON"
    for kind, name in ((bool, "a JSON boolean"), (dict, "a JSON object"), (list, "a JSON array"),
                       (str, "a JSON string"), ((int, float), "a JSON number")):
        if isinstance(value, kind):
            return name
    return "JSON null"


def _raw_refusal(text):
    """Why a raw value is not one token (None when it is empty or holds one)."""
    stripped = text.strip()
    if not stripped or _is_token(stripped):
        return None
    what = _json_shape(stripped)
    if not what:
        lines = [line for line in stripped.splitlines() if line.strip()]
        what = "%d lines" % len(lines) if len(lines) > 1 else \
            "a NAME=value line" if _ASSIGNMENT.match(stripped) else "a value that is not an Astra token"
    return ("holds something other than one token (%s), which format raw would replace with the bare token. To keep "
            "its other values, use format env (the token on a NAME=token line), format json (clientId, secret and "
            "token in a JSON object, its other keys kept), for a secret store also astra_integration, for a file "
            "template; if the value is only the token's, empty it." % what)


def new_content(text, fmt, env_var, new_token):
    """The new text of a value: new_token (token, client_id, client_secret) put into its current text in the format
    fmt (raw, env or json), every other value kept as it was; an empty text gets what an empty file always got (with a
    final newline: a store drops it). Raises ShapeError when the text holds something the format cannot write back as
    it is."""
    if fmt == "env":
        shape = _json_shape(text)
        if shape:
            raise ShapeError("is %s, not NAME=value lines: format env would add a NAME=token line to it, which breaks "
                             "it. %s" % (shape, _KEEP_JSON))
        lines, found = _env_lines(text, env_var)
        if not text.strip():
            return "%s=%s\n" % (env_var, new_token["token"])
        if not found:
            newline = "\r\n" if lines[0].endswith("\r") else "\n"
            return text + ("" if text.endswith("\n") else newline) + "%s=%s%s" % (env_var, new_token["token"], newline)
        index, assignment, value = found[0]
        quote = '"' if value.group("dq") is not None else "'" if value.group("sq") is not None else ""
        bom = _BOM if index == 0 and lines[0].startswith(_BOM) else ""
        lines[index] = "".join((bom, assignment.group("lead"), env_var, assignment.group("eq"), value.group("pre"),
                                quote, new_token["token"], quote, value.group("tail"),
                                "\r" if lines[index].endswith("\r") else ""))
        return "\n".join(lines)
    if fmt == "json":
        data = _json_object(text)
        data.update((("clientId", new_token["client_id"]), ("secret", new_token["client_secret"]),
                     ("token", new_token["token"])))
        return json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    problem = _raw_refusal(text)
    if problem:
        raise ShapeError(problem)
    return new_token["token"] + "\n"


def held_token(text, fmt, env_var):
    """The token the value holds where its format keeps it (the env variable's line, the json key token, the whole
    raw value; anywhere in a template's file), or None. Another variable's or key's token is not the one held."""
    try:
        if fmt == "env":
            _lines, found = _env_lines(text, env_var)
            value = found[0][2] if found else None
            token = value and next(group for group in value.group("dq", "sq", "bare") if group is not None)
        elif fmt == "json":
            token = _json_object(text).get("token")
        elif fmt == "raw":
            token = text.strip()
        else:
            match = TOKEN_IN_TEXT.search(text)
            token = match.group(0) if match else None
    except ShapeError:
        return None
    return token if _is_token(token) else None


def held(text, fmt, env_var):
    """(held, token): the client id held, 'missing' (no value: text None) or 'unknown' (no token where the format
    keeps it); and that token (a secret: for the role's probes and scrubs only)."""
    if text is None:
        return "missing", None
    token = held_token(text, fmt, env_var)
    return (token.split(":")[1], token) if token else ("unknown", None)


def tokens_besides(text, token):
    """The client ids of the AstraCS tokens in text, each once and in their order, one occurrence of token (the one
    held where the format keeps it; None for none) left out."""
    ids = []
    for match in TOKEN_IN_TEXT.finditer(text):
        if token is not None and match.group(0) == token:
            token = None
            continue
        if match.group(1) not in ids:
            ids.append(match.group(1))
    return ids


def other_client_ids(text, fmt, env_var):
    """The client ids of the tokens a value holds besides the one where its format keeps it (another variable or a
    comment of an env value, a nested key or a list of a json one): the role rewrites only that place, so any other
    would keep a token the role then deletes. [] for a template, which the role writes whole, and for no value."""
    if fmt == "template" or not isinstance(text, str):
        return []
    return tokens_besides(text, held_token(text, fmt, env_var))


# END value rule


def consumer_problems(consumer):
    """Problems of one consumer's variables and of its file's place, found before anything is created.

    consumer: host, path, format, env_var, template, template_error (what rendering it with a placeholder token
    said, or None), mode, owner, owner_found, group, group_found, path_stat and dir_stat (the stat results of the
    file, without following a link, and of its folder), content_problem (why the module would not write the file back
    in its format: other values a raw file holds, a JSON array, a variable set twice; never the content), or None;
    owner_problem (why the new file could not keep the file's owner and group), or None."""
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
        elif (stat.get("nlink") or 1) > 1:
            problems.append(
                "token_rotation_consumer_path %s has %d hard links: the role writes a new file and renames it over "
                "this one, so the file's other names would keep the old token, which the role then deletes. Give the "
                "path the application reads, or make it a single file (remove its other names)."
                % (path, stat["nlink"]))
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
    if consumer.get("owner_problem"):
        problems.append(consumer["owner_problem"])
    for kind in ("owner", "group"):
        if consumer.get(kind) and consumer.get(kind + "_found") is False:
            problems.append("token_rotation_consumer_%s '%s' does not exist on this host." % (kind, shown(consumer[kind])))
    return ["Consumer %s: %s Nothing was changed." % (consumer.get("host"), " ".join(problems))] if problems else []


def file_content(new_token, fmt, env_var=None):
    """What a new consumer file of the format raw, env or json holds (a template consumer's template is rendered by the
    astra_rotation_consumer action plugin): the value rule's content of an empty file."""
    return new_content("", fmt, env_var, new_token)
