# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PUT-able ML job and datafeed configurations (backups) and the restore adapter (module ``esops.jobs.ml_job``).

A configuration as GET returns it holds fields Elasticsearch generates and PUT refuses or ignores. The
PUT-able form drops exactly the fields that ``exclude_generated=true`` drops (``Job.doXContentBody`` and
``DatafeedConfig.toXContent``, x-pack/plugin/core/.../ml/job/config/Job.java and .../ml/datafeed/DatafeedConfig.java
on the 7.17 and 8.x branches), done here on every version (the parameter exists from 7.11 only) and from the one
read the info module makes anyway. Defaults Elasticsearch filled in (``query_delay``, ``indices_options``,
``chunking_config``) are kept: they are valid on PUT and make the restored object equal to the saved one.
Kept too, unlike ``exclude_generated``: ``custom_settings.created_by`` (a restore is the same job, not an export).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._config_compare import describe_differences, differences
from ansible_collections.esops.jobs.plugins.module_utils._errors import NotFound
from ansible_collections.esops.jobs.plugins.module_utils._convergence import ABSENT, Adapter, PlanError, Step
from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi, is_pattern, validate_ml_ids

#: Job fields only Elasticsearch sets (Job.doXContentBody, the ``exclude_generated == false`` block), plus
#: ``blocked`` (8.x: a reset/revert/delete in progress) and the embedded ``datafeed_config`` (7.15+), which a
#: backup keeps beside the job and PUT sends separately.
JOB_GENERATED_FIELDS = ('job_type', 'job_version', 'create_time', 'create_time_string', 'finished_time',
                        'finished_time_string', 'model_snapshot_id', 'model_snapshot_min_version', 'deleting',
                        'blocked', 'datafeed_config')
#: Datafeed fields only Elasticsearch sets: the credentials it runs with (``authorization``; ``headers`` in
#: internal storage), DatafeedConfig.toXContent.
DATAFEED_GENERATED_FIELDS = ('authorization', 'headers', 'config_type')

PRESENT = 'present'


def job_put_config(config):
    """The job configuration a PUT accepts, from one GET anomaly_detectors entry (None stays None)."""
    if config is None:
        return None
    put = copy.deepcopy(dict(config))
    for field in JOB_GENERATED_FIELDS:
        put.pop(field, None)
    return put


def datafeed_put_config(config):
    """The datafeed configuration a PUT accepts, from one GET datafeeds entry (None stays None)."""
    if config is None:
        return None
    put = copy.deepcopy(dict(config))
    for field in DATAFEED_GENERATED_FIELDS:
        put.pop(field, None)
    return put


# -- input -----------------------------------------------------------------------------------------

def exact_ml_id(value, option):
    """One exact job or datafeed id (no pattern, list or _all); ValueError naming the option otherwise."""
    tokens = validate_ml_ids([value], option)
    if len(tokens) != 1 or is_pattern(tokens[0]):
        raise ValueError('%s: give one exact id, not a list or pattern: %r' % (option, value))
    return tokens[0]


def restore_request(job_id, config, datafeed_config):
    """Check the module's input; return (job_id, job body, datafeed_id or None, datafeed body or None)."""
    if not isinstance(config, dict) or not config:
        raise ValueError('config: give the job configuration (for example ml_job_info include_put_config: true, '
                         'jobs[].put_config)')
    named = config.get('job_id')
    if job_id is None and named is None:
        raise ValueError('job_id: give job_id or a config with a job_id')
    job_id = exact_ml_id(job_id if job_id is not None else named, 'job_id')
    if named is not None and named != job_id:
        raise ValueError("config.job_id %r differs from job_id %r" % (named, job_id))
    body = job_put_config(config)
    body.pop('job_id', None)
    if datafeed_config is None and isinstance(config.get('datafeed_config'), dict):
        # A job config as GET returns it on 7.15+ embeds its datafeed: restore that too.
        datafeed_config = config['datafeed_config']
    datafeed_id = feed_body = None
    if datafeed_config is not None:
        if not isinstance(datafeed_config, dict) or not datafeed_config:
            raise ValueError('datafeed_config: give the datafeed configuration, or leave it out')
        feed_job = datafeed_config.get('job_id', job_id)
        if feed_job != job_id:
            raise ValueError('datafeed_config.job_id %r differs from job_id %r' % (feed_job, job_id))
        datafeed_id = exact_ml_id(datafeed_config.get('datafeed_id') or 'datafeed-%s' % job_id, 'datafeed_config.datafeed_id')
        feed_body = datafeed_put_config(datafeed_config)
        feed_body.pop('datafeed_id', None)
        feed_body['job_id'] = job_id
    return job_id, body, datafeed_id, feed_body


# -- restore adapter -------------------------------------------------------------------------------

