# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather_jobs: the job view of ml_job_info, a fixed number of requests per version, against the in-process
emulator (tests/unit/conftest.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._ml_info import gather_jobs
from ansible_collections.esops.jobs.tests.emulator.state import NODE_NAME

VERSIONS = ['6.8.23', '7.9.3', '7.13.4', '7.17.28', '8.19.3', '9.1.5']
LONG_IDS = ['long-%02d-%s' % (i, 'x' * 55) for i in range(70)]


def populated(es, opened_for=13):
    es.add_job('web-errors', 'closed', groups=['web'])
    es.add_job('batch', 'failed', datafeed_state='stopped')
    es.add_job('web-latency', 'opened', groups=['web'], description='p95 latency', datafeed_state='started')
    es.advance(opened_for)   # open_time counts from the opening: 13s and the datafeed's start
    return es


def sent(es):
    """What gather_jobs sent, without the client's one version read (GET /)."""
    return [r for r in es.requests() if r['path'] != '/']


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_shape_and_request_count(es):
    populated(es)
    result = gather_jobs(es.client(), ['_all'])
    assert [job['job_id'] for job in result['jobs']] == ['batch', 'web-errors', 'web-latency']
    latency = result['jobs'][2]
    config = latency.pop('config')
    assert latency == dict(
        job_id='web-latency', state='opened', groups=['web'], description='p95 latency',
        datafeed=dict(datafeed_id='datafeed-web-latency', state='started'), node=NODE_NAME,
        assignment_explanation=None, open_time='13s')
    # the job's config as Elasticsearch returns it
    assert (config['job_id'], config['groups'], config['description']) == ('web-latency', ['web'], 'p95 latency')
    assert config['analysis_config']['bucket_span'] == '15m'
    errors = result['jobs'][1]
    assert errors['datafeed'] is None and errors['node'] is None and errors['open_time'] is None
    assert errors['description'] is None and errors['config']['job_id'] == 'web-errors'
    assert result['jobs'][0]['groups'] == [] and result['jobs'][0]['datafeed']['state'] == 'stopped'
    assert result['jobs'][0]['state'] == 'failed'
    assert result['upgrade_mode'] is False
    # job stats, job configs, datafeed stats, datafeed configs, ML info: never one request per job
    assert len(sent(es)) == 5
    assert all(r['method'] == 'GET' for r in es.requests())


@pytest.mark.parametrize('es, param', [('6.8.23', 'allow_no_jobs'), ('7.9.3', 'allow_no_jobs'), ('8.19.3', 'allow_no_match')],
                         indirect=['es'])
def test_allow_no_match_name_per_version(es, param):
    populated(es)
    gather_jobs(es.client(), ['web-*'], allow_no_match=False)
    assert sent(es)[0]['query'] == {param: 'false'}


def test_selection_by_group_and_pattern(es):
    populated(es)
    assert [job['job_id'] for job in gather_jobs(es.client(), ['web'])['jobs']] == ['web-errors', 'web-latency']
    assert [job['job_id'] for job in gather_jobs(es.client(), ['bat*', 'web-errors'])['jobs']] == ['batch', 'web-errors']


def test_no_match_reads_only_stats_and_info(es):
    populated(es)
    result = gather_jobs(es.client(), ['nothing-*'])
    assert result == dict(jobs=[], upgrade_mode=False)
    assert [r['path'] for r in sent(es)] == ['/_ml/anomaly_detectors/nothing-*/_stats', '/_ml/info']


def test_missing_exact_id_raises(es):
    populated(es)
    with pytest.raises(ElasticsearchError) as info:
        gather_jobs(es.client(), ['nope'])
    assert info.value.status == 404 and info.value.error_type == 'resource_not_found_exception'


@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_upgrade_mode_view(es):
    populated(es)
    es.set_upgrade_mode(True)
    result = gather_jobs(es.client(), ['web-latency'])
    job = result['jobs'][0]
    assert result['upgrade_mode'] is True
    assert job['state'] == 'opened' and job['node'] is None
    assert job['assignment_explanation'] == 'persistent task cannot be assigned while upgrade mode is enabled.'


def test_a_job_id_list_too_long_for_one_request_line(es):
    # 70 ids of 63 characters: ES would refuse them in one URL (4kb request line).
    populated(es, opened_for=0)
    for job_id in LONG_IDS:
        es.add_job(job_id, 'opened' if job_id.startswith('long-00') else 'closed', groups=['long'])
    es.advance(13.5)
    result = gather_jobs(es.client(), LONG_IDS + ['web', 'batch*'])
    assert [job['job_id'] for job in result['jobs']] == sorted(LONG_IDS + ['batch', 'web-errors', 'web-latency'])
    first = dict((job['job_id'], job) for job in result['jobs'])[LONG_IDS[0]]
    assert (first['job_id'], first['state'], first['node'], first['open_time'], first['groups']) == (
        LONG_IDS[0], 'opened', NODE_NAME, '13s', ['long'])
    assert result['jobs'][-1]['datafeed'] == dict(datafeed_id='datafeed-web-latency', state='started')
    reads = [(r['path'], r['query']) for r in es.requests() if '/anomaly_detectors' in r['path']]
    assert reads == [
        ('/_ml/anomaly_detectors/_all/_stats', {
            'allow_no_match': 'true',
            'filter_path': 'jobs.job_id,jobs.state,jobs.node.name,jobs.assignment_explanation,jobs.open_time'}),
        ('/_ml/anomaly_detectors/web,batch*/_stats', {'allow_no_match': 'true'}),
        ('/_ml/anomaly_detectors/_all', {'allow_no_match': 'true'}),
    ]
    assert all(r['status'] == 200 for r in es.requests())


def test_a_long_list_with_a_missing_id_is_elasticsearchs_404(es):
    for job_id in LONG_IDS:
        es.add_job(job_id)
    with pytest.raises(ElasticsearchError) as info:
        gather_jobs(es.client(), LONG_IDS + ['no-such-job'])
    assert info.value.status == 404 and 'no-such-job' in str(info.value)
    assert all(len(r['path']) + len(r['query_string']) < 4000 for r in es.requests())
