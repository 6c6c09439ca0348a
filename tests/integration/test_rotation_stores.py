# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token_rotation role with secret stores as consumers (issue 13), through playbooks/rotate_token.yml, against
the emulator, AWS Secrets Manager (moto_server) and Vault KV v2 (OpenBao's bao server), both started by _stores_it.py.

A family is held by two consumer files (c1 raw, c2 env) and by the stores of each test. Every run goes through the
leak scanner at -vvvv; the mixed rotation also copies the servers' own logs into the test's folder to be scanned."""

from __future__ import annotations

import json
import socket
import time
import uuid

from _rotation import (CREATE_ROUTE, DELETE_ROUTE, ROTATE_PLAYBOOK, Consumers, ConsumerFileError, client_id,
                       failure_messages, family_ids, result_of, rotation_args, seed_family, token_status, wait_for,
                       wait_probing)
from _stores_it import aws_store, copy_logs, vault_store  # noqa: F401 pylint: disable=unused-import

FILES = {'c1': 'raw', 'c2': 'env'}
READ_ONLY_POLICY = '''
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read"] }
'''


def store_failure(run):
    """What a failed run said about its stores: the failed tasks' messages as the callbacks see them, and the error
    lines ansible-core prints (a no_log task's message is shown there only)."""
    errors = [line.split(' failed: ', 1)[-1] for line in run.stdout.splitlines() if line.startswith('[ERROR]: Task')]
    return ' '.join(failure_messages(run) + errors)


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:10])


class Holders:
    """The consumer files and the stores of one test, as the Prober reads them: hosts (names) and token(name)."""

    def __init__(self, consumers, aws=None, aws_secret=None, vault=None, vault_path=None):
        self.consumers = consumers
        self.aws, self.aws_secret, self.vault, self.vault_path = aws, aws_secret, vault, vault_path
        self.hosts = list(consumers.hosts) + (['aws'] if aws else []) + (['vault'] if vault else [])
        self.requests = {'aws': 0, 'vault': 0}  # what the reads below sent to each store server

    def token(self, name):
        if name in self.requests:
            self.requests[name] += 1 if name == 'aws' else 2  # Vault: the version, then the metadata
        if name == 'aws':
            # Always by stage: moto returns the old value to a read without a stage after a stage move.
            return self.aws.value(self.aws_secret, 'AWSCURRENT').strip()
        if name == 'vault':
            try:
                return self.vault.read(self.vault_path)[0]['token']
            except Exception as error:  # pylint: disable=broad-except
                raise ConsumerFileError('vault read failed: %s' % type(error).__name__) from None
        return self.consumers.token(name)

    def client_ids(self):
        return dict((name, client_id(self.token(name))) for name in self.hosts)


def stores_of(aws_secret=None, vault_path=None, **vault_auth):
    stores = []
    if aws_secret:
        stores.append({'kind': 'aws_secretsmanager', 'secret_id': aws_secret})
    if vault_path:
        stores.append(dict({'kind': 'vault_kv2', 'path': vault_path}, **vault_auth))
    return stores


def environment(aws_store, vault_store):  # pylint: disable=redefined-outer-name
    env = dict(aws_store.env)
    env.update(vault_store.env)
    return env


def rotate(run_playbook, consumers, desc, stores, env, expect_rc=0, check=False, **role_vars):
    return run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=4, expect_rc=expect_rc,
                        extra_env=env, check=check, allowed_secret_files=consumers.paths,
                        extra_args=rotation_args(token_rotation_description=desc, token_rotation_stores=stores,
                                                 **role_vars))


def seed(emu, consumers, aws_store, vault_store, desc):  # pylint: disable=redefined-outer-name
    """A one-token family held by the two files, a new AWS secret and a new Vault secret; returns (old, aws secret
    name, vault path)."""
    old = seed_family(emu, consumers, desc, age_days=3)
    aws_secret, vault_path = unique('rot-aws'), unique('rot-vault')
    aws_store.client().create_secret(Name=aws_secret, SecretString=old['token'])
    vault_store.write(vault_path, {'token': old['token']})
    return old, aws_secret, vault_path


def log_size(path):
    return path.stat().st_size if path.exists() else 0


def audit_requests(path, since):
    """Requests in the Vault file audit log written after byte `since`."""
    with open(path, 'rb') as handle:
        handle.seek(since)
        return sum(1 for line in handle if json.loads(line).get('type') == 'request')


