# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rotation never drops a value an application had in its consumer file (playbooks/rotate_token.yml on local
consumers, against the emulator): an env file keeps its other variables, comments and blank lines, and only the token
variable's line changes; a json file keeps its other keys; a file the format would not write back as it is (a raw
file with other lines, a JSON array, the variable set twice) stops the run at observe, before anything is created.
The consumer reads the token from the variable's own line, not another AstraCS: token of the file. Every run goes
through the harness's leak scanner; the other values of the files (a database password) never reach the output."""

from __future__ import annotations

import json
import os
import stat

import pytest

from _rotation import (CREATE_ROUTE, ENV_VAR, FAMILY_ROLES, ROTATE_PLAYBOOK, TOKEN, Consumers, client_id,
                       failure_messages, family_ids, result_of, rotation_args, token_status)
from test_rotation import rotate

DB_PASSWORD = 'db-pa55-W0RD-kept-and-never-shown'


def write_consumer_file(path, text):
    """A consumer file as an operator wrote it, mode 0600."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.chmod(str(path), 0o600)


def env_file(token, other_token=None):
    """An application's env file: the token beside other variables, a comment and a blank line (and, optionally,
    another application's token before it)."""
    other = 'OTHER_APP_TOKEN=%s\n' % other_token if other_token else ''
    return ('# inventory service settings\n%sDB_USER=inventory\nexport DB_PASSWORD="%s"\n\n'
            'export %s="%s"\nLOG_LEVEL=debug\n' % (other, DB_PASSWORD, ENV_VAR, token))


def token_of_env_file(text):
    """The token of the variable's own line."""
    (line,) = [line for line in text.splitlines() if line.startswith('export %s=' % ENV_VAR)]
    return TOKEN.search(line).group(0)


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_a_rotation_keeps_every_other_value_of_env_and_json_consumer_files(emu, run_playbook, tmp_path):
    consumers = Consumers(tmp_path / 'consumers', {'c1': 'env', 'c2': 'json'})
    desc = emu.desc('consumer-keeps-values')
    old = emu.mint(roles=FAMILY_ROLES, description=desc, age_days=3)
    env_before = env_file(old['token'])
    write_consumer_file(consumers.path('c1'), env_before)
    json_before = {'keyspace': 'inventory', 'clientId': old['clientId'], 'secret': old['secret'],
                   'token': old['token'], 'database': {'user': 'inventory', 'password': DB_PASSWORD}, 'retries': 3}
    write_consumer_file(consumers.path('c2'), json.dumps(json_before, indent=2) + '\n')

    result = result_of(rotate(run_playbook, consumers, desc))

    assert result['action'] == 'rotated' and sorted(result['consumers_updated']) == ['c1', 'c2'], result
    (new_id,) = family_ids(emu, desc)
    assert new_id == result['new_client_id'] != old['clientId']
    env_after = consumers.path('c1').read_text()
    new_token = token_of_env_file(env_after)
    assert client_id(new_token) == new_id
    assert env_after == env_before.replace(old['token'], new_token), 'the env file changed beyond its token line'
    json_after = json.loads(consumers.path('c2').read_text())
    assert list(json_after) == list(json_before)
    assert json_after['token'] == new_token and json_after['secret'] != old['secret']
    assert json_after == dict(json_before, clientId=new_id, secret=json_after['secret'], token=new_token)
    assert [mode_of(path) for path in consumers.paths] == [0o600, 0o600]
    assert token_status(emu, new_token) == 200 and token_status(emu, old['token']) == 401
    assert consumers.stray_files() == []


