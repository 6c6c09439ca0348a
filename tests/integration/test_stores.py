# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret stores as consumers (issue 13): astra.devops.astra_rotation_store through ansible-playbook against real
servers, AWS Secrets Manager (moto_server) and Vault KV v2 (OpenBao's bao server), both started by _stores_it.py.

The new tokens are minted by the emulator, so the leak scanner knows them; they reach the playbooks only through
environment variables. Every run is leak-scanned at -vvvv, and test_no_secret_in_output_logs_or_server_logs also
copies the servers' own logs into the test's folder and scans them."""

from __future__ import annotations

import json
import uuid

import pytest

from _astra_it import play, task
from _stores_it import aws_store, copy_logs, vault_store, vault_tls_store  # noqa: F401 pylint: disable=unused-import

STORE = 'astra.devops.astra_rotation_store'
ENV_NEW = 'IT_NEW_TOKEN'


def env(var):
    return "{{ lookup('ansible.builtin.env', '%s') }}" % var


NEW_TOKEN = {'token': env('IT_NEW_TOKEN'), 'client_id': env('IT_NEW_CLIENT_ID'),
             'client_secret': env('IT_NEW_CLIENT_SECRET')}


def minted(emu, name='it-stores'):
    """A new token of the emulator (so the leak scanner knows it), as the module takes it."""
    made = emu.mint(description=name, roles=['RO User'])
    return {'token': made['token'], 'client_id': made['clientId'], 'client_secret': made['secret']}


def token_env(new):
    return {'IT_NEW_TOKEN': new['token'], 'IT_NEW_CLIENT_ID': new['client_id'],
            'IT_NEW_CLIENT_SECRET': new['client_secret']}


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:10])


def store_task(name, action, stores, register=None, no_log=False, ignore_errors=False, **args):
    return task(name, STORE, dict(action=action, stores=stores, **args), register, no_log, ignore_errors)


def show(var):
    """A registered store result without held_tokens (whether it had them: has_held_tokens)."""
    return task('show ' + var, 'ansible.builtin.debug', {
        'msg': "{{ (%s | dict2items | rejectattr('key', 'equalto', 'held_tokens') | items2dict)"
               " | combine({'has_held_tokens': 'held_tokens' in %s}) }}" % (var, var)})


def failure(run, name):
    assert run.status(name) in ('failed', 'ignored'), (name, run.status(name), run.describe())
    msg = run.result(name)['msg']
    assert msg.strip() and '\n' not in msg, repr(msg)
    return msg


def both(aws_store, vault_store, new=None):  # pylint: disable=redefined-outer-name
    env_ = dict(aws_store.env)
    env_.update(vault_store.env)
    if new:
        env_.update(token_env(new))
    return env_


# --------------------------------------------------------------------------------------------------------------
# observe
# --------------------------------------------------------------------------------------------------------------

def test_observe_missing_unknown_and_held(emu, run_playbook, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """missing (no secret yet), unknown (a value without a token), held (the client id), for both kinds, in one
    module run; the held tokens are returned only when asked, and checked by a no_log assert."""
    held = minted(emu)
    names = {key: unique('observe-' + key) for key in ('missing', 'unknown', 'held')}
    aws = aws_store.client()
    # Unknown under env: a variable without a token (under raw, a value that is not one token is refused, as a raw
    # consumer file is).
    aws.create_secret(Name=names['unknown'], SecretString='DB_USER=app')
    aws.create_secret(Name=names['held'], SecretString=held['token'])
    vault_store.write(names['unknown'], {'token': 'not a token'})
    vault_store.write(names['held'], {'token': 'ASTRA_DB_APPLICATION_TOKEN=' + held['token'], 'other': 'kept'})
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': names[key], 'create': True,
               'format': 'env' if key == 'unknown' else 'raw'} for key in ('missing', 'unknown', 'held')]
    stores += [{'kind': 'vault_kv2', 'path': names[key], 'format': 'env', 'create': True}
               for key in ('missing', 'unknown', 'held')]
    run = run_playbook(play([
        store_task('observe', 'observe', stores, 'observed'),
        store_task('observe with tokens', 'observe', stores, 'with_tokens', no_log=True, return_held_tokens=True),
        task('the held tokens are the real ones', 'ansible.builtin.assert', {'quiet': True, 'that': [
            "with_tokens.held_tokens == {'2': lookup('ansible.builtin.env', 'IT_HELD'), "
            "'5': lookup('ansible.builtin.env', 'IT_HELD')}"]}, no_log=True),
        show('observed'), show('with_tokens'),
    ]), extra_env=dict(both(aws_store, vault_store), IT_HELD=held['token']))
    observed = run.shown('observed')
    assert observed['changed'] is False and observed['has_held_tokens'] is False
    assert [(s['index'], s['kind'], s['held']) for s in observed['stores']] == [
        (0, 'aws_secretsmanager', 'missing'), (1, 'aws_secretsmanager', 'unknown'),
        (2, 'aws_secretsmanager', held['client_id']),
        (3, 'vault_kv2', 'missing'), (4, 'vault_kv2', 'unknown'), (5, 'vault_kv2', held['client_id'])]
    assert [s['version'] for s in observed['stores'][3:]] == [0, 1, 1]
    assert observed['stores'][2]['location'] == 'secret %s in us-east-1 at %s' % (names['held'], aws_store.url)
    assert observed['stores'][5]['location'] == 'secret/%s key token at %s' % (names['held'], vault_store.url)
    assert run.shown('with_tokens')['has_held_tokens'] is True
    assert run.status('the held tokens are the real ones') == 'ok'


# --------------------------------------------------------------------------------------------------------------
# stage, verify, promote: every kind and format
# --------------------------------------------------------------------------------------------------------------

def rotate_play(stores, register_prefix=''):
    """observe -> stage_and_verify (with the observed versions) -> promote -> observe."""
    return play([
        store_task('observe', 'observe', stores, register_prefix + 'before'),
        store_task('stage and verify', 'stage_and_verify', stores, register_prefix + 'staged', no_log=True,
                   new_token=NEW_TOKEN, observed='{{ %sbefore.stores }}' % register_prefix),
        store_task('promote', 'promote', stores, register_prefix + 'promoted', client_id=env('IT_NEW_CLIENT_ID')),
        store_task('observe after', 'observe', stores, register_prefix + 'after'),
        show(register_prefix + 'before'), show(register_prefix + 'staged'), show(register_prefix + 'promoted'),
        show(register_prefix + 'after'),
    ])


@pytest.mark.parametrize('fmt', ['raw', 'env', 'json', 'astra_integration'])
def test_rotate_each_kind_and_format(emu, run_playbook, aws_store, vault_store, fmt):  # pylint: disable=redefined-outer-name
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    aws_name, vault_path = unique('rotate-' + fmt), unique('rotate-' + fmt)
    current = {'raw': old['token'], 'env': 'APP_TOKEN=' + old['token'],
               'json': json.dumps({'token': old['token']}),
               'astra_integration': json.dumps({'astraKey': old['token'], 'clientID': old['client_id'],
                                                'clientSecret': old['client_secret'], 'engine': 'AstraDB',
                                                'rootarn': 'arn:aws:secretsmanager:us-east-1:123456789012:secret:root',
                                                'roleID': 'r1'})}[fmt]
    aws = aws_store.client()
    aws.create_secret(Name=aws_name, SecretString=current)
    old_version = aws_store.stages(aws_name)
    vault_store.write(vault_path, {'token': current, 'username': 'app'})
    entry = {'format': fmt}
    if fmt == 'env':
        entry['env_var'] = 'APP_TOKEN'
    stores = [dict(entry, kind='aws_secretsmanager', secret_id=aws_name, region='us-east-1'),
              dict(entry, kind='vault_kv2', path=vault_path)]
    run = run_playbook(rotate_play(stores), extra_env=both(aws_store, vault_store, new))

    before, after = run.shown('before')['stores'], run.shown('after')['stores']
    assert [s['held'] for s in before] == [old['client_id']] * 2
    assert [s['held'] for s in after] == [new['client_id']] * 2
    staged = run.shown('staged')
    assert staged['changed'] is True
    assert [(s['action'], s['changed']) for s in staged['stores']] == [('staged', True), ('written', True)]
    assert staged['stores'][1]['version'] == 2
    promoted = run.shown('promoted')['stores']
    assert [(s['action'], s['changed']) for s in promoted] == [('promoted', True), ('live since written', False)]

    # AWS: the old version is AWSPREVIOUS, the new one AWSCURRENT, no AWSPENDING left.
    stages = aws_store.stages(aws_name)
    (old_id,) = old_version
    assert stages[old_id] == ['AWSPREVIOUS']
    new_ids = [version for version, labels in stages.items() if 'AWSCURRENT' in labels]
    assert len(stages) == 2 and stages[new_ids[0]] == ['AWSCURRENT'], stages
    aws_value = aws_store.value(aws_name)
    data, custom, version = vault_store.read(vault_path)
    assert version == 2 and data['username'] == 'app' and set(data) == {'token', 'username'}
    assert custom == {'client_id': new['client_id'], 'client_id_version': '2'}
    for value in (aws_value, data['token']):
        if fmt == 'raw':
            assert value == new['token']
        elif fmt == 'env':
            assert value == 'APP_TOKEN=' + new['token']
        elif fmt == 'json':
            assert json.loads(value) == {'clientId': new['client_id'], 'secret': new['client_secret'],
                                         'token': new['token']}
        else:
            assert json.loads(value) == {'astraKey': new['token'], 'clientID': new['client_id'],
                                         'clientSecret': new['client_secret'], 'engine': 'AstraDB',
                                         'rootarn': 'arn:aws:secretsmanager:us-east-1:123456789012:secret:root',
                                         'roleID': 'r1'}


# --------------------------------------------------------------------------------------------------------------
# crash safety, conflicts, refusals
# --------------------------------------------------------------------------------------------------------------

def test_aws_stage_twice_after_a_crash_keeps_one_version(emu, run_playbook, aws_store):  # pylint: disable=redefined-outer-name
    """A run that staged and stopped before promoting, then a re-run that stages the same client id: the version id
    comes from the client id, so the second stage finds the first one's version (one AWSPENDING version, no other),
    and even a version whose AWSPENDING label was lost gets it back instead of a new version."""
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    name = unique('crash')
    aws = aws_store.client()
    aws.create_secret(Name=name, SecretString=old['token'])
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': name}]
    run = run_playbook(play([
        store_task('stage', 'stage_and_verify', stores, 'first', no_log=True, new_token=NEW_TOKEN),
        store_task('stage again', 'stage_and_verify', stores, 'second', no_log=True, new_token=NEW_TOKEN),
        store_task('observe', 'observe', stores, 'observed'),
        show('first'), show('second'), show('observed'),
    ]), extra_env=both_aws(aws_store, new))
    assert [s['action'] for s in run.shown('first')['stores']] == ['staged']
    assert [(s['action'], s['changed']) for s in run.shown('second')['stores']] == [('already staged', False)]
    assert [(s['held'], s['pending']) for s in run.shown('observed')['stores']] == [(old['client_id'],
                                                                                     new['client_id'])]
    stages = aws_store.stages(name)
    assert sorted(sorted(labels) for labels in stages.values()) == [['AWSCURRENT'], ['AWSPENDING']], stages
    pending = [version for version, labels in stages.items() if labels == ['AWSPENDING']][0]
    assert run.shown('first')['stores'][0]['version'] == pending
    assert aws_store.value(name) == old['token'] and aws_store.value(name, 'AWSPENDING') == new['token']

    # Another writer took the AWSPENDING label away: the re-run labels the same version again.
    aws.update_secret_version_stage(SecretId=name, VersionStage='AWSPENDING', RemoveFromVersionId=pending)
    run = run_playbook(play([
        store_task('stage after the label was lost', 'stage_and_verify', stores, 'third', no_log=True,
                   new_token=NEW_TOKEN),
        store_task('promote', 'promote', stores, 'promoted', client_id=env('IT_NEW_CLIENT_ID')),
        store_task('promote again', 'promote', stores, 'again', client_id=env('IT_NEW_CLIENT_ID')),
        show('third'), show('promoted'), show('again'),
    ]), extra_env=both_aws(aws_store, new))
    assert [s['action'] for s in run.shown('third')['stores']] == ['staged again']
    assert [s['action'] for s in run.shown('promoted')['stores']] == ['promoted']
    assert [(s['action'], s['changed']) for s in run.shown('again')['stores']] == [('already current', False)]
    stages = aws_store.stages(name)
    assert len(stages) == 2 and stages[pending] == ['AWSCURRENT'], stages
    assert aws_store.value(name) == new['token'] and aws_store.value(name, 'AWSPREVIOUS') == old['token']


def test_aws_stale_pending_version_of_an_abandoned_rotation_is_replaced(emu, run_playbook, aws_store):  # pylint: disable=redefined-outer-name
    """An AWSPENDING version left by a rotation whose token was since deleted: staging the new token moves the label
    to the new version (the abandoned one keeps no label), and the promotion makes the new one current."""
    old, abandoned, new = minted(emu, 'it-old'), minted(emu, 'it-abandoned'), minted(emu, 'it-new')
    name = unique('stale')
    aws = aws_store.client()
    aws.create_secret(Name=name, SecretString=old['token'])
    aws.put_secret_value(SecretId=name, SecretString=abandoned['token'], VersionStages=['AWSPENDING'],
                         ClientRequestToken=str(uuid.uuid4()))
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': name}]
    run = run_playbook(rotate_play(stores), extra_env=both_aws(aws_store, new))
    assert [s['held'] for s in run.shown('before')['stores']] == [old['client_id']]
    assert [s['action'] for s in run.shown('staged')['stores']] == ['staged']
    assert [s['held'] for s in run.shown('after')['stores']] == [new['client_id']]
    labels = sorted(sorted(labels) for labels in aws_store.stages(name).values())
    assert ['AWSCURRENT'] in labels and ['AWSPREVIOUS'] in labels and ['AWSPENDING'] not in labels, labels
    assert aws_store.value(name) == new['token']


def test_aws_missing_secret_is_created_as_current(emu, run_playbook, aws_store):  # pylint: disable=redefined-outer-name
    new = minted(emu)
    name = unique('created')
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': name, 'format': 'json', 'create': True}]
    run = run_playbook(play([
        store_task('stage', 'stage_and_verify', stores, 'staged', no_log=True, new_token=NEW_TOKEN),
        store_task('promote', 'promote', stores, 'promoted', client_id=env('IT_NEW_CLIENT_ID')),
        show('staged'), show('promoted'),
    ]), extra_env=both_aws(aws_store, new))
    assert [s['action'] for s in run.shown('staged')['stores']] == ['created']
    assert [s['action'] for s in run.shown('promoted')['stores']] == ['already current']
    assert json.loads(aws_store.value(name))['token'] == new['token']
    assert list(aws_store.stages(name).values()) == [['AWSCURRENT']]


def test_vault_check_and_set_conflict_stops_naming_the_store(emu, run_playbook, vault_store):  # pylint: disable=redefined-outer-name
    """Another writer between observe and stage: the write is refused by check-and-set, the message names the store,
    and the other writer's value stays."""
    old, new, other = minted(emu, 'it-old'), minted(emu, 'it-new'), minted(emu, 'it-other')
    path = unique('cas')
    vault_store.write(path, {'token': old['token']})
    stores = [{'kind': 'vault_kv2', 'path': path}]
    run = run_playbook(play([
        store_task('observe', 'observe', stores, 'before'),
        task('another writer', 'ansible.builtin.uri', {
            'url': '%s/v1/secret/data/%s' % (vault_store.url, path), 'method': 'POST', 'body_format': 'json',
            'headers': {'X-Vault-Token': env('VAULT_TOKEN')}, 'body': {'data': {'token': env('IT_OTHER_TOKEN')}}},
            no_log=True),
        store_task('stage', 'stage_and_verify', stores, no_log=False, ignore_errors=True, new_token=NEW_TOKEN,
                   observed='{{ before.stores }}'),
    ]), extra_env=dict(both_vault(vault_store, new), IT_OTHER_TOKEN=other['token']))
    msg = failure(run, 'stage')
    assert msg.startswith('token_rotation_stores[0] (vault_kv2, secret/%s key token at %s): check-and-set conflict: '
                          % (path, vault_store.url)), msg
    assert 'version 1 expected, 2 found' in msg and 'run the role again' in msg, msg
    data, _custom, version = vault_store.read(path)
    assert version == 2 and data == {'token': other['token']}


def test_aws_secret_with_rotation_enabled_is_refused(emu, run_playbook, aws_store):  # pylint: disable=redefined-outer-name
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    name = unique('rotating')
    aws = aws_store.client()
    aws.create_secret(Name=name, SecretString=old['token'])
    aws.rotate_secret(SecretId=name, RotationRules={'AutomaticallyAfterDays': 30}, RotateImmediately=False)
    before = aws_store.stages(name)
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': name}]
    run = run_playbook(play([
        store_task('observe', 'observe', stores, ignore_errors=True),
        store_task('stage', 'stage_and_verify', stores, ignore_errors=True, new_token=NEW_TOKEN),
    ]), extra_env=both_aws(aws_store, new))
    for name_ in ('observe', 'stage'):
        msg = failure(run, name_)
        assert msg.startswith('token_rotation_stores[0] (aws_secretsmanager, secret %s in us-east-1 at %s) has '
                              'rotation enabled' % (name, aws_store.url)), msg
        assert 'cancel-rotate-secret --secret-id %s' % name in msg
    assert aws_store.stages(name) == before


def test_vault_approle_auth(emu, run_playbook, vault_store):  # pylint: disable=redefined-outer-name
    """AppRole login (role_id and secret_id in the entry, no VAULT_TOKEN); the secret_id is hidden like a no_log
    option at -vvvv."""
    new = minted(emu)
    role_id, secret_id = vault_store.approle()
    path = unique('approle')
    stores = [{'kind': 'vault_kv2', 'path': path, 'url': vault_store.url, 'auth_method': 'approle',
               'role_id': role_id, 'secret_id': env('IT_SECRET_ID'), 'create': True}]
    run = run_playbook(rotate_play(stores), extra_env=dict(token_env(new), VAULT_TOKEN=None, VAULT_ADDR=None,
                                                           IT_SECRET_ID=secret_id))
    assert [s['held'] for s in run.shown('before')['stores']] == ['missing']
    assert [s['action'] for s in run.shown('staged')['stores']] == ['created']
    assert [s['held'] for s in run.shown('after')['stores']] == [new['client_id']]
    assert vault_store.read(path)[0] == {'token': new['token']}
    assert secret_id not in run.output and secret_id not in run.log_text


def test_check_mode_changes_nothing(emu, run_playbook, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    name, path = unique('check'), unique('check')
    aws_store.client().create_secret(Name=name, SecretString=old['token'])
    vault_store.write(path, {'token': old['token']})
    before = aws_store.stages(name)
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': name}, {'kind': 'vault_kv2', 'path': path},
              {'kind': 'vault_kv2', 'path': unique('check-missing'), 'create': True}]
    run = run_playbook(rotate_play(stores), check=True, extra_env=both(aws_store, vault_store, new))
    staged = run.shown('staged')
    assert staged['changed'] is True
    assert [s['action'] for s in staged['stores']] == ['staged', 'written', 'created']
    assert [s['held'] for s in run.shown('after')['stores']] == [old['client_id'], old['client_id'], 'missing']
    assert aws_store.stages(name) == before and vault_store.read(path)[2] == 1


def test_aws_profile_region_and_endpoint_from_the_entry(emu, run_playbook, tmp_path, aws_store):  # pylint: disable=redefined-outer-name
    """profile, region and endpoint_url of the entry win over the environment: the credentials come from the profile
    (none in the environment), the region and endpoint from the entry (the environment's point elsewhere)."""
    new = minted(emu)
    name = unique('profile')
    credentials = tmp_path / 'aws-credentials'
    credentials.write_text('[it-profile]\naws_access_key_id = testing\naws_secret_access_key = testing\n')
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': name, 'profile': 'it-profile', 'region': 'eu-west-1',
               'endpoint_url': aws_store.url, 'create': True}]
    run = run_playbook(rotate_play(stores), extra_env=dict(
        aws_store.env, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SHARED_CREDENTIALS_FILE=credentials,
        AWS_DEFAULT_REGION='ap-south-1', AWS_ENDPOINT_URL_SECRETS_MANAGER='http://127.0.0.1:9', **token_env(new)))
    assert [s['held'] for s in run.shown('after')['stores']] == [new['client_id']]
    assert run.shown('after')['stores'][0]['location'] == 'secret %s in eu-west-1 at %s' % (name, aws_store.url)
    import boto3  # pylint: disable=import-outside-toplevel
    west = boto3.client('secretsmanager', endpoint_url=aws_store.url, region_name='eu-west-1',
                        aws_access_key_id='testing', aws_secret_access_key='testing')
    assert west.get_secret_value(SecretId=name, VersionStage='AWSCURRENT')['SecretString'] == new['token']


