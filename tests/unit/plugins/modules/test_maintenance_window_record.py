# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.maintenance_window_record: the state file read, check mode told, refusals as one line, a plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.esops.jobs.plugins.modules import maintenance_window_record

CLUSTER = {'uuid': 'u1', 'name': 'prod'}


def test_read_tells_check_mode_and_reads_the_record(run_module, tmp_path):
    state = tmp_path / 'window.json'
    record = dict(esops_maintenance_window=2, phase='entered', cluster=CLUSTER, ml=True, rollups_started=['r1'])
    state.write_text(json.dumps(record))
    failed, result = run_module(maintenance_window_record.main,
                                dict(step='read', action='exit', state_file=str(state)), check_mode=True)
    assert not failed and result['changed'] is False and result['check_mode'] is True
    assert result['record'] == record and result['new'] is False and result['rollups_needed'] is True
    failed, result = run_module(maintenance_window_record.main,
                                dict(step='read', action='enter', state_file=str(tmp_path / 'none.json'),
                                     ml_mode='close_jobs', ml_job_ids='web-*, db'))
    assert not failed and result['check_mode'] is False and result['new'] is True
    assert result['ml_read'] == ['web-*', 'db']


def test_refusals_are_one_line_failures(run_module, tmp_path):
    missing = str(tmp_path / 'none.json')
    failed, result = run_module(maintenance_window_record.main, dict(step='read', action='exit', state_file=missing))
    assert failed and result['msg'].startswith('No maintenance window state file at %s:' % missing)
    assert '\n' not in result['msg']
    bad = tmp_path / 'bad.json'
    bad.write_bytes(b'\xff\xfe')
    failed, result = run_module(maintenance_window_record.main, dict(step='read', action='enter', state_file=str(bad)))
    assert failed and result['msg'].startswith('%s is not an esops maintenance window state file' % bad)
    other = {'uuid': 'u2', 'name': 'test'}
    failed, result = run_module(maintenance_window_record.main, dict(
        step='plan', action='exit', state_file='/s.json', ml=False,
        record=dict(esops_maintenance_window=2, phase='entered', cluster=CLUSTER),
        ml_info={'skipped': True}, rollup_info={'cluster': other, 'jobs': []}))
    assert failed and result['cluster'] == other and 'refusing to exit it' in result['msg']


def test_plan_stamps_a_new_record_with_the_time_in_utc(run_module):
    failed, result = run_module(maintenance_window_record.main, dict(
        step='plan', action='enter', state_file='/s.json', new=True, ml_mode='calendar',
        ml_info={'cluster': CLUSTER, 'upgrade_mode': False, 'jobs': [{'job_id': 'a', 'state': 'opened'}]},
        rollup_info={'cluster': CLUSTER, 'jobs': []}))
    assert not failed and result['outcome'] == 'entered'
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', result['record']['entered_at'])
    assert result['record']['calendar']['job_ids'] == ['a']
    assert result['calendar_events'] == [result['record']['calendar']['event']]