class MlJobConfigAdapter(Adapter):
    """Brings one ML job (and its datafeed) to ``present`` from a PUT-able configuration; never overwrites.

    Facts per job: ``state`` (present), ``config`` (GET entry), ``datafeed`` (GET entry of the job's datafeed or None).
    """

    noun = 'ML job'
    nouns = 'ML jobs'

    def __init__(self, client, job_id, config, datafeed_id=None, datafeed_config=None, api=None):
        super(MlJobConfigAdapter, self).__init__(client, PRESENT)
        self.job_id = job_id
        self.config = config
        self.datafeed_id = datafeed_id
        self.datafeed_config = datafeed_config
        self._api = api
        self.upgrade_mode = False
        self.feeds_by_id = {}
        self.created = []

    @property
    def api(self):
        if self._api is None:
            self._api = MlApi(self.client)
        return self._api

    def read(self):
        api = self.api
        try:
            jobs = api.get_jobs(self.job_id)
        except NotFound:
            jobs = []
        mine = [job for job in jobs if job.get('job_id') == self.job_id]
        if jobs and not mine:
            # The id is a group name: GET expanded it to the group's jobs (es-behaviour §2.4.1).
            raise PlanError('job_id %s is the name of a job group (%s); a job cannot take it'
                            % (self.job_id, ', '.join(sorted(job.get('job_id') for job in jobs))), [self.job_id])
        feeds = api.get_datafeeds('_all', allow_no_match=True)
        self.feeds_by_id = dict((feed.get('datafeed_id'), feed) for feed in feeds)
        self.upgrade_mode = api.upgrade_mode()
        if not mine:
            return OrderedDict()
        feed = next((f for f in feeds if f.get('job_id') == self.job_id), None)
        return OrderedDict([(self.job_id, {'state': PRESENT, 'config': mine[0], 'datafeed': feed})])

    def plan(self, current):
        facts = current.get(self.job_id)
        found = []
        actions = []
        if facts is None:
            actions.append('create_job')
        else:
            found.extend(dict(item, object='job') for item in differences(facts['config'], self.config))
        if self.datafeed_id is not None:
            existing = (facts or {}).get('datafeed')
            same_id = self.feeds_by_id.get(self.datafeed_id)
            if existing is not None and existing.get('datafeed_id') != self.datafeed_id:
                found.append({'object': 'datafeed', 'path': 'datafeed_id', 'current': existing.get('datafeed_id'),
                              'desired': self.datafeed_id})
            elif existing is not None:
                body = dict(self.datafeed_config, datafeed_id=self.datafeed_id)
                found.extend(dict(item, object='datafeed') for item in differences(existing, body))
            elif same_id is not None:
                found.append({'object': 'datafeed', 'path': 'job_id', 'current': same_id.get('job_id'),
                              'desired': self.job_id})
            else:
                actions.append('create_datafeed')
        if found and facts is None:
            raise PlanError('ML job %s cannot be created with datafeed %s: that datafeed belongs to another job (nothing '
                            'was changed; give another datafeed_config.datafeed_id): %s'
                            % (self.job_id, self.datafeed_id, describe_differences(found)), [self.job_id], differences=found)
        if found:
            raise PlanError('ML job %s exists and differs from config (nothing was changed; delete it first to '
                            're-create it, or change config): %s' % (self.job_id, describe_differences(found)),
                            [self.job_id], differences=found)
        if actions and self.upgrade_mode:
            raise PlanError('ML upgrade mode is enabled: Elasticsearch refuses to create jobs and datafeeds until it is '
                            'disabled (esops.jobs.ml_upgrade_mode enabled=false); nothing was changed', [self.job_id])
        if not actions:
            return []
        before = facts['state'] if facts else ABSENT
        return [Step(self.job_id, action, before, PRESENT) for action in actions]

    def apply(self, steps, deadline):
        api = self.api
        for step in steps:
            if step.action == 'create_job':
                api.put_job(self.job_id, self.config)
            else:
                try:
                    api.put_datafeed(self.datafeed_id, self.datafeed_config)
                except ElasticsearchError as exc:
                    if any(s.action == 'create_job' for s in steps):
                        exc.message = ('ML job %s was created, its datafeed %s was not: %s; run the task again once '
                                       'fixed (the job is kept)' % (self.job_id, self.datafeed_id, exc.message))
                    raise
            self.created.append(step.action)
        return [self.job_id]

    def settled(self, job_id, facts):
        return facts is not None

    def describe(self, job_id, before, after):
        return {'datafeed_id': self.datafeed_id}

    def diff_view(self, job_id, facts, side):
        job = facts.get('config')
        feed = facts.get('datafeed')
        if side == 'after':
            job = job if job is not None else dict(self.config, job_id=self.job_id)
            if feed is None and self.datafeed_id is not None:
                feed = dict(self.datafeed_config, datafeed_id=self.datafeed_id)
        view = {'job': job_put_config(job)}
        if feed is not None:
            view['datafeed'] = datafeed_put_config(feed)
        return view

    def extra_result(self, result, observed):
        entry = (result.get('jobs') or [{}])[0]
        result['job_id'] = self.job_id
        result['datafeed_id'] = self.datafeed_id
        result['actions'] = list(entry.get('actions') or [])
