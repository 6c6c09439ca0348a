# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The crash matrix (issue 20, "Crash anywhere"): the controller is killed with SIGKILL at a task boundary of one
rotation, then the rotation is run once more, for every task boundary of the rotation.

The family is held by three consumer files (c1 raw, c2 env, c3 json), one AWS Secrets Manager secret (moto_server)
and one Vault KV v2 secret (OpenBao). The test-only callback ``callback_plugins/astra_it_crash.py`` counts the task
starts and kills ansible-playbook and every process below it at the Nth one (after task N-1 ended, before task N
reached any host). The kill points are never counted by hand: a first run without a kill lists the task starts of a
full rotation (T of them), and the boundaries are those T task starts plus the end of the play (after the last
task, before ansible-core's own clean-up).

For each kill point: a fresh family, the killed run, then one run without a kill; a prober reads every holder (the
three files, AWSCURRENT, the Vault secret) and calls the API with what it read, from before the killed run to the end
of the re-run. Each kill point must show: the kill came at that task start (rc -9), the re-run succeeds and
converges (one token in the family, not the old one, which the API refuses; every file and both stores hold it,
AWSCURRENT on it and no AWSPENDING left, the Vault metadata naming it), no file beside the consumer files, an empty
lock folder, and no secret in any file: every run goes through the leak scanner, which reads everything under the
kill point's folder (the runs' folders with ansible-core's local and remote temporary folders, the consumers'
folder, and the runs' HOME with its ~/.ansible); at the end the servers' logs are scanned too.

The whole matrix takes several minutes (see tests/integration/README.md), so by default a fixed sample runs: every
SAMPLE_EVERY-th boundary plus the boundaries around the steps where a crash matters most, chosen by task name
(DANGEROUS), so that the sample follows the role's tasks as they change. ``ASTRA_IT_CRASH_MATRIX=full`` (``make
chaos``) runs every boundary. The result is printed (pytest -s), and written to tests/output/crash-matrix.json."""

from __future__ import annotations

import json
import os
import re
import time

from _astra_it import REPO, Runner
from _rotation import (FORMATS, ROTATE_PLAYBOOK, ConsumerFileError, Consumers, Prober, client_id, family_ids,
                       result_of, rotation_args, seed_family, token_status)
from _stores_it import aws_store, copy_logs, vault_store  # noqa: F401 pylint: disable=unused-import
from test_rotation_stores import Holders, environment, stores_of, unique

# 'full': every boundary; kill point numbers ('38' or '26,38'): those (to look at one again); unset: the sample
MATRIX_ENV = 'ASTRA_IT_CRASH_MATRIX'
SAMPLE_EVERY = 20
# The boundaries the sample always holds, by the name of the task that just ended or is about to start. Each
# pattern must match a task of the rotation: a renamed task fails the test here instead of leaving its boundary out.
DANGEROUS = {
    'just after the create': ('ended', r'^Create the new token of the family'),
    'just after the stage in the stores': ('ended', r'^Stage the new token in every secret store'),
    'just after the first file was written': ('ended', r'^Write the new token to the consumer file'),
    'just after the promotion': ('ended', r'^Make the new token current in every secret store'),
    'just before the delete': ('starts', r'^Delete the other tokens of the family'),
    'just after the delete': ('ended', r'^Delete the other tokens of the family'),
}
# A state a kill leaves lasts until the re-run, so a probe every half second finds it; a shorter interval mostly
# takes CPU from the runs on a small machine.
PROBE_INTERVAL = 0.5
OUTPUT = REPO / 'tests' / 'output' / 'crash-matrix.json'
END = '(the end of the play)'


class StoreHolders(Holders):
    """The holders as the prober reads them, with one boto3 and one hvac client (a new client per read costs more CPU
    than the rotation on a small machine); every read failure is a probe failure (ConsumerFileError), never an
    error that ends the prober's thread."""

    def __init__(self, consumers, aws, aws_secret, vault, vault_path):
        super().__init__(consumers, aws, aws_secret, vault, vault_path)
        self._aws_client, self._vault_client = aws.client(), vault.client()

    def token(self, name):
        try:
            if name == 'aws':  # by stage, as the applications read it
                return self._aws_client.get_secret_value(SecretId=self.aws_secret,
                                                         VersionStage='AWSCURRENT')['SecretString'].strip()
            if name == 'vault':
                return self._vault_client.secrets.kv.v2.read_secret_version(
                    path=self.vault_path, mount_point='secret', raise_on_deleted_version=True)['data']['data']['token']
            return self.consumers.token(name)
        except ConsumerFileError:
            raise
        except Exception as error:  # pylint: disable=broad-except
            raise ConsumerFileError('%s read failed: %s' % (name, type(error).__name__)) from None


def task_name(line):
    """The task of a trace line, without the role's prefix."""
    return line.split('\t', 1)[1].split(' : ', 1)[-1]


def read_trace(path):
    return [task_name(line) for line in path.read_text().splitlines()] if path.exists() else []


