# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client of the collection.

Built on ``ansible.module_utils.urls`` so the managed node needs no third-party package.
It knows hosts failover, authentication, TLS, retries with backoff, Elasticsearch's error
envelopes and ``Warning`` headers, and the cluster version.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import random
import re
import socket
import ssl
import threading
import time

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import open_url

try:
    from http.client import HTTPException
    from urllib.error import HTTPError, URLError
    from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit
except ImportError:  # Python 2 (floor 3.8): every module refuses it with one line (_module.unsupported_python) first
    class HTTPException(Exception):
        """Never raised: stands in for http.client's so that this file imports."""

    class URLError(IOError):
        """Never raised: stands in for urllib.error's."""

    class HTTPError(URLError):
        """Never raised: stands in for urllib.error's."""

    quote = unquote = urlencode = urlsplit = urlunsplit = None

try:
    from ansible.module_utils.urls import Request, make_context
except ImportError:  # pragma: no cover - an ansible-core without reusable TLS contexts: open_url per request
    Request = make_context = None

USER_AGENT = 'esops.jobs (Ansible collection)'
RETRY_STATUSES = (429, 502, 503, 504)
# Whatever the caller asks, never back off longer than this between two tries.
MAX_BACKOFF_SECONDS = 10.0
_WARNING_RE = re.compile(r'299 \S+ "((?:[^"\\]|\\.)*)"')


class ElasticsearchError(Exception):
    """A request failed. ``str()`` is one line a user can act on; it never holds secrets."""

    def __init__(self, message, status=None, error_type=None, reason=None):
        super(ElasticsearchError, self).__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.reason = reason

    def __str__(self):
        return self.message


class ElasticsearchConnectionError(ElasticsearchError):
    """No HTTP response at all: refused, reset, timed out, TLS failure."""


class Response(object):
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def __repr__(self):
        return 'Response(status=%r)' % self.status


def encode_api_key(api_key):
    """Accept ``id:key`` or the already encoded form, return the encoded form."""
    if ':' in api_key:
        return to_text(base64.b64encode(api_key.encode('utf-8')))
    return api_key


def quote_path(*parts):
    """Join path segments, escaping each one (ids with odd characters must not change the route)."""
    return '/' + '/'.join(quote(to_native(part), safe=',*') for part in parts if part != '')


# The oldest Elasticsearch the collection supports (README, docs/design.md); older clusters are refused at the first
# version read, before any request that could change something.
MIN_ELASTICSEARCH = (6, 8, 0)


def is_retryable(error):
    """An answer worth sending again: throttling or a gateway error. A 429 elasticsearch_timeout_exception is a
    server-side wait that ran out (9.0+, elastic/elasticsearch#116026), not throttling: asking again would only wait
    again. (The API layer narrows this further with the classified error, ``_errors.worth_retrying``.)"""
    return error.status in RETRY_STATUSES and error.error_type != 'elasticsearch_timeout_exception'


def parse_version(number):
    """'8.19.3' or '9.0.0-SNAPSHOT' -> (8, 19, 3)."""
    parts = re.findall(r'\d+', to_text(number).split('-')[0])[:3]
    if not parts:
        raise ValueError('unrecognised version %r' % (number,))
    parts = [int(p) for p in parts] + [0] * (3 - len(parts))
    return tuple(parts)


