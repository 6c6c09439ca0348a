# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One rule for a value and the token it holds, in a consumer file and in a secret store: the canonical functions
(module_utils/_consumer.py), their copy in the WANT_JSON module astra_rotation_consumer (which can import nothing of
the collection), and the stores' value_for/held (module_utils/_stores.py, on _store_values.py) agree on one table."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _consumer, _errors, _store_entries, _store_values
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError
from ansible_collections.astra.devops.plugins.modules import astra_rotation_consumer as on_host

BEGIN = "# BEGIN value rule"
END = "# END value rule"
ENV = "APP_TOKEN"
OLD = "AstraCS:OLDclientIdOLDclientIdOLD:" + "1" * 64
OTHER = "AstraCS:OtherFamilyClientIdXYZW:" + "fedcba9876543210" * 4
NEW = {"token": "AstraCS:NEWclientIdNEWclientIdNEW:" + "0" * 64, "client_id": "NEWclientIdNEWclientIdNEW",
       "client_secret": "new-client-secret-Xy9+/="}
SECRET_VALUE = "pa55-W0RD-never-shown"


def marked_block(module):
    """The text between the markers in the file of a module."""
    path = os.path.splitext(module.__file__)[0] + ".py"
    with open(path) as handle:
        text = handle.read()
    assert text.count(BEGIN) == 1 and text.count(END) == 1, path
    return text[text.index(BEGIN):text.index(END)]


def test_the_consumer_module_holds_a_verbatim_copy_of_the_value_rule():
    """The WANT_JSON module runs as a plain script on the consumer and cannot import module_utils, so it holds a copy of
    the rule; this test keeps the copy identical to the canonical block in _consumer.py."""
    canonical = marked_block(_consumer)
    assert "def new_content(" in canonical and "def held_token(" in canonical and "class ShapeError(" in canonical
    assert marked_block(on_host) == canonical
    # The stores use the canonical functions themselves, not a third copy.
    assert _store_values.ShapeError is _consumer.ShapeError and _store_values.new_content is _consumer.new_content


def test_the_value_rule_reads_tokens_with_the_one_token_pattern_and_the_module_copy_of_it_is_the_same():
    """The block compiles no token pattern of its own: it uses _errors.TOKEN_IN_TEXT, which the WANT_JSON module
    copies above its block; the copy must not drift."""
    canonical = marked_block(_consumer)
    assert "TOKEN_IN_TEXT" in canonical and "AstraCS:([" not in canonical
    assert _consumer.TOKEN_IN_TEXT is _errors.TOKEN_IN_TEXT
    assert (on_host.TOKEN_IN_TEXT.pattern, on_host.TOKEN_IN_TEXT.flags) == \
        (_errors.TOKEN_IN_TEXT.pattern, _errors.TOKEN_IN_TEXT.flags)


