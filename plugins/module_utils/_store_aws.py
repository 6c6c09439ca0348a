# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Secrets Manager as a secret store of a token family (kind aws_secretsmanager, boto3): see _stores.py (the base
Store) and _store_entries.py (the registry of kinds)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import os
import re
import uuid

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError, AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._store_values import MISSING, UNKNOWN
from ansible_collections.astra.devops.plugins.module_utils._stores import (
    _ABSENT,
    _URL,
    OPTION,
    TIMEOUT,
    Observed,
    Store,
    _at,
    optional_library,
)

# The namespace of the AWS ClientRequestToken (a UUID5 of the client id): the same new token always stages the same
# version id, so a re-run after a crash finds the version it staged instead of adding a second one.
VERSION_NAMESPACE = uuid.UUID("6b1d3c64-5f0e-4f59-9a53-0a6e2f1c7d21")
AWS_CURRENT = "AWSCURRENT"
AWS_PENDING = "AWSPENDING"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$")

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


def version_id_for(client_id):
    """The AWS ClientRequestToken (a version id) of the version that holds client_id's token."""
    return str(uuid.uuid5(VERSION_NAMESPACE, "astra.devops/" + str(client_id)))


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
