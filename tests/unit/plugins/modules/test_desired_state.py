# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.desired_state end to end on the in-process emulator (tests/unit/conftest.py): the version rules, the
cluster pin, upgrade mode turned off before a job moves, the privileges derived from the planned steps, check mode
without a mutating request, and the requests of a no-op run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest
import yaml

from ansible_collections.esops.jobs.plugins.modules import desired_state

VERSIONS = ('6.8.23', '7.13.4', '7.14.2', '8.19.3', '9.1.5')
STANDARD_KEYS = {'failed', 'changed', 'msg', 'warnings', 'deprecations', 'cluster'}

# The molecule converge scenario's fixture and document (tests/integration/fleet.py, extensions/molecule/converge).
DOCUMENT = {
    'ml_jobs': [{'id': 'fleet', 'state': 'opened'}, {'id': 'fleet-old', 'state': 'absent'}],
    'datafeeds': [{'id': 'datafeed-fleet-*', 'state': 'started'}],
    'rollup_jobs': [{'id': 'fleet-hourly', 'state': 'started'}],
    'unmentioned': {'ml_jobs': 'report'},
}


@pytest.fixture
def run(run_module):
    return lambda args, check_mode=False, diff=False: run_module(desired_state.main, args, check_mode=check_mode, diff=diff)


def fleet(es, old_datafeed=False):
    es.add_job('fleet-web', 'opened', datafeed_state='stopped', groups=['fleet'])
    es.add_job('fleet-db', 'closed', datafeed_state='stopped', groups=['fleet'])
    es.add_job('fleet-legacy', 'opened')
    es.add_job('fleet-old', 'closed', datafeed_state='stopped' if old_datafeed else None)
    es.add_rollup_job('fleet-hourly', 'stopped')
    es.clear_requests()
    return es


def rows(result):
    return dict(('%s/%s' % (row['kind'], row['id']), row) for row in result['report']['objects'])


def test_documented_options_match_the_argspec():
    doc = yaml.safe_load(desired_state.DOCUMENTATION)
    spec = desired_state.argument_spec()
    for name in ('document', 'expected_cluster_uuid', 'expected_cluster_uuid_from', 'fail_on_error'):
        assert doc['options'][name]['type'] == spec[name]['type'], name
        assert doc['options'][name].get('default') == spec[name].get('default'), name
    assert set(yaml.safe_load(desired_state.RETURN)) >= {'changed', 'msg', 'report', 'steps', 'operations', 'diff', 'cluster'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_plan_then_apply_then_no_op(es, run):
    fleet(es)
    failed, plan = run({'document': DOCUMENT}, check_mode=True, diff=True)
    assert not failed, plan['msg']
    assert es.mutating_requests() == []
    report = plan['report']
    assert report['status'] == 'drift' and report['mode'] == 'plan' and plan['changed']
    assert report['counts'] == {'objects': 6, 'drift': 5, 'moved': 0, 'unmanaged': 1, 'errors': 0}
    by = rows(plan)
    assert by['ml_jobs/fleet-db']['actions'] == ['open'] and by['ml_jobs/fleet-db']['planned'] == 'opened'
    # started after its job's open in the same plan: no refusal
    assert by['datafeeds/datafeed-fleet-db']['actions'] == ['start']
    assert by['ml_jobs/fleet-old']['planned'] == 'absent'
    assert [stage['stage'] for stage in plan['steps']] == [
        'ml_jobs_absent', 'ml_jobs_opened', 'datafeeds_started', 'rollup_jobs_started']
    assert plan['diff']['before']['ml_jobs/fleet-db'] == 'closed' and plan['diff']['after']['ml_jobs/fleet-db'] == 'opened'
    assert 'ml_jobs/fleet-old' not in plan['diff']['after']

    failed, applied = run({'document': DOCUMENT})
    assert not failed, applied['msg']
    report = applied['report']
    assert report['status'] == 'converged' and report['counts']['moved'] == 5
    assert [row['after'] for row in report['objects']] == [row['desired'] for row in report['objects']]

    es.clear_requests()
    failed, again = run({'document': DOCUMENT})
    assert not failed and not again['changed'] and again['report']['status'] == 'in_sync'
    requests = es.requests()
    assert len(requests) <= 6, [r['path'] for r in requests]
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es, steps, operations', [
    ('6.8.23', ['delete_datafeed', 'delete'], ['delete_datafeed', 'delete_job']),
    ('7.14.2', ['delete_datafeed', 'delete'], ['delete_datafeed', 'delete_job']),   # 7.14: not yet with the job
    ('8.19.3', ['delete'], ['delete_job']),
], indirect=['es'])
def test_a_job_delete_asks_for_what_the_engine_sends(es, run, steps, operations):
    es.add_job('gone', 'closed', datafeed_state='stopped')
    failed, result = run({'document': {'ml_jobs': [{'id': 'gone', 'state': 'absent'}]}}, check_mode=True)
    assert not failed, result['msg']
    assert rows(result)['ml_jobs/gone']['actions'] == steps
    assert result['operations'] == operations
    failed, result = run({'document': {'ml_jobs': [{'id': 'gone', 'state': 'absent'}]}})
    assert not failed and result['report']['counts']['moved'] == 1


