# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance_window role's bookkeeping (was role YAML, covered only by molecule before issue 24)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

import pytest

from ansible_collections.esops.jobs.plugins.module_utils import _maintenance_window as window

CLUSTER = {'uuid': 'u1', 'name': 'prod'}
OPTIONS = dict(ml=True, ml_mode='upgrade_mode', rollups=True, calendar_duration='4h')
ML_INFO = {'cluster': CLUSTER, 'upgrade_mode': False, 'jobs': [
    {'job_id': 'a', 'state': 'opened', 'datafeed': {'datafeed_id': 'df-a', 'state': 'started'}},
    {'job_id': 'b', 'state': 'opening', 'datafeed': {'datafeed_id': 'df-b', 'state': 'stopped'}},
    {'job_id': 'c', 'state': 'closed', 'datafeed': None},
    {'job_id': 'd', 'state': 'failed', 'datafeed': {'datafeed_id': 'df-d', 'state': 'starting'}},
]}
ROLLUP_INFO = {'cluster': CLUSTER, 'jobs': [
    {'job_id': 'r1', 'state': 'started'}, {'job_id': 'r2', 'state': 'indexing'}, {'job_id': 'r3', 'state': 'stopped'}]}
SKIPPED = {'skipped': True, 'changed': False, 'skip_reason': 'Conditional result was False'}


def entered(**changes):
    record = dict(esops_maintenance_window=2, phase='entered', cluster=CLUSTER, entered_at='2026-01-31T22:00:00Z',
                  exited_at=None, ml=True, ml_mode='close_jobs', upgrade_mode_before=False,
                  ml_jobs_opened=['a', 'gone'], datafeeds_started=['df-a', 'df-gone'], rollups=True,
                  rollups_started=['r1', 'r-gone'], calendar=None)
    record.update(changes)
    return record


def test_read_without_state_file_enter_is_a_new_window_reading_the_selectors():
    got = window.read('enter', '/s.json', None, True, 'close_jobs', True, ['web-*, ', ' ', 'db'], ['r-*'])
    assert got == dict(record={}, new=True, ml_needed=True, rollups_needed=True, ml_read=['web-*,', 'db'],
                       rollup_read=['r-*'])
    # upgrade mode pauses every job: it records every job
    assert window.read('enter', '/s.json', None, True, 'upgrade_mode', True, ['web-*'], ['r-*'])['ml_read'] == ['_all']


def test_read_reads_rollups_for_the_cluster_when_nothing_else_is_read():
    got = window.read('enter', '/s.json', None, False, 'upgrade_mode', False, ['_all'], ['_all'])
    assert (got['ml_needed'], got['rollups_needed']) == (False, True)


def test_read_an_open_window_reads_everything_that_was_recorded():
    text = json.dumps(entered(rollups_started=[]))
    for action in ('enter', 'exit'):
        got = window.read(action, '/s.json', text, False, 'calendar', True, ['x'], ['y'])
        assert got['new'] is False and got['record'] == entered(rollups_started=[])
        assert (got['ml_needed'], got['rollups_needed'], got['ml_read'], got['rollup_read']) == (True, False, ['_all'],
                                                                                                 ['_all'])
    exited = json.dumps(entered(phase='exited'))
    assert window.read('enter', '/s.json', exited, True, 'close_jobs', True, ['x'], ['y'])['new'] is True


def test_read_refuses_exit_without_state_file_and_what_is_not_a_record():
    with pytest.raises(window.Refused, match=r'^No maintenance window state file at /s.json: there is no record'):
        window.read('exit', '/s.json', None, True, 'upgrade_mode', True, [], [])
    for text in ('', 'not json', '[]', json.dumps(entered(esops_maintenance_window=1)),
                 json.dumps(entered(phase='paused')), json.dumps(entered(cluster={'name': 'prod'}))):
        with pytest.raises(window.Refused, match=r'^/s.json is not an esops maintenance window state file bound to a '
                                                 r'cluster \(an older format, or edited by hand\)'):
            window.read('enter', '/s.json', text, True, 'upgrade_mode', True, [], [])


def test_plan_a_new_window_records_what_runs_on_this_cluster():
    got = window.plan('enter', '/s.json', {}, True, '2026-01-31T22:00:00Z', dict(OPTIONS, ml_mode='close_jobs'),
                      ML_INFO, ROLLUP_INFO)
    assert got['cluster'] == CLUSTER and got['outcome'] == 'entered' and got['exited_record'] is None
    assert got['record'] == dict(entered(ml_jobs_opened=['a', 'b'], datafeeds_started=['df-a', 'df-d'],
                                         rollups_started=['r1', 'r2']))
    assert got['operations'] == ['stop_datafeed', 'close_job', 'stop_rollup']
    assert got['calendar_events'] == []


