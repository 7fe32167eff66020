# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollup_job_state end to end: argspec -> adapter -> engine -> real client -> a fake rollup cluster per version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job_state
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_rollup_es import (
    DEPRECATION, Failed, FakeClock, FakeRollupEs, run_module)

ALL_VERSIONS = ['6.5.4', '6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5']
WAITING_VERSIONS = ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5']


def run(monkeypatch, es, check_mode=False, diff=False, clock=None, **args):
    return run_module(monkeypatch, rollup_job_state.main, args, es, check_mode=check_mode, diff=diff, clock=clock)


def fail(monkeypatch, es, **args):
    with pytest.raises(Failed) as info:
        run(monkeypatch, es, **args)
    return info.value.result


def by_id(result):
    return dict((j['job_id'], j) for j in result['jobs'])


# ------------------------------------------------------------------------------------ state=stopped

@pytest.mark.parametrize('version', WAITING_VERSIONS)
def test_stop_running_jobs_waits_server_side_and_reads_nothing_after(monkeypatch, version):
    es = FakeRollupEs(version).add('a', 'started').add('b', 'indexing').add('c', 'stopped')
    result, _warnings = run(monkeypatch, es, job_id=['a', 'b', 'c'], state='stopped')

    assert result['changed'] is True
    jobs = by_id(result)
    assert [(j['state_before'], j['state_after'], j['changed'], j['actions']) for j in result['jobs']] == [
        ('started', 'stopped', True, ['stop']), ('indexing', 'stopped', True, ['stop']), ('stopped', 'stopped', False, [])]
    assert jobs['c']['changed'] is False
    assert es.state('a') == es.state('b') == 'stopped'
    # Budget: GET /, GET _all, one stop with a server-side wait per running job, nothing else.
    assert es.requests('GET') == ['GET /', 'GET %s/job/_all' % es.base]
    assert sorted(es.mutating()) == ['POST %s/job/a/_stop' % es.base, 'POST %s/job/b/_stop' % es.base]
    assert all(params == {'wait_for_completion': 'true', 'timeout': '30s'} for m, _p, params in es.calls if m == 'POST')
    assert result['msg'] == 'moved 2 of 3 rollup jobs to stopped'


def test_stop_before_6_6_sends_no_wait_parameters_and_polls(monkeypatch):
    es = FakeRollupEs('6.5.4').add('a', 'indexing', stopping_reads=3)
    clock = FakeClock()
    result, _warnings = run(monkeypatch, es, clock=clock, job_id='a')

    assert by_id(result)['a']['state_after'] == 'stopped'
    assert es.state('a') == 'stopped'
    stop_calls = [c for c in es.calls if c[0] == 'POST']
    assert stop_calls == [('POST', '/_xpack/rollup/job/a/_stop', {})]
    # It polled GET _all with backoff until `stopped`.
    assert es.requests('GET').count('GET /_xpack/rollup/job/_all') >= 4
    assert clock.slept and all(s <= 2.0 for s in clock.slept)


@pytest.mark.parametrize('version', ALL_VERSIONS)
def test_stop_is_a_no_op_when_everything_is_stopped(monkeypatch, version):
    es = FakeRollupEs(version).add('a').add('b')
    result, _warnings = run(monkeypatch, es, job_id='_all', diff=True)

    assert result['changed'] is False
    assert es.requests() == ['GET /', 'GET %s/job/_all' % es.base]
    assert result['diff'] == {'before': {'a': 'stopped', 'b': 'stopped'}, 'after': {'a': 'stopped', 'b': 'stopped'}}
    assert result['msg'] == 'all 2 rollup jobs already stopped'


@pytest.mark.parametrize('version', WAITING_VERSIONS)
def test_stopping_job_gets_a_waiting_stop_and_counts_as_changed(monkeypatch, version):
    es = FakeRollupEs(version).add('a', 'stopping', stopping_reads=50)
    result, _warnings = run(monkeypatch, es, job_id='a', diff=True)

    assert result['changed'] is True
    assert result['diff'] == {'before': {'a': 'stopping'}, 'after': {'a': 'stopped'}}
    assert es.mutating() == ['POST %s/job/a/_stop' % es.base]
    assert es.state('a') == 'stopped'


