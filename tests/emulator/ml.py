"""ML anomaly-detection jobs and datafeeds (es-behaviour §2)."""

import re
import time

from .errors import EsError, bad_request, conflict, datafeed_not_found, job_not_found, too_many
from .state import NODE_ID, NODE_NAME, parse_bool, parse_time_value, simple_match

UPGRADE_EXPLANATION = 'persistent task cannot be assigned while upgrade mode is enabled.'
MACHINE_MEMORY = 17179869184
MAX_JOB_MB = int(MACHINE_MEMORY * 0.3 / 1048576)   # default xpack.ml.max_machine_memory_percent = 30
_ID_RE = re.compile(r'^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$')
_BYTE_UNITS = (('pb', 1 << 50), ('tb', 1 << 40), ('gb', 1 << 30), ('mb', 1 << 20), ('kb', 1 << 10),
               ('p', 1 << 50), ('t', 1 << 40), ('g', 1 << 30), ('m', 1 << 20), ('k', 1 << 10), ('b', 1))

ACTIONS = {
    'put_job': 'cluster:admin/xpack/ml/job/put',
    'get_jobs': 'cluster:monitor/xpack/ml/job/get',
    'job_stats': 'cluster:monitor/xpack/ml/job/stats/get',
    'open': 'cluster:admin/xpack/ml/job/open',
    'close': 'cluster:admin/xpack/ml/job/close',
    'delete_job': 'cluster:admin/xpack/ml/job/delete',
    'put_datafeed': 'cluster:admin/xpack/ml/datafeeds/put',
    'get_datafeeds': 'cluster:monitor/xpack/ml/datafeeds/get',
    'datafeed_stats': 'cluster:monitor/xpack/ml/datafeeds/stats/get',
    'start_datafeed': 'cluster:admin/xpack/ml/datafeed/start',
    'stop_datafeed': 'cluster:admin/xpack/ml/datafeed/stop',
    'delete_datafeed': 'cluster:admin/xpack/ml/datafeeds/delete',
    'upgrade_mode': 'cluster:admin/xpack/ml/upgrade_mode',
    'info': 'cluster:monitor/xpack/ml/info/get',
}

# MlUpgradeModeActionFilter (§2.9): these actions are rejected with 429 while upgrade mode is on.
UPGRADE_BLOCKED = {'put_job', 'open', 'close', 'delete_job', 'put_datafeed', 'start_datafeed', 'stop_datafeed', 'delete_datafeed'}


def now_ms():
    return int(time.time() * 1000)


def _mb(value, field='model_memory_limit'):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    for unit, factor in _BYTE_UNITS:
        if text.endswith(unit):
            try:
                return int(float(text[:-len(unit)]) * factor) // (1 << 20)
            except ValueError:
                break
    raise bad_request('failed to parse setting [%s] with value [%s] as a size in bytes: unit is missing or unrecognized'
                      % (field, value), 'parse_exception')


def check_upgrade_mode(req, key):
    if key in UPGRADE_BLOCKED and req.cluster.upgrade_mode:
        raise too_many('Cannot perform %s action while upgrade mode is enabled' % ACTIONS[key])


def option(req, name):
    """Body wins over query params on open/close/stop-datafeed (§1.6)."""
    if req.has_body:
        return (req.body or {}).get(name)
    return req.params.get(name)


def allow_no_match_value(req, legacy_name):
    value = option(req, 'allow_no_match')
    legacy = option(req, legacy_name)
    if legacy is not None and req.pers.ml_allow_no_jobs(req.compat7) == 'deprecated':
        req.warn('Deprecated field [%s] used, expected [allow_no_match] instead' % legacy_name)
    if value is None:
        value = legacy
    return True if value is None else parse_bool(value, 'allow_no_match')


def expand_ids(expr, names, groups, allow_no_match, missing):
    """ExpandedIdsMatcher (§2.4.1): exact tokens must match; wildcards only when allow_no_match=false."""
    tokens = [t for t in (expr or '').split(',') if t != '']
    if not tokens or tokens == ['_all']:
        tokens = ['*']
    matched = set()
    unmatched = []
    for token in tokens:
        hits = set()
        if token in ('_all', '*') or '*' in token:
            hits.update(n for n in names if simple_match(token, n))
            for group, members in groups.items():
                if simple_match(token, group):
                    hits.update(members)
            if not hits and not allow_no_match:
                unmatched.append(token)
        else:
            if token in names:
                hits.add(token)
            elif token in groups:
                hits.update(groups[token])
            else:
                unmatched.append(token)
        matched.update(hits)
    if unmatched:
        raise missing(','.join(unmatched))
    return sorted(matched)


