"""Rollup (§3), security (§1.2), TLS, faults and the request log."""

import base64
import ssl
import time
import urllib.error
import urllib.request

import pytest

from tests.emulator.launcher import running_emulator
from .conftest import Client, call

DEPRECATION = 'The rollup functionality will be removed in Elasticsearch 10.0. See docs for more information.'


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


@pytest.mark.parametrize('version', ['6.8.23', '7.17.0', '8.10.0', '8.19.0', '9.1.0'])
def test_rollup_lifecycle(emu_factory, version):
    es = Client(emu_factory(version))
    vt = tuple(int(x) for x in version.split('.'))
    base = '/_xpack/rollup' if vt[0] == 6 else '/_rollup'
    es.put_rollup('r1', base=base, version=vt)
    job = es('GET', base + '/job/r1').body['jobs'][0]
    assert list(job) == ['config', 'status', 'stats']
    assert job['status']['job_state'] == 'stopped'
    assert ('upgraded_doc_id' in job['status']) is (vt[0] < 8)
    assert job['config']['groups']['date_histogram']['time_zone'] == 'UTC' and job['config']['timeout'] == '20s'
    assert es('GET', base + '/job/missing').body == {'jobs': []}
    assert es('GET', base + '/job/r*').body == {'jobs': []}
    assert len(es('GET', base + '/job/_all').body['jobs']) == 1
    assert len(es('GET', base + '/job').body['jobs']) == 1
    again = dict(job['config'])
    del again['id']
    resp = es('PUT', base + '/job/r1', again)  # its rollup index already holds r1's metadata
    assert resp.status == 409
    assert err(resp) == ('status_exception', 'Cannot create rollup job [r1] because job was previously created (existing metadata).')
    resp = es('PUT', base + '/job/r1', dict(again, rollup_index='elsewhere'))  # index created, then the task exists
    assert resp.status == 409 and resp.body['error']['root_cause'][0]['type'] == 'resource_already_exists_exception'
    assert err(resp) == ('status_exception', 'Cannot create job [r1] because it has already been created (task exists)')
    assert '_rollup' in es('GET', '/elsewhere').body['elsewhere']['mappings'].get('_doc', es('GET', '/elsewhere').body['elsewhere']['mappings'])['_meta']
    assert es('POST', base + '/job/r1/_stop').body == {'stopped': True}
    assert es('POST', base + '/job/r1/_start').body == {'started': True}
    assert es.rollup_state('r1', base) == 'started'
    resp = es('POST', base + '/job/r1/_start')
    if vt[0] >= 8:
        assert resp.body == {'started': True}
    else:
        assert resp.status == 500
        assert err(resp) == ('exception', 'Cannot start task for Rollup Job [r1] because state was [STARTED]')
    resp = es('DELETE', base + '/job/r1')
    assert resp.status == 500 and 'error' not in resp.body
    assert resp.body['acknowledged'] is False
    assert resp.body['task_failures'][0]['reason'] == {
        'type': 'illegal_state_exception',
        'reason': 'Could not delete job [r1] because indexer state is [STARTED].  Job must be [STOPPED] before deletion.'}
    assert es('POST', base + '/job/r1/_stop').body == {'stopped': True}
    assert es.rollup_state('r1', base) == 'stopped'
    assert es('DELETE', base + '/job/r1').body == {'acknowledged': True}
    for method, path, message in (('POST', '/job/r1/_start', 'Task for Rollup Job [r1] not found'),
                                  ('POST', '/job/r1/_stop', 'Task for Rollup Job [r1] not found'),
                                  ('DELETE', '/job/r1', "the task with id [r1] doesn't exist")):
        resp = es(method, base + path)
        assert resp.status == 404 and err(resp) == ('resource_not_found_exception', message)
        warned = [w for w in resp.warnings() if DEPRECATION in w]
        assert bool(warned) is (vt[0] >= 9)


