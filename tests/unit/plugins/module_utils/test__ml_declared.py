# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declared calendars and filters on plain dicts: the document checks (one line each), their plan inside the converge
plan (stages, steps, refusals, upgrade mode, a filter a job still uses), the reads they add, and the export of a
cluster that plans as a no-op against itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._converge_plan import (
    DocumentError, declared_kinds_to_read, kinds_to_read, ml_entries_asked_one_by_one, normalize, plan)
from ansible_collections.esops.jobs.plugins.module_utils._ml_declared import (
    calendar_snapshot, describe_failure, export_calendars_and_filters, filter_snapshot, referenced_filters)

PATCH = {'description': 'Patch night', 'start_time': '2026-12-05T22:00:00Z', 'end_time': '2026-12-06T02:00:00Z'}
PATCH_MS = (1796508000000, 1796522400000)


def snap(version='8.19.3', upgrade_mode=False, calendars=None, filters=None, jobs=None):
    out = {'version': version, 'upgrade_mode': upgrade_mode}
    if calendars is not None:
        out['ml_calendars'] = calendars
    if filters is not None:
        out['ml_filters'] = filters
    if jobs is not None:
        out['ml_jobs'] = dict((job_id, dict(state='closed', groups=[], config=config)) for job_id, config in jobs.items())
    return out


def event(description, start, end, event_id=None):
    return {'description': description, 'start_time': start, 'end_time': end, 'event_id': event_id}


def rows(result):
    return dict(('%s/%s' % (row['kind'], row['id']), row) for row in result['objects'])


def rule_job(filter_id):
    return {'analysis_config': {'detectors': [{'function': 'count', 'custom_rules': [
        {'actions': ['skip_result'], 'scope': {'domain': {'filter_id': filter_id}}}]}]}}


@pytest.mark.parametrize('document, text', [
    ({'ml_filters': [{'id': 'safe*'}]}, "ml_filters[0].id: 'safe*' is a pattern or a list; give one exact id"),
    ({'ml_calendars': [{'id': '_all'}]}, "ml_calendars[0].id: '_all' is a pattern"),
    ({'ml_calendars': [{'id': 'a,b'}]}, 'is a pattern or a list'),
    ({'ml_filters': [{'id': 7}]}, 'ml_filters[0].id: 7 is not text'),
    ({'ml_filters': [{'id': 'A'}]}, 'ids are lowercase'),
    ({'ml_filters': [{'id': 'a'}, {'id': 'a', 'state': 'absent'}]}, 'ml_filters: a is listed in more than one entry'),
    ({'ml_filters': [{'id': 'a', 'item': ['x']}]}, 'ml_filters[0]: unknown key(s) item'),
    ({'ml_filters': [{'id': 'a', 'items': 'x'}]}, 'ml_filters[0].items: must be a list of non-empty strings'),
    ({'ml_filters': [{'id': 'a', 'state': 'absent', 'items': []}]}, 'ml_filters[0]: state absent deletes the ML filter; leave out items'),
    ({'ml_calendars': [{'id': 'c', 'state': 'gone'}]}, "ml_calendars[0].state: 'gone' is not one of present, absent"),
    ({'ml_calendars': [{'id': 'c', 'events_mode': 'replace'}]}, "ml_calendars[0].events_mode: 'replace' is not one of add, exact"),
    ({'ml_calendars': [{'id': 'c', 'recreate': 'yes'}]}, 'ml_calendars[0].recreate'),
    ({'ml_calendars': [{'id': 'c', 'job_ids': ['web-*']}]}, "ml_calendars[0].job_ids: 'web-*' is a pattern"),
    ({'ml_calendars': [{'id': 'c', 'events': [dict(PATCH, end_time='2026-12-05T21:00:00Z')]}]},
     'ml_calendars[0].events[0]: end_time 2026-12-05T21:00:00Z must come after start_time 2026-12-05T22:00:00Z'),
    ({'ml_calendars': [{'id': 'c', 'events': [{'description': 'x', 'start_time': '2026-12-05T22:00:00Z', 'duration': '8d'}]}]},
     'ml_calendars[0].events[0].duration'),
    ({'ml_calendars': [{'id': 'c', 'events': [{'start_time': '2026-12-05T22:00:00Z', 'duration': '1h'}]}]},
     'ml_calendars[0].events[0].description: every event needs a description'),
    ({'ml_calendars': [{'id': 'c', 'events': [PATCH]}], 'unmentioned': {'ml_calendars': 'absent'}},
     "unmentioned.ml_calendars: 'absent' is not one of ignore, report"),
])
def test_a_bad_entry_is_one_line(document, text):
    with pytest.raises(DocumentError) as caught:
        normalize(document)
    assert text in caught.value.message and '\n' not in caught.value.message


