# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollup_job_state end to end: argspec -> adapter -> engine -> real client -> the in-process emulator per version.

An indexing run and a stop during one last Timings.stop_seconds of virtual time (a job that "never stops" is one
whose run outlasts the test's timeout). A release older than the collection supports is a 6.8 cluster whose GET /
names it (es.pretend_version)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job_state
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS
from ansible_collections.esops.jobs.tests.emulator.rollup import DEPRECATION
from ansible_collections.esops.jobs.tests.emulator.state import Timings

STUCK = dict(timings=Timings(stop_seconds=3600))   # an indexing run that outlasts every timeout of these tests


@pytest.fixture
def run(run_module):
    def run_rollup_job_state(check_mode=False, diff=False, **args):
        return run_module(rollup_job_state.main, args, check_mode=check_mode, diff=diff)
    return run_rollup_job_state


def cluster(es_factory, version, **options):
    return es_factory(version, **options)


def jobs(es, **states):
    for job_id, state in sorted(states.items()):
        es.add_rollup_job(job_id, state, rollup_index=job_id + '-rollup')
    return es


def by_id(result):
    return dict((j['job_id'], j) for j in result['jobs'])


def gets(es):
    return ['GET %s' % r['path'] for r in es.requests() if r['method'] == 'GET']


def posts(es):
    return [r for r in es.requests() if r['method'] == 'POST']


def job_state(es, job_id):
    return es.state()['rollup_jobs'].get(job_id, 'absent')


def aborting(es, job_id, times=None):
    """GET of every rollup job shows `job_id` aborting (ES's state while a job is being deleted), `times` times
    or for good. The emulator has no way into that state, so the answer is a fault with ES's body."""
    body = es.ok('GET', es.rollup_path('job', '_all'))
    entry = [job for job in body['jobs'] if job['config']['id'] == job_id]
    entry[0]['status']['job_state'] = 'aborting'
    spec = dict(method='GET', path_regex='^%s$' % es.rollup_path('job', '(_all|%s)' % job_id), status=200, body=body)
    if times is not None:
        spec['times'] = times
    es.faults(**spec)
    return body


# ------------------------------------------------------------------------------------ state=stopped

@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
def test_stop_running_jobs_waits_server_side_and_reads_nothing_after(es, run):
    jobs(es, a='started', b='indexing', c='stopped')
    failed, result = run(job_id=['a', 'b', 'c'], state='stopped')

    assert not failed and result['changed'] is True
    assert [(j['state_before'], j['state_after'], j['changed'], j['actions']) for j in result['jobs']] == [
        ('started', 'stopped', True, ['stop']), ('indexing', 'stopped', True, ['stop']), ('stopped', 'stopped', False, [])]
    assert job_state(es, 'a') == job_state(es, 'b') == 'stopped'
    # Budget: GET /, GET _all, one stop with a server-side wait per running job, nothing else.
    assert gets(es) == ['GET /', 'GET %s' % es.rollup_path('job', '_all')]
    assert sorted(es.mutations()) == [('POST', es.rollup_path('job', 'a', '_stop')), ('POST', es.rollup_path('job', 'b', '_stop'))]
    assert all(r['query'] == {'wait_for_completion': 'true', 'timeout': '30s'} for r in posts(es))
    assert result['msg'] == 'moved 2 of 3 rollup jobs to stopped'


def test_elasticsearch_older_than_6_8_is_refused_before_any_change(es_factory, run):
    es = jobs(es_factory('6.8.23'), a='started')
    es.pretend_version('6.5.4')
    failed, result = run(job_id='a')

    assert failed and result['msg'] == (
        'Elasticsearch 6.5.4 is not supported: esops.jobs needs 6.8.0 or later (nothing was changed)')
    assert gets(es) == ['GET /'] and es.mutations() == [] and job_state(es, 'a') == 'started'


@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
def test_stop_is_a_no_op_when_everything_is_stopped(es_factory, run, version):
    es = jobs(cluster(es_factory, version), a='stopped', b='stopped')
    failed, result = run(job_id='_all', diff=True)

    assert not failed and result['changed'] is False
    assert gets(es) == ['GET /', 'GET %s' % es.rollup_path('job', '_all')] and es.mutations() == []
    assert result['diff'] == {'before': {'a': 'stopped', 'b': 'stopped'}, 'after': {'a': 'stopped', 'b': 'stopped'}}
    assert result['msg'] == 'all 2 rollup jobs already stopped'


@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
def test_stopping_job_gets_a_waiting_stop_and_counts_as_changed(es_factory, run, version):
    es = jobs(es_factory(version, timings=Timings(stop_seconds=20)), a='stopping')
    failed, result = run(job_id='a', diff=True)

    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'a': 'stopping'}, 'after': {'a': 'stopped'}}
    assert es.mutations() == [('POST', es.rollup_path('job', 'a', '_stop'))]
    assert job_state(es, 'a') == 'stopped'


