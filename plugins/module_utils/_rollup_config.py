# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollup configurations (backups), rollup index metadata, the restore adapter (module ``esops.jobs.rollup_job``)
and the deletion of a retired job's own rollup index (``rollup_job_state`` ``delete_rollup_index``).

A rollup index records every job that ever wrote to it in its mapping, ``_meta._rollup.<job id>``, and keeps that
record when the job is deleted. Elasticsearch reads it on PUT (TransportPutRollupJobAction, x-pack/plugin/rollup,
6.8 to 9.x): a job id already recorded there is refused with 409 "Cannot create rollup job [<id>] because job was
previously created (existing metadata).", and an existing index without ``_meta._rollup`` with 500 "Rollup data
cannot be added to existing indices that contain non-rollup data". Both are checked here before any change, from
``GET /<rollup index>`` (index privilege ``view_index_metadata``); without that privilege Elasticsearch's own answer
is turned into the same message.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
from collections import OrderedDict

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._convergence import (
    ABSENT, Adapter, PlanError, StateError, Step, WaitTimeout)
from ansible_collections.esops.jobs.plugins.module_utils._errors import (
    Forbidden, NotFound, RollupIndexHasJobMetadata, Unauthenticated)
from ansible_collections.esops.jobs.plugins.module_utils._indices import IndicesApi
from ansible_collections.esops.jobs.plugins.module_utils._config_compare import describe_differences, differences
from ansible_collections.esops.jobs.plugins.module_utils._privileges import check_privileges
from ansible_collections.esops.jobs.plugins.module_utils._rollup import RollupApi
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

PRESENT = 'present'


def rollup_put_config(config):
    """The rollup job configuration a PUT accepts: GET returns nothing generated, so a copy (None stays None)."""
    return copy.deepcopy(dict(config)) if config is not None else None


class IndexMeta(object):
    """What ``GET /<index>`` says about a rollup index: ``exists``, ``readable``, ``is_rollup``, ``job_ids``."""

    def __init__(self, name, exists=True, readable=True, is_rollup=False, job_ids=(), error=None):
        self.name = name
        self.exists = exists
        self.readable = readable
        self.is_rollup = is_rollup
        self.job_ids = list(job_ids)
        self.error = error


def _rollup_meta(mappings):
    """``_meta._rollup`` of an index's mappings, typeless (7.0+) or under its one type (6.x, ``_doc``)."""
    mappings = mappings or {}
    if isinstance(mappings.get('_meta'), dict):
        return mappings['_meta'].get('_rollup')
    for value in mappings.values():
        if isinstance(value, dict) and isinstance(value.get('_meta'), dict):
            return value['_meta'].get('_rollup')
    return None


def read_index_meta(client, index):
    """IndexMeta of one index; 404 is "does not exist", 401/403 is "not readable" (never raised)."""
    try:
        body = IndicesApi(client).get(index)
    except NotFound:
        return IndexMeta(index, exists=False)
    except (Unauthenticated, Forbidden) as exc:
        return IndexMeta(index, readable=False, error='HTTP %d %s' % (exc.status, exc.reason or ''))
    if index not in body:
        # GET /<alias> answers with the concrete indices behind it.
        return IndexMeta(index, readable=False, error='it is an alias of %s, not an index' % ', '.join(sorted(body)))
    meta = _rollup_meta(body[index].get('mappings'))
    return IndexMeta(index, is_rollup=isinstance(meta, dict), job_ids=sorted((meta or {}).keys()))


# -- restore -----------------------------------------------------------------------------------------

def restore_request(job_id, config):
    """Check the module's input; return (job_id, PUT body without ``id``)."""
    if not isinstance(config, dict) or not config:
        raise ValueError('config: give the rollup job configuration (for example rollup_job_info include_put_config: '
                         'true, jobs[].put_config)')
    named = config.get('id')
    if job_id is None and named is None:
        raise ValueError('job_id: give job_id or a config with an id')
    job_id = to_text(job_id if job_id is not None else named)
    if not job_id.strip() or job_id != job_id.strip() or any(c in job_id for c in ',*') or job_id == '_all':
        raise ValueError('job_id: give one exact rollup job id, not a list or pattern: %r' % job_id)
    if named is not None and named != job_id:
        raise ValueError('config.id %r differs from job_id %r' % (named, job_id))
    body = rollup_put_config(config)
    body.pop('id', None)
    if not body.get('rollup_index'):
        raise ValueError('config.rollup_index: a rollup job needs its rollup index')
    return job_id, body


