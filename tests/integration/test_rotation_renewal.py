# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role's renewal before expiry (token_rotation_renew_before) and its runs under ansible-rulebook
(whose run_playbook passes the rulebook's hosts as --limit), through playbooks/rotate_token.yml, run by the real
ansible-playbook against the emulator on three file consumers (c1 raw, c2 env, c3 json). Every run goes through the
leak scanner."""

from __future__ import annotations

import pytest

from _astra_it import write_inventory
from _rotation import (CREATE_ROUTE, DELETE_ROUTE, ROTATE_PLAYBOOK, Consumers, failure_messages, family_ids,
                       result_of, rotation_args, seed_family, token_status)


@pytest.fixture
def consumers(tmp_path):
    return Consumers(tmp_path / 'consumers')


def rotate(run_playbook, consumers, desc, limit=None, expect_rc=0, **role_vars):
    extra = ['--limit', limit] if limit is not None else []
    return run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=1, expect_rc=expect_rc,
                        allowed_secret_files=consumers.paths,
                        extra_args=rotation_args(token_rotation_description=desc, **role_vars) + extra)


def assert_rotated_away_from(emu, consumers, desc, old):
    """The family is one new token, every consumer holds it and the API accepts it; the old token is refused."""
    family = family_ids(emu, desc)
    assert len(family) == 1 and family[0] != old['clientId'], family
    assert set(consumers.client_ids().values()) == set(family), consumers.client_ids()
    for host in consumers.hosts:
        assert token_status(emu, consumers.token(host)) == 200, '%s holds a token the API refuses' % host
    assert token_status(emu, old['token']) == 401
    return family[0]


# Renewal before expiry ----------------------------------------------------------------------------------------

def run_renew_before_7d(emu, run_playbook, consumers, name, expires_in_days):
    """A 3-day-old family expiring in expires_in_days, run with token_rotation_renew_before 7d: (desc, old, result)."""
    desc = emu.desc(name)
    old = seed_family(emu, consumers, desc, age_days=3, expires_in_days=expires_in_days)
    emu.reset_counts()
    return desc, old, result_of(rotate(run_playbook, consumers, desc, token_rotation_renew_before='7d'))


def test_a_token_expiring_within_renew_before_is_replaced(emu, run_playbook, consumers):
    desc, old, result = run_renew_before_7d(emu, run_playbook, consumers, 'renew-within', 2)
    assert result['action'] == 'rotated', result
    reason = result['reason']
    assert reason.startswith("Rotate: the newest token of the family '%s', %s, expires on " % (desc, old['clientId'])), reason
    assert 'within token_rotation_renew_before (7d)' in reason and 'not within' not in reason, reason
    new = assert_rotated_away_from(emu, consumers, desc, old)
    assert result['deleted_client_ids'] == [old['clientId']] and result['new_client_id'] == new, result
    assert emu.writes() == {CREATE_ROUTE: 1, DELETE_ROUTE: 1}, emu.writes()


def test_a_token_expiring_after_renew_before_is_kept_and_the_line_says_why(emu, run_playbook, consumers):
    desc, old, result = run_renew_before_7d(emu, run_playbook, consumers, 'renew-later', 60)
    assert result['action'] == 'skipped', result
    reason = result['reason']
    assert reason.startswith("Skip: the only token of the family '%s', %s, expires on " % (desc, old['clientId'])), reason
    assert 'not within token_rotation_renew_before (7d)' in reason and 'Nothing changes.' in reason, reason
    assert emu.writes() == {}, emu.writes()
    assert family_ids(emu, desc) == [old['clientId']]
    assert set(consumers.client_ids().values()) == {old['clientId']}


def test_a_bad_renew_before_is_refused_before_any_api_call(emu, run_playbook, consumers):
    desc = emu.desc('renew-bad')
    seed_family(emu, consumers, desc, age_days=3, expires_in_days=2)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, expect_rc=None, token_rotation_renew_before='soon')
    assert run.rc != 0
    messages = [m for m in failure_messages(run) if 'token_rotation_renew_before' in m]
    assert len(messages) == 1 and '\n' not in messages[0], failure_messages(run)
    assert {route: n for route, n in emu.counts().items() if n} == {}


# A limit that selects every host of the play (ansible-rulebook's run_playbook with hosts: all) ---------------

@pytest.mark.parametrize('limit', ['all', 'c1,c2,c3', 'astra_consumers'])
def test_a_limit_that_selects_every_play_host_is_a_full_run(emu, run_playbook, consumers, limit):
    desc = emu.desc('limit-full')
    old = seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, limit=limit)
    result = result_of(run)
    assert result['action'] == 'rotated', result
    assert result['deleted_client_ids'] == [old['clientId']] and result['kept_client_ids'] == [], result
    assert 'limited' not in result['reason'], result['reason']
    assert_rotated_away_from(emu, consumers, desc, old)


def test_a_limit_that_leaves_a_play_host_out_is_still_refused(emu, run_playbook, consumers):
    desc = emu.desc('limit-real')
    old = seed_family(emu, consumers, desc, age_days=3)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, limit='c1,c2', expect_rc=None)
    assert run.rc != 0
    messages = [m for m in failure_messages(run) if '--limit (c1,c2)' in m]
    assert messages and 'token_rotation_allow_limit' in messages[0], failure_messages(run)
    assert emu.writes() == {}, emu.writes()
    assert set(consumers.client_ids().values()) == {old['clientId']}


# A consumers' group that matches no host --------------------------------------------------------------------

@pytest.mark.parametrize('group', ['no_such_group', 'renew_empty'])
def test_a_consumers_group_without_hosts_stops_the_run_instead_of_skipping_it(emu, run_playbook, consumers, group):
    """A rulebook's astra_renew_families (or rotation_consumers) naming a group that is missing or empty: the run
    fails with one line naming rotation_consumers, before any API call, instead of a silent 'no hosts matched'."""
    desc = emu.desc('group-empty')
    old = seed_family(emu, consumers, desc, age_days=3, expires_in_days=2)
    inventory = write_inventory(consumers.folder.parent / 'inventory-empty-group.yml',
                                {'astra_consumers': consumers.hosts, 'renew_empty': {}})
    emu.reset_counts()
    run = run_playbook(ROTATE_PLAYBOOK, inventory=inventory, verbosity=1, expect_rc=None, allowed_secret_files=consumers.paths,
                       extra_args=rotation_args(token_rotation_description=desc, rotation_consumers=group,
                                                token_rotation_renew_before='7d') + ['--limit', 'all'])
    assert run.rc != 0
    messages = [m for m in failure_messages(run) if 'rotation_consumers' in m]
    assert len(messages) == 1 and "'%s', which matches no host" % group in messages[0], failure_messages(run)
    assert {route: n for route, n in emu.counts().items() if n} == {}
    assert family_ids(emu, desc) == [old['clientId']]


def test_a_token_pasted_into_another_tokens_description_is_not_shown_by_the_rotation(emu, run_playbook, consumers):
    """The role lists the whole organization and prints the family's metadata: a live token that someone pasted into
    a description (of the family's token or of another token) stays hidden at -vvvv (the leak scanner reads all)."""
    desc = emu.desc('pasted')
    old = seed_family(emu, consumers, desc, age_days=3, expires_in_days=2)
    bystander = emu.mint(roles=['R/W Svc Acct'])
    emu.mint(roles=['R/W Svc Acct'], description='ci ' + bystander['token'])
    run = run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=4, allowed_secret_files=consumers.paths,
                       extra_args=rotation_args(token_rotation_description=desc, token_rotation_renew_before='7d'))
    assert result_of(run)['action'] == 'rotated'
    assert 'ci AstraCS:********' in run.output, 'the role printed no description: this test shows nothing'
    assert_rotated_away_from(emu, consumers, desc, old)
