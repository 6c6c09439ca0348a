# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The consumer side of a rotation on real files in a temporary folder: the file work of the astra_rotation_consumer
module, and the checks (module_utils/_consumer.py) its action plugin makes of what it found."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import json
import os
import pwd
import stat
import subprocess
import sys

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _consumer
from ansible_collections.astra.devops.plugins.modules import astra_rotation_consumer as on_host

TOKEN = "AstraCS:BOjPpMRcaWergiKIyHXEAymP:" + "0123456789abcdef" * 4


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_path_stat_tells_file_link_folder_and_missing(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    os.symlink(str(tmp_path / "file"), str(tmp_path / "link"))
    assert on_host.path_stat(str(tmp_path / "file")) == (
        {"exists": True, "islnk": False, "isdir": False, "isreg": True}, {})
    assert on_host.path_stat(str(tmp_path / "dir"))[0]["isdir"] is True
    link = on_host.path_stat(str(tmp_path / "link"))[0]
    assert link["islnk"] is True and link["lnk_target"] == str(tmp_path / "file")
    assert on_host.path_stat(str(tmp_path / "new")) == ({"exists": False}, {"isdir": True})
    assert on_host.path_stat(str(tmp_path / "nowhere" / "new")) == ({"exists": False}, {"isdir": False})


def test_a_link_found_by_path_stat_is_a_consumer_problem(tmp_path):
    os.symlink("/etc/passwd", str(tmp_path / "link"))
    path_facts, dir_facts = on_host.path_stat(str(tmp_path / "link"))
    problems = _consumer.consumer_problems({"host": "c1", "path": str(tmp_path / "link"), "format": "raw",
                                            "mode": "0600", "path_stat": path_facts, "dir_stat": dir_facts})
    assert "is a symbolic link (to /etc/passwd)" in problems[0]


@pytest.mark.parametrize("content, expected", [
    (TOKEN + "\n", ("BOjPpMRcaWergiKIyHXEAymP", TOKEN)),
    ("ASTRA_DB_APPLICATION_TOKEN=%s\n" % TOKEN, ("BOjPpMRcaWergiKIyHXEAymP", TOKEN)),
    ('{"clientId": "x", "secret": "y", "token": "%s"}' % TOKEN, ("BOjPpMRcaWergiKIyHXEAymP", TOKEN)),
    ("no token here\n", ("unknown", None)),
])
def test_held_finds_the_token_in_every_format(tmp_path, content, expected):
    path = tmp_path / "token"
    path.write_text(content)
    assert on_host.held(str(path), True) == expected


def test_held_of_a_missing_file():
    assert on_host.held("/nonexistent/token", False) == ("missing", None)


def test_accounts_by_name_and_number():
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    assert on_host.account_exists(user, "passwd") is True
    assert on_host.account_exists(group, "group") is True
    assert on_host.account_exists("no-such-user-astra", "passwd") is False
    assert on_host.account_exists("1234", "passwd") is None  # a number is not looked up
    assert on_host.account_exists(None, "group") is None
    assert on_host.account_id(user, "passwd") == os.getuid()
    assert on_host.account_id("0", "group") == 0
    assert on_host.account_id(None, "passwd") == -1


def test_write_creates_the_file_with_its_mode_and_no_temporary_file_left(tmp_path):
    path = tmp_path / "token"
    assert on_host.write(str(path), TOKEN + "\n", mode="0640") is True
    assert path.read_text() == TOKEN + "\n"
    assert mode_of(path) == 0o640
    assert os.listdir(str(tmp_path)) == ["token"]


def test_write_replaces_the_file_atomically_and_sets_its_mode(tmp_path):
    path = tmp_path / "token"
    path.write_text("old\n")
    os.chmod(str(path), 0o644)
    inode = os.lstat(str(path)).st_ino
    assert on_host.write(str(path), "new\n", owner=str(os.getuid()), group=str(os.getgid())) is True
    assert path.read_text() == "new\n" and mode_of(path) == 0o600
    assert os.lstat(str(path)).st_ino != inode  # a new file renamed over the old one, never written in place


def test_write_of_what_is_already_there_changes_nothing(tmp_path):
    path = tmp_path / "token"
    on_host.write(str(path), "same\n")
    assert on_host.write(str(path), "same\n") is False
    assert on_host.write(str(path), "same\n", mode="0640") is True  # the mode differs


def test_write_refuses_a_link_and_leaves_its_target_alone(tmp_path):
    target = tmp_path / "target"
    target.write_text("precious\n")
    os.symlink(str(target), str(tmp_path / "link"))
    with pytest.raises(OSError):
        on_host.write(str(tmp_path / "link"), "new\n")
    assert target.read_text() == "precious\n"
    assert sorted(os.listdir(str(tmp_path))) == ["link", "target"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "token"
    with pytest.raises(KeyError):
        on_host.write(str(path), "new\n", owner="no-such-user-astra")
    assert os.listdir(str(tmp_path)) == []


def test_a_run_observes_a_file_and_the_token_it_holds(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    found = on_host.run({"action": "observe", "path": str(path), "owner": None, "group": "no-such-group-astra",
                         "_ansible_check_mode": True})
    assert found == {"changed": False, "path_stat": {"exists": True, "islnk": False, "isdir": False, "isreg": True},
                     "dir_stat": {}, "owner_found": None, "group_found": False,
                     "held": "BOjPpMRcaWergiKIyHXEAymP", "held_token": TOKEN}


def test_a_run_never_reads_through_a_link(tmp_path):
    os.symlink(str(tmp_path / "elsewhere"), str(tmp_path / "link"))
    found = on_host.run({"action": "observe", "path": str(tmp_path / "link")})
    assert found["path_stat"]["islnk"] is True and "held" not in found


def test_a_failed_write_is_one_line_without_the_content(tmp_path):
    found = on_host.run({"action": "write", "path": str(tmp_path / "nowhere" / "token"), "content": TOKEN})
    assert found == {"failed": True,
                     "msg": "writing %s failed: No such file or directory" % (tmp_path / "nowhere" / "token")}


def test_file_content_of_each_format():
    secret = "Xy-9KLmN8oPq1RsTuVwY+ZaBcDeFgHiJkLmNoPqRs.TuV-WxYz0123"
    new = {"token": TOKEN, "client_id": "BOjPpMRcaWergiKIyHXEAymP", "client_secret": secret}
    assert _consumer.file_content(new, "raw") == TOKEN + "\n"
    assert _consumer.file_content(new, "env", "APP_TOKEN") == "APP_TOKEN=%s\n" % TOKEN
    text = _consumer.file_content(new, "json")
    assert text.endswith("}\n") and json.loads(text) == {"clientId": new["client_id"], "secret": secret, "token": TOKEN}


def run_as_ansible_core_does(args_file):
    """The module run as ansible-core runs a WANT_JSON module: its Python, the module file, the arguments file."""
    done = subprocess.run([sys.executable, on_host.__file__, str(args_file)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_a_run_removes_its_arguments_file_with_the_token_as_soon_as_it_is_read(tmp_path):
    """The arguments file holds the new token: gone before the run ends, so a controller killed before its clean-up
    leaves no copy behind. A file given by hand, outside ansible-core's ansible-tmp-* folder, is kept."""
    target = tmp_path / "app.token"
    for folder, kept in ((tmp_path / "ansible-tmp-1796018668.44-10999-2635", False), (tmp_path / "by-hand", True)):
        folder.mkdir()
        args_file = folder / "args"
        args_file.write_text(json.dumps({"action": "write", "path": str(target), "content": TOKEN + "\n",
                                         "mode": "0600"}))
        assert "failed" not in run_as_ansible_core_does(args_file)
        assert target.read_text() == TOKEN + "\n"
        assert args_file.exists() is kept, folder
