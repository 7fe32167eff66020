# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machine learning APIs, with the path and parameter differences between ES versions.

Version facts come from es-behaviour.md (shared reference): §2.1 paths, §2.4.2 allow_no_jobs,
§2.5.3 datafeeds and close, §2.8 datafeeds and delete.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.esops.jobs.plugins.module_utils._client import quote_path
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

JOB_STATES = ('closed', 'closing', 'opened', 'opening', 'failed')
DATAFEED_STATES = ('stopped', 'stopping', 'started', 'starting')
# The message of the 500 a close answers when its wait for the persistent task runs out; the close goes on (§2.5.4).
CLOSE_TIMEOUT_MARKER = 'Timed out when waiting for persistent tasks'
# MlStrings.VALID_ID_CHAR_PATTERN + ID_LENGTH_LIMIT: job, group and datafeed ids ('.' is accepted but undocumented).
ML_ID_RE = re.compile(r'^[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?$')
ML_ID_PATTERN_RE = re.compile(r'^[a-z0-9_.*-]+$')
ML_ID_MAX_LENGTH = 64


def validate_ml_ids(tokens, option):
    """Split and check job/group/datafeed id expressions; return the list of tokens.

    ``tokens`` is the option's list (each item may itself be a comma list). Ids follow ES's rules
    (lowercase a-z, 0-9, ``-``, ``_``, start and end alphanumeric, at most 64 characters); patterns may
    add ``*``; ``_all`` stands alone. Raises ValueError with a message naming the option and the token.
    """
    result = []
    for item in tokens or []:
        for token in str(item).split(','):
            token = token.strip()
            if not token:
                raise ValueError('%s: empty id in %r; separate ids with single commas' % (option, item))
            if token == '_all' or token == '*':
                pass
            elif '*' in token:
                if not ML_ID_PATTERN_RE.match(token):
                    raise ValueError('%s: %r is not a valid id pattern: use lowercase letters, digits, "-", "_", "." and "*"'
                                     % (option, token))
            elif len(token) > ML_ID_MAX_LENGTH:
                raise ValueError('%s: %r is longer than %d characters' % (option, token, ML_ID_MAX_LENGTH))
            elif not ML_ID_RE.match(token):
                hint = ' (ids are lowercase)' if token.lower() != token else ''
                raise ValueError('%s: %r is not a valid id%s: use lowercase letters, digits, "-" and "_", starting and '
                                 'ending with a letter or digit' % (option, token, hint))
            result.append(token)
    if not result:
        raise ValueError('%s: give at least one id, pattern or _all' % option)
    if '_all' in result and len(result) > 1:
        raise ValueError('%s: _all selects everything and cannot be combined with other ids' % option)
    return result


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

    def job_stats(self, expression='_all', allow_no_match=None, fields=None):
        """``fields``: only these paths of each job (``filter_path``), e.g. ``('job_id', 'state')``."""
        path = self.base + quote_path('anomaly_detectors', expression, '_stats')
        params = self._allow_no_match('jobs', allow_no_match)
        if fields:
            params = dict(params or {}, filter_path=','.join('jobs.' + field for field in fields))
        body = self.client.request('GET', path, params=params).body
        # filter_path leaves {} when no job matched.
        return (body or {}).get('jobs', [])

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
