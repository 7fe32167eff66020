"""The in-process emulator (tests/emulator/inprocess.py) and its manual clock: the same answers as the socket
emulator, in virtual time.

What ES does is proven by the other fidelity files over the socket; these cases prove that the in-process path
runs the same App.handle (same bodies, headers, request log, faults) and that a ManualClock moves only when told,
runs due events in order, and lets server-side waits advance it to exactly their condition or timeout."""

import time

import pytest

from tests.emulator.clock import ManualClock
from tests.emulator.inprocess import SUPPORTED_VERSIONS, InProcessEmulator
from tests.emulator.state import Cluster, Timings
from tests.emulator.versions import Personality


def test_manual_clock_runs_due_events_in_order_each_at_its_own_time():
    clock = ManualClock()
    cluster = Cluster(Personality('8.19.3'), Timings(), clock=clock)
    seen = []
    cluster.schedule(2.0, lambda when: seen.append(('b', when, clock.monotonic())))
    cluster.schedule(1.0, lambda when: seen.append(('a', when, clock.monotonic())))
    cancelled = cluster.schedule(1.5, lambda when: seen.append(('never', when)))
    cancelled.cancel()
    start = clock.monotonic()
    clock.advance(0.5)
    assert seen == []
    clock.advance(5)
    assert seen == [('a', start + 1.0, start + 1.0), ('b', start + 2.0, start + 2.0)]
    assert clock.monotonic() == start + 5.5


def test_wait_for_advances_to_the_condition_or_exactly_the_timeout():
    clock = ManualClock()
    cluster = Cluster(Personality('8.19.3'), Timings(), clock=clock)
    flag = []
    cluster.schedule(3.0, flag.append)
    start = clock.monotonic()
    assert cluster.wait_for(lambda: flag, 10.0)
    assert clock.monotonic() == start + 3.0
    assert not cluster.wait_for(lambda: False, 7.5)
    assert clock.monotonic() == start + 10.5


@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
def test_close_with_a_short_timeout_answers_at_the_timeout_in_virtual_time(version):
    es = InProcessEmulator(version, timings=Timings(close_seconds=5.0))
    es.put_job('j1')
    es.open_job('j1')
    before = es.clock.monotonic()
    real = time.monotonic()
    status, body = es.call('POST', es.ml_path('anomaly_detectors', 'j1', '_close'), params={'timeout': '2s'})
    assert time.monotonic() - real < 1.0, 'nothing may really sleep'
    assert es.clock.monotonic() - before == pytest.approx(2.0)
    assert status == 500 and body['error']['type'] == 'illegal_state_exception', body
    es.advance(3.0)
    assert es.state()['ml_jobs'] == {'j1': 'closed'}


def test_request_log_faults_and_drop_connection_go_through_the_one_dispatch_path():
    es = InProcessEmulator('8.19.3')
    es.faults(method='GET', path_regex='^/_ml/info$', status=503, times=1)
    status, body = es.call('GET', '/_ml/info', log=True)
    assert status == 503 and body['error']['type'] == 'emulator_injected_fault'
    assert es.call('GET', '/_ml/info', log=True)[0] == 200
    assert [(r['method'], r['path'], r['status']) for r in es.requests()] == [('GET', '/_ml/info', 503), ('GET', '/_ml/info', 200)]
    es.faults(path_regex='^/$', delay_ms=1500, drop_connection=True, times=1)
    before = es.clock.monotonic()
    status, _headers, payload = es.app.handle('GET', '/', {}, b'')
    assert (status, payload) == (0, b'')
    assert es.clock.monotonic() - before == pytest.approx(1.5)


def test_opener_raises_like_open_url():
    from urllib.error import HTTPError, URLError  # pylint: disable=import-outside-toplevel
    es = InProcessEmulator('8.19.3', security=True)
    with pytest.raises(HTTPError) as info:
        es.opener(es.url + '/_ml/info', method='GET')
    assert info.value.code == 401
    response = es.opener(es.url + '/_ml/info', method='GET', url_username='elastic', url_password='changeme',
                         force_basic_auth=True)
    assert response.getcode() == 200 and response.headers.get('X-Elastic-Product') == 'Elasticsearch'
    es.faults(path_regex='^/$', delay_ms=40000, times=1)
    with pytest.raises(URLError) as timed_out:
        es.opener(es.url + '/', method='GET', timeout=30, url_username='elastic', url_password='changeme',
                  force_basic_auth=True)
    assert 'timed out' in str(timed_out.value.reason)


def test_rollup_cron_fires_on_the_manual_clock():
    es = InProcessEmulator('8.19.3', timings=Timings(stop_seconds=1.0))
    es.put_rollup_job('r1', cron='*/10 * * * * ?')
    es.start_rollup_job('r1')
    es.advance(10.0)
    assert es.state()['rollup_jobs'] == {'r1': 'indexing'}
    es.advance(1.0)
    assert es.state()['rollup_jobs'] == {'r1': 'started'}
