# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""astra.devops.astra_role against the emulator (issue 14): create, an unchanged run, update by set difference,
delete, each in check mode with diff too; built-in roles refused; a role that tokens hold is not narrowed or deleted
without force; databases and actions_from; bad inputs fail before any write, in one line naming the option. Request
counts are asserted exactly."""

from __future__ import annotations

import uuid

import pytest

from _astra_it import play, show, task, token
from _rotation import ROTATE_PLAYBOOK, Consumers, rotation_args

ROLES = 'GET /v2/organizations/roles'
CREATE = 'POST /v2/organizations/roles'
UPDATE = 'PUT /v2/organizations/roles/{roleId}'
DELETE = 'DELETE /v2/organizations/roles/{roleId}'
TOKENS = 'GET /v2/tokens'
CURRENT_ORG = 'GET /v2/currentOrg'
DB = '5b70892f-e01a-4595-98e6-19ecc9985d50'
OTHER_DB = '0d4cd8e4-2d30-4b0c-9c39-4c2e6bdbd9b6'


def role(title, check=False, ignore_errors=False, **args):
    keywords = {'check_mode': True, 'diff': True} if check else {'diff': True}
    return task(title, 'astra.devops.astra_role', args, ignore_errors=ignore_errors, **keywords)


def counts(emu):
    return {route: n for route, n in emu.counts().items() if n}


def one(run_playbook, emu, **args):
    """One astra_role task (check mode first, then for real), with the requests of the real run."""
    emu.reset_counts()
    checked = run_playbook(play([role('check', check=True, **args)]))
    assert not emu.writes(), 'check mode wrote: %s' % emu.writes()
    emu.reset_counts()
    run = run_playbook(play([role('real', **args)]))
    return checked.result('check'), run.result('real'), counts(emu)


def test_create_unchanged_update_and_delete(emu, run_playbook):
    name = 'it-role-%s' % uuid.uuid4().hex[:8]
    org = 'drn:astra:org:%s' % emu.org_id
    base = dict(name=name, description='reads the orders tables', actions=['db-cql', 'db-table-select'],
                resources=[org])

    checked, created, requests = one(run_playbook, emu, **base)
    assert checked['changed'] and checked['role']['id'] is None and checked['diff']['before'] == {}
    assert created['changed'] and created['role']['actions'] == ['db-cql', 'db-table-select']
    assert created['diff']['after']['name'] == name
    assert requests == {ROLES: 1, CURRENT_ORG: 1, CREATE: 1}, requests  # the resources' organization is checked
    role_id = created['role']['id']
    assert emu.role_id(name) == role_id

    # the same role again, actions in another order: one list, no write
    reordered = dict(base)
    reordered['actions'] = ['db-table-select', 'db-cql']
    checked, same, requests = one(run_playbook, emu, **reordered)
    assert not checked['changed'] and not same['changed'] and same['role']['id'] == role_id
    assert requests == {ROLES: 1}, requests

    # add an action: by set difference, one PUT; held_by from one token list
    wider = dict(base)
    wider['actions'] = ['db-cql', 'db-table-select', 'db-table-modify']
    checked, updated, requests = one(run_playbook, emu, **wider)
    assert checked['changed'] and checked['diff']['after']['actions'] == ['db-cql', 'db-table-modify',
                                                                          'db-table-select']
    assert updated['changed'] and updated['held_by'] == []
    assert requests == {ROLES: 1, TOKENS: 1, UPDATE: 1}, requests

    checked, deleted, requests = one(run_playbook, emu, name=name, state='absent')
    assert checked['changed'] and checked['diff']['after'] == {}
    assert deleted['changed'] and deleted['role']['id'] == role_id
    assert requests == {ROLES: 1, TOKENS: 1, DELETE: 1}, requests
    with pytest.raises(KeyError):
        emu.role_id(name)

    checked, gone, requests = one(run_playbook, emu, name=name, state='absent')
    assert not gone['changed'] and gone['role'] is None and requests == {ROLES: 1}


def test_a_role_that_tokens_hold_is_not_narrowed_or_deleted_without_force(emu, run_playbook):
    name = 'it-held-%s' % uuid.uuid4().hex[:8]
    run = run_playbook(play([role('create', name=name, actions=['db-cql', 'db-table-select', 'org-db-view'])]))
    role_id = run.result('create')['role']['id']
    holder = emu.mint(roles=[role_id], description='it-held-token')['clientId']

    emu.reset_counts()
    run = run_playbook(play([
        role('narrow', name=name, actions=['db-cql'], ignore_errors=True),
        role('delete', name=name, state='absent', ignore_errors=True),
        role('widen', name=name, actions=['db-cql', 'db-table-select', 'org-db-view', 'db-rest']),
    ]))
    for title in ('narrow', 'delete'):
        msg = run.result(title)['msg']
        assert holder in msg and 'force=true' in msg and '\n' not in msg, msg
    assert 'removes the actions db-table-select, org-db-view' in run.result('narrow')['msg']
    widened = run.result('widen')
    assert widened['changed'] and widened['held_by'] == [holder]
    assert any(holder in warning and 'db-rest' in warning for warning in widened.get('warnings', [])), widened
    assert counts(emu).get(UPDATE) == 1 and not counts(emu).get(DELETE)

    run = run_playbook(play([role('narrow with force', name=name, actions=['db-cql'], force=True),
                             role('delete with force', name=name, state='absent', force=True)]))
    assert run.result('narrow with force')['role']['actions'] == ['db-cql']
    assert run.result('delete with force')['held_by'] == [holder]


def test_built_in_roles_are_never_changed(emu, run_playbook):
    emu.reset_counts()
    run = run_playbook(play([
        role('change', name='R/W Svc Acct', actions=['db-cql'], ignore_errors=True),
        role('delete', name='Organization Administrator', state='absent', ignore_errors=True),
    ]))
    for title in ('change', 'delete'):
        assert 'is built in: built-in roles are never changed or deleted' in run.result(title)['msg']
    assert not emu.writes()


def test_a_custom_role_written_with_the_org_placeholder_stays_the_users_and_no_abbreviation_finds_it(emu, run_playbook):
    """A custom role's resources may say __ORG_ID__, as built-in roles' do: it is still a custom role (managed again
    unchanged, deleted by its name), and a name that only abbreviates it ('svc reader') finds nothing."""
    name = 'Service Reader %s' % uuid.uuid4().hex[:6]
    short = name.replace('Service', 'svc')
    args = dict(name=name, actions=['org-db-view'], resources=['drn:astra:org:__ORG_ID__'])
    run = run_playbook(play([role('create', **args), role('again', **args)]))
    assert run.result('create')['changed'] and run.result('again')['changed'] is False
    role_id = run.result('create')['role']['id']
    emu.reset_counts()
    run = run_playbook(play([
        role('abbreviated absent', name=short, state='absent'),
        task('abbreviated info', 'astra.devops.astra_role_info', {'name': short}),
        token('abbreviated token', 'created', description='it-abbrev-%s' % uuid.uuid4().hex[:6], roles=[short],
              ignore_errors=True),
        show('created'),
    ]))
    assert run.result('abbreviated absent')['changed'] is False
    assert run.result('abbreviated info')['roles'] == []
    assert "unknown role '%s'" % short in run.shown('created')['msg']
    assert not emu.writes() and emu.role_id(name) == role_id
    run = run_playbook(play([role('delete', name=name.upper(), state='absent')]))
    assert run.result('delete')['changed']
    with pytest.raises(KeyError):
        emu.role_id(name)


def test_a_rename_onto_another_roles_name_is_refused_and_deletes_converge(emu, run_playbook):
    """A rename onto another role's name is refused before any write, in check mode too (the API would answer 409);
    a delete whose answer is lost is a delete (changed, no failure); a role_id deleted already is nothing to do."""
    first, second = ('it-rename-%s-%s' % (which, uuid.uuid4().hex[:6]) for which in ('a', 'b'))
    args = dict(actions=['db-cql'], resources=['drn:astra:org:%s' % emu.org_id])
    run = run_playbook(play([role('first', name=first, **args), role('second', name=second, **args)]))
    first_id = run.result('first')['role']['id']
    emu.reset_counts()
    run = run_playbook(play([
        role('check', check=True, role_id=first_id, name=second.upper(), ignore_errors=True),
        role('real', role_id=first_id, name=second, ignore_errors=True),
    ]))
    for title in ('check', 'real'):
        assert "is the name of another role, '%s'" % second in run.result(title)['msg'], run.result(title)
    assert not emu.writes()
    emu.fault(method='DELETE', path='/v2/organizations/roles/', drop='after', times=1)
    run = run_playbook(play([role('lost answer', role_id=first_id, state='absent'),
                             role('again', role_id=first_id, state='absent')]))
    assert run.result('lost answer')['changed'] and run.result('again')['changed'] is False
    with pytest.raises(KeyError):
        emu.role_id(first)


def test_databases_and_actions_from_make_the_scoped_role_in_one_task(emu, run_playbook):
    name = 'it-db-admin-%s' % uuid.uuid4().hex[:8]
    org_id = emu.org_id
    db, other_db = emu.database('orders')['id'], emu.database('carts')['id']  # astra_role reads them: they exist
    emu.reset_counts()
    run = run_playbook(play([
        role('scoped', name=name, actions_from='Database Administrator',
             databases=[db, {'id': other_db, 'keyspaces': ['orders'], 'tables': ['items', 'carts']}])]))
    created = counts(emu)
    emu.reset_counts()
    again = run_playbook(play([
        role('again', name=name, actions_from='database administrator', databases=[db, {
            'id': other_db, 'keyspaces': ['orders'], 'tables': ['carts', 'items']}])]))
    unchanged = counts(emu)  # before the test's own list of the roles below
    scoped = run.result('scoped')['role']
    org = 'drn:astra:org:%s' % org_id
    assert scoped['resources'] == sorted([
        org, '%s:db:%s' % (org, db), '%s:db:%s:keyspace:*' % (org, db), '%s:db:%s:keyspace:*:table:*' % (org, db),
        '%s:db:%s' % (org, other_db), '%s:db:%s:keyspace:orders' % (org, other_db),
        '%s:db:%s:keyspace:orders:table:items' % (org, other_db),
        '%s:db:%s:keyspace:orders:table:carts' % (org, other_db)])
    builtin = next(r for r in emu.roles() if r['name'] == 'Database Administrator')
    assert scoped['actions'] == sorted(builtin['policy']['actions'])
    assert again.result('again')['changed'] is False
    # the create reads each database first (it must exist); an unchanged run adds nothing, so reads none
    assert (created, unchanged) == ({ROLES: 1, CURRENT_ORG: 1, 'GET /v2/databases/{databaseId}': 2, CREATE: 1},
                                    {ROLES: 1, CURRENT_ORG: 1})


@pytest.mark.parametrize('args, option', [
    ({'name': 'x', 'actions': []}, 'actions'),
    ({'name': 'x', 'actions': ['db-cql', 'db-everything']}, 'actions'),
    ({'name': 'x', 'actions': ['db-cql'], 'resources': ['drn:astra:org:not-a-uuid']}, 'resources'),
    ({'name': 'x', 'actions': ['db-cql'], 'resources': ['arn:aws:s3:::bucket']}, 'resources'),
    ({'name': 'x', 'actions': ['db-cql'], 'resources': ['drn:astra:org:%s:db:%s:table:t' % (DB, DB)]}, 'resources'),
    ({'name': 'x', 'actions': ['db-cql'], 'databases': ['not-a-database-id']}, 'databases[0].id'),
    ({'name': 'x', 'actions': ['db-cql'], 'databases': []}, 'databases'),
    ({'name': 'x', 'actions': ['db-cql'], 'databases': [{'id': DB, 'tables': ['t']}]}, 'databases[0].tables'),
    ({'name': 'x', 'actions': ['db-cql'], 'databases': [{'id': DB, 'keyspaces': ['bad-name']}]},
     'databases[0].keyspaces'),
    ({'name': 'x', 'actions': ['db-cql'], 'databases': [{'id': DB, 'keyspace': ['k']}]}, 'databases[0]'),
    ({'name': 'x', 'actions': ['db-cql'], 'databases': [42]}, 'databases[0]'),
    ({'name': 'x', 'actions': ['db-cql'], 'databases': [DB], 'resources': []}, 'databases'),
    ({'name': 'x', 'actions': ['db-cql'], 'actions_from': 'Database Administrator'}, 'actions'),
    ({'name': 'x', 'actions_from': 'No Such Role'}, 'actions_from'),
    ({'name': 'x', 'actions_from': ''}, 'actions_from'),
    ({'name': 'it-new-role-without-actions'}, 'actions'),
    ({'role_id': 'not-a-uuid', 'actions': ['db-cql']}, 'role_id'),
    ({'name': ' ', 'actions': ['db-cql']}, 'name'),
    ({'name': 'x', 'actions': ['db-cql'], 'state': 'gone'}, 'state'),
    ({'name': 'x', 'actions': 'db-cql,db-everything'}, 'actions'),
])
def test_bad_input_fails_before_any_write_naming_the_option(emu, run_playbook, args, option):
    emu.reset_counts()
    run = run_playbook(play([role('bad', ignore_errors=True, **args)]))
    result = run.result('bad')
    assert run.status('bad') in ('failed', 'ignored') and option in result['msg'], result
    assert '\n' not in result['msg'].strip(), result
    assert not emu.writes(), emu.writes()


def test_actions_from_a_custom_role_is_refused(emu, run_playbook):
    name = 'it-custom-%s' % uuid.uuid4().hex[:8]
    run_playbook(play([role('create', name=name, actions=['db-cql'])]))
    emu.reset_counts()
    run = run_playbook(play([role('copy', name=name + '-copy', actions_from=name, ignore_errors=True)]))
    assert 'actions_from must name a built-in role' in run.result('copy')['msg']
    assert not emu.writes()


# --------------------------------------------------------------------------------------------------------------
# database-scoped tokens (astra_token databases)
# --------------------------------------------------------------------------------------------------------------

def scoped_token(title, description, databases, register=None, **args):
    return token(title, register, description=description, databases=databases, **args)


def show_scoped(var):
    """What a scoped-token task did, without its secret."""
    return task('show ' + var, 'ansible.builtin.debug', {'msg': {
        'changed': '{{ %s.changed }}' % var, 'token': '{{ %s.token }}' % var,
        'scoped_role': '{{ %s.scoped_role }}' % var, 'deleted': '{{ %s.deleted_client_ids }}' % var}})


def test_a_database_scoped_token_in_one_task(emu, run_playbook):
    """One task makes the role the portal would make and the token; the second run changes nothing; the token works
    on its database and is refused on another; deleting it removes the role unless another token holds it."""
    orders, billing = emu.database('orders'), emu.database('billing')
    desc = 'it-scoped-%s' % uuid.uuid4().hex[:8]
    emu.reset_counts()
    # the token reaches its database only (the emulator evaluates the role's resources)
    reach = [task('GET %s with the new token' % name, 'ansible.builtin.uri', {
        'url': "{{ lookup('ansible.builtin.env', 'ASTRA_API_URL') }}/v2/databases/%s" % database['id'],
        'headers': {'Authorization': 'Bearer {{ first.secret.token }}'}, 'status_code': [200, 403]},
        register=name, no_log=True) for name, database in (('orders', orders), ('billing', billing))]
    run = run_playbook(play([scoped_token('create', desc, [orders['id']], register='first'), show_scoped('first')]
                            + reach + [task('show reach', 'ansible.builtin.debug', {'msg': {
                                'orders': '{{ orders.status }}', 'billing': '{{ billing.status }}'}})]))
    first = run.shown('first')
    first_counts = counts(emu)
    assert run.shown('reach') == {'orders': 200, 'billing': 403}, run.shown('reach')
    assert first['changed'] and first['scoped_role']['created'] is True
    assert first['scoped_role']['name'] == 'orders Database Administrator'
    assert first['token']['roles'] == [first['scoped_role']['id']]
    # the module: one list of tokens and of roles, the organization, the database's name, the role, the token;
    # then the two GETs of the uri tasks above
    assert first_counts == {TOKENS: 1, ROLES: 1, CURRENT_ORG: 1, 'GET /v2/databases/{databaseId}': 1 + 2, CREATE: 1,
                            'POST /v2/tokens': 1}, first_counts

    emu.reset_counts()
    run = run_playbook(play([scoped_token('again', desc, [orders['id']], register='second'), show_scoped('second')]))
    second = run.shown('second')
    assert second['changed'] is False and second['scoped_role']['created'] is False
    assert second['token']['client_id'] == first['token']['client_id']
    assert counts(emu) == {TOKENS: 1, ROLES: 1, CURRENT_ORG: 1, 'GET /v2/databases/{databaseId}': 1}, counts(emu)

    # another token holding the role keeps it when the first is deleted; the last delete removes it
    other = emu.mint(roles=[first['scoped_role']['id']], description=desc + '-other')['clientId']
    run = run_playbook(play([scoped_token('delete', desc, [orders['id']], register='gone', state='absent'),
                             show_scoped('gone')]))
    gone = run.shown('gone')
    assert gone['deleted'] == [first['token']['client_id']]
    assert gone['scoped_role']['deleted'] is False and gone['scoped_role']['held_by'] == [other]
    assert emu.role_id('orders Database Administrator') == first['scoped_role']['id']
    run = run_playbook(play([scoped_token('delete other', desc + '-other', [orders['id']], register='last',
                                          state='absent'), show_scoped('last')]))
    assert run.shown('last')['scoped_role']['deleted'] is True
    with pytest.raises(KeyError):
        emu.role_id('orders Database Administrator')


def test_a_database_scoped_family_rotates_with_its_scope(emu, run_playbook, tmp_path):
    """token_rotation carries the roles of the current token over: the new token holds the same scoped role."""
    orders = emu.database('orders-rotated')
    desc = 'it-scoped-rotation-%s' % uuid.uuid4().hex[:8]
    run = run_playbook(play([role('scoped', name='orders-rotated Database Administrator',
                                  actions_from='Database Administrator', databases=[orders['id']])]))
    role_id = run.result('scoped')['role']['id']
    consumers = Consumers(tmp_path / 'consumers', {'c1': 'raw'})
    old = emu.mint(roles=[role_id], description=desc)
    consumers.write(old)
    run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), allowed_secret_files=consumers.paths,
                 extra_args=rotation_args(token_rotation_description=desc))
    family = emu.state_tokens(desc)
    assert len(family) == 1 and family[0]['clientId'] != old['clientId']
    _status, body = emu.api('GET', '/v2/tokens')
    new = next(item for item in body['clients'] if item['clientId'] == family[0]['clientId'])
    assert [str(r).lower() for r in new['roles']] == [role_id], new


@pytest.mark.parametrize('args, option', [
    ({'databases': ['not-a-database-id']}, 'databases[0].id'),
    ({'databases': []}, 'databases'),
    ({'databases': [DB], 'roles': ['RO User']}, 'databases'),
    ({'databases': [DB], 'org_id': DB}, 'org_id'),
    ({'databases': [DB], 'database_role': 'No Such Role'}, 'database_role'),
])
def test_bad_scoped_token_input_fails_before_any_write(emu, run_playbook, args, option):
    emu.database('bad-input-db')
    emu.reset_counts()
    # no_log hides the message of the failed task itself; the debug task shows it (it names no secret)
    run = run_playbook(play([task('bad', 'astra.devops.astra_token', dict(description='it-bad-scoped', **args),
                                  ignore_errors=True, register='bad', no_log=True),
                             task('show bad', 'ansible.builtin.debug', {'msg': '{{ bad.msg }}'})]))
    assert run.status('bad') in ('failed', 'ignored')
    assert not emu.writes(), emu.writes()
    message = run.shown('bad')
    assert option in message and '\n' not in message.strip(), message


def test_role_info_finds_roles_by_database_and_who_holds_them(emu, run_playbook):
    name = 'it-info-%s' % uuid.uuid4().hex[:8]
    other_db = '7e1f3a4c-2b5d-4c6e-8f90-1a2b3c4d5e6f'
    db = emu.database('orders')['id']  # astra_role reads it: it must exist
    run = run_playbook(play([role('scoped', name=name, actions=['db-cql'], databases=[db])]))
    role_id = run.result('scoped')['role']['id']
    holder = emu.mint(roles=[role_id], description='it-info-holder')['clientId']
    emu.reset_counts()
    run = run_playbook(play([
        task('by database', 'astra.devops.astra_role_info', {'databases': [db], 'custom': True, 'held_by': True}),
        task('other database', 'astra.devops.astra_role_info', {'databases': [other_db], 'custom': True}),
        task('bad database', 'astra.devops.astra_role_info', {'databases': ['nope']}, ignore_errors=True),
    ]))
    found = [r for r in run.result('by database')['roles'] if r['id'] == role_id]
    assert len(found) == 1 and found[0]['held_by'] == [holder], run.result('by database')['roles']
    assert role_id not in [r['id'] for r in run.result('other database')['roles']]
    assert 'databases[0].id must be a database id' in run.result('bad database')['msg']
    assert counts(emu) == {ROLES: 2, TOKENS: 1}, counts(emu)  # the bad one failed before any call


# --------------------------------------------------------------------------------------------------------------
# roles left behind (issue 20): a scoped token's databases changed, a task that failed, a role deleted under a family
# --------------------------------------------------------------------------------------------------------------

DATABASE = 'GET /v2/databases/{databaseId}'
TOKEN_CREATE = 'POST /v2/tokens'
TOKEN_DELETE = 'DELETE /v2/tokens/{clientId}'


def show_result(var):
    """A token task's result without its secret: what the role tests read."""
    return task('show ' + var, 'ansible.builtin.debug', {'msg': {
        'changed': '{{ %s.changed }}' % var, 'token': '{{ %s.token | default({}) }}' % var,
        'msg': '{{ %s.msg | default("") }}' % var, 'deleted': '{{ %s.deleted_client_ids | default([]) }}' % var,
        'deleted_roles': '{{ %s.deleted_role_ids | default([]) }}' % var,
        'scoped_role': '{{ %s.scoped_role | default({}) }}' % var}})


