# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_job (restore from a PUT-able configuration) end to end with a fake ES."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._ml_config import job_put_config, datafeed_put_config
from ansible_collections.esops.jobs.plugins.modules import ml_job
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_config_es import FakeConfigEs
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module

VERSIONS = ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5']


def saved(version='8.19.3'):
    """The job and datafeed as ml_job_info include_put_config returns them, from a cluster that had them."""
    es = FakeConfigEs(version).add_job('web', groups=['g1']).add_datafeed('datafeed-web', 'web')
    return job_put_config(es.jobs['web']), datafeed_put_config(es.datafeeds['datafeed-web'])


def run(es, check_mode=False, diff=True, **args):
    return run_module(ml_job.main, args, es, check_mode=check_mode, diff=diff)


@pytest.mark.parametrize('version', VERSIONS)
def test_restore_creates_job_and_datafeed_check_mode_first(version):
    job, feed = saved(version)
    es = FakeConfigEs(version)

    failed, check = run(es, check_mode=True, config=job, datafeed_config=feed)
    assert not failed and check['changed'] is True
    assert check['actions'] == ['create_job', 'create_datafeed']
    assert check['job_id'] == 'web' and check['datafeed_id'] == 'datafeed-web'
    assert check['diff']['before'] == {}
    assert check['diff']['after']['web']['job']['groups'] == ['g1']
    assert check['diff']['after']['web']['datafeed']['indices'] == ['src']
    assert es.mutations() == []

    failed, real = run(es, config=job, datafeed_config=feed)
    assert not failed and real['changed'] is True
    assert real['actions'] == check['actions'] and real['jobs'] == check['jobs']
    assert es.mutations() == [('PUT', es.ml_base + '/anomaly_detectors/web'), ('PUT', es.ml_base + '/datafeeds/datafeed-web')]
    job_body, feed_body = [b for (m, _p), b in zip(es.calls, es.bodies) if m == 'PUT']
    assert 'job_id' not in job_body and 'create_time' not in job_body and job_body['groups'] == ['g1']
    assert feed_body['job_id'] == 'web' and 'authorization' not in feed_body

    failed, again = run(es, config=job, datafeed_config=feed)
    assert not failed and again['changed'] is False and again['actions'] == []
    assert again['diff']['before'] == again['diff']['after']
    assert len(es.mutations()) == 2


def test_a_config_as_get_returns_it_restores_too():
    es = FakeConfigEs().add_job('web').add_datafeed('datafeed-web', 'web')
    job, feed = dict(es.jobs['web']), dict(es.datafeeds['datafeed-web'])
    target = FakeConfigEs()
    failed, result = run(target, config=job, datafeed_config=feed)
    assert not failed and result['actions'] == ['create_job', 'create_datafeed']


def test_the_datafeed_embedded_in_a_7_15_get_config_is_restored_too():
    es = FakeConfigEs().add_job('web').add_datafeed('datafeed-web', 'web')
    job = dict(es.jobs['web'], datafeed_config=dict(es.datafeeds['datafeed-web']))
    target = FakeConfigEs()
    failed, result = run(target, config=job)
    assert not failed and result['actions'] == ['create_job', 'create_datafeed']
    assert result['datafeed_id'] == 'datafeed-web'


def test_present_and_different_fails_before_any_change_listing_the_differences():
    es = FakeConfigEs().add_job('web', analysis_config={'bucket_span': '1h', 'detectors': [{'function': 'count'}]})
    job, _feed = saved()
    failed, result = run(es, config=job)
    assert failed
    assert result['differences'] == [{'object': 'job', 'path': 'analysis_config.bucket_span', 'current': '1h', 'desired': '15m'},
                                     {'object': 'job', 'path': 'analysis_config.detectors[0].detector_description',
                                      'current': None, 'desired': 'count'},
                                     {'object': 'job', 'path': 'analysis_config.detectors[0].detector_index',
                                      'current': None, 'desired': 0},
                                     {'object': 'job', 'path': 'groups', 'current': None, 'desired': ['g1']}]
    assert 'ML job web exists and differs from config' in result['msg'] and 'nothing was changed' in result['msg']
    assert 'analysis_config.bucket_span: 1h -> 15m' in result['msg']
    assert result['failed_jobs'] == ['web']
    assert es.mutations() == []


