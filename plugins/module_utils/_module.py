# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every module: the shared auth options, the client, and failures as one clean line."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
except ImportError:  # pragma: no cover
    ANSIBLE_VERSION = None

from ansible_collections.astra.devops.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    AstraClient,
)
from ansible_collections.astra.devops.plugins.module_utils._errors import KEPT_FILES_REFUSED, AstraError, escape_controls, scrub
from ansible_collections.astra.devops.plugins.module_utils._urls import url_credentials

AUTH_ARGUMENT_SPEC = dict(
    api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["ASTRA_API_TOKEN"])),
    api_url=dict(type="str", fallback=(env_fallback, ["ASTRA_API_URL"])),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=5),
)
# The connection options without the caller's token, for a module that calls with another token.
CONNECTION_ARGUMENT_SPEC = dict((name, option) for name, option in AUTH_ARGUMENT_SPEC.items() if name != "api_token")


class AstraModule(AnsibleModule):
    """AnsibleModule with the auth options of the astra.devops.auth doc fragment; every module supports check mode."""

    # The shared options; a subclass that calls with another token than api_token sets CONNECTION_ARGUMENT_SPEC and
    # overrides bearer().
    auth_spec = AUTH_ARGUMENT_SPEC

    def __init__(self, argument_spec, **kwargs):
        spec = dict(self.auth_spec)
        spec.update(argument_spec)
        super(AstraModule, self).__init__(argument_spec=spec, supports_check_mode=True, **kwargs)
        if self._keep_remote_files:
            self.fail_json(msg=KEPT_FILES_REFUSED)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        # A user name and password typed into api_url are refused, and must not be shown by Ansible either (the
        # invocation at -vvv, a failure's result): its no_log values are removed from everything the module returns.
        self.no_log_values.update(url_credentials(self.params.get("api_url")))
        self.api_retries = []
        self.secrets = set()
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = self.client_for(self.bearer())
            if not self.params["validate_certs"] and self._client.base_url.startswith("https"):
                self.warn("validate_certs is false: the Astra API's TLS certificate is not checked.")
        return self._client

    def client_for(self, token):
        """A client with this module's connection options that calls with token (to probe another token)."""
        params = self.params
        return AstraClient(
            api_token=token, api_url=params["api_url"], validate_certs=params["validate_certs"],
            ca_path=params["ca_path"], timeout=params["timeout"], retries=params["retries"],
            on_retry=self._note_retry, ansible_version=ANSIBLE_VERSION)

    def bearer(self):
        """The token the client calls with."""
        return self.params["api_token"]

    def _note_retry(self, message):
        """Each retry is a warning, which no_log does not hide (astra_token must run under no_log), and is returned in
        api_retries. The message is scrubbed and names the call and the status, never a body or a secret."""
        self.api_retries.append(message)
        self.warn("astra.devops API call retried: %s" % message)
        self.log("astra.devops: %s" % message)

    def remember_secret(self, value):
        """A value to scrub from a failure's message, besides the client's own (a store's or a consumer's token)."""
        if value:
            self.secrets.add(value)

    def run(self, work):
        """The one way out of a module: run work() and exit with its result. An AstraError becomes one scrubbed line
        without a traceback, with the extra result fields of a ModuleFailException."""
        try:
            result = work()
        except AstraError as error:
            secrets = set(self.secrets)
            if self._client:
                secrets.update(self._client.secrets)
            extra = dict(getattr(error, "result", {}))
            if self.api_retries:
                extra["api_retries"] = self.api_retries
            if error.status is not None:
                extra["status"] = error.status
            self.fail_json(msg=escape_controls(scrub(str(error), sorted(secrets, key=len, reverse=True))), **extra)
        if self.api_retries:
            result["api_retries"] = self.api_retries
        self.exit_json(**result)
