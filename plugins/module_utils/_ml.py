# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machine learning APIs, with the path and parameter differences between ES versions.

Version facts: ``_xpack/ml`` paths in 6.x (https://www.elastic.co/guide/en/elasticsearch/reference/6.8/ml-apis.html),
``allow_no_match`` from 7.10 (elastic/elasticsearch#60642), close stops datafeeds from 7.14 (#74257), delete removes the
datafeed from 7.15 (#76010).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._client import quote_path
from ansible_collections.esops.jobs.plugins.module_utils._errors import ClassifyingClient, NotFound
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

# MlStrings.VALID_ID_CHAR_PATTERN + ID_LENGTH_LIMIT: job, group and datafeed ids ('.' is accepted but undocumented).
ML_ID_RE = re.compile(r'^[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?$')
ML_ID_PATTERN_RE = re.compile(r'^[a-z0-9_.*-]+$')
ML_ID_MAX_LENGTH = 64
# Keep each request line well under ES's http.max_initial_line_length (4kb, a 400 beyond) when listing ids.
MAX_IDS_CHARS = 3000


def is_pattern(token):
    return token == '_all' or '*' in token


def simple_match(pattern, value):
    """ES ``Regex.simpleMatch``: ``*`` matches any run of characters; ``_all`` matches everything."""
    if pattern in ('_all', '*'):
        return True
    if '*' not in pattern:
        return pattern == value   # an exact id: no regex (long lists match every token against every id)
    regex = '^' + '.*'.join(re.escape(part) for part in pattern.split('*')) + '$'
    return re.match(regex, value) is not None


def chunk_ids(ids, limit=MAX_IDS_CHARS):
    """Split ids into comma lists that each stay under ``limit`` characters."""
    chunks = []
    current = []
    size = 0
    for job_id in ids:
        if current and size + len(job_id) + 1 > limit:
            chunks.append(current)
            current = []
            size = 0
        current.append(job_id)
        size += len(job_id) + 1
    if current:
        chunks.append(current)
    return chunks


def fits_one_line(ids):
    return len(chunk_ids(ids)) <= 1


# -- version rules: the one place they are written (MlApi, the adapters and the converge planner ask these) -------
# (This module is the API layer: it imports nothing of the engine; what the ML adapters share is in _ml_adapter.py.)

def close_stops_datafeeds(version):
    """7.14+: closing a job stops its started datafeed itself (elastic/elasticsearch#74257)."""
    return tuple(version) >= (7, 14, 0)


def delete_removes_datafeed(version):
    """7.15+: deleting a job deletes its datafeed first (elastic/elasticsearch#76010)."""
    return tuple(version) >= (7, 15, 0)


def refused_in_upgrade_mode(version, action):
    """Whether ES answers 429 to ``action`` (a Step action) while upgrade mode is on. From 7.8 every ML mutation
    (x-pack/plugin/ml/.../MlUpgradeModeActionFilter.java, 7.8+); before, only opening a job
    (TransportOpenJobAction "Cannot open jobs when upgrade mode is enabled", 6.7-7.7)."""
    return tuple(version) >= (7, 8, 0) or action == 'open'


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


# GET calendars, GET calendars/_all/events, GET filters: every object of a kind, for the converge plan.
LIST_PAGE_SIZE = 1000


class MlApi(object):
    """Thin, version-aware wrappers around the ML REST endpoints: the only code that builds ML requests. Every method
    is one request, except ``job_stats_of``/``datafeed_stats_of`` (one per request line of a long id list).

    A failed request raises its typed exception from ``_errors`` (NotFound, ServerWaitTimedOut, ...). Nothing is
    sent until the first call: the cluster version is read when a version rule first needs it.
    """

    def __init__(self, client):
        self.client = ClassifyingClient(client)

    @property
    def version(self):
        return self.client.version

    # -- version rules ------------------------------------------------------------------------------

    @property
    def base(self):
        # 6.x serves ML under _xpack; 7.0+ under _ml (the _xpack routes only warn, 8.x drops them).
        return '/_xpack/ml' if self.version < (7, 0, 0) else '/_ml'

    @property
    def close_stops_datafeeds(self):
        return close_stops_datafeeds(self.version)

    @property
    def delete_removes_datafeed(self):
        return delete_removes_datafeed(self.version)

    def _allow_no_match(self, kind, value):
        # allow_no_jobs/allow_no_datafeeds until 7.9; allow_no_match from 7.10 (elastic/elasticsearch#60642).
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

    def job_stats_of(self, tokens, allow_no_match=None, fields_of_all=None):
        """Stats of the jobs that ``tokens`` (ids, groups, patterns) select, however many tokens there are.

        Tokens that fit one request line are one request, resolved by Elasticsearch. A longer list is read with
        one ``_all/_stats`` request (trimmed to ``fields_of_all``) and its exact job ids matched here; the other
        tokens (groups, patterns, ids not found) still go to Elasticsearch, a request line at a time, which
        resolves groups and answers its own 404 for a missing id. Returns the stats entries, sorted by job id.
        """
        stats = {}
        rest = list(tokens)
        if not fits_one_line(tokens):
            everything = dict((entry['job_id'], entry)
                              for entry in self.job_stats('_all', allow_no_match=True, fields=fields_of_all))
            rest = []
            for token in tokens:
                if not is_pattern(token) and token in everything:
                    stats[token] = everything[token]
                else:
                    rest.append(token)
        for chunk in chunk_ids(rest):
            for entry in self.job_stats(','.join(chunk), allow_no_match=allow_no_match):
                stats[entry['job_id']] = entry
        return [stats[job_id] for job_id in sorted(stats)]

    @property
    def exclude_generated(self):
        # GET anomaly_detectors/datafeeds take exclude_generated from 7.11 (elastic/elasticsearch#63899).
        return self.version >= (7, 11, 0)

    def _export_params(self, kind, allow_no_match, exclude_generated):
        params = self._allow_no_match(kind, allow_no_match)
        if exclude_generated and self.exclude_generated:
            params = dict(params, exclude_generated=True)
        return params

    def get_jobs(self, expression='_all', allow_no_match=None, exclude_generated=False):
        """``exclude_generated``: ask Elasticsearch to leave out what it generated, where it can (7.11+)."""
        path = self.base + quote_path('anomaly_detectors', expression)
        body = self.client.request('GET', path, params=self._export_params('jobs', allow_no_match, exclude_generated)).body
        return (body or {}).get('jobs', [])

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

    def put_job(self, job_id, body):
        """Create a job (``PUT anomaly_detectors/<id>``) from its configuration without ``job_id``."""
        return self.client.request('PUT', self.base + quote_path('anomaly_detectors', job_id), body=body).body

    def update_job(self, job_id, body):
        """``POST anomaly_detectors/<id>/_update`` (JobUpdate: only the fields Elasticsearch updates in place)."""
        return self.client.request('POST', self.base + quote_path('anomaly_detectors', job_id, '_update'), body=body).body

    # -- datafeeds ----------------------------------------------------------------------------------

    def put_datafeed(self, datafeed_id, body):
        return self.client.request('PUT', self.base + quote_path('datafeeds', datafeed_id), body=body).body

    def update_datafeed(self, datafeed_id, body):
        """``POST datafeeds/<id>/_update``; Elasticsearch refuses it while the datafeed runs (409)."""
        return self.client.request('POST', self.base + quote_path('datafeeds', datafeed_id, '_update'), body=body).body

    def datafeed_stats(self, expression='_all', allow_no_match=None):
        path = self.base + quote_path('datafeeds', expression, '_stats')
        body = self.client.request('GET', path, params=self._allow_no_match('datafeeds', allow_no_match)).body
        return body.get('datafeeds', [])

    def datafeed_stats_of(self, tokens, allow_no_match=None):
        """Stats of the datafeeds that ``tokens`` (ids, patterns) select, however many tokens there are.

        A list too long for one request line is matched here against one ``_all/_stats`` read, the way ES
        matches it (datafeeds have no groups): a missing exact id, or with ``allow_no_match=false`` a pattern
        matching nothing, is the same 404 Elasticsearch would answer.
        """
        if fits_one_line(tokens):
            return self.datafeed_stats(','.join(tokens), allow_no_match=allow_no_match)
        everything = self.datafeed_stats('_all', allow_no_match=True)
        selected = OrderedDict()
        missing = []
        for token in tokens:
            hits = [entry for entry in everything if simple_match(token, entry['datafeed_id'])]
            if not hits and (not is_pattern(token) or allow_no_match is False):
                missing.append(token)
            for entry in hits:
                selected[entry['datafeed_id']] = entry
        if missing:
            reason = 'No datafeed with id [%s] exists' % ','.join(missing)
            raise NotFound('%s (the datafeed_id list is too long for one request line, so it was matched '
                           'against every datafeed)' % reason, ids=missing, status=404,
                           error_type='resource_not_found_exception', reason=reason)
        return [selected[df_id] for df_id in sorted(selected)]

    def get_datafeeds(self, expression='_all', allow_no_match=None, exclude_generated=False):
        path = self.base + quote_path('datafeeds', expression)
        body = self.client.request('GET', path, params=self._export_params('datafeeds', allow_no_match,
                                                                           exclude_generated)).body
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

    def read_paged(self, path, key):
        """Every item of a from/size list (``LIST_PAGE_SIZE`` a page: calendars, all calendars' events, filters).
        7.x+ ``count`` counts every match; 6.8 GET filters counts only the page (the older
        TransportGetFiltersAction), so a full page always asks for the next one unless ``count`` says there is no
        more."""
        items = []
        while True:
            body = self.client.request('GET', path, params={'from': len(items), 'size': LIST_PAGE_SIZE}).body or {}
            page = body.get(key) or []
            items.extend(page)
            count = int(body.get('count') or 0)
            if len(page) < LIST_PAGE_SIZE or (count > len(page) and len(items) >= count):
                return items

    def info(self):
        return self.client.request('GET', self.base + '/info').body

    def refused_in_upgrade_mode(self, action):
        return refused_in_upgrade_mode(self.version, action)

    def upgrade_mode(self):
        """True/False from ML info (upgrade mode exists from 6.7, so on every supported version)."""
        return bool((self.info() or {}).get('upgrade_mode'))

    def set_upgrade_mode(self, enabled, timeout):
        return self.client.request('POST', self.base + '/set_upgrade_mode',
                                   params={'enabled': bool(enabled), 'timeout': format_duration(timeout)},
                                   server_timeout=timeout).body
