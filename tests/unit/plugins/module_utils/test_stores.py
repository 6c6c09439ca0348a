# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret stores (module_utils/_stores.py, _store_entries.py, _store_values.py, _store_aws.py, _store_vault.py)
without a server: the checks of token_rotation_stores, the value formats, the held client id, the version ids, the
error shaping of boto3 and hvac exceptions (stand-ins of the same names and shapes, so neither library is needed here),
and a missing library."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import json

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _store_aws, _store_entries, _store_values, _store_vault, _stores
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError, AstraInputError

CLIENT_ID = "BOjPpMRcaWergiKIyHXEAymP"
HASH = "0123456789abcdef" * 4
TOKEN = "AstraCS:%s:%s" % (CLIENT_ID, HASH)
SECRET = "Aa1" * 40
NEW = {"token": TOKEN, "client_id": CLIENT_ID, "client_secret": SECRET}
AWS = {"kind": "aws_secretsmanager", "secret_id": "prod/app/astra"}
VAULT = {"kind": "vault_kv2", "path": "apps/app/astra", "url": "https://vault.example.com:8200"}


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    """The region boto3 finds comes from AWS_DEFAULT_REGION alone: no profile or config file of the machine."""
    for name in ("AWS_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


def one(entry):
    return _store_entries.parse_stores([entry])[0]


def input_error(entries):
    with pytest.raises(AstraInputError) as caught:
        _store_entries.parse_stores(entries)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------------------------

def test_defaults_of_each_kind():
    aws = one(AWS)
    assert (aws.kind, aws.format, aws.secret_id, aws.region, aws.profile, aws.endpoint_url) == (
        "aws_secretsmanager", "raw", "prod/app/astra", None, None, None)
    assert aws.describe() == {"index": 0, "kind": "aws_secretsmanager", "format": "raw",
                              "location": "secret prod/app/astra in us-east-1"}
    vault = one(VAULT)
    assert (vault.mount_point, vault.key, vault.auth_method, vault.namespace) == ("secret", "token", "token", None)
    assert vault.location == "secret/apps/app/astra key token at https://vault.example.com:8200"
    assert one(dict(AWS, format="env")).env_var == "ASTRA_DB_APPLICATION_TOKEN"


def test_an_arn_gives_the_region():
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf"
    assert one(dict(AWS, secret_id=arn)).region == "eu-west-1"
    assert "but the secret_id ARN is in eu-west-1" in input_error([dict(AWS, secret_id=arn, region="us-east-1")])


def test_vault_environment_fills_url_namespace_and_ca(monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:8200")
    monkeypatch.setenv("VAULT_NAMESPACE", "team-a")
    monkeypatch.setenv("VAULT_CACERT", str(ca))
    store = one({"kind": "vault_kv2", "path": "p"})
    assert (store.url, store.namespace, store.ca_cert) == ("http://127.0.0.1:8200", "team-a", str(ca))
    assert store.location == "secret/p key token at http://127.0.0.1:8200 namespace team-a"


@pytest.mark.parametrize("entries, expected", [
    ("x", "token_rotation_stores must be a list of store entries"),
    (["x"], "token_rotation_stores[0] must be a mapping with kind (aws_secretsmanager or vault_kv2)"),
    ([{"secret_id": "x"}], "token_rotation_stores[0].kind must be one of aws_secretsmanager, vault_kv2, got 'None'."),
    ([dict(AWS, format="yaml")], "token_rotation_stores[0].format must be one of raw, env, json, astra_integration, "
                                 "got 'yaml'."),
    ([dict(AWS, path="x")], "token_rotation_stores[0].path is not a key of a aws_secretsmanager store; accepted: "
                            "kind, format, env_var, create, secret_id, region, profile, endpoint_url."),
    ([{"kind": "aws_secretsmanager"}], "token_rotation_stores[0].secret_id is required for kind aws_secretsmanager"),
    ([dict(AWS, region="Mars")], "token_rotation_stores[0].region must be an AWS region such as us-east-1, got "
                                 "'Mars'."),
    ([dict(AWS, endpoint_url="localhost:4566")], "token_rotation_stores[0].endpoint_url must be an http(s) URL"),
    ([dict(AWS, env_var="X")], "token_rotation_stores[0].env_var is only used with format env"),
    ([dict(AWS, format="env", env_var="1X")], "token_rotation_stores[0].env_var must be a variable name"),
    ([dict(AWS, secret_id=" x")], "token_rotation_stores[0].secret_id must be a non-empty string without spaces"),
    ([dict(AWS, secret_id=5)], "token_rotation_stores[0].secret_id must be a non-empty string"),
    ([{"kind": "vault_kv2"}], "token_rotation_stores[0].path is required for kind vault_kv2"),
    ([dict(VAULT, path="/a/b")], "token_rotation_stores[0].path must be a path without leading, trailing or double "
                                 "slashes"),
    ([dict(VAULT, path="data/a")], "or a data/ or metadata/ prefix"),
    ([dict(VAULT, mount_point="kv/")], "token_rotation_stores[0].mount_point must be a path"),
    ([dict(VAULT, url="vault:8200")], "token_rotation_stores[0].url must be an http(s) URL"),
    ([dict(VAULT, auth_method="ldap")], "token_rotation_stores[0].auth_method must be token (VAULT_TOKEN) or approle "
                                        "(role_id and secret_id), got 'ldap'."),
    ([dict(VAULT, auth_method="approle", role_id="r")], "token_rotation_stores[0].secret_id is required with "
                                                        "auth_method approle."),
    ([dict(VAULT, role_id="r")], "token_rotation_stores[0].role_id is only used with auth_method approle"),
    ([dict(VAULT, ca_cert="/nonexistent/ca.pem")], "token_rotation_stores[0].ca_cert must be the path of a CA bundle"),
    ([AWS, dict(AWS)], "token_rotation_stores[1] is the same store as token_rotation_stores[0]: list each store once."),
])
def test_bad_entries_name_the_key_and_what_is_accepted(entries, expected):
    assert expected in input_error(entries)


def test_every_bad_entry_is_reported_at_once_in_one_line():
    message = input_error([dict(AWS, region="x"), VAULT, {"kind": "vault_kv2"}])
    assert message.startswith("token_rotation_stores[0].region ")
    assert " token_rotation_stores[2].path is required" in message


def test_an_approle_secret_id_is_never_shown():
    message = input_error([dict(VAULT, auth_method="approle", role_id="r", secret_id=" s3cr3t-value ")])
    assert "s3cr3t" not in message and "<hidden>" in message


def test_a_token_in_an_entry_is_scrubbed():
    assert TOKEN not in input_error([dict(AWS, region=TOKEN)])


# ---------------------------------------------------------------------------------------------------------------
# values and held client ids
# ---------------------------------------------------------------------------------------------------------------

def test_values_of_raw_env_and_json_follow_the_consumer_files_without_the_final_newline():
    assert _store_values.store_value(NEW, "raw") == TOKEN
    assert _store_values.store_value(NEW, "env", "APP_TOKEN") == "APP_TOKEN=" + TOKEN
    assert json.loads(_store_values.store_value(NEW, "json")) == {"clientId": CLIENT_ID, "secret": SECRET, "token": TOKEN}


def test_astra_integration_uses_the_integration_keys_and_keeps_the_others():
    value = _store_values.store_value(NEW, "astra_integration")
    assert json.loads(value) == {"astraKey": TOKEN, "clientID": CLIENT_ID, "clientSecret": SECRET, "engine": "AstraDB"}
    current = json.dumps({"astraKey": "old", "clientID": "old", "clientSecret": "old", "engine": "AstraDB",
                          "rootarn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:root", "roleID": "r"})
    merged = json.loads(_store_values.store_value(NEW, "astra_integration", current=current))
    assert merged["rootarn"].endswith(":secret:root") and merged["roleID"] == "r" and merged["astraKey"] == TOKEN
    with pytest.raises(_store_values.ShapeError):  # text that is not JSON is not overwritten
        _store_values.store_value(NEW, "astra_integration", current="not json")


@pytest.mark.parametrize("value, fmt, held", [
    (TOKEN, "raw", CLIENT_ID),
    (TOKEN + "\n", "raw", CLIENT_ID),
    ("ASTRA_DB_APPLICATION_TOKEN=" + TOKEN, "env", CLIENT_ID),
    ("APP=" + TOKEN, "env", "unknown"),  # another variable's token is not the one held
    (json.dumps({"token": TOKEN}), "json", CLIENT_ID),
    (json.dumps({"rootarn": "x", "astraKey": TOKEN}), "astra_integration", CLIENT_ID),
    ("no token here", "raw", "unknown"),
    (None, "raw", "unknown"),
])
def test_held_client_id(value, fmt, held):
    assert _store_values.held_of(value, fmt)[0] == held


def test_the_version_id_is_a_uuid5_of_the_client_id():
    version = _store_aws.version_id_for(CLIENT_ID)
    assert version == _store_aws.version_id_for(CLIENT_ID) != _store_aws.version_id_for("X" * 24)
    assert len(version) == 36 and version[14] == "5"


# ---------------------------------------------------------------------------------------------------------------
# error shaping, with stand-ins of the libraries' exceptions
# ---------------------------------------------------------------------------------------------------------------

class ClientError(Exception):
    """The shape of botocore.exceptions.ClientError."""

    def __init__(self, code, message, status=400):
        super(ClientError, self).__init__("An error occurred (%s): %s" % (code, message))
        self.response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}


class BotoCoreError(Exception):
    pass


class NoCredentialsError(BotoCoreError):
    pass


class Forbidden(Exception):
    """hvac.exceptions.Forbidden."""


class InvalidRequest(Exception):
    """hvac.exceptions.InvalidRequest."""


class FakeAws(object):
    def __init__(self, error=None, described=None):
        self.error = error
        self.described = described or {"VersionIdsToStages": {"v1": ["AWSCURRENT"]}}
        self.calls = []

    def describe_secret(self, **kwargs):
        self.calls.append(("describe_secret", kwargs))
        if self.error:
            raise self.error
        return self.described

    def get_secret_value(self, **kwargs):
        self.calls.append(("get_secret_value", kwargs))
        return {"SecretString": "ASTRA_DB_APPLICATION_TOKEN=" + TOKEN}


def aws_with(api, **entry):
    store = one(dict(AWS, **entry))
    store._api = api  # pylint: disable=protected-access
    return store


@pytest.mark.parametrize("error, said, hint", [
    (ClientError("AccessDeniedException", "User arn:aws:iam::1:user/x is not authorized"), "AccessDeniedException "
     "(HTTP 400): User arn:aws:iam::1:user/x is not authorized.", "secretsmanager:DescribeSecret"),
    (ClientError("UnrecognizedClientException", "The security token included in the request is invalid."),
     "UnrecognizedClientException", "The AWS credentials are not valid"),
    (NoCredentialsError("Unable to locate credentials"), "NoCredentialsError: Unable to locate credentials.",
     "Give AWS credentials"),
])
def test_aws_errors_name_the_store_and_give_a_hint(error, said, hint):
    with pytest.raises(AstraError) as caught:
        aws_with(FakeAws(error)).observe()
    message = str(caught.value)
    assert message.startswith("token_rotation_stores[0] (aws_secretsmanager, secret prod/app/astra in "
                              "us-east-1): reading the secret's description failed: "), message
    assert said in message and hint in message and "\n" not in message


def test_aws_not_found_is_refused_unless_create_and_rotation_enabled_is_refused():
    not_found = ClientError("ResourceNotFoundException", "not found")
    assert aws_with(FakeAws(not_found), create=True).observe().held == "missing"
    with pytest.raises(AstraError) as caught:
        aws_with(FakeAws(not_found)).observe()
    assert str(caught.value).startswith("token_rotation_stores[0] (aws_secretsmanager, secret prod/app/astra in "
                                        "us-east-1): not found: no secret prod/app/astra in us-east-1. ")
    assert "set create: true on the entry" in str(caught.value)
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf"
    with pytest.raises(AstraError) as caught:
        aws_with(FakeAws(not_found), secret_id=arn, create=True).observe()
    assert "no secret has this ARN in eu-west-1" in str(caught.value) and "cannot make one" in str(caught.value)
    with pytest.raises(AstraError) as caught:
        aws_with(FakeAws(described={"RotationEnabled": True, "VersionIdsToStages": {}})).observe()
    assert "has rotation enabled" in str(caught.value) and "--secret-id prod/app/astra" in str(caught.value)


def test_aws_observe_names_the_stage_and_reads_the_client_id():
    api = FakeAws()
    found = aws_with(api, format="env").observe()
    assert (found.held, found.version, found.token) == (CLIENT_ID, "v1", TOKEN)
    assert api.calls[1] == ("get_secret_value", {"SecretId": "prod/app/astra", "VersionId": "v1",
                                                 "VersionStage": "AWSCURRENT"})


def test_errors_never_show_a_secret():
    store = aws_with(FakeAws(ClientError("InvalidParameterException", "bad value %s and %s" % (TOKEN, SECRET))))
    store.remember(SECRET)
    with pytest.raises(AstraError) as caught:
        store.observe()
    assert TOKEN not in str(caught.value) and HASH not in str(caught.value) and SECRET not in str(caught.value)


class FakeKv(object):
    def __init__(self, error):
        self.error = error

    def read_secret_metadata(self, **kwargs):
        raise self.error

    def create_or_update_secret(self, **kwargs):
        raise self.error


class FakeVault(object):
    def __init__(self, error):
        self.secrets = type("S", (), {})()
        self.secrets.kv = type("K", (), {})()
        self.secrets.kv.v2 = FakeKv(error)


def test_vault_errors_name_the_store_and_give_a_hint():
    store = one(VAULT)
    store._api = FakeVault(Forbidden("permission denied, on get https://vault.example.com:8200/v1/secret/metadata/x"))  # pylint: disable=protected-access
    with pytest.raises(AstraError) as caught:
        store.observe()
    message = str(caught.value)
    assert message.startswith("token_rotation_stores[0] (vault_kv2, secret/apps/app/astra key token at "
                              "https://vault.example.com:8200): reading the secret's metadata failed: Forbidden: "
                              "permission denied"), message
    assert "its policy needs create, read and update on secret/data/apps/app/astra" in message


def test_vault_token_auth_needs_vault_token(monkeypatch):
    # Needs hvac (tests/unit/requirements.txt): its client looks for ~/.vault-token when VAULT_TOKEN is unset.
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")
    with pytest.raises(AstraInputError) as caught:
        one(VAULT).observe()
    assert "uses auth_method token, but VAULT_TOKEN is not set" in str(caught.value)


# ---------------------------------------------------------------------------------------------------------------
# optional libraries
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry, library", [(AWS, "boto3"), (VAULT, "hvac")])
def test_a_missing_library_is_named_with_the_kind_only_when_used(monkeypatch, entry, library):
    real = importlib.import_module

    def without(name, *args):
        if name.split(".")[0] == library:
            raise ImportError("No module named %r" % library)
        return real(name, *args)

    monkeypatch.setattr(_stores.importlib, "import_module", without)
    store = one(entry)  # parsing needs no library
    with pytest.raises(AstraError) as caught:
        store.observe()
    message = str(caught.value)
    assert message.startswith("token_rotation_stores[0] (kind %s) needs the Python library %s on the Ansible "
                              "controller" % (entry["kind"], library)), message
    assert "pip install %s" % library in message and "\n" not in message


def test_a_short_value_of_the_secret_does_not_garble_the_message():
    """Values shorter than 8 characters are not scrubbed from what a library says (the token-shaped text is, always),
    so a field such as 'app' does not turn the store's path into stars; the label is never scrubbed."""
    store = one(VAULT)
    store.remember("app", TOKEN)
    store._api = FakeVault(Forbidden("permission denied for app, token %s" % TOKEN))  # pylint: disable=protected-access
    with pytest.raises(AstraError) as caught:
        store.observe()
    message = str(caught.value)
    assert "secret/apps/app/astra key token" in message and "permission denied for app" in message
    assert TOKEN not in message and HASH not in message


def test_a_conflict_message_says_what_to_do():
    error = one(VAULT)._conflict(3, 4)  # pylint: disable=protected-access
    assert str(error) == (
        "token_rotation_stores[0] (vault_kv2, secret/apps/app/astra key token at https://vault.example.com:8200): "
        "check-and-set conflict: another writer changed the secret since it was observed (version 3 expected, 4 "
        "found); the new token was not written. Nothing was deleted: every token of the family stays valid. Find the "
        "other writer, then run the role again: it reads the secret afresh.")


ROTATED = {"token": "AstraCS:NEWclientIdOfTheRotation:" + "ab" * 32, "client_id": "NEWclientIdOfTheRotation",
           "client_secret": "new-client-secret"}


def test_aws_verify_that_reads_another_client_id_stops_before_any_promotion():
    """The staged version read back holds the old token (another writer): the message names the store, the version
    and both client ids, says nothing was promoted or deleted, and shows no secret."""
    api = FakeAws()
    store = aws_with(api, format="env")
    with pytest.raises(AstraError) as caught:
        store.verify(ROTATED, {"version": "v2", "stage": "AWSPENDING"})
    message = str(caught.value)
    assert message.startswith("token_rotation_stores[0] (aws_secretsmanager, secret prod/app/astra in "
                              "us-east-1): verify failed: its AWSPENDING version v2 holds %s, not the new token "
                              "NEWclientIdOfTheRotation" % CLIENT_ID), message
    assert "nothing was promoted or deleted" in message and TOKEN not in message and "\n" not in message
    assert api.calls[-1] == ("get_secret_value", {"SecretId": "prod/app/astra", "VersionId": "v2",
                                                  "VersionStage": "AWSPENDING"})


def test_vault_verify_that_reads_another_client_id_stops(monkeypatch):
    store = one(VAULT)
    monkeypatch.setattr(store, "_read_version", lambda what, version: ({}, TOKEN))
    with pytest.raises(AstraError) as caught:
        store.verify(ROTATED, {"version": 4})
    message = str(caught.value)
    assert "verify failed: version 4 holds %s, not the new token NEWclientIdOfTheRotation" % CLIENT_ID in message
    assert "nothing was deleted" in message and TOKEN not in message


# ---------------------------------------------------------------------------------------------------------------
# what observe refuses: create, shapes, mounts, one store listed twice; what json and env keep
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(True, True), ("yes", True), ("false", False), (None, False)])
def test_create_is_a_bool_and_defaults_to_false(value, expected):
    entry = dict(AWS, create=value) if value is not None else AWS
    assert one(entry).create is expected


