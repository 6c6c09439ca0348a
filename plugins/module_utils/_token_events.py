# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the event source astra.devops.token_events (extensions/eda), pure: its arguments, which events one
token listing gives compared with the previous poll and with what this run already announced, and what a failed poll
leads to (a later poll with backoff, or the end). The source itself only polls and puts events on its queue."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, one_line, scrub, scrub_shown, shown
from ansible_collections.astra.devops.plugins.module_utils._records import (
    MAX_DURATION, TokenFields, now, parse_duration,
)

NAME = "astra.devops.token_events"
# The event kinds, in the order a token's events are put on the queue.
KINDS = ("expiring", "expired", "never_expires", "created", "deleted")
# A token's condition: announced once per source run, not at every poll.
ONCE_PER_RUN = frozenset(("expiring", "expired", "never_expires"))
ARGUMENTS = ("api_url", "api_token", "validate_certs", "ca_path", "interval", "expiring_within", "descriptions",
             "kinds", "once")
DEFAULT_INTERVAL = 3600
DEFAULT_EXPIRING_WITHIN = "14d"
# Failed polls: the next one after BACKOFF_FIRST seconds, doubling, never later than the interval; the source ends
# after MAX_FAILURES in a row.
BACKOFF_FIRST = 60
MAX_FAILURES = 5
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

__all__ = ("KINDS", "options", "decide", "with_role_names", "with_org_id", "backoff", "after_failure", "now")


def _bool(args, name, default):
    value = args.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise AstraInputError("%s must be a boolean (true or false), got '%s'." % (name, shown(value)))


def _text(args, name, environ=None):
    value = args.get(name)
    if value is None and environ is not None:
        value = environ.get("ASTRA_%s" % name.upper()) or None
    if value is not None and not isinstance(value, str):
        raise AstraInputError("%s must be a string, got a %s." % (name, type(value).__name__))
    return value


def _interval(value):
    if value is None:
        return DEFAULT_INTERVAL
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_DURATION.total_seconds():
        raise AstraInputError("interval must be a whole number of seconds between polls, from 1 up to %d, got '%s'."
                              % (MAX_DURATION.total_seconds(), shown(value)))
    return value


def _expiring_within(value):
    """A duration with its unit, as the role's token_rotation_renew_before takes it: the rulebook gives both the same
    value, so a bare number (which the role refuses) is refused here too, before any poll."""
    return int(parse_duration(DEFAULT_EXPIRING_WITHIN if value is None else value, "expiring_within").total_seconds())


