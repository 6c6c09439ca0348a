# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client of the collection: auth, base URL, timeouts, CA bundle and bounded, jittered retries."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import platform
import random
import re
import time
import traceback

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through missing_required_lib
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.astra.devops.plugins.module_utils._errors import (
    AstraApiError,
    AstraInputError,
    error_from_response,
    one_line,
    scrub,
)

COLLECTION_VERSION = "1.0.0"
DEFAULT_API_URL = "https://api.astra.datastax.com"
RETRY_STATUSES = frozenset((408, 429, 500, 502, 503, 504))
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
# What OpenSSL said about a certificate it refused, without the surrounding exception chain.
_CERT_DETAIL = re.compile(r"certificate verify failed: ([^()'\"]+)")


def normalise_base_url(api_url):
    """The API root without a trailing '/v2' or slash; refuses anything that is not an http(s) URL."""
    url = (api_url or DEFAULT_API_URL).strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise AstraInputError(
            "api_url must be an http(s) URL such as %s, got '%s'." % (DEFAULT_API_URL, scrub(api_url)))
    if url.lower().endswith("/v2"):
        url = url[:-3]
    return url


def check_ca_path(ca_path, option="ca_path"):
    """The CA bundle must be a readable file: requests would otherwise fail with an OSError at the first call."""
    if not (os.path.isfile(ca_path) and os.access(ca_path, os.R_OK)):
        raise AstraInputError(
            "%s must be a readable file holding PEM CA certificates, got '%s'%s." % (
                option, ca_path, " (a directory)" if os.path.isdir(ca_path) else
                " (not readable)" if os.path.exists(ca_path) else " (no such file)"))


def retry_delay(attempt, retry_after=None):
    """Seconds to wait before retry number attempt (1-based): Retry-After when given, else capped jittered backoff."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), BACKOFF_CAP)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
    return random.uniform(ceiling / 2.0, ceiling)


def parse_retry_after(value):
    """Retry-After in seconds; only the delta-seconds form is honoured (the HTTP-date form falls back to backoff)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class AstraClient:
    """Calls the DevOps API. Idempotent calls retry on connection errors, 408, 429 and 5xx; writes that mint never do."""

    def __init__(self, api_token, api_url=None, validate_certs=True, ca_path=None, timeout=30, retries=5,
                 on_retry=None, sleep=time.sleep, ansible_version=None):
        if not api_token:
            raise AstraInputError(
                "api_token must be set to an Astra application token: give the api_token option or the "
                "ASTRA_API_TOKEN environment variable.")
        if timeout is None or timeout <= 0:
            raise AstraInputError("timeout must be a positive number of seconds, got '%s'." % timeout)
        if retries is None or retries < 0:
            raise AstraInputError("retries must be 0 or a positive integer, got '%s'." % retries)
        self.base_url = normalise_base_url(api_url)
        if validate_certs and ca_path:
            check_ca_path(ca_path)
        self.timeout = timeout
        self.retries = retries
        self.secrets = {api_token}
        self._on_retry = on_retry or (lambda message: None)
        self._sleep = sleep
        self._session = requests.Session()
        # Given with every request, not only on the session: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
        # override a session's verify, which would silently ignore ca_path.
        self.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        self._session.headers.update({
            "Authorization": "Bearer %s" % api_token,
            "Accept": "application/json",
            "User-Agent": "astra.devops/%s (ansible-core %s; python %s)" % (
                COLLECTION_VERSION, ansible_version or "unknown", platform.python_version()),
        })

    def remember_secret(self, value):
        """Values to scrub from every later message (secrets of tokens this run created)."""
        if value:
            self.secrets.add(value)

    def call(self, method, path, action, body=None, idempotent=True, permission=None, resource=None,
             ok_statuses=(200, 201, 204)):
        """One API call with retries; returns (status, parsed JSON or None). Raises AstraApiError."""
        url = self.base_url + path
        attempt = 0
        while True:
            try:
                response = self._session.request(method, url, json=body, timeout=self.timeout, verify=self.verify)
            except requests.exceptions.RequestException as exc:
                error = self._connection_error(exc, action)
                # A refused certificate stays refused: retrying it only makes the user wait.
                if not idempotent or attempt >= self.retries or isinstance(exc, requests.exceptions.SSLError):
                    raise error
                attempt += 1
                self.wait_before_retry(attempt, None, "%s: %s" % (action, error.message))
                continue
            if response.status_code in ok_statuses:
                return response.status_code, self._json(response, action)
            if idempotent and response.status_code in RETRY_STATUSES and attempt < self.retries:
                attempt += 1
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                self.wait_before_retry(attempt, retry_after, "%s: HTTP %s" % (action, response.status_code))
                continue
            error = error_from_response(response.status_code, response.text, response.headers.get("Content-Type"),
                                        action, permission, resource, self.secrets)
            if attempt:
                error.message = "%s (gave up after %d retries)" % (error.message.rstrip("."), attempt)
            raise error

    def wait_before_retry(self, attempt, retry_after, reason):
        delay = retry_delay(attempt, retry_after)
        self._on_retry(scrub("retry %d of %d in %.1fs after %s" % (attempt, self.retries, delay, reason), self.secrets))
        self._sleep(delay)

    def _json(self, response, action):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise AstraApiError(
                scrub("%s returned HTTP %s with a body that is not JSON: %s" % (
                    action, response.status_code, one_line(response.text, 120)), self.secrets),
                status=response.status_code,
                hint="Check that api_url points at the Astra DevOps API and not at a proxy or web page.")

    def _connection_error(self, exc, action):
        """One line for a failure below HTTP: refused, timed out, TLS or malformed URL."""
        if isinstance(exc, requests.exceptions.SSLError):
            detail = _CERT_DETAIL.search(str(exc))
            reason = "the TLS certificate could not be verified%s" % (
                " (%s)" % one_line(detail.group(1).strip(), 120) if detail else "")
            hint = "Give the CA bundle in ca_path, or set validate_certs to false for a test endpoint."
        elif isinstance(exc, requests.exceptions.Timeout):
            reason = "no answer within %s seconds" % self.timeout
            hint = "Raise timeout, or check the network path to the API."
        elif isinstance(exc, requests.exceptions.ConnectionError):
            text = str(exc).lower()
            if "refused" in text:
                reason = "the connection was refused"
            elif "name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
                reason = "the host name could not be resolved"
            else:
                reason = "the connection failed (%s)" % one_line(type(exc).__name__)
            hint = "Check api_url (%s) and that this controller can reach it (proxy, firewall)." % self.base_url
        else:
            reason = one_line(str(exc), 120)
            hint = "Check api_url (%s)." % self.base_url
        error = AstraApiError(scrub("%s failed: %s." % (action, reason), self.secrets), hint=hint)
        # The server may still be working on a request that timed out (a create may commit later).
        error.timed_out = isinstance(exc, requests.exceptions.Timeout)
        return error

    def pause(self, seconds):
        """Wait (the client's sleep, so unit tests need not)."""
        self._sleep(seconds)