@pytest.mark.parametrize('version', ALL_VERSIONS)
def test_check_mode_predicts_the_stop_and_sends_nothing(monkeypatch, version):
    es = FakeRollupEs(version).add('a', 'started').add('b', 'indexing').add('c', 'stopping')
    result, _warnings = run(monkeypatch, es, check_mode=True, diff=True, job_id='*')

    assert result['changed'] is True
    assert result['diff'] == {'before': {'a': 'started', 'b': 'indexing', 'c': 'stopping'},
                              'after': {'a': 'stopped', 'b': 'stopped', 'c': 'stopped'}}
    assert es.mutating() == []
    assert (es.state('a'), es.state('b'), es.state('c')) == ('started', 'indexing', 'stopping')
    assert result['msg'] == 'would move 3 of 3 rollup jobs to stopped'


@pytest.mark.parametrize('version', ['8.19.3', '9.1.5'])
def test_wait_false_stops_without_server_side_wait_and_reports_the_transitional_state(monkeypatch, version):
    es = FakeRollupEs(version).add('a', 'indexing', stopping_reads=5)
    result, _warnings = run(monkeypatch, es, job_id='a', wait=False)

    assert [c for c in es.calls if c[0] == 'POST'] == [('POST', '/_rollup/job/a/_stop', {})]
    assert by_id(result)['a']['state_after'] == 'stopping'
    assert result['changed'] is True


def test_stop_many_jobs_concurrently_with_a_bounded_pool(monkeypatch):
    es = FakeRollupEs('8.19.3')
    for i in range(12):
        es.add('job-%02d' % i, 'indexing')
    es.stop_wait_seconds = 0.05
    result, _warnings = run(monkeypatch, es, job_id='job-*')

    assert all(j['state_after'] == 'stopped' for j in result['jobs'])
    assert len(es.mutating()) == 12
    assert 2 <= es.max_active <= 16
    assert es.requests('GET') == ['GET /', 'GET /_rollup/job/_all']


@pytest.mark.parametrize('version,status', [('6.8.23', 500), ('7.17.28', 500), ('8.19.3', 500), ('9.1.5', 429)])
def test_wait_timeout_fails_clearly_with_the_last_state_and_is_not_retried(monkeypatch, version, status):
    es = FakeRollupEs(version).add('slow', 'indexing').add('fast', 'started')
    es.stuck_stopping.add('slow')
    clock = FakeClock()
    with pytest.raises(Failed) as info:
        run(monkeypatch, es, clock=clock, job_id='slow,fast', timeout='45s')
    result = info.value.result

    assert result['msg'] == 'rollup job slow did not stop within 45s; last state: stopping'
    assert result['failed_jobs'] == ['slow']
    assert es.requests('POST').count('POST %s/job/slow/_stop' % es.base) == 1  # the 429 is not retried
    assert clock.slept == []
    assert by_id(result)['fast']['state_after'] == 'stopped'
    assert by_id(result)['slow']['state_after'] == 'stopping'
    assert status in (429, 500)


def test_a_rejected_stop_is_retried_but_a_timeout_is_not(monkeypatch):
    es = FakeRollupEs('9.1.5').add('a', 'started')
    es.faults.append(('POST', '/_stop', 429, {'error': {'type': 'es_rejected_execution_exception', 'reason': 'queue full'},
                                              'status': 429}))
    result, _warnings = run(monkeypatch, es, job_id='a')

    assert es.requests('POST') == ['POST /_rollup/job/a/_stop', 'POST /_rollup/job/a/_stop']
    assert by_id(result)['a']['state_after'] == 'stopped'