def test_reads_only_what_is_declared_or_reported():
    assert declared_kinds_to_read(normalize({'ml_jobs': [{'id': 'a', 'state': 'opened'}]})) == []
    assert declared_kinds_to_read(normalize({'ml_filters': [{'id': 'f'}]})) == ['ml_filters']
    assert declared_kinds_to_read(normalize({'unmentioned': {'ml_calendars': 'report'}})) == ['ml_calendars']
    # a filter delete needs every job's configuration (its rules), not the per-entry stats read
    deleting = normalize({'ml_jobs': [{'id': 'a', 'state': 'opened'}], 'ml_filters': [{'id': 'f', 'state': 'absent'}]})
    assert kinds_to_read(deleting) == ['ml_jobs'] and not ml_entries_asked_one_by_one(deleting)


def test_a_new_calendar_and_filter_are_created_in_their_stages():
    document = {'ml_filters': [{'id': 'f', 'description': 'd', 'items': ['b', 'a', 'a']}],
                'ml_calendars': [{'id': 'c', 'job_ids': ['web'], 'events': [PATCH]}]}
    result = plan(snap(calendars={}, filters={}), document)
    assert [stage['stage'] for stage in result['steps']] == ['ml_filters_config', 'ml_calendars_config']
    assert result['steps'][0]['options']['steps'] == [['create', {'items': ['a', 'b'], 'description': 'd'}]]
    calendar = result['steps'][1]['options']['steps']
    assert calendar[0] == ['create', {'description': None, 'job_ids': ['web']}]
    assert calendar[1][0] == 'add_events' and (calendar[1][1][0]['start_time'], calendar[1][1][0]['end_time']) == PATCH_MS
    assert result['operations'] == ['put_filter', 'put_calendar', 'post_calendar_events']
    assert rows(result)['ml_calendars/c']['before'] == 'absent' and rows(result)['ml_calendars/c']['planned'] == 'present'
    assert result['drift'] == 2 and result['needs_upgrade_mode'] is False
    assert result['entries']['ml_calendars'] == [{'selector': 'c', 'state': 'present', 'objects': 0, 'drift': 1,
                                                  'failed': False, 'unmentioned': False}]


def test_exact_events_add_the_new_before_removing_the_old_and_jobs_as_a_set():
    current = {'c': {'description': 'Outages', 'job_ids': ['a', 'b'],
                     'events': [event('Old', 1000, 2000, 'e1'), event('Patch night', PATCH_MS[0], PATCH_MS[1], 'e2')]}}
    new = {'description': 'New', 'start_time': 5000, 'end_time': 6000}
    document = {'ml_calendars': [{'id': 'c', 'job_ids': ['b', 'c'], 'events': [PATCH, new]}]}
    result = plan(snap(calendars=current), document)
    steps = result['steps'][0]['options']['steps']
    assert [step for step, _payload in steps] == ['add_jobs', 'remove_jobs', 'add_events', 'remove_events']
    assert steps[3][1][0]['event_id'] == 'e1'
    changes = dict((item['path'], item) for item in rows(result)['ml_calendars/c']['config_changes'])
    assert changes['job_ids']['current'] == ['a', 'b'] and changes['job_ids']['desired'] == ['b', 'c']
    assert changes['events[New 1970-01-01T00:00:05Z/1970-01-01T00:00:06Z]']['change'] == 'add'
    assert changes['events[Old 1970-01-01T00:00:01Z/1970-01-01T00:00:02Z]']['change'] == 'remove'
    # add mode keeps the others; job_ids left out are not compared
    added = plan(snap(calendars=current), {'ml_calendars': [{'id': 'c', 'events': [new], 'events_mode': 'add'}]})
    assert [step for step, _payload in added['steps'][0]['options']['steps']] == ['add_events']


