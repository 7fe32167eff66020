# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""es_fixtures: create and remove the integration suite's fixtures with one HTTP request per object.

Runs on the controller (an action plugin, no module process), so a fixture costs one request instead
of one Ansible task. Only public Elasticsearch APIs: the suite runs unchanged against the emulator and
against a real cluster (ES_URL). Connection settings come from the play's vars (es_url, es_username,
es_password, es_api_key, es_ca_cert, es_validate_certs; see setup_es/defaults) and the API bases from
the facts setup_es records (es_version, es_ml_base, es_rollup_base).

    - es_fixtures:
        cleanup: it-ml-job-state-         # first: stop and delete datafeeds, ML jobs, rollup jobs with this prefix
        ml_jobs: [{id, groups: [], open: false}, or just an id]
        model_memory_limit: 10mb          # analysis_limits of every job created by this call
        datafeeds: [{job_id, id: datafeed-<job_id>, index: <job_id>-source, start: false}]
        rollup_jobs: [{id, index_pattern: <id>-source, rollup_index: <id>-rollup, start: false, cron: YEARLY_CRON}]
        open_jobs: [ids]  start_datafeeds: [ids]  start_rollup_jobs: [ids]   # objects that already exist
    - es_fixtures:
        server: true                      # GET / once the cluster answers (setup_es, before the facts below exist)
        timeout: 60                       # no connection or a proxy's 502/503/504: again every second until then
      register: r                         # r.status, r.json
    - es_fixtures:
        request: {method: GET, path: /_ml/anomaly_detectors/x/_stats, body: ..., status: [200]}
      register: r                         # r.status, r.json (like ansible.builtin.uri's)
                                          # request.url: another cluster's base URL (es_url's credentials)

Order: cleanup; source indices (created with the mappings the jobs use: typed `_doc` on 6.x); ML jobs;
datafeeds; jobs opened together, then waited for; datafeeds started; rollup jobs created, started and
waited for. Every wait polls one read request per kind every 50 ms, for at most `timeout` seconds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase

# The fields every fixture job uses; datafeed start and rollup PUT check the source index maps them.
SOURCE_PROPERTIES = {'timestamp': {'type': 'date'}, 'value': {'type': 'double'}}
POLL_SECONDS = 0.05
# Once a year (Jan 1, 00:00 UTC): a started fixture rollup job stays `started` during a run, on a real
# cluster and on an emulator that fires crons at their real times alike.
YEARLY_CRON = '0 0 0 1 1 ?'


class EsFailure(Exception):
    pass


