# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vault or OpenBao KV version 2 as a secret store of a token family (kind vault_kv2, hvac): see _stores.py (the base
Store) and _store_entries.py (the registry of kinds)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import os
import re

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraError, AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._store_values import MISSING
from ansible_collections.astra.devops.plugins.module_utils._stores import (
    _ABSENT,
    _URL,
    TIMEOUT,
    Observed,
    Store,
    _at,
    optional_library,
)
from ansible_collections.astra.devops.plugins.module_utils._urls import canonical_url

# The custom metadata this collection keeps on a Vault KV v2 secret: the client id written, and the version it was
# written in (custom metadata and data are two writes, so a client id is trusted only for the version it names).
VAULT_CLIENT_ID_KEY = "client_id"
VAULT_VERSION_KEY = "client_id_version"
_VAULT_SEGMENT = re.compile(r"^[^/\s]+(/[^/\s]+)*$")


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


class VaultKv2Store(Store):
    """kind: vault_kv2 (hvac), Vault or OpenBao."""

    kind = "vault_kv2"
    keys = ("url", "mount_point", "path", "key", "auth_method", "role_id", "secret_id", "namespace", "ca_cert")
    secret_keys = ("secret_id",)
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
        return (self.kind, canonical_url(self.url), self.namespace or "", self.mount_point, self.path, self.key)

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