def test_plan_upgrade_mode_operations_and_what_is_left_out():
    got = window.plan('enter', '/s.json', {}, True, 'T', dict(OPTIONS, rollups=False), dict(ML_INFO, upgrade_mode=True),
                      SKIPPED)
    assert got['record']['upgrade_mode_before'] is True and got['record']['rollups_started'] == []
    assert got['operations'] == []  # upgrade mode was on already: nothing to set
    got = window.plan('enter', '/s.json', {}, True, 'T', dict(OPTIONS, ml=False), SKIPPED, ROLLUP_INFO)
    assert got['record']['ml_jobs_opened'] == [] and got['record']['ml'] is False
    assert got['operations'] == ['stop_rollup']


def test_plan_calendar_mode_names_the_window_and_its_event():
    got = window.plan('enter', '/w/state.json', {}, True, '2026-01-31T22:00:00Z', dict(OPTIONS, ml_mode='calendar'),
                      ML_INFO, SKIPPED)
    digest = hashlib.sha1(b'/w/state.json').hexdigest()[:8]
    description = 'esops.jobs maintenance window entered 2026-01-31T22:00:00Z'
    assert got['record']['calendar'] == {
        'calendar_id': 'esops-mw-20260131t220000z-' + digest, 'description': description, 'job_ids': ['a', 'b'],
        'event': {'description': description, 'start_time': '2026-01-31T22:00:00Z', 'duration': '4h'}}
    assert got['calendar_events'] == [got['record']['calendar']['event']]


def test_plan_exit_ends_the_event_at_the_exit_time_or_removes_it():
    event = {'description': 'd', 'start_time': '2026-01-31T22:00:00Z', 'duration': '4h'}
    record = entered(ml_mode='calendar', calendar={'calendar_id': 'c', 'event': event})
    got = window.plan('exit', '/s.json', record, False, '2026-01-31T23:00:00Z', OPTIONS, ML_INFO, ROLLUP_INFO)
    assert got['calendar_events'] == [{'description': 'd', 'start_time': '2026-01-31T22:00:00Z',
                                       'end_time': '2026-01-31T23:00:00Z'}]
    assert got['exited_record'] == dict(record, phase='exited', exited_at='2026-01-31T23:00:00Z')
    same = window.plan('exit', '/s.json', record, False, '2026-01-31T22:00:00Z', OPTIONS, ML_INFO, ROLLUP_INFO)
    assert same['calendar_events'] == []


def test_plan_exit_restores_what_still_exists_and_names_what_was_deleted():
    got = window.plan('exit', '/s.json', entered(datafeeds_started=['df-a', 'df-b', 'df-gone']), False,
                      '2026-02-01T00:00:00Z', OPTIONS, ML_INFO, ROLLUP_INFO)
    assert got['restore'] == dict(jobs=['a'], datafeeds=['df-a', 'df-b'], datafeeds_to_start=['df-b'],
                                  rollup_jobs=['r1'], deleted=dict(jobs=['gone'], datafeeds=['df-gone'],
                                                                   rollup_jobs=['r-gone']))
    assert got['operations'] == ['open_job', 'start_datafeed', 'start_rollup'] and got['outcome'] == 'restored'
    upgrade = window.plan('exit', '/s.json', entered(ml_mode='upgrade_mode'), False, 'T', OPTIONS, ML_INFO, SKIPPED)
    assert upgrade['operations'] == ['set_upgrade_mode']


def test_plan_exit_of_an_exited_window_restores_nothing():
    record = entered(phase='exited', exited_at='2026-01-31T23:00:00Z')
    got = window.plan('exit', '/s.json', record, False, '2026-02-01T00:00:00Z', OPTIONS, ML_INFO, ROLLUP_INFO)
    assert got['outcome'] == 'already_exited' and got['exited_record'] is None and got['operations'] == []
    assert got['restore']['jobs'] == [] and got['exited_at'] == '2026-01-31T23:00:00Z'