def sample(names):
    """The kill points (1-based task starts; len(names) + 1 is the end of the play) of the default run: every
    SAMPLE_EVERY-th from the first, and the DANGEROUS boundaries."""
    points = set(range(1, len(names) + 2, SAMPLE_EVERY))
    for what, (side, pattern) in DANGEROUS.items():
        found = [i + 1 for i, name in enumerate(names) if re.search(pattern, name)]
        assert found, 'no task of the rotation matches %r (%s): update DANGEROUS in %s\ntasks: %s' % (
            pattern, what, __file__, names)
        points |= {i + 1 if side == 'ended' else i for i in found}
    return sorted(points)


class KillPoint:
    """One kill point's own folder: consumers, HOME (with ~/.ansible and the lock folder), runs, and a fresh family."""

    def __init__(self, emu, folder, collections, aws, vault, number):
        self.emu, self.folder, self.aws, self.vault = emu, folder, aws, vault
        self.home = folder / 'home'
        self.home.mkdir(parents=True)
        self.trace = folder / 'trace.txt'
        self.runner = Runner(emu, folder, collections)
        self.consumers = Consumers(folder / 'consumers', FORMATS)
        self.desc = emu.desc('crash-matrix-%02d' % number)
        self.old = seed_family(emu, self.consumers, self.desc, age_days=3)
        self.aws_secret, self.vault_path = unique('crash-aws'), unique('crash-vault')
        aws.client().create_secret(Name=self.aws_secret, SecretString=self.old['token'])
        vault.write(self.vault_path, {'token': self.old['token']})
        self.holders = StoreHolders(self.consumers, aws, self.aws_secret, vault, self.vault_path)

    def env(self, kill_at=None):
        env = environment(self.aws, self.vault)
        env.update({
            'HOME': str(self.home),  # ~/.ansible (ansible-core's and the role's lock folder) is scanned
            'ANSIBLE_CALLBACKS_ENABLED': 'astra_it_capture,astra_it_crash',
            'ASTRA_IT_CRASH_TRACE': str(self.trace) if kill_at is not None else str(self.folder / 'trace-rerun.txt'),
            'ASTRA_IT_CRASH_AT': kill_at,
        })
        return env

    def start(self, kill_at=None):
        return self.runner.start(
            ROTATE_PLAYBOOK, inventory=self.consumers.inventory(), verbosity=4, extra_env=self.env(kill_at),
            extra_args=rotation_args(token_rotation_description=self.desc,
                                     token_rotation_stores=stores_of(self.aws_secret, self.vault_path)))

    def converged(self):
        """What is wrong with the state after a run that should have converged (an empty list when nothing is)."""
        problems = []
        family = family_ids(self.emu, self.desc)
        if len(family) != 1 or family[0] == self.old['clientId']:
            return ['the family holds %s (the old token is %s)' % (family, self.old['clientId'])]
        new = family[0]
        try:
            held = self.holders.client_ids()
        except ConsumerFileError as error:
            held = {'?': str(error)}
        if set(held.values()) != {new}:
            problems.append('the holders hold %s, the family %s' % (held, new))
        if token_status(self.emu, self.old['token']) != 401:
            problems.append('the old token still works')
        stages = self.aws.stages(self.aws_secret)
        current = [v for v, labels in stages.items() if 'AWSCURRENT' in labels]
        pending = [v for v, labels in stages.items() if 'AWSPENDING' in labels]
        if len(current) != 1 or pending:
            problems.append('AWS stages %s' % stages)
        metadata = self.vault.read(self.vault_path)[1]
        if metadata.get('client_id') != new:
            problems.append('the Vault metadata names %s' % metadata.get('client_id'))
        if self.consumers.stray_files():
            problems.append('files beside the consumer files: %s' % self.consumers.stray_files())
        locks = self.home / '.ansible' / 'astra_token_rotation'
        if not locks.is_dir():
            problems.append('no lock folder %s: the runs did not use this HOME' % locks)
        elif list(locks.iterdir()):
            problems.append('the lock folder holds %s' % sorted(p.name for p in locks.iterdir()))
        return problems


def run_kill_point(emu, folder, collections, aws, vault, number, names):
    """Kill at task start `number` (len(names) + 1: the end of the play), then run again; the kill point's record."""
    point = KillPoint(emu, folder, collections, aws, vault, number)
    record = {'kill_at': number, 'task': names[number - 1] if number <= len(names) else END,
              'after': names[number - 2] if number >= 2 else None, 'problems': []}
    problems = record['problems']
    prober = Prober(emu, point.holders, limit=900, interval=PROBE_INTERVAL)
    started = time.monotonic()
    prober.start()
    try:
        job = point.start(kill_at=number)
        try:
            killed = job.wait(expect_rc=None, allowed_secret_files=point.consumers.paths)
        except AssertionError as error:  # a leak, a traceback, or a run that never ended
            problems.append('killed run: %s' % str(error).splitlines()[0])
            killed = None
        trace = read_trace(point.trace)
        if killed is not None and killed.rc != -9:
            problems.append('the run was not killed: rc %s' % killed.rc)
        if trace != names[:number]:
            problems.append('the killed run started %d tasks, not %d: the last %s' % (
                len(trace), min(number, len(names)), trace[-1:] or None))
        record['state_after_kill'] = {'family': len(family_ids(emu, point.desc)),
                                      'holders': _held(point.holders, point.old['clientId'])}
        try:
            rerun = point.start().wait(allowed_secret_files=point.consumers.paths)
            record['rerun_action'] = result_of(rerun).get('action')
        except AssertionError as error:
            problems.append('re-run: %s' % str(error).splitlines()[0])
            record['rerun_detail'] = str(error)[-3000:]
        else:
            problems.extend(point.converged())
    finally:
        alive = prober.is_alive()
        prober.stop()
    if not alive:
        problems.append('the prober stopped before the end')
    record['probes'], record['probe_failures'] = prober.probes, prober.failures[:10]
    if prober.failures:
        problems.append('the prober saw %d failures, the first: %s' % (len(prober.failures), prober.failures[0]))
    record['seconds'] = round(time.monotonic() - started, 1)
    return record


