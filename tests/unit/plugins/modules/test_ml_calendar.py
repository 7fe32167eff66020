# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_calendar end to end against the in-process emulator (6.8.23, 7.17.28, 9.1.5: the three API eras of
calendars: _xpack/ml, _ml with upgrade-mode refusals, 8.16+ event fields)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import ml_calendar

VERSIONS = ('6.8.23', '7.17.28', '9.1.5')
START = '2026-01-31T22:00:00Z'
START_MS = 1769896800000
HOUR_MS = 3600 * 1000


@pytest.fixture
def run(run_module):
    return lambda args, **kwargs: run_module(ml_calendar.main, args, **kwargs)


def calendar(es, calendar_id='outages'):
    body = es.ok('GET', es.ml_path('calendars', calendar_id))
    return body['calendars'][0]


def events(es, calendar_id='outages'):
    return [(e['description'], e['start_time'], e['end_time'])
            for e in es.ok('GET', es.ml_path('calendars', calendar_id, 'events'))['events']]


def declared(**overrides):
    args = dict(calendar_id='outages', description='Planned outages', job_ids=['web', 'db-group'],
                events=[dict(description='move', start_time=START, duration='4h')])
    args.update(overrides)
    return args


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_create_then_idempotent(es, run):
    failed, result = run(declared(), diff=True)
    assert not failed, result
    assert result['changed'] is True and result['actions'] == ['create', 'add_events']
    assert result['operations'] == ['put_calendar', 'post_calendar_events']
    assert result['diff']['before'] == {'calendar_id': 'outages', 'state': 'absent'}
    assert result['calendar']['events'] == [dict(description='move', start_time=START_MS, end_time=START_MS + 4 * HOUR_MS,
                                                 start=START, end='2026-02-01T02:00:00Z')]
    assert sorted(calendar(es)['job_ids']) == ['db-group', 'web']
    assert calendar(es)['description'] == 'Planned outages'
    assert events(es) == [('move', START_MS, START_MS + 4 * HOUR_MS)]
    paths = [r['path'] for r in es.mutating_requests()]
    assert paths == [es.ml_path('calendars', 'outages'), es.ml_path('calendars', 'outages', 'events')]
    es.clear_requests()
    # The same declaration with the end given as a time (and milliseconds) is the same event.
    failed, result = run(declared(events=[dict(description='move', start_time=START_MS,
                                               end_time='2026-02-01T03:00:00+01:00')]))
    assert not failed and result['changed'] is False and result['actions'] == [], result
    assert result['msg'] == 'calendar outages is as declared'
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_membership_and_events_change(es, run):
    run(declared(events=[dict(description='old', start_time=START, duration='1h'),
                         dict(description='move', start_time=START, duration='4h')]))
    es.clear_requests()
    failed, result = run(declared(job_ids=['web', 'api'], events_mode='exact',
                                  events=[dict(description='move', start_time=START, duration='2h')]))
    assert not failed, result
    assert result['actions'] == ['add_jobs', 'remove_jobs', 'add_events', 'remove_events']
    assert sorted(calendar(es)['job_ids']) == ['api', 'web']
    assert events(es) == [('move', START_MS, START_MS + 2 * HOUR_MS)]
    assert [e['description'] for e in result['events_removed']] == ['move', 'old']
    assert all(e['event_id'] for e in result['events_removed'])
    assert sorted(calendar(es)['job_ids']) == result['calendar']['job_ids']
    # add mode leaves undeclared events alone; job_ids left out leaves memberships alone
    failed, result = run(dict(calendar_id='outages', events=[dict(description='new', start_time=START, duration='1h')]))
    assert result['actions'] == ['add_events'] and len(events(es)) == 2
    assert sorted(calendar(es)['job_ids']) == ['api', 'web']


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_check_mode_predicts_with_zero_mutating_requests(es, run):
    run(declared())
    es.clear_requests()
    failed, result = run(declared(job_ids=['web'], events_mode='exact', events=[]), check_mode=True, diff=True)
    assert not failed and result['changed'] is True
    assert result['actions'] == ['remove_jobs', 'remove_events']
    assert result['calendar']['job_ids'] == ['web'] and result['calendar']['events'] == []
    assert result['msg'] == 'calendar outages: would remove jobs db-group; remove 1 event(s)'
    assert es.mutating_requests() == []
    assert len(events(es)) == 1 and sorted(calendar(es)['job_ids']) == ['db-group', 'web']
    failed, result = run(dict(calendar_id='outages', state='absent'), check_mode=True)
    assert result['changed'] is True and result['state_after'] == 'absent' and es.mutating_requests() == []
    # The real run does what check mode predicted.
    failed, result = run(declared(job_ids=['web'], events_mode='exact', events=[]))
    assert result['calendar']['job_ids'] == ['web'] and events(es) == []


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_absent(es, run):
    failed, result = run(dict(calendar_id='outages', state='absent'))
    assert not failed and result['changed'] is False and es.mutating_requests() == []
    run(declared())
    failed, result = run(dict(calendar_id='outages', state='absent'))
    assert result['changed'] is True and result['actions'] == ['delete'] and result['operations'] == ['delete_calendar']
    assert es.call('GET', es.ml_path('calendars', 'outages'))[0] == 404


