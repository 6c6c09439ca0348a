# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One version everywhere: galaxy.yml's version is the top release of changelogs/changelog.yaml; no module, plugin or
role option says it was added in a later version; no changelog entry or fragment names a release that does not exist;
and the client's User-Agent, the tarball names in the docs and the execution environment name that same version.

(The built tarball's own version is checked against galaxy.yml by tests/integration/test_release.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VERSION_ADDED = re.compile(r"""^\s*version_added:\s*['"]?([0-9][^'"\s]*)""", re.MULTILINE)
TARBALL = re.compile(r"astra-devops-([0-9]+\.[0-9]+\.[0-9]+)\.tar\.gz")
MENTIONED_RELEASE = re.compile(r"\b(?:release|version|astra\.devops)\s+([0-9]+\.[0-9]+\.[0-9]+)\b", re.IGNORECASE)


def version(text):
    return tuple(int(part) for part in text.split("."))


def galaxy_version():
    return yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]


def releases():
    return sorted((yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text()).get("releases") or {}), key=version)


def test_galaxy_version_is_the_newest_release_of_the_changelog():
    assert releases() and releases()[-1] == galaxy_version(), (releases(), galaxy_version())


def test_nothing_was_added_in_a_version_after_the_collections():
    current = version(galaxy_version())
    sources = list((ROOT / "plugins").rglob("*.py")) + list((ROOT / "roles").glob("*/meta/argument_specs.yml"))
    later = ["%s: %s" % (path.relative_to(ROOT), found) for path in sources
             for found in VERSION_ADDED.findall(path.read_text()) if version(found) > current]
    assert sources and later == [], "version_added above galaxy.yml's %s:\n%s" % (galaxy_version(), "\n".join(later))


def test_no_fragment_names_a_release_that_does_not_exist():
    known = set(releases())
    fragments = sorted((ROOT / "changelogs" / "fragments").glob("*.yml"))
    named = ["%s: %s" % (path.name, found) for path in fragments
             for found in MENTIONED_RELEASE.findall(path.read_text()) if found not in known]
    assert named == [], "\n".join(named)


def test_the_user_agent_the_docs_and_the_execution_environment_name_the_same_version():
    current = galaxy_version()
    client = (ROOT / "plugins" / "module_utils" / "_client.py").read_text()
    assert 'COLLECTION_VERSION = "%s"' % current in client
    files = [ROOT / "README.md", ROOT / "execution-environment.yml"] + sorted((ROOT / "docs").glob("*.md"))
    stale = ["%s: %s" % (path.relative_to(ROOT), found) for path in files
             for found in TARBALL.findall(path.read_text()) if found != current]
    assert stale == [], "tarball names other than astra-devops-%s.tar.gz:\n%s" % (current, "\n".join(stale))