def moto_requests(path, since):
    """Secrets Manager requests in moto_server's log written after byte `since` (one werkzeug line per request)."""
    with open(path, 'rb') as handle:
        handle.seek(since)
        return sum(1 for line in handle if b'"POST / HTTP/1.1"' in line)


def rerun_converges(run_playbook, emu, holders, desc, old, stores, env):
    """A full run completes the rotation: one token left in the family, not the old one, held everywhere."""
    run = rotate(run_playbook, holders.consumers, desc, stores, env)
    family = family_ids(emu, desc)
    assert len(family) == 1 and family[0] != old['clientId'], family
    assert_holds(holders, family[0])
    return run


def assert_holds(holders, new):
    held = holders.client_ids()
    assert set(held.values()) == {new}, 'the holders hold %s, expected %s everywhere' % (held, new)


# --------------------------------------------------------------------------------------------------------------
# no outage, and what it costs
# --------------------------------------------------------------------------------------------------------------

def test_mixed_family_rotates_without_an_outage(emu, run_playbook, tmp_path, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """Two files, one AWS secret and one Vault secret: a prober that reads each of them in a loop, as the
    applications would, and calls the API with what it read sees no failure; at the end all four hold the new token,
    the only one left in the family. Prints the wall time and the requests each server received."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-mixed')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    holders = Holders(consumers, aws_store, aws_secret, vault_store, vault_path)
    audit = vault_store.audit_log
    moto_log = aws_store.log
    marks = (log_size(audit), log_size(moto_log))
    emu.reset_counts()

    started = time.monotonic()
    job = run_playbook.start(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=4,
                             extra_env=environment(aws_store, vault_store),
                             extra_args=rotation_args(token_rotation_description=desc,
                                                      token_rotation_stores=stores_of(aws_secret, vault_path)))
    run, prober = wait_probing(emu, job, holders, consumers.paths, limit=180)
    seconds = time.monotonic() - started
    counts = {route: n for route, n in emu.counts().items() if n}
    astra = sum(counts.values()) - prober.probes
    vault_requests = audit_requests(audit, marks[0]) - holders.requests['vault']
    aws_requests = moto_requests(moto_log, marks[1]) - holders.requests['aws']
    print('\nmixed family (2 files, 1 AWS secret, 1 Vault secret): %.1f s wall; requests: Astra API %d (%s, less the '
          'prober\'s %d), AWS Secrets Manager %d, Vault %d (less the prober\'s reads)'
          % (seconds, astra, ', '.join('%s %d' % item for item in sorted(counts.items())), prober.probes,
             aws_requests, vault_requests))

    assert prober.failures == [], 'the prober saw failures during the rotation: %s' % prober.failures[:20]
    assert prober.probes > 20, 'only %d probes during the rotation' % prober.probes
    family = family_ids(emu, desc)
    assert len(family) == 1 and family[0] != old['clientId'], family
    assert_holds(holders, family[0])
    for name, seen in prober.seen.items():
        assert seen == [old['clientId'], family[0]], '%s: the prober saw %s, expected old then new' % (name, seen)
    assert token_status(emu, old['token']) == 401
    stages = aws_store.stages(aws_secret)
    assert sorted(sorted(labels) for labels in stages.values()) == [['AWSCURRENT'], ['AWSPREVIOUS']], stages
    _data, metadata, version = vault_store.read(vault_path)
    assert metadata.get('client_id') == family[0] and version == 2, (metadata, version)

    result = result_of(run)
    assert result['action'] == 'rotated' and result['consumers_updated'] == ['c1', 'c2']
    assert [label.split(' (')[1].split(',')[0] for label in result['stores_updated']] == [
        'aws_secretsmanager', 'vault_kv2'], result['stores_updated']
    # The same 8 Astra requests as a rotation of files alone (7 in issue 13; issue 20 added the fresh list of the
    # family before the delete); the store requests of observe, stage and verify, promote with its read-back (the
    # figures of the closing note of issue 13), and the fresh look of issue 20 before the delete (one more observe:
    # AWS DescribeSecret and GetSecretValue, Vault metadata and version).
    assert (astra, counts[CREATE_ROUTE], counts[DELETE_ROUTE]) == (8, 1, 1), counts
    assert (aws_requests, vault_requests) == (12, 10)

    # the servers' own logs are scanned too: copy them under the test's folder and scan once more
    copies = copy_logs(tmp_path, aws_store, vault_store)
    (copies[0].parent / 'bao-audit.log').write_bytes(audit.read_bytes())
    assert run_playbook.scan(run, consumers.paths) == []


# --------------------------------------------------------------------------------------------------------------
# failures at a store stop the run before any deletion; a re-run completes
# --------------------------------------------------------------------------------------------------------------

def approle(vault_store, name, policy):
    """An AppRole of the Vault server whose tokens get only policy: (role_id, secret_id)."""
    root = vault_store.client()
    root.sys.create_or_update_policy(name, policy)
    root.auth.approle.create_or_update_approle(name, token_policies=[name], token_ttl='10m')
    role_id = root.auth.approle.read_role_id(name)['data']['role_id']
    return role_id, root.auth.approle.generate_secret_id(name)['data']['secret_id']


def approle_stores(aws_secret, vault_path, role_id):
    """The stores, the Vault one logging in with the AppRole. As a user would (docs/rotation.md): the secret_id from
    the environment (IT_VAULT_SECRET_ID), not on the command line, which ansible-playbook prints at -vvvv."""
    return stores_of(aws_secret, vault_path, auth_method='approle', role_id=role_id,
                     secret_id="{{ lookup('ansible.builtin.env', 'IT_VAULT_SECRET_ID') }}")


def test_a_store_that_refuses_the_write_stops_the_run_before_any_deletion(emu, run_playbook, tmp_path, aws_store,
                                                                          vault_store):  # pylint: disable=redefined-outer-name
    """AppRole credentials that may read but not write: the store is observed, the new token is created, the write is
    refused; the message names the store, nothing is deleted, every holder still works; with credentials that may
    write, the next run completes the rotation."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-refused')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    role_id, secret_id = approle(vault_store, 'astra-read-only', READ_ONLY_POLICY)
    env = environment(aws_store, vault_store)
    stores = approle_stores(aws_secret, vault_path, role_id)
    emu.reset_counts()

    run = rotate(run_playbook, consumers, desc, stores, dict(env, IT_VAULT_SECRET_ID=secret_id), expect_rc=2)
    message = store_failure(run)
    assert 'token_rotation_stores[1]' in message and vault_path in message, message
    assert 'Nothing was deleted' in message, message
    assert secret_id not in run.stdout + run.stderr + run.log_text, 'the AppRole secret_id was printed'  # at -vvvv
    counts = emu.counts()
    assert counts.get(CREATE_ROUTE) == 1 and not counts.get(DELETE_ROUTE), counts
    holders = Holders(consumers, aws_store, aws_secret, vault_store, vault_path)
    for name in holders.hosts:
        assert token_status(emu, holders.token(name)) == 200, '%s holds a token the API refuses' % name
    assert client_id(holders.token('aws')) == old['clientId']  # staged, never promoted

    rerun_converges(run_playbook, emu, holders, desc, old, stores_of(aws_secret, vault_path), env)


def test_a_secret_with_rotation_enabled_is_refused_before_anything_is_created(emu, run_playbook, tmp_path, aws_store,
                                                                              vault_store):  # pylint: disable=redefined-outer-name
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-lambda')
    _old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    aws_store.client().rotate_secret(SecretId=aws_secret, RotationRules={'AutomaticallyAfterDays': 30},
                                     RotateImmediately=False)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, stores_of(aws_secret, vault_path), environment(aws_store, vault_store),
                 expect_rc=2)
    message = store_failure(run)
    assert 'token_rotation_stores[0] (aws_secretsmanager, secret %s in us-east-1 at %s) has rotation enabled' \
        % (aws_secret, aws_store.url) in message, message
    assert not emu.counts().get(CREATE_ROUTE), emu.counts()


