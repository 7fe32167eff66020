# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the ML job adapter, driven through the real engine against an in-memory ES per version.

The fake answers the job and datafeed endpoints the way es-behaviour.md §2 describes them, per version:
``_xpack/ml`` and ``allow_no_jobs`` before 7.0/7.10, close blocked by a started datafeed up to 7.13,
delete blocked by a datafeed up to 7.14, open not idempotent, failed jobs closing only with force,
429 while upgrade mode is on. Every request is recorded, so the tests assert what was (not) sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import threading
from collections import OrderedDict

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError, Response, parse_version
from ansible_collections.esops.jobs.plugins.module_utils._convergence import Converger, Poller
from ansible_collections.esops.jobs.plugins.module_utils._ml import MAX_IDS_CHARS, chunk_ids
from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration
from ansible_collections.esops.jobs.plugins.module_utils._ml_job import (
    CLOSE_WAIT_CHUNK, MAX_PARALLEL_REQUESTS, NO_WAIT_SERVER_TIMEOUT, MlJobAdapter)
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeClock, FakeModule
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_ml_es import check_request_line, filter_jobs

VERSIONS = ('6.8.23', '7.13.4', '7.14.2', '7.17.28', '8.19.3', '9.1.5')
TIMEOUT_REASON = 'Timed out when waiting for persistent tasks after %s'


def simple_match(pattern, value):
    if pattern in ('_all', '*'):
        return True
    return re.match('^' + '.*'.join(re.escape(p) for p in pattern.split('*')) + '$', value) is not None


def truthy(value):
    return value in (True, 'true')