def test_changing_a_scoped_tokens_databases_removes_the_role_no_token_holds_any_more(emu, run_playbook):
    """The old scoped role goes once no token holds it: kept while another token holds it, deleted by the run that
    deletes that token (without databases), kept with keep_unused_role."""
    orders, billing = emu.database('orders'), emu.database('billing')
    desc = 'it-moved-%s' % uuid.uuid4().hex[:8]
    run = run_playbook(play([scoped_token('orders', desc, [orders['id']], register='first'), show_result('first')]))
    orders_role = run.shown('first')['scoped_role']['id']
    other = emu.mint(roles=[orders_role], description=desc + '-other')['clientId']

    emu.reset_counts()
    run = run_playbook(play([scoped_token('billing', desc, [billing['id']], register='moved', recreate='state_change'),
                             show_result('moved')]))
    moved, requests = run.shown('moved'), counts(emu)
    assert moved['changed'] and moved['scoped_role']['created'] is True
    assert moved['scoped_role']['name'] == 'billing Database Administrator'
    assert moved['deleted'] == [run_first_client_id(emu, desc, moved)] and moved['deleted_roles'] == []
    assert emu.role_id('orders Database Administrator') == orders_role  # the other token still holds it
    # the first look, the role and the token, the old token deleted, then the fresh look before a role delete
    assert requests == {TOKENS: 2, ROLES: 2, CURRENT_ORG: 1, DATABASE: 1, CREATE: 1, TOKEN_CREATE: 1,
                        TOKEN_DELETE: 1}, requests

    emu.reset_counts()
    run = run_playbook(play([token('other gone', 'gone', client_id=other, state='absent'), show_result('gone')]))
    gone, requests = run.shown('gone'), counts(emu)
    assert gone['changed'] and gone['deleted'] == [other] and gone['deleted_roles'] == [orders_role]
    with pytest.raises(KeyError):
        emu.role_id('orders Database Administrator')
    # the roles list (is a deleted token's role one astra_token made?), then the fresh look and the delete
    assert requests == {TOKENS: 2, ROLES: 2, TOKEN_DELETE: 1, DELETE: 1}, requests

    # keep_unused_role keeps it; the billing role stays held by the new token whatever happens
    run = run_playbook(play([
        scoped_token('back to orders', desc, [orders['id']], register='back', recreate='state_change',
                     keep_unused_role=True), show_result('back')]))
    back = run.shown('back')
    assert back['deleted_roles'] == [] and emu.role_id('billing Database Administrator')
    assert emu.role_id('orders Database Administrator') == back['scoped_role']['id']