class RollupJobConfigAdapter(Adapter):
    """Brings one rollup job to ``present`` from a PUT-able configuration; never overwrites."""

    noun = 'rollup job'
    nouns = 'rollup jobs'

    def __init__(self, client, job_id, config, warn=None, api=None):
        super(RollupJobConfigAdapter, self).__init__(client, PRESENT)
        self.job_id = job_id
        self.config = config
        self.warn = warn or (lambda message: None)
        self._api = api
        self.index = None

    @property
    def api(self):
        if self._api is None:
            self._api = RollupApi(self.client)
        return self._api

    def read(self):
        found = OrderedDict()
        for wrapper in self.api.get_jobs(self.job_id):
            config = wrapper.get('config') or {}
            if config.get('id') == self.job_id:
                found[self.job_id] = {'state': PRESENT, 'config': config,
                                      'job_state': (wrapper.get('status') or {}).get('job_state')}
        return found

    def plan(self, current):
        facts = current.get(self.job_id)
        if facts is not None:
            found = differences(facts['config'], dict(self.config, id=self.job_id))
            if found:
                raise PlanError('rollup job %s exists and differs from config (nothing was changed; rollup jobs cannot '
                                'be updated: delete it first to re-create it, or change config): %s'
                                % (self.job_id, describe_differences(found)), [self.job_id],
                                differences=[dict(item, object='rollup_job') for item in found])
            return []
        index = self.config['rollup_index']
        self.index = read_index_meta(self.client, index)
        if not self.index.readable:
            self.warn('rollup index %s could not be read (%s): whether it still holds the metadata of a deleted job %s '
                      'is known only when Elasticsearch answers the create request' % (index, self.index.error, self.job_id))
        elif self.index.exists and not self.index.is_rollup:
            raise PlanError('rollup index %s exists and holds no rollup data (no _meta._rollup in its mapping): '
                            'Elasticsearch refuses to add rollups to it; nothing was changed. Choose another '
                            'config.rollup_index' % index, [self.job_id])
        elif self.job_id in self.index.job_ids:
            raise PlanError(existing_metadata_message(self.job_id, index), [self.job_id])
        return [Step(self.job_id, 'create_job', ABSENT, PRESENT)]

    def apply(self, steps, deadline):
        try:
            self.api.put_job(self.job_id, self.config)
        except RollupIndexHasJobMetadata:
            raise StateError(existing_metadata_message(self.job_id, self.config['rollup_index']), [self.job_id])
        return [self.job_id]

    def settled(self, job_id, facts):
        return facts is not None

    def describe(self, job_id, before, after):
        facts = after or before or {}
        return {'job_state': facts.get('job_state', 'stopped' if after else ABSENT)}

    def diff_view(self, job_id, facts, side):
        config = facts.get('config')
        if config is None and side == 'after':
            config = dict(self.config, id=self.job_id)
        return rollup_put_config(config)

    def extra_result(self, result, observed):
        entry = (result.get('jobs') or [{}])[0]
        result['job_id'] = self.job_id
        result['actions'] = list(entry.get('actions') or [])


def existing_metadata_message(job_id, index):
    return ('rollup index %s still holds the rollups and metadata of a deleted rollup job %s; Elasticsearch refuses to '
            're-create the job into it (HTTP 409 "... previously created (existing metadata)"). Nothing was changed. '
            'Restore into another rollup index (change config.rollup_index; the old rollups stay searchable in %s), '
            'or delete %s first, losing its rollups' % (index, job_id, index, index))


# -- rollup_job_state delete_rollup_index --------------------------------------------------------------