class FakeEs(object):
    """ES's ML job endpoints, in memory."""

    def __init__(self, version='8.19.3'):
        self.version_string = version
        self.version = parse_version(version)
        self.jobs = OrderedDict()
        self.datafeeds = OrderedDict()
        self.calls = []
        self.faults = []                 # [(method, path regex, error)], each used once
        self.close_lands_in = 'closed'   # 'closing': ES's wait runs out (500) and the job stays closing
        self.open_lands_in = 'opened'    # 'opening': ES's wait runs out (408)
        self.upgrade_mode = False
        self.on_stats = None             # callable(fake) before each stats answer (to move jobs while polling)
        self._lock = threading.Lock()

    # fixtures

    @property
    def base(self):
        return '/_xpack/ml' if self.version < (7, 0, 0) else '/_ml'

    def add_job(self, job_id, state='closed', groups=(), lazy=False):
        self.jobs[job_id] = dict(state=state, groups=list(groups), lazy=lazy)
        self.jobs = OrderedDict(sorted(self.jobs.items()))
        return self

    def add_datafeed(self, df_id, job_id, state='stopped'):
        self.datafeeds[df_id] = dict(job_id=job_id, state=state)
        return self

    def fault(self, method, path_regex, status, error_type, reason):
        self.faults.append((method, re.compile(path_regex), self.error(method, path_regex, status, error_type, reason)))

    def states(self):
        return dict((job_id, job['state']) for job_id, job in self.jobs.items())

    def mutations(self):
        return [(m, p, params) for (m, p, params) in self.calls if m != 'GET']

    def paths(self, method=None):
        return [p for (m, p, _params) in self.calls if method is None or m == method]

    def state_reads(self):
        """GET requests other than ML info (read once for upgrade mode when a job has to move)."""
        return [p for p in self.paths('GET') if not p.endswith('/info')]

    # the client interface

    def request(self, method, path, params=None, body=None, server_timeout=None, retry=True, ok_statuses=()):
        params = dict((k, v) for k, v in (params or {}).items() if v is not None)
        with self._lock:
            self.calls.append((method, path, params))
            for index, (f_method, f_path, error) in enumerate(self.faults):
                if f_method == method and f_path.search(path):
                    del self.faults[index]
                    raise error
            assert body is None, 'open/close/stop must not mix a body with query params (es-behaviour §1.6)'
            check_request_line(method, path, params, self.error)
            assert path.startswith(self.base + '/'), 'wrong ML base path for %s: %s' % (self.version_string, path)
            if 'timeout' in params:
                assert re.match(r'^\d+(ms|s|m|h|d)$', params['timeout']), params['timeout']
            parts = path[len(self.base) + 1:].split('/')
            return Response(200, self._route(method, path, parts, params), {})

    @staticmethod
    def error(method, path, status, error_type, reason):
        return ElasticsearchError('%s %s failed: HTTP %d %s: %s' % (method, path, status, error_type, reason), status=status,
                                  error_type=error_type, reason=reason)

    def _route(self, method, path, parts, params):
        kind, last = parts[0], (parts[-1] if len(parts) > 2 else None)
        if kind == 'info' and method == 'GET':
            return dict(upgrade_mode=self.upgrade_mode, defaults={}, limits={})
        if kind == 'anomaly_detectors':
            handler = {('GET', '_stats'): self._job_stats, ('POST', '_close'): self._close, ('POST', '_open'): self._open,
                       ('DELETE', None): self._delete_job}[(method, last)]
        else:
            handler = {('GET', None): self._get_datafeeds, ('POST', '_stop'): self._stop,
                       ('DELETE', None): self._delete_datafeed}[(method, last)]
        return handler(method, path, parts, params)

    def _allow_param(self, kind):
        if self.version >= (7, 10, 0):
            return 'allow_no_match'
        return 'allow_no_jobs' if kind == 'jobs' else 'allow_no_datafeeds'

    def _check_params(self, method, path, params, allowed):
        for name in params:
            if name not in allowed:
                raise self.error(method, path, 400, 'illegal_argument_exception',
                                 'request [%s] contains unrecognized parameter: [%s]' % (path, name))

    def _expand_jobs(self, method, path, expression, params):
        allow = truthy(params.get(self._allow_param('jobs'), True))
        groups = {}
        for job_id, job in self.jobs.items():
            for group in job['groups']:
                groups.setdefault(group, []).append(job_id)
        matched = []
        missing = []
        for token in expression.split(','):
            if token == '_all' or '*' in token:
                hits = [j for j in self.jobs if simple_match(token, j)]
                hits += [j for g, members in groups.items() if simple_match(token, g) for j in members]
                if not hits and not allow:
                    missing.append(token)
            else:
                hits = [token] if token in self.jobs else list(groups.get(token, []))
                if not hits:
                    missing.append(token)
            matched.extend(h for h in hits if h not in matched)
        if missing:
            raise self.error(method, path, 404, 'resource_not_found_exception', "No known job with id '%s'" % ','.join(missing))
        return sorted(matched)

    def _blocked(self, method, path, action):
        if not self.upgrade_mode:
            return
        # 7.8+ MlUpgradeModeActionFilter refuses every ML mutation; before, only TransportOpenJobAction refuses.
        if self.version >= (7, 8, 0):
            raise self.error(method, path, 429, 'status_exception', 'Cannot perform cluster:admin/xpack/ml/%s action while '
                             'upgrade mode is enabled' % action)
        if action == 'job/open':
            raise self.error(method, path, 429, 'status_exception', 'Cannot open jobs when upgrade mode is enabled')

    def _datafeed_of(self, job_id):
        for df_id, feed in self.datafeeds.items():
            if feed['job_id'] == job_id:
                return df_id
        return None

    def _job_stats(self, method, path, parts, params):
        self._check_params(method, path, params, (self._allow_param('jobs'), 'filter_path'))
        if self.on_stats:
            self.on_stats(self)
        out = []
        for job_id in self._expand_jobs(method, path, parts[1], params):
            job = self.jobs[job_id]
            entry = dict(job_id=job_id, state=job['state'], data_counts=dict(job_id=job_id))
            if job['state'] != 'closed':
                if job['lazy']:
                    entry['assignment_explanation'] = 'No node found to open job'
                else:
                    entry['node'] = dict(id='n1', name='node-1')
                    entry['assignment_explanation'] = ''
            out.append(entry)
        if 'filter_path' in params:
            return filter_jobs(out, params['filter_path'])
        return dict(count=len(out), jobs=out)

    def _close(self, method, path, parts, params):
        self._blocked(method, path, 'job/close')
        self._check_params(method, path, params, ('timeout', 'force', self._allow_param('jobs')))
        ids = self._expand_jobs(method, path, parts[1], params)
        force = truthy(params.get('force'))
        if self.version < (7, 14, 0):
            for job_id in ids:
                df_id = self._datafeed_of(job_id)
                if df_id and self.datafeeds[df_id]['state'] != 'stopped':
                    raise self.error(method, path, 409, 'status_exception', "cannot close job datafeed [%s] hasn't been stopped" % df_id)
        failed = [j for j in ids if self.jobs[j]['state'] == 'failed']
        if failed and not force:
            reason = ('cannot close job [%s] because it failed, use force close' % failed[0] if len(ids) == 1
                      else 'one or more jobs have state failed, use force close')
            raise self.error(method, path, 409, 'status_exception', reason)
        for job_id in ids:
            df_id = self._datafeed_of(job_id)
            if df_id:
                self.datafeeds[df_id]['state'] = 'stopped'     # 7.14+: close stops the datafeed
            if self.jobs[job_id]['state'] != 'closed':
                self.jobs[job_id]['state'] = 'closed' if force else self.close_lands_in
        if not force and any(self.jobs[j]['state'] == 'closing' for j in ids):
            raise self.error(method, path, 500, 'illegal_state_exception', TIMEOUT_REASON % params['timeout'])
        return dict(closed=True)

    def _open(self, method, path, parts, params):
        self._blocked(method, path, 'job/open')
        self._check_params(method, path, params, ('timeout',))
        job_id = parts[1]
        assert ',' not in job_id and '*' not in job_id, 'open takes one job id'
        if job_id not in self.jobs:
            raise self.error(method, path, 404, 'resource_not_found_exception', "No known job with id '%s'" % job_id)
        job = self.jobs[job_id]
        if job['state'] != 'closed':
            raise self.error(method, path, 409, 'status_exception', 'Cannot open job [%s] because it has already been opened' % job_id)
        if job['lazy']:
            job['state'] = 'opening'
            return dict(opened=True, node='') if self.version >= (7, 8, 0) else dict(opened=True)
        job['state'] = self.open_lands_in
        if job['state'] == 'opening':
            raise self.error(method, path, 408, 'status_exception', 'Opening job [%s] timed out after [%s]' % (job_id, params['timeout']))
        body = dict(opened=True)
        if self.version >= (7, 8, 0):
            body['node'] = 'n1'
        return body

    def _delete_job(self, method, path, parts, params):
        self._blocked(method, path, 'job/delete')
        allowed = ('force', 'timeout') if self.version >= (7, 0, 0) else ('force',)
        self._check_params(method, path, params, allowed)
        job_id = parts[1]
        assert ',' not in job_id and '*' not in job_id, 'delete takes one job id'
        if job_id not in self.jobs:
            raise self.error(method, path, 404, 'resource_not_found_exception', "No known job with id '%s'" % job_id)
        force = truthy(params.get('force'))
        df_id = self._datafeed_of(job_id)
        if df_id and self.version < (7, 15, 0):
            raise self.error(method, path, 409, 'status_exception', 'Cannot delete job [%s] because datafeed [%s] refers to it'
                             % (job_id, df_id))
        state = self.jobs[job_id]['state']
        if state != 'closed' and not force:
            raise self.error(method, path, 409, 'status_exception', 'Cannot delete job [%s] because the job is %s' % (job_id, state))
        if df_id:
            if self.datafeeds[df_id]['state'] != 'stopped' and not force:
                raise self.error(method, path, 409, 'status_exception', 'failed to delete job [%s] as its datafeed [%s] could '
                                 'not be deleted' % (job_id, df_id))
            del self.datafeeds[df_id]
        del self.jobs[job_id]
        return dict(acknowledged=True)

    def _get_datafeeds(self, method, path, parts, params):
        self._check_params(method, path, params, (self._allow_param('datafeeds'),))
        assert parts[1] == '_all'
        return dict(count=len(self.datafeeds), datafeeds=[dict(datafeed_id=d, job_id=f['job_id'], indices=['x'])
                                                          for d, f in self.datafeeds.items()])

    def _stop(self, method, path, parts, params):
        self._blocked(method, path, 'datafeed/stop')
        self._check_params(method, path, params, ('timeout', 'force', self._allow_param('datafeeds')))
        for df_id in parts[1].split(','):
            if df_id not in self.datafeeds:
                raise self.error(method, path, 404, 'resource_not_found_exception', 'No datafeed with id [%s] exists' % df_id)
            self.datafeeds[df_id]['state'] = 'stopped'
        return dict(stopped=True)

    def _delete_datafeed(self, method, path, parts, params):
        self._blocked(method, path, 'datafeeds/delete')
        self._check_params(method, path, params, ('force',))
        df_id = parts[1]
        if df_id not in self.datafeeds:
            raise self.error(method, path, 404, 'resource_not_found_exception', 'No datafeed with id [%s] exists' % df_id)
        if self.datafeeds[df_id]['state'] != 'stopped' and not truthy(params.get('force')):
            raise self.error(method, path, 409, 'status_exception', 'Cannot delete datafeed [%s] while its status is started' % df_id)
        del self.datafeeds[df_id]
        return dict(acknowledged=True)


