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
  - O(action=observe) looks at the file without following a link, checks the consumer's variables against it (folder,
    link, owner and group on this host, format, mode), fails with one line naming the consumer when one is wrong, and
    reads which token the file holds. It also sets the host fact C(token_rotation_held_client_id), the client id of
    the token the file holds, or null.
  - O(action=write) writes O(content) atomically. A temporary file in the same folder gets the content, owner, group
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
    description: C(token_rotation_consumer_format), checked by O(action=observe).
    type: str
  env_var:
    description: C(token_rotation_consumer_env_var), checked by O(action=observe).
    type: str
  template:
    description: C(token_rotation_consumer_template), checked by O(action=observe).
    type: str
  template_error:
    description: What rendering the template with a placeholder token said on the controller, if it failed.
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
  content:
    description: What O(action=write) writes. A secret, never logged or returned.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.astra.devops.plugins.module_utils import _consumer


def observe(module):
    params = module.params
    path_facts, dir_facts = _consumer.path_stat(params["path"])
    consumer = dict((name, params[name]) for name in ("host", "path", "format", "env_var", "template",
                                                      "template_error", "mode", "owner", "group"))
    consumer.update(path_stat=path_facts, dir_stat=dir_facts,
                    owner_found=_consumer.account_exists(params["owner"], "passwd"),
                    group_found=_consumer.account_exists(params["group"], "group"))
    problems = _consumer.consumer_problems(consumer)
    if problems:
        module.fail_json(msg=" ".join(problems))
    try:
        held, token = _consumer.held(params["path"], path_facts["exists"])
    except (IOError, OSError) as error:
        module.fail_json(msg="Consumer %s: reading %s failed: %s. Nothing was changed."
                         % (params["host"], params["path"], error.strerror or error))
    result = {"changed": False, "held": held,
              "ansible_facts": {"token_rotation_held_client_id": held if token else None}}
    if token:
        result["held_token"] = token
    module.exit_json(**result)


def write(module):
    params = module.params
    if module.check_mode:  # the role never writes in check mode
        module.exit_json(changed=True)
    try:
        changed = _consumer.write(params["path"], params["content"] or "", params["owner"], params["group"],
                                  params["mode"])
    except (IOError, OSError, KeyError, ValueError) as error:
        module.fail_json(msg="writing %s failed: %s" % (params["path"], getattr(error, "strerror", None) or error))
    module.exit_json(changed=changed)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["observe", "write"]),
            path=dict(type="str", required=True),
            host=dict(type="str"),
            format=dict(type="str"),
            env_var=dict(type="str"),
            template=dict(type="str"),
            template_error=dict(type="str"),
            mode=dict(type="raw", default="0600"),
            owner=dict(type="str"),
            group=dict(type="str"),
            content=dict(type="str", no_log=True),
        ),
        supports_check_mode=True,
    )
    (observe if module.params["action"] == "observe" else write)(module)


if __name__ == "__main__":
    main()