class RollupIndexCleanup(object):
    """Deletes the own rollup index of rollup jobs that are being deleted, never one that holds other jobs' rollups.

    ``plan`` runs with the job plan (before any change) and raises PlanError when an index is also the rollup index
    of a job this task does not delete, or holds the rollup metadata of one (a job deleted earlier whose rollups are
    still in it), or cannot be read. ``apply`` runs once the jobs are deleted: it waits until they are gone, then
    deletes the indices.
    """

    def __init__(self, client, poller, timeout):
        self.client = client
        self.indices = IndicesApi(client)
        self.poller = poller
        self.timeout = timeout
        self.entries = OrderedDict()   # index -> {'index', 'job_ids', 'state_before', 'state_after', 'changed'}
        self.done = set()
        self.leftovers = set()   # ids of jobs deleted earlier whose rollup index is planned here

    def plan(self, selected, all_jobs, deleted_ids, leftovers=None):
        """``selected``: {id: facts} of the jobs being deleted; ``all_jobs``: every rollup job; ``deleted_ids``: every
        id this task deletes or finds already absent; ``leftovers``: the rollup caps answer (RollupApi.caps), which
        still names the rollup index of a job deleted by an earlier run whose index delete failed, so a re-run
        finishes it (the same safety rules apply)."""
        deleted_ids = set(deleted_ids)
        by_index = OrderedDict()
        for job_id, facts in selected.items():
            index = (facts.get('config') or {}).get('rollup_index')
            if index:
                by_index.setdefault(index, []).append(job_id)
        for caps in (leftovers or {}).values():
            for job in (caps or {}).get('rollup_jobs') or []:
                job_id, index = job.get('job_id'), job.get('rollup_index')
                if index and job_id in deleted_ids and job_id not in selected and job_id not in by_index.get(index, []):
                    by_index.setdefault(index, []).append(job_id)
                    self.leftovers.add(job_id)
        problems = []
        blocking = []
        entries = OrderedDict()
        for index, job_ids in by_index.items():
            if any(c in index for c in ',*') or index.startswith(('_', '-', '+')):
                problems.append('rollup index %r is not one concrete index name' % index)
                blocking.extend(job_ids)
                continue
            writers = sorted(job_id for job_id, facts in all_jobs.items()
                             if job_id not in deleted_ids and (facts.get('config') or {}).get('rollup_index') == index)
            meta = read_index_meta(self.client, index)
            if not meta.exists:
                entries[index] = dict(index=index, job_ids=job_ids, state_before=ABSENT, state_after=ABSENT, changed=False)
                continue
            if not meta.readable:
                problems.append('rollup index %s cannot be read to check which jobs it holds (%s; needs the index '
                                'privilege view_index_metadata)' % (index, meta.error))
                blocking.extend(job_ids)
                continue
            others = sorted(set(writers) | (set(meta.job_ids) - deleted_ids))
            if others:
                problems.append('rollup index %s also holds the rollups of %s %s (%s)' % (
                    index, 'job' if len(others) == 1 else 'jobs', ', '.join(others),
                    '; '.join(self._why(job_id, writers) for job_id in others)))
                blocking.extend(job_ids)
                continue
            entries[index] = dict(index=index, job_ids=job_ids, state_before=PRESENT, state_after=ABSENT, changed=True)
        if problems:
            raise PlanError('not deleting anything: %s. Delete only the rollup jobs (delete_rollup_index=false), or list '
                            'every job of the index in job_id (a job already deleted counts as absent)'
                            % '; '.join(problems), job_ids=blocking)
        # The index is deleted only after the jobs: a credential that may delete the jobs but not the index would
        # leave it behind. Ask Elasticsearch first (has-privileges; nothing to check without security).
        doomed = [entry['index'] for entry in entries.values() if entry['changed']]
        if doomed:
            answer = check_privileges(self.client, ['delete_rollup'], doomed)
            if answer['missing']:
                raise PlanError('not deleting anything: the credential lacks %s' % answer['missing_text'],
                                job_ids=[job_id for entry in entries.values() if entry['changed'] for job_id in entry['job_ids']])
        self.entries = entries

    def leftover_job_ids(self):
        """Jobs already deleted whose rollup index this task deletes (found through the rollup caps)."""
        return [job_id for entry in self.entries.values() if entry['changed'] for job_id in entry['job_ids']
                if job_id in self.leftovers]

    @staticmethod
    def _why(job_id, writers):
        return '%s is a rollup job that still writes to it' % job_id if job_id in writers else \
            '%s was deleted earlier, its rollups are still there' % job_id

    def pending(self):
        return [entry['index'] for entry in self.entries.values() if entry['changed'] and entry['index'] not in self.done]

    def apply(self, read_jobs, job_ids, deadline):
        """Wait until ``job_ids`` are gone (``read_jobs()`` -> {id: facts}), then delete the planned indices."""
        indices = self.pending()
        if not indices:
            return
        try:
            self.poller.until(read_jobs, lambda current: not any(job_id in current for job_id in job_ids), deadline)
        except WaitTimeout as exc:
            late = sorted(job_id for job_id in job_ids if job_id in exc.last)
            raise StateError('rollup %s %s still listed %s after the delete; rollup %s %s not deleted (run the task '
                             'again to delete it)' % ('job' if len(late) == 1 else 'jobs', ', '.join(late),
                                                      format_duration(self.timeout), _index_word(indices),
                                                      ', '.join(indices)), late)
        for index in indices:
            try:
                self.indices.delete(index)
            except NotFound:
                self.done.add(index)
                continue
            except ElasticsearchError as exc:
                left = [i for i in indices if i not in self.done]
                exc.message = ('rollup jobs %s are deleted; deleting rollup %s %s failed: %s' % (
                    ', '.join(job_ids), _index_word(left), ', '.join(left), exc.message))
                raise
            self.done.add(index)

    def report(self, result, observed):
        entries = []
        for entry in self.entries.values():
            entry = dict(entry)
            if observed and entry['changed'] and entry['index'] not in self.done:
                entry.update(state_after=PRESENT, changed=False)
            entries.append(entry)
        result['rollup_indices'] = entries
        leftover = [entry for entry in entries if entry['changed'] and set(entry['job_ids']) <= self.leftovers]
        if leftover and not any(job.get('changed') for job in result.get('jobs') or []):
            result['msg'] = ('no rollup job left to delete; rollup %s %s of %s, deleted earlier, %s part of this task '
                             '(rollup_indices)' % (_index_word(leftover), ', '.join(e['index'] for e in leftover),
                                                   ', '.join(j for e in leftover for j in e['job_ids']),
                                                   'is' if len(leftover) == 1 else 'are'))
        if any(entry['changed'] for entry in entries):
            result['changed'] = True
        if 'diff' in result:
            for entry in entries:
                key = 'index/%s' % entry['index']
                if entry['state_before'] == PRESENT:
                    result['diff']['before'][key] = PRESENT
                if entry['state_after'] == PRESENT:
                    result['diff']['after'][key] = PRESENT


def _index_word(indices):
    return 'index' if len(indices) == 1 else 'indices'
