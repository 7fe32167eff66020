# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the HTTP client: hosts, auth, retries, errors, warnings, versions.

These are pure tests of the client's own code: most inject an ``opener`` (the ``open_url`` stand-in) that replays
canned answers and sleep on the one test clock, the emulator's ManualClock (fixture ``es_sleeps`` records the
backoff delays). The tests where real headers and sockets matter run a local ``http.server``. How Elasticsearch
answers is the emulator's business (tests/emulator), not these canned responses'.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import json
import socket
import ssl
import threading
import time
from email.message import Message

import pytest

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves import BaseHTTPServer

from ansible_collections.esops.jobs.plugins.module_utils import _client
from ansible_collections.esops.jobs.plugins.module_utils._client import (
    ElasticsearchClient, ElasticsearchConnectionError, ElasticsearchError, describe_error_body, encode_api_key,
    parse_version)
from ansible_collections.esops.jobs.tests.emulator.clock import ManualClock

ES_INFO = {'name': 'n1', 'cluster_name': 'c', 'version': {'number': '8.19.3', 'build_flavor': 'default'},
           'tagline': 'You Know, for Search'}


def headers(pairs=()):
    message = Message()
    for name, value in pairs:
        message[name] = value  # Message keeps repeated headers, like a real HTTP response
    return message


class CannedResponse(object):
    def __init__(self, status, payload, hdrs):
        self._status = status
        self._payload = payload
        self.headers = hdrs

    def getcode(self):
        return self._status

    def read(self):
        return self._payload


