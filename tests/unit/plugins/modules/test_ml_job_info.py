# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_job_info end to end with a fake ES."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import ml_job_info
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_ml_es import FakeMlEs
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module


def cluster(version='8.19.3'):
    es = FakeMlEs(version)
    es.add_job('web', state='opened', groups=['g1'])
    es.add_datafeed('datafeed-web', 'web', state='started')
    es.add_job('db', state='closed')
    return es


@pytest.mark.parametrize('version', ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5'])
@pytest.mark.parametrize('check_mode', [False, True])
def test_reads_everything_by_default(version, check_mode):
    es = cluster(version)
    failed, result = run_module(ml_job_info.main, {}, es, check_mode=check_mode)
    assert not failed and result['changed'] is False
    assert [job['job_id'] for job in result['jobs']] == ['db', 'web']
    assert result['jobs'][1]['datafeed'] == {'datafeed_id': 'datafeed-web', 'state': 'started'}
    assert result['jobs'][1]['node'] == 'node-1'
    assert result['upgrade_mode'] is False
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    assert es.calls[0][1] == base + '/anomaly_detectors/_all/_stats'
    assert es.mutations() == []


def test_job_id_list_and_allow_no_match():
    es = cluster()
    failed, result = run_module(ml_job_info.main, dict(job_id=['g1', 'nomatch-*'], allow_no_match=True), es)
    assert not failed and [job['job_id'] for job in result['jobs']] == ['web']
    failed, result = run_module(ml_job_info.main, dict(job_id=['nomatch-*'], allow_no_match=False), es)
    assert failed and result['status'] == 404 and "No known job with id 'nomatch-*'" in result['msg']


def test_bad_id():
    es = cluster()
    failed, result = run_module(ml_job_info.main, dict(job_id='Web'), es)
    assert failed and result['msg'].startswith("job_id: 'Web' is not a valid id") and es.calls == []


@pytest.mark.parametrize('version', ['6.8.23', '8.19.3'])
def test_include_put_config_returns_putable_job_and_datafeed_configs_from_the_same_reads(version):
    es = cluster(version)
    _failed, plain = run_module(ml_job_info.main, {}, es)
    reads = len(es.calls)
    failed, result = run_module(ml_job_info.main, {'include_put_config': True}, es)
    assert not failed
    assert len(es.calls) - reads == reads   # no extra request
    web = result['jobs'][1]
    assert web['config']['job_type'] == 'anomaly_detector'          # the raw config is unchanged
    assert web['put_config'] == {'job_id': 'web', 'groups': ['g1'], 'analysis_config': {'bucket_span': '15m'}}
    assert web['datafeed']['put_config'] == {'datafeed_id': 'datafeed-web', 'job_id': 'web', 'indices': ['idx']}
    assert result['jobs'][0]['datafeed'] is None
    assert 'put_config' not in plain['jobs'][1] and 'put_config' not in plain['jobs'][1]['datafeed']
