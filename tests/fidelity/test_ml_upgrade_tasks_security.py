"""Upgrade mode per version and in time, asynchronous job deletion with the tasks API, datafeed authorization
(issue 12 areas 6, 7 and 9). Sources are cited in tests/emulator/ml.py, core.py and versions.py."""

import base64
import threading
import time

import pytest

from .conftest import Client


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


def _basic(user, password='changeme'):
    return {'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()}


# ---------------------------------------------------------------- area 6: upgrade mode

def test_upgrade_mode_before_the_action_filter(emu_factory):
    """7.7: only open job refuses (TransportOpenJobAction); put job, datafeeds and close still run (SetUpgradeModeIT)."""
    es = Client(emu_factory('7.7.1'))
    es.put_job('j1')
    assert es('POST', '/_ml/set_upgrade_mode?enabled=true').body == {'acknowledged': True}
    assert es.put_job('j2').status == 200
    resp = es('POST', '/_ml/anomaly_detectors/j2/_open')
    assert resp.status == 429 and err(resp) == ('status_exception', 'Cannot open jobs when upgrade mode is enabled')
    assert es('DELETE', '/_ml/anomaly_detectors/j2').status == 200


@pytest.mark.parametrize('version', ('7.8.1', '7.13.4', '8.19.0'))
def test_upgrade_mode_action_filter(emu_factory, version):
    es = Client(emu_factory(version))
    es.put_job('j1')
    es('POST', '/_ml/set_upgrade_mode?enabled=true')
    resp = es('PUT', '/_ml/anomaly_detectors/j2', {'analysis_config': {'detectors': [{'function': 'count'}]}, 'data_description': {}})
    assert resp.status == 429
    assert err(resp) == ('status_exception', 'Cannot perform cluster:admin/xpack/ml/job/put action while upgrade mode is enabled')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_open')
    assert err(resp)[1] == 'Cannot perform cluster:admin/xpack/ml/job/open action while upgrade mode is enabled'


@pytest.mark.parametrize('version,reason,cause', (
    ('8.19.0', 'Cannot change [upgrade_mode]. Previous request is still being processed.',
     'Attempted to set [upgrade_mode] to [false] from [true] while previous request was processing.'),
    ('9.1.0', 'Cannot change [upgrade_mode] for feature name [machine_learning]. Previous request is still being processed.',
     'Attempted to set [upgrade_mode] for feature name [machine_learning] to [false] from [true] while previous request '
     'was processing.')))
def test_second_upgrade_mode_request_while_switching(emu_factory, version, reason, cause):
    es = Client(emu_factory(version, upgrade_mode_seconds=1.0))
    results = {}

    def enable():
        results['first'] = es('POST', '/_ml/set_upgrade_mode?enabled=true')

    started = time.monotonic()
    thread = threading.Thread(target=enable)
    thread.start()
    time.sleep(0.3)
    # The flag is in the cluster state at once; the request is still waiting for the tasks.
    assert es('GET', '/_ml/info').body['upgrade_mode'] is True
    second = es('POST', '/_ml/set_upgrade_mode?enabled=false')
    thread.join()
    assert time.monotonic() - started >= 0.95
    assert results['first'].body == {'acknowledged': True}
    assert second.status == 429 and err(second) == ('status_exception', reason)
    assert second.body['error']['caused_by'] == {'type': 'illegal_state_exception', 'reason': cause}
    # Once done, the switch back is accepted; the same value again is a no-op answered at once.
    assert es('POST', '/_ml/set_upgrade_mode?enabled=false').body == {'acknowledged': True}
    before = time.monotonic()
    assert es('POST', '/_ml/set_upgrade_mode?enabled=false').body == {'acknowledged': True}
    assert time.monotonic() - before < 0.5


# ---------------------------------------------------------------- area 7: asynchronous delete and the tasks API

@pytest.mark.parametrize('version,blocked', (('7.13.4', False), ('7.17.0', True), ('9.1.0', True)))
def test_delete_without_waiting_runs_as_a_task(emu_factory, version, blocked):
    es = Client(emu_factory(version, delete_seconds=0.6))
    es.put_job('j1')
    resp = es('DELETE', '/_ml/anomaly_detectors/j1?wait_for_completion=false')
    assert resp.status == 200 and list(resp.body) == ['task']
    task_id = resp.body['task']
    node, number = task_id.split(':')
    running = es('GET', '/_tasks/' + task_id).body
    assert running['completed'] is False and 'response' not in running
    assert running['task']['node'] == node and running['task']['id'] == int(number)
    assert running['task']['action'] == 'cluster:admin/xpack/ml/job/delete'
    job = es('GET', '/_ml/anomaly_detectors/j1').body['jobs'][0]
    assert job['deleting'] is True
    assert (job.get('blocked') == {'reason': 'delete', 'task_id': task_id}) is blocked
    # Jobs being deleted are left out of stats (GH #34645)
    assert es('GET', '/_ml/anomaly_detectors/_stats').body['count'] == 0
    done = es('GET', '/_tasks/%s?wait_for_completion=true&timeout=5s' % task_id).body
    assert done['completed'] is True and done['response'] == {'acknowledged': True}
    assert es('GET', '/_ml/anomaly_detectors/j1').status == 404
    assert es('GET', '/_tasks/' + task_id).body['completed'] is True


def test_async_delete_refusal_is_the_task_error(emu_factory):
    es = Client(emu_factory('8.19.0'))
    es.put_job('j1')
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    task_id = es('DELETE', '/_ml/anomaly_detectors/j1?wait_for_completion=false').body['task']
    done = es('GET', '/_tasks/' + task_id).body
    assert done['completed'] is True
    assert done['error']['reason'] == 'Cannot delete job [j1] because the job is opened'
    assert 'deleting' not in es('GET', '/_ml/anomaly_detectors/j1').body['jobs'][0]


# ---------------------------------------------------------------- area 9: datafeed authorization

def test_datafeed_records_authorization(emu_factory):
    emu = emu_factory('8.19.0', security=True)
    admin = Client(emu, _basic('elastic'))
    admin('PUT', '/data', {})
    admin.put_job('j1')
    admin.put_job('j2')
    resp = admin('PUT', '/_ml/datafeeds/d1', {'job_id': 'j1', 'indices': ['data']})
    assert resp.body['authorization'] == {'roles': ['superuser']}
    key = admin('POST', '/_security/api_key', {'name': 'feeds'}).body
    by_key = Client(emu, {'Authorization': 'ApiKey ' + key['encoded']})
    by_key('PUT', '/_ml/datafeeds/d2', {'job_id': 'j2', 'indices': ['data']})
    feed = admin('GET', '/_ml/datafeeds/d2').body['datafeeds'][0]
    assert feed['authorization'] == {'api_key': {'id': key['id'], 'name': 'feeds'}}
    assert 'authorization' not in admin('GET', '/_ml/datafeeds/d2?exclude_generated=true').body['datafeeds'][0]


def test_no_authorization_without_security(emu_factory):
    es = Client(emu_factory('8.19.0'))
    es.put_job('j1')
    assert 'authorization' not in es.put_datafeed('d1', 'j1').body


def test_body_parse_errors_come_before_the_upgrade_mode_filter(emu_factory):
    """The REST layer parses the body before the transport action filters run."""
    es = Client(emu_factory('8.19.0'))
    es('POST', '/_ml/set_upgrade_mode?enabled=true')
    resp = es('PUT', '/_ml/anomaly_detectors/j1', {'analysis_config': {'detectors': [{'function': 'count'}]}, 'bogus': 1})
    assert resp.status == 400 and resp.body['error']['type'] == 'x_content_parse_exception'
    resp = es('PUT', '/_ml/anomaly_detectors/j1', {'analysis_config': {'detectors': [{'function': 'count'}]}})
    assert resp.status == 429