def test_vault_over_tls_with_ca_cert(emu, run_playbook, vault_tls_store):  # pylint: disable=redefined-outer-name
    """ca_cert (or VAULT_CACERT) makes a private CA trusted; without it the store fails in one line that says so."""
    new = minted(emu)
    path = unique('tls')
    base_env = dict(token_env(new), VAULT_ADDR=vault_tls_store.url, VAULT_TOKEN=vault_tls_store.root_token,
                    VAULT_CACERT=None)
    run = run_playbook(play([
        store_task('without the CA', 'observe', [{'kind': 'vault_kv2', 'path': path}], ignore_errors=True),
        store_task('stage', 'stage_and_verify', [{'kind': 'vault_kv2', 'path': path, 'create': True,
                                                 'ca_cert': str(vault_tls_store.ca_cert)}],
                   'staged', no_log=True, new_token=NEW_TOKEN),
        show('staged'),
    ]), extra_env=base_env)
    msg = failure(run, 'without the CA')
    assert msg.startswith('token_rotation_stores[0] (vault_kv2, secret/%s key token at %s): '
                          % (path, vault_tls_store.url)), msg
    assert 'set ca_cert (or VAULT_CACERT) to its CA bundle' in msg, msg
    assert [s['action'] for s in run.shown('staged')['stores']] == ['created']
    run = run_playbook(play([
        store_task('observe through VAULT_CACERT', 'observe', [{'kind': 'vault_kv2', 'path': path}], 'after'),
        show('after'),
    ]), extra_env=dict(base_env, VAULT_CACERT=vault_tls_store.ca_cert))
    assert [s['held'] for s in run.shown('after')['stores']] == [new['client_id']]