def test_create_of_another_type_is_refused_in_one_line():
    assert input_error([dict(AWS, create="perhaps")]) == \
        "token_rotation_stores[0].create must be true or false, got 'perhaps'."


@pytest.mark.parametrize("value, fmt", [
    (TOKEN, "raw"), ("not a token yet", "env"), ("", "raw"), (None, "json"), ("APP=1\nB=2", "env"),
    (json.dumps({"token": TOKEN, "db_user": "app"}), "json"),
    (json.dumps({"astraKey": TOKEN, "rootarn": "x"}), "astra_integration"),
])
def test_values_a_format_can_take(value, fmt):
    assert _store_values.shape_problem(value, fmt) is None


@pytest.mark.parametrize("value, fmt, words", [
    (json.dumps({"token": TOKEN, "db_user": "app", "db_password": "pw"}), "raw",
     ["a JSON object with the keys db_password, db_user, token", "format raw would replace with the bare token",
      "format json", "astra_integration"]),
    (json.dumps({"token": TOKEN}), "env", ["is a JSON object with the keys token",
                                           "format env would add a NAME=token line to it"]),
    ("not a token yet", "raw", ["holds something other than one token (a value that is not an Astra token)"]),
    ("APP=%s\nAPP=%s" % (TOKEN, TOKEN), "env", ["sets APP on lines 1 and 2"]),
    (json.dumps([TOKEN]), "json", ["is not a JSON object but a JSON array"]),
    ({"value": TOKEN, "user": "app"}, "json", ["a JSON object with the keys user, value, not a string"]),
    (3, "raw", ["a int, not a string"]),
])
def test_values_of_another_shape_are_named_with_the_formats_that_keep_them(value, fmt, words):
    problem = _store_values.shape_problem(value, fmt, "APP")
    assert all(word in problem for word in words), problem
    assert TOKEN not in problem and HASH not in problem


