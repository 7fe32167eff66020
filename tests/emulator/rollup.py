"""Rollup jobs (es-behaviour §3).

A started job indexes when its Quartz cron fires (cron.py, UTC like ES's scheduler): the scheduler keeps each
started job's next fire time and runs due triggers whenever the cluster ticks, never polling. Each trigger of a
`started` job begins an indexing run lasting --stop-seconds; triggers during a run are ignored
(AsyncTwoPhaseIndexer). POST /_emulator/rollup/<id>/_indexing starts a run at once.
"""

from . import mappings
from .cron import next_fire_epoch
from .errors import EsError, RawResponse, bad_request, not_found
from .state import NODE_ID, parse_bool, parse_time_value, random_base64_uuid, simple_match
from .parsing import ParseError, check_fields, failed_to_build, failed_to_parse, wrong_type

DEPRECATION = 'The rollup functionality will be removed in Elasticsearch 10.0. See docs for more information.'
ACTIONS = {
    'put': 'cluster:admin/xpack/rollup/put',
    'get': 'cluster:monitor/xpack/rollup/get',
    'start': 'cluster:admin/xpack/rollup/start',
    'stop': 'cluster:admin/xpack/rollup/stop',
    'delete': 'cluster:admin/xpack/rollup/delete',
    'caps': 'cluster:monitor/xpack/rollup/get/caps',
    'index_caps': 'indices:data/read/xpack/rollup/get/index/caps',
}
# RollupField.SUPPORTED_METRICS (x-pack core rollup/RollupField.java, 6.8-9.1).
SUPPORTED_METRICS = ('max', 'min', 'sum', 'avg', 'value_count')
SUPPORTED_DATE_METRICS = ('max', 'min', 'value_count')
# RollupField.NUMERIC_FIELD_MAPPER_TYPES.
NUMERIC_TYPES = ('long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long')
ROLLUP_META = '_rollup'
ROLLUP_VERSION = 'rollup-version'


def _next_trigger(clock, cron, after_wall=None):
    """Monotonic time of the cron's next fire after `after_wall` (epoch seconds; default now), or None."""
    wall = clock.time()
    nxt = next_fire_epoch(cron, wall if after_wall is None else after_wall)
    if nxt is None:
        return None
    return clock.monotonic() + (nxt - wall)


def install(cluster):
    """Hook the cron triggers into the cluster scheduler."""

    def fire(job_id, when):
        job = cluster.rollup_jobs.get(job_id)
        nxt = None
        if job is not None and job['state'] in ('started', 'indexing'):
            # `when` is monotonic; the cron is evaluated on the wall clock.
            nxt = _next_trigger(cluster.clock, job['config']['cron'], cluster.clock.time() + (when - cluster.clock.monotonic()))
        if nxt is None:
            cluster.rollup_triggers.pop(job_id, None)
            return
        cluster.rollup_triggers[job_id] = nxt
        if job['state'] == 'started':
            begin_indexing(cluster, job)

    cluster.rollup_cron_fire = fire


def begin_indexing(cluster, job):
    job['state'] = 'indexing'
    stats = job['stats']
    stats['trigger_count'] += 1
    stats['search_total'] += 1
    stats['processing_total'] += 1

    def run_done(_when):
        if job['state'] == 'indexing':
            job['state'] = 'started'

    job['handle'] = cluster.schedule(cluster.timings.stop_seconds, run_done)


def _warn(req):
    if req.pers.rollup_deprecation_warning:
        req.warn(DEPRECATION)


def _task_not_found(job_id):
    return not_found('Task for Rollup Job [%s] not found' % job_id)


def _job(cluster, job_id, missing=_task_not_found):
    """The stored job, or the API's 404 (start/stop/_indexing: the persistent task's text; delete passes its own)."""
    job = cluster.rollup_jobs.get(job_id)
    if job is None:
        raise missing(job_id)
    return job


