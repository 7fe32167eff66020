# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machine learning APIs, with the path and parameter differences between ES versions.

Version facts come from es-behaviour.md (shared reference): §2.1 paths, §2.4.2 allow_no_jobs,
§2.5.3 datafeeds and close, §2.8 datafeeds and delete.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._client import quote_path
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

JOB_STATES = ('closed', 'closing', 'opened', 'opening', 'failed')
DATAFEED_STATES = ('stopped', 'stopping', 'started', 'starting')
# The message of the 500 a close answers when its wait for the persistent task runs out; the close goes on (§2.5.4).
CLOSE_TIMEOUT_MARKER = 'Timed out when waiting for persistent tasks'


class MlApi(object):
    """Thin, version-aware wrappers around the ML REST endpoints. Every method is one request."""

    def __init__(self, client):
        self.client = client
        self.version = client.version

    # -- version rules ------------------------------------------------------------------------------

    @property
    def base(self):
        # 6.x serves ML under _xpack; 7.0+ under _ml (the _xpack routes only warn, 8.x drops them).
        return '/_xpack/ml' if self.version < (7, 0, 0) else '/_ml'

    @property
    def close_stops_datafeeds(self):
        """7.14+: closing a job stops its started datafeed itself (es-behaviour §2.5.3)."""
        return self.version >= (7, 14, 0)

    @property
    def delete_removes_datafeed(self):
        """7.15+: deleting a job deletes its datafeed first (es-behaviour §2.8)."""
        return self.version >= (7, 15, 0)

    @property
    def has_upgrade_mode(self):
        return self.version >= (6, 7, 0)

    def _allow_no_match(self, kind, value):
        # allow_no_jobs/allow_no_datafeeds until 7.9; allow_no_match from 7.10 (es-behaviour §2.4.2).
        if value is None:
            return {}
        if self.version >= (7, 10, 0):
            return {'allow_no_match': value}
        return {'allow_no_jobs' if kind == 'jobs' else 'allow_no_datafeeds': value}

    # -- jobs ---------------------------------------------------------------------------------------

    def job_stats(self, expression='_all', allow_no_match=None):
        path = self.base + quote_path('anomaly_detectors', expression, '_stats')
        body = self.client.request('GET', path, params=self._allow_no_match('jobs', allow_no_match)).body
        return body.get('jobs', [])

    def get_jobs(self, expression='_all', allow_no_match=None):
        path = self.base + quote_path('anomaly_detectors', expression)
        body = self.client.request('GET', path, params=self._allow_no_match('jobs', allow_no_match)).body
        return body.get('jobs', [])

    def open_job(self, job_id, timeout):
        """Open one job (the API takes one id). ES waits up to ``timeout`` for the job to be opened."""
        path = self.base + quote_path('anomaly_detectors', job_id, '_open')
        return self.client.request('POST', path, params={'timeout': format_duration(timeout)},
                                   server_timeout=timeout).body

    def close_job(self, expression, timeout, force=False, allow_no_match=None):
        """Close jobs in one request; ES closes them concurrently and waits up to ``timeout``."""
        path = self.base + quote_path('anomaly_detectors', expression, '_close')
        params = {'timeout': format_duration(timeout)}
        if force:
            params['force'] = True
        params.update(self._allow_no_match('jobs', allow_no_match))
        return self.client.request('POST', path, params=params, server_timeout=timeout).body

    def delete_job(self, job_id, force=False, timeout=None):
        path = self.base + quote_path('anomaly_detectors', job_id)
        params = {'force': True} if force else {}
        if timeout and self.version >= (7, 0, 0):
            params['timeout'] = format_duration(timeout)
        return self.client.request('DELETE', path, params=params, server_timeout=timeout).body

    # -- datafeeds ----------------------------------------------------------------------------------

    def datafeed_stats(self, expression='_all', allow_no_match=None):
        path = self.base + quote_path('datafeeds', expression, '_stats')
        body = self.client.request('GET', path, params=self._allow_no_match('datafeeds', allow_no_match)).body
        return body.get('datafeeds', [])

    def get_datafeeds(self, expression='_all', allow_no_match=None):
        path = self.base + quote_path('datafeeds', expression)
        body = self.client.request('GET', path, params=self._allow_no_match('datafeeds', allow_no_match)).body
        return body.get('datafeeds', [])

    def start_datafeed(self, datafeed_id, timeout, start=None, end=None):
        path = self.base + quote_path('datafeeds', datafeed_id, '_start')
        params = {'timeout': format_duration(timeout), 'start': start, 'end': end}
        return self.client.request('POST', path, params=params, server_timeout=timeout).body

    def stop_datafeed(self, expression, timeout, force=False, allow_no_match=None):
        path = self.base + quote_path('datafeeds', expression, '_stop')
        params = {'timeout': format_duration(timeout)}
        if force:
            params['force'] = True
        params.update(self._allow_no_match('datafeeds', allow_no_match))
        return self.client.request('POST', path, params=params, server_timeout=timeout).body

    def delete_datafeed(self, datafeed_id, force=False):
        path = self.base + quote_path('datafeeds', datafeed_id)
        return self.client.request('DELETE', path, params={'force': True} if force else {}).body

    # -- cluster-wide -------------------------------------------------------------------------------

    def info(self):
        return self.client.request('GET', self.base + '/info').body

    def set_upgrade_mode(self, enabled, timeout):
        return self.client.request('POST', self.base + '/set_upgrade_mode',
                                   params={'enabled': bool(enabled), 'timeout': format_duration(timeout)},
                                   server_timeout=timeout).body