@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
def test_check_mode_predicts_the_stop_and_sends_nothing(es_factory, run, version):
    es = jobs(cluster(es_factory, version, timings=Timings(stop_seconds=20)), a='started', b='indexing', c='stopping')
    failed, result = run(check_mode=True, diff=True, job_id='*')

    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'a': 'started', 'b': 'indexing', 'c': 'stopping'},
                              'after': {'a': 'stopped', 'b': 'stopped', 'c': 'stopped'}}
    assert es.mutations() == []
    assert (job_state(es, 'a'), job_state(es, 'b'), job_state(es, 'c')) == ('started', 'indexing', 'stopping')
    assert result['msg'] == 'would move 3 of 3 rollup jobs to stopped'


@pytest.mark.parametrize('es', [dict(version='8.19.3', **STUCK), dict(version='9.1.5', **STUCK)], indirect=True)
def test_wait_false_stops_without_server_side_wait_and_reports_the_transitional_state(es, run):
    jobs(es, a='indexing')
    failed, result = run(job_id='a', wait=False)

    assert [(r['path'], r['query']) for r in posts(es)] == [('/_rollup/job/a/_stop', {})]
    assert not failed and by_id(result)['a']['state_after'] == 'stopping'
    assert result['changed'] is True


def test_stop_many_jobs_concurrently_with_a_bounded_pool(es, run):
    for i in range(12):
        es.add_rollup_job('job-%02d' % i, 'indexing', rollup_index='job-%02d-rollup' % i)
    active, most = [0], [0]
    lock = threading.Lock()
    handle = es.app.handle

    def counting(method, uri, headers, body):
        # Count the stops in flight at once; the short real pause lets the pool's threads overlap.
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            if method == 'POST':
                time.sleep(0.005)
            return handle(method, uri, headers, body)
        finally:
            with lock:
                active[0] -= 1

    es.app.handle = counting
    failed, result = run(job_id='job-*')

    assert not failed and all(j['state_after'] == 'stopped' for j in result['jobs'])
    assert len(es.mutations()) == 12
    assert 2 <= most[0] <= 16
    assert gets(es) == ['GET /', 'GET /_rollup/job/_all']
    assert set(es.state()['rollup_jobs'].values()) == {'stopped'}


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28', '8.19.3', '9.1.5'])
def test_wait_timeout_fails_clearly_with_the_last_state_and_is_not_retried(es_factory, run, version):
    es = jobs(es_factory(version, **STUCK), slow='indexing', fast='started')
    before = es.clock.monotonic()
    failed, result = run(job_id='slow,fast', timeout='45s')

    assert failed
    assert result['msg'] == 'rollup job slow did not stop within 45s; last state: stopping'
    assert result['failed_jobs'] == ['slow']
    slow_stops = [r for r in posts(es) if r['path'] == es.rollup_path('job', 'slow', '_stop')]
    assert [r['status'] for r in slow_stops] == [429 if version.startswith('9') else 500]   # not retried
    assert 45 <= es.clock.monotonic() - before < 47   # the server-side wait, no client backoff after it
    assert by_id(result)['fast']['state_after'] == 'stopped'
    assert by_id(result)['slow']['state_after'] == 'stopping'


