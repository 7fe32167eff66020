"""ML anomaly-detection jobs and datafeeds (es-behaviour §2)."""

import re

from . import mappings, ml_calendars, ml_config, parsing
from .errors import EsError, bad_request, conflict, datafeed_not_found, job_not_found, too_many
from .state import NODE_ID, NODE_NAME, parse_bool, parse_time_value, simple_match

UPGRADE_EXPLANATION = 'persistent task cannot be assigned while upgrade mode is enabled.'
MACHINE_MEMORY = 17179869184
MAX_JOB_MB = int(MACHINE_MEMORY * 0.3 / 1048576)   # default xpack.ml.max_machine_memory_percent = 30

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
    'update_job': 'cluster:admin/xpack/ml/job/update',
    'update_datafeed': 'cluster:admin/xpack/ml/datafeeds/update',
}

# MlUpgradeModeActionFilter (§2.9): these actions are rejected with 429 while upgrade mode is on.
UPGRADE_BLOCKED = {'put_job', 'open', 'close', 'delete_job', 'put_datafeed', 'start_datafeed', 'stop_datafeed', 'delete_datafeed',
                   'update_job', 'update_datafeed'}


def now_ms(cluster):
    return int(cluster.clock.time() * 1000)


def check_upgrade_mode(req, key):
    if not req.cluster.upgrade_mode:
        return
    if req.pers.upgrade_mode_action_filter:
        if key in UPGRADE_BLOCKED:
            raise too_many('Cannot perform %s action while upgrade mode is enabled' % ACTIONS[key])
    elif key == 'open':
        # Before the action filter only TransportOpenJobAction refused (makeCurrentlyBeingUpgradedException).
        raise too_many('Cannot open jobs when upgrade mode is enabled')


def option(req, name):
    """Body wins over query params on open/close/stop-datafeed (§1.6)."""
    if req.has_body:
        return (req.body or {}).get(name)
    return req.params.get(name)


def flag(req, name, default=False):
    """A boolean option: from the body when there is one, else RestRequest.paramAsBoolean (bare `?force` = true)."""
    if req.has_body:
        value = (req.body or {}).get(name)
        return default if value is None else parse_bool(value, name)
    return req.bool_param(name, default)


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

def _validate_id(job_id, kind='job_id'):
    if not ml_config.is_valid_id(job_id) or len(job_id) > 64:
        raise bad_request("Invalid %s; '%s' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; "
                          "must start and end with alphanumeric" % (kind, job_id))


def put_job(req):
    # The REST handler parses the body (Job.STRICT_PARSER: unknown fields, then AnalysisConfig.Builder.build() inside
    # setAnalysisConfig) before the transport action and its filters (upgrade mode, license) run.
    if req.pers.job_has_datafeed_config:
        ml_config.indices_options(req, None)      # RestPutJobAction: IndicesOptions.fromRequest before the body
    parsing.JOB.check(req, req.body or {})
    check_upgrade_mode(req, 'put_job')
    cluster = req.cluster
    cluster.check_ml_license()
    job_id = req.path_params['job_id']
    body = dict(req.body or {})
    analysis_body = body.get('analysis_config')
    if analysis_body:
        try:
            analysis = ml_config.build_analysis_config(req.pers, analysis_body)
        except EsError as err:
            raise parsing.wrap_built(req, 'job_details', 'analysis_config', err) from None
    if 'job_id' in body and body['job_id'] != job_id:
        raise bad_request("Inconsistent job_id; '%s' specified in the body differs from '%s' specified as a URL argument"
                          % (body['job_id'], job_id))
    if not analysis_body:
        raise EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: An analysis_config must be set;')
    _validate_id(job_id)
    groups = body.get('groups', [])
    ml_config.validate_groups(job_id, groups)
    if job_id in cluster.ml_jobs or job_id in _job_groups(cluster):
        raise EsError(400, 'resource_already_exists_exception',
                      "The job cannot be created with the Id '%s'. The Id is already used." % job_id)
    for illegal in ('model_snapshot_id', 'create_time', 'finished_time', 'job_version'):
        if illegal in body:
            raise bad_request('The job is configured with fields [%s] that are illegal to set at job creation' % illegal)
    seen = set()
    for det in analysis['detectors']:
        key = tuple(sorted((k, str(v)) for k, v in det.items() if k not in ('detector_description', 'detector_index')))
        if key in seen:
            raise bad_request('Duplicate detectors are not allowed: [%s]' % det['detector_description'])
        seen.add(key)
    data_description = dict(body.get('data_description') or {})
    data_description.setdefault('time_field', 'time')
    data_description.setdefault('time_format', 'epoch_ms')
    time_field = data_description['time_field']
    for det in analysis['detectors']:
        for key in ('field_name', 'by_field_name', 'over_field_name', 'partition_field_name'):
            if det.get(key) == time_field:
                raise bad_request('data_description.time_field may not be used in the analysis_config')
    limits = ml_config.analysis_limits(cluster, body.get('analysis_limits'))
    retention = body.get('model_snapshot_retention_days', req.pers.default_model_snapshot_retention_days)
    daily = body.get('daily_model_snapshot_retention_after_days', 1 if retention >= 1 else retention)
    if daily < 0:
        raise bad_request('daily_model_snapshot_retention_after_days cannot be less than 0. Value = %s' % daily, 'status_exception')
    if daily > retention:
        raise bad_request('The value of daily_model_snapshot_retention_after_days [%s] cannot be greater than '
                          'model_snapshot_retention_days [%s]' % (daily, retention), 'status_exception')
    config = {'job_id': job_id, 'job_type': 'anomaly_detector', 'job_version': req.pers.number}
    for key in ('groups', 'description'):
        if body.get(key):
            config[key] = body[key]
    for group in groups:
        if group in cluster.ml_jobs:
            raise ml_config.unique_names_error(group)
    config['create_time'] = now_ms(cluster)
    ml_config.fill_categorization_analyzer(req.pers, analysis)
    config['analysis_config'] = analysis
    config['analysis_limits'] = limits
    config['data_description'] = data_description
    for key in ('custom_settings', 'background_persist_interval', 'renormalization_window_days', 'results_retention_days'):
        if key in body:
            config[key] = body[key]
    if body.get('model_plot_config') is not None:
        config['model_plot_config'] = ml_config.model_plot_config(req.pers, body['model_plot_config'])
    config['model_snapshot_retention_days'] = retention
    # Fields a version does not know are not shown either (the strict parser refuses them on PUT):
    # daily_model_snapshot_retention_after_days is 7.8+ and allow_lazy_open 7.1+ (Job.java at those branches).
    if req.pers.at_least(7, 8):
        config['daily_model_snapshot_retention_after_days'] = daily
    config['results_index_name'] = results_index_name(body.get('results_index_name'))
    if req.pers.at_least(7, 1):
        config['allow_lazy_open'] = bool(body.get('allow_lazy_open', False))
    ml_config.warn_ignore_throttled(req)
    df_body = None
    if 'datafeed_config' in body:
        df_body = dict(body['datafeed_config'])
        df_id = df_body.pop('datafeed_id', job_id)
        df_body['job_id'] = job_id
        df_config = _datafeed_config(req, df_id, df_body, prefix=('datafeed_config',))
    cluster.ml_jobs[job_id] = {'config': config, 'task': None, 'deleting': False}
    response = dict(config)
    if df_body is not None:
        response['datafeed_config'] = _store_datafeed(req, df_config)
    return response