@pytest.mark.parametrize('es, closes_stop', [('7.13.4', True), ('7.14.2', False)], indirect=['es'])
def test_a_close_stops_the_datafeed_first_up_to_7_13(es, run, closes_stop):
    es.add_job('web', 'opened', datafeed_state='started')
    failed, result = run({'document': {'ml_jobs': [{'id': 'web', 'state': 'closed'}]}}, check_mode=True)
    assert not failed, result['msg']
    assert rows(result)['ml_jobs/web']['actions'] == (['stop_datafeed', 'close'] if closes_stop else ['close'])
    assert result['operations'] == (['stop_datafeed', 'close_job'] if closes_stop else ['close_job'])


def test_force_failed_open_asks_for_the_close_too(es, run):
    es.add_job('web', 'failed')
    document = {'ml_jobs': [{'id': 'web', 'state': 'opened', 'force_failed': True}]}
    failed, result = run({'document': document}, check_mode=True)
    assert not failed, result['msg']
    assert rows(result)['ml_jobs/web']['actions'] == ['force_close', 'open']
    assert result['operations'] == ['close_job', 'open_job']


@pytest.mark.parametrize('es', [dict(version='8.19.3', security=True)], indirect=True)
def test_a_missing_privilege_is_a_plan_error_and_nothing_changes(es, run):
    es.add_job('web', 'failed')
    document = {'ml_jobs': [{'id': 'web', 'state': 'opened', 'force_failed': True}]}
    # monitor_ml reads everything the plan needs but may neither close nor open
    failed, result = run(es.params(document=document, username='ml_viewer', password='changeme'))
    assert failed
    errors = result['report']['errors']
    assert [error['kind'] for error in errors] == ['privileges']
    assert 'cluster:admin/xpack/ml/job/close' in errors[0]['msg'] and 'cluster:admin/xpack/ml/job/open' in errors[0]['msg']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', [dict(version='8.19.3', security=True), dict(version='6.8.23', security=True)],
                         indirect=True)
def test_a_pin_with_an_unknown_uuid_refuses_naming_monitor(es, run):
    es.add_job('web', 'closed')
    es.clear_requests()
    document = {'ml_jobs': [{'id': 'web', 'state': 'opened'}]}
    # an API key limited to manage_ml may do the change but not read GET / (cluster:monitor/main): the uuid is unknown
    key = es.ok('POST', '/_security/api_key', {'name': 'k', 'role_descriptors': {'r': {'cluster': ['manage_ml']}}})
    # 'encoded' is in the answer from 7.16; before, the client builds it (docs security-api-create-api-key)
    key['encoded'] = base64.b64encode(('%s:%s' % (key['id'], key['api_key'])).encode()).decode()
    failed, result = run(dict(hosts=[es.url], api_key=key['encoded'], document=document, expected_cluster_uuid='abc',
                              fail_on_error=False))
    assert not failed
    report = result['report']
    assert report['status'] == 'failed' and report['errors'][0]['kind'] == 'cluster'
    assert '`monitor`' in report['errors'][0]['msg'] and '\n' not in report['errors'][0]['msg']
    assert report['cluster'] is None or report['cluster']['uuid'] is None
    assert es.mutating_requests() == []
    # without a pin the same credential converges
    failed, result = run(dict(hosts=[es.url], api_key=key['encoded'], document=document))
    assert not failed and result['report']['status'] == 'converged'