def test_an_env_consumer_holds_the_token_of_its_variable_not_another_token_in_the_file(emu, run_playbook, tmp_path):
    """An unfinished rotation (two tokens) whose env consumer already holds the newest on its variable's line, after
    another application's token on an earlier line: the run completes it without a new token, and the other line
    stays."""
    consumers = Consumers(tmp_path / 'consumers', {'c1': 'env'})
    desc = emu.desc('consumer-env-held')
    older = emu.mint(roles=FAMILY_ROLES, description=desc, age_days=3)
    newest = emu.mint(roles=FAMILY_ROLES, description=desc, age_days=1)
    other = emu.mint(roles=FAMILY_ROLES, description=emu.desc('consumer-env-other-app'), age_days=1)
    before = env_file(newest['token'], other_token=other['token'])
    write_consumer_file(consumers.path('c1'), before)
    emu.reset_counts()

    result = result_of(rotate(run_playbook, consumers, desc))

    assert result['action'] == 'completed', result
    assert result['new_client_id'] == newest['clientId'] and result['deleted_client_ids'] == [older['clientId']]
    assert emu.writes().get(CREATE_ROUTE, 0) == 0, emu.writes()
    assert family_ids(emu, desc) == [newest['clientId']]
    assert consumers.path('c1').read_text() == before
    assert token_status(emu, other['token']) == 200, "another application's token was deleted"


def run_on_one_file(emu, run_playbook, tmp_path, name, fmt, content):
    """A one-token family held by one consumer file of format fmt whose content is `content` with OLD standing for
    the token; a rotation that must fail. Returns (run, description, the token, the consumers, the file's bytes before)."""
    consumers = Consumers(tmp_path / 'consumers', {'c1': fmt})
    desc = emu.desc(name)
    old = emu.mint(roles=FAMILY_ROLES, description=desc, age_days=3)
    path = consumers.path('c1')
    write_consumer_file(path, content.replace('OLD', old['token']))
    before = path.read_bytes()
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, expect_rc=None)
    assert run.rc != 0
    return run, desc, old, consumers, before


@pytest.mark.parametrize('fmt, content, words', [
    ('raw', 'OLD\nDB_PASSWORD=%s\n' % DB_PASSWORD, ['holds something other than one token (2 lines)',
                                                    'format env', 'json', 'template']),
    ('json', '[{"token": "OLD", "password": "%s"}]\n' % DB_PASSWORD, ['is not a JSON object but a JSON array']),
    ('env', '%s=OLD\nDB_PASSWORD=%s\n%s=OLD\n' % (ENV_VAR, DB_PASSWORD, ENV_VAR),
     ['sets %s on lines 1 and 3' % ENV_VAR]),
])
def test_a_consumer_file_of_another_shape_stops_the_run_at_observe_before_anything_is_created(
        emu, run_playbook, tmp_path, fmt, content, words):
    run, desc, old, consumers, before = run_on_one_file(emu, run_playbook, tmp_path, 'consumer-shape-' + fmt, fmt,
                                                        content)
    path = consumers.path('c1')
    expected = ['Consumer c1: token_rotation_consumer_path %s (format %s)' % (path, fmt), 'Nothing was changed']
    messages = [m for m in failure_messages(run) if all(w in m for w in expected + words)]
    assert messages, 'no failure message with %s; failures: %s\n%s' % (words, failure_messages(run), run.describe())
    assert DB_PASSWORD not in run.output
    assert emu.writes() == {}, 'the run called the API to change something: %s' % emu.writes()
    assert family_ids(emu, desc) == [old['clientId']]
    assert path.read_bytes() == before and mode_of(path) == 0o600
    assert consumers.stray_files() == []


def test_a_consumer_file_with_another_hard_link_stops_the_run_at_observe(emu, run_playbook, tmp_path):
    """The write replaces the file by a rename, which would cut the link: the other name would keep the old token."""
    consumers = Consumers(tmp_path / 'consumers', {'c1': 'raw'})
    desc = emu.desc('consumer-hard-link')
    old = emu.mint(roles=FAMILY_ROLES, description=desc, age_days=3)
    path = consumers.path('c1')
    write_consumer_file(path, old['token'] + '\n')
    other_name = tmp_path / 'app-reads-this.token'
    os.link(str(path), str(other_name))
    emu.reset_counts()

    run = run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), expect_rc=None,
                       allowed_secret_files=consumers.paths + [other_name],
                       extra_args=rotation_args(token_rotation_description=desc))

    assert run.rc != 0
    words = ['Consumer c1: token_rotation_consumer_path %s has 2 hard links' % path, 'would keep the old token',
             'Nothing was changed']
    assert [m for m in failure_messages(run) if all(w in m for w in words)], \
        'no failure message with %s; failures: %s\n%s' % (words, failure_messages(run), run.describe())
    assert emu.writes() == {}, 'the run called the API to change something: %s' % emu.writes()
    assert family_ids(emu, desc) == [old['clientId']]
    assert path.read_text() == other_name.read_text() == old['token'] + '\n'
    assert os.lstat(str(path)).st_ino == os.lstat(str(other_name)).st_ino