def _job_groups(cluster):
    groups = {}
    for job_id, job in cluster.ml_jobs.items():
        for group in job['config'].get('groups', []):
            groups.setdefault(group, set()).add(job_id)
    return groups


def expand_jobs(req, expr, allow_no_match):
    cluster = req.cluster
    return expand_ids(expr, set(cluster.ml_jobs), _job_groups(cluster), allow_no_match, job_not_found)


def job_state(job):
    task = job['task']
    if task is None:
        return 'closed'
    return task['state']


def datafeed_state(df):
    task = df['task']
    return 'stopped' if task is None else task['state']


def datafeed_for_job(cluster, job_id):
    for df_id in sorted(cluster.datafeeds):
        if cluster.datafeeds[df_id]['config']['job_id'] == job_id:
            return cluster.datafeeds[df_id]
    return None


def _node(req):
    attrs = {'ml.machine_memory': str(MACHINE_MEMORY), 'ml.max_open_jobs': '512' if req.pers.major >= 8 else '20'}
    if req.pers.major < 8:
        attrs['xpack.installed'] = 'true'
        attrs['ml.enabled'] = 'true'
    return {'id': NODE_ID, 'name': NODE_NAME, 'ephemeral_id': 'emUlAt0rEph3m3ra1Id000A', 'transport_address': '127.0.0.1:9300',
            'attributes': attrs}


# ------------------------------------------------------------------ put / get jobs

def _detector_description(det):
    func = det.get('function', '')
    text = func
    if det.get('field_name'):
        text += '(%s)' % det['field_name']
    for key, word in (('by_field_name', 'by'), ('over_field_name', 'over'), ('partition_field_name', 'partitionfield=')):
        if det.get(key):
            text += (' %s%s' % (word, det[key]) if word.endswith('=') else ' %s %s' % (word, det[key]))
    return text


def _validate_id(job_id, kind='job_id'):
    if not _ID_RE.match(job_id) or len(job_id) > 64:
        raise bad_request("Invalid %s; '%s' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; "
                          "must start and end with alphanumeric" % (kind, job_id))


def put_job(req):
    check_upgrade_mode(req, 'put_job')
    cluster = req.cluster
    cluster.check_ml_license()
    job_id = req.path_params['job_id']
    body = dict(req.body or {})
    if 'job_id' in body and body['job_id'] != job_id:
        raise bad_request("Inconsistent job_id; '%s' specified in the body differs from '%s' specified as a URL argument"
                          % (body['job_id'], job_id))
    _validate_id(job_id)
    if job_id in cluster.ml_jobs or job_id in _job_groups(cluster):
        raise EsError(400, 'resource_already_exists_exception',
                      "The job cannot be created with the Id '%s'. The Id is already used." % job_id)
    for illegal in ('model_snapshot_id', 'create_time', 'finished_time', 'job_version'):
        if illegal in body:
            raise bad_request('The job is configured with fields [%s] that are illegal to set at job creation' % illegal)
    analysis = dict(body.get('analysis_config') or {})
    if not analysis:
        raise EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: An analysis_config must be set;')
    detectors = []
    seen = set()
    for index, det in enumerate(analysis.get('detectors') or []):
        det = dict(det)
        det.setdefault('detector_description', _detector_description(det))
        key = tuple(sorted((k, str(v)) for k, v in det.items() if k not in ('detector_description', 'detector_index')))
        if key in seen:
            raise bad_request('Duplicate detectors are not allowed: [%s]' % det['detector_description'])
        seen.add(key)
        det['detector_index'] = index
        detectors.append(det)
    if not detectors:
        raise bad_request('No detectors configured')
    data_description = dict(body.get('data_description') or {})
    data_description.setdefault('time_field', 'time')
    data_description.setdefault('time_format', 'epoch_ms')
    time_field = data_description['time_field']
    for det in detectors:
        for key in ('field_name', 'by_field_name', 'over_field_name', 'partition_field_name'):
            if det.get(key) == time_field:
                raise bad_request('data_description.time_field may not be used in the analysis_config')
    analysis['detectors'] = detectors
    analysis.setdefault('bucket_span', '5m')
    analysis.setdefault('influencers', [])
    if req.pers.at_least(8, 0):
        analysis.setdefault('model_prune_window', '30d')
    limits = dict(body.get('analysis_limits') or {})
    mml = _mb(limits.get('model_memory_limit', 1024))
    if mml < 1:
        raise bad_request('model_memory_limit must be at least 1 MiB. Value = %s' % limits.get('model_memory_limit'))
    limits['model_memory_limit'] = '%dmb' % mml
    limits.setdefault('categorization_examples_limit', 4)
    retention = body.get('model_snapshot_retention_days', 10)
    daily = body.get('daily_model_snapshot_retention_after_days', 1 if retention >= 1 else retention)
    if daily < 0:
        raise bad_request('daily_model_snapshot_retention_after_days cannot be less than 0. Value = %s' % daily, 'status_exception')
    if daily > retention:
        raise bad_request('The value of daily_model_snapshot_retention_after_days [%s] cannot be greater than '
                          'model_snapshot_retention_days [%s]' % (daily, retention), 'status_exception')
    config = {'job_id': job_id, 'job_type': 'anomaly_detector', 'job_version': req.pers.number}
    for key in ('groups', 'description'):
        if key in body:
            config[key] = body[key]
    for group in body.get('groups', []):
        if group in cluster.ml_jobs:
            raise EsError(400, 'resource_already_exists_exception', 'job and group names must be unique but job [%s] and group [%s] have the same name'
                          % (group, group))
    config['create_time'] = now_ms()
    config['analysis_config'] = analysis
    config['analysis_limits'] = limits
    config['data_description'] = data_description
    for key in ('model_plot_config', 'custom_settings', 'background_persist_interval', 'renormalization_window_days',
                'results_retention_days'):
        if key in body:
            config[key] = body[key]
    config['model_snapshot_retention_days'] = retention
    config['daily_model_snapshot_retention_after_days'] = daily
    config['results_index_name'] = body.get('results_index_name', 'shared')
    config['allow_lazy_open'] = bool(body.get('allow_lazy_open', False))
    cluster.ml_jobs[job_id] = {'config': config, 'task': None, 'deleting': False}
    response = dict(config)
    if 'datafeed_config' in body:
        df_body = dict(body['datafeed_config'])
        df_id = df_body.pop('datafeed_id', job_id)
        df_body['job_id'] = job_id
        response['datafeed_config'] = _create_datafeed(req, df_id, df_body)
    return response


