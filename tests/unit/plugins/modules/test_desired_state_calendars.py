# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.desired_state with declared calendars and filters, end to end on the in-process emulator: created,
updated (items, jobs, events), a description replace refused then done with recreate (backed up first), a re-run
that is a no-op in three reads, check mode without a mutating request, a filter a job uses kept, upgrade mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.esops.jobs.plugins.modules import desired_state

VERSIONS = ('6.8.23', '7.17.28', '9.1.5')
PATCH = {'description': 'Patch night', 'start_time': '2026-12-05T22:00:00Z', 'end_time': '2026-12-06T02:00:00Z'}
FREEZE = {'description': 'Freeze', 'start_time': '2026-12-20T00:00:00Z', 'duration': '2d'}
DOCUMENT = {
    'ml_filters': [{'id': 'safe_domains', 'description': 'Domains we trust', 'items': ['example.com', '*.example.org']}],
    'ml_calendars': [{'id': 'planned-outages', 'description': 'Planned outages', 'job_ids': ['web-jobs', 'job-a'],
                      'events': [PATCH]}],
}


@pytest.fixture
def run(run_module):
    return lambda args, check_mode=False, diff=False: run_module(desired_state.main, args, check_mode=check_mode, diff=diff)


def rows(result):
    return dict(('%s/%s' % (row['kind'], row['id']), row) for row in result['report']['objects'])


def calendar(es, calendar_id):
    found = es.ok('GET', es.ml_path('calendars', calendar_id))['calendars'][0]
    events = es.ok('GET', es.ml_path('calendars', calendar_id, 'events'))['events']
    return found, sorted((event['description'], event['start_time'], event['end_time']) for event in events)


def ml_filter(es, filter_id):
    return es.ok('GET', es.ml_path('filters', filter_id))['filters'][0]


def converge(run, document, **kwargs):
    failed, result = run({'document': document}, **kwargs)
    assert not failed, result['msg']
    return result


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_created_updated_then_a_no_op_in_three_reads(es, run):
    plan = converge(run, DOCUMENT, check_mode=True, diff=True)
    assert es.mutating_requests() == [] and plan['changed']
    by = rows(plan)
    assert by['ml_filters/safe_domains']['actions'] == ['create']
    assert by['ml_calendars/planned-outages']['actions'] == ['create', 'add_events']
    assert [stage['stage'] for stage in plan['steps']] == ['ml_filters_config', 'ml_calendars_config']
    assert plan['operations'] == ['put_filter', 'put_calendar', 'post_calendar_events']
    assert plan['diff']['after']['ml_filters/safe_domains']['config']['items'] == ['*.example.org', 'example.com']

    applied = converge(run, DOCUMENT)
    assert applied['changed'] and rows(applied)['ml_calendars/planned-outages']['after'] == 'present'
    assert ml_filter(es, 'safe_domains')['items'] == ['*.example.org', 'example.com']
    found, events = calendar(es, 'planned-outages')
    assert sorted(found['job_ids']) == ['job-a', 'web-jobs'] and found['description'] == 'Planned outages'
    assert events == [('Patch night', 1796508000000, 1796522400000)]

    es.clear_requests()
    again = converge(run, DOCUMENT)
    assert not again['changed'] and again['report']['status'] == 'in_sync'
    # GET /, the filters, the calendars, every calendar's events: nothing else
    assert len(es.requests()) == 4 and es.mutating_requests() == []

    changed = copy.deepcopy(DOCUMENT)
    changed['ml_filters'][0]['items'] = ['example.com', 'example.net']
    changed['ml_calendars'][0]['job_ids'] = ['job-a', 'job-b']
    changed['ml_calendars'][0]['events'] = [FREEZE]
    plan = converge(run, changed, check_mode=True)
    assert es.mutating_requests() == []
    assert rows(plan)['ml_calendars/planned-outages']['actions'] == ['add_jobs', 'remove_jobs', 'add_events', 'remove_events']
    applied = converge(run, changed)
    assert applied['changed']
    assert ml_filter(es, 'safe_domains')['items'] == ['example.com', 'example.net']
    found, events = calendar(es, 'planned-outages')
    assert sorted(found['job_ids']) == ['job-a', 'job-b'] and [event[0] for event in events] == ['Freeze']
    es.clear_requests()
    assert not converge(run, changed)['changed'] and es.mutating_requests() == []


