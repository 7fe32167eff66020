"""ML job/datafeed behaviour per es-behaviour §2 (would fail on any drift)."""

import threading
import time

import pytest

from .conftest import Client

JOB_404 = "No known job with id '%s'"


@pytest.fixture
def es(emu_factory):
    return Client(emu_factory('8.19.0'))


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


def test_root_shape_and_product_header(emu_factory):
    for version, lucene, wire, product in (('6.8.23', '7.7.3', '5.6.0', False), ('7.13.4', '8.8.2', '6.8.0', False),
                                           ('7.17.0', '8.11.3', '6.8.0', True), ('8.19.0', '9.12.2', '7.17.0', True),
                                           ('9.1.0', '10.2.2', '8.18.0', True)):
        es = Client(emu_factory(version))
        resp = es('GET', '/')
        assert resp.status == 200
        body = resp.body
        assert body['tagline'] == 'You Know, for Search'
        assert set(body) == {'name', 'cluster_name', 'cluster_uuid', 'version', 'tagline'}
        assert body['version']['number'] == version
        assert body['version']['build_flavor'] == 'default'
        assert body['version']['lucene_version'] == lucene
        assert body['version']['minimum_wire_compatibility_version'] == wire
        assert (resp.headers.get('X-Elastic-Product') == 'Elasticsearch') is product


def test_closed_job_transitions(es):
    es.put_job('j1')
    assert es.job_state('j1') == 'closed'
    stats = es('GET', '/_ml/anomaly_detectors/j1/_stats').body['jobs'][0]
    assert 'node' not in stats and 'open_time' not in stats and 'assignment_explanation' not in stats
    assert list(stats)[:5] == ['job_id', 'data_counts', 'model_size_stats', 'forecasts_stats', 'state']
    assert es('POST', '/_ml/anomaly_detectors/j1/_close').body == {'closed': True}
    assert es('POST', '/_ml/anomaly_detectors/j1/_close?force=true').body == {'closed': True}
    resp = es('POST', '/_ml/anomaly_detectors/j1/_open')
    assert resp.status == 200 and resp.body['opened'] is True and resp.body['node']
    assert es.job_state('j1') == 'opened'
    stats = es('GET', '/_ml/anomaly_detectors/j1/_stats').body['jobs'][0]
    assert stats['assignment_explanation'] == '' and stats['node']['attributes']['ml.machine_memory']
    assert stats['open_time'].endswith('s')
    assert list(stats)[4:] == ['state', 'node', 'assignment_explanation', 'open_time', 'timing_stats']


def test_opened_job_transitions(es):
    es.put_job('j1')
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_open')
    assert resp.status == 409 and err(resp) == ('status_exception', 'Cannot open job [j1] because it has already been opened')
    resp = es('DELETE', '/_ml/anomaly_detectors/j1')
    assert resp.status == 409 and err(resp)[1] == 'Cannot delete job [j1] because the job is opened'
    start = time.monotonic()
    assert es('POST', '/_ml/anomaly_detectors/j1/_close').body == {'closed': True}
    assert time.monotonic() - start >= 0.45
    assert es.job_state('j1') == 'closed'
    assert 'finished_time' in es('GET', '/_ml/anomaly_detectors/j1').body['jobs'][0]
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    assert 'finished_time' not in es('GET', '/_ml/anomaly_detectors/j1').body['jobs'][0]
    start = time.monotonic()
    assert es('POST', '/_ml/anomaly_detectors/j1/_close?force=true').body == {'closed': True}
    assert time.monotonic() - start < 0.3
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    assert es('DELETE', '/_ml/anomaly_detectors/j1?force=true').body == {'acknowledged': True}
    assert es('GET', '/_ml/anomaly_detectors').body == {'count': 0, 'jobs': []}


def test_closing_job_transitions(es):
    es.put_job('j1')
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_close?timeout=50ms')
    assert resp.status == 500
    assert err(resp) == ('illegal_state_exception', 'Timed out when waiting for persistent tasks after 50ms')
    assert resp.body['error']['root_cause'][0]['type'] == 'illegal_state_exception'
    assert es.job_state('j1') == 'closing'
    assert es('POST', '/_ml/anomaly_detectors/j1/_open').status == 409
    resp = es('DELETE', '/_ml/anomaly_detectors/j1')
    assert resp.status == 409 and err(resp)[1] == 'Cannot delete job [j1] because the job is closing'
    # A second graceful close waits for the in-flight one.
    assert es('POST', '/_ml/anomaly_detectors/j1/_close').body == {'closed': True}
    assert es.job_state('j1') == 'closed'


