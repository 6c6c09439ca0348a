"""Write the intersphinx inventories that the docsite of 'antsibull-docs sphinx-init' reads offline.

Its conf.py tries each inventory's URL first and then a local file beside its rst/ folder
(../python2.inv, ../python3.inv, ../jinja2.inv, ../ansible_devel.inv). This machine and CI reach no
documentation host, and sphinx-build runs with -W, so every inventory needs a local file. The Python and
Jinja2 ones are empty (the collection's docs refer to neither); the Ansible one holds the labels of the
Ansible docsite that antsibull-docs' pages refer to, with their pages on docs.ansible.com.

Usage: offline_inventories.py DIR
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

ANSIBLE_LABELS = {
    # label: (page under https://docs.ansible.com/projects/ansible/devel/, title)
    "common_return_values": ("reference_appendices/common_return_values.html", "Return Values"),
    "ansible_configuration_settings": ("reference_appendices/config.html", "Ansible Configuration Settings"),
    # the note on a module with an action plugin of its own (astra_rotation_consumer)
    "action_plugins": ("plugins/action.html", "Action plugins"),
}

INVENTORIES = {
    "python2.inv": ("Python", "2", {}),
    "python3.inv": ("Python", "3", {}),
    "jinja2.inv": ("Jinja", "3", {}),
    "ansible_devel.inv": ("Ansible", "devel", ANSIBLE_LABELS),
}


def inventory(project, version, labels):
    """A Sphinx inventory (version 2) holding the given std:label entries."""
    header = (
        "# Sphinx inventory version 2\n"
        "# Project: %s\n"
        "# Version: %s\n"
        "# The remainder of this file is compressed using zlib.\n" % (project, version)
    )
    body = "".join(
        "%s std:label -1 %s %s\n" % (label, page, title) for label, (page, title) in sorted(labels.items())
    )
    return header.encode("utf-8") + zlib.compress(body.encode("utf-8"))


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    dest = Path(argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    for name, (project, version, labels) in INVENTORIES.items():
        (dest / name).write_bytes(inventory(project, version, labels))
        print("wrote %s (%d labels)" % (dest / name, len(labels)))


if __name__ == "__main__":
    main(sys.argv)
