# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the ML job adapter, driven through the real engine and the real client against the in-process
emulator per version (tests/unit/conftest.py; the emulator's ML behaviour and its sources: tests/emulator/ml.py).

What ES does per version (es-behaviour.md §2): ``_xpack/ml`` and ``allow_no_jobs`` before 7.0/7.10, close blocked by
a started datafeed up to 7.13, delete blocked by a datafeed up to 7.14, open not idempotent, failed jobs closing only
with force, 429 while upgrade mode is on. Waits run on the manual clock: a close that outlasts its ``timeout`` really
answers 500 after that many (virtual) seconds. Every request the adapter sends is in ``es.requests()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Converger
from ansible_collections.esops.jobs.plugins.module_utils._ml import MAX_IDS_CHARS, chunk_ids
from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration
from ansible_collections.esops.jobs.plugins.module_utils._ml_job import (
    CLOSE_WAIT_CHUNK, MAX_PARALLEL_REQUESTS, NO_WAIT_SERVER_TIMEOUT, MlJobAdapter)
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS as VERSIONS
from ansible_collections.esops.jobs.tests.emulator.state import Timings
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeModule

UP_TO_713 = ('6.8.23', '7.13.4')
FROM_714 = ('7.14.2', '7.17.28', '8.19.3', '9.1.5')
# allow_lazy_open is 7.1+ (Job.java): 6.8 has no lazy open.
WITH_LAZY_OPEN = ('7.13.4', '7.14.2', '7.17.28', '8.19.3', '9.1.5')
# Bigger than the emulated node's ML memory (ml.py MAX_JOB_MB), so a lazy-open job waits for capacity.
TOO_BIG = {'analysis_limits': {'model_memory_limit': '6gb'}, 'allow_lazy_open': True}


def slow(**timings):
    """An ``es`` parameter: 8.19.3 (or ``version``) with these Timings."""
    version = timings.pop('version', '8.19.3')
    return dict(version=version, timings=Timings(**timings))


def run(es, desired, job_ids, check_mode=False, diff=False, wait=True, timeout=60, client=None, **options):
    """Run the engine with the adapter on the real client; return (outcome, result), outcome 'ok' or 'failed'."""
    adapter = MlJobAdapter(client or es.client(), desired, job_ids, wait=wait, poller=es.poller(), **options)
    try:
        Converger(FakeModule(check_mode=check_mode, diff=diff), adapter).run(wait=wait, timeout=timeout)
    except Exited as exc:
        return 'ok', exc.result
    except Failed as exc:
        return 'failed', exc.result
    raise AssertionError('the engine must exit or fail')


# ------------------------------------------------------------------ building clusters (public APIs only)


def add(es, job_id, state, datafeed=None, **config):
    """A job in ``state`` (closed, opened, opening, closing, failed) with an optional (datafeed_id, state)."""
    df_id, df_state = datafeed or (None, None)
    if state == 'closing':
        es.add_job(job_id, 'opened', datafeed_id=df_id, datafeed_state=df_state, **config)
        # A close whose wait runs out at once: ES answers 500 and the job goes on closing.
        status, _answer = es.call('POST', es.ml_path('anomaly_detectors', job_id, '_close'), params={'timeout': '0s'})
        assert status == 500
    elif state == 'opening' and not config.get('allow_lazy_open'):
        es.add_job(job_id, 'closed', datafeed_id=df_id, datafeed_state=df_state, **config)
        # An open whose wait runs out at once: ES answers 408 and the job goes on opening.
        status, _answer = es.call('POST', es.ml_path('anomaly_detectors', job_id, '_open'), params={'timeout': '0s'})
        assert status == 408
    else:
        es.add_job(job_id, state, datafeed_id=df_id, datafeed_state=df_state, **config)
    return es


def cluster(es, datafeeds=None, **states):
    """Jobs by state; ``datafeeds`` = {job_id: (datafeed_id, datafeed_state)}. Opening and closing jobs come last,
    so that no later set-up step lets time move them on."""
    datafeeds = datafeeds or {}
    ordered = sorted(states.items(), key=lambda item: (item[1] in ('opening', 'closing'), item[0]))
    for job_id, state in ordered:
        add(es, job_id, state, datafeeds.get(job_id))
    return es


def with_jobs(es, ids, state):
    for job_id in ids:
        es.add_job(job_id, state)
    return es


def at(es, seconds, action):
    """Run ``action()`` (a public API call) ``seconds`` of virtual time from now, e.g. during a request's wait."""
    es.cluster.schedule(seconds, lambda _when: action())


def fail_later(es, job_id, seconds):
    at(es, seconds, lambda: es.fail_ml_job(job_id, 'boom'))


def racing_client(es, method, suffix, race, then=None):
    """A client whose first ``method`` request to a path ending in ``suffix`` is preceded by ``race()`` (someone else's
    request landing between the adapter's read and its own request) and followed by ``then()`` (one landing between
    that answer and the adapter's next request)."""
    pending = [True]

    def opener(url, **kwargs):
        if not (pending and kwargs.get('method') == method and url.split('?')[0].endswith(suffix)):
            return es.opener(url, **kwargs)
        pending.pop()
        race()
        try:
            return es.opener(url, **kwargs)
        finally:
            if then:
                then()

    return es.client(opener=opener)


# ------------------------------------------------------------------ reading the outcome


def jobs(es):
    return es.state()['ml_jobs']


def feeds(es):
    return es.state()['datafeeds']


def sent(es):
    """Every request the adapter sent, without the client's version read (GET /)."""
    return [r for r in es.requests() if r['path'] != '/']


def mutations(es):
    return [(r['method'], r['path'], r['query']) for r in es.mutating_requests()]


def paths(es, method=None):
    return [r['path'] for r in sent(es) if method is None or r['method'] == method]


def state_reads(es):
    """GET requests other than ML info (read once for upgrade mode when a job has to move)."""
    return [p for p in paths(es, 'GET') if not p.endswith('/info')]


def closes(es):
    return [(r['path'], r['query']) for r in es.requests() if r['method'] == 'POST' and r['path'].endswith('/_close')]


def by_id(result):
    return dict((job['job_id'], job) for job in result['jobs'])


def after(result):
    return dict((job['job_id'], job['state_after']) for job in result['jobs'])


def long_ids(count):
    """``count`` job ids of 63 characters: more than about 47 do not fit one request line."""
    return ['job-%058d' % i for i in range(count)]


def ml(es, *parts):
    return es.ml_path(*parts)


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
        MlJobAdapter(None, 'started', ['a'])


# ------------------------------------------------------------------ paths and parameters per version


@pytest.mark.parametrize('es, base, allow_param', [
    ('6.8.23', '/_xpack/ml', 'allow_no_jobs'),
    ('7.13.4', '/_ml', 'allow_no_match'),
    ('8.19.3', '/_ml', 'allow_no_match'),
    ('9.1.5', '/_ml', 'allow_no_match'),
], indirect=['es'])
def test_stats_path_and_allow_no_match_parameter_per_version(es, base, allow_param):
    cluster(es, a='closed')
    outcome, result = run(es, 'closed', ['a'], allow_no_match=False)
    assert outcome == 'ok'
    assert [(r['method'], r['path'], r['query'], r['status']) for r in sent(es)] == [
        ('GET', base + '/anomaly_detectors/a/_stats', {allow_param: 'false'}, 200)]


# ------------------------------------------------------------------ closed


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_noop_close_is_one_stats_request_and_unchanged(es):
    cluster(es, {'a': ('df-a', 'stopped')}, a='closed', b='closed')
    outcome, result = run(es, 'closed', ['_all'], diff=True)
    assert outcome == 'ok'
    assert result['changed'] is False
    assert paths(es) == [ml(es, 'anomaly_detectors', '_all', '_stats')]
    assert result['diff'] == {'before': {'a': 'closed', 'b': 'closed'}, 'after': {'a': 'closed', 'b': 'closed'}}
    assert result['msg'] == 'all 2 jobs already closed'


@pytest.mark.parametrize('es', FROM_714, indirect=True)
def test_close_many_on_714_plus_is_one_close_and_no_reread(es):
    cluster(es, {'a': ('df-a', 'started')}, a='opened', b='opened', c='closed', d='opening')
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok' and result['changed'] is True
    assert [r['method'] for r in sent(es)] == ['GET', 'GET', 'POST']  # stats, ML info (upgrade mode), one close
    assert closes(es) == [(ml(es, 'anomaly_detectors', 'a,b,d', '_close'), {'timeout': '5s'})]
    assert after(result) == {'a': 'closed', 'b': 'closed', 'c': 'closed', 'd': 'closed'}
    assert 'datafeed_id' not in by_id(result)['a']   # not read: 7.14+ closes the datafeed itself
    assert jobs(es) == {'a': 'closed', 'b': 'closed', 'c': 'closed', 'd': 'closed'}
    assert feeds(es) == {'df-a': 'stopped'}
    # re-run: unchanged, stats only
    es.clear_requests()
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok' and result['changed'] is False and len(sent(es)) == 1


@pytest.mark.parametrize('es', UP_TO_713, indirect=True)
def test_close_up_to_713_stops_datafeeds_first_in_one_request(es):
    cluster(es, {'a': ('df-a', 'started'), 'b': ('df-b', 'started'), 'z': ('df-z', 'stopped')},
            a='opened', b='opened', c='opened', z='closed')
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok' and result['changed'] is True
    assert mutations(es) == [
        ('POST', ml(es, 'datafeeds', 'df-a,df-b', '_stop'), {'timeout': '1m'}),
        ('POST', ml(es, 'anomaly_detectors', 'a,b,c', '_close'), {'timeout': '5s'}),
    ]
    assert state_reads(es) == [ml(es, 'anomaly_detectors', '_all', '_stats'), ml(es, 'datafeeds', '_all')]
    result_jobs = by_id(result)
    assert result_jobs['a']['actions'] == ['stop_datafeed', 'close']
    assert (result_jobs['a']['datafeed_id'], result_jobs['a']['datafeed_state']) == ('df-a', 'stopped')
    assert (result_jobs['c']['datafeed_id'], result_jobs['c']['datafeed_state']) == (None, None)
    assert (result_jobs['z']['datafeed_id'], result_jobs['z']['datafeed_state']) == ('df-z', None)
    assert jobs(es) == {'a': 'closed', 'b': 'closed', 'c': 'closed', 'z': 'closed'}
    assert feeds(es) == {'df-a': 'stopped', 'df-b': 'stopped', 'df-z': 'stopped'}


@pytest.mark.parametrize('es', UP_TO_713, indirect=True)
def test_noop_close_up_to_713_reads_no_datafeeds(es):
    cluster(es, {'a': ('df-a', 'stopped')}, a='closed')
    outcome, result = run(es, 'closed', ['a'])
    assert outcome == 'ok' and result['changed'] is False
    assert len(sent(es)) == 1
    assert 'datafeed_id' not in by_id(result)['a']


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('desired', ('closed', 'opened'))
def test_failed_jobs_without_force_fail_before_any_request(es, desired):
    cluster(es, a='failed', b='opened', c='failed', d='closed')
    outcome, result = run(es, desired, ['_all'])
    assert outcome == 'failed'
    assert 'jobs a, c' in result['msg'] and 'force_failed: true' in result['msg'] and 'force: true' in result['msg']
    assert result['failed_jobs'] == ['a', 'c']
    assert len(sent(es)) == 1   # stats only: no datafeed read for a plan that refuses
    assert es.mutating_requests() == []
    assert after(result) == {'a': 'failed', 'b': 'opened', 'c': 'failed', 'd': 'closed'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_force_failed_force_closes_only_failed_jobs_and_closes_the_rest_gracefully(es):
    cluster(es, a='failed', b='opened', c='closed')
    outcome, result = run(es, 'closed', ['a', 'b', 'c'], force_failed=True)
    assert outcome == 'ok' and result['changed'] is True
    assert closes(es) == [(ml(es, 'anomaly_detectors', 'a', '_close'), {'timeout': '5s', 'force': 'true'}),
                          (ml(es, 'anomaly_detectors', 'b', '_close'), {'timeout': '5s'})]
    assert by_id(result)['a']['actions'] == ['force_close']
    assert by_id(result)['b']['actions'] == ['close']
    assert jobs(es) == {'a': 'closed', 'b': 'closed', 'c': 'closed'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_force_force_closes_everything_in_one_request(es):
    cluster(es, a='failed', b='opened', c='closing')
    outcome, result = run(es, 'closed', ['_all'], force=True)
    assert outcome == 'ok'
    assert closes(es) == [(ml(es, 'anomaly_detectors', 'a,b,c', '_close'), {'timeout': '5s', 'force': 'true'})]
    assert jobs(es) == {'a': 'closed', 'b': 'closed', 'c': 'closed'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_no_force_is_ever_sent_unless_asked(es):
    cluster(es, b='opened', c='closing', d='opening')
    outcome, result = run(es, 'closed', ['_all'])
    assert outcome == 'ok', result['msg']
    assert closes(es) and all('force' not in r['query'] for r in sent(es))


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=12) for v in VERSIONS], indirect=True)
def test_close_timeout_500_keeps_asking_until_closed(es):
    # Each close waits CLOSE_WAIT_CHUNK (5s) and answers 500 while the jobs go on closing; the third sees them closed.
    cluster(es, a='opened', b='opened')
    outcome, result = run(es, 'closed', ['a', 'b'])
    assert outcome == 'ok', result['msg']
    assert result['changed'] is True
    assert after(result) == {'a': 'closed', 'b': 'closed'}
    assert [r['status'] for r in es.requests() if r['path'].endswith('/_close')] == [500, 500, 200]
    assert all(query == {'timeout': '5s'} for _path, query in closes(es))


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=60) for v in VERSIONS], indirect=True)
def test_close_timeout_reports_last_states(es):
    cluster(es, a='opened', b='closed')
    outcome, result = run(es, 'closed', ['a', 'b'], timeout=5)
    assert outcome == 'failed'
    assert result['timed_out_jobs'] == ['a']
    assert 'last states: a=closing' in result['msg']
    assert after(result) == {'a': 'closing', 'b': 'closed'}


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=600) for v in VERSIONS], indirect=True)
def test_job_failing_while_closing_fails_early_naming_it(es):
    cluster(es, a='opened', b='opened')
    start = es.clock.monotonic()
    fail_later(es, 'b', 7)   # during the second close's wait
    outcome, result = run(es, 'closed', ['a', 'b'], timeout=600)
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['b']
    assert 'job b failed' in result['msg']
    assert es.clock.monotonic() - start <= 2 * CLOSE_WAIT_CHUNK + 2   # no waiting to the deadline


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=60) for v in VERSIONS], indirect=True)
def test_wait_false_close_uses_a_short_server_timeout_and_reports_closing(es):
    cluster(es, a='opened')
    outcome, result = run(es, 'closed', ['a'], wait=False, timeout=3600)
    assert outcome == 'ok' and result['changed'] is True
    assert closes(es)[0][1]['timeout'] == '%ds' % NO_WAIT_SERVER_TIMEOUT
    assert after(result) == {'a': 'closing'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_check_mode_close_predicts_without_mutating(es):
    cluster(es, {'a': ('df-a', 'started')}, a='opened', b='failed', c='closed')
    outcome, result = run(es, 'closed', ['_all'], check_mode=True, diff=True, force_failed=True)
    assert outcome == 'ok' and result['changed'] is True
    assert es.mutating_requests() == []
    assert result['diff'] == {'before': {'a': 'opened', 'b': 'failed', 'c': 'closed'},
                              'after': {'a': 'closed', 'b': 'closed', 'c': 'closed'}}
    assert result['msg'] == 'would move 2 of 3 jobs to closed'
    expected = ['stop_datafeed', 'close'] if es.version in UP_TO_713 else ['close']
    assert by_id(result)['a']['actions'] == expected
    assert jobs(es) == {'a': 'opened', 'b': 'failed', 'c': 'closed'}


# ------------------------------------------------------------------ missing ids and allow_no_match


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('desired', ('closed', 'opened'))
def test_missing_exact_id_fails_clearly(es, desired):
    cluster(es, a='opened')
    outcome, result = run(es, desired, ['a', 'nope'])
    assert outcome == 'failed'
    assert "no job or job group matches nope (Elasticsearch: No known job with id 'nope')" in result['msg']
    assert result['failed_jobs'] == ['nope']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('desired', ('closed', 'opened', 'absent'))
def test_allow_no_match_false_lets_es_say_the_pattern_matched_nothing(es, desired):
    cluster(es, a='closed')
    outcome, result = run(es, desired, ['web-*'], allow_no_match=False)
    assert outcome == 'failed'
    assert "No known job with id 'web-*'" in result['msg'] and 'allow_no_match is false' in result['msg']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('desired', ('closed', 'opened', 'absent'))
def test_pattern_matching_nothing_is_fine_by_default(es, desired):
    cluster(es, a='closed')
    outcome, result = run(es, desired, ['web-*'])
    assert outcome == 'ok' and result['changed'] is False and result['jobs'] == []
    assert result['msg'] == 'no jobs matched' + (': nothing to delete' if desired == 'absent' else '')


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_groups_and_comma_lists_resolve_through_es(es):
    add(es, 'a', 'opened', groups=['web'])
    add(es, 'b', 'opened', groups=['web'])
    add(es, 'c', 'opened')
    outcome, result = run(es, 'closed', ['web', 'c'])
    assert outcome == 'ok'
    assert state_reads(es)[0] == ml(es, 'anomaly_detectors', 'web,c', '_stats')
    assert closes(es)[0][0] == ml(es, 'anomaly_detectors', 'a,b,c', '_close')
    assert jobs(es) == {'a': 'closed', 'b': 'closed', 'c': 'closed'}


def test_duplicate_tokens_are_sent_once(es):
    cluster(es, a='closed')
    run(es, 'closed', ['a', 'a'])
    assert state_reads(es) == ['/_ml/anomaly_detectors/a/_stats']


def test_long_selections_are_split_into_short_request_lines(es):
    ids = long_ids(120)
    with_jobs(es, ids, 'opened')
    es.add_job('not-selected', 'opened')
    outcome, result = run(es, 'closed', ids)
    assert outcome == 'ok' and all(state == 'closed' for state in after(result).values())
    assert len(closes(es)) > 1
    assert all(len(r['path']) + len(r['query_string']) < MAX_IDS_CHARS + 100 for r in es.requests())
    assert all(r['status'] == 200 for r in es.requests())
    assert jobs(es)['not-selected'] == 'opened'
    assert sorted(after(result)) == ids


def test_a_long_list_of_ids_is_read_with_one_request(es):
    # Five request lines' worth of ids: one read of every job's state, matched client-side.
    ids = long_ids(250)
    with_jobs(es, ids, 'closed')
    es.add_job('other', 'opened')
    outcome, result = run(es, 'closed', ids)
    assert outcome == 'ok' and result['changed'] is False
    assert [(r['method'], r['path'], r['query']) for r in sent(es)] == [('GET', '/_ml/anomaly_detectors/_all/_stats', {
        'allow_no_match': 'true', 'filter_path': 'jobs.job_id,jobs.state,jobs.node.id,jobs.assignment_explanation'})]
    assert sorted(after(result)) == ids


@pytest.mark.parametrize('es', ['6.8.23', '7.9.3'], indirect=True)
def test_the_one_read_of_every_job_uses_the_versions_parameter(es):
    ids = long_ids(60)
    with_jobs(es, ids, 'closed')
    outcome, _result = run(es, 'closed', ids)
    assert outcome == 'ok'
    assert (sent(es)[0]['path'], sent(es)[0]['query']) == (ml(es, 'anomaly_detectors', '_all', '_stats'), {
        'allow_no_jobs': 'true', 'filter_path': 'jobs.job_id,jobs.state,jobs.node.id,jobs.assignment_explanation'})


def test_a_long_list_leaves_groups_patterns_and_missing_ids_to_elasticsearch(es_factory):
    ids = long_ids(60)
    es = with_jobs(es_factory(), ids, 'opened')
    add(es, 'g1-member', 'opened', groups=['g1'])
    add(es, 'wild-1', 'opened')
    outcome, result = run(es, 'closed', ids + ['g1', 'wild-*'])
    assert outcome == 'ok'
    assert sorted(after(result)) == sorted(ids + ['g1-member', 'wild-1'])
    assert state_reads(es) == ['/_ml/anomaly_detectors/_all/_stats', '/_ml/anomaly_detectors/g1,wild-*/_stats']

    es = with_jobs(es_factory(), ids, 'opened')
    outcome, result = run(es, 'closed', ids + ['no-such-job'])
    assert outcome == 'failed'
    assert 'no-such-job' in result['msg']
    assert not es.mutating_requests()


def test_a_long_list_of_ids_to_delete_skips_the_ones_already_gone(es):
    ids = long_ids(60)
    with_jobs(es, ids[:50], 'closed')
    outcome, result = run(es, 'absent', ids)
    assert outcome == 'ok' and result['changed'] is True
    assert jobs(es) == {}
    assert sorted(p.rsplit('/', 1)[1] for p in paths(es, 'DELETE')) == ids[:50]


# ------------------------------------------------------------------ opened


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_open_sends_one_open_per_closed_job_and_none_to_open_or_opening_jobs(es):
    cluster(es, a='closed', b='opened', c='opening', d='closed')
    outcome, result = run(es, 'opened', ['_all'])
    assert outcome == 'ok' and result['changed'] is True
    assert sorted(paths(es, 'POST')) == [ml(es, 'anomaly_detectors', 'a', '_open'), ml(es, 'anomaly_detectors', 'd', '_open')]
    assert by_id(result)['c']['actions'] == ['wait'] and by_id(result)['b']['actions'] == []
    assert after(result) == {'a': 'opened', 'b': 'opened', 'c': 'opened', 'd': 'opened'}
    es.clear_requests()
    outcome, result = run(es, 'opened', ['_all'])
    assert outcome == 'ok' and result['changed'] is False and len(sent(es)) == 1


@pytest.mark.parametrize('es', [slow(version=v, open_seconds=100) for v in VERSIONS], indirect=True)
def test_open_outlasting_the_timeout_is_not_opened_twice(es):
    # Every open outlasts its wait (408); the opening job c gets no open at all.
    cluster(es, a='closed', b='opened', c='opening', d='closed')
    outcome, result = run(es, 'opened', ['_all'], timeout=60)
    assert outcome == 'failed'
    assert sorted(paths(es, 'POST')) == [ml(es, 'anomaly_detectors', 'a', '_open'), ml(es, 'anomaly_detectors', 'd', '_open')]
    assert [r['status'] for r in es.mutating_requests()] == [408, 408]
    assert result['timed_out_jobs'] == ['a', 'c', 'd']


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_open_confirmed_by_es_needs_no_reread(es):
    cluster(es, a='closed', b='closed')
    outcome, result = run(es, 'opened', ['a', 'b'])
    assert outcome == 'ok'
    # Before 7.8 the open's answer names no node, so it cannot tell opened from lazily opening: one more read.
    assert len(state_reads(es)) == (1 if es.personality.at_least(7, 8) else 2)
    assert all(query == {'timeout': '1m'} for (path, query) in [(r['path'], r['query']) for r in es.mutating_requests()])


@pytest.mark.parametrize('es', [slow(version=v, open_seconds=30) for v in VERSIONS], indirect=True)
def test_open_timeout_408_is_still_opening(es):
    # wait: false asks ES to wait NO_WAIT_SERVER_TIMEOUT; its 408 means "still opening", not an error.
    cluster(es, a='closed')
    outcome, result = run(es, 'opened', ['a'], wait=False)
    assert outcome == 'ok' and after(result) == {'a': 'opening'}
    assert [(r['query'], r['status']) for r in es.mutating_requests()] == [({'timeout': '10s'}, 408)]
    # and a run with time to wait sees it opened, without a second open
    es.clear_requests()
    outcome, result = run(es, 'opened', ['a'])
    assert outcome == 'ok' and after(result) == {'a': 'opened'}
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', WITH_LAZY_OPEN, indirect=True)
def test_lazy_open_waiting_for_capacity_counts_as_opened(es):
    add(es, 'big', 'closed', **TOO_BIG)
    outcome, result = run(es, 'opened', ['big'], timeout=5)
    assert outcome == 'ok', result['msg']
    assert after(result) == {'big': 'opening'}
    assert jobs(es) == {'big': 'opening'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('option', ('force', 'force_failed'))
def test_open_failed_job_force_closes_then_opens(es, option):
    cluster(es, {'a': ('df-a', 'started')}, a='failed', b='closed')
    outcome, result = run(es, 'opened', ['a', 'b'], **{option: True})
    assert outcome == 'ok', result['msg']
    posts = paths(es, 'POST')
    stop = [ml(es, 'datafeeds', 'df-a', '_stop')] if es.version in UP_TO_713 else []
    assert posts[:len(stop) + 1] == stop + [ml(es, 'anomaly_detectors', 'a', '_close')]
    assert sorted(posts[len(stop) + 1:]) == [ml(es, 'anomaly_detectors', 'a', '_open'), ml(es, 'anomaly_detectors', 'b', '_open')]
    assert closes(es)[0][1]['force'] == 'true'
    assert jobs(es) == {'a': 'opened', 'b': 'opened'}
    assert feeds(es) == {'df-a': 'stopped'}
    assert by_id(result)['a']['actions'] == (['stop_datafeed'] if stop else []) + ['force_close', 'open']


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_open_closing_job_waits_for_closed_then_opens(es):
    cluster(es, a='closing')
    outcome, result = run(es, 'opened', ['a'])
    assert outcome == 'ok', result['msg']
    assert paths(es, 'POST') == [ml(es, 'anomaly_detectors', 'a', '_open')]
    assert after(result) == {'a': 'opened'}


def test_open_conflict_because_someone_else_opened_it_is_not_an_error(es):
    cluster(es, a='closed')
    client = racing_client(es, 'POST', '/_open', lambda: es.open_job('a'))
    outcome, result = run(es, 'opened', ['a'], client=client)
    assert outcome == 'ok' and after(result) == {'a': 'opened'}
    assert [r['status'] for r in es.mutating_requests()] == [409]   # Elasticsearch's own 409: already opened


def test_open_conflict_then_closed_again_fails_not_loops(es):
    # Someone opened the job (our open gets 409) and closed it again before our read: fail, do not loop.
    cluster(es, a='closed')

    client = racing_client(es, 'POST', '/_open', lambda: es.open_job('a'), then=lambda: es.close_job('a'))
    outcome, result = run(es, 'opened', ['a'], client=client)
    assert outcome == 'failed' and 'closed again' in result['msg']
    assert [r['status'] for r in es.mutating_requests()] == [409]


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_check_mode_open_predicts_without_mutating(es):
    cluster(es, a='closed', b='failed', c='opening')
    outcome, result = run(es, 'opened', ['_all'], check_mode=True, diff=True, force_failed=True)
    assert outcome == 'ok' and result['changed'] is True
    assert es.mutating_requests() == []
    assert result['diff']['after'] == {'a': 'opened', 'b': 'opened', 'c': 'opened'}
    assert jobs(es) == {'a': 'closed', 'b': 'failed', 'c': 'opening'}


# ------------------------------------------------------------------ absent


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_absent_deletes_closed_jobs_one_request_each(es):
    cluster(es, a='closed', b='closed')
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'ok' and result['changed'] is True
    assert sorted(paths(es, 'DELETE')) == [ml(es, 'anomaly_detectors', 'a'), ml(es, 'anomaly_detectors', 'b')]
    # no force for closed jobs; from 7.0 the time left goes as timeout (and keeps the client waiting as long)
    expected = {'timeout': '1m'} if es.personality.major >= 7 else {}
    assert [query for (method, _p, query) in mutations(es) if method == 'DELETE'] == [expected, expected]
    assert jobs(es) == {}
    assert after(result) == {'a': 'absent', 'b': 'absent'}
    es.clear_requests()
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'ok' and result['changed'] is False and result['jobs'] == []
    assert len(sent(es)) <= 2 and es.mutating_requests() == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_absent_missing_exact_ids_are_already_absent(es):
    cluster(es, a='closed')
    outcome, result = run(es, 'absent', ['gone', 'a', 'also-gone'])
    assert outcome == 'ok', result['msg']
    assert paths(es, 'DELETE') == [ml(es, 'anomaly_detectors', 'a')]
    assert [job['job_id'] for job in result['jobs']] == ['a']


@pytest.mark.parametrize('es', ('6.8.23', '7.13.4', '7.14.2'), indirect=True)
def test_absent_up_to_714_deletes_datafeeds_first(es):
    cluster(es, {'a': ('df-a', 'stopped')}, a='closed', b='closed')
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'ok', result['msg']
    deletes = paths(es, 'DELETE')
    assert deletes.index(ml(es, 'datafeeds', 'df-a')) < deletes.index(ml(es, 'anomaly_detectors', 'a'))
    assert (by_id(result)['a']['datafeed_id'], by_id(result)['a']['datafeed_state']) == ('df-a', 'absent')
    assert jobs(es) == {} and feeds(es) == {}


@pytest.mark.parametrize('es', ('7.17.28', '8.19.3', '9.1.5'), indirect=True)
def test_absent_from_715_lets_the_job_delete_remove_its_datafeed(es):
    cluster(es, {'a': ('df-a', 'stopped')}, a='closed')
    outcome, result = run(es, 'absent', ['a'])
    assert outcome == 'ok'
    assert state_reads(es) == [ml(es, 'anomaly_detectors', 'a', '_stats')]
    assert paths(es, 'DELETE') == [ml(es, 'anomaly_detectors', 'a')]
    assert 'datafeed_id' not in by_id(result)['a']
    assert feeds(es) == {}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('state', ('opened', 'opening', 'closing', 'failed'))
def test_absent_running_job_without_force_fails_naming_it_and_its_state(es, state):
    cluster(es, a=state, b='closed')
    outcome, result = run(es, 'absent', ['a', 'b'])
    assert outcome == 'failed'
    assert 'cannot delete job a (%s)' % state in result['msg'] and 'force: true' in result['msg']
    assert result['failed_jobs'] == ['a']
    assert len(sent(es)) == 1   # stats only: no datafeed read for a plan that refuses
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_absent_with_force_force_deletes_running_jobs_and_their_datafeeds(es):
    cluster(es, {'a': ('df-a', 'started')}, a='opened', b='failed', c='closed')
    outcome, result = run(es, 'absent', ['_all'], force=True)
    assert outcome == 'ok', result['msg']
    forced = dict((path, query.get('force')) for (method, path, query) in mutations(es) if method == 'DELETE')
    assert forced[ml(es, 'anomaly_detectors', 'a')] == 'true'
    assert forced[ml(es, 'anomaly_detectors', 'b')] == 'true'
    assert forced[ml(es, 'anomaly_detectors', 'c')] is None    # closed: no force needed
    if es.personality.below(7, 15):
        assert forced[ml(es, 'datafeeds', 'df-a')] == 'true'
    assert jobs(es) == {} and feeds(es) == {}
    assert by_id(result)['a']['actions'][-1] == 'force_delete'


def test_absent_force_failed_deletes_failed_jobs_only(es_factory):
    es = cluster(es_factory(), a='failed', b='closed')
    outcome, result = run(es, 'absent', ['_all'], force_failed=True)
    assert outcome == 'ok'
    assert jobs(es) == {}
    es = cluster(es_factory(), a='failed', b='opened')
    outcome, result = run(es, 'absent', ['_all'], force_failed=True)
    assert outcome == 'failed' and 'job b (opened)' in result['msg']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_check_mode_absent_predicts_without_mutating(es):
    cluster(es, {'a': ('df-a', 'stopped')}, a='closed', b='closed')
    outcome, result = run(es, 'absent', ['_all'], check_mode=True, diff=True)
    assert outcome == 'ok' and result['changed'] is True
    assert es.mutating_requests() == []
    assert result['diff'] == {'before': {'a': 'closed', 'b': 'closed'}, 'after': {}}
    assert after(result) == {'a': 'absent', 'b': 'absent'}
    assert jobs(es) == {'a': 'closed', 'b': 'closed'}


def test_one_failing_delete_does_not_stop_the_others_and_is_reported(es):
    cluster(es, a='closed', b='closed', c='closed')
    es.faults(method='DELETE', path_regex='/anomaly_detectors/b$', status=500, times=1, body={
        'error': {'root_cause': [{'type': 'exception', 'reason': 'disk on fire'}], 'type': 'exception',
                  'reason': 'disk on fire'}, 'status': 500})
    outcome, result = run(es, 'absent', ['_all'])
    assert outcome == 'failed'
    assert 'disk on fire' in result['msg']
    assert sorted(jobs(es)) == ['b']
    assert after(result) == {'a': 'absent', 'b': 'closed', 'c': 'absent'}


def test_delete_404_because_someone_else_deleted_it_is_success(es):
    cluster(es, a='closed')
    client = racing_client(es, 'DELETE', '/anomaly_detectors/a', lambda: es.ok('DELETE', es.ml_path('anomaly_detectors', 'a')))
    outcome, result = run(es, 'absent', ['a'], client=client)
    assert outcome == 'ok' and result['changed'] is True
    assert [r['status'] for r in es.mutating_requests()] == [404]   # Elasticsearch's own "No known job"


# ------------------------------------------------------------------ upgrade mode and other errors


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('desired, state', [('closed', 'opened'), ('opened', 'closed'), ('absent', 'closed')])
def test_upgrade_mode_points_to_the_upgrade_mode_module(es, desired, state):
    cluster(es, a=state)
    es.set_upgrade_mode(True)
    outcome, result = run(es, desired, ['a'])
    if es.version == '6.8.23' and desired != 'opened':
        assert outcome == 'ok', result['msg']   # before 7.8 only opening a job is refused in upgrade mode
        return
    assert outcome == 'failed'
    assert 'esops.jobs.ml_upgrade_mode' in result['msg'] and 'upgrade mode is enabled' in result['msg']
    assert result['failed_jobs'] == ['a']


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=30) for v in VERSIONS], indirect=True)
def test_a_job_deleted_by_someone_else_while_waiting_is_named_not_a_traceback(es):
    cluster(es, a='opened', b='opened')
    # force-deleted during the second close's wait: the read after it finds b gone
    at(es, 7, lambda: es.ok('DELETE', es.ml_path('anomaly_detectors', 'b'), params={'force': 'true'}))
    outcome, result = run(es, 'closed', ['a', 'b'])
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['b']
    assert 'job b was deleted while waiting' in result['msg']
    assert after(result) == {'a': 'closing', 'b': 'absent'}


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_other_es_errors_keep_status_and_type(es):
    # ml_viewer (monitor_ml) may read job stats and ML info, not close: Elasticsearch's own 403.
    cluster(es, a='opened')
    outcome, result = run(es, 'closed', ['a'], client=es.client(username='ml_viewer', password='changeme'))
    assert outcome == 'failed'
    assert result['status'] == 403 and result['error_type'] == 'security_exception'
    assert 'unauthorized' in result['msg']
    assert jobs(es) == {'a': 'opened'}