def results_index_name(given):
    """Job.Builder.build (x-pack core ml/job/config/Job.java, 6.x-9.x): no name → `shared`; any other name is
    stored with the prefix `custom-` (once: a name already starting with it is kept), which GET then returns."""
    if not given or given == 'shared':
        return 'shared'
    return given if given.startswith('custom-') else 'custom-' + given


def _job_view(req, job_id, exclude_generated):
    job = req.cluster.ml_jobs[job_id]
    config = dict(job['config'])
    if job.get('finished_time') is not None:
        config['finished_time'] = job['finished_time']
    df = datafeed_for_job(req.cluster, job_id) if req.pers.job_has_datafeed_config else None
    # Job.doXContentBody: 7.x writes datafeed_config only without exclude_generated (a TODO moved it out in 8.0).
    if df is not None and not (exclude_generated and req.pers.exclude_generated_drops_datafeed_config):
        config['datafeed_config'] = _datafeed_view(req, df['config'], exclude_generated)
    if job['deleting']:
        config['deleting'] = True
        if req.pers.job_blocked and job.get('delete_task'):
            config['blocked'] = {'reason': 'delete', 'task_id': job['delete_task']}
    if exclude_generated:
        for key in ('create_time', 'finished_time', 'job_version', 'model_snapshot_id', 'job_type', 'deleting'):
            config.pop(key, None)
        if isinstance(config.get('custom_settings'), dict):
            config['custom_settings'] = {k: v for k, v in config['custom_settings'].items() if k != 'created_by'}
    return config


def get_jobs(req):
    allow = allow_no_match_value(req, 'allow_no_jobs')
    ids = expand_jobs(req, req.path_params.get('job_id'), allow)
    exclude = req.bool_param('exclude_generated')
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
            stats['open_time'] = '%ds' % int(cluster.clock.monotonic() - task['opened_at'])
    stats['timing_stats'] = {'job_id': job_id, 'bucket_count': 0, 'total_bucket_processing_time_ms': 0.0}
    return stats


def job_stats(req):
    allow = allow_no_match_value(req, 'allow_no_jobs')
    ids = expand_jobs(req, req.path_params.get('job_id'), allow)
    # Jobs being deleted are left out of stats (GH #34645).
    jobs = [_job_stats(req, job_id) for job_id in ids if not req.cluster.ml_jobs[job_id]['deleting']]
    return {'count': len(jobs), 'jobs': jobs}


# ------------------------------------------------------------------ update job

# Fields JobUpdate.mergeWithJob copies onto the job as given (Job.Builder setters).
_JOB_UPDATE_PLAIN = ('description', 'renormalization_window_days', 'background_persist_interval', 'results_retention_days',
                     'system_annotations_retention_days', 'model_snapshot_retention_days',
                     'daily_model_snapshot_retention_after_days', 'custom_settings', 'allow_lazy_open')


