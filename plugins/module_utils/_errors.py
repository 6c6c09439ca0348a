# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error type for the collection, and the scrubbing that keeps secrets out of every message."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
from urllib.parse import unquote

# What an application token looks like, written here once: AstraCS:<client id>:<64 hex digits>.
# TOKEN: a whole token, as an option value (group 1: the client id).
TOKEN = re.compile(r"^AstraCS:([A-Za-z0-9]{16,64}):[0-9a-fA-F]{64}$")
# TOKEN_IN_TEXT: a token held in a file or a secret, found inside other text (group 1: the client id). The WANT_JSON
# module astra_rotation_consumer keeps a copy, which test_value_format.py checks (see the value rule in _consumer).
TOKEN_IN_TEXT = re.compile(r"AstraCS:([A-Za-z0-9]+):[0-9A-Fa-f]+")
# TOKEN_OR_PART: also partial or truncated forms, which scrub() hides.
TOKEN_OR_PART = re.compile(r"AstraCS:[A-Za-z0-9]*(:[0-9a-fA-F]*)?")
_TAG_PATTERN = re.compile(r"<[^>]+>")
_TITLE_PATTERN = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_MAX_DETAIL = 200
# A token's hash or a client secret inside text the collection did not make (a description, a command's output): 64
# hex digits, or a run of 100 or more characters of the secret alphabet mixing upper case, lower case and digits
# (secrets are 100 to 128 such characters).
TOKEN_HASH = re.compile(r"[0-9a-fA-F]{64}")
CLIENT_SECRET = re.compile(r"(?=[A-Za-z0-9.,+_-]*[0-9])(?=[A-Za-z0-9.,+_-]*[a-z])(?=[A-Za-z0-9.,+_-]*[A-Z])"
                           r"[A-Za-z0-9.,+_-]{100,}")
# Refused by every module and by the token_rotation role before any API call: the module's arguments, secrets included,
# would stay on disk (ansible-core writes them into the kept module file whatever no_log says).
KEPT_FILES_REFUSED = (
    "ansible-core keeps module files (ANSIBLE_KEEP_REMOTE_FILES, or keep_remote_files in ansible.cfg): every module's "
    "arguments, the API token and any new token included, would stay on disk. Nothing was called. Turn it off, and "
    "delete the ansible-tmp-* folders it kept under remote_tmp (default ~/.ansible/tmp).")
DEBUG_REFUSED = (
    "ansible-core's debug mode is on (ANSIBLE_DEBUG, or debug in ansible.cfg): it prints every module's arguments and "
    "results whatever no_log says, the API token and any new token and client secret included. Nothing was called. "
    "Turn it off; use -v to -vvvv, which keep no_log.")
# A 400 or 403 can be about the caller's token itself rather than a missing permission (FACTS, Errors): the API's
# error IDs 340012 "invalid token format" (terraform-provider-astra issue 57), 340017 "Resource, token, was malformed"
# (astra-cli issue 66) and 340018 "Resource not found: token with identifier ..." (the unknown token), or, in a body
# without IDs (plain text, a bare JSON string), the same words.
BAD_TOKEN_IDS = frozenset((340012, 340017, 340018))
BAD_TOKEN_STATUSES = (400, 403)
_BAD_TOKEN_WORDS = re.compile(
    r"\btoken\b.*\b(malformed|invalid|unknown|not found|revoked|expired)\b"
    r"|\b(malformed|invalid|unknown|not found|revoked|expired)\b.*\btoken\b", re.IGNORECASE)
TOKEN_HINT = ("The api_token is invalid, revoked or expired: give a valid AstraCS token in api_token "
              "or ASTRA_API_TOKEN.")
# Control characters (C0, DEL, C1): echoed raw, a newline in a user value would split a one-line error.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


class AstraError(Exception):
    """A failure the user can act on: a one-line message, an optional HTTP status and a hint."""

    def __init__(self, message, status=None, hint=None):
        super(AstraError, self).__init__(message)
        self.message = message
        self.status = status
        self.hint = hint

    def __str__(self):
        if self.hint:
            return "%s %s" % (sentence(self.message), self.hint)
        return self.message


class ModuleFailException(AstraError):
    """A failure that returns more than its message (community.crypto's model): result holds the extra result
    fields. AstraModule.run is the one way out of a module, for it and every other AstraError."""

    def __init__(self, message, status=None, hint=None, **result):
        super(ModuleFailException, self).__init__(message, status, hint)
        self.result = result