def describe_error_body(status, body):
    """Turn an ES error body (any of its shapes) into (error_type, reason, one-line text)."""
    if isinstance(body, dict):
        error = body.get('error')
        if isinstance(error, dict):
            error_type = error.get('type')
            reason = error.get('reason')
            text = '%s: %s' % (error_type, reason) if error_type else to_text(reason)
            cause = error.get('caused_by')
            seen = 0
            while isinstance(cause, dict) and seen < 5:
                text += '; caused by: %s: %s' % (cause.get('type'), cause.get('reason'))
                cause = cause.get('caused_by')
                seen += 1
            return error_type, reason, text
        if isinstance(error, (str, type(u''))):
            return None, error, to_text(error)
        # Rollup delete and other task APIs answer with failure lists, not an envelope (TransportDeleteRollupJobAction).
        failures = list(body.get('task_failures') or []) + list(body.get('node_failures') or [])
        if failures:
            texts = []
            first_type = first_reason = None
            for failure in failures:
                reason = failure.get('reason') if isinstance(failure, dict) else None
                if isinstance(reason, dict):
                    f_type, f_reason = reason.get('type'), reason.get('reason')
                else:
                    f_type, f_reason = failure.get('type') if isinstance(failure, dict) else None, reason
                first_type = first_type or f_type
                first_reason = first_reason or f_reason
                texts.append('%s: %s' % (f_type, f_reason) if f_type else to_text(f_reason))
            return first_type, first_reason, '; '.join(texts)
        if 'message' in body:
            return None, body['message'], to_text(body['message'])
    if body is None or body == '':
        return None, None, 'no response body'
    text = to_text(body if not isinstance(body, dict) else json.dumps(body))
    # A proxy's HTML error page is many lines; the message must stay one line.
    return None, text, ' '.join(text.split())[:500]