def update_job(req):
    """POST _ml/anomaly_detectors/<id>/_update (6.8: _xpack/ml). Order as ES runs it:
    RestPostJobUpdateAction parses the body with JobUpdate.EXTERNAL_PARSER (parsing.JOB_UPDATE; a body job_id is
    overridden by the path); then the action filters (upgrade mode 7.8+, license); TransportUpdateJobAction
    .masterOperation refuses `_all` ("Job Id _all cannot be for update", IllegalArgumentException); then JobManager.updateJob
    (x-pack ml/job/JobManager.java, 6.8 and 7.x-9.x): new groups must not be job ids (JOB_AND_GROUP_NAMES_MUST_BE_UNIQUE),
    the job must exist (404), validateAnalysisLimitsUpdate refuses analysis_limits.model_memory_limit while the job is
    OPENED ("Cannot update analysis_limits while the job is open") and below the model's current size (model_size_stats;
    always 0 bytes here, so a decrease passes, as jobs_crud.yml "Test update job" shows for a job without data); then
    JobUpdate.mergeWithJob and Job.Builder.build validate and normalise the result."""
    parsing.JOB_UPDATE.check(req, req.body or {})
    job_id = req.path_params['job_id']
    check_upgrade_mode(req, 'update_job')
    cluster = req.cluster
    cluster.check_ml_license()
    if job_id == '_all':
        raise bad_request('Job Id _all cannot be for update')
    update = dict(req.body or {})
    for group in update.get('groups') or []:
        if group in cluster.ml_jobs:
            raise ml_config.unique_names_error(group)
    job = cluster.ml_jobs.get(job_id)
    if job is None:
        raise job_not_found(job_id)
    limits = update.get('analysis_limits')
    if limits is not None and limits.get('model_memory_limit') is not None and job_state(job) == 'opened':
        raise ml_config.status_400('Cannot update analysis_limits while the job is open')
    job['config'] = _merge_job_update(req, job['config'], update)
    view = _job_view(req, job_id, False)
    view.pop('datafeed_config', None)  # PutJobAction.Response(updatedJob): the config document, without the datafeed
    return view


def _merge_job_update(req, source, update):
    """JobUpdate.mergeWithJob (x-pack core ml/job/config/JobUpdate.java, 6.x and 7.15+ copies) then Job.Builder.build."""
    pers = req.pers
    config = dict(source)
    analysis = dict(config['analysis_config'])
    job_id = config['job_id']
    if update.get('groups') is not None:
        ml_config.validate_groups(job_id, update['groups'])
        config['groups'] = list(update['groups'])
    detectors = [dict(d) for d in analysis['detectors']]
    for det_update in update.get('detectors') or []:
        index = det_update.get('detector_index', 0)
        if index >= len(detectors):
            raise ml_config.status_400('Supplied detector_index [%d] is >= the number of detectors [%d]' % (index, len(detectors)))
        if det_update.get('description') is not None:
            detectors[index]['detector_description'] = det_update['description']
        if det_update.get('custom_rules') is not None:
            detectors[index]['custom_rules'] = ml_config.detection_rules(det_update['custom_rules'])
    analysis['detectors'] = detectors
    if update.get('model_plot_config') is not None:
        config['model_plot_config'] = ml_config.model_plot_config(pers, update['model_plot_config'])
    if update.get('analysis_limits') is not None:
        # AnalysisLimits.validateAndSetDefaults on the update's own values (an omitted field takes its default).
        config['analysis_limits'] = ml_config.analysis_limits(req.cluster, update['analysis_limits'])
    for key in _JOB_UPDATE_PLAIN:
        if update.get(key) is not None:
            config[key] = update[key]
    if update.get('categorization_filters') is not None:
        analysis['categorization_filters'] = list(update['categorization_filters'])
    per_partition = update.get('per_partition_categorization')
    if per_partition is not None:
        current = analysis.get('per_partition_categorization') or {'enabled': False, 'stop_on_warn': False}
        if bool(per_partition.get('enabled', False)) != bool(current.get('enabled')):
            raise ml_config.status_400('analysis_config.per_partition_categorization.enabled cannot be updated')
        analysis['per_partition_categorization'] = {'enabled': bool(per_partition.get('enabled', False)),
                                                    'stop_on_warn': bool(per_partition.get('stop_on_warn', False))}
    if update.get('model_prune_window') is not None:
        analysis['model_prune_window'] = update['model_prune_window']
    # The rebuilt AnalysisConfig runs AnalysisConfig.Builder.build's checks again (ES answers them unwrapped here:
    # the merge runs in the transport action, not in a parser).
    ml_config.validate_model_prune_window(pers, analysis)
    ml_config.verify_categorization(analysis)
    config['analysis_config'] = analysis
    _validate_snapshot_retention(pers, config)
    return config


