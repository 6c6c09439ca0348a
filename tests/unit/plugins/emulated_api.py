# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-process stand-in for AstraClient over the emulator's own model (tests/emulator/astra_emulator.py, the same
World the integration tests run behind HTTP): the client's call signature, answers from the World's handlers and
fault rules, and errors shaped by _errors.error_from_response, as the real client shapes them. No socket, no thread."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import json
import os

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraApiError, error_from_response

# tests/unit/plugins/emulated_api.py -> tests/emulator/astra_emulator.py (ansible-test units copies tests/ whole).
EMULATOR_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "emulator", "astra_emulator.py")
_LOADED = []


def emulator():
    """The emulator module, loaded once by its path (it is no package, and imports nothing of the collection)."""
    if not _LOADED:
        spec = importlib.util.spec_from_file_location("astra_emulator", EMULATOR_PATH)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED.append(module)
    return _LOADED[0]


class EmulatedClient:
    """AstraClient's interface over an emulator World: call, remember_secret, wait_before_retry, pause, client_for
    (another token, same World and call log), timeout and retries. calls lists (method, path) of every API call."""

    def __init__(self, world=None, token=None, retries=0, timeout=3, calls=None):
        self.world = world or emulator().World(seed=21)
        self.token = token or self.world.bootstrap["token"]
        self.secrets = {self.token}
        self.retries = retries
        self.timeout = timeout
        self.calls = [] if calls is None else calls
        self.retried = []
        self.paused = 0

    # -- the client's interface ----------------------------------------------------------------------------------

    def call(self, method, path, action, body=None, idempotent=True, permission=None, resource=None,
             ok_statuses=(200, 201, 204)):
        em = emulator()
        self.calls.append((method, path))
        route, handler, params = em.match_route(method, path)
        rule = self.world.take_fault(method, path)
        if rule and rule["drop"]:
            raise AstraApiError("%s failed: the connection failed (ConnectionError)." % action)
        if rule and rule["status"] is not None:
            reply = self.world.fault_reply(rule, em.error_family(path))
        else:
            reply = self._answer(em, method, route, handler, params, body)
        self.world.record(method, path, route, reply.status)
        if reply.status in ok_statuses:
            return reply.status, json.loads(reply.body) if reply.body and reply.status != 204 else None
        raise error_from_response(reply.status, reply.body.decode("utf-8"), reply.content_type, action, permission,
                                  resource, self.secrets)

    def _answer(self, em, method, route, handler, params, body):
        try:
            if route is None:
                raise em.ApiError(404, "no such endpoint: %s" % route)
            if handler is None:
                raise em.ApiError(405, "method %s not allowed on %s" % (method, route))
            raw = json.dumps(body).encode("utf-8") if body is not None else b""
            result = self.world.handle_api(handler, "Bearer %s" % self.token,
                                           em.Call(params, raw, route.startswith("/v2/clientIdSecrets")))
        except em.ApiError as error:
            return self.world.error_reply(error, family=em.error_family(route or ""))
        return result if isinstance(result, em.Reply) else em.json_reply(200, result)

    def remember_secret(self, value):
        if value:
            self.secrets.add(value)

    def wait_before_retry(self, attempt, retry_after, reason):
        self.retried.append(reason)

    def pause(self, seconds):
        self.paused += seconds

    def client_for(self, token):
        """A client of the same World that calls with another token (a probe), logging into the same calls."""
        return EmulatedClient(self.world, token, self.retries, self.timeout, self.calls)

    # -- the emulator's admin routes (never counted) ----------------------------------------------------------------

    def admin(self, method, route, data=None):
        """An /_emulator route (tokens, databases, seed, faults, config...): its JSON answer."""
        reply = emulator().Admin(self.world).handle(method, "/_emulator/%s" % route,
                                                    json.dumps(data or {}).encode("utf-8"))
        answer = json.loads(reply.body)
        assert reply.status == 200, answer
        return answer

    def new_token(self, description, roles=("R/W Svc Acct",), **more):
        """A token in the World (the admin route, uncounted): its create answer (clientId, token, ...)."""
        return self.admin("POST", "tokens", dict(more, description=description, roles=list(roles)))

    def role_id(self, name):
        """The id of a role of the default organization, by its exact name."""
        return next(role["id"] for role in self.world.roles_of(self.world.org_id) if role["name"] == name)
