# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.astra_token through ansible-playbook: create, idempotency, check and diff mode, recreate, absent,
expiry, org_id, the legacy endpoint and the number of API calls."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from _astra_it import assert_no_secret, assert_secret_shape, info, play, show, task, token

RW = 'R/W Svc Acct'
RO = 'RO Svc Acct'


def env_token(var):
    return "{{ lookup('ansible.builtin.env', '%s') }}" % var


def _utc(text):
    return dt.datetime.fromisoformat(text.replace('Z', '+00:00'))


def _now():
    return dt.datetime.now(dt.timezone.utc)


# ----------------------------------------------------------------------------------------------------------------
# create and idempotency
# ----------------------------------------------------------------------------------------------------------------

def test_create_by_description_with_api_names_then_unchanged(target, run_playbook):
    desc = target.desc('api-names')
    run = run_playbook(play([
        token('create with API role names', 'created', description=desc, roles=[RW, RO]),
        assert_secret_shape('created'),
        show('created'),
        token('same task again', 'again', description=desc, roles=[RO, RW]),
        assert_no_secret('again'),
        show('again'),
    ]))
    created, again = run.shown('created'), run.shown('again')
    assert created['changed'] is True and created['has_secret'] is True
    assert again['changed'] is False and again['has_secret'] is False
    assert again['token']['client_id'] == created['token']['client_id']
    assert created['token']['description'] == desc
    assert sorted(created['token']['role_names']) == sorted([RW, RO])
    assert sorted(created['token']['roles']) == sorted([target.role_id(RW), target.role_id(RO)])
    assert created['token']['generated_on']
    # the no_log task itself shows nothing but the censored marker
    assert 'censored' in run.result('create with API role names')
    assert run.status('create with API role names') == 'changed'
    assert run.status('same task again') == 'ok'
    listed = target.tokens_with(desc)
    assert [t['clientId'] for t in listed] == [created['token']['client_id']]


def test_create_with_portal_names_any_case_and_ids_resolve_to_the_same_token(target, run_playbook):
    desc = target.desc('portal-names')
    rw_id = target.role_id(RW)
    run = run_playbook(play([
        token('create with the portal name', 'created', description=desc, roles=['Read/Write Service Account']),
        assert_secret_shape('created'),
        show('created'),
        token('API name in lower case', 'lower', description=desc, roles=['r/w svc acct']),
        show('lower'),
        token('portal name in upper case', 'upper', description=desc, roles=['READ/WRITE SERVICE ACCOUNT']),
        show('upper'),
        token('role id', 'by_id', description=desc, roles=[rw_id]),
        show('by_id'),
    ]))
    created = run.shown('created')
    assert created['changed'] is True
    assert created['token']['roles'] == [rw_id]
    assert created['token']['role_names'] == [RW]
    for var in ('lower', 'upper', 'by_id'):
        shown = run.shown(var)
        assert shown['changed'] is False, var
        assert shown['has_secret'] is False, var
        assert shown['token']['client_id'] == created['token']['client_id'], var
    assert len(target.tokens_with(desc)) == 1


def test_create_with_role_ids(target, run_playbook):
    desc = target.desc('role-ids')
    ids = [target.role_id(RW), target.role_id(RO)]
    run = run_playbook(play([
        token('create with role ids', 'created', description=desc, roles=ids),
        assert_secret_shape('created'),
        show('created'),
        token('again with the ids', 'again', description=desc, roles=list(reversed(ids))),
        show('again'),
    ]))
    created = run.shown('created')
    assert created['changed'] is True
    assert sorted(created['token']['roles']) == sorted(ids)
    assert run.shown('again')['changed'] is False
    assert run.shown('again')['has_secret'] is False
    (listed,) = target.tokens_with(desc)
    assert sorted(listed['roles']) == sorted(ids)


