# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_job_info end to end against the in-process emulator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import ml_job_info
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS
from ansible_collections.esops.jobs.tests.emulator.state import NODE_NAME


def cluster(es):
    es.add_job('web', 'opened', datafeed_state='started', groups=['g1'])
    es.add_job('db', 'closed')
    return es


@pytest.fixture
def run(run_module):
    return lambda args, **kwargs: run_module(ml_job_info.main, args, **kwargs)


@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
@pytest.mark.parametrize('check_mode', [False, True])
def test_reads_everything_by_default(es, run, check_mode):
    cluster(es)
    failed, result = run({}, check_mode=check_mode)
    assert not failed and result['changed'] is False
    assert [job['job_id'] for job in result['jobs']] == ['db', 'web']
    assert result['jobs'][1]['datafeed'] == {'datafeed_id': 'datafeed-web', 'state': 'started'}
    assert result['jobs'][1]['node'] == NODE_NAME
    assert result['upgrade_mode'] is False
    stats = [r['path'] for r in es.requests() if r['path'].endswith('/_stats')]
    assert stats[0] == es.ml_path('anomaly_detectors', '_all', '_stats')
    assert es.mutating_requests() == []


def test_job_id_list_and_allow_no_match(es, run):
    cluster(es)
    failed, result = run(dict(job_id=['g1', 'nomatch-*'], allow_no_match=True))
    assert not failed and [job['job_id'] for job in result['jobs']] == ['web']
    failed, result = run(dict(job_id=['nomatch-*'], allow_no_match=False))
    assert failed and result['status'] == 404 and "No known job with id 'nomatch-*'" in result['msg']


def test_bad_id(es, run):
    cluster(es)
    failed, result = run(dict(job_id='Web'))
    assert failed and result['msg'].startswith("job_id: 'Web' is not a valid id") and es.requests() == []


@pytest.mark.parametrize('version', ['6.8.23', '8.19.3'])
def test_include_put_config_returns_putable_job_and_datafeed_configs_from_the_same_reads(es_factory, run, version):
    es = cluster(es_factory(version))
    _failed, plain = run({})
    reads = len(es.requests())
    failed, result = run({'include_put_config': True})
    assert not failed
    assert len(es.requests()) - reads == reads   # no extra request
    web = result['jobs'][1]
    assert web['config']['job_type'] == 'anomaly_detector'          # the raw config is unchanged
    assert web['put_config']['job_id'] == 'web' and web['put_config']['groups'] == ['g1']
    assert 'create_time' not in web['put_config'] and 'job_type' not in web['put_config']
    assert web['datafeed']['put_config']['job_id'] == 'web' and web['datafeed']['put_config']['indices'] == ['data']
    assert result['jobs'][0]['datafeed'] is None
    assert 'put_config' not in plain['jobs'][1] and 'put_config' not in plain['jobs'][1]['datafeed']
    # PUT-able: another cluster of the same version takes both as they are.
    other = es_factory(version)
    other.put_index('data', {'properties': {'timestamp': {'type': 'date'}}})
    put_job = dict(web['put_config'])
    other.ok('PUT', other.ml_path('anomaly_detectors', put_job.pop('job_id')), put_job)
    put_feed = dict(web['datafeed']['put_config'])
    other.ok('PUT', other.ml_path('datafeeds', put_feed.pop('datafeed_id')), put_feed)