def test_failed_job_transitions(es, emu_factory):
    emu = es.emu
    for job in ('f1', 'f2'):
        es.put_job(job)
        es('POST', '/_ml/anomaly_detectors/%s/_open' % job)
    emu.fail_ml_job('f1', reason='boom')
    assert es.job_state('f1') == 'failed'
    resp = es('POST', '/_ml/anomaly_detectors/f1/_close')
    assert resp.status == 409 and err(resp) == ('status_exception', 'cannot close job [f1] because it failed, use force close')
    resp = es('POST', '/_ml/anomaly_detectors/f1,f2/_close')
    assert resp.status == 409 and err(resp)[1] == 'one or more jobs have state failed, use force close'
    assert es.job_state('f2') == 'opened'
    assert es('POST', '/_ml/anomaly_detectors/f1/_open').status == 409
    resp = es('DELETE', '/_ml/anomaly_detectors/f1')
    assert resp.status == 409 and err(resp)[1] == 'Cannot delete job [f1] because the job is failed'
    assert es('POST', '/_ml/anomaly_detectors/f1/_close?force=true').body == {'closed': True}
    assert es.job_state('f1') == 'closed'
    emu.fail_ml_job('f2')
    assert es('DELETE', '/_ml/anomaly_detectors/f2?force=true').body == {'acknowledged': True}


def test_lazy_open_stays_opening_and_closes(es):
    es.put_job('big', analysis_limits={'model_memory_limit': '3000g'}, allow_lazy_open=True)
    assert es('GET', '/_ml/anomaly_detectors/big').body['jobs'][0]['analysis_limits']['model_memory_limit'] == '3072000mb'
    assert es('POST', '/_ml/anomaly_detectors/big/_open').body == {'opened': True, 'node': ''}
    stats = es('GET', '/_ml/anomaly_detectors/big/_stats').body['jobs'][0]
    assert stats['state'] == 'opening' and 'node' not in stats and stats['assignment_explanation']
    resp = es('DELETE', '/_ml/anomaly_detectors/big')
    assert err(resp)[1] == 'Cannot delete job [big] because the job is opening'
    assert es('POST', '/_ml/anomaly_detectors/big/_close').body == {'closed': True}
    assert es.job_state('big') == 'closed'


def test_open_timeout_408(emu_factory):
    es = Client(emu_factory('8.19.0', open_seconds=0.6))
    es.put_job('j1')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_open?timeout=100ms')
    assert resp.status == 408 and err(resp) == ('status_exception', 'Opening job [j1] timed out after [100ms]')
    assert es.job_state('j1') == 'opening'


def test_unknown_ids_404(es):
    for method, path in (('POST', '/_ml/anomaly_detectors/nope/_open'), ('POST', '/_ml/anomaly_detectors/nope/_close'),
                         ('DELETE', '/_ml/anomaly_detectors/nope'), ('DELETE', '/_ml/anomaly_detectors/nope?force=true'),
                         ('GET', '/_ml/anomaly_detectors/nope'), ('GET', '/_ml/anomaly_detectors/nope/_stats')):
        resp = es(method, path)
        assert resp.status == 404, path
        assert err(resp) == ('resource_not_found_exception', JOB_404 % 'nope')
        assert resp.body['error']['root_cause'] == [{'type': 'resource_not_found_exception', 'reason': JOB_404 % 'nope'}]
    for method, path in (('POST', '/_ml/datafeeds/nope/_start'), ('POST', '/_ml/datafeeds/nope/_stop'),
                         ('DELETE', '/_ml/datafeeds/nope'), ('GET', '/_ml/datafeeds/nope/_stats')):
        resp = es(method, path)
        assert resp.status == 404 and err(resp)[1] == 'No datafeed with id [nope] exists', path