def _validate_snapshot_retention(pers, config):
    """Job.Builder.validateModelSnapshotRetentionSettings (7.8+; the same texts PUT answers)."""
    if not pers.at_least(7, 8):
        return
    retention = config.get('model_snapshot_retention_days', pers.default_model_snapshot_retention_days)
    daily = config.get('daily_model_snapshot_retention_after_days', 1)
    if daily < 0:
        raise bad_request('daily_model_snapshot_retention_after_days cannot be less than 0. Value = %s' % daily, 'status_exception')
    if daily > retention:
        raise bad_request('The value of daily_model_snapshot_retention_after_days [%s] cannot be greater than '
                          'model_snapshot_retention_days [%s]' % (daily, retention), 'status_exception')


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
    ml_calendars.check_rule_filters_on_open(req, job['config'])
    if job['task'] is not None:
        raise conflict('Cannot open job [%s] because it has already been opened' % job_id)
    if cluster.persistent_settings.get('cluster.persistent_tasks.allocation.enable') == 'none':
        raise too_many('Cannot open jobs because persistent task assignment is disabled by the '
                       '[cluster.persistent_tasks.allocation.enable] setting')
    mml = ml_config.parse_bytes(job['config']['analysis_limits']['model_memory_limit']) >> 20
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
            task['opened_at'] = cluster.clock.monotonic()

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
        job['finished_time'] = now_ms(cluster)
        return
    task['state'] = 'closing'

    def closed(_when):
        if job['task'] is task:
            job['task'] = None
            job['finished_time'] = now_ms(cluster)

    task['handle'] = cluster.schedule(cluster.timings.close_seconds, closed)


def close_job(req):
    if req.has_body:
        parsing.CLOSE_JOB.check(req, req.body or {})
    check_upgrade_mode(req, 'close')
    cluster = req.cluster
    pers = req.pers
    allow = allow_no_match_value(req, 'allow_no_jobs')
    force = flag(req, 'force')
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
            job['finished_time'] = now_ms(cluster)
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

def _check_delete(req, job_id, force):
    """TransportDeleteJobAction's refusals, before anything is removed."""
    cluster = req.cluster
    job = cluster.ml_jobs.get(job_id)
    if job is None:
        raise job_not_found(job_id)
    df = datafeed_for_job(cluster, job_id)
    if df is not None and not req.pers.delete_job_removes_datafeed:
        raise conflict('Cannot delete job [%s] because datafeed [%s] refers to it' % (job_id, df['config']['datafeed_id']))
    if not force and job['task'] is not None:
        raise conflict('Cannot delete job [%s] because the job is %s' % (job_id, job_state(job)))
    if df is not None and df['task'] is not None and not force:
        # 7.15+: the job's datafeed is deleted first, with the same force (§2.8).
        cause = conflict('Cannot delete datafeed [%s] while its status is %s' % (df['config']['datafeed_id'], datafeed_state(df)))
        raise EsError(409, 'status_exception', 'failed to delete job [%s] as its datafeed [%s] could not be deleted'
                      % (job_id, df['config']['datafeed_id']), caused_by=cause)
    return job, df


def _delete_job_now(req, job_id, force):
    cluster = req.cluster
    job, df = _check_delete(req, job_id, force)
    if df is not None:
        _stop_datafeed_task(cluster, df, True)
        del cluster.datafeeds[df['config']['datafeed_id']]
    if job['task'] is not None and job['task'].get('handle'):
        job['task']['handle'].cancel()
    job['task'] = None
    del cluster.ml_jobs[job_id]
    # JobResultsProvider.removeJobFromCalendars is a step of every job deletion (6.8-9.1).
    ml_calendars.remove_job(cluster, job_id)


def delete_job(req):
    check_upgrade_mode(req, 'delete_job')
    job_id = req.path_params['job_id']
    force = req.bool_param('force')
    if not req.bool_param('wait_for_completion', True):
        return _delete_job_async(req, job_id, force)
    _delete_job_now(req, job_id, force)
    return {'acknowledged': True}


def _delete_job_async(req, job_id, force):
    """RestDeleteJobAction with wait_for_completion=false: the action runs locally as a task and the response is
    `{"task": "<node id>:<task id>"}` at once; TransportDeleteJobAction marks the job as deleting (7.14+ also
    `blocked: {reason: delete, task_id}`, Job.Blocked) and removes it `--delete-seconds` later; the outcome is stored
    as the task result (GET _tasks/<id>, TransportGetTaskAction)."""
    cluster = req.cluster
    full_id = '%s:%d' % (NODE_ID, cluster.next_task_id())
    task = {'action': ACTIONS['delete_job'], 'description': 'delete-job-%s' % job_id, 'start_ms': now_ms(cluster),
            'started': cluster.clock.monotonic(), 'completed': False}
    cluster.tasks[full_id] = task

    def finish(response=None, error=None):
        task['completed'] = True
        task['running_nanos'] = int((cluster.clock.monotonic() - task['started']) * 1e9)
        if error is not None:
            task['error'] = error.body()['error']
        else:
            task['response'] = response

    try:
        job, _df = _check_delete(req, job_id, force)
    except EsError as err:
        finish(error=err)
        return {'task': full_id}
    job['deleting'] = True
    job['delete_task'] = full_id

    def run(_when):
        if cluster.ml_jobs.get(job_id) is not job:
            finish({'acknowledged': True})
            return
        _delete_job_now(req, job_id, True)
        finish({'acknowledged': True})

    cluster.schedule(cluster.timings.delete_seconds, run)
    return {'task': full_id}


