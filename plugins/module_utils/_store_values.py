# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The value a secret store holds for a token, in each format of token_rotation_stores: raw, env and json by the
value rule of the consumer files (_consumer.new_content and held, never copied), astra_integration as DataStax's AWS
Secrets Manager integration reads it; and which token a store's value holds."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.astra.devops.plugins.module_utils._consumer import (
    PLACEHOLDER,
    ShapeError,
    _is_token,
    _json_object,
    _keys,
    held,
    new_content,
)

STORE_FORMATS = ("raw", "env", "json", "astra_integration")
DEFAULT_ENV_VAR = "ASTRA_DB_APPLICATION_TOKEN"
MISSING = "missing"
UNKNOWN = "unknown"
# The keys of DataStax's AWS Secrets Manager integration (github.com/datastax/aws-secrets-manager-integration-astra):
# lambda_function.py, get_secret_dict() requires 'astraKey', 'clientID', 'clientSecret' and 'engine' (which must be
# 'AstraDB'), and 'rootarn' in every secret but the root one; create_secret() copies the current secret's JSON and
# replaces astraKey, clientID and clientSecret. secret_text.json shows the same keys (plus roleID). Keys of the
# current value that are not these (rootarn, roleID, ...) are kept.
INTEGRATION_TOKEN_KEY = "astraKey"
INTEGRATION_CLIENT_ID_KEY = "clientID"
INTEGRATION_SECRET_KEY = "clientSecret"
INTEGRATION_ENGINE_KEY = "engine"
INTEGRATION_ENGINE = "AstraDB"
INTEGRATION_KEYS = (INTEGRATION_TOKEN_KEY, INTEGRATION_CLIENT_ID_KEY, INTEGRATION_SECRET_KEY)


def held_of(value, fmt=None, env_var=None):
    """(client id, token) the stored value holds, by the consumer files' rule (_consumer.held): the line of env_var for
    env, the key token for json, the whole value for raw; the integration's astraKey for astra_integration; without a
    format, the first AstraCS token in the text. ('unknown', None) when there is none."""
    if not isinstance(value, str):
        return UNKNOWN, None
    if fmt == "astra_integration":
        try:
            token = _json_object(value, INTEGRATION_KEYS).get(INTEGRATION_TOKEN_KEY)
        except ShapeError:
            token = None
        return (token.split(":")[1], token) if _is_token(token) else (UNKNOWN, None)
    return held(value, fmt, env_var or DEFAULT_ENV_VAR)


def shape_problem(value, fmt, env_var=None):
    """Why a store's current value cannot take the new token in format fmt without losing what an application reads
    (None when it can): a value that is not text (a binary AWS secret, a Vault field holding an object or a number), or
    text the consumer files' rule refuses (_consumer.new_content's ShapeError: a raw value that is not one token, a JSON
    object under env, JSON that is not an object under json or astra_integration, a variable set twice...)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        kind = "a JSON object with the keys %s" % _keys(value) if isinstance(value, dict) else \
            "a list" if isinstance(value, list) else "a %s" % type(value).__name__
        return ("holds %s, not a string: the role writes a string there, which would drop it; keep the token in a "
                "field of its own (key)" % kind)
    try:
        store_value(PLACEHOLDER, fmt, env_var, value)
    except ShapeError as error:
        return str(error)
    return None


def _without_final_newline(text, current):
    """A store value ends with a newline only when its current value did (a file always does)."""
    if isinstance(current, str) and current.endswith("\n"):
        return text
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def store_value(new_token, fmt, env_var=None, current=None):
    """The value a store of format fmt holds for new_token: raw, env and json by the consumer files' rule
    (_consumer.new_content: the token put into the current value, every other value kept, a value of another shape
    refused with ShapeError), without the final newline a file has unless the current value had one; astra_integration
    (as DataStax's integration reads it) written into the JSON object the store holds, keeping its other keys."""
    current = current if isinstance(current, str) else ""
    if fmt == "astra_integration":
        data = _json_object(current, INTEGRATION_KEYS)
        data[INTEGRATION_TOKEN_KEY] = new_token["token"]
        data[INTEGRATION_CLIENT_ID_KEY] = new_token["client_id"]
        data[INTEGRATION_SECRET_KEY] = new_token["client_secret"]
        data.setdefault(INTEGRATION_ENGINE_KEY, INTEGRATION_ENGINE)
        return json.dumps(data, indent=4, ensure_ascii=False)
    return _without_final_newline(new_content(current, fmt, env_var or DEFAULT_ENV_VAR, new_token), current)
