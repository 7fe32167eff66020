# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollup APIs, with the path and parameter differences between ES versions (https://www.elastic.co/guide/en/elasticsearch/reference/7.17/rollup-apis.html)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._client import quote_path
from ansible_collections.esops.jobs.plugins.module_utils._errors import ClassifyingClient, Forbidden, NoHandler, NotFound
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

# IndexerState (x-pack core indexing/IndexerState.java), lowercase on the wire.
ROLLUP_STATES = ('started', 'indexing', 'stopping', 'stopped', 'aborting')


class RollupApi(object):
    """Thin, version-aware wrappers around the rollup REST endpoints: the only code that builds rollup requests.
    Every method is one request (``version`` may probe the routes once, for a user without ``monitor``).

    A failed request raises its typed exception from ``_errors``. Nothing is sent until the first call.
    """

    def __init__(self, client):
        self.client = ClassifyingClient(client)
        self._version = None

    @property
    def version(self):
        if self._version is None:
            try:
                self._version = self.client.version
            except Forbidden as exc:   # GET / needs `monitor`; a rollup-only user gets 403 there
                self._version = self._version_from_routes(exc)
        return self._version

    def _version_from_routes(self, forbidden):
        """A ``manage_rollup``/``monitor_rollup``-only user may read neither GET / nor ML info.

        The rollup routes tell what matters here: ``/_rollup`` answers from 7.0, ``/_xpack/rollup`` on 6.x.
        Only 6.8 and later are supported, so 6.x is taken as 6.8 (stop can wait) and 7.0+ as 7.0 (a start of
        a started job is not assumed to be idempotent).
        """
        for path, version in (('/_rollup/job/_all', (7, 0, 0)), ('/_xpack/rollup/job/_all', (6, 8, 0))):
            try:
                body = self.client.request('GET', path).body
            except (NoHandler, Forbidden, NotFound):
                continue
            if isinstance(body, dict) and 'jobs' in body:
                return version
        raise forbidden

    @property
    def base(self):
        return '/_xpack/rollup' if self.version < (7, 0, 0) else '/_rollup'

    @property
    def start_is_idempotent(self):
        """8.0+ answers 200 to a start of a started job; before, 500 (rollup RollupJobTask.java, 7.x and 8.x)."""
        return self.version >= (8, 0, 0)

    def get_jobs(self, job_id='_all'):
        """All jobs, or one exact id (an unknown id gives an empty list; GET supports no globs)."""
        path = self.base + quote_path('job', job_id)
        return (self.client.request('GET', path).body or {}).get('jobs', [])

    def start_job(self, job_id):
        return self.client.request('POST', self.base + quote_path('job', job_id, '_start')).body

    def stop_job(self, job_id, wait_for_completion=False, timeout=None):
        """With ``wait_for_completion`` (6.6+, elastic/elasticsearch#34811) a wait that runs out raises
        ServerWaitTimedOut (500, 429 from 9.0)."""
        params = {}
        if wait_for_completion:
            params = {'wait_for_completion': True, 'timeout': format_duration(timeout or 30)}
        return self.client.request('POST', self.base + quote_path('job', job_id, '_stop'),
                                   params=params, server_timeout=timeout if params else None).body

    def caps(self, index_pattern='_all'):
        """GET _rollup/data/<index pattern> (6.x _xpack/rollup/data): ``{pattern: {rollup_jobs: [{job_id,
        rollup_index, ...}]}}`` from the rollup metadata the indices hold, so a job deleted since is still listed
        while its rollup index exists (TransportGetRollupCapsAction reads every index's ``_meta._rollup``; docs
        https://www.elastic.co/guide/en/elasticsearch/reference/7.17/rollup-get-rollup-caps.html). Needs only
        ``monitor_rollup``."""
        return self.client.request('GET', self.base + quote_path('data', index_pattern)).body or {}

    def put_job(self, job_id, body):
        """Create a rollup job (``PUT <base>/job/<id>``) from its configuration without ``id``. A rollup index that
        still records a job of that id raises RollupIndexHasJobMetadata (409)."""
        return self.client.request('PUT', self.base + quote_path('job', job_id), body=body).body

    def delete_job(self, job_id):
        return self.client.request('DELETE', self.base + quote_path('job', job_id)).body