def test_role_ids_in_any_letter_case(target, run_playbook):
    """Issue 10: role ids compare in any letter case (the Terraform provider lower-cases them), and go to the API in
    lower case; an upper-case id of an unchanged token is no difference."""
    desc = target.desc('upper-case-ids')
    rw_id = target.role_id(RW)
    run = run_playbook(play([
        token('create with an upper-case role id', 'created', description=desc, roles=[rw_id.upper()]),
        assert_secret_shape('created'),
        show('created'),
        token('again with the lower-case id', 'lower', description=desc, roles=[rw_id]),
        show('lower'),
        token('again with the upper-case id', 'upper', description=desc, roles=[' %s ' % rw_id.upper()]),
        show('upper'),
    ]))
    created = run.shown('created')
    assert created['changed'] is True and created['token']['roles'] == [rw_id.lower()]
    for var in ('lower', 'upper'):
        assert run.shown(var)['changed'] is False, run.shown(var)
        assert run.shown(var)['token']['client_id'] == created['token']['client_id']
    (listed,) = target.tokens_with(desc)
    assert [r.lower() for r in listed['roles']] == [rw_id.lower()]


def test_present_by_client_id_of_an_existing_token_is_unchanged(target, run_playbook):
    desc = target.desc('by-client-id')
    run = run_playbook(play([
        token('create', 'created', description=desc, roles=[RW]),
        token('refer to it by client id', 'by_id', client_id='{{ created.token.client_id }}', roles=[RW]),
        show('by_id'),
    ]))
    shown = run.shown('by_id')
    assert shown['changed'] is False and shown['has_secret'] is False
    assert shown['token']['description'] == desc


# ----------------------------------------------------------------------------------------------------------------
# check mode and diff mode
# ----------------------------------------------------------------------------------------------------------------

def test_check_mode_reports_changes_and_never_writes(emu, run_playbook):
    keep = emu.mint(description='it-check-existing', roles=[RW])
    emu.reset_counts()
    run = run_playbook(play([
        token('would create', 'create', description='it-check-new', roles=[RW], expiry='30d'),
        show('create'),
        assert_no_secret('create'),
        token('would replace', 'replace', description='it-check-existing', roles=[RW], recreate='always'),
        show('replace'),
        token('would delete', 'delete', description='it-check-existing', state='absent'),
        show('delete'),
        token('would delete by client id', 'delete_id', client_id=keep['clientId'], state='absent'),
        show('delete_id'),
    ]), check=True, diff=True)
    for var in ('create', 'replace', 'delete', 'delete_id'):
        assert run.shown(var)['changed'] is True, var
        assert run.shown(var)['has_secret'] is False, var
    assert emu.writes() == {}, 'check mode wrote: %s' % emu.writes()
    assert [t['clientId'] for t in emu.state_tokens('it-check-existing')] == [keep['clientId']]
    assert emu.state_tokens('it-check-new') == []
    assert run.shown('create')['token']['description'] == 'it-check-new'
    diff = run.shown('create')['diff']
    assert diff['after']['description'] == 'it-check-new' and not diff['before']


def test_diff_shows_metadata_only(target, run_playbook):
    desc = target.desc('diff')
    run = run_playbook(play([
        token('create with diff', 'created', description=desc, roles=[RW]),
        task('print the diff of the creation', 'ansible.builtin.debug', {'var': 'created.diff'}),
        token('delete with diff', 'deleted', no_log=False, description=desc, state='absent'),
    ]), diff=True)
    diff = run.result('print the diff of the creation')['created.diff']
    diffs = diff if isinstance(diff, list) else [diff]
    before, after = diffs[0]['before'], diffs[0]['after']
    assert not before or before in ({}, '') or not before.get('client_id')
    assert isinstance(after, dict) and after['description'] == desc
    assert 'secret' not in after and 'token' not in after and 'client_secret' not in after
    deleted = run.result('delete with diff')
    assert deleted['changed'] is True
    ddiffs = deleted['diff'] if isinstance(deleted['diff'], list) else [deleted['diff']]
    assert desc in json.dumps(ddiffs[0]['before'])
    assert desc not in json.dumps(ddiffs[0]['after'])
    # the diff of the delete is printed by the default callback (and scanned for secrets by the runner)
    assert desc in run.stdout