# One table: the format, a current value, the file's new content (a store's value is the same without the final
# newline, unless the current value had one) or the words of the refusal, and the client id held before.
CASES = [
    # env: only the variable's line changes, in its own form; the other lines are kept.
    ("env", "DB_USER=app\n%s=%s\nDB_PASSWORD=%s\n" % (ENV, OLD, SECRET_VALUE),
     "DB_USER=app\n%s=%s\nDB_PASSWORD=%s\n" % (ENV, NEW["token"], SECRET_VALUE), "OLDclientIdOLDclientIdOLD"),
    ("env", "export %s='%s'  # rotated\nB=2" % (ENV, OLD), "export %s='%s'  # rotated\nB=2" % (ENV, NEW["token"]),
     "OLDclientIdOLDclientIdOLD"),
    ("env", '%s="%s"' % (ENV, OLD), '%s="%s"' % (ENV, NEW["token"]), "OLDclientIdOLDclientIdOLD"),
    ("env", "A=1\r\n%s=%s\r\n" % (ENV, OLD), "A=1\r\n%s=%s\r\n" % (ENV, NEW["token"]), "OLDclientIdOLDclientIdOLD"),
    ("env", "OTHER_TOKEN=%s\nB=2" % OTHER, "OTHER_TOKEN=%s\nB=2\n%s=%s\n" % (OTHER, ENV, NEW["token"]), "unknown"),
    # A line that is only a token is not the variable's: kept, and the variable is added.
    ("env", OLD, "%s\n%s=%s\n" % (OLD, ENV, NEW["token"]), "unknown"),
    # The variable set twice: which one the application reads is unknown, so neither is rewritten (none dropped).
    ("env", "%s=%s\nDB_PASSWORD=%s\nexport %s=%s\n" % (ENV, OLD, SECRET_VALUE, ENV, OTHER),
     ["sets %s on lines 1 and 3" % ENV, "Keep one"], "unknown"),
    # A UTF-8 byte order mark before the first line is not part of the variable's name, and is kept.
    ("env", "\ufeff%s=%s\nB=2\n" % (ENV, OLD), "\ufeff%s=%s\nB=2\n" % (ENV, NEW["token"]), "OLDclientIdOLDclientIdOLD"),
    ("env", "\ufeffexport %s='%s'\r\nB=2" % (ENV, OLD), "\ufeffexport %s='%s'\r\nB=2" % (ENV, NEW["token"]),
     "OLDclientIdOLDclientIdOLD"),
    ("env", "\ufeffA=1\n", "\ufeffA=1\n%s=%s\n" % (ENV, NEW["token"]), "unknown"),
    ("env", "\ufeff%s=%s\n%s=%s\n" % (ENV, OLD, ENV, OTHER), ["sets %s on lines 1 and 2" % ENV], "unknown"),
    ("env", json.dumps({"token": OLD, "db_user": "app"}),
     ["is a JSON object with the keys db_user, token", "format json", "astra_integration"], "unknown"),
    # json: the token's keys are set in the object; its other keys are kept, in their order.
    ("json", json.dumps({"keyspace": "inventory", "token": OLD, "db": {"port": 9042}}),
     json.dumps({"keyspace": "inventory", "token": NEW["token"], "db": {"port": 9042},
                 "clientId": NEW["client_id"], "secret": NEW["client_secret"]}, indent=4) + "\n",
     "OLDclientIdOLDclientIdOLD"),
    ("json", json.dumps([OLD]), ["is not a JSON object but a JSON array"], "unknown"),
    ("json", "token=" + OLD, ["is not a JSON object but text that is not JSON"], "unknown"),
    ("json", '{"token": "%s", "token": "%s"}' % (OLD, OTHER), ["the same key twice"], "unknown"),
    # raw: one token and nothing else.
    ("raw", OLD, NEW["token"] + "\n", "OLDclientIdOLDclientIdOLD"),
    ("raw", json.dumps({"token": OLD, "db_password": SECRET_VALUE}),
     ["a JSON object with the keys db_password, token", "format json", "astra_integration"], "unknown"),
    ("raw", SECRET_VALUE, ["a value that is not an Astra token"], "unknown"),
    ("raw", "%s\nDB_PASSWORD=%s" % (OLD, SECRET_VALUE), ["(2 lines)"], "unknown"),
]


def store_of(fmt):
    entry = {"kind": "vault_kv2", "path": "apps/app/astra", "url": "https://vault.example.com:8200", "format": fmt}
    if fmt == "env":
        entry["env_var"] = ENV
    return _store_entries.parse_stores([entry])[0]


@pytest.mark.parametrize("fmt, current, after, held", CASES)
def test_a_file_and_a_store_take_the_new_token_by_one_rule(fmt, current, after, held):
    store = store_of(fmt)
    for functions in (_consumer, on_host):
        assert functions.held(current, fmt, ENV)[0] == held
    assert store.held(current)[0] == held
    if isinstance(after, list):
        for functions in (_consumer, on_host):
            with pytest.raises(functions.ShapeError) as refused:
                functions.new_content(current, fmt, ENV, NEW)
            assert all(word in str(refused.value) for word in after), str(refused.value)
        with pytest.raises(AstraError) as caught:
            store.check_shape(current, "its field token")
        message = str(caught.value)
        assert message.startswith("token_rotation_stores[0] (vault_kv2, secret/apps/app/astra key token at "
                                  "https://vault.example.com:8200): refused: its field token "), message
        assert all(word in message for word in after), message
        for secret in (OLD, OTHER, SECRET_VALUE, "AstraCS:"):
            assert secret not in message
        with pytest.raises(AstraError):
            store.value_for(NEW, current)
        return
    assert _consumer.new_content(current, fmt, ENV, NEW) == after
    assert on_host.new_content(current, fmt, ENV, NEW) == after
    store.check_shape(current, "its field token")
    value = store.value_for(NEW, current)
    assert value == (after if current.endswith("\n") or not after.endswith("\n") else after[:-1])
    assert store.held(value) == (NEW["client_id"], NEW["token"])