@pytest.mark.parametrize('es', ['7.17.28', '9.1.5'], indirect=True)
def test_upgrade_mode_refused_before_any_change(es, run):
    es.set_upgrade_mode(True)
    es.clear_requests()
    for check_mode in (True, False):
        failed, result = run(declared(), check_mode=check_mode)
        assert failed and 'ML upgrade mode is enabled' in result['msg'] and '\n' not in result['msg']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', ['6.8.23'], indirect=True)
def test_upgrade_mode_does_not_block_calendars_before_7_8(es, run):
    es.set_upgrade_mode(True)
    failed, result = run(declared())
    assert not failed and result['changed'] is True


def test_description_of_an_existing_calendar_cannot_change(es, run):
    run(declared())
    es.clear_requests()
    failed, result = run(declared(description='something else'))
    assert failed and 'cannot change the description' in result['msg'] and es.mutating_requests() == []


@pytest.mark.parametrize('args, message', [
    (dict(calendar_id='Bad'), "calendar_id: 'Bad' is not a valid id"),
    (dict(calendar_id='_all'), 'calendar_id: give one calendar id'),
    (dict(calendar_id='a*'), 'calendar_id: give one calendar id, not a pattern'),
    (dict(job_ids=['web-*']), "job_ids: 'web-*' is a pattern"),
    (dict(events=[dict(description='x', start_time='yesterday', duration='1h')]),
     "events[0].start_time='yesterday' is not a date"),
    (dict(events=[dict(description='x', start_time='2026-02-30T00:00:00Z', duration='1h')]),
     "events[0].start_time='2026-02-30T00:00:00Z' is not a valid date"),
    (dict(events=[dict(description='x', start_time=START)]), 'events[0]: give end_time or duration'),
    (dict(events=[dict(description='x', start_time=START, duration='1h', end_time=START)]),
     'events[0]: give end_time or duration, not both'),
    (dict(events=[dict(description='x', start_time=START, end_time=START)]),
     'events[0]: end_time 2026-01-31T22:00:00Z must come after start_time 2026-01-31T22:00:00Z'),
    (dict(events=[dict(description='x', start_time=START, duration='-1h')]), 'events[0].duration'),
    (dict(events=[dict(description=' ', start_time=START, duration='1h')]), 'events[0].description'),
    (dict(state='absent'), 'state=absent deletes the calendar and its events; description, job_ids, events'),
])
def test_bad_input_one_line_no_request(es, run, args, message):
    failed, result = run(declared(**args))
    assert failed and message in result['msg'], result['msg']
    assert '\n' not in result['msg'] and 'Traceback' not in str(result)
    assert es.requests() == []


def test_in_runtime_group_and_privileges_known():
    from ansible_collections.esops.jobs.plugins.module_utils import _ml_calendar, _privileges
    assert set(_ml_calendar.STEP_OPERATIONS.values()) <= set(_privileges.OPERATIONS)


@pytest.mark.parametrize('es', [dict(version=v, security=True) for v in VERSIONS], indirect=True)
def test_reported_operations_are_the_actions_elasticsearch_authorises(es, run_module):
    """The check-mode plan's `operations` (what a role's privilege pre-check asks for) name exactly the actions the
    real run needs: a monitor_ml user may plan (reads), lacks them, and the real run's 403 names the first one."""
    from ansible_collections.esops.jobs.plugins.modules import privilege_check
    viewer = dict(hosts=[es.url], username='ml_viewer', password='changeme')
    failed, plan = run_module(ml_calendar.main, dict(declared(), **viewer), check_mode=True)
    assert not failed and plan['operations'] == ['put_calendar', 'post_calendar_events']
    failed, check = run_module(privilege_check.main, dict(viewer, operations=plan['operations'], fail_on_missing=False),
                               check_mode=True)
    missing = [m['privilege'] for m in check['missing']]
    assert missing == ['cluster:admin/xpack/ml/calendars/put', 'cluster:admin/xpack/ml/calendars/events/post']
    failed, real = run_module(ml_calendar.main, dict(declared(), **viewer))
    assert failed and real['status'] == 403 and missing[0] in real['msg'] and real['changed'] is False
    admin = dict(hosts=[es.url], username='ml_admin', password='changeme')
    failed, check = run_module(privilege_check.main, dict(admin, operations=list(
        ['put_calendar', 'update_calendar_jobs', 'post_calendar_events', 'delete_calendar_event', 'delete_calendar'])),
        check_mode=True)
    assert not failed and check['missing'] == []