def test_a_pin_to_another_cluster_refuses(es, run):
    es.add_job('web', 'closed')
    failed, result = run({'document': {'ml_jobs': [{'id': 'web', 'state': 'opened'}]},
                          'expected_cluster_uuid': 'NotThisOne', 'expected_cluster_uuid_from': 'converge_cluster_uuid'})
    assert failed and 'is bound to cluster NotThisOne (converge_cluster_uuid)' in result['msg']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', ('7.13.4', '8.19.3'), indirect=True)
def test_upgrade_mode_off_then_a_job_moves(es, run):
    es.add_job('web', 'closed')
    es.set_upgrade_mode(True)
    es.clear_requests()
    document = {'ml_jobs': [{'id': 'web', 'state': 'opened'}], 'ml_upgrade_mode': False}
    failed, plan = run({'document': document}, check_mode=True)
    assert not failed, plan['msg']
    assert [stage['stage'] for stage in plan['steps']] == ['upgrade_mode_off', 'ml_jobs_opened']
    assert es.mutating_requests() == []
    failed, applied = run({'document': document})
    assert not failed, applied['msg']
    assert applied['report']['ml_upgrade_mode']['after'] is False and rows(applied)['ml_jobs/web']['after'] == 'opened'
    # and while it stays on, the same move is refused by the engine's own rule
    es.set_upgrade_mode(True)
    failed, result = run({'document': {'ml_jobs': [{'id': 'web', 'state': 'closed'}]}}, check_mode=True)
    assert failed and 'upgrade mode is enabled' in result['msg']


@pytest.mark.parametrize('document, text', [
    ({'ml_jobs': [{'id': 123, 'state': 'opened'}]}, 'ml_jobs[0].id: 123 is a number, but ids are strings'),
    ({'ml_jobs': [{'id': 'web', 'state': 'opened', 'timeout': 0}]}, 'ml_jobs[0].timeout'),
    ({'datafeeds': [{'id': 'a', 'state': 'stopped', 'start': 'now'}]}, 'start/end only go with state started'),
    ({'rollup_jobs': [{'id': 'a', 'state': 'started'}, {'id': 'a,b', 'state': 'stopped'}]}, 'a is listed in more than one entry'),
    ({'ml_job': []}, 'unknown key(s) ml_job'),
])
def test_a_bad_document_is_one_line_and_no_request(es, run, document, text):
    failed, result = run({'document': document})
    assert failed and text in result['msg'] and '\n' not in result['msg']
    assert es.requests() == []


def test_one_group_entry_is_expanded_by_elasticsearch_in_one_request(es, run):
    for index in range(3):
        es.add_job('bench-%d' % index, 'closed', groups=['bench'])
    es.clear_requests()
    failed, result = run({'document': {'ml_jobs': [{'id': 'bench', 'state': 'closed'}]}})
    assert not failed and result['report']['status'] == 'in_sync' and result['report']['counts']['objects'] == 3
    assert [r['path'] for r in es.requests()] == ['/', '/_ml/anomaly_detectors/bench/_stats']


def test_a_missing_exact_id_reads_every_job_and_names_it(es, run):
    es.add_job('web', 'closed')
    failed, result = run({'document': {'ml_jobs': [{'id': 'web,nope', 'state': 'opened'}]}})
    assert failed and 'no job or job group matches nope' in result['msg']
    assert es.mutating_requests() == []
    failed, result = run({'document': {'ml_jobs': [{'id': 'nope', 'state': 'absent'}]}})
    assert not failed and result['report']['status'] == 'in_sync'


@pytest.mark.parametrize('es', ('7.14.2', '8.19.3'), indirect=True)
def test_backup_first_returns_the_records_and_changes_nothing(es, run):
    es.add_job('old', 'closed', datafeed_state='stopped')
    es.add_rollup_job('old-rollup', 'stopped')
    es.add_job('web', 'closed')
    es.clear_requests()
    document = {'ml_jobs': [{'id': 'old', 'state': 'absent'}, {'id': 'web', 'state': 'opened'}],
                'rollup_jobs': [{'id': 'old-rollup', 'state': 'absent'}]}
    failed, result = run({'document': document, 'backup': True})
    assert not failed and not result['changed'] and es.mutating_requests() == []
    records = dict((item['id'], item) for item in result['backups'])
    job = records['old']['record']
    assert records['old']['name'].startswith('ml-job-old-') and job['kind'] == 'ml_anomaly_detection_job'
    assert job['job']['analysis_config']['detectors'][0]['function'] == 'count'
    assert job['datafeed']['job_id'] == 'old' and job['state'] == 'closed' and job['cluster']['uuid']
    rollup = records['old-rollup']['record']
    assert rollup['kind'] == 'rollup_job' and rollup['config']['rollup_index'] == 'sensor_rollup'
    # only what was backed up may go
    failed, result = run({'document': document, 'backed_up': {'ml_jobs': ['old']}})
    assert failed and 'old-rollup would be deleted without a backup' in result['msg']
    assert es.mutating_requests() == []
    failed, result = run({'document': document, 'backed_up': {'ml_jobs': ['old'], 'rollup_jobs': ['old-rollup']}})
    assert not failed and result['report']['counts']['moved'] == 3


