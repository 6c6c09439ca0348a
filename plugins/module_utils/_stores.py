# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret stores as consumers of a token family (token_rotation_stores), written from the controller.

The base Store here; one file per kind (AWS in _store_aws.py, Vault in _store_vault.py), registered in
_store_entries.py, which parses the entries; the value a store holds in each format comes from _store_values.py. One
interface the role calls through the astra_rotation_store module:

- ``_store_entries.parse_stores(entries)`` checks every entry of token_rotation_stores and returns one store object per
  entry; a bad entry is a one-line AstraInputError naming ``token_rotation_stores[<index>].<key>`` and what is
  accepted.
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
import re

from ansible_collections.astra.devops.plugins.module_utils._consumer import ShapeError, other_client_ids, tokens_besides
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError, one_line, redact, scrub, secret_parts, sentence
from ansible_collections.astra.devops.plugins.module_utils._store_values import DEFAULT_ENV_VAR, held_of, shape_problem, store_value

OPTION = "token_rotation_stores"
TIMEOUT = 30
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def _at(index, key=None):
    return "%s[%s]%s" % (OPTION, index, "." + key if key else "")


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
    """One entry of token_rotation_stores. A kind sets kind, keys (the entry's keys besides COMMON_KEYS), secret_keys
    (those that hold a credential, never shown), library, and implements check and the methods that raise
    NotImplementedError."""

    kind = None
    keys = ()
    secret_keys = ()
    library = None

    @classmethod
    def check(cls, index, entry):
        """Refuse a bad value of this kind's keys: an AstraInputError naming token_rotation_stores[index].key."""
        raise NotImplementedError

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
                self.secrets.update([secret] + secret_parts(secret))

    def fail(self, what, detail, hint=None, limit=400):
        """An AstraError naming this store, one line. The detail (what a library said) is scrubbed of every secret
        this store has seen and of anything token-shaped, and cut to limit characters; the label, what and hint are
        the collection's own words and the store's location, never a value."""
        secrets = sorted(self.secrets, key=len, reverse=True)
        message = "%s: %s: %s" % (self.label, what, sentence(one_line(redact(detail, secrets), limit)))
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