def test_polling_timeout_before_6_6_names_the_late_job(monkeypatch):
    es = FakeRollupEs('6.5.4').add('a', 'indexing')
    es.stuck_stopping.add('a')
    result = fail(monkeypatch, es, job_id='a', timeout='10s')

    assert result['msg'] == 'timed out after 10s waiting for rollup job a to reach stopped; last states: a=stopping'
    assert result['timed_out_jobs'] == ['a']


@pytest.mark.parametrize('state', ['stopped', 'started'])
def test_aborting_job_cannot_be_started_or_stopped(monkeypatch, state):
    es = FakeRollupEs('7.17.28').add('a', 'aborting')
    result = fail(monkeypatch, es, job_id='a', state=state)

    assert result['msg'] == 'rollup job a is aborting (it is being deleted); it cannot be %s' % state
    assert result['failed_jobs'] == ['a']
    assert es.mutating() == []


# ------------------------------------------------------------------------------------ state=started

@pytest.mark.parametrize('version', ALL_VERSIONS)
def test_start_only_sends_start_to_stopped_jobs(monkeypatch, version):
    es = FakeRollupEs(version).add('a', 'stopped').add('b', 'started').add('c', 'indexing')
    result, _warnings = run(monkeypatch, es, job_id=['a', 'b', 'c'], state='started', diff=True)

    assert result['changed'] is True
    assert es.mutating() == ['POST %s/job/a/_start' % es.base]  # 7.x would answer 500 to the others
    assert result['diff'] == {'before': {'a': 'stopped', 'b': 'started', 'c': 'indexing'},
                              'after': {'a': 'started', 'b': 'started', 'c': 'indexing'}}
    assert es.requests('GET') == ['GET /', 'GET %s/job/_all' % es.base]


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28'])
def test_start_on_running_jobs_is_a_no_op_that_sends_nothing(monkeypatch, version):
    es = FakeRollupEs(version).add('b', 'started').add('c', 'indexing')
    result, _warnings = run(monkeypatch, es, job_id='_all', state='started')

    assert result['changed'] is False
    assert es.mutating() == []


def test_start_from_stopping_waits_for_stopped_then_starts(monkeypatch):
    es = FakeRollupEs('7.13.4').add('a', 'stopping', stopping_reads=2)
    result, _warnings = run(monkeypatch, es, job_id='a', state='started', wait=False)

    assert by_id(result)['a']['state_before'] == 'stopping'
    assert by_id(result)['a']['state_after'] == 'started'
    assert es.mutating() == ['POST /_rollup/job/a/_start']
    assert es.state('a') == 'started'
    assert es.requests('GET').count('GET /_rollup/job/a') >= 2  # polled that one job