def _job_view(req, job_id, exclude_generated):
    job = req.cluster.ml_jobs[job_id]
    config = dict(job['config'])
    if job.get('finished_time') is not None:
        config['finished_time'] = job['finished_time']
    if req.pers.job_has_datafeed_config:
        df = datafeed_for_job(req.cluster, job_id)
        if df is not None:
            config['datafeed_config'] = _datafeed_view(df['config'], exclude_generated)
    if job['deleting']:
        config['deleting'] = True
    if exclude_generated:
        for key in ('create_time', 'finished_time', 'job_version', 'model_snapshot_id', 'job_type', 'deleting'):
            config.pop(key, None)
    return config


def get_jobs(req):
    allow = allow_no_match_value(req, 'allow_no_jobs')
    ids = expand_jobs(req, req.path_params.get('job_id'), allow)
    exclude = parse_bool(req.params.get('exclude_generated', 'false'), 'exclude_generated')
    jobs = [_job_view(req, job_id, exclude) for job_id in ids]
    return {'count': len(jobs), 'jobs': jobs}


def _job_stats(req, job_id):
    cluster = req.cluster
    job = cluster.ml_jobs[job_id]
    created = job['config']['create_time']
    stats = {
        'job_id': job_id,
        'data_counts': {'job_id': job_id, 'processed_record_count': 0, 'processed_field_count': 0, 'input_bytes': 0,
                        'input_field_count': 0, 'invalid_date_count': 0, 'missing_field_count': 0, 'out_of_order_timestamp_count': 0,
                        'empty_bucket_count': 0, 'sparse_bucket_count': 0, 'bucket_count': 0, 'input_record_count': 0},
        'model_size_stats': {'job_id': job_id, 'result_type': 'model_size_stats', 'model_bytes': 0, 'total_by_field_count': 0,
                             'total_over_field_count': 0, 'total_partition_field_count': 0, 'bucket_allocation_failures_count': 0,
                             'memory_status': 'ok', 'log_time': created},
        'forecasts_stats': {'total': 0, 'forecasted_jobs': 0},
        'state': job_state(job),
    }
    task = job['task']
    if task is not None:
        assigned = task['assigned'] and not cluster.upgrade_mode
        if assigned:
            stats['node'] = _node(req)
        if cluster.upgrade_mode:
            stats['assignment_explanation'] = UPGRADE_EXPLANATION
        else:
            stats['assignment_explanation'] = task.get('explanation', '')
        if task['state'] == 'opened' and assigned:
            stats['open_time'] = '%ds' % int(time.monotonic() - task['opened_at'])
    stats['timing_stats'] = {'job_id': job_id, 'bucket_count': 0, 'total_bucket_processing_time_ms': 0.0}
    return stats