def test_id_expressions(es):
    es.put_job('b-job', groups=['grp'])
    es.put_job('a-job', groups=['grp'])
    es.put_job('c-other')

    def ids(resp):
        return [j['job_id'] for j in resp.body['jobs']]
    assert ids(es('GET', '/_ml/anomaly_detectors/_stats')) == ['a-job', 'b-job', 'c-other']
    assert ids(es('GET', '/_ml/anomaly_detectors/_all')) == ['a-job', 'b-job', 'c-other']
    assert ids(es('GET', '/_ml/anomaly_detectors/grp/_stats')) == ['a-job', 'b-job']
    assert ids(es('GET', '/_ml/anomaly_detectors/c-*,grp')) == ['a-job', 'b-job', 'c-other']
    assert es('GET', '/_ml/anomaly_detectors/missing-*').body == {'count': 0, 'jobs': []}
    resp = es('GET', '/_ml/anomaly_detectors/missing-*?allow_no_match=false')
    assert resp.status == 404 and err(resp)[1] == JOB_404 % 'missing-*'
    resp = es('GET', '/_ml/anomaly_detectors/a-job,x,y/_stats')
    assert resp.status == 404 and err(resp)[1] == JOB_404 % 'x,y'
    resp = es('POST', '/_ml/anomaly_detectors/nomatch-*/_close?allow_no_match=false')
    assert resp.status == 404 and err(resp)[1] == JOB_404 % 'nomatch-*'
    assert es('POST', '/_ml/anomaly_detectors/nomatch-*/_close').body == {'closed': True}
    es.emu.reset()
    resp = es('GET', '/_ml/anomaly_detectors/_all/_stats?allow_no_match=false')
    assert resp.status == 404 and err(resp)[1] == JOB_404 % '*'


def test_close_five_jobs_concurrently(emu_factory):
    es = Client(emu_factory('8.19.0', close_seconds=0.6))
    for i in range(5):
        es.put_job('c%d' % i)
        es('POST', '/_ml/anomaly_detectors/c%d/_open' % i)
    seen = []

    def poll():
        time.sleep(0.2)
        seen.extend(j['state'] for j in es('GET', '/_ml/anomaly_detectors/c*/_stats').body['jobs'])

    thread = threading.Thread(target=poll)
    thread.start()
    start = time.monotonic()
    assert es('POST', '/_ml/anomaly_detectors/c0,c1,c2,c3,c4/_close').body == {'closed': True}
    elapsed = time.monotonic() - start
    thread.join()
    assert 0.55 <= elapsed < 1.2
    assert seen == ['closing'] * 5
    assert [j['state'] for j in es('GET', '/_ml/anomaly_detectors/_stats').body['jobs']] == ['closed'] * 5


def test_close_timeout_then_continues(es):
    es.put_job('j1')
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_close', {'timeout': '0.1s'})
    assert resp.status == 500 and err(resp)[1] == 'Timed out when waiting for persistent tasks after 0.1s'
    assert es.job_state('j1') == 'closing'
    time.sleep(0.5)
    assert es.job_state('j1') == 'closed'


def test_body_wins_over_query_params(es):
    es.put_job('j1')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_close?force=true', {'timeout': '1s'})
    assert resp.status == 400
    assert err(resp) == ('illegal_argument_exception',
                         'request [/_ml/anomaly_detectors/j1/_close] contains unrecognized parameter: [force]')
    assert es('POST', '/_ml/anomaly_detectors/j1/_close', {'force': True, 'allow_no_match': True}).body == {'closed': True}


def test_unrecognized_parameters(es):
    es.put_job('j1')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_close?forse=true&zzz=1')
    assert resp.status == 400
    assert err(resp)[1] == ('request [/_ml/anomaly_detectors/j1/_close] contains unrecognized parameters: '
                            '[forse] -> did you mean [force]?, [zzz]')
    assert es('GET', '/_ml/anomaly_detectors/j1?pretty&human=true&error_trace=false').status == 200
    resp = es('DELETE', '/_ml/anomaly_detectors/j1?delete_user_annotations=true')
    assert resp.status == 200


def test_delete_user_annotations_gate(emu_factory):
    es = Client(emu_factory('8.6.0'))
    es.put_job('j1')
    resp = es('DELETE', '/_ml/anomaly_detectors/j1?delete_user_annotations=true')
    assert resp.status == 400 and 'unrecognized parameter: [delete_user_annotations]' in err(resp)[1]