def _job_request(req, missing=_task_not_found):
    """(cluster, job id, job) of a start/stop/delete request, after its deprecation warning."""
    _warn(req)
    job_id = req.path_params['id']
    return req.cluster, job_id, _job(req.cluster, job_id, missing)


# ---- PUT: strict parsing (RestPutRollupJobAction -> RollupJobConfig.fromXContent), then
# TransportPutRollupJobAction: field caps validation, rollup index create/update, persistent task. ----

JOB_PARSER = 'xpack/rollup/jobconfig'  # RollupJobConfig.NAME
_STRING, _OBJECT, _ARRAY, _INT, _STRING_OR_NULL, _STRINGS, _LONG_OR_STRING = (
    'string', 'object', 'array', 'int', 'string_or_null', 'strings', 'long_or_string')
JOB_FIELDS = {'id': _STRING, 'index_pattern': _STRING, 'rollup_index': _STRING, 'groups': _OBJECT, 'metrics': _ARRAY,
              'timeout': _STRING_OR_NULL, 'cron': _STRING, 'page_size': _INT}
GROUP_FIELDS = {'date_histogram': _OBJECT, 'histogram': _OBJECT, 'terms': _OBJECT}  # GroupConfig
METRIC_FIELDS = {'field': _STRING, 'metrics': _STRINGS}  # MetricConfig (parser name "metrics")
HISTOGRAM_FIELDS = {'fields': _STRINGS, 'interval': _INT}  # HistogramGroupConfig
TERMS_FIELDS = {'fields': _STRINGS}  # TermsGroupConfig


def _date_histogram_fields(pers):
    # DateHistogramGroupConfig: calendar_interval / fixed_interval exist from 7.2 (es-behaviour §3.3).
    fields = {'field': _STRING, 'interval': _LONG_OR_STRING, 'delay': _LONG_OR_STRING, 'time_zone': _STRING}
    if pers.at_least(7, 2):
        fields.update(calendar_interval=_LONG_OR_STRING, fixed_interval=_LONG_OR_STRING)
    return fields


def _token(value):
    if isinstance(value, dict):
        return 'START_OBJECT'
    if isinstance(value, list):
        return 'START_ARRAY'
    if isinstance(value, bool):
        return 'VALUE_BOOLEAN'
    if value is None:
        return 'VALUE_NULL'
    return 'VALUE_NUMBER' if isinstance(value, (int, float)) else 'VALUE_STRING'


_ACCEPTS = {  # ObjectParser.ValueType: the tokens each declared kind takes
    _STRING: ('VALUE_STRING',), _OBJECT: ('START_OBJECT',), _ARRAY: ('START_ARRAY',),
    _INT: ('VALUE_NUMBER', 'VALUE_STRING'), _STRING_OR_NULL: ('VALUE_STRING', 'VALUE_NULL'),
    _STRINGS: ('START_ARRAY', 'VALUE_STRING'), _LONG_OR_STRING: ('VALUE_NUMBER', 'VALUE_STRING'),
}


def _parse_object(req, obj, parser_name, fields, path):
    """ObjectParser.parse over one object: unknown fields, then the token type of every declared field."""
    # Every version reports an unknown field at its name's location: ObjectParser.getParser runs on the FIELD_NAME
    # token (6.x UpdateRequestTests.testUnknownFieldParsing: "[1:2] [UpdateRequest] unknown field [unknown_field],
    # parser not found" for {"unknown_field":"test"}; AutodetectResultsParserTests "[1:3]" for an object value).
    check_fields(req, obj, parser_name, fields, path, 'name')
    for key, value in obj.items():
        if _token(value) not in _ACCEPTS[fields[key]]:
            raise wrong_type(req, parser_name, key, path + (key,), _token(value))


def _nested(req, parent, field, path, parse):
    """ObjectParser.parseValue: an error inside a field's value is wrapped as "failed to parse field"."""
    try:
        parse()
    except EsError as err:
        raise failed_to_parse(req, parent, field, path, err) from None


