# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of _ml_calendar: event times, the plan and its prediction (what a calendar planner builds on)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._convergence import PlanError
from ansible_collections.esops.jobs.plugins.module_utils._errors import NotFound, classify
from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._ml_calendar import (
    event_time, iso, operations, plan_calendar, predict)

T0 = 1769896800000   # 2026-01-31T22:00:00Z


@pytest.mark.parametrize('value, millis', [
    ('2026-01-31T22:00:00Z', T0), ('2026-01-31T23:00:00+01:00', T0), ('2026-01-31T21:00:00-0100', T0),
    ('2026-01-31T22:00:00.250Z', T0 + 250), ('2026-01-31T22:00', T0), ('2026-02-01', T0 + 2 * 3600 * 1000),
    (T0, T0), (str(T0), T0),
])
def test_event_time(value, millis):
    assert event_time(value, 'x') == millis


def test_iso_round_trip():
    assert iso(T0) == '2026-01-31T22:00:00Z' and iso(T0 + 5) == '2026-01-31T22:00:00.005Z'


def event(description, start, end, event_id=None):
    out = {'description': description, 'start_time': start, 'end_time': end}
    if event_id:
        out['event_id'] = event_id
    return out


def desired(**kwargs):
    out = {'calendar_id': 'c', 'state': 'present', 'description': None, 'job_ids': None, 'events': None,
           'events_mode': 'add'}
    out.update(kwargs)
    return out


def test_plan_create_and_delete():
    steps = plan_calendar(None, desired(description='d', job_ids=['a'], events=[event('e', 1, 2)]))
    assert steps == [('create', {'description': 'd', 'job_ids': ['a']}), ('add_events', [event('e', 1, 2)])]
    assert operations(steps) == ['put_calendar', 'post_calendar_events']
    assert plan_calendar(None, desired(state='absent')) == []
    assert plan_calendar({'job_ids': [], 'events': []}, desired(state='absent')) == [('delete', None)]


def test_plan_matches_events_by_description_start_and_end():
    current = {'description': 'd', 'job_ids': ['a', 'b'],
               'events': [event('e', 1, 5, 'id1'), event('e', 1, 5, 'id2'), event('f', 1, 5, 'id3')]}
    # One declared event matches one of two identical ones; exact removes the other and the undeclared one.
    steps = plan_calendar(current, desired(events=[event('e', 1, 5)], events_mode='exact'))
    assert steps == [('remove_events', [event('e', 1, 5, 'id2'), event('f', 1, 5, 'id3')])]
    after = predict(current, steps)
    assert after['events'] == [event('e', 1, 5, 'id1')]
    # Ending an event early: the new one is added, the old one removed.
    steps = plan_calendar(current, desired(events=[event('e', 1, 3)], events_mode='exact', job_ids=['b', 'c']))
    assert [action for action, _payload in steps] == ['add_jobs', 'remove_jobs', 'add_events', 'remove_events']
    assert steps[0] == ('add_jobs', ['c']) and steps[1] == ('remove_jobs', ['a'])
    assert predict(current, steps)['events'] == [event('e', 1, 3)]
    assert plan_calendar(current, desired(description='d', job_ids=['a', 'b'], events=[event('f', 1, 5)])) == []


def test_plan_refuses_a_description_change():
    with pytest.raises(PlanError) as info:
        plan_calendar({'description': 'old', 'job_ids': [], 'events': []}, desired(description='new'))
    assert 'cannot change the description' in info.value.message


def test_calendar_and_event_404_are_not_found():
    for reason in ('No calendar with id [x]', 'No event with id [y]'):
        error = classify(ElasticsearchError('GET x failed: HTTP 404 resource_not_found_exception: ' + reason, status=404,
                                            error_type='resource_not_found_exception', reason=reason))
        assert isinstance(error, NotFound)