@pytest.mark.parametrize('es', ['9.1.5'], indirect=True)
def test_a_rejected_stop_is_retried_but_a_timeout_is_not(es, run):
    jobs(es, a='started')
    es.faults(method='POST', path_regex='/_stop', status=429, times=1, body={
        'error': {'type': 'es_rejected_execution_exception', 'reason': 'queue full'}, 'status': 429})
    failed, result = run(job_id='a')

    assert not failed
    assert [(r['path'], r['status']) for r in posts(es)] == [('/_rollup/job/a/_stop', 429), ('/_rollup/job/a/_stop', 200)]
    assert by_id(result)['a']['state_after'] == 'stopped'


@pytest.mark.parametrize('state', ['stopped', 'started'])
@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_aborting_job_cannot_be_started_or_stopped(es, run, state):
    jobs(es, a='started')
    aborting(es, 'a')
    failed, result = run(job_id='a', state=state)

    assert failed
    assert result['msg'] == 'rollup job a is aborting (it is being deleted); it cannot be %s' % state
    assert result['failed_jobs'] == ['a']
    assert es.mutations() == []


# ------------------------------------------------------------------------------------ state=started

@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
def test_start_only_sends_start_to_stopped_jobs(es_factory, run, version):
    es = jobs(cluster(es_factory, version), a='stopped', b='started', c='indexing')
    failed, result = run(job_id=['a', 'b', 'c'], state='started', diff=True)

    assert not failed and result['changed'] is True
    assert es.mutations() == [('POST', es.rollup_path('job', 'a', '_start'))]  # 7.x would answer 500 to the others
    assert result['diff'] == {'before': {'a': 'stopped', 'b': 'started', 'c': 'indexing'},
                              'after': {'a': 'started', 'b': 'started', 'c': 'indexing'}}
    assert gets(es) == ['GET /', 'GET %s' % es.rollup_path('job', '_all')]
    assert job_state(es, 'a') == 'started'


@pytest.mark.parametrize('es', ['6.8.23', '7.17.28'], indirect=True)
def test_start_on_running_jobs_is_a_no_op_that_sends_nothing(es, run):
    jobs(es, b='started', c='indexing')
    failed, result = run(job_id='_all', state='started')

    assert not failed and result['changed'] is False
    assert es.mutations() == []


@pytest.mark.parametrize('es', [dict(version='7.13.4', timings=Timings(stop_seconds=3.0))], indirect=True)
def test_start_from_stopping_waits_for_stopped_then_starts(es, run):
    jobs(es, a='stopping')
    failed, result = run(job_id='a', state='started', wait=False)

    assert not failed
    assert by_id(result)['a']['state_before'] == 'stopping'
    assert by_id(result)['a']['state_after'] == 'started'
    assert es.mutations() == [('POST', '/_rollup/job/a/_start')]
    assert job_state(es, 'a') == 'started'
    assert gets(es).count('GET /_rollup/job/a') >= 2  # polled that one job


@pytest.mark.parametrize('es', [dict(version='8.19.3', **STUCK)], indirect=True)
def test_start_from_a_stuck_stopping_job_times_out_without_sending_start(es, run):
    jobs(es, a='stopping')
    failed, result = run(job_id='a', state='started', timeout='5s')

    assert failed
    assert result['msg'] == 'rollup job a did not stop within 5s before it can be started; last state: stopping'
    assert es.mutations() == []


