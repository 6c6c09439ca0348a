# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs that are tested: every code block of README.md, docs/*.md, roles/token_rotation/README.md and every module's
EXAMPLES is found, classified, checked and, where it can run here, run as written against the emulator.

A YAML or shell block of a markdown page (fence tag ``yaml``/``yml``, ``sh``/``shell``/``bash``/``console``, or no
tag) must be declared by an HTML comment on the line just before its fence (blank lines between are allowed)::

    <!-- doc-test: run -->
    <!-- doc-test: run; substitute: /etc/inventory-service/astra-token=TMP/astra-token, 5b70...=DATABASE_ID -->
    <!-- doc-test: run; save-as: token.yml -->
    <!-- doc-test: skip; why: needs an AWX server -->

- ``run``: the block runs against the emulator, once per page: the page's playbooks and task lists (each task list
  wrapped in a play on localhost) together as one playbook, in page order, then its shell blocks, in page order, with
  bash in the page's work folder. The environment holds the emulator's ``ASTRA_API_URL`` and ``ASTRA_API_TOKEN``, as
  a user's would; every run goes through the leak scanner. The emulator holds what the examples speak of: a
  database ``orders``, two tokens ``old-batch-job`` 200 days old that never expire, and a token ``reporting-agent``
  that expires in 10 days (besides its bootstrap token).
- ``substitute: OLD=NEW, ...``: the only changes made to the block before it runs: each literal ``OLD`` becomes
  ``NEW``, and ``NEW`` is one of these placeholders, optionally followed by a path: ``TMP`` (the page's work folder;
  files written there may hold a token, with mode 0600 only), ``EMULATOR_URL``, ``DATABASE_ID`` (the id of a
  database named ``orders`` the test adds to the emulator), ``CALLER_TOKEN`` (the caller's token from the
  environment: ``"$ASTRA_API_TOKEN"`` in a shell block, an env lookup in YAML), ``MEMBER_ORG_ID`` and
  ``MEMBER_ROLE_ID`` (a member organization of the emulator's enterprise and a role id there).
- ``save-as: NAME``: the block (after substitution) is also written to ``TMP/NAME``, for a later shell block.
- ``in: checkout`` (shell blocks): the block runs in a copy of the checkout (the working tree's tracked files, in
  ``TMP/checkout``), as a user who has not installed the collection yet: without ``ANSIBLE_COLLECTIONS_PATH``.
  Every shell block runs with ``HOME`` in ``TMP/home`` (what it installs stays there) and pip without an index
  (``PIP_NO_INDEX``: a requirement that is not installed already fails instead of reaching the network).
- ``skip; why: ...``: the block cannot run here, and the reason says why (``why`` comes last and runs to the end of
  the comment, semicolons included). A playbook or task list that is skipped is
  still syntax-checked and linted.

Every playbook and task list (run or skipped) passes ``ansible-playbook --syntax-check`` and ansible-lint with the
project's profile (one call over a folder of the extracted files; modules of collections that are not installed here,
awx.awx and kubernetes.core, are stubbed for the syntax check and mocked for lint). A rulebook is linted (ansible-lint
checks it against its schema). Other YAML (variables, inventories, AWX inputs, samples of results) must parse.
Blocks in other languages are classified by their tag and not executed: ``ini``, ``json`` and ``python`` must parse
(configparser, json, ast), ``hcl`` and ``text`` (output samples, DRNs) are counted; any other tag fails the test
until it is added here.

Module EXAMPLES have no markdown, so their declarations are in EXAMPLE_DECLARATIONS below, keyed by module and task
name, with the same meaning; ``given`` lists the tasks the test puts before a module's examples (what the example
takes for granted: a token to replace, a token in a file), and ``caller: enterprise`` runs an example with the token
of the emulator's enterprise (in ASTRA_API_TOKEN) instead of the organization's. Each module's runnable examples run
as one play.

The counts (blocks found, syntax-checked, linted, run, skipped with each reason) are written to
tests/output/doc-blocks.json and printed at the end of the run.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml

from _astra_it import REPO

