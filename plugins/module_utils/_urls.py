# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API root and CA bundle options, checked and normalised. Apart from the client (_client.py), which imports
requests: the role's filters need these on the controller, and a forked worker that imports requests for them pays
about 60 ms on each consumer's task."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import re
import socket

from urllib.parse import urlsplit

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown

DEFAULT_API_URL = "https://api.astra.datastax.com"
DEFAULT_PORTS = {"http": 80, "https": 443}
_ACCEPTED_URL = "the API root such as %s, optionally followed by /v2" % DEFAULT_API_URL
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_HOST = re.compile(r"^(?:[\w.-]+|[0-9a-f:.]+)$", re.UNICODE)


def _split_userinfo(text):
    """(scheme and '://', user name and password, the rest) of a URL: the user name and password are what stands
    between '://' (or the start) and the last '@'; None when there is no '@'."""
    if "@" not in text:
        return None
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    userinfo, _at, host = rest.rpartition("@")
    return scheme + sep, userinfo, host


def _masked_url(text):
    """A URL for a message, its user name and password replaced by ***."""
    parts = _split_userinfo(str(text))
    return shown("%s***@%s" % (parts[0], parts[2]) if parts else text)


def url_credentials(api_url):
    """The user name and password part of api_url, and the password alone, for hiding them from every output."""
    parts = _split_userinfo(str(api_url or "").strip())
    if parts is None:
        return []
    userinfo = parts[1]
    found = [userinfo] if userinfo else []
    password = userinfo.partition(":")[2]
    if len(password) >= 3:
        found.append(password)
    return found


def normalise_base_url(api_url):
    """The API root as scheme://host[:port], lower case, without a default port or '/v2'. Anything else (a user and
    password, another path, a query, a fragment) is refused: the role keys its lock on this, so two spellings of one
    root must give one string, and a path that the client would extend could only reach something else."""
    url = (api_url or DEFAULT_API_URL)
    url = url.strip() if isinstance(url, str) else str(url)
    if "@" in url:
        raise AstraInputError(
            "api_url must not contain a user name or password (the API authenticates with api_token only): give %s, "
            "got '%s'." % (_ACCEPTED_URL, _masked_url(url)))
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in DEFAULT_PORTS or not rest.strip("/") or rest.startswith("/"):
        raise AstraInputError(
            "api_url must be an http(s) URL such as %s (the API root, optionally followed by /v2), got '%s'."
            % (DEFAULT_API_URL, shown(url)))
    if _SPACE_OR_CONTROL.search(url):
        raise AstraInputError(
            "api_url must not contain spaces or control characters: give %s, got '%s'." % (_ACCEPTED_URL, shown(url)))
    if "?" in url or "#" in url:
        raise AstraInputError(
            "api_url must not have a query string or fragment: give %s, got '%s'." % (_ACCEPTED_URL, shown(url)))
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
        parts = None
    if parts is None or not host or not _HOST.match(host) or port == 0:
        raise AstraInputError(
            "api_url must name a host and, optionally, a port from 1 to 65535: give %s, got '%s'."
            % (_ACCEPTED_URL, shown(url)))
    path = parts.path.rstrip("/")
    if path and path.lower() != "/v2":
        raise AstraInputError(
            "api_url must be the API root without any other path: give %s, got '%s' (path '%s')."
            % (_ACCEPTED_URL, shown(url), shown(parts.path)))
    scheme = scheme.lower()
    if ":" in host:  # IPv6 literal
        host = "[%s]" % host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = "%s:%d" % (host, port)
    return "%s://%s" % (scheme, host)


def check_ca_path(ca_path, option="ca_path"):
    """The CA bundle must be a readable file: requests would otherwise fail with an OSError at the first call."""
    if not (os.path.isfile(ca_path) and os.access(ca_path, os.R_OK)):
        raise AstraInputError(
            "%s must be a readable file holding PEM CA certificates, got '%s'%s." % (
                option, shown(ca_path), " (a directory)" if os.path.isdir(ca_path) else
                " (not readable)" if os.path.exists(ca_path) else " (no such file)"))


def canonical_host(host):
    """A host as a key: one key for every name of this machine (localhost, 127.0.0.1, ::1), and an address
    for the spellings of one address; any other name is kept as a name, since a load-balanced service resolves to
    other addresses from one run to the next (the family lock, and two entries of one Vault, must not differ by that)."""
    host = (host or "").rstrip(".").lower()
    try:
        addresses = set(info[4][0] for info in socket.getaddrinfo(host, None))
    except (socket.error, UnicodeError):
        return host
    if addresses and all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses):
        return "loopback"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def canonical_url(url):
    """A service URL as a key (two spellings of one Vault are one store): the scheme, the canonical host, the port
    (the scheme's default when none is given) and the path without a trailing slash."""
    parts = urlsplit((url or "").strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return (url or "").strip()
    return "%s://%s:%s%s" % (scheme, canonical_host(parts.hostname), port, parts.path.rstrip("/"))
