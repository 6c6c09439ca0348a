#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_rotation_consumer
short_description: One consumer's token file, for the astra.devops.token_rotation role (internal)
version_added: 1.1.0
description:
  - Internal to the C(astra.devops.token_rotation) role; not meant for playbooks, and its options may change.
  - The role runs it once per consumer to observe and once to write; each is one module run on the consumer, so a
    rotation's cost grows as little as possible with its consumers.
  - Runs on the consumer's Python without the Astra client (no C(requests) needed there).
  - Its action plugin checks the options and decides on the controller; this module only does the consumer's file
    work. It is a C(WANT_JSON) module that imports nothing but the standard library, which makes a run on the consumer
    about a sixth of the CPU of a module built on C(ansible.module_utils.basic) (see the collection's performance
    guide), and keeps the role's cost per consumer low.
  - O(action=observe) looks at the file without following a link, checks the consumer's variables against it (folder,
    link, owner and group on this host, format, mode), fails with one line naming the consumer when one is wrong, and
    reads which token the file holds (with O(format=env) the value of the O(env_var) line, with O(format=json) the
    key C(token), with O(format=raw) the whole file, with O(format=template) the first C(AstraCS:) token in it;
    another variable's or key's token is never taken for the one held). It also sets the host fact
    C(token_rotation_held_client_id), the client id of the token the file holds, or null, and returns in
    RV(also_held) the client ids of the tokens the file holds in other places, which a write would not change.
  - O(action=observe) refuses a file with other hard links (the write's rename would cut them, and their names would
    keep the old token), and a UTF-8 byte order mark before an C(env) file's first line is not part of its name
    (and is kept by the write).
  - O(action=observe) also judges the file writable in the exact form O(action=write) will give it, by building that
    content from the file with a placeholder token, so that nothing is created for a file the write would refuse. It
    refuses, in one line naming the path and the format and never showing a value (at most a JSON object's key
    names), a C(raw) file that holds anything but one token (other lines, a JSON value, a C(NAME=value) line), a
    C(json) file that is not a JSON object (or holds C(clientId), C(secret) or C(token) as something other than a
    string, or a key twice in one object), an C(env) file that sets the variable on more than one line or in a form
    the module does not rewrite, or is a JSON object or array, and a C(raw), C(env) or C(json) file larger than 1 MiB.
  - Secret stores (C(token_rotation_stores)) follow the same rule for C(raw), C(env) and C(json). The functions that
    build the content and read the token held are those of the collection's C(module_utils/_consumer.py), copied here
    verbatim (this module imports nothing of the collection); a unit test keeps the two identical.
  - The module deletes the arguments file ansible-core gave it (it holds the new token with O(action=write)) as soon as
    it has read it, so a controller killed before its clean-up leaves no copy of the token in the remote temporary
    folder.
  - O(action=write) writes O(new_token) in O(format) atomically. A temporary file in the same folder gets the content,
    owner, group and mode first, then replaces the file in one rename, so no reader sees a partial file or one others
    may read.
  - With O(format=raw), O(format=env) or O(format=json), the module builds the content itself, on the consumer, from
    the file as it is at the write, so that no value an application had in the file is lost. C(raw) is the token and
    a newline. C(env) replaces only the value of the O(env_var) line and keeps every other line as it was (other
    variables, comments, blank lines, their order, C(CRLF) line ends); the line may be C(NAME=value) or
    C(export NAME=value), with spaces around the C(=), the value bare or in single or double quotes, then nothing or a
    C(#) comment after a space, and keeps its form; a file without the variable gets C(NAME=token) appended. C(json)
    sets C(clientId), C(secret) and C(token) in the file's JSON object and keeps its other keys and their order (the
    file is written back with an indent of 4). An empty or missing file gets what it always got (C(NAME=token), or an
    object of the three keys). A file that changed shape since it was observed is refused, not overwritten. With
    O(format=template), the action plugin renders the whole file on the controller and hands it over as O(content).
