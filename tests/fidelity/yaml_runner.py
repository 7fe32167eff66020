"""A runner for the subset of the Elasticsearch YAML REST test DSL used by the ml/ and rollup/ suites."""

import glob
import json
import os
import re
import urllib.parse

import yaml

from .conftest import call

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.path.join(REPO_ROOT, '..', 'shared', 'reference', 'es-rest-spec', 'elastic')
TEST_DIR = os.path.join(REFERENCE, 'elasticsearch', 'x-pack', 'plugin', 'src', 'yamlRestTest', 'resources', 'rest-api-spec', 'test')
SUPPORTED_FEATURES = {'warnings', 'allowed_warnings', 'headers', 'contains', 'warnings_regex'}

# APIs used by the tests whose JSON spec is not among the reference copies: method + path templates (from the ES REST docs).
FALLBACK_APIS = {
    'ml.put_job': ('PUT', ['/_ml/anomaly_detectors/{job_id}']),
    'ml.put_datafeed': ('PUT', ['/_ml/datafeeds/{datafeed_id}']),
    'ml.get_datafeeds': ('GET', ['/_ml/datafeeds/{datafeed_id}', '/_ml/datafeeds']),
    'ml.update_job': ('POST', ['/_ml/anomaly_detectors/{job_id}/_update']),
    'ml.update_datafeed': ('POST', ['/_ml/datafeeds/{datafeed_id}/_update']),
    'indices.create': ('PUT', ['/{index}']),
    'indices.delete': ('DELETE', ['/{index}']),
    'indices.refresh': ('POST', ['/{index}/_refresh', '/_refresh']),
    'cluster.put_settings': ('PUT', ['/_cluster/settings']),
    'cluster.health': ('GET', ['/_cluster/health/{index}', '/_cluster/health']),
}


class SkipTest(Exception):
    pass


def load_api_specs(spec_branch):
    """Map API name -> (methods, [paths]) from the rest-api-spec JSON copies (ES repo first, then the spec branch)."""
    apis = {}
    dirs = [os.path.join(REFERENCE, 'elasticsearch-specification', spec_branch, 'specification', '_json_spec'),
            os.path.join(REFERENCE, 'elasticsearch', 'rest-api-spec', 'src', 'main', 'resources', 'rest-api-spec', 'api')]
    for directory in dirs:
        for path in glob.glob(os.path.join(directory, '*.json')):
            with open(path, encoding='utf-8') as handle:
                for name, spec in json.load(handle).items():
                    apis[name] = (spec['url']['paths'][0]['methods'], [p['path'] for p in spec['url']['paths']])
    for name, (method, paths) in FALLBACK_APIS.items():
        apis.setdefault(name, ([method], paths))
    return apis


def parse_version_range(text, version):
    text = str(text).strip()
    if text == 'all':
        return True
    for part in text.split(','):
        low, _sep, high = part.partition('-')
        low, high = low.strip(), high.strip()
        lo = tuple(int(x) for x in low.split('.')[:3]) if low else (0, 0, 0)
        hi = tuple(int(x) for x in high.split('.')[:3]) if high else (99, 99, 99)
        if lo <= version <= hi:
            return True
    return False


def load_suite(path):
    with open(path, encoding='utf-8') as handle:
        docs = [d for d in yaml.safe_load_all(handle) if d]
    setup, teardown, tests = [], [], []
    for doc in docs:
        for name, steps in doc.items():
            if name == 'setup':
                setup = steps
            elif name == 'teardown':
                teardown = steps
            else:
                tests.append((name, steps))
    return setup, teardown, tests


