# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declared ML job configurations against live ones: what differs, what Elasticsearch updates in place (per
version, analysis_limits only while closed), what needs a replace, and the _update body."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._ml_definitions import (
    datafeed_changes, datafeed_update_body, declared_job_config, job_changes, job_update_body, replace_fields)

CURRENT = {
    'job_id': 'web', 'job_type': 'anomaly_detector', 'job_version': '8.19.3', 'create_time': 1700000000000,
    'model_snapshot_id': '1700000000', 'established_model_memory': 1234, 'finished_time': 1700000001000,
    'description': 'web', 'groups': ['b', 'a'], 'custom_settings': {'owner': 'sre', 'created_by': 'ml-module'},
    'analysis_config': {'bucket_span': '15m', 'detectors': [
        {'function': 'count', 'detector_description': 'count', 'detector_index': 0},
        {'function': 'mean', 'field_name': 'bytes', 'detector_index': 1}], 'influencers': []},
    'analysis_limits': {'model_memory_limit': '1024mb', 'categorization_examples_limit': 4},
    'data_description': {'time_field': 'timestamp', 'time_format': 'epoch_ms'},
    'model_plot_config': {'enabled': False, 'annotations_enabled': False},
    'model_snapshot_retention_days': 10, 'daily_model_snapshot_retention_after_days': 1,
    'results_index_name': 'shared',
}


def paths(changes):
    return dict((item['path'], item['change']) for item in changes)


def test_server_set_fields_and_left_out_keys_never_count():
    desired = dict(declared_job_config(CURRENT), job_id='web', create_time=1, job_version='6.8.0', model_snapshot_id='x',
                   established_model_memory=1, finished_time=2)
    assert job_changes(CURRENT, desired, (8, 19, 3), closed=False) == []
    # ES's defaults are not compared, nor group order; the memory limit in another unit is the same
    desired = {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}, {'function': 'mean'}]},
               'groups': ['a', 'b'], 'analysis_limits': {'model_memory_limit': '1gb'}}
    assert job_changes(CURRENT, desired, (8, 19, 3), closed=False) == []


def test_updatable_fields_are_updates():
    desired = {'description': 'web traffic', 'groups': ['a'], 'custom_settings': {'owner': 'dba'},
               'model_plot_config': {'enabled': True}, 'results_retention_days': 30,
               'model_snapshot_retention_days': 5, 'renormalization_window_days': 3, 'background_persist_interval': '2h',
               'analysis_config': {'detectors': [{'detector_description': 'all requests',
                                                  'custom_rules': [{'actions': ['skip_result']}]}, {}]}}
    changes = job_changes(CURRENT, desired, (6, 8, 23), closed=False)
    assert replace_fields(changes) == []
    assert set(paths(changes)) == {
        'description', 'groups', 'custom_settings.owner', 'model_plot_config.enabled', 'results_retention_days',
        'model_snapshot_retention_days', 'renormalization_window_days', 'background_persist_interval',
        'analysis_config.detectors[0].detector_description', 'analysis_config.detectors[0].custom_rules'}
    body = job_update_body(CURRENT, desired, changes)
    assert body['detectors'] == [{'detector_index': 0, 'description': 'all requests',
                                  'custom_rules': [{'actions': ['skip_result']}]}]
    # objects ES replaces whole keep the keys the document leaves out
    assert body['custom_settings'] == {'owner': 'dba', 'created_by': 'ml-module'}
    assert body['model_plot_config'] == {'enabled': True, 'annotations_enabled': False}
    assert body['groups'] == ['a'] and body['description'] == 'web traffic'
    assert 'analysis_config' not in body


@pytest.mark.parametrize('closed, change', [(True, 'update'), (False, 'replace')])
def test_model_memory_limit_only_while_closed(closed, change):
    desired = {'analysis_limits': {'model_memory_limit': '2gb'}}
    [item] = job_changes(CURRENT, desired, (7, 17, 28), closed=closed)
    assert item['path'] == 'analysis_limits.model_memory_limit' and item['change'] == change
    if closed:
        assert job_update_body(CURRENT, desired, [item]) == {
            'analysis_limits': {'model_memory_limit': '2gb', 'categorization_examples_limit': 4}}
    else:
        assert 'only while the job is closed' in item['reason']