@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_start_race_with_another_starter_on_7x_is_not_an_error(es, run):
    jobs(es, a='stopped')

    def someone_else_starts(method, path):
        if method == 'POST' and path.endswith('/_start'):
            es.start_rollup_job('a')

    es.on_request = someone_else_starts
    failed, result = run(job_id='a', state='started')

    assert not failed and by_id(result)['a']['state_after'] == 'started'
    assert result['changed'] is True
    assert [r['status'] for r in posts(es)] == [500]   # 7.x refuses to start a started job
    assert job_state(es, 'a') == 'started'


@pytest.mark.parametrize('es', ['6.8.23', '9.1.5'], indirect=True)
def test_start_check_mode_sends_nothing(es, run):
    jobs(es, a='stopped')
    failed, result = run(job_id='a', state='started', check_mode=True)

    assert not failed and result['changed'] is True
    assert by_id(result)['a']['state_after'] == 'started'
    assert es.mutations() == []
    assert job_state(es, 'a') == 'stopped'


def test_start_of_a_job_deleted_meanwhile_fails_clearly(es, run):
    jobs(es, a='stopped')

    def deleted(method, path):
        if method == 'POST':
            es.ok('DELETE', es.rollup_path('job', 'a'))

    es.on_request = deleted
    failed, result = run(job_id='a', state='started')
    assert failed and result['msg'] == 'rollup job a was deleted before it could be started'


# ------------------------------------------------------------------------------------- state=absent

@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
def test_delete_stopped_job_and_confirm_it_is_gone(es_factory, run, version):
    es = jobs(cluster(es_factory, version), a='stopped', keep='started')
    failed, result = run(job_id='a', state='absent', diff=True)

    assert not failed and result['changed'] is True
    assert by_id(result)['a']['state_after'] == 'absent'
    assert result['diff'] == {'before': {'a': 'stopped'}, 'after': {}}
    assert es.mutations() == [('DELETE', es.rollup_path('job', 'a'))]
    assert es.state()['rollup_jobs'] == {'keep': 'started'}


@pytest.mark.parametrize('state', ['started', 'indexing', 'stopping'])
def test_delete_without_force_fails_naming_the_state_and_sends_nothing(es, run, state):
    jobs(es, a=state, b='stopped')
    failed, result = run(job_id='a,b', state='absent')

    assert failed
    assert result['msg'] == ('rollup job a is %s; only a stopped rollup job can be deleted: stop it first, '
                             'or set force=true to stop and then delete it' % state)
    assert result['failed_jobs'] == ['a']
    assert es.mutations() == []
    assert job_state(es, 'b') == 'stopped'


@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
@pytest.mark.parametrize('state', ['started', 'indexing', 'stopping'])
def test_force_delete_stops_waits_then_deletes(es_factory, run, version, state):
    es = jobs(cluster(es_factory, version), a=state)
    failed, result = run(job_id='a', state='absent', force=True, wait=False)

    assert not failed
    assert by_id(result)['a']['actions'] == ['stop', 'delete']
    assert by_id(result)['a']['state_after'] == 'absent'
    assert es.mutations() == [('POST', es.rollup_path('job', 'a', '_stop')), ('DELETE', es.rollup_path('job', 'a'))]
    assert es.state()['rollup_jobs'] == {}
    assert posts(es)[0]['query'] == {'wait_for_completion': 'true', 'timeout': '30s'}


@pytest.mark.parametrize('es', ['9.1.5'], indirect=True)
def test_force_delete_check_mode_predicts_absent_and_sends_nothing(es, run):
    jobs(es, a='indexing')
    failed, result = run(job_id='a', state='absent', force=True, check_mode=True, diff=True)

    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'a': 'indexing'}, 'after': {}}
    assert es.mutations() == []


def test_delete_refused_because_the_job_was_started_meanwhile_is_explained(es, run):
    jobs(es, a='stopped')

    def started_meanwhile(method, path):
        if method == 'DELETE':
            es.start_rollup_job('a')

    es.on_request = started_meanwhile
    failed, result = run(job_id='a', state='absent')

    assert failed
    assert result['msg'].startswith('rollup job a cannot be deleted: HTTP 500 illegal_state_exception: Could not delete job [a] '
                                    'because indexer state is [STARTED].  Job must be [STOPPED] before deletion.'), result['msg']
    assert 'force=true' in result['msg']
    assert result['failed_jobs'] == ['a']