def test_the_shape_refusal_names_the_store_and_scrubs_the_value():
    store = one(dict(VAULT, format="raw"))
    with pytest.raises(AstraError) as caught:
        store.check_shape(json.dumps({"token": TOKEN, "db_password": "pw"}), "its field token")
    message = str(caught.value)
    assert message.startswith("token_rotation_stores[0] (vault_kv2, secret/apps/app/astra key token at "
                              "https://vault.example.com:8200): refused: its field token holds something other than one "
                              "token (a JSON object with the keys db_password, token)"), message
    assert TOKEN not in message and "\n" not in message


def test_json_keeps_the_other_keys_of_the_object_it_replaces_the_token_in():
    current = json.dumps({"token": "AstraCS:old:" + "0" * 64, "db_user": "app", "secret": "old"})
    assert json.loads(_store_values.store_value(NEW, "json", current=current)) == {
        "token": TOKEN, "db_user": "app", "secret": SECRET, "clientId": CLIENT_ID}
    with pytest.raises(_store_values.ShapeError):  # text that is not JSON is not overwritten
        _store_values.store_value(NEW, "json", current="not json")


def test_env_rewrites_the_token_line_and_keeps_the_other_variables():
    old = "AstraCS:OLDclientId:" + "1" * 64
    assert _store_values.store_value(NEW, "env", "APP_TOKEN", "# app\nDB=1\nexport APP_TOKEN=%s\nX=y" % old) == \
        "# app\nDB=1\nexport APP_TOKEN=%s\nX=y" % TOKEN
    assert _store_values.store_value(NEW, "env", "APP_TOKEN", "DB=1") == "DB=1\nAPP_TOKEN=%s" % TOKEN
    assert _store_values.store_value(NEW, "env", "APP_TOKEN", "DB=1\n") == "DB=1\nAPP_TOKEN=%s\n" % TOKEN
    # A raw value turned into env: its line is not the variable's, so it is kept and the variable added.
    assert _store_values.store_value(NEW, "env", "APP_TOKEN", old) == "%s\nAPP_TOKEN=%s" % (old, TOKEN)
    assert _store_values.store_value(NEW, "env", "APP_TOKEN", None) == "APP_TOKEN=%s" % TOKEN
    with pytest.raises(_store_values.ShapeError):  # set twice: which one the application reads is unknown
        _store_values.store_value(NEW, "env", "APP_TOKEN", "APP_TOKEN=%s\nDB=1\nAPP_TOKEN=%s" % (old, old))
    assert _store_values.store_value(NEW, "env", "APP_TOKEN", "DB=1\nAPP_TOKEN=x") == "DB=1\nAPP_TOKEN=%s" % TOKEN


