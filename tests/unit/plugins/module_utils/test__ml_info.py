# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather_jobs: the job view of ml_job_info, a fixed number of requests per version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._ml_info import gather_jobs
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_ml_es import FakeMlEs

VERSIONS = ['6.8.23', '7.9.3', '7.13.4', '7.17.28', '8.19.3', '9.1.5']


def populated(version):
    es = FakeMlEs(version)
    es.add_job('web-latency', state='opened', groups=['web'], description='p95 latency')
    es.add_job('web-errors', state='closed', groups=['web'])
    es.add_job('batch', state='failed')
    es.add_datafeed('datafeed-web-latency', 'web-latency', state='started')
    es.add_datafeed('datafeed-batch', 'batch', state='stopped')
    return es


@pytest.mark.parametrize('version', VERSIONS)
def test_shape_and_request_count(version):
    es = populated(version)
    result = gather_jobs(es, ['_all'])
    assert [job['job_id'] for job in result['jobs']] == ['batch', 'web-errors', 'web-latency']
    latency = result['jobs'][2]
    assert latency == dict(
        job_id='web-latency', state='opened', groups=['web'], description='p95 latency',
        datafeed=dict(datafeed_id='datafeed-web-latency', state='started'), node='node-1',
        assignment_explanation=None, open_time='13s',
        config=dict(job_id='web-latency', job_type='anomaly_detector', analysis_config=dict(bucket_span='15m'),
                    groups=['web'], description='p95 latency'))
    errors = result['jobs'][1]
    assert errors['datafeed'] is None and errors['node'] is None and errors['open_time'] is None
    assert errors['description'] is None
    assert result['jobs'][0]['groups'] == [] and result['jobs'][0]['datafeed']['state'] == 'stopped'
    assert result['upgrade_mode'] is False
    # job stats, job configs, datafeed stats, datafeed configs, ML info: never one request per job
    assert len(es.calls) == 5
    assert all(method == 'GET' for method, _p, _params in es.calls)


@pytest.mark.parametrize('version,param', [('6.8.23', 'allow_no_jobs'), ('7.9.3', 'allow_no_jobs'), ('8.19.3', 'allow_no_match')])
def test_allow_no_match_name_per_version(version, param):
    es = populated(version)
    gather_jobs(es, ['web-*'], allow_no_match=False)
    assert es.calls[0][2] == {param: False}


def test_selection_by_group_and_pattern():
    es = populated('8.19.3')
    assert [job['job_id'] for job in gather_jobs(es, ['web'])['jobs']] == ['web-errors', 'web-latency']
    assert [job['job_id'] for job in gather_jobs(es, ['bat*', 'web-errors'])['jobs']] == ['batch', 'web-errors']


def test_no_match_reads_only_stats_and_info():
    es = populated('8.19.3')
    result = gather_jobs(es, ['nothing-*'])
    assert result == dict(jobs=[], upgrade_mode=False)
    assert [path for _m, path, _p in es.calls] == ['/_ml/anomaly_detectors/nothing-*/_stats', '/_ml/info']


def test_missing_exact_id_raises():
    es = populated('8.19.3')
    with pytest.raises(ElasticsearchError) as info:
        gather_jobs(es, ['nope'])
    assert info.value.status == 404


def test_upgrade_mode_view():
    es = populated('7.17.28')
    es.upgrade_mode = True
    result = gather_jobs(es, ['web-latency'])
    job = result['jobs'][0]
    assert result['upgrade_mode'] is True
    assert job['state'] == 'opened' and job['node'] is None
    assert job['assignment_explanation'] == 'persistent task cannot be assigned while upgrade mode is enabled.'


def test_upgrade_mode_is_null_before_6_7():
    es = populated('6.5.4')
    result = gather_jobs(es, ['_all'])
    assert result['upgrade_mode'] is None
    assert not [path for _m, path, _p in es.calls if path.endswith('/info')]


def test_a_job_id_list_too_long_for_one_request_line():
    # 70 ids of 63 characters: ES would refuse them in one URL (4kb request line).
    es = populated('8.19.3')
    ids = ['long-%02d-%s' % (i, 'x' * 55) for i in range(70)]
    for job_id in ids:
        es.add_job(job_id, state='opened' if job_id.startswith('long-00') else 'closed', groups=['long'])
    result = gather_jobs(es, ids + ['web', 'batch*'])
    assert [job['job_id'] for job in result['jobs']] == sorted(ids + ['batch', 'web-errors', 'web-latency'])
    first = dict((job['job_id'], job) for job in result['jobs'])[ids[0]]
    assert (first['job_id'], first['state'], first['node'], first['open_time'], first['groups']) == (
        ids[0], 'opened', 'node-1', '13s', ['long'])
    assert result['jobs'][-1]['datafeed'] == dict(datafeed_id='datafeed-web-latency', state='started')
    reads = [(path, params) for _method, path, params in es.calls if '/anomaly_detectors' in path]
    assert reads == [
        ('/_ml/anomaly_detectors/_all/_stats', {
            'allow_no_match': True,
            'filter_path': 'jobs.job_id,jobs.state,jobs.node.name,jobs.assignment_explanation,jobs.open_time'}),
        ('/_ml/anomaly_detectors/web,batch*/_stats', {'allow_no_match': True}),
        ('/_ml/anomaly_detectors/_all', {'allow_no_match': True}),
    ]


def test_a_long_list_with_a_missing_id_is_elasticsearchs_404():
    es = populated('8.19.3')
    ids = ['long-%02d-%s' % (i, 'x' * 55) for i in range(70)]
    for job_id in ids:
        es.add_job(job_id)
    with pytest.raises(ElasticsearchError) as info:
        gather_jobs(es, ids + ['no-such-job'])
    assert info.value.status == 404 and 'no-such-job' in str(info.value)
