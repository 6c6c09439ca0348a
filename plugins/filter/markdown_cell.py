# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: markdown_cell
version_added: 1.1.0
author:
- astra.devops contributors
short_description: Text as inert Markdown, for a table cell
description:
- Turns text that comes from an organization or a user (a token's description, a role's name) into Markdown that
  shows it as it is, on one line, so that it cannot add HTML, a link, an image or a table column to a report.
- C(&), C(<), C(>) and the double quote become HTML entities; the Markdown specials (backslash, backquote, C(*),
  C(_), square brackets, parentheses, C(!), C(|) and C(~)) are escaped with a backslash; line breaks and other
  control characters become spaces.
- Block syntax (headings, lists) needs the start of a line, which a table cell never is.
- The Markdown report of C(playbooks/audit_tokens.yml) uses it for every description, role name and client id.
options:
  _input:
    description: The text. A number is shown as it is.
    type: raw
    required: true
  empty:
    description: What an empty or null value shows.
    type: str
    default: '-'
'''

EXAMPLES = r'''
- name: A row of a Markdown table with a description a user wrote
  ansible.builtin.debug:
    msg: "| {{ token.client_id | astra.devops.markdown_cell }} | {{ token.description | astra.devops.markdown_cell }} |"
'''

RETURN = r'''
_value:
  description: The escaped text, on one line.
  type: str
  sample: '&lt;script&gt;alert\(1\)&lt;/script&gt; \[click\]\(https://example.com\)'
'''

from ansible.module_utils.common.text.converters import to_text

# What Markdown (CommonMark, GFM tables) could read as inline syntax: code, emphasis, links and images, table cells,
# strike-through. Backslash-escaped, each is text. < > & " become entities (raw HTML, autolinks, entities). Block
# syntax (#, -, 1.) needs a line start, which a cell never is: line breaks become spaces.
_MARKDOWN_SPECIALS = frozenset("\\`*_[]()!|~")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def markdown_cell(value, empty="-"):
    """Text from users (descriptions, role names) as inert Markdown on one line, for a table cell or a list item:
    HTML specials as entities, Markdown specials backslash-escaped, line breaks and other controls as spaces."""
    if value is None or value == "":
        return empty
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return to_text(value)
    out = []
    for char in to_text(value):
        if char in _HTML:
            out.append(_HTML[char])
        elif char in _MARKDOWN_SPECIALS:
            out.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


class FilterModule(object):
    """The escaping of the token audit's Markdown report."""

    def filters(self):
        return {"markdown_cell": markdown_cell}
