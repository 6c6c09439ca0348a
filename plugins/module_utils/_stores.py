# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret stores as consumers of a token family (token_rotation_stores), written from the controller.

One class per kind, one interface the role calls through the astra_rotation_store module:

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
import os
import re
import uuid

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.astra.devops.plugins.module_utils._consumer import _ENV_VAR, file_content
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

_HELD_TOKEN = re.compile(r"AstraCS:([A-Za-z0-9]+):[0-9A-Fa-f]+")
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
    """(client id, token) the stored value holds: the integration's astraKey for astra_integration, the line of
    env_var for env (when there is one), else the first AstraCS token in the text; ('unknown', None) when there is
    none."""
    if not isinstance(value, str):
        return UNKNOWN, None
    if fmt == "astra_integration":
        data = json_of(value)
        if isinstance(data, dict) and isinstance(data.get(INTEGRATION_TOKEN_KEY), str):
            value = data[INTEGRATION_TOKEN_KEY]
    elif fmt == "env" and env_var:
        lines = [line for line in value.splitlines() if _env_line(line, env_var)]
        value = lines[0] if lines else value
    match = _HELD_TOKEN.search(value)
    return (match.group(1), match.group(0)) if match else (UNKNOWN, None)


def json_of(value):
    """What value holds as JSON (a dict, list, ...), None when it is not JSON or not text."""
    if not isinstance(value, str) or not value.strip()[:1] in ("{", "["):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _env_line(line, env_var):
    """Whether line assigns env_var (NAME=..., or export NAME=...)."""
    return re.match(r"^\s*(export\s+)?%s\s*=" % re.escape(env_var), line) is not None


def _keys(data):
    names = sorted(str(key) for key in data)
    return ", ".join(shown(name, 40) for name in names[:12]) + (", ..." if len(names) > 12 else "")