def _parse_metric(req, metric, path):
    _parse_object(req, metric, 'metrics', METRIC_FIELDS, path)
    for name in metric.get('metrics') or []:
        if name not in SUPPORTED_METRICS:
            # MetricConfig constructor, reached by ConstructingObjectParser once `field` and `metrics` arrived.
            raise failed_to_build(req, 'metrics', path, bad_request(
                'Unsupported metric [%s]. Supported metrics include: [%s]' % (name, ', '.join(SUPPORTED_METRICS))))


def _parse_groups(req, groups, path):
    _parse_object(req, groups, 'groups', GROUP_FIELDS, path)
    for name, fields in (('date_histogram', _date_histogram_fields(req.pers)), ('histogram', HISTOGRAM_FIELDS),
                         ('terms', TERMS_FIELDS)):
        if name in groups:
            _nested(req, 'groups', name, path + (name,),
                    lambda name=name, fields=fields: _parse_object(req, groups[name], name, fields, path + (name,)))


def _parse_body(req, body):
    if not isinstance(body, dict):
        raise ParseError('[%s] Expected START_OBJECT but was: %s' % (JOB_PARSER, _token(body)))
    _parse_object(req, body, JOB_PARSER, JOB_FIELDS, ())
    if 'groups' in body:
        _nested(req, JOB_PARSER, 'groups', ('groups',), lambda: _parse_groups(req, body['groups'], ('groups',)))
    for index, metric in enumerate(body.get('metrics') or []):
        path = ('metrics', index)
        if not isinstance(metric, dict):
            raise failed_to_parse(req, JOB_PARSER, 'metrics', path,
                                  ParseError('[metrics] Expected START_OBJECT but was: %s' % _token(metric)))
        _nested(req, JOB_PARSER, 'metrics', path, lambda metric=metric, path=path: _parse_metric(req, metric, path))


def _require(body, key, message):
    if body.get(key) in (None, ''):
        raise bad_request(message)


def _validate_config(req, body):
    """The semantic checks of RollupJobConfig / GroupConfig / DateHistogramGroupConfig (after parsing)."""
    _require(body, 'index_pattern', 'An index pattern is mandatory.')
    _require(body, 'rollup_index', 'A rollup index name is mandatory.')
    _require(body, 'cron', 'A cron schedule is mandatory.')
    if not isinstance(body.get('page_size'), int) or body['page_size'] <= 0:
        raise bad_request('Parameter [page_size] is mandatory and  must be a positive long.')
    histo = (body.get('groups') or {}).get('date_histogram') or {}
    if not histo.get('field'):
        raise bad_request('A date_histogram field is mandatory')
    if not any(k in histo for k in ('interval', 'calendar_interval', 'fixed_interval')):
        raise bad_request('An interval is required.  Use [fixed_interval] or [calendar_interval].')
    pattern, rollup_index = body['index_pattern'], body['rollup_index']
    # RollupJobConfig constructor (6.8-9.1), in this order.
    if pattern in ('*', '_all'):
        raise bad_request("Index pattern must not match all indices (as it would match it's own rollup index")
    if '*' in pattern and simple_match(pattern, rollup_index):
        raise bad_request('Index pattern would match rollup index name which is not allowed')
    if pattern == rollup_index:
        raise bad_request('Rollup index may not be the same as the index pattern')


