# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.rollup_job_state delete_rollup_index: a retired job's own rollup index, never one other jobs use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job_state, rollup_job_info


@pytest.fixture
def run(run_module):
    def run_state(check_mode=False, diff=True, **args):
        args.setdefault('state', 'absent')
        args.setdefault('delete_rollup_index', True)
        return run_module(rollup_job_state.main, args, check_mode=check_mode, diff=diff)
    return run_state


def indices(es):
    return set(es.state()['indices'])


@pytest.mark.parametrize('es', ['6.8.23', '7.17.28', '8.19.3', '9.1.5'], indirect=True)
def test_deletes_the_job_then_its_own_index_check_mode_first(es, run):
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    es.add_rollup_job('keep', rollup_index='other-rollup')
    failed, check = run(check_mode=True, job_id='r1')
    assert not failed and check['changed'] is True
    assert check['rollup_indices'] == [{'index': 'r1-rollup', 'job_ids': ['r1'], 'state_before': 'present',
                                        'state_after': 'absent', 'changed': True}]
    assert check['diff'] == {'before': {'r1': 'stopped', 'index/r1-rollup': 'present'}, 'after': {}}
    assert es.mutations() == []

    failed, real = run(job_id='r1')
    assert not failed and real['changed'] is True
    assert real['rollup_indices'] == check['rollup_indices'] and real['diff'] == check['diff']
    assert es.mutations() == [('DELETE', es.rollup_path('job', 'r1')), ('DELETE', '/r1-rollup')]
    assert 'r1-rollup' not in indices(es) and 'other-rollup' in indices(es)
    assert es.state()['rollup_jobs'] == {'keep': 'stopped'}

    failed, again = run(job_id='r1')
    assert not failed and again['changed'] is False and again['rollup_indices'] == []
    assert len(es.mutations()) == 2


def test_an_index_another_job_writes_to_is_refused_before_any_change(es, run):
    es.add_rollup_job('r1', 'started', rollup_index='r1-rollup')
    es.add_rollup_job('r2', rollup_index='r1-rollup')
    failed, result = run(job_id='r1', force=True)
    assert failed
    assert result['msg'] == ('not deleting anything: rollup index r1-rollup also holds the rollups of job r2 (r2 is a '
                             'rollup job that still writes to it). Delete only the rollup jobs (delete_rollup_index=false), '
                             'or list every job of the index in job_id (a job already deleted counts as absent)')
    assert result['failed_jobs'] == ['r1'] and result['changed'] is False
    assert es.mutations() == []
    # Both jobs of the index in one task: allowed.
    failed, result = run(job_id=['r1', 'r2'], force=True)
    assert not failed
    assert result['rollup_indices'][0]['job_ids'] == ['r1', 'r2']
    assert 'r1-rollup' not in indices(es) and es.state()['rollup_jobs'] == {}


def test_an_index_holding_the_rollups_of_a_job_deleted_earlier_is_refused_unless_listed(es, run):
    es.put_rollup_job('old', rollup_index='r1-rollup')
    es.ok('DELETE', es.rollup_path('job', 'old'))   # ES deletes the job, never its rollup index or _meta._rollup.old
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    failed, result = run(check_mode=True, job_id='r1')
    assert failed and 'old was deleted earlier, its rollups are still there' in result['msg']
    failed, result = run(job_id=['r1', 'old'])
    assert not failed and result['changed'] is True
    assert 'r1-rollup' not in indices(es)


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_an_unreadable_index_is_refused_before_any_change(es, run):
    # rollup_admin holds manage_rollup but no index privilege: GET r1-rollup is a 403.
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    failed, result = run(job_id='r1', username='rollup_admin', password='changeme')
    assert failed and 'rollup index r1-rollup cannot be read' in result['msg'] and 'view_index_metadata' in result['msg']
    assert es.mutations() == []


def test_a_missing_index_is_reported_unchanged(es, run):
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    es.ok('DELETE', '/r1-rollup')
    failed, result = run(job_id='r1')
    assert not failed and result['changed'] is True
    assert result['rollup_indices'] == [{'index': 'r1-rollup', 'job_ids': ['r1'], 'state_before': 'absent',
                                         'state_after': 'absent', 'changed': False}]
    assert es.mutations() == [('DELETE', '/_rollup/job/r1')]


def test_a_refused_index_delete_says_the_jobs_are_deleted_and_names_the_index(es, run):
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    es.faults(method='DELETE', path_regex='^/r1-rollup$', status=403, body={
        'error': {'type': 'security_exception', 'reason': 'action [indices:admin/delete] is unauthorized'}, 'status': 403})
    failed, result = run(job_id='r1')
    assert failed
    assert result['msg'].startswith('rollup jobs r1 are deleted; deleting rollup index r1-rollup failed: '
                                    'DELETE /r1-rollup failed: HTTP 403'), result['msg']
    assert result['changed'] is True
    assert result['jobs'][0]['state_after'] == 'absent'
    assert result['rollup_indices'][0]['state_after'] == 'present' and result['rollup_indices'][0]['changed'] is False
    assert 'r1-rollup' in indices(es) and es.state()['rollup_jobs'] == {}


def test_only_with_state_absent(es, run):
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    failed, result = run(job_id='r1', state='stopped')
    assert failed and result['msg'] == 'delete_rollup_index=true needs state=absent (it deletes the rollup index of deleted jobs)'
    assert es.requests() == []


def test_without_the_option_nothing_is_read_or_reported(es, run):
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    failed, result = run(job_id='r1', delete_rollup_index=False)
    assert not failed and 'rollup_indices' not in result
    assert [r for r in es.requests() if r['path'] == '/r1-rollup'] == [] and 'r1-rollup' in indices(es)


def test_rollup_job_info_include_put_config(es, run_module):
    es.add_rollup_job('r1', rollup_index='r1-rollup')
    failed, result = run_module(rollup_job_info.main, {'include_put_config': True})
    assert not failed
    assert result['jobs'][0]['put_config'] == es.rollup_config('r1')
    failed, plain = run_module(rollup_job_info.main, {})
    assert 'put_config' not in plain['jobs'][0]