def run_first_client_id(emu, desc, moved):
    """The client id the replaced token had: the family now holds only the new one."""
    left = [t['clientId'] for t in emu.state_tokens(desc)]
    assert left == [moved['token']['client_id']], left
    return moved['deleted'][0]


def test_a_failed_scoped_token_task_leaves_no_role_it_made(emu, run_playbook):
    """A mismatch fails before any role is made, naming the roles by name; a create the API refuses after the role
    was made deletes that role again (after a fresh look)."""
    orders, billing = emu.database('orders'), emu.database('billing')
    desc = 'it-failed-%s' % uuid.uuid4().hex[:8]
    run_playbook(play([scoped_token('orders', desc, [orders['id']])]))
    emu.reset_counts()
    run = run_playbook(play([scoped_token('billing', desc, [billing['id']], register='mismatch', ignore_errors=True),
                             show_result('mismatch')]))
    message = run.shown('mismatch')['msg']
    assert ('roles are [orders Database Administrator], asked [billing Database Administrator (not made yet)]'
            in message), message
    assert 'recreate: state_change' in message and '\n' not in message
    assert counts(emu) == {TOKENS: 1, ROLES: 1, CURRENT_ORG: 1, DATABASE: 1}, counts(emu)
    with pytest.raises(KeyError):
        emu.role_id('billing Database Administrator')

    emu.fault(method='POST', path='/v2/tokens', status=403, times=1)
    emu.reset_counts()
    run = run_playbook(play([scoped_token('refused', desc + '-new', [billing['id']], register='refused',
                                          ignore_errors=True), show_result('refused')]))
    message, requests = run.shown('refused')['msg'], counts(emu)  # before the test's own role lists
    assert "The role 'billing Database Administrator' this task made was deleted again." in message, message
    assert '\n' not in message
    with pytest.raises(KeyError):
        emu.role_id('billing Database Administrator')
    assert emu.role_id('orders Database Administrator')  # held by the first token: never touched
    # the first look, the role, the refused create, then the fresh look (tokens and roles) and the role's delete
    assert requests == {TOKENS: 2, ROLES: 2, CURRENT_ORG: 1, DATABASE: 1, CREATE: 1, TOKEN_CREATE: 1,
                        DELETE: 1}, requests


