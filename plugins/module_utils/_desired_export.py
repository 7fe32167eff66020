# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A live cluster as a desired-state document (module ``esops.jobs.desired_state_info``): converging it is a no-op.

``read_cluster`` reads once (GET /, per ML kind the configurations and the stats of what the ids select - Elasticsearch
expands them - and the rollup jobs), ``export_document`` (pure) turns that into the document: one exact-id entry per
object with its steady state and its configuration as the create API takes it, without the fields Elasticsearch sets
(``_ml_definitions.exported_job_config``/``exported_datafeed_config``, the same rules the comparer uses, so the plan of
the export against the same cluster finds no drift), the calendars (with their events) and filters as the converge
plan declares them (``_ml_declared.export_calendars_and_filters``), and ``unmentioned: report`` for every exported
kind so objects created later show up in the plan.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi
from ansible_collections.esops.jobs.plugins.module_utils._ml_calendar import MlCalendarApi
from ansible_collections.esops.jobs.plugins.module_utils._ml_declared import export_calendars_and_filters
from ansible_collections.esops.jobs.plugins.module_utils._ml_filter import MlFilterApi
from ansible_collections.esops.jobs.plugins.module_utils._ml_definitions import (
    exported_datafeed_config, exported_job_config)
from ansible_collections.esops.jobs.plugins.module_utils._rollup_job import RollupJobReader, missing_message

OBJECT_KINDS = ('ml_jobs', 'datafeeds', 'rollup_jobs')
#: Declared calendars and filters (``_ml_declared``): every one of the cluster, with the calendars' events.
DECLARED_KINDS = ('ml_filters', 'ml_calendars')
EXPORT_KINDS = OBJECT_KINDS + DECLARED_KINDS
#: The document's section order: the object kinds, then what may be added (add_section), ``unmentioned`` last.
UNMENTIONED = 'unmentioned'

#: Live state -> (the state exported, why it is not the state read). A state in motion is exported as the steady
#: state it moves to; a failed job as ``opened`` (it was opened; the plan refuses it until someone decides).
JOB_STATES = OrderedDict([
    ('opened', ('opened', None)), ('closed', ('closed', None)),
    ('opening', ('opened', 'was opening; exported as opened')),
    ('closing', ('closed', 'was closing; exported as closed')),
    ('failed', ('opened', 'has failed; exported as opened (the state it failed in). A plan refuses it until it is '
                'closed with force_failed or opened again')),
])
DATAFEED_STATES = OrderedDict([
    ('started', ('started', None)), ('stopped', ('stopped', None)),
    ('starting', ('started', 'was starting; exported as started')),
    ('stopping', ('stopped', 'was stopping; exported as stopped')),
])
#: IndexerState: ``indexing`` is a started job at work (no warning); ``aborting`` is a job being deleted (skipped).
ROLLUP_STATES = OrderedDict([
    ('started', ('started', None)), ('indexing', ('started', None)), ('stopped', ('stopped', None)),
    ('stopping', ('stopped', 'was stopping; exported as stopped')),
])


class ExportError(Exception):
    """A selection that cannot be exported (an exact id that does not exist): one line."""


def sorted_value(value):
    """``value`` with every mapping's keys sorted, recursively (lists keep their order): the same configuration
    reads the same whatever order a version writes it in, so a re-export diffs only where something changed."""
    if isinstance(value, dict):
        return OrderedDict((key, sorted_value(value[key])) for key in sorted(value, key=str))
    if isinstance(value, list):
        return [sorted_value(item) for item in value]
    return copy.deepcopy(value)


def _entry(object_id, state, config):
    return OrderedDict([('id', object_id), ('state', state), ('config', sorted_value(config))])


def _steady(kind, object_id, state, states, warnings):
    steady, why = states.get(state, (None, None))
    if state is None:
        warnings.append('%s %s: Elasticsearch reports no state for it; skipped' % (kind, object_id))
    elif steady is None:
        warnings.append('%s %s: state %r is not one an entry can declare; skipped' % (kind, object_id, state))
    elif why:
        warnings.append('%s %s %s' % (kind, object_id, why))
    return steady


def job_being_deleted(facts):
    """A job Elasticsearch is deleting: ``deleting: true`` (8.x ``blocked.reason: delete``) where the configuration
    says so, and in any case no stats - job stats leave such a job out (elastic/elasticsearch#34645), which is what
    tells it under ``exclude_generated``, as that hides ``deleting`` and ``blocked``. Not exported."""
    config = facts.get('config') or {}
    blocked = config.get('blocked') if isinstance(config.get('blocked'), dict) else {}
    return facts.get('state') is None or bool(config.get('deleting')) or blocked.get('reason') == 'delete'