def test_check_mode_says_what_would_be_staged_and_changes_nothing(emu, run_playbook, tmp_path, aws_store,
                                                                  vault_store):  # pylint: disable=redefined-outer-name
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-check')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    stages_before = aws_store.stages(aws_secret)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, stores_of(aws_secret, vault_path), environment(aws_store, vault_store),
                 check=True)
    result = result_of(run)
    assert result['check_mode'] is True and result['planned_action'] == 'rotated', result
    assert 'store 0 (aws_secretsmanager' in result['reason'] and 'store 1 (vault_kv2' in result['reason'], result
    assert not emu.counts().get(CREATE_ROUTE) and not emu.counts().get(DELETE_ROUTE)
    assert aws_store.stages(aws_secret) == stages_before
    assert vault_store.read(vault_path)[2] == 1
    assert family_ids(emu, desc) == [old['clientId']]


# --------------------------------------------------------------------------------------------------------------
# crash between staging and promotion
# --------------------------------------------------------------------------------------------------------------

def start_with_a_slow_verify(run_playbook, consumers, desc, stores, env, seconds, verbosity):
    """Start a rotation whose verify command on c1 sleeps: it holds the run between staging and promotion."""
    inventory = consumers.inventory({'c1': {'token_rotation_consumer_verify_command': 'sleep %d' % seconds}})
    return run_playbook.start(ROTATE_PLAYBOOK, inventory=inventory, verbosity=verbosity, extra_env=env,
                              extra_args=rotation_args(token_rotation_description=desc, token_rotation_stores=stores))


