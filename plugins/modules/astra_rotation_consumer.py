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
    reads which token the file holds. It also sets the host fact C(token_rotation_held_client_id), the client id of
    the token the file holds, or null.
  - The module deletes the arguments file ansible-core gave it (it holds the new token with O(action=write)) as soon as
    it has read it, so a controller killed before its clean-up leaves no copy of the token in the remote temporary
    folder.
  - O(action=write) writes O(new_token) in O(format) atomically. A temporary file in the same folder gets the content, owner, group
    and mode first, then replaces the file in one rename, so no reader sees a partial file or one others may read.
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
    description: The file's owner (a name or a uid); omitted, the writing user.
    type: str
  group:
    description: The file's group (a name or a gid); omitted, the writing user's.
    type: str
  new_token:
    description:
      - With O(action=write), the new token (C(token), C(client_id), C(client_secret)), which the action plugin turns
        into the file's content in O(format) (O(template) rendered with it as C(token_rotation_new_token)) and hands
        to the module as O(content). A secret, never logged or returned.
    type: dict
  content:
    description:
      - What O(action=write) writes. The action plugin sets it from O(new_token); the role never gives it. A secret,
        never logged or returned.
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
'''

RETURN = r'''
held:
  description: With O(action=observe), the client id of the token the file holds, V(missing) when there is no file
    yet, or V(unknown) when it holds no token.
  returned: action is observe
  type: str
  sample: BOjPpMRcaWergiKIyHXEAymP
held_token:
  description: With O(action=observe), the token the file holds, for the role's probes on the controller. A secret.
  returned: action is observe and the file holds a token
  type: str
'''

# WANT_JSON
# The marker above makes ansible-core run this file as it is, with the path of a JSON file of its arguments: no
# AnsiballZ payload and no ansible.module_utils import. So it imports only the standard library (the checks of the
# consumer's variables are made by the action plugin of the same name, module_utils/_consumer.py, on the controller).

import errno
import json
import os
import re
import stat
import sys

_WHOLE = re.compile(r"^\d+$")
_HELD_TOKEN = re.compile(r"AstraCS:([A-Za-z0-9]+):[0-9A-Fa-f]+")
# A token file is small; reading more than this would only be a mistake (a wrong path).
READ_LIMIT = 1024 * 1024

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
    """(held, token): the client id held, 'missing' (no file yet) or 'unknown' (no token in it); and the first token
    in the file (a secret: for the role's probes and scrubs only)."""
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
    try:
        if args["action"] == "observe":
            path_facts, dir_facts = path_stat(path)
            found = {"changed": False, "path_stat": path_facts, "dir_stat": dir_facts,
                     "owner_found": account_exists(args.get("owner"), "passwd"),
                     "group_found": account_exists(args.get("group"), "group")}
            if path_facts["exists"] and path_facts["isreg"]:
                found["held"], found["held_token"] = held(path, True)
            return found
        return {"changed": write(path, args.get("content") or "", args.get("owner"), args.get("group"),
                                 args.get("mode", "0600"))}
    except (IOError, OSError, KeyError, ValueError) as error:
        verb = "reading" if args["action"] == "observe" else "writing"
        return {"failed": True, "msg": "%s %s failed: %s" % (verb, path, getattr(error, "strerror", None) or error)}


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
