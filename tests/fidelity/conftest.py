"""Fixtures for the emulator fidelity suites."""

import pytest

from tests import es_http
from tests.emulator.launcher import running_emulator

Response = es_http.Response


def call(url, method, path, body=None, headers=None, context=None, timeout=30):
    return es_http.request(url, method, path, body, headers, context, timeout)


class Client:
    def __init__(self, emu, headers=None):
        self.emu = emu
        self.url = emu.url
        self.headers = headers or {}
        self._major = None

    def major(self):
        if self._major is None:
            self._major = int(self('GET', '/').body['version']['number'].split('.')[0])
        return self._major

    def create_index(self, name, properties):
        """PUT <name> with these field mappings; 6.x wants them under a type (include_type_name defaults to true)."""
        mapping = {'properties': properties}
        resp = self('PUT', '/' + name, {'mappings': {'_doc': mapping} if self.major() == 6 else mapping})
        assert resp.status == 200, resp.body
        return resp

    def __call__(self, method, path, body=None, headers=None, timeout=30):
        merged = dict(self.headers)
        merged.update(headers or {})
        return call(self.url, method, path, body, merged, self.emu.ssl_context(), timeout)

    def put_job(self, job_id, base='/_ml', **extra):
        body = {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]}, 'data_description': {}}
        body.update(extra)
        resp = self('PUT', '%s/anomaly_detectors/%s' % (base, job_id), body)
        assert resp.status == 200, resp.body
        return resp

    def job_state(self, job_id, base='/_ml'):
        resp = self('GET', '%s/anomaly_detectors/%s/_stats' % (base, job_id))
        assert resp.status == 200, resp.body
        return resp.body['jobs'][0]['state']

    def put_datafeed(self, df_id, job_id, base='/_ml', index='data'):
        if self('GET', '/' + index).status == 404:
            self.create_index(index, {'time': {'type': 'date'}})  # put_job's time field
        resp = self('PUT', '%s/datafeeds/%s' % (base, df_id), {'job_id': job_id, 'indices': [index]})
        assert resp.status == 200, resp.body
        return resp

    def put_rollup(self, job_id, base='/_rollup', cron='*/30 * * * * ?', version=None):
        if version is not None and version >= (8, 15) and self('GET', '/dummy-rollup-index').status == 404:
            self('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'my-id': {}}}}})
        if self('GET', '/src').status == 404:
            self.create_index('src', {'ts': {'type': 'date'}, 'v': {'type': 'double'}})
        body = {'index_pattern': 'src', 'rollup_index': 'src_rollup', 'cron': cron, 'page_size': 10,
                # calendar_interval exists from 7.2; 6.x knows only `interval`.
                'groups': {'date_histogram': {'field': 'ts', ('interval' if self.major() == 6 else 'calendar_interval'): '1h'}},
                'metrics': [{'field': 'v', 'metrics': ['min', 'max']}]}
        resp = self('PUT', '%s/job/%s' % (base, job_id), body)
        assert resp.status == 200, resp.body
        return resp

    def rollup_state(self, job_id, base='/_rollup'):
        return self('GET', '%s/job/%s' % (base, job_id)).body['jobs'][0]['status']['job_state']


_CACHE = {}


@pytest.fixture(scope='session')
def emulators():
    """Session-wide emulators keyed by (version, security); reset per test by `emu_factory`."""
    stack = []
    yield _CACHE, stack
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)
    _CACHE.clear()


@pytest.fixture
def emu_factory(emulators):
    cache, stack = emulators

    def get(version='8.19.0', security=False, **timings):
        key = (version, security, tuple(sorted(timings.items())))
        if key not in cache:
            opts = {'close_seconds': 0.5, 'stop_seconds': 0.5, 'open_seconds': 0.1}
            opts.update(timings)
            ctx = running_emulator(version, security=security, **opts)
            cache[key] = ctx.__enter__()  # pylint: disable=unnecessary-dunder-call
            stack.append(ctx)
        emu = cache[key]
        emu.reset()
        return emu
    return get
