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
        {"exists": True, "islnk": False, "isdir": False, "isreg": True, "nlink": 1}, {})
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


OTHER = "AstraCS:OtherFamilyClientIdXYZW:" + "fedcba9876543210" * 4
ENV = "ASTRA_DB_APPLICATION_TOKEN"


@pytest.mark.parametrize("content, fmt, expected", [
    (TOKEN + "\n", "raw", TOKEN),
    ("%s=%s\n" % (ENV, TOKEN), "env", TOKEN),
    ('{"clientId": "x", "secret": "y", "token": "%s"}' % TOKEN, "json", TOKEN),
    ("no token here\n", "raw", None),
    ("[astra]\ntoken = %s\n" % TOKEN, "template", TOKEN),
    # Another variable's or key's token is not the one the consumer holds, even when it comes first.
    ("OTHER_APP_TOKEN=%s\n%s=%s\n" % (OTHER, ENV, TOKEN), "env", TOKEN),
    ("OTHER_APP_TOKEN=%s\nLOG_LEVEL=debug\n" % OTHER, "env", None),
    ("# %s=%s\n" % (ENV, OTHER), "env", None),
    ("export %s='%s'  # rotated by Ansible\n" % (ENV, TOKEN), "env", TOKEN),
    ('{"legacy": "%s", "token": "%s"}' % (OTHER, TOKEN), "json", TOKEN),
    ('{"legacy": "%s"}' % OTHER, "json", None),
    ('["%s"]' % TOKEN, "json", None),
])
def test_held_is_the_token_where_the_format_keeps_it(content, fmt, expected):
    assert on_host.held_token(content, fmt, ENV) == expected


def test_held_of_a_missing_file():
    assert on_host.held(None, "raw", ENV) == ("missing", None)
    assert on_host.held("", "raw", ENV) == ("unknown", None)
    assert on_host.held(TOKEN + "\n", "raw", ENV) == ("BOjPpMRcaWergiKIyHXEAymP", TOKEN)


NEW = {"token": "AstraCS:NEWclientIdNEWclientIdNEW:" + "0" * 64, "client_id": "NEWclientIdNEWclientIdNEW",
       "client_secret": "new-client-secret-Xy9+/="}
NEW_JSON = {"clientId": NEW["client_id"], "secret": NEW["client_secret"], "token": NEW["token"]}