def job_stats(req):
    allow = allow_no_match_value(req, 'allow_no_jobs')
    ids = expand_jobs(req, req.path_params.get('job_id'), allow)
    # Jobs being deleted are left out of stats (GH #34645).
    jobs = [_job_stats(req, job_id) for job_id in ids if not req.cluster.ml_jobs[job_id]['deleting']]
    return {'count': len(jobs), 'jobs': jobs}


# ------------------------------------------------------------------ open / close

def open_job(req):
    check_upgrade_mode(req, 'open')
    cluster = req.cluster
    cluster.check_ml_license()
    job_id = req.path_params['job_id']
    timeout_text = option(req, 'timeout') or '30m'
    timeout = parse_time_value(timeout_text)
    job = cluster.ml_jobs.get(job_id)
    if job is None:
        raise job_not_found(job_id)
    if job['task'] is not None:
        raise conflict('Cannot open job [%s] because it has already been opened' % job_id)
    if cluster.persistent_settings.get('cluster.persistent_tasks.allocation.enable') == 'none':
        raise too_many('Cannot open jobs because persistent task assignment is disabled by the '
                       '[cluster.persistent_tasks.allocation.enable] setting')
    mml = _mb(job['config']['analysis_limits']['model_memory_limit'])
    fits = mml <= MAX_JOB_MB
    if not fits and not job['config'].get('allow_lazy_open'):
        raise too_many('Could not open job because no ML nodes with sufficient capacity were found', None)
    job['finished_time'] = None
    task = {'state': 'opening', 'assigned': fits, 'opened_at': None, 'handle': None, 'explanation': ''}
    job['task'] = task
    if not fits:
        # Lazy open: the task waits unassigned in `opening` (§2.2), the API returns node "".
        task['explanation'] = ('Not opening job [%s], because this project has insufficient available memory' % job_id)
        return _open_response(req, '')

    def opened(_when):
        if job['task'] is task and task['state'] == 'opening':
            task['state'] = 'opened'
            task['opened_at'] = time.monotonic()

    task['handle'] = cluster.schedule(cluster.timings.open_seconds, opened)

    def open_wait_over():
        # TransportOpenJobAction.JobPredicate (6.8, 7.x, 8.x/9.x): no task (CLOSED) and OPENING keep waiting;
        # OPENED, CLOSING and FAILED end the wait at once.
        current = job['task']
        return current is not None and current['state'] != 'opening'

    if not cluster.wait_for(open_wait_over, timeout):
        raise EsError(408, 'status_exception', 'Opening job [%s] timed out after [%s]' % (job_id, timeout_text))
    _raise_if_open_wait_failed(req, job['task'])
    return _open_response(req, NODE_ID)


def _raise_if_open_wait_failed(req, task):
    """JobPredicate's answers other than opened (ES x-pack/plugin/ml/.../action/TransportOpenJobAction.java, 6.8-9.1):
    CLOSING: 409 ExceptionsHelper.conflictStatusException("The job has been closed while waiting to be opened");
    FAILED: 500 ExceptionsHelper.serverError (an ElasticsearchException: type ``exception``) "Unexpected job state [failed]
    while waiting for job to be opened"; 8.x/9.x insert the task's reason ("with reason [..] "); the 7.x sources read
    (up to 7.9) have no reason, where between 7.10 and 8.0 it was added is [I]. The failed task stays (no cancel)."""
    if task['state'] == 'closing':
        raise conflict('The job has been closed while waiting to be opened')
    if task['state'] == 'failed':
        reason = task.get('reason')
        with_reason = 'with reason [%s] ' % reason if reason and req.pers.major >= 8 else ''
        raise EsError(500, 'exception', 'Unexpected job state [failed] %swhile waiting for job to be opened' % with_reason)


def _open_response(req, node):
    if req.pers.open_response_has_node:
        return {'opened': True, 'node': node}
    return {'opened': True}


def _stop_datafeed_task(cluster, df, force, then=None):
    """Graceful: started → stopping for stop-seconds → no task; force: no task at once."""
    task = df['task']
    if task is None:
        if then:
            then()
        return
    if task.get('handle'):
        task['handle'].cancel()
    if force:
        df['task'] = None
        if then:
            then()
        return
    task['state'] = 'stopping'

    def stopped(_when):
        if df['task'] is task:
            df['task'] = None
        if then:
            then()

    task['handle'] = cluster.schedule(cluster.timings.stop_seconds, stopped)