def run(es, desired, job_ids, check_mode=False, diff=False, wait=True, timeout=60, clock=None, **options):
    """Run the engine with the adapter; return (outcome, result) with outcome 'ok' or 'failed'."""
    clock = clock or FakeClock()
    poller = Poller(clock=clock.clock, sleep=clock.sleep)
    adapter = MlJobAdapter(es, desired, job_ids, wait=wait, poller=poller, **options)
    try:
        Converger(FakeModule(check_mode=check_mode, diff=diff), adapter).run(wait=wait, timeout=timeout)
    except Exited as exc:
        return 'ok', exc.result
    except Failed as exc:
        return 'failed', exc.result
    raise AssertionError('the engine must exit or fail')


def by_id(result):
    return dict((job['job_id'], job) for job in result['jobs'])


def after(result):
    return dict((job['job_id'], job['state_after']) for job in result['jobs'])


def closes(es):
    return [(p, params) for (m, p, params) in es.calls if m == 'POST' and p.endswith('/_close')]


def long_ids(count):
    """``count`` job ids of 63 characters: more than about 47 do not fit one request line."""
    return ['job-%058d' % i for i in range(count)]


def with_jobs(es, ids, state):
    for job_id in ids:
        es.add_job(job_id, state)
    return es


def cluster(version, **states):
    es = FakeEs(version)
    for job_id, state in sorted(states.items()):
        es.add_job(job_id.replace('_', '-'), state=state)
    return es


# ------------------------------------------------------------------ helpers


def test_chunk_ids_keeps_request_lines_short():
    ids = ['job-%058d' % i for i in range(200)]   # 64 characters each
    chunks = chunk_ids(ids)
    assert [job for chunk in chunks for job in chunk] == ids
    assert all(len(','.join(chunk)) <= MAX_IDS_CHARS for chunk in chunks)
    assert len(chunks) > 1
    assert chunk_ids(['a', 'b']) == [['a', 'b']]
    assert chunk_ids([]) == []


def test_unknown_desired_state_is_rejected():
    with pytest.raises(ValueError, match='state must be one of'):
        MlJobAdapter(FakeEs(), 'started', ['a'])


# ------------------------------------------------------------------ paths and parameters per version


@pytest.mark.parametrize('version, base, allow_param', [
    ('6.8.23', '/_xpack/ml', 'allow_no_jobs'),
    ('7.13.4', '/_ml', 'allow_no_match'),
    ('8.19.3', '/_ml', 'allow_no_match'),
    ('9.1.5', '/_ml', 'allow_no_match'),
])
def test_stats_path_and_allow_no_match_parameter_per_version(version, base, allow_param):
    es = cluster(version, a='closed')
    outcome, result = run(es, 'closed', ['a'], allow_no_match=False)
    assert outcome == 'ok'
    assert es.calls == [('GET', base + '/anomaly_detectors/a/_stats', {allow_param: False})]


# ------------------------------------------------------------------ closed


@pytest.mark.parametrize('version', VERSIONS)
def test_noop_close_is_one_stats_request_and_unchanged(version):
    es = cluster(version, a='closed', b='closed')
    es.add_datafeed('df-a', 'a')
    outcome, result = run(es, 'closed', ['_all'], diff=True)
    assert outcome == 'ok'
    assert result['changed'] is False
    assert len(es.calls) == 1 and es.calls[0][1].endswith('/anomaly_detectors/_all/_stats')
    assert result['diff'] == {'before': {'a': 'closed', 'b': 'closed'}, 'after': {'a': 'closed', 'b': 'closed'}}
    assert result['msg'] == 'all 2 jobs already closed'


@pytest.mark.parametrize('version', ('7.14.2', '7.17.28', '8.19.3', '9.1.5'))
def test_close_many_on_714_plus_is_one_close_and_no_reread(version):
    es = cluster(version, a='opened', b='opened', c='closed', d='opening')
    es.add_datafeed('df-a', 'a', state='started')
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok' and result['changed'] is True
    assert [m for (m, _p, _q) in es.calls] == ['GET', 'GET', 'POST']  # stats, ML info (upgrade mode), one close
    assert closes(es) == [(es.base + '/anomaly_detectors/a,b,d/_close', {'timeout': '5s'})]
    assert after(result) == {'a': 'closed', 'b': 'closed', 'c': 'closed', 'd': 'closed'}
    assert 'datafeed_id' not in by_id(result)['a']   # not read: 7.14+ closes the datafeed itself
    assert es.states() == {'a': 'closed', 'b': 'closed', 'c': 'closed', 'd': 'closed'}
    assert es.datafeeds['df-a']['state'] == 'stopped'
    # re-run: unchanged, stats only
    es.calls = []
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok' and result['changed'] is False and len(es.calls) == 1


@pytest.mark.parametrize('version', ('6.8.23', '7.13.4'))
def test_close_up_to_713_stops_datafeeds_first_in_one_request(version):
    es = cluster(version, a='opened', b='opened', c='opened', z='closed')
    es.add_datafeed('df-a', 'a', state='started').add_datafeed('df-b', 'b', state='started').add_datafeed('df-z', 'z')
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok' and result['changed'] is True
    assert es.mutations() == [
        ('POST', es.base + '/datafeeds/df-a,df-b/_stop', {'timeout': '1m'}),
        ('POST', es.base + '/anomaly_detectors/a,b,c/_close', {'timeout': '5s'}),
    ]
    assert es.state_reads() == [es.base + '/anomaly_detectors/_all/_stats', es.base + '/datafeeds/_all']
    jobs = by_id(result)
    assert jobs['a']['actions'] == ['stop_datafeed', 'close']
    assert (jobs['a']['datafeed_id'], jobs['a']['datafeed_state']) == ('df-a', 'stopped')
    assert (jobs['c']['datafeed_id'], jobs['c']['datafeed_state']) == (None, None)
    assert (jobs['z']['datafeed_id'], jobs['z']['datafeed_state']) == ('df-z', None)
    assert es.states() == {'a': 'closed', 'b': 'closed', 'c': 'closed', 'z': 'closed'}


