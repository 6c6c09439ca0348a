# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/audit_tokens.yml on a seeded organisation: exactly the expected findings, both reports, the
fail_on_findings gate, and the ignore lists. Every run (and the report files) goes through the leak scanner."""

from __future__ import annotations

import json

from _astra_it import REPO

PLAYBOOK = REPO / 'playbooks' / 'audit_tokens.yml'
BOOTSTRAP = 'bootstrap (portal)'
ADMIN = 'Organization Administrator'
DBA = 'Database Administrator'
RO = 'RO Svc Acct'
RW = 'R/W Svc Acct'
FAIL_TASK = 'Fail when there are findings and fail_on_findings is set'


def extra_vars(**values):
    return ('-e', json.dumps(values))


def custom_role(emu, name, actions):
    status, body = emu.api('POST', '/v2/organizations/roles', {
        'name': name, 'policy': {'description': name, 'resources': [], 'actions': actions, 'effect': 'allow'}})
    assert status == 201, (status, body)
    return body.get('id') or body.get('ID')


def seed(emu):
    """Tokens of known ages, expiries and roles; name -> client id (the bootstrap admin token as 'bootstrap')."""
    role_manager = custom_role(emu, 'it-role-manager', ['org-role-read', 'org-role-write'])
    token_reader = custom_role(emu, 'it-token-reader', ['org-token-read', 'org-read'])
    specs = {
        'old': dict(description='it-old', roles=[RO], age_days=200, expires_in_days=100),
        'forever': dict(description='it-forever', roles=[RW], age_days=5, expiry=None),
        'soon': dict(description='it-soon', roles=[RO], age_days=10, expires_in_days=10),
        'expired': dict(description='it-expired', roles=[RO], age_days=40, expires_in_days=-2),
        'admin': dict(description='it-admin', roles=[ADMIN], age_days=1, expires_in_days=200),
        'dba': dict(description='it-dba', roles=[RO, DBA], age_days=1, expires_in_days=200),
        'role_manager': dict(description='it-role-manager', roles=[role_manager], age_days=1, expires_in_days=200),
        'token_reader': dict(description='it-token-reader', roles=[token_reader], age_days=1, expires_in_days=200),
        'family_1': dict(description='it-family', roles=[RW], age_days=3, expires_in_days=200),
        'family_2': dict(description='it-family', roles=[RW], age_days=1, expires_in_days=200),
        'clean': dict(description='it-clean', roles=[RO, RW], age_days=1, expires_in_days=200),
        'blank_1': dict(description='', roles=[RO], age_days=2, expires_in_days=200),
        'blank_2': dict(description='', roles=[RO], age_days=1, expires_in_days=200),
        'everything': dict(description='it-everything', roles=[ADMIN], age_days=120, expiry=None),
    }
    ids = {name: emu.mint(**spec)['clientId'] for name, spec in specs.items()}
    ids['bootstrap'] = emu.emu.info['admin_client_id']
    return ids


def expected(ids):
    pairs = {
        ('never_expires', 'bootstrap'), ('privileged', 'bootstrap'),
        ('old', 'old'),
        ('never_expires', 'forever'),
        ('expiring_soon', 'soon'),
        ('expired', 'expired'),
        ('privileged', 'admin'),
        ('privileged', 'dba'),
        ('privileged', 'role_manager'),
        ('multiple_in_family', 'family_1'), ('multiple_in_family', 'family_2'),
        ('never_expires', 'everything'), ('old', 'everything'), ('privileged', 'everything'),
    }
    return {(kind, ids[name]) for kind, name in pairs}


def read_reports(folder):
    markdown = (folder / 'token-audit.md').read_text()
    report = json.loads((folder / 'token-audit.json').read_text())
    return markdown, report


def found(report):
    return {(finding['kind'], client_id) for finding in report['findings'] for client_id in finding['client_ids']}


def test_audit_reports_exactly_the_expected_findings(emu, run_playbook, tmp_path):
    ids = seed(emu)
    emu.reset_counts()
    folder = tmp_path / 'reports'
    run = run_playbook(PLAYBOOK, verbosity=4, extra_args=extra_vars(audit_report_dir=str(folder)))  # -vvvv
    markdown, report = read_reports(folder)

    assert found(report) == expected(ids)
    assert report['counts'] == {'never_expires': 3, 'old': 2, 'expiring_soon': 1, 'expired': 1, 'privileged': 5,
                                'wide_scoped_role': 0, 'deleted_role': 0, 'multiple_in_family': 1}
    assert report['total'] == 13 and report['token_count'] == len(ids) and report['ignored_count'] == 0
    assert report['generated_at'].endswith('Z')
    by_kind = {(f['kind'], tuple(f['client_ids'])): f for f in report['findings']}
    family = by_kind[('multiple_in_family', (ids['family_1'], ids['family_2']))]
    assert family['description'] == 'it-family' and '2 tokens share this description' in family['detail']
    assert by_kind[('privileged', (ids['role_manager'],))]['roles'] == ['it-role-manager']
    assert by_kind[('privileged', (ids['role_manager'],))]['actions'] == ['org-role-write']
    assert by_kind[('privileged', (ids['dba'],))]['roles'] == [DBA]
    assert by_kind[('privileged', (ids['bootstrap'],))]['actions'] == [
        'org-role-delete', 'org-role-write', 'org-token-write']
    assert by_kind[('old', (ids['old'],))]['detail'].startswith('created 20')  # 199 or 200 days
    assert 'expires on ' in by_kind[('expiring_soon', (ids['soon'],))]['detail']

    # the table: every token, roles by name, age and expiry
    rows = {row['client_id']: row for row in report['tokens']}
    assert set(rows) == set(ids.values())
    assert rows[ids['dba']]['role_names'] == [RO, DBA]
    assert rows[ids['forever']]['expiry'] is None and rows[ids['soon']]['expiry']
    assert abs(rows[ids['old']]['age_days'] - 200) <= 1
    assert rows[ids['everything']]['findings'] == ['never_expires', 'old', 'privileged']
    assert rows[ids['clean']]['findings'] == [] and rows[ids['blank_1']]['findings'] == []
    for client_id in ids.values():
        assert '| %s |' % client_id in markdown, client_id
    assert '| multiple_in_family | %s, %s | it-family |' % (ids['family_1'], ids['family_2']) in markdown
    assert '| privileged | 5 |' in markdown and '| expired | 1 |' in markdown

    for path in (folder / 'token-audit.md', folder / 'token-audit.json'):
        assert path.stat().st_mode & 0o777 == 0o644
    summary = run.result('Summarise the audit')['msg']
    assert summary[0] == '%d tokens audited (0 ignored): 13 findings.' % len(ids)
    assert summary[1] == ('never_expires: 3, old: 2, expiring_soon: 1, expired: 1, privileged: 5, '
                          'wide_scoped_role: 0, deleted_role: 0, multiple_in_family: 1')
    assert run.status(FAIL_TASK) == 'skipped'
    counts = emu.counts()
    assert counts == {'GET /v2/tokens': 1, 'GET /v2/organizations/roles': 2}, counts  # reads only


def test_fail_on_findings_fails_the_play_with_the_counts(emu, run_playbook, tmp_path):
    ids = seed(emu)
    folder = tmp_path / 'reports'
    run = run_playbook(PLAYBOOK, expect_rc=2, extra_args=extra_vars(audit_report_dir=str(folder), fail_on_findings=True))
    assert run.status(FAIL_TASK) == 'failed'
    message = run.result(FAIL_TASK)['msg']
    assert message.startswith('The token audit found 13 findings (never_expires: 3, old: 2, expiring_soon: 1, '
                              'expired: 1, privileged: 5, multiple_in_family: 1)'), message
    assert str(folder / 'token-audit.md') in message and message in run.stdout
    _markdown, report = read_reports(folder)  # the reports are written before the play fails
    assert found(report) == expected(ids)


def test_clean_or_ignored_organisation_passes_the_gate(emu, run_playbook):
    emu.mint(description='it-app', roles=[RW], age_days=10, expires_in_days=60)
    family = [emu.mint(description='it-app-2', roles=[RO], age_days=d, expires_in_days=80)['clientId'] for d in (2, 1)]
    # The bootstrap admin token is exempt by description, one family member by client id; the report folder is the
    # default one, relative to the working directory (the run's folder).
    run = run_playbook(PLAYBOOK, extra_args=extra_vars(
        fail_on_findings=True, audit_ignore_descriptions=[BOOTSTRAP], audit_ignore_client_ids=[family[0]]))
    assert run.status(FAIL_TASK) == 'skipped'
    markdown, report = read_reports(run.run_dir / 'astra-token-audit')
    assert report['total'] == 0 and report['findings'] == [] and report['ignored_count'] == 2
    assert 'No findings.' in markdown and '| %s |' % family[0] in markdown
    assert run.result('Summarise the audit')['msg'][0] == '4 tokens audited (2 ignored): 0 findings.'

    # the thresholds come from extra vars too: the same organisation fails with a 5-day age limit
    run = run_playbook(PLAYBOOK, expect_rc=2, extra_args=extra_vars(
        fail_on_findings='yes', audit_max_age_days='5', audit_expiring_within_days=70,
        audit_ignore_descriptions=[BOOTSTRAP], audit_ignore_client_ids=[family[0]]))
    _markdown, report = read_reports(run.run_dir / 'astra-token-audit')
    assert report['counts']['old'] == 1 and report['counts']['expiring_soon'] == 1, report['counts']
    assert run.result(FAIL_TASK)['msg'].startswith('The token audit found 2 findings (old: 1, expiring_soon: 1); see ')


def test_custom_roles_are_resolved_into_each_tokens_reach(emu, run_playbook, tmp_path):
    """A token of a database-scoped custom role reaches that database; a custom role named for one database that
    reaches every database (db:*) is flagged."""
    org = 'drn:astra:org:%s' % emu.org_id
    db = '5b70892f-e01a-4595-98e6-19ecc9985d50'
    roles = {}
    for name, resources in (('orders Database Administrator', [org, '%s:db:%s' % (org, db)]),
                            ('billing Database Administrator', [org, '%s:db:*' % org, '%s:db:*:keyspace:*' % org])):
        status, body = emu.api('POST', '/v2/organizations/roles', body={'name': name, 'policy': {
            'description': '', 'effect': 'allow', 'actions': ['db-cql'], 'resources': resources}})
        assert status == 201, body
        roles[name] = {k.lower(): v for k, v in body.items()}['id']
    scoped = emu.mint(roles=[roles['orders Database Administrator']], description='it-reach-scoped')['clientId']
    wide = emu.mint(roles=[roles['billing Database Administrator']], description='it-reach-wide')['clientId']
    folder = tmp_path / 'reports'
    run_playbook(PLAYBOOK, extra_args=extra_vars(audit_report_dir=str(folder)))
    markdown, report = read_reports(folder)
    rows = {row['client_id']: row for row in report['tokens']}
    assert (rows[scoped]['reach'], rows[scoped]['databases']) == ('databases', [db])
    assert rows[wide]['reach'] == 'all databases'
    flagged = [f for f in report['findings'] if f['kind'] == 'wide_scoped_role']
    assert [f['client_ids'] for f in flagged] == [[wide]], flagged
    assert '| databases: %s |' % db in markdown
    for role_id in roles.values():
        emu.api('DELETE', '/v2/organizations/roles/%s' % role_id)


def test_a_token_whose_role_was_deleted_and_a_nasty_description_in_the_reports(emu, run_playbook, tmp_path):
    """A role deleted while a token holds it is a deleted_role finding naming its id; a description with HTML, a
    Markdown link and a pipe is text in the Markdown report (and as it is in the JSON report)."""
    role_id = custom_role(emu, 'it-doomed-role', ['db-cql'])
    orphan = emu.mint(roles=[role_id], description='it-orphan', expires_in_days=100)['clientId']
    status, _body = emu.api('DELETE', '/v2/organizations/roles/%s' % role_id)
    assert status in (200, 204)
    nasty = '<script>alert(1)</script> [click](https://evil.example/x) a|b'
    tricky = emu.mint(roles=[RO], description=nasty)['clientId']
    folder = tmp_path / 'reports'
    run_playbook(PLAYBOOK, extra_args=extra_vars(audit_report_dir=str(folder)))
    markdown, report = read_reports(folder)
    deleted = [f for f in report['findings'] if f['kind'] == 'deleted_role']
    assert [(f['client_ids'], f['role_ids']) for f in deleted] == [([orphan], [role_id])], deleted
    assert report['counts']['deleted_role'] == 1
    rows = {row['client_id']: row for row in report['tokens']}
    assert rows[orphan]['findings'] == ['deleted_role'] and rows[tricky]['description'] == nasty
    assert '<script' not in markdown and '](' not in markdown.replace('\\](', '')
    row = next(line for line in markdown.splitlines() if line.startswith('| %s |' % tricky))
    assert '&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\[click\\]\\(https://evil.example/x\\) a\\|b' in row, row