def test_a_description_difference_is_a_replace_refused_without_recreate():
    current = {'c': {'description': 'Old', 'job_ids': ['a'], 'events': [event('Patch night', PATCH_MS[0], PATCH_MS[1], 'e')]}}
    refused = plan(snap(calendars=current), {'ml_calendars': [{'id': 'c', 'description': 'New'}]})
    assert refused['steps'] == [] and len(refused['errors']) == 1
    assert refused['errors'][0]['msg'].startswith("ML calendar c needs a replace, Elasticsearch cannot change its "
                                                  "description ('Old', declared 'New'); nothing was changed")
    assert rows(refused)['ml_calendars/c']['drift'] is True and refused['drift'] == 1
    replaced = plan(snap(calendars=current), {'ml_calendars': [{'id': 'c', 'description': 'New', 'recreate': True}]})
    assert replaced['errors'] == []
    steps = replaced['steps'][0]['options']['steps']
    # jobs and events the entry does not declare are kept across the replace
    assert steps[:2] == [['delete', None], ['create', {'description': 'New', 'job_ids': ['a']}]]
    assert steps[2][0] == 'add_events' and steps[2][1][0]['description'] == 'Patch night'
    row = rows(replaced)['ml_calendars/c']
    assert row['config'] == 'replace' and row['config_steps'] == ['delete', 'create', 'add_events']
    assert [item['path'] for item in row['config_changes']] == ['description']
    assert replaced['operations'] == ['delete_calendar', 'put_calendar', 'post_calendar_events']


def test_a_filter_update_sends_only_the_difference():
    filters = {'f': {'description': 'd', 'items': ['a', 'b']}}
    result = plan(snap(filters=filters), {'ml_filters': [{'id': 'f', 'description': 'e', 'items': ['b', 'c']}]})
    assert result['steps'][0]['options']['steps'] == [
        ['update', {'add_items': ['c'], 'remove_items': ['a'], 'description': 'e'}]]
    assert result['operations'] == ['update_filter']
    # items left out are not compared
    assert plan(snap(filters=filters), {'ml_filters': [{'id': 'f', 'description': 'd'}]})['steps'] == []


def test_a_filter_a_job_uses_after_the_plan_cannot_be_deleted():
    filters = {'f': {'description': None, 'items': ['a']}}
    document = {'ml_filters': [{'id': 'f', 'state': 'absent'}]}
    refused = plan(snap(filters=filters, jobs={'web': rule_job('f'), 'db': rule_job('g')}), document)
    assert refused['errors'][0]['msg'].startswith('ML filter f cannot be deleted: job(s) web still use it')
    # the plan deletes the job first: the filter goes after it
    freed = plan(snap(filters=filters, jobs={'web': rule_job('f')}),
                 dict(document, ml_jobs=[{'id': 'web', 'state': 'absent'}]))
    assert freed['errors'] == [] and [s['stage'] for s in freed['steps']] == ['ml_jobs_absent', 'ml_filters_absent']
    # the job's declared config drops the rule (an update): freed too
    web = dict(rule_job('f'), job_id='web')
    declared = {'analysis_config': {'detectors': [{'function': 'count', 'custom_rules': []}]}}
    updated = plan(snap(filters=filters, jobs={'web': web}),
                   dict(document, ml_jobs=[{'id': 'web', 'state': 'closed', 'config': declared}]))
    assert not [e for e in updated['errors'] if e['kind'] == 'ml_filters']
    # jobs not read: fail closed
    assert 'cannot be told' in plan(snap(filters=filters), document)['errors'][0]['msg']
    assert referenced_filters(rule_job('f')) == ['f']