# --------------------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------------------

def test_bad_entries_and_unreachable_stores_fail_in_one_line(emu, run_playbook, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    closed = 'http://127.0.0.1:%s' % free_port_closed()
    run = run_playbook(play([
        store_task('bad entries', 'observe', [
            {'kind': 'aws_secretsmanager', 'secret_id': 'x', 'region': 'Mars'},
            {'kind': 'vault_kv2'},
            {'kind': 's3', 'path': 'x'},
        ], ignore_errors=True),
        store_task('aws unreachable', 'observe', [{'kind': 'aws_secretsmanager', 'secret_id': 'x',
                                                   'endpoint_url': closed}], ignore_errors=True),
        store_task('vault unreachable', 'observe', [{'kind': 'vault_kv2', 'path': 'x', 'url': closed}],
                   ignore_errors=True),
        store_task('vault bad token', 'observe', [{'kind': 'vault_kv2', 'path': 'x'}], ignore_errors=True),
    ]), extra_env=dict(both(aws_store, vault_store), VAULT_TOKEN='not-a-valid-token'))
    msg = failure(run, 'bad entries')
    assert msg == ("token_rotation_stores[0].region must be an AWS region such as us-east-1, got 'Mars'. "
                   "token_rotation_stores[1].path is required for kind vault_kv2: the secret's path under the mount "
                   "point, such as 'apps/inventory/astra'. token_rotation_stores[2].kind must be one of "
                   "aws_secretsmanager, vault_kv2, got 's3'."), msg
    msg = failure(run, 'aws unreachable')
    assert msg.startswith('token_rotation_stores[0] (aws_secretsmanager, secret x in us-east-1 at %s): '
                          'reading the secret\'s description failed: EndpointConnectionError' % closed), msg
    assert 'Check endpoint_url' in msg
    msg = failure(run, 'vault unreachable')
    assert msg.startswith('token_rotation_stores[0] (vault_kv2, secret/x key token at %s): ' % closed), msg
    assert 'Check url (or VAULT_ADDR)' in msg
    msg = failure(run, 'vault bad token')
    assert 'Forbidden: permission denied' in msg and 'its policy needs create, read and update on secret/data/x' in msg


def test_missing_boto3_and_hvac_are_named(emu, run_playbook, tmp_path, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """A Python without boto3 or hvac (simulated by packages of those names that fail to import, first on
    PYTHONPATH): each kind names its library, and a kind not used needs nothing."""
    fake = tmp_path / 'no-libs'
    for name in ('boto3', 'hvac'):
        (fake / name).mkdir(parents=True)
        (fake / name / '__init__.py').write_text('raise ImportError("No module named %r (simulated)")\n' % name)
    run = run_playbook(play([
        store_task('aws', 'observe', [{'kind': 'aws_secretsmanager', 'secret_id': 'x'}], ignore_errors=True),
        store_task('vault', 'observe', [{'kind': 'vault_kv2', 'path': 'x'}], ignore_errors=True),
        store_task('no store', 'observe', [], 'nothing'),
    ]), extra_env=dict(both(aws_store, vault_store), PYTHONPATH=str(fake)))
    msg = failure(run, 'aws')
    assert msg.startswith('token_rotation_stores[0] (kind aws_secretsmanager) needs the Python library boto3 on the '
                          'Ansible controller'), msg
    assert 'pip install boto3' in msg
    msg = failure(run, 'vault')
    assert msg.startswith('token_rotation_stores[0] (kind vault_kv2) needs the Python library hvac'), msg
    assert run.status('no store') == 'ok'


def value_in(fmt, token):
    """The value a store of format fmt holds for token, as an operator would have written it before the first run."""
    if fmt == 'raw':
        return token['token']
    if fmt == 'env':
        return 'ASTRA_DB_APPLICATION_TOKEN=%s' % token['token']
    if fmt == 'json':
        return json.dumps({'clientId': token['client_id'], 'secret': token['client_secret'], 'token': token['token']})
    return json.dumps({'astraKey': token['token'], 'clientID': token['client_id'],
                       'clientSecret': token['client_secret'], 'engine': 'AstraDB'})


def test_no_secret_in_output_logs_or_server_logs(emu, run_playbook, tmp_path, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """A full rotation of every kind and format at -vvvv, with --diff: no secret in the output, the Ansible log, the
    captured results, or the servers' own logs (copied into the test's folder and scanned)."""
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    role_id, secret_id = vault_store.approle()
    stores = []
    for fmt in ('raw', 'env', 'json', 'astra_integration'):
        name = unique('leak-' + fmt)
        aws_store.client().create_secret(Name=name, SecretString=value_in(fmt, old))
        vault_store.write(name, {'token': value_in(fmt, old)})
        stores.append({'kind': 'aws_secretsmanager', 'secret_id': name, 'format': fmt})
        stores.append({'kind': 'vault_kv2', 'path': name, 'format': fmt, 'auth_method': 'approle',
                       'role_id': role_id, 'secret_id': env('IT_SECRET_ID')})
    run = run_playbook(rotate_play(stores), verbosity=4, diff=True,
                       extra_env=dict(both(aws_store, vault_store, new), IT_SECRET_ID=secret_id))
    assert [s['held'] for s in run.shown('after')['stores']] == [new['client_id']] * 8
    copied = copy_logs(tmp_path, aws_store, vault_store)
    assert all(path.stat().st_size > 0 for path in copied)
    assert run_playbook.scan(run) == []
    for text in [run.output, run.log_text] + [path.read_text(errors='replace') for path in copied]:
        assert secret_id not in text and new['client_secret'] not in text


def both_aws(aws_store, new):  # pylint: disable=redefined-outer-name
    return dict(aws_store.env, **token_env(new))


def both_vault(vault_store, new):  # pylint: disable=redefined-outer-name
    return dict(vault_store.env, **token_env(new))


def free_port_closed():
    from _astra_it import closed_port  # pylint: disable=import-outside-toplevel
    return closed_port()


# --------------------------------------------------------------------------------------------------------------
# observe refuses what the stage would break: a store not where its entry points, a value of another shape, one
# secret listed twice
# --------------------------------------------------------------------------------------------------------------

def aws_in(aws_store, region):  # pylint: disable=redefined-outer-name
    import boto3  # pylint: disable=import-outside-toplevel
    return boto3.client('secretsmanager', endpoint_url=aws_store.url, region_name=region,
                        aws_access_key_id='testing', aws_secret_access_key='testing')


def kv1_mount(vault_store):  # pylint: disable=redefined-outer-name
    """A KV version 1 engine at a mount of its own (the session's server keeps it), and its name."""
    mount = unique('kv1')
    vault_store.client().sys.enable_secrets_engine('kv', path=mount, options={'version': '1'})
    return mount


def test_a_store_that_is_not_where_its_entry_points_is_refused_at_observe(emu, run_playbook, aws_store,
                                                                          vault_store):  # pylint: disable=redefined-outer-name
    """A wrong region, a path typo, a missing mount, a KV version 1 mount and an ARN that does not exist are refused
    at observe, in one line naming the store and where it looked; `create: true` lets a missing secret be made (the
    first two), never a mount, a KV v1 mount or an ARN. Nothing is created anywhere."""
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    name, path = unique('nowhere'), unique('nowhere')
    aws_store.client().create_secret(Name=name, SecretString=old['token'])
    vault_store.write(path, {'token': old['token']})
    mount = kv1_mount(vault_store)
    vault_store.client().write('%s/%s' % (mount, path), token=old['token'])
    arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:%s-AbCdEf' % unique('no-such')
    entries = {
        'wrong region': {'kind': 'aws_secretsmanager', 'secret_id': name, 'region': 'eu-west-1'},
        'path typo': {'kind': 'vault_kv2', 'path': path + 'x'},
        'missing mount': {'kind': 'vault_kv2', 'path': path, 'mount_point': 'no-such-mount'},
        'kv1 mount': {'kind': 'vault_kv2', 'path': path, 'mount_point': mount},
        'unknown arn': {'kind': 'aws_secretsmanager', 'secret_id': arn},
    }
    tasks = []
    for label, entry in entries.items():
        tasks.append(store_task(label, 'observe', [entry], ignore_errors=True))
        tasks.append(store_task(label + ' with create', 'observe', [dict(entry, create=True)], 'created_' +
                                label.replace(' ', '_'), ignore_errors=True))
        tasks.append(store_task(label + ' stage', 'stage_and_verify', [entry], ignore_errors=True,
                                new_token=NEW_TOKEN))
    run = run_playbook(play(tasks + [show('created_wrong_region'), show('created_path_typo')]),
                       extra_env=both(aws_store, vault_store, new))
    where = {
        'wrong region': 'token_rotation_stores[0] (aws_secretsmanager, secret %s in eu-west-1 at %s): ' % (
            name, aws_store.url),
        'path typo': 'token_rotation_stores[0] (vault_kv2, secret/%sx key token at %s): ' % (path, vault_store.url),
        'missing mount': 'token_rotation_stores[0] (vault_kv2, no-such-mount/%s key token at %s): ' % (
            path, vault_store.url),
        'kv1 mount': 'token_rotation_stores[0] (vault_kv2, %s/%s key token at %s): ' % (mount, path, vault_store.url),
        'unknown arn': 'token_rotation_stores[0] (aws_secretsmanager, secret %s in us-east-1 at %s): ' % (
            arn, aws_store.url),
    }
    for label in entries:
        msg = failure(run, label)
        assert msg.startswith(where[label]), (label, msg)
        assert failure(run, label + ' stage').startswith(where[label])
    assert 'no secret %s in eu-west-1' % name in failure(run, 'wrong region')
    assert 'set create: true on the entry' in failure(run, 'wrong region')
    assert 'no secret at secret/metadata/%sx' % path in failure(run, 'path typo')
    assert 'set create: true on the entry' in failure(run, 'path typo')
    assert 'no secrets engine is mounted at no-such-mount/' in failure(run, 'missing mount')
    assert 'KV version 1' in failure(run, 'kv1 mount') and 'create: true' not in failure(run, 'kv1 mount')
    assert 'no secret has this ARN' in failure(run, 'unknown arn')
    for label in ('missing mount', 'kv1 mount', 'unknown arn'):
        assert failure(run, label + ' with create').startswith(where[label]), label
    assert [s['held'] for s in run.shown('created_wrong_region')['stores']] == ['missing']
    assert [s['held'] for s in run.shown('created_path_typo')['stores']] == ['missing']
    assert name not in [s['Name'] for s in aws_in(aws_store, 'eu-west-1').list_secrets()['SecretList']]
    assert vault_store.client().read('%s/%s' % (mount, path))['data'] == {'token': old['token']}
    assert vault_store.read(path)[0] == {'token': old['token']}


def test_values_of_another_shape_are_refused_at_observe(emu, run_playbook, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """A JSON object under format raw or env, a binary AWS secret, a Vault field that is not a string: refused at
    observe and at stage, naming the keys found and the formats that keep them; nothing is written."""
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    shared = json.dumps({'token': old['token'], 'db_user': 'app', 'db_password': 'it-db-password-123'})
    aws = aws_store.client()
    names = {key: unique('shape-' + key) for key in ('object', 'binary')}
    aws.create_secret(Name=names['object'], SecretString=shared)
    aws.create_secret(Name=names['binary'], SecretBinary=old['token'].encode())
    paths = {key: unique('shape-' + key) for key in ('object', 'nested')}
    vault_store.write(paths['object'], {'token': shared})
    vault_store.write(paths['nested'], {'token': {'value': old['token'], 'user': 'app'}})
    cases = {
        'aws object raw': {'kind': 'aws_secretsmanager', 'secret_id': names['object']},
        'aws object env': {'kind': 'aws_secretsmanager', 'secret_id': names['object'], 'format': 'env'},
        'aws binary': {'kind': 'aws_secretsmanager', 'secret_id': names['binary'], 'format': 'json'},
        'vault object raw': {'kind': 'vault_kv2', 'path': paths['object']},
        'vault nested': {'kind': 'vault_kv2', 'path': paths['nested'], 'format': 'json'},
    }
    tasks = []
    for label, entry in cases.items():
        tasks.append(store_task(label, 'observe', [entry], ignore_errors=True))
        tasks.append(store_task(label + ' stage', 'stage_and_verify', [entry], ignore_errors=True,
                                new_token=NEW_TOKEN))
    run = run_playbook(play(tasks), extra_env=both(aws_store, vault_store, new))
    for label in cases:
        msg = failure(run, label)
        assert msg.startswith('token_rotation_stores[0] ('), msg
        assert failure(run, label + ' stage') == msg
    for label in ('aws object raw', 'aws object env', 'vault object raw'):
        msg = failure(run, label)
        assert 'a JSON object with the keys db_password, db_user, token' in msg, msg
        assert 'format json' in msg and 'astra_integration' in msg, msg
    assert 'binary' in failure(run, 'aws binary') and 'SecretBinary' in failure(run, 'aws binary')
    assert 'not a string' in failure(run, 'vault nested'), failure(run, 'vault nested')
    assert aws_store.value(names['object']) == shared
    assert aws.get_secret_value(SecretId=names['binary'])['SecretBinary'] == old['token'].encode()
    assert vault_store.read(paths['object'])[2] == 1 and vault_store.read(paths['nested'])[2] == 1
    assert 'it-db-password-123' not in run.output


def test_json_and_env_formats_keep_the_other_keys_and_variables(emu, run_playbook, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """format json writes clientId, secret and token into the JSON object the store holds and keeps its other keys;
    format env rewrites the token's line and keeps the other variables."""
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    shared = {'token': old['token'], 'db_user': 'app', 'db_password': 'it-db-password-456'}
    env_value = 'DB_USER=app\nASTRA_DB_APPLICATION_TOKEN=%s\nDB_PASSWORD=it-db-password-789' % old['token']
    aws_json, aws_env = unique('keep-json'), unique('keep-env')
    aws_store.client().create_secret(Name=aws_json, SecretString=json.dumps(shared))
    aws_store.client().create_secret(Name=aws_env, SecretString=env_value)
    vault_json, vault_env = unique('keep-json'), unique('keep-env')
    vault_store.write(vault_json, {'token': json.dumps(shared)})
    vault_store.write(vault_env, {'token': env_value})
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': aws_json, 'format': 'json'},
              {'kind': 'aws_secretsmanager', 'secret_id': aws_env, 'format': 'env'},
              {'kind': 'vault_kv2', 'path': vault_json, 'format': 'json'},
              {'kind': 'vault_kv2', 'path': vault_env, 'format': 'env'}]
    run = run_playbook(rotate_play(stores), extra_env=both(aws_store, vault_store, new))
    assert [s['held'] for s in run.shown('before')['stores']] == [old['client_id']] * 4
    assert [s['held'] for s in run.shown('after')['stores']] == [new['client_id']] * 4
    expected_json = {'token': new['token'], 'clientId': new['client_id'], 'secret': new['client_secret'],
                     'db_user': 'app', 'db_password': 'it-db-password-456'}
    expected_env = 'DB_USER=app\nASTRA_DB_APPLICATION_TOKEN=%s\nDB_PASSWORD=it-db-password-789' % new['token']
    assert json.loads(aws_store.value(aws_json)) == expected_json
    assert json.loads(vault_store.read(vault_json)[0]['token']) == expected_json
    assert aws_store.value(aws_env) == expected_env
    assert vault_store.read(vault_env)[0]['token'] == expected_env


def test_the_same_aws_secret_by_name_and_by_arn_is_refused_at_observe(emu, run_playbook, aws_store):  # pylint: disable=redefined-outer-name
    """Listed by name and by ARN (also by name with and without the region), one secret would be written twice:
    observe refuses, naming both entries; nothing is written."""
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    name = unique('twice')
    arn = aws_store.client().create_secret(Name=name, SecretString=old['token'])['ARN']
    before = aws_store.stages(name)
    run = run_playbook(play([
        store_task('by name and arn', 'observe', [
            {'kind': 'aws_secretsmanager', 'secret_id': name},
            {'kind': 'aws_secretsmanager', 'secret_id': arn}], ignore_errors=True),
        store_task('with and without region', 'observe', [
            {'kind': 'aws_secretsmanager', 'secret_id': name},
            {'kind': 'aws_secretsmanager', 'secret_id': name, 'region': 'us-east-1'}], ignore_errors=True),
    ]), extra_env=both_aws(aws_store, new))
    for label in ('by name and arn', 'with and without region'):
        msg = failure(run, label)
        assert msg.startswith('token_rotation_stores[1] (aws_secretsmanager, '), msg
        assert 'the same secret as token_rotation_stores[0]' in msg and arn in msg, msg
    assert aws_store.stages(name) == before


def test_vault_check_and_set_required_on_data_and_metadata(emu, run_playbook, vault_store):  # pylint: disable=redefined-outer-name
    """A secret with cas_required and metadata_cas_required (OpenBao) and settings of its own: the rotation writes
    the data and the custom metadata with check-and-set, keeps the secret's settings, and a second rotation works."""
    old, new, newer = minted(emu, 'it-old'), minted(emu, 'it-new'), minted(emu, 'it-newer')
    path = unique('cas-required')
    vault_store.write(path, {'token': old['token']})
    vault_store.client().adapter.post('/v1/secret/metadata/%s' % path, json={
        'cas_required': True, 'metadata_cas_required': True, 'delete_version_after': '3h', 'max_versions': 7})
    stores = [{'kind': 'vault_kv2', 'path': path}]
    for token in (new, newer):
        run = run_playbook(rotate_play(stores), extra_env=both_vault(vault_store, token))
        assert [s['held'] for s in run.shown('after')['stores']] == [token['client_id']]
    metadata = vault_store.client().secrets.kv.v2.read_secret_metadata(path=path, mount_point='secret')['data']
    assert (metadata['cas_required'], metadata.get('metadata_cas_required'), metadata['delete_version_after'],
            metadata['max_versions']) == (True, True, '3h0m0s', 7), metadata
    assert metadata['custom_metadata'] == {'client_id': newer['client_id'], 'client_id_version': '3'}


def test_vault_metadata_refused_after_the_write_leaves_the_new_token_live_and_the_next_run_notes_it(
        emu, run_playbook, vault_store):  # pylint: disable=redefined-outer-name
    """A policy that may write the data but not the metadata: the new version is written (current, live) and the
    stage fails saying so; the next run with the right policy finds the new token, notes it and changes nothing."""
    old, new = minted(emu, 'it-old'), minted(emu, 'it-new')
    path = unique('no-metadata')
    vault_store.write(path, {'token': old['token']})
    root = vault_store.client()
    root.sys.create_or_update_policy('it-no-metadata', 'path "secret/data/*" { capabilities = ["create", "read", '
                                     '"update"] }\npath "secret/metadata/*" { capabilities = ["read"] }\n')
    limited = root.auth.token.create(policies=['it-no-metadata'], ttl='10m')['auth']['client_token']
    stores = [{'kind': 'vault_kv2', 'path': path}]
    run = run_playbook(play([
        store_task('observe', 'observe', stores, 'before'),
        store_task('stage', 'stage_and_verify', stores, ignore_errors=True, new_token=NEW_TOKEN,
                   observed='{{ before.stores }}'),
    ]), extra_env=dict(both_vault(vault_store, new), VAULT_TOKEN=limited))
    msg = failure(run, 'stage')
    assert 'the new token was written (version 2, current now)' in msg, msg
    data, custom, version = vault_store.read(path)
    assert version == 2 and data == {'token': new['token']} and custom == {}
    run = run_playbook(rotate_play(stores), extra_env=both_vault(vault_store, new))
    assert [s['held'] for s in run.shown('before')['stores']] == [new['client_id']]
    assert [(s['action'], s['changed']) for s in run.shown('staged')['stores']] == [('already current', False)]
    data, custom, version = vault_store.read(path)
    assert version == 2 and custom == {'client_id': new['client_id'], 'client_id_version': '2'}