@pytest.mark.parametrize('version', ('6.8.23', '7.13.4'))
def test_noop_close_up_to_713_reads_no_datafeeds(version):
    es = cluster(version, a='closed')
    es.add_datafeed('df-a', 'a')
    outcome, result = run(es, 'closed', ['a'])
    assert outcome == 'ok' and result['changed'] is False
    assert len(es.calls) == 1
    assert 'datafeed_id' not in by_id(result)['a']


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('desired', ('closed', 'opened'))
def test_failed_jobs_without_force_fail_before_any_request(version, desired):
    es = cluster(version, a='failed', b='opened', c='failed', d='closed')
    outcome, result = run(es, desired, ['_all'])
    assert outcome == 'failed'
    assert 'jobs a, c' in result['msg'] and 'force_failed: true' in result['msg'] and 'force: true' in result['msg']
    assert result['failed_jobs'] == ['a', 'c']
    assert len(es.calls) == 1   # stats only: no datafeed read for a plan that refuses
    assert es.mutations() == []
    assert after(result) == {'a': 'failed', 'b': 'opened', 'c': 'failed', 'd': 'closed'}


@pytest.mark.parametrize('version', VERSIONS)
def test_force_failed_force_closes_only_failed_jobs_and_closes_the_rest_gracefully(version):
    es = cluster(version, a='failed', b='opened', c='closed')
    outcome, result = run(es, 'closed', ['a', 'b', 'c'], force_failed=True)
    assert outcome == 'ok' and result['changed'] is True
    assert closes(es) == [(es.base + '/anomaly_detectors/a/_close', {'timeout': '5s', 'force': True}),
                          (es.base + '/anomaly_detectors/b/_close', {'timeout': '5s'})]
    assert by_id(result)['a']['actions'] == ['force_close']
    assert by_id(result)['b']['actions'] == ['close']
    assert es.states() == {'a': 'closed', 'b': 'closed', 'c': 'closed'}


@pytest.mark.parametrize('version', VERSIONS)
def test_force_force_closes_everything_in_one_request(version):
    es = cluster(version, a='failed', b='opened', c='closing')
    outcome, result = run(es, 'closed', ['_all'], force=True)
    assert outcome == 'ok'
    assert closes(es) == [(es.base + '/anomaly_detectors/a,b,c/_close', {'timeout': '5s', 'force': True})]
    assert es.states() == {'a': 'closed', 'b': 'closed', 'c': 'closed'}


@pytest.mark.parametrize('version', VERSIONS)
def test_no_force_is_ever_sent_unless_asked(version):
    es = cluster(version, b='opened', c='closing', d='opening')
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok'
    assert all('force' not in params for (_m, _p, params) in es.calls)


@pytest.mark.parametrize('version', VERSIONS)
def test_close_timeout_500_keeps_polling_until_closed(version):
    es = cluster(version, a='opened', b='opened')
    es.close_lands_in = 'closing'
    reads = []

    def finish_after_three_reads(fake):
        reads.append(1)
        if len(reads) >= 4:
            for job in fake.jobs.values():
                job['state'] = 'closed'

    es.on_stats = finish_after_three_reads
    outcome, result = run(es, 'closed', ['a', 'b'])
    assert outcome == 'ok', result['msg']
    assert result['changed'] is True
    assert after(result) == {'a': 'closed', 'b': 'closed'}
    assert len(reads) == 4


@pytest.mark.parametrize('version', VERSIONS)
def test_close_timeout_reports_last_states(version):
    es = cluster(version, a='opened', b='closed')
    es.close_lands_in = 'closing'
    outcome, result = run(es, 'closed', ['a', 'b'], timeout=5)
    assert outcome == 'failed'
    assert result['timed_out_jobs'] == ['a']
    assert 'last states: a=closing' in result['msg']
    assert after(result) == {'a': 'closing', 'b': 'closed'}


@pytest.mark.parametrize('version', VERSIONS)
def test_job_failing_while_closing_fails_early_naming_it(version):
    es = cluster(version, a='opened', b='opened')
    es.close_lands_in = 'closing'

    es_reads = []

    def on_stats(fake):
        es_reads.append(1)
        if len(es_reads) == 2:
            fake.jobs['b']['state'] = 'failed'

    es.on_stats = on_stats
    outcome, result = run(es, 'closed', ['a', 'b'], timeout=600)
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['b']
    assert 'job b failed' in result['msg']
    assert len(es_reads) <= 3   # no waiting to the deadline


@pytest.mark.parametrize('version', VERSIONS)
def test_wait_false_close_uses_a_short_server_timeout_and_reports_closing(version):
    es = cluster(version, a='opened')
    es.close_lands_in = 'closing'
    outcome, result = run(es, 'closed', ['a'], wait=False, timeout=3600)
    assert outcome == 'ok' and result['changed'] is True
    assert closes(es)[0][1]['timeout'] == '%ds' % NO_WAIT_SERVER_TIMEOUT
    assert after(result) == {'a': 'closing'}


@pytest.mark.parametrize('version', VERSIONS)
def test_check_mode_close_predicts_without_mutating(version):
    es = cluster(version, a='opened', b='failed', c='closed')
    es.add_datafeed('df-a', 'a', state='started')
    outcome, result = run(es, 'closed', ['_all'], check_mode=True, diff=True, force_failed=True)
    assert outcome == 'ok' and result['changed'] is True
    assert es.mutations() == []
    assert result['diff'] == {'before': {'a': 'opened', 'b': 'failed', 'c': 'closed'},
                              'after': {'a': 'closed', 'b': 'closed', 'c': 'closed'}}
    assert result['msg'] == 'would move 2 of 3 jobs to closed'
    expected = ['stop_datafeed', 'close'] if version < '7.14' else ['close']
    assert by_id(result)['a']['actions'] == expected
    assert es.states() == {'a': 'opened', 'b': 'failed', 'c': 'closed'}