def _begin_close(cluster, job):
    task = job['task']
    if task is None or task['state'] == 'closing':
        return
    if task.get('handle'):
        task['handle'].cancel()
    if not task['assigned']:
        job['task'] = None
        job['finished_time'] = now_ms()
        return
    task['state'] = 'closing'

    def closed(_when):
        if job['task'] is task:
            job['task'] = None
            job['finished_time'] = now_ms()

    task['handle'] = cluster.schedule(cluster.timings.close_seconds, closed)


def close_job(req):
    check_upgrade_mode(req, 'close')
    cluster = req.cluster
    pers = req.pers
    allow = allow_no_match_value(req, 'allow_no_jobs')
    force = parse_bool(option(req, 'force') or False, 'force')
    timeout_text = option(req, 'timeout') or '30m'
    timeout = parse_time_value(timeout_text)
    expr = req.path_params['job_id']
    ids = expand_jobs(req, expr, allow)
    jobs = {job_id: cluster.ml_jobs[job_id] for job_id in ids}
    failed = [j for j in ids if job_state(jobs[j]) == 'failed']
    open_ids = [j for j in ids if job_state(jobs[j]) in ('opening', 'opened')]
    closing = [j for j in ids if job_state(jobs[j]) == 'closing']
    # ≤7.13 the datafeed check runs first, for every expanded id, forced or not (§2.5.3).
    started = {}
    for job_id in ids:
        df = datafeed_for_job(cluster, job_id)
        if df is not None and df['task'] is not None:
            started[job_id] = df
    if started and not pers.close_stops_datafeeds:
        df_id = started[sorted(started)[0]]['config']['datafeed_id']
        if pers.below(6, 6):
            raise conflict("cannot close job [%s], datafeed hasn't been stopped" % sorted(started)[0])
        raise conflict("cannot close job datafeed [%s] hasn't been stopped" % df_id)
    if failed and not force:
        if len(ids) == 1:
            raise conflict('cannot close job [%s] because it failed, use force close' % failed[0])
        raise conflict('one or more jobs have state failed, use force close')
    if force:
        for job_id in open_ids + failed + closing:
            job = jobs[job_id]
            df = started.get(job_id)
            if df is not None:
                _stop_datafeed_task(cluster, df, True)
            if job['task'] is not None and job['task'].get('handle'):
                job['task']['handle'].cancel()
            job['task'] = None
            job['finished_time'] = now_ms()
        return {'closed': True}
    targets = open_ids + closing
    for job_id in open_ids:
        job = jobs[job_id]
        df = started.get(job_id)
        if df is not None:
            # 7.14+: close stops the datafeed first with the same force/timeout (§2.5.3).
            _stop_datafeed_task(cluster, df, False, then=lambda job=job: _begin_close(cluster, job))
        else:
            _begin_close(cluster, job)
    # ES x-pack/plugin/ml/.../action/TransportCloseJobAction.java (6.8-9.1): the close of each open job runs on its node
    # (taskOperation -> AutodetectProcessManager.closeJob); a job whose close fails there is set to failed and its
    # node operation throws serverError("Exception closing autodetect process"), which newResponse rethrows once every
    # node operation is done. Only then does waitForJobClosed wait for the persistent tasks to disappear, up to
    # `timeout`; a failed task never disappears, so a job that was already closing and fails keeps the request waiting
    # to the 500 "Timed out when waiting for persistent tasks" (PersistentTasksService.waitForPersistentTasksCondition).

    def node_operations_done():
        return all(jobs[j]['task'] is None or jobs[j]['task']['state'] == 'failed' for j in open_ids)

    if not cluster.wait_for(node_operations_done, timeout):
        raise EsError(500, 'illegal_state_exception', 'Timed out when waiting for persistent tasks after %s' % timeout_text)
    failed_closing = [j for j in open_ids if jobs[j]['task'] is not None]
    if failed_closing:
        raise _close_failed_error(pers, jobs[failed_closing[0]]['task'])
    if not cluster.wait_for(lambda: all(jobs[j]['task'] is None for j in targets), timeout):
        raise EsError(500, 'illegal_state_exception', 'Timed out when waiting for persistent tasks after %s' % timeout_text)
    return {'closed': True}


def _close_failed_error(pers, task):
    """≤7.x newResponse rethrows the node's exception as is (ExceptionsHelper.convertToElastic: type ``exception``);
    9.x wraps it with ExceptionsHelper.taskOperationFailureToStatusException (``status_exception``, same 500 and text,
    the node's exception as cause). The 8.x side of that change is [I] (taken as 8.0)."""
    cause = EsError(500, 'exception', task.get('reason') or 'autodetect process failed')
    if pers.major >= 8:
        return EsError(500, 'status_exception', 'Exception closing autodetect process',
                       caused_by=EsError(500, 'exception', 'Exception closing autodetect process', caused_by=cause))
    return EsError(500, 'exception', 'Exception closing autodetect process', caused_by=cause)