def export_document(snapshot, kinds=EXPORT_KINDS):
    """``snapshot``: ``{kind: {id: {state, config}}}`` as ``read_cluster`` returns it (configurations as GET returns
    them). Returns ``(document, warnings)``: entries sorted by id, each ``{id, state, config}``; ``warnings`` one line
    per object exported in another state than it was read in, or skipped."""
    warnings = []
    document = OrderedDict()
    skipped_jobs = set()
    if 'ml_jobs' in kinds:
        entries = []
        for job_id in sorted(snapshot.get('ml_jobs') or {}):
            facts = snapshot['ml_jobs'][job_id]
            config = facts.get('config') or {}
            if job_being_deleted(facts):
                skipped_jobs.add(job_id)
                warnings.append('ml_jobs %s is being deleted; skipped' % job_id)
                continue
            state = _steady('ml_jobs', job_id, facts.get('state'), JOB_STATES, warnings)
            if state is not None:
                entries.append(_entry(job_id, state, exported_job_config(config)))
        document['ml_jobs'] = entries
    if 'datafeeds' in kinds:
        entries = []
        for df_id in sorted(snapshot.get('datafeeds') or {}):
            facts = snapshot['datafeeds'][df_id]
            config = facts.get('config') or {}
            if config.get('job_id') in skipped_jobs:
                warnings.append('datafeeds %s: its job %s is being deleted; skipped' % (df_id, config.get('job_id')))
                continue
            state = _steady('datafeeds', df_id, facts.get('state'), DATAFEED_STATES, warnings)
            if state is not None:
                entries.append(_entry(df_id, state, exported_datafeed_config(config)))
        document['datafeeds'] = entries
    if 'rollup_jobs' in kinds:
        entries = []
        for job_id in sorted(snapshot.get('rollup_jobs') or {}):
            facts = snapshot['rollup_jobs'][job_id]
            if facts.get('state') == 'aborting':
                warnings.append('rollup_jobs %s is being deleted (aborting); skipped' % job_id)
                continue
            state = _steady('rollup_jobs', job_id, facts.get('state'), ROLLUP_STATES, warnings)
            if state is not None:
                config = OrderedDict((key, value) for key, value in (facts.get('config') or {}).items() if key != 'id')
                entries.append(_entry(job_id, state, config))
        document['rollup_jobs'] = entries
    document[UNMENTIONED] = OrderedDict((kind, 'report') for kind in OBJECT_KINDS if kind in kinds)
    if any(kind in kinds for kind in DECLARED_KINDS):
        declared = export_calendars_and_filters(snapshot.get('ml_calendars') or [], snapshot.get('ml_calendar_events') or {},
                                                snapshot.get('ml_filters') or [])
        for kind in DECLARED_KINDS:
            if kind in kinds:
                add_section(document, kind, declared[kind], unmentioned='report')
    return document, warnings


def add_section(document, key, entries, unmentioned=None):
    """Add the top-level section ``key`` (for example ``ml_calendars`` from ``export_calendars_and_filters``) before
    ``unmentioned``, and its policy (``report``) when ``unmentioned`` is given. Returns the document."""
    policy = document.pop(UNMENTIONED, OrderedDict())
    document[key] = entries
    if unmentioned is not None:
        policy[key] = unmentioned
    document[UNMENTIONED] = policy
    return document


def read_cluster(client, kinds=EXPORT_KINDS, ids=None):
    """What ``export_document`` needs, in few requests: per ML kind the configurations and the stats of the objects
    Elasticsearch selects for ``ids[kind]`` (ids, groups, patterns; default ``_all``), and every rollup job (GET
    rollup job takes one id or ``_all``, so rollup ids are picked from that read as ``rollup_job_state`` picks them);
    every filter, and every calendar with all their events (paged reads, the events only when there is a calendar).

    Configurations are read with ``exclude_generated`` where Elasticsearch takes it (7.11+, MlApi.exclude_generated):
    Elasticsearch's own export view, which leaves out what it generated - also fields a later version adds - and a
    datafeed's computed defaults (a query delay drawn per job, the chunking, the indices options), which git does
    not need. ``exported_job_config``/``exported_datafeed_config`` leave out the same on every version (the one list
    of server-set fields). Raises ExportError for a missing exact id."""
    ids = ids or {}
    ml = MlApi(client)
    snapshot = OrderedDict([('version', client.version_string)])
    if 'ml_jobs' in kinds:
        expression = ','.join(ids.get('ml_jobs') or ['_all'])
        configs = ml.get_jobs(expression, allow_no_match=True, exclude_generated=True)
        # A job being deleted has a config but no stats (elastic/elasticsearch#34645): state None (job_being_deleted).
        states = dict((entry['job_id'], entry.get('state', 'closed'))
                      for entry in ml.job_stats(expression, allow_no_match=True, fields=('job_id', 'state')))
        snapshot['ml_jobs'] = OrderedDict((job['job_id'], dict(state=states.get(job['job_id']), config=job))
                                          for job in configs)
    if 'datafeeds' in kinds:
        expression = ','.join(ids.get('datafeeds') or ['_all'])
        configs = dict((feed['datafeed_id'], feed)
                       for feed in ml.get_datafeeds(expression, allow_no_match=True, exclude_generated=True))
        snapshot['datafeeds'] = OrderedDict(
            (entry['datafeed_id'], dict(state=entry.get('state', 'stopped'), config=configs.get(entry['datafeed_id'])))
            for entry in ml.datafeed_stats(expression, allow_no_match=True) if entry['datafeed_id'] in configs)
    if 'rollup_jobs' in kinds:
        reader = RollupJobReader(client, ids.get('rollup_jobs') or ['_all'])
        selected = reader.read()
        if reader.missing:
            raise ExportError(missing_message(reader.missing))
        snapshot['rollup_jobs'] = OrderedDict(
            (job_id, dict(state=facts['state'], config=facts['config'])) for job_id, facts in selected.items())
    if 'ml_filters' in kinds:
        snapshot['ml_filters'] = MlFilterApi(client, ml).all_filters()
    if 'ml_calendars' in kinds:
        calendars = MlCalendarApi(client, ml)
        snapshot['ml_calendars'] = calendars.all_calendars()
        events = OrderedDict()
        for event in calendars.all_events() if snapshot['ml_calendars'] else []:
            events.setdefault(event['calendar_id'], []).append(event)
        snapshot['ml_calendar_events'] = events
    return snapshot