# ------------------------------------------------------------------ datafeeds

#: The query_delay and chunking_config the emulator stores when a PUT leaves them out. Elasticsearch computes them
#: (DatafeedConfig.Builder: a query_delay of 60-120 s seeded by the job id, defaultRandomQueryDelay; chunking auto, or
#: manual for aggregations, defaultChunkingConfig); the emulator's fixed stand-ins play that part.
DEFAULT_QUERY_DELAY = '60000ms'
DEFAULT_CHUNKING_CONFIG = {'mode': 'auto'}


def _datafeed_view(req, config, exclude_generated=False):
    """DatafeedConfig.toXContent with exclude_generated (7.11+, elastic/elasticsearch#63899; datafeeds_crud.yml "Test
    get datafeed for export") leaves out what ES generated: authorization, and query_delay, chunking_config and
    indices_options only while they are the defaults ES computed ("Don't include random defaults or unnecessary
    defaults in export", DatafeedConfig.java 8.x): values a PUT or _update set stay."""
    view = dict(config)
    if exclude_generated:
        view.pop('authorization', None)
        if view.get('query_delay') == DEFAULT_QUERY_DELAY:
            view.pop('query_delay')
        if view.get('chunking_config') == DEFAULT_CHUNKING_CONFIG:
            view.pop('chunking_config')
        if 'indices_options' in view and view['indices_options'] == ml_config.default_indices_options(req):
            view.pop('indices_options')
    return view


def _datafeed_config(req, df_id, body, prefix=()):
    """Validate a datafeed body and build the stored config (not stored yet)."""
    cluster = req.cluster
    query = body.get('query')
    if query is not None:
        try:
            ml_config.validate_query(req, query, prefix)
        except EsError as err:
            if prefix:
                raise parsing.wrap_built(req, 'job_details', prefix[0], err, value=True) from None
            raise
    _validate_id(df_id, 'datafeed_id')
    if df_id in cluster.datafeeds:
        raise EsError(400, 'resource_already_exists_exception', 'A datafeed with id [%s] already exists' % df_id)
    job_id = body.get('job_id')
    if not job_id:
        raise EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: [job_id] must be set;')
    if job_id not in cluster.ml_jobs and not prefix:
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
    config = {'datafeed_id': df_id, 'job_id': job_id, 'query_delay': body.get('query_delay', DEFAULT_QUERY_DELAY),
              'indices': indices, 'query': query if query is not None else {'match_all': {'boost': 1.0}},
              'scroll_size': body.get('scroll_size', 1000),
              'chunking_config': body.get('chunking_config', dict(DEFAULT_CHUNKING_CONFIG)),
              'delayed_data_check_config': body.get('delayed_data_check_config', {'enabled': True})}
    if 'frequency' in body:
        config['frequency'] = body['frequency']
    # DatafeedConfig declares `aggs` as a synonym and always writes `aggregations`.
    aggregations = body.get('aggregations', body.get('aggs'))
    if aggregations is not None:
        config['aggregations'] = aggregations
    for key in ('script_fields', 'runtime_mappings'):
        if key in body:
            config[key] = body[key]
    # DatafeedConfig.Builder.setMaxEmptySearches: -1 means "not set" and is not written.
    if body.get('max_empty_searches', -1) != -1:
        config['max_empty_searches'] = body['max_empty_searches']
    if req.pers.datafeed_indices_options:
        config['indices_options'] = ml_config.indices_options(req, body.get('indices_options'))
    if req.security is not None and req.principal is not None and req.pers.datafeed_authorization:
        config['authorization'] = req.security.datafeed_authorization(req.principal)
    return config


def _store_datafeed(req, config):
    req.cluster.datafeeds[config['datafeed_id']] = {'config': config, 'task': None}
    return _datafeed_view(req, config)


def _create_datafeed(req, df_id, body):
    return _store_datafeed(req, _datafeed_config(req, df_id, body))


def put_datafeed(req):
    if req.pers.datafeed_indices_options:
        ml_config.indices_options(req, None)      # RestPutDatafeedAction: IndicesOptions.fromRequest before the body
    parsing.DATAFEED.check(req, req.body or {})   # REST parsing comes before the action filters
    check_upgrade_mode(req, 'put_datafeed')
    req.cluster.check_ml_license()
    body = dict(req.body or {})
    df_id = req.path_params['datafeed_id']
    if 'datafeed_id' in body and body['datafeed_id'] != df_id:
        raise bad_request("Inconsistent datafeed_id; '%s' specified in the body differs from '%s' specified as a URL argument"
                          % (body['datafeed_id'], df_id))
    return _create_datafeed(req, df_id, body)