# ------------------------------------------------------------------ delete job

def _delete_job_now(req, job_id, force):
    cluster = req.cluster
    pers = req.pers
    job = cluster.ml_jobs.get(job_id)
    if job is None:
        raise job_not_found(job_id)
    df = datafeed_for_job(cluster, job_id)
    if df is not None and not pers.delete_job_removes_datafeed:
        raise conflict('Cannot delete job [%s] because datafeed [%s] refers to it' % (job_id, df['config']['datafeed_id']))
    if not force and job['task'] is not None:
        raise conflict('Cannot delete job [%s] because the job is %s' % (job_id, job_state(job)))
    if df is not None:
        # 7.15+: the job's datafeed is deleted first, with the same force (§2.8).
        if df['task'] is not None and not force:
            cause = conflict('Cannot delete datafeed [%s] while its status is %s' % (df['config']['datafeed_id'], datafeed_state(df)))
            raise EsError(409, 'status_exception', 'failed to delete job [%s] as its datafeed [%s] could not be deleted'
                          % (job_id, df['config']['datafeed_id']), caused_by=cause)
        _stop_datafeed_task(cluster, df, True)
        del cluster.datafeeds[df['config']['datafeed_id']]
    if job['task'] is not None and job['task'].get('handle'):
        job['task']['handle'].cancel()
    job['task'] = None
    del cluster.ml_jobs[job_id]


def delete_job(req):
    check_upgrade_mode(req, 'delete_job')
    job_id = req.path_params['job_id']
    force = parse_bool(req.params.get('force', 'false'), 'force')
    wait = parse_bool(req.params.get('wait_for_completion', 'true'), 'wait_for_completion')
    if not wait:
        # The action runs as a task; its outcome is stored as the task result (§2.8).
        task_id = req.cluster.next_task_id()
        full_id = '%s:%d' % (NODE_ID, task_id)
        try:
            _delete_job_now(req, job_id, force)
            req.cluster.tasks[full_id] = {'response': {'acknowledged': True}}
        except EsError as err:
            req.cluster.tasks[full_id] = {'error': err.body()['error']}
        req.cluster.tasks[full_id]['action'] = ACTIONS['delete_job']
        return {'task': full_id}
    _delete_job_now(req, job_id, force)
    return {'acknowledged': True}


# ------------------------------------------------------------------ datafeeds

def _datafeed_view(config, exclude_generated=False):
    view = dict(config)
    if exclude_generated:
        view.pop('authorization', None)
    return view


def _create_datafeed(req, df_id, body):
    cluster = req.cluster
    _validate_id(df_id, 'datafeed_id')
    if df_id in cluster.datafeeds:
        raise EsError(400, 'resource_already_exists_exception', 'A datafeed with id [%s] already exists' % df_id)
    job_id = body.get('job_id')
    if not job_id:
        raise EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: [job_id] must be set;')
    if job_id not in cluster.ml_jobs:
        raise job_not_found(job_id)
    existing = datafeed_for_job(cluster, job_id)
    if existing is not None:
        raise EsError(400, 'resource_already_exists_exception', 'A datafeed [%s] already exists for job [%s]'
                      % (existing['config']['datafeed_id'], job_id))
    indices = body.get('indices') or body.get('indexes')
    if isinstance(indices, str):
        indices = [indices]
    if not indices:
        raise EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: [indices] cannot be empty;')
    config = {'datafeed_id': df_id, 'job_id': job_id, 'query_delay': body.get('query_delay', '60000ms'),
              'indices': indices, 'query': body.get('query', {'match_all': {'boost': 1.0}}),
              'scroll_size': body.get('scroll_size', 1000), 'chunking_config': body.get('chunking_config', {'mode': 'auto'}),
              'delayed_data_check_config': body.get('delayed_data_check_config', {'enabled': True})}
    for key in ('frequency', 'aggregations', 'script_fields', 'runtime_mappings', 'max_empty_searches'):
        if key in body:
            config[key] = body[key]
    if req.pers.at_least(7, 7):
        config['indices_options'] = body.get('indices_options', {'expand_wildcards': ['open'], 'ignore_unavailable': False,
                                                                 'allow_no_indices': True, 'ignore_throttled': True})
    cluster.datafeeds[df_id] = {'config': config, 'task': None}
    return config


