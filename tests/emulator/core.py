"""Non-job APIs: GET /, minimal index APIs, license, security, tasks, cluster settings."""


from . import mappings
from .errors import EsError
from .state import NODE_NAME, flat_settings, parse_bool, parse_time_value, random_base64_uuid

_INDEX_FORBIDDEN = set('\\/*?"<>| ,#:')


def main_info(req):
    pers = req.pers
    version = {'number': pers.number, 'build_flavor': 'default', 'build_type': 'docker', 'build_hash': pers.build_hash,
               'build_date': '2025-01-01T00:00:00.000000000Z', 'build_snapshot': False, 'lucene_version': pers.lucene_version,
               'minimum_wire_compatibility_version': pers.minimum_wire_compatibility_version,
               'minimum_index_compatibility_version': pers.minimum_index_compatibility_version}
    return {'name': NODE_NAME, 'cluster_name': req.cluster.cluster_name, 'cluster_uuid': req.cluster.cluster_uuid, 'version': version,
            'tagline': 'You Know, for Search'}


def _index_not_found(name):
    return EsError(404, 'index_not_found_exception', 'no such index [%s]' % name,
                   metadata={'resource.type': 'index_or_alias', 'resource.id': name, 'index_uuid': '_na_', 'index': name})


def create_index(req):
    name = req.path_params['index']
    cluster = req.cluster
    if name != name.lower() or name.startswith(('-', '+', '_')) or any(c in _INDEX_FORBIDDEN for c in name):
        raise EsError(400, 'invalid_index_name_exception', 'Invalid index name [%s], must be lowercase' % name
                      if name != name.lower() else 'Invalid index name [%s]' % name, metadata={'index_uuid': '_na_', 'index': name})
    if name in cluster.indices:
        existing = cluster.indices[name]
        raise EsError(400, 'resource_already_exists_exception', 'index [%s/%s] already exists' % (name, existing['uuid']),
                      metadata={'index_uuid': existing['uuid'], 'index': name})
    body = req.body or {}
    type_name, mapping = mappings.parse_create_body(req, body)
    cluster.indices[name] = {'settings': body.get('settings', {}), 'mappings': mapping, 'type': type_name,
                             'aliases': body.get('aliases', {}), 'uuid': random_base64_uuid()}
    return {'acknowledged': True, 'shards_acknowledged': True, 'index': name}


def delete_index(req):
    name = req.path_params['index']
    cluster = req.cluster
    if name not in cluster.indices:
        raise _index_not_found(name)
    del cluster.indices[name]
    return {'acknowledged': True}


def get_index(req):
    name = req.path_params['index']
    index = req.cluster.indices.get(name)
    if index is None:
        raise _index_not_found(name)
    return {name: {'aliases': index['aliases'], 'mappings': mappings.view(req, index),
                   'settings': {'index': index['settings']}}}


def get_mapping(req):
    """GET <index>/_mapping: {index: {mappings: ...}} for every index the expression names (a missing
    concrete name is a 404, like GET <index>)."""
    expression = req.path_params.get('index', '_all')
    if expression in ('_all', '*'):
        expression = '*'
    for item in expression.split(','):
        if '*' not in item and not item.startswith('-') and item not in req.cluster.indices:
            raise _index_not_found(item)
    return {name: {'mappings': mappings.view(req, req.cluster.indices[name])}
            for name in mappings.resolve(req.cluster, expression)}


def refresh_index(req):
    name = req.path_params.get('index')
    if name and name not in req.cluster.indices and '*' not in name:
        raise _index_not_found(name)
    return {'_shards': {'total': 1, 'successful': 1, 'failed': 0}}


# ---- license (§1.3) ----

def get_license(req):
    lic = req.cluster.license
    issue = 1700000000000
    expiry = issue + 30 * 86400000 if lic['type'] == 'trial' else 4102444800000
    body = {'status': lic['status'], 'uid': '00000000-0000-0000-0000-000000000000', 'type': lic['type'],
            'issue_date': '2023-11-14T22:13:20.000Z', 'issue_date_in_millis': issue, 'max_nodes': 1000,
            'issued_to': 'esops-emulator', 'issuer': 'elasticsearch', 'start_date_in_millis': -1}
    if lic['type'] != 'basic':
        body['expiry_date_in_millis'] = expiry
    return {'license': body}


def start_basic(req):
    cluster = req.cluster
    ack = parse_bool(req.params.get('acknowledge', 'false'), 'acknowledge')
    if cluster.license['type'] == 'basic' and cluster.license['status'] == 'active':
        return 403, {'acknowledged': True, 'basic_was_started': False, 'error_message': 'Operation failed: Current license is basic.'}
    if not ack:
        return 200, {'acknowledged': False, 'basic_was_started': False, 'error_message': 'Operation failed: Needs acknowledgement.',
                     'acknowledge': {'message': 'This license update requires acknowledgement. To acknowledge the license, please read '
                                                'the following messages and call /start_basic again, this time with the '
                                                '"acknowledge=true" parameter:',
                                     'ml': ['Machine learning APIs are disabled']}}
    cluster.license = {'type': 'basic', 'status': 'active'}
    return {'acknowledged': True, 'basic_was_started': True}


