# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory rollup cluster used as the ``opener`` of the real ``ElasticsearchClient``.

It answers at the HTTP level (URLs, query strings, statuses, bodies, ``Warning`` headers) as
es-behaviour.md §3 describes, per version: ``_xpack/rollup`` before 7.0, no ``wait_for_completion``
before 6.6 (an unknown parameter is a 400), a 500 for starting a started job before 8.0, the
stop wait timeout as 500 before 9.0 and 429 from 9.0, delete's 500 ``task_failures`` body, and
the 9.x deprecation warning on every rollup call. Every request is recorded in ``calls``.

Timing is step-based, not clock-based: a job stopped while ``indexing`` stays ``stopping`` for
``stopping_reads`` GETs (or until a stop with ``wait_for_completion`` waits it out), so tests
never sleep and never depend on timing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time
from collections import OrderedDict
from email.message import Message

from ansible.module_utils.six.moves.urllib.parse import parse_qsl, unquote, urlsplit

from ansible_collections.esops.jobs.plugins.module_utils._client import parse_version
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed

DEPRECATION = 'The rollup functionality will be removed in Elasticsearch 10.0. See docs for more information.'


class FakeRaw(object):
    def __init__(self, status, body, headers):
        self._status = status
        self._payload = json.dumps(body).encode('utf-8') if body is not None else b''
        self.headers = headers

    def getcode(self):
        return self._status

    def read(self):
        return self._payload


def error(status, error_type, reason):
    return status, {'error': {'root_cause': [{'type': error_type, 'reason': reason}], 'type': error_type, 'reason': reason},
                    'status': status}


