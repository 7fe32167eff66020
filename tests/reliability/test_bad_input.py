# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input matrix: every case fails with one clear message naming the problem, never a traceback.

Each group is one ``ansible-playbook -vvv`` run; each case is one task of it and one pytest test here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket

import pytest

from tests.emulator.tls import ensure_certs
from tests.reliability.conftest import (
    PASSWORD, Es, Playbook, assert_clean_failure, assert_no_tracebacks, conn, module_exists, require_module)


def unused_port_url():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return 'http://127.0.0.1:%d' % port


# (case id, module, module args without connection, words expected in msg)
INVALID_IDS = [
    ('BadJob', ['job_id', "'BadJob'", 'lowercase']),
    ('-leading-dash', ['job_id', 'not a valid id']),
    ('trailing_', ['job_id', 'not a valid id']),
    ('_underscore-start', ['job_id', 'not a valid id']),
    ('a' * 65, ['job_id', 'longer than 64']),
    ('has space', ['job_id', 'not a valid id']),
    ('slash/inside', ['job_id', 'not a valid id']),
    (u'caf\u00e9', ['job_id', 'not a valid id']),
    ('a,,b', ['job_id', 'empty id']),
    ('_all,x', ['job_id', '_all']),
    ('bad?pattern*', ['job_id', 'pattern']),
]

JOB_MODULES = ['ml_job_info', 'ml_job_state']


