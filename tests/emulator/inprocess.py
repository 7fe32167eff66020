"""The emulator in the test's own process: no socket, no thread, a manual clock.

`InProcessEmulator` is what `launcher.Emulator` is for a subprocess: the same control calls, plus an `open_url`
stand-in (`opener`) that hands the collection's HTTP client requests straight to `App.handle`, the one dispatch
path the socket server uses too. Requests answer in zero real time; whatever a request waits for (open, close,
stop, wait_for_completion) advances the shared ManualClock instead.
"""

import base64
import io
import json
import socket
from http.client import HTTPMessage, RemoteDisconnected, responses
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from .clock import ManualClock
from .control_calls import ControlCalls
from .server import DROP_CONNECTION, App
from .state import Cluster, Timings
from .versions import Personality

#: the personalities the collection supports (docs/design.md), for parametrizing tests over every one
SUPPORTED_VERSIONS = ('6.8.23', '7.13.4', '7.14.2', '7.17.28', '8.19.3', '9.1.5')


class InProcessResponse:
    """What open_url returns: getcode(), read(), headers (an http.client.HTTPMessage)."""

    def __init__(self, url, status, headers, payload):
        self.url = url
        self.status = status
        self.headers = headers
        self._payload = io.BytesIO(payload)

    def getcode(self):
        return self.status

    def read(self, *args):
        return self._payload.read(*args)

    def info(self):
        return self.headers

    def close(self):
        pass


def http_message(pairs):
    message = HTTPMessage()
    for name, value in pairs:
        message[name] = value
    return message


