# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults injected with the emulator's control API, driven through the real modules with ansible-playbook."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from tests.reliability.conftest import (
    Es, Playbook, _start, assert_clean_failure, assert_no_tracebacks, conn)
from tests.reliability.test_bad_input import unused_port_url

BURST_STATUSES = [429, 502, 503, 504]


def close_requests(emu, job_id):
    return [r for r in emu.requests() if r['method'] == 'POST' and r['path'].endswith('/%s/_close' % job_id)]


@pytest.fixture(scope='module')
def fault_run(plain_emu, collections_path, tmp_path_factory):
    es = Es(plain_emu)
    book = Playbook(collections_path, tmp_path_factory.mktemp('faults'))
    for status in BURST_STATUSES:
        job = 'burst-%d' % status
        es.ml_job(job)
        es.open_job(job)
        plain_emu.faults(method='POST', path_regex='/%s/_close$' % job, status=status, times=2)
        book.case('burst_%d_then_success' % status, 'ml_job_state', dict(conn(plain_emu, retries=3), job_id=[job], state='closed'))
    es.ml_job('exhaust')
    es.open_job('exhaust')
    plain_emu.faults(method='POST', path_regex='/exhaust/_close$', status=503, times=50)
    book.case('retries_exhausted', 'ml_job_state', dict(conn(plain_emu, retries=2), job_id=['exhaust'], state='closed'))
    dead = unused_port_url()
    book.case('connection_refused', 'ml_job_info', dict(conn(plain_emu, hosts=[dead], retries=1), job_id=['_all']))
    book.case('failover_to_live_host', 'ml_job_info', dict(conn(plain_emu, hosts=[dead, plain_emu.url], retries=1), job_id=['exhaust']))
    es.ml_job('reset-ok')
    es.ml_job('reset-fail')
    plain_emu.faults(method='GET', path_regex='/reset-ok', drop_connection=True, times=1)
    plain_emu.faults(method='GET', path_regex='/reset-fail', drop_connection=True, times=50)
    book.case('connection_reset_then_success', 'ml_job_info', dict(conn(plain_emu, retries=2), job_id=['reset-ok']))
    book.case('connection_reset_exhausted', 'ml_job_info', dict(conn(plain_emu, retries=1), job_id=['reset-fail']))
    es.ml_job('slow-ok')
    es.ml_job('slow-fail')
    plain_emu.faults(method='GET', path_regex='/slow-ok', delay_ms=2500, times=1)
    plain_emu.faults(method='GET', path_regex='/slow-fail', delay_ms=2500, times=50)
    book.case('slow_then_fast_within_budget', 'ml_job_info', dict(conn(plain_emu, retries=1, request_timeout=1), job_id=['slow-ok']))
    book.case('slow_exhausted', 'ml_job_info', dict(conn(plain_emu, retries=1, request_timeout=1), job_id=['slow-fail']))
    run = book.run()
    plain_emu.clear_faults()
    return run, es


@pytest.mark.parametrize('status', BURST_STATUSES)
def test_burst_then_success(fault_run, plain_emu, status):
    run, es = fault_run
    job = 'burst-%d' % status
    result = run.results['burst_%d_then_success' % status]
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is True
    assert [(j['job_id'], j['state_before'], j['state_after']) for j in result['jobs']] == [(job, 'opened', 'closed')]
    assert es.job_state(job) == 'closed'
    assert [r['status'] for r in close_requests(plain_emu, job)] == [status, status, 200]


def test_retries_exhausted(fault_run, plain_emu):
    run, es = fault_run
    assert_clean_failure(run.results['retries_exhausted'], 'HTTP 503', 'gave up after 3 attempts', 'exhaust')
    assert len(close_requests(plain_emu, 'exhaust')) == 3
    assert es.job_state('exhaust') == 'opened'


def test_connection_refused(fault_run):
    run, _es = fault_run
    assert_clean_failure(run.results['connection_refused'], 'cannot reach Elasticsearch', 'refused', 'gave up after 2 attempts')


def test_failover_to_live_host(fault_run):
    run, _es = fault_run
    result = run.results['failover_to_live_host']
    assert not result.get('failed'), result.get('msg')
    assert [j['job_id'] for j in result['jobs']] == ['exhaust']


def test_connection_reset_then_success(fault_run):
    result = fault_run[0].results['connection_reset_then_success']
    assert not result.get('failed'), result.get('msg')
    assert [j['job_id'] for j in result['jobs']] == ['reset-ok']


def test_connection_reset_exhausted(fault_run):
    assert_clean_failure(fault_run[0].results['connection_reset_exhausted'], 'cannot reach Elasticsearch', 'gave up after 2 attempts')


def test_slow_response_retried_within_budget(fault_run):
    result = fault_run[0].results['slow_then_fast_within_budget']
    assert not result.get('failed'), result.get('msg')
    assert [j['job_id'] for j in result['jobs']] == ['slow-ok']


def test_slow_response_exhausted(fault_run):
    assert_clean_failure(fault_run[0].results['slow_exhausted'], 'timed out', 'gave up after 2 attempts')


def test_fault_run_has_no_traceback(fault_run):
    assert_no_tracebacks(fault_run[0].output)


# ---------------------------------------------------------------------------------------- slow closes