def put_datafeed(req):
    check_upgrade_mode(req, 'put_datafeed')
    req.cluster.check_ml_license()
    body = dict(req.body or {})
    df_id = req.path_params['datafeed_id']
    if 'datafeed_id' in body and body['datafeed_id'] != df_id:
        raise bad_request("Inconsistent datafeed_id; '%s' specified in the body differs from '%s' specified as a URL argument"
                          % (body['datafeed_id'], df_id))
    return _create_datafeed(req, df_id, body)


def expand_datafeeds(req, expr, allow):
    return expand_ids(expr, set(req.cluster.datafeeds), {}, allow, datafeed_not_found)


def get_datafeeds(req):
    allow = allow_no_match_value(req, 'allow_no_datafeeds')
    ids = expand_datafeeds(req, req.path_params.get('datafeed_id'), allow)
    feeds = [_datafeed_view(req.cluster.datafeeds[i]['config']) for i in ids]
    return {'count': len(feeds), 'datafeeds': feeds}


def _datafeed_stats(req, df):
    cluster = req.cluster
    config = df['config']
    stats = {'datafeed_id': config['datafeed_id'], 'state': datafeed_state(df)}
    task = df['task']
    if task is not None:
        if not cluster.upgrade_mode:
            stats['node'] = _node(req)
            stats['assignment_explanation'] = ''
        else:
            stats['assignment_explanation'] = UPGRADE_EXPLANATION
    if req.pers.at_least(7, 4):
        stats['timing_stats'] = {'job_id': config['job_id'], 'search_count': 0, 'bucket_count': 0, 'total_search_time_ms': 0.0}
    if req.pers.datafeed_running_state and task is not None:
        realtime = task.get('end') is None
        stats['running_state'] = {'real_time_configured': realtime,
                                  'real_time_running': realtime and task['state'] == 'started'}
    return stats


def datafeed_stats(req):
    allow = allow_no_match_value(req, 'allow_no_datafeeds')
    ids = expand_datafeeds(req, req.path_params.get('datafeed_id'), allow)
    feeds = [_datafeed_stats(req, req.cluster.datafeeds[i]) for i in ids]
    return {'count': len(feeds), 'datafeeds': feeds}


def _parse_date(value, name):
    text = str(value)
    if text == 'now':
        return now_ms()
    if re.match(r'^-?\d+$', text):
        return int(text)
    try:
        from datetime import datetime  # pylint: disable=import-outside-toplevel
        return int(datetime.fromisoformat(text.replace('Z', '+00:00')).timestamp() * 1000)
    except ValueError as exc:
        raise EsError(400, 'illegal_argument_exception', "Query param [%s] with value [%s] cannot be parsed as a date or "
                      "converted to a number (epoch)." % (name, text)) from exc


def start_datafeed(req):
    check_upgrade_mode(req, 'start_datafeed')
    cluster = req.cluster
    cluster.check_ml_license()
    df_id = req.path_params['datafeed_id']
    df = cluster.datafeeds.get(df_id)
    if df is None:
        raise datafeed_not_found(df_id)
    start_value = option(req, 'start')
    end_value = option(req, 'end')
    start = _parse_date(start_value, 'start') if start_value is not None else 0
    end = _parse_date(end_value, 'end') if end_value is not None else None
    if end is not None and end <= start:
        raise EsError(400, 'action_request_validation_exception',
                      'Validation Failed: 1: start [%d] must be earlier than end [%d];' % (start, end))
    timeout_text = option(req, 'timeout') or '20s'
    timeout = parse_time_value(timeout_text)
    job_id = df['config']['job_id']
    job = cluster.ml_jobs.get(job_id)
    state = job_state(job) if job else 'closed'
    if state not in ('opened', 'opening'):
        raise conflict('cannot start datafeed [%s] because job [%s] is %s' % (df_id, job_id, state))
    if df['task'] is not None:
        raise conflict('cannot start datafeed [%s] because it has already been started' % df_id)
    for index in df['config']['indices']:
        if '*' not in index and not cluster.index_exists(index):
            raise EsError(404, 'resource_not_found_exception',
                          'datafeed [%s] cannot retrieve data because index [%s] does not exist' % (df_id, index))
    if cluster.persistent_settings.get('cluster.persistent_tasks.allocation.enable') == 'none':
        raise too_many('no persistent task assignments are allowed due to cluster settings')
    task = {'state': 'starting', 'end': end, 'handle': None}
    df['task'] = task

    def started(_when):
        if df['task'] is task and task['state'] == 'starting':
            task['state'] = 'started'

    task['handle'] = cluster.schedule(cluster.timings.open_seconds, started)
    if not cluster.wait_for(lambda: df['task'] is not task or task['state'] != 'starting', timeout):
        raise EsError(500, 'elasticsearch_exception', 'Starting datafeed [%s] timed out after [%s]' % (df_id, timeout_text))
    if req.pers.start_datafeed_has_node:
        return {'started': True, 'node': NODE_ID}
    return {'started': True}


