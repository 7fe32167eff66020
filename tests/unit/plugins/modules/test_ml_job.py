# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_job (restore from a PUT-able configuration) end to end against the in-process emulator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._ml_config import job_put_config, datafeed_put_config
from ansible_collections.esops.jobs.plugins.modules import ml_job
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS


def source_configs(source):
    """The job `web` (group g1) and its datafeed as GET returns them from `source`, a cluster that has them."""
    source.put_job('web', groups=['g1'])
    source.put_datafeed('datafeed-web', 'web', indices=('src',))
    job = source.ok('GET', source.ml_path('anomaly_detectors', 'web'))['jobs'][0]
    feed = source.ok('GET', source.ml_path('datafeeds', 'datafeed-web'))['datafeeds'][0]
    return job, feed


def saved(es_factory, version='8.19.3'):
    """The job and datafeed as ml_job_info include_put_config returns them."""
    job, feed = source_configs(es_factory(version))
    return job_put_config(job), datafeed_put_config(feed)


@pytest.fixture
def run(run_module):
    def run_ml_job(target, check_mode=False, diff=True, **args):
        return run_module(ml_job.main, target.params(**args), check_mode=check_mode, diff=diff)
    return run_ml_job


def bodies(es, method='PUT'):
    return [r['body'] for r in es.requests() if r['method'] == method]


@pytest.mark.parametrize('version', SUPPORTED_VERSIONS)
def test_restore_creates_job_and_datafeed_check_mode_first(es_factory, run, version):
    job, feed = saved(es_factory, version)
    es = es_factory(version)
    es.put_index('src', {'properties': {'timestamp': {'type': 'date'}}})

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
    assert es.mutations() == [('PUT', es.ml_path('anomaly_detectors', 'web')), ('PUT', es.ml_path('datafeeds', 'datafeed-web'))]
    job_body, feed_body = bodies(es)
    assert 'job_id' not in job_body and 'create_time' not in job_body and job_body['groups'] == ['g1']
    assert feed_body['job_id'] == 'web' and 'authorization' not in feed_body
    assert es.state()['ml_jobs'] == {'web': 'closed'} and es.state()['datafeeds'] == {'datafeed-web': 'stopped'}

    failed, again = run(es, config=job, datafeed_config=feed)
    assert not failed and again['changed'] is False and again['actions'] == []
    assert again['diff']['before'] == again['diff']['after']
    assert len(es.mutations()) == 2


def test_a_config_as_get_returns_it_restores_too(es_factory, run):
    job, feed = source_configs(es_factory())
    target = es_factory()
    failed, result = run(target, config=job, datafeed_config=feed)
    assert not failed and result['actions'] == ['create_job', 'create_datafeed'], result
    assert target.state()['datafeeds'] == {'datafeed-web': 'stopped'}


def test_the_datafeed_embedded_in_a_7_15_get_config_is_restored_too(es_factory, run):
    job, feed = source_configs(es_factory())
    target = es_factory()
    failed, result = run(target, config=dict(job, datafeed_config=feed))
    assert not failed and result['actions'] == ['create_job', 'create_datafeed'], result
    assert result['datafeed_id'] == 'datafeed-web'


def test_present_and_different_fails_before_any_change_listing_the_differences(es_factory, run):
    job, _feed = saved(es_factory)
    es = es_factory()
    es.put_job('web', analysis_config={'bucket_span': '1h', 'detectors': [{'function': 'count'}]})
    failed, result = run(es, config=job)
    assert failed
    # In the order of the keys of the config (GET job shows groups before analysis_config, as Job.toXContent writes them).
    assert result['differences'] == [{'object': 'job', 'path': 'groups', 'current': None, 'desired': ['g1']},
                                     {'object': 'job', 'path': 'analysis_config.bucket_span', 'current': '1h', 'desired': '15m'}]
    assert 'ML job web exists and differs from config' in result['msg'] and 'nothing was changed' in result['msg']
    assert 'analysis_config.bucket_span: 1h -> 15m' in result['msg']
    assert result['failed_jobs'] == ['web']
    assert es.mutations() == []


def test_keys_left_out_are_defaults_and_equal_sizes_compare_equal(es, run):
    es.put_job('web')
    failed, result = run(es, config={'job_id': 'web', 'analysis_config': {'detectors': [{'function': 'count'}]},
                                     'analysis_limits': {'model_memory_limit': '1gb'}})
    assert not failed and result['changed'] is False, result
    assert es.mutations() == []


def test_job_present_datafeed_missing_creates_only_the_datafeed(es_factory, run):
    # An interrupted retire: the datafeed was deleted, the job was not.
    job, feed = saved(es_factory)
    es = es_factory()
    es.put_job('web', groups=['g1'])
    failed, result = run(es, config=job, datafeed_config=feed)
    assert not failed and result['actions'] == ['create_datafeed'], result
    assert result['jobs'][0]['state_before'] == 'present'
    assert es.mutations() == [('PUT', '/_ml/datafeeds/datafeed-web')]