def update_datafeed(req):
    """POST _ml/datafeeds/<id>/_update (6.8: _xpack/ml). RestUpdateDatafeedAction parses DatafeedUpdate.PARSER
    (parsing.DATAFEED_UPDATE; the query through QueryProvider, so a bad query is wrapped in `[datafeed_update] failed to
    parse field [query]`) and, 7.7+, indices-options parameters (which replace the body's indices_options); then the
    action filters;
    then TransportUpdateDatafeedAction (6.8, 7.x, 8.x/9.x): any datafeed task (starting, started, stopping) refuses with
    409 DATAFEED_CANNOT_UPDATE_IN_CURRENT_STATE "Cannot update datafeed [<id>] while its status is started" (the state
    is always the constant STARTED); updates happen only while stopped, in every version (elastic/elasticsearch PR
    92227 corrected the docs that implied otherwise); then DatafeedUpdate.apply."""
    if req.pers.datafeed_indices_options and any(p in req.params for p in ml_config.INDICES_OPTION_PARAMS):
        ml_config.indices_options(req, None)      # IndicesOptions.fromRequest runs before the body is parsed
    parsing.DATAFEED_UPDATE.check(req, req.body or {})
    update = dict(req.body or {})
    if update.get('query') is not None:
        ml_config.validate_query(req, update['query'], parser_name='datafeed_update')
    check_upgrade_mode(req, 'update_datafeed')
    cluster = req.cluster
    cluster.check_ml_license()
    df_id = req.path_params['datafeed_id']
    df = cluster.datafeeds.get(df_id)
    if df is not None and df['task'] is not None:
        raise conflict('Cannot update datafeed [%s] while its status is started' % df_id)
    if df is None:
        raise datafeed_not_found(df_id)
    config = dict(df['config'])
    new_job = update.get('job_id')
    if new_job is not None and new_job != config['job_id']:
        if req.pers.at_least(7, 4):
            # DatafeedUpdate.apply, ERROR_MESSAGE_ON_JOB_ID_UPDATE (elastic/elasticsearch PR 44752, 7.4): the same
            # job_id may be sent back, another one is refused.
            raise ml_config.status_400("Datafeed's job_id cannot be changed.")
        # 6.8 TransportUpdateDatafeedAction.checkJobDoesNotHaveADifferentDatafeed, then validateDatafeedJob (job exists).
        other = datafeed_for_job(cluster, new_job)
        if other is not None and other['config']['datafeed_id'] != df_id:
            raise conflict('A datafeed [%s] already exists for job [%s]' % (other['config']['datafeed_id'], new_job))
        if new_job not in cluster.ml_jobs:
            raise job_not_found(new_job)
        config['job_id'] = new_job
    for key in ('query_delay', 'frequency', 'query', 'script_fields', 'scroll_size', 'chunking_config',
                'delayed_data_check_config', 'runtime_mappings'):
        if update.get(key) is not None:
            config[key] = update[key]
    indices = update.get('indices', update.get('indexes'))
    if indices is not None:
        config['indices'] = [indices] if isinstance(indices, str) else list(indices)
    # `aggs` is a synonym of `aggregations`; the stored config always says `aggregations` (DatafeedConfig.toXContent).
    aggregations = update.get('aggregations', update.get('aggs'))
    if aggregations is not None:
        config['aggregations'] = aggregations
    if update.get('max_empty_searches') is not None:
        # DatafeedConfig.Builder.setMaxEmptySearches: -1 unsets it.
        if update['max_empty_searches'] == -1:
            config.pop('max_empty_searches', None)
        else:
            config['max_empty_searches'] = update['max_empty_searches']
    if req.pers.datafeed_indices_options:
        # RestUpdateDatafeedAction: when any indices-options parameter is given, IndicesOptions.fromRequest(request,
        # SearchRequest.DEFAULT_INDICES_OPTIONS) is set on the update after the body is parsed, so it replaces the
        # body's indices_options whole (parameters over the defaults, not over the body). Otherwise a body object is
        # IndicesOptions.fromMap(body, DEFAULT_INDICES_OPTIONS) (DatafeedUpdate.PARSER): omitted keys take the defaults.
        if any(p in req.params for p in ml_config.INDICES_OPTION_PARAMS):
            config['indices_options'] = ml_config.indices_options(req, None)
        elif update.get('indices_options') is not None:
            config['indices_options'] = ml_config.indices_options(req, update['indices_options'])
    if req.security is not None and req.principal is not None and req.pers.datafeed_authorization:
        # DatafeedUpdate.apply: the update request's security headers replace the stored ones.
        config['authorization'] = req.security.datafeed_authorization(req.principal)
    df['config'] = config
    return _datafeed_view(req, config)


def expand_datafeeds(req, expr, allow):
    return expand_ids(expr, set(req.cluster.datafeeds), {}, allow, datafeed_not_found)


def get_datafeeds(req):
    allow = allow_no_match_value(req, 'allow_no_datafeeds')
    ids = expand_datafeeds(req, req.path_params.get('datafeed_id'), allow)
    exclude = req.bool_param('exclude_generated')
    feeds = [_datafeed_view(req, req.cluster.datafeeds[i]['config'], exclude) for i in ids]
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


_DATE_MATH_RE = re.compile(r'([+-])(\d+)([yMwdhHms])|/([yMwdhHms])')