def test_env_reads_the_client_id_from_its_own_variable():
    other = "AstraCS:OTHERclientId:" + "2" * 64
    value = "OTHER_TOKEN=%s\nAPP_TOKEN=%s" % (other, TOKEN)
    assert _store_values.held_of(value, "env", "APP_TOKEN") == (CLIENT_ID, TOKEN)
    assert one(dict(AWS, format="env", env_var="APP_TOKEN")).held(value) == (CLIENT_ID, TOKEN)


@pytest.mark.parametrize("mount, words", [
    (None, ["no secrets engine is mounted at secret/", "create: true makes a secret, not a mount"]),
    ({"type": "kv", "version": "1", "path": "secret"}, ["the mount secret/ is KV version 1",
                                                        "vault kv enable-versioning secret"]),
    ({"type": "pki", "version": "1", "path": "secret"}, ["the mount secret/ is a pki engine, not KV"]),
    ({"type": "kv", "version": "2", "path": "kv"}, ["mount_point secret is a folder inside the mount kv/",
                                                    "Set mount_point to kv"]),
])
def test_a_mount_that_cannot_hold_the_secret_is_named(mount, words):
    looked, why = _store_vault.mount_problem(mount, "secret")
    assert all(word in looked + " " + why for word in words), (looked, why)


