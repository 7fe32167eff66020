# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.rollup_job (restore from a PUT-able configuration) end to end with a fake ES."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_config_es import FakeConfigEs
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module

VERSIONS = ['6.8.23', '7.17.28', '8.19.3', '9.1.5']


def saved(version='8.19.3'):
    return dict(FakeConfigEs(version).add_rollup('r1').rollups['r1']['config'])


def run(es, check_mode=False, diff=True, **args):
    return run_module(rollup_job.main, args, es, check_mode=check_mode, diff=diff)


@pytest.mark.parametrize('version', VERSIONS)
def test_restore_creates_the_job_check_mode_first(version):
    config = saved(version)
    es = FakeConfigEs(version)
    failed, check = run(es, check_mode=True, config=config)
    assert not failed and check['changed'] is True and check['actions'] == ['create_job']
    assert check['diff'] == {'before': {}, 'after': {'r1': config}}
    assert es.mutations() == []

    failed, real = run(es, config=config)
    assert not failed and real['changed'] is True and real['jobs'] == check['jobs']
    assert es.mutations() == [('PUT', es.rollup_base + '/job/r1')]
    body = es.bodies[es.calls.index(('PUT', es.rollup_base + '/job/r1'))]
    assert 'id' not in body and body['rollup_index'] == 'r1-rollup'

    failed, again = run(es, config=config)
    assert not failed and again['changed'] is False and again['actions'] == []
    assert len(es.mutations()) == 1


@pytest.mark.parametrize('version', ['6.8.23', '8.19.3'])
def test_a_rollup_index_holding_the_deleted_jobs_metadata_is_refused_before_any_change(version):
    # TransportPutRollupJobAction: 409 "Cannot create rollup job [r1] because job was previously created (existing metadata)."
    es = FakeConfigEs(version).add_index('r1-rollup', rollup_job_ids=['r1'])
    failed, result = run(es, check_mode=True, config=saved(version))
    assert failed
    assert result['msg'].startswith('rollup index r1-rollup still holds the rollups and metadata of a deleted rollup job r1')
    assert 'Nothing was changed' in result['msg'] and 'change config.rollup_index' in result['msg']
    assert result['changed'] is False
    assert es.mutations() == []


def test_restore_into_a_new_rollup_index_works_beside_the_old_one():
    es = FakeConfigEs().add_index('r1-rollup', rollup_job_ids=['r1'])
    failed, result = run(es, config=dict(saved(), rollup_index='r1-rollup-restored'))
    assert not failed and result['changed'] is True
    assert 'r1-rollup' in es.indices


def test_an_index_without_rollup_data_is_refused():
    es = FakeConfigEs().add_index('r1-rollup')
    failed, result = run(es, config=saved())
    assert failed and 'holds no rollup data' in result['msg']
    assert es.mutations() == []


def test_an_unreadable_rollup_index_warns_and_turns_elasticsearchs_409_into_the_same_message():
    es = FakeConfigEs().add_index('r1-rollup', rollup_job_ids=['r1'])
    es.forbidden_indices.add('r1-rollup')
    failed, result = run(es, config=saved())
    assert failed
    assert result['msg'].startswith('rollup index r1-rollup still holds the rollups and metadata of a deleted rollup job r1')
    assert result['changed'] is False
    assert es.mutations() == [('PUT', '/_rollup/job/r1')]


def test_present_and_different_fails_listing_differences():
    es = FakeConfigEs().add_rollup('r1', cron='0 0 * * * ?')
    failed, result = run(es, config=saved())
    assert failed
    assert result['differences'] == [{'object': 'rollup_job', 'path': 'cron', 'current': '0 0 * * * ?',
                                      'desired': '*/30 * * * * ?'}]
    assert 'cannot be updated' in result['msg']
    assert es.mutations() == []


def test_keys_left_out_count_as_equal():
    es = FakeConfigEs().add_rollup('r1')
    config = saved()
    del config['timeout']
    del config['groups']['date_histogram']['time_zone']
    failed, result = run(es, config=config)
    assert not failed and result['changed'] is False


@pytest.mark.parametrize('args, message', [
    ({'config': {}}, 'config: give the rollup job configuration'),
    ({'config': {'rollup_index': 'x'}}, 'job_id: give job_id or a config with an id'),
    ({'job_id': 'a,b', 'config': {'rollup_index': 'x'}}, 'job_id: give one exact rollup job id'),
    ({'job_id': 'a*', 'config': {'rollup_index': 'x'}}, 'job_id: give one exact rollup job id'),
    ({'job_id': 'a', 'config': {'id': 'b', 'rollup_index': 'x'}}, "config.id 'b' differs from job_id 'a'"),
    ({'config': {'id': 'a'}}, 'config.rollup_index: a rollup job needs its rollup index'),
])
def test_bad_input_is_one_clear_line(args, message):
    es = FakeConfigEs()
    failed, result = run(es, **args)
    assert failed and message in result['msg']
    assert es.calls == []
