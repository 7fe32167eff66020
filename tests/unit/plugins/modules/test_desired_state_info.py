# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.desired_state_info on the in-process emulator: the export of a cluster with varied configurations
(custom rules, model plot, an aggregation datafeed, runtime mappings where Elasticsearch has them, rollups with
metrics and a histogram group, a filter a job's rule scope uses, a calendar with events), converged by
esops.jobs.desired_state against the same cluster, is a no-op: no step, no drift, not changed, no mutating request -
on every supported version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import yaml

from ansible_collections.esops.jobs.plugins.modules import desired_state, desired_state_info
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS

SERVER_SET = ('job_id', 'job_type', 'job_version', 'create_time', 'model_snapshot_id', 'datafeed_config', 'deleting',
              'datafeed_id', 'authorization', 'id')

WEB_JOB = {
    'description': 'web latency', 'groups': ['web', 'prod'],
    'analysis_config': {'bucket_span': '15m', 'influencers': ['host'], 'detectors': [{
        'function': 'mean', 'field_name': 'latency', 'partition_field_name': 'host', 'detector_description': 'latency',
        'custom_rules': [{'actions': ['skip_result'], 'conditions': [{'applies_to': 'actual', 'operator': 'lt',
                                                                     'value': 10}]},
                         {'actions': ['skip_result'], 'scope': {'host': {'filter_id': 'safe-hosts'}}}]}]},
    'analysis_limits': {'model_memory_limit': '1gb'},     # read back as 1024mb
    'data_description': {'time_field': 'timestamp'},
    'model_plot_config': {'enabled': True},
    'custom_settings': {'created_by': 'ml-module-web', 'team': 'web'},
    'results_index_name': 'web',                           # read back as custom-web
}
AGG_JOB = {
    'analysis_config': {'bucket_span': '1h', 'summary_count_field_name': 'doc_count',
                        'detectors': [{'function': 'max', 'field_name': 'latency'}]},
    'data_description': {'time_field': 'timestamp'},
}
AGGS = {'buckets': {'date_histogram': {'field': 'timestamp', 'interval': '3600s'},
                    'aggregations': {'timestamp': {'max': {'field': 'timestamp'}},
                                     'latency': {'max': {'field': 'latency'}}}}}


def request_lines(es):
    return ['%s?%s' % (item['path'], item.get('query_string') or '') for item in es.requests()]


def major_minor(es):
    return tuple(int(part) for part in es.version.split('.')[:2])


def cluster(es):
    es.ok('PUT', es.ml_path('filters', 'safe-hosts'), {'description': 'hosts we trust', 'items': ['b-host', 'a-host']})
    es.ok('PUT', es.ml_path('filters', 'no-description'), {'items': []})
    es.ok('PUT', es.ml_path('calendars', 'outages'), {'description': 'planned outages'})
    es.ok('PUT', es.ml_path('calendars', 'outages', 'jobs', 'web-latency,db'))
    es.ok('POST', es.ml_path('calendars', 'outages', 'events'), {'events': [
        {'description': 'patch night', 'start_time': 1796680800000, 'end_time': 1796695200000},
        {'description': 'freeze', 'start_time': 1798761600000, 'end_time': 1799366400000}]})
    es.ok('PUT', es.ml_path('calendars', 'empty'))
    es.put_index('web-1', {'properties': {'timestamp': {'type': 'date'}, 'latency': {'type': 'double'},
                                          'host': {'type': 'keyword'}}})
    es.put_job('web-latency', body=WEB_JOB)
    feed = {'job_id': 'web-latency', 'indices': ['web-1'], 'query_delay': '93s',
            'query': {'bool': {'filter': [{'term': {'host': 'a'}}]}}}
    if major_minor(es) >= (7, 11):
        feed['runtime_mappings'] = {'slow': {'type': 'boolean', 'script': {'source': "emit(doc['latency'].value > 100)"}}}
    es.put_datafeed('datafeed-web-latency', 'web-latency', indices=('web-1',), body=feed)
    es.open_job('web-latency')
    es.start_datafeed('datafeed-web-latency')
    es.put_job('web-agg', body=AGG_JOB)
    es.put_datafeed('datafeed-web-agg', 'web-agg', indices=('web-1',),
                    body={'job_id': 'web-agg', 'indices': ['web-1'], 'aggs': AGGS})
    es.add_job('db', 'closed')
    es.put_index('logs-1', {'properties': {'timestamp': {'type': 'date'}, 'message': {'type': 'text'}}})
    categorization = {'description': 'log categories', 'results_retention_days': 30, 'background_persist_interval': '2h',
                      'analysis_config': {'bucket_span': '30m', 'categorization_field_name': 'message',
                                          'detectors': [{'function': 'count', 'by_field_name': 'mlcategory'}]},
                      'analysis_limits': {'model_memory_limit': '64mb', 'categorization_examples_limit': 2},
                      'data_description': {'time_field': 'timestamp', 'time_format': 'epoch'}}
    es.put_job('logs', body=categorization)
    logs_feed = {'job_id': 'logs', 'indices': ['logs-1'], 'frequency': '150s', 'scroll_size': 500,
                 'script_fields': {'len': {'script': {'source': "doc['message'].size()"}}},
                 'chunking_config': {'mode': 'manual', 'time_span': '3h'},
                 'delayed_data_check_config': {'enabled': True, 'check_window': '2h'}}
    if major_minor(es) >= (7, 5):
        logs_feed['max_empty_searches'] = 10
    if major_minor(es) >= (7, 7):
        logs_feed['indices_options'] = {'ignore_unavailable': True, 'expand_wildcards': ['open', 'hidden']} \
            if major_minor(es) >= (7, 7) else {'ignore_unavailable': True}
    es.put_datafeed('datafeed-logs', 'logs', indices=('logs-1',), body=logs_feed)
    es.add_rollup_job('sensor-hourly', 'started')
    es.add_rollup_job('sensor-histogram', 'stopped', rollup_index='sensor_rollup_histogram', groups={
        'date_histogram': {'field': 'timestamp', es._interval_key(): '1h'},
        'histogram': {'fields': ['temperature'], 'interval': 5}},
        metrics=[{'field': 'temperature', 'metrics': ['min', 'max', 'avg']}])
    es.clear_requests()
    return es


@pytest.fixture
def export(run_module):
    return lambda args=None, check_mode=False: run_module(desired_state_info.main, args or {}, check_mode=check_mode)


@pytest.fixture
def converge(run_module):
    return lambda document, check_mode=False: run_module(desired_state.main, {'document': document},
                                                         check_mode=check_mode)


def test_documented_options_match_the_argspec():
    doc = yaml.safe_load(desired_state_info.DOCUMENTATION)
    spec = desired_state_info.argument_spec()
    for name in ('kinds', 'ml_job_ids', 'datafeed_ids', 'rollup_job_ids'):
        assert doc['options'][name]['type'] == spec[name]['type'], name
        assert doc['options'][name]['default'] == spec[name]['default'], name
    assert set(yaml.safe_load(desired_state_info.RETURN)) == {'document', 'export_warnings', 'counts', 'msg', 'cluster'}


@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
def test_an_export_converges_as_a_no_op(es, export, converge):
    cluster(es)
    failed, result = export(check_mode=True)
    assert not failed, result['msg']
    assert es.mutating_requests() == []
    # GET /, job configs and stats, datafeed configs and stats, the rollup jobs, filters, calendars and all their
    # events: whatever the number of objects
    assert len(es.requests()) == 9, request_lines(es)
    assert not result['changed'] and result['export_warnings'] == []
    document = result['document']
    assert list(document) == ['ml_jobs', 'datafeeds', 'rollup_jobs', 'ml_filters', 'ml_calendars', 'unmentioned']
    assert document['unmentioned'] == {'ml_jobs': 'report', 'datafeeds': 'report', 'rollup_jobs': 'report',
                                       'ml_filters': 'report', 'ml_calendars': 'report'}
    assert result['counts'] == {'ml_jobs': 4, 'datafeeds': 3, 'rollup_jobs': 2, 'ml_filters': 2, 'ml_calendars': 2}
    assert result['msg'] == '4 ml_jobs, 3 datafeeds, 2 rollup_jobs, 2 ml_filters, 2 ml_calendars'
    assert document['ml_filters'] == [
        {'id': 'no-description', 'state': 'present', 'items': []},
        {'id': 'safe-hosts', 'state': 'present', 'description': 'hosts we trust', 'items': ['a-host', 'b-host']}]
    assert document['ml_calendars'] == [
        {'id': 'empty', 'state': 'present', 'job_ids': [], 'events': [], 'events_mode': 'exact'},
        {'id': 'outages', 'state': 'present', 'description': 'planned outages', 'job_ids': ['db', 'web-latency'],
         'events': [{'description': 'patch night', 'start_time': '2026-12-07T22:00:00Z', 'end_time': '2026-12-08T02:00:00Z'},
                    {'description': 'freeze', 'start_time': '2027-01-01T00:00:00Z', 'end_time': '2027-01-08T00:00:00Z'}],
         'events_mode': 'exact'}]
    by_id = dict(('%s/%s' % (kind, entry['id']), entry) for kind in ('ml_jobs', 'datafeeds', 'rollup_jobs')
                 for entry in document[kind])
    assert by_id['ml_jobs/web-latency']['config']['analysis_config']['detectors'][0]['custom_rules'][1]['scope'] == {
        'host': {'filter_id': 'safe-hosts', 'filter_type': 'include'}}
    assert [entry['id'] for entry in document['ml_jobs']] == ['db', 'logs', 'web-agg', 'web-latency']
    assert {key: entry['state'] for key, entry in by_id.items()} == {
        'ml_jobs/db': 'closed', 'ml_jobs/logs': 'closed', 'ml_jobs/web-agg': 'closed', 'ml_jobs/web-latency': 'opened',
        'datafeeds/datafeed-logs': 'stopped',
        'datafeeds/datafeed-web-agg': 'stopped', 'datafeeds/datafeed-web-latency': 'started',
        'rollup_jobs/sensor-histogram': 'stopped', 'rollup_jobs/sensor-hourly': 'started'}
    for key, entry in by_id.items():
        assert list(entry) == ['id', 'state', 'config'], key
        assert not set(entry['config']) & set(SERVER_SET) - ({'job_id'} if key.startswith('datafeeds/') else set()), key
        assert list(entry['config']) == sorted(entry['config']), key
    web = by_id['ml_jobs/web-latency']['config']
    assert web['custom_settings'] == {'team': 'web'}       # created_by is generated (exclude_generated drops it)
    assert web['analysis_config']['detectors'][0]['custom_rules'][0]['actions'] == ['skip_result']
    assert web['model_plot_config']['enabled'] is True
    feed = by_id['datafeeds/datafeed-web-latency']['config']
    assert feed['job_id'] == 'web-latency' and feed['query_delay'] == '93s'
    assert ('runtime_mappings' in feed) is (major_minor(es) >= (7, 11))
    # set on PUT, so exported on every version (exclude_generated leaves out only Elasticsearch's computed defaults)
    assert by_id['datafeeds/datafeed-logs']['config']['chunking_config'] == {'mode': 'manual', 'time_span': '3h'}
    agg_feed = by_id['datafeeds/datafeed-web-agg']['config']
    assert 'aggs' not in agg_feed and agg_feed['aggregations']['buckets']['date_histogram']['field'] == 'timestamp'
    histogram = by_id['rollup_jobs/sensor-histogram']['config']
    assert histogram['groups']['histogram'] == {'fields': ['temperature'], 'interval': 5}
    assert histogram['rollup_index'] == 'sensor_rollup_histogram'
    # what the playbook writes is plain data (no Ansible-specific types), as YAML and back
    assert yaml.safe_load(yaml.safe_dump(json.loads(json.dumps(document)))) == document

    es.clear_requests()
    failed, plan = converge(document, check_mode=True)
    assert not failed, plan['msg']
    assert plan['steps'] == [] and not plan['changed'], plan['msg']
    report = plan['report']
    assert report['status'] == 'in_sync' and report['counts']['drift'] == 0 and report['counts']['unmanaged'] == 0
    assert all(row['config'] is None and row['config_changes'] == [] for row in report['objects']
               if 'config' in row), [row for row in report['objects'] if row.get('config_changes')]
    es.clear_requests()
    failed, applied = converge(document)
    assert not failed and not applied['changed'] and applied['report']['counts']['moved'] == 0, applied['msg']
    assert es.mutating_requests() == []
    # the no-op budget holds for an exported document too (no rollup index, ML info or privilege read): six
    # requests for the jobs, datafeeds and rollup jobs, three for the filters, calendars and their events
    assert len(es.requests()) <= 9, request_lines(es)


@pytest.mark.parametrize('es', ['6.8.23', '8.19.3'], indirect=True)
def test_states_in_motion_export_their_steady_state_with_a_warning(es, export):
    es.add_job('broken', 'failed')
    es.add_rollup_job('busy', 'indexing')
    es.add_rollup_job('halting', 'stopping')
    es.add_job('warming', 'opening')      # last: the other set-ups advance the clock, which would finish the open
    failed, result = export()
    assert not failed, result['msg']
    states = dict((entry['id'], entry['state']) for kind in ('ml_jobs', 'rollup_jobs') for entry in result['document'][kind])
    assert states == {'warming': 'opened', 'broken': 'opened', 'busy': 'started', 'halting': 'stopped'}
    assert result['export_warnings'] == ['ml_jobs broken has failed; exported as opened (the state it failed in). A plan '
                                         'refuses it until it is closed with force_failed or opened again',
                                         'ml_jobs warming was opening; exported as opened',
                                         'rollup_jobs halting was stopping; exported as stopped']
    assert set(result['export_warnings']) <= set(result['warnings'])


@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_kinds_and_ids_are_expanded_by_elasticsearch(es, export):
    cluster(es)
    failed, result = export({'kinds': ['ml_jobs'], 'ml_job_ids': ['web']})
    assert not failed, result['msg']
    assert list(result['document']) == ['ml_jobs', 'unmentioned'] and result['document']['unmentioned'] == {'ml_jobs': 'report'}
    assert [entry['id'] for entry in result['document']['ml_jobs']] == ['web-latency']   # the group, as ES expands it
    assert any(line.startswith('/_ml/anomaly_detectors/web') for line in request_lines(es))
    failed, result = export({'kinds': ['datafeeds', 'rollup_jobs'], 'datafeed_ids': ['datafeed-web-a*'],
                             'rollup_job_ids': ['sensor-h*']})
    assert not failed, result['msg']
    assert [entry['id'] for entry in result['document']['datafeeds']] == ['datafeed-web-agg']
    assert [entry['id'] for entry in result['document']['rollup_jobs']] == ['sensor-histogram', 'sensor-hourly']


@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_a_missing_exact_id_is_one_line(es, export):
    cluster(es)
    failed, result = export({'ml_job_ids': ['nope']})
    assert failed and 'nope' in result['msg'] and '\n' not in result['msg']
    failed, result = export({'kinds': ['rollup_jobs'], 'rollup_job_ids': ['nope']})
    assert failed and result['msg'] == 'rollup job not found: nope'


@pytest.mark.parametrize('es,exclude_generated', [('6.8.23', False), ('7.13.4', True), ('9.1.5', True)], indirect=['es'])
def test_exclude_generated_is_asked_where_elasticsearch_takes_it(es, export, exclude_generated):
    cluster(es)
    failed, result = export()
    assert not failed, result['msg']
    configs = [line for line in request_lines(es) if ('datafeeds' in line or 'anomaly_detectors' in line)
               and '_stats' not in line]
    assert len(configs) == 2 and all(('exclude_generated' in line) is exclude_generated for line in configs), configs
    # the datafeed's computed defaults: left out by Elasticsearch where it can, kept (and equal) where it cannot
    agg_feed = [entry for entry in result['document']['datafeeds'] if entry['id'] == 'datafeed-web-agg'][0]['config']
    assert ('chunking_config' in agg_feed) is not exclude_generated


@pytest.mark.parametrize('es', [dict(version='6.8.23', security=True), dict(version='8.19.3', security=True)],
                         indirect=True)
def test_no_credential_reaches_the_document(es, export, converge):
    """A datafeed stores the roles it runs with (authorization, from its creator); the export leaves them out -
    Elasticsearch with exclude_generated (7.11+), the one list of server-set fields before - and still converges as a
    no-op."""
    es.add_job('web', 'opened', datafeed_state='started')
    plain = es.ok('GET', es.ml_path('datafeeds', 'datafeed-web'))['datafeeds'][0]
    assert ('authorization' in plain) is es.personality.datafeed_authorization   # GET shows it where ES does
    failed, result = export({'kinds': ['ml_jobs', 'datafeeds']})
    assert not failed, result['msg']
    text = json.dumps(result['document'])
    assert 'authorization' not in text and 'superuser' not in text and 'changeme' not in text
    failed, plan = converge(result['document'], check_mode=True)
    assert not failed and plan['steps'] == [] and plan['report']['counts']['drift'] == 0, plan['msg']


@pytest.mark.parametrize('es', ['6.8.23', '9.1.5'], indirect=True)
def test_an_empty_cluster_exports_empty_lists_and_converges_as_a_no_op(es, export, converge):
    failed, result = export()
    assert not failed, result['msg']
    assert result['document'] == {'ml_jobs': [], 'datafeeds': [], 'rollup_jobs': [], 'ml_filters': [], 'ml_calendars': [],
                                  'unmentioned': {'ml_jobs': 'report', 'datafeeds': 'report', 'rollup_jobs': 'report',
                                                  'ml_filters': 'report', 'ml_calendars': 'report'}}
    failed, plan = converge(result['document'], check_mode=True)
    assert not failed and plan['steps'] == [] and not plan['changed'], plan['msg']


@pytest.mark.parametrize('es', ['7.17.28', '9.1.5'], indirect=True)     # 6.8: no delete of a job with a datafeed
def test_a_job_being_deleted_is_skipped_with_its_datafeed_and_named(es, export):
    """Job stats leave a job being deleted out (elastic/elasticsearch#34645) while GET anomaly_detectors lists it
    (exclude_generated hides its deleting: true): the export skips it with a warning, instead of losing it silently
    or writing it."""
    es.add_job('keep', 'closed')
    es.add_job('going', 'closed', datafeed_state='stopped')
    status, _answer = es.call('DELETE', es.ml_path('anomaly_detectors', 'going'),
                              params={'force': 'true', 'wait_for_completion': 'false'})
    assert status == 200
    failed, result = export({'kinds': ['ml_jobs']})
    assert not failed, result['msg']
    assert [entry['id'] for entry in result['document']['ml_jobs']] == ['keep']
    assert result['export_warnings'] == ['ml_jobs going is being deleted; skipped']
