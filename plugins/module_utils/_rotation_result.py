# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result of a token_rotation run: token_rotation_result (client ids, hosts, timings; never a secret) and the
closing summary line, from the plan and what the run did."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


ACTION_DONE = {"provision": "provisioned", "rotate": "rotated", "complete": "completed", "skip": "skipped"}


def result(outcome):
    """token_rotation_result (client ids, hosts, timings; never a secret) and the closing summary line.

    outcome: description, plan, check_mode, new_client_id, created (the create's result, without its secret: token,
    expiry_source), deleted_client_ids, play_hosts, hook, marks ([step, unix time] in order; the last is the end)."""
    plan_ = outcome["plan"]
    ran = plan_["action"] != "skip" and not outcome.get("check_mode")
    new = outcome.get("new_client_id") if ran else None
    created = outcome.get("created") or {}
    updated = set(plan_["file_consumers"]) if ran else set()
    if ran and plan_["action"] != "complete" and outcome.get("hook"):
        updated.update(outcome.get("play_hosts") or ())
    stores_updated = list(plan_.get("stores") or ()) if ran else []
    marks = outcome.get("marks") or []
    timings = dict((step, round(marks[index + 1][1] - start, 3)) for index, (step, start) in enumerate(marks[:-1]))
    if marks:
        timings["total"] = round(marks[-1][1] - marks[0][1], 3)
    planned = ACTION_DONE[plan_["action"]]
    report = {
        "description": outcome.get("description"),
        "action": planned if ran else "skipped",
        "planned_action": planned,
        "check_mode": bool(outcome.get("check_mode")),
        "reason": plan_["reason"],
        "old_client_ids": [cid for cid in plan_["others"] if cid != new] if ran else [],
        "new_client_id": new,
        "new_expiry": (created.get("token") or {}).get("expiry") if ran else None,
        "expiry_source": created.get("expiry_source") if ran else None,
        "current_client_id": new if ran else plan_["newest_client_id"],
        "consumers_updated": sorted(updated),
        "stores_updated": stores_updated,
        "deleted_client_ids": list(outcome.get("deleted_client_ids") or []) if ran else [],
        "kept_client_ids": list(plan_["kept"]) if ran else [],
        "timings": timings,
    }
    parts = ["%s%s: family '%s', %s" % (
        report["action"].capitalize(),
        " (check mode: nothing was changed; this run would have %s)" % planned if report["check_mode"] else "",
        report["description"],
        "token %s" % new if new else "current token %s" % (report["current_client_id"] or "none"))]
    for label, key in (("held by", "consumers_updated"), ("in", "stores_updated"), ("deleted", "deleted_client_ids"),
                       ("kept", "kept_client_ids")):
        if report[key]:
            parts.append("%s %s" % (label, ", ".join(report[key])))
    parts.append("%s s" % timings.get("total", 0))
    return {"result": report, "summary": "; ".join(parts) + "."}
