#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: astra_rotation_validate
short_description: The validate step of the astra.devops.token_rotation role (internal)
version_added: 1.1.0
description:
  - Internal to the C(astra.devops.token_rotation) role; not meant for playbooks, and its options may change.
  - Checks the role's variables and the shape of the play before anything is read from the API or written, and fails
    with every problem found in one message (never a secret).
  - Besides O(settings), it reads what only the controller knows, which no variable carries - the play's strategy
    (C(free) and C(host_pinned) do not run the play's tasks in step across hosts, so each host would mint its own
    token), and ansible-core's debug mode and kept module files (C(ANSIBLE_DEBUG), C(ANSIBLE_KEEP_REMOTE_FILES), or
    the same in C(ansible.cfg)), which would print or keep every module's arguments, secrets included.
  - It also reads the hosts the play's pattern selects in the whole inventory, as if there were no C(--limit). A
    C(limit) in O(settings) that still selects every one of them (C(--limit all), which ansible-rulebook's
    C(run_playbook) passes for a rulebook whose C(hosts) is V(all), or a limit naming every host) is no limit; any other
    limit is refused unless C(allow_limit) is true.
  - It reads the play's C(module_defaults) for C(group/astra.devops.astra) too, and refuses an C(api_url) or
    C(api_token) there that is not the role's own (C(api_url) and C(api_token) in O(settings)), since the role's calls
    use only its own.
  - What may go wrong although nothing is refused (a C(min_age) or C(renew_before) in O(settings) that is not shorter
    than the lifetime its C(expiry) gives) is returned as warnings.
  - Runs on the controller only (an action plugin); nothing runs on the hosts.
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  action:
    support: full
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the
      controller.
options:
  settings:
    description:
      - The role's variables under their names without the C(token_rotation_) prefix (C(description), C(api_token),
        C(api_url), C(ca_path), C(validate_certs), C(roles), C(expiry), C(min_age), C(renew_before), C(retire_after),
        C(grace_period), C(propagation_timeout), C(command_timeout), C(distribute_tasks), C(stores), C(allow_limit)),
        and what only the play knows (C(distribute_tasks_found), C(consumer_paths), C(limit), C(play_hosts),
        C(batch_hosts), C(failed_hosts), C(awx_job_template_name), C(awx_workflow_job_name)).
      - A variable set to C(omit) counts as not set.
    type: dict
    required: true
author:
  - Astra DevOps maintainers (@astra-devops)
'''

EXAMPLES = r'''
- name: Check the role's variables and the shape of the play
  astra.devops.astra_rotation_validate:
    settings:
      description: inventory-service
      api_token: "{{ token_rotation_api_token }}"
      api_url: https://api.astra.datastax.com
      grace_period: 0
      propagation_timeout: 60
      command_timeout: 300
      play_hosts: "{{ ansible_play_hosts }}"
      batch_hosts: "{{ ansible_play_batch }}"
'''

RETURN = r'''
limit:
  description:
    - The run's C(--limit) as the role's later steps must see it, or V(null) when there is none or it selects every
      host of the play.
  returned: success
  type: str
  sample: c1,c2
msg:
  description: When the checks fail, every problem found, in one line.
  returned: failure
  type: str
  sample: The play's strategy is free, which does not run the play's tasks in step across hosts ...
'''
