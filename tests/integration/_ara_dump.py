# Copyright (c) astra.devops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read back everything ARA recorded under ARA_BASE_DIR, through ARA's own offline client (the database stores
result contents, files and facts compressed), and write it as JSON to the file named by the only argument:
{endpoint: [the detail record of every object]}.

A separate process: ARA configures Django from ARA_BASE_DIR once, when it is first imported.
Usage: ARA_BASE_DIR=DIR python _ara_dump.py OUT.json"""

from __future__ import annotations

import json
import sys

ENDPOINTS = ('playbooks', 'plays', 'tasks', 'hosts', 'results', 'files', 'records', 'labels')
PAGE = 500


def listing(client, endpoint):
    """Every object of an endpoint, page after page."""
    items, offset = [], 0
    while True:
        page = client.get('/api/v1/%s' % endpoint, limit=PAGE, offset=offset)
        items.extend(page['results'])
        offset += PAGE
        if not page.get('next'):
            return items


def main(out):
    from ara.clients.offline import AraOfflineClient  # pylint: disable=import-outside-toplevel
    client = AraOfflineClient(run_sql_migrations=False)
    dump = {}
    for endpoint in ENDPOINTS:
        # The listing leaves out the big fields (contents, facts, arguments): read each object's detail too.
        dump[endpoint] = [client.get('/api/v1/%s/%s' % (endpoint, item['id'])) for item in listing(client, endpoint)]
    with open(out, 'w', encoding='utf-8') as handle:
        json.dump(dump, handle, indent=1, sort_keys=True)


if __name__ == '__main__':
    main(sys.argv[1])
