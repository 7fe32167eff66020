"""Emulator-only control API under /_emulator/ (never used by code that targets a real cluster)."""

import json
import re
import threading

from . import ml, rollup
from .errors import EsError

_FAULT_LOCK = threading.Lock()
_FAULT_KEYS = {'method', 'path_regex', 'status', 'times', 'delay_ms', 'drop_connection', 'body'}


# Requests Elasticsearch serves on POST that change nothing (search, field caps, a credential asking about its own
# privileges or identity): the request log marks every other non-GET/HEAD request `mutating`, so every suite counts
# mutations the same way.
_READ_ONLY_POST = re.compile(r'/_search$|/_field_caps$|/_?security/user/(?:[^/]+/)?_has_privileges$|/_?security/_authenticate$')


# GET calendars also answers POST with a body (RestGetCalendarsAction): a read.
_READ_ONLY_CALENDARS_POST = re.compile(r'^/_(?:xpack/)?ml/calendars(?:/[^/]+)?/?$')


def is_mutation(method, path):
    if method == 'POST' and _READ_ONLY_CALENDARS_POST.search(path):
        return False
    return method not in ('GET', 'HEAD') and not _READ_ONLY_POST.search(path)


def log(cluster, entry):
    with cluster.lock:
        cluster.request_log.append(entry)


def match_fault(cluster, method, path):
    with _FAULT_LOCK:
        for fault in list(cluster.faults):
            if fault.get('method') and fault['method'].upper() != method:
                continue
            if fault.get('path_regex') and not re.search(fault['path_regex'], path):
                continue
            if fault.get('times') is not None:
                fault['remaining'] -= 1
                if fault['remaining'] <= 0:
                    cluster.faults.remove(fault)
            fault['hits'] = fault.get('hits', 0) + 1
            return dict(fault)
    return None


def _fault_view(fault):
    return dict(fault.items())


def handle(app, method, path, raw):
    cluster = app.cluster
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return 400, {'error': 'control API body must be JSON'}
    try:
        with cluster.lock:
            cluster.tick()
            return _route(app, method, path, body)
    except EsError as err:
        return err.status, err.body()


def _route(app, method, path, body):
    cluster = app.cluster
    parts = [p for p in path.split('/') if p][1:]
    if parts == ['faults']:
        if method == 'GET':
            with _FAULT_LOCK:
                return 200, {'faults': [_fault_view(f) for f in cluster.faults]}
        if method == 'DELETE':
            with _FAULT_LOCK:
                cluster.faults.clear()
            return 200, {'acknowledged': True}
        if method == 'POST':
            unknown = set(body) - _FAULT_KEYS
            if unknown:
                return 400, {'error': 'unknown fault keys %s' % sorted(unknown)}
            if body.get('path_regex'):
                re.compile(body['path_regex'])
            fault = dict(body)
            if fault.get('times') is not None:
                fault['remaining'] = int(fault['times'])
            with _FAULT_LOCK:
                cluster.faults.append(fault)
            return 200, {'acknowledged': True, 'fault': _fault_view(fault)}
    if parts == ['requests']:
        if method == 'GET':
            return 200, {'requests': list(cluster.request_log)}
        if method == 'DELETE':
            cluster.request_log.clear()
            return 200, {'acknowledged': True}
    if parts == ['reset'] and method == 'POST':
        cluster.reset()
        return 200, {'acknowledged': True}
    if parts == ['license'] and method == 'POST':
        lic = dict(cluster.license)
        if 'status' in body:
            lic['status'] = body['status']
        if 'type' in body:
            lic['type'] = body['type']
        cluster.license = lic
        return 200, {'acknowledged': True, 'license': lic}
    if len(parts) == 3 and parts[0] == 'ml' and parts[2] == '_fail' and method == 'POST':
        return 200, ml.fail_job(cluster, parts[1], body.get('reason', 'emulated failure'))
    if len(parts) == 3 and parts[0] == 'rollup' and parts[2] == '_indexing' and method == 'POST':
        return 200, rollup.force_indexing(cluster, parts[1])
    if parts == ['state'] and method == 'GET':
        return 200, {'version': app.pers.number, 'upgrade_mode': cluster.upgrade_mode,
                     'ml_jobs': {k: ml.job_state(v) for k, v in cluster.ml_jobs.items()},
                     'datafeeds': {k: ml.datafeed_state(v) for k, v in cluster.datafeeds.items()},
                     'rollup_jobs': {k: v['state'] for k, v in cluster.rollup_jobs.items()},
                     'ml_calendars': {k: list(v['job_ids']) for k, v in cluster.ml_calendars.items()},
                     'ml_events': len(cluster.ml_events),
                     'ml_filters': {k: len(v['items']) for k, v in cluster.ml_filters.items()},
                     'indices': sorted(cluster.indices)}
    return 404, {'error': 'unknown control endpoint [%s %s]' % (method, path)}