# ------------------------------------------------------------------ missing ids and allow_no_match


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('desired', ('closed', 'opened'))
def test_missing_exact_id_fails_clearly(version, desired):
    es = cluster(version, a='opened')
    outcome, result = run(es, desired, ['a', 'nope'])
    assert outcome == 'failed'
    assert "no job or job group matches nope (Elasticsearch: No known job with id 'nope')" in result['msg']
    assert result['failed_jobs'] == ['nope']
    assert es.mutations() == []


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('desired', ('closed', 'opened', 'absent'))
def test_allow_no_match_false_lets_es_say_the_pattern_matched_nothing(version, desired):
    es = cluster(version, a='closed')
    outcome, result = run(es, desired, ['web-*'], allow_no_match=False)
    assert outcome == 'failed'
    assert "No known job with id 'web-*'" in result['msg'] and 'allow_no_match is false' in result['msg']
    assert es.mutations() == []


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('desired', ('closed', 'opened', 'absent'))
def test_pattern_matching_nothing_is_fine_by_default(version, desired):
    es = cluster(version, a='closed')
    outcome, result = run(es, desired, ['web-*'])
    assert outcome == 'ok' and result['changed'] is False and result['jobs'] == []
    assert result['msg'] == 'no jobs matched' + (': nothing to delete' if desired == 'absent' else '')


@pytest.mark.parametrize('version', VERSIONS)
def test_groups_and_comma_lists_resolve_through_es(version):
    es = FakeEs(version)
    es.add_job('a', 'opened', groups=['web']).add_job('b', 'opened', groups=['web']).add_job('c', 'opened')
    outcome, result = run(es, 'closed', ['web', 'c'])
    assert outcome == 'ok'
    assert es.state_reads()[0] == es.base + '/anomaly_detectors/web,c/_stats'
    assert closes(es)[0][0] == es.base + '/anomaly_detectors/a,b,c/_close'


def test_duplicate_tokens_are_sent_once():
    es = cluster('8.19.3', a='closed')
    run(es, 'closed', ['a', 'a'])
    assert es.state_reads() == ['/_ml/anomaly_detectors/a/_stats']


def test_long_selections_are_split_into_short_request_lines():
    ids = long_ids(120)
    es = with_jobs(FakeEs('8.19.3'), ids, 'opened')
    es.add_job('not-selected', 'opened')
    outcome, result = run(es, 'closed', ids)
    assert outcome == 'ok' and all(state == 'closed' for state in after(result).values())
    assert len(closes(es)) > 1
    assert all(len(path) < MAX_IDS_CHARS + 100 for path in es.paths())
    assert es.states()['not-selected'] == 'opened'
    assert sorted(after(result)) == ids


def test_a_long_list_of_ids_is_read_with_one_request():
    # Five request lines' worth of ids: one read of every job's state, matched client-side.
    ids = long_ids(250)
    es = with_jobs(FakeEs('8.19.3'), ids, 'closed')
    es.add_job('other', 'opened')
    outcome, result = run(es, 'closed', ids)
    assert outcome == 'ok' and result['changed'] is False
    assert es.calls == [('GET', '/_ml/anomaly_detectors/_all/_stats', {
        'allow_no_match': True, 'filter_path': 'jobs.job_id,jobs.state,jobs.node.id,jobs.assignment_explanation'})]
    assert sorted(after(result)) == ids


@pytest.mark.parametrize('version', ['6.8.23', '7.9.3'])
def test_the_one_read_of_every_job_uses_the_versions_parameter(version):
    ids = long_ids(60)
    es = with_jobs(FakeEs(version), ids, 'closed')
    outcome, _result = run(es, 'closed', ids)
    assert outcome == 'ok'
    assert es.calls[0][1:] == (es.base + '/anomaly_detectors/_all/_stats', {
        'allow_no_jobs': True, 'filter_path': 'jobs.job_id,jobs.state,jobs.node.id,jobs.assignment_explanation'})


def test_a_long_list_leaves_groups_patterns_and_missing_ids_to_elasticsearch():
    ids = long_ids(60)
    es = with_jobs(FakeEs('8.19.3'), ids, 'opened')
    es.add_job('g1-member', 'opened', groups=['g1'])
    es.add_job('wild-1', 'opened')
    outcome, result = run(es, 'closed', ids + ['g1', 'wild-*'])
    assert outcome == 'ok'
    assert sorted(after(result)) == sorted(ids + ['g1-member', 'wild-1'])
    assert es.state_reads() == ['/_ml/anomaly_detectors/_all/_stats', '/_ml/anomaly_detectors/g1,wild-*/_stats']

    es = with_jobs(FakeEs('8.19.3'), ids, 'opened')
    outcome, result = run(es, 'closed', ids + ['no-such-job'])
    assert outcome == 'failed'
    assert 'no-such-job' in result['msg']
    assert not es.mutations()


def test_a_long_list_of_ids_to_delete_skips_the_ones_already_gone():
    ids = long_ids(60)
    es = with_jobs(FakeEs('8.19.3'), ids[:50], 'closed')
    outcome, result = run(es, 'absent', ids)
    assert outcome == 'ok' and result['changed'] is True
    assert es.jobs == OrderedDict()
    assert sorted(p.rsplit('/', 1)[1] for p in es.paths('DELETE')) == ids[:50]


# ------------------------------------------------------------------ opened


@pytest.mark.parametrize('version', VERSIONS)
def test_open_sends_one_open_per_closed_job_and_none_to_open_or_opening_jobs(version):
    es = cluster(version, a='closed', b='opened', c='opening', d='closed')

    reads = []

    def opening_finishes(fake):
        reads.append(1)
        if len(reads) > 1 and fake.jobs['c']['state'] == 'opening':
            fake.jobs['c']['state'] = 'opened'

    es.on_stats = lambda fake: None
    outcome, result = run(es, 'opened', ['_all'])
    assert outcome == 'failed'   # c stays opening in this fake: a timeout, not a second open
    assert sorted(p for p in es.paths('POST')) == [es.base + '/anomaly_detectors/a/_open', es.base + '/anomaly_detectors/d/_open']
    assert result['timed_out_jobs'] == ['c']

    es = cluster(version, a='closed', b='opened', c='opening', d='closed')
    es.on_stats = opening_finishes
    outcome, result = run(es, 'opened', ['_all'])
    assert outcome == 'ok' and result['changed'] is True
    assert sorted(es.paths('POST')) == [es.base + '/anomaly_detectors/a/_open', es.base + '/anomaly_detectors/d/_open']
    assert by_id(result)['c']['actions'] == ['wait'] and by_id(result)['b']['actions'] == []
    assert after(result) == {'a': 'opened', 'b': 'opened', 'c': 'opened', 'd': 'opened'}
    es.calls = []
    outcome, result = run(es, 'opened', ['_all'])
    assert outcome == 'ok' and result['changed'] is False and len(es.calls) == 1