def test_every_close_request_line_is_sent_at_once(es):
    # Each close waits server-side; a chunk queued behind another would add a whole close duration.
    ids = long_ids(250)
    chunks = chunk_ids(ids)
    assert len(chunks) > MAX_PARALLEL_REQUESTS
    all_sent = threading.Barrier(len(chunks), timeout=5)

    def opener(url, **kwargs):
        if url.split('?')[0].endswith('/_close'):
            all_sent.wait()   # raises BrokenBarrierError unless every chunk is in flight together
        return es.opener(url, **kwargs)

    with_jobs(es, ids, 'opened')
    outcome, result = run(es, 'closed', ids, client=es.client(opener=opener))
    assert outcome == 'ok', result.get('msg')
    assert len(closes(es)) == len(chunks)
    assert set(after(result).values()) == {'closed'}


# ------------------------------------------------------------------ failures during waits (issue 13)


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=3600) for v in VERSIONS], indirect=True)
def test_a_job_failing_while_another_request_closes_it_is_noticed_within_seconds(es):
    # ES's close waits only for the task to disappear; a failed task never does (TransportCloseJobAction), so one
    # close carrying the whole budget would hold the run for 30 minutes.
    cluster(es, a='closing')   # someone else's close
    start = es.clock.monotonic()
    fail_later(es, 'a', 1)
    outcome, result = run(es, 'closed', ['a'], timeout=1800)
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['a'] and 'job a failed' in result['msg']
    assert es.clock.monotonic() - start <= 2 * CLOSE_WAIT_CHUNK + 2
    assert all(parse_duration(query['timeout']) <= CLOSE_WAIT_CHUNK for _p, query in closes(es))


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=3 * CLOSE_WAIT_CHUNK - 1) for v in VERSIONS], indirect=True)
def test_a_slow_close_is_asked_again_until_closed(es):
    cluster(es, a='opened')
    outcome, result = run(es, 'closed', ['a'], timeout=1800)
    assert outcome == 'ok', result['msg']
    assert after(result) == {'a': 'closed'}
    assert 3 <= len(closes(es)) <= 4


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=30) for v in VERSIONS], indirect=True)
def test_close_answering_500_for_a_job_that_failed_names_it(es):
    # The job's close fails on its node: ES marks it failed and the close answers 500 "Exception closing autodetect
    # process" (AutodetectProcessManager.closeJob; tests/emulator/README.md "Control API").
    cluster(es, a='opened')
    fail_later(es, 'a', 1)
    outcome, result = run(es, 'closed', ['a'], timeout=1800)
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['a']
    assert 'job a failed while waiting for it to be closed' in result['msg']
    assert 'Exception closing autodetect process' in result['msg']
    assert after(result) == {'a': 'failed'}


