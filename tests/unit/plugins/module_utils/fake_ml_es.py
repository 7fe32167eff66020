# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-memory stand-in for ``ElasticsearchClient`` that answers the ML endpoints like ES would.

It follows es-behaviour.md: ``_xpack/ml`` before 7.0, ``allow_no_datafeeds``/``allow_no_jobs`` before
7.10 and ``allow_no_match`` after (an unknown query parameter is a 400, as in ES), id expressions
with exact ids that must exist, 409 on a second start, 429 while upgrade mode is on, and every
request recorded in ``calls`` so tests can assert what was (not) sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import OrderedDict

from ansible.module_utils.six.moves.urllib.parse import urlencode

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError, Response, parse_version

UPGRADE_EXPLANATION = 'persistent task cannot be assigned while upgrade mode is enabled.'
MUTATING = {
    ('POST', '_start'): 'cluster:admin/xpack/ml/datafeed/start',
    ('POST', '_stop'): 'cluster:admin/xpack/ml/datafeed/stop',
    ('DELETE', None): 'cluster:admin/xpack/ml/datafeeds/delete',
}


def simple_match(pattern, value):
    if pattern in ('_all', '*'):
        return True
    return re.match('^' + '.*'.join(re.escape(p) for p in pattern.split('*')) + '$', value) is not None


def check_request_line(method, path, params, error):
    """ES's http.max_initial_line_length (4kb): a longer request line is a 400 before any routing."""
    query = urlencode(sorted((k, v if not isinstance(v, bool) else str(v).lower()) for k, v in params.items()))
    line = '%s %s%s HTTP/1.1' % (method, path, '?' + query if query else '')
    if len(line) > 4096:
        raise error(method, path, 400, 'too_long_http_line_exception', 'An HTTP line is larger than 4096 bytes.')


def filter_jobs(jobs, spec):
    """ES's filter_path for plain ``jobs.<a>[.<b>]`` paths: only those keys are kept; {} when nothing is left."""
    paths = [p.split('.')[1:] for p in spec.split(',')]
    assert all(p and spec.startswith('jobs.') for p in paths), spec
    kept = []
    for entry in jobs:
        slim = {}
        for path in paths:
            value = entry
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                target = slim
                for key in path[:-1]:
                    target = target.setdefault(key, {})
                target[path[-1]] = value
        if slim:
            kept.append(slim)
    return dict(jobs=kept) if kept else {}


