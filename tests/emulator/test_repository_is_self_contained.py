# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The repository explains itself: no file points at a file outside it, tests are named by the behaviour they check
(not by a finding id such as test_f8_...), and the API facts live in docs/api-notes.md, linked from the README and
the docsite's guides page.

Repository-level checks, run with the emulator's tests: they are the plain-pytest step of 'make check' and 'make
test', which runs in the git checkout itself (ansible-test's units run in a copy)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Names of files kept outside this repository, written in two parts so that this file does not name them itself.
OUTSIDE = ("FACTS" + ".md", ".." + "/shared", "shared" + "/astra-api")
# A test named after a finding id (test_f8_..., test_f16_...) instead of the behaviour it checks.
FINDING_NAMED = re.compile(r"^\s*(?:async\s+)?def\s+(test_f[0-9]+_\w*)", re.MULTILINE)
API_NOTES = "docs/api-notes.md"


def outside_mentions(text):
    """(line number, name) of every mention of a file outside the repository in text."""
    return [(number, name) for number, line in enumerate(text.splitlines(), 1) for name in OUTSIDE if name in line]


def finding_named_tests(source):
    """The names of the test functions of a Python source that are named after a finding id."""
    return FINDING_NAMED.findall(source)


def repository_files():
    """Every file git knows here: tracked, and new ones not ignored (so a file is checked before it is committed)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                                capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail("these checks need the git checkout of the collection (git ls-files failed: %s)" % error)
    return sorted(name for name in listed.decode("utf-8").split("\0") if name and (ROOT / name).is_file())


def read(name):
    return (ROOT / name).read_bytes().decode("utf-8", errors="replace")


@pytest.mark.parametrize("text, found", [
    ("the facts are in docs/api-notes.md", []),
    ("see " + OUTSIDE[0] + ", Errors", [(1, OUTSIDE[0])]),
    ("first line\nfaithful to `" + OUTSIDE[2] + "/" + OUTSIDE[0] + "`.", [(2, OUTSIDE[0]), (2, OUTSIDE[2])]),
    ("cat " + OUTSIDE[1] + "/DESIGN.md", [(1, OUTSIDE[1])]),
    ("a shared fixture, ../tests/shared_stores.py", []),
])
def test_outside_mentions_finds_each_name_with_its_line(text, found):
    assert outside_mentions(text) == found


@pytest.mark.parametrize("source, found", [
    ("def test_f8_userinfo_refused(given):\n", ["test_f8_userinfo_refused"]),
    ("class TestX:\n    def test_f16_one_line(self):\n        pass\n", ["test_f16_one_line"]),
    ("async def test_f3_limited_run():\n", ["test_f3_limited_run"]),
    ("def test_failed_consumer_stops_before_any_delete():\n", []),
    ("def test_f_string_messages():\n", []),
    ("def helper_f8_(x):\n    return 'def test_f9_x' in x\n", []),
])
def test_finding_named_tests_finds_only_test_functions_named_by_a_finding_id(source, found):
    assert finding_named_tests(source) == found


def test_no_file_names_a_file_outside_the_repository():
    found = ["%s:%d: %s" % (name, number, outside) for name in repository_files()
             for number, outside in outside_mentions(read(name))]
    assert not found, ("files name files outside the repository (the API facts and their public sources belong in %s):"
                       "\n%s" % (API_NOTES, "\n".join(found)))


def test_tests_are_named_by_the_behaviour_they_check_not_by_a_finding_id():
    found = ["%s: %s" % (name, test) for name in repository_files()
             if name.startswith("tests/") and name.endswith(".py") for test in finding_named_tests(read(name))]
    assert not found, ("%d tests are named after a finding id kept nowhere in the repository; name them by the "
                       "behaviour they check:\n%s" % (len(found), "\n".join(found)))


def test_the_api_notes_are_in_the_repository_and_linked_from_the_readme_and_the_guides_page():
    assert (ROOT / API_NOTES).is_file()
    assert "](%s)" % API_NOTES in read("README.md")
    assert "/blob/main/%s>" % API_NOTES in read("docs/docsite/rst/guides.rst")


# The private code of the collection: one job per file, each named in CONTRIBUTING.md's module map.
PRIVATE_CODE = ("plugins/module_utils/", "plugins/plugin_utils/")
MAX_NON_BLANK_LINES = 400


def private_code_files():
    return [name for name in repository_files()
            if name.startswith(PRIVATE_CODE) and name.endswith(".py") and not name.endswith("__init__.py")]


def test_every_private_code_file_is_in_the_module_map_of_contributing():
    contributing = read("CONTRIBUTING.md")
    files = private_code_files()
    assert files, "no file found under %s" % " or ".join(PRIVATE_CODE)
    missing = [name for name in files if "`%s`" % name.rsplit("/", 1)[1] not in contributing
               and "`%s`" % name.split("/", 1)[1] not in contributing]
    assert not missing, "CONTRIBUTING.md's module map does not list: %s" % ", ".join(missing)


def test_no_private_code_file_is_over_400_non_blank_lines():
    sizes = dict((name, sum(1 for line in read(name).splitlines() if line.strip())) for name in private_code_files())
    over = ["%s (%d)" % (name, size) for name, size in sorted(sizes.items()) if size > MAX_NON_BLANK_LINES]
    assert not over, "split by job the module_utils files over %d non-blank lines: %s" % (
        MAX_NON_BLANK_LINES, ", ".join(over))
