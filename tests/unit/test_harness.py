# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness itself (tests/unit/conftest.py): module waits run on the emulator's manual clock, the real client
talks to the in-process emulator, other hosts refuse, and results are what the module printed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Poller
from ansible_collections.esops.jobs.plugins.modules import ml_job_state
from ansible_collections.esops.jobs.tests.emulator.state import Timings


@pytest.mark.parametrize('es', [dict(timings=Timings(close_seconds=600))], indirect=True)
def test_a_ten_minute_close_takes_no_real_time(es, run_module):
    es.add_job('web', 'opened')
    real = time.monotonic()
    before = es.clock.monotonic()
    failed, result = run_module(ml_job_state.main, dict(job_id='web', state='closed', timeout='30m'))
    assert not failed and result['jobs'][0]['state_after'] == 'closed'
    assert 600 <= es.clock.monotonic() - before < 700      # virtual: the close took its 600 s
    assert time.monotonic() - real < 5                      # real: no sleeping
    closes = [r for r in es.requests() if r['path'].endswith('/_close')]
    assert len(closes) >= 2                                 # bounded server-side waits, repeated until closed


def test_pollers_and_client_backoff_sleep_on_the_emulator_clock(es, es_clock):
    before = es_clock.monotonic()
    Poller().sleep(12.5)
    assert es_clock.monotonic() - before == 12.5
    es.faults(method='GET', path_regex='^/$', status=503, times=1)
    client = es.client(retry_backoff=4.0)
    assert client.info()['version']['number'] == '8.19.3'
    assert [r['status'] for r in es.requests()] == [503, 200]


def test_hosts_that_are_no_emulator_refuse_the_connection(es, run_module):
    es.add_job('web', 'opened')
    failed, result = run_module(ml_job_state.main, dict(job_id='web', hosts=['http://elsewhere.test:9200', es.url]))
    assert not failed, result                   # failover to the emulator
    failed, result = run_module(ml_job_state.main, dict(job_id='web', hosts=['http://elsewhere.test:9200'], retries=0))
    assert failed and 'cannot reach Elasticsearch at http://elsewhere.test:9200' in result['msg']


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_results_are_the_printed_json_with_secrets_masked(es, run_module):
    es.add_job('web', 'closed')
    failed, result = run_module(ml_job_state.main, dict(job_id='web', hosts=['http://elastic:changeme@%s' % es.host]))
    assert not failed and result['changed'] is False
    assert 'changeme' not in repr(result)
    assert result['cluster']['version'] == '8.19.3'
    assert [r['authorization'] for r in es.requests()] == ['Basic'] * len(es.requests())


@pytest.mark.parametrize('es', ['6.8.23', '9.1.5'], indirect=True)
def test_add_job_opening_leaves_the_job_opening(es):
    # _open waits server-side until the job is opened; the set-up must not let it (in virtual time) get there.
    es.add_job('slow', 'opening')
    assert es.state()['ml_jobs'] == {'slow': 'opening'}
    es.advance(es.cluster.timings.open_seconds)
    assert es.state()['ml_jobs'] == {'slow': 'opened'}


@pytest.mark.parametrize('es', [dict(version='6.8.23', security=True), dict(version='9.1.5', security=True)],
                         indirect=True)
def test_the_request_log_marks_reads_served_on_post_as_not_mutating(es):
    # One rule for every suite (tests/emulator/control.py is_mutation): unit tests, reliability and molecule count
    # mutations from the log's `mutating` flag.
    security = '/_xpack/security' if es.version.startswith('6.') else '/_security'
    es.call('POST', security + '/user/_has_privileges', {'cluster': ['manage_ml']}, log=True)
    es.call('GET', security + '/_authenticate', log=True)
    es.call('POST', '/src/_search', {}, log=True)
    es.call('PUT', '/src', {}, log=True)
    assert [(r['method'], r['path'], r['mutating']) for r in es.requests()] == [
        ('POST', security + '/user/_has_privileges', False), ('GET', security + '/_authenticate', False),
        ('POST', '/src/_search', False), ('PUT', '/src', True)]
    assert es.mutations() == [('PUT', '/src')]