@pytest.mark.parametrize('version', VERSIONS)
def test_open_confirmed_by_es_needs_no_reread(version):
    es = cluster(version, a='closed', b='closed')
    outcome, result = run(es, 'opened', ['a', 'b'])
    assert outcome == 'ok'
    # Before 7.8 the open's answer names no node, so it cannot tell opened from lazily opening: one more read.
    assert len(es.state_reads()) == (1 if es.version >= (7, 8, 0) else 2)
    assert all(params == {'timeout': '1m'} for (_m, p, params) in es.calls if p.endswith('_open'))


@pytest.mark.parametrize('version', VERSIONS)
def test_open_timeout_408_keeps_polling(version):
    es = cluster(version, a='closed')
    es.open_lands_in = 'opening'
    reads = []

    def opens_later(fake):
        reads.append(1)
        if len(reads) == 3:
            fake.jobs['a']['state'] = 'opened'

    es.on_stats = opens_later
    outcome, result = run(es, 'opened', ['a'])
    assert outcome == 'ok' and after(result) == {'a': 'opened'}
    assert len(es.paths('POST')) == 1


@pytest.mark.parametrize('version', VERSIONS)
def test_lazy_open_waiting_for_capacity_counts_as_opened(version):
    es = FakeEs(version).add_job('big', 'closed', lazy=True)
    outcome, result = run(es, 'opened', ['big'], timeout=5)
    assert outcome == 'ok', result['msg']
    assert after(result) == {'big': 'opening'}


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('option', ('force', 'force_failed'))
def test_open_failed_job_force_closes_then_opens(version, option):
    es = cluster(version, a='failed', b='closed')
    es.add_datafeed('df-a', 'a', state='started')
    outcome, result = run(es, 'opened', ['a', 'b'], **{option: True})
    assert outcome == 'ok', result['msg']
    posts = es.paths('POST')
    stop = [es.base + '/datafeeds/df-a/_stop'] if version < '7.14' else []
    assert posts[:len(stop) + 1] == stop + [es.base + '/anomaly_detectors/a/_close']
    assert sorted(posts[len(stop) + 1:]) == [es.base + '/anomaly_detectors/a/_open', es.base + '/anomaly_detectors/b/_open']
    assert closes(es)[0][1]['force'] is True
    assert es.states() == {'a': 'opened', 'b': 'opened'}
    assert by_id(result)['a']['actions'] == (['stop_datafeed'] if stop else []) + ['force_close', 'open']


@pytest.mark.parametrize('version', VERSIONS)
def test_open_closing_job_waits_for_closed_then_opens(version):
    es = cluster(version, a='closing')
    reads = []

    def closes_later(fake):
        reads.append(1)
        if len(reads) == 3 and fake.jobs['a']['state'] == 'closing':
            fake.jobs['a']['state'] = 'closed'

    es.on_stats = closes_later
    outcome, result = run(es, 'opened', ['a'])
    assert outcome == 'ok', result['msg']
    assert es.paths('POST') == [es.base + '/anomaly_detectors/a/_open']
    assert after(result) == {'a': 'opened'}


def test_open_conflict_because_someone_else_opened_it_is_not_an_error():
    es = cluster('8.19.3', a='closed')
    es.fault('POST', '/_open$', 409, 'status_exception', 'Cannot open job [a] because it has already been opened')

    def someone_opened(fake):
        fake.jobs['a']['state'] = 'opened'

    outcome, result = run(es, 'opened', ['a'])
    # the fault fired without changing state, so the job is still closed: the engine must fail, not loop
    assert outcome == 'failed' and 'closed again' in result['msg']
    es = cluster('8.19.3', a='closed')
    es.fault('POST', '/_open$', 409, 'status_exception', 'Cannot open job [a] because it has already been opened')
    es.on_stats = someone_opened
    outcome, result = run(es, 'opened', ['a'])
    assert outcome == 'ok' and after(result) == {'a': 'opened'}


@pytest.mark.parametrize('version', VERSIONS)
def test_check_mode_open_predicts_without_mutating(version):
    es = cluster(version, a='closed', b='failed', c='opening')
    outcome, result = run(es, 'opened', ['_all'], check_mode=True, diff=True, force_failed=True)
    assert outcome == 'ok' and result['changed'] is True
    assert es.mutations() == []
    assert result['diff']['after'] == {'a': 'opened', 'b': 'opened', 'c': 'opened'}
    assert es.states() == {'a': 'closed', 'b': 'failed', 'c': 'opening'}


# ------------------------------------------------------------------ absent


@pytest.mark.parametrize('version', VERSIONS)
def test_absent_deletes_closed_jobs_one_request_each(version):
    es = cluster(version, a='closed', b='closed')
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'ok' and result['changed'] is True
    assert sorted(es.paths('DELETE')) == [es.base + '/anomaly_detectors/a', es.base + '/anomaly_detectors/b']
    # no force for closed jobs; from 7.0 the time left goes as timeout (and keeps the client waiting as long)
    expected = {'timeout': '1m'} if es.version >= (7, 0, 0) else {}
    assert [params for (m, _p, params) in es.calls if m == 'DELETE'] == [expected, expected]
    assert es.jobs == {}
    assert after(result) == {'a': 'absent', 'b': 'absent'}
    es.calls = []
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'ok' and result['changed'] is False and result['jobs'] == []
    assert len(es.calls) <= 2 and es.mutations() == []


@pytest.mark.parametrize('version', VERSIONS)
def test_absent_missing_exact_ids_are_already_absent(version):
    es = cluster(version, a='closed')
    outcome, result = run(es, 'absent', ['gone', 'a', 'also-gone'])
    assert outcome == 'ok', result['msg']
    assert es.paths('DELETE') == [es.base + '/anomaly_detectors/a']
    assert [job['job_id'] for job in result['jobs']] == ['a']


@pytest.mark.parametrize('version', ('6.8.23', '7.13.4', '7.14.2'))
def test_absent_up_to_714_deletes_datafeeds_first(version):
    es = cluster(version, a='closed', b='closed')
    es.add_datafeed('df-a', 'a')
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'ok', result['msg']
    deletes = es.paths('DELETE')
    assert deletes.index(es.base + '/datafeeds/df-a') < deletes.index(es.base + '/anomaly_detectors/a')
    assert (by_id(result)['a']['datafeed_id'], by_id(result)['a']['datafeed_state']) == ('df-a', 'absent')
    assert es.jobs == {} and es.datafeeds == {}


