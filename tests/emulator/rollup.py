"""Rollup jobs (es-behaviour §3).

Emulated cron rule (documented in README.md): a started job whose cron is `S M H D Mo W [Y]` with the seconds
field `*` or `*/N` (N <= 10) and every other field `*` or `?` triggers whenever the wall-clock epoch second is a
multiple of N. Each trigger of a `started` job begins an indexing run lasting --stop-seconds; triggers during a run
are ignored (AsyncTwoPhaseIndexer). Any other cron never triggers on its own: use POST /_emulator/rollup/<id>/_indexing.
"""

import re
import time

from .errors import EsError, RawResponse, bad_request, not_found
from .state import NODE_ID, parse_bool, parse_time_value

DEPRECATION = 'The rollup functionality will be removed in Elasticsearch 10.0. See docs for more information.'
MAX_AUTO_PERIOD = 10
ACTIONS = {
    'put': 'cluster:admin/xpack/rollup/put',
    'get': 'cluster:monitor/xpack/rollup/get',
    'start': 'cluster:admin/xpack/rollup/start',
    'stop': 'cluster:admin/xpack/rollup/stop',
    'delete': 'cluster:admin/xpack/rollup/delete',
}


def cron_period(cron):
    """Seconds between automatic triggers, or None when the cron never triggers on its own in the emulator."""
    fields = cron.split()
    if len(fields) not in (6, 7):
        return None
    if any(f not in ('*', '?') for f in fields[1:]):
        return None
    if fields[0] == '*':
        return 1
    match = re.match(r'^(?:\*|0)/(\d+)$', fields[0])
    if match and 0 < int(match.group(1)) <= MAX_AUTO_PERIOD:
        return int(match.group(1))
    return None


def _next_trigger(period):
    wall = time.time()
    nxt = (int(wall) // period + 1) * period
    return time.monotonic() + (nxt - wall)


def install(cluster):
    """Hook the cron triggers into the cluster scheduler."""

    def fire(job_id, when):
        job = cluster.rollup_jobs.get(job_id)
        period = cron_period(job['config']['cron']) if job else None
        if job is None or job['state'] not in ('started', 'indexing') or period is None:
            cluster.rollup_triggers.pop(job_id, None)
            return
        cluster.rollup_triggers[job_id] = when + period
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


def _require(body, key, message):
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        # ES's ObjectParser rejects a wrongly typed field before any validation runs.
        token = ('START_OBJECT' if isinstance(value, dict) else 'START_ARRAY' if isinstance(value, list)
                 else 'VALUE_BOOLEAN' if isinstance(value, bool) else 'VALUE_NUMBER')
        raise EsError(400, 'x_content_parse_exception', "[rollup_job_config] %s doesn't support values of type: %s" % (key, token))
    if value in (None, ''):
        raise bad_request(message)


def put_job(req):
    _warn(req)
    cluster = req.cluster
    pers = req.pers
    job_id = req.path_params['id']
    body = dict(req.body or {})
    if pers.rollup_put_requires_usage and not cluster.rollup_usage():
        raise bad_request("new rollup jobs are not allowed in clusters that don't have any rollup usage, since rollup has been deprecated")
    _require(body, 'index_pattern', 'An index pattern is mandatory.')
    _require(body, 'rollup_index', 'A rollup index name is mandatory.')
    _require(body, 'cron', 'A cron schedule is mandatory.')
    if not isinstance(body.get('page_size'), int) or body['page_size'] <= 0:
        raise bad_request('Parameter [page_size] is mandatory and  must be a positive long.')
    groups = dict(body.get('groups') or {})
    histo = dict(groups.get('date_histogram') or {})
    if not histo.get('field'):
        raise bad_request('A date_histogram field is mandatory')
    if not any(k in histo for k in ('interval', 'calendar_interval', 'fixed_interval')):
        raise bad_request('An interval is required.  Use [fixed_interval] or [calendar_interval].')
    if body['index_pattern'] == body['rollup_index']:
        raise bad_request('Rollup index may not be the same as the index pattern')
    if job_id in cluster.rollup_jobs:
        raise EsError(409, 'resource_already_exists_exception',
                      'Cannot create job [%s] because it has already been created (task exists)' % job_id)
    rollup_index = body['rollup_index']
    index = cluster.indices.get(rollup_index)
    if index is not None:
        meta = (index.get('mappings') or {}).get('_meta') or {}
        if '_rollup' not in meta:
            raise EsError(500, 'status_exception', 'Rollup data cannot be added to existing indices that contain non-rollup data '
                          '(expected to find _meta key in mapping of rollup index [%s] but not found).' % rollup_index)
    histo.setdefault('time_zone', 'UTC')
    groups['date_histogram'] = histo
    config = {'id': job_id, 'index_pattern': body['index_pattern'], 'rollup_index': rollup_index, 'cron': body['cron'],
              'groups': groups, 'metrics': body.get('metrics', []), 'timeout': body.get('timeout', '20s'),
              'page_size': body['page_size']}
    if index is None:
        index = cluster.indices[rollup_index] = {'settings': {}, 'mappings': {'_meta': {'_rollup': {}}}, 'aliases': {}}
    index['mappings'].setdefault('_meta', {}).setdefault('_rollup', {})[job_id] = config
    stats = {k: 0 for k in ('pages_processed', 'documents_processed', 'rollups_indexed', 'trigger_count', 'index_failures',
                            'index_time_in_ms', 'index_total', 'search_failures', 'search_time_in_ms', 'search_total',
                            'processing_time_in_ms', 'processing_total')}
    cluster.rollup_jobs[job_id] = {'config': config, 'state': 'stopped', 'stats': stats, 'handle': None,
                                   'task_id': cluster.next_task_id()}
    return {'acknowledged': True}


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
    _warn(req)
    cluster = req.cluster
    job_id = req.path_params['id']
    job = cluster.rollup_jobs.get(job_id)
    if job is None:
        raise _task_not_found(job_id)
    state = job['state']
    if state == 'stopped':
        job['state'] = 'started'
        period = cron_period(job['config']['cron'])
        if period is not None:
            cluster.rollup_triggers[job_id] = _next_trigger(period)
        return {'started': True}
    if state in ('started', 'indexing') and req.pers.rollup_start_idempotent:
        return {'started': True}
    raise EsError(500, 'exception', 'Cannot start task for Rollup Job [%s] because state was [%s]' % (job_id, state.upper()))


def stop_job(req):
    _warn(req)
    cluster = req.cluster
    job_id = req.path_params['id']
    wait = parse_bool(req.params.get('wait_for_completion', 'false'), 'wait_for_completion')
    timeout_text = req.params.get('timeout', '30s')
    timeout = parse_time_value(timeout_text)
    job = cluster.rollup_jobs.get(job_id)
    if job is None:
        raise _task_not_found(job_id)
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
    _warn(req)
    cluster = req.cluster
    job_id = req.path_params['id']
    job = cluster.rollup_jobs.get(job_id)
    if job is None:
        raise not_found("the task with id [%s] doesn't exist" % job_id)
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
    job = cluster.rollup_jobs.get(job_id)
    if job is None:
        raise not_found('Task for Rollup Job [%s] not found' % job_id)
    if job['state'] != 'started':
        raise EsError(409, 'status_exception', 'rollup job [%s] is [%s]; only a started job can begin indexing'
                      % (job_id, job['state']))
    begin_indexing(cluster, job)
    return {'acknowledged': True, 'id': job_id, 'job_state': job['state']}