def shape_problem(value, fmt):
    """Why a store's current value cannot take the new token in format fmt without losing what an application reads
    (None when it can): a value that is not text (a binary AWS secret, a Vault field holding an object or a number),
    a JSON object or list under raw or env (the token would replace it whole), JSON that is not an object under json
    or astra_integration. Plain text, a bare token and a JSON object under json or astra_integration can take it."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        kind = "a JSON object with the keys %s" % _keys(value) if isinstance(value, dict) else \
            "a list" if isinstance(value, list) else "a %s" % type(value).__name__
        return ("holds %s, not a string: the role writes a string there, which would drop it; keep the token in a "
                "field of its own (key)" % kind)
    data = json_of(value)
    if isinstance(data, dict) and fmt in ("raw", "env"):
        return ("holds a JSON object with the keys %s, which format %s would replace it with %s: use format json "
                "(keeps the other keys, writes clientId, secret and token) or astra_integration (keeps the other "
                "keys, writes astraKey, clientID, clientSecret and engine)"
                % (_keys(data), fmt, "the bare token" if fmt == "raw" else "one NAME=token line"))
    if data is not None and not isinstance(data, dict):
        return ("holds JSON that is not an object (a %s), which format %s would replace: store the token in a value "
                "of its own" % (type(data).__name__, fmt))
    return None


def env_value(new_token, env_var, current=None):
    """The env value with env_var's line set to the new token and the other lines of the current value kept (a line
    that is only a token, a raw value being turned into env, is replaced too)."""
    line = "%s=%s" % (env_var, new_token["token"])
    kept, done = [], False
    for old in (current or "").splitlines() if isinstance(current, str) else ():
        if _env_line(old, env_var) or _HELD_TOKEN.fullmatch(old.strip()):
            if not done:
                kept.append(("export " if old.lstrip().startswith("export ") else "") + line)
                done = True
            continue
        kept.append(old)
    if not done:
        kept.append(line)
    return "\n".join(kept)


def store_value(new_token, fmt, env_var=None, current=None):
    """The value a store of format fmt holds for new_token: raw as a consumer file holds it (the rule of
    _consumer.file_content, without the file's final newline); env with the token's line rewritten and the other
    variables kept; json and astra_integration (as DataStax's integration reads it) written into the JSON object the
    store holds, keeping its other keys."""
    current_data = json_of(current)
    data = dict(current_data) if isinstance(current_data, dict) else {}
    if fmt == "astra_integration":
        data[INTEGRATION_TOKEN_KEY] = new_token["token"]
        data[INTEGRATION_CLIENT_ID_KEY] = new_token["client_id"]
        data[INTEGRATION_SECRET_KEY] = new_token["client_secret"]
        data.setdefault(INTEGRATION_ENGINE_KEY, INTEGRATION_ENGINE)
        return json.dumps(data, indent=4)
    if fmt == "json":
        data.update(json.loads(file_content(new_token, fmt, env_var)))
        return json.dumps(data, indent=4)
    if fmt == "env":
        return env_value(new_token, env_var or DEFAULT_ENV_VAR, current)
    text = file_content(new_token, fmt, env_var)
    return text[:-1] if text.endswith("\n") else text


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


def mount_problem(mount, mount_point):
    """(where the role looked, why create: true cannot help) for a Vault mount that cannot hold the secret, None when
    it is a KV version 2 mount at mount_point. mount: what _mount() read (None: nothing mounted there, or nothing the
    token may use)."""
    if mount is None:
        return ("no secrets engine is mounted at %s/, or the token's policy allows nothing under it" % mount_point,
                "create: true makes a secret, not a mount: fix mount_point, or enable a KV version 2 engine there "
                "(vault secrets enable -path=%s kv-v2), or grant the token's policy on %s/data/* and %s/metadata/*."
                % (mount_point, mount_point, mount_point))
    if mount["type"] not in ("kv", "generic"):
        return ("the mount %s/ is a %s engine, not KV" % (mount_point, mount["type"]),
                "The role writes KV version 2 only: fix mount_point.")
    if mount["path"] and mount["path"] != mount_point:
        return ("mount_point %s is a folder inside the mount %s/" % (mount_point, mount["path"]),
                "Set mount_point to %s and put the rest in path." % mount["path"])
    if mount["version"] != "2":
        return ("the mount %s/ is KV version %s" % (mount_point, mount["version"]),
                "The role writes KV version 2 only (versions, check-and-set, custom metadata): upgrade the mount "
                "(vault kv enable-versioning %s) or use a KV version 2 mount." % mount_point)
    return None


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
        return store_value(new_token, self.format, self.env_var, current)

    def held(self, value):
        """(client id, token) the value holds in this store's format."""
        return held_of(value, self.format, self.env_var if self.format == "env" else None)

    def check_shape(self, value, where):
        """Refuse a current value the new token cannot be written into without losing what it holds."""
        problem = shape_problem(value, self.format)
        if problem:
            raise self.fail("refused", "%s %s" % (where, problem),
                            "The role never replaces a value an application reads with one of another shape.")

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

    def fail(self, what, detail, hint=None):
        """An AstraError naming this store, one line. The detail (what a library said) is scrubbed of every secret
        this store has seen and of anything token-shaped; the label, what and hint are the collection's own words and
        the store's location, never a value."""
        secrets = sorted(self.secrets, key=len, reverse=True)
        message = "%s: %s: %s" % (self.label, what, sentence(one_line(scrub(detail, secrets), 400)))
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


# ---------------------------------------------------------------------------------------------------------------
# AWS Secrets Manager
# ---------------------------------------------------------------------------------------------------------------

_AWS_HINTS = {
    "AccessDeniedException": "The AWS identity needs secretsmanager:DescribeSecret, GetSecretValue, PutSecretValue and "
                             "UpdateSecretVersionStage on this secret (CreateSecret to create it), and kms:Decrypt and "
                             "kms:GenerateDataKey on its KMS key.",
    "UnrecognizedClientException": "The AWS credentials are not valid: check AWS_PROFILE / profile, or "
                                   "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in AWX, the Amazon Web Services "
                                   "credential of the job template).",
    "InvalidClientTokenId": "The AWS credentials are not valid: check AWS_PROFILE / profile, or AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY.",
    "ExpiredTokenException": "The AWS session credentials have expired: renew them (aws sso login, or a new session "
                             "token) and run again.",
    "ResourceNotFoundException": "Check secret_id and region (the secret must exist in that region, or be created by "
                                 "the role).",
    "InvalidRequestException": "The secret may be scheduled for deletion, or its labels are being changed by another "
                               "process: check it in the AWS console.",
    "ThrottlingException": "AWS is throttling the calls: run again later or with fewer jobs at once.",
    "DecryptionFailure": "The AWS identity cannot use the secret's KMS key: grant kms:Decrypt on it.",
    "EncryptionFailure": "The AWS identity cannot use the secret's KMS key: grant kms:GenerateDataKey on it.",
    "LimitExceededException": "The secret has too many versions: AWS removes old versions that have no label; wait "
                              "and run again.",
}
_AWS_EXCEPTION_HINTS = {
    "NoCredentialsError": "Give AWS credentials: a profile (profile, or AWS_PROFILE), AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, or an instance or task role (in AWX, an Amazon Web Services "
                          "credential on the job template).",
    "PartialCredentialsError": "Give both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile).",
    "NoRegionError": "Set region in the store entry, or AWS_REGION / AWS_DEFAULT_REGION, or a region in the profile.",
    "ProfileNotFound": "Set profile (or AWS_PROFILE) to a profile of ~/.aws/config or ~/.aws/credentials.",
    "EndpointConnectionError": "Check endpoint_url (or AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL), the "
                               "region and the network (proxy, firewall).",
    "ConnectTimeoutError": "Check endpoint_url, the region and the network (proxy, firewall).",
    "ReadTimeoutError": "AWS did not answer in time: run again; if it persists, check the network.",
    "SSLError": "The endpoint's TLS certificate is not trusted: set AWS_CA_BUNDLE to its CA bundle.",
}


class AwsSecretsManagerStore(Store):
    """kind: aws_secretsmanager (boto3)."""

    kind = "aws_secretsmanager"
    keys = ("secret_id", "region", "profile", "endpoint_url")
    library = "boto3"

    def __init__(self, index, entry):
        super(AwsSecretsManagerStore, self).__init__(index, entry)
        self.secret_id = entry["secret_id"]
        arn = _SECRET_ARN.match(self.secret_id)
        # A secret given by its ARN is in the ARN's region.
        self.region = entry.get("region") or (arn.group(1) if arn else None)
        self.is_arn = bool(arn)
        self.profile = entry.get("profile")
        self.endpoint_url = entry.get("endpoint_url")
        self._described = None
        self._session = None

    @classmethod
    def check(cls, index, entry):
        if not entry.get("secret_id"):
            raise AstraInputError("%s is required for kind aws_secretsmanager: the secret's name or ARN, such as "
                                  "'prod/inventory/astra'." % _at(index, "secret_id"))
        if entry.get("region") and not _REGION.match(entry["region"]):
            raise AstraInputError("%s must be an AWS region such as us-east-1, got '%s'."
                                  % (_at(index, "region"), shown(entry["region"])))
        arn = _SECRET_ARN.match(entry["secret_id"])
        if arn and entry.get("region") and entry["region"] != arn.group(1):
            raise AstraInputError("%s is %s, but the secret_id ARN is in %s: give the ARN's region or none."
                                  % (_at(index, "region"), entry["region"], arn.group(1)))
        if entry.get("endpoint_url") and not _URL.match(entry["endpoint_url"]):
            raise AstraInputError("%s must be an http(s) URL such as https://secretsmanager.us-east-1.amazonaws.com, "
                                  "got '%s'." % (_at(index, "endpoint_url"), shown(entry["endpoint_url"])))

    def session(self):
        """The boto3 session (its region is the entry's, else the one boto3 finds: AWS_REGION, AWS_DEFAULT_REGION,
        the profile's)."""
        if self._session is None:
            boto3 = optional_library("boto3", self.kind, self.index)
            self._session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        return self._session

    @property
    def region_used(self):
        """The region the calls go to, None when none is set anywhere (or boto3 cannot tell: no library, no such
        profile; connect() says why)."""
        if self.region:
            return self.region
        try:
            return self.session().region_name
        except Exception:  # pylint: disable=broad-except
            return None

    @property
    def endpoint_used(self):
        """The endpoint the calls go to when it is not AWS's own: the entry's, else the one botocore reads from the
        environment or the profile (after connect)."""
        if self.endpoint_url:
            return self.endpoint_url
        url = getattr(getattr(self._api, "meta", None), "endpoint_url", None)
        if url:
            return None if ".amazonaws.com" in url else url
        return os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or os.environ.get("AWS_ENDPOINT_URL") or None

    @property
    def location(self):
        region = self.region_used
        where = "secret %s %s" % (self.secret_id, "in %s" % region if region else "(no region set)")
        endpoint = self.endpoint_used
        return where + (" at %s" % endpoint if endpoint else "")

    def where(self):
        """The secret's ARN once described; for a secret not made yet, where it would be made."""
        if self._described and self._described.get("ARN"):
            return self._described["ARN"]
        return (self.kind, self.endpoint_used or "", self.region_used or "", self.secret_id)

    def identity(self):
        return (self.kind, self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or "",
                self.region or "", self.secret_id)

    def connect(self):
        optional_library("boto3", self.kind, self.index)
        config = importlib.import_module("botocore.config")
        try:
            session = self.session()
            # endpoint_url None: botocore reads AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL and the profile.
            return session.client("secretsmanager", endpoint_url=self.endpoint_url, config=config.Config(
                connect_timeout=10, read_timeout=TIMEOUT, retries={"max_attempts": 4, "mode": "standard"}))
        except Exception as error:  # pylint: disable=broad-except
            raise self._error("connecting to AWS Secrets Manager", error)

    def _error(self, what, error):
        """One AstraError from any boto3/botocore exception (the type alone decides: no boto import here)."""
        name = type(error).__name__
        response = getattr(error, "response", None)
        if isinstance(response, dict) and isinstance(response.get("Error"), dict):
            code = response["Error"].get("Code") or name
            said = response["Error"].get("Message") or ""
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            detail = "%s%s%s" % (code, " (HTTP %s)" % status if status else "", ": " + said if said else "")
            return self.fail(what + " failed", detail, _AWS_HINTS.get(code))
        hint = None
        for klass in type(error).__mro__:
            if klass.__name__ in _AWS_EXCEPTION_HINTS:
                hint = _AWS_EXCEPTION_HINTS[klass.__name__]
                break
        return self.fail(what + " failed", "%s: %s" % (name, error), hint)

    @staticmethod
    def _absent(error):
        response = getattr(error, "response", None)
        return isinstance(response, dict) and (response.get("Error") or {}).get("Code") == "ResourceNotFoundException"

    def _describe(self):
        """describe_secret, None when the secret does not exist; refuses a secret with rotation enabled."""
        described = self._call("reading the secret's description", self.api.describe_secret, missing_ok=True,
                               SecretId=self.secret_id)
        if described is _ABSENT:
            return None
        self._described = described
        if described.get("RotationEnabled"):
            raise AstraError(
                "%s has rotation enabled (a rotation Lambda such as DataStax's integration owns it): two rotators "
                "would delete each other's tokens. Nothing was changed. Turn its rotation off (aws secretsmanager "
                "cancel-rotate-secret --secret-id %s) to let this role rotate it, or remove it from %s."
                % (self.label, self.secret_id, OPTION))
        return described

    @staticmethod
    def _labelled(described, stage):
        for version, stages in (described.get("VersionIdsToStages") or {}).items():
            if stage in stages:
                return version
        return None

    def _read(self, what, binary_ok=True, **kwargs):
        answer = self._call(what, self.api.get_secret_value, SecretId=self.secret_id, **kwargs)
        value = answer.get("SecretString")
        if value is None and answer.get("SecretBinary") is not None and not binary_ok:
            # The role writes SecretString: an application reading the binary value would lose its token.
            raise self.fail("refused", "its %s version holds a binary value (SecretBinary), not text"
                            % kwargs.get("VersionStage", "current"),
                            "The role writes the token as text (SecretString), which an application reading the "
                            "binary value would not find: store the value as text, or remove the secret from %s."
                            % OPTION)
        self.remember(value, self.held(value)[1])
        return value

    def observe(self):
        """Refuses, before anything is written: a secret that does not exist unless the entry says create: true (an
        ARN never: it names a secret that cannot be made), a binary secret, a value of another shape."""
        described = self._describe()
        if described is None:
            if self.is_arn:
                raise self.missing("no secret has this ARN in %s" % self.region_used,
                                   "An ARN names a secret that exists; create: true cannot make one: give the ARN of "
                                   "an existing secret, or its name (with create: true) to let the role make it.")
            if not self.create:
                raise self.missing("no secret %s %s%s" % (
                    self.secret_id, "in %s" % self.region_used if self.region_used else "(no region set)",
                    " at %s" % self.endpoint_used if self.endpoint_used else ""))
            return Observed(MISSING, None)
        current = self._labelled(described, AWS_CURRENT)
        if current is None:
            return Observed(UNKNOWN, None)
        # Always name the stage: a read without one may return an older version (moto does after a stage move).
        value = self._read("reading the AWSCURRENT version", binary_ok=False, VersionId=current,
                           VersionStage=AWS_CURRENT)
        self.check_shape(value, "its AWSCURRENT version")
        held, token = self.held(value)
        pending = None
        staged = self._labelled(described, AWS_PENDING)
        if staged and staged != current:
            pending = self.held(self._read("reading the AWSPENDING version", VersionId=staged,
                                           VersionStage=AWS_PENDING))[0]
        return Observed(held, current, token, value, pending=pending)

    def stage(self, new_token, expected_version=None, check_mode=False):
        """Stage the new value as AWSPENDING (create the secret when it does not exist). Returns
        {'action', 'changed', 'version', 'stage'}; version is the version id verify() reads."""
        self.remember(new_token.get("token"), new_token.get("client_secret"))
        client_id = new_token["client_id"]
        version = version_id_for(client_id)
        observed = self.observe()
        self.remember(observed.value)
        if expected_version is not None and observed.version != expected_version:
            raise self.fail(
                "changed since it was observed", "its AWSCURRENT version is now %s, not %s as observed"
                % (observed.version or "none", expected_version),
                "Another process wrote the secret during the rotation; nothing was staged or deleted. Run the role "
                "again once that writer is done.")
        if observed.held == client_id:
            return {"action": "already current", "changed": False, "version": observed.version, "stage": AWS_CURRENT}
        if observed.held == MISSING:  # observe refuses it unless the entry says create: true
            if not check_mode:
                self._call("creating the secret", self.api.create_secret, Name=self.secret_id,
                           ClientRequestToken=version, SecretString=self.value_for(new_token),
                           Description="Astra token, rotated by astra.devops.token_rotation")
            return {"action": "created", "changed": True, "version": version, "stage": AWS_CURRENT}
        described = self._described or {}
        stages = (described.get("VersionIdsToStages") or {}).get(version)
        if stages is not None:
            # A run that staged this client id and stopped before promoting it: the version is there, keep it.
            if AWS_PENDING in stages:
                return {"action": "already staged", "changed": False, "version": version, "stage": AWS_PENDING}
            if not check_mode:
                move = {"RemoveFromVersionId": self._labelled(described, AWS_PENDING)} \
                    if self._labelled(described, AWS_PENDING) else {}
                self._call("labelling the staged version AWSPENDING", self.api.update_secret_version_stage,
                           SecretId=self.secret_id, VersionStage=AWS_PENDING, MoveToVersionId=version, **move)
            return {"action": "staged again", "changed": True, "version": version, "stage": AWS_PENDING}
        if not check_mode:
            self._call("staging the new token as AWSPENDING", self.api.put_secret_value, SecretId=self.secret_id,
                       ClientRequestToken=version, SecretString=self.value_for(new_token, observed.value),
                       VersionStages=[AWS_PENDING])
        return {"action": "staged", "changed": True, "version": version, "stage": AWS_PENDING}

    def verify(self, new_token, staged):
        """Read the staged version back by id and stage, and check the client id it holds."""
        value = self._read("reading the staged version back", VersionId=staged["version"], VersionStage=staged["stage"])
        held, _token = self.held(value)
        if held != new_token["client_id"]:
            raise self.fail("verify failed", "its %s version %s holds %s, not the new token %s"
                            % (staged["stage"], staged["version"], held, new_token["client_id"]),
                            "Another process wrote the secret during the rotation, or its format is not %s; nothing "
                            "was promoted or deleted. Run the role again." % self.format)
        return held

    def promote(self, client_id, check_mode=False):
        """AWSCURRENT moves to the version of client_id (the old current becomes AWSPREVIOUS), AWSPENDING is removed
        from it; then AWSCURRENT is read back. Returns {'action', 'changed'}."""
        version = version_id_for(client_id)
        described = self._describe()
        if described is None and check_mode:  # the stage of this check-mode run would have created it as current
            return {"action": "already current", "changed": False}
        if described is None:
            raise self.fail("promotion failed", "the secret does not exist (deleted during the rotation?)",
                            "Run the role again: it refuses a secret that does not exist unless the entry says "
                            "create: true, then stages the token again.")
        stages = (described.get("VersionIdsToStages") or {}).get(version)
        if stages is None and check_mode:  # the stage of this check-mode run would have staged it
            return {"action": "promoted", "changed": True}
        if stages is None:
            raise self.fail("promotion failed", "it has no version staged for %s (version %s)" % (client_id, version),
                            "Run the role again: it stages the new token before promoting it.")
        current = self._labelled(described, AWS_CURRENT)
        changed = False
        if current != version:
            changed = True
            if not check_mode:
                moved = {"RemoveFromVersionId": current} if current else {}
                self._call("promoting the staged version to AWSCURRENT", self.api.update_secret_version_stage,
                           SecretId=self.secret_id, VersionStage=AWS_CURRENT, MoveToVersionId=version, **moved)
        if AWS_PENDING in stages:
            changed = True
            if not check_mode:
                self._call("removing the AWSPENDING label", self.api.update_secret_version_stage,
                           SecretId=self.secret_id, VersionStage=AWS_PENDING, RemoveFromVersionId=version)
        if not check_mode:
            value = self._read("reading AWSCURRENT back", VersionStage=AWS_CURRENT)
            held, _token = self.held(value)
            if held != client_id:
                raise self.fail("promotion failed", "AWSCURRENT holds %s after the promotion, not %s" % (held, client_id),
                                "Another process changed the secret's labels; run the role again.")
        return {"action": "promoted" if changed else "already current", "changed": changed}


# ---------------------------------------------------------------------------------------------------------------
# Vault / OpenBao KV v2
# ---------------------------------------------------------------------------------------------------------------

class VaultKv2Store(Store):
    """kind: vault_kv2 (hvac), Vault or OpenBao."""

    kind = "vault_kv2"
    keys = ("url", "mount_point", "path", "key", "auth_method", "role_id", "secret_id", "namespace", "ca_cert")
    library = "hvac"

    def __init__(self, index, entry):
        super(VaultKv2Store, self).__init__(index, entry)
        self.url = entry.get("url") or os.environ.get("VAULT_ADDR")
        self.mount_point = entry.get("mount_point") or "secret"
        self.path = entry["path"]
        self.key = entry.get("key") or "token"
        self.auth_method = entry.get("auth_method") or "token"
        self.role_id = entry.get("role_id")
        self.secret_id = entry.get("secret_id")
        self.namespace = entry.get("namespace") or os.environ.get("VAULT_NAMESPACE") or None
        self.ca_cert = entry.get("ca_cert") or os.environ.get("VAULT_CACERT") or None
        self.remember(self.secret_id, os.environ.get("VAULT_TOKEN"))

    @classmethod
    def check(cls, index, entry):
        if not entry.get("path"):
            raise AstraInputError("%s is required for kind vault_kv2: the secret's path under the mount point, such "
                                  "as 'apps/inventory/astra'." % _at(index, "path"))
        for key in ("path", "mount_point"):
            value = entry.get(key)
            if value is not None and (not _VAULT_SEGMENT.match(value) or value.startswith(("data/", "metadata/"))):
                raise AstraInputError(
                    "%s must be a path without leading, trailing or double slashes, spaces, or a data/ or metadata/ "
                    "prefix (the role adds those), got '%s'." % (_at(index, key), shown(value)))
        if entry.get("url") and not _URL.match(entry["url"]):
            raise AstraInputError("%s must be an http(s) URL such as https://vault.example.com:8200, got '%s'."
                                  % (_at(index, "url"), shown(entry["url"])))
        method = entry.get("auth_method") or "token"
        if method not in ("token", "approle"):
            raise AstraInputError("%s must be token (VAULT_TOKEN) or approle (role_id and secret_id), got '%s'."
                                  % (_at(index, "auth_method"), shown(method)))
        for key in ("role_id", "secret_id"):
            if method == "approle" and not entry.get(key):
                raise AstraInputError("%s is required with auth_method approle." % _at(index, key))
            if method == "token" and entry.get(key):
                raise AstraInputError("%s is only used with auth_method approle; remove it or set auth_method: "
                                      "approle." % _at(index, key))
        if entry.get("ca_cert") and not os.path.isfile(os.path.expanduser(entry["ca_cert"])):
            raise AstraInputError("%s must be the path of a CA bundle file on the controller, got '%s', which is not "
                                  "a file." % (_at(index, "ca_cert"), shown(entry["ca_cert"])))

    @property
    def location(self):
        return "%s/%s key %s at %s%s" % (self.mount_point, self.path, self.key, self.url or "VAULT_ADDR (unset)",
                                         " namespace %s" % self.namespace if self.namespace else "")

    def identity(self):
        return (self.kind, (self.url or "").rstrip("/"), self.namespace or "", self.mount_point, self.path, self.key)

    def connect(self):
        hvac = optional_library("hvac", self.kind, self.index)
        if not self.url:
            raise AstraInputError("%s.url is not set and VAULT_ADDR is empty: give the Vault address, such as "
                                  "https://vault.example.com:8200." % _at(self.index))
        verify = os.path.expanduser(self.ca_cert) if self.ca_cert else True
        try:
            client = hvac.Client(url=self.url, namespace=self.namespace, verify=verify, timeout=TIMEOUT,
                                 token=os.environ.get("VAULT_TOKEN") if self.auth_method == "token" else "")
            if self.auth_method == "approle":
                client.auth.approle.login(role_id=self.role_id, secret_id=self.secret_id)
                self.remember(client.token)
            elif not client.token:
                raise AstraInputError("%s uses auth_method token, but VAULT_TOKEN is not set: set it (in AWX, through "
                                      "a credential) or use auth_method approle." % self.label)
        except AstraError:
            raise
        except Exception as error:  # pylint: disable=broad-except
            raise self._error("logging in to Vault (%s)" % self.auth_method, error)
        return client

    def _error(self, what, error):
        name = type(error).__name__
        text = str(error)
        lowered = text.lower()
        if name == "Forbidden" or "permission denied" in lowered:
            hint = ("The Vault token or AppRole is not allowed (or not valid): its policy needs create, read and "
                    "update on %s/data/%s and read and update on %s/metadata/%s; check VAULT_TOKEN or role_id and "
                    "secret_id." % (self.mount_point, self.path, self.mount_point, self.path))
        elif name == "InvalidPath":
            hint = "Check mount_point (a KV version 2 engine) and path."
        elif name == "InvalidRequest" and "check-and-set" in lowered:
            hint = None
        elif name == "Unauthorized":
            hint = "The Vault token is not valid: check VAULT_TOKEN, or role_id and secret_id."
        elif name in ("SSLError",) or "certificate" in lowered:
            hint = "The Vault server's TLS certificate is not trusted: set ca_cert (or VAULT_CACERT) to its CA bundle."
        elif name in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "VaultDown", "BadGateway"):
            hint = "Check url (or VAULT_ADDR), that Vault is up and unsealed, and the network."
        elif name == "VaultNotInitialized" or "sealed" in lowered:
            hint = "Vault is sealed or not initialized: unseal it and run again."
        else:
            hint = None
        # hvac's text is "<message>, on <method> <url>"; keep it (no value is in it), drop nothing else.
        return self.fail(what + " failed", "%s: %s" % (name, text or "no details"), hint)

    @property
    def kv(self):
        return self.api.secrets.kv.v2

    @staticmethod
    def _absent(error):
        return type(error).__name__ == "InvalidPath"

    def _metadata(self):
        """The secret's metadata, None when the path has none (it does not exist). A refusal is explained by the
        mount when there is no KV v2 mount there."""
        kv = self.kv  # connects: a login failure is reported as such
        try:
            answer = kv.read_secret_metadata(path=self.path, mount_point=self.mount_point)
        except Exception as error:  # pylint: disable=broad-except
            if self._absent(error):
                return None
            if type(error).__name__ == "Forbidden":  # Vault's answer for a path under no mount, too
                self._check_mount(quiet=True)
            raise self._error("reading the secret's metadata", error)
        return (answer or {}).get("data") or {}

    def _mount(self, quiet=False):
        """The mount's type, KV version and path as Vault's UI endpoint gives them (any token with a capability under
        the mount may read it), or None when nothing is mounted there that the token may use; with quiet, False
        when it cannot tell (the caller reports its own error)."""
        try:
            answer = self.api.adapter.get("/v1/sys/internal/ui/mounts/%s" % self.mount_point)
        except Exception as error:  # pylint: disable=broad-except
            if type(error).__name__ == "Forbidden" and "preflight capability check" in str(error):
                return None
            if quiet:
                return False
            raise self._error("reading the mount %s/" % self.mount_point, error)
        data = (answer if isinstance(answer, dict) else answer.json()).get("data") or {}
        return {"type": data.get("type"), "version": str((data.get("options") or {}).get("version") or "1"),
                "path": (data.get("path") or "").rstrip("/")}

    def _check_mount(self, quiet=False):
        """Refuse a mount_point that is not a KV version 2 mount: nothing mounted there (or nothing the token may
        use), another engine, KV version 1, or a folder inside a mount. create: true does not change this."""
        mount = self._mount(quiet)
        problem = mount_problem(mount, self.mount_point) if mount is not False else None
        if problem:
            raise self.missing(problem[0], problem[1])

    def _read_version(self, what, version):
        """(data, value) of one version; (None, None) when that version is deleted or destroyed. value is the field
        key as Vault holds it (a string, or whatever another writer put there)."""
        answer = self._call(what, self.kv.read_secret_version, missing_ok=True, path=self.path,
                            mount_point=self.mount_point, version=version, raise_on_deleted_version=True)
        if answer is _ABSENT:
            return None, None
        data = ((answer or {}).get("data") or {}).get("data") or {}
        value = data.get(self.key)
        if isinstance(value, str):
            self.remember(value, self.held(value)[1])
        return data, value

    def observe(self, read_value=True):
        """With read_value False, the custom metadata alone answers when it describes the current version. Refuses,
        before anything is written: a path without a secret unless the entry says create: true, a mount that is not
        KV version 2, a field of another shape than the format."""
        metadata = self._metadata()
        if metadata is None or not metadata.get("current_version"):
            self._check_mount()
            if not self.create:
                raise self.missing("no secret at %s/metadata/%s at %s" % (self.mount_point, self.path, self.url))
            return Observed(MISSING, 0, data={}, metadata={}, settings=metadata or {})
        version = int(metadata["current_version"])
        custom = metadata.get("custom_metadata") or {}
        noted = custom.get(VAULT_CLIENT_ID_KEY) if str(custom.get(VAULT_VERSION_KEY)) == str(version) else None
        if noted and not read_value:
            return Observed(noted, version, metadata=custom, settings=metadata)
        data, value = self._read_version("reading the current version", version)
        self.check_shape(value, "its field %s" % self.key)
        held, token = self.held(value if isinstance(value, str) else None)
        return Observed(held, version, token, value, data or {}, custom, settings=metadata)

    def stage(self, new_token, expected_version=None, check_mode=False):
        """Write the new value with check-and-set on the version observed (0: the path must not exist yet), keeping the
        secret's other keys, then note the client id in the custom metadata. Returns {'action', 'changed', 'version'}."""
        self.remember(new_token.get("token"), new_token.get("client_secret"))
        client_id = new_token["client_id"]
        observed = self.observe()
        cas = observed.version if expected_version is None else int(expected_version)
        if observed.version != cas:
            raise self._conflict(cas, observed.version)
        if observed.held == client_id:
            if not check_mode and ((observed.metadata or {}).get(VAULT_CLIENT_ID_KEY) != client_id or str(
                    (observed.metadata or {}).get(VAULT_VERSION_KEY)) != str(observed.version)):
                self._note(client_id, observed.version, observed)
            return {"action": "already current", "changed": False, "version": observed.version}
        if check_mode:
            return {"action": "created" if observed.held == MISSING else "written", "changed": True,
                    "version": observed.version + 1}
        data = dict(observed.data or {})
        data[self.key] = self.value_for(new_token, observed.value)
        try:
            answer = self.kv.create_or_update_secret(path=self.path, secret=data, cas=cas, mount_point=self.mount_point)
        except Exception as error:  # pylint: disable=broad-except
            if type(error).__name__ == "InvalidRequest" and "check-and-set" in str(error).lower():
                raise self._conflict(cas, None)
            raise self._error("writing the new token", error)
        version = int(((answer or {}).get("data") or {}).get("version") or cas + 1)
        try:
            self._note(client_id, version, observed)
        except AstraError as error:
            error.message = "%s (the new token was written (version %s, current now) but its client id is not noted " \
                "in the custom metadata: run the role again once that is fixed; it finds the new token in the " \
                "value, notes it, and creates no other)" % (error.message.rstrip("."), version)
            raise
        return {"action": "created" if observed.held == MISSING else "written", "changed": True, "version": version}

    def _conflict(self, expected, found):
        return self.fail(
            "check-and-set conflict", "another writer changed the secret since it was observed (version %s expected, "
            "%s found); the new token was not written" % (expected, found if found is not None else "a newer one"),
            "Nothing was deleted: every token of the family stays valid. Find the other writer, then run the role "
            "again: it reads the secret afresh.")

    def _note(self, client_id, version, observed):
        """Write the custom metadata alone (a POST of only custom_metadata keeps the secret's other settings, which
        hvac's update_metadata would reset), with OpenBao's metadata check-and-set on the metadata version observed
        when the server keeps one (it is required under metadata_cas_required, on the secret or the mount; data
        writes do not change it)."""
        custom = dict(observed.metadata or {})
        custom.update({VAULT_CLIENT_ID_KEY: client_id, VAULT_VERSION_KEY: str(version)})
        body = {"custom_metadata": custom}
        settings = observed.settings or {}
        if settings.get("current_metadata_version") is not None:
            body["metadata_cas"] = int(settings["current_metadata_version"])
        url = importlib.import_module("hvac.utils").format_url(
            "/v1/{mount_point}/metadata/{path}", mount_point=self.mount_point, path=self.path)
        self._call("noting the client id in the custom metadata", self.api.adapter.post, url=url, json=body)

    def verify(self, new_token, staged):
        _data, value = self._read_version("reading the written version back", staged["version"])
        held, _token = self.held(value)
        if held != new_token["client_id"]:
            raise self.fail("verify failed", "version %s holds %s, not the new token %s"
                            % (staged["version"], held if value is not None else "nothing (deleted)",
                               new_token["client_id"]),
                            "Another process wrote or deleted it during the rotation; nothing was deleted. Run the "
                            "role again.")
        return held

    def promote(self, client_id, check_mode=False):
        """Nothing to promote (a KV write is live at once): checks that the current version still holds client_id."""
        observed = self.observe(read_value=False)
        if observed.held != client_id and not check_mode:
            raise self.fail("the new token is no longer current",
                            "the current version %s holds %s, not %s" % (observed.version, observed.held, client_id),
                            "Another process wrote the secret after the role did; nothing was deleted. Run the role "
                            "again.")
        return {"action": "live since written", "changed": False}


KINDS = {AwsSecretsManagerStore.kind: AwsSecretsManagerStore, VaultKv2Store.kind: VaultKv2Store}


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