# ----------------------------------------------------------------------------------------------------------------
# recreate
# ----------------------------------------------------------------------------------------------------------------

def test_recreate_never_fails_clearly_on_role_mismatch(target, run_playbook):
    desc = target.desc('recreate-never')
    run = run_playbook(play([
        token('create with R/W', 'created', description=desc, roles=[RW]),
        token('ask for RO with recreate never', 'mismatch', ignore_errors=True, description=desc, roles=[RO]),
        show('mismatch'),
    ]))
    shown = run.shown('mismatch')
    assert shown['failed'] is True and shown['has_secret'] is False
    msg = shown['msg']
    assert '\n' not in msg
    assert 'role' in msg.lower() and 'recreate' in msg.lower(), msg
    assert RO in msg or target.role_id(RO) in msg, msg
    listed = target.tokens_with(desc)
    assert len(listed) == 1 and listed[0]['roles'] == [target.role_id(RW)]


def test_a_role_mismatch_names_the_roles_also_when_given_as_ids(target, run_playbook):
    """The message names the roles (the roles list is read for it), not their ids; a role id that no role has any
    more (a deleted role) is said to be one."""
    desc = target.desc('mismatch-by-id')
    gone = '0d4cd8e4-2d30-4b0c-9c39-4c2e6bdbd9b6'
    run = run_playbook(play([
        token('create with R/W', 'created', description=desc, roles=[target.role_id(RW)]),
        token('ask for RO by id', 'mismatch', ignore_errors=True, description=desc, roles=[target.role_id(RO)]),
        show('mismatch'),
        token('ask for a deleted role by id', 'deleted', ignore_errors=True, description=desc, roles=[gone]),
        show('deleted'),
    ]))
    msg = run.shown('mismatch')['msg']
    assert 'roles are [%s], asked [%s]' % (RW, RO) in msg and '\n' not in msg, msg
    msg = run.shown('deleted')['msg']
    assert 'roles are [%s], asked [%s (no such role)]' % (RW, gone) in msg, msg


def test_recreate_state_change_replaces_only_when_different(target, run_playbook):
    desc = target.desc('recreate-state-change')
    run = run_playbook(play([
        token('create with R/W', 'first', description=desc, roles=[RW]),
        token('same roles with state_change', 'same', description=desc, roles=[RW], recreate='state_change'),
        show('same'),
        token('other roles with state_change', 'replaced', description=desc, roles=[RO], recreate='state_change'),
        assert_secret_shape('replaced'),
        show('first'),
        show('replaced'),
    ]))
    first, same, replaced = run.shown('first'), run.shown('same'), run.shown('replaced')
    assert same['changed'] is False and same['has_secret'] is False
    assert replaced['changed'] is True
    assert replaced['token']['client_id'] != first['token']['client_id']
    assert replaced['token']['roles'] == [target.role_id(RO)]
    assert replaced['deleted_client_ids'] == [first['token']['client_id']]
    listed = target.tokens_with(desc)
    assert [t['clientId'] for t in listed] == [replaced['token']['client_id']]


def test_recreate_always_replaces_on_every_run(target, run_playbook):
    desc = target.desc('recreate-always')
    run = run_playbook(play([
        token('create', 'r0', description=desc, roles=[RW], recreate='always'),
        token('run 2', 'r1', description=desc, roles=[RW], recreate='always'),
        assert_secret_shape('r1'),
        token('run 3', 'r2', description=desc, roles=[RW], recreate='always'),
        assert_secret_shape('r2'),
        show('r0'), show('r1'), show('r2'),
    ]))
    r0, r1, r2 = run.shown('r0'), run.shown('r1'), run.shown('r2')
    ids = [r['token']['client_id'] for r in (r0, r1, r2)]
    assert len(set(ids)) == 3
    assert r1['changed'] is True and r2['changed'] is True
    assert r1['deleted_client_ids'] == [ids[0]]
    assert r2['deleted_client_ids'] == [ids[1]]
    assert [t['clientId'] for t in target.tokens_with(desc)] == [ids[2]]


# ----------------------------------------------------------------------------------------------------------------
# absent
# ----------------------------------------------------------------------------------------------------------------

