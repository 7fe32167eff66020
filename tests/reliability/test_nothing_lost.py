# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nothing lost: check mode sends zero mutating requests; nothing is force-closed or deleted unless asked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from tests.reliability.conftest import Es, Playbook, assert_clean_failure, assert_no_tracebacks, conn


def is_forced(request):
    return str(request['query'].get('force', 'false')).lower() in ('true', '')


@pytest.fixture(scope='module')
def world(plain_emu):
    es = Es(plain_emu)
    for job in ('nl-open', 'nl-open-df', 'nl-closed', 'nl-failed'):
        es.ml_job(job)
    for job in ('nl-open', 'nl-open-df', 'nl-failed'):
        es.open_job(job)
    es.datafeed('nl-open-df')
    es.start_datafeed('datafeed-nl-open-df')
    es.datafeed('nl-closed')
    plain_emu.fail_ml_job('nl-failed')
    es.rollup_job('nl-rollup-started')
    es('POST', '%s/job/nl-rollup-started/_start' % es.rollup)
    es.rollup_job('nl-rollup-stopped')
    return es


def snapshot(es):
    return dict(
        jobs=dict((j, es.job_state(j)) for j in ('nl-open', 'nl-open-df', 'nl-closed', 'nl-failed')),
        datafeeds=dict((d, es.datafeed_state(d)) for d in ('datafeed-nl-open-df', 'datafeed-nl-closed')),
        rollups=dict((r, es.rollup_state(r)) for r in ('nl-rollup-started', 'nl-rollup-stopped')))


CHECK_CASES = [
    ('ml_job_state-closed', 'ml_job_state', {'job_id': ['nl-open', 'nl-open-df'], 'state': 'closed'}),
    ('ml_job_state-closed-force_failed', 'ml_job_state', {'job_id': ['nl-failed'], 'state': 'closed', 'force_failed': True}),
    ('ml_job_state-opened', 'ml_job_state', {'job_id': ['nl-closed'], 'state': 'opened'}),
    ('ml_job_state-absent-force', 'ml_job_state', {'job_id': ['nl-open-df'], 'state': 'absent', 'force': True}),
    ('ml_datafeed_state-stopped', 'ml_datafeed_state', {'datafeed_id': ['datafeed-nl-open-df'], 'state': 'stopped'}),
    ('ml_datafeed_state-absent', 'ml_datafeed_state', {'datafeed_id': ['datafeed-nl-closed'], 'state': 'absent'}),
    ('ml_upgrade_mode-enabled', 'ml_upgrade_mode', {'enabled': True}),
    ('ml_calendar-present', 'ml_calendar', {'calendar_id': 'nl-calendar', 'job_ids': ['nl-open'],
                                            'events': [{'description': 'window', 'start_time': '2026-01-31T22:00:00Z',
                                                        'duration': '1h'}]}),
    ('rollup_job_state-stopped', 'rollup_job_state', {'job_id': ['nl-rollup-started'], 'state': 'stopped'}),
    ('rollup_job_state-started', 'rollup_job_state', {'job_id': ['nl-rollup-stopped'], 'state': 'started'}),
    ('rollup_job_state-absent', 'rollup_job_state', {'job_id': ['nl-rollup-stopped'], 'state': 'absent'}),
]


@pytest.fixture(scope='module')
def check_run(world, plain_emu, collections_path, tmp_path_factory):
    book = Playbook(collections_path, tmp_path_factory.mktemp('check'))
    for case_id, module, args in CHECK_CASES:
        book.case(case_id, module, dict(conn(plain_emu), **args))
    before = snapshot(world)
    start = len(plain_emu.requests())
    run = book.run(check=True, diff=True, verbosity=1)
    return run, before, snapshot(world), world.mutating_requests(start)


@pytest.mark.parametrize('case', CHECK_CASES, ids=lambda c: c[0])
def test_check_mode_predicts_a_change(check_run, case):
    run = check_run[0]
    result = run.results[case[0]]
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is True, result


def test_check_mode_sends_zero_mutating_requests(check_run):
    run, before, after, mutating = check_run
    assert_no_tracebacks(run.output)
    assert mutating == []
    assert after == before


NOT_ASKED = [
    # (case id, module, args, should fail)
    ('close_failed_job_without_force', 'ml_job_state', {'job_id': ['nl-failed'], 'state': 'closed'}, True),
    ('close_jobs_gracefully', 'ml_job_state', {'job_id': ['nl-open', 'nl-open-df'], 'state': 'closed'}, False),
    ('stop_datafeed_gracefully', 'ml_datafeed_state', {'datafeed_id': ['datafeed-nl-closed'], 'state': 'stopped'}, False),
    ('stop_rollup', 'rollup_job_state', {'job_id': ['nl-rollup-started'], 'state': 'stopped'}, False),
    ('close_all_jobs_by_pattern', 'ml_job_state', {'job_id': ['nl-*'], 'state': 'closed'}, True),
]


@pytest.fixture(scope='module')
def real_run(check_run, world, plain_emu, collections_path, tmp_path_factory):
    book = Playbook(collections_path, tmp_path_factory.mktemp('not-asked'))
    for case_id, module, args, _fails in NOT_ASKED:
        book.case(case_id, module, dict(conn(plain_emu), **args))
    start = len(plain_emu.requests())
    run = book.run(verbosity=1)
    return run, world.mutating_requests(start), snapshot(world)


@pytest.mark.parametrize('case', NOT_ASKED, ids=lambda c: c[0])
def test_not_asked_case_outcome(real_run, case):
    case_id, _module, _args, should_fail = case
    result = real_run[0].results[case_id]
    if should_fail:
        assert_clean_failure(result, 'nl-failed', 'force_failed')
    else:
        assert not result.get('failed'), result.get('msg')


def test_nothing_forced_or_deleted_unless_asked(real_run):
    run, mutating, after = real_run
    assert_no_tracebacks(run.output)
    assert mutating, 'the graceful cases must have sent requests'
    assert [r for r in mutating if r['method'] == 'DELETE'] == []
    assert [r for r in mutating if is_forced(r)] == []
    assert after['jobs']['nl-failed'] == 'failed'
    assert after['jobs']['nl-open'] == 'closed' and after['jobs']['nl-open-df'] == 'closed'
    assert after['datafeeds']['datafeed-nl-open-df'] == 'stopped'
    assert after['rollups']['nl-rollup-started'] == 'stopped'
    assert after['rollups']['nl-rollup-stopped'] == 'stopped'
