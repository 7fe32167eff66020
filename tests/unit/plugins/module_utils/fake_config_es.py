# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small fake Elasticsearch for the configuration modules (ml_job, rollup_job, rollup index deletion).

It answers the reads and PUTs those modules make the way Elasticsearch does (es-behaviour §2.4, §3.3, §3.4.3):
GET of a job id that is a group name expands to the group's jobs, a missing job is a 404, GET of a rollup job
answers 200 with an empty list, a rollup PUT into an index that holds the job's metadata is a 409.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re
from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError, Response, parse_version


def error(status, error_type, reason):
    return ElasticsearchError('HTTP %d %s: %s' % (status, error_type, reason), status=status, error_type=error_type,
                              reason=reason)


class FakeConfigEs(object):
    def __init__(self, version='8.19.3', upgrade_mode=False):
        self.version_string = version
        self.version = parse_version(version)
        self.jobs = OrderedDict()        # job_id -> GET entry
        self.datafeeds = OrderedDict()   # datafeed_id -> GET entry
        self.rollups = OrderedDict()     # id -> {'config':..., 'status': {'job_state':...}, 'stats': {}}
        self.indices = OrderedDict()     # name -> GET /<index> entry (mappings with _meta._rollup)
        self.upgrade_mode = upgrade_mode
        self.calls = []
        self.bodies = []
        self.faults = []
        self.forbidden_indices = set()
        self.retries = 0

    # -- fixtures -------------------------------------------------------------------------------

    @property
    def ml_base(self):
        return '/_xpack/ml' if self.version < (7, 0, 0) else '/_ml'

    @property
    def rollup_base(self):
        return '/_xpack/rollup' if self.version < (7, 0, 0) else '/_rollup'

    def add_job(self, job_id, **config):
        entry = dict(job_id=job_id, job_type='anomaly_detector', job_version=self.version_string,
                     create_time=1700000000000, analysis_config={'bucket_span': '15m', 'detectors': [
                         {'function': 'count', 'detector_description': 'count', 'detector_index': 0}]},
                     analysis_limits={'model_memory_limit': '1024mb', 'categorization_examples_limit': 4},
                     data_description={'time_field': 'time', 'time_format': 'epoch_ms'},
                     results_index_name='shared', allow_lazy_open=False, model_snapshot_retention_days=10)
        entry.update(config)
        self.jobs[job_id] = entry
        return self

    def add_datafeed(self, datafeed_id, job_id, **config):
        entry = dict(datafeed_id=datafeed_id, job_id=job_id, indices=['src'], query={'match_all': {'boost': 1.0}},
                     query_delay='60000ms', scroll_size=1000, chunking_config={'mode': 'auto'},
                     authorization={'roles': ['superuser']})
        entry.update(config)
        self.datafeeds[datafeed_id] = entry
        return self

    def add_rollup(self, job_id, state='stopped', **config):
        entry = dict(id=job_id, index_pattern='src-*', rollup_index='%s-rollup' % job_id, cron='*/30 * * * * ?',
                     groups={'date_histogram': {'field': 'ts', 'fixed_interval': '1h', 'time_zone': 'UTC'}},
                     metrics=[], timeout='20s', page_size=100)
        entry.update(config)
        self.rollups[job_id] = {'config': entry, 'status': {'job_state': state}, 'stats': {}}
        self._rollup_meta(entry['rollup_index'])[job_id] = copy.deepcopy(entry)
        return self

    def _rollup_meta(self, index):
        entry = self.indices.setdefault(index, {'aliases': {}, 'mappings': {'_meta': {'_rollup': {}}}, 'settings': {}})
        if self.version < (7, 0, 0):
            mappings = entry['mappings'].setdefault('_doc', {'_meta': {'_rollup': {}}})
        else:
            mappings = entry['mappings']
        return mappings.setdefault('_meta', {}).setdefault('_rollup', {})

    def add_index(self, name, rollup_job_ids=()):
        self.indices.setdefault(name, {'aliases': {}, 'mappings': {}, 'settings': {}})
        for job_id in rollup_job_ids:
            self._rollup_meta(name)[job_id] = {'id': job_id}
        return self

    def mutations(self):
        return [(m, p) for (m, p) in self.calls if m not in ('GET', 'HEAD')]

    # -- the client interface -------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, server_timeout=None, retry=True, ok_statuses=()):
        self.calls.append((method, path))
        self.bodies.append(copy.deepcopy(body))
        try:
            for index, (f_method, f_path, exc) in enumerate(self.faults):
                if f_method == method and re.search(f_path, path):
                    del self.faults[index]
                    raise exc
            return Response(200, self._answer(method, path, body), {})
        except ElasticsearchError as exc:
            if exc.status in ok_statuses:
                return Response(exc.status, {'error': {'type': exc.error_type, 'reason': exc.reason}}, {})
            raise

    def _answer(self, method, path, body):
        if path.startswith(self.ml_base + '/'):
            return self._ml(method, path[len(self.ml_base) + 1:].split('/'), body)
        if path.startswith(self.rollup_base + '/'):
            return self._rollup(method, path[len(self.rollup_base) + 1:].split('/'), body)
        name = path.lstrip('/')
        if '/' in name or not name:
            raise AssertionError('unexpected request %s %s' % (method, path))
        if name in self.forbidden_indices:
            raise error(403, 'security_exception', 'action [indices:admin/get] is unauthorized for user [u] on indices [%s]'
                        % name)
        if name not in self.indices:
            raise error(404, 'index_not_found_exception', 'no such index [%s]' % name)
        if method == 'GET':
            return {name: copy.deepcopy(self.indices[name])}
        if method == 'DELETE':
            del self.indices[name]
            return {'acknowledged': True}
        raise AssertionError('unexpected request %s %s' % (method, path))

    def _ml(self, method, parts, body):
        if parts == ['info'] and method == 'GET':
            return {'defaults': {}, 'limits': {}, 'upgrade_mode': self.upgrade_mode}
        if parts[0] == 'anomaly_detectors' and method == 'GET':
            job_id = parts[1]
            if job_id in self.jobs:
                return {'count': 1, 'jobs': [copy.deepcopy(self.jobs[job_id])]}
            members = [j for j in self.jobs.values() if job_id in (j.get('groups') or [])]
            if members:
                return {'count': len(members), 'jobs': copy.deepcopy(members)}
            raise error(404, 'resource_not_found_exception', "No known job with id '%s'" % job_id)
        if parts[0] == 'datafeeds' and method == 'GET':
            assert parts[1] == '_all'
            return {'count': len(self.datafeeds), 'datafeeds': copy.deepcopy(list(self.datafeeds.values()))}
        if self.upgrade_mode:
            raise error(429, 'status_exception', 'Cannot perform put action while upgrade mode is enabled')
        if parts[0] == 'anomaly_detectors' and method == 'PUT':
            assert 'job_id' not in body and 'create_time' not in body and 'job_version' not in body
            self.add_job(parts[1], **copy.deepcopy(body))
            return dict(self.jobs[parts[1]])
        if parts[0] == 'datafeeds' and method == 'PUT':
            assert 'datafeed_id' not in body and 'authorization' not in body
            if body.get('job_id') not in self.jobs:
                raise error(404, 'resource_not_found_exception', "No known job with id '%s'" % body.get('job_id'))
            self.add_datafeed(parts[1], **copy.deepcopy(body))
            return dict(self.datafeeds[parts[1]])
        raise AssertionError('unexpected ML request %s %s' % (method, parts))

    def _rollup(self, method, parts, body):
        if parts[0] != 'job':
            raise AssertionError('unexpected rollup request %s %s' % (method, parts))
        job_id = parts[1] if len(parts) > 1 else '_all'
        if method == 'GET':
            ids = list(self.rollups) if job_id in ('_all', '*', '') else [i for i in [job_id] if i in self.rollups]
            return {'jobs': [copy.deepcopy(self.rollups[i]) for i in ids]}
        if method == 'PUT':
            assert 'id' not in body
            if job_id in self.rollups:
                raise error(409, 'resource_already_exists_exception',
                            'Cannot create job [%s] because it has already been created (task exists)' % job_id)
            index = body['rollup_index']
            if index in self.indices and job_id in self._rollup_meta(index):
                raise error(409, 'status_exception', 'Cannot create rollup job [%s] because job was previously created '
                                                     '(existing metadata).' % job_id)
            self.add_rollup(job_id, **copy.deepcopy(body))
            return {'acknowledged': True}
        if method == 'DELETE':
            if job_id not in self.rollups:
                raise error(404, 'resource_not_found_exception', "the task with id [%s] doesn't exist" % job_id)
            del self.rollups[job_id]
            return {'acknowledged': True}
        if method == 'POST' and parts[-1] == '_stop':
            self.rollups[job_id]['status']['job_state'] = 'stopped'
            return {'stopped': True}
        raise AssertionError('unexpected rollup request %s %s' % (method, parts))