@pytest.mark.parametrize('es', [slow(version=v, open_seconds=5) for v in VERSIONS], indirect=True)
def test_open_answering_500_for_a_job_that_failed_names_it(es):
    # TransportOpenJobAction.JobPredicate: a job that fails while opening ends the open's wait with a 500.
    cluster(es, a='closed')
    fail_later(es, 'a', 1)
    outcome, result = run(es, 'opened', ['a'])
    assert outcome == 'failed'
    assert result['failed_jobs'] == ['a']
    assert 'job a failed while waiting for it to be opened' in result['msg']
    assert after(result) == {'a': 'failed'}
    assert [r['status'] for r in es.mutating_requests()] == [500]


@pytest.mark.parametrize('check_mode', (True, False))
def test_a_lazy_job_waiting_for_capacity_is_already_opened(es, check_mode):
    add(es, 'big', 'opening', **TOO_BIG)
    outcome, result = run(es, 'opened', ['big'], check_mode=check_mode)
    assert outcome == 'ok' and result['changed'] is False
    assert result['jobs'][0]['actions'] == [] and after(result) == {'big': 'opening'}
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('desired, state', [('closed', 'opened'), ('opened', 'closed'), ('absent', 'closed')])
def test_check_mode_predicts_the_upgrade_mode_refusal(es, desired, state):
    cluster(es, a=state)
    es.set_upgrade_mode(True)
    outcome, check = run(es, desired, ['a'], check_mode=True)
    if es.version == '6.8.23' and desired != 'opened':
        # Before 7.8 Elasticsearch refuses only opening a job in upgrade mode: close and delete go ahead.
        assert outcome == 'ok' and check['changed'] is True and es.mutating_requests() == []
        outcome, real = run(es, desired, ['a'])
        assert outcome == 'ok', real['msg']
        assert real['changed'] is True and after(real) == after(check)
        return
    assert outcome == 'failed' and 'upgrade mode is enabled' in check['msg']
    assert check['failed_jobs'] == ['a'] and check['changed'] is False
    outcome, real = run(es, desired, ['a'])
    assert outcome == 'failed' and real['msg'] == check['msg']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', UP_TO_713, indirect=True)
