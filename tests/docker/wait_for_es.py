#!/usr/bin/env python
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until a freshly started Elasticsearch answers, is at least yellow and runs the trial license.

    wait_for_es.py [--timeout SECONDS] [--version X.Y.Z]    (ES_URL, ES_USERNAME, ES_PASSWORD from the environment)

With --version the cluster must also say it is that version (`GET /`), so a job never tests another container
than the one it started.

Exits 0 with one line naming the version and license, or 1 with one line saying what it waited for.
"""

from __future__ import absolute_import, division, print_function

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request


def get(url, path, username, password):
    request = urllib.request.Request(url.rstrip('/') + path)
    if username:
        token = base64.b64encode(('%s:%s' % (username, password or '')).encode()).decode()
        request.add_header('Authorization', 'Basic ' + token)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode('utf-8'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--timeout', type=float, default=300.0)
    parser.add_argument('--version', help='the version the cluster must report')
    args = parser.parse_args(argv)
    url = os.environ.get('ES_URL', 'http://127.0.0.1:9200')
    username, password = os.environ.get('ES_USERNAME'), os.environ.get('ES_PASSWORD')
    deadline = time.monotonic() + args.timeout
    last = 'no answer yet'
    while time.monotonic() < deadline:
        try:
            # The health API waits server-side; the license is generated once the cluster has formed.
            health = get(url, '/_cluster/health?wait_for_status=yellow&timeout=10s', username, password)
            license_info = get(url, '/_license', username, password).get('license', {})
            if health.get('status') in ('yellow', 'green') and license_info.get('type') == 'trial' \
                    and license_info.get('status') == 'active':
                version = get(url, '/', username, password)['version']['number']
                if args.version and version != args.version:
                    print('wait_for_es: %s answers as Elasticsearch %s, not %s' % (url, version, args.version))
                    return 1
                print('wait_for_es: Elasticsearch %s at %s is %s with an active trial license'
                      % (version, url, health['status']))
                return 0
            last = 'health %s, license %s/%s' % (health.get('status'), license_info.get('type'),
                                                 license_info.get('status'))
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            last = str(exc)
        time.sleep(2)
    print('wait_for_es: %s not ready with a trial license after %.0f s (%s)' % (url, args.timeout, last))
    return 1


if __name__ == '__main__':
    sys.exit(main())
