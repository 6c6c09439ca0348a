"""Install a stand-in for ansible-test's ``get-pip.py`` in its download cache.

ansible-test bootstraps pip into every virtual environment it creates by running
``get-pip-<version>.py``, which it downloads from a host this machine cannot reach.
Before downloading it looks for ``~/.ansible/test/cache/get_pip_<X_Y>.py``.  This
script writes a small stand-in there that bootstraps pip with ``ensurepip`` (in a
child process, so pip keeps the machine's pip configuration and CA bundle) and then
``pip install``s the packages ansible-test asked for.

The pip version is read from the installed ``ansible_test`` package, never guessed.
Run it with the Python of the virtual environment that holds ansible-core.
Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import types

MARKER = "# astra.devops get-pip stand-in"

STANDIN = '''#!/usr/bin/env python3
{marker} (written by tools/get_pip_standin.py; pip {pip_version})
"""Stand-in for get-pip.py: bootstrap pip with ensurepip, then pip-install the arguments."""
import os
import subprocess
import sys

DROP = {{"--no-setuptools", "--no-wheel"}}


def main():
    args = [a for a in sys.argv[1:] if a not in DROP]
    env = dict(os.environ)
    env.pop("GET_PIP", None)
    # ensurepip hides the pip configuration of the machine while it runs: keep it in a child.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=env,
                          stdout=subprocess.DEVNULL)
    packages = [a for a in args if not a.startswith("-")]
    if packages:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args, env=env)


if __name__ == "__main__":
    main()
'''


def pip_versions(python_versions):
    """Return the set of pip versions ansible-test bootstraps for the given Python versions."""
    try:
        from ansible_test._internal import python_requirements as pr  # pylint: disable=import-outside-toplevel
    except Exception as ex:  # pragma: no cover - depends on the installed ansible-core
        sys.exit("cannot import ansible_test from %s: %s" % (sys.executable, ex))

    found = set()
    try:
        for version in python_versions:
            packages = pr.get_venv_packages(types.SimpleNamespace(version=version))
            if packages.get("pip"):
                found.add(packages["pip"])
    except Exception:  # pylint: disable=broad-except
        found = set()

    if not found:
        # Fall back to reading the source: ``default_packages = dict(pip='25.2', ...)``.
        with open(pr.__file__, encoding="utf-8") as handle:
            found.update(re.findall(r"""\bpip\s*=\s*['"]([0-9][0-9.]*)['"]""", handle.read()))

    if not found:
        sys.exit("cannot find the pip version ansible-test bootstraps in %s" % pr.__file__)

    return sorted(found)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=os.path.expanduser("~/.ansible/test/cache"))
    parser.add_argument("--python", action="append", default=[],
                        help="Python version whose pip version to cover (default: every one ansible-test supports)")
    args = parser.parse_args()

    from ansible_test._util.target.common import constants  # pylint: disable=import-outside-toplevel

    supported = list(getattr(constants, "REMOTE_ONLY_PYTHON_VERSIONS", ())) + list(constants.CONTROLLER_PYTHON_VERSIONS)
    versions = args.python or supported
    os.makedirs(args.cache_dir, exist_ok=True)

    for pip_version in pip_versions(versions):
        path = os.path.join(args.cache_dir, "get_pip_%s.py" % pip_version.replace(".", "_"))
        content = STANDIN.format(marker=MARKER, pip_version=pip_version)
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                current = handle.read()
            if current == content:
                print("get-pip stand-in up to date: %s" % path)
                continue
            if MARKER not in current:
                # A real get-pip.py (or someone else's file): leave it alone.
                print("keeping existing %s" % path)
                continue
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, path)
        print("wrote get-pip stand-in for pip %s: %s" % (pip_version, path))


if __name__ == "__main__":
    main()