def pending(aws_store, secret):  # pylint: disable=redefined-outer-name
    """Whether the AWS secret has a version staged as AWSPENDING."""
    return any('AWSPENDING' in labels for labels in aws_store.stages(secret).values())


def test_sigkill_between_staging_and_promotion_then_a_rerun_converges(emu, run_playbook, tmp_path, aws_store,
                                                                      vault_store):  # pylint: disable=redefined-outer-name
    """The run is SIGKILLed once the new token is staged as AWSPENDING (a slow verify command on c1 holds it before
    the promotion); the re-run completes it without a new token: one token left in the family, held everywhere, and
    one AWS version per token (no duplicate)."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-crash')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    env = environment(aws_store, vault_store)
    stores = stores_of(aws_secret, vault_path)
    job = start_with_a_slow_verify(run_playbook, consumers, desc, stores, env, seconds=30, verbosity=1)

    def staged():
        held = set(consumers.client_ids().values())
        return pending(aws_store, aws_secret) and len(held) == 1 and old['clientId'] not in held
    try:
        wait_for(staged, 120, 'the new token staged in AWS and written to both files', alive=lambda: job.running)
    finally:
        job.kill()
    job.wait(expect_rc=None, allowed_secret_files=consumers.paths)
    interrupted = family_ids(emu, desc)
    assert len(interrupted) == 2 and old['clientId'] in interrupted, interrupted
    new = [cid for cid in interrupted if cid != old['clientId']][0]
    assert client_id(aws_store.value(aws_secret, 'AWSCURRENT')) == old['clientId']
    assert client_id(aws_store.value(aws_secret, 'AWSPENDING')) == new

    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, stores, env)
    assert result_of(run)['action'] == 'completed', result_of(run)
    assert not emu.counts().get(CREATE_ROUTE), emu.counts()
    family = family_ids(emu, desc)
    assert family == [new], family
    assert_holds(Holders(consumers, aws_store, aws_secret, vault_store, vault_path), family[0])
    stages = aws_store.stages(aws_secret)
    assert len(stages) == 2 and sorted(sorted(labels) for labels in stages.values()) == [
        ['AWSCURRENT'], ['AWSPREVIOUS']], stages


def test_a_concurrent_write_to_the_vault_secret_stops_the_run_before_any_deletion(emu, run_playbook, tmp_path,
                                                                                  aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """Another writer changes the Vault secret after the role observed it (here while the new token is not accepted
    yet): the check-and-set write fails, the run stops naming the store, nothing is deleted; the next run completes."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-cas')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    env = environment(aws_store, vault_store)
    emu.config(activation_delay=4)  # new tokens answer 401 for 4 s: the role waits, the other writer writes
    emu.reset_counts()
    job = run_playbook.start(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=4, extra_env=env,
                             extra_args=rotation_args(token_rotation_description=desc,
                                                      token_rotation_stores=stores_of(aws_secret, vault_path)))
    wait_for(lambda: emu.counts().get(CREATE_ROUTE), 120, 'the new token created', alive=lambda: job.running)
    vault_store.write(vault_path, {'token': old['token'], 'note': 'written by another tool'})
    run = job.wait(expect_rc=2, allowed_secret_files=consumers.paths)
    emu.config(activation_delay=0)
    message = store_failure(run)
    assert 'token_rotation_stores[1]' in message and 'Nothing was deleted' in message, message
    assert not emu.counts().get(DELETE_ROUTE), emu.counts()
    holders = Holders(consumers, aws_store, aws_secret, vault_store, vault_path)
    for name in holders.hosts:
        assert token_status(emu, holders.token(name)) == 200, '%s holds a token the API refuses' % name

    rerun_converges(run_playbook, emu, holders, desc, old, stores_of(aws_secret, vault_path), env)
    assert vault_store.read(vault_path)[0]['note'] == 'written by another tool'  # the other keys are kept