def test_backup_without_deletes_applies_at_once(es, run):
    es.add_job('web', 'closed')
    failed, result = run({'document': {'ml_jobs': [{'id': 'web', 'state': 'opened'}]}, 'backup': True})
    assert not failed and 'backups' not in result and result['report']['status'] == 'converged'


def test_a_backup_name_is_a_safe_encoding_of_the_id_never_a_path(es, run):
    # Elasticsearch accepts '/' and '..' in rollup job ids; the backup is named by _backup.backup_file_name
    # (the retire roles' names), so it stays inside the backup directory and job_restore finds it.
    es.add_rollup_job('x%2F..%2F..%2Fescaped', 'stopped')   # the harness puts the id into the path as given
    document = {'rollup_jobs': [{'id': 'x/../../escaped', 'state': 'absent'}]}
    failed, result = run({'document': document, 'backup': True})
    assert not failed and es.mutating_requests() == []
    [item] = result['backups']
    assert item['id'] == 'x/../../escaped' and item['record']['job_id'] == 'x/../../escaped'
    assert item['name'].startswith('rollup-job-x%2F%2E%2E%2F%2E%2E%2Fescaped-') and '/' not in item['name']


# -- declared configurations (issue 21 part 2) -------------------------------------------------------------------

CONFIG_VERSIONS = ('6.8.23', '7.17.28', '9.1.5')
JOB_CONFIG = {'description': 'web traffic', 'groups': ['frontend'],
              'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count', 'detector_description': 'requests'}]},
              'analysis_limits': {'model_memory_limit': '64mb'},
              'data_description': {'time_field': 'timestamp'}}


def job_config(es, job_id):
    return es.ok('GET', es.ml_path('anomaly_detectors', job_id))['jobs'][0]


def states(es, job_id, datafeed_id):
    job = es.ok('GET', es.ml_path('anomaly_detectors', job_id, '_stats'))['jobs'][0]['state']
    feed = es.ok('GET', es.ml_path('datafeeds', datafeed_id, '_stats'))['datafeeds'][0]['state']
    return job, feed