def test_a_kv2_mount_at_the_mount_point_is_fine():
    assert _store_vault.mount_problem({"type": "kv", "version": "2", "path": "secret"}, "secret") is None


def test_a_vault_path_without_a_secret_is_refused_unless_create(monkeypatch):
    class Kv(object):
        def read_secret_metadata(self, **kwargs):
            raise type("InvalidPath", (Exception,), {})("None, on get")

    class Adapter(object):
        @staticmethod
        def get(url):
            assert url == "/v1/sys/internal/ui/mounts/secret"
            return {"data": {"type": "kv", "options": {"version": "2"}, "path": "secret/"}}

    api = type("Api", (), {})()
    api.secrets = type("S", (), {})()
    api.secrets.kv = type("K", (), {})()
    api.secrets.kv.v2 = Kv()
    api.adapter = Adapter()
    store = one(VAULT)
    store._api = api  # pylint: disable=protected-access
    with pytest.raises(AstraError) as caught:
        store.observe()
    assert "not found: no secret at secret/metadata/apps/app/astra at https://vault.example.com:8200. " \
        in str(caught.value) and "set create: true on the entry" in str(caught.value)
    created = one(dict(VAULT, create=True))
    created._api = api  # pylint: disable=protected-access
    assert created.observe().held == "missing"


