# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the base module: argspec generation, env fallbacks, auth validation, clean failures, and the
cluster named in every result (read from the in-process emulator's GET /, tests/unit/conftest.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.esops.jobs.plugins.module_utils import _module
from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._module import (
    EsopsModule, connection_argspec, generate_argspec, wait_argspec)
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed

ENV_VARS = ('ELASTICSEARCH_URL', 'ELASTICSEARCH_USERNAME', 'ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_API_KEY',
            'ELASTICSEARCH_BEARER_TOKEN', 'ELASTICSEARCH_CA_CERT')


@pytest.fixture(autouse=True)
def clean_env_and_exits(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, msg, **result):
        result['msg'] = msg
        raise Failed(result)

    monkeypatch.setattr(EsopsModule, 'exit_json', exit_json)
    monkeypatch.setattr(EsopsModule, 'fail_json', fail_json)


def make_module(monkeypatch, args, **spec_options):
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    spec = generate_argspec(**spec_options or {'job_id': dict(type='str', required=True)})
    spec.update(wait_argspec('30s'))
    return EsopsModule(argument_spec=spec, supports_check_mode=True)


def fails(monkeypatch, args):
    with pytest.raises(Failed) as info:
        make_module(monkeypatch, args)
    return info.value.result['msg']


# ---------------------------------------------------------------------------------------- argspec

def test_generate_argspec_merges_module_options():
    spec = generate_argspec(job_id=dict(type='str', required=True))
    assert spec['job_id'] == dict(type='str', required=True)
    assert set(connection_argspec()) <= set(spec)


@pytest.mark.parametrize('clash', ['hosts', 'password', 'retries', 'validate_certs'])
def test_generate_argspec_refuses_to_shadow_connection_options(clash):
    with pytest.raises(ValueError) as info:
        generate_argspec(**{clash: dict(type='str'), 'job_id': dict(type='str')})
    assert clash in str(info.value)
    assert 'job_id' not in str(info.value)


def test_secrets_are_no_log():
    spec = connection_argspec()
    for name in ('password', 'api_key', 'bearer_token'):
        assert spec[name]['no_log'] is True
    assert spec['client_key']['no_log'] is False  # a path, not a secret


def test_wait_argspec_default():
    assert wait_argspec('5m') == dict(wait=dict(type='bool', default=True), timeout=dict(type='str', default='5m'))


# ---------------------------------------------------------------------------------------- env fallbacks

def test_defaults_without_env(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j'})
    assert module.params['hosts'] == ['http://localhost:9200']
    assert module.params['username'] is None and module.params['api_key'] is None
    assert module.client.hosts == ['http://localhost:9200']


def test_env_fallbacks(monkeypatch, tmp_path):
    monkeypatch.setenv('ELASTICSEARCH_URL', 'https://es1:9200,https://es2:9200')
    monkeypatch.setenv('ELASTICSEARCH_USERNAME', 'ml_admin')
    monkeypatch.setenv('ELASTICSEARCH_PASSWORD', 'changeme')
    (tmp_path / 'ca.crt').write_text(u'not checked here')
    monkeypatch.setenv('ELASTICSEARCH_CA_CERT', str(tmp_path / 'ca.crt'))
    module = make_module(monkeypatch, {'job_id': 'j'})
    assert module.params['hosts'] == ['https://es1:9200', 'https://es2:9200']
    assert (module.params['username'], module.params['password']) == ('ml_admin', 'changeme')
    assert module.params['ca_cert'] == str(tmp_path / 'ca.crt')
    assert 'changeme' in module.no_log_values
    client = module.client
    assert client.hosts == ['https://es1:9200', 'https://es2:9200']
    assert client.username == 'ml_admin'


@pytest.mark.parametrize('env, option', [('ELASTICSEARCH_API_KEY', 'api_key'), ('ELASTICSEARCH_BEARER_TOKEN', 'bearer_token')])
def test_env_fallback_tokens_are_no_log(monkeypatch, env, option):
    monkeypatch.setenv(env, 'tok-from-env-123')
    module = make_module(monkeypatch, {'job_id': 'j'})
    assert module.params[option] == 'tok-from-env-123'
    assert 'tok-from-env-123' in module.no_log_values


def test_explicit_option_beats_env(monkeypatch):
    monkeypatch.setenv('ELASTICSEARCH_URL', 'http://from-env:9200')
    module = make_module(monkeypatch, {'job_id': 'j', 'hosts': ['http://explicit:9200']})
    assert module.params['hosts'] == ['http://explicit:9200']


def test_url_alias(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j', 'url': 'http://es9:9200'})
    assert module.params['hosts'] == ['http://es9:9200']


def test_password_in_host_url_is_masked_in_results(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j', 'hosts': ['http://elastic:url-s3cret@es1:9200']})
    assert 'url-s3cret' in module.no_log_values


def test_percent_encoded_password_in_host_url_is_masked_in_both_forms(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j', 'hosts': ['http://elastic:p%40ss-w0rd@es1:9200']})
    assert {'p%40ss-w0rd', 'p@ss-w0rd'} <= module.no_log_values


# ---------------------------------------------------------------------------------------- auth validation

@pytest.mark.parametrize('args, words', [
    ({'api_key': 'id:key', 'bearer_token': 't'}, ['mutually exclusive', 'api_key', 'bearer_token']),
    ({'api_key': 'id:key', 'username': 'u', 'password': 'p'}, ['mutually exclusive', 'api_key', 'password']),
    ({'bearer_token': 't', 'username': 'u', 'password': 'p'}, ['mutually exclusive', 'bearer_token', 'password']),
    ({'username': 'u'}, ['required together', 'username', 'password']),
    ({'password': 'p'}, ['required together', 'username', 'password']),
    ({'client_key': '/k.pem'}, ['required together', 'client_key', 'client_cert']),
])
def test_auth_conflicts_fail_with_one_message(monkeypatch, args, words):
    args = dict(args, job_id='j')
    msg = fails(monkeypatch, args)
    for word in words:
        assert word in msg
    for secret in ('id:key',):
        assert secret not in msg


def test_env_api_key_conflicting_with_explicit_password(monkeypatch):
    monkeypatch.setenv('ELASTICSEARCH_API_KEY', 'id:key')
    msg = fails(monkeypatch, {'job_id': 'j', 'username': 'u', 'password': 'p'})
    assert 'mutually exclusive' in msg and 'api_key' in msg


def test_api_key_with_url_credentials_fails_on_client(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j', 'hosts': ['http://u:pw-in-url@es1:9200'], 'api_key': 'id:key'})
    with pytest.raises(Failed) as info:
        module.client
    assert 'api_key' in info.value.result['msg']
    assert 'pw-in-url' not in info.value.result['msg']


# ---------------------------------------------------------------------------------------- clean failures

@pytest.mark.parametrize('args, words', [
    ({'hosts': ['ftp://es1']}, ['hosts', 'http://']),
    ({'hosts': ['http://es1:abc']}, ['hosts', 'port']),
    ({'request_timeout': 0}, ['request_timeout', 'greater than zero']),
    ({'request_timeout': -1}, ['request_timeout', 'greater than zero']),
    ({'request_timeout': 1e12}, ['request_timeout', 'too long', '7d']),
    ({'retries': -1}, ['retries', 'zero or more']),
    ({'ca_cert': '/nonexistent/ca.crt'}, ['ca_cert', '/nonexistent/ca.crt', 'does not exist']),
])
def test_client_construction_failures_are_clean(monkeypatch, args, words):
    module = make_module(monkeypatch, dict(args, job_id='j'))
    with pytest.raises(Failed) as info:
        module.client
    msg = info.value.result['msg']
    for word in words:
        assert word in msg
    assert 'exception' not in info.value.result


def test_client_is_built_once(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j', 'retries': 0, 'request_timeout': 5})
    client = module.client
    assert module.client is client
    assert (client.retries, client.request_timeout) == (0, 5.0)


@pytest.mark.parametrize('value', ['30x', 'soon', '0s', '-1'])
def test_duration_failure_names_the_option(monkeypatch, value):
    module = make_module(monkeypatch, {'job_id': 'j', 'timeout': value})
    with pytest.raises(Failed) as info:
        module.duration('timeout')
    assert info.value.result['msg'].startswith('timeout')
    assert 'exception' not in info.value.result


def test_duration_ok(monkeypatch):
    assert make_module(monkeypatch, {'job_id': 'j', 'timeout': '2m'}).duration('timeout') == 120.0


def test_fail_from_elasticsearch_error_has_facts_and_no_traceback(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j'})
    error = ElasticsearchError('POST /_ml/anomaly_detectors/j/_close failed: HTTP 403 security_exception: action '
                               '[cluster:admin/xpack/ml/job/close] is unauthorized', status=403,
                               error_type='security_exception')
    with pytest.raises(Failed) as info:
        module.fail_from_error(error, jobs=[])
    result = info.value.result
    assert result['msg'].startswith('POST /_ml/anomaly_detectors/j/_close failed: HTTP 403')
    assert (result['status'], result['error_type'], result['jobs']) == (403, 'security_exception', [])
    assert 'exception' not in result


def test_fail_from_unexpected_error_keeps_the_traceback_for_bug_reports(monkeypatch):
    module = make_module(monkeypatch, {'job_id': 'j'})
    with pytest.raises(Failed) as info:
        try:
            raise KeyError('state')
        except KeyError as exc:
            module.fail_from_error(exc)
    assert info.value.result['msg'] == "unexpected error: 'state'"
    assert 'KeyError' in info.value.result['exception']


def test_module_mutually_exclusive_are_kept(monkeypatch):
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': {'a': 'x', 'b': 'y'}})))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    with pytest.raises(Failed) as info:
        EsopsModule(argument_spec=generate_argspec(a=dict(type='str'), b=dict(type='str')), mutually_exclusive=[('a', 'b')])
    assert 'mutually exclusive' in info.value.result['msg'] and 'a|b' in info.value.result['msg']
    assert _module.CONNECTION_MUTUALLY_EXCLUSIVE  # the module's own list was added to, not replaced


# ---------------------------------------------------------------------------------------- cluster in every result

def _real_exits(monkeypatch, args):
    """Undo the autouse fixture for EsopsModule and capture AnsibleModule's own exits instead."""
    monkeypatch.undo()
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': dict(args, job_id='a')})))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, msg, **result):
        result['msg'] = msg
        raise Failed(result)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    spec = generate_argspec(job_id=dict(type='str', required=True))
    return EsopsModule(argument_spec=spec, supports_check_mode=True)


def _identity(es):
    return {'uuid': es.cluster.cluster_uuid, 'name': 'prod', 'version': es.version}


@pytest.mark.parametrize('es', [dict(version='6.8.23', cluster_name='prod'), dict(version='9.1.5', cluster_name='prod')],
                         indirect=True, ids=['6.8.23', '9.1.5'])
def test_every_result_names_the_cluster(monkeypatch, es):
    module = _real_exits(monkeypatch, es.params())
    assert module.client is not None   # built, nothing sent yet
    assert es.requests() == []
    with pytest.raises(Exited) as info:
        module.exit_json(changed=False)
    assert info.value.result['cluster'] == _identity(es)
    assert [(r['method'], r['path']) for r in es.requests()] == [('GET', '/')]   # read for the result, once


@pytest.mark.parametrize('es', [dict(cluster_name='prod')], indirect=True)
def test_a_failure_names_the_cluster_only_when_already_read(monkeypatch, es):
    module = _real_exits(monkeypatch, es.params())
    assert module.client is not None
    with pytest.raises(Failed) as info:
        module.fail_json(msg='boom')
    assert 'cluster' not in info.value.result
    assert es.requests() == []   # no request made for it on the failure path
    assert module.client.version == tuple(int(p) for p in es.version.split('.'))
    with pytest.raises(Failed) as info:
        module.fail_json(msg='boom')
    assert info.value.result['cluster'] == _identity(es)
    assert len(es.requests()) == 1


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
@pytest.mark.parametrize('user,identity', [
    ('ml_viewer', {'uuid': None, 'name': None, 'version': '8.19.3'}),   # no `monitor` for GET /, ML info tells the version
    ('nobody', None),                                                   # nothing readable: no cluster to name
])
def test_a_user_without_monitor_gets_what_can_be_read(monkeypatch, es, user, identity):
    module = _real_exits(monkeypatch, es.params(username=user, retries=0))
    assert module.client.cluster_identity(read=True) == (identity or {'uuid': None, 'name': None, 'version': None})
    assert es.requests()[0]['path'] == '/' and es.requests()[0]['status'] == 403
    with pytest.raises(Failed) as info:
        module.fail_json(msg='boom')
    assert info.value.result.get('cluster') == identity


def test_a_module_without_a_client_reports_no_cluster(monkeypatch):
    module = _real_exits(monkeypatch, {})
    with pytest.raises(Exited) as info:
        module.exit_json(changed=False)
    assert 'cluster' not in info.value.result


# ---------------------------------------------------------------------------------------- managed-node Python

@pytest.mark.parametrize('version', [(2, 7, 18), (3, 6, 15), (3, 7, 16)])
def test_unsupported_python_is_one_line_naming_the_interpreter(version):
    msg = _module.unsupported_python(version, '/usr/bin/python')
    assert msg == ('esops.jobs needs Python 3.8 or later on the managed node, but /usr/bin/python is Python %s: '
                   'set ansible_python_interpreter to a newer Python' % '.'.join(str(part) for part in version))


@pytest.mark.parametrize('version', [(3, 8, 0), (3, 11, 7), (3, 14, 0), (4, 0, 0)])
def test_supported_python_passes(version):
    assert _module.unsupported_python(version) is None


def test_module_on_unsupported_python_fails_before_anything_runs(monkeypatch):
    monkeypatch.setattr(_module.sys, 'version_info', (2, 7, 18, 'final', 0))
    msg = fails(monkeypatch, {'job_id': 'a'})
    assert msg.startswith('esops.jobs needs Python 3.8 or later on the managed node, but ')
    assert '\n' not in msg


def test_no_plugin_imports_six():
    """With a managed-node floor of Python 3.8 the standard library is enough; ansible.module_utils.six is only kept
    for Python 2 and deprecated by ansible-core. Python 2 still gets the one-line refusal (make python-floor)."""
    import os
    import re
    plugins = os.path.join(os.path.dirname(_module.__file__), '..')
    six_import = re.compile(r'^\s*(from\s+\S*\bsix\b\S*\s+import|import\s+\S*\bsix\b)', re.MULTILINE)
    found = []
    for directory, _dirs, names in os.walk(plugins):
        for name in names:
            if name.endswith('.py'):
                with open(os.path.join(directory, name)) as handle:
                    if six_import.search(handle.read()):
                        found.append(os.path.relpath(os.path.join(directory, name), plugins))
    assert found == []
