# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entries of token_rotation_stores: the registry of store kinds, the keys every entry takes and their checks
(each kind checks its own keys), and parse_stores, which makes one Store per entry. Adding a kind: a Store subclass in
a file of its own (as _store_aws.py), and its line in KINDS."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.astra.devops.plugins.module_utils._consumer import _ENV_VAR
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._store_aws import AwsSecretsManagerStore
from ansible_collections.astra.devops.plugins.module_utils._store_values import STORE_FORMATS
from ansible_collections.astra.devops.plugins.module_utils._store_vault import VaultKv2Store
from ansible_collections.astra.devops.plugins.module_utils._stores import OPTION, _at

# The store kinds: {kind: Store class}.
KINDS = dict((store.kind, store) for store in (
    AwsSecretsManagerStore,
    VaultKv2Store,
))
STORE_KINDS = tuple(KINDS)
COMMON_KEYS = ("kind", "format", "env_var", "create")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_store(entry, index):
    """One entry of token_rotation_stores as a Store, or an AstraInputError naming the entry's bad key."""
    if not isinstance(entry, dict):
        raise AstraInputError("%s must be a mapping with kind (%s), format and the store's location, got '%s'."
                              % (_at(index), " or ".join(STORE_KINDS), shown(entry)))
    kind = entry.get("kind")
    if kind not in KINDS:
        raise AstraInputError("%s must be one of %s, got '%s'."
                              % (_at(index, "kind"), ", ".join(STORE_KINDS), shown(kind)))
    klass = KINDS[kind]
    accepted = COMMON_KEYS + klass.keys
    for key in sorted(entry, key=str):
        if key not in accepted:
            raise AstraInputError("%s is not a key of a %s store; accepted: %s."
                                  % (_at(index, shown(key)), kind, ", ".join(accepted)))
        value = entry[key]
        if value is None:
            continue
        if key == "create":
            try:
                entry = dict(entry, create=boolean(value, strict=True))
            except TypeError:
                raise AstraInputError("%s must be true or false, got '%s'." % (_at(index, key), shown(value)))
            continue
        if not isinstance(value, str) or not value.strip() or _CONTROL.search(value) or value != value.strip():
            raise AstraInputError("%s must be a non-empty string without spaces around it or control characters, "
                                  "got '%s'." % (_at(index, key), "<hidden>" if key in klass.secret_keys else shown(value)))
    fmt = entry.get("format") or "raw"
    if fmt not in STORE_FORMATS:
        raise AstraInputError("%s must be one of %s, got '%s'."
                              % (_at(index, "format"), ", ".join(STORE_FORMATS), shown(fmt)))
    if entry.get("env_var") is not None:
        if fmt != "env":
            raise AstraInputError("%s is only used with format env; remove it or set format: env."
                                  % _at(index, "env_var"))
        if not _ENV_VAR.match(entry["env_var"]):
            raise AstraInputError("%s must be a variable name (letters, digits, _), got '%s'."
                                  % (_at(index, "env_var"), shown(entry["env_var"])))
    klass.check(index, entry)
    return klass(index, entry)


def parse_stores(entries):
    """Every entry of token_rotation_stores as a Store; every bad entry's problem in one AstraInputError (one line)."""
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        raise AstraInputError("%s must be a list of store entries (each a mapping with kind, format and location), "
                              "got '%s'." % (OPTION, shown(entries)))
    stores, problems, seen = [], [], {}
    for index, entry in enumerate(entries):
        try:
            store = parse_store(entry, index)
        except AstraInputError as error:
            problems.append(str(error))
            continue
        identity = store.identity()
        if identity in seen:
            problems.append("%s is the same store as %s[%s]: list each store once."
                            % (_at(index), OPTION, seen[identity]))
            continue
        seen[identity] = index
        stores.append(store)
    if problems:
        raise AstraInputError(" ".join(problems))
    return stores


def check_distinct(stores):
    """Refuse two entries that are one store (an AWS secret by name and by ARN, or with and without its region),
    found once observe() has described each: the second write would replace the first."""
    seen = {}
    for store in stores:
        where = store.where()
        if where in seen:
            raise store.fail("refused", "it is the same secret as %s (%s)" % (
                seen[where].label, where if isinstance(where, str) else "the same location"),
                "List each store once in %s." % OPTION)
        seen[where] = store