def test_start_from_a_stuck_stopping_job_times_out_without_sending_start(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a', 'stopping')
    es.stuck_stopping.add('a')
    result = fail(monkeypatch, es, job_id='a', state='started', timeout='5s')

    assert result['msg'] == 'rollup job a did not stop within 5s before it can be started; last state: stopping'
    assert es.mutating() == []


def test_start_race_with_another_starter_on_7x_is_not_an_error(monkeypatch):
    es = FakeRollupEs('7.17.28').add('a', 'stopped')

    def someone_else_starts(method, path):
        if method == 'POST' and path.endswith('/_start'):
            es.jobs['a']['state'] = 'started'

    es.on_request = someone_else_starts
    result, _warnings = run(monkeypatch, es, job_id='a', state='started')

    assert by_id(result)['a']['state_after'] == 'started'
    assert result['changed'] is True


@pytest.mark.parametrize('version', ['6.8.23', '9.1.5'])
def test_start_check_mode_sends_nothing(monkeypatch, version):
    es = FakeRollupEs(version).add('a')
    result, _warnings = run(monkeypatch, es, job_id='a', state='started', check_mode=True)

    assert result['changed'] is True
    assert by_id(result)['a']['state_after'] == 'started'
    assert es.mutating() == []
    assert es.state('a') == 'stopped'


def test_start_of_a_job_deleted_meanwhile_fails_clearly(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a')

    def deleted(method, path):
        if method == 'POST':
            del es.jobs['a']

    es.on_request = deleted
    result = fail(monkeypatch, es, job_id='a', state='started')
    assert result['msg'] == 'rollup job a was deleted before it could be started'


# ------------------------------------------------------------------------------------- state=absent

@pytest.mark.parametrize('version', ALL_VERSIONS)
def test_delete_stopped_job_and_confirm_it_is_gone(monkeypatch, version):
    es = FakeRollupEs(version).add('a').add('keep', 'started')
    es.linger_reads = 2 if version < '7' else 0
    result, _warnings = run(monkeypatch, es, job_id='a', state='absent', diff=True)

    assert result['changed'] is True
    assert by_id(result)['a']['state_after'] == 'absent'
    assert result['diff'] == {'before': {'a': 'stopped'}, 'after': {}}
    assert es.mutating() == ['DELETE %s/job/a' % es.base]
    assert 'a' not in es.jobs and 'keep' in es.jobs


@pytest.mark.parametrize('state', ['started', 'indexing', 'stopping'])
def test_delete_without_force_fails_naming_the_state_and_sends_nothing(monkeypatch, state):
    es = FakeRollupEs('8.19.3').add('a', state).add('b')
    result = fail(monkeypatch, es, job_id='a,b', state='absent')

    assert result['msg'] == ('rollup job a is %s; only a stopped rollup job can be deleted: stop it first, '
                             'or set force=true to stop and then delete it' % state)
    assert result['failed_jobs'] == ['a']
    assert es.mutating() == []
    assert 'b' in es.jobs


@pytest.mark.parametrize('version', ALL_VERSIONS)
@pytest.mark.parametrize('state', ['started', 'indexing', 'stopping'])
def test_force_delete_stops_waits_then_deletes(monkeypatch, version, state):
    es = FakeRollupEs(version).add('a', state)
    result, _warnings = run(monkeypatch, es, job_id='a', state='absent', force=True, wait=False)

    assert by_id(result)['a']['actions'] == ['stop', 'delete']
    assert by_id(result)['a']['state_after'] == 'absent'
    assert es.mutating() == ['POST %s/job/a/_stop' % es.base, 'DELETE %s/job/a' % es.base]
    assert 'a' not in es.jobs
    stop_params = [params for method, _path, params in es.calls if method == 'POST'][0]
    if version >= '6.6':
        assert stop_params == {'wait_for_completion': 'true', 'timeout': '30s'}
    else:
        assert stop_params == {}


def test_force_delete_check_mode_predicts_absent_and_sends_nothing(monkeypatch):
    es = FakeRollupEs('9.1.5').add('a', 'indexing')
    result, _warnings = run(monkeypatch, es, job_id='a', state='absent', force=True, check_mode=True, diff=True)

    assert result['changed'] is True
    assert result['diff'] == {'before': {'a': 'indexing'}, 'after': {}}
    assert es.mutating() == []


def test_delete_refused_because_the_job_was_started_meanwhile_is_explained(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a')

    def started_meanwhile(method, path):
        if method == 'DELETE':
            es.jobs['a']['state'] = 'started'

    es.on_request = started_meanwhile
    result = fail(monkeypatch, es, job_id='a', state='absent')

    assert result['msg'].startswith('rollup job a cannot be deleted: HTTP 500 illegal_state_exception: Could not delete job [a] '
                                    'because indexer state is [STARTED].  Job must be [STOPPED] before deletion.')
    assert 'force=true' in result['msg']
    assert result['failed_jobs'] == ['a']


def test_delete_of_an_already_deleted_job_is_fine(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a')

    def gone(method, path):
        if method == 'DELETE':
            del es.jobs['a']

    es.on_request = gone
    result, _warnings = run(monkeypatch, es, job_id='a', state='absent')
    assert by_id(result)['a']['state_after'] == 'absent'


def test_aborting_job_with_absent_is_waited_for(monkeypatch):
    es = FakeRollupEs('7.17.28').add('a', 'aborting')
    reads = []

    def disappears(method, path):
        if method == 'GET' and path.endswith('_all'):
            reads.append(path)
            if len(reads) == 3:
                del es.jobs['a']

    es.on_request = disappears
    result, _warnings = run(monkeypatch, es, job_id='a', state='absent')

    assert by_id(result)['a']['actions'] == ['await_removal']
    assert by_id(result)['a']['state_after'] == 'absent'
    assert es.mutating() == []


@pytest.mark.parametrize('version', ['6.8.23', '9.1.5'])
def test_absent_for_missing_exact_ids_is_not_an_error(monkeypatch, version):
    es = FakeRollupEs(version).add('other')
    result, _warnings = run(monkeypatch, es, job_id=['gone-1', 'gone-2'], state='absent')

    assert result['changed'] is False
    assert result['jobs'] == []
    assert es.mutating() == []


# -------------------------------------------------------------------------------------- selection

@pytest.mark.parametrize('state', ['stopped', 'started'])
def test_missing_exact_ids_fail_listing_all_of_them(monkeypatch, state):
    es = FakeRollupEs('8.19.3').add('a', 'started')
    result = fail(monkeypatch, es, job_id=['a', 'x', 'y'], state=state)

    assert result['msg'] == 'rollup jobs not found: x, y'
    assert result['failed_jobs'] == ['x', 'y']
    assert es.mutating() == []


def test_pattern_matching_nothing_is_no_change(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a', 'started')
    result, _warnings = run(monkeypatch, es, job_id='nightly-*')

    assert result == dict(result, changed=False, jobs=[], msg='no rollup jobs matched')
    assert es.mutating() == []


def test_patterns_are_matched_client_side_and_ordered(monkeypatch):
    es = FakeRollupEs('7.17.28').add('web-b', 'started').add('web-a', 'started').add('db-1', 'started').add('webx', 'started')
    result, _warnings = run(monkeypatch, es, job_id=['db-1', 'web-*'])

    assert [j['job_id'] for j in result['jobs']] == ['db-1', 'web-a', 'web-b']
    assert es.state('webx') == 'started'
    assert es.requests('GET') == ['GET /', 'GET /_rollup/job/_all']


@pytest.mark.parametrize('job_id,message', [
    ('a,,b', 'job_id: empty id; separate ids with single commas, with none left over at either end'),
    (['a', ' , b'], "job_id: empty id in ' , b'; separate ids with single commas, with none left over at either end"),
    ('a,\tb ,c', ['a', 'b', 'c']),
    ('bad\x01id', "job_id: 'bad\\x01id' is not a valid rollup job id: it contains whitespace or control characters"),
    ('my job', "job_id: 'my job' is not a valid rollup job id: it contains whitespace or control characters"),
    (['_all', 'a'], 'job_id: _all (or *) selects every rollup job and cannot be combined with other ids'),
    ([], 'job_id: give at least one rollup job id, a pattern with * or _all'),
])
def test_bad_selectors_fail_before_any_request(monkeypatch, job_id, message):
    es = FakeRollupEs('8.19.3')
    if isinstance(message, list):  # not bad after all: surrounding whitespace is trimmed
        result = fail(monkeypatch, es, job_id=job_id)
        assert result['msg'] == 'rollup jobs not found: %s' % ', '.join(message)
        return
    result = fail(monkeypatch, es, job_id=job_id)
    assert result['msg'] == message
    assert es.calls == []


def test_bad_timeout_fails_before_any_request(monkeypatch):
    es = FakeRollupEs('8.19.3')
    result = fail(monkeypatch, es, job_id='a', timeout='soon')
    assert result['msg'].startswith("timeout='soon' is not a duration")
    assert es.calls == []


def test_a_huge_timeout_fails_with_one_line(monkeypatch):
    es = FakeRollupEs('8.19.3')
    result = fail(monkeypatch, es, job_id='a', timeout='99999999d')
    assert result['msg'] == "timeout='99999999d' is too long: at most 7d"
    assert es.calls == []


def test_force_with_another_state_warns(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a')
    _result, warnings = run(monkeypatch, es, job_id='a', force=True)
    assert warnings == ['force has no effect with state=stopped; it only applies to state=absent']


# ------------------------------------------------------------------------------- errors, warnings

def test_9x_deprecation_warnings_are_surfaced_once_and_never_fatal(monkeypatch):
    es = FakeRollupEs('9.1.5').add('a', 'started').add('b', 'started')
    result, warnings = run(monkeypatch, es, job_id='_all')

    assert result['changed'] is True
    assert warnings == ['Elasticsearch: ' + DEPRECATION]


def test_a_refused_stop_fails_with_status_and_error_type(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a', 'started')
    reason = 'action [cluster:admin/xpack/rollup/stop] is unauthorized for user [viewer]'
    es.faults.append(('POST', '/_stop', 403, {'error': {'type': 'security_exception', 'reason': reason}, 'status': 403}))
    result = fail(monkeypatch, es, job_id='a')

    assert result['status'] == 403
    assert result['error_type'] == 'security_exception'
    assert reason in result['msg']
    assert by_id(result)['a']['state_after'] == 'started'


def test_several_failing_jobs_are_all_reported(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a', 'indexing').add('b', 'indexing').add('c', 'started')
    es.stuck_stopping.update(['a', 'b'])
    result = fail(monkeypatch, es, job_id='_all', timeout='1m')

    # One error naming them all, from run_concurrently (the engine's one way to run requests side by side).
    assert result['msg'] == ('2 requests failed: rollup job a did not stop within 1m; last state: stopping; '
                             'rollup job b did not stop within 1m; last state: stopping')
    assert result['failed_jobs'] == ['a', 'b']
    assert es.state('c') == 'stopped'


def test_unreachable_cluster_fails_cleanly(monkeypatch):
    from ansible.module_utils.six.moves.urllib.error import URLError

    def refuse(url, **kwargs):
        raise URLError('[Errno 111] Connection refused')

    clock = FakeClock()
    with pytest.raises(Failed) as info:
        run_module(monkeypatch, rollup_job_state.main, dict(job_id='a', retries=0), refuse, clock=clock)
    assert 'cannot reach Elasticsearch at http://es.test:9200' in info.value.result['msg']
    assert info.value.result['status'] is None


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28', '8.19.3', '9.1.5'])
def test_a_rollup_only_user_who_may_not_read_get_root_still_works(monkeypatch, version):
    es = FakeRollupEs(version).add('a', 'indexing')
    # 6.x has no /_ml route (400), only /_xpack/ml/info, which is forbidden like GET /.
    es.forbidden_paths.update(['/', '/_xpack/ml/info' if version < '7' else '/_ml/info'])
    result, warnings = run(monkeypatch, es, job_id='a')

    assert by_id(result)['a']['state_after'] == 'stopped'
    stop = [(path, params) for method, path, params in es.calls if method == 'POST']
    assert stop == [(es.base + '/job/a/_stop', {'wait_for_completion': 'true', 'timeout': '30s'})]
    # ML info is asked once only: /_xpack/ml/info after a 403 would only add a route-deprecation warning.
    assert es.requests().count('GET /_xpack/ml/info') == (1 if version < '7' else 0)
    assert [w for w in warnings if 'deprecated' in w] == []


def test_a_user_who_may_not_read_rollups_either_gets_the_original_error(monkeypatch):
    es = FakeRollupEs('8.19.3').add('a')
    es.forbidden_paths.update(['/', '/_ml/info', '/_rollup/job/_all', '/_xpack/rollup/job/_all'])
    result = fail(monkeypatch, es, job_id='a')
    assert result['status'] == 403
    assert result['msg'].startswith('GET / failed: HTTP 403 security_exception')
    assert 'grant the user the cluster privilege monitor' in result['msg']