@pytest.mark.parametrize("fmt, before, after", [
    # A missing or empty file gets what it always got.
    ("env", "", "%s=%s\n" % (ENV, NEW["token"])),
    ("env", " \n\n", "%s=%s\n" % (ENV, NEW["token"])),
    # Only the variable's line changes: other variables, comments, blank lines and order stay as they were.
    ("env", "# inventory service\nDB_USER=inventory\n\n%s=%s\nLOG_LEVEL=debug\n" % (ENV, TOKEN),
     "# inventory service\nDB_USER=inventory\n\n%s=%s\nLOG_LEVEL=debug\n" % (ENV, NEW["token"])),
    ("env", "export DB_PASSWORD='s3cr3t'\nexport %s=%s\n" % (ENV, TOKEN),
     "export DB_PASSWORD='s3cr3t'\nexport %s=%s\n" % (ENV, NEW["token"])),
    ("env", '%s="%s"\n' % (ENV, TOKEN), '%s="%s"\n' % (ENV, NEW["token"])),
    ("env", "  export  %s = '%s'   # rotated\n" % (ENV, TOKEN), "  export  %s = '%s'   # rotated\n" % (ENV, NEW["token"])),
    ("env", "%s=\n" % ENV, "%s=%s\n" % (ENV, NEW["token"])),
    ("env", "%s=%s" % (ENV, TOKEN), "%s=%s" % (ENV, NEW["token"])),  # no final newline: still none
    ("env", "A=1\r\n%s=%s\r\nB=2\r\n" % (ENV, TOKEN), "A=1\r\n%s=%s\r\nB=2\r\n" % (ENV, NEW["token"])),
    # Another variable holding a token, and a commented-out line of the variable, are left alone.
    ("env", "OTHER_APP_TOKEN=%s\n# %s=%s\n%s=%s\n" % (OTHER, ENV, OTHER, ENV, TOKEN),
     "OTHER_APP_TOKEN=%s\n# %s=%s\n%s=%s\n" % (OTHER, ENV, OTHER, ENV, NEW["token"])),
    ("env", "%s_OLD=%s\n" % (ENV, TOKEN), "%s_OLD=%s\n%s=%s\n" % (ENV, TOKEN, ENV, NEW["token"])),
    # A file without the variable gets it appended, after a newline if its last line had none.
    ("env", "DB_USER=inventory\nLOG_LEVEL=debug", "DB_USER=inventory\nLOG_LEVEL=debug\n%s=%s\n" % (ENV, NEW["token"])),
    ("env", "DB_USER=inventory\r\n", "DB_USER=inventory\r\n%s=%s\r\n" % (ENV, NEW["token"])),
    # Bytes that are not UTF-8 in another line come back as they were.
    ("env", "NAME=caf\udce9\n%s=%s\n" % (ENV, TOKEN), "NAME=caf\udce9\n%s=%s\n" % (ENV, NEW["token"])),
    ("raw", "", NEW["token"] + "\n"),
    ("raw", TOKEN + "\n", NEW["token"] + "\n"),
    ("raw", "  %s\r\n\n" % TOKEN, NEW["token"] + "\n"),
    ("json", "", json.dumps(NEW_JSON, indent=4) + "\n"),
    ("json", "\n", json.dumps(NEW_JSON, indent=4) + "\n"),
])
def test_new_content_replaces_only_the_token(fmt, before, after):
    assert on_host.new_content(before, fmt, ENV, NEW) == after


def test_new_content_keeps_the_other_keys_of_a_json_object_in_their_order():
    before = {"keyspace": "inventory", "clientId": "old", "db": {"password": "s3cr3t", "port": 9042},
              "secret": None, "ratio": 1.5, "tags": ["a", "\u00e9"], "token": TOKEN, "ok": True}
    after = json.loads(on_host.new_content(json.dumps(before), "json", ENV, NEW))
    assert list(after) == list(before)
    assert after == dict(before, clientId=NEW["client_id"], secret=NEW["client_secret"], token=NEW["token"])
    after = json.loads(on_host.new_content('{"keyspace": "inventory"}', "json", ENV, NEW))
    assert list(after) == ["keyspace", "clientId", "secret", "token"]


def test_new_content_of_an_empty_file_is_what_the_stores_write():
    """The stores build their values with _consumer.file_content: an empty consumer file gets the same."""
    for fmt in ("raw", "env", "json"):
        assert on_host.new_content("", fmt, ENV, NEW) == _consumer.file_content(NEW, fmt, ENV)


SECRET_VALUE = "pa55-W0RD-never-shown"


