# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret stores as consumers of a token family (token_rotation_stores), written from the controller.

One class per kind (AWS in _store_aws.py, Vault in _store_vault.py, both on the base Store here), one interface the
role calls through the astra_rotation_store module:

- ``parse_stores(entries)`` checks every entry of token_rotation_stores and returns one store object per entry; a bad
  entry is a one-line AstraInputError naming ``token_rotation_stores[<index>].<key>`` and what is accepted.
- ``store.observe()`` -> Observed: the client id the store's *current* value holds (AWS: the version labelled
  AWSCURRENT; Vault: the current version, from the custom metadata this collection writes when it still describes
  that version), ``missing`` when the secret or path does not exist yet, ``unknown`` when its value holds no token.
- ``store.stage(new_token, expected_version)`` puts the new value where no reader sees it yet, or as little as the
  store allows: AWS stages it as AWSPENDING (a ClientRequestToken derived from the new client id makes a re-run after
  a crash find the same version instead of adding another); Vault KV v2 writes it with check-and-set on the version
  observed (a KV write is live at once: Vault has no pending label), and keeps the client id in the custom metadata.
- ``store.verify(new_token, staged)`` reads the staged version back and checks its client id.
- ``store.promote(client_id)`` makes the staged version current (AWS: AWSCURRENT moves to it, the old version becomes
  AWSPREVIOUS, the AWSPENDING label is removed); for Vault there is nothing to promote, it only checks that the current
  version still holds the new token.

boto3 and hvac are optional: a missing one is reported, naming the library and the store kind, only when a store of
that kind is used. Every error of either library becomes one AstraError naming the store (kind and location, never a
value) with a hint; its text is scrubbed of every secret the run knows and every token-shaped string."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import json
import re
import uuid

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.astra.devops.plugins.module_utils._consumer import (
    _ENV_VAR,
    PLACEHOLDER,
    ShapeError,
    _is_token,
    _json_object,
    _keys,
    held,
    new_content,
    other_client_ids,
    tokens_besides,
)
from ansible_collections.astra.devops.plugins.module_utils._errors import (
    AstraError,
    AstraInputError,
    one_line,
    scrub,
    sentence,
    shown,
)

OPTION = "token_rotation_stores"
STORE_KINDS = ("aws_secretsmanager", "vault_kv2")
STORE_FORMATS = ("raw", "env", "json", "astra_integration")
DEFAULT_ENV_VAR = "ASTRA_DB_APPLICATION_TOKEN"
COMMON_KEYS = ("kind", "format", "env_var", "create")
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
# The custom metadata this collection keeps on a Vault KV v2 secret: the client id written, and the version it was
# written in (custom metadata and data are two writes, so a client id is trusted only for the version it names).
VAULT_CLIENT_ID_KEY = "client_id"
VAULT_VERSION_KEY = "client_id_version"
# The namespace of the AWS ClientRequestToken (a UUID5 of the client id): the same new token always stages the same
# version id, so a re-run after a crash finds the version it staged instead of adding a second one.
VERSION_NAMESPACE = uuid.UUID("6b1d3c64-5f0e-4f59-9a53-0a6e2f1c7d21")
AWS_CURRENT = "AWSCURRENT"
AWS_PENDING = "AWSPENDING"
TIMEOUT = 30

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_VAULT_SEGMENT = re.compile(r"^[^/\s]+(/[^/\s]+)*$")


def _at(index, key=None):
    return "%s[%s]%s" % (OPTION, index, "." + key if key else "")


def version_id_for(client_id):
    """The AWS ClientRequestToken (a version id) of the version that holds client_id's token."""
    return str(uuid.uuid5(VERSION_NAMESPACE, "astra.devops/" + str(client_id)))


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


