# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client of the collection: auth, base URL, timeouts, CA bundle and bounded, jittered retries."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

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
    redact,
    scrub,
)
from ansible_collections.astra.devops.plugins.module_utils._urls import DEFAULT_PORTS, check_ca_path, normalise_base_url

COLLECTION_VERSION = "1.1.0"
RETRY_STATUSES = frozenset((408, 429, 500, 502, 503, 504))
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
# What OpenSSL said about a certificate it refused, without the surrounding exception chain.
_CERT_DETAIL = re.compile(r"certificate verify failed: ([^()'\"]+)")
# OpenSSL's words when a TLS client gets a plain-HTTP answer (the versions differ in wording).
_PLAIN_HTTP_ANSWER = re.compile(
    r"wrong[ _]version[ _]number|record[ _]layer[ _]failure|unknown[ _]protocol|"
    r"packet[ _]length[ _]too[ _]long", re.IGNORECASE)
# Any other OpenSSL reason: "[SSL: SOME_CODE] some words (_ssl.c:1000)".
_SSL_REASON = re.compile(r"\[SSL: [A-Z0-9_]+\] ([^()'\"]+)")
# A plain-HTTP client talking to a TLS port: the server hangs up, or answers with TLS bytes.
_TLS_ANSWER = re.compile(r"RemoteDisconnected|BadStatusLine|\\x15\\x03")


def _switch_scheme(base_url):
    """The same host and port with the other scheme (http <-> https); a default port is written out."""
    scheme, _sep, host = base_url.partition("://")
    other = "http" if scheme == "https" else "https"
    if not re.search(r":\d+$", host):
        host = "%s:%d" % (host, DEFAULT_PORTS[scheme])
    elif host.endswith(":%d" % DEFAULT_PORTS[other]):
        host = host.rsplit(":", 1)[0]
    return "%s://%s" % (other, host)


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


# A bearer token is printable ASCII without spaces: anything else breaks the Authorization header (requests refuses a
# value with a trailing newline, which looked like a network error after five retries).
_NOT_IN_TOKEN = re.compile(r"[^\x21-\x7e]")


class AstraClient:
    """Calls the DevOps API. Idempotent calls retry on connection errors, 408, 429 and 5xx; writes that mint only on 429,
    which says the request was refused before it did anything."""

    def __init__(self, api_token, api_url=None, validate_certs=True, ca_path=None, timeout=30, retries=5,
                 on_retry=None, sleep=time.sleep, ansible_version=None):
        if not api_token:
            raise AstraInputError(
                "api_token must be set to an Astra application token: give the api_token option or the "
                "ASTRA_API_TOKEN environment variable.")
        if not isinstance(api_token, str) or _NOT_IN_TOKEN.search(api_token):
            raise AstraInputError(
                "api_token holds a space, a line break or another character no token has (a newline copied with "
                "it?): give the AstraCS: token alone, in the api_token option or the ASTRA_API_TOKEN environment "
                "variable.")
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
            # A 429 refused the request before doing anything: a write that mints is retried too.
            if (idempotent and response.status_code in RETRY_STATUSES or response.status_code == 429) \
                    and attempt < self.retries:
                attempt += 1
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                self.wait_before_retry(attempt, retry_after, "%s: HTTP %s" % (action, response.status_code))
                continue
            error = error_from_response(response.status_code, response.text, response.headers.get("Content-Type"),
                                        action, permission, resource, self.secrets)
            if attempt:
                error.message = "%s (gave up after %d %s)." % (
                    error.message.rstrip("."), attempt, "retry" if attempt == 1 else "retries")
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
                    action, response.status_code, one_line(redact(response.text, self.secrets), 120)), self.secrets),
                status=response.status_code,
                hint="Check that api_url points at the Astra DevOps API and not at a proxy or web page.")

    def _connection_error(self, exc, action):
        """One line for a failure below HTTP: refused, timed out, TLS or malformed URL."""
        text = str(exc)
        if isinstance(exc, requests.exceptions.SSLError) and _PLAIN_HTTP_ANSWER.search(text):
            # validate_certs and ca_path cannot help: there is no TLS at that address.
            plain = _switch_scheme(self.base_url)
            reason = "the server at %s answered in plain HTTP, not HTTPS (TLS)" % self.base_url
            hint = ("Use api_url %s if that server is the API, or check the host and port; validate_certs and "
                    "ca_path do not change this." % plain)
        elif isinstance(exc, requests.exceptions.SSLError):
            detail = _CERT_DETAIL.search(text)
            if detail or "certificate" in text.lower():
                reason = "the TLS certificate could not be verified%s" % (
                    " (%s)" % one_line(detail.group(1).strip(), 120) if detail else "")
                hint = "Give the CA bundle in ca_path, or set validate_certs to false for a test endpoint."
            else:
                detail = _SSL_REASON.search(text)
                reason = "the TLS handshake failed%s" % (
                    " (%s)" % one_line(detail.group(1).strip(), 120) if detail else "")
                hint = "Check api_url (%s) and that the server at that address speaks HTTPS." % self.base_url
        elif isinstance(exc, requests.exceptions.Timeout):
            reason = "no answer within %s seconds" % self.timeout
            hint = "Raise timeout, or check the network path to the API."
        elif isinstance(exc, requests.exceptions.ConnectionError):
            lowered = text.lower()
            hint = "Check api_url (%s) and that this controller can reach it (proxy, firewall)." % self.base_url
            if "refused" in lowered:
                reason = "the connection was refused"
            elif "name or service not known" in lowered or "nodename nor servname" in lowered or "resolve" in lowered:
                reason = "the host name could not be resolved"
            elif self.base_url.startswith("http://") and _TLS_ANSWER.search(text):
                reason = "the server closed the connection without an HTTP answer"
                hint = ("If the server at that address speaks HTTPS (TLS), use api_url %s; else check api_url (%s)."
                        % (_switch_scheme(self.base_url), self.base_url))
            else:
                reason = "the connection failed (%s)" % one_line(type(exc).__name__)
        else:
            reason = one_line(text, 120)
            hint = "Check api_url (%s)." % self.base_url
        error = AstraApiError(scrub("%s failed: %s." % (action, reason), self.secrets), hint=hint)
        # The server may still be working on a request that timed out (a create may commit later).
        error.timed_out = isinstance(exc, requests.exceptions.Timeout)
        return error

    def pause(self, seconds):
        """Wait (the client's sleep, so unit tests need not)."""
        self._sleep(seconds)