@pytest.mark.parametrize("fmt, content, words", [
    ("env", "%s=%s\nDB_PASSWORD=%s\nexport %s=%s\n" % (ENV, TOKEN, SECRET_VALUE, ENV, OTHER),
     ["sets %s on lines 1 and 3" % ENV, "Keep one"]),
    ("env", "%s=%s\n%s=x\n%s='%s'\n" % (ENV, TOKEN, ENV, ENV, SECRET_VALUE), ["on lines 1, 2 and 3"]),
    ("env", 'DB_PASSWORD=%s\n%s="%s\n' % (SECRET_VALUE, ENV, TOKEN),
     ["sets %s on line 2 in a form the role does not rewrite" % ENV, "export NAME=value"]),
    ("env", "%s=%s %s\n" % (ENV, TOKEN, SECRET_VALUE), ["on line 1 in a form"]),
    ("env", "%s=abc\\\n%s\n" % (ENV, SECRET_VALUE), ["on line 1 in a form"]),
    ("json", '["%s", "%s"]' % (TOKEN, SECRET_VALUE), ["is not a JSON object but a JSON array", "format template"]),
    ("json", "token: %s\npassword: %s\n" % (TOKEN, SECRET_VALUE), ["is not a JSON object but text that is not JSON"]),
    ("json", '"%s"' % SECRET_VALUE, ["is not a JSON object but a JSON string"]),
    ("json", '{"token": {"value": "%s"}, "p": "%s"}' % (TOKEN, SECRET_VALUE),
     ["holds a JSON object under the key token", "a string"]),
    ("json", '{"secret": 12345, "p": "%s"}' % SECRET_VALUE, ["holds a JSON number under the key secret"]),
    ("json", '{"p": "%s", "p": "x"}' % SECRET_VALUE, ["the same key twice"]),
    ("raw", "%s\nDB_PASSWORD=%s\n" % (TOKEN, SECRET_VALUE),
     ["holds something other than one token (2 lines)", "format env", "json", "template"]),
    ("raw", '{"token": "%s", "p": "%s"}\n' % (TOKEN, SECRET_VALUE), ["(a JSON object with the keys p, token)"]),
    ("raw", "DB_PASSWORD=%s\n" % SECRET_VALUE, ["(a NAME=value line)"]),
    ("raw", "%s\n" % SECRET_VALUE, ["(a value that is not an Astra token)"]),
    ("raw", "%s %s\n" % (TOKEN, SECRET_VALUE), ["(a value that is not an Astra token)"]),
])
def test_a_file_of_another_shape_is_refused_without_showing_its_content(fmt, content, words):
    with pytest.raises(on_host.ShapeError) as refused:
        on_host.new_content(content, fmt, ENV, NEW)
    message = str(refused.value)
    assert all(word in message for word in words), message
    for secret in (SECRET_VALUE, TOKEN, OTHER, "AstraCS:", NEW["token"], NEW["client_secret"]):
        assert secret not in message
    assert "\n" not in message


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
                         "format": "raw", "_ansible_check_mode": True})
    assert found == {"changed": False, "path_stat": {"exists": True, "islnk": False, "isdir": False, "isreg": True,
                                                     "nlink": 1},
                     "dir_stat": {}, "owner_found": None, "group_found": False,
                     "held": "BOjPpMRcaWergiKIyHXEAymP", "held_token": TOKEN, "also_held": []}


def test_a_run_observes_the_token_of_the_env_variable_and_not_another(tmp_path):
    path = tmp_path / "app.env"
    path.write_text("OTHER_APP_TOKEN=%s\n%s=%s\n" % (OTHER, ENV, TOKEN))
    found = on_host.run({"action": "observe", "path": str(path), "format": "env", "env_var": ENV})
    assert (found["held"], found["held_token"]) == ("BOjPpMRcaWergiKIyHXEAymP", TOKEN)
    assert "content_problem" not in found


@pytest.mark.parametrize("fmt, content, words", [
    ("raw", TOKEN + "\nDB_PASSWORD=" + SECRET_VALUE + "\n", "holds something other than one token"),
    ("json", "[1, 2]", "is not a JSON object"),
    ("env", "%s=a\n%s=b\n" % (ENV, ENV), "on lines 1 and 2"),
])
def test_a_run_observes_a_file_it_would_not_write_back_as_a_content_problem(tmp_path, fmt, content, words):
    path = tmp_path / "app.conf"
    path.write_text(content)
    found = on_host.run({"action": "observe", "path": str(path), "format": fmt, "env_var": ENV})
    assert "failed" not in found
    assert found["content_problem"].startswith("token_rotation_consumer_path %s (format %s) " % (path, fmt))
    assert words in found["content_problem"] and SECRET_VALUE not in found["content_problem"]
    problems = _consumer.consumer_problems({"host": "c1", "path": str(path), "format": fmt, "env_var": ENV,
                                            "mode": "0600", "path_stat": found["path_stat"],
                                            "dir_stat": found["dir_stat"],
                                            "content_problem": found["content_problem"]})
    assert problems == ["Consumer c1: %s Nothing was changed." % found["content_problem"]]


