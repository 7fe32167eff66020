# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.rollup_job (restore from a PUT-able configuration) end to end against the in-process emulator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job

VERSIONS = ['6.8.23', '7.17.28', '8.19.3', '9.1.5']
SOURCE_MAPPING = {'properties': {'timestamp': {'type': 'date'}, 'temperature': {'type': 'double'}}}


def saved(es_factory, version='8.19.3'):
    """Rollup job r1 (into r1-rollup, every 30 s) as GET returns its config on a cluster that had it."""
    source = es_factory(version)
    source.put_rollup_job('r1', rollup_index='r1-rollup', cron='*/30 * * * * ?')
    return dict(source.rollup_config('r1'))


def target(es_factory, version='8.19.3'):
    """A cluster with the job's source index (and, 8.15+, rollup usage) but no job."""
    es = es_factory(version)
    es.put_index('sensor-1', SOURCE_MAPPING)
    es.ensure_rollup_usage()
    return es


@pytest.fixture
def run(run_module):
    def run_rollup_job(es, check_mode=False, diff=True, **args):
        return run_module(rollup_job.main, es.params(**args), check_mode=check_mode, diff=diff)
    return run_rollup_job


@pytest.mark.parametrize('version', VERSIONS)
def test_restore_creates_the_job_check_mode_first(es_factory, run, version):
    config = saved(es_factory, version)
    es = target(es_factory, version)
    failed, check = run(es, check_mode=True, config=config)
    assert not failed and check['changed'] is True and check['actions'] == ['create_job']
    assert check['diff'] == {'before': {}, 'after': {'r1': config}}
    assert es.mutations() == []

    failed, real = run(es, config=config)
    assert not failed and real['changed'] is True and real['jobs'] == check['jobs']
    assert es.mutations() == [('PUT', es.rollup_path('job', 'r1'))]
    body = es.mutating_requests()[0]['body']
    assert 'id' not in body and body['rollup_index'] == 'r1-rollup'
    assert es.rollup_config('r1') == config

    failed, again = run(es, config=config)
    assert not failed and again['changed'] is False and again['actions'] == []
    assert len(es.mutations()) == 1


def deleted_job_left_its_index(es):
    """Rollup job r1 was deleted; its rollup index r1-rollup keeps the rollups and _meta._rollup.r1 (ES deletes
    the job only, never its rollup index)."""
    es.put_rollup_job('r1', rollup_index='r1-rollup', cron='*/30 * * * * ?')
    es.ok('DELETE', es.rollup_path('job', 'r1'))


@pytest.mark.parametrize('version', ['6.8.23', '8.19.3'])
def test_a_rollup_index_holding_the_deleted_jobs_metadata_is_refused_before_any_change(es_factory, run, version):
    # TransportPutRollupJobAction: 409 "Cannot create rollup job [r1] because job was previously created (existing metadata)."
    config = saved(es_factory, version)
    es = target(es_factory, version)
    deleted_job_left_its_index(es)
    failed, result = run(es, check_mode=True, config=config)
    assert failed
    assert result['msg'].startswith('rollup index r1-rollup still holds the rollups and metadata of a deleted rollup job r1')
    assert 'Nothing was changed' in result['msg'] and 'change config.rollup_index' in result['msg']
    assert result['changed'] is False
    assert es.mutations() == []


def test_restore_into_a_new_rollup_index_works_beside_the_old_one(es_factory, run):
    config = saved(es_factory)
    es = target(es_factory)
    deleted_job_left_its_index(es)
    failed, result = run(es, config=dict(config, rollup_index='r1-rollup-restored'))
    assert not failed and result['changed'] is True
    assert {'r1-rollup', 'r1-rollup-restored'} <= set(es.state()['indices'])
    assert es.state()['rollup_jobs'] == {'r1': 'stopped'}