def _field_errors(pers, config, caps):
    """PutRollupJobAction.Request.validateMappings: GroupConfig then each MetricConfig, messages in that order."""
    errors = []
    groups = config['groups']
    date_types = pers.rollup_date_types
    field = groups['date_histogram']['field']
    found = caps.get(field)
    if pers.major == 6:
        # 6.x DateHistogramGroupConfig.validateMappings: a wrong or non-aggregatable field also falls through to
        # "Could not find" (no else branch in that release).
        if found and list(found) == ['date'] and found['date']:
            pass
        else:
            if found and list(found) == ['date']:
                errors.append('The field [%s] must be aggregatable across all indices, but is not.' % field)
            elif found:
                errors.append('The field referenced by a date_histo group must be a [date] type across all indices in the '
                              'index pattern.  Found: %s for field [%s]' % (_java_set(found), field))
            errors.append('Could not find a [date] field with name [%s] in any of the indices matching the index pattern.'
                          % field)
    elif found:
        matched = [t for t in date_types if t in found and len(found) == 1]
        if matched and not found[matched[0]]:
            errors.append('The field [%s] must be aggregatable across all indices, but is not.' % field)
        elif not matched:
            errors.append('The field referenced by a date_histo group must be one of type [%s] across all indices in the '
                          'index pattern.  Found: %s for field [%s]' % (','.join(date_types), _java_set(found), field))
    else:
        errors.append('Could not find one of [%s] fields with name [%s] in any of the indices matching the index pattern.'
                      % (','.join(date_types), field))
    for field in (groups.get('histogram') or {}).get('fields') or []:
        errors.extend(_typed_field_errors(caps, field, NUMERIC_TYPES, 'histo group', '[numeric]'))
    for field in (groups.get('terms') or {}).get('fields') or []:
        errors.extend(_typed_field_errors(caps, field, NUMERIC_TYPES + ('keyword', 'text'), 'terms group',
                                          '[numeric] or [keyword/text]'))
    for metric in config['metrics']:
        field, found = metric['field'], caps.get(metric['field'])
        kinds = '[numeric] or [%s]' % ','.join(date_types)
        if not found:
            errors.append('Could not find a %s field with name [%s] in any of the indices matching the index pattern.'
                          % (kinds, field))
            continue
        for ftype, aggregatable in found.items():
            if not aggregatable:
                errors.append('The field [%s] must be aggregatable across all indices, but is not.' % field)
            if ftype in date_types:
                unsupported = [m for m in metric['metrics'] if m not in SUPPORTED_DATE_METRICS]
                if unsupported:
                    errors.append('Only the metrics [%s] are supported for [%s] types, but unsupported metrics [%s] supplied '
                                  'for field [%s]' % (', '.join(SUPPORTED_DATE_METRICS), ftype, ', '.join(unsupported), field))
            elif ftype not in NUMERIC_TYPES:
                errors.append('The field referenced by a metric group must be a %s type, but found %s for field [%s]'
                              % (kinds, _java_set(found), field))
    return errors


def _typed_field_errors(caps, field, types, what, kinds):
    # HistogramGroupConfig / TermsGroupConfig.validateMappings.
    found = caps.get(field)
    if not found:
        return ['Could not find a %s field with name [%s] in any of the indices matching the index pattern.' % (kinds, field)]
    errors = []
    for ftype, aggregatable in found.items():
        if ftype not in types:
            errors.append('The field referenced by a %s must be a %s type, but found %s for field [%s]'
                          % (what, kinds, _java_set(found), field))
        elif not aggregatable:
            errors.append('The field [%s] must be aggregatable across all indices, but is not.' % field)
    return errors


def _java_set(types):
    return '[' + ', '.join(sorted(types)) + ']'