def test_a_run_observes_a_file_too_large_for_a_token_file_as_a_content_problem(tmp_path):
    path = tmp_path / "big.env"
    path.write_text("A=" + "x" * on_host.READ_LIMIT + "\n")
    found = on_host.run({"action": "observe", "path": str(path), "format": "env", "env_var": ENV})
    assert "larger than 1 MiB" in found["content_problem"]


def test_a_run_writes_the_new_token_into_the_current_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "app.env"
    before = "# settings\nDB_USER=inventory\nDB_PASSWORD=%s\n\n%s=%s\n" % (SECRET_VALUE, ENV, TOKEN)
    path.write_text(before)
    os.chmod(str(path), 0o600)
    found = on_host.run({"action": "write", "path": str(path), "format": "env", "env_var": ENV, "new_token": NEW,
                         "mode": "0640"})
    assert found == {"changed": True}
    assert path.read_text() == before.replace(TOKEN, NEW["token"])
    assert mode_of(path) == 0o640
    assert on_host.run({"action": "write", "path": str(path), "format": "env", "env_var": ENV, "new_token": NEW,
                        "mode": "0640"}) == {"changed": False}
    path = tmp_path / "app.json"
    path.write_text(json.dumps({"keyspace": "inventory", "token": TOKEN}))
    assert on_host.run({"action": "write", "path": str(path), "format": "json", "new_token": NEW}) == {"changed": True}
    assert json.loads(path.read_text()) == dict(NEW_JSON, keyspace="inventory")
    assert mode_of(path) == 0o600
    path = tmp_path / "new.token"
    assert on_host.run({"action": "write", "path": str(path), "format": "raw", "new_token": NEW}) == {"changed": True}
    assert path.read_text() == NEW["token"] + "\n"


def test_a_run_refuses_to_write_a_file_that_changed_shape_since_it_was_observed(tmp_path):
    path = tmp_path / "app.token"
    before = TOKEN + "\nDB_PASSWORD=" + SECRET_VALUE + "\n"
    path.write_text(before)
    found = on_host.run({"action": "write", "path": str(path), "format": "raw", "new_token": NEW})
    assert found["failed"] is True and "holds something other than one token" in found["msg"]
    assert SECRET_VALUE not in found["msg"] and "AstraCS:" not in found["msg"]
    assert path.read_text() == before and os.listdir(str(tmp_path)) == ["app.token"]


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