def with_config(state='opened', recreate=None, **fields):
    entry = {'id': 'web', 'state': state, 'config': dict(JOB_CONFIG, **fields)}
    if recreate is not None:
        entry['recreate'] = recreate
    return {'ml_jobs': [entry]}


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_a_declared_job_is_created_then_a_no_op(es, run):
    failed, plan = run({'document': with_config()}, check_mode=True, diff=True)
    assert not failed, plan['msg']
    assert es.mutating_requests() == []
    row = rows(plan)['ml_jobs/web']
    assert row['before'] == 'absent' and row['actions'] == ['create', 'open'] and row['config'] == 'create'
    assert [stage['stage'] for stage in plan['steps']] == ['ml_jobs_config', 'ml_jobs_opened']
    assert plan['operations'] == ['put_job', 'open_job']
    assert plan['diff']['after']['ml_jobs/web']['config']['description'] == 'web traffic'
    assert 'ml_jobs/web' not in plan['diff']['before']

    failed, applied = run({'document': with_config()})
    assert not failed, applied['msg']
    assert rows(applied)['ml_jobs/web']['after'] == 'opened' and applied['changed']
    config = job_config(es, 'web')
    assert config['description'] == 'web traffic' and config['groups'] == ['frontend']

    es.clear_requests()
    failed, again = run({'document': with_config()})
    assert not failed and not again['changed'] and again['report']['status'] == 'in_sync'
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_updatable_fields_are_updated_in_place(es, run):
    es.add_job('web', 'opened', **JOB_CONFIG)
    es.clear_requests()
    document = with_config(description='web traffic, per host', groups=['frontend', 'edge'],
                           analysis_config={'bucket_span': '15m',
                                            'detectors': [{'function': 'count', 'detector_description': 'all requests'}]})
    failed, plan = run({'document': document}, check_mode=True, diff=True)
    assert not failed, plan['msg']
    assert es.mutating_requests() == []
    row = rows(plan)['ml_jobs/web']
    assert row['config'] == 'update' and row['actions'] == ['update'] and row['planned'] == 'opened'
    assert sorted(item['path'] for item in row['config_changes']) == [
        'analysis_config.detectors[0].detector_description', 'description', 'groups']
    assert plan['operations'] == ['update_job']
    assert plan['diff']['before']['ml_jobs/web']['config']['description'] == 'web traffic'

    failed, applied = run({'document': document})
    assert not failed, applied['msg']
    [update] = es.mutating_requests()
    assert update['method'] == 'POST' and update['path'].endswith('/anomaly_detectors/web/_update')
    config = job_config(es, 'web')
    assert config['description'] == 'web traffic, per host' and sorted(config['groups']) == ['edge', 'frontend']
    assert config['analysis_config']['detectors'][0]['detector_description'] == 'all requests'
    es.clear_requests()
    failed, again = run({'document': document})
    assert not failed and not again['changed'] and es.mutating_requests() == []


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_model_memory_limit_is_updated_only_while_closed(es, run):
    es.add_job('web', 'opened', **JOB_CONFIG)
    es.clear_requests()
    failed, plan = run({'document': with_config(analysis_limits={'model_memory_limit': '128mb'})}, check_mode=True)
    assert failed and 'analysis_limits.model_memory_limit (Elasticsearch updates it only while the job is closed)' in plan['msg']
    assert 'recreate: true' in plan['msg'] and es.mutating_requests() == []
    # declared closed: closed first, then updated
    failed, applied = run({'document': with_config('closed', analysis_limits={'model_memory_limit': '128mb'})})
    assert not failed, applied['msg']
    assert rows(applied)['ml_jobs/web']['actions'] == ['close', 'update']
    assert job_config(es, 'web')['analysis_limits']['model_memory_limit'] == '128mb'


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_a_replace_is_refused_without_recreate_and_done_with_it(es, run):
    es.add_job('web', 'opened', datafeed_state='started', **JOB_CONFIG)
    es.clear_requests()
    document = with_config(analysis_config={'bucket_span': '30m', 'detectors': [{'function': 'count'}]})
    failed, plan = run({'document': document}, check_mode=True)
    assert failed and 'ML job web needs a replace' in plan['msg'] and 'analysis_config.bucket_span' in plan['msg']
    assert es.mutating_requests() == []
    failed, plan = run({'document': document})
    assert failed and es.mutating_requests() == []

    document = with_config(recreate=True, analysis_config={'bucket_span': '30m', 'detectors': [{'function': 'count'}]})
    failed, plan = run({'document': document}, check_mode=True)
    assert not failed, plan['msg']
    assert es.mutating_requests() == []
    assert plan['steps'][0]['actions']['web'] == ['stop_datafeed', 'close', 'delete_datafeed', 'delete', 'create',
                                                  'put_datafeed', 'open', 'start_datafeed']
    assert set(plan['operations']) >= {'put_job', 'delete_job', 'put_datafeed', 'start_datafeed'}
    # the backup first (the action plugin writes it), then the replace
    failed, first = run({'document': document, 'backup': True})
    assert not failed and [item['id'] for item in first['backups']] == ['web'] and es.mutating_requests() == []
    record = first['backups'][0]['record']
    assert record['job']['analysis_config']['bucket_span'] == '15m' and record['datafeed']['job_id'] == 'web'
    failed, applied = run({'document': document, 'backed_up': {'ml_jobs': ['web']}})
    assert not failed, applied['msg']
    assert job_config(es, 'web')['analysis_config']['bucket_span'] == '30m'
    assert states(es, 'web', 'datafeed-web') == ('opened', 'started')
    row = rows(applied)['ml_jobs/web']
    assert row['moved'] and row['after'] == 'opened'
    es.clear_requests()
    failed, again = run({'document': document})
    assert not failed and not again['changed'] and es.mutating_requests() == []


