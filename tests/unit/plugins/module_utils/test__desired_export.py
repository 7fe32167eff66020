# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure export (_desired_export.export_document) on plain GET answers of each version: server-set fields left
out by the one list the comparer uses, states in motion exported as the state they move to, jobs being deleted
skipped, and the plan of the export against the same snapshot: no step, no drift."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._converge_plan import plan
from ansible_collections.esops.jobs.plugins.module_utils._desired_export import (
    add_section, export_document, sorted_value)

# GET anomaly_detectors entries as each version writes them (es-behaviour.md, jobs_crud.yml)
JOB_6_8 = {
    'job_id': 'web', 'job_type': 'anomaly_detector', 'job_version': '6.8.23', 'create_time': 1, 'groups': ['web'],
    'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count', 'detector_index': 0,
                                                             'detector_description': 'count'}]},
    'analysis_limits': {'model_memory_limit': '1024mb', 'categorization_examples_limit': 4},
    'data_description': {'time_field': 'timestamp', 'time_format': 'epoch_ms'},
    'model_snapshot_retention_days': 1, 'results_index_name': 'shared', 'model_snapshot_id': '1577',
    'custom_settings': {'created_by': 'ml-module-apache'}, 'established_model_memory': 12345, 'finished_time': 2,
}
# (a group name is never another job's id: Elasticsearch refuses that)
JOB_7_17 = dict(JOB_6_8, job_id='db', job_version='7.17.28', allow_lazy_open=False, groups=['databases'],
                daily_model_snapshot_retention_after_days=1,
                custom_settings={'created_by': 'wizard', 'team': 'db'},
                datafeed_config={'datafeed_id': 'datafeed-db', 'job_id': 'db', 'indices': ['db']})
JOB_8_DELETING = dict(JOB_6_8, job_id='gone', blocked={'reason': 'delete', 'task_id': 'n:1'}, deleting=True)
FEED = {'datafeed_id': 'datafeed-db', 'job_id': 'db', 'indices': ['db'], 'query': {'match_all': {'boost': 1.0}},
        'query_delay': '93s', 'scroll_size': 1000, 'chunking_config': {'mode': 'auto'},
        'aggregations': {'b': {'date_histogram': {'field': 'timestamp', 'fixed_interval': '1h'}}},
        'authorization': {'roles': ['superuser']}, 'delayed_data_check_config': {'enabled': True}}
ROLLUP = {'id': 'sensor', 'index_pattern': 'sensor-*', 'rollup_index': 'sensor_rollup', 'cron': '0 0 * * * ?',
          'page_size': 1000, 'timeout': '20s',
          'groups': {'date_histogram': {'field': 'timestamp', 'fixed_interval': '1h', 'time_zone': 'UTC'},
                     'histogram': {'fields': ['temperature'], 'interval': 5}},
          'metrics': [{'field': 'temperature', 'metrics': ['min', 'max']}]}


def snapshot(version='7.17.28', jobs=None, feeds=None, rollups=None):
    return {'ml_jobs': jobs or {}, 'datafeeds': feeds or {}, 'rollup_jobs': rollups or {}, 'version': version}


def plan_snapshot(read, version):
    """The planner's snapshot of the same cluster (_desired_state.read_snapshot's shape)."""
    return {'version': version, 'upgrade_mode': False,
            'ml_jobs': dict((job_id, dict(state=facts['state'], groups=facts['config'].get('groups') or [],
                                          assigned=facts['state'] == 'opened', assignment_explanation=None,
                                          config=facts['config'])) for job_id, facts in read['ml_jobs'].items()),
            'datafeeds': dict((df_id, dict(state=facts['state'], job_id=facts['config']['job_id'], config=facts['config']))
                              for df_id, facts in read['datafeeds'].items()),
            'rollup_jobs': copy.deepcopy(read['rollup_jobs'])}


@pytest.mark.parametrize('version,job', [('6.8.23', JOB_6_8), ('7.17.28', JOB_7_17), ('8.19.3', JOB_7_17)])
def test_a_job_exports_without_what_elasticsearch_sets(version, job):
    document, warnings = export_document(snapshot(version, jobs={job['job_id']: dict(state='opened', config=job)}))
    assert warnings == []
    config = document['ml_jobs'][0]['config']
    for field in ('job_id', 'job_type', 'job_version', 'create_time', 'finished_time', 'model_snapshot_id',
                  'established_model_memory', 'datafeed_config'):
        assert field not in config, field
    # created_by is set by another stack process (elastic/elasticsearch#63899); an emptied custom_settings goes too
    assert config.get('custom_settings') == ({'team': 'db'} if job is JOB_7_17 else None)
    assert config['analysis_limits'] == {'categorization_examples_limit': 4, 'model_memory_limit': '1024mb'}
    assert list(config) == sorted(config)