def _validate_mappings(req, config):
    """Field caps over the index pattern (strict: a missing concrete index is ES's 404), then validateMappings."""
    cluster = req.cluster
    pattern = config['index_pattern']
    for item in pattern.split(','):
        if '*' not in item and not item.startswith('-') and item not in cluster.indices:
            raise EsError(404, 'index_not_found_exception', 'no such index [%s]' % item,
                          metadata={'resource.type': 'index_or_alias', 'resource.id': item, 'index_uuid': '_na_', 'index': item})
    caps = mappings.field_caps(cluster, mappings.resolve(cluster, pattern))
    wanted = {config['groups']['date_histogram']['field']}
    wanted.update((config['groups'].get('histogram') or {}).get('fields') or [])
    wanted.update((config['groups'].get('terms') or {}).get('fields') or [])
    wanted.update(m['field'] for m in config['metrics'])
    caps = {f: caps[f] for f in wanted if f in caps}
    if not caps:
        errors = ['Could not find any fields in the index/index-pattern that were configured in job']
    else:
        errors = _field_errors(req.pers, config, caps)
    if errors:
        raise EsError(400, 'action_request_validation_exception',
                      'Validation Failed: ' + ''.join('%d: %s;' % (i, e) for i, e in enumerate(errors, 1)))


def _store_in_rollup_index(req, config):
    """TransportPutRollupJobAction.createIndex / updateMapping: the job's config goes into `_meta._rollup` of
    its rollup index (created with the rollup mapping when missing)."""
    cluster = req.cluster
    job_id, name = config['id'], config['rollup_index']
    index = cluster.indices.get(name)
    if index is None:
        cluster.indices[name] = {
            'settings': {}, 'aliases': {}, 'type': mappings.SINGLE_MAPPING_NAME, 'uuid': random_base64_uuid(),
            'mappings': {'_meta': {ROLLUP_VERSION: req.pers.number, ROLLUP_META: {job_id: config}},
                         'dynamic_templates': [
                             {'strings': {'match_mapping_type': 'string', 'mapping': {'type': 'keyword'}}},
                             {'date_histograms': {'path_match': '*.date_histogram.timestamp', 'mapping': {'type': 'date'}}}]}}
        return
    meta = index['mappings'].get('_meta')
    if meta is None:
        raise EsError(500, 'runtime_exception', 'Rollup data cannot be added to existing indices that contain non-rollup data '
                      '(expected to find _meta key in mapping of rollup index [%s] but not found).' % name)
    if meta.get(ROLLUP_META) is None:
        raise EsError(500, 'runtime_exception', 'Rollup data cannot be added to existing indices that contain non-rollup data '
                      '(expected to find rollup meta key [%s] in mapping of rollup index [%s] but not found).' % (ROLLUP_META, name))
    if req.pers.rollup_meta_version_required and meta.get(ROLLUP_VERSION) is None:
        raise EsError(500, 'illegal_state_exception', 'Could not determine version of existing rollup metadata for index [%s]' % name)
    if meta[ROLLUP_META].get(job_id) is not None:
        raise EsError(409, 'status_exception',
                      'Cannot create rollup job [%s] because job was previously created (existing metadata).' % job_id)
    meta[ROLLUP_META][job_id] = config


def put_job(req):
    _warn(req)
    cluster = req.cluster
    pers = req.pers
    job_id = req.path_params['id']
    body = req.body if req.body is not None else {}
    _parse_body(req, body)
    _validate_config(req, body)
    if pers.rollup_put_requires_usage and not cluster.rollup_usage():
        raise bad_request("new rollup jobs are not allowed in clusters that don't have any rollup usage, since rollup has been deprecated")
    groups = dict(body.get('groups') or {})
    histo = dict(groups['date_histogram'])
    histo.setdefault('time_zone', 'UTC')
    groups['date_histogram'] = histo
    config = {'id': job_id, 'index_pattern': body['index_pattern'], 'rollup_index': body['rollup_index'], 'cron': body['cron'],
              'groups': groups, 'metrics': body.get('metrics', []), 'timeout': body.get('timeout') or '20s',
              'page_size': body['page_size']}
    _validate_mappings(req, config)
    _store_in_rollup_index(req, config)
    if job_id in cluster.rollup_jobs:
        # startPersistentTask: PersistentTasksClusterService refuses a second task with the id; the rollup index was
        # already created or updated by then (TransportPutRollupJobAction, 6.8-9.1).
        raise EsError(409, 'status_exception', 'Cannot create job [%s] because it has already been created (task exists)' % job_id,
                      caused_by=EsError(409, 'resource_already_exists_exception', 'task with id {%s} already exist' % job_id))
    stats = {k: 0 for k in ('pages_processed', 'documents_processed', 'rollups_indexed', 'trigger_count', 'index_failures',
                            'index_time_in_ms', 'index_total', 'search_failures', 'search_time_in_ms', 'search_total',
                            'processing_time_in_ms', 'processing_total')}
    cluster.rollup_jobs[job_id] = {'config': config, 'state': 'stopped', 'stats': stats, 'handle': None,
                                   'task_id': cluster.next_task_id()}
    return {'acknowledged': True}