class FakeMlEs(object):
    def __init__(self, version='8.19.3', upgrade_mode=False):
        self.version_string = version
        self.version = parse_version(version)
        self.jobs = OrderedDict()
        self.datafeeds = OrderedDict()
        self.upgrade_mode = upgrade_mode
        self.calls = []
        self.faults = []           # [(method, path regex, ElasticsearchError)] each used once, in order
        self.start_lands_in = 'started'
        self.busy_upgrade_answers = 0
        self.on_request = None     # callable(method, path) run before answering (to change state mid-run)

    # -- fixtures -----------------------------------------------------------------------------------

    @property
    def base(self):
        return '/_xpack/ml' if self.version < (7, 0, 0) else '/_ml'

    def add_job(self, job_id, state='closed', groups=(), description=None):
        self.jobs[job_id] = dict(state=state, groups=list(groups), description=description)
        self.jobs = OrderedDict(sorted(self.jobs.items()))
        return self

    def add_datafeed(self, datafeed_id, job_id, state='stopped'):
        if job_id not in self.jobs:
            self.add_job(job_id, state='opened' if state != 'stopped' else 'closed')
        self.datafeeds[datafeed_id] = dict(job_id=job_id, state=state)
        self.datafeeds = OrderedDict(sorted(self.datafeeds.items()))
        return self

    def fault(self, method, path_regex, status, error_type, reason):
        self.faults.append((method, re.compile(path_regex), self._error(method, path_regex, status, error_type, reason)))

    def mutations(self):
        return [(m, p) for (m, p, _params) in self.calls if m != 'GET']

    # -- the client interface -------------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, server_timeout=None, retry=True, ok_statuses=()):
        params = dict((k, v) for k, v in (params or {}).items() if v is not None)
        self.calls.append((method, path, params))
        if self.on_request:
            self.on_request(method, path)
        for index, (f_method, f_path, error) in enumerate(self.faults):
            if f_method == method and f_path.search(path):
                del self.faults[index]
                raise error
        assert body is None, 'ML lifecycle calls must not send a body (es-behaviour §1.6)'
        check_request_line(method, path, params, self._error)
        if not path.startswith(self.base + '/'):
            raise self._error(method, path, 405, None, 'Incorrect HTTP method for uri [%s]' % path)
        parts = path[len(self.base) + 1:].split('/')
        handler = self._route(method, parts)
        return Response(200, handler(method, path, parts, params), {})

    def _route(self, method, parts):
        key = (method, parts[0], parts[-1] if len(parts) > 2 else (None if len(parts) == 2 else ''))
        table = {
            ('GET', 'datafeeds', '_stats'): self._datafeed_stats,
            ('GET', 'datafeeds', None): self._get_datafeeds,
            ('POST', 'datafeeds', '_start'): self._start,
            ('POST', 'datafeeds', '_stop'): self._stop,
            ('DELETE', 'datafeeds', None): self._delete,
            ('GET', 'anomaly_detectors', '_stats'): self._job_stats,
            ('GET', 'anomaly_detectors', None): self._get_jobs,
            ('GET', 'info', ''): self._info,
            ('POST', 'set_upgrade_mode', ''): self._set_upgrade_mode,
        }
        if key not in table:
            raise AssertionError('unexpected request %s %r' % (method, parts))
        return table[key]

    # -- helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _error(method, path, status, error_type, reason):
        text = '%s: %s' % (error_type, reason) if error_type else reason
        return ElasticsearchError('%s %s failed: HTTP %d %s' % (method, path, status, text), status=status,
                                  error_type=error_type, reason=reason)

    def _check_params(self, method, path, params, allowed):
        for name in params:
            if name not in allowed:
                raise self._error(method, path, 400, 'illegal_argument_exception',
                                  'request [%s] contains unrecognized parameter: [%s]' % (path, name))

    def _allow_param(self, kind):
        if self.version >= (7, 10, 0):
            return 'allow_no_match'
        return 'allow_no_jobs' if kind == 'jobs' else 'allow_no_datafeeds'

    def _expand(self, method, path, expression, names, groups, allow, kind):
        tokens = [t for t in expression.split(',') if t]
        matched = []
        missing = []
        for token in tokens:
            hits = [n for n in names if simple_match(token, n)]
            if '*' not in token and token != '_all':
                hits += [job for group, members in groups.items() if group == token for job in members]
                if not hits:
                    missing.append(token)
            elif not hits and not allow:
                missing.append(token)
            matched.extend(h for h in hits if h not in matched)
        if missing:
            if kind == 'jobs':
                reason = "No known job with id '%s'" % ','.join(missing)
            else:
                reason = 'No datafeed with id [%s] exists' % ','.join(missing)
            raise self._error(method, path, 404, 'resource_not_found_exception', reason)
        return sorted(matched)

    def _allow(self, params, kind):
        value = params.get(self._allow_param(kind), True)
        return value in (True, 'true')

    def _blocked(self, method, path, action):
        # 7.8+ MlUpgradeModeActionFilter refuses every ML mutation; before, only opening a job is refused.
        if self.upgrade_mode and self.version >= (7, 8, 0):
            raise self._error(method, path, 429, 'status_exception',
                              'Cannot perform %s action while upgrade mode is enabled' % action)

    # -- datafeeds ----------------------------------------------------------------------------------

    def _datafeed_stats(self, method, path, parts, params):
        self._check_params(method, path, params, (self._allow_param('datafeeds'),))
        ids = self._expand(method, path, parts[1], list(self.datafeeds), {}, self._allow(params, 'datafeeds'), 'datafeeds')
        out = []
        for df_id in ids:
            entry = dict(datafeed_id=df_id, state=self.datafeeds[df_id]['state'])
            if entry['state'] != 'stopped':
                entry['assignment_explanation'] = UPGRADE_EXPLANATION if self.upgrade_mode else ''
            out.append(entry)
        return dict(count=len(out), datafeeds=out)

    def _get_datafeeds(self, method, path, parts, params):
        self._check_params(method, path, params, (self._allow_param('datafeeds'),))
        ids = self._expand(method, path, parts[1], list(self.datafeeds), {}, self._allow(params, 'datafeeds'), 'datafeeds')
        feeds = [dict(datafeed_id=i, job_id=self.datafeeds[i]['job_id'], indices=['idx']) for i in ids]
        return dict(count=len(feeds), datafeeds=feeds)

    def _start(self, method, path, parts, params):
        self._blocked(method, path, 'cluster:admin/xpack/ml/datafeed/start')
        self._check_params(method, path, params, ('timeout', 'start', 'end'))
        df_id = parts[1]
        assert ',' not in df_id and '*' not in df_id, 'start takes exactly one datafeed id'
        if df_id not in self.datafeeds:
            raise self._error(method, path, 404, 'resource_not_found_exception', 'No datafeed with id [%s] exists' % df_id)
        feed = self.datafeeds[df_id]
        job_state = self.jobs[feed['job_id']]['state']
        if job_state not in ('opened', 'opening'):
            raise self._error(method, path, 409, 'status_exception', 'cannot start datafeed [%s] because job [%s] is %s'
                              % (df_id, feed['job_id'], job_state))
        if feed['state'] != 'stopped':
            raise self._error(method, path, 409, 'status_exception',
                              'cannot start datafeed [%s] because it has already been started' % df_id)
        feed['state'] = self.start_lands_in
        body = dict(started=True)
        if self.version >= (7, 0, 0):
            body['node'] = 'node-1'
        return body

    def _stop(self, method, path, parts, params):
        self._blocked(method, path, 'cluster:admin/xpack/ml/datafeed/stop')
        self._check_params(method, path, params, ('timeout', 'force', self._allow_param('datafeeds')))
        ids = self._expand(method, path, parts[1], list(self.datafeeds), {}, self._allow(params, 'datafeeds'), 'datafeeds')
        for df_id in ids:
            self.datafeeds[df_id]['state'] = 'stopped'
        return dict(stopped=True)

    def _delete(self, method, path, parts, params):
        self._blocked(method, path, 'cluster:admin/xpack/ml/datafeeds/delete')
        self._check_params(method, path, params, ('force',))
        df_id = parts[1]
        if df_id not in self.datafeeds:
            raise self._error(method, path, 404, 'resource_not_found_exception', 'No datafeed with id [%s] exists' % df_id)
        state = self.datafeeds[df_id]['state']
        if state != 'stopped' and params.get('force') not in (True, 'true'):
            raise self._error(method, path, 409, 'status_exception',
                              'Cannot delete datafeed [%s] while its status is %s' % (df_id, state))
        del self.datafeeds[df_id]
        return dict(acknowledged=True)

    # -- jobs ---------------------------------------------------------------------------------------

    def _groups(self):
        groups = {}
        for job_id, job in self.jobs.items():
            for group in job['groups']:
                groups.setdefault(group, []).append(job_id)
        return groups

    def _job_stats(self, method, path, parts, params):
        self._check_params(method, path, params, (self._allow_param('jobs'), 'filter_path'))
        ids = self._expand(method, path, parts[1], list(self.jobs), self._groups(), self._allow(params, 'jobs'), 'jobs')
        out = []
        for job_id in ids:
            job = self.jobs[job_id]
            entry = dict(job_id=job_id, state=job['state'], data_counts=dict(job_id=job_id))
            if job['state'] != 'closed':
                if self.upgrade_mode:
                    entry['assignment_explanation'] = UPGRADE_EXPLANATION
                else:
                    entry['node'] = dict(id='n1', name='node-1', transport_address='127.0.0.1:9300')
                    entry['assignment_explanation'] = ''
                if job['state'] == 'opened':
                    entry['open_time'] = '13s'
            out.append(entry)
        if 'filter_path' in params:
            return filter_jobs(out, params['filter_path'])
        return dict(count=len(out), jobs=out)

    def _get_jobs(self, method, path, parts, params):
        self._check_params(method, path, params, (self._allow_param('jobs'),))
        ids = self._expand(method, path, parts[1], list(self.jobs), self._groups(), self._allow(params, 'jobs'), 'jobs')
        out = []
        for job_id in ids:
            job = dict(job_id=job_id, job_type='anomaly_detector', analysis_config=dict(bucket_span='15m'))
            if self.jobs[job_id]['groups']:
                job['groups'] = self.jobs[job_id]['groups']
            if self.jobs[job_id]['description'] is not None:
                job['description'] = self.jobs[job_id]['description']
            out.append(job)
        return dict(count=len(out), jobs=out)

    # -- cluster-wide -------------------------------------------------------------------------------

    def _info(self, method, path, parts, params):
        body = dict(defaults={}, limits={})
        if self.version >= (6, 7, 0):
            body['upgrade_mode'] = self.upgrade_mode
        return body

    def _set_upgrade_mode(self, method, path, parts, params):
        assert self.version >= (6, 7, 0), 'set_upgrade_mode does not exist before 6.7'
        self._check_params(method, path, params, ('enabled', 'timeout'))
        if self.busy_upgrade_answers:
            self.busy_upgrade_answers -= 1
            raise self._error(method, path, 429, 'status_exception',
                              'Cannot change [upgrade_mode]. Previous request is still being processed.')
        self.upgrade_mode = params['enabled'] in (True, 'true')
        return dict(acknowledged=True)
