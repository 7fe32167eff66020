# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_job_state: argspec and docs, input validation, and the end-to-end result with a fake ES."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration
from ansible_collections.esops.jobs.plugins.module_utils._ml_job import CLOSE_WAIT_CHUNK
from ansible_collections.esops.jobs.plugins.modules import ml_job_state
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.test__ml_job import FakeEs
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module


def run(args, es, check_mode=False, diff=False):
    """Run main() with ``args`` against ``es``; return (failed, result)."""
    return run_module(ml_job_state.main, args, es, check_mode=check_mode, diff=diff)


def es_with(version='8.19.3', **states):
    es = FakeEs(version)
    for job_id, state in sorted(states.items()):
        es.add_job(job_id, state=state)
    return es


# ------------------------------------------------------------------ documentation vs argspec


def test_documented_options_match_the_argspec():
    doc = yaml.safe_load(ml_job_state.DOCUMENTATION)
    spec = ml_job_state.argument_spec()
    own = ('job_id', 'state', 'force', 'force_failed', 'allow_no_match', 'timeout')
    for name in own:
        documented = doc['options'][name]
        assert documented['type'] == spec[name]['type'], name
        assert documented.get('default') == spec[name].get('default'), name
        assert documented.get('choices') == spec[name].get('choices'), name
        assert documented.get('required', False) == spec[name].get('required', False), name
        assert documented.get('elements') == spec[name].get('elements'), name
    assert spec['wait'] == dict(type='bool', default=True)
    assert set(doc['options']) == set(own)    # the rest comes from the doc fragments
    assert 'esops.jobs.wait' in doc['extends_documentation_fragment']


def test_return_documents_every_result_key():
    returned = yaml.safe_load(ml_job_state.RETURN)
    es = es_with(a='opened')
    failed, result = run(dict(job_id='a'), es, diff=True)
    assert not failed
    assert set(result) - {'failed'} <= set(returned)
    job_keys = set(returned['jobs']['contains'])
    assert set(result['jobs'][0]) <= job_keys
    es = es_with('7.13.4', a='opened')
    es.add_datafeed('df-a', 'a', state='started')
    failed, result = run(dict(job_id='a'), es)
    assert not failed and set(result['jobs'][0]) == job_keys


# ------------------------------------------------------------------ validation: clean failures, no request


@pytest.mark.parametrize('job_id, fragment', [
    ('Web-Latency', "'Web-Latency' is not a valid id (ids are lowercase)"),
    ('-web', "'-web' is not a valid id"),
    ('web-', "'web-' is not a valid id"),
    ('web latency', "'web latency' is not a valid id"),
    ('a' * 65, 'is longer than 64 characters'),
    ('web,,db', 'empty id'),
    ('web-?', "'web-?' is not a valid id"),
    ('WEB-*', "'WEB-*' is not a valid id pattern"),
    ('_all,web', '_all selects everything'),
    ([], 'give at least one id'),
])
def test_bad_job_ids_fail_cleanly_naming_the_token(job_id, fragment):
    es = es_with(web='opened')
    failed, result = run(dict(job_id=job_id), es)
    assert failed
    assert result['msg'].startswith('job_id: ')
    assert fragment in result['msg']
    assert es.calls == []


@pytest.mark.parametrize('timeout', ['soon', '0', '-5s', '5 minutes', '1y', True, '99999999d'])
def test_bad_timeout_fails_cleanly(timeout):
    es = es_with(web='opened')
    failed, result = run(dict(job_id='web', timeout=timeout), es)
    assert failed and 'timeout' in result['msg']
    assert 'Traceback' not in result['msg']
    assert es.calls == []


@pytest.mark.parametrize('args, fragment', [
    (dict(job_id='web', state='started'), 'state'),
    (dict(job_id='web', force='maybe'), 'force'),
    (dict(job_id='web', force_failed='sometimes'), 'force_failed'),
    (dict(job_id='web', allow_no_match='perhaps'), 'allow_no_match'),
    (dict(job_id='web', wait='later'), 'wait'),
    (dict(state='closed'), 'job_id'),
    (dict(job_id='web', jobid='web'), 'jobid'),
])
def test_argspec_rejects_bad_options(args, fragment):
    es = es_with(web='opened')
    failed, result = run(args, es)
    assert failed and fragment in result['msg']
    assert es.calls == []


# ------------------------------------------------------------------ end to end


@pytest.mark.parametrize('version', ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5'])
def test_default_state_is_closed_with_one_bounded_close(version):
    # A job that closes within the first server-side wait costs one close request; that wait is bounded
    # (CLOSE_WAIT_CHUNK), not the whole 30m budget, so a job that fails meanwhile is noticed within seconds.
    es = es_with(version, web='opened')
    failed, result = run(dict(job_id='web'), es)
    assert not failed and result['changed'] is True
    assert result['jobs'][0]['state_after'] == 'closed'
    close = [params for method, path, params in es.calls if path.endswith('/_close')]
    assert len(close) == 1 and list(close[0]) == ['timeout']
    assert parse_duration(close[0]['timeout']) == CLOSE_WAIT_CHUNK


@pytest.mark.parametrize('job_id', ['web,db', ['web', 'db'], ['web,db'], ' web , db '])
def test_comma_strings_and_lists_select_the_same_jobs(job_id):
    es = es_with(web='opened', db='opened', other='opened')
    failed, result = run(dict(job_id=job_id), es)
    assert not failed
    assert es.calls[0][1] == '/_ml/anomaly_detectors/web,db/_stats'
    assert sorted(job['job_id'] for job in result['jobs']) == ['db', 'web']


def test_check_mode_diff_then_real_run_then_unchanged_rerun():
    es = es_with(web='opened', db='closed')
    failed, result = run(dict(job_id='_all', state='closed'), es, check_mode=True, diff=True)
    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'db': 'closed', 'web': 'opened'}, 'after': {'db': 'closed', 'web': 'closed'}}
    assert es.mutations() == [] and es.states() == {'db': 'closed', 'web': 'opened'}
    failed, result = run(dict(job_id='_all', state='closed'), es, diff=True)
    assert not failed and result['changed'] is True and es.states() == {'db': 'closed', 'web': 'closed'}
    failed, result = run(dict(job_id='_all', state='closed'), es, diff=True)
    assert not failed and result['changed'] is False
    assert result['diff']['before'] == result['diff']['after']
    assert len(es.mutations()) == 1


def test_timeout_in_plain_seconds_and_wait_false():
    es = es_with(web='opened')
    es.close_lands_in = 'closing'
    failed, result = run(dict(job_id='web', timeout=120, wait=False), es)
    assert not failed and result['jobs'][0]['state_after'] == 'closing'
    close = [params for method, path, params in es.calls if path.endswith('/_close')]
    assert close[0]['timeout'] == '10s'


def test_failed_job_message_names_both_options():
    es = es_with(web='failed')
    failed, result = run(dict(job_id='web', state='opened'), es)
    assert failed
    assert 'job web' in result['msg'] and 'force_failed: true' in result['msg'] and 'force: true' in result['msg']
    assert result['failed_jobs'] == ['web']
    failed, result = run(dict(job_id='web', state='opened', force_failed=True), es)
    assert not failed and es.states() == {'web': 'opened'}
    assert result['jobs'][0]['actions'] == ['force_close', 'open']
