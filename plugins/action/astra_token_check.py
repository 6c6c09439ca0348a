# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_token_check runs as any module, except that it is refused while ansible-core keeps module files or runs in debug mode
(its arguments hold secrets): see plugins/plugin_utils/_secret_args_guard.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.astra.devops.plugins.plugin_utils._secret_args_guard import SecretArgsGuard


class ActionModule(SecretArgsGuard):
    pass