class CannedOpener(object):
    """Replays scripted answers: (status, body[, header pairs]) tuples or exceptions to raise."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, url, **kwargs):
        call = dict(kwargs)
        call['url'] = url
        self.calls.append(call)
        if not self.answers:
            raise AssertionError('unexpected request %s %s' % (kwargs.get('method'), url))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body = answer[0], answer[1]
        hdrs = headers(answer[2] if len(answer) > 2 else ())
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode('utf-8')
        elif body is None:
            payload = b''
        else:
            payload = body.encode('utf-8') if not isinstance(body, bytes) else body
        if 200 <= status < 300:
            return CannedResponse(status, payload, hdrs)
        raise HTTPError(url, status, 'status %d' % status, hdrs, io.BytesIO(payload))

    @property
    def urls(self):
        return [c['url'] for c in self.calls]


def make_client(opener, hosts='http://es1:9200', sleep=None, **kwargs):
    warnings = []
    client = ElasticsearchClient(hosts, opener=opener, sleep=sleep or ManualClock().sleep, warn=warnings.append, **kwargs)
    client.test_warnings = warnings
    return client


# ---------------------------------------------------------------------------------------- hosts

@pytest.mark.parametrize('given, expected', [
    ('http://es1:9200', ['http://es1:9200']),
    ('es1:9200', ['http://es1:9200']),
    ('https://es1:9200/', ['https://es1:9200']),
    ('https://proxy.example.com/es/', ['https://proxy.example.com/es']),
    ('http://es1:9200,http://es2:9200', ['http://es1:9200', 'http://es2:9200']),
    (['http://es1:9200, http://es2:9200', ' ', 'https://es3'], ['http://es1:9200', 'http://es2:9200', 'https://es3']),
    ('http://[::1]:9200', ['http://[::1]:9200']),
    ('HTTP://ES1:9200', ['http://es1:9200']),
])
def test_hosts_are_parsed(given, expected):
    assert ElasticsearchClient(given).hosts == expected


@pytest.mark.parametrize('given, words', [
    ([], ['at least one']),
    ('', ['at least one']),
    (None, ['at least one']),
    ('ftp://es1:9200', ['http://', 'https://']),
    ('http://es1:port', ['port']),
    ('http://es1:99999', ['port']),
    ('http://:9200', ['no host name']),
])
def test_bad_hosts_raise_one_clear_value_error(given, words):
    with pytest.raises(ValueError) as info:
        ElasticsearchClient(given)
    text = str(info.value)
    assert text.startswith('hosts')
    assert '\n' not in text
    for word in words:
        assert word in text


@pytest.mark.parametrize('url', [
    'ftp://elastic:s3cr3t-pw@es1:9200',
    'http://elastic:s3cr3t-pw@es1:port',
    'http://elastic:s3cr3t-pw@:9200',
    'http://elastic:s3cr3t-pw@/es',
])
def test_bad_host_messages_never_echo_url_credentials(url):
    with pytest.raises(ValueError) as info:
        ElasticsearchClient(url)
    assert 's3cr3t-pw' not in str(info.value)


def test_url_credentials_are_used_but_stripped_from_the_host():
    opener = CannedOpener((200, ES_INFO))
    client = make_client(opener, hosts='https://elastic:s3cr3t@es1:9200')
    assert client.hosts == ['https://es1:9200']
    client.request('GET', '/')
    call = opener.calls[0]
    assert call['url'] == 'https://es1:9200/'
    assert call['url_username'] == 'elastic'
    assert call['url_password'] == 's3cr3t'
    assert call['force_basic_auth'] is True


def test_url_credentials_are_percent_decoded():
    client = ElasticsearchClient('http://el%40stic:p%40ss%3Aw0rd@es1:9200')
    assert (client.username, client.password) == ('el@stic', 'p@ss:w0rd')


def test_explicit_username_wins_over_url_credentials():
    client = ElasticsearchClient('http://url-user:url-pw@es1:9200', username='ml_admin', password='changeme')
    assert (client.username, client.password) == ('ml_admin', 'changeme')
    assert client.hosts == ['http://es1:9200']


def test_failover_rotates_to_next_host_on_connection_error():
    refused = URLError(ConnectionRefusedError(111, 'Connection refused'))
    opener = CannedOpener(refused, (200, {'ok': True}), (200, {'ok': True}))
    client = make_client(opener, hosts=['http://es1:9200', 'http://es2:9200'])
    assert client.request('GET', '/_ml/info').body == {'ok': True}
    assert opener.urls == ['http://es1:9200/_ml/info', 'http://es2:9200/_ml/info']
    # the healthy host is kept for the next request
    client.request('GET', '/_ml/info')
    assert opener.urls[-1] == 'http://es2:9200/_ml/info'


def test_failover_wraps_around_the_host_list():
    refused = URLError(ConnectionRefusedError(111, 'Connection refused'))
    opener = CannedOpener(refused, refused, (200, {}))
    client = make_client(opener, hosts=['http://es1:9200', 'http://es2:9200'], retries=2)
    client.request('GET', '/')
    assert opener.urls == ['http://es1:9200/', 'http://es2:9200/', 'http://es1:9200/']


# ---------------------------------------------------------------------------------------- auth

def test_basic_auth_is_forced_and_no_authorization_header():
    opener = CannedOpener((200, {}))
    make_client(opener, username='elastic', password='changeme').request('GET', '/')
    call = opener.calls[0]
    assert (call['url_username'], call['url_password'], call['force_basic_auth']) == ('elastic', 'changeme', True)
    assert 'Authorization' not in call['headers']
    assert call['use_netrc'] is False


def test_api_key_id_colon_key_is_base64_encoded():
    opener = CannedOpener((200, {}))
    make_client(opener, api_key='VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw').request('GET', '/')
    call = opener.calls[0]
    expected = base64.b64encode(b'VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw').decode('ascii')
    assert call['headers']['Authorization'] == 'ApiKey ' + expected
    assert call['force_basic_auth'] is False
    assert call['url_username'] is None


def test_api_key_already_encoded_is_sent_as_is():
    encoded = base64.b64encode(b'id:key').decode('ascii')
    assert encode_api_key(encoded) == encoded
    opener = CannedOpener((200, {}))
    make_client(opener, api_key=encoded).request('GET', '/')
    assert opener.calls[0]['headers']['Authorization'] == 'ApiKey ' + encoded


def test_bearer_token_header():
    opener = CannedOpener((200, {}))
    make_client(opener, bearer_token='dGhpcyBpcyBub3QgYSByZWFsIHRva2Vu').request('GET', '/')
    assert opener.calls[0]['headers']['Authorization'] == 'Bearer dGhpcyBpcyBub3QgYSByZWFsIHRva2Vu'


def test_no_auth_sends_no_credentials():
    opener = CannedOpener((200, {}))
    make_client(opener).request('GET', '/')
    call = opener.calls[0]
    assert 'Authorization' not in call['headers']
    assert call['url_username'] is None and call['force_basic_auth'] is False


@pytest.mark.parametrize('kwargs, words', [
    (dict(username='u', password='p', api_key='id:key'), ['username/password', 'api_key']),
    (dict(username='u', password='p', bearer_token='t'), ['username/password', 'bearer_token']),
    (dict(api_key='id:key', bearer_token='t'), ['api_key', 'bearer_token']),
    (dict(password='p', api_key='id:key'), ['username/password', 'api_key']),
    (dict(username='u'), ['username and password']),
    (dict(password='p'), ['username and password']),
    (dict(client_key='/k.pem'), ['client_key', 'client_cert']),
])
def test_auth_conflicts_are_rejected(kwargs, words):
    with pytest.raises(ValueError) as info:
        ElasticsearchClient('http://es1:9200', **kwargs)
    for word in words:
        assert word in str(info.value)


def test_url_credentials_conflict_with_api_key():
    with pytest.raises(ValueError) as info:
        ElasticsearchClient('http://u:secret-pw@es1:9200', api_key='id:key')
    assert 'api_key' in str(info.value)
    assert 'secret-pw' not in str(info.value)


def test_client_cert_alone_is_allowed_combined_pem():
    client = ElasticsearchClient('https://es1:9200', client_cert=__file__)
    assert client.client_cert == __file__


def test_tls_options_reach_the_opener():
    opener = CannedOpener((200, {}))
    make_client(opener, hosts='https://es1:9200', ca_cert=__file__, client_cert=__file__, client_key=__file__,
                validate_certs=False).request('GET', '/')
    call = opener.calls[0]
    assert (call['ca_path'], call['client_cert'], call['client_key'], call['validate_certs']) == (
        __file__, __file__, __file__, False)
    assert call['follow_redirects'] == 'none'


def test_from_params_defaults():
    client = ElasticsearchClient.from_params({'hosts': ['http://es1:9200'], 'retries': 0, 'request_timeout': None})
    assert client.retries == 0
    assert client.request_timeout == 30.0
    assert client.validate_certs is True


# ---------------------------------------------------------------------------------------- requests

def test_params_and_body_are_encoded():
    opener = CannedOpener((200, {'closed': True}))
    client = make_client(opener)
    resp = client.request('POST', '/_ml/anomaly_detectors/a,b/_close',
                          params={'timeout': '30s', 'force': False, 'allow_no_match': True, 'skip': None},
                          body={'x': 1})
    call = opener.calls[0]
    assert call['url'] == 'http://es1:9200/_ml/anomaly_detectors/a,b/_close?allow_no_match=true&force=false&timeout=30s'
    assert json.loads(call['data'].decode('utf-8')) == {'x': 1}
    assert call['headers']['Content-Type'] == 'application/json'
    assert call['method'] == 'POST'
    assert resp.status == 200 and resp.body == {'closed': True}


def test_quote_path_escapes_each_segment():
    assert _client.quote_path('_ml', 'anomaly_detectors', 'a b/c', '_close') == '/_ml/anomaly_detectors/a%20b%2Fc/_close'
    assert _client.quote_path('_ml', 'anomaly_detectors', 'a,b*', '') == '/_ml/anomaly_detectors/a,b*'


def test_ok_statuses_return_the_response():
    opener = CannedOpener((404, {'error': {'type': 'resource_not_found_exception', 'reason': 'No known job with id [x]'},
                                 'status': 404}))
    resp = make_client(opener).request('GET', '/_ml/anomaly_detectors/x', ok_statuses=(404,))
    assert resp.status == 404
    assert resp.body['error']['type'] == 'resource_not_found_exception'


def test_read_timeout_exceeds_server_timeout():
    opener = CannedOpener((200, {}), (200, {}), (200, {}))
    client = make_client(opener, request_timeout=30)
    client.request('POST', '/x', server_timeout=120)
    client.request('POST', '/x', server_timeout=1)
    client.request('POST', '/x')
    long_wait, short_wait, plain = [c['timeout'] for c in opener.calls]
    assert long_wait > 120
    assert short_wait == 30  # request_timeout already outlasts what the server may hold
    assert plain == 30


def test_read_timeout_exceeds_server_timeout_even_with_small_request_timeout():
    opener = CannedOpener((200, {}))
    make_client(opener, request_timeout=1).request('POST', '/x', server_timeout=10)
    assert opener.calls[0]['timeout'] > 10


# ---------------------------------------------------------------------------------------- retries

def test_retryable_statuses_then_success(es_sleeps):
    opener = CannedOpener((429, {}), (502, 'Bad Gateway'), (503, {}), (200, {'ok': 1}))
    client = make_client(opener, sleep=es_sleeps, retries=3)
    assert client.request('GET', '/').body == {'ok': 1}
    assert len(opener.calls) == 4
    assert len(es_sleeps.delays) == 3
    assert client.request_count == 4


@pytest.mark.parametrize('status', [429, 502, 503, 504])
def test_retries_exhausted_fail_clearly(status, es_sleeps):
    opener = CannedOpener(*[(status, {'error': {'type': 'x_exception', 'reason': 'busy'}, 'status': status})] * 4)
    client = make_client(opener, sleep=es_sleeps, retries=3)
    with pytest.raises(ElasticsearchError) as info:
        client.request('GET', '/_ml/anomaly_detectors')
    assert len(opener.calls) == 4
    assert len(es_sleeps.delays) == 3  # no pointless sleep after the last try
    assert info.value.status == status
    text = str(info.value)
    assert 'HTTP %d' % status in text and 'x_exception: busy' in text
    assert 'gave up after 4 attempts' in text
    assert '\n' not in text


def test_connection_errors_exhausted_fail_clearly(es_sleeps):
    refused = URLError(ConnectionRefusedError(111, 'Connection refused'))
    opener = CannedOpener(refused, refused, refused)
    client = make_client(opener, sleep=es_sleeps, retries=2)
    with pytest.raises(ElasticsearchConnectionError) as info:
        client.request('GET', '/_ml/anomaly_detectors')
    assert info.value.status is None
    text = str(info.value)
    assert 'cannot reach Elasticsearch at http://es1:9200' in text
    assert 'Connection refused' in text
    assert 'gave up after 3 attempts' in text
    assert len(es_sleeps.delays) == 2


@pytest.mark.parametrize('status', [400, 401, 403, 404, 409, 500])
def test_other_statuses_are_not_retried(status, es_sleeps):
    opener = CannedOpener((status, {'error': {'type': 't', 'reason': 'r'}, 'status': status}))
    with pytest.raises(ElasticsearchError) as info:
        make_client(opener, sleep=es_sleeps, retries=5).request('POST', '/x')
    assert info.value.status == status
    assert len(opener.calls) == 1 and es_sleeps.delays == []
    assert 'gave up' not in str(info.value)


def test_retry_false_sends_once(es_sleeps):
    opener = CannedOpener((503, {}))
    with pytest.raises(ElasticsearchError):
        make_client(opener, sleep=es_sleeps, retries=5).request('POST', '/x', retry=False)
    assert len(opener.calls) == 1 and es_sleeps.delays == []


def test_retries_zero_sends_once():
    opener = CannedOpener((503, {}))
    with pytest.raises(ElasticsearchError):
        make_client(opener, retries=0).request('GET', '/x')
    assert len(opener.calls) == 1


def test_backoff_is_bounded_in_count_and_total_sleep(monkeypatch, es_sleeps):
    monkeypatch.setattr(_client.random, 'uniform', lambda low, high: high)  # worst case jitter
    opener = CannedOpener(*[(503, {})] * 11)
    with pytest.raises(ElasticsearchError):
        make_client(opener, sleep=es_sleeps, retries=10, retry_backoff=0.5).request('GET', '/')
    assert len(opener.calls) == 11
    assert es_sleeps.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    assert max(es_sleeps.delays) <= _client.MAX_BACKOFF_SECONDS


def test_backoff_jitter_stays_within_half_and_full_delay(es_sleeps):
    opener = CannedOpener(*[(502, {})] * 6)
    with pytest.raises(ElasticsearchError):
        make_client(opener, sleep=es_sleeps, retries=5, retry_backoff=1.0).request('GET', '/')
    for attempt, delay in enumerate(es_sleeps.delays):
        full = min(10.0, 2 ** attempt)
        assert full / 2 <= delay <= full


@pytest.mark.parametrize('retry_after, low, high', [
    ('3', 3.0, 3.0),
    ('0.1', 0.25, 0.5),          # never shorter than our own backoff
    ('3600', 10.0, 10.0),        # capped: a hostile or confused proxy cannot park the play for an hour
    ('Wed, 21 Oct 2015 07:28:00 GMT', 0.25, 0.5),  # HTTP-date form is ignored, backoff applies
    ('soon', 0.25, 0.5),
])
def test_retry_after_is_honoured_within_bounds(retry_after, low, high, es_sleeps):
    opener = CannedOpener((429, {}, [('Retry-After', retry_after)]), (200, {}))
    make_client(opener, sleep=es_sleeps, retry_backoff=0.5).request('GET', '/')
    assert len(es_sleeps.delays) == 1
    assert low <= es_sleeps.delays[0] <= high


def test_429_stays_on_host_and_5xx_rotates():
    opener = CannedOpener((429, {}), (200, {}), (503, {}), (200, {}))
    client = make_client(opener, hosts=['http://es1:9200', 'http://es2:9200'])
    client.request('GET', '/a')
    assert opener.urls == ['http://es1:9200/a', 'http://es1:9200/a']
    client.request('GET', '/b')
    assert opener.urls[2:] == ['http://es1:9200/b', 'http://es2:9200/b']


def test_connection_reset_is_retried():
    reset = ConnectionResetError(104, 'Connection reset by peer')
    opener = CannedOpener(reset, (200, {'ok': True}))
    assert make_client(opener).request('GET', '/').body == {'ok': True}


@pytest.mark.parametrize('exc, words', [
    (URLError(socket.timeout('timed out')), ['timed out']),
    (socket.timeout('timed out'), ['timed out']),
    (URLError(ssl.SSLError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')), ['TLS failure', 'ca_cert']),
    (URLError(ConnectionRefusedError(111, 'Connection refused')), ['Connection refused']),
    (ConnectionResetError(104, 'Connection reset by peer'), ['reset']),
    (URLError(socket.gaierror(-2, 'Name or service not known')), ['Name or service not known']),
])
def test_connection_failures_are_one_clear_line(exc, words):
    opener = CannedOpener(exc)
    with pytest.raises(ElasticsearchConnectionError) as info:
        make_client(opener, retries=0).request('POST', '/_ml/anomaly_detectors/j/_close', params={'timeout': '5s'})
    text = str(info.value)
    assert text.startswith('POST /_ml/anomaly_detectors/j/_close: cannot reach Elasticsearch at http://es1:9200')
    assert '?timeout' not in text
    assert '\n' not in text
    for word in words:
        assert word in text
    assert info.value.status is None


# ---------------------------------------------------------------------------------------- errors

def test_error_envelope_with_caused_by_chain():
    body = {'error': {'root_cause': [{'type': 'illegal_argument_exception', 'reason': 'deep'}],
                      'type': 'status_exception', 'reason': 'cannot close job [x] because it failed, use force close',
                      'caused_by': {'type': 'illegal_state_exception', 'reason': 'middle',
                                    'caused_by': {'type': 'illegal_argument_exception', 'reason': 'deep'}}},
            'status': 409}
    opener = CannedOpener((409, body))
    with pytest.raises(ElasticsearchError) as info:
        make_client(opener).request('POST', '/_ml/anomaly_detectors/x/_close')
    err = info.value
    assert str(err) == ('POST /_ml/anomaly_detectors/x/_close failed: HTTP 409 status_exception: cannot close job [x] '
                        'because it failed, use force close; caused by: illegal_state_exception: middle; '
                        'caused by: illegal_argument_exception: deep')
    assert (err.status, err.error_type) == (409, 'status_exception')
    assert err.reason == 'cannot close job [x] because it failed, use force close'


def test_caused_by_chain_is_bounded():
    cause = {'type': 'leaf', 'reason': 'r'}
    for i in range(50):
        cause = {'type': 't%d' % i, 'reason': 'r', 'caused_by': cause}
    _type, _reason, text = describe_error_body(500, {'error': cause})
    assert text.count('caused by') <= 5


def test_rollup_task_failures_body():
    body = {'task_failures': [{'task_id': 1, 'node_id': 'n1', 'status': 'INTERNAL_SERVER_ERROR',
                               'reason': {'type': 'illegal_state_exception',
                                          'reason': 'Could not delete job [r1] because indexer state is [STARTED]'}}],
            'acknowledged': False}
    opener = CannedOpener((500, body))
    with pytest.raises(ElasticsearchError) as info:
        make_client(opener).request('DELETE', '/_rollup/job/r1')
    err = info.value
    assert err.error_type == 'illegal_state_exception'
    assert 'Could not delete job [r1] because indexer state is [STARTED]' in str(err)
    assert str(err).startswith('DELETE /_rollup/job/r1 failed: HTTP 500 illegal_state_exception:')


def test_node_failures_and_string_reasons():
    body = {'node_failures': [{'type': 'failed_node_exception', 'reason': 'node n2 left'}], 'acknowledged': False}
    assert describe_error_body(500, body) == ('failed_node_exception', 'node n2 left', 'failed_node_exception: node n2 left')


def test_string_error_and_message_bodies():
    assert describe_error_body(400, {'error': 'Incorrect HTTP method', 'status': 405})[2] == 'Incorrect HTTP method'
    assert describe_error_body(503, {'message': 'upstream gone'})[2] == 'upstream gone'
    assert describe_error_body(502, None)[2] == 'no response body'
    assert describe_error_body(502, '')[2] == 'no response body'


def test_non_json_body_is_one_line_and_bounded():
    html = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\n' + 'x' * 2000 + '\n</body></html>\n'
    opener = CannedOpener((502, html))
    with pytest.raises(ElasticsearchError) as info:
        make_client(opener, retries=0).request('GET', '/')
    text = str(info.value)
    assert 'HTTP 502' in text and '502 Bad Gateway' in text
    assert '\n' not in text and '\r' not in text
    assert len(text) < 700


def test_non_json_success_body_is_returned_as_text():
    opener = CannedOpener((200, 'plain text'))
    assert make_client(opener).request('GET', '/_cat/ml/anomaly_detectors').body == 'plain text'


def test_empty_success_body_is_none():
    opener = CannedOpener((200, None))
    assert make_client(opener).request('HEAD', '/').body is None


def test_unauthorized_and_forbidden_messages_name_the_action():
    forbidden = {'error': {'type': 'security_exception',
                           'reason': 'action [cluster:admin/xpack/ml/job/close] is unauthorized for user [ml_viewer]'},
                 'status': 403}
    unauthorized = {'error': {'type': 'security_exception', 'reason': 'unable to authenticate user [elastic]'}}
    opener = CannedOpener((403, forbidden), (401, unauthorized))
    client = make_client(opener, username='elastic', password='wrong-password')
    with pytest.raises(ElasticsearchError) as info:
        client.request('POST', '/_ml/anomaly_detectors/j/_close')
    assert 'HTTP 403' in str(info.value) and 'cluster:admin/xpack/ml/job/close' in str(info.value)
    with pytest.raises(ElasticsearchError) as info:
        client.request('GET', '/')
    assert 'HTTP 401' in str(info.value)
    assert 'wrong-password' not in str(info.value)


# ---------------------------------------------------------------------------------------- warnings

def test_warning_headers_surface_once_per_text():
    dated = '299 Elasticsearch-6.8.23-4f67856 "[_xpack/ml] is deprecated" "Mon, 01 Jan 2024 00:00:00 GMT"'
    opener = CannedOpener(
        (200, {}, [('Warning', '299 Elasticsearch-8.19.3-abc "the [allow_no_jobs] parameter is deprecated"'),
                   ('Warning', '299 Elasticsearch-8.19.3-abc "the [allow_no_jobs] parameter is deprecated"'),
                   ('Warning', dated)]),
        (200, {}, [('Warning', '299 Elasticsearch-8.19.3-abc "the [allow_no_jobs] parameter is deprecated"')]),
        (200, {}, [('Warning', '299 Elasticsearch-8.19.3-abc "say \\"hi\\"", 299 Elasticsearch-8.19.3-abc "second"')]),
    )
    client = make_client(opener)
    for path in ('/', '/', '/'):
        client.request('GET', path)
    assert client.test_warnings == [
        'Elasticsearch: the [allow_no_jobs] parameter is deprecated',
        'Elasticsearch: [_xpack/ml] is deprecated',
        'Elasticsearch: say "hi"',
        'Elasticsearch: second',
    ]


def test_warning_headers_on_error_responses_are_surfaced():
    opener = CannedOpener((400, {'error': {'type': 'x', 'reason': 'y'}}, [('Warning', '299 Elasticsearch-7.17.28-a "old"')]))
    client = make_client(opener)
    with pytest.raises(ElasticsearchError):
        client.request('GET', '/')
    assert client.test_warnings == ['Elasticsearch: old']


def test_unparseable_warning_is_surfaced_verbatim():
    opener = CannedOpener((200, {}, [('Warning', 'something odd')]))
    client = make_client(opener)
    client.request('GET', '/')
    assert client.test_warnings == ['Elasticsearch: something odd']


def test_no_warn_callback_is_fine():
    opener = CannedOpener((200, {}, [('Warning', '299 Elasticsearch-8 "x"')]))
    ElasticsearchClient('http://es1:9200', opener=opener).request('GET', '/')


# ---------------------------------------------------------------------------------------- version

@pytest.mark.parametrize('number, expected', [
    ('8.19.3', (8, 19, 3)),
    ('9.0.0-SNAPSHOT', (9, 0, 0)),
    ('7.10', (7, 10, 0)),
    ('6.8.23', (6, 8, 23)),
    (u'9.1.5', (9, 1, 5)),
])
def test_parse_version(number, expected):
    assert parse_version(number) == expected


def test_parse_version_rejects_garbage():
    with pytest.raises(ValueError):
        parse_version('banana')


def test_version_is_read_once_and_cached():
    opener = CannedOpener((200, ES_INFO))
    client = make_client(opener)
    assert client.version == (8, 19, 3)
    assert client.version_string == '8.19.3'
    assert client.info()['cluster_name'] == 'c'
    assert len(opener.calls) == 1


@pytest.mark.parametrize('body, words', [
    ({'version': {'distribution': 'opensearch', 'number': '2.11.0'}, 'tagline': 'The OpenSearch Project'},
     ['opensearch 2.11.0', 'not Elasticsearch']),
    ({'hello': 'world'}, ['did not answer like Elasticsearch']),
    ('<html>not es</html>', ['did not answer like Elasticsearch']),
])
def test_non_elasticsearch_is_rejected(body, words):
    opener = CannedOpener((200, body))
    with pytest.raises(ElasticsearchError) as info:
        make_client(opener).version
    for word in words:
        assert word in str(info.value)


FORBIDDEN_MAIN = {'error': {'type': 'security_exception',
                            'reason': 'action [cluster:monitor/main] is unauthorized for user [ml] with roles [ml]'},
                  'status': 403}


def test_version_falls_back_to_ml_info_when_get_root_is_forbidden():
    opener = CannedOpener((403, FORBIDDEN_MAIN),
                          (200, {'defaults': {}, 'upgrade_mode': False, 'native_code': {'version': '8.19.3'}}))
    client = make_client(opener)
    assert client.version == (8, 19, 3)
    assert [call['url'] for call in opener.calls] == ['http://es1:9200/', 'http://es1:9200/_ml/info']


def test_version_falls_back_to_xpack_ml_info_on_6x():
    no_handler = {'error': 'no handler found for uri [/_ml/info] and method [GET]', 'status': 400}
    opener = CannedOpener((403, FORBIDDEN_MAIN), (400, no_handler),
                          (200, {'defaults': {}, 'native_code': {'version': '6.8.23'}}))
    assert make_client(opener).version == (6, 8, 23)
    assert opener.calls[-1]['url'] == 'http://es1:9200/_xpack/ml/info'


def test_version_unreadable_names_the_privileges_to_grant():
    forbidden_ml = {'error': {'type': 'security_exception', 'reason': 'action [cluster:monitor/xpack/ml/info/get] ...'},
                    'status': 403}
    no_handler = {'error': 'no handler found for uri [/_xpack/ml/info] and method [GET]', 'status': 400}
    opener = CannedOpener((403, FORBIDDEN_MAIN), (403, forbidden_ml), (400, no_handler))
    with pytest.raises(ElasticsearchError) as info:
        make_client(opener).version
    message = str(info.value)
    assert 'HTTP 403' in message and 'cluster:monitor/main' in message
    assert 'monitor' in message and 'monitor_ml' in message
    assert info.value.status == 403


# ---------------------------------------------------------------------------------------- real HTTP server

class _Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    script = []
    seen = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        self.seen.append(dict(method=self.command, path=self.path, headers=dict(self.headers.items()),
                              body=self.rfile.read(length) if length else b''))
        status, body, extra, delay = self.script.pop(0) if self.script else (200, {}, [], 0)
        if delay:
            time.sleep(delay)
        payload = json.dumps(body).encode('utf-8') if body is not None else b''
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture
def server():
    _Handler.script = []
    _Handler.seen = []
    httpd = BaseHTTPServer.HTTPServer(('127.0.0.1', 0), _Handler)
    # A short poll interval: shutdown() waits up to one interval (0.5 s by default) for the serving loop.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.02})
    thread.daemon = True
    thread.start()
    try:
        yield httpd, 'http://127.0.0.1:%d' % httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_real_server_basic_auth_and_repeated_warning_headers(server):
    _httpd, url = server
    warning = '299 Elasticsearch-6.8.23-4f67856 "[_xpack/ml] is deprecated" "Mon, 01 Jan 2024 00:00:00 GMT"'
    _Handler.script = [(200, ES_INFO, [('Warning', warning), ('Warning', warning),
                                       ('Warning', '299 Elasticsearch-6.8.23-4f67856 "other"')], 0)]
    warnings = []
    client = ElasticsearchClient(url.replace('http://', 'http://elastic:p%40ss@'), warn=warnings.append)
    assert client.version == (8, 19, 3)
    seen = _Handler.seen[0]
    assert seen['headers']['Authorization'] == 'Basic ' + base64.b64encode(b'elastic:p@ss').decode('ascii')
    assert seen['headers']['User-Agent'].startswith('esops.jobs')
    assert warnings == ['Elasticsearch: [_xpack/ml] is deprecated', 'Elasticsearch: other']


def test_real_server_api_key_and_error_body(server):
    _httpd, url = server
    _Handler.script = [(409, {'error': {'type': 'status_exception', 'reason': 'job failed'}, 'status': 409}, [], 0)]
    client = ElasticsearchClient(url, api_key='id:key')
    with pytest.raises(ElasticsearchError) as info:
        client.request('POST', '/_ml/anomaly_detectors/j/_close', params={'force': False}, body={'a': 1})
    assert str(info.value) == 'POST /_ml/anomaly_detectors/j/_close failed: HTTP 409 status_exception: job failed'
    seen = _Handler.seen[0]
    assert seen['path'] == '/_ml/anomaly_detectors/j/_close?force=false'
    assert seen['headers']['Authorization'] == 'ApiKey ' + base64.b64encode(b'id:key').decode('ascii')
    assert json.loads(seen['body'].decode('utf-8')) == {'a': 1}


def test_real_server_retry_after_and_retry(server, es_sleeps):
    _httpd, url = server
    _Handler.script = [(429, {'error': 'slow down'}, [('Retry-After', '2')], 0), (200, {'ok': True}, [], 0)]
    client = ElasticsearchClient(url, sleep=es_sleeps)
    assert client.request('GET', '/').body == {'ok': True}
    assert es_sleeps.delays[0] >= 2
    assert len(_Handler.seen) == 2


def test_real_server_slow_response_times_out_cleanly(server):
    _httpd, url = server
    _Handler.script = [(200, {}, [], 0.6)]   # shutdown() waits for this answer: keep it short, but well past the timeout
    client = ElasticsearchClient(url, request_timeout=0.1, retries=0)
    with pytest.raises(ElasticsearchConnectionError) as info:
        client.request('GET', '/_ml/anomaly_detectors')
    assert 'timed out' in str(info.value)


def test_real_server_refused_connection(es_sleeps):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port any more
    client = ElasticsearchClient('http://127.0.0.1:%d' % port, retries=1, sleep=es_sleeps)
    with pytest.raises(ElasticsearchConnectionError) as info:
        client.request('GET', '/')
    assert 'cannot reach Elasticsearch at http://127.0.0.1:%d' % port in str(info.value)
    assert 'gave up after 2 attempts' in str(info.value)
    assert len(es_sleeps.delays) == 1


@pytest.mark.parametrize('option', ['ca_cert', 'client_cert'])
def test_missing_tls_files_name_the_option(option, tmp_path):
    with pytest.raises(ValueError) as info:
        ElasticsearchClient('https://es1:9200', **{option: str(tmp_path / 'nope.pem')})
    assert str(info.value) == '%s: %s does not exist or is not a file' % (option, tmp_path / 'nope.pem')


# ---------------------------------------------------------------------------------------- TLS context reuse

class _RecordingRequest(object):
    opened = []

    def open(self, method, url, **kwargs):
        self.opened.append(dict(kwargs, method=method, url=url))
        return CannedResponse(200, b'{}', headers())


@pytest.fixture
def recording(monkeypatch):
    built = []

    def fake_make_context(**kwargs):
        built.append(kwargs)
        return object()

    _RecordingRequest.opened = []
    monkeypatch.setattr(_client, 'Request', _RecordingRequest)
    monkeypatch.setattr(_client, 'make_context', fake_make_context)
    return built, _RecordingRequest.opened


def test_https_requests_of_one_client_share_one_tls_context(recording):
    built, opened = recording
    client = ElasticsearchClient(['https://es1:9200', 'https://es2:9200'], ca_cert=__file__, opener=_client.ReusingOpener())
    for _attempt in range(5):
        client.request('POST', '/_rollup/job/r1/_stop')
    assert built == [dict(cafile=__file__, validate_certs=True, client_cert=None, client_key=None)]
    assert len(opened) == 5
    assert len(set(id(call['context']) for call in opened)) == 1
    # open_url's own TLS options still travel with the request.
    assert opened[0]['ca_path'] == __file__ and opened[0]['validate_certs'] is True
    assert opened[0]['method'] == 'POST' and opened[0]['url'] == 'https://es1:9200/_rollup/job/r1/_stop'


def test_different_tls_options_never_share_a_context(recording):
    built, _opened = recording
    opener = _client.ReusingOpener()
    opener('https://es1:9200/', method='GET', ca_path=None, validate_certs=True)
    opener('https://es1:9200/', method='GET', ca_path=None, validate_certs=False)
    opener('https://es1:9200/', method='GET', ca_path=None, validate_certs=True)
    assert [b['validate_certs'] for b in built] == [True, False]


def test_plain_http_never_loads_certificates(recording):
    built, opened = recording
    client = ElasticsearchClient('http://es1:9200', opener=_client.ReusingOpener())
    client.request('GET', '/')
    client.request('GET', '/')
    assert built == []
    assert isinstance(opened[0]['context'], ssl.SSLContext)


def test_default_opener_reuses_contexts_when_ansible_core_can():
    from ansible.module_utils.urls import Request  # pylint: disable=import-outside-toplevel
    expected = _client.ReusingOpener if 'context' in _client._parameters(Request.open) else type(_client.open_url)
    assert isinstance(_client.default_opener(), expected)


def test_default_opener_falls_back_to_open_url_without_make_context(monkeypatch):
    monkeypatch.setattr(_client, 'make_context', None)
    assert _client.default_opener() is _client.open_url


# ---------------------------------------------------------------------------------------- cluster identity

def test_cluster_identity_comes_from_the_one_get_root():
    info = dict(ES_INFO, cluster_uuid='dGhpc2lzYXV1aWQxMjM0', cluster_name='prod-eu')
    opener = CannedOpener((200, info))
    client = make_client(opener)
    assert client.version == (8, 19, 3)
    assert client.cluster_identity() == {'uuid': 'dGhpc2lzYXV1aWQxMjM0', 'name': 'prod-eu', 'version': '8.19.3'}
    assert client.cluster_identity() == client.cluster_identity(read=False)
    assert opener.urls == ['http://es1:9200/']


def test_cluster_identity_reads_get_root_when_nothing_did_yet():
    opener = CannedOpener((200, dict(ES_INFO, cluster_uuid='u1')))
    client = make_client(opener)
    assert client.cluster_identity(read=False) == {'uuid': None, 'name': None, 'version': None}
    assert opener.urls == []
    assert client.cluster_identity() == {'uuid': 'u1', 'name': 'c', 'version': '8.19.3'}


def test_cluster_identity_unrecovered_cluster_uuid_is_null():
    # ClusterState.UNKNOWN_UUID: GET / answers "_na_" until the cluster state is recovered.
    client = make_client(CannedOpener((200, dict(ES_INFO, cluster_uuid='_na_'))))
    assert client.cluster_identity()['uuid'] is None


def test_cluster_identity_without_monitor_has_version_only():
    opener = CannedOpener((403, FORBIDDEN_MAIN),
                          (200, {'defaults': {}, 'upgrade_mode': False, 'native_code': {'version': '8.19.3'}}))
    client = make_client(opener)
    assert client.cluster_identity() == {'uuid': None, 'name': None, 'version': '8.19.3'}


def test_a_refused_get_root_is_asked_once_per_run():
    forbidden_ml = {'error': {'type': 'security_exception', 'reason': 'action [cluster:monitor/xpack/ml/info/get] ...'},
                    'status': 403}
    opener = CannedOpener((403, FORBIDDEN_MAIN), (403, forbidden_ml))
    client = make_client(opener)
    with pytest.raises(ElasticsearchError):
        client.version
    with pytest.raises(ElasticsearchError):
        client.version
    assert client.cluster_identity() == {'uuid': None, 'name': None, 'version': None}
    assert opener.urls == ['http://es1:9200/', 'http://es1:9200/_ml/info']