def test_keys_left_out_are_defaults_and_equal_sizes_compare_equal():
    es = FakeConfigEs().add_job('web')
    failed, result = run(es, config={'job_id': 'web', 'analysis_config': {'detectors': [{'function': 'count'}]},
                                     'analysis_limits': {'model_memory_limit': '1gb'}})
    assert not failed and result['changed'] is False


def test_job_present_datafeed_missing_creates_only_the_datafeed():
    # An interrupted retire: the datafeed was deleted, the job was not.
    job, feed = saved()
    es = FakeConfigEs().add_job('web', groups=['g1'])
    failed, result = run(es, config=job, datafeed_config=feed)
    assert not failed and result['actions'] == ['create_datafeed']
    assert result['jobs'][0]['state_before'] == 'present'
    assert es.mutations() == [('PUT', es.ml_base + '/datafeeds/datafeed-web')]


def test_datafeed_id_taken_by_another_job_fails_before_any_change():
    job, feed = saved()
    es = FakeConfigEs().add_job('other').add_datafeed('datafeed-web', 'other')
    failed, result = run(es, config=job, datafeed_config=feed)
    assert failed and result['differences'] == [{'object': 'datafeed', 'path': 'job_id', 'current': 'other', 'desired': 'web'}]
    assert result['msg'].startswith('ML job web cannot be created with datafeed datafeed-web: that datafeed belongs to '
                                    'another job (nothing was changed')
    assert es.mutations() == []


def test_job_with_another_datafeed_fails():
    job, feed = saved()
    es = FakeConfigEs().add_job('web', groups=['g1']).add_datafeed('df-2', 'web')
    failed, result = run(es, config=job, datafeed_config=feed)
    assert failed and result['differences'][0]['path'] == 'datafeed_id'
    assert es.mutations() == []


def test_upgrade_mode_stops_before_any_change():
    job, feed = saved()
    es = FakeConfigEs(upgrade_mode=True)
    failed, result = run(es, check_mode=True, config=job, datafeed_config=feed)
    assert failed and 'upgrade mode is enabled' in result['msg']
    assert es.mutations() == []


def test_a_job_id_that_is_a_group_name_is_refused():
    es = FakeConfigEs().add_job('a1', groups=['web'])
    job, _feed = saved()
    failed, result = run(es, job_id='web', config=dict(job, job_id='web'))
    assert failed and 'is the name of a job group (a1)' in result['msg']
    assert es.mutations() == []


@pytest.mark.parametrize('args, message', [
    ({'config': {}}, 'config: give the job configuration'),
    ({'config': {'analysis_config': {}}}, 'job_id: give job_id or a config with a job_id'),
    ({'job_id': 'a,b', 'config': {'analysis_config': {}}}, 'job_id: give one exact id'),
    ({'job_id': 'web-*', 'config': {'analysis_config': {}}}, 'job_id: give one exact id'),
    ({'job_id': 'a', 'config': {'job_id': 'b'}}, "config.job_id 'b' differs from job_id 'a'"),
    ({'config': {'job_id': 'a'}, 'datafeed_config': {'job_id': 'b'}}, "datafeed_config.job_id 'b' differs from job_id 'a'"),
    ({'config': {'job_id': 'a'}, 'datafeed_config': {'datafeed_id': 'Bad'}}, "'Bad' is not a valid id"),
])
def test_bad_input_is_one_clear_line(args, message):
    es = FakeConfigEs()
    failed, result = run(es, **args)
    assert failed and message in result['msg']
    assert es.calls == []


def test_datafeed_failure_after_job_creation_says_what_was_done():
    from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_config_es import error
    job, feed = saved()
    es = FakeConfigEs()
    es.faults.append(('PUT', '/datafeeds/', error(400, 'illegal_argument_exception', 'bad query')))
    failed, result = run(es, config=job, datafeed_config=feed)
    assert failed
    assert result['msg'].startswith('ML job web was created, its datafeed datafeed-web was not: HTTP 400')
    assert result['changed'] is True and result['jobs'][0]['state_after'] == 'present'