def offline_cases(url):
    """Cases that fail before any request (the emulator URL is still given so a bug would show as a request)."""
    cases = []
    for module in JOB_MODULES:
        for bad, words in INVALID_IDS:
            args = {'job_id': [bad]}
            if module == 'ml_job_state':
                args['state'] = 'closed'
            cases.append(('invalid_id-%s-%s' % (module, bad[:20]), module, args, words))
    cases += [
        ('invalid_id-ml_datafeed_state-Feed!', 'ml_datafeed_state', {'datafeed_id': ['Feed!']}, ['datafeed_id', 'not a valid id']),
        ('invalid_id-ml_datafeed_state-65', 'ml_datafeed_state', {'datafeed_id': ['d' * 65]}, ['datafeed_id', 'longer than 64']),
    ]
    for bad in ['30x', 'soon', '0', '-5m', '5 minutes', '1.5.2s']:
        cases.append(('bad_timeout-ml_datafeed_state-%s' % bad, 'ml_datafeed_state',
                      {'datafeed_id': ['df-x'], 'state': 'stopped', 'timeout': bad}, ['timeout']))
    cases.append(('bad_timeout-ml_upgrade_mode-never', 'ml_upgrade_mode', {'enabled': True, 'timeout': 'never'}, ['timeout']))
    cases.append(('bad_timeout-ml_job_state-30x', 'ml_job_state', {'job_id': ['j'], 'state': 'closed', 'timeout': '30x'},
                  ['timeout']))
    for bad, words in [
        ('ftp://es1:9200', ['hosts', 'http://']),
        ('http://es1:port', ['hosts', 'port']),
        ('http://es1:99999', ['hosts', 'port']),
        ('http://:9200', ['hosts', 'no host name']),
        ('http://elastic:url-pw-Zq81@:9200', ['hosts', 'no host name']),
    ]:
        # task names are printed: a case id never carries the secret it tests
        cases.append(('bad_url-%s' % bad.replace('url-pw-Zq81', 'PASSWORD'), 'ml_job_info', {'job_id': ['x'], 'hosts': [bad]}, words))
    for name, auth, words in [
        ('api_key+password', {'username': 'u', 'password': 'conflict-pw-Yx1', 'api_key': 'kid:conflict-key-Yx2'},
         ['mutually exclusive', 'api_key', 'password']),
        ('api_key+bearer_token', {'api_key': 'kid:conflict-key-Yx2', 'bearer_token': 'conflict-token-Yx3'},
         ['mutually exclusive', 'api_key', 'bearer_token']),
        ('bearer_token+password', {'username': 'u', 'password': 'conflict-pw-Yx1', 'bearer_token': 'conflict-token-Yx3'},
         ['mutually exclusive', 'bearer_token', 'password']),
        ('username_without_password', {'username': 'u'}, ['username', 'password']),
        ('password_without_username', {'password': 'conflict-pw-Yx1'}, ['username', 'password']),
        ('url_credentials+api_key', {'hosts': [url.replace('://', '://u:url-pw-Zq82@')], 'api_key': 'kid:conflict-key-Yx2'},
         ['api_key']),
        ('client_key_without_cert', {'client_key': '/nonexistent/client.key'}, ['client_key', 'client_cert']),
    ]:
        cases.append(('conflicting_auth-%s' % name, 'ml_job_info', dict({'job_id': ['x']}, **auth), words))
    # Moved here from the integration targets (they ran on every Elasticsearch version; validation
    # sends no request, so one run proves it): rollup ids and timeouts, the exact messages.
    cases += [
        ('invalid_id-ml_datafeed_state-It-Df-A-Feed', 'ml_datafeed_state', {'datafeed_id': ['It-Df-A-Feed'], 'state': 'stopped'},
         ["datafeed_id: 'It-Df-A-Feed' is not a valid id (ids are lowercase)"]),
        ('bad_timeout-ml_upgrade_mode-soon', 'ml_upgrade_mode', {'enabled': True, 'timeout': 'soon'},
         ["timeout='soon' is not a duration"]),
        ('bad_timeout-ml_job_state-soon', 'ml_job_state', {'job_id': ['j'], 'timeout': 'soon'}, ['timeout', 'soon']),
        ('bad_timeout-rollup_job_state-soon', 'rollup_job_state', {'job_id': ['r'], 'timeout': 'soon'},
         ["timeout='soon' is not a duration"]),
        ('bad_timeout-ml_job_state-99999999d', 'ml_job_state', {'job_id': ['j'], 'timeout': '99999999d'},
         ["timeout='99999999d' is too long: at most 7d"]),
        ('bad_timeout-rollup_job_state-99999999d', 'rollup_job_state', {'job_id': ['r'], 'timeout': '99999999d'},
         ["timeout='99999999d' is too long: at most 7d"]),
        ('bad_timeout-rollup_job_state-0s', 'rollup_job_state', {'job_id': ['r'], 'timeout': '0s'},
         ['timeout must be greater than zero']),
        ('invalid_id-rollup_job_state-space', 'rollup_job_state', {'job_id': ['w 1']},
         ["job_id: 'w 1' is not a valid rollup job id: it contains whitespace or control characters"]),
        ('invalid_id-rollup_job_state-empty', 'rollup_job_state', {'job_id': 'w1,,w2'}, ['job_id', 'empty id']),
        ('invalid_id-rollup_job_state-_all+id', 'rollup_job_state', {'job_id': ['_all', 'w1']},
         ['job_id: _all (or *) selects every rollup job and cannot be combined with other ids']),
        ('invalid_id-rollup_job_info-_all+id', 'rollup_job_info', {'job_id': ['_all', 'db']},
         ['job_id: _all (or *) selects every rollup job and cannot be combined with other ids']),
        ('unreachable-rollup_job_state', 'rollup_job_state', {'job_id': ['w1'], 'hosts': ['http://127.0.0.1:9'], 'retries': 0},
         ['cannot reach Elasticsearch at http://127.0.0.1:9']),
    ]
    cases += [
        ('bad_option-request_timeout-0', 'ml_job_info', {'job_id': ['x'], 'request_timeout': 0}, ['request_timeout']),
        ('bad_option-retries--1', 'ml_job_info', {'job_id': ['x'], 'retries': -1}, ['retries']),
        ('bad_option-state-choice', 'ml_datafeed_state', {'datafeed_id': ['df-x'], 'state': 'paused'}, ['state', 'paused']),
        ('bad_option-start-without-started', 'ml_datafeed_state', {'datafeed_id': ['df-x'], 'state': 'stopped', 'start': 'now-1h'},
         ['start', 'state=started']),
        ('bad_option-privilege_check-operation', 'privilege_check', {'operations': ['close_jobs']},
         ['operations', 'close_jobs']),
        ('bad_option-privilege_check-nothing', 'privilege_check', {},
         ['nothing to check: give at least one operation or index']),
        ('invalid_id-ml_calendar-Upper', 'ml_calendar', {'calendar_id': 'Outages'},
         ["calendar_id: 'Outages' is not a valid id (ids are lowercase)"]),
        ('bad_option-ml_calendar-pattern', 'ml_calendar', {'calendar_id': 'c', 'job_ids': ['web-*']},
         ["job_ids: 'web-*' is a pattern"]),
        ('bad_option-ml_calendar-event-time', 'ml_calendar',
         {'calendar_id': 'c', 'events': [{'description': 'x', 'start_time': 'tomorrow', 'duration': '1h'}]},
         ["events[0].start_time='tomorrow' is not a date"]),
    ]
    return cases


OFFLINE_SECRETS = ['url-pw-Zq81', 'url-pw-Zq82', 'conflict-pw-Yx1', 'conflict-key-Yx2', 'conflict-token-Yx3']


@pytest.fixture(scope='module')
def offline_run(plain_emu, collections_path, tmp_path_factory):
    book = Playbook(collections_path, tmp_path_factory.mktemp('offline'))
    cases = offline_cases(plain_emu.url)
    for case_id, module, args, _words in cases:
        if not module_exists(module):
            continue
        full = conn(plain_emu)
        full.update(args)
        book.case(case_id, module, full)
    plain_emu.clear_requests()
    run = book.run()
    return run, plain_emu.requests()