def test_a_family_whose_role_was_deleted_is_told_to_set_token_rotation_roles(emu, run_playbook, tmp_path):
    """The current token's role was deleted (astra_role with force): the API refuses the create, and the rotation
    says why, naming the role id and token_rotation_roles (it reads the roles only then); nothing was created. With
    token_rotation_roles it rotates."""
    desc = 'it-orphaned-family-%s' % uuid.uuid4().hex[:8]
    name = 'it-doomed-%s' % uuid.uuid4().hex[:8]
    run = run_playbook(play([role('made', name=name, actions=['db-cql', 'org-db-view'])]))
    role_id = run.result('made')['role']['id']
    consumers = Consumers(tmp_path / 'consumers', {'c1': 'raw'})
    old = emu.mint(roles=[role_id], description=desc, age_days=3)
    run_playbook(play([role('force delete', name=name, state='absent', force=True)]))
    consumers.write(old)  # after the run above, whose folder the leak scanner reads
    emu.reset_counts()
    run = run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), allowed_secret_files=consumers.paths,
                       expect_rc=None, extra_args=rotation_args(token_rotation_description=desc))
    assert run.rc != 0
    messages = [str(item['result'].get('msg', '')) for item in run.results if item['status'] == 'failed']
    said = [m for m in messages if role_id in m]
    assert said and 'no longer exists' in said[0] and 'token_rotation_roles' in said[0], messages
    assert 'check the option values' not in ' '.join(messages)
    assert emu.writes() == {'POST /v2/tokens': 1}, emu.writes()  # the refused create
    assert [t['clientId'] for t in emu.state_tokens(desc)] == [old['clientId']]

    run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), allowed_secret_files=consumers.paths,
                 extra_args=rotation_args(token_rotation_description=desc, token_rotation_roles=['RO Svc Acct']))
    family = emu.state_tokens(desc)
    assert len(family) == 1 and family[0]['clientId'] != old['clientId']