@pytest.mark.parametrize('version, refused', [('7.7.1', False), ('7.8.0', True), ('9.1.5', True)])
def test_upgrade_mode_refuses_calendar_and_filter_changes_from_7_8(version, refused):
    document = {'ml_filters': [{'id': 'f', 'items': ['a']}]}
    result = plan(snap(version=version, upgrade_mode=True, filters={}), document)
    assert bool(result['errors']) == refused
    if refused:
        assert result['errors'][0]['msg'].startswith('ML upgrade mode is enabled: Elasticsearch refuses to create ML filter f')
    # turned off first by the same plan: judged as it will be then
    assert plan(snap(version=version, upgrade_mode=True, filters={}), dict(document, ml_upgrade_mode=False))['errors'] == []
    assert plan(snap(version=version, upgrade_mode=None, filters={}), document)['needs_upgrade_mode'] is True


def test_unmentioned_ones_are_reported():
    result = plan(snap(calendars={'x': {'description': None, 'job_ids': [], 'events': []}},
                       filters={'f': {'description': None, 'items': []}, 'g': {'description': None, 'items': []}}),
                  {'ml_filters': [{'id': 'f'}], 'unmentioned': {'ml_filters': 'report', 'ml_calendars': 'report'}})
    assert result['unmanaged'] == [{'kind': 'ml_filters', 'id': 'g', 'state': 'present', 'policy': 'report'},
                                   {'kind': 'ml_calendars', 'id': 'x', 'state': 'present', 'policy': 'report'}]
    assert result['steps'] == []


def test_an_exported_cluster_plans_as_a_no_op_against_itself():
    calendars = [{'calendar_id': 'outages', 'job_ids': ['web', 'db'], 'description': 'Planned'},
                 {'calendar_id': 'bare', 'job_ids': []}]
    events = {'outages': [{'description': 'Patch night', 'start_time': PATCH_MS[0], 'end_time': PATCH_MS[1],
                           'event_id': 'e1', 'calendar_id': 'outages', 'skip_result': True},
                          {'description': 'Early', 'start_time': 1000, 'end_time': 1500, 'event_id': 'e0'}]}
    filters = [{'filter_id': 'safe', 'description': 'Trusted', 'items': ['b.com', 'a.com']}, {'filter_id': 'empty', 'items': []}]
    exported = export_calendars_and_filters(calendars, events, filters)
    assert list(exported) == ['ml_filters', 'ml_calendars']
    assert exported['ml_filters'][1] == {'id': 'safe', 'state': 'present', 'description': 'Trusted', 'items': ['a.com', 'b.com']}
    outages = exported['ml_calendars'][1]
    assert outages['job_ids'] == ['db', 'web'] and outages['events_mode'] == 'exact'
    assert outages['events'][1] == {'description': 'Patch night', 'start_time': '2026-12-05T22:00:00Z',
                                    'end_time': '2026-12-06T02:00:00Z'}
    all_events = [dict(item, calendar_id=calendar_id) for calendar_id, items in events.items() for item in items]
    cluster = snap(calendars=calendar_snapshot(calendars, all_events), filters=filter_snapshot(filters))
    result = plan(cluster, dict(exported, unmentioned={'ml_filters': 'report', 'ml_calendars': 'report'}))
    assert result['errors'] == [] and result['steps'] == [] and result['drift'] == 0 and result['unmanaged'] == []


def test_a_replace_stopped_after_its_delete_says_what_a_new_run_does():
    stage = {'kind': 'ml_calendars', 'ids': ['c'], 'options': {'config_action': 'replace'}}
    text = describe_failure(stage, ['delete'], Exception('boom'))
    assert 'run again to create it from the document' in text and 'in the backup written before the delete' in text
    assert 'run again to finish' not in text
    update = {'kind': 'ml_calendars', 'ids': ['c'], 'options': {'config_action': 'update'}}
    assert describe_failure(update, ['add_jobs'], Exception('boom')).endswith('(already done: add_jobs; run again to finish)')
