# -*- coding: utf-8 -*-
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The consumer side of a rotation (module_utils/_consumer.py) on real files in a temporary folder."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import os
import pwd
import stat

import pytest

from ansible_collections.astra.devops.plugins.module_utils import _consumer

TOKEN = "AstraCS:BOjPpMRcaWergiKIyHXEAymP:" + "0123456789abcdef" * 4


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_path_stat_tells_file_link_folder_and_missing(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    os.symlink(str(tmp_path / "file"), str(tmp_path / "link"))
    assert _consumer.path_stat(str(tmp_path / "file")) == (
        {"exists": True, "islnk": False, "isdir": False, "isreg": True}, {})
    assert _consumer.path_stat(str(tmp_path / "dir"))[0]["isdir"] is True
    link = _consumer.path_stat(str(tmp_path / "link"))[0]
    assert link["islnk"] is True and link["lnk_target"] == str(tmp_path / "file")
    assert _consumer.path_stat(str(tmp_path / "new")) == ({"exists": False}, {"isdir": True})
    assert _consumer.path_stat(str(tmp_path / "nowhere" / "new")) == ({"exists": False}, {"isdir": False})


def test_a_link_found_by_path_stat_is_a_consumer_problem(tmp_path):
    os.symlink("/etc/passwd", str(tmp_path / "link"))
    path_facts, dir_facts = _consumer.path_stat(str(tmp_path / "link"))
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
    assert _consumer.held(str(path), True) == expected


def test_held_of_a_missing_file():
    assert _consumer.held("/nonexistent/token", False) == ("missing", None)


def test_accounts_by_name_and_number():
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    assert _consumer.account_exists(user, "passwd") is True
    assert _consumer.account_exists(group, "group") is True
    assert _consumer.account_exists("no-such-user-astra", "passwd") is False
    assert _consumer.account_exists("1234", "passwd") is None  # a number is not looked up
    assert _consumer.account_exists(None, "group") is None
    assert _consumer.account_id(user, "passwd") == os.getuid()
    assert _consumer.account_id("0", "group") == 0
    assert _consumer.account_id(None, "passwd") == -1


def test_write_creates_the_file_with_its_mode_and_no_temporary_file_left(tmp_path):
    path = tmp_path / "token"
    assert _consumer.write(str(path), TOKEN + "\n", mode="0640") is True
    assert path.read_text() == TOKEN + "\n"
    assert mode_of(path) == 0o640
    assert os.listdir(str(tmp_path)) == ["token"]


def test_write_replaces_the_file_atomically_and_sets_its_mode(tmp_path):
    path = tmp_path / "token"
    path.write_text("old\n")
    os.chmod(str(path), 0o644)
    inode = os.lstat(str(path)).st_ino
    assert _consumer.write(str(path), "new\n", owner=str(os.getuid()), group=str(os.getgid())) is True
    assert path.read_text() == "new\n" and mode_of(path) == 0o600
    assert os.lstat(str(path)).st_ino != inode  # a new file renamed over the old one, never written in place


def test_write_of_what_is_already_there_changes_nothing(tmp_path):
    path = tmp_path / "token"
    _consumer.write(str(path), "same\n")
    assert _consumer.write(str(path), "same\n") is False
    assert _consumer.write(str(path), "same\n", mode="0640") is True  # the mode differs


def test_write_refuses_a_link_and_leaves_its_target_alone(tmp_path):
    target = tmp_path / "target"
    target.write_text("precious\n")
    os.symlink(str(target), str(tmp_path / "link"))
    with pytest.raises(OSError):
        _consumer.write(str(tmp_path / "link"), "new\n")
    assert target.read_text() == "precious\n"
    assert sorted(os.listdir(str(tmp_path))) == ["link", "target"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "token"
    with pytest.raises(KeyError):
        _consumer.write(str(path), "new\n", owner="no-such-user-astra")
    assert os.listdir(str(tmp_path)) == []