@pytest.fixture(scope='module')
def slow_close_emu(request):
    return _start(request, close_seconds=4, stop_seconds=0.3, open_seconds=0.1)


@pytest.fixture(scope='module')
def slow_close_run(slow_close_emu, collections_path, tmp_path_factory):
    emu = slow_close_emu
    es = Es(emu)
    for job in ('midfail', 'slowclose', 'nowait'):
        es.ml_job(job)
        es.open_job(job)
    book = Playbook(collections_path, tmp_path_factory.mktemp('slow-close'))
    # ES's close keeps waiting for the failed job's task until its timeout (then 500): keep it short.
    book.case('job_fails_mid_close', 'ml_job_state', dict(conn(emu), job_id=['midfail'], state='closed', timeout='5s'))
    book.case('close_timeout_500', 'ml_job_state', dict(conn(emu), job_id=['slowclose'], state='closed', timeout='1s'))
    book.case('close_timeout_500_rerun', 'ml_job_state', dict(conn(emu), job_id=['slowclose'], state='closed', timeout='60s'))
    book.case('close_timeout_500_no_wait', 'ml_job_state', dict(conn(emu), job_id=['nowait'], state='closed', timeout='1s',
                                                                wait=False))
    handle = book.start()
    deadline = time.time() + 60
    while es.job_state('midfail') != 'closing':
        assert time.time() < deadline, 'the close of midfail never started'
        time.sleep(0.05)
    emu.fail_ml_job('midfail', reason='emulated node crash during close')
    run = book.wait(handle)
    return run, es


def test_job_failing_mid_close_is_a_clear_failure(slow_close_run, slow_close_emu):
    run, es = slow_close_run
    assert_clean_failure(run.results['job_fails_mid_close'], 'job midfail failed', 'force_failed')
    assert es.job_state('midfail') == 'failed'  # not force-closed behind the user's back
    closes = close_requests(slow_close_emu, 'midfail')
    assert closes and all(r['query'].get('force', 'false') == 'false' for r in closes)


def test_close_timeout_500_is_a_clear_failure_and_the_close_continues(slow_close_run, slow_close_emu):
    run, _es = slow_close_run
    assert_clean_failure(run.results['close_timeout_500'], 'slowclose', 'closing')
    statuses = [r['status'] for r in close_requests(slow_close_emu, 'slowclose')]
    assert statuses[0] == 500  # ES's own wait ran out (illegal_state_exception), the close went on


def test_close_timeout_500_rerun_reaches_closed(slow_close_run):
    run, es = slow_close_run
    result = run.results['close_timeout_500_rerun']
    assert not result.get('failed'), result.get('msg')
    assert [j['state_after'] for j in result['jobs']] == ['closed']
    assert es.job_state('slowclose') == 'closed'


def test_close_timeout_500_without_wait_reports_closing(slow_close_run, slow_close_emu):
    run, es = slow_close_run
    result = run.results['close_timeout_500_no_wait']
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is True
    assert [j['state_after'] for j in result['jobs']] in (['closing'], ['closed'])
    assert [r['status'] for r in close_requests(slow_close_emu, 'nowait')] == [500]
    deadline = time.time() + 30
    while es.job_state('nowait') != 'closed':  # the close ES accepted does finish
        assert time.time() < deadline
        time.sleep(0.1)


def test_slow_close_run_has_no_traceback(slow_close_run):
    assert_no_tracebacks(slow_close_run[0].output)


# ---------------------------------------------------------------------------------------- concurrency

@pytest.mark.parametrize('desired', ['closed', 'opened', 'absent'])
def test_two_playbooks_converging_the_same_jobs(plain_emu, collections_path, tmp_path_factory, desired):
    """Two runs started together with the same goal (rounds run in order: close, open, delete) both succeed."""
    es = Es(plain_emu)
    jobs = ['conc-%d' % i for i in range(4)]
    if desired == 'closed':
        for job in jobs:
            es.ml_job(job)
            es.open_job(job)
        es.datafeed('conc-0')
        es.start_datafeed('datafeed-conc-0')
    books = []
    for name in ('a', 'b'):
        book = Playbook(collections_path, tmp_path_factory.mktemp('conc-%s-%s' % (desired, name)))
        args = dict(conn(plain_emu), job_id=['conc-*'] if desired == 'closed' else jobs, state=desired, timeout='60s')
        if desired == 'absent':
            args['force'] = True
        book.case(desired, 'ml_job_state', args)
        books.append(book)
    handles = [book.start() for book in books]
    runs = [book.wait(handle) for book, handle in zip(books, handles)]
    want = 'absent' if desired == 'absent' else desired
    moved_by = set()
    for run in runs:
        assert_no_tracebacks(run.output)
        result = run.results[desired]
        assert not result.get('failed'), result.get('msg')
        assert all(j['state_after'] == want for j in result['jobs']), result['jobs']
        moved_by.update(j['job_id'] for j in result['jobs'] if j['changed'])
        if desired != 'absent':
            # a selector that matches existing jobs reports all four in both runs
            assert sorted(j['job_id'] for j in result['jobs']) == jobs
    if desired == 'absent':
        # exact ids already deleted by the other run are simply absent (not reported, not an error);
        # between them the two runs deleted every job
        assert moved_by == set(jobs)
    assert [es.job_state(job) for job in jobs] == [want] * 4