@pytest.mark.parametrize('case', offline_cases('http://127.0.0.1:1'), ids=lambda c: c[0])
def test_offline_bad_input(offline_run, case):
    case_id, module, _args, words = case
    require_module(module)
    run, _requests = offline_run
    assert_clean_failure(run.results[case_id], *words)


def test_offline_bad_input_sends_no_request_and_leaks_nothing(offline_run):
    run, requests = offline_run
    assert_no_tracebacks(run.output)
    # invalid input is refused before Elasticsearch is asked anything
    assert [r for r in requests if r['path'] != '/'] == []
    for secret in OFFLINE_SECRETS:
        assert secret not in run.output


# ---------------------------------------------------------------------------------------- against a secured cluster

def no_basic(emu, **auth):
    opts = conn(emu)
    opts.pop('username')
    opts.pop('password')
    opts.update(auth)
    return opts


def secure_cases(emu):
    es = Es(emu)
    es.ml_job('bi-job')
    es.open_job('bi-job')
    datafeed = es.datafeed('bi-job')
    es.start_datafeed(datafeed)
    # can see the cluster and ML (monitor + monitor_ml) but change nothing
    key = es('POST', '/_security/api_key', {'name': 'ml-read-only', 'role_descriptors': {'ro': {'cluster': ['monitor', 'monitor_ml']}}})
    read_only = no_basic(emu, api_key='%s:%s' % (key['id'], key['api_key']))

    def as_user(user, pw=PASSWORD):
        return dict(conn(emu), username=user, password=pw)

    return [
        ('wrong_password-401', 'ml_job_info', dict(as_user('elastic', 'wrong-Pw-4401'), job_id=['bi-job']),
         ['HTTP 401', 'elastic']),
        ('unknown_user-401', 'ml_job_info', dict(as_user('ghost', 'ghost-Pw-4402'), job_id=['bi-job']), ['HTTP 401']),
        ('bogus_api_key-401', 'ml_job_info', dict(no_basic(emu, api_key='bogus-id:bogus-Key-4403'), job_id=['bi-job']),
         ['HTTP 401']),
        ('bogus_bearer_token-401', 'ml_job_info', dict(no_basic(emu, bearer_token='bogus-Token-4404'), job_id=['bi-job']),
         ['HTTP 401']),
        # GET / (version detection) needs cluster:monitor/main; without it the version comes from ML info,
        # which a user with no privileges at all cannot read either
        ('no_privileges-403', 'ml_job_info', dict(as_user('nobody'), job_id=['bi-job']),
         ['HTTP 403', 'cluster:monitor/main', 'monitor_ml']),
        # monitor_ml may read (see the positive control below) but not close
        ('monitor_ml_closes_job-403', 'ml_job_state', dict(as_user('ml_viewer'), job_id=['bi-job'], state='closed'),
         ['HTTP 403', 'cluster:admin/xpack/ml/job/close']),
        # positive control, not a failure: a monitor_ml-only user reads jobs; the version comes from ML info
        ('monitor_ml_reads-ok', 'ml_job_info', dict(as_user('ml_viewer'), job_id=['bi-job']), []),
        ('read_only_key_stops_datafeed-403', 'ml_datafeed_state', dict(read_only, datafeed_id=[datafeed], state='stopped'),
         ['HTTP 403', 'cluster:admin/xpack/ml/datafeed/stop']),
        ('read_only_key_upgrade_mode-403', 'ml_upgrade_mode', dict(read_only, enabled=True),
         ['HTTP 403', 'cluster:admin/xpack/ml/upgrade_mode']),
        ('read_only_key_closes_job-403', 'ml_job_state', dict(read_only, job_id=['bi-job'], state='closed'),
         ['HTTP 403', 'cluster:admin/xpack/ml/job/close']),
        ('rollup_admin_reads_ml-403', 'ml_job_info', dict(as_user('rollup_admin'), job_id=['bi-job']), ['HTTP 403']),
    ]


@pytest.fixture(scope='module')
def secure_run(secure_emu, collections_path, tmp_path_factory):
    book = Playbook(collections_path, tmp_path_factory.mktemp('secure'))
    cases = secure_cases(secure_emu)
    for case_id, module, args, _words in cases:
        if module_exists(module):
            book.case(case_id, module, args)
    return book.run(), dict((c[0], c) for c in cases)