class FakeRollupEs(object):
    def __init__(self, version='8.19.3'):
        self.version_string = version
        self.version = parse_version(version)
        self.jobs = OrderedDict()
        self.calls = []
        self.lock = threading.Lock()
        #: GETs a job stopped while indexing stays `stopping` (a stop with a server-side wait waits it out)
        self.stopping_reads = 2
        #: ids whose stop never completes: a server-side wait times out, GET keeps showing `stopping`
        self.stuck_stopping = set()
        #: GETs a deleted job is still listed (6.x, §3.4.4)
        self.linger_reads = 0
        self._lingering = {}
        #: seconds a stop with wait_for_completion holds the request (real time, to observe concurrency)
        self.stop_wait_seconds = 0.0
        self.active = 0
        self.max_active = 0
        #: [(method, path substring, status, body)] answered once each instead of the real behaviour
        self.faults = []
        #: callable(method, path) run before a request is answered (to change states mid-run)
        self.on_request = None
        #: a cron tick: jobs started here become `indexing` at once (as if the cron fired)
        self.start_lands_in = 'started'
        #: exact paths the user may not call (403), e.g. {'/', '/_ml/info'} for a rollup-only role
        self.forbidden_paths = set()

    # -- fixtures -------------------------------------------------------------------------------

    @property
    def base(self):
        return '/_xpack/rollup' if self.version < (7, 0, 0) else '/_rollup'

    def add(self, job_id, state='stopped', stopping_reads=None):
        self.jobs[job_id] = {'state': state, 'reads': self.stopping_reads if stopping_reads is None else stopping_reads,
                             'config': {'id': job_id, 'index_pattern': job_id + '-source', 'rollup_index': job_id + '-rollup',
                                        'cron': '*/30 * * * * ?', 'page_size': 100, 'timeout': '20s',
                                        'groups': {'date_histogram': {'field': 'timestamp', 'calendar_interval': '1h',
                                                                      'time_zone': 'UTC'}},
                                        'metrics': [{'field': 'value', 'metrics': ['min', 'max']}]},
                             'stats': {'pages_processed': 0, 'documents_processed': 0, 'rollups_indexed': 0,
                                       'trigger_count': 0}}
        return self

    def state(self, job_id):
        job = self.jobs.get(job_id)
        return job['state'] if job else 'absent'

    def requests(self, method=None):
        return ['%s %s' % (m, p) for m, p, _params in self.calls if method is None or m == method]

    def mutating(self):
        return [c for c in self.requests() if not c.startswith('GET ')]

    # -- HTTP -----------------------------------------------------------------------------------

    def __call__(self, url, data=None, headers=None, method='GET', timeout=None, **_kwargs):
        parts = urlsplit(url)
        path = unquote(parts.path)
        params = dict(parse_qsl(parts.query))
        with self.lock:
            self.calls.append((method, path, params))
            if self.on_request:
                self.on_request(method, path)
            fault = next((f for f in self.faults if f[0] == method and f[1] in path), None)
            if fault:
                self.faults.remove(fault)
                status, body = fault[2], fault[3]
            else:
                status, body = None, None
        if fault is None:
            status, body = self.answer(method, path, params)
        hdrs = Message()
        if self.version >= (9, 0, 0) and path.startswith(self.base):
            # Rollup actions may repeat the header (several nodes, §1.4).
            hdrs['Warning'] = '299 Elasticsearch-%s-abc "%s"' % (self.version_string, DEPRECATION)
            hdrs['Warning'] = '299 Elasticsearch-%s-abc "%s"' % (self.version_string, DEPRECATION)
        return FakeRaw(status, body, hdrs)

    def answer(self, method, path, params):
        if path in self.forbidden_paths:
            return error(403, 'security_exception', 'action [%s] is unauthorized for user [rollup_admin]' % path)
        if path == '/' and method == 'GET':
            return 200, {'name': 'node-1', 'cluster_name': 'fake', 'version': {'number': self.version_string},
                         'tagline': 'You Know, for Search'}
        if not path.startswith(self.base + '/job'):
            return error(400, 'illegal_argument_exception', 'no handler found for uri [%s] and method [%s]' % (path, method))
        rest = path[len(self.base + '/job'):].strip('/').split('/')
        job_id = rest[0] if rest else ''
        action = rest[1] if len(rest) > 1 else None
        if method == 'GET' and action is None:
            return self.get(job_id)
        if method == 'POST' and action == '_start':
            return self.start(job_id, params)
        if method == 'POST' and action == '_stop':
            return self.stop(job_id, params)
        if method == 'DELETE' and action is None:
            return self.delete(job_id, params)
        return error(405, 'illegal_argument_exception', 'Incorrect HTTP method for uri [%s]' % path)

    @staticmethod
    def _unknown_params(path, params, allowed):
        extra = sorted(set(params) - set(allowed))
        if extra:
            return error(400, 'illegal_argument_exception', 'request [%s] contains unrecognized parameter: [%s]'
                         % (path, extra[0]))
        return None

    def get(self, job_id):
        with self.lock:
            for jid, job in self.jobs.items():
                if job['state'] == 'stopping' and jid not in self.stuck_stopping:
                    job['reads'] -= 1
                    if job['reads'] < 0:
                        job['state'] = 'stopped'
            for jid in list(self._lingering):
                self._lingering[jid] -= 1
                if self._lingering[jid] < 0:
                    del self._lingering[jid]
                    del self.jobs[jid]
            if job_id in ('', '_all', '*'):
                ids = sorted(self.jobs)
            else:
                ids = [job_id] if job_id in self.jobs else []
            jobs = [{'config': self.jobs[i]['config'], 'status': {'job_state': self.jobs[i]['state']},
                     'stats': dict(self.jobs[i]['stats'])} for i in ids]
        return 200, {'jobs': jobs}

    def start(self, job_id, params):
        bad = self._unknown_params('start', params, ())
        if bad:
            return bad
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job_id in self._lingering:
                return error(404, 'resource_not_found_exception', 'Task for Rollup Job [%s] not found' % job_id)
            state = job['state']
            if state == 'stopped':
                job['state'] = self.start_lands_in
                return 200, {'started': True}
            if state in ('started', 'indexing') and self.version >= (8, 0, 0):
                return 200, {'started': True}
        return error(500, 'exception', 'Cannot start task for Rollup Job [%s] because state was [%s]' % (job_id, state.upper()))

    def stop(self, job_id, params):
        allowed = ('wait_for_completion', 'timeout') if self.version >= (6, 6, 0) else ()
        bad = self._unknown_params('stop', params, allowed)
        if bad:
            return bad
        wait = params.get('wait_for_completion') == 'true'
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job_id in self._lingering:
                return error(404, 'resource_not_found_exception', 'Task for Rollup Job [%s] not found' % job_id)
            state = job['state']
            if state == 'aborting':
                return error(500, 'exception', 'Cannot stop task for Rollup Job [%s] because state was [ABORTING]' % job_id)
            if state == 'started':
                job['state'] = 'stopped'
            elif state == 'indexing':
                job['state'] = 'stopping'
                job['reads'] = self.stopping_reads
            if not wait:
                return 200, {'stopped': True}
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.stop_wait_seconds:
                time.sleep(self.stop_wait_seconds)
            with self.lock:
                if job_id in self.stuck_stopping and job['state'] == 'stopping':
                    status = 429 if self.version >= (9, 0, 0) else 500
                    return error(status, 'elasticsearch_timeout_exception',
                                 'Timed out after [%s] while waiting for rollup job [%s] to stop. State was [STOPPING]'
                                 % (params.get('timeout', '30s'), job_id))
                job['state'] = 'stopped'
            return 200, {'stopped': True}
        finally:
            with self.lock:
                self.active -= 1

    def delete(self, job_id, params):
        bad = self._unknown_params('delete', params, ())
        if bad:
            return bad
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job_id in self._lingering:
                return error(404, 'resource_not_found_exception', "the task with id [%s] doesn't exist" % job_id)
            if job['state'] != 'stopped':
                reason = ('Could not delete job [%s] because indexer state is [%s].  Job must be [STOPPED] before deletion.'
                          % (job_id, job['state'].upper()))
                return 500, {'task_failures': [{'task_id': 7, 'node_id': 'n1', 'status': 'INTERNAL_SERVER_ERROR',
                                                'reason': {'type': 'illegal_state_exception', 'reason': reason}}],
                             'acknowledged': False}
            if self.linger_reads:
                self._lingering[job_id] = self.linger_reads
            else:
                del self.jobs[job_id]
        return 200, {'acknowledged': True}