def test_delete_of_an_already_deleted_job_is_fine(es, run):
    jobs(es, a='stopped')

    def gone(method, path):
        if method == 'DELETE':
            es.ok('DELETE', es.rollup_path('job', 'a'))

    es.on_request = gone
    failed, result = run(job_id='a', state='absent')
    assert not failed and by_id(result)['a']['state_after'] == 'absent'
    assert [r['status'] for r in es.mutating_requests()] == [404]


@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_aborting_job_with_absent_is_waited_for(es, run):
    jobs(es, a='stopped')
    # ES shows the job aborting while its deletion runs, then not at all: two reads, then it is gone.
    aborting(es, 'a', times=2)
    es.ok('DELETE', es.rollup_path('job', 'a'))
    failed, result = run(job_id='a', state='absent')

    assert not failed
    assert by_id(result)['a']['actions'] == ['await_removal']
    assert by_id(result)['a']['state_after'] == 'absent'
    assert es.mutations() == []


@pytest.mark.parametrize('es', ['6.8.23', '9.1.5'], indirect=True)
def test_absent_for_missing_exact_ids_is_not_an_error(es, run):
    jobs(es, other='stopped')
    failed, result = run(job_id=['gone-1', 'gone-2'], state='absent')

    assert not failed and result['changed'] is False
    assert result['jobs'] == []
    assert es.mutations() == []


# -------------------------------------------------------------------------------------- selection

@pytest.mark.parametrize('state', ['stopped', 'started'])
def test_missing_exact_ids_fail_listing_all_of_them(es, run, state):
    jobs(es, a='started')
    failed, result = run(job_id=['a', 'x', 'y'], state=state)

    assert failed
    assert result['msg'] == 'rollup jobs not found: x, y'
    assert result['failed_jobs'] == ['x', 'y']
    assert es.mutations() == []


def test_pattern_matching_nothing_is_no_change(es, run):
    jobs(es, a='started')
    failed, result = run(job_id='nightly-*')

    assert not failed
    assert result == dict(result, changed=False, jobs=[], msg='no rollup jobs matched')
    assert es.mutations() == []


@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_patterns_are_matched_client_side_and_ordered(es, run):
    jobs(es, **{'web-b': 'started', 'web-a': 'started', 'db-1': 'started', 'webx': 'started'})
    failed, result = run(job_id=['db-1', 'web-*'])

    assert not failed and [j['job_id'] for j in result['jobs']] == ['db-1', 'web-a', 'web-b']
    assert job_state(es, 'webx') == 'started'
    assert gets(es) == ['GET /', 'GET /_rollup/job/_all']


@pytest.mark.parametrize('job_id,message', [
    ('a,,b', 'job_id: empty id; separate ids with single commas, with none left over at either end'),
    (['a', ' , b'], "job_id: empty id in ' , b'; separate ids with single commas, with none left over at either end"),
    ('a,\tb ,c', ['a', 'b', 'c']),
    ('bad\x01id', "job_id: 'bad\\x01id' is not a valid rollup job id: it contains whitespace or control characters"),
    ('my job', "job_id: 'my job' is not a valid rollup job id: it contains whitespace or control characters"),
    (['_all', 'a'], 'job_id: _all (or *) selects every rollup job and cannot be combined with other ids'),
    ([], 'job_id: give at least one rollup job id, a pattern with * or _all'),
])
def test_bad_selectors_fail_before_any_request(es, run, job_id, message):
    failed, result = run(job_id=job_id)
    assert failed
    if isinstance(message, list):  # not bad after all: surrounding whitespace is trimmed
        assert result['msg'] == 'rollup jobs not found: %s' % ', '.join(message)
        return
    assert result['msg'] == message
    assert es.requests() == []