def test_delete_wait_for_completion_false(es):
    es.put_job('j1')
    resp = es('DELETE', '/_ml/anomaly_detectors/j1?wait_for_completion=false')
    assert resp.status == 200 and list(resp.body) == ['task'] and ':' in resp.body['task']
    task = es('GET', '/_tasks/' + resp.body['task'] + '?wait_for_completion=true').body
    assert task['completed'] is True and task['response'] == {'acknowledged': True}
    assert es('GET', '/_ml/anomaly_detectors/j1').status == 404


def test_error_trace_and_filter_path(es):
    resp = es('GET', '/_ml/anomaly_detectors/nope?error_trace=true')
    assert 'stack_trace' in resp.body['error']
    es.put_job('j1')
    assert es('GET', '/_ml/anomaly_detectors/j1/_stats?filter_path=jobs.state,count').body == {'count': 1, 'jobs': [{'state': 'closed'}]}


@pytest.mark.parametrize('version,close_blocked,delete_refers', [
    ('6.8.23', True, True), ('7.10.2', True, True), ('7.13.4', True, True), ('7.14.2', False, True),
    ('7.15.2', False, False), ('7.17.0', False, False), ('8.19.0', False, False), ('9.1.0', False, False)])
def test_datafeed_interplay_by_version(emu_factory, version, close_blocked, delete_refers):
    es = Client(emu_factory(version))
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    es.put_job('j1', base=base)
    es.put_datafeed('d1', 'j1', base=base)
    es('POST', base + '/anomaly_detectors/j1/_open')
    resp = es('POST', base + '/datafeeds/d1/_start')
    assert resp.status == 200
    assert ('node' in resp.body) is (not version.startswith('6'))
    df = es('GET', base + '/datafeeds/d1/_stats').body['datafeeds'][0]
    assert df['state'] == 'started'
    assert ('running_state' in df) is (version >= '7.14' or version.startswith('8') or version.startswith('9'))
    start = time.monotonic()
    resp = es('POST', base + '/anomaly_detectors/j1/_close')
    if close_blocked:
        assert resp.status == 409
        assert err(resp) == ('status_exception', "cannot close job datafeed [d1] hasn't been stopped")
        assert es('POST', base + '/anomaly_detectors/j1/_close?force=true').status == 409
        assert es('POST', base + '/datafeeds/d1/_stop').body == {'stopped': True}
        assert es('POST', base + '/anomaly_detectors/j1/_close').body == {'closed': True}
    else:
        assert resp.status == 200 and resp.body == {'closed': True}
        assert time.monotonic() - start >= 0.9   # stop-seconds (datafeed) + close-seconds
        assert es('GET', base + '/datafeeds/d1/_stats').body['datafeeds'][0]['state'] == 'stopped'
    resp = es('DELETE', base + '/anomaly_detectors/j1')
    if delete_refers:
        assert resp.status == 409 and err(resp)[1] == 'Cannot delete job [j1] because datafeed [d1] refers to it'
    else:
        assert resp.body == {'acknowledged': True}
        assert es('GET', base + '/datafeeds/d1').status == 404


def test_datafeed_lifecycle(es):
    es.put_job('j1')
    es.put_datafeed('d1', 'j1')
    resp = es('POST', '/_ml/datafeeds/d1/_start')
    assert resp.status == 409 and err(resp)[1] == 'cannot start datafeed [d1] because job [j1] is closed'
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    assert es('POST', '/_ml/datafeeds/d1/_start?start=0').body['started'] is True
    resp = es('POST', '/_ml/datafeeds/d1/_start')
    assert resp.status == 409 and err(resp)[1] == 'cannot start datafeed [d1] because it has already been started'
    resp = es('DELETE', '/_ml/datafeeds/d1')
    assert resp.status == 409 and err(resp)[1] == 'Cannot delete datafeed [d1] while its status is started'
    resp = es('DELETE', '/_ml/anomaly_detectors/j1')
    assert resp.status == 409 and err(resp)[1] == 'Cannot delete job [j1] because the job is opened'
    seen = []
    thread = threading.Thread(target=lambda: (time.sleep(0.2), seen.append(es('GET', '/_ml/datafeeds/d1/_stats').body)))
    thread.start()
    assert es('POST', '/_ml/datafeeds/d1/_stop').body == {'stopped': True}
    thread.join()
    assert seen[0]['datafeeds'][0]['state'] == 'stopping'
    assert es('POST', '/_ml/datafeeds/d1/_stop').body == {'stopped': True}
    resp = es('POST', '/_ml/datafeeds/d1/_start?start=2000&end=1000')
    assert resp.status == 400 and 'start [2000] must be earlier than end [1000]' in err(resp)[1]
    es('POST', '/_ml/datafeeds/d1/_start')
    assert es('POST', '/_ml/datafeeds/d1/_stop?force=true').body == {'stopped': True}
    assert es('GET', '/_ml/datafeeds/d1/_stats').body['datafeeds'][0]['state'] == 'stopped'
    es('POST', '/_ml/datafeeds/d1/_start')
    resp = es('DELETE', '/_ml/anomaly_detectors/j1')
    assert resp.status == 409 and err(resp)[1] == 'Cannot delete job [j1] because the job is opened'
    resp = es('DELETE', '/_ml/anomaly_detectors/j1?force=true')
    assert resp.body == {'acknowledged': True}
    assert es('GET', '/_ml/datafeeds').body == {'count': 0, 'datafeeds': []}