attributes:
  check_mode:
    support: partial
    details: O(action=observe) reads in check mode too; O(action=write) writes nothing in check mode.
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    support: none
    description: The file holds a secret, so there is never a diff.
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [observe, write]
  path:
    description: The consumer file (the role's C(token_rotation_consumer_path)).
    type: str
    required: true
  host:
    description: The consumer's name in messages.
    type: str
  format:
    description: C(token_rotation_consumer_format), checked by O(action=observe) and used by O(action=write).
    type: str
  env_var:
    description: C(token_rotation_consumer_env_var), checked by O(action=observe) and used by O(action=write).
    type: str
  template:
    description:
      - C(token_rotation_consumer_template), checked by O(action=observe) and rendered by O(action=write) when
        O(format=template). The action plugin renders it on the controller, with the host's variables, in both
        steps. To observe, it uses a placeholder token that works nowhere, so that a template error stops the run
        before any token is created; to write, O(new_token).
    type: str
  mode:
    description: The file's mode, a quoted octal string such as C('0600').
    type: raw
    default: '0600'
  owner:
    description:
      - The file's owner (a name or a uid).
      - Omitted, an existing file keeps its owner (as ansible-core's C(atomic_move)), so that a file the application
        owns stays readable by it; a new file gets the writing user. O(action=observe) refuses a file whose owner the
        writing user cannot give (it is not root and the file is not its own).
    type: str
  group:
    description:
      - The file's group (a name or a gid).
      - Omitted, an existing file keeps its group (as ansible-core's C(atomic_move)); a new file gets the writing
        user's. O(action=observe) refuses a file whose group the writing user cannot give (it is not root and not a
        member of that group).
    type: str
  new_token:
    description:
      - With O(action=write), the new token (C(token), C(client_id), C(client_secret)). With O(format=template) the
        action plugin renders O(template) with it (as C(token_rotation_new_token)) and hands the module the result as
        O(content); with the other formats the module puts it into the file's current content. A secret, never logged
        or returned.
    type: dict
  content:
    description:
      - What O(action=write) writes, whole, with O(format=template). The action plugin sets it from O(new_token); the
        role never gives it. A secret, never logged or returned.
    type: str
author:
  - Astra DevOps maintainers (@astra-devops)
'''

EXAMPLES = r'''
- name: Learn which token this consumer holds (the result holds the token itself, so no_log)
  astra.devops.astra_rotation_consumer:
    action: observe
    path: /etc/app/astra-token
    host: "{{ inventory_hostname }}"
    format: raw
    mode: '0600'
  register: observed
  no_log: true

- name: Put a new token on the ASTRA_DB_APPLICATION_TOKEN line of an env file, keeping its other lines
  astra.devops.astra_rotation_consumer:
    action: write
    path: /etc/app/app.env
    format: env
    env_var: ASTRA_DB_APPLICATION_TOKEN
    new_token: "{{ new_token }}"  # token, client_id, client_secret
    mode: '0600'
  no_log: true
  diff: false
'''

RETURN = r'''
held:
  description: With O(action=observe), the client id of the token the file holds where O(format) keeps it (the
    O(env_var) line, the key C(token), the whole C(raw) file), V(missing) when there is no file yet, or V(unknown)
    when it holds no token there.
  returned: action is observe
  type: str
  sample: BOjPpMRcaWergiKIyHXEAymP
also_held:
  description: With O(action=observe), the client ids of the tokens the file holds besides the one where O(format)
    keeps it (another variable or a comment of an C(env) file, a nested key or a list of a C(json) file; always empty
    for C(template), whose file the write renders whole). A write would leave them as they are, so the role refuses a
    run when one of them is of the family being rotated. Client ids only, never a token.
  returned: action is observe
  type: list
  elements: str
  sample: []
held_token:
  description: With O(action=observe), the token the file holds, for the role's probes on the controller. A secret.
  returned: action is observe and the file holds a token
  type: str
'''

# WANT_JSON
# The marker above makes ansible-core run this file as it is, with the path of a JSON file of its arguments: no
# AnsiballZ payload and no ansible.module_utils import. So it imports only the standard library (the checks of the
# consumer's variables are made by the action plugin of the same name, module_utils/_consumer.py, on the controller).
# What it checks itself is the file's content, which only the consumer has: the token it holds where its format keeps
# it, and whether its format can write it back without losing a value (new_content, used by both steps).

import errno
import json
import os
import re
import stat
import sys

_WHOLE = re.compile(r"^\d+$")
# A token file is small; reading more than this would only be a mistake (a wrong path).
READ_LIMIT = 1024 * 1024
# The formats whose content the module builds from the current file (a template is rendered on the controller).
BUILT_FORMATS = ("raw", "env", "json")

# The token pattern of module_utils/_errors.py (TOKEN_IN_TEXT), copied: this module can import nothing of the
# collection. test_value_format.py fails when the copy differs.
TOKEN_IN_TEXT = re.compile(r"AstraCS:([A-Za-z0-9]+):[0-9A-Fa-f]+")


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


def read_text(path):
    """The file's text (bytes that are not UTF-8 kept as they are, for writing back), never through a link; and
    whether it is larger than READ_LIMIT (then only its start is read)."""
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(handle, "rb") as stream:
        data = stream.read(READ_LIMIT + 1)
    return data[:READ_LIMIT].decode("utf-8", "surrogateescape"), len(data) > READ_LIMIT


def content_problem(path, text, too_large, fmt, env_var):
    """Why the file cannot be written back in its format, in one line naming the path and the format; or None."""
    if fmt not in BUILT_FORMATS or (fmt == "env" and not env_var):
        return None
    if too_large:
        problem = "is larger than 1 MiB, too large for a token file (a wrong path?)."
    else:
        try:
            new_content(text, fmt, env_var, PLACEHOLDER)
            return None
        except ShapeError as error:
            problem = str(error)
    return "token_rotation_consumer_path %s (format %s) %s" % (path, fmt, problem)


# The options; the action plugin checks a task's arguments against them on the controller.
ARGUMENT_SPEC = dict(
    action=dict(type="str", required=True, choices=["observe", "write"]),
    path=dict(type="str", required=True),
    host=dict(type="str"),
    format=dict(type="str"),
    env_var=dict(type="str"),
    template=dict(type="str"),
    mode=dict(type="raw", default="0600"),
    owner=dict(type="str"),
    group=dict(type="str"),
    content=dict(type="str", no_log=True),
    new_token=dict(type="dict", no_log=True),
)


def path_stat(path):
    """The facts of the file, without following a link, and of its folder when the file does not exist."""
    try:
        info = os.lstat(path)
    except OSError as error:
        if error.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise
        return {"exists": False}, {"isdir": os.path.isdir(os.path.dirname(path))}
    found = {"exists": True, "islnk": stat.S_ISLNK(info.st_mode), "isdir": stat.S_ISDIR(info.st_mode),
             "isreg": stat.S_ISREG(info.st_mode)}
    if found["islnk"]:
        found["lnk_target"] = os.readlink(path)
    if found["isreg"]:
        found["nlink"] = info.st_nlink  # other names of the file would keep the old token: the rename cuts them
    return found, {}


def account_exists(name, database):
    """Whether a user (passwd) or group exists on this host; None when none is asked for or it is a number."""
    if not name or _WHOLE.match(str(name)):
        return None
    import grp  # pylint: disable=import-outside-toplevel
    import pwd  # pylint: disable=import-outside-toplevel
    try:
        (pwd.getpwnam if database == "passwd" else grp.getgrnam)(str(name))
    except KeyError:
        return False
    return True


def account_id(name, database):
    """uid or gid of a name or number; -1 (leave as is) when none is asked for."""
    if name is None or name == "":
        return -1
    if _WHOLE.match(str(name)):
        return int(name)
    import grp  # pylint: disable=import-outside-toplevel
    import pwd  # pylint: disable=import-outside-toplevel
    return pwd.getpwnam(str(name)).pw_uid if database == "passwd" else grp.getgrnam(str(name)).gr_gid


def owner_problem(path, info, owner, group):
    """Why the new file could not keep the owner or group of the file info (those not asked for), as write() does:
    only root gives a file to another user, and others only a group of their own. None when it can."""
    if os.geteuid() == 0:
        return None
    wrong = []
    if not owner and info.st_uid != os.geteuid():
        wrong.append("owner uid %d" % info.st_uid)
    if not group and info.st_gid != os.getegid() and info.st_gid not in os.getgroups():
        wrong.append("group gid %d" % info.st_gid)
    if not wrong:
        return None
    return ("token_rotation_consumer_path %s has the %s, which the new file keeps when token_rotation_consumer_owner "
            "and _group are not set, but the connecting user (uid %d) cannot give it: connect as root or with become, "
            "or set token_rotation_consumer_owner and token_rotation_consumer_group."
            % (path, " and ".join(wrong), os.geteuid()))


def write(path, content, owner=None, group=None, mode="0600"):
    """Write content to path atomically: a temporary file in the same folder gets the content, owner, group and mode
    first, then replaces path in one rename, so no reader ever sees a partial file or one that others may read. An
    existing file's owner and group are kept when none is asked for (as ansible-core's atomic_move), so that the
    application that owns it can still read it. Returns False when path already held exactly this, with this owner,
    group and mode."""
    uid, gid, perms = account_id(owner, "passwd"), account_id(group, "group"), int(str(mode), 8)
    data = content.encode("utf-8")
    try:
        info = os.lstat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise OSError(errno.ELOOP, "is a symbolic link, which the role never writes through", path)
    if info is not None and stat.S_ISREG(info.st_mode):
        if info.st_nlink > 1:
            raise OSError(errno.EMLINK, "has %d hard links, which the rename would cut: the other names would keep "
                          "the old token" % info.st_nlink, path)
        uid = info.st_uid if uid == -1 else uid
        gid = info.st_gid if gid == -1 else gid
    if info is not None and stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == perms \
            and uid in (-1, info.st_uid) and gid in (-1, info.st_gid) and info.st_size == len(data):
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    # Imported here, not at the top: only a write needs it, and its imports cost every observe run about 5 ms.
    import tempfile  # pylint: disable=import-outside-toplevel
    folder, name = os.path.split(path)
    handle, temporary = tempfile.mkstemp(prefix=".%s." % name, dir=folder)  # mode 0600
    try:
        os.fchown(handle, uid, gid)
        os.fchmod(handle, perms)
        os.write(handle, data)
        os.fsync(handle)
        os.close(handle)
        handle = None
        os.rename(temporary, path)
    except BaseException:
        if handle is not None:
            os.close(handle)
        os.unlink(temporary)
        raise
    folder_handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_handle)
    finally:
        os.close(folder_handle)
    return True


def run(args):
    """The result of one run, as a dict; the options were checked by the action plugin."""
    path = args["path"]
    fmt, env_var = args.get("format"), args.get("env_var")
    try:
        if args["action"] == "observe":
            path_facts, dir_facts = path_stat(path)
            found = {"changed": False, "path_stat": path_facts, "dir_stat": dir_facts,
                     "owner_found": account_exists(args.get("owner"), "passwd"),
                     "group_found": account_exists(args.get("group"), "group")}
            if path_facts["exists"] and path_facts["isreg"]:
                text, too_large = read_text(path)
                found["held"], found["held_token"] = held(text, fmt, env_var)
                found["also_held"] = other_client_ids(text, fmt, env_var)
                problem = owner_problem(path, os.lstat(path), args.get("owner"), args.get("group"))
                if problem:
                    found["owner_problem"] = problem
                problem = content_problem(path, text, too_large, fmt, env_var)
                if problem:
                    found["content_problem"] = problem
            return found
        content = args.get("content")
        if content is None:
            # Built here, from the file as it is now, so that every other value in it is kept.
            text, too_large = current_text(path)
            problem = content_problem(path, text, too_large, fmt, env_var)
            if problem:
                return {"failed": True, "msg": "not writing: %s" % problem}
            content = new_content(text, fmt, env_var, args["new_token"])
        return {"changed": write(path, content or "", args.get("owner"), args.get("group"), args.get("mode", "0600"))}
    except (IOError, OSError, KeyError, ValueError) as error:
        verb = "reading" if args["action"] == "observe" else "writing"
        return {"failed": True, "msg": "%s %s failed: %s" % (verb, path, getattr(error, "strerror", None) or error)}


def current_text(path):
    """read_text of a file that may not exist yet (then empty); a link is left to write(), which refuses it."""
    try:
        return read_text(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ELOOP):
            return "", False
        raise


def forget_args_file(path):
    """Remove the arguments file ansible-core wrote for this run (with action=write, it holds the new token) as soon as
    it is read, rather than when the controller cleans its temporary folder afterwards, which a controller killed
    meanwhile never does. Only inside ansible-core's own temporary folder (ansible-tmp-*), never a file given by hand."""
    if os.path.basename(os.path.dirname(os.path.abspath(path))).startswith("ansible-tmp-"):
        try:
            os.unlink(path)
        except OSError:
            pass


def main():
    if len(sys.argv) == 2 and os.path.isfile(sys.argv[1]):  # as ansible-core runs a WANT_JSON module
        with open(sys.argv[1]) as handle:
            args = json.load(handle)
        forget_args_file(sys.argv[1])
        # The result's "failed" key, not the exit code, tells ansible-core a failure.
        sys.stdout.write(json.dumps(run(args)) + "\n")
        return
    # Run any other way (by ansible-test, or by hand with ANSIBLE_MODULE_ARGS), it is an ordinary module on
    # ansible.module_utils.basic, with the same options; imported by name so that ansible-core still sees WANT_JSON.
    import importlib  # pylint: disable=import-outside-toplevel
    basic = importlib.import_module("ansible.module_utils.basic")
    module = basic.AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = run(module.params)
    (module.fail_json if result.get("failed") else module.exit_json)(**result)


if __name__ == "__main__":
    main()