def test_absent_by_client_id_then_missing_is_unchanged(target, run_playbook):
    desc = target.desc('absent-by-id')
    run = run_playbook(play([
        token('create', 'created', description=desc, roles=[RW]),
        token('delete by client id', no_log=False, client_id='{{ created.token.client_id }}', state='absent'),
        token('delete again', no_log=False, client_id='{{ created.token.client_id }}', state='absent'),
        token('delete a description nobody has', no_log=False, description=target.desc('nobody-has-this'),
              state='absent'),
        show('created'),
    ]))
    client_id = run.shown('created')['token']['client_id']
    first = run.result('delete by client id')
    assert first['changed'] is True and first['deleted_client_ids'] == [client_id]
    assert 'secret' not in first
    again = run.result('delete again')
    assert again['changed'] is False and again['deleted_client_ids'] == []
    nobody = run.result('delete a description nobody has')
    assert nobody['changed'] is False and nobody['deleted_client_ids'] == []
    assert target.tokens_with(desc) == []


def test_a_delete_whose_answer_was_lost_is_reported_as_a_delete(emu, run_playbook):
    """The connection drops after the API deleted the token; the retry gets a 404. The token was listed a moment
    before, so this run deleted it: changed, and named in deleted_client_ids."""
    client_id = emu.mint(description='it-absent-lost-answer', roles=[RW])['clientId']
    emu.fault(method='DELETE', path='/v2/tokens/', drop='after', times=1)
    run = run_playbook(play([
        token('delete', no_log=False, description='it-absent-lost-answer', state='absent'),
    ]))
    result = run.result('delete')
    assert result['changed'] is True and result['deleted_client_ids'] == [client_id], result
    assert emu.state_tokens('it-absent-lost-answer') == []


def test_absent_by_description_deletes_every_match(emu, run_playbook):
    ids = sorted(emu.mint(description='it-absent-desc', roles=[RW])['clientId'] for number in range(3))
    other = emu.mint(description='it-absent-other', roles=[RW])['clientId']
    run = run_playbook(play([
        token('delete by description', no_log=False, description='it-absent-desc', state='absent'),
        token('delete by description again', no_log=False, description='it-absent-desc', state='absent'),
    ]))
    first = run.result('delete by description')
    assert first['changed'] is True and sorted(first['deleted_client_ids']) == ids
    second = run.result('delete by description again')
    assert second['changed'] is False and second['deleted_client_ids'] == []
    assert emu.state_tokens('it-absent-desc') == []
    assert [t['clientId'] for t in emu.state_tokens('it-absent-other')] == [other]


def test_several_tokens_with_one_description_fail_listing_client_ids(emu, run_playbook):
    ids = [emu.mint(description='it-ambiguous', roles=[RW])['clientId'] for number in range(2)]
    emu.reset_counts()
    run = run_playbook(play([
        token('present on an ambiguous description', 'ambiguous', ignore_errors=True,
              description='it-ambiguous', roles=[RW]),
        show('ambiguous'),
    ]))
    shown = run.shown('ambiguous')
    assert shown['failed'] is True and shown['has_secret'] is False
    assert '\n' not in shown['msg']
    for client_id in ids:
        assert client_id in shown['msg'], shown['msg']
    assert emu.writes() == {}
    assert len(emu.state_tokens('it-ambiguous')) == 2


# ----------------------------------------------------------------------------------------------------------------
# expiry
# ----------------------------------------------------------------------------------------------------------------

