# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollup_job_info end to end against the in-process emulator, per version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job_info
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS
from ansible_collections.esops.jobs.tests.emulator.rollup import DEPRECATION


@pytest.fixture
def run(run_module):
    return lambda check_mode=False, **args: run_module(rollup_job_info.main, args, check_mode=check_mode)


@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
def test_default_reads_every_job_with_one_request(es, run):
    es.add_rollup_job('b', 'indexing')
    es.add_rollup_job('a', 'stopped')
    failed, result = run()
    assert not failed and result['changed'] is False
    assert [(j['job_id'], j['state']) for j in result['jobs']] == [('a', 'stopped'), ('b', 'indexing')]
    job = result['jobs'][1]
    got = es.ok('GET', es.rollup_path('job', 'b'))['jobs'][0]
    assert job['config'] == got['config']
    assert job['status'] == got['status'] and job['status']['job_state'] == 'indexing'
    assert job['stats'] == got['stats']
    assert set(job) == {'job_id', 'state', 'config', 'status', 'stats'}
    assert [(r['method'], r['path']) for r in es.requests()] == [('GET', '/'), ('GET', es.rollup_path('job', '_all'))]


def test_selection_keeps_order(es, run):
    es.add_rollup_job('web-b', 'started')
    es.add_rollup_job('web-a')
    es.add_rollup_job('db')
    failed, result = run(job_id=['db', 'web-*', 'none-*', 'db'])
    assert not failed and [j['job_id'] for j in result['jobs']] == ['db', 'web-a', 'web-b']


def test_missing_exact_ids_fail_listing_all_of_them(es, run):
    es.add_rollup_job('db')
    failed, result = run(job_id=['db', 'nope', 'web-*', 'gone'])
    assert failed
    assert result['msg'] == 'rollup jobs not found: nope, gone'
    assert result['failed_jobs'] == ['nope', 'gone']
    assert result['changed'] is False
    assert [j['job_id'] for j in result['jobs']] == ['db']


@pytest.mark.parametrize('es', ['7.17.28'], indirect=True)
def test_check_mode_reads_the_same(es, run):
    es.add_rollup_job('a', 'started')
    failed, result = run(check_mode=True, job_id='a')
    assert not failed and [(j['job_id'], j['state']) for j in result['jobs']] == [('a', 'started')]
    assert es.mutating_requests() == []


def test_nothing_matched_is_an_empty_list(es, run):
    failed, result = run(job_id='nightly-*')
    assert not failed and result['jobs'] == [] and result['changed'] is False


@pytest.mark.parametrize('es', ['9.1.5'], indirect=True)
def test_9x_deprecation_warning_is_surfaced_once(es, run):
    es.add_rollup_job('a')
    failed, result = run()
    assert not failed and result['warnings'] == ['Elasticsearch: ' + DEPRECATION]


def test_bad_selector_fails_before_any_request(es, run):
    failed, result = run(job_id=['_all', 'a'])
    assert failed
    assert result['msg'] == 'job_id: _all (or *) selects every rollup job and cannot be combined with other ids'
    assert es.requests() == []


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_refused_read_fails_with_status(es, run):
    # ml_viewer (monitor_ml) reads the version from _ml/info, then may not read rollup jobs.
    failed, result = run(username='ml_viewer', password='changeme')
    assert failed
    assert result['status'] == 403
    assert result['error_type'] == 'security_exception'
    assert 'action [cluster:monitor/xpack/rollup/get] is unauthorized for user [ml_viewer]' in result['msg'], result['msg']