def stop_datafeed(req):
    check_upgrade_mode(req, 'stop_datafeed')
    cluster = req.cluster
    allow = allow_no_match_value(req, 'allow_no_datafeeds')
    force = parse_bool(option(req, 'force') or False, 'force')
    timeout_text = option(req, 'timeout') or '5m'    # StopDatafeedAction.DEFAULT_TIMEOUT (§2.7)
    timeout = parse_time_value(timeout_text)
    ids = expand_datafeeds(req, req.path_params['datafeed_id'], allow)
    feeds = [cluster.datafeeds[i] for i in ids]
    for df in feeds:
        if df['task'] is not None and df['task']['state'] != 'stopping':
            _stop_datafeed_task(cluster, df, force)
        elif df['task'] is not None and force:
            _stop_datafeed_task(cluster, df, True)
    if not cluster.wait_for(lambda: all(df['task'] is None for df in feeds), timeout):
        raise EsError(500, 'illegal_state_exception', 'Timed out when waiting for persistent tasks after %s' % timeout_text)
    return {'stopped': True}


def delete_datafeed(req):
    check_upgrade_mode(req, 'delete_datafeed')
    cluster = req.cluster
    df_id = req.path_params['datafeed_id']
    force = parse_bool(req.params.get('force', 'false'), 'force')
    df = cluster.datafeeds.get(df_id)
    if df is None:
        raise datafeed_not_found(df_id)
    if df['task'] is not None and not force:
        raise conflict('Cannot delete datafeed [%s] while its status is %s' % (df_id, datafeed_state(df)))
    _stop_datafeed_task(cluster, df, True)
    del cluster.datafeeds[df_id]
    return {'acknowledged': True}


# ------------------------------------------------------------------ info / upgrade mode

def ml_info(req):
    pers = req.pers
    info = {'defaults': {'anomaly_detectors': {'categorization_analyzer': {'char_filter': ['first_line_with_letters'] if pers.major >= 8 else [],
                                                                           'tokenizer': 'ml_standard' if pers.major >= 8 else 'ml_classic',
                                                                           'filter': [{'type': 'stop', 'stopwords': ['Monday', 'Tuesday']}]},
                                               'model_memory_limit': '1gb', 'categorization_examples_limit': 4,
                                               'model_snapshot_retention_days': 10, 'daily_model_snapshot_retention_after_days': 1},
                         'datafeeds': {'scroll_size': 1000}},
            'upgrade_mode': req.cluster.upgrade_mode,
            'native_code': {'version': pers.number, 'build_hash': pers.build_hash[:12]},
            'limits': {'max_single_ml_node_processors': 2, 'total_ml_processors': 2,
                       'effective_max_model_memory_limit': '%dmb' % MAX_JOB_MB, 'total_ml_memory': '%dmb' % MAX_JOB_MB}}
    if pers.major < 7:
        del info['limits']['max_single_ml_node_processors']
        del info['limits']['total_ml_processors']
    return info


def set_upgrade_mode(req):
    cluster = req.cluster
    enabled = parse_bool(req.params.get('enabled', 'false'), 'enabled')
    parse_time_value(req.params.get('timeout', '30s'))
    if cluster.upgrade_mode_changing:
        cause = EsError(500, 'illegal_state_exception', 'Attempted to set [upgrade_mode] to [%s] from [%s] while previous request was processing.'
                        % (str(enabled).lower(), str(cluster.upgrade_mode).lower()))
        if req.pers.upgrade_mode_feature_message:
            raise too_many('Cannot change [upgrade_mode] for feature name [machine_learning]. Previous request is still being processed.', cause)
        raise too_many('Cannot change [upgrade_mode]. Previous request is still being processed.', cause)
    # Setting the current value again is a no-op (§2.9); stats then show the unassignment explanation.
    cluster.upgrade_mode = enabled
    return {'acknowledged': True}


def fail_job(cluster, job_id, reason):
    job = cluster.ml_jobs.get(job_id)
    if job is None:
        raise job_not_found(job_id)
    task = job['task']
    if task is not None and task.get('handle'):
        task['handle'].cancel()
    job['task'] = {'state': 'failed', 'assigned': True, 'opened_at': time.monotonic(), 'handle': None,
                   'explanation': '', 'reason': reason}
    return {'acknowledged': True, 'job_id': job_id, 'state': 'failed'}
