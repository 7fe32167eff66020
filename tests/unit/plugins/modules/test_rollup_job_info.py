# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollup_job_info end to end against a fake rollup cluster per version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job_info
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_rollup_es import (
    DEPRECATION, Failed, FakeRollupEs, run_module)


def run(monkeypatch, es, check_mode=False, **args):
    return run_module(monkeypatch, rollup_job_info.main, args, es, check_mode=check_mode)


@pytest.mark.parametrize('version', ['6.5.4', '6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5'])
def test_default_reads_every_job_with_one_request(monkeypatch, version):
    es = FakeRollupEs(version).add('b', 'indexing').add('a', 'stopped')
    result, _warnings = run(monkeypatch, es)

    assert result['changed'] is False
    assert [(j['job_id'], j['state']) for j in result['jobs']] == [('a', 'stopped'), ('b', 'indexing')]
    job = result['jobs'][1]
    assert job['config'] == es.jobs['b']['config']
    assert job['status'] == {'job_state': 'indexing'}
    assert job['stats'] == es.jobs['b']['stats']
    assert set(job) == {'job_id', 'state', 'config', 'status', 'stats'}
    assert es.requests() == ['GET /', 'GET %s/job/_all' % es.base]


def test_selection_keeps_order(monkeypatch):
    es = FakeRollupEs('8.19.3').add('web-b', 'started').add('web-a').add('db')
    result, _warnings = run(monkeypatch, es, job_id=['db', 'web-*', 'none-*', 'db'])

    assert [j['job_id'] for j in result['jobs']] == ['db', 'web-a', 'web-b']


def test_missing_exact_ids_fail_listing_all_of_them(monkeypatch):
    es = FakeRollupEs('8.19.3').add('db')
    with pytest.raises(Failed) as info:
        run(monkeypatch, es, job_id=['db', 'nope', 'web-*', 'gone'])
    result = info.value.result
    assert result['msg'] == 'rollup jobs not found: nope, gone'
    assert result['failed_jobs'] == ['nope', 'gone']
    assert result['changed'] is False
    assert [j['job_id'] for j in result['jobs']] == ['db']


def test_check_mode_reads_the_same(monkeypatch):
    es = FakeRollupEs('7.17.28').add('a', 'started')
    result, _warnings = run(monkeypatch, es, check_mode=True, job_id='a')
    assert [(j['job_id'], j['state']) for j in result['jobs']] == [('a', 'started')]
    assert es.mutating() == []


def test_nothing_matched_is_an_empty_list(monkeypatch):
    es = FakeRollupEs('8.19.3')
    result, _warnings = run(monkeypatch, es, job_id='nightly-*')
    assert result['jobs'] == [] and result['changed'] is False


def test_9x_deprecation_warning_is_surfaced_once(monkeypatch):
    es = FakeRollupEs('9.1.5').add('a')
    _result, warnings = run(monkeypatch, es)
    assert warnings == ['Elasticsearch: ' + DEPRECATION]


def test_bad_selector_fails_before_any_request(monkeypatch):
    es = FakeRollupEs('8.19.3')
    with pytest.raises(Failed) as info:
        run(monkeypatch, es, job_id=['_all', 'a'])
    assert info.value.result['msg'] == 'job_id: _all (or *) selects every rollup job and cannot be combined with other ids'
    assert es.calls == []


def test_refused_read_fails_with_status(monkeypatch):
    es = FakeRollupEs('8.19.3')
    reason = 'action [cluster:monitor/xpack/rollup/get] is unauthorized for user [nobody]'
    es.faults.append(('GET', '/_rollup/job', 403, {'error': {'type': 'security_exception', 'reason': reason}, 'status': 403}))
    with pytest.raises(Failed) as info:
        run(monkeypatch, es)
    assert info.value.result['status'] == 403
    assert info.value.result['error_type'] == 'security_exception'
    assert reason in info.value.result['msg']