@pytest.mark.parametrize('es', ('7.17.28',), indirect=True)
def test_a_description_replace_is_refused_then_done_with_recreate_after_a_backup(es, run):
    converge(run, DOCUMENT)
    replaced = copy.deepcopy(DOCUMENT)
    replaced['ml_calendars'][0]['description'] = 'Outages'
    es.clear_requests()
    failed, refused = run({'document': replaced, 'fail_on_error': False})
    assert not failed and refused['report']['status'] == 'failed' and es.mutating_requests() == []
    assert 'cannot change its description' in refused['msg'] and 'recreate: true' in refused['msg']

    replaced['ml_calendars'][0]['recreate'] = True
    failed, first = run({'document': replaced, 'backup': True})
    assert not failed and es.mutating_requests() == []
    [item] = first['backups']
    assert item['name'].startswith('ml-calendar-planned-outages-') and item['kind'] == 'ml_calendars'
    assert item['record'] == {'ml_calendars': [{
        'id': 'planned-outages', 'state': 'present', 'description': 'Planned outages', 'job_ids': ['job-a', 'web-jobs'],
        'events': [{'description': 'Patch night', 'start_time': '2026-12-05T22:00:00Z', 'end_time': '2026-12-06T02:00:00Z'}],
        'events_mode': 'exact'}]}

    applied = converge(run, replaced, diff=True)
    row = rows(applied)['ml_calendars/planned-outages']
    assert row['config'] == 'replace' and row['actions'] == ['delete', 'create', 'add_events']
    found, events = calendar(es, 'planned-outages')
    assert found['description'] == 'Outages' and sorted(found['job_ids']) == ['job-a', 'web-jobs'] and len(events) == 1
    # the backup, converged, restores it (with recreate, as its description differs again)
    restored = dict(item['record']['ml_calendars'][0], recreate=True)
    converge(run, {'ml_calendars': [restored]})
    assert calendar(es, 'planned-outages')[0]['description'] == 'Planned outages'


@pytest.mark.parametrize('es', ('8.19.3',), indirect=True)
def test_a_filter_a_job_still_uses_is_not_deleted(es, run):
    converge(run, DOCUMENT)
    job = {'analysis_config': {'bucket_span': '15m', 'detectors': [{
        'function': 'count', 'by_field_name': 'domain',
        'custom_rules': [{'actions': ['skip_result'], 'scope': {'domain': {'filter_id': 'safe_domains'}}}]}]},
        'data_description': {'time_field': 'timestamp'}}
    es.ok('PUT', es.ml_path('anomaly_detectors', 'web'), body=job)
    es.clear_requests()
    failed, result = run({'document': {'ml_filters': [{'id': 'safe_domains', 'state': 'absent'}]}, 'fail_on_error': False})
    assert not failed and es.mutating_requests() == []
    assert result['report']['errors'][0]['msg'].startswith('ML filter safe_domains cannot be deleted: job(s) web ')
    # deleting the job in the same plan frees it: the filter goes after the job
    result = converge(run, {'ml_jobs': [{'id': 'web', 'state': 'absent'}],
                            'ml_filters': [{'id': 'safe_domains', 'state': 'absent'}]})
    assert [stage['stage'] for stage in result['steps']] == ['ml_jobs_absent', 'ml_filters_absent']
    assert es.ok('GET', es.ml_path('filters'))['count'] == 0