def test_paths_and_deprecations_by_version(emu_factory):
    es = Client(emu_factory('6.8.23'))
    assert es('GET', '/_ml/info').status == 400
    resp = es('GET', '/_xpack/ml/anomaly_detectors?allow_no_jobs=true')
    assert resp.status == 200 and resp.warnings() == []
    assert es('GET', '/_xpack/ml/anomaly_detectors?allow_no_match=true').status == 400
    assert es('GET', '/_xpack/rollup/job/_all').status == 200
    es = Client(emu_factory('7.17.0'))
    resp = es('POST', '/_xpack/ml/anomaly_detectors/x/_close')
    assert resp.status == 404
    assert len(resp.warnings()) == 1 and resp.warnings()[0].startswith('299 Elasticsearch-7.17.0-')
    assert '[POST /_xpack/ml/anomaly_detectors/{job_id}/_close] is deprecated! Use [POST /_ml/anomaly_detectors/{job_id}/_close] instead.' \
        in resp.warnings()[0]
    resp = es('GET', '/_ml/anomaly_detectors?allow_no_jobs=false')
    assert resp.status == 404 and 'Deprecated field [allow_no_jobs] used, expected [allow_no_match] instead' in resp.warnings()[0]
    es = Client(emu_factory('8.19.0'))
    assert es('GET', '/_xpack/ml/anomaly_detectors').status == 400
    assert es('GET', '/_ml/anomaly_detectors?allow_no_jobs=true').status == 400
    compat = {'Accept': 'application/vnd.elasticsearch+json;compatible-with=7',
              'Content-Type': 'application/vnd.elasticsearch+json;compatible-with=7'}
    resp = es('GET', '/_xpack/ml/anomaly_detectors?allow_no_jobs=true', headers=compat)
    assert resp.status == 200 and len(resp.warnings()) == 2
    assert resp.headers['Content-Type'] == 'application/vnd.elasticsearch+json;compatible-with=7'
    es = Client(emu_factory('9.1.0'))
    assert es('GET', '/_xpack/ml/anomaly_detectors', headers=compat).status == 400
    assert es('GET', '/_ml/anomaly_detectors?allow_no_jobs=true').status == 400


def test_6x_warning_has_date(emu_factory):
    es = Client(emu_factory('7.17.0'))
    assert es('GET', '/_xpack/ml/info').warnings()[0].count('"') == 2
    es = Client(emu_factory('6.8.23'))
    assert es('GET', '/_xpack/rollup/job/_all').status == 200