def _date_math(anchor_ms, math):
    """JavaDateMathParser.parseMath: ``+N<unit>`` / ``-N<unit>`` / ``/<unit>`` (round down) applied left to right, units
    y M w d h H m s, in UTC; None when ``math`` is not date math."""
    import calendar  # pylint: disable=import-outside-toplevel
    from datetime import datetime, timedelta, timezone  # pylint: disable=import-outside-toplevel
    when = datetime.fromtimestamp(anchor_ms / 1000.0, tz=timezone.utc)
    pos = 0
    while pos < len(math):
        m = _DATE_MATH_RE.match(math, pos)
        if not m:
            return None
        pos = m.end()
        if m.group(4):
            unit = m.group(4)
            fields = {'y': dict(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
                      'M': dict(day=1, hour=0, minute=0, second=0, microsecond=0),
                      'd': dict(hour=0, minute=0, second=0, microsecond=0),
                      'h': dict(minute=0, second=0, microsecond=0), 'H': dict(minute=0, second=0, microsecond=0),
                      'm': dict(second=0, microsecond=0), 's': dict(microsecond=0)}
            if unit == 'w':
                when = (when - timedelta(days=when.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
            else:
                when = when.replace(**fields[unit])
            continue
        amount = int(m.group(2)) * (1 if m.group(1) == '+' else -1)
        unit = m.group(3)
        if unit in ('y', 'M'):
            months = when.month - 1 + amount * (12 if unit == 'y' else 1)
            year, month = when.year + months // 12, months % 12 + 1
            when = when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]))
        else:
            seconds = {'w': 604800, 'd': 86400, 'h': 3600, 'H': 3600, 'm': 60, 's': 1}[unit]
            when = when + timedelta(seconds=amount * seconds)
    return int(when.timestamp() * 1000)


def _parse_date(cluster, value, name):
    """StartDatafeedAction.DatafeedParams.parseDateOrThrow (6.8-9.1): a date (strict_date_optional_time||epoch_millis)
    or date math (``now-1d``, ``now/d``, ``2026-01-01||+1M``) through DateMathParser.parse(date, now); anything else is
    an ElasticsearchParseException (400 ``parse_exception``) with Messages.REST_INVALID_DATETIME_PARAMS. Source:
    x-pack/plugin/core/src/main/java/org/elasticsearch/xpack/core/ml/action/StartDatafeedAction.java (main/8.x)."""
    text = str(value)
    if text.startswith('now'):
        anchor, math = now_ms(cluster), text[3:]
    elif '||' in text:
        anchor_text, math = text.split('||', 1)
        anchor = _parse_plain_date(anchor_text)
    else:
        anchor, math = _parse_plain_date(text), ''
    result = _date_math(anchor, math) if anchor is not None else None
    if result is None:
        raise EsError(400, 'parse_exception', "Query param [%s] with value [%s] cannot be parsed as a date or "
                      "converted to a number (epoch)." % (name, text))
    return result


def _parse_plain_date(text):
    if re.match(r'^-?\d+$', text):
        return int(text)
    try:
        from datetime import datetime  # pylint: disable=import-outside-toplevel
        return int(datetime.fromisoformat(text.replace('Z', '+00:00')).timestamp() * 1000)
    except ValueError:
        return None


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
    start = _parse_date(cluster, start_value, 'start') if start_value is not None else 0
    end = _parse_date(cluster, end_value, 'end') if end_value is not None else None
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
    _check_field_mappings(cluster, df_id, df['config'], job['config'])
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


def _job_input_fields(job_config):
    """Job.allInputFields: the analysis fields and the time field, sorted (a TreeSet), without `mlcategory`."""
    analysis = job_config.get('analysis_config') or {}
    fields = set(analysis.get('influencers') or [])
    for key in ('categorization_field_name', 'summary_count_field_name'):
        fields.add(analysis.get(key) or '')
    for det in analysis.get('detectors') or []:
        for key in ('field_name', 'by_field_name', 'over_field_name', 'partition_field_name'):
            fields.add(det.get(key) or '')
    fields.add((job_config.get('data_description') or {}).get('time_field') or '')
    fields.discard('')
    fields.discard('mlcategory')
    return sorted(fields)


def _check_field_mappings(cluster, df_id, df_config, job_config):
    """Datafeed start builds its data extractor from field caps over the datafeed's indices: every job field must
    be mapped (or be a script field / runtime field), the time field aggregatable. ScrollDataExtractorFactory.create and
    TimeBasedExtractedFields.build / ExtractedFields.ExtractionMethodDetector.isAggregatable (7.17, 8.19, 9.1; 6.8
    ExtractedFields.build has the same "has no mappings" text); an IllegalArgumentException there becomes
    badRequestException("[<datafeed_id>] " + message). Datafeeds with aggregations use another extractor (skipped)."""
    if df_config.get('aggregations') or df_config.get('aggs'):
        return
    caps = mappings.field_caps(cluster, mappings.resolve(cluster, df_config.get('indices') or []))
    computed = set(df_config.get('script_fields') or {}) | set(df_config.get('runtime_mappings') or {})
    time_field = (job_config.get('data_description') or {}).get('time_field') or 'time'
    ordered = [time_field] + [f for f in _job_input_fields(job_config) if f != time_field]
    for field in ordered:
        if field in computed:
            continue
        found = caps.get(field)
        if not found:
            raise bad_request('[%s] cannot retrieve field [%s] because it has no mappings' % (df_id, field), 'status_exception')
        if field == time_field and not all(found.values()):
            raise bad_request('[%s] cannot retrieve time field [%s] because it is not aggregatable' % (df_id, field),
                              'status_exception')


