"""HTTP layer: routing, parameter validation, auth, headers, control API, faults and the request log."""

import json
import re
import socket
import traceback
from email.message import Message
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from . import control, parsing, rollup
from .parsing import similarity
from .errors import EsError, RawResponse
from .routes import GLOBAL_PARAMS, build_routes
from .security import Security
from .state import parse_bool

_COMPAT_RE = re.compile(r'application/vnd\.elasticsearch\+(?:json|x-ndjson)\s*;\s*compatible-with\s*=\s*(\d+)', re.I)


class Request:
    """What a handler sees."""

    def __init__(self, app, method, path, params, body, has_body, headers, path_params, compat7, uri, raw=b''):
        self.app = app
        self.raw = raw  # the body as sent: strict parsers report Jackson [line:col] locations from it
        self._locator = None
        self.cluster = app.cluster
        self.pers = app.pers
        self.security = app.security
        self.method = method
        self.path = path
        self.params = params
        self.body = body
        self.has_body = has_body
        self.headers = headers
        self.path_params = path_params
        self.compat7 = compat7
        self.uri = uri
        self.warnings = []
        self.principal = None

    def warn(self, message):
        self.warnings.append(message)

    def body_locator(self):
        """Positions of the body's keys and values, for parse errors (computed on first use)."""
        if self._locator is None and self.raw:
            self._locator = parsing.locate(self.raw)
        return self._locator

    def bool_param(self, name, default=False):
        """RestRequest.paramAsBoolean: absent → default; a bare `?name` (empty value) → true; else strictly
        true/false (server/.../rest/RestRequest.java, Booleans.parseBoolean)."""
        if name not in self.params:
            return default
        return parse_bool(self.params[name], name)


def unrecognized(path, unknown, known):
    parts = []
    for name in sorted(unknown):
        close = sorted(k for k in known if similarity(name, k) > 0.7)
        if not close:
            parts.append('[%s]' % name)
        elif len(close) == 1:
            parts.append('[%s] -> did you mean [%s]?' % (name, close[0]))
        else:
            parts.append('[%s] -> did you mean any of %s?' % (name, '[' + ', '.join(close) + ']'))
    plural = 's' if len(unknown) > 1 else ''
    return EsError(400, 'illegal_argument_exception',
                   'request [%s] contains unrecognized parameter%s: %s' % (path, plural, ', '.join(parts)))


def filter_path(obj, spec):
    """Subset of ES filter_path: comma-separated dotted paths with `*` / `**` wildcards and `-` exclusion is not supported."""
    patterns = [p.split('.') for p in spec.split(',') if p]

    def walk(value, pats):
        if not pats:
            return value
        if any(len(p) == 0 for p in pats):
            return value
        if isinstance(value, list):
            items = [walk(v, pats) for v in value]
            return [i for i in items if i is not _MISSING]
        if not isinstance(value, dict):
            return _MISSING
        out = {}
        for key, child in value.items():
            nxt = []
            for p in pats:
                head = p[0]
                if head == '**':
                    nxt.append(p)
                    nxt.append(p[1:])
                elif re.match('^' + '.*'.join(re.escape(x) for x in head.split('*')) + '$', key):
                    nxt.append(p[1:])
            if nxt:
                res = walk(child, nxt)
                if res is not _MISSING and res != {} and res != []:
                    out[key] = res
        return out if out else _MISSING

    result = walk(obj, patterns)
    return {} if result is _MISSING else result


_MISSING = object()
# ES's http.max_initial_line_length default: a longer request line ("GET /path?query HTTP/1.1") is a 400.
MAX_INITIAL_LINE_LENGTH = 4096


# App.handle's status for "close the connection without an answer" (the drop_connection fault).
DROP_CONNECTION = 0


def make_headers(pairs):
    """Request headers as http.server gives them (case-insensitive .get, .items()), from a dict or (name, value) pairs."""
    message = Message()
    for name, value in (pairs.items() if hasattr(pairs, 'items') else pairs):
        message[name] = value
    return message


