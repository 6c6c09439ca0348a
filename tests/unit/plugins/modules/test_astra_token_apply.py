# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_token's read, plan and apply in-process, on the emulator's own model (tests/unit/plugins/emulated_api.py):
only apply writes, check mode writes nothing, and a scoped role is made only just before its token."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, AstraInputError
from ansible_collections.astra.devops.plugins.modules.astra_token import TokenTask
from ansible_collections.astra.devops.tests.unit.plugins.emulated_api import EmulatedClient

DB = "5b70892f-e01a-4595-98e6-19ecc9985d50"
WRITES = ("POST", "PUT", "DELETE")


class Module:
    """What TokenTask uses of AstraModule."""

    def __init__(self, client, check_mode=False, **params):
        self.client = client
        self.check_mode = check_mode
        self.no_log = True
        self._diff = False
        self.warnings = []
        self.params = {"state": "present", "description": "app", "client_id": None, "roles": None, "databases": None,
                       "database_role": "Database Administrator", "keep_unused_role": False, "expiry": None,
                       "org_id": None, "recreate": "never", "delete_replaced": True, "endpoint": "tokens"}
        self.params.update(params)

    def warn(self, message):
        self.warnings.append(message)


def writes(client):
    return [call for call in client.calls if call[0] in WRITES]


@pytest.fixture(name="api")
def emulated_api():
    client = EmulatedClient()
    database = client.admin("POST", "databases", {"name": "orders"})
    client.database_id = database["id"]
    return client


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_scoped_token_is_created_with_its_role_and_check_mode_writes_nothing(api, check_mode):
    result = TokenTask(Module(api, check_mode, databases=[api.database_id])).run()
    assert result["changed"] and result["scoped_role"]["name"] == "orders Database Administrator"
    if check_mode:
        assert writes(api) == [] and result["scoped_role"]["id"] is None and "secret" not in result
    else:
        assert writes(api) == [("POST", "/v2/organizations/roles"), ("POST", "/v2/tokens")]
        assert result["token"]["roles"] == [result["scoped_role"]["id"]] and result["scoped_role"]["created"]


def test_a_scoped_token_that_differs_makes_no_role_before_failing(api):
    api.new_token("app", roles=["R/W Svc Acct"])
    with pytest.raises(AstraInputError, match=r"roles are \[R/W Svc Acct\], asked \[orders Database Administrator "
                                              r"\(not made yet\)\]"):
        TokenTask(Module(api, databases=[api.database_id])).run()
    assert writes(api) == []


def test_deleting_a_scoped_token_never_makes_its_role_and_deletes_the_role_no_token_holds(api):
    made = TokenTask(Module(api, databases=[api.database_id])).run()
    del api.calls[:]
    result = TokenTask(Module(api, state="absent", databases=[api.database_id])).run()
    assert ("POST", "/v2/organizations/roles") not in api.calls
    assert writes(api) == [("DELETE", "/v2/tokens/%s" % made["token"]["client_id"]),
                           ("DELETE", "/v2/organizations/roles/%s" % made["scoped_role"]["id"])]
    assert result["deleted_role_ids"] == [made["scoped_role"]["id"]] and result["scoped_role"]["deleted"]


def test_a_failed_token_create_deletes_the_role_it_made(api):
    api.admin("POST", "faults", {"method": "POST", "path": "/v2/tokens", "status": 400})
    with pytest.raises(AstraApiError) as caught:
        TokenTask(Module(api, databases=[api.database_id])).run()
    assert "The role 'orders Database Administrator' this task made was deleted again." in str(caught.value)
    assert [call for call in writes(api) if "roles" in call[1]][-1][0] == "DELETE"


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_replacement_creates_before_it_deletes_and_check_mode_only_says_so(api, check_mode):
    old = api.new_token("app", roles=["R/W Svc Acct"])["clientId"]
    result = TokenTask(Module(api, check_mode, recreate="always")).run()
    assert result["deleted_client_ids"] == [old] and result["changed"]
    assert writes(api) == ([] if check_mode else [("POST", "/v2/tokens"), ("DELETE", "/v2/tokens/%s" % old)])
