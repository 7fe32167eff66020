# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance_window role's bookkeeping (module maintenance_window_record), as pure functions.

``read`` turns the state file's text into the record and decides what the role reads from Elasticsearch;
``plan`` binds the record to the cluster the info modules reached, builds a new window's record and works out
what exit restores, the calendar events and the privilege operations. Neither talks to Elasticsearch: the role's
module calls do, and hand their results in. Every refusal is a ``Refused`` with the one line the role fails with.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import re

RECORD_VERSION = 2
ML_MODES = ('upgrade_mode', 'close_jobs', 'calendar')
JOB_RUNNING = ('opened', 'opening')
DATAFEED_RUNNING = ('started', 'starting')
ROLLUP_RUNNING = ('started', 'indexing')


class Refused(Exception):
    """One line: why the window cannot be entered or exited (nothing was changed), with result keys that say more."""

    def __init__(self, msg, **details):
        super(Refused, self).__init__(msg)
        self.details = details


def selectors(values):
    """The selectors as given, trimmed, empty ones dropped (a comma-separated string arrives split already)."""
    return [text for text in (str(value).strip() for value in values or []) if text]


def parse_record(state_file, text):
    """The record the state file holds; Refused for anything else (an older format, or edited by hand)."""
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not (isinstance(record, dict) and _int(record.get('esops_maintenance_window')) == RECORD_VERSION
            and record.get('phase') in ('entered', 'exited')
            and isinstance(record.get('cluster'), dict) and record['cluster'].get('uuid')):
        raise Refused('%s is not an esops maintenance window state file bound to a cluster (an older format, or edited '
                      'by hand); refusing to use it. Nothing was changed.' % state_file)
    return record


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def read(action, state_file, text, ml, ml_mode, rollups, ml_job_ids, rollup_job_ids):
    """What the role works from before it reads the cluster.

    ``text`` is the state file's content, None when there is none. Decided once, before the record is replaced:
    entering reads what the selectors select (upgrade mode pauses every job, so it records every job); exiting and
    re-entering read every job, to learn which recorded ones still exist (a read by an exact id that was deleted
    meanwhile would fail)."""
    if text is None and action == 'exit':
        raise Refused('No maintenance window state file at %s: there is no record of what was running, so nothing can '
                      'be restored and nothing was changed. Point maintenance_window_state_file at the file `enter` '
                      'wrote, or restore by hand.' % state_file)
    record = parse_record(state_file, text) if text is not None else {}
    new = action == 'enter' and record.get('phase') != 'entered'
    ml_needed = bool(ml) if new else bool(record.get('ml', False))
    rollups_needed = (bool(rollups) if new else len(record.get('rollups_started') or []) > 0) or not ml_needed
    return dict(
        record=record, new=new, ml_needed=ml_needed, rollups_needed=rollups_needed,
        ml_read=selectors(ml_job_ids) if new and ml_mode in ('close_jobs', 'calendar') else ['_all'],
        rollup_read=selectors(rollup_job_ids) if new else ['_all'])


def _cluster(ml_info, rollup_info):
    found = ml_info.get('cluster') if 'cluster' in ml_info else rollup_info.get('cluster')
    found = found or {}
    return dict(uuid=found.get('uuid'), name=found.get('name'))


def calendar_id(entered_at, state_file):
    """One calendar per window: its id names the entry time and the state file, so it never is another's."""
    return 'esops-mw-%s-%s' % (re.sub('[^0-9tz]', '', entered_at.lower()),
                               hashlib.sha1(state_file.encode('utf-8')).hexdigest()[:8])


def new_record(cluster, entered_at, state_file, ml, ml_mode, rollups, calendar_duration, ml_info, rollup_info):
    """The record of what is running, the way enter writes it before pausing anything."""
    jobs = ml_info.get('jobs') or [] if ml else []
    opened = [job['job_id'] for job in jobs if job.get('state') in JOB_RUNNING]
    record = dict(
        esops_maintenance_window=RECORD_VERSION, phase='entered', cluster=cluster, entered_at=entered_at,
        exited_at=None, ml=bool(ml), ml_mode=ml_mode, upgrade_mode_before=bool(ml_info.get('upgrade_mode', False)),
        ml_jobs_opened=opened,
        datafeeds_started=[job['datafeed']['datafeed_id'] for job in jobs
                           if job.get('datafeed') and job['datafeed'].get('state') in DATAFEED_RUNNING],
        rollups=bool(rollups),
        rollups_started=[job['job_id'] for job in (rollup_info.get('jobs') or [] if rollups else [])
                         if job.get('state') in ROLLUP_RUNNING],
        calendar=None)
    if ml and ml_mode == 'calendar':
        description = 'esops.jobs maintenance window entered %s' % entered_at
        record['calendar'] = dict(
            calendar_id=calendar_id(entered_at, state_file), description=description, job_ids=opened,
            event=dict(description=description, start_time=entered_at, duration=calendar_duration))
    return record