def stop_datafeed(req):
    if req.has_body:
        parsing.STOP_DATAFEED.check(req, req.body or {})
    check_upgrade_mode(req, 'stop_datafeed')
    cluster = req.cluster
    allow = allow_no_match_value(req, 'allow_no_datafeeds')
    force = flag(req, 'force')
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
    force = req.bool_param('force')
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
    max_text, max_bytes = ml_config.max_model_memory_limit(req.cluster)
    default_mml = '1gb'
    if max_bytes is not None and max_bytes < (ml_config.DEFAULT_MODEL_MEMORY_MB << 20):
        default_mml = max_text
    # TransportMlInfoAction.anomalyDetectorsDefaults per version (see the gates in versions.py): 7.14+ the standard
    # analyzer (buildStandardCategorizationAnalyzer), 7.6-7.13 buildDefaultCategorizationAnalyzer (ml_classic and the
    # date words), before 7.6 none; daily_model_snapshot_retention_after_days from 7.8.
    detectors = {'model_memory_limit': default_mml, 'categorization_examples_limit': 4,
                 'model_snapshot_retention_days': pers.default_model_snapshot_retention_days}
    if pers.daily_snapshot_retention:
        detectors['daily_model_snapshot_retention_after_days'] = 1
    if pers.standard_categorization_analyzer:
        detectors['categorization_analyzer'] = ml_config.standard_categorization_analyzer(pers)
    elif pers.ml_info_categorization_analyzer:
        detectors['categorization_analyzer'] = {'tokenizer': 'ml_classic',
                                                'filter': [{'type': 'stop', 'stopwords': list(ml_config.DATE_WORDS)}]}
    info = {'defaults': {'anomaly_detectors': detectors, 'datafeeds': {'scroll_size': 1000}},
            'upgrade_mode': req.cluster.upgrade_mode,
            'native_code': {'version': pers.number, 'build_hash': pers.build_hash[:12]},
            'limits': {'max_single_ml_node_processors': 2, 'total_ml_processors': 2,
                       'effective_max_model_memory_limit': '%dmb' % MAX_JOB_MB, 'total_ml_memory': '%dmb' % MAX_JOB_MB}}
    if max_bytes is not None:
        # TransportMlInfoAction.limits(): the setting as given, and it caps the effective limit.
        info['limits']['max_model_memory_limit'] = max_text
        if max_bytes < (MAX_JOB_MB << 20):
            info['limits']['effective_max_model_memory_limit'] = max_text
    if pers.major < 7:
        del info['limits']['max_single_ml_node_processors']
        del info['limits']['total_ml_processors']
    return info


def set_upgrade_mode(req):
    """TransportSetUpgradeModeAction: one request at a time (isRunning); the same value again is a no-op; otherwise
    the flag is written to the cluster state at once, then the request waits while tasks are unassigned (enable) or
    reassigned (disable), here `--upgrade-mode-seconds`. A request arriving meanwhile gets 429."""
    cluster = req.cluster
    enabled = req.bool_param('enabled')
    timeout_text = req.params.get('timeout', '30s')
    timeout = parse_time_value(timeout_text)
    if cluster.upgrade_mode_changing:
        if req.pers.upgrade_mode_feature_message:
            cause = EsError(500, 'illegal_state_exception', 'Attempted to set [upgrade_mode] for feature name [machine_learning] '
                            'to [%s] from [%s] while previous request was processing.'
                            % (str(enabled).lower(), str(cluster.upgrade_mode).lower()))
            raise too_many('Cannot change [upgrade_mode] for feature name [machine_learning]. Previous request is still being '
                           'processed.', cause)
        cause = EsError(500, 'illegal_state_exception', 'Attempted to set [upgrade_mode] to [%s] from [%s] while previous request '
                        'was processing.' % (str(enabled).lower(), str(cluster.upgrade_mode).lower()))
        raise too_many('Cannot change [upgrade_mode]. Previous request is still being processed.', cause)
    if enabled == cluster.upgrade_mode:
        return {'acknowledged': True}
    cluster.upgrade_mode = enabled
    cluster.upgrade_mode_changing = True

    def done(_when):
        cluster.upgrade_mode_changing = False

    cluster.schedule(cluster.timings.upgrade_mode_seconds, done)
    if not cluster.wait_for(lambda: not cluster.upgrade_mode_changing, timeout):
        raise EsError(req.pers.timeout_status, 'elasticsearch_timeout_exception',
                      'java.util.concurrent.TimeoutException: Timed out after [%s]' % timeout_text)
    return {'acknowledged': True}


def fail_job(cluster, job_id, reason):
    job = cluster.ml_jobs.get(job_id)
    if job is None:
        raise job_not_found(job_id)
    task = job['task']
    if task is not None and task.get('handle'):
        task['handle'].cancel()
    job['task'] = {'state': 'failed', 'assigned': True, 'opened_at': cluster.clock.monotonic(), 'handle': None,
                   'explanation': '', 'reason': reason}
    return {'acknowledged': True, 'job_id': job_id, 'state': 'failed'}