def test_one_aws_secret_listed_twice_is_refused_by_its_arn():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/app/astra-AbCdEf"
    first, second = _store_entries.parse_stores([AWS, dict(AWS, secret_id=arn)])
    for store in (first, second):
        store._described = {"ARN": arn}  # pylint: disable=protected-access
    with pytest.raises(AstraError) as caught:
        _store_entries.check_distinct([first, second])
    assert str(caught.value).startswith("token_rotation_stores[1] (aws_secretsmanager, secret %s in us-east-1): "
                                        "refused: it is the same secret as token_rotation_stores[0]" % arn)
    second._described = {"ARN": arn + "x"}  # pylint: disable=protected-access
    _store_entries.check_distinct([first, second])


def test_the_label_names_the_region_used_and_says_when_there_is_none(monkeypatch):
    assert one(AWS).location == "secret prod/app/astra in us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert one(AWS).location == "secret prod/app/astra in eu-central-1"
    assert one(dict(AWS, region="ap-south-1")).location == "secret prod/app/astra in ap-south-1"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert one(AWS).location == "secret prod/app/astra (no region set)"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5000")
    assert one(AWS).location == "secret prod/app/astra (no region set) at http://127.0.0.1:5000"


def test_one_vault_secret_given_with_two_spellings_of_its_url_is_one_store():
    with pytest.raises(AstraInputError, match=r"token_rotation_stores\[1\] is the same store as token_rotation_stores\[0\]"):
        _store_entries.parse_stores([
            {"kind": "vault_kv2", "path": "apps/x", "url": "http://127.0.0.1:8200"},
            {"kind": "vault_kv2", "path": "apps/x", "url": "http://LOCALHOST:8200/"},
        ])
    assert len(_store_entries.parse_stores([
        {"kind": "vault_kv2", "path": "apps/x", "url": "http://127.0.0.1:8200"},
        {"kind": "vault_kv2", "path": "apps/x", "url": "http://127.0.0.1:8201"},
    ])) == 2


