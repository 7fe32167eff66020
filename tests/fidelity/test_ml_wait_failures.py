"""What open and close answer when the job's task fails while they wait (issue 13).

Sources, elastic/elasticsearch x-pack/plugin/ml/src/main/java/org/elasticsearch/xpack/ml/:
* action/TransportOpenJobAction.java, JobPredicate (6.8, 7.x, 8.x/9.x): FAILED ends the open's wait at once with
  ExceptionsHelper.serverError("Unexpected job state [failed] ... while waiting for job to be opened") (500, type
  ``exception``; 8.x/9.x add "with reason [..] "); CLOSING ends it with a 409; no task (CLOSED) keeps waiting.
* action/TransportCloseJobAction.java: the node operation (taskOperation -> AutodetectProcessManager.closeJob) marks a
  job whose close fails as failed and throws serverError("Exception closing autodetect process"), rethrown by
  newResponse (9.x via ExceptionsHelper.taskOperationFailureToStatusException: ``status_exception``); waitForJobClosed
  only waits for the persistent task to disappear, which a failed task never does, so a request that merely waits for
  a job another request is closing runs to its timeout.
"""

import threading
import time

import pytest

from .conftest import Client


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


def fail_later(emu, job_id, delay, reason='boom'):
    thread = threading.Timer(delay, emu.fail_ml_job, args=(job_id,), kwargs={'reason': reason})
    thread.start()
    return thread


@pytest.mark.parametrize('version, with_reason', [('6.8.23', False), ('7.13.4', False), ('8.19.0', True),
                                                  ('9.1.0', True)])
def test_open_answers_500_at_once_when_the_job_fails_while_opening(emu_factory, version, with_reason):
    emu = emu_factory(version, open_seconds=5)
    es = Client(emu)
    base = '/_xpack/ml' if version.startswith('6.') else '/_ml'
    es.put_job('j1', base=base)
    timer = fail_later(emu, 'j1', 0.3)
    start = time.monotonic()
    resp = es('POST', base + '/anomaly_detectors/j1/_open?timeout=30s')
    elapsed = time.monotonic() - start
    timer.join()
    assert resp.status == 500
    reason = 'with reason [boom] ' if with_reason else ''
    assert err(resp) == ('exception', 'Unexpected job state [failed] %swhile waiting for job to be opened' % reason)
    assert elapsed < 2, 'the open must answer when the job fails, not at its timeout'
    assert es.job_state('j1', base=base) == 'failed'


def test_open_answers_409_when_the_job_is_closed_while_opening(emu_factory):
    emu = emu_factory('8.19.0', open_seconds=5, close_seconds=0.2)
    es = Client(emu)
    es.put_job('j1')
    closer = threading.Timer(0.3, es, args=('POST', '/_ml/anomaly_detectors/j1/_close'))
    closer.start()
    resp = es('POST', '/_ml/anomaly_detectors/j1/_open?timeout=30s')
    closer.join()
    assert resp.status == 409
    assert err(resp) == ('status_exception', 'The job has been closed while waiting to be opened')


@pytest.mark.parametrize('version, error_type', [('6.8.23', 'exception'), ('7.17.0', 'exception'),
                                                 ('9.1.0', 'status_exception')])
def test_close_answers_500_when_the_job_fails_while_this_request_closes_it(emu_factory, version, error_type):
    emu = emu_factory(version, close_seconds=5)
    es = Client(emu)
    base = '/_xpack/ml' if version.startswith('6.') else '/_ml'
    es.put_job('j1', base=base)
    es('POST', base + '/anomaly_detectors/j1/_open')
    timer = fail_later(emu, 'j1', 0.3)
    start = time.monotonic()
    resp = es('POST', base + '/anomaly_detectors/j1/_close?timeout=30s')
    elapsed = time.monotonic() - start
    timer.join()
    assert resp.status == 500 and err(resp) == (error_type, 'Exception closing autodetect process')
    assert elapsed < 2
    assert es.job_state('j1', base=base) == 'failed'


def test_a_close_waiting_for_a_job_that_fails_runs_to_its_timeout(emu_factory):
    emu = emu_factory('8.19.0', close_seconds=5)
    es = Client(emu)
    es.put_job('j1')
    es('POST', '/_ml/anomaly_detectors/j1/_open')
    first = threading.Thread(target=es, args=('POST', '/_ml/anomaly_detectors/j1/_close?timeout=1s'))
    first.start()
    time.sleep(0.2)
    assert es.job_state('j1') == 'closing'
    timer = fail_later(emu, 'j1', 0.3)
    start = time.monotonic()
    resp = es('POST', '/_ml/anomaly_detectors/j1/_close?timeout=1500ms')
    elapsed = time.monotonic() - start
    timer.join()
    first.join()
    assert resp.status == 500
    assert err(resp) == ('illegal_state_exception', 'Timed out when waiting for persistent tasks after 1500ms')
    assert elapsed >= 1.4, 'the failed task never disappears: the wait runs to its timeout'
    assert es.job_state('j1') == 'failed'