def feed_document(query, state='started', recreate=None, job_id='web'):
    entry = {'id': 'datafeed-web', 'state': state,
             'config': {'job_id': job_id, 'indices': ['data'], 'query': query}}
    if recreate is not None:
        entry['recreate'] = recreate
    return {'ml_jobs': [{'id': 'web', 'state': 'opened', 'config': dict(JOB_CONFIG)}], 'datafeeds': [entry]}


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_a_declared_datafeed_is_created_then_its_query_updated_while_running(es, run):
    es.put_index('data', {'properties': {'timestamp': {'type': 'date'}, 'status': {'type': 'integer'}}})
    es.clear_requests()
    first = feed_document({'match_all': {}})
    failed, applied = run({'document': first})
    assert not failed, applied['msg']
    assert [stage['stage'] for stage in applied['steps']] == [
        'ml_jobs_config', 'datafeeds_config', 'ml_jobs_opened', 'datafeeds_started']
    assert states(es, 'web', 'datafeed-web') == ('opened', 'started')

    second = feed_document({'term': {'status': 500}})
    es.clear_requests()
    failed, plan = run({'document': second}, check_mode=True, diff=True)
    assert not failed, plan['msg']
    assert es.mutating_requests() == []
    row = rows(plan)['datafeeds/datafeed-web']
    assert row['actions'] == ['stop', 'update', 'start'] and row['restarted'] is True
    assert plan['operations'] == ['stop_datafeed', 'update_datafeed', 'start_datafeed']
    assert plan['diff']['after']['datafeeds/datafeed-web']['config'] == {'query': {'term': {'status': 500}}}
    assert plan['diff']['before']['datafeeds/datafeed-web']['config'] == {'query': {'match_all': {}}}

    failed, applied = run({'document': second})
    assert not failed, applied['msg']
    sent = [(r['method'], r['path'].split('/datafeeds/')[-1]) for r in es.mutating_requests()]
    assert sent == [('POST', 'datafeed-web/_stop'), ('POST', 'datafeed-web/_update'), ('POST', 'datafeed-web/_start')]
    feed = es.ok('GET', es.ml_path('datafeeds', 'datafeed-web'))['datafeeds'][0]
    assert feed['query'] == {'term': {'status': 500}}
    assert states(es, 'web', 'datafeed-web') == ('opened', 'started')
    assert rows(applied)['datafeeds/datafeed-web']['after'] == 'started'

    es.clear_requests()
    failed, again = run({'document': second})
    assert not failed and not again['changed'] and es.mutating_requests() == []


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_a_datafeed_moved_to_another_job_needs_recreate(es, run):
    es.add_job('web', 'opened', datafeed_state='stopped', **JOB_CONFIG)
    es.add_job('other', 'closed')
    es.clear_requests()
    document = {'datafeeds': [{'id': 'datafeed-web', 'state': 'stopped', 'config': {'job_id': 'other', 'indices': ['data']}}]}
    failed, plan = run({'document': document})
    assert failed and 'datafeed datafeed-web needs a replace' in plan['msg'] and 'job_id' in plan['msg']
    assert es.mutating_requests() == []
    document['datafeeds'][0]['recreate'] = True
    failed, applied = run({'document': document})
    assert not failed, applied['msg']
    assert es.ok('GET', es.ml_path('datafeeds', 'datafeed-web'))['datafeeds'][0]['job_id'] == 'other'
    es.clear_requests()
    failed, again = run({'document': document})
    assert not failed and not again['changed'] and es.mutating_requests() == []


def rollup_config(es, **fields):
    config = {'index_pattern': 'sensor-*', 'rollup_index': 'sensor_rollup', 'cron': '0 0 0 1 1 ? 2099', 'page_size': 1000,
              'groups': {'date_histogram': {'field': 'timestamp', es._interval_key(): '1h'}},
              'metrics': [{'field': 'temperature', 'metrics': ['max']}]}
    config.update(fields)
    return config