SECURE_IDS = ['wrong_password-401', 'unknown_user-401', 'bogus_api_key-401', 'bogus_bearer_token-401', 'no_privileges-403',
              'monitor_ml_closes_job-403', 'read_only_key_stops_datafeed-403', 'read_only_key_upgrade_mode-403',
              'read_only_key_closes_job-403', 'rollup_admin_reads_ml-403']


@pytest.mark.parametrize('case_id', SECURE_IDS)
def test_security_failures(secure_run, case_id):
    run, cases = secure_run
    _case_id, module, _args, words = cases[case_id]
    require_module(module)
    assert_clean_failure(run.results[case_id], *words)


def test_monitor_ml_user_reads_jobs_without_the_monitor_privilege(secure_run):
    run, cases = secure_run
    require_module(cases['monitor_ml_reads-ok'][1])
    result = run.results['monitor_ml_reads-ok']
    assert not result.get('failed'), result.get('msg')
    assert [job['job_id'] for job in result['jobs']] == ['bi-job']
    assert result['changed'] is False


def test_security_failures_leak_nothing(secure_run):
    run, _cases = secure_run
    assert_no_tracebacks(run.output)
    for secret in ('wrong-Pw-4401', 'ghost-Pw-4402', 'bogus-Key-4403', 'bogus-Token-4404', PASSWORD):
        assert secret not in run.output


# ---------------------------------------------------------------------------------------- license

def test_expired_license_is_one_clear_message(plain_emu, collections_path, tmp_path):
    """Opening a job or starting a datafeed checks the license (es-behaviour §1.3); reads keep working."""
    es = Es(plain_emu)
    es.ml_job('lic-job')
    datafeed = es.datafeed('lic-job', 'lic-feed')
    es.ml_job('lic-job2')
    es.open_job('lic-job2')
    es.datafeed('lic-job2', 'lic-feed2')
    book = Playbook(collections_path, tmp_path)
    book.case('expired-open_job', 'ml_job_state', dict(conn(plain_emu), job_id=['lic-job'], state='opened'))
    book.case('expired-start_datafeed', 'ml_datafeed_state', dict(conn(plain_emu), datafeed_id=['lic-feed2'], state='started'))
    book.case('expired-read_still_works', 'ml_job_info', dict(conn(plain_emu), job_id=['lic-job']))
    plain_emu.set_license('expired')
    try:
        run = book.run()
    finally:
        plain_emu.set_license('active')
    assert_no_tracebacks(run.output)
    for case_id in ('expired-open_job', 'expired-start_datafeed'):
        assert_clean_failure(run.results[case_id], 'HTTP 403', 'license is non-compliant for [ml]')
    assert not run.results['expired-read_still_works'].get('failed')
    assert es.job_state('lic-job') == 'closed' and es.datafeed_state(datafeed) == 'stopped'


# ---------------------------------------------------------------------------------------- TLS

@pytest.fixture(scope='module')
def tls_run(tls_emu, collections_path, tmp_path_factory):
    other_ca_dir = str(tmp_path_factory.mktemp('other-ca'))
    ensure_certs(other_ca_dir)
    book = Playbook(collections_path, tmp_path_factory.mktemp('tls-run'))
    base = conn(tls_emu, retries=0)
    book.case('right_ca-ok', 'ml_job_info', dict(base, job_id=['_all']))
    book.case('wrong_ca', 'ml_job_info', dict(base, job_id=['_all'], ca_cert=os.path.join(other_ca_dir, 'ca.crt')))
    no_ca = dict(base, job_id=['_all'])
    no_ca.pop('ca_cert')
    book.case('no_ca_self_signed', 'ml_job_info', no_ca)
    book.case('validate_certs_false-ok', 'ml_job_info', dict(no_ca, validate_certs=False))
    book.case('missing_ca_file', 'ml_job_info', dict(base, job_id=['_all'], ca_cert='/nonexistent/ca.crt'))
    book.case('http_to_https_port', 'ml_job_info', dict(no_ca, hosts=[tls_emu.url.replace('https://', 'http://')]))
    return book.run()


@pytest.mark.parametrize('case_id, words', [
    ('wrong_ca', ['TLS failure', 'ca_cert', 'certificate verify failed']),
    ('no_ca_self_signed', ['TLS failure', 'ca_cert']),
    ('missing_ca_file', ['ca_cert', '/nonexistent/ca.crt', 'does not exist']),
    ('http_to_https_port', ['http://127.0.0.1']),
])
def test_tls_failures(tls_run, case_id, words):
    assert_clean_failure(tls_run.results[case_id], *words)


@pytest.mark.parametrize('case_id', ['right_ca-ok', 'validate_certs_false-ok'])
def test_tls_positive_controls(tls_run, case_id):
    result = tls_run.results[case_id]
    assert not result.get('failed'), result.get('msg')
    assert_no_tracebacks(tls_run.output)