def test_datafeed_id_taken_by_another_job_fails_before_any_change(es_factory, run):
    job, feed = saved(es_factory)
    es = es_factory()
    es.put_job('other')
    es.put_datafeed('datafeed-web', 'other')
    failed, result = run(es, config=job, datafeed_config=feed)
    assert failed and result['differences'] == [{'object': 'datafeed', 'path': 'job_id', 'current': 'other', 'desired': 'web'}]
    assert result['msg'].startswith('ML job web cannot be created with datafeed datafeed-web: that datafeed belongs to '
                                    'another job (nothing was changed')
    assert es.mutations() == []


def test_job_with_another_datafeed_fails(es_factory, run):
    job, feed = saved(es_factory)
    es = es_factory()
    es.put_job('web', groups=['g1'])
    es.put_datafeed('df-2', 'web')
    failed, result = run(es, config=job, datafeed_config=feed)
    assert failed and result['differences'][0]['path'] == 'datafeed_id'
    assert es.mutations() == []


def test_upgrade_mode_stops_before_any_change(es_factory, run):
    job, feed = saved(es_factory)
    es = es_factory()
    es.set_upgrade_mode(True)
    failed, result = run(es, check_mode=True, config=job, datafeed_config=feed)
    assert failed and 'upgrade mode is enabled' in result['msg']
    assert es.mutations() == []


def test_a_job_id_that_is_a_group_name_is_refused(es_factory, run):
    job, _feed = saved(es_factory)
    es = es_factory()
    es.put_job('a1', groups=['web'])
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
def test_bad_input_is_one_clear_line(es, run, args, message):
    failed, result = run(es, **args)
    assert failed and message in result['msg']
    assert es.requests() == []


def test_datafeed_failure_after_job_creation_says_what_was_done(es_factory, run):
    job, feed = saved(es_factory)
    es = es_factory()
    es.faults(method='PUT', path_regex='/datafeeds/', status=400, times=1, body={
        'error': {'root_cause': [{'type': 'illegal_argument_exception', 'reason': 'bad query'}],
                  'type': 'illegal_argument_exception', 'reason': 'bad query'}, 'status': 400})
    failed, result = run(es, config=job, datafeed_config=feed)
    assert failed
    assert result['msg'].startswith('ML job web was created, its datafeed datafeed-web was not: '
                                    'PUT /_ml/datafeeds/datafeed-web failed: HTTP 400 illegal_argument_exception: bad query')
    assert result['changed'] is True and result['jobs'][0]['state_after'] == 'present'
    assert es.state()['ml_jobs'] == {'web': 'closed'} and es.state()['datafeeds'] == {}


def uuid_of(es):
    return es.ok('GET', '/')['cluster_uuid']


def test_backup_cluster_of_this_cluster_restores(es_factory, run):
    job, feed = saved(es_factory)
    es = es_factory()
    failed, result = run(es, config=job, datafeed_config=feed, backup_cluster={'uuid': uuid_of(es), 'name': 'x'})
    assert not failed and result['actions'] == ['create_job', 'create_datafeed'], result


@pytest.mark.parametrize('check_mode', [True, False])
def test_backup_cluster_of_another_cluster_or_unknown_is_refused_before_any_change(es_factory, run, check_mode):
    job, feed = saved(es_factory)
    es = es_factory()
    failed, result = run(es, check_mode=check_mode, config=job, datafeed_config=feed,
                         backup_cluster={'uuid': 'aNotherClusterUuid0000A', 'name': 'elsewhere'})
    assert failed and result['other_cluster'] is True and result['changed'] is False
    assert result['msg'] == ('web was backed up on cluster elsewhere (aNotherClusterUuid0000A), but this task reaches '
                             'cluster %s (%s); nothing was changed' % (result['cluster']['name'], uuid_of(es)))
    # A backup written without the cluster privilege monitor records no uuid: refused too.
    failed, result = run(es, check_mode=check_mode, config=job, datafeed_config=feed, backup_cluster={'uuid': None, 'name': None})
    assert failed and result['msg'].startswith('the backup of web records no cluster uuid (it was written by a credential '
                                               'without the cluster privilege monitor)')
    assert es.mutations() == []


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_a_credential_without_monitor_cannot_match_the_backup_and_is_refused(es_factory, es, run_module):
    job, feed = saved(es_factory)
    key = es.ok('POST', '/_security/api_key', {'name': 'k', 'role_descriptors': {'r': {'cluster': ['manage_ml']}}})

    def run(**args):
        return run_module(ml_job.main, dict(args, hosts=[es.url], api_key=key['encoded']))
    failed, result = run(config=job, datafeed_config=feed, backup_cluster={'uuid': uuid_of(es), 'name': 'same'})
    assert failed and result['msg'].startswith('cannot tell which cluster this task reaches (its uuid is unknown: the '
                                               'credential lacks the cluster privilege monitor, needed for GET /)')
    assert es.mutations() == []
    failed, result = run(config=job, datafeed_config=feed)
    assert not failed and result['cluster']['uuid'] is None, result            # without backup_cluster: restored wherever the task reaches