@pytest.mark.parametrize('version', ('7.17.28', '8.19.3', '9.1.5'))
def test_absent_from_715_lets_the_job_delete_remove_its_datafeed(version):
    es = cluster(version, a='closed')
    es.add_datafeed('df-a', 'a')
    outcome, result = run(es, 'absent', ['a'])
    assert outcome == 'ok'
    assert es.state_reads() == [es.base + '/anomaly_detectors/a/_stats']
    assert es.paths('DELETE') == [es.base + '/anomaly_detectors/a']
    assert 'datafeed_id' not in by_id(result)['a']
    assert es.datafeeds == {}


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('state', ('opened', 'opening', 'closing', 'failed'))
def test_absent_running_job_without_force_fails_naming_it_and_its_state(version, state):
    es = cluster(version, a=state, b='closed')
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'failed'
    assert 'cannot delete job a (%s)' % state in result['msg'] and 'force: true' in result['msg']
    assert result['failed_jobs'] == ['a']
    assert len(es.calls) == 1   # stats only: no datafeed read for a plan that refuses
    assert es.mutations() == []


@pytest.mark.parametrize('version', VERSIONS)
def test_absent_with_force_force_deletes_running_jobs_and_their_datafeeds(version):
    es = cluster(version, a='opened', b='failed', c='closed')
    es.add_datafeed('df-a', 'a', state='started')
    outcome, result = run(es, 'absent', ['_all'], force=True)
    assert outcome == 'ok', result['msg']
    forced = dict((p, params.get('force')) for (m, p, params) in es.calls if m == 'DELETE')
    assert forced[es.base + '/anomaly_detectors/a'] is True
    assert forced[es.base + '/anomaly_detectors/b'] is True
    assert forced[es.base + '/anomaly_detectors/c'] is None    # closed: no force needed
    if version < '7.15':
        assert forced[es.base + '/datafeeds/df-a'] is True
    assert es.jobs == {} and es.datafeeds == {}
    assert by_id(result)['a']['actions'][-1] == 'force_delete'


def test_absent_force_failed_deletes_failed_jobs_only():
    es = cluster('8.19.3', a='failed', b='closed')
    outcome, result = run(es, 'absent', ['_all'], force_failed=True)
    assert outcome == 'ok'
    assert es.jobs == {}
    es = cluster('8.19.3', a='failed', b='opened')
    outcome, result = run(es, 'absent', ['_all'], force_failed=True)
    assert outcome == 'failed' and 'job b (opened)' in result['msg']
    assert es.mutations() == []


@pytest.mark.parametrize('version', VERSIONS)
def test_check_mode_absent_predicts_without_mutating(version):
    es = cluster(version, a='closed', b='closed')
    es.add_datafeed('df-a', 'a')
    outcome, result = run(es, 'absent', ['_all'], check_mode=True, diff=True)
    assert outcome == 'ok' and result['changed'] is True
    assert es.mutations() == []
    assert result['diff'] == {'before': {'a': 'closed', 'b': 'closed'}, 'after': {}}
    assert after(result) == {'a': 'absent', 'b': 'absent'}
    assert sorted(es.jobs) == ['a', 'b']


def test_one_failing_delete_does_not_stop_the_others_and_is_reported():
    es = cluster('8.19.3', a='closed', b='closed', c='closed')
    es.fault('DELETE', '/anomaly_detectors/b$', 500, 'exception', 'disk on fire')
    outcome, result = run(es, 'absent', ['_all'])
    assert outcome == 'failed'
    assert 'disk on fire' in result['msg']
    assert sorted(es.jobs) == ['b']
    assert after(result) == {'a': 'absent', 'b': 'closed', 'c': 'absent'}


def test_delete_404_because_someone_else_deleted_it_is_success():
    es = cluster('8.19.3', a='closed')
    es.fault('DELETE', '/anomaly_detectors/a$', 404, 'resource_not_found_exception', "No known job with id 'a'")
    outcome, result = run(es, 'absent', ['a'])
    assert outcome == 'ok' and result['changed'] is True


# ------------------------------------------------------------------ upgrade mode and other errors


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('desired, state', [('closed', 'opened'), ('opened', 'closed'), ('absent', 'closed')])
def test_upgrade_mode_points_to_the_upgrade_mode_module(version, desired, state):
    es = cluster(version, a=state)
    es.upgrade_mode = True
    outcome, result = run(es, desired, ['a'])
    if version == '6.8.23' and desired != 'opened':
        assert outcome == 'ok'   # before 7.8 only opening a job is refused in upgrade mode
        return
    assert outcome == 'failed'
    assert 'esops.jobs.ml_upgrade_mode' in result['msg'] and 'upgrade mode is enabled' in result['msg']
    assert result['failed_jobs'] == ['a']


@pytest.mark.parametrize('version', VERSIONS)
def test_a_job_deleted_by_someone_else_while_waiting_is_named_not_a_traceback(version):
    es = cluster(version, a='opened', b='opened')
    es.close_lands_in = 'closing'
    reads = []

    def b_deleted(fake):
        reads.append(1)
        if len(reads) == 2:
            del fake.jobs['b']

    es.on_stats = b_deleted
    outcome, result = run(es, 'closed', ['a', 'b'])
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['b']
    assert 'job b was deleted while waiting' in result['msg']
    assert after(result) == {'a': 'closing', 'b': 'absent'}


def test_other_es_errors_keep_status_and_type():
    es = cluster('8.19.3', a='opened')
    es.fault('POST', '/_close$', 403, 'security_exception', 'action [cluster:admin/xpack/ml/job/close] is unauthorized')
    outcome, result = run(es, 'closed', ['a'])
    assert outcome == 'failed'
    assert result['status'] == 403 and result['error_type'] == 'security_exception'
    assert 'unauthorized' in result['msg']


def test_every_close_request_line_is_sent_at_once():
    # Each close waits server-side; a chunk queued behind another would add a whole close duration.
    ids = long_ids(250)
    chunks = chunk_ids(ids)
    assert len(chunks) > MAX_PARALLEL_REQUESTS
    all_sent = threading.Barrier(len(chunks), timeout=5)

    class WaitingEs(FakeEs):
        def request(self, method, path, *args, **kwargs):
            if path.endswith('/_close'):
                all_sent.wait()   # raises BrokenBarrierError unless every chunk is in flight together
            return FakeEs.request(self, method, path, *args, **kwargs)

    es = with_jobs(WaitingEs('8.19.3'), ids, 'opened')
    outcome, result = run(es, 'closed', ids)
    assert outcome == 'ok', result.get('msg')
    assert len(closes(es)) == len(chunks)
    assert set(after(result).values()) == {'closed'}