class ReusingOpener(object):
    """``open_url`` with one TLS context per client instead of one per request.

    ``open_url`` builds a fresh SSL context for every request, https or not, and loading the CA bundle
    into it costs ~15 ms of CPU, under the GIL: ten concurrent stops would queue ~150 ms behind it.
    The context for https hosts is built once from the same options (``make_context``, as ``open_url``
    does); plain http requests get an empty context that is never used.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._contexts = {}

    def __call__(self, url, method='GET', ca_path=None, validate_certs=True, client_cert=None, client_key=None,
                 **kwargs):
        context = self._context(url, ca_path, validate_certs, client_cert, client_key)
        return Request().open(method, url, validate_certs=validate_certs, ca_path=ca_path, client_cert=client_cert,
                              client_key=client_key, context=context, **kwargs)

    def _context(self, url, ca_path, validate_certs, client_cert, client_key):
        https = url.lower().startswith('https:')
        key = (ca_path, validate_certs, client_cert, client_key) if https else None
        with self._lock:
            if key not in self._contexts:
                if https:
                    self._contexts[key] = make_context(cafile=ca_path, validate_certs=validate_certs,
                                                       client_cert=client_cert, client_key=client_key)
                else:
                    self._contexts[key] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            return self._contexts[key]


def default_opener():
    """A ReusingOpener where this ansible-core can take a prepared context, else plain ``open_url``."""
    if make_context is None or 'context' not in _parameters(Request.open):
        return open_url
    return ReusingOpener()


def _parameters(function):
    code = getattr(function, '__code__', None)
    return code.co_varnames[:code.co_argcount] if code else ()


class ElasticsearchClient(object):
    """Talk to one Elasticsearch cluster through a list of equivalent hosts."""

    def __init__(self, hosts, username=None, password=None, api_key=None, bearer_token=None,
                 ca_cert=None, client_cert=None, client_key=None, validate_certs=True,
                 request_timeout=30.0, retries=3, retry_backoff=0.5, warn=None,
                 sleep=time.sleep, opener=None):
        if isinstance(hosts, (str, type(u''))):
            hosts = [hosts]
        self.hosts = []
        for host in hosts or []:
            for piece in to_text(host).split(','):
                if piece.strip():
                    url, url_user, url_password = self._split_url(piece.strip())
                    self.hosts.append(url)
                    # Credentials written into the URL are honoured but never echoed back.
                    if url_user and not username:
                        username, password = url_user, url_password
        if not self.hosts:
            raise ValueError('hosts: at least one Elasticsearch URL is required, for example http://localhost:9200')
        auth_kinds = [name for name, value in (('username/password', username or password), ('api_key', api_key),
                                               ('bearer_token', bearer_token)) if value]
        if len(auth_kinds) > 1:
            raise ValueError('use only one way to authenticate, got %s' % ' and '.join(auth_kinds))
        if bool(username) != bool(password):
            raise ValueError('username and password must be given together')
        if bool(client_cert) != bool(client_key) and client_key:
            raise ValueError('client_key needs client_cert')
        # Otherwise the TLS layer only says "[Errno 2] No such file or directory", naming neither option nor file.
        for option, value in (('ca_cert', ca_cert), ('client_cert', client_cert), ('client_key', client_key)):
            if value and not os.path.isfile(value):
                raise ValueError('%s: %s does not exist or is not a file' % (option, value))
        self.username = username
        self.password = password
        self._auth_header = None
        if api_key:
            self._auth_header = 'ApiKey ' + encode_api_key(api_key)
        elif bearer_token:
            self._auth_header = 'Bearer ' + bearer_token
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.validate_certs = validate_certs
        self.request_timeout = float(request_timeout)
        self.retries = max(0, int(retries))
        self.retry_backoff = float(retry_backoff)
        self._warn = warn
        self._warned = set()
        self._lock = threading.Lock()
        self._sleep = sleep
        self._open = opener or default_opener()
        self._host_index = 0
        self._info = None
        self._info_error = None
        self.request_count = 0

    @classmethod
    def from_params(cls, params, warn=None):
        return cls(
            hosts=params.get('hosts'),
            username=params.get('username'),
            password=params.get('password'),
            api_key=params.get('api_key'),
            bearer_token=params.get('bearer_token'),
            ca_cert=params.get('ca_cert'),
            client_cert=params.get('client_cert'),
            client_key=params.get('client_key'),
            validate_certs=params.get('validate_certs', True),
            request_timeout=params.get('request_timeout') or 30.0,
            retries=params.get('retries') if params.get('retries') is not None else 3,
            warn=warn,
        )

    @staticmethod
    def _split_url(url):
        if '://' not in url:
            url = 'http://' + url
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https'):
            raise ValueError('hosts: %r must use http:// or https://' % urlunsplit(parts._replace(netloc=parts.hostname or '')))
        if not parts.hostname:
            raise ValueError('hosts: %r has no host name' % urlunsplit(parts._replace(netloc=parts.netloc.rpartition('@')[2])))
        netloc = parts.hostname if ':' not in parts.hostname else '[%s]' % parts.hostname
        try:
            port = parts.port
        except ValueError:
            raise ValueError('hosts: the port of %s://%s is not a valid port number' % (parts.scheme, parts.hostname))
        if port:
            netloc += ':%d' % port
        clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip('/'), '', ''))
        # user:password in a URL is percent-encoded (p%40ss for p@ss); Elasticsearch needs the real value.
        return (clean, unquote(parts.username) if parts.username else parts.username,
                unquote(parts.password) if parts.password else parts.password)

    # -- cluster facts -------------------------------------------------------------------------

    def info(self):
        if self._info is None and self._info_error is not None:
            raise self._info_error   # read once per run: a refused GET / is not asked again
        if self._info is None:
            try:
                info = self._read_info()
                self._refuse_unsupported(info)
                self._info = info
            except ElasticsearchError as exc:
                self._info_error = exc
                raise
        return self._info

    @staticmethod
    def _refuse_unsupported(info):
        number = to_text(info['version']['number'])
        try:
            version = parse_version(number)
        except ValueError:
            raise ElasticsearchError('the cluster reports version %r, which is not an Elasticsearch version' % number)
        if version < MIN_ELASTICSEARCH:
            raise ElasticsearchError('Elasticsearch %s is not supported: esops.jobs needs %s or later (nothing was changed)'
                                     % (number, '.'.join(str(part) for part in MIN_ELASTICSEARCH)))

    def _read_info(self):
        response = self.request('GET', '/', ok_statuses=(403,))
        if response.status == 403:
            # GET / needs cluster:monitor/main, which an ML- or rollup-only role may lack.
            return self._version_from_ml_info(response)
        body = response.body
        if not isinstance(body, dict) or 'version' not in body:
            raise ElasticsearchError('GET / did not answer like Elasticsearch (no version in the response)')
        distribution = body['version'].get('distribution')
        if distribution and distribution != 'elasticsearch':
            raise ElasticsearchError('the cluster is %s %s, not Elasticsearch; it is not supported'
                                     % (distribution, body['version'].get('number')))
        return body

    def cluster_identity(self, read=True):
        """``{'uuid', 'name', 'version'}`` of the cluster, from the run's one GET / (made now if ``read``).

        ``uuid``/``name`` are None when GET / was refused (no ``monitor`` privilege: nothing else a
        manage_ml/manage_rollup user may call names the cluster) or answered ``_na_`` (the cluster state is not
        recovered yet, ``ClusterState.UNKNOWN_UUID``); ``version`` is None when no version could be read.
        """
        if read and self._info is None and self._info_error is None:
            try:
                self.info()
            except ElasticsearchError:
                pass
        info = self._info or {}
        uuid = info.get('cluster_uuid')
        name = info.get('cluster_name')
        number = (info.get('version') or {}).get('number')
        return {
            'uuid': to_text(uuid) if uuid and uuid != '_na_' else None,
            'name': to_text(name) if name else None,
            'version': to_text(number) if number else None,
        }

    def _version_from_ml_info(self, forbidden):
        """Read the version from ML info (``native_code.version``), which ``monitor_ml`` may read."""
        for path in ('/_ml/info', '/_xpack/ml/info'):
            response = self.request('GET', path, ok_statuses=(400, 403, 404, 405))
            native = response.body.get('native_code') if isinstance(response.body, dict) else None
            if response.status == 200 and isinstance(native, dict) and native.get('version'):
                return {'version': {'number': native['version']}, 'version_source': path}
            if response.status == 403:
                # The route exists (7.0+) but is forbidden too; /_xpack/ml/info is the same action and would
                # only add a deprecation warning.
                break
        error = self._http_error('GET', '/', forbidden)
        error.message += ('; the version of Elasticsearch could not be read: grant the user the cluster '
                          'privilege monitor (for GET /) or monitor_ml (for GET /_ml/info)')
        raise error

    @property
    def version_string(self):
        return to_text(self.info()['version']['number'])

    @property
    def version(self):
        return parse_version(self.version_string)

    # -- requests --------------------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, server_timeout=None, retry=True, ok_statuses=(),
                retryable=None):
        """Send one logical request; return a Response or raise ElasticsearchError.

        ``server_timeout`` is how long ES may hold the request (a ``timeout`` parameter being waited
        on); the socket read timeout is kept longer so the client never gives up first. ``retryable``
        (default :func:`is_retryable`) says which error answers are worth sending again.
        """
        retryable = retryable or is_retryable
        query = ''
        if params:
            clean = [(k, self._param(v)) for k, v in sorted(params.items()) if v is not None]
            query = '?' + urlencode(clean) if clean else ''
        data = None
        headers = {'Accept': 'application/json', 'User-Agent': USER_AGENT}
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        if self._auth_header:
            headers['Authorization'] = self._auth_header
        read_timeout = self.request_timeout
        if server_timeout:
            read_timeout = max(read_timeout, server_timeout + max(5.0, server_timeout * 0.1))

        attempts = 1 + (self.retries if retry else 0)
        last_error = None
        for attempt in range(attempts):
            host = self.hosts[self._host_index]
            try:
                response = self._send(method, host, path + query, data, headers, read_timeout)
            except ElasticsearchConnectionError as exc:
                last_error = exc
                self._rotate_host(host)
                if attempt + 1 < attempts:
                    self._backoff(attempt, None)
                continue
            if 200 <= response.status < 300 or response.status in ok_statuses:
                return response
            error = self._http_error(method, path, response)
            if attempts > 1 and retryable(error):
                if attempt + 1 == attempts:
                    error.message = '%s (gave up after %d attempts)' % (error.message, attempts)
                    raise error
                last_error = error
                if response.status != 429:
                    # A gateway error may be one sick node; 429 means the cluster asked us to slow down.
                    self._rotate_host(host)
                self._backoff(attempt, response.headers.get('Retry-After') if response.headers else None)
                continue
            raise error
        if attempts > 1:
            last_error.message = '%s (gave up after %d attempts)' % (last_error.message, attempts)
        raise last_error

    @staticmethod
    def _param(value):
        if isinstance(value, bool):
            return 'true' if value else 'false'
        return to_native(value)

    def _rotate_host(self, host):
        self._host_index = (self.hosts.index(host) + 1) % len(self.hosts)

    def _backoff(self, attempt, retry_after):
        delay = min(MAX_BACKOFF_SECONDS, self.retry_backoff * (2 ** attempt))
        # Full jitter keeps several playbooks hitting the same cluster from retrying in lockstep.
        delay = random.uniform(delay / 2.0, delay)
        if retry_after:
            try:
                delay = max(delay, min(MAX_BACKOFF_SECONDS, float(retry_after)))
            except ValueError:
                pass
        self._sleep(delay)

    def _send(self, method, host, path_and_query, data, headers, read_timeout):
        url = host + path_and_query
        with self._lock:
            self.request_count += 1
        try:
            raw = self._open(
                url, data=data, headers=headers, method=method, timeout=read_timeout,
                validate_certs=self.validate_certs, ca_path=self.ca_cert,
                client_cert=self.client_cert, client_key=self.client_key,
                url_username=self.username, url_password=self.password,
                force_basic_auth=bool(self.username), use_proxy=True, follow_redirects='none',
                http_agent=USER_AGENT, use_netrc=False)
            status = raw.getcode()
            payload = raw.read()
            response_headers = raw.headers
        except HTTPError as exc:
            status = exc.code
            try:
                payload = exc.read()
            except Exception:  # the body of an error is a courtesy; its absence must not hide the status
                payload = b''
            response_headers = exc.headers
        except (URLError, socket.error, ssl.SSLError, HTTPException, ValueError) as exc:
            raise ElasticsearchConnectionError(
                '%s %s: cannot reach Elasticsearch at %s: %s' % (
                    method.upper(), path_only(path_and_query), host, self._reason(exc)))
        self._surface_warnings(response_headers)
        return Response(status, self._decode(payload), response_headers)

    @staticmethod
    def _reason(exc):
        reason = getattr(exc, 'reason', None) or exc
        text = to_native(reason)
        if isinstance(reason, socket.timeout) or 'timed out' in text:
            return 'the request timed out (%s)' % text
        if 'CERTIFICATE_VERIFY_FAILED' in text or isinstance(reason, ssl.SSLError):
            return 'TLS failure (%s); check ca_cert or validate_certs' % text
        return text or exc.__class__.__name__

    @staticmethod
    def _decode(payload):
        if not payload:
            return None
        text = to_text(payload, errors='surrogate_or_replace')
        try:
            return json.loads(text)
        except ValueError:
            return text

    def _surface_warnings(self, headers):
        if not headers or not self._warn:
            return
        values = headers.get_all('Warning') if hasattr(headers, 'get_all') else [headers.get('Warning')]
        for value in values or []:
            for message in _WARNING_RE.findall(value or '') or ([value] if value else []):
                message = message.replace('\\"', '"')
                with self._lock:
                    if message in self._warned:
                        continue
                    self._warned.add(message)
                self._warn('Elasticsearch: %s' % message)

    @staticmethod
    def _http_error(method, path, response):
        error_type, reason, text = describe_error_body(response.status, response.body)
        return ElasticsearchError(
            '%s %s failed: HTTP %d %s' % (method, path, response.status, text),
            status=response.status, error_type=error_type, reason=reason)


def path_only(path_and_query):
    return path_and_query.split('?', 1)[0]