BIN = Path(sys.executable).parent
OUTPUT = REPO / 'tests' / 'output' / 'doc-blocks.json'
PAGES = ['README.md'] + sorted('docs/' + p.name for p in (REPO / 'docs').glob('*.md')) + ['roles/token_rotation/README.md']
MODULES = sorted(p.stem for p in (REPO / 'plugins' / 'modules').glob('*.py') if not p.name.startswith('_'))

YAML_TAGS = {'yaml', 'yml'}
SHELL_TAGS = {'', 'sh', 'shell', 'bash', 'console'}
OTHER_TAGS = {'ini', 'json', 'hcl', 'python', 'text'}
PLACEHOLDERS = ('EMULATOR_URL', 'TMP', 'DATABASE_ID', 'CALLER_TOKEN', 'MEMBER_ORG_ID', 'MEMBER_ROLE_ID')
PARSERS = {'ini': lambda text: configparser.ConfigParser(interpolation=None).read_string(text),
           'json': json.loads, 'python': ast.parse}
DECLARATION = re.compile(r'^\s*<!--\s*doc-test:\s*(.*?)\s*-->\s*$')
FENCE = re.compile(r'^(\s*)(```+|~~~+)\s*([\w+-]*)\s*$')
SUBSTITUTION = re.compile(r'^(.+)=((?:%s)(?:/\S*)?)$' % '|'.join(PLACEHOLDERS))


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """YAML as Ansible reads it: also !unsafe and !vault."""


_Loader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))
_Loader.add_constructor('!vault', lambda loader, node: loader.construct_scalar(node))

ROTATION_STEP = 'a step of the token_rotation role: its inputs come from the role (test_role.py runs the role)'