def _held(holders, old_id):
    """Which holders hold the old token, and which another one, after the kill (for the record)."""
    held = {}
    for name in holders.hosts:
        try:
            held[name] = 'old' if client_id(holders.token(name)) == old_id else 'new'
        except ConsumerFileError as error:
            held[name] = str(error)
    return held


def test_a_controller_killed_at_any_task_boundary_converges_on_the_next_run(
        emu, run_playbook, tmp_path, aws_store, vault_store):  # pylint: disable=redefined-outer-name
    """Count the task starts of a rotation, then kill the controller at each chosen boundary and run again: every
    kill point converges, with no failed probe and no secret in any file (the module docstring says what is checked)."""
    started = time.monotonic()
    collections = run_playbook.collections_path

    # the boundaries: the task starts of one full rotation without a kill (it is probed and scanned too)
    first = KillPoint(emu, tmp_path / 'count', collections, aws_store, vault_store, 0)
    prober = Prober(emu, first.holders, limit=900, interval=PROBE_INTERVAL)
    prober.start()
    try:
        counted = first.start(kill_at=0).wait(allowed_secret_files=first.consumers.paths)
    finally:
        prober.stop()
    names = read_trace(first.trace)
    assert result_of(counted)['action'] == 'rotated', result_of(counted)
    assert prober.failures == [] and prober.probes > 0, (prober.probes, prober.failures[:10])
    assert first.converged() == []
    run_dir = counted.run_dir
    assert (run_dir / 'ansible-tmp' / 'local').is_dir() and (run_dir / 'ansible-tmp' / 'remote').is_dir(), \
        'ansible-core did not use the run\'s temporary folders, which the leak scanner reads'
    chosen = os.environ.get(MATRIX_ENV, '').strip()
    full = chosen == 'full'
    if full:
        points = list(range(1, len(names) + 2))
    elif re.fullmatch(r'\d+(,\d+)*', chosen):  # a few kill points, to look at one again
        points = sorted({int(n) for n in chosen.split(',') if 1 <= int(n) <= len(names) + 1})
    else:
        points = sample(names)
    counting = time.monotonic() - started

    records = [run_kill_point(emu, tmp_path / ('kill-%02d' % n), collections, aws_store, vault_store, n, names)
               for n in points]

    # the servers' own logs, once, with everything the matrix left
    copy_logs(tmp_path, aws_store, vault_store)
    (tmp_path / 'server-logs' / 'bao-audit.log').write_bytes(vault_store.audit_log.read_bytes())
    final_leaks = Runner(emu, tmp_path, collections).scan(counted, [p for n in points for p in Consumers(
        tmp_path / ('kill-%02d' % n) / 'consumers', FORMATS).paths] + first.consumers.paths)

    seconds = time.monotonic() - started
    failed = [r for r in records if r['problems']]
    summary = {
        'matrix': 'full' if full else chosen or 'sample', 'task_starts': len(names), 'boundaries': len(names) + 1,
        'kill_points': len(points), 'passed': len(points) - len(failed), 'seconds': round(seconds, 1),
        'counting_run_seconds': round(counting, 1), 'probes': sum(r['probes'] for r in records),
        'final_scan_leaks': final_leaks, 'tasks': names, 'records': records}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(summary, indent=1))
    print('\ncrash matrix (%s): %d of %d boundaries killed (%d task starts + the end of the play), %d passed, '
          '%d probes, %.0f s (%s)' % (summary['matrix'], len(points), len(names) + 1, len(names),
                                      summary['passed'], summary['probes'], seconds, OUTPUT))
    for record in records:
        print('  kill at %2d %-9s %5.1f s  re-run %-9s %s' % (
            record['kill_at'], 'ok' if not record['problems'] else 'FAILED', record['seconds'],
            record.get('rerun_action'), record['task'][:70]))
        for problem in record['problems']:
            print('      ' + problem)

    assert final_leaks == [], final_leaks
    assert not failed, 'kill points that failed (details in %s):\n%s' % (OUTPUT, '\n'.join(
        'kill at %d (start of %r, after %r): %s' % (r['kill_at'], r['task'], r['after'], '; '.join(r['problems']))
        for r in failed))