def test_bad_timeout_fails_before_any_request(es, run):
    failed, result = run(job_id='a', timeout='soon')
    assert failed and result['msg'].startswith("timeout='soon' is not a duration")
    assert es.requests() == []


def test_a_huge_timeout_fails_with_one_line(es, run):
    failed, result = run(job_id='a', timeout='99999999d')
    assert failed and result['msg'] == "timeout='99999999d' is too long: at most 7d"
    assert es.requests() == []


def test_force_with_another_state_warns(es, run):
    jobs(es, a='stopped')
    failed, result = run(job_id='a', force=True)
    assert not failed and result['warnings'] == ['force has no effect with state=stopped; it only applies to state=absent']


# ------------------------------------------------------------------------------- errors, warnings

@pytest.mark.parametrize('es', ['9.1.5'], indirect=True)
def test_9x_deprecation_warnings_are_surfaced_once_and_never_fatal(es, run):
    jobs(es, a='started', b='started')
    failed, result = run(job_id='_all')

    assert not failed and result['changed'] is True
    assert result['warnings'] == ['Elasticsearch: ' + DEPRECATION]


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_a_refused_stop_fails_with_status_and_error_type(es, run):
    # ml_admin holds monitor (reads rollup jobs) but not manage_rollup.
    jobs(es, a='started')
    failed, result = run(job_id='a', username='ml_admin', password='changeme')

    assert failed
    assert result['status'] == 403
    assert result['error_type'] == 'security_exception'
    assert 'action [cluster:admin/xpack/rollup/stop] is unauthorized for user [ml_admin]' in result['msg'], result['msg']
    assert by_id(result)['a']['state_after'] == 'started'


@pytest.mark.parametrize('es', [dict(**STUCK)], indirect=True)
def test_several_failing_jobs_are_all_reported(es, run):
    jobs(es, a='indexing', b='indexing', c='started')
    failed, result = run(job_id='_all', timeout='1m')

    # One error naming them all, from run_concurrently (the engine's one way to run requests side by side).
    assert failed
    assert result['msg'] == ('2 requests failed: rollup job a did not stop within 1m; last state: stopping; '
                             'rollup job b did not stop within 1m; last state: stopping')
    assert result['failed_jobs'] == ['a', 'b']
    assert job_state(es, 'c') == 'stopped'


def test_unreachable_cluster_fails_cleanly(es, run):
    failed, result = run(job_id='a', retries=0, hosts=['http://down.test:9200'])
    assert failed
    assert 'cannot reach Elasticsearch at http://down.test:9200' in result['msg']
    assert result['status'] is None
    assert es.requests() == []


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28', '8.19.3', '9.1.5'])
def test_a_rollup_only_user_who_may_not_read_get_root_still_works(es_factory, run, version):
    # rollup_admin holds manage_rollup only: GET / (monitor) and ML info (monitor_ml) are refused.
    es = jobs(es_factory(version, security=True), a='indexing')
    failed, result = run(job_id='a', username='rollup_admin', password='changeme')

    assert not failed and by_id(result)['a']['state_after'] == 'stopped'
    assert [(r['path'], r['query']) for r in posts(es)] == [
        (es.rollup_path('job', 'a', '_stop'), {'wait_for_completion': 'true', 'timeout': '30s'})]
    # ML info is asked once only: /_xpack/ml/info after a 403 would only add a route-deprecation warning.
    assert gets(es).count('GET /_xpack/ml/info') == (1 if version < '7' else 0)
    assert [w for w in result.get('warnings', []) if 'deprecated' in w] == []


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_a_user_who_may_not_read_rollups_either_gets_the_original_error(es, run):
    jobs(es, a='stopped')
    failed, result = run(job_id='a', username='nobody', password='changeme')
    assert failed and result['status'] == 403
    assert result['msg'].startswith('GET / failed: HTTP 403 security_exception')
    assert 'grant the user the cluster privilege monitor' in result['msg']