class AstraInputError(AstraError):
    """An invalid option value, found before any call that writes."""


class AstraApiError(AstraError):
    """The API answered with an error, or could not be reached. bad_token: the answer says the caller's token itself
    is malformed, unknown or otherwise not accepted (a 401, or a 400/403 about the token, see about_the_token); said:
    the API's own words, scrubbed ('' when it said nothing or was not reached)."""

    bad_token = False
    said = ""


def scrub(text, secrets=()):
    """Remove every token-looking string and every known secret from text."""
    if text is None:
        return text
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return TOKEN_OR_PART.sub("AstraCS:********", text)


# A run of characters that may carry a secret, or a part of one, as printed or URL-encoded.
_FRAGMENT = 16
_SECRET_RUN = re.compile(r"[A-Za-z0-9.,+_%-]{16,}")


# A value under a key that names a secret, in text that may not parse (an answer cut by a proxy, a form, a log line):
# quoted up to its closing quote or the end of the text (a secret may hold , . + _ -), else up to a space or ; & }.
# Not a segment of a path or an ARN (arn:aws:secretsmanager:...:secret:name names a secret, it holds none).
_SECRET_FIELD = re.compile(r"""((?<![:/])(?:secret|token|password)["']?\s*[:=]\s*)("[^"]*"?|'[^']*'?|[^"'\s;&}]+)""",
                           re.IGNORECASE)


def redact(text, secrets=()):
    """Text the API, a proxy or a store's library sent, fit to be cut and shown: every known secret, token, token
    hash, client secret and value under a secret-named key removed. Always before cutting: a cut can leave a prefix
    of a secret that no pattern matches any more."""
    secrets = sorted((s for s in secrets if s), key=len, reverse=True)
    text = hide_fragments(scrub(text, secrets), secrets)
    text = _SECRET_FIELD.sub(lambda match: match.group(1) + _hidden_value(match.group(2)), text)
    return _hide_secret_shapes(text)


def scrub_shown(text):
    """Text the API keeps and shows to whoever can list it (a token's description): a token, a token's hash or a
    client secret someone pasted into it is hidden, as the collection refuses to write one there."""
    return _hide_secret_shapes(scrub(text))


def _hide_secret_shapes(text):
    return CLIENT_SECRET.sub("********", TOKEN_HASH.sub("********", text))


def _hidden_value(value):
    """A secret field's value hidden, its quotes kept so that JSON stays JSON."""
    quote = value[0] if value[:1] in ("'", '"') else ""
    closed = quote if len(value) > 1 and value.endswith(quote) and quote else ""
    return quote + "********" + closed


def secret_parts(value):
    """What is secret in a value: the hash part of each token it holds (a client id is no secret, nor the rest of an
    env line or a JSON object that holds a token), else the whole value."""
    hashes = [match.group(0).rsplit(":", 1)[-1] for match in TOKEN_IN_TEXT.finditer(value)]
    return hashes or [value]


def hide_fragments(text, secrets):
    """text with every run that holds 16 or more characters of a known secret in a row (a prefix, a part, the secret
    URL-encoded) replaced: what a careless command prints of a secret is as good as the secret to an attacker."""
    windows = set()
    for secret in secrets or ():
        if isinstance(secret, str):
            for part in secret_parts(secret):
                windows.update(part[start:start + _FRAGMENT] for start in range(len(part) - _FRAGMENT + 1))
    if not windows:
        return text

    def hide(match):
        run = match.group(0)
        for candidate in (run, unquote(run)):
            if any(candidate[start:start + _FRAGMENT] in windows for start in range(len(candidate) - _FRAGMENT + 1)):
                return "<hidden>"
        return run
    return _SECRET_RUN.sub(hide, text)


def sentence(text):
    """text ending with a full stop, so a hint after it starts a new sentence."""
    text = (text or "").rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def escape_controls(text):
    """text with every control character written as an escape (a newline as \\n), so it stays on one line."""
    return _CONTROL.sub(lambda m: _CONTROL_NAMES.get(m.group(0), "\\x%02x" % ord(m.group(0))), str(text))


def shown(value, limit=_MAX_DETAIL):
    """A user's value as it may appear in a message: token-shaped parts scrubbed, control characters escaped, cut."""
    text = escape_controls(scrub(value))
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def one_line(text, limit=_MAX_DETAIL):
    """Collapse whitespace, escape other control characters and cut long text so an error stays one readable line."""
    text = escape_controls(" ".join(str(text).split()))
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