# The module EXAMPLES' declarations: {module: {'given': [tasks], 'tasks': {task name: 'run' | {'substitute': {..}} |
# {'skip': why}}}}.
EXAMPLE_DECLARATIONS = {
    'astra_token': {
        'given': [
            {'name': 'given: a 90-day token nightly-export to replace',
             'astra.devops.astra_token': {'description': 'nightly-export', 'roles': ['R/W Svc Acct'], 'expiry': '90d'},
             'no_log': True},
        ],
        'tasks': {
            'Make sure the inventory service has a token (the secret is returned only when it is created)': 'run',
            'Store the new token for the application, readable by its owner only':
                {'substitute': {'/etc/inventory-service/astra-token': 'TMP/astra-token'}},
            'Replace the token if its roles or expiry differ from these': 'run',
            'Replace a token now, keeping its lifetime (a 90-day token gets a new 90-day token)': 'run',
            'Say where the new expiry came from (no secret in this message)': 'run',
            'Create a token in a member organization with an enterprise token':
                {'substitute': {'6f0b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d': 'MEMBER_ROLE_ID',
                                '9f876543-21ab-4cde-8f90-123456789abc': 'MEMBER_ORG_ID'}, 'caller': 'enterprise'},
            'Delete a token by client id': 'run',
            'Delete every token described as old-batch-job': 'run',
        },
    },
    'astra_token_check': {
        'given': [
            {'name': 'given: a token of the application', 'astra.devops.astra_token':
                {'description': 'myapp', 'roles': ['R/W Svc Acct']}, 'register': 'created', 'no_log': True},
            {'name': "given: the application's file", 'ansible.builtin.copy':
                {'content': '{{ created.secret.token }}\n', 'dest': 'TMP/astra-token', 'mode': '0600'},
             'no_log': True, 'diff': False},
            {'name': 'given: a token to delete', 'astra.devops.astra_token': {'description': 'myapp-old',
                                                                              'roles': ['R/W Svc Acct']},
             'register': 'old', 'no_log': True},
            {'name': 'given: it is deleted', 'astra.devops.astra_token': {'client_id': '{{ old.token.client_id }}',
                                                                          'state': 'absent'}},
            {'name': 'given: old_token and candidate_token', 'ansible.builtin.set_fact':
                {'old_token': '{{ old.secret.token }}', 'candidate_token': '{{ created.secret.token }}'},
             'no_log': True},
        ],
        'tasks': {
            "Check that the token in the application's file works":
                {'substitute': {'/etc/myapp/astra-token': 'TMP/astra-token'}},
            "Show the token's client id and organization": 'run',
            'Wait up to 60 seconds until a new token works': 'run',
            'Confirm that a deleted token is refused, allowing 30 seconds for the deletion to spread': 'run',
            'Find out whether a token works, without failing when it does not': 'run',
            'Use the answer': 'run',
        },
    },
    'astra_token_info': {'tasks': {
        'List every token of the organization': 'run',
        'Find tokens that never expire and are older than 90 days': 'run',
        'Find tokens expiring in the next 30 days': 'run',
        'Find tokens that can manage other tokens': 'run',
        'Show client ids and ages': 'run',
    }},
    'astra_role_info': {'tasks': {
        'List every role of the organization': 'run',
        'Look up one role by its portal name': 'run',
        'Show the id of that role': 'run',
        'List only custom roles, such as the database-scoped ones the portal makes': 'run',
        'Who holds the custom roles that reach the orders database':
            {'substitute': {'5b70892f-e01a-4595-98e6-19ecc9985d50': 'DATABASE_ID'}},
    }},
    'astra_role': {'tasks': {
        'A role that may read and write the tables of one database':
            {'substitute': {'5b70892f-e01a-4595-98e6-19ecc9985d50': 'DATABASE_ID'}},
        "Database Administrator, for one database only (as the portal's database-scoped tokens)":
            {'substitute': {'5b70892f-e01a-4595-98e6-19ecc9985d50': 'DATABASE_ID'}},
        'Narrow a role to one keyspace, although tokens hold it':
            {'substitute': {'5b70892f-e01a-4595-98e6-19ecc9985d50': 'DATABASE_ID'}},
        'Delete a custom role that no token holds': 'run',
    }},
    'astra_rotation_step': {'tasks': {
        'Create the new token of the family and wait until it works': {'skip': ROTATION_STEP},
    }},
    'astra_rotation_validate': {'tasks': {
        "Check the role's variables and the shape of the play": {'skip': ROTATION_STEP},
    }},
    'astra_rotation_store': {'tasks': {
        'Learn which token each store holds (the result holds the tokens themselves, so no_log)': {'skip': ROTATION_STEP},
        'Stage the new token in every store and read it back': {'skip': ROTATION_STEP},
        'Make it current in every store': {'skip': ROTATION_STEP},
    }},
    'astra_rotation_consumer': {'tasks': {
        'Learn which token this consumer holds (the result holds the token itself, so no_log)': {'skip': ROTATION_STEP},
        'Put a new token on the ASTRA_DB_APPLICATION_TOKEN line of an env file, keeping its other lines':
            {'skip': ROTATION_STEP},
    }},
}


