# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets never appear in any output: successes, failures, -vvv, the module invocation echo."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from tests.reliability.conftest import PASSWORD, Es, Playbook, assert_no_tracebacks, conn
from tests.reliability.test_bad_input import no_basic, unused_port_url

NO_LOG = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope='module')
def secrets_run(secure_emu, collections_path, tmp_path_factory):
    emu = secure_emu
    es = Es(emu)
    es.ml_job('sec-job')
    es.ml_job('sec-failed')
    es.open_job('sec-failed')
    emu.fail_ml_job('sec-failed')
    key = es.api_key('secrets-suite')
    token = es.token()['access_token']
    key_pair = '%s:%s' % (key['id'], key['api_key'])
    secrets = {
        'password': PASSWORD, 'basic header': b64('elastic:' + PASSWORD),
        'api key secret': key['api_key'], 'api key id:key': key_pair, 'api key encoded': b64(key_pair),
        'token': token,
    }
    book = Playbook(collections_path, tmp_path_factory.mktemp('secrets'))
    dead = unused_port_url()
    api = no_basic(emu, api_key=key_pair)
    api_encoded = no_basic(emu, api_key=b64(key_pair))
    bearer = no_basic(emu, bearer_token=token)
    cases = [
        ('basic-ok-info', 'ml_job_info', dict(conn(emu), job_id=['sec-job'])),
        ('basic-ok-open', 'ml_job_state', dict(conn(emu), job_id=['sec-job'], state='opened')),
        ('basic-fail-plan', 'ml_job_state', dict(conn(emu), job_id=['sec-failed'], state='closed')),
        ('basic-fail-unreachable', 'ml_job_info', dict(conn(emu, hosts=[dead], retries=0), job_id=['_all'])),
        ('basic-fail-404', 'ml_job_state', dict(conn(emu), job_id=['no-such-job'], state='closed', allow_no_match=False)),
        ('api_key-ok-close', 'ml_job_state', dict(api, job_id=['sec-job'], state='closed')),
        ('api_key-encoded-ok', 'ml_job_info', dict(api_encoded, job_id=['sec-job'])),
        ('api_key-fail-plan', 'ml_job_state', dict(api, job_id=['sec-failed'], state='closed')),
        ('api_key-fail-bad-input', 'ml_datafeed_state', dict(api, datafeed_id=['df'], timeout='nope')),
        ('api_key-fail-unreachable', 'ml_upgrade_mode', dict(api, hosts=[dead], retries=0, enabled=True)),
        ('bearer-ok-info', 'ml_job_info', dict(bearer, job_id=['_all'])),
        ('bearer-fail-plan', 'ml_job_state', dict(bearer, job_id=['sec-failed'], state='opened')),
        ('bearer-fail-unreachable', 'rollup_job_info', dict(bearer, hosts=[dead], retries=0)),
        ('url_credentials-ok', 'ml_job_info', dict(no_basic(emu, hosts=[emu.url.replace('://', '://elastic:%s@' % PASSWORD)]),
                                                   job_id=['sec-job'])),
        ('url_credentials-fail-unreachable', 'ml_job_info',
         dict(no_basic(emu, hosts=[dead.replace('://', '://elastic:%s@' % PASSWORD)], retries=0), job_id=['sec-job'])),
        ('url_credentials-fail-conflict', 'ml_job_info',
         dict(no_basic(emu, hosts=[emu.url.replace('://', '://elastic:%s@' % PASSWORD)], api_key=key_pair), job_id=['sec-job'])),
    ]
    for case_id, module, args in cases:
        book.case(case_id, module, args)
    run = book.run(diff=True)
    env_book = Playbook(collections_path, tmp_path_factory.mktemp('secrets-env'))
    env_book.case('env_api_key-ok', 'ml_job_info', {'hosts': [emu.url], 'job_id': ['sec-job']})
    env_book.case('env_api_key-fail-plan', 'ml_job_state', {'hosts': [emu.url], 'job_id': ['sec-failed'], 'state': 'closed'})
    env_run = env_book.run(env={'ELASTICSEARCH_API_KEY': key_pair})
    return dict(cases=dict((c[0], c) for c in cases), run=run, env_run=env_run, secrets=secrets)


CASE_IDS = ['basic-ok-info', 'basic-ok-open', 'basic-fail-plan', 'basic-fail-unreachable', 'basic-fail-404', 'api_key-ok-close',
            'api_key-encoded-ok', 'api_key-fail-plan', 'api_key-fail-bad-input', 'api_key-fail-unreachable', 'bearer-ok-info',
            'bearer-fail-plan', 'bearer-fail-unreachable', 'url_credentials-ok', 'url_credentials-fail-unreachable',
            'url_credentials-fail-conflict']


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_case_outcome_and_no_secret_in_its_result(secrets_run, case_id):
    result = secrets_run['run'].results[case_id]
    assert bool(result.get('failed')) == ('-fail-' in case_id), result.get('msg')
    text = json.dumps(result)
    for name, secret in secrets_run['secrets'].items():
        assert secret not in text, '%s leaked in %s' % (name, case_id)
    args = (result.get('invocation') or {}).get('module_args') or {}
    for option in ('password', 'api_key', 'bearer_token'):
        if args.get(option) is not None:
            assert args[option] == NO_LOG, option


@pytest.mark.parametrize('case_id', ['env_api_key-ok', 'env_api_key-fail-plan'])
def test_secrets_from_environment(secrets_run, case_id):
    result = secrets_run['env_run'].results[case_id]
    assert bool(result.get('failed')) == ('-fail-' in case_id), result.get('msg')
    for name, secret in secrets_run['secrets'].items():
        assert secret not in json.dumps(result), name


@pytest.mark.parametrize('secret_name', ['password', 'basic header', 'api key secret', 'api key id:key', 'api key encoded', 'token'])
def test_secret_absent_from_whole_vvv_output(secrets_run, secret_name):
    secret = secrets_run['secrets'][secret_name]
    for run in (secrets_run['run'], secrets_run['env_run']):
        assert secret not in run.output
        assert_no_tracebacks(run.output)
    assert 'cannot reach Elasticsearch' in secrets_run['run'].output  # the failures really ran at -vvv
    assert 'elastic:********@' in secrets_run['run'].output  # the URL password was masked, not merely absent