class InProcessEmulator(ControlCalls):
    """One emulated cluster. `url` is the address the collection's client is given (never resolved)."""

    def __init__(self, version='8.19.3', security=False, clock=None, host='es.test:9200', timings=None,
                 cluster_name='elasticsearch', ml_max_model_memory_limit=None):
        self.version = version
        self.clock = clock or ManualClock()
        self.cluster = Cluster(Personality(version), timings or Timings(), cluster_name, ml_max_model_memory_limit,
                               clock=self.clock)
        self.app = App(self.cluster, security)
        self.personality = self.app.pers
        self.host = host
        self.url = 'http://' + host
        self.security = security
        # Another client acting while the code under test runs: on_request(method, path) is called before each
        # request of the code under test reaches the cluster (set-up calls through call() do not trigger it).
        self.on_request = None

    # ------------------------------------------------------------------ transport
    def opener(self, url, data=None, headers=None, method='GET', timeout=None, url_username=None, url_password=None,
               force_basic_auth=False, http_agent=None, **_ignored):
        """open_url(...) as ansible.module_utils.urls has it, answered by App.handle: non-2xx raise HTTPError,
        a dropped connection or a wait past `timeout` raise URLError, like the socket path."""
        parts = urlsplit(url)
        sent = dict(headers or {})
        if url_username and force_basic_auth:
            token = base64.b64encode(('%s:%s' % (url_username, url_password or '')).encode('utf-8')).decode('ascii')
            sent['Authorization'] = 'Basic ' + token
        if http_agent:
            sent.setdefault('User-Agent', http_agent)
        if isinstance(data, str):
            data = data.encode('utf-8')
        if data:
            sent['Content-Length'] = str(len(data))
        uri = (parts.path or '/') + ('?' + parts.query if parts.query else '')
        if self.on_request is not None:
            self.on_request(method.upper(), parts.path or '/')
        started = self.clock.monotonic()
        status, response_headers, payload = self.app.handle(method.upper(), uri, sent, data or b'')
        if status == DROP_CONNECTION:
            raise URLError(RemoteDisconnected('Remote end closed connection without response'))
        if timeout and self.clock.monotonic() - started > timeout:
            # The server kept the request longer than the client's read timeout: the socket would time out.
            raise URLError(socket.timeout('timed out'))
        message = http_message(response_headers)
        if status >= 400:
            raise HTTPError(url, status, responses.get(status, ''), message, io.BytesIO(payload))
        return InProcessResponse(url, status, message, payload)

    # ------------------------------------------------------------------ public ES APIs (for test set-up)
    def call(self, method, path, body=None, params=None, user=None, headers=None, log=False):
        """Send one request as a test's set-up step; returns (status, decoded body). Its request-log entry is
        removed unless `log` (so `requests()` lists what the code under test sent). `user` = Basic auth as that
        emulator user (password changeme) when security is on; default elastic."""
        sent = {'Content-Type': 'application/json', 'Accept': 'application/json'}
        if self.security:
            token = base64.b64encode(('%s:changeme' % (user or 'elastic')).encode()).decode()
            sent['Authorization'] = 'Basic ' + token
        sent.update(headers or {})
        data = b''
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode('utf-8')
        uri = path + ('?' + urlencode(params) if params else '')
        logged = len(self.cluster.request_log)
        status, _headers, payload = self.app.handle(method, uri, sent, data)
        if not log:
            del self.cluster.request_log[logged:]
        try:
            decoded = json.loads(payload) if payload else None
        except ValueError:
            decoded = payload.decode('utf-8', 'replace')
        return status, decoded

    def ok(self, method, path, body=None, params=None, **kwargs):
        """call() that must succeed: raises AssertionError with ES's answer otherwise."""
        status, answer = self.call(method, path, body, params, **kwargs)
        if status >= 300:
            raise AssertionError('%s %s -> HTTP %d %s' % (method, path, status, answer))
        return answer

    def ml_path(self, *parts):
        """An ML API path for this version (6.8: /_xpack/ml/...)."""
        prefix = '/_xpack/ml' if self.personality.major < 7 else '/_ml'
        return prefix + ''.join('/' + p for p in parts)

    def rollup_path(self, *parts):
        prefix = '/_xpack/rollup' if self.personality.major < 7 else '/_rollup'
        return prefix + ''.join('/' + p for p in parts)

    def put_index(self, name, mappings=None):
        """PUT <index> with typeless `mappings` (wrapped in `_doc` on 6.8, which requires a type)."""
        body = {}
        if mappings is not None:
            body['mappings'] = {'_doc': mappings} if self.personality.major < 7 else mappings
        return self.ok('PUT', '/' + name, body)

    def put_job(self, job_id, body=None, **fields):
        """PUT anomaly_detectors/<id>; default body: one count detector, time field `timestamp`."""
        config = body if body is not None else {
            'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
            'data_description': {'time_field': 'timestamp'}}
        config = dict(config, **fields)
        return self.ok('PUT', self.ml_path('anomaly_detectors', job_id), config)

    def put_datafeed(self, datafeed_id, job_id, indices=('data',), body=None, create_index=True, **fields):
        """PUT datafeeds/<id> for `job_id` over `indices` (created with a `timestamp` date field unless present)."""
        if create_index:
            for index in indices:
                if index not in self.cluster.indices and '*' not in index:
                    self.put_index(index, {'properties': {'timestamp': {'type': 'date'}}})
        config = body if body is not None else {'job_id': job_id, 'indices': list(indices)}
        config = dict(config, **fields)
        return self.ok('PUT', self.ml_path('datafeeds', datafeed_id), config)

    def open_job(self, job_id, wait=True):
        """POST _open; with `wait` the clock is advanced until the job is opened."""
        answer = self.ok('POST', self.ml_path('anomaly_detectors', job_id, '_open'))
        if wait:
            self.advance(self.cluster.timings.open_seconds)
        return answer

    def add_job(self, job_id, state='closed', datafeed_state=None, datafeed_id=None, **config):
        """A job brought to `state` (closed, opened, opening, failed) through the public APIs (and the control API
        for failed), with a datafeed `datafeed_id` (default datafeed-<job_id>) in `datafeed_state` (stopped,
        started) when that is given. `config` overrides fields of put_job's default body."""
        self.put_job(job_id, **config)
        datafeed_id = datafeed_id or 'datafeed-' + job_id
        if datafeed_state is not None:
            self.put_datafeed(datafeed_id, job_id)
        if state in ('opened', 'failed'):
            self.open_job(job_id)
        elif state == 'opening':
            # _open waits server-side until the job is opened (here: in virtual time). An open whose wait runs out at
            # once is ES's 408 and leaves the job opening (OpenJobAction; TransportOpenJobAction.waitForJobStarted).
            status, _answer = self.call('POST', self.ml_path('anomaly_detectors', job_id, '_open'), params={'timeout': '0s'})
            if status not in (200, 408):
                raise AssertionError('add_job: open of %s answered %s' % (job_id, status))
        if datafeed_state == 'started':
            self.start_datafeed(datafeed_id)
        if state == 'failed':
            self.fail_ml_job(job_id)
        elif state not in ('closed', 'opened', 'opening'):
            raise ValueError('add_job: state %r is not one of closed, opened, opening, failed' % state)

    def close_job(self, job_id, force=False):
        return self.ok('POST', self.ml_path('anomaly_detectors', job_id, '_close'), params={'force': 'true'} if force else None)

    def start_datafeed(self, datafeed_id, wait=True):
        answer = self.ok('POST', self.ml_path('datafeeds', datafeed_id, '_start'))
        if wait:
            self.advance(self.cluster.timings.open_seconds)
        return answer

    def stop_datafeed(self, datafeed_id):
        return self.ok('POST', self.ml_path('datafeeds', datafeed_id, '_stop'))

    def set_upgrade_mode(self, enabled):
        return self.ok('POST', self.ml_path('set_upgrade_mode'), params={'enabled': 'true' if enabled else 'false'})

    def put_rollup_job(self, job_id, body=None, create_index=True, **fields):
        """PUT rollup job; default body: index_pattern `sensor-*`, rollup_index `sensor_rollup`, a date_histogram on
        `timestamp` and a max of `temperature` (an index `sensor-1` with those fields is created unless present)."""
        config = body if body is not None else {
            'index_pattern': 'sensor-*', 'rollup_index': 'sensor_rollup', 'cron': '0 0 0 1 1 ? 2099', 'page_size': 1000,
            'groups': {'date_histogram': {'field': 'timestamp', self._interval_key(): '1h'}},
            'metrics': [{'field': 'temperature', 'metrics': ['max']}]}
        config = dict(config, **fields)
        if create_index and body is None and not any(n.startswith('sensor-') for n in self.cluster.indices):
            self.put_index('sensor-1', {'properties': {'timestamp': {'type': 'date'}, 'temperature': {'type': 'double'}}})
        self.ensure_rollup_usage()
        return self.ok('PUT', self.rollup_path('job', job_id), config)

    def add_rollup_job(self, job_id, state='stopped', **fields):
        """put_rollup_job(job_id, **fields) brought to `state`: stopped, started, indexing (a run forced through the
        control API, lasting Timings.stop_seconds) or stopping (a stop during that run)."""
        self.put_rollup_job(job_id, **fields)
        if state in ('started', 'indexing', 'stopping'):
            self.start_rollup_job(job_id)
        if state in ('indexing', 'stopping'):
            self.force_rollup_indexing(job_id)
        if state == 'stopping':
            self.stop_rollup_job(job_id)
        elif state not in ('stopped', 'started', 'indexing'):
            raise ValueError('add_rollup_job: state %r is not one of stopped, started, indexing, stopping' % state)

    def rollup_config(self, job_id):
        """The job's config as GET _rollup/job/<id> returns it."""
        return self.ok('GET', self.rollup_path('job', job_id))['jobs'][0]['config']

    def pretend_version(self, number):
        """GET / answers with version.number `number` from now on (a release the emulator has no personality for,
        e.g. 6.5.4; everything else keeps this personality's behaviour): a fault with a 200 body."""
        root = self.ok('GET', '/')
        root['version']['number'] = number
        return self.faults(method='GET', path_regex='^/$', status=200, body=root)

    def ensure_rollup_usage(self):
        """8.15+ refuse a new rollup job in a cluster without rollup usage (a job, or an index with rollup
        metadata): give it an index `legacy_rollup` whose mapping carries `_meta._rollup`, as one left by an
        older job would."""
        if self.personality.rollup_put_requires_usage and not self.cluster.rollup_usage():
            self.put_index('legacy_rollup', {'_meta': {'_rollup': {}, 'rollup-version': ''}})

    def _interval_key(self):
        # DateHistogramGroupConfig: `interval` up to 7.x; 8.0 accepts only fixed_interval / calendar_interval.
        return 'interval' if self.personality.major < 8 else 'fixed_interval'

    def start_rollup_job(self, job_id):
        return self.ok('POST', self.rollup_path('job', job_id, '_start'))

    def stop_rollup_job(self, job_id, wait_for_completion=False):
        params = {'wait_for_completion': 'true'} if wait_for_completion else None
        return self.ok('POST', self.rollup_path('job', job_id, '_stop'), params=params)

    # ------------------------------------------------------------------ emulator control API
    def control(self, method, path, body=None):
        status, answer = self.call(method, '/_emulator/' + path.lstrip('/'), body)
        if status >= 300:
            raise RuntimeError('emulator control %s %s failed: HTTP %d %s' % (method, path, status, answer))
        return answer

    def requests(self):
        """Every request the code under test sent (set-up calls are not logged): dicts with method, path, query,
        query_string, status, headers, authorization (scheme only), body, time."""
        return list(self.cluster.request_log)

    def mutating_requests(self):
        return [r for r in self.cluster.request_log if r['mutating']]

    def mutations(self):
        """(method, path) of every mutating request the code under test sent, in order."""
        return [(r['method'], r['path']) for r in self.mutating_requests()]

    def clear_requests(self):
        del self.cluster.request_log[:]

    # ------------------------------------------------------------------ time
    def advance(self, seconds):
        """Move the (shared) manual clock forward, running every event due by then."""
        self.clock.advance(seconds)