def test_an_index_without_rollup_data_is_refused(es_factory, run):
    config = saved(es_factory)
    es = target(es_factory)
    es.put_index('r1-rollup')
    failed, result = run(es, config=config)
    assert failed and 'holds no rollup data' in result['msg']
    assert es.mutations() == []


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_an_unreadable_rollup_index_warns_and_turns_elasticsearchs_409_into_the_same_message(es_factory, es, run):
    # rollup_admin has manage_rollup but no index privileges: GET r1-rollup is a 403, the PUT itself a 409.
    es.put_index('sensor-1', SOURCE_MAPPING)
    es.ensure_rollup_usage()
    deleted_job_left_its_index(es)
    config = saved(es_factory)
    failed, result = run(es, config=config, username='rollup_admin', password='changeme')
    assert failed
    assert result['msg'].startswith('rollup index r1-rollup still holds the rollups and metadata of a deleted rollup job r1')
    assert result['changed'] is False
    assert es.mutations() == [('PUT', '/_rollup/job/r1')]
    assert [r['status'] for r in es.requests() if r['path'] == '/r1-rollup'] == [403]
    assert any('r1-rollup' in warning for warning in result.get('warnings', [])), result


def test_present_and_different_fails_listing_differences(es_factory, run):
    config = saved(es_factory)
    es = target(es_factory)
    es.put_rollup_job('r1', rollup_index='r1-rollup', cron='0 0 * * * ?')
    failed, result = run(es, config=config)
    assert failed
    assert result['differences'] == [{'object': 'rollup_job', 'path': 'cron', 'current': '0 0 * * * ?',
                                      'desired': '*/30 * * * * ?'}]
    assert 'cannot be updated' in result['msg']
    assert es.mutations() == []


def test_keys_left_out_count_as_equal(es_factory, run):
    config = saved(es_factory)
    es = target(es_factory)
    es.put_rollup_job('r1', rollup_index='r1-rollup', cron='*/30 * * * * ?')
    del config['timeout']
    del config['groups']['date_histogram']['time_zone']
    failed, result = run(es, config=config)
    assert not failed and result['changed'] is False
    assert es.mutations() == []


@pytest.mark.parametrize('args, message', [
    ({'config': {}}, 'config: give the rollup job configuration'),
    ({'config': {'rollup_index': 'x'}}, 'job_id: give job_id or a config with an id'),
    ({'job_id': 'a,b', 'config': {'rollup_index': 'x'}}, 'job_id: give one exact rollup job id'),
    ({'job_id': 'a*', 'config': {'rollup_index': 'x'}}, 'job_id: give one exact rollup job id'),
    ({'job_id': 'a', 'config': {'id': 'b', 'rollup_index': 'x'}}, "config.id 'b' differs from job_id 'a'"),
    ({'config': {'id': 'a'}}, 'config.rollup_index: a rollup job needs its rollup index'),
])
def test_bad_input_is_one_clear_line(es, run, args, message):
    failed, result = run(es, **args)
    assert failed and message in result['msg']
    assert es.requests() == []


def test_backup_cluster_binds_the_restore_to_its_cluster(es_factory, run):
    config = saved(es_factory)
    es = target(es_factory)
    failed, result = run(es, check_mode=True, config=config, backup_cluster={'uuid': 'other-uuid', 'name': 'elsewhere'})
    assert failed and result['msg'].startswith('r1 was backed up on cluster elsewhere (other-uuid), but this task reaches')
    failed, result = run(es, config=config, backup_cluster={})
    assert failed and 'records no cluster uuid' in result['msg'] and 'monitor' in result['msg']
    assert es.mutations() == []
    failed, result = run(es, config=config, backup_cluster={'uuid': es.ok('GET', '/')['cluster_uuid']})
    assert not failed and result['actions'] == ['create_job'], result


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_a_rollup_credential_without_monitor_is_refused_with_backup_cluster(es_factory, es, run):
    config = saved(es_factory)
    es.put_index('sensor-1', SOURCE_MAPPING)
    failed, result = run(es, config=config, username='rollup_admin', password='changeme',
                         backup_cluster={'uuid': es.ok('GET', '/')['cluster_uuid']})
    assert failed and 'the credential lacks the cluster privilege monitor' in result['msg'], result
    assert es.mutations() == []
