# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only view of ML anomaly-detection jobs (module ``esops.jobs.ml_job_info``).

A fixed number of requests whatever the number of jobs: job stats (the only source of state,
https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-get-job-stats.html; a job_id list too long
for one request line is matched against every job's stats, see MlApi.job_stats_of), job configs, datafeed configs and stats (only when a job matched; datafeeds
cannot be selected by job, so all of them are read), and ML info for ``upgrade_mode``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi, fits_one_line
from ansible_collections.esops.jobs.plugins.module_utils._ml_config import datafeed_put_config, job_put_config

# What the result shows of each job's stats, when every job's stats are read (a long job_id list).
INFO_FIELDS = ('job_id', 'state', 'node.name', 'assignment_explanation', 'open_time')


def gather_jobs(client, job_ids, allow_no_match=True, api=None, include_put_config=False):
    """Return ``{'jobs': [...], 'upgrade_mode': bool or None}``; raises ElasticsearchError.

    ``include_put_config``: each job gets ``put_config`` and its datafeed ``put_config`` (_ml_config), from the
    same reads.
    """
    api = api or MlApi(client)
    stats = api.job_stats_of(job_ids, allow_no_match=allow_no_match, fields_of_all=INFO_FIELDS)
    configs = {}
    feeds_by_job = {}
    if stats:
        # A list too long for one request line: every config, the selection is already known from the stats.
        expression = ','.join(job_ids) if fits_one_line(job_ids) else '_all'
        configs = dict((job['job_id'], job) for job in api.get_jobs(expression, allow_no_match=True))
        feed_states = dict((feed['datafeed_id'], feed.get('state'))
                           for feed in api.datafeed_stats('_all', allow_no_match=True))
        for feed in api.get_datafeeds('_all', allow_no_match=True):
            feeds_by_job[feed.get('job_id')] = dict(datafeed_id=feed['datafeed_id'],
                                                    state=feed_states.get(feed['datafeed_id'], 'stopped'))
            if include_put_config:
                feeds_by_job[feed.get('job_id')]['put_config'] = datafeed_put_config(feed)
    jobs = []
    for entry in stats:
        job_id = entry['job_id']
        config = configs.get(job_id)
        node = entry.get('node') or {}
        jobs.append(dict(
            job_id=job_id,
            state=entry.get('state'),
            groups=list((config or {}).get('groups') or []),
            description=(config or {}).get('description'),
            datafeed=feeds_by_job.get(job_id),
            node=node.get('name'),
            assignment_explanation=entry.get('assignment_explanation') or None,
            open_time=entry.get('open_time'),
            config=config,
        ))
        if include_put_config:
            jobs[-1]['put_config'] = job_put_config(config)
    return dict(jobs=jobs, upgrade_mode=api.upgrade_mode())