# ---- security APIs (security mode only) ----

def _security_disabled(req):
    # 6.8/7.x with security not enabled (the basic-license default): the security REST handlers are registered and
    # SecurityBaseRestHandler.checkFeatureAvailable answers this 500 (x-pack/plugin/security/.../rest/action/
    # SecurityBaseRestHandler.java, 6.8/7.x; the same text from SecurityActionFilter). 8.x/9.x: security is on by
    # default and disabling it (xpack.security.enabled: false) registers no security handler at all
    # (Security.java getRestHandlers "if (enabled == false) return emptyList()", 8.x main), so App drops the routes.
    raise EsError(500, 'exception', 'Security must be explicitly enabled when using a [%s] license. Enable security by setting '
                  '[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.' % req.cluster.license['type'])


def create_api_key(req):
    if req.security is None:
        _security_disabled(req)
    return req.security.create_api_key(req.principal, req.body)


def create_token(req):
    if req.security is None:
        _security_disabled(req)
    return req.security.create_token(req.principal, req.body)


def has_privileges(req):
    if req.security is None:
        _security_disabled(req)
    return req.security.has_privileges(req.principal, req.body)


def authenticate(req):
    if req.security is None:
        _security_disabled(req)
    return req.security.authenticate_view(req.principal)


# ---- tasks / cluster settings (used by delete wait_for_completion=false and the YAML tests) ----

def get_task(req):
    """TransportGetTaskAction: a running task → `completed: false` with its task info; a finished one is read back
    from the task result index → `completed: true` with `response` or `error`. `wait_for_completion=true` waits
    (up to `timeout`, default 30s) for a running task."""
    task_id = req.path_params['task_id']
    cluster = req.cluster
    result = cluster.tasks.get(task_id)
    if result is None:
        raise EsError(404, 'resource_not_found_exception', 'task [%s] isn\'t running and hasn\'t stored its results' % task_id)
    if req.bool_param('wait_for_completion') and not result.get('completed', True):
        timeout_text = req.params.get('timeout', '30s')
        if not cluster.wait_for(lambda: result['completed'], parse_time_value(timeout_text)):
            raise EsError(500 if req.pers.major < 9 else 429, 'elasticsearch_timeout_exception',
                          'Timed out waiting for completion of task [%s]' % task_id)
    node, _sep, number = task_id.partition(':')
    running = int(result['running_nanos']) if result.get('completed') and 'running_nanos' in result else \
        int((cluster.clock.monotonic() - result.get('started', cluster.clock.monotonic())) * 1e9)
    task = {'node': node, 'id': int(number), 'type': 'transport', 'action': result['action'],
            'start_time_in_millis': result.get('start_ms', int(cluster.clock.time() * 1000)), 'running_time_in_nanos': running,
            'cancellable': False, 'headers': {}}
    if result.get('description'):
        task['description'] = result['description']
    body = {'completed': bool(result.get('completed', True)), 'task': task}
    if 'response' in result:
        body['response'] = result['response']
    elif 'error' in result:
        body['error'] = result['error']
    return body


def put_cluster_settings(req):
    body = req.body or {}
    persistent = flat_settings(body.get('persistent') or {})
    transient = flat_settings(body.get('transient') or {})
    for key, value in list(persistent.items()) + list(transient.items()):
        if value is None:
            req.cluster.persistent_settings.pop(key, None)
        else:
            req.cluster.persistent_settings[key] = str(value).lower() if isinstance(value, bool) else str(value)
    # ClusterUpdateSettingsResponse lists the settings that were set; a null resets a setting and is not listed.
    return {'acknowledged': True, 'persistent': _nest({k: v for k, v in persistent.items() if v is not None}),
            'transient': _nest({k: v for k, v in transient.items() if v is not None})}


def _nest(flat):
    out = {}
    for key, value in flat.items():
        node = out
        parts = key.split('.')
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def cluster_health(req):
    return {'cluster_name': req.cluster.cluster_name, 'status': 'green', 'timed_out': False, 'number_of_nodes': 1,
            'number_of_data_nodes': 1, 'active_primary_shards': len(req.cluster.indices), 'active_shards': len(req.cluster.indices),
            'relocating_shards': 0, 'initializing_shards': 0, 'unassigned_shards': 0, 'delayed_unassigned_shards': 0,
            'number_of_pending_tasks': 0, 'number_of_in_flight_fetch': 0, 'task_max_waiting_in_queue_millis': 0,
            'active_shards_percent_as_number': 100.0}


