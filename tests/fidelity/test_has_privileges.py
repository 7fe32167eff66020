"""Has-privileges API (security mode): paths per version, response shape, API keys, security disabled.

Sources: RestHasPrivilegesAction.java (x-pack/plugin/security/src/main/java/org/elasticsearch/xpack/security/rest/
action/user/) in its 6.x form (controller.registerHandler on /_xpack/security/user/_has_privileges), 7.x form
(ReplacedRoute /_security <- /_xpack/security) and 8.x/9.x form (Route /_security only); its
HasPrivilegesRestResponseBuilder writes username, has_all_requested, cluster, index, application. Docs:
https://www.elastic.co/guide/en/elasticsearch/reference/6.5/security-api-has-privileges.html (6.x path, "All users
can use this API, but only to determine their own privileges"). Security disabled: SecurityBaseRestHandler /
SecurityActionFilter "Security must be explicitly enabled when using a [basic] license ..." (500, 6.8/7.x default
basic license) and Security.java getRestHandlers "if (enabled == false) return emptyList()" (8.x: no handler).
"""

import base64

import pytest

from .conftest import Client

CLOSE = 'cluster:admin/xpack/ml/job/close'
ROLLUP_DELETE = 'cluster:admin/xpack/rollup/delete'


def basic(user):
    return {'Authorization': 'Basic ' + base64.b64encode(('%s:changeme' % user).encode()).decode()}


def path_for(version):
    return '/_xpack/security/user/_has_privileges' if version.startswith('6.') else '/_security/user/_has_privileges'


@pytest.mark.parametrize('version', ['6.8.23', '7.17.0', '8.19.0', '9.1.0'])
def test_has_privileges_per_user(emu_factory, version):
    emu = emu_factory(version, security=True)
    body = {'cluster': [CLOSE, ROLLUP_DELETE, 'manage_ml', 'monitor_ml'],
            'index': [{'names': ['rollup-idx'], 'privileges': ['delete_index']}]}
    ml = Client(emu, basic('ml_admin'))('POST', path_for(version), body)
    assert ml.status == 200, ml.body
    assert ml.body == {'username': 'ml_admin', 'has_all_requested': False,
                       'cluster': {CLOSE: True, ROLLUP_DELETE: False, 'manage_ml': True, 'monitor_ml': True},
                       'index': {'rollup-idx': {'delete_index': False}}, 'application': {}}
    su = Client(emu, basic('elastic'))('GET', path_for(version), body)
    assert su.status == 200 and su.body['has_all_requested'] is True
    assert su.body['index'] == {'rollup-idx': {'delete_index': True}}
    nobody = Client(emu, basic('nobody'))('POST', path_for(version), {'cluster': [CLOSE]})
    assert nobody.status == 200, nobody.body  # asking about yourself needs no privilege
    assert nobody.body['cluster'] == {CLOSE: False} and nobody.body['has_all_requested'] is False


def test_has_privileges_paths_per_version(emu_factory):
    six = Client(emu_factory('6.8.23', security=True), basic('elastic'))
    assert six('POST', '/_security/user/_has_privileges', {'cluster': ['monitor']}).status == 400
    seven = Client(emu_factory('7.17.0', security=True), basic('elastic'))
    old = seven('POST', '/_xpack/security/user/_has_privileges', {'cluster': ['monitor']})
    assert old.status == 200
    assert old.warnings() == ['299 Elasticsearch-7.17.0-%s "[POST /_xpack/security/user/_has_privileges] is deprecated! '
                              'Use [POST /_security/user/_has_privileges] instead."' % old.warnings()[0].split('-')[2].split(' ')[0]]
    nine = Client(emu_factory('9.1.0', security=True), basic('elastic'))
    assert nine('POST', '/_xpack/security/user/_has_privileges', {'cluster': ['monitor']}).status == 400


def test_has_privileges_api_key_is_limited_by_its_descriptors(emu_factory):
    emu = emu_factory('8.19.0', security=True)
    elastic = Client(emu, basic('elastic'))
    key = elastic('POST', '/_security/api_key', {'name': 'k', 'role_descriptors': {'r': {'cluster': ['monitor_ml']}}}).body
    by_key = Client(emu, {'Authorization': 'ApiKey ' + key['encoded']})
    resp = by_key('POST', '/_security/user/_has_privileges', {'cluster': [CLOSE, 'cluster:monitor/xpack/ml/job/stats/get']})
    assert resp.status == 200, resp.body
    assert resp.body['username'] == 'elastic'  # the owner; its `all` is limited by the key's descriptors
    assert resp.body['cluster'] == {CLOSE: False, 'cluster:monitor/xpack/ml/job/stats/get': True}


def test_has_privileges_bad_requests(emu_factory):
    es = Client(emu_factory('8.19.0', security=True), basic('elastic'))
    resp = es('POST', '/_security/user/_has_privileges', {'cluster': ['manage_everything']})
    assert resp.status == 400 and resp.body['error']['type'] == 'illegal_argument_exception'
    assert resp.body['error']['reason'].startswith('unknown cluster privilege [manage_everything]. a privilege must be ')
    resp = es('POST', '/_security/user/_has_privileges', {})
    assert resp.status == 400 and resp.body['error']['type'] == 'action_request_validation_exception'


@pytest.mark.parametrize('version', ['6.8.23', '7.17.0'])
def test_has_privileges_security_not_enabled_before_8(emu_factory, version):
    resp = Client(emu_factory(version))('POST', path_for(version), {'cluster': ['monitor']})
    assert resp.status == 500
    assert resp.body['error']['type'] == 'exception'
    assert resp.body['error']['reason'].startswith('Security must be explicitly enabled when using a [')


@pytest.mark.parametrize('version', ['8.19.0', '9.1.0'])
def test_has_privileges_security_disabled_8_and_later_has_no_handler(emu_factory, version):
    resp = Client(emu_factory(version))('POST', '/_security/user/_has_privileges', {'cluster': ['monitor']})
    assert resp.status == 400
    assert 'no handler found for uri [/_security/user/_has_privileges] and method [POST]' in str(resp.body)


def test_api_key_index_privileges_limit_the_owner(emu_factory):
    """role_descriptors[*].indices limit an API key's index privileges to their intersection with the owner's (docs
    https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-create-api-key.html
    "role_descriptors"; IndexPrivilege.java: view_index_metadata grants indices:admin/get, delete_index
    indices:admin/delete)."""
    emu = emu_factory('8.19.0', security=True)
    elastic = Client(emu, basic('elastic'))
    assert elastic('PUT', '/r-rollup', {}).status == 200
    key = elastic('POST', '/_security/api_key', {'name': 'k', 'role_descriptors': {'r': {
        'cluster': ['manage_rollup'], 'indices': [{'names': ['r-*'], 'privileges': ['view_index_metadata']}]}}}).body
    by_key = Client(emu, {'Authorization': 'ApiKey ' + key['encoded']})
    resp = by_key('POST', '/_security/user/_has_privileges',
                  {'cluster': [ROLLUP_DELETE], 'index': [{'names': ['r-rollup', 'other'],
                                                          'privileges': ['view_index_metadata', 'delete_index']}]})
    assert resp.body['cluster'] == {ROLLUP_DELETE: True}
    assert resp.body['index'] == {'r-rollup': {'view_index_metadata': True, 'delete_index': False},
                                  'other': {'view_index_metadata': False, 'delete_index': False}}
    assert by_key('GET', '/r-rollup').status == 200
    denied = by_key('DELETE', '/r-rollup')
    assert denied.status == 403
    assert denied.body['error']['reason'].startswith('action [indices:admin/delete] is unauthorized for API key id [')
