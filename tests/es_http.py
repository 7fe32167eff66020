"""The one HTTP helper of the test tooling (stdlib only): fidelity, reliability, benchmarks and the emulator launcher
send their fixture and control requests through `request`. Modules never use it (they have plugins/module_utils/_client).

It sends exactly what it is given: a dict body is JSON, `bytes`/`str` go as written (strict-parser tests depend on
the exact text), and it never raises for an HTTP status, so a test can assert Elasticsearch's error body.
"""

import json
import time
import urllib.error
import urllib.request


class Response:
    """status, parsed JSON body (None when empty, the text when not JSON), and the response headers."""

    def __init__(self, status, raw, headers):
        self.status = status
        self.raw = raw
        self.headers = headers
        try:
            self.body = json.loads(raw) if raw else None
        except ValueError:
            self.body = raw.decode('utf-8', 'replace')

    def warnings(self):
        return self.headers.get_all('Warning') or []

    def error(self):
        return self.body['error']

    def expect(self, *ok, what=''):
        """The body when the status is one of `ok` (default 200/201), else an AssertionError naming the request."""
        if self.status not in (ok or (200, 201)):
            raise AssertionError('%s -> HTTP %d %s' % (what or 'request', self.status, self.raw[:500].decode('utf-8', 'replace')))
        return self.body


def request(url, method, path, body=None, headers=None, context=None, timeout=30, connect_retries=0):
    """One HTTP request to `url` + `path`; a refused or reset connection is retried `connect_retries` times (it was
    never processed, so sending it again is safe: the emulator's listen backlog is small under load)."""
    if body is None or isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode('utf-8')
    else:
        data = json.dumps(body).encode('utf-8')
    all_headers = {'Content-Type': 'application/json'}
    all_headers.update(headers or {})
    for attempt in range(connect_retries + 1):
        req = urllib.request.Request(url.rstrip('/') + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
                return Response(resp.status, resp.read(), resp.headers)
        except urllib.error.HTTPError as err:
            return Response(err.code, err.read(), err.headers)
        except (ConnectionError, urllib.error.URLError):
            if attempt == connect_retries:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError('unreachable')