@pytest.mark.parametrize('es', ('7.17.28',), indirect=True)
def test_upgrade_mode_refuses_a_calendar_change_unless_turned_off_first(es, run):
    es.ok('POST', es.ml_path('set_upgrade_mode'), params={'enabled': 'true'})
    es.clear_requests()
    failed, refused = run({'document': DOCUMENT, 'fail_on_error': False})
    assert not failed and es.mutating_requests() == []
    assert 'ML upgrade mode is enabled' in refused['msg']
    result = converge(run, dict(DOCUMENT, ml_upgrade_mode=False))
    assert result['steps'][0]['stage'] == 'upgrade_mode_off' and result['changed']


@pytest.mark.parametrize('es', ('8.19.3',), indirect=True)
def test_unmentioned_calendars_and_filters_are_reported(es, run):
    converge(run, DOCUMENT)
    result = converge(run, {'unmentioned': {'ml_calendars': 'report', 'ml_filters': 'report'}})
    assert result['report']['unmanaged'] == [
        {'kind': 'ml_filters', 'id': 'safe_domains', 'state': 'present', 'policy': 'report'},
        {'kind': 'ml_calendars', 'id': 'planned-outages', 'state': 'present', 'policy': 'report'}]
    assert not result['changed']


@pytest.mark.parametrize('es', [dict(version='8.19.3', security=True)], indirect=True)
def test_the_privilege_check_asks_for_the_planned_calendar_requests(es, run):
    # monitor_ml reads calendars and events but may not create one: refused before any change, naming the actions
    document = {'ml_calendars': DOCUMENT['ml_calendars']}
    failed, result = run(es.params(document=document, username='ml_viewer', password='changeme'))
    assert failed and es.mutating_requests() == []
    errors = result['report']['errors']
    assert [error['kind'] for error in errors] == ['privileges']
    assert 'cluster:admin/xpack/ml/calendars/put' in errors[0]['msg']
    assert 'cluster:admin/xpack/ml/calendars/events/post' in errors[0]['msg']
    # reading filters is a manage_ml action (GetFiltersAction): a read error, never a plan without them
    failed, result = run(es.params(document={'ml_filters': DOCUMENT['ml_filters']}, username='ml_viewer',
                                   password='changeme'))
    assert failed and [error['kind'] for error in result['report']['errors']] == ['read']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', ('6.8.23',), indirect=True)
def test_a_delete_whose_backup_was_not_written_is_refused_and_a_filter_backup_restores_it(es, run):
    converge(run, DOCUMENT)
    absent = {'ml_filters': [{'id': 'safe_domains', 'state': 'absent'}], 'ml_calendars': [{'id': 'planned-outages', 'state': 'absent'}]}
    es.clear_requests()
    # the action plugin wrote only the filter's backup: the calendar (selected after it) is not deleted
    failed, result = run({'document': absent, 'backed_up': {'ml_filters': ['safe_domains']}, 'fail_on_error': False})
    assert not failed and es.mutating_requests() == []
    assert result['report']['errors'][0]['msg'].startswith('planned-outages would be deleted without a backup')
    failed, first = run({'document': absent, 'backup': True})
    assert not failed and sorted(item['kind'] for item in first['backups']) == ['ml_calendars', 'ml_filters']
    fragments = dict((item['kind'], item['record']) for item in first['backups'])
    assert fragments['ml_filters'] == {'ml_filters': [{'id': 'safe_domains', 'state': 'present', 'description': 'Domains we trust',
                                                       'items': ['*.example.org', 'example.com']}]}
    applied = converge(run, absent, diff=True)
    assert [stage['stage'] for stage in applied['steps']] == ['ml_calendars_absent', 'ml_filters_absent']
    assert applied['diff']['before']['ml_calendars/planned-outages'] == 'present'
    assert 'ml_calendars/planned-outages' not in applied['diff']['after']
    assert es.ok('GET', es.ml_path('calendars'))['count'] == 0
    # converging the backups brings both back as they were: a no-op against the first document after
    converge(run, dict(fragments['ml_filters'], **fragments['ml_calendars']))
    es.clear_requests()
    assert not converge(run, DOCUMENT)['changed'] and es.mutating_requests() == []