class Block:
    """One code block: where it is, its language, text, what it is, and its declaration."""

    def __init__(self, source, line, tag, text, declaration=None):
        self.source, self.line, self.tag, self.text = source, line, tag, text
        self.action, self.why, self.substitute, self.save_as, self.in_checkout = None, None, {}, None, False
        self.errors = []
        self.data = None
        self.kind = self._kind()
        if declaration is not None:
            self._declare(declaration)

    @property
    def where(self):
        return '%s:%s' % (self.source, self.line)

    @property
    def slug(self):
        return re.sub(r'[^A-Za-z0-9]+', '-', self.where).strip('-')

    def _kind(self):
        if self.tag in SHELL_TAGS:
            return 'shell'
        if self.tag not in YAML_TAGS:
            return 'other'
        try:
            self.data = yaml.load(self.text, Loader=_Loader)  # nosec: a safe loader
        except yaml.YAMLError as error:
            self.errors.append('%s: the YAML does not parse: %s' % (self.where, str(error).splitlines()[0]))
            return 'yaml'
        if isinstance(self.data, list) and self.data and all(isinstance(item, dict) for item in self.data):
            if all('sources' in item and 'rules' in item for item in self.data):
                return 'rulebook'
            if all('hosts' in item for item in self.data):
                return 'playbook'
            return 'tasks'
        return 'yaml'

    def _declare(self, text):
        head, sep, why = text.partition('why:')  # why comes last: it runs to the end of the comment
        parts = [part.strip() for part in head.split(';') if part.strip()] + (['why: ' + why.strip()] if sep else [])
        self.action = parts[0] if parts else ''
        if self.action not in ('run', 'skip'):
            self.errors.append('%s: doc-test declaration must start with run or skip, not %r' % (self.where, self.action))
        for part in parts[1:]:
            key, _sep, value = part.partition(':')
            key, value = key.strip(), value.strip()
            if key == 'why':
                self.why = value
            elif key == 'save-as':
                self.save_as = value
            elif key == 'in' and value == 'checkout' and self.kind == 'shell':
                self.in_checkout = True
            elif key == 'substitute':
                for item in value.split(', '):
                    match = SUBSTITUTION.match(item.strip())
                    if not match:
                        self.errors.append('%s: substitute %r: give OLD=NEW with NEW one of %s (and a path)'
                                           % (self.where, item, ', '.join(PLACEHOLDERS)))
                        continue
                    old, new = match.groups()
                    if old not in self.text:
                        self.errors.append('%s: substitute %r: the block does not hold it' % (self.where, old))
                    self.substitute[old] = new
            else:
                self.errors.append('%s: unknown doc-test key %r (why, substitute, save-as, in: checkout for a shell '
                                   'block)' % (self.where, key))
        if self.action == 'run' and self.kind not in ('playbook', 'tasks', 'shell'):
            self.errors.append('%s: only a playbook, a task list or a shell block can run; this one is %s: declare it '
                               'skip, with why' % (self.where, self.kind))
        if self.action == 'skip' and not self.why:
            self.errors.append('%s: a skipped block says why (doc-test: skip; why: ...)' % self.where)
        if self.action == 'skip' and (self.substitute or self.save_as):
            self.errors.append('%s: substitute and save-as are for blocks that run' % self.where)

    def applied(self, values):
        """The block's text with its declared substitutions, the placeholders given their values."""
        text = self.text
        for old, new in self.substitute.items():
            name, _sep, rest = new.partition('/')
            value = values['shell' if self.kind == 'shell' else 'yaml'][name]
            text = text.replace(old, value + ('/' + rest if rest else ''))
        return text


def page_blocks(page):
    """Every fenced block of a markdown page, with the doc-test declaration on the line before it (if any)."""
    lines = (REPO / page).read_text().split('\n')
    blocks, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, tag = match.groups()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[index + 1:end]]
        previous = index - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        declared = DECLARATION.match(lines[previous]) if previous >= 0 else None
        block = Block(page, index + 1, tag.lower(), '\n'.join(body) + '\n', declared.group(1) if declared else None)
        if block.kind in ('shell', 'yaml', 'tasks', 'playbook', 'rulebook') and declared is None:
            block.errors.append('%s: a %s block without a declaration: add <!-- doc-test: run --> or '
                                '<!-- doc-test: skip; why: ... --> on the line before it' % (block.where, block.kind))
        if block.kind == 'other' and tag.lower() in PARSERS:
            try:
                PARSERS[tag.lower()](block.text)
            except (ValueError, SyntaxError, configparser.Error) as error:
                block.errors.append('%s: the %s block does not parse: %s' % (block.where, tag, error))
        if block.kind == 'other' and tag.lower() not in OTHER_TAGS:
            block.errors.append('%s: a block tagged %r: tag it as one of %s, or teach test_docs_examples.py the tag'
                                % (block.where, tag, sorted(OTHER_TAGS | YAML_TAGS | SHELL_TAGS)))
        blocks.append(block)
        index = end + 1
    return blocks


def module_examples(module):
    """The EXAMPLES of a module as one Block (a task list), with its per-task declarations."""
    path = REPO / 'plugins' / 'modules' / (module + '.py')
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'EXAMPLES':
            block = Block('plugins/modules/%s.py' % module, node.lineno, 'yaml', node.value.value)
            block.declarations = EXAMPLE_DECLARATIONS.get(module)
            if block.declarations is None:
                block.errors.append('%s: EXAMPLES without declarations: add %r to EXAMPLE_DECLARATIONS in '
                                    'tests/integration/test_docs_examples.py' % (block.where, module))
                return block
            names = [task.get('name') for task in block.data or []]
            declared = block.declarations['tasks']
            for name in names:
                if name not in declared:
                    block.errors.append('%s: the example %r has no declaration in EXAMPLE_DECLARATIONS' % (block.where, name))
            for name in declared:
                if name not in names:
                    block.errors.append('%s: EXAMPLE_DECLARATIONS names %r, which EXAMPLES does not have' % (block.where, name))
            for name, declaration in declared.items():
                for old in (declaration.get('substitute', {}) if isinstance(declaration, dict) else {}):
                    if old not in block.text:
                        block.errors.append('%s: substitute %r: the examples do not hold it' % (block.where, old))
            return block
    raise AssertionError('%s has no EXAMPLES' % path)