class Runner:
    def __init__(self, emu, version, apis, unsupported_apis):
        self.emu = emu
        self.version = version
        self.apis = apis
        self.unsupported = unsupported_apis
        self.stash = {}
        self.last = None

    # ---------------------------------------------------------- values
    def resolve(self, value):
        if isinstance(value, str):
            if value.startswith('$') and value[1:] in self.stash:
                return self.stash[value[1:]]
            return re.sub(r'\$\{(\w+)\}', lambda m: str(self.stash[m.group(1)]), value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {self.resolve(k): self.resolve(v) for k, v in value.items()}
        return value

    def lookup(self, path):
        body = self.last.body
        if path in ('$body', ''):
            return body
        parts = [p.replace('\0', '.') for p in path.replace('\\.', '\0').split('.')]
        value = body
        for part in parts:
            part = self.resolve(part)
            if isinstance(value, list):
                try:
                    value = value[int(part)]
                except (ValueError, IndexError):
                    return None
            elif isinstance(value, dict):
                if part not in value:
                    return None
                value = value[part]
            else:
                return None
        return value

    # ---------------------------------------------------------- steps
    def check_skip(self, spec):
        if spec.get('awaits_fix'):
            raise SkipTest('awaits_fix: %s' % spec['awaits_fix'])
        features = spec.get('features', [])
        if isinstance(features, str):
            features = [features]
        missing = [f for f in features if f not in SUPPORTED_FEATURES]
        if missing:
            raise SkipTest('unsupported features %s' % missing)
        if 'version' in spec and parse_version_range(spec['version'], self.version):
            raise SkipTest('version %s: %s' % (spec['version'], spec.get('reason', '')))

    def run_steps(self, steps):
        for step in steps:
            (kind, arg), = step.items()
            getattr(self, 'step_' + kind)(arg)

    def step_skip(self, spec):
        self.check_skip(spec)

    def step_requires(self, spec):
        self.check_skip(spec)

    def step_do(self, spec):
        spec = dict(spec)
        catch = spec.pop('catch', None)
        expected_warnings = spec.pop('warnings', []) or []
        allowed = spec.pop('allowed_warnings', []) or []
        regex_warnings = spec.pop('warnings_regex', []) or []
        headers = {k: str(v) for k, v in (spec.pop('headers', {}) or {}).items()}
        spec.pop('node_selector', None)
        (api, params), = spec.items()
        if api in self.unsupported:
            raise SkipTest('API %s is out of the emulator scope (%s)' % (api, self.unsupported[api]))
        if api not in self.apis:
            raise SkipTest('no REST spec for API %s' % api)
        params = self.resolve(dict(params or {}))
        methods, paths = self.apis[api]
        body = params.pop('body', None)
        chosen = None
        for template in sorted(paths, key=lambda p: -p.count('{')):
            parts = re.findall(r'\{(\w+)\}', template)
            if all(p in params for p in parts):
                chosen = template
                break
        if chosen is None:
            raise AssertionError('no path of %s fits params %s' % (api, sorted(params)))
        path = chosen
        for part in re.findall(r'\{(\w+)\}', chosen):
            value = params.pop(part)
            value = ','.join(value) if isinstance(value, list) else str(value)
            path = path.replace('{%s}' % part, urllib.parse.quote(value, safe=',*'))
        query = {}
        for key, value in params.items():
            if isinstance(value, bool):
                value = str(value).lower()
            elif isinstance(value, list):
                value = ','.join(str(v) for v in value)
            query[key] = str(value)
        method = methods[0]
        if body is not None and method == 'GET' and 'POST' in methods:
            method = 'POST'
        if query:
            path += '?' + urllib.parse.urlencode(query)
        if isinstance(body, str):
            body = json.loads(body)
        self.last = call(self.emu.url, method, path, body, headers)
        self.stash['body'] = self.last.body
        status = self.last.status
        text = json.dumps(self.last.body)
        if catch is None:
            assert status < 400, '%s %s -> %d %s' % (method, path, status, text)
        elif catch.startswith('/'):
            assert status >= 400, '%s %s expected an error matching %s, got %d' % (method, path, catch, status)
            assert re.search(catch.strip('/'), text), '%s %s: %s does not match %s' % (method, path, text, catch)
        else:
            codes = {'missing': 404, 'conflict': 409, 'bad_request': 400, 'unauthorized': 401, 'forbidden': 403,
                     'request_timeout': 408, 'unavailable': 503}
            if catch == 'param':
                raise SkipTest('catch: param is a client-side validation')
            if catch == 'request':
                assert status >= 400 and status not in (400, 401, 403, 404, 408, 409), '%s %s -> %d' % (method, path, status)
            else:
                assert status == codes[catch], '%s %s expected %s got %d %s' % (method, path, catch, status, text)
        got = [m.group(1).replace('\\"', '"') for w in (self.last.headers.get_all('Warning') or [])
               for m in [re.match(r'^299 Elasticsearch-\S+ "((?:[^"\\]|\\.)*)"', w)] if m]
        for message in expected_warnings:
            assert message in got, 'expected warning %r, got %r' % (message, got)
        for message in got:
            assert (message in expected_warnings or message in allowed or any(re.search(r, message) for r in regex_warnings)), \
                'unexpected warning %r on %s %s' % (message, method, path)

    def _compare(self, actual, expected):
        expected = self.resolve(expected)
        if isinstance(expected, str) and len(expected) > 1 and expected.startswith('/') and expected.rstrip().endswith('/'):
            return actual is not None and re.search(expected.strip()[1:-1], str(actual), re.X) is not None
        if isinstance(expected, float) or isinstance(actual, float):
            try:
                return float(actual) == float(expected)
            except (TypeError, ValueError):
                return False
        return actual == expected

    def step_match(self, spec):
        for path, expected in spec.items():
            actual = self.lookup(path)
            assert self._compare(actual, expected), 'match %s: %r != %r' % (path, actual, expected)

    def step_is_true(self, path):
        value = self.lookup(path)
        assert value not in (None, False, '', 'false', 0) and value != [] and value != {}, 'is_true %s: %r' % (path, value)

    def step_is_false(self, path):
        value = self.lookup(path)
        assert value in (None, False, '', 'false', 0) or value == [] or value == {}, 'is_false %s: %r' % (path, value)

    def step_length(self, spec):
        for path, expected in spec.items():
            value = self.lookup(path)
            assert value is not None and len(value) == self.resolve(expected), 'length %s: %r' % (path, value)

    def _numeric(self, spec, op, name):
        for path, expected in spec.items():
            value = self.lookup(path)
            assert value is not None and op(float(value), float(self.resolve(expected))), '%s %s: %r vs %r' % (name, path, value, expected)

    def step_gt(self, spec):
        self._numeric(spec, lambda a, b: a > b, 'gt')

    def step_gte(self, spec):
        self._numeric(spec, lambda a, b: a >= b, 'gte')

    def step_lt(self, spec):
        self._numeric(spec, lambda a, b: a < b, 'lt')

    def step_lte(self, spec):
        self._numeric(spec, lambda a, b: a <= b, 'lte')

    def step_set(self, spec):
        for path, name in spec.items():
            self.stash[name] = self.lookup(path)

    def step_contains(self, spec):
        for path, expected in spec.items():
            value = self.lookup(path)
            assert value is not None and self.resolve(expected) in value, 'contains %s: %r' % (path, value)