def _descriptions(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise AstraInputError("descriptions must be a list of exact token descriptions (non-empty strings), got '%s'."
                              % shown(value))
    return value


def _kinds(value):
    if value is None:
        return KINDS
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or any(kind not in KINDS for kind in value):
        raise AstraInputError("kinds must be a list of one or more of %s, got '%s'." % (", ".join(KINDS), shown(value)))
    return tuple(kind for kind in KINDS if kind in value)


def options(args, environ):
    """The source's arguments checked, with their defaults (api_url and api_token from ASTRA_API_URL and
    ASTRA_API_TOKEN in environ); a bad one is an AstraInputError of one line naming it and what is accepted. The
    client checks api_url, api_token and ca_path further (the collection's one rule for each)."""
    args = args or {}
    if not isinstance(args, dict):
        raise AstraInputError("The arguments of %s must be a mapping of %s." % (NAME, ", ".join(ARGUMENTS)))
    unknown = sorted(str(name) for name in args if name not in ARGUMENTS)
    if unknown:
        raise AstraInputError("%s does not take the argument(s) %s: the accepted arguments are %s."
                              % (NAME, shown(", ".join(unknown)), ", ".join(ARGUMENTS)))
    return {
        "api_url": _text(args, "api_url", environ),
        "api_token": _text(args, "api_token", environ),
        "validate_certs": _bool(args, "validate_certs", True),
        "ca_path": _text(args, "ca_path"),
        "interval": _interval(args.get("interval")),
        "expiring_within": _expiring_within(args.get("expiring_within")),
        "descriptions": _descriptions(args.get("descriptions")),
        "kinds": _kinds(args.get("kinds")),
        "once": _bool(args, "once", False),
    }


def _seconds(later, earlier):
    return int((later - earlier).total_seconds()) if later is not None and earlier is not None else None


def _event(kind, token, reference):
    """One event from a token (TokenFields): only the documented fields, each read by name (a token item never
    carries a secret; a description that holds something shaped like a token is scrubbed all the same)."""
    generated, generated_at = token.generated
    expires, expires_at = token.expiry
    return {"astra_token": {
        "kind": kind,
        "client_id": token.client_id,
        "description": scrub_shown(token.description),
        "roles": list(token.roles),
        "generated": generated,
        "expires": expires,
        "expires_in": _seconds(expires_at, reference),
        "age": _seconds(reference, generated_at),
        "org_id": token.raw("org_id"),
    }}


def _condition(token, horizon, reference):
    """expired, expiring (by the horizon instant) or never_expires for a token; None for one that expires later."""
    expires_at = token.expiry[1]
    if expires_at is None:
        return "never_expires"
    if expires_at <= reference:
        return "expired"
    return "expiring" if expires_at <= horizon else None


def decide(tokens, previous, announced, opts, reference):
    """The events of one poll: (events, announced, seen).

    tokens: this listing, as the API gives it (TokenApi.items()) or normalised (TokenApi.list()): each is read
    through TokenFields, so that a token is only filtered and its expiry read unless it has an event (normalising
    every token of a large org was most of a poll); previous: the `seen` of the previous poll, a dict of client id to
    token (None on the first poll, which gives no created or deleted event); announced: the
    (kind, client id) pairs of once-per-run kinds already put on the queue this run; opts: options(); reference:
    now. Events give role ids (with_role_names names them). Only the tokens of opts['descriptions'] (all when
    None) and the kinds of opts['kinds'] count. Nothing given is changed."""
    wanted = opts["kinds"]
    descriptions = frozenset(opts["descriptions"]) if opts["descriptions"] is not None else None
    watched = [t for t in map(TokenFields, tokens) if descriptions is None or t.description in descriptions]
    seen = dict((t.client_id, t.item) for t in watched)
    horizon = reference + datetime.timedelta(seconds=opts["expiring_within"])
    announced = set(announced)
    events = []
    for token in watched:
        client_id = token.client_id
        kinds = []
        if previous is not None and client_id not in previous:
            kinds.append("created")
        condition = _condition(token, horizon, reference)
        if condition and (condition, client_id) not in announced:
            kinds.append(condition)
        for kind in KINDS:
            if kind in kinds and kind in wanted:
                events.append(_event(kind, token, reference))
                if kind in ONCE_PER_RUN:
                    announced.add((kind, client_id))
    if previous is not None and "deleted" in wanted:
        events.extend(_event("deleted", TokenFields(item), reference) for client_id, item in previous.items()
                      if client_id not in seen)
    return events, frozenset(announced), seen


def with_role_names(events, role_names):
    """The events with their role ids replaced by names (an id without a name stays an id); as given when None."""
    if role_names is None:
        return events
    return [{"astra_token": dict(fields, roles=[role_names.get(r, r) for r in fields["roles"]])}
            for fields in (event["astra_token"] for event in events)]


def with_org_id(events, org_id):
    """The events with org_id filled in where the listing gave none (token list items carry no orgId)."""
    return [{"astra_token": dict(fields, org_id=fields["org_id"] or org_id)}
            for fields in (event["astra_token"] for event in events)]


def backoff(failures, interval):
    """Seconds before the poll after `failures` failed polls in a row: BACKOFF_FIRST, doubling, at most interval."""
    return min(interval, BACKOFF_FIRST * 2 ** (max(failures, 1) - 1))


def after_failure(error, failures, interval):
    """(seconds before the next poll, one line to log) after a failed poll, the failures-th in a row; the seconds are
    None when the source ends: a refused API token at once, any other failure at the MAX_FAILURES-th in a row."""
    said = one_line(scrub(str(error)), 600)
    if getattr(error, "bad_token", False):
        return None, "%s ended: the API refused its token. %s" % (NAME, said)
    if failures >= MAX_FAILURES:
        return None, "%s ended after %d failed polls in a row; the last: %s" % (NAME, failures, said)
    delay = backoff(failures, interval)
    return delay, "%s: poll failed (%d in a row, next try in %ds): %s" % (NAME, failures, delay, said)