# ------------------------------------------------------------------ failures during waits (issue 13)


class ServerWaitingEs(FakeEs):
    """A close that runs out of time waits as long as it asked to (on the fake clock), as ES's wait does."""

    def __init__(self, version, clock):
        FakeEs.__init__(self, version)
        self.clock = clock

    def _close(self, method, path, parts, params):
        try:
            return FakeEs._close(self, method, path, parts, params)
        except ElasticsearchError as exc:
            if exc.status == 500:
                self.clock.now += parse_duration(params['timeout'])
            raise


@pytest.mark.parametrize('version', VERSIONS)
def test_a_job_failing_while_another_request_closes_it_is_noticed_within_seconds(version):
    # ES's close waits only for the task to disappear; a failed task never does (TransportCloseJobAction), so one
    # close carrying the whole budget would hold the run for 30 minutes.
    clock = FakeClock()
    es = ServerWaitingEs(version, clock)
    es.add_job('a', 'closing')
    es.close_lands_in = 'closing'
    start = clock.now

    def fails_meanwhile(fake):
        if clock.now > start:
            fake.jobs['a']['state'] = 'failed'

    es.on_stats = fails_meanwhile
    outcome, result = run(es, 'closed', ['a'], timeout=1800, clock=clock)
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['a'] and 'job a failed' in result['msg']
    assert clock.now - start <= 2 * CLOSE_WAIT_CHUNK + 2
    assert all(parse_duration(params['timeout']) <= CLOSE_WAIT_CHUNK for _p, params in closes(es))


@pytest.mark.parametrize('version', VERSIONS)
def test_a_slow_close_is_asked_again_until_closed(version):
    clock = FakeClock()
    es = ServerWaitingEs(version, clock)
    es.add_job('a', 'opened')
    es.close_lands_in = 'closing'

    def closes_after_a_while(fake):
        if clock.now >= 1000.0 + 3 * CLOSE_WAIT_CHUNK:
            fake.jobs['a']['state'] = 'closed'

    es.on_stats = closes_after_a_while
    outcome, result = run(es, 'closed', ['a'], timeout=1800, clock=clock)
    assert outcome == 'ok', result['msg']
    assert after(result) == {'a': 'closed'}
    assert 3 <= len(closes(es)) <= 4


class CloseFailsOnNodeEs(FakeEs):
    """ES when the job's close fails on its node: the job is failed, the close answers 500
    (AutodetectProcessManager.closeJob: serverError "Exception closing autodetect process")."""

    def _close(self, method, path, parts, params):
        self.jobs['a']['state'] = 'failed'
        raise self.error(method, path, 500, 'exception', 'Exception closing autodetect process')


@pytest.mark.parametrize('version', VERSIONS)
def test_close_answering_500_for_a_job_that_failed_names_it(version):
    es = CloseFailsOnNodeEs(version).add_job('a', 'opened')
    outcome, result = run(es, 'closed', ['a'], timeout=1800)
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['a']
    assert 'job a failed while waiting for it to be closed' in result['msg']
    assert 'Exception closing autodetect process' in result['msg']
    assert after(result) == {'a': 'failed'}


class OpenFailsEs(FakeEs):
    """TransportOpenJobAction.JobPredicate: a job that fails while opening ends the open's wait with a 500."""

    def _open(self, method, path, parts, params):
        self.jobs[parts[1]]['state'] = 'failed'
        raise self.error(method, path, 500, 'exception',
                         'Unexpected job state [failed] with reason [boom] while waiting for job to be opened')


@pytest.mark.parametrize('version', VERSIONS)
def test_open_answering_500_for_a_job_that_failed_names_it(version):
    es = OpenFailsEs(version).add_job('a', 'closed')
    outcome, result = run(es, 'opened', ['a'])
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['a']
    assert 'job a failed while waiting for it to be opened' in result['msg']
    assert after(result) == {'a': 'failed'}


@pytest.mark.parametrize('check_mode', (True, False))
def test_a_lazy_job_waiting_for_capacity_is_already_opened(check_mode):
    es = FakeEs('8.19.3').add_job('big', 'opening', lazy=True)
    outcome, result = run(es, 'opened', ['big'], check_mode=check_mode)
    assert outcome == 'ok' and result['changed'] is False
    assert result['jobs'][0]['actions'] == [] and after(result) == {'big': 'opening'}
    assert es.mutations() == []


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('desired, state', [('closed', 'opened'), ('opened', 'closed'), ('absent', 'closed')])
def test_check_mode_predicts_the_upgrade_mode_refusal(version, desired, state):
    es = cluster(version, a=state)
    es.upgrade_mode = True
    outcome, check = run(es, desired, ['a'], check_mode=True)
    if version == '6.8.23' and desired != 'opened':
        # Before 7.8 Elasticsearch refuses only opening a job in upgrade mode: close and delete go ahead.
        assert outcome == 'ok' and check['changed'] is True and es.mutations() == []
        outcome, real = run(es, desired, ['a'])
        assert outcome == 'ok', real['msg']
        assert real['changed'] is True and after(real) == after(check)
        return
    assert outcome == 'failed' and 'upgrade mode is enabled' in check['msg']
    assert check['failed_jobs'] == ['a'] and check['changed'] is False
    outcome, real = run(es, desired, ['a'])
    assert outcome == 'failed' and real['msg'] == check['msg']
    assert es.mutations() == []


@pytest.mark.parametrize('version', ('6.8.23', '7.13.4'))
def test_datafeeds_stopped_before_a_failed_close_are_reported_as_changed(version):
    es = cluster(version, a='opened')
    es.add_datafeed('df-a', 'a', state='started')
    es.fault('POST', '/_close$', 403, 'security_exception', 'action [cluster:admin/xpack/ml/job/close] is unauthorized')
    outcome, result = run(es, 'closed', ['a'])
    assert outcome == 'failed'
    assert es.datafeeds['df-a']['state'] == 'stopped'
    assert result['changed'] is True
    job = result['jobs'][0]
    assert job['changed'] is True and job['state_after'] == 'opened'
    assert (job['datafeed_id'], job['datafeed_state']) == ('df-a', 'stopped')
