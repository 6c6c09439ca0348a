# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra_role's decisions, pure functions of what was read (the roles, the tokens that hold the role) and the
options: which role is meant, the role asked for, the plan (what to write, and the refusals before any write) and
the result. The module reads, asks these, then applies the plan (the one place that writes or looks at check mode)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.astra.devops.plugins.module_utils import _custom_roles as custom
from ansible_collections.astra.devops.plugins.module_utils._errors import AstraInputError, shown
from ansible_collections.astra.devops.plugins.module_utils._records import role_id_key
from ansible_collections.astra.devops.plugins.module_utils._roles import is_role_id, names_role


def find(roles, role_id, name, state="present"):
    """The role meant by role_id (it must exist, unless state=absent: then it is gone already) or by name (None when
    there is none); built-in roles are refused."""
    if role_id is not None:
        wanted = role_id_key(role_id)
        found = [role for role in roles if role["id"] == wanted]
        if not found and state == "absent":
            return None
        if not found:
            raise AstraInputError("role_id %s is not a role of this organization; give an existing role's id, or "
                                  "name to create one." % wanted)
        current = found[0]
    else:
        current = custom.named(roles, name)
    if current is not None and current["built_in"]:
        raise AstraInputError("Role '%s' (%s) is built in: built-in roles are never changed or deleted. Give the "
                              "name of a custom role." % (current["name"], current["id"]))
    return current


def actions_of_builtin(roles, wanted):
    """The actions of the built-in role actions_from names (by id, or by name as every role name compares)."""
    key = role_id_key(wanted) if is_role_id(wanted) else None
    for role in roles:
        if role["id"] == key or (key is None and names_role(role, wanted)):
            if not role["built_in"]:
                raise AstraInputError("actions_from must name a built-in role, got '%s', a custom role: give its "
                                      "actions with actions instead." % shown(wanted))
            return custom.check_actions(role["actions"], "the actions of %s" % role["name"])
    raise AstraInputError("actions_from must name a built-in role (such as Database Administrator), got '%s', "
                          "which is not a role of this organization." % shown(wanted))


def wanted_role(params, current, actions, resources):
    """The role asked for: a new one (current None; actions are then required), or current with what the options
    change (an option not given keeps the current value)."""
    if current is None:
        if actions is None:
            raise AstraInputError("actions (or actions_from) is required to create the role '%s'."
                                  % params["name"].strip())
        return {"id": None, "name": params["name"].strip(), "description": params["description"] or "",
                "actions": actions, "resources": resources or [], "built_in": False}
    return dict(current, name=(params["name"] or current["name"]).strip(),
                description=current["description"] if params["description"] is None else params["description"],
                actions=current["actions"] if actions is None else actions,
                resources=current["resources"] if resources is None else resources)


def gained_resources(current, wanted):
    """The resources a write would give the role (to check before it), or None when nothing is to be written."""
    if current is None:
        return wanted["resources"]
    change = custom.change_of(current, wanted)
    if not custom.changes(change) and wanted["name"] == current["name"]:
        return None
    return change["added_resources"]


def _removed(change):
    parts = []
    if change["removed_actions"]:
        parts.append("the actions %s" % ", ".join(change["removed_actions"]))
    if change["removed_resources"]:
        parts.append("the resources %s" % ", ".join(change["removed_resources"]))
    return " and ".join(parts)


def name_taken(roles, current, wanted):
    """Refuse, before any write, a create or rename to the name of another role (the API answers 409; a built-in
    role's name in any spelling is taken too)."""
    if current is not None and names_role(current, wanted["name"]):
        return
    other = next((role for role in roles if (current is None or role["id"] != current["id"])
                  and names_role(role, wanted["name"])), None)
    if other is not None:
        raise AstraInputError("name '%s' is the name of another role, %s'%s' (%s); give a name no other role has."
                              % (wanted["name"], "the built-in role " if other["built_in"] else "",
                                 other["name"], other["id"]))


def plan_present(current, wanted, held_by, force):
    """The plan for state=present: write create, update or None; before and after (the role records); held_by (the
    tokens holding the role, listed for a change of an existing role) and the warning for them. A change that takes
    something from tokens holding the role is refused unless force."""
    if current is None:
        return {"write": "create", "before": None, "after": wanted, "held_by": None, "warning": None}
    if gained_resources(current, wanted) is None:
        return {"write": None, "before": current, "after": current, "held_by": None, "warning": None}
    change = custom.change_of(current, wanted)
    if held_by and custom.narrows(change) and not force:
        raise AstraInputError(
            "Role '%s' is held by %d token(s) (%s), and this change removes %s from it, which takes them away from "
            "those tokens at once. Nothing was changed. Set force=true to change it anyway, or give those tokens "
            "another role first." % (current["name"], len(held_by), ", ".join(held_by), _removed(change)))
    warning = None
    if held_by and (change["added_actions"] or change["added_resources"]):
        warning = ("Role '%s' gains %s; the tokens that hold it get them at once: %s."
                   % (current["name"], ", ".join(change["added_actions"] + change["added_resources"]),
                      ", ".join(held_by)))
    return {"write": "update", "before": current, "after": wanted, "held_by": held_by, "warning": warning}


def plan_absent(current, held_by, force):
    """The plan for state=absent: delete the role unless there is none; refused when tokens hold it, unless force."""
    if current is None:
        return {"write": None, "before": None, "after": None, "held_by": None, "warning": None}
    if held_by and not force:
        raise AstraInputError(
            "Role '%s' is held by %d token(s) (%s): deleting it would leave them without its permissions at once. "
            "Nothing was deleted. Set force=true to delete it anyway, or delete those tokens or give them another "
            "role first." % (current["name"], len(held_by), ", ".join(held_by)))
    return {"write": "delete", "before": current, "after": None, "held_by": held_by, "warning": None}


def result(plan, diff):
    """The module's result for a plan (applied, or not in check mode): the role after the run (before it, when it
    was deleted), held_by when the tokens were listed, and the diff."""
    before, after = plan["before"], plan["after"]
    shown_role = after or before
    found = {"changed": plan["write"] is not None, "role": custom.shown_role(shown_role) if shown_role else None}
    if plan["held_by"] is not None:
        found["held_by"] = plan["held_by"]
    if diff:
        found["diff"] = {"before": custom.shown_role(before) if before else {},
                         "after": custom.shown_role(after) if after else {}}
    return found