def _messages_from_json(data):
    """Messages from every error shape seen: envelope, bare string, list or flat object."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, list):
        return [m for item in data for m in _messages_from_json(item)]
    if isinstance(data, dict):
        lowered = dict((str(k).lower(), v) for k, v in data.items())
        if "errors" in lowered:
            return _messages_from_json(lowered["errors"])
        for key in ("message", "error", "description", "detail"):
            if isinstance(lowered.get(key), str):
                return [lowered[key]]
    return []


def _ids_from_json(data):
    """The numeric error IDs of an envelope ({"errors": [{"ID": 340017, ...}]}), in any key casing."""
    if isinstance(data, list):
        return [i for item in data for i in _ids_from_json(item)]
    if not isinstance(data, dict):
        return []
    lowered = dict((str(k).lower(), v) for k, v in data.items())
    if "errors" in lowered:
        return _ids_from_json(lowered["errors"])
    try:
        return [int(lowered["id"])] if lowered.get("id") is not None else []
    except (TypeError, ValueError):
        return []


def api_error_ids(body):
    """The error IDs an error body carries (only the JSON envelope has them); [] for every other shape."""
    try:
        return _ids_from_json(json.loads(body or ""))
    except ValueError:
        return []


def about_the_token(status, body, content_type=""):
    """Whether an error answer is about the caller's token itself (malformed, unknown, not found) rather than a
    missing permission: a 401, or a 400 or 403 with one of BAD_TOKEN_IDS or whose words say so. The one place this
    rule lives: error_from_response uses it for the hint, astra_token_check for 'refused'."""
    if status == 401:
        return True
    if status not in BAD_TOKEN_STATUSES:
        return False
    if BAD_TOKEN_IDS.intersection(api_error_ids(body)):
        return True
    said = api_message(body, content_type)
    return not said.startswith("an HTML page") and bool(_BAD_TOKEN_WORDS.search(said))


def api_message(body, content_type=""):
    """The API's own words from an error body, whatever its shape; '' when it said nothing useful."""
    body = (body or "").strip()
    if not body:
        return ""
    content_type = (content_type or "").lower()
    if "html" in content_type or body.lower().startswith(("<!doctype", "<html")):
        title = _TITLE_PATTERN.search(body)
        text = title.group(1) if title else _TAG_PATTERN.sub(" ", body)
        return one_line("an HTML page: %s" % one_line(text, 120))
    try:
        data = json.loads(body)
    except ValueError:
        return one_line(body)
    messages = _messages_from_json(data)
    return one_line("; ".join(str(m) for m in messages)) if messages else one_line(body)


def hint_for_status(status, permission=None, resource=None):
    """What the user should do about a given HTTP status."""
    if status == 401:
        return TOKEN_HINT
    if status == 403:
        if permission:
            return ("The api_token's role lacks the '%s' permission: use a token whose role has it "
                    "(for example Organization Administrator)." % permission)
        return "The api_token's role lacks the permission for this call."
    if status == 404:
        return "%s was not found: check the id." % (resource or "The requested item")
    if status == 409:
        return "It conflicts with an existing item (for example a role of the same name)."
    if status == 400:
        return "The API rejected the request body: check the option values."
    if status in (408, 429):
        return "The API is throttling or slow: raise retries or timeout, or run fewer jobs at once."
    if status is not None and status >= 500:
        return "The Astra service failed: try again later; if it persists, check the Astra status page."
    return None


def error_from_response(status, body, content_type, action, permission=None, resource=None, secrets=()):
    """An AstraApiError from an HTTP error answer; the message is one line and holds no secret."""
    body = redact(body or "", secrets)
    said = api_message(body, content_type)
    message = "%s failed with HTTP %s" % (action, status)
    if said:
        message += ": %s." % said.rstrip(".")
    else:
        message += "."
    bad_token = about_the_token(status, body, content_type)
    # A 400 or 403 about the token itself is the 401 case under another status: the permission hint would mislead.
    hint = TOKEN_HINT if bad_token else hint_for_status(status, permission, resource)
    error = AstraApiError(scrub(message, secrets), status=status, hint=scrub(hint, secrets))
    error.bad_token = bad_token
    error.said = scrub(said.rstrip("."), secrets)
    return error