# ---- rollup capabilities (GetRollupCapsAction / GetRollupIndexCapsAction): read from the rollup indices' metadata,
# so a deleted job's config still shows while its rollup index keeps it. ----

def _job_caps(config):
    """RollupJobCaps: per field, the aggregations the job stored."""
    fields = {}
    groups = config.get('groups') or {}
    histo = groups.get('date_histogram')
    if histo:
        cap = {'agg': 'date_histogram'}
        for key in ('interval', 'calendar_interval', 'fixed_interval', 'delay', 'time_zone'):
            if key in histo:
                cap[key] = histo[key]
        fields.setdefault(histo['field'], []).append(cap)
    for field in (groups.get('histogram') or {}).get('fields') or []:
        fields.setdefault(field, []).append({'agg': 'histogram', 'interval': groups['histogram'].get('interval')})
    for field in (groups.get('terms') or {}).get('fields') or []:
        fields.setdefault(field, []).append({'agg': 'terms'})
    for metric in config.get('metrics') or []:
        fields.setdefault(metric['field'], []).extend({'agg': m} for m in metric.get('metrics') or [])
    return {'job_id': config['id'], 'rollup_index': config['rollup_index'], 'index_pattern': config['index_pattern'],
            'fields': fields}


def _stored_configs(cluster, index_names):
    for name in index_names:
        meta = (cluster.indices[name]['mappings'].get('_meta') or {}).get(ROLLUP_META) or {}
        for job_id in sorted(meta):
            config = meta[job_id]
            if isinstance(config, dict) and config.get('index_pattern'):
                yield config


def get_caps(req):
    """GET _rollup/data/<index pattern>: keyed by the jobs' index_pattern; `_all` (or no id) for every job."""
    _warn(req)
    wanted = req.path_params.get('id') or '_all'
    out = {}
    # Index metadata order (ES iterates the cluster state's index map; creation order here, which the YAML tests' list
    # matches rely on).
    for config in _stored_configs(req.cluster, list(req.cluster.indices)):
        if wanted in ('_all', '*') or simple_match(wanted, config['index_pattern']):
            out.setdefault(config['index_pattern'], {'rollup_jobs': []})['rollup_jobs'].append(_job_caps(config))
    return out


def get_index_caps(req):
    """GET <index>/_rollup/data: keyed by rollup index; a missing concrete index is ES's 404."""
    _warn(req)
    expression = req.path_params.get('index', '_all')
    if expression == '_all':
        expression = '*'
    for item in expression.split(','):
        if '*' not in item and item not in req.cluster.indices:
            raise EsError(404, 'index_not_found_exception', 'no such index [%s]' % item,
                          metadata={'resource.type': 'index_or_alias', 'resource.id': item, 'index_uuid': '_na_', 'index': item})
    out = {}
    for name in mappings.resolve(req.cluster, expression):
        for config in _stored_configs(req.cluster, [name]):
            out.setdefault(name, {'rollup_jobs': []})['rollup_jobs'].append(_job_caps(config))
    return out


def _job_view(req, job):
    status = {'job_state': job['state']}
    if req.pers.rollup_upgraded_doc_id:
        status['upgraded_doc_id'] = True
    return {'config': job['config'], 'status': status, 'stats': dict(job['stats'])}


