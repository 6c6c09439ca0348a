#!/usr/bin/env python
# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make galaxy-import: the checks Galaxy and Automation Hub run on every upload (galaxy-importer), on the built tarball.

    python tools/galaxy_import_check.py build/astra-devops-X.Y.Z.tar.gz

galaxy-importer skips (with a warning only) the checks whose tools are missing, so ansible-doc and ansible-lint must be
on PATH: this script puts the running Python's bin folder first. The import fails here on any ERROR or WARNING line,
as a reviewer of the upload would read them, and the importer's log stays in build/galaxy-import/importer.log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PROBLEM = re.compile(r'^(WARNING|ERROR)\b.*$', re.M)
SUCCESS = 'Importer processing completed successfully'
# The importer finds the namespace, name and version in the file name, so it must be exactly this.
TARBALL_NAME = re.compile(r'^[a-z0-9_]+-[a-z0-9_]+-\d+\.\d+\.\d+\S*\.tar\.gz$')


def main(argv):
    tarball = Path(argv[1]).resolve()
    if not TARBALL_NAME.match(tarball.name):
        sys.exit('galaxy-import: %s is not named namespace-name-version.tar.gz' % tarball.name)
    folder = tarball.parent / 'galaxy-import'
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    shutil.copy(tarball, folder)
    tools = str(Path(sys.executable).parent)
    for tool in ('ansible-doc', 'ansible-lint'):
        if not shutil.which(tool, path=tools):
            sys.exit('galaxy-import: %s is missing from %s: the importer would skip its checks' % (tool, tools))
    env = dict(os.environ, PATH=tools + os.pathsep + os.environ.get('PATH', ''))
    proc = subprocess.run([sys.executable, '-m', 'galaxy_importer.main', tarball.name], cwd=str(folder), env=env,
                          capture_output=True, text=True, check=False)
    log = proc.stdout + proc.stderr
    (folder / 'importer.log').write_text(log)
    problems = sorted({match.group(0) for match in PROBLEM.finditer(log)})
    print('\n'.join(log.rstrip().splitlines()[-3:]))
    if proc.returncode != 0 or problems or SUCCESS not in log:
        print('galaxy-import: the import of %s is not clean (exit %s, %d warning or error line(s); log: %s)' % (
            tarball.name, proc.returncode, len(problems), folder / 'importer.log'), file=sys.stderr)
        for line in problems:
            print('  ' + line, file=sys.stderr)
        return 1
    print('galaxy-import: %s imports with no warning or error' % tarball.name)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