class App:
    """The whole emulator behind one entry point, `handle`, used by the HTTP handler and, in-process, by unit tests."""

    def __init__(self, cluster, security_enabled):
        self.cluster = cluster
        self.pers = cluster.personality
        self.security = Security(cluster, self.pers) if security_enabled else None
        self.routes = build_routes(self.pers)
        if self.security is None and self.pers.major >= 8:
            # 8.x/9.x register no security REST handler when security is disabled (core._security_disabled).
            self.routes = [r for r in self.routes if '/_security/' not in r.template]
        rollup.install(cluster)

    def find_route(self, method, path, compat7):
        segments = [unquote(s) for s in path.split('/') if s]
        candidates = []
        for route in self.routes:
            if route.deprecated_of and not self.pers.xpack_route_available(compat7):
                continue
            found = route.match(segments)
            if found is None:
                continue
            if any(v.startswith('_') for k, v in found.items() if k == 'index'):
                continue
            if any(v == '' for v in found.values()):
                continue
            candidates.append((route.literal_count(), route, found))
        if not candidates:
            return None, None, []
        best = max(c[0] for c in candidates)
        top = [c for c in candidates if c[0] == best]
        allowed = sorted({c[1].method for c in top} | ({'HEAD'} if any(c[1].method == 'GET' for c in top) else set()))
        want = 'GET' if method == 'HEAD' else method
        for _score, route, found in top:
            if route.method == want:
                return route, found, allowed
        return None, None, allowed

    # -------------------------------------------------------------- the one dispatch path
    def handle(self, method, uri, headers, raw):
        """One request: `uri` is path?query, `headers` a dict / pairs / http.server message, `raw` the body bytes.
        Returns (status, [(name, value)], payload bytes); status DROP_CONNECTION means answer nothing and close."""
        if not hasattr(headers, 'get_all'):
            headers = make_headers(headers or {})
        raw = raw or b''
        split = urlsplit(uri)
        path = split.path or '/'
        if path.startswith('/_emulator/') or path == '/_emulator':
            status, body = control.handle(self, method, path, raw)
            return self._respond(status, body)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        params = dict(pairs)
        entry = {'method': method, 'path': path, 'query': params, 'query_string': split.query, 'status': None,
                 'time': self.cluster.clock.time(),
                 'headers': {k.lower(): v for k, v in headers.items() if k.lower() not in ('authorization',)},
                 'authorization': (headers.get('Authorization') or '').split(' ')[0] or None,
                 'body': None, 'mutating': control.is_mutation(method, path)}
        if len('%s %s HTTP/1.1' % (method, uri)) > MAX_INITIAL_LINE_LENGTH:
            # Netty refuses the request before ES routes it (http.max_initial_line_length, default 4kb).
            error = EsError(400, 'too_long_http_line_exception' if self.pers.major >= 8 else 'too_long_frame_exception',
                            'An HTTP line is larger than %d bytes.' % MAX_INITIAL_LINE_LENGTH)
            entry['status'] = 400
            control.log(self.cluster, entry)
            return self._respond(400, error.body())
        try:
            entry['body'] = json.loads(raw) if raw else None
        except ValueError:
            entry['body'] = raw.decode('utf-8', 'replace')
        fault = control.match_fault(self.cluster, method, path)
        if fault is not None:
            if fault.get('delay_ms'):
                self.cluster.clock.sleep(fault['delay_ms'] / 1000.0)
            if fault.get('drop_connection'):
                entry['status'] = DROP_CONNECTION
                control.log(self.cluster, entry)
                return DROP_CONNECTION, [], b''
            if fault.get('status'):
                status = int(fault['status'])
                body = fault.get('body')
                if body is None:
                    body = EsError(status, 'emulator_injected_fault', 'fault injected by the emulator').body()
                entry['status'] = status
                control.log(self.cluster, entry)
                extra = [('X-Emulator-Fault', 'true')]
                if status == 429 or status == 503:
                    extra.append(('Retry-After', '0'))
                return self._respond(status, body, extra)
        status, body, extra, warnings = self._handle(method, path, params, raw, split.query, headers)
        for message in warnings:
            extra.append(('Warning', self.pers.warning_value(message, formatdate(usegmt=True))))
        if status >= 200 and status < 300 and 'filter_path' in params and isinstance(body, dict):
            body = filter_path(body, params['filter_path'])
        entry['status'] = status
        control.log(self.cluster, entry)
        pretty = params.get('pretty', 'false') in ('', 'true')
        content_type = None
        for _name, value in extra:
            if _name == 'Content-Type':
                content_type = value
        extra = [h for h in extra if h[0] != 'Content-Type']
        return self._respond(status, body, extra, pretty=pretty, content_type=content_type, head=(method == 'HEAD'))

    def _respond(self, status, body, extra=None, pretty=False, content_type=None, head=False):
        if body is None:
            payload = b''
        elif isinstance(body, (bytes, str)):
            payload = body.encode() if isinstance(body, str) else body
        else:
            payload = (json.dumps(body, indent=2) if pretty else json.dumps(body, separators=(',', ':'))).encode()
            if pretty:
                payload += b'\n'
        headers = []
        if self.pers.product_header:
            headers.append(('X-Elastic-Product', 'Elasticsearch'))
        headers.append(('Content-Type', content_type or ('application/json' if self.pers.major >= 8 else 'application/json; charset=UTF-8')))
        headers.extend(extra or [])
        # HEAD: the length of the body a GET would have, and no body.
        headers.append(('Content-Length', str(len(payload))))
        return status, headers, (b'' if head else payload)

    def _handle(self, method, path, params, raw, query, http_headers):
        pers = self.pers
        headers = []
        uri = path + ('?' + query if query else '')
        error_trace = params.get('error_trace') in ('', 'true')
        req = None
        try:
            compat = self._compat_version(http_headers, bool(raw))
            if compat is not None:
                headers.append(('Content-Type', 'application/vnd.elasticsearch+json;compatible-with=%d' % compat))
            compat7 = compat == 7 and pers.major == 8
            norm = path if path == '/' else path.rstrip('/')
            route, path_params, allowed = self.find_route(method, norm, compat7)
            if route is None:
                return self._no_handler(method, path, allowed, headers)
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise EsError(400, 'x_content_parse_exception' if pers.major >= 7 else 'parse_exception',
                                  '[1:1] Unexpected character: was expecting a JSON value') from None
            req = Request(self, method, path, params, body, bool(raw), http_headers, path_params, compat7, uri, raw)
            if route.deprecated_of:
                # RestController deprecated-route warning carries the templates, not the concrete ids (§1.4).
                req.warn('[%s %s] is deprecated! Use [%s %s] instead.' % (route.method, route.template, route.method, route.deprecated_of))
            with self.cluster.lock:
                self.cluster.tick()
            if self.security is not None:
                req.principal = self.security.authenticate(http_headers.get('Authorization'), uri)
            known = route.allowed_params(pers, compat7) | GLOBAL_PARAMS
            if route.body_wins and req.has_body:
                # With a body the handler parses only the body; query params stay unconsumed (§1.6).
                known = set(GLOBAL_PARAMS)
            unknown = [p for p in params if p not in known]
            if unknown:
                raise unrecognized(path, unknown, known)
            if self.security is not None:
                index = path_params.get('index') if route.action.startswith('indices:') else None
                self.security.authorize(req.principal, route.action, index)
            # Long-running handlers (open/close/stop waits) release the lock while they wait (Cluster.wait_for).
            with self.cluster.lock:
                self.cluster.tick()
                result = route.handler(req)
            if isinstance(result, tuple):
                status, body = result
            else:
                status, body = 200, result
            return status, body, headers, req.warnings
        except RawResponse as resp:
            return resp.status, resp.body, headers + list(resp.headers.items()), req.warnings if req else []
        except EsError as err:
            for name, values in err.headers.items():
                for value in values:
                    headers.append((name, value))
            return err.status, err.body(error_trace), headers, req.warnings if req else []
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # An emulator bug: answer like a node with an internal error (never drop the connection),
            # and leave the traceback on stderr for whoever runs the tests.
            traceback.print_exc()
            err = EsError(500, 'exception', 'emulator internal error: %s: %s' % (type(exc).__name__, exc))
            return err.status, err.body(error_trace), headers, req.warnings if req else []

    def _compat_version(self, http_headers, has_body):
        accept = http_headers.get('Accept') or ''
        ctype = http_headers.get('Content-Type') or ''
        a = _COMPAT_RE.search(accept)
        c = _COMPAT_RE.search(ctype) if has_body else None
        if a is None and c is None:
            return None
        if self.pers.major < 7 or (a and c and a.group(1) != c.group(1)) or (has_body and (a is None or c is None)):
            raise EsError(400, 'status_exception', 'A compatible version is required on both Content-Type and Accept headers if either one '
                          'has requested a compatible version and the compatible versions must match. Accept=%s, Content-Type=%s'
                          % (accept or None, ctype or None))
        version = int((a or c).group(1))
        if version not in self.pers.compat_versions():
            raise EsError(400, 'media_type_header_exception', 'Invalid media-type value on headers [%s]'
                          % ', '.join(h for h, m in (('Accept', a), ('Content-Type', c)) if m),
                          caused_by=EsError(400, 'status_exception', 'Accept version must be either version %s, but found %d. Accept=%s'
                                            % (' or '.join(str(v) for v in self.pers.compat_versions()), version, accept)))
        return version

    def _no_handler(self, method, path, allowed, headers):
        if allowed:
            message = 'Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]' % (path, method, ', '.join(allowed))
            headers.append(('Allow', ','.join(allowed)))
            return 405, {'error': message, 'status': 405}, headers, []
        message = 'no handler found for uri [%s] and method [%s]' % (path, method)
        if self.pers.no_handler_envelope:
            return 400, EsError(400, 'illegal_argument_exception', message).body(), headers, []
        return 400, {'error': message, 'status': 400}, headers, []


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 framing around App.handle (nothing else: routing, auth, faults and the log live there)."""

    protocol_version = 'HTTP/1.1'
    server_version = 'esops-emulator'
    sys_version = ''

    def send_response(self, code, message=None):
        # Elasticsearch sends neither Server nor Date headers.
        self.send_response_only(code, message)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Silence the default stderr access log."""

    def _read_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(length) if length > 0 else b''
        if not raw and self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b'0', 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b''.join(chunks)
        return raw

    def do_GET(self):  # pylint: disable=invalid-name
        self._dispatch('GET')

    def do_HEAD(self):  # pylint: disable=invalid-name
        self._dispatch('HEAD')

    def do_POST(self):  # pylint: disable=invalid-name
        self._dispatch('POST')

    def do_PUT(self):  # pylint: disable=invalid-name
        self._dispatch('PUT')

    def do_DELETE(self):  # pylint: disable=invalid-name
        self._dispatch('DELETE')

    def do_PATCH(self):  # pylint: disable=invalid-name
        self._dispatch('PATCH')

    def _dispatch(self, method):
        raw = self._read_body()
        status, headers, payload = self.server.app.handle(method, self.path, self.headers, raw)
        if status == DROP_CONNECTION:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets concurrent clients; ES (Netty) accepts far more.
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address, app, ssl_context=None):
        super().__init__(address, Handler)
        self.app = app
        self.ssl_context = ssl_context

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            try:
                request.settimeout(10)
                request.do_handshake()
                request.settimeout(None)
            except (OSError, ValueError):
                return
        super().finish_request(request, client_address)