def test_plan_refuses_an_unknown_or_another_cluster_and_close_jobs_under_upgrade_mode():
    with pytest.raises(window.Refused, match=r'^Elasticsearch did not tell which cluster this is'):
        window.plan('enter', '/s.json', {}, True, 'T', OPTIONS, dict(ML_INFO, cluster={'uuid': None}), SKIPPED)
    other = {'uuid': 'u2', 'name': 'test'}
    with pytest.raises(window.Refused) as refusal:
        window.plan('exit', '/s.json', entered(), False, 'T', OPTIONS, dict(ML_INFO, cluster=other), SKIPPED)
    assert str(refusal.value) == ('/s.json records a window open on cluster prod (u1), but this connection reaches '
                                  'cluster test (u2); refusing to exit it. Nothing was changed.')
    assert refusal.value.details == {'cluster': other}
    # an exit is bound to the window's cluster even when that window was already exited: a wrong file or connection
    with pytest.raises(window.Refused) as refusal:
        window.plan('exit', '/s.json', entered(phase='exited'), False, 'T', OPTIONS, dict(ML_INFO, cluster=other), SKIPPED)
    assert str(refusal.value) == ('/s.json records a window already exited on cluster prod (u1), but this connection '
                                  'reaches cluster test (u2); refusing to exit it. Nothing was changed.')
    # an exited window may be re-entered anywhere: it is a new window
    assert window.plan('enter', '/s.json', entered(phase='exited'), True, 'T', OPTIONS, dict(ML_INFO, cluster=other),
                       SKIPPED)['record']['cluster'] == other
    with pytest.raises(window.Refused, match=r'^ML upgrade mode is already enabled, so Elasticsearch refuses to close'):
        window.plan('enter', '/s.json', {}, True, 'T', dict(OPTIONS, ml_mode='close_jobs'),
                    dict(ML_INFO, upgrade_mode=True), SKIPPED)


def test_verify_enter_names_what_is_not_paused():
    record = entered(ml_mode='upgrade_mode')
    window.verify('enter', record, {}, {'upgrade_mode': True, 'jobs': []}, {'jobs': [{'job_id': 'r1', 'state': 'stopped'}]})
    window.verify('enter', record, {}, SKIPPED, SKIPPED)   # nothing was read: nothing to check
    with pytest.raises(window.Refused, match=r'^ML is not paused: upgrade mode is off$'):
        window.verify('enter', record, {}, {'upgrade_mode': False, 'jobs': []}, SKIPPED)
    with pytest.raises(window.Refused, match=r'^ML is not paused: jobs a \(opened\)$'):
        window.verify('enter', entered(), {}, {'jobs': [{'job_id': 'a', 'state': 'opened'},
                                                        {'job_id': 'b', 'state': 'closed'}]}, SKIPPED)
    with pytest.raises(window.Refused, match=r'^Rollup jobs not stopped: r1 \(indexing\)$'):
        window.verify('enter', entered(), {}, SKIPPED, {'jobs': [{'job_id': 'r1', 'state': 'indexing'}]})


def test_verify_exit_names_what_is_not_running_again():
    restored = {'datafeeds': ['df-a']}
    running = {'upgrade_mode': False, 'jobs': [
        {'job_id': 'a', 'state': 'opened', 'datafeed': {'datafeed_id': 'df-a', 'state': 'starting'}},
        {'job_id': 'x', 'state': 'closed', 'datafeed': {'datafeed_id': 'df-x', 'state': 'stopped'}}]}
    window.verify('exit', entered(ml_mode='upgrade_mode'), restored, running, {'jobs': [{'job_id': 'r1', 'state': 'started'}]})
    with pytest.raises(window.Refused, match=r'^Not restored: upgrade mode True \(was False\)$'):
        window.verify('exit', entered(ml_mode='upgrade_mode'), restored, dict(running, upgrade_mode=True), SKIPPED)
    # upgrade mode that was on before the window stays on
    window.verify('exit', entered(ml_mode='upgrade_mode', upgrade_mode_before=True), restored,
                  dict(running, upgrade_mode=True), SKIPPED)
    with pytest.raises(window.Refused, match=r'^Not restored: jobs x \(closed\)$'):
        window.verify('exit', entered(), restored, running, SKIPPED)
    stopped = {'jobs': [{'job_id': 'a', 'state': 'opened', 'datafeed': {'datafeed_id': 'df-a', 'state': 'stopped'}}]}
    with pytest.raises(window.Refused, match=r'^Not restored: datafeeds df-a \(stopped\)$'):
        window.verify('exit', entered(), restored, stopped, SKIPPED)
    with pytest.raises(window.Refused, match=r'^Rollup jobs not started: r1 \(stopped\)$'):
        window.verify('exit', entered(), restored, SKIPPED, {'jobs': [{'job_id': 'r1', 'state': 'stopped'}]})