def test_a_datafeed_keeps_its_job_and_loses_its_credentials():
    document, _warnings = export_document(snapshot(feeds={'datafeed-db': dict(state='started', config=FEED)}))
    entry = document['datafeeds'][0]
    assert entry['id'] == 'datafeed-db' and entry['state'] == 'started'
    assert entry['config']['job_id'] == 'db'
    assert not set(entry['config']) & {'datafeed_id', 'authorization', 'headers', 'aggs'}
    assert entry['config']['aggregations'] == FEED['aggregations']


def test_a_rollup_job_exports_without_its_id():
    document, _warnings = export_document(snapshot(rollups={'sensor': dict(state='indexing', config=ROLLUP)}))
    assert document['rollup_jobs'] == [{'id': 'sensor', 'state': 'started',
                                        'config': sorted_value(dict((k, v) for k, v in ROLLUP.items() if k != 'id'))}]


@pytest.mark.parametrize('kind,state,exported,warned', [
    ('ml_jobs', 'opening', 'opened', True), ('ml_jobs', 'closing', 'closed', True), ('ml_jobs', 'failed', 'opened', True),
    ('ml_jobs', 'closed', 'closed', False), ('datafeeds', 'starting', 'started', True),
    ('datafeeds', 'stopping', 'stopped', True), ('rollup_jobs', 'stopping', 'stopped', True),
    ('rollup_jobs', 'indexing', 'started', False), ('rollup_jobs', 'aborting', None, True),
    ('ml_jobs', 'strange', None, True), ('datafeeds', None, None, True)])
def test_states_in_motion(kind, state, exported, warned):
    config = {'ml_jobs': JOB_6_8, 'datafeeds': FEED, 'rollup_jobs': ROLLUP}[kind]
    document, warnings = export_document(snapshot(**{{'ml_jobs': 'jobs', 'datafeeds': 'feeds', 'rollup_jobs': 'rollups'}[kind]:
                                                     {'x': dict(state=state, config=config)}}))
    assert [entry['state'] for entry in document[kind]] == ([exported] if exported else [])
    assert bool(warnings) is warned
    assert all(line.startswith('%s x ' % kind) or line.startswith('%s x:' % kind) for line in warnings)


def test_a_job_without_stats_is_being_deleted():
    # exclude_generated hides deleting; job stats leave the job out (elastic/elasticsearch#34645)
    config = dict((key, value) for key, value in JOB_8_DELETING.items() if key not in ('deleting', 'blocked'))
    document, warnings = export_document(snapshot(jobs={'gone': dict(state=None, config=config)}))
    assert document['ml_jobs'] == [] and warnings == ['ml_jobs gone is being deleted; skipped']


def test_a_job_being_deleted_is_skipped_with_its_datafeed():
    feed = dict(FEED, job_id='gone')
    document, warnings = export_document(snapshot('8.19.3', jobs={'gone': dict(state='closed', config=JOB_8_DELETING)},
                                                  feeds={'datafeed-gone': dict(state='stopped', config=feed)}))
    assert document['ml_jobs'] == [] and document['datafeeds'] == []
    assert warnings == ['ml_jobs gone is being deleted; skipped', 'datafeeds datafeed-gone: its job gone is being deleted; skipped']


def test_only_the_kinds_asked_and_their_policy():
    document, _warnings = export_document(snapshot(), kinds=('datafeeds',))
    assert list(document) == ['datafeeds', 'unmentioned'] and document['unmentioned'] == {'datafeeds': 'report'}


def test_a_section_is_added_in_one_call_before_the_policy():
    document, _warnings = export_document(snapshot(), kinds=('ml_jobs', 'datafeeds', 'rollup_jobs'))
    add_section(document, 'ml_calendars', [{'id': 'outages'}], unmentioned='report')
    assert list(document) == ['ml_jobs', 'datafeeds', 'rollup_jobs', 'ml_calendars', 'unmentioned']
    assert document['unmentioned']['ml_calendars'] == 'report'


def test_sorted_value_sorts_mappings_and_keeps_lists():
    value = sorted_value({'b': [{'z': 1, 'a': 2}, 3], 'a': {'d': 1, 'c': 2}})
    assert list(value) == ['a', 'b'] and list(value['a']) == ['c', 'd'] and list(value['b'][0]) == ['a', 'z']


@pytest.mark.parametrize('version', ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5'])
def test_the_plan_of_an_export_against_the_same_cluster_is_empty(version):
    read = snapshot(version, jobs={'web': dict(state='opened', config=JOB_6_8),
                                   'db': dict(state='closed', config=JOB_7_17)},
                    feeds={'datafeed-db': dict(state='stopped', config=FEED)},
                    rollups={'sensor': dict(state='started', config=ROLLUP)})
    document, _warnings = export_document(read)
    the_plan = plan(plan_snapshot(read, version), document)
    assert the_plan['errors'] == [] and the_plan['steps'] == [] and the_plan['drift'] == 0
    assert the_plan['unmanaged'] == []