class Cluster:
    """Just enough HTTP for fixtures: JSON in and out, auth and TLS from the suite's settings."""

    def __init__(self, settings, request_timeout=60):
        self.url = settings['es_url'].rstrip('/')
        version = settings.get('es_version')  # None only for server: true, which reads it
        self.version = tuple(int(x) for x in str(version).split('-', maxsplit=1)[0].split('.')[:3]) if version else None
        self.ml = settings.get('es_ml_base')
        self.rollup = settings.get('es_rollup_base')
        self.kwargs = {'validate_certs': settings['es_validate_certs'], 'timeout': request_timeout,
                       'headers': {'Content-Type': 'application/json'}}
        if settings['es_username']:
            self.kwargs.update(url_username=settings['es_username'], url_password=settings['es_password'],
                               force_basic_auth=True)
        if settings['es_api_key']:
            self.kwargs['headers']['Authorization'] = 'ApiKey ' + settings['es_api_key']
        if settings['es_ca_cert']:
            self.kwargs['ca_path'] = settings['es_ca_cert']
        self.mutations = 0

    def call(self, method, path, body=None, ok=(200,)):
        data = None if body is None else json.dumps(body)
        try:
            resp = open_url(self.url + path, method=method, data=data, **self.kwargs)
            status, raw = resp.getcode(), resp.read()
        except HTTPError as e:
            status, raw = e.code, e.read()
        if method != 'GET' and method != 'HEAD':
            self.mutations += 1
        text = to_text(raw or b'', errors='surrogate_or_replace')
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        if status not in ok:
            raise EsFailure('%s %s: HTTP %s %s' % (method, path, status, text[:500]))
        return status, parsed

    def server_info(self, timeout):
        """GET / once it answers. No connection, or a proxy's 502/503/504 while the cluster starts, is tried again
        every second until timeout; any other answer is final (a 401 fails at once)."""
        deadline = time.time() + timeout
        while True:
            try:
                status, body = self.call('GET', '/', ok=(200, 502, 503, 504))
                if status == 200:
                    return status, body
                last = 'HTTP %s' % status
            except OSError as e:  # URLError, refused or reset connections, TLS failures
                last = str(e)
            if time.time() > deadline:
                raise EsFailure('GET %s/: no answer within %ss (last: %s)' % (self.url, timeout, last))
            time.sleep(1)

    def wait(self, what, predicate, timeout):
        deadline = time.time() + timeout
        while True:
            last = predicate()
            if last is True:
                return
            if time.time() > deadline:
                raise EsFailure('timed out after %ss waiting for %s (last seen: %s)' % (timeout, what, last))
            time.sleep(POLL_SECONDS)

    # ---------------------------------------------------------------- cleanup

    def cleanup(self, prefix, timeout):
        feeds = self.call('GET', self.ml + '/datafeeds')[1]
        feed_ids = sorted(set(f['datafeed_id'] for f in feeds['datafeeds']
                              if f['datafeed_id'].startswith(prefix) or f['job_id'].startswith(prefix)))
        for feed in feed_ids:
            self.call('POST', '%s/datafeeds/%s/_stop?force=true' % (self.ml, feed), ok=(200, 404))
            self.call('DELETE', '%s/datafeeds/%s?force=true' % (self.ml, feed), ok=(200, 404))
        jobs = self.call('GET', self.ml + '/anomaly_detectors')[1]
        for job in sorted(j['job_id'] for j in jobs['jobs'] if j['job_id'].startswith(prefix)):
            self.call('POST', '%s/anomaly_detectors/%s/_close?force=true' % (self.ml, job), ok=(200, 404))
            self.call('DELETE', '%s/anomaly_detectors/%s?force=true' % (self.ml, job), ok=(200, 404))
        rollups = self.call('GET', self.rollup + '/job/_all')[1]
        rollup_ids = sorted(r['config']['id'] for r in rollups['jobs'] if r['config']['id'].startswith(prefix))
        for rollup in rollup_ids:
            self.call('POST', '%s/job/%s/_stop?wait_for_completion=true&timeout=30s' % (self.rollup, rollup), ok=(200, 404))
        for rollup in rollup_ids:
            # A delete right after a stop can still meet the job `stopping` (HTTP 500 with task_failures).
            self.wait('rollup job %s to be deleted' % rollup, lambda r=rollup: self._delete_rollup(r), timeout)

    def _delete_rollup(self, rollup):
        status, body = self.call('DELETE', '%s/job/%s' % (self.rollup, rollup), ok=(200, 404, 500))
        return True if status in (200, 404) else body

    # ---------------------------------------------------------------- creation

    def source_index(self, name):
        mapping = {'properties': SOURCE_PROPERTIES}
        if self.version < (7, 0, 0):
            mapping = {'_doc': mapping}  # 6.x indices take a mapping type
        status, body = self.call('PUT', '/' + name, {'mappings': mapping}, ok=(200, 400))
        if status == 400 and 'resource_already_exists_exception' not in json.dumps(body):
            raise EsFailure('PUT /%s: HTTP 400 %s' % (name, json.dumps(body)[:500]))

    def rollup_usage(self):
        """From 8.15 a rollup PUT needs a cluster that already used rollups; an index carrying rollup
        metadata counts (Elasticsearch's own rollup YAML REST tests create one the same way)."""
        if self.version >= (8, 15, 0):
            self.call('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'dummy': {}}}}}, ok=(200, 400))

    def ml_job(self, job):
        body = {'groups': list(job.get('groups') or []),
                'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
                'data_description': {'time_field': 'timestamp'}}
        if job.get('model_memory_limit'):
            body['analysis_limits'] = {'model_memory_limit': job['model_memory_limit']}
        self.call('PUT', '%s/anomaly_detectors/%s' % (self.ml, job['id']), body)

    def datafeed(self, feed):
        self.call('PUT', '%s/datafeeds/%s' % (self.ml, feed['id']), {'job_id': feed['job_id'], 'indices': [feed['index']]})

    def rollup_job(self, rollup):
        interval = 'interval' if self.version < (7, 2, 0) else 'calendar_interval'  # 7.2 renamed it
        self.call('PUT', '%s/job/%s' % (self.rollup, rollup['id']), {
            'index_pattern': rollup['index_pattern'], 'rollup_index': rollup['rollup_index'],
            'cron': rollup.get('cron') or YEARLY_CRON, 'page_size': 100,
            'groups': {'date_histogram': {'field': 'timestamp', interval: '1h'}},
            'metrics': [{'field': 'value', 'metrics': ['min', 'max', 'sum']}]})

    def open_jobs(self, ids, timeout):
        for job in ids:
            self.call('POST', '%s/anomaly_detectors/%s/_open' % (self.ml, job))
        self.wait('ML jobs %s to be opened' % ', '.join(ids),
                  lambda: self._all_in('%s/anomaly_detectors/%s/_stats' % (self.ml, ','.join(ids)),
                                       'jobs', 'job_id', ids, ('opened',)), timeout)

    def start_datafeeds(self, ids, timeout):
        for feed in ids:
            self.call('POST', '%s/datafeeds/%s/_start' % (self.ml, feed))
        self.wait('datafeeds %s to be started' % ', '.join(ids),
                  lambda: self._all_in('%s/datafeeds/%s/_stats' % (self.ml, ','.join(ids)),
                                       'datafeeds', 'datafeed_id', ids, ('started',)), timeout)

    def start_rollups(self, ids, timeout):
        for rollup in ids:
            self.call('POST', '%s/job/%s/_start' % (self.rollup, rollup))

        def started():
            body = self.call('GET', self.rollup + '/job/_all')[1]
            states = dict((r['config']['id'], r['status']['job_state']) for r in body['jobs'])
            return True if all(states.get(r) in ('started', 'indexing') for r in ids) else states

        self.wait('rollup jobs %s to be started' % ', '.join(ids), started, timeout)

    def _all_in(self, path, key, id_key, ids, states):
        body = self.call('GET', path)[1]
        seen = dict((item[id_key], item['state']) for item in body[key])
        return True if all(seen.get(i) in states for i in ids) else seen


def _normalise(args):
    jobs = [dict(j) if isinstance(j, dict) else {'id': j} for j in args.get('ml_jobs') or []]
    for job in jobs:
        job.setdefault('model_memory_limit', args.get('model_memory_limit'))
    feeds = []
    for feed in args.get('datafeeds') or []:
        feed = dict(feed)
        feed.setdefault('id', 'datafeed-' + feed['job_id'])
        feed.setdefault('index', feed['job_id'] + '-source')
        feeds.append(feed)
    rollups = []
    for rollup in args.get('rollup_jobs') or []:
        rollup = dict(rollup)
        rollup.setdefault('index_pattern', rollup['id'] + '-source')
        rollup.setdefault('rollup_index', rollup['id'] + '-rollup')
        rollups.append(rollup)
    return jobs, feeds, rollups


def _truthy(value):
    return value is True or str(value).lower() in ('true', 'yes', '1')


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('cleanup', 'ml_jobs', 'datafeeds', 'rollup_jobs', 'open_jobs', 'start_datafeeds',
                             'start_rollup_jobs', 'model_memory_limit', 'request', 'server', 'timeout'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        server = _truthy(args.get('server', False))
        required = ('es_url',) if server else ('es_url', 'es_version', 'es_ml_base', 'es_rollup_base')
        missing = [n for n in required if n not in task_vars]
        if missing:
            raise AnsibleActionFail('es_fixtures needs the setup_es role to have run first (missing %s)' % ', '.join(missing))
        # Credentials default to none (setup_es's defaults; molecule scenarios set only es_url and the bases).
        optional = {'es_username': '', 'es_password': '', 'es_api_key': '', 'es_ca_cert': '', 'es_validate_certs': True}
        settings = dict((n, self._templar.template(task_vars.get(n, optional.get(n)))) for n in required + tuple(optional))
        settings['es_validate_certs'] = _truthy(settings['es_validate_certs'])
        timeout = float(args.get('timeout') or 60)
        cluster = Cluster(settings)
        try:
            if server:
                status, body = cluster.server_info(timeout)
                result.update(status=status, json=body, changed=False)
                return result
            if args.get('request'):
                req = args['request']
                if req.get('url'):
                    cluster.url = str(req['url']).rstrip('/')
                status, body = cluster.call(req.get('method', 'GET'), req['path'], req.get('body'),
                                            ok=tuple(int(s) for s in req.get('status') or [200]))
                result.update(status=status, json=body, changed=cluster.mutations > 0)
                return result
            self._fixtures(cluster, args, timeout)
        except EsFailure as e:
            raise AnsibleActionFail('es_fixtures: %s' % e)
        result.update(changed=cluster.mutations > 0, requests=cluster.mutations)
        return result

    @staticmethod
    def _fixtures(cluster, args, timeout):
        if args.get('cleanup'):
            cluster.cleanup(args['cleanup'], timeout)
        jobs, feeds, rollups = _normalise(args)
        indices = sorted(set([f['index'] for f in feeds] + [r['index_pattern'] for r in rollups]))
        for index in indices:
            cluster.source_index(index)
        for job in jobs:
            cluster.ml_job(job)
        for feed in feeds:
            cluster.datafeed(feed)
        opening = [j['id'] for j in jobs if _truthy(j.get('open', False))] + list(args.get('open_jobs') or [])
        if opening:
            cluster.open_jobs(opening, timeout)
        starting = [f['id'] for f in feeds if _truthy(f.get('start', False))] + list(args.get('start_datafeeds') or [])
        if starting:
            cluster.start_datafeeds(starting, timeout)
        if rollups:
            cluster.rollup_usage()
        for rollup in rollups:
            cluster.rollup_job(rollup)
        started = [r['id'] for r in rollups if _truthy(r.get('start', False))] + list(args.get('start_rollup_jobs') or [])
        if started:
            cluster.start_rollups(started, timeout)