def test_expiry_as_iso_instant_and_as_duration(target, run_playbook):
    instant = '%d-01-31T00:00:00Z' % (_now().year + 2)
    d_iso, d_dur = target.desc('expiry-iso'), target.desc('expiry-duration')
    before = _now()
    run = run_playbook(play([
        token('create with an ISO instant', 'iso', description=d_iso, roles=[RW], expiry=instant),
        token('again with the same instant', 'iso_again', description=d_iso, roles=[RW], expiry=instant),
        token('the same instant with an offset', 'iso_offset', description=d_iso, roles=[RW],
              expiry=instant.replace('T00:00:00Z', 'T02:00:00+02:00')),
        token('create with 90d', 'dur', description=d_dur, roles=[RW], expiry='90d'),
        token('again with 90d a moment later', 'dur_again', description=d_dur, roles=[RW], expiry='90d'),
        token('again with another duration', 'dur_other', description=d_dur, roles=[RW], expiry='12h'),
        show('iso'), show('iso_again'), show('iso_offset'), show('dur'), show('dur_again'), show('dur_other'),
    ]))
    iso = run.shown('iso')
    assert iso['changed'] is True
    assert _utc(iso['token']['expiry']) == _utc(instant)
    assert run.shown('iso_again')['changed'] is False
    assert run.shown('iso_offset')['changed'] is False
    dur = run.shown('dur')
    assert dur['changed'] is True
    expected = before + dt.timedelta(days=90)
    assert abs((_utc(dur['token']['expiry']) - expected).total_seconds()) < 600, dur['token']['expiry']
    # a duration applies at creation only and never counts as a difference
    assert run.shown('dur_again')['changed'] is False
    assert run.shown('dur_other')['changed'] is False
    (listed,) = target.tokens_with(d_iso)
    assert _utc(listed['tokenExpiry']) == _utc(instant)
    (listed,) = target.tokens_with(d_dur)
    assert abs((_utc(listed['tokenExpiry']) - expected).total_seconds()) < 600


def test_expiry_instant_mismatch_follows_recreate(target, run_playbook):
    desc = target.desc('expiry-mismatch')
    year = _now().year + 2
    run = run_playbook(play([
        token('create', 'created', description=desc, roles=[RW], expiry='%d-01-31T00:00:00Z' % year),
        token('another instant, recreate never', 'never', ignore_errors=True, description=desc, roles=[RW],
              expiry='%d-02-28T00:00:00Z' % year),
        token('another instant, state_change', 'changed', description=desc, roles=[RW],
              expiry='%d-02-28T00:00:00Z' % year, recreate='state_change'),
        show('never'), show('changed'), show('created'),
    ]))
    never = run.shown('never')
    assert never['failed'] is True and 'expir' in never['msg'].lower() and '\n' not in never['msg']
    changed = run.shown('changed')
    assert changed['changed'] is True
    assert _utc(changed['token']['expiry']) == _utc('%d-02-28T00:00:00Z' % year)
    assert changed['deleted_client_ids'] == [run.shown('created')['token']['client_id']]


# ----------------------------------------------------------------------------------------------------------------
# enterprise tokens, org_id and the legacy endpoint
# ----------------------------------------------------------------------------------------------------------------

def test_org_id_creates_in_a_member_org(emu, run_playbook):
    enterprise = emu.mint(org='enterprise', roles=['Enterprise Administrator'], description='it-enterprise-caller')
    member_org = emu.mint(org='second', roles=[RO], description='it-in-second-org')['orgId']
    assert member_org != emu.org_id
    rw_id = emu.role_id(RW)  # built-in role ids are the same in every organisation
    emu.reset_counts()
    run = run_playbook(play([
        # an upper-case id, sent as given before issue 10 (with org_id ids are not looked up): the API got an id it
        # does not know; now it is sent in lower case
        token('create in the member org', 'created', description='it-member-token', roles=[rw_id.upper()],
              org_id=member_org),
        assert_secret_shape('created'),
        show('created'),
    ]), extra_env={'ASTRA_API_TOKEN': enterprise['token']})
    created = run.shown('created')
    assert created['changed'] is True
    assert created['token']['org_id'] == member_org
    # The enterprise's token list cannot show member-org tokens (FACTS), so the module says it cannot be idempotent.
    assert any('not the api_token\'s own organization' in w for w in created.get('warnings', [])), created
    (made,) = emu.state_tokens('it-member-token')
    assert made['orgId'] == member_org and not made.get('enterprise')
    assert made['roles'] == [rw_id]
    assert emu.counts().get('POST /v2/tokens') == 1