class FakeClock(object):
    """A monotonic clock that only moves when something sleeps on it (thread-safe)."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []
        self.lock = threading.Lock()

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


def run_module(monkeypatch, main, args, es, check_mode=False, diff=False, clock=None):
    """Run a module's main() against ``es``; return (result, warnings). Raises Failed on fail_json."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes
    from ansible_collections.esops.jobs.plugins.module_utils import _client, _module, _rollup_job
    from ansible_collections.esops.jobs.plugins.module_utils._convergence import Poller

    clock = clock or FakeClock()
    warnings = []
    full = dict(args)
    full.setdefault('hosts', ['http://es.test:9200'])
    full['_ansible_check_mode'] = check_mode
    full['_ansible_diff'] = diff
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': full})))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, msg, **result):
        result['msg'] = msg
        raise Failed(result)

    original = _client.ElasticsearchClient.from_params.__func__

    def from_params(cls, params, warn=None):
        client = original(cls, params, warn=warn)
        client._open = es
        client._sleep = clock.sleep
        return client

    monkeypatch.setattr(_module.EsopsModule, 'exit_json', exit_json)
    monkeypatch.setattr(_module.EsopsModule, 'fail_json', fail_json)
    monkeypatch.setattr(_module.EsopsModule, 'warn', lambda self, message: warnings.append(message))
    monkeypatch.setattr(_client.ElasticsearchClient, 'from_params', classmethod(from_params))
    monkeypatch.setattr(_rollup_job, 'Poller', lambda: Poller(clock=clock, sleep=clock.sleep))
    try:
        main()
    except Exited as exc:
        return exc.result, warnings
    except Failed as exc:
        exc.warnings = warnings
        raise
    raise AssertionError('the module neither exited nor failed')