def example_tasks(block):
    """(task, declaration) of each example task of a module's EXAMPLES."""
    return [(task, block.declarations['tasks'].get(task.get('name'), 'run')) for task in block.data]


def all_blocks():
    blocks = [block for page in PAGES for block in page_blocks(page)]
    return blocks + [module_examples(module) for module in MODULES]


# --------------------------------------------------------------------------------------------------------------
# the summary
# --------------------------------------------------------------------------------------------------------------

RUN_ID = uuid.uuid4().hex  # this pytest process; xdist workers share their run's testrunuid instead


def _record(config, key, value):
    """Keep one part of the counts, and write every part of this pytest run to OUTPUT. Under xdist the tests of this
    file run in several workers: each writes its part, then the merge of the run's parts (written atomically)."""
    run_id = getattr(config, 'workerinput', {}).get('testrunuid', RUN_ID)
    parts = OUTPUT.parent / 'doc-blocks.parts'
    parts.mkdir(parents=True, exist_ok=True)
    (parts / (re.sub(r'[^A-Za-z0-9]+', '-', key) + '.json')).write_text(json.dumps({'run': run_id, key: value}))
    merged = {}
    for path in sorted(parts.glob('*.json')):
        part = json.loads(path.read_text())
        if part.pop('run', None) == run_id:
            merged.update(part)
    scratch = OUTPUT.with_name('.%s.%s' % (OUTPUT.name, os.getpid()))
    scratch.write_text(json.dumps(merged, indent=2, sort_keys=True) + '\n')
    os.replace(str(scratch), str(OUTPUT))


def write_summary(reporter):
    """The counts of this run, at the end of pytest's report (conftest.py's terminal summary, in the main process, so
    also under xdist, whose workers' output pytest does not show)."""
    if not OUTPUT.exists():
        return
    summary = json.loads(OUTPUT.read_text())
    reporter.write_line('')
    reporter.write_line('doc blocks (also in %s):' % OUTPUT.relative_to(REPO))
    static = dict(summary.get('static', {}))
    skipped = static.pop('skipped (markdown blocks and example tasks), by reason', {})
    for key, value in static.items():
        reporter.write_line('  %s: %s' % (key, value))
    runs = {k[4:]: v['ran'] for k, v in summary.items() if k.startswith('run ')}
    pages = sum(len(v) for k, v in runs.items() if k.endswith('.md'))
    tasks = sum(len(v) for k, v in runs.items() if not k.endswith('.md'))
    if runs:
        reporter.write_line('  run against the emulator: %d markdown blocks, %d example tasks (%s)' % (
            pages, tasks, ', '.join('%s %d' % (k, len(v)) for k, v in sorted(runs.items()))))
    reporter.write_line('  skipped: %d (markdown blocks and example tasks), by reason:' % sum(skipped.values()))
    for why, count in sorted(skipped.items(), key=lambda item: (-item[1], item[0])):
        reporter.write_line('    %2d  %s' % (count, why))


# --------------------------------------------------------------------------------------------------------------
# static checks: declarations, syntax check, lint
# --------------------------------------------------------------------------------------------------------------