def get_jobs(req):
    _warn(req)
    job_id = req.path_params.get('id')
    jobs = req.cluster.rollup_jobs
    if job_id in (None, '', '_all', '*'):
        ids = sorted(jobs)
    else:
        # Only exact ids: matching is description.equals("rollup_" + id) (§3.3).
        ids = [job_id] if job_id in jobs else []
    return {'jobs': [_job_view(req, jobs[i]) for i in ids]}


def start_job(req):
    cluster, job_id, job = _job_request(req)
    state = job['state']
    if state == 'stopped':
        job['state'] = 'started'
        nxt = _next_trigger(cluster.clock, job['config']['cron'])
        if nxt is not None:
            cluster.rollup_triggers[job_id] = nxt
        return {'started': True}
    if state in ('started', 'indexing') and req.pers.rollup_start_idempotent:
        return {'started': True}
    raise EsError(500, 'exception', 'Cannot start task for Rollup Job [%s] because state was [%s]' % (job_id, state.upper()))


def stop_job(req):
    _warn(req)
    wait = parse_bool(req.params.get('wait_for_completion', 'false'), 'wait_for_completion')
    timeout_text = req.params.get('timeout', '30s')
    timeout = parse_time_value(timeout_text)
    cluster, job_id = req.cluster, req.path_params['id']
    job = _job(cluster, job_id)
    state = job['state']
    if state == 'aborting':
        raise EsError(500, 'exception', 'Cannot stop task for Rollup Job [%s] because state was [ABORTING]' % job_id)
    cluster.rollup_triggers.pop(job_id, None)
    if state == 'started':
        job['state'] = 'stopped'
    elif state == 'indexing':
        # The in-flight page finishes first; GET shows `stopping` meanwhile (§3.2).
        if job['handle'] is not None:
            job['handle'].cancel()
        job['state'] = 'stopping'

        def stopped(_when):
            if job['state'] == 'stopping':
                job['state'] = 'stopped'

        job['handle'] = cluster.schedule(cluster.timings.stop_seconds, stopped)
    if wait and not cluster.wait_for(lambda: job['state'] == 'stopped', timeout):
        raise EsError(req.pers.timeout_status, 'elasticsearch_timeout_exception',
                      'Timed out after [%s] while waiting for rollup job [%s] to stop. State was [%s]'
                      % (timeout_text, job_id, job['state'].upper()))
    return {'stopped': True}


def delete_job(req):
    cluster, job_id, job = _job_request(req, lambda job_id: not_found("the task with id [%s] doesn't exist" % job_id))
    if job['state'] != 'stopped':
        # HTTP 500 with task_failures, not an error envelope; two spaces before "Job must be" (§3.4.4).
        reason = ('Could not delete job [%s] because indexer state is [%s].  Job must be [STOPPED] before deletion.'
                  % (job_id, job['state'].upper()))
        raise RawResponse(500, {'task_failures': [{'task_id': job['task_id'], 'node_id': NODE_ID, 'status': 'INTERNAL_SERVER_ERROR',
                                                   'reason': {'type': 'illegal_state_exception', 'reason': reason}}],
                                'acknowledged': False})
    cluster.rollup_triggers.pop(job_id, None)
    del cluster.rollup_jobs[job_id]
    return {'acknowledged': True}


def force_indexing(cluster, job_id):
    job = _job(cluster, job_id)
    if job['state'] == 'indexing':  # its cron fired first: already running
        return {'acknowledged': True, 'id': job_id, 'job_state': job['state']}
    if job['state'] != 'started':
        raise EsError(409, 'status_exception', 'rollup job [%s] is [%s]; only a started job can begin indexing'
                      % (job_id, job['state']))
    begin_indexing(cluster, job)
    return {'acknowledged': True, 'id': job_id, 'job_state': job['state']}