def test_legacy_list_cannot_see_enterprise_tokens(emu, run_playbook):
    enterprise = emu.mint(org='enterprise', roles=['Enterprise Administrator'], description='it-enterprise-token')
    org_token = emu.mint(roles=[RW], description='it-org-token')
    run = run_playbook(play([
        info('list with /v2/tokens as the enterprise', 'modern', api_token=env_token('IT_ENTERPRISE')),
        info('list with the legacy family as the enterprise', 'legacy', endpoint='clientIdSecrets',
             api_token=env_token('IT_ENTERPRISE')),
        info('list with the legacy family as the org admin', endpoint='clientIdSecrets'),
        info('list with /v2/tokens as the org admin'),
    ]), extra_env={'IT_ENTERPRISE': enterprise['token']})

    def ids(name):
        return {t['client_id'] for t in run.result(name)['tokens']}

    assert enterprise['clientId'] in ids('list with /v2/tokens as the enterprise')
    assert ids('list with the legacy family as the enterprise') == set()
    assert enterprise['clientId'] not in ids('list with the legacy family as the org admin')
    assert org_token['clientId'] in ids('list with the legacy family as the org admin')
    assert enterprise['clientId'] not in ids('list with /v2/tokens as the org admin')


def test_legacy_endpoint_creates_finds_and_deletes(emu, run_playbook):
    emu.reset_counts()
    run = run_playbook(play([
        token('create on clientIdSecrets', 'created', description='it-legacy', roles=[RW], endpoint='clientIdSecrets'),
        assert_secret_shape('created'),
        token('again on clientIdSecrets', 'again', description='it-legacy', roles=[RW], endpoint='clientIdSecrets'),
        show('again'),
        token('delete on clientIdSecrets', no_log=False, description='it-legacy', state='absent',
              endpoint='clientIdSecrets'),
    ]))
    assert run.shown('again')['changed'] is False
    assert run.result('delete on clientIdSecrets')['changed'] is True
    assert emu.state_tokens('it-legacy') == []
    counts = emu.counts()
    assert counts.get('POST /v2/clientIdSecrets') == 1
    assert counts.get('DELETE /v2/clientIdSecrets/{clientId}') == 1
    assert not any(k.endswith('/v2/tokens') or '/v2/tokens/' in k for k in counts if counts[k]), counts


@pytest.mark.api_profiles('default', reason='it sets the create and delete answers itself; the profiles do not change them')
def test_alternative_response_shapes(emu, run_playbook):
    """The create answer echoing description/tokenExpiry, and DELETE answering 204 instead of 200."""
    emu.config(echo_create_fields=True, delete_status=204)
    run = run_playbook(play([
        token('create', 'created', description='it-shapes', roles=[RW], expiry='30d'),
        assert_secret_shape('created'),
        token('again', 'again', description='it-shapes', roles=[RW], expiry='30d'),
        show('again'),
        token('delete, answered with 204', no_log=False, description='it-shapes', state='absent'),
    ]))
    assert run.shown('again')['changed'] is False
    deleted = run.result('delete, answered with 204')
    assert deleted['changed'] is True and len(deleted['deleted_client_ids']) == 1
    assert emu.state_tokens('it-shapes') == []


# ----------------------------------------------------------------------------------------------------------------
# request counts of an unchanged present
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('by', ['ids', 'names'])
def test_unchanged_present_request_counts(emu, run_playbook, by):
    emu.mint(description='it-counts', roles=[RW, RO])
    # noise: a few hundred other tokens must not cost extra calls
    emu.seed(count=300, description='it-noise-{i}', roles=[RO])
    roles = [emu.role_id(RW), emu.role_id(RO)] if by == 'ids' else ['Read/Write Service Account', RO.lower()]
    emu.reset_counts()
    run = run_playbook(play([token('unchanged present', 'same', description='it-counts', roles=roles), show('same')]))
    assert run.shown('same')['changed'] is False
    expected = {'GET /v2/tokens': 1}
    if by == 'names':
        expected['GET /v2/organizations/roles'] = 1
    assert {k: v for k, v in emu.counts().items() if v} == expected