def routes(pers, route_cls):
    types = ('include_type_name',) if pers.mapping_types_param else ()
    idx = ('wait_for_active_shards', 'timeout', 'master_timeout') + types
    out = [
        route_cls('GET', '/', main_info, 'cluster:monitor/main'),
        route_cls('PUT', '/{index}', create_index, 'indices:admin/create', idx),
        route_cls('DELETE', '/{index}', delete_index, 'indices:admin/delete',
                  ('timeout', 'master_timeout', 'ignore_unavailable', 'allow_no_indices', 'expand_wildcards')),
        route_cls('GET', '/{index}', get_index, 'indices:admin/get', ('include_defaults', 'flat_settings', 'local') + types),
        route_cls('GET', '/{index}/_mapping', get_mapping, 'indices:admin/mappings/get',
                  ('local', 'master_timeout', 'ignore_unavailable', 'allow_no_indices', 'expand_wildcards') + types),
        route_cls('GET', '/_all/_mapping', get_mapping, 'indices:admin/mappings/get',
                  ('local', 'master_timeout', 'ignore_unavailable', 'allow_no_indices', 'expand_wildcards') + types),
        route_cls('GET', '/_mapping', get_mapping, 'indices:admin/mappings/get',
                  ('local', 'master_timeout', 'ignore_unavailable', 'allow_no_indices', 'expand_wildcards') + types),
        route_cls('POST', '/{index}/_refresh', refresh_index, 'indices:admin/refresh', ()),
        route_cls('POST', '/_refresh', refresh_index, 'indices:admin/refresh', ()),
        route_cls('GET', '/_license', get_license, 'cluster:monitor/xpack/license/get', ('local', 'accept_enterprise')),
        route_cls('POST', '/_license/start_basic', start_basic, 'cluster:admin/xpack/license/start_basic',
                  ('acknowledge', 'master_timeout', 'timeout')),
        route_cls('POST', '/_security/api_key', create_api_key, 'cluster:admin/xpack/security/api_key/create', ('refresh',)),
        route_cls('PUT', '/_security/api_key', create_api_key, 'cluster:admin/xpack/security/api_key/create', ('refresh',)),
        route_cls('POST', '/_security/oauth2/token', create_token, 'cluster:admin/xpack/security/token/create', ()),
        route_cls('GET', '/_security/_authenticate', authenticate, 'cluster:admin/xpack/security/user/authenticate', ()),
    ]
    # RestHasPrivilegesAction: 6.x registers the _xpack/security paths (docs 6.2-6.8 "GET _xpack/security/user/
    # _has_privileges"), 7.x /_security with the _xpack ones as replaced (deprecated) routes, 8.x/9.x /_security only.
    has_priv = 'cluster:admin/xpack/security/user/has_privileges'
    for method in ('GET', 'POST'):
        if pers.major == 6:
            out.append(route_cls(method, '/_xpack/security/user/_has_privileges', has_privileges, has_priv, ()))
            continue
        out.append(route_cls(method, '/_security/user/_has_privileges', has_privileges, has_priv, ()))
        if pers.major == 7:
            out.append(route_cls(method, '/_xpack/security/user/_has_privileges', has_privileges, has_priv, (),
                                 deprecated_of='/_security/user/_has_privileges'))
    out += [
        route_cls('GET', '/_tasks/{task_id}', get_task, 'cluster:monitor/task/get', ('wait_for_completion', 'timeout')),
        route_cls('PUT', '/_cluster/settings', put_cluster_settings, 'cluster:admin/settings/update',
                  ('flat_settings', 'master_timeout', 'timeout')),
        route_cls('GET', '/_cluster/health/{index}', cluster_health, 'cluster:monitor/health',
                  ('wait_for_status', 'timeout', 'master_timeout', 'level', 'local', 'wait_for_no_initializing_shards',
                   'wait_for_no_relocating_shards', 'wait_for_nodes', 'wait_for_events', 'wait_for_active_shards')),
        route_cls('GET', '/_cluster/health', cluster_health, 'cluster:monitor/health',
                  ('wait_for_status', 'timeout', 'master_timeout', 'level', 'local', 'wait_for_no_initializing_shards',
                   'wait_for_no_relocating_shards', 'wait_for_nodes', 'wait_for_events', 'wait_for_active_shards')),
    ]
    if pers.major == 6:
        out.append(route_cls('GET', '/_xpack/license', get_license, 'cluster:monitor/xpack/license/get', ('local',)))
        out.append(route_cls('POST', '/_xpack/license/start_basic', start_basic, 'cluster:admin/xpack/license/start_basic',
                             ('acknowledge', 'master_timeout', 'timeout')))
    return out