OTHER_ID = "OtherFamilyClientIdXYZW"
OTHER_TOKEN = "AstraCS:%s:%s" % (OTHER_ID, "fedcba9876543210" * 4)


@pytest.mark.parametrize("fmt, value, others", [
    ("env", "ASTRA_DB_APPLICATION_TOKEN=%s\nLEGACY_ASTRA_TOKEN=%s" % (TOKEN, TOKEN), [CLIENT_ID]),
    ("json", json.dumps({"token": TOKEN, "spark": {"astraToken": OTHER_TOKEN}}), [OTHER_ID]),
    ("astra_integration", json.dumps({"astraKey": TOKEN, "backup": OTHER_TOKEN}), [OTHER_ID]),
    ("astra_integration", json.dumps({"astraKey": TOKEN, "clientID": CLIENT_ID}), []),
    ("raw", TOKEN, []),
    ("env", None, []),
])
def test_a_store_names_the_tokens_its_value_holds_besides_the_one_it_rewrites(fmt, value, others):
    assert one(dict(AWS, format=fmt)).also_held(value) == others


def test_the_store_module_returns_the_other_tokens_of_each_store_at_observe():
    module = importlib.import_module("ansible_collections.astra.devops.plugins.modules.astra_rotation_store")

    class Legacy(FakeAws):
        def get_secret_value(self, **kwargs):
            self.calls.append(("get_secret_value", kwargs))
            return {"SecretString": "ASTRA_DB_APPLICATION_TOKEN=%s\nLEGACY_ASTRA_TOKEN=%s\n" % (TOKEN, OTHER_TOKEN)}

    result = module.observe([aws_with(Legacy(), format="env")], False)
    assert result["stores"][0]["held"] == CLIENT_ID and result["stores"][0]["also_held"] == [OTHER_ID]
    assert TOKEN not in json.dumps(result) and OTHER_TOKEN not in json.dumps(result)
