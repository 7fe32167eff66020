# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_job_state: argspec and docs, input validation, and the end-to-end result against the in-process
emulator (tests/unit/conftest.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration
from ansible_collections.esops.jobs.plugins.module_utils._ml_job import CLOSE_WAIT_CHUNK
from ansible_collections.esops.jobs.plugins.modules import ml_job_state
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS
from ansible_collections.esops.jobs.tests.emulator.state import Timings

# Keys every AnsibleModule result may carry besides what RETURN documents.
STANDARD_KEYS = {'failed', 'changed', 'msg', 'warnings', 'deprecations'}


@pytest.fixture
def run(run_module):
    """run(args, check_mode=False, diff=False) -> (failed, result) for ml_job_state."""
    return lambda args, check_mode=False, diff=False: run_module(ml_job_state.main, args, check_mode=check_mode, diff=diff)


def with_jobs(es, **states):
    for job_id, state in sorted(states.items()):
        es.add_job(job_id, state)
    return es


def close_params(es):
    return [r['query'] for r in es.requests() if r['path'].endswith('/_close')]


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


def test_return_documents_every_result_key(es_factory, run):
    returned = yaml.safe_load(ml_job_state.RETURN)
    with_jobs(es_factory(), a='opened')
    failed, result = run(dict(job_id='a'), diff=True)
    assert not failed
    assert set(result) - STANDARD_KEYS <= set(returned)
    job_keys = set(returned['jobs']['contains'])
    assert set(result['jobs'][0]) <= job_keys
    old = es_factory('7.13.4')
    old.add_job('a', 'opened', datafeed_state='started', datafeed_id='df-a')
    failed, result = run(old.params(job_id='a'))
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
def test_bad_job_ids_fail_cleanly_naming_the_token(es, run, job_id, fragment):
    with_jobs(es, web='opened')
    failed, result = run(dict(job_id=job_id))
    assert failed
    assert result['msg'].startswith('job_id: ')
    assert fragment in result['msg']
    assert es.requests() == []


@pytest.mark.parametrize('timeout', ['soon', '0', '-5s', '5 minutes', '1y', True, '99999999d'])
def test_bad_timeout_fails_cleanly(es, run, timeout):
    with_jobs(es, web='opened')
    failed, result = run(dict(job_id='web', timeout=timeout))
    assert failed and 'timeout' in result['msg']
    assert 'Traceback' not in result['msg']
    assert es.requests() == []


@pytest.mark.parametrize('args, fragment', [
    (dict(job_id='web', state='started'), 'state'),
    (dict(job_id='web', force='maybe'), 'force'),
    (dict(job_id='web', force_failed='sometimes'), 'force_failed'),
    (dict(job_id='web', allow_no_match='perhaps'), 'allow_no_match'),
    (dict(job_id='web', wait='later'), 'wait'),
    (dict(state='closed'), 'job_id'),
    (dict(job_id='web', jobid='web'), 'jobid'),
])
def test_argspec_rejects_bad_options(es, run, args, fragment):
    with_jobs(es, web='opened')
    failed, result = run(args)
    assert failed and fragment in result['msg']
    assert es.requests() == []


# ------------------------------------------------------------------ end to end


@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
def test_default_state_is_closed_with_one_bounded_close(es, run):
    # A job that closes within the first server-side wait costs one close request; that wait is bounded
    # (CLOSE_WAIT_CHUNK), not the whole 30m budget, so a job that fails meanwhile is noticed within seconds.
    with_jobs(es, web='opened')
    failed, result = run(dict(job_id='web'))
    assert not failed and result['changed'] is True
    assert result['jobs'][0]['state_after'] == 'closed'
    assert es.state()['ml_jobs'] == {'web': 'closed'}
    close = close_params(es)
    assert len(close) == 1 and list(close[0]) == ['timeout']
    assert parse_duration(close[0]['timeout']) == CLOSE_WAIT_CHUNK


@pytest.mark.parametrize('job_id', ['web,db', ['web', 'db'], ['web,db'], ' web , db '])
def test_comma_strings_and_lists_select_the_same_jobs(es, run, job_id):
    with_jobs(es, web='opened', db='opened', other='opened')
    failed, result = run(dict(job_id=job_id))
    assert not failed
    stats = [r['path'] for r in es.requests() if r['path'].endswith('/_stats')]
    assert stats[0] == '/_ml/anomaly_detectors/web,db/_stats'
    assert sorted(job['job_id'] for job in result['jobs']) == ['db', 'web']
    assert es.state()['ml_jobs'] == {'db': 'closed', 'other': 'opened', 'web': 'closed'}


def test_check_mode_diff_then_real_run_then_unchanged_rerun(es, run):
    with_jobs(es, web='opened', db='closed')
    failed, result = run(dict(job_id='_all', state='closed'), check_mode=True, diff=True)
    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'db': 'closed', 'web': 'opened'}, 'after': {'db': 'closed', 'web': 'closed'}}
    assert es.mutating_requests() == [] and es.state()['ml_jobs'] == {'db': 'closed', 'web': 'opened'}
    failed, result = run(dict(job_id='_all', state='closed'), diff=True)
    assert not failed and result['changed'] is True and es.state()['ml_jobs'] == {'db': 'closed', 'web': 'closed'}
    failed, result = run(dict(job_id='_all', state='closed'), diff=True)
    assert not failed and result['changed'] is False
    assert result['diff']['before'] == result['diff']['after']
    assert [(r['method'], r['path']) for r in es.mutating_requests()] == [('POST', '/_ml/anomaly_detectors/web/_close')]


@pytest.mark.parametrize('es', [dict(timings=Timings(close_seconds=60))], indirect=True)
def test_timeout_in_plain_seconds_and_wait_false(es, run):
    with_jobs(es, web='opened')
    failed, result = run(dict(job_id='web', timeout=120, wait=False))
    assert not failed and result['jobs'][0]['state_after'] == 'closing', result
    assert close_params(es)[0]['timeout'] == '10s'


def test_failed_job_message_names_both_options(es, run):
    with_jobs(es, web='failed')
    failed, result = run(dict(job_id='web', state='opened'))
    assert failed
    assert 'job web' in result['msg'] and 'force_failed: true' in result['msg'] and 'force: true' in result['msg']
    assert result['failed_jobs'] == ['web']
    assert es.mutating_requests() == []
    failed, result = run(dict(job_id='web', state='opened', force_failed=True))
    assert not failed and es.state()['ml_jobs'] == {'web': 'opened'}
    assert result['jobs'][0]['actions'] == ['force_close', 'open']