@pytest.mark.parametrize('desired, path', [
    ({'analysis_config': {'bucket_span': '30m'}}, 'analysis_config.bucket_span'),
    ({'analysis_config': {'detectors': [{'function': 'sum'}, {}]}}, 'analysis_config.detectors[0].function'),
    ({'analysis_config': {'detectors': [{'function': 'count'}]}}, 'analysis_config.detectors'),
    ({'analysis_config': {'influencers': ['host']}}, 'analysis_config.influencers'),
    ({'data_description': {'time_field': '@timestamp'}}, 'data_description.time_field'),
    ({'analysis_limits': {'categorization_examples_limit': 8}}, 'analysis_limits.categorization_examples_limit'),
    ({'results_index_name': 'mine'}, 'results_index_name'),
])
def test_what_elasticsearch_cannot_update_is_a_replace(desired, path):
    changes = job_changes(CURRENT, desired, (9, 1, 5), closed=True)
    assert paths(changes) == {path: 'replace'}
    assert changes[0]['reason'] == 'Elasticsearch cannot update it'


@pytest.mark.parametrize('version, change', [((7, 7, 1), 'replace'), ((7, 8, 0), 'update')])
def test_a_field_is_updatable_from_its_first_version(version, change):
    changes = job_changes(CURRENT, {'daily_model_snapshot_retention_after_days': 2}, version, closed=True)
    assert paths(changes) == {'daily_model_snapshot_retention_after_days': change}
    if change == 'replace':
        assert changes[0]['reason'] == 'Elasticsearch 7.7 cannot update it (7.8+)'


FEED = {'datafeed_id': 'datafeed-web', 'job_id': 'web', 'indices': ['web-*'], 'query': {'match_all': {'boost': 1.0}},
        'query_delay': '61s', 'scroll_size': 1000, 'chunking_config': {'mode': 'auto'},
        'authorization': {'roles': ['superuser']}, 'indices_options': {'expand_wildcards': ['open']}}


def test_a_datafeed_in_sync_ignores_server_fields_and_defaults():
    desired = {'datafeed_id': 'datafeed-web', 'job_id': 'web', 'indexes': 'web-*', 'authorization': {'roles': []}}
    assert datafeed_changes(FEED, desired, (8, 19, 3)) == []


@pytest.mark.parametrize('stored', [['web-*,logs-*'], ['web-*', 'logs-*']])
def test_a_comma_string_of_indices_is_in_sync_as_elasticsearch_stores_it(stored):
    # PUT {"indices": "web-*,logs-*"} reads back as ["web-*,logs-*"] (a single value of a string array)
    assert datafeed_changes(dict(FEED, indices=stored), {'job_id': 'web', 'indices': 'web-*,logs-*'}, (8, 19, 3)) == []
    assert paths(datafeed_changes(dict(FEED, indices=['web-*']), {'job_id': 'web', 'indices': 'web-*,logs-*'},
                                  (8, 19, 3))) == {'indices': 'update'}


def test_datafeed_fields_are_updates_and_job_id_a_replace():
    desired = {'job_id': 'web', 'query': {'term': {'status': 500}}, 'frequency': '150s', 'aggs': {'a': {}},
               'chunking_config': {'time_span': '1h'}}
    changes = datafeed_changes(FEED, desired, (6, 8, 23))
    assert paths(changes) == {'query': 'update', 'frequency': 'update', 'aggregations': 'update',
                              'chunking_config.time_span': 'update'}
    assert datafeed_update_body(FEED, desired, changes) == {
        'query': {'term': {'status': 500}}, 'frequency': '150s', 'aggregations': {'a': {}},
        'chunking_config': {'mode': 'auto', 'time_span': '1h'}}
    assert paths(datafeed_changes(FEED, {'job_id': 'other'}, (8, 19, 3))) == {'job_id': 'replace'}


@pytest.mark.parametrize('version, change', [((7, 10, 2), 'replace'), ((7, 11, 0), 'update')])
def test_runtime_mappings_are_updatable_from_7_11(version, change):
    changes = datafeed_changes(FEED, {'runtime_mappings': {'f': {'type': 'keyword'}}}, version)
    assert paths(changes) == {'runtime_mappings': change}


def test_a_query_compares_whole():
    current = dict(FEED, query={'bool': {'filter': [{'term': {'a': 1}}], 'must_not': [{'term': {'b': 2}}]}})
    desired = {'job_id': 'web', 'query': {'bool': {'filter': [{'term': {'a': 1}}]}}}
    [item] = datafeed_changes(current, desired, (8, 19, 3))
    assert (item['path'], item['change']) == ('query', 'update')
    assert datafeed_update_body(current, desired, [item]) == {'query': {'bool': {'filter': [{'term': {'a': 1}}]}}}
    assert datafeed_changes(current, {'query': current['query']}, (8, 19, 3)) == []