@pytest.mark.skipif(os.geteuid() != 0, reason='giving a file to another account needs root')
def test_a_consumer_file_owned_by_the_application_keeps_its_owner_and_group(emu, run_playbook, tmp_path):
    """No token_rotation_consumer_owner / _group: the new file keeps the old one's owner and group (as ansible-core's
    atomic_move), so the application can still read it; the mode is the configured one (0600)."""
    consumers = Consumers(tmp_path / 'consumers', {'c1': 'env'})
    desc = emu.desc('consumer-keeps-owner')
    old = emu.mint(roles=FAMILY_ROLES, description=desc, age_days=3)
    path = consumers.path('c1')
    write_consumer_file(path, env_file(old['token']))
    os.chown(str(path), 65534, 65534)
    os.chmod(str(path), 0o440)

    result = result_of(rotate(run_playbook, consumers, desc))

    assert result['action'] == 'rotated', result
    info = os.lstat(str(path))
    assert (info.st_uid, info.st_gid, mode_of(path)) == (65534, 65534, 0o600)
    assert client_id(token_of_env_file(path.read_text())) == result['new_client_id'] != old['clientId']
    assert consumers.stray_files() == []


def test_an_env_file_that_starts_with_a_byte_order_mark_gets_the_token_on_its_first_line(emu, run_playbook, tmp_path):
    consumers = Consumers(tmp_path / 'consumers', {'c1': 'env'})
    desc = emu.desc('consumer-env-bom')
    old = emu.mint(roles=FAMILY_ROLES, description=desc, age_days=3)
    path = consumers.path('c1')
    before = '\ufeffexport %s="%s"\nDB_USER=inventory\n' % (ENV_VAR, old['token'])
    write_consumer_file(path, before)

    result = result_of(rotate(run_playbook, consumers, desc))

    assert result['action'] == 'rotated', result
    after = path.read_bytes().decode('utf-8')
    new_token = TOKEN.search(after).group(0)
    assert after == before.replace(old['token'], new_token), 'the BOM or another line changed, or a line was added'
    assert client_id(new_token) == result['new_client_id'] != old['clientId']
    assert token_status(emu, new_token) == 200 and token_status(emu, old['token']) == 401


@pytest.mark.parametrize('fmt, content', [
    ('env', '%s=OLD\nLEGACY_ASTRA_TOKEN=OLD\n' % ENV_VAR),
    ('json', '{"token": "OLD", "spark": {"astraToken": "OLD"}}\n'),
])
def test_a_consumer_file_holding_the_token_in_a_second_place_stops_the_run_before_anything_is_created(
        emu, run_playbook, tmp_path, fmt, content):
    """Only the format's place would be rewritten; the other place would keep the old token, which is then deleted."""
    run, desc, old, consumers, before = run_on_one_file(emu, run_playbook, tmp_path, 'consumer-second-place-' + fmt,
                                                        fmt, content)
    path = consumers.path('c1')
    words = ['c1 also holds %s of this family in another place' % old['clientId'], 'Nothing was created or changed']
    assert [m for m in failure_messages(run) if all(w in m for w in words)], \
        'no failure message with %s; failures: %s\n%s' % (words, failure_messages(run), run.describe())
    assert emu.writes() == {}, 'the run called the API to change something: %s' % emu.writes()
    assert family_ids(emu, desc) == [old['clientId']] and path.read_bytes() == before
    assert token_status(emu, old['token']) == 200