@pytest.mark.parametrize("fmt", ["raw", "env", "json"])
def test_an_empty_value_gets_what_a_new_file_gets_without_its_final_newline(fmt):
    store = store_of(fmt)
    assert store.value_for(NEW) + "\n" == _consumer.new_content("", fmt, ENV, NEW) == \
        _consumer.file_content(NEW, fmt, ENV)
    assert store.value_for(NEW, "") == store.value_for(NEW)


def test_astra_integration_refuses_what_is_not_a_json_object_by_the_same_check():
    store = _store_entries.parse_stores([{"kind": "aws_secretsmanager", "secret_id": "prod/app/astra",
                                          "format": "astra_integration"}])[0]
    for current, words in (("[1]", "is not a JSON object but a JSON array"),
                           ("astraKey=" + OLD, "is not a JSON object but text that is not JSON"),
                           ('{"astraKey": {"v": 1}}', "holds a JSON object under the key astraKey")):
        with pytest.raises(AstraError) as caught:
            store.check_shape(current, "its AWSCURRENT version")
        assert words in str(caught.value), str(caught.value)
    kept = json.loads(store.value_for(NEW, json.dumps({"rootarn": "r", "astraKey": OLD, "roleID": "x"})))
    assert list(kept) == ["rootarn", "astraKey", "roleID", "clientID", "clientSecret", "engine"]
    assert kept["astraKey"] == NEW["token"] and store.held(json.dumps(kept))[0] == NEW["client_id"]


OTHER_ID = "OtherFamilyClientIdXYZW"
OLD_ID = "OLDclientIdOLDclientIdOLD"


@pytest.mark.parametrize("fmt, text, others", [
    # env: another variable holding the same token or another one; the variable's own line is not counted.
    ("env", "%s=%s\nLEGACY_ASTRA_TOKEN=%s\n" % (ENV, OLD, OLD), [OLD_ID]),
    ("env", "LEGACY_ASTRA_TOKEN=%s\nexport %s='%s'\n" % (OTHER, ENV, OLD), [OTHER_ID]),
    ("env", "# was %s\n%s=%s\n" % (OTHER, ENV, OLD), [OTHER_ID]),  # a comment line still holds a live token
    ("env", "\ufeff%s=%s\nA=1\n" % (ENV, OLD), []),
    ("env", "A=%s\nB=%s\n" % (OLD, OTHER), [OLD_ID, OTHER_ID]),  # no variable line: every token is elsewhere
    # json: a nested key or a list besides the top-level key token.
    ("json", json.dumps({"token": OLD, "spark": {"astraToken": OLD}}), [OLD_ID]),
    ("json", json.dumps({"token": OLD, "fallbacks": [OTHER, OLD]}), [OTHER_ID, OLD_ID]),
    ("json", json.dumps({"clientId": OLD_ID, "secret": "s", "token": OLD, "db": {"port": 9042}}), []),
    # raw holds one token only; a template writes every place itself.
    ("raw", OLD + "\n", []),
    ("template", "[a]\ntoken = %s\n[b]\ntoken = %s\n" % (OLD, OTHER), []),
    ("env", "", []),
])
def test_the_tokens_a_value_holds_besides_the_one_its_format_rewrites_are_named_by_client_id(fmt, text, others):
    for functions in (_consumer, on_host):
        assert functions.other_client_ids(text, fmt, ENV) == others