def _wrap(tasks, name):
    return [{'name': name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]


def _wrapped_text(block):
    """A task list in a play on localhost, its text kept as written (lint reads its lines 6 and on)."""
    lines = [line for line in block.text.splitlines(True) if line.rstrip() != '---']
    body = ''.join(('    ' + line if line.strip() else line) for line in lines)
    return '''---
- name: Doc block %s
  hosts: localhost
  gather_facts: false
  tasks:
%s''' % (block.where, body)


def _document(text):
    """A YAML file as ansible-lint wants it: starting with ---."""
    return text if text.startswith('---') else '---\n' + text


def _foreign_modules(blocks):
    """Modules of collections other than ansible.builtin and astra.devops that the blocks use (awx.awx...)."""
    found = set()

    def walk(tasks):
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            for key in task:
                if key.count('.') == 2 and not key.startswith(('ansible.builtin.', 'astra.devops.')):
                    found.add(key)
            for nested in ('block', 'rescue', 'always', 'tasks', 'pre_tasks', 'post_tasks', 'handlers'):
                walk(task.get(nested))

    for block in blocks:
        walk(block.data if block.kind in ('tasks', 'playbook') else [])
    return sorted(found)


def _stub_collections(root, modules):
    """A collections folder holding a do-nothing module for each foreign module, for the syntax check."""
    for fqcn in modules:
        namespace, collection, name = fqcn.split('.')
        folder = root / 'ansible_collections' / namespace / collection
        (folder / 'plugins' / 'modules').mkdir(parents=True, exist_ok=True)
        (folder / 'galaxy.yml').write_text('namespace: %s\nname: %s\nversion: 0.0.0\n' % (namespace, collection))
        (folder / 'plugins' / 'modules' / (name + '.py')).write_text('# a stub for the syntax check\n')
    return root


def _run(cmd, cwd, env, timeout=300):
    return subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_every_doc_block_is_declared_syntax_checked_and_linted(tmp_path, _collections, request):
    blocks = all_blocks()
    errors = [error for block in blocks for error in block.errors]
    assert not errors, 'doc blocks that are not declared or not well declared:\n  ' + '\n  '.join(errors)

    folder = tmp_path / 'extracted'
    (folder / 'playbooks').mkdir(parents=True)
    (folder / 'rulebooks').mkdir()
    playbooks, rulebooks, skipped = [], [], Counter()
    for block in blocks:
        if block.kind in ('tasks', 'playbook'):
            path = folder / 'playbooks' / (block.slug + '.yml')
            text = block.text if block.kind == 'playbook' else _wrapped_text(block)
            path.write_text(_document(text))
            playbooks.append((block, path))
        elif block.kind == 'rulebook':
            path = folder / 'rulebooks' / (block.slug + '.yml')
            path.write_text(_document(block.text))
            rulebooks.append((block, path))
        if hasattr(block, 'declarations'):
            for _task, declaration in example_tasks(block):
                if isinstance(declaration, dict) and 'skip' in declaration:
                    skipped[declaration['skip']] += 1
        elif block.action == 'skip':
            skipped[block.why] += 1

    env = dict(os.environ, PATH='%s:%s' % (BIN, os.environ.get('PATH', '')), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_HOME=str(tmp_path / 'ansible-home'))
    for key in [k for k in env if k.startswith('ASTRA_') or k == 'ANSIBLE_CONFIG']:
        del env[key]
    foreign = _foreign_modules([block for block, _path in playbooks])
    stubs = _stub_collections(tmp_path / 'stubs', foreign)

    # the syntax check: one call for every playbook; on a failure, each alone, to name the block
    check_env = dict(env, ANSIBLE_COLLECTIONS_PATH='%s:%s' % (_collections, stubs))
    base = [str(BIN / 'ansible-playbook'), '-i', 'localhost,', '--syntax-check']
    proc = _run(base + [str(path) for _block, path in playbooks], folder, check_env)
    if proc.returncode:
        failed = []
        for block, path in playbooks:
            one = _run(base + [str(path)], folder, check_env)
            if one.returncode:
                failed.append('%s:\n%s' % (block.where, (one.stdout + one.stderr).strip()))
        assert not failed, 'ansible-playbook --syntax-check fails on:\n' + '\n'.join(failed)
        raise AssertionError('the syntax check of all the playbooks failed, each alone passes:\n' + proc.stdout + proc.stderr)

    # lint: one call over the folder, with the project's profile; foreign modules mocked
    project = yaml.safe_load((REPO / '.ansible-lint').read_text())
    config = {'profile': project['profile'], 'offline': True, 'mock_modules': foreign}
    (folder / '.ansible-lint').write_text(yaml.safe_dump(config))
    lint_env = dict(env, ANSIBLE_COLLECTIONS_PATH=str(_collections))
    proc = _run([str(BIN / 'ansible-lint'), '--nocolor', '-c', str(folder / '.ansible-lint'),
                 '--project-dir', str(folder), 'playbooks', 'rulebooks'], folder, lint_env, timeout=600)
    names = {block.slug: block.where for block, _path in playbooks + rulebooks}
    output = proc.stdout + proc.stderr
    for slug, where in names.items():
        output = output.replace(slug + '.yml', slug + '.yml (%s)' % where)
    assert proc.returncode == 0, 'ansible-lint (profile %s) fails on doc blocks:\n%s' % (project['profile'], output)
    linted = len(playbooks) + len(rulebooks)
    assert 'in %d files processed' % linted in output and "'%s' was required, and it passed" % project['profile'] \
        in output, 'ansible-lint did not lint the %d extracted files:\n%s' % (linted, output)

    pages = [block for block in blocks if not hasattr(block, 'declarations')]
    examples = [block for block in blocks if hasattr(block, 'declarations')]
    _record(request.config, 'static', {
        'markdown blocks found': len(pages),
        'markdown blocks by tag': dict(sorted(Counter(b.tag or 'untagged' for b in pages).items())),
        'module EXAMPLES': '%d modules, %d tasks' % (len(examples), sum(len(b.data) for b in examples)),
        'syntax-checked and linted': '%d markdown playbooks or task lists, %d EXAMPLES (all their tasks)' % (
            len(playbooks) - len(examples), len(examples)),
        'rulebooks linted': len(rulebooks),
        'other YAML, parsed': len([b for b in pages if b.kind == 'yaml']),
        'not code (by tag)': dict(sorted(Counter(b.tag for b in pages if b.kind == 'other').items())),
        'not code, parsed': len([b for b in pages if b.kind == 'other' and b.tag in PARSERS]),
        'skipped (markdown blocks and example tasks), by reason': dict(skipped),
    })


# --------------------------------------------------------------------------------------------------------------
# runs against the emulator
# --------------------------------------------------------------------------------------------------------------

def _runnable_sources():
    sources = []
    for page in PAGES:
        if any(block.action == 'run' for block in page_blocks(page)):
            sources.append(page)
    for module in MODULES:
        declared = EXAMPLE_DECLARATIONS.get(module, {}).get('tasks', {})
        if any(not (isinstance(d, dict) and 'skip' in d) for d in declared.values()):
            sources.append('plugins/modules/%s.py' % module)
    return sources


def _values(tmp, emu, database_id):
    common = {'TMP': str(tmp), 'EMULATOR_URL': emu.url, 'DATABASE_ID': database_id,
              'MEMBER_ORG_ID': emu.state()['org_ids']['second'], 'MEMBER_ROLE_ID': emu.role_id('R/W Svc Acct')}
    return {
        'yaml': dict(common, CALLER_TOKEN="{{ lookup('ansible.builtin.env', 'ASTRA_API_TOKEN') }}"),
        'shell': dict(common, CALLER_TOKEN='"$ASTRA_API_TOKEN"'),
    }


@pytest.mark.parametrize('source', _runnable_sources())
def test_doc_blocks_run_against_the_emulator(source, emu, run_playbook, tmp_path, request):
    work = tmp_path / 'work'
    work.mkdir()
    database_id = emu.database('orders')['id']
    read_write = emu.role_id('R/W Svc Acct')
    emu.seed(count=2, description='old-batch-job', roles=[read_write], age_days=200)
    emu.seed(count=1, description='reporting-agent', roles=[read_write], age_days=80, expires_in_days=10)
    values = _values(work, emu, database_id)
    extra_env = {}
    plays, shells, ran = [], [], []
    declared_files = set()  # TMP/<path> of the substitutions: the files a block may write a token to (mode 0600)
    if source.endswith('.md'):
        for block in page_blocks(source):
            if block.action != 'run':
                continue
            text = block.applied(values)
            declared_files.update(_tmp_paths(block.substitute.values(), work))
            if block.save_as:
                (work / block.save_as).write_text(text)
            if block.kind == 'shell':
                shells.append((block, text))
            elif block.kind in ('playbook', 'tasks'):
                data = yaml.safe_load(text)
                plays.extend(data if block.kind == 'playbook' else _wrap(data, 'Doc block ' + block.where))
            else:
                raise AssertionError('%s: a %s block cannot run: declare it skip, with why' % (block.where, block.kind))
            ran.append(block.where)
    else:
        block = module_examples(Path(source).stem)
        tasks = [json.loads(json.dumps(task).replace('TMP/', str(work) + '/')) for task in block.declarations.get('given', [])]
        for task, declaration in example_tasks(block):
            if isinstance(declaration, dict) and 'skip' in declaration:
                continue
            if isinstance(declaration, dict):
                declared_files.update(_tmp_paths(declaration['substitute'].values(), work))
                text = json.dumps(task)
                for old, new in declaration['substitute'].items():
                    name, _sep, rest = new.partition('/')
                    text = text.replace(old, values['yaml'][name] + ('/' + rest if rest else ''))
                task = json.loads(text)
                if declaration.get('caller') == 'enterprise':
                    enterprise = emu.mint(org='enterprise', roles=['Enterprise Administrator'], description='enterprise')
                    extra_env['DOC_TEST_ENTERPRISE_TOKEN'] = enterprise['token']
                    task['environment'] = {'ASTRA_API_TOKEN': "{{ lookup('ansible.builtin.env', "
                                                              "'DOC_TEST_ENTERPRISE_TOKEN') }}"}
            tasks.append(task)
            ran.append('%s: %s' % (source, task['name']))
        plays = _wrap(tasks, 'Examples of ' + source)

    declared_files.update(_tmp_paths(re.findall(r'TMP/[^"\s]+', json.dumps(block_given(source))), work))
    allowed = _Allowed(declared_files)
    if plays:
        playbook = tmp_path / 'doc-blocks.yml'
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False, width=1000))
        # the files the substitutions name under TMP may hold a token (mode 0600 only: the scanner checks it)
        run_playbook(playbook, verbosity=1, extra_args=['--diff'], allowed_secret_files=allowed,
                     extra_env=extra_env)
    for block, text in shells:
        env = {'PATH': '%s:%s' % (BIN, os.environ.get('PATH', '')), 'HOME': str(work / 'home'), 'PIP_NO_INDEX': '1',
               'PIP_DISABLE_PIP_VERSION_CHECK': '1'}
        (work / 'home').mkdir(exist_ok=True)
        folder = work
        if block.in_checkout:
            folder = _checkout_copy(work / 'checkout')
            env['ANSIBLE_COLLECTIONS_PATH'] = None
        run_playbook.run_tool(['bash', '-euo', 'pipefail', '-c', 'cd %s\n%s' % (_quote(folder), text)],
                              extra_env=env, allowed_secret_files=allowed)
    assert ran
    _record(request.config, 'run ' + source, {'ran': ran})


class _Allowed:  # pylint: disable=too-few-public-methods
    """allowed_secret_files: the declared files that exist when the scanner reads it (after the run made them)."""

    def __init__(self, paths):
        self.paths = paths

    def __iter__(self):
        return iter([path for path in self.paths if path.exists()])


def _tmp_paths(values, work):
    return {work / value[4:] for value in values if value.startswith('TMP/')}


def block_given(source):
    """The given tasks of a module's examples (none for a page)."""
    return EXAMPLE_DECLARATIONS.get(Path(source).stem, {}).get('given', []) if source.endswith('.py') else []


def _checkout_copy(folder):
    """A copy of the working tree's tracked files (the checkout a user has), made once per test."""
    if not folder.exists():
        listed = subprocess.run(['git', 'ls-files', '-z'], cwd=str(REPO), capture_output=True, check=True).stdout
        for name in listed.decode().split('\0'):
            source = REPO / name
            if name and source.is_file():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(str(source), str(folder / name))
    return folder


def _quote(path):
    return "'%s'" % str(path).replace("'", "'\\''")
