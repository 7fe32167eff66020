# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MlFilterApi (and the calendar create race) against the in-process emulator, on the three ML path eras."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._errors import AlreadyExists
from ansible_collections.esops.jobs.plugins.module_utils import _ml
from ansible_collections.esops.jobs.plugins.module_utils._ml_calendar import MlCalendarApi
from ansible_collections.esops.jobs.plugins.module_utils._ml_filter import MlFilterApi

VERSIONS = ('6.8.23', '7.17.28', '9.1.5')


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_filter_lifecycle(es):
    api = MlFilterApi(es.client())
    assert api.filter('safe-hosts') is None
    api.put_filter('safe-hosts', ['b.example', 'a.example'], description='known hosts')
    assert api.filter('safe-hosts') == {'filter_id': 'safe-hosts', 'description': 'known hosts',
                                        'items': ['a.example', 'b.example']}
    with pytest.raises(AlreadyExists):
        api.put_filter('safe-hosts', [])
    api.update_filter('safe-hosts', add_items=['c.example'], remove_items=['a.example'], description='hosts')
    assert api.filter('safe-hosts')['items'] == ['b.example', 'c.example']
    api.delete_filter('safe-hosts')
    assert api.filter('safe-hosts') is None
    base = '/_xpack/ml' if es.version.startswith('6.') else '/_ml'
    assert {r['path'] for r in es.mutating_requests()} == {
        base + '/filters/safe-hosts', base + '/filters/safe-hosts/_update'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_calendar_created_twice_is_already_exists(es):
    api = MlCalendarApi(es.client())
    api.put_calendar('c', None, [])
    with pytest.raises(AlreadyExists):
        api.put_calendar('c', None, [])


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_every_filter_calendar_and_event_is_read_page_by_page(es, monkeypatch):
    # 6.8's GET filters counts only the page: a full page must still ask for the next one
    monkeypatch.setattr(_ml, 'LIST_PAGE_SIZE', 2)
    filters = MlFilterApi(es.client())
    calendars = MlCalendarApi(es.client())
    for name in ('f1', 'f2', 'f3', 'f4', 'f5'):
        filters.put_filter(name, [name])
        calendars.put_calendar('c-' + name, None, [])
        calendars.post_events('c-' + name, [{'description': name, 'start_time': 1000, 'end_time': 2000}])
    assert sorted(item['filter_id'] for item in filters.all_filters()) == ['f1', 'f2', 'f3', 'f4', 'f5']
    assert len(calendars.all_calendars()) == 5
    assert sorted(event['calendar_id'] for event in calendars.all_events()) == ['c-f1', 'c-f2', 'c-f3', 'c-f4', 'c-f5']