def test_a_failed_promotion_stops_the_run_before_any_deletion(emu, run_playbook, tmp_path, aws_store,
                                                              vault_store):  # pylint: disable=redefined-outer-name
    """The AWS secret is deleted by another tool after the new token was staged (while c1's verify command runs): the
    promotion fails naming the secret and what to do, nothing is deleted from the family, and every other holder still
    holds a working token; the next run recreates the secret and completes the rotation."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-promote')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    env = environment(aws_store, vault_store)
    stores = stores_of(aws_secret, vault_path)
    emu.reset_counts()
    job = start_with_a_slow_verify(run_playbook, consumers, desc, stores, env, seconds=4, verbosity=4)
    wait_for(lambda: pending(aws_store, aws_secret), 120, 'the new token staged in AWS', alive=lambda: job.running)
    aws_store.client().delete_secret(SecretId=aws_secret, ForceDeleteWithoutRecovery=True)
    run = job.wait(expect_rc=2, allowed_secret_files=consumers.paths)
    message = store_failure(run)
    assert 'token_rotation_stores[0]' in message and aws_secret in message and 'promotion failed' in message, message
    assert 'Nothing was deleted' in message and 'Run the role again' in message, message
    assert not emu.counts().get(DELETE_ROUTE), emu.counts()
    assert token_status(emu, old['token']) == 200
    holders = Holders(consumers, vault=vault_store, vault_path=vault_path)
    for name in holders.hosts:
        assert token_status(emu, holders.token(name)) == 200, '%s holds a token the API refuses' % name

    # The secret is gone: the next run makes it again only when the entry says so.
    rerun_converges(run_playbook, emu, Holders(consumers, aws_store, aws_secret, vault_store, vault_path), desc, old,
                    [dict(stores[0], create=True), stores[1]], env)


def test_an_unreachable_store_stops_the_run_before_anything_is_created(emu, run_playbook, tmp_path, aws_store,
                                                                       vault_store):  # pylint: disable=redefined-outer-name
    """A Vault that does not answer: the run stops at observe, naming the store, before any Astra request that
    changes anything; with the right address, the next run rotates."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-unreachable')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    env = environment(aws_store, vault_store)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(('127.0.0.1', 0))
        closed = 'http://127.0.0.1:%s' % probe.getsockname()[1]
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, stores_of(aws_secret, vault_path, url=closed), env, expect_rc=2)
    message = store_failure(run)
    assert 'token_rotation_stores[1]' in message and closed in message, message
    assert not emu.counts().get(CREATE_ROUTE) and not emu.counts().get(DELETE_ROUTE), emu.counts()
    rerun_converges(run_playbook, emu, Holders(consumers, aws_store, aws_secret, vault_store, vault_path), desc, old,
                    stores_of(aws_secret, vault_path), env)


# --------------------------------------------------------------------------------------------------------------
# a store that is not where its entry points is refused at observe
# --------------------------------------------------------------------------------------------------------------