def rollup_state(es, job_id):
    return es.ok('GET', es.rollup_path('job', job_id))['jobs'][0]['status']['job_state']


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_a_declared_rollup_job_is_created_replaced_only_with_recreate(es, run):
    es.put_index('sensor-1', {'properties': {'timestamp': {'type': 'date'}, 'temperature': {'type': 'double'}}})
    es.ensure_rollup_usage()     # 8.15+ create rollup jobs only in clusters that already use rollups
    es.clear_requests()
    document = {'rollup_jobs': [{'id': 'hourly', 'state': 'started', 'config': rollup_config(es)}]}
    failed, plan = run({'document': document}, check_mode=True)
    assert not failed, plan['msg']
    assert es.mutating_requests() == []
    assert rows(plan)['rollup_jobs/hourly']['actions'] == ['create', 'start']
    failed, applied = run({'document': document})
    assert not failed, applied['msg']
    assert rollup_state(es, 'hourly') == 'started'
    es.clear_requests()
    failed, again = run({'document': document})
    assert not failed and not again['changed'] and es.mutating_requests() == []

    changed = {'rollup_jobs': [{'id': 'hourly', 'state': 'started', 'config': rollup_config(
        es, rollup_index='sensor_rollup_v2', metrics=[{'field': 'temperature', 'metrics': ['max', 'min']}])}]}
    failed, refused = run({'document': changed})
    assert failed and 'rollup job hourly needs a replace' in refused['msg'] and 'metrics' in refused['msg']
    assert es.mutating_requests() == []
    # the same rollup index cannot take the job again: refused in the plan, not by a 409 halfway
    same_index = {'rollup_jobs': [{'id': 'hourly', 'state': 'started', 'recreate': True,
                                   'config': rollup_config(es, page_size=500)}]}
    failed, refused = run({'document': same_index})
    assert failed and 'cannot be created again into sensor_rollup' in refused['msg'] and es.mutating_requests() == []

    changed['rollup_jobs'][0]['recreate'] = True
    failed, first = run({'document': changed, 'backup': True})
    assert not failed and [item['id'] for item in first['backups']] == ['hourly'] and es.mutating_requests() == []
    failed, applied = run({'document': changed, 'backed_up': {'rollup_jobs': ['hourly']}})
    assert not failed, applied['msg']
    assert rows(applied)['rollup_jobs/hourly']['actions'] == ['stop', 'delete', 'create', 'start']
    job = es.ok('GET', es.rollup_path('job', 'hourly'))['jobs'][0]
    assert job['config']['rollup_index'] == 'sensor_rollup_v2' and job['status']['job_state'] == 'started'
    es.clear_requests()
    failed, again = run({'document': changed})
    assert not failed and not again['changed'] and es.mutating_requests() == []


@pytest.mark.parametrize('es', [dict(version='8.19.3', security=True)], indirect=True)
def test_config_changes_ask_for_their_own_privileges(es, run):
    es.add_job('web', 'closed', datafeed_state='stopped', **JOB_CONFIG)
    es.clear_requests()
    document = {'ml_jobs': [{'id': 'web', 'state': 'closed', 'config': dict(JOB_CONFIG, description='changed')}],
                'datafeeds': [{'id': 'datafeed-web', 'state': 'stopped', 'config': {'job_id': 'web', 'scroll_size': 500}}]}
    failed, plan = run(es.params(document=document), check_mode=True)
    assert not failed, plan['msg']
    assert plan['operations'] == ['update_job', 'update_datafeed']
    failed, result = run(es.params(document=document, username='ml_viewer', password='changeme'))
    assert failed
    [error] = result['report']['errors']
    assert error['kind'] == 'privileges'
    assert 'cluster:admin/xpack/ml/job/update' in error['msg'] and 'cluster:admin/xpack/ml/datafeeds/update' in error['msg']
    assert es.mutating_requests() == []


@pytest.mark.parametrize('es', CONFIG_VERSIONS, indirect=True)
def test_a_no_op_with_every_kind_declared_costs_the_same_six_reads(es, run):
    es.put_index('sensor-1', {'properties': {'timestamp': {'type': 'date'}, 'temperature': {'type': 'double'}}})
    es.put_index('data', {'properties': {'timestamp': {'type': 'date'}}})
    es.ensure_rollup_usage()
    document = feed_document({'match_all': {}})
    document['rollup_jobs'] = [{'id': 'hourly', 'state': 'started', 'config': rollup_config(es)}]
    failed, applied = run({'document': document})
    assert not failed, applied['msg']
    es.clear_requests()
    failed, again = run({'document': document})
    assert not failed and again['report']['status'] == 'in_sync'
    # GET /, job configs and stats, datafeed configs and stats, rollup jobs: the configs are compared from those reads
    assert len(es.requests()) == 6 and es.mutating_requests() == []