def test_datafeeds_stopped_before_a_failed_close_are_reported_as_changed(es):
    cluster(es, {'a': ('df-a', 'started')}, a='opened')
    reason = 'action [cluster:admin/xpack/ml/job/close] is unauthorized for user [ops]'
    es.faults(method='POST', path_regex='/_close$', status=403, times=1, body={
        'error': {'root_cause': [{'type': 'security_exception', 'reason': reason}], 'type': 'security_exception',
                  'reason': reason}, 'status': 403})
    outcome, result = run(es, 'closed', ['a'])
    assert outcome == 'failed'
    assert feeds(es) == {'df-a': 'stopped'}
    assert result['changed'] is True
    job = result['jobs'][0]
    assert job['changed'] is True and job['state_after'] == 'opened'
    assert (job['datafeed_id'], job['datafeed_state']) == ('df-a', 'stopped')


@pytest.mark.parametrize('es', [slow(version=v, close_seconds=600) for v in VERSIONS], indirect=True)
@pytest.mark.parametrize('selection, answer', [
    (['a', 'b'], 'one or more jobs have state failed, use force close'),
    (['b'], 'cannot close job [b] because it failed, use force close'),
])
def test_a_job_failing_between_two_closes_is_named_alone(es, selection, answer):
    # b fails after the first close's wait ran out and the states were read: the next graceful close is ES's 409
    # (TransportCloseJobAction), which names no job when the request had several; the module names b from the states.
    cluster(es, a='opened', b='opened')
    fail_later(es, 'b', CLOSE_WAIT_CHUNK + 0.05)   # during the poller's first sleep
    outcome, result = run(es, 'closed', selection, timeout=600)
    assert outcome == 'failed'
    assert [r['status'] for r in es.requests() if r['path'].endswith('/_close')] == [500, 409]
    assert result['failed_jobs'] == ['b']
    assert result['msg'] == ('cannot close job b: it failed since it was read (%s); force-close it with force_failed: true'
                             % answer)
