# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the token_rotation role does on a consumer host, in one module run each: look at the consumer file (and
check the consumer's variables against it), learn which token it holds, and write the new token atomically with its
owner, group and mode. Runs on the consumer's Python, so it imports nothing that needs the Astra client."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re
import stat
import tempfile

from ansible_collections.astra.devops.plugins.module_utils._errors import one_line, scrub, shown

CONSUMER_FORMATS = ("raw", "env", "json", "template")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODE = re.compile(r"^0?[0-7][0-7]0$")
_WHOLE = re.compile(r"^\d+$")
_HELD_TOKEN = re.compile(r"AstraCS:([A-Za-z0-9]+):[0-9A-Fa-f]+")
_DETAIL_MAX = 300
# A token file is small; reading more than this would only be a mistake (a wrong path).
READ_LIMIT = 1024 * 1024


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


def path_stat(path):
    """The facts consumer_problems reads, without following a link (the folder's when the file does not exist)."""
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


def held(path, exists):
    """(held, token): what plan() reads, the client id held, 'missing' (no file yet) or 'unknown' (no token in it);
    and the first token in the file (a secret: for the role's probes and scrubs only)."""
    if not exists:
        return "missing", None
    with open(path, "rb") as handle:
        text = handle.read(READ_LIMIT).decode("utf-8", "replace")
    match = _HELD_TOKEN.search(text)
    return (match.group(1), match.group(0)) if match else ("unknown", None)


def write(path, content, owner=None, group=None, mode="0600"):
    """Write content to path atomically: a temporary file in the same folder gets the content, owner, group and mode
    first, then replaces path in one rename, so no reader ever sees a partial file or one that others may read.
    Returns False when path already held exactly this, with this owner, group and mode."""
    uid, gid, perms = account_id(owner, "passwd"), account_id(group, "group"), int(str(mode), 8)
    data = content.encode("utf-8")
    try:
        info = os.lstat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise OSError(errno.ELOOP, "is a symbolic link, which the role never writes through", path)
    if info is not None and stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == perms \
            and uid in (-1, info.st_uid) and gid in (-1, info.st_gid) and info.st_size == len(data):
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
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
