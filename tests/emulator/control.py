# Copyright (c) 2025, astra.devops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, drive and stop the Astra DevOps API emulator from Python (standard library only).

    with Emulator() as emu:
        emu.seed(count=100)
        status, headers, body = emu.call("GET", "/v2/tokens")
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import atexit
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from urllib.error import HTTPError
from urllib.request import Request, urlopen

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "astra_emulator.py")
READY_TIMEOUT = 10.0


class EmulatorError(Exception):
    """The emulator did not start, or an admin call failed."""


class Emulator:
    """A running emulator process: a context manager, stopped on exit (terminate, then kill)."""

    def __init__(self, tls_cert=None, tls_key=None, seed=None, max_lifetime=900, host="127.0.0.1",
                 extra_args=None, python=None):
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.seed_value = seed
        self.max_lifetime = max_lifetime
        self.host = host
        self.extra_args = list(extra_args or [])
        self.python = python or sys.executable
        self.process = None
        self.workdir = None
        self.info = {}
        self.url = None
        self.admin_token = None
        self.org_id = None
        self.admin_prefix = "/_emulator"
        self._ssl = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def command(self, ready_file):
        """The command line that starts the server."""
        cmd = [self.python, SCRIPT, "--port", "0", "--host", self.host, "--ready-file", ready_file,
               "--max-lifetime", str(self.max_lifetime)]
        if self.tls_cert:
            cmd += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
        if self.seed_value is not None:
            cmd += ["--seed", str(self.seed_value)]
        return cmd + self.extra_args

    def start(self):
        """Start on a free port and wait (up to 10 s) for the ready-file."""
        self.workdir = tempfile.mkdtemp(prefix="astra-emulator-")
        ready = os.path.join(self.workdir, "ready.json")
        log = open(os.path.join(self.workdir, "emulator.log"), "wb")  # pylint: disable=consider-using-with
        try:
            self.process = subprocess.Popen(self.command(ready), stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                            stdin=subprocess.DEVNULL)
        finally:
            log.close()
        atexit.register(self.stop)
        deadline = time.monotonic() + READY_TIMEOUT
        while not os.path.exists(ready):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.log_text()
                self.stop()
                raise EmulatorError("emulator did not start: %s" % output)
            time.sleep(0.01)
        with open(ready) as handle:
            self.attach(json.load(handle))
        return self

    def attach(self, info):
        """Take url, tokens and ids from a ready-file's content."""
        self.info = info
        self.url = info["url"]
        self.admin_token = info["admin_token"]
        self.org_id = info["org_id"]
        self.admin_prefix = info.get("admin_prefix", "/_emulator")
        if self.url.startswith("https:"):
            self._ssl = ssl.create_default_context()
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        return self

    @classmethod
    def from_ready_file(cls, path):
        """Drive an emulator that something else started (it is not stopped by this object)."""
        with open(path) as handle:
            return cls().attach(json.load(handle))

    def log_text(self):
        """What the process printed (for failure messages)."""
        try:
            with open(os.path.join(self.workdir, "emulator.log"), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def stop(self):
        """Terminate, wait 5 s, then kill; remove the temporary folder. Safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def pid(self):
        """The server's process id."""
        return self.info.get("pid")

    # -- HTTP --------------------------------------------------------------

    def call(self, method, path, token=None, body=None, raw=None, headers=None, timeout=30):
        """One API call; token defaults to the admin token (pass "" for none).

        Returns (status, headers dict with lower-case names, parsed JSON or text or None).
        """
        token = self.admin_token if token is None else token
        all_headers = {"Accept": "application/json"}
        if token:
            all_headers["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        if isinstance(data, str):
            data = data.encode("utf-8")
        request = Request(self.url + path, data=data, headers=all_headers, method=method)
        try:
            with urlopen(request, timeout=timeout, context=self._ssl) as resp:
                return resp.status, lower_headers(resp.headers), decode(resp.headers, resp.read())
        except HTTPError as err:
            with err:
                return err.code, lower_headers(err.headers), decode(err.headers, err.read())

    def admin(self, method, route, body=None):
        """An admin call; raises EmulatorError on a non-200 answer."""
        status, _headers, payload = self.call(method, self.admin_prefix + route, token="", body=body)
        if status != 200:
            raise EmulatorError("%s %s -> %s %s" % (method, route, status, payload))
        return payload

    # -- admin routes ------------------------------------------------------

    def requests(self):
        """{"counts": {...}, "log": [...]}."""
        return self.admin("GET", "/requests")

    def counts(self):
        """Request counts per "METHOD /templated/route"."""
        return self.requests()["counts"]

    def reset(self):
        """Back to the initial world (bootstrap token kept)."""
        return self.admin("POST", "/reset")

    def reset_counts(self):
        """Clear request counts and log."""
        return self.admin("POST", "/reset-counts")

    def mint(self, **kwargs):
        """Create a token without counting; returns the create response (with secret and token)."""
        return self.admin("POST", "/tokens", kwargs)

    def database(self, name, org="default"):
        """Add a database to an organization; returns {id, name}."""
        return self.admin("POST", "/databases", {"name": name, "org": org})

    def seed(self, **kwargs):
        """Create many tokens; returns {"client_ids": [...]} (and "tokens" with with_tokens=True)."""
        return self.admin("POST", "/seed", kwargs)

    def revoke(self, client_id):
        """Delete a token without counting."""
        return self.admin("POST", "/revoke", {"client_id": client_id})

    def fault(self, **kwargs):
        """Add a fault rule; returns its id."""
        return self.admin("POST", "/faults", kwargs)["id"]

    def faults(self):
        """The fault rules with their hit counts."""
        return self.admin("GET", "/faults")["faults"]

    def clear_faults(self):
        """Remove every fault rule."""
        return self.admin("DELETE", "/faults")

    def config(self, **kwargs):
        """Merge settings; returns the full config."""
        return self.admin("POST", "/config", kwargs)

    def state(self):
        """Orgs, enterprise, tokens (no secrets) and config."""
        return self.admin("GET", "/state")

    def secrets(self):
        """Every secret and token string issued since start."""
        return self.admin("GET", "/secrets")["secrets"]


def lower_headers(headers):
    """Response headers as a dict with lower-case names."""
    return dict((name.lower(), value) for name, value in headers.items())


def decode(headers, data):
    """JSON when the body parses as JSON, else text; None for an empty body."""
    if not data:
        return None
    text = data.decode("utf-8", "replace")
    if "json" in (headers.get("Content-Type") or ""):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