def _still_there(recorded, existing):
    existing = set(existing)
    return [item for item in recorded if item in existing]


def restore(record, ml_info, rollup_info):
    """Which recorded objects Elasticsearch still reports (set intersections of exact ids) and which of the recorded
    datafeeds are not started now (the check-mode prediction of the datafeed start)."""
    jobs_now = ml_info.get('jobs') or []
    datafeeds_now = [job['datafeed'] for job in jobs_now if job.get('datafeed')]
    result = dict(
        jobs=_still_there(record.get('ml_jobs_opened') or [], [job['job_id'] for job in jobs_now]),
        datafeeds=_still_there(record.get('datafeeds_started') or [], [feed['datafeed_id'] for feed in datafeeds_now]),
        datafeeds_to_start=_still_there(record.get('datafeeds_started') or [],
                                        [feed['datafeed_id'] for feed in datafeeds_now
                                         if feed.get('state') not in DATAFEED_RUNNING]),
        rollup_jobs=_still_there(record.get('rollups_started') or [],
                                 [job['job_id'] for job in rollup_info.get('jobs') or []]))
    result['deleted'] = dict(
        jobs=[job for job in record.get('ml_jobs_opened') or [] if job not in result['jobs']],
        datafeeds=[feed for feed in record.get('datafeeds_started') or [] if feed not in result['datafeeds']],
        rollup_jobs=[job for job in record.get('rollups_started') or [] if job not in result['rollup_jobs']])
    return result


def calendar_events(action, record, exited_at):
    """The events the window's calendar holds. enter: the planned event; exit: the event ended at the exit time, or
    none when the window ends before its event began (nothing to cover)."""
    calendar = record.get('calendar')
    if not calendar:
        return []
    event = calendar['event']
    if action == 'enter':
        return [event]
    if exited_at > event['start_time']:
        return [dict(description=event['description'], start_time=event['start_time'], end_time=exited_at)]
    return []


def operations(action, record, restored):
    """The privilege_check operations of the steps the run sends (the calendar's come from ml_calendar's plan)."""
    ml_mode = record.get('ml_mode') if record.get('ml') else None
    ops = ['set_upgrade_mode'] if ml_mode == 'upgrade_mode' and not record.get('upgrade_mode_before') else []
    if action == 'enter':
        if ml_mode == 'close_jobs':
            ops += ['stop_datafeed'] if record.get('datafeeds_started') else []
            ops += ['close_job'] if record.get('ml_jobs_opened') else []
        ops += ['stop_rollup'] if record.get('rollups_started') else []
    else:
        if ml_mode == 'close_jobs':
            ops += ['open_job'] if restored['jobs'] else []
            ops += ['start_datafeed'] if restored['datafeeds_to_start'] else []
        ops += ['start_rollup'] if restored['rollup_jobs'] else []
    return ops