@pytest.mark.parametrize('version,status', [('8.19.0', 500), ('9.1.0', 429)])
def test_rollup_stop_while_indexing(emu_factory, version, status):
    emu = emu_factory(version, stop_seconds=0.6)
    es = Client(emu)
    es.put_rollup('r1', version=(8, 19))
    es('POST', '/_rollup/job/r1/_start')
    emu.force_rollup_indexing('r1')
    assert es.rollup_state('r1') == 'indexing'
    assert es.rollup_state('r1') == 'indexing'
    resp = es('POST', '/_rollup/job/r1/_start')
    assert resp.body == {'started': True}
    resp = es('POST', '/_rollup/job/r1/_stop')
    assert resp.body == {'stopped': True}
    assert es.rollup_state('r1') == 'stopping'
    resp = es('POST', '/_rollup/job/r1/_start')
    assert resp.status == 500 and err(resp)[1] == 'Cannot start task for Rollup Job [r1] because state was [STOPPING]'
    resp = es('DELETE', '/_rollup/job/r1')
    assert 'indexer state is [STOPPING].  Job must be' in resp.body['task_failures'][0]['reason']['reason']
    resp = es('POST', '/_rollup/job/r1/_stop?wait_for_completion=true&timeout=100ms')
    assert resp.status == status
    assert err(resp) == ('elasticsearch_timeout_exception',
                         'Timed out after [100ms] while waiting for rollup job [r1] to stop. State was [STOPPING]')
    assert es('POST', '/_rollup/job/r1/_stop?wait_for_completion=true&timeout=5s').body == {'stopped': True}
    assert es.rollup_state('r1') == 'stopped'


def test_rollup_cron_indexing(emu_factory):
    es = Client(emu_factory('8.19.0', stop_seconds=0.5))
    es.put_rollup('fast', cron='*/1 * * * * ?', version=(8, 19))
    es.put_rollup('slow', cron='0 0 * * * ?', version=(8, 19))
    es('POST', '/_rollup/job/fast/_start')
    es('POST', '/_rollup/job/slow/_start')
    states = set()
    deadline = time.monotonic() + 2.2
    while time.monotonic() < deadline:
        states.add(es.rollup_state('fast'))
        time.sleep(0.05)
    assert states == {'started', 'indexing'}
    assert es('GET', '/_rollup/job/fast').body['jobs'][0]['stats']['trigger_count'] >= 2
    assert es.rollup_state('slow') == 'started'