def test_a_store_entry_that_points_nowhere_stops_the_run_at_observe(emu, run_playbook, tmp_path, aws_store,
                                                                    vault_store):  # pylint: disable=redefined-outer-name
    """A wrong region for the AWS secret and a typo in the Vault path: the run stops at observe, before any token is
    created, with one line naming the store, where it looked and that `create: true` makes a new secret; the real
    secrets and their token are untouched (no secret created where the entries point)."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-nowhere')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    stages_before = aws_store.stages(aws_secret)
    env = environment(aws_store, vault_store)
    emu.reset_counts()
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': aws_secret, 'region': 'eu-west-1'},
              {'kind': 'vault_kv2', 'path': vault_path + '-typo'}]
    run = rotate(run_playbook, consumers, desc, stores, env, expect_rc=2)
    message = store_failure(run)
    assert ('token_rotation_stores[0] (aws_secretsmanager, secret %s in eu-west-1 at %s)'
            % (aws_secret, aws_store.url)) in message, message
    assert 'create: true' in message and 'Nothing was created or changed' in message, message
    assert not emu.counts().get(CREATE_ROUTE) and not emu.counts().get(DELETE_ROUTE), emu.counts()
    assert family_ids(emu, desc) == [old['clientId']]
    # printed once in the output of the failed run (not once per rescue level)
    # nothing was made where the entries point, and the real secrets still hold the family's token
    import boto3  # pylint: disable=import-outside-toplevel
    west = boto3.client('secretsmanager', endpoint_url=aws_store.url, region_name='eu-west-1',
                        aws_access_key_id='testing', aws_secret_access_key='testing')
    assert aws_secret not in [s['Name'] for s in west.list_secrets()['SecretList']]
    assert aws_store.stages(aws_secret) == stages_before
    assert client_id(aws_store.value(aws_secret)) == old['clientId']
    assert vault_store.read(vault_path)[0] == {'token': old['token']}
    import hvac  # pylint: disable=import-outside-toplevel
    try:
        vault_store.read(vault_path + '-typo')
        made = True
    except hvac.exceptions.InvalidPath:
        made = False
    assert not made, 'a secret was created at the typo path'
    assert token_status(emu, old['token']) == 200


def test_a_store_failure_is_printed_once(emu, run_playbook, tmp_path, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """A failed run at default verbosity prints the store's failure once (not by the hidden module task, then by the
    rescue's [ERROR] line, then by its result)."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-once')
    _old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    stores = [{'kind': 'aws_secretsmanager', 'secret_id': aws_secret, 'region': 'eu-west-1'},
              {'kind': 'vault_kv2', 'path': vault_path}]
    run = run_playbook(ROTATE_PLAYBOOK, inventory=consumers.inventory(), verbosity=0, expect_rc=2,
                       extra_env=environment(aws_store, vault_store), allowed_secret_files=consumers.paths,
                       extra_args=rotation_args(token_rotation_description=desc, token_rotation_stores=stores))
    said = 'no secret %s in eu-west-1' % aws_secret
    assert run.stdout.count(said) == 1, [line[:160] for line in run.stdout.splitlines() if said in line]


NO_METADATA_POLICY = '''
path "secret/data/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["read"] }
'''


def test_vault_metadata_refused_after_the_write_then_the_next_run_converges(emu, run_playbook, tmp_path, aws_store,
                                                                            vault_store):  # pylint: disable=redefined-outer-name
    """AppRole credentials that may write the Vault secret's data but not its metadata: the new version is written
    (current, and the token it holds works), the run stops saying so before any deletion; with credentials that may
    write the metadata, the next run converges: one token left, held by every file and store, noted in the metadata."""
    consumers = Consumers(tmp_path / 'consumers', FILES)
    desc = emu.desc('stores-no-metadata')
    old, aws_secret, vault_path = seed(emu, consumers, aws_store, vault_store, desc)
    role_id, secret_id = approle(vault_store, 'astra-no-metadata', NO_METADATA_POLICY)
    env = environment(aws_store, vault_store)
    stores = approle_stores(aws_secret, vault_path, role_id)
    emu.reset_counts()
    run = rotate(run_playbook, consumers, desc, stores, dict(env, IT_VAULT_SECRET_ID=secret_id), expect_rc=2)
    message = store_failure(run)
    assert 'token_rotation_stores[1]' in message and 'the new token was written (version 2, current now)' in message
    assert 'Nothing was deleted' in message, message
    assert not emu.counts().get(DELETE_ROUTE), emu.counts()
    data, custom, version = vault_store.read(vault_path)
    new = client_id(data['token'])
    assert version == 2 and new != old['clientId'] and custom.get('client_id') != new, (custom, version)
    holders = Holders(consumers, aws_store, aws_secret, vault_store, vault_path)
    for name in holders.hosts:
        assert token_status(emu, holders.token(name)) == 200, '%s holds a token the API refuses' % name

    rerun_converges(run_playbook, emu, holders, desc, old, stores_of(aws_secret, vault_path), env)
    data, custom, version = vault_store.read(vault_path)
    assert custom == {'client_id': client_id(data['token']), 'client_id_version': str(version)}, (custom, version)
