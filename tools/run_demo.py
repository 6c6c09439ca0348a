#!/usr/bin/env python
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run playbooks/demo.yml against a local Astra DevOps API emulator (standard library only).

    python tools/run_demo.py [extra ansible-playbook arguments, e.g. -v]

Starts the emulator (tests/emulator/control.py), runs the demo playbook with ASTRA_API_URL and ASTRA_API_TOKEN
pointing at it, checks that no secret the emulator issued appears in the output, stops the emulator and exits with
the playbook's return code (1 if a secret leaked).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / 'playbooks' / 'demo.yml'
sys.path.insert(0, str(REPO / 'tests' / 'emulator'))

from control import Emulator  # noqa: E402  pylint: disable=wrong-import-position,import-error


def say(text=''):
    print(textwrap.fill(text, 100) if text else '', flush=True)


def ansible_playbook():
    local = Path(sys.executable).parent / 'ansible-playbook'
    if local.exists():
        return str(local)
    found = shutil.which('ansible-playbook')
    if not found:
        sys.exit('ansible-playbook was not found: run `make demo`, which creates .venv with ansible-core.')
    return found


def collections_path():
    path = os.environ.get('ANSIBLE_COLLECTIONS_PATH') or str(REPO / '.ansible' / 'collections')
    if not any((Path(p) / 'ansible_collections' / 'astra' / 'devops').is_dir() for p in path.split(os.pathsep)):
        sys.exit('The collection astra.devops is not installed in %s: run `make demo`, which builds and installs it.'
                 % path)
    return path


def run_playbook(emu, extra_args):
    env = dict(os.environ)
    env.update({
        'ASTRA_API_URL': emu.url,
        'ASTRA_API_TOKEN': emu.admin_token,
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
    })
    cmd = [ansible_playbook(), '-i', 'localhost,', str(PLAYBOOK)] + list(extra_args)
    output = []
    with subprocess.Popen(cmd, env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        for line in proc.stdout:
            output.append(line)
            sys.stdout.write(line)
        sys.stdout.flush()
        return proc.wait(), ''.join(output)


def leaked(emu, output):
    """The issued secrets (and the secret half of each token) that appear in the output."""
    found = []
    for secret in emu.secrets():
        pieces = [secret] + ([secret.rsplit(':', 1)[-1]] if secret.startswith('AstraCS:') else [])
        if any(piece and piece in output for piece in pieces):
            found.append(secret)
    return found


def main(argv):
    with Emulator() as emu:
        say('Started a local Astra API emulator at %s. It behaves like the Astra DevOps API at '
            'https://api.astra.datastax.com, with one organisation and the administrator token a person would '
            'create in the Astra portal; the playbook receives both through ASTRA_API_URL and ASTRA_API_TOKEN.'
            % emu.url)
        say()
        say('Running %s: create a token for an example application, run the same task again to show it changes '
            'nothing, list tokens and roles, delete the token and check it is gone.' % PLAYBOOK.relative_to(REPO))
        rc, output = run_playbook(emu, argv)
        counts = emu.counts()
        leaks = leaked(emu, output)
        issued = len(emu.secrets())
    say()
    if leaks:
        print('!' * 100)
        say('SECRET LEAK: %d secret(s) issued by the emulator appeared in the demo output above. '
            'This is a bug: no astra.devops task may print a secret.' % len(leaks))
        print('!' * 100)
        return 1
    if rc != 0:
        say('The demo playbook failed (ansible-playbook exit code %d); see the task that failed above.' % rc)
        return rc
    calls = ', '.join('%s x%d' % (route, n) for route, n in sorted(counts.items()) if n)
    say('Done: the playbook created the token "demo: inventory-service", showed that a second run changes nothing, '
        'listed the tokens and roles, then deleted the token and confirmed it is gone. The API calls it made: %s. '
        'None of the %d secrets the emulator issued appeared in the output. The emulator is stopped.'
        % (calls, issued))
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
