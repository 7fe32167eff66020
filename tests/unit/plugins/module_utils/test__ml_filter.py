# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MlFilterApi (and the calendar create race) against the in-process emulator, on the three ML path eras."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._errors import AlreadyExists
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