def test_astra_role_refuses_another_organizations_drn_and_a_database_that_does_not_exist(emu, run_playbook):
    other_org = emu.state()['org_ids']['second']
    missing = str(uuid.uuid4())
    name = 'it-checked-%s' % uuid.uuid4().hex[:8]
    emu.reset_counts()
    run = run_playbook(play([
        role('other org', name=name, actions=['db-cql'], resources=['drn:astra:org:%s:db:*' % other_org],
             ignore_errors=True),
        role('missing database', name=name, actions=['db-cql'], databases=[missing], ignore_errors=True),
        role('missing in resources', name=name, actions=['db-cql'],
             resources=['drn:astra:org:__ORG_ID__:db:%s' % missing], ignore_errors=True),
    ]))
    message = run.result('other org')['msg']
    assert message.startswith('resources') and other_org in message and emu.org_id in message, message
    for title, option in (('missing database', 'databases'), ('missing in resources', 'resources')):
        message = run.result(title)['msg']
        assert message.startswith(option) and missing in message and '404' in message, message
    for title in ('other org', 'missing database', 'missing in resources'):
        assert '\n' not in run.result(title)['msg'] and run.status(title) in ('failed', 'ignored')
    assert not emu.writes(), emu.writes()
    # each: the roles list; the caller's organization where an organization is named (databases: to build the
    # resources); a database read for the two that name one
    assert counts(emu) == {ROLES: 3, CURRENT_ORG: 2, DATABASE: 2}, counts(emu)
    with pytest.raises(KeyError):
        emu.role_id(name)