def test_upgrade_mode(es):
    es.put_job('j1')
    es.put_datafeed('d1', 'j1')
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    es('POST', '/_ml/datafeeds/d1/_start')
    assert es('GET', '/_ml/info').body['upgrade_mode'] is False
    assert es('POST', '/_ml/set_upgrade_mode?enabled=true').body == {'acknowledged': True}
    assert es('GET', '/_ml/info').body['upgrade_mode'] is True
    stats = es('GET', '/_ml/anomaly_detectors/j1/_stats').body['jobs'][0]
    assert stats['state'] == 'opened' and 'node' not in stats
    assert stats['assignment_explanation'] == 'persistent task cannot be assigned while upgrade mode is enabled.'
    df = es('GET', '/_ml/datafeeds/d1/_stats').body['datafeeds'][0]
    assert df['state'] == 'started' and df['assignment_explanation'] == 'persistent task cannot be assigned while upgrade mode is enabled.'
    for method, path, action in (('POST', '/_ml/anomaly_detectors/j1/_close', 'cluster:admin/xpack/ml/job/close'),
                                 ('POST', '/_ml/anomaly_detectors/j1/_open', 'cluster:admin/xpack/ml/job/open'),
                                 ('DELETE', '/_ml/anomaly_detectors/j1', 'cluster:admin/xpack/ml/job/delete'),
                                 ('POST', '/_ml/datafeeds/d1/_stop', 'cluster:admin/xpack/ml/datafeed/stop')):
        resp = es(method, path)
        assert resp.status == 429
        assert err(resp) == ('status_exception', 'Cannot perform %s action while upgrade mode is enabled' % action)
    assert es('POST', '/_ml/set_upgrade_mode?enabled=true').body == {'acknowledged': True}
    es('POST', '/_ml/set_upgrade_mode?enabled=false')
    assert es('GET', '/_ml/anomaly_detectors/j1/_stats').body['jobs'][0]['assignment_explanation'] == ''


def test_license_non_compliant(es):
    es.put_job('j1')
    resp = es('POST', '/_license/start_basic')
    assert resp.body['acknowledged'] is False
    resp = es('POST', '/_license/start_basic?acknowledge=true')
    assert resp.body == {'acknowledged': True, 'basic_was_started': True}
    assert es('GET', '/_license').body['license']['type'] == 'basic'
    resp = es('POST', '/_ml/anomaly_detectors/j1/_open')
    assert resp.status == 403
    assert resp.body['error']['license.expired.feature'] == 'ml'
    assert err(resp) == ('security_exception', 'current license is non-compliant for [ml]')
    assert es('GET', '/_ml/anomaly_detectors/j1/_stats').status == 200
    es.emu.reset()
    es.emu.set_license('expired')
    es.emu.control('POST', 'license', {'status': 'expired'})
    assert es('GET', '/_license').body['license']['status'] == 'expired'
    resp = es('PUT', '/_ml/anomaly_detectors/j2', {'analysis_config': {'detectors': [{'function': 'count'}]}, 'data_description': {}})
    assert resp.status == 403


def test_unknown_route_shapes(emu_factory):
    es = Client(emu_factory('8.19.0'))
    resp = es('GET', '/_ml/nothing')
    assert resp.status == 400
    assert err(resp) == ('illegal_argument_exception', 'no handler found for uri [/_ml/nothing] and method [GET]')
    resp = es('DELETE', '/_ml/info')
    assert resp.status == 405 and 'Incorrect HTTP method for uri [/_ml/info] and method [DELETE]' in resp.body['error']
    es = Client(emu_factory('7.17.0'))
    assert es('GET', '/_ml/nothing').body == {'error': 'no handler found for uri [/_ml/nothing] and method [GET]', 'status': 400}


@pytest.mark.parametrize('version, error_type', [('6.8.23', 'too_long_frame_exception'),
                                                 ('8.19.0', 'too_long_http_line_exception')])
def test_request_lines_over_4kb_are_refused_before_routing(emu_factory, version, error_type):
    # http.max_initial_line_length (4kb): Netty refuses the line, so the ids are never looked at.
    es = Client(emu_factory(version))
    base = '/_xpack/ml' if version.startswith('6.') else '/_ml'
    es.put_job('j1', base=base)
    prefix = 'GET %s/anomaly_detectors/' % base
    suffix = '/_stats HTTP/1.1'
    fits = 'j1,' + ','.join(['x' * 60] * 100)
    fits = fits[:4096 - len(prefix) - len(suffix) - 1] + 'z'
    assert len(prefix + fits + suffix) == 4096
    resp = es('GET', '%s/anomaly_detectors/%s/_stats' % (base, fits))
    assert resp.status == 404 and err(resp)[0] == 'resource_not_found_exception'   # routed: 4096 bytes are allowed
    resp = es('GET', '%s/anomaly_detectors/%s,y/_stats' % (base, fits))
    assert resp.status == 400
    assert err(resp) == (error_type, 'An HTTP line is larger than 4096 bytes.')