def optional_library(name, kind, index):
    """import name, or an AstraError saying which store kind needs it and how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise AstraError(
            "%s (kind %s) needs the Python library %s on the Ansible controller, which is not installed for %s. Install "
            "it (pip install %s) in the Python that runs Ansible (in AWX, in the execution environment); only stores "
            "of kind %s need it." % (_at(index), kind, name, _python(), name, kind))


def _python():
    import sys  # pylint: disable=import-outside-toplevel
    return sys.executable or "this Python"


# What Store._call returns with missing_ok when what was asked for does not exist: apart from any answer.
_ABSENT = object()


class Observed(object):
    """What observe() found: held (client id, 'missing' or 'unknown'), version (AWS: the AWSCURRENT version id; Vault:
    the current version number, 0 when missing), token (the token held, a secret), value (the current value, a
    secret), pending (AWS: the client id of the version labelled AWSPENDING, if another than the current one: a
    staged token not promoted yet) and, for Vault, data (the whole secret), metadata (the custom metadata) and
    settings (the whole metadata: cas_required, current_metadata_version...)."""

    def __init__(self, held, version=None, token=None, value=None, data=None, metadata=None, pending=None,
                 settings=None):
        self.held = held
        self.settings = settings
        self.pending = pending
        self.version = version
        self.token = token
        self.value = value
        self.data = data
        self.metadata = metadata


class Store(object):
    """One entry of token_rotation_stores."""

    kind = None
    keys = ()
    library = None

    def __init__(self, index, entry):
        self.index = index
        self.entry = entry
        self.format = entry.get("format") or "raw"
        self.env_var = entry.get("env_var") or DEFAULT_ENV_VAR
        # Whether a store that does not exist where the entry points may be made (parse_store made it a bool).
        self.create = bool(entry.get("create"))
        self.secrets = set()
        self._api = None

    # -- naming -------------------------------------------------------------------------------------------------
    @property
    def location(self):
        raise NotImplementedError

    @property
    def label(self):
        return "%s (%s, %s)" % (_at(self.index), self.kind, self.location)

    def describe(self):
        """What may be shown of this store: index, kind, location, format; never a value or a credential."""
        return {"index": self.index, "kind": self.kind, "location": self.location, "format": self.format}

    def identity(self):
        """What makes two entries the same store."""
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------------------------
    def value_for(self, new_token, current=None):
        """The new value (store_value); a current value of another shape is this store's one-line refusal."""
        try:
            return store_value(new_token, self.format, self.env_var, current)
        except ShapeError as error:
            raise self._refused("its current value", str(error))

    def held(self, value):
        """(client id, token) the value holds in this store's format."""
        return held_of(value, self.format, self.env_var)

    def also_held(self, value):
        """The client ids (never a token) of the tokens the value holds besides the one this store's format rewrites
        (another variable, a nested key...): the plan refuses a run when one is of the family being rotated, as the
        other place would keep a token the role then deletes."""
        if not isinstance(value, str):
            return []
        if self.format == "astra_integration":
            return tokens_besides(value, self.held(value)[1])
        return other_client_ids(value, self.format, self.env_var or DEFAULT_ENV_VAR)

    def check_shape(self, value, where):
        """Refuse a current value the new token cannot be written into without losing what it holds."""
        problem = shape_problem(value, self.format, self.env_var)
        if problem:
            raise self._refused(where, problem)

    def _refused(self, where, problem):
        # The rule's message names lines, JSON types and keys, never a value; it may be long (the formats that keep
        # the value), so it is not cut at the usual length.
        return self.fail("refused", "%s %s" % (where, problem),
                         "The role never replaces a value an application reads with one of another shape.", limit=1000)

    def missing(self, looked, why=None):
        """The one-line refusal of a store that does not exist where its entry points (looked: where the role
        looked), or, with why, of one the role cannot make even with create: true."""
        if why:
            return self.fail("refused", looked, why)
        return self.fail(
            "not found", looked, "A store that does not exist where its entry points is never made silently (a wrong "
            "region or a typo would leave the real one behind): check the entry's location; to make a new secret "
            "there, set create: true on the entry.")

    def where(self):
        """What makes two entries the same store, as the store itself answers it (after observe)."""
        return self.identity()

    def remember(self, *secrets):
        """Secrets to remove from what a library says (values of 8 characters or more: a shorter one would only
        garble the message, and the token-shaped text is removed anyway)."""
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= 8:
                self.secrets.add(secret)
                if secret.startswith("AstraCS:"):
                    self.secrets.add(secret.rsplit(":", 1)[-1])

    def fail(self, what, detail, hint=None, limit=400):
        """An AstraError naming this store, one line. The detail (what a library said) is scrubbed of every secret
        this store has seen and of anything token-shaped, and cut to limit characters; the label, what and hint are
        the collection's own words and the store's location, never a value."""
        secrets = sorted(self.secrets, key=len, reverse=True)
        message = "%s: %s: %s" % (self.label, what, sentence(one_line(scrub(detail, secrets), limit)))
        return AstraError(scrub(message), hint=scrub(hint) if hint else None)

    @property
    def api(self):
        if self._api is None:
            self._api = self.connect()
        return self._api

    def connect(self):
        raise NotImplementedError

    def _error(self, what, error):
        """The AstraError for an exception the kind's library raised while doing `what`, with the kind's hint."""
        raise NotImplementedError

    @staticmethod
    def _absent(error):
        """Whether the library's exception says that what was asked for does not exist."""
        raise NotImplementedError

    def _call(self, what, function, missing_ok=False, **kwargs):
        """function(**kwargs); with missing_ok, _ABSENT when what was asked for does not exist. Anything else the
        library raises becomes this store's one-line error."""
        try:
            return function(**kwargs)
        except AstraError:
            raise
        except Exception as error:  # pylint: disable=broad-except
            if missing_ok and self._absent(error):
                return _ABSENT
            raise self._error(what, error)

    # -- the interface ------------------------------------------------------------------------------------------
    def observe(self):
        raise NotImplementedError

    def stage(self, new_token, expected_version=None, check_mode=False):
        raise NotImplementedError

    def verify(self, new_token, staged):
        raise NotImplementedError

    def promote(self, client_id, check_mode=False):
        raise NotImplementedError


def kinds():
    """{kind: Store class}; the classes live in a file per kind (_store_aws, _store_vault), which import this one."""
    # pylint: disable=import-outside-toplevel,cyclic-import
    from ansible_collections.astra.devops.plugins.module_utils._store_aws import AwsSecretsManagerStore
    from ansible_collections.astra.devops.plugins.module_utils._store_vault import VaultKv2Store
    return {AwsSecretsManagerStore.kind: AwsSecretsManagerStore, VaultKv2Store.kind: VaultKv2Store}


def parse_store(entry, index):
    """One entry of token_rotation_stores as a Store, or an AstraInputError naming the entry's bad key."""
    if not isinstance(entry, dict):
        raise AstraInputError("%s must be a mapping with kind (%s), format and the store's location, got '%s'."
                              % (_at(index), " or ".join(STORE_KINDS), shown(entry)))
    kind = entry.get("kind")
    known = kinds()
    if kind not in known:
        raise AstraInputError("%s must be one of %s, got '%s'."
                              % (_at(index, "kind"), ", ".join(STORE_KINDS), shown(kind)))
    klass = known[kind]
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
                                  "got '%s'." % (_at(index, key), "<hidden>" if key == "secret_id" and kind ==
                                                 "vault_kv2" else shown(value)))
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