def test_a_file_with_other_hard_links_is_a_consumer_problem_naming_the_link_count(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    os.link(str(path), str(tmp_path / "app-reads-this"))
    path_facts, dir_facts = on_host.path_stat(str(path))
    assert path_facts["nlink"] == 2
    (problem,) = _consumer.consumer_problems({"host": "c1", "path": str(path), "format": "raw", "mode": "0600",
                                              "path_stat": path_facts, "dir_stat": dir_facts})
    assert problem.startswith("Consumer c1: token_rotation_consumer_path %s has 2 hard links" % path), problem
    assert "would keep the old token" in problem and problem.endswith("Nothing was changed.")
    assert "\n" not in problem and TOKEN not in problem
    os.unlink(str(tmp_path / "app-reads-this"))
    assert _consumer.consumer_problems({"host": "c1", "path": str(path), "format": "raw", "mode": "0600",
                                        "path_stat": on_host.path_stat(str(path))[0], "dir_stat": {}}) == []


def test_write_refuses_a_file_with_other_hard_links_and_leaves_them_alone(tmp_path):
    path = tmp_path / "token"
    path.write_text("old\n")
    os.link(str(path), str(tmp_path / "other"))
    result = on_host.run({"action": "write", "path": str(path), "content": "new\n", "mode": "0600"})
    assert result["failed"] is True and "hard links" in result["msg"], result
    assert path.read_text() == (tmp_path / "other").read_text() == "old\n"
    assert sorted(os.listdir(str(tmp_path))) == ["other", "token"]


def test_write_keeps_the_owner_and_group_of_an_existing_file_when_none_is_asked(tmp_path, monkeypatch):
    """As ansible-core's atomic_move: an application's file keeps its owner and group; asked ones win; a new file is
    the writing user's (as root, the file is really given to another account)."""
    path = tmp_path / "token"
    path.write_text("old\n")
    if os.geteuid() == 0:
        os.chown(str(path), 65534, 65534)
    before = os.lstat(str(path))
    chowned = []
    real_fchown = os.fchown
    monkeypatch.setattr(on_host.os, "fchown",
                        lambda fd, uid, gid: chowned.append((uid, gid)) or real_fchown(fd, uid, gid))
    assert on_host.write(str(path), "new\n", mode="0640") is True
    after = os.lstat(str(path))
    assert chowned[-1] == (before.st_uid, before.st_gid)
    assert (after.st_uid, after.st_gid, mode_of(path)) == (before.st_uid, before.st_gid, 0o640)
    assert on_host.write(str(path), "newer\n", owner=str(os.getuid()), group=str(os.getgid())) is True
    assert chowned[-1] == (os.getuid(), os.getgid())
    assert (os.lstat(str(path)).st_uid, os.lstat(str(path)).st_gid) == (os.getuid(), os.getgid())
    assert on_host.write(str(tmp_path / "new"), "x\n") is True
    assert chowned[-1] == (-1, -1)
    assert os.lstat(str(tmp_path / "new")).st_uid == os.geteuid()


def test_a_run_observes_the_other_tokens_of_the_file_by_client_id_only(tmp_path):
    path = tmp_path / "app.env"
    path.write_text("%s=%s\nLEGACY_ASTRA_TOKEN=%s\n" % (ENV, TOKEN, OTHER))
    found = on_host.run({"action": "observe", "path": str(path), "format": "env", "env_var": ENV})
    assert found["also_held"] == ["OtherFamilyClientIdXYZW"]
    assert "OtherFamilyClientIdXYZW" == found["also_held"][0] and OTHER not in json.dumps(found["also_held"])
    path.write_text("%s=%s\n" % (ENV, TOKEN))
    assert on_host.run({"action": "observe", "path": str(path), "format": "env", "env_var": ENV})["also_held"] == []


def test_a_file_whose_owner_the_connecting_user_cannot_keep_is_a_consumer_problem(tmp_path, monkeypatch):
    """Not root, the module cannot give the new file another user's ownership: refused at observe, not at the write,
    after the new token exists."""
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    info = os.lstat(str(path))
    monkeypatch.setattr(on_host.os, "geteuid", lambda: info.st_uid + 1)
    monkeypatch.setattr(on_host.os, "getegid", lambda: info.st_gid + 1)
    monkeypatch.setattr(on_host.os, "getgroups", lambda: [])
    found = on_host.run({"action": "observe", "path": str(path), "format": "raw"})
    assert found["owner_problem"] == (
        "token_rotation_consumer_path %s has the owner uid %d and group gid %d, which the new file keeps when "
        "token_rotation_consumer_owner and _group are not set, but the connecting user (uid %d) cannot give it: "
        "connect as root or with become, or set token_rotation_consumer_owner and token_rotation_consumer_group."
        % (path, info.st_uid, info.st_gid, info.st_uid + 1))
    (problem,) = _consumer.consumer_problems(dict(found, host="c1", path=str(path), format="raw", mode="0600"))
    assert found["owner_problem"] in problem and problem.startswith("Consumer c1: ")
    asked = on_host.run({"action": "observe", "path": str(path), "format": "raw", "owner": "app", "group": "app"})
    assert "owner_problem" not in asked
    monkeypatch.setattr(on_host.os, "geteuid", lambda: info.st_uid)
    monkeypatch.setattr(on_host.os, "getgroups", lambda: [info.st_gid])
    assert "owner_problem" not in on_host.run({"action": "observe", "path": str(path), "format": "raw"})