def test_rollup_put_requires_usage(emu_factory):
    body = {'index_pattern': 'src', 'rollup_index': 'src_rollup', 'cron': '*/30 * * * * ?', 'page_size': 10,
            'groups': {'date_histogram': {'field': 'ts', 'calendar_interval': '1h'}}}
    es = Client(emu_factory('8.19.0'))
    es.create_index('src', {'ts': {'type': 'date'}})
    resp = es('PUT', '/_rollup/job/r1', body)
    assert resp.status == 400
    assert err(resp) == ('illegal_argument_exception',
                         "new rollup jobs are not allowed in clusters that don't have any rollup usage, since rollup has been deprecated")
    es('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'my-id': {}}}}})
    assert es('PUT', '/_rollup/job/r1', body).status == 200
    es = Client(emu_factory('8.14.0'))
    es.create_index('src', {'ts': {'type': 'date'}})
    assert es('PUT', '/_rollup/job/r1', body).status == 200


def test_rollup_put_with_wrongly_typed_fields_is_a_parse_error(emu_factory):
    es = Client(emu_factory('8.14.0'))
    body = {'index_pattern': 'src', 'rollup_index': {'not': 'a string'}, 'cron': '*/30 * * * * ?', 'page_size': 10,
            'groups': {'date_histogram': {'field': 'ts', 'calendar_interval': '1h'}}}
    resp = es('PUT', '/_rollup/job/r1', body)
    assert resp.status == 400
    # ObjectParser: "[line:col] [<parser name>] <field> doesn't support values of type: <token>" at the value.
    assert err(resp) == ('x_content_parse_exception',
                         "[1:42] [xpack/rollup/jobconfig] rollup_index doesn't support values of type: START_OBJECT")
    resp = es('PUT', '/_rollup/job/r1', dict(body, rollup_index='src_rollup', cron=5))
    assert err(resp) == ('x_content_parse_exception', "[1:64] [xpack/rollup/jobconfig] cron doesn't support values of type: VALUE_NUMBER")
    assert es('GET', '/_rollup/job/r1').body == {'jobs': []}


def _basic(user, password='changeme'):
    return {'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()}


def test_security(emu_factory):
    emu = emu_factory('8.19.0', security=True)
    es = Client(emu)
    resp = es('GET', '/_ml/anomaly_detectors?pretty')
    assert resp.status == 401
    assert err(resp) == ('security_exception', 'missing authentication credentials for REST request [/_ml/anomaly_detectors?pretty]')
    assert resp.headers.get_all('WWW-Authenticate') == ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', 'ApiKey']
    assert resp.body['error']['header']['WWW-Authenticate'][2] == 'ApiKey'
    resp = es('GET', '/', headers=_basic('elastic', 'wrong'))
    assert resp.status == 401 and err(resp)[1] == 'unable to authenticate user [elastic] for REST request [/]'
    admin = Client(emu, _basic('ml_admin'))
    admin.put_job('j1')
    assert admin('POST', '/_ml/anomaly_detectors/j1/_open').status == 200
    viewer = Client(emu, _basic('ml_viewer'))
    assert viewer('GET', '/_ml/anomaly_detectors/j1/_stats').status == 200
    resp = viewer('POST', '/_ml/anomaly_detectors/j1/_close')
    assert resp.status == 403
    assert err(resp) == ('security_exception', 'action [cluster:admin/xpack/ml/job/close] is unauthorized for user [ml_viewer] '
                         'with roles [ml_viewer], this action is granted by the cluster privileges [manage_ml,manage,all]')
    nobody = Client(emu, _basic('nobody'))
    resp = nobody('GET', '/_ml/anomaly_detectors/_stats')
    assert resp.status == 403 and err(resp)[1].endswith(
        'this action is granted by the cluster privileges [monitor_ml,manage_ml,monitor,manage,all]')
    rollup = Client(emu, _basic('rollup_admin'))
    assert rollup('GET', '/_rollup/job/_all').status == 200
    assert rollup('GET', '/_ml/info').status == 403
    # API key and token
    elastic = Client(emu, _basic('elastic'))
    key = elastic('POST', '/_security/api_key', {'name': 'k1', 'role_descriptors': {'r': {'cluster': ['monitor_ml']}}}).body
    by_key = Client(emu, {'Authorization': 'ApiKey ' + key['encoded']})
    assert by_key('GET', '/_ml/anomaly_detectors/j1/_stats').status == 200
    resp = by_key('POST', '/_ml/anomaly_detectors/j1/_close')
    assert resp.status == 403 and err(resp)[1].startswith(
        'action [cluster:admin/xpack/ml/job/close] is unauthorized for API key id [%s] of user [elastic]' % key['id'])
    assert by_key('GET', '/_security/_authenticate').body['authentication_type'] == 'api_key'
    bad = Client(emu, {'Authorization': 'ApiKey ' + base64.b64encode(b'nope:nope').decode()})
    assert bad('GET', '/').status == 401
    token = elastic('POST', '/_security/oauth2/token', {'grant_type': 'password', 'username': 'ml_admin', 'password': 'changeme'}).body
    assert token['type'] == 'Bearer'
    by_token = Client(emu, {'Authorization': 'Bearer ' + token['access_token']})
    me = by_token('GET', '/_security/_authenticate').body
    assert me['username'] == 'ml_admin' and me['roles'] == ['ml_admin'] and me['authentication_type'] == 'token'
    assert by_token('POST', '/_ml/anomaly_detectors/j1/_close').body == {'closed': True}
    assert Client(emu, {'Authorization': 'Bearer nope'})('GET', '/').status == 401
    resp = elastic('POST', '/_security/oauth2/token', {'grant_type': 'password', 'username': 'ml_admin', 'password': 'x'})
    assert resp.status == 400 and resp.body['error'] == 'invalid_grant'
    resp = admin('PUT', '/someindex', {})
    assert resp.status == 403 and 'on indices [someindex]' in err(resp)[1]


def test_security_6x_single_header(emu_factory):
    es = Client(emu_factory('6.8.23', security=True))
    resp = es('GET', '/')
    assert resp.headers.get_all('WWW-Authenticate') == ['Basic realm="security" charset="UTF-8"']
    assert resp.body['error']['header']['WWW-Authenticate'] == 'Basic realm="security" charset="UTF-8"'
    resp = es('POST', '/_xpack/ml/anomaly_detectors/x/_close', headers=_basic('ml_viewer'))
    assert err(resp)[1] == 'action [cluster:admin/xpack/ml/job/close] is unauthorized for user [ml_viewer] with roles [ml_viewer]'


def test_tls(tmp_path):
    with running_emulator('8.19.0', tls_dir=tmp_path) as emu:
        assert emu.url.startswith('https://127.0.0.1:')
        for name in ('ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key'):
            assert (tmp_path / name).exists()
        context = ssl.create_default_context(cafile=str(tmp_path / 'ca.crt'))
        assert call(emu.url, 'GET', '/', context=context).body['tagline'] == 'You Know, for Search'
        localhost = emu.url.replace('127.0.0.1', 'localhost')
        assert call(localhost, 'GET', '/', context=context).status == 200
        context.load_cert_chain(str(tmp_path / 'client.crt'), str(tmp_path / 'client.key'))
        assert call(emu.url, 'GET', '/', context=context).status == 200
        with pytest.raises(urllib.error.URLError) as info:
            call(emu.url, 'GET', '/', context=ssl.create_default_context())
        assert isinstance(info.value.reason, ssl.SSLCertVerificationError)
        emu.reset()
    before = (tmp_path / 'ca.crt').read_bytes()
    with running_emulator('8.19.0', tls_dir=tmp_path) as emu:
        assert (tmp_path / 'ca.crt').read_bytes() == before
        assert call(emu.url, 'GET', '/', context=ssl.create_default_context(cafile=str(tmp_path / 'ca.crt'))).status == 200


def test_faults_and_request_log(emu_factory):
    emu = emu_factory('8.19.0')
    es = Client(emu)
    emu.faults(method='GET', path_regex=r'^/_ml/info$', status=503, times=2)
    assert len(emu.list_faults()) == 1
    assert es('GET', '/_ml/info').status == 503
    assert es('GET', '/_ml/info').status == 503
    assert es('GET', '/_ml/info').status == 200
    assert emu.list_faults() == []
    emu.faults(path_regex='^/$', status=429, body={'custom': True})
    resp = es('GET', '/')
    assert resp.status == 429 and resp.body == {'custom': True}
    emu.clear_faults()
    emu.faults(path_regex='^/$', delay_ms=400, times=1)
    start = time.monotonic()
    assert es('GET', '/').status == 200
    assert time.monotonic() - start >= 0.38
    emu.faults(path_regex='^/$', drop_connection=True, times=1)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        es('GET', '/')
    assert es('GET', '/').status == 200
    log = emu.requests()
    assert [(r['method'], r['path'], r['status']) for r in log] == [
        ('GET', '/_ml/info', 503), ('GET', '/_ml/info', 503), ('GET', '/_ml/info', 200), ('GET', '/', 429),
        ('GET', '/', 200), ('GET', '/', 0), ('GET', '/', 200)]
    emu.clear_requests()
    es('GET', '/_ml/anomaly_detectors/x/_stats?allow_no_match=false')
    log = emu.requests()
    assert len(log) == 1 and log[0]['query'] == {'allow_no_match': 'false'} and log[0]['status'] == 404 and log[0]['time'] > 0