def plan(action, state_file, record, new, now, options, ml_info, rollup_info):
    """Bind the window to the cluster the info modules reached, then everything the enter or exit steps send.

    ``options``: ml, ml_mode, rollups, calendar_duration. ``ml_info``/``rollup_info``: the registered results of
    ml_job_info and rollup_job_info (skipped ones included). ``now``: the time, read once (a new record's
    entered_at; on exit the calendar event's end and the record's exited_at are the same instant)."""
    cluster = _cluster(ml_info, rollup_info)
    if not cluster['uuid']:
        raise Refused('Elasticsearch did not tell which cluster this is (GET / needs the `monitor` cluster privilege), '
                      'so the window cannot be bound to its cluster; use a credential with `monitor`. Nothing was '
                      'changed.')
    # an open window is bound to its cluster; so is an exit of any window (an exit pointed at another cluster is a
    # wrong state file or a wrong connection, even when that window was already exited)
    if (record.get('phase') == 'entered' or action == 'exit') and record.get('cluster') \
            and record['cluster'].get('uuid') != cluster['uuid']:
        raise Refused('%s records a window %s on cluster %s (%s), but this connection reaches cluster %s (%s); '
                      'refusing to %s it. Nothing was changed.'
                      % (state_file, 'open' if record.get('phase') == 'entered' else 'already exited',
                         record['cluster'].get('name') or '?', record['cluster'].get('uuid') or '?',
                         cluster['name'], cluster['uuid'], action), cluster=cluster)
    if new:
        if options['ml'] and options['ml_mode'] == 'close_jobs' and ml_info.get('upgrade_mode'):
            raise Refused('ML upgrade mode is already enabled, so Elasticsearch refuses to close jobs; use '
                          'maintenance_window_ml_mode=upgrade_mode or disable upgrade mode first. Nothing was changed.',
                          cluster=cluster)
        record = new_record(cluster, now, state_file, options['ml'], options['ml_mode'], options['rollups'],
                            options['calendar_duration'], ml_info, rollup_info)
    restoring = action == 'exit' and record['phase'] == 'entered'
    restored = restore(record, ml_info, rollup_info) if restoring else dict(
        jobs=[], datafeeds=[], datafeeds_to_start=[], rollup_jobs=[], deleted=dict(jobs=[], datafeeds=[], rollup_jobs=[]))
    exited_at = now if restoring else record.get('exited_at')
    return dict(
        cluster=cluster, record=record, new=new, restore=restored, exited_at=exited_at,
        exited_record=dict(record, phase='exited', exited_at=exited_at) if restoring else None,
        calendar_events=calendar_events(action, record, exited_at) if action == 'enter' or restoring else [],
        operations=operations(action, record, restored),
        outcome=('entered' if action == 'enter' else 'restored' if restoring else 'already_exited'))


def _states(jobs, id_key='job_id'):
    return ', '.join('%s (%s)' % (job[id_key], job.get('state')) for job in jobs) or '-'


def verify(action, record, restored, ml_info, rollup_info):
    """After the real pause or restore, from what Elasticsearch reports now (the reads of the recorded objects):
    Refused when anything the record lists is not paused (enter) or not running again (exit)."""
    ml_mode = record.get('ml_mode') if record.get('ml') else None
    jobs = ml_info.get('jobs') or []
    rollups = rollup_info.get('jobs') or []
    if action == 'enter':
        if ml_mode == 'upgrade_mode' and 'upgrade_mode' in ml_info and not ml_info['upgrade_mode']:
            raise Refused('ML is not paused: upgrade mode is off')
        if ml_mode == 'close_jobs' and any(job.get('state') != 'closed' for job in jobs):
            raise Refused('ML is not paused: jobs %s' % _states(job for job in jobs if job.get('state') != 'closed'))
        if any(job.get('state') != 'stopped' for job in rollups):
            raise Refused('Rollup jobs not stopped: %s' % _states(job for job in rollups if job.get('state') != 'stopped'))
        return
    if ml_mode == 'upgrade_mode' and 'upgrade_mode' in ml_info \
            and bool(ml_info['upgrade_mode']) != bool(record.get('upgrade_mode_before')):
        raise Refused('Not restored: upgrade mode %s (was %s)'
                      % (ml_info['upgrade_mode'], bool(record.get('upgrade_mode_before'))))
    if ml_mode == 'close_jobs' and any(job.get('state') not in JOB_RUNNING for job in jobs):
        raise Refused('Not restored: jobs %s' % _states(job for job in jobs if job.get('state') not in JOB_RUNNING))
    feeds = [job['datafeed'] for job in jobs if job.get('datafeed')
             and job['datafeed'].get('datafeed_id') in restored.get('datafeeds', [])
             and job['datafeed'].get('state') not in DATAFEED_RUNNING]
    if feeds:
        raise Refused('Not restored: datafeeds %s' % _states(feeds, 'datafeed_id'))
    if any(job.get('state') not in ROLLUP_RUNNING for job in rollups):
        raise Refused('Rollup jobs not started: %s'
                      % _states(job for job in rollups if job.get('state') not in ROLLUP_RUNNING))
