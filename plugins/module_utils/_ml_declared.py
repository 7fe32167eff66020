# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML calendars and filters declared in the desired-state document (``ml_calendars``, ``ml_filters``): the checks of
the document, the pure plan of their stages, the export of a cluster's calendars and filters in the same shape, the
backup fragment of one that a run deletes, and applying the planned stages with MlCalendarApi/MlFilterApi.

Elasticsearch facts (see also ``_ml_calendar`` and ``_ml_filter``): a filter's description and items are updated in
place (``filters/<id>/_update``); a calendar's description cannot be changed (no update API), so a different
description is a replace (delete, which deletes its events, then create with its jobs and events); its jobs and events
are changed one by one; events have server ids, so a declared event is matched by description, start and end. From 7.8
ML upgrade mode refuses every put/update/delete of a filter and every calendar mutation with 429
(MlUpgradeModeActionFilter lists PutFilterAction, UpdateFilterAction, DeleteFilterAction, PutCalendarAction,
UpdateCalendarJobAction, PostCalendarEventsAction, DeleteCalendarAction, DeleteCalendarEventAction). Deleting a filter
that a job's detector rule scope names is a 409 (TransportDeleteFilterAction.findJobsUsingFilter).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._errors import NotFound
from ansible_collections.esops.jobs.plugins.module_utils._ml import validate_ml_ids
from ansible_collections.esops.jobs.plugins.module_utils._ml_calendar import (
    STEP_OPERATIONS as CALENDAR_OPERATIONS, CalendarRun, MlCalendarApi, declared_events, declared_job_ids, event_key,
    iso, plan_calendar)
from ansible_collections.esops.jobs.plugins.module_utils._ml_filter import MlFilterApi

DECLARED_KINDS = ('ml_filters', 'ml_calendars')
NOUNS = {'ml_filters': 'ML filter', 'ml_calendars': 'ML calendar'}
OPTIONS = {
    'ml_filters': ('id', 'state', 'description', 'items'),
    'ml_calendars': ('id', 'state', 'description', 'job_ids', 'events', 'events_mode', 'recreate'),
}
STATES = ('present', 'absent')
EVENTS_MODES = ('add', 'exact')
POLICIES = ('ignore', 'report')
FILTER_OPERATIONS = OrderedDict([('create', 'put_filter'), ('update', 'update_filter'), ('delete', 'delete_filter')])
#: the stage timeout the apply loop reads (one request each; the client's own timeout bounds it)
STAGE_TIMEOUT = 30.0
REPLACE = 'replace'


class DeclaredError(ValueError):
    """One line naming the entry and the key (the caller raises its DocumentError with it)."""


# -- the document ---------------------------------------------------------------------------------------------------

def _exact_id(where, value):
    if not isinstance(value, str) or isinstance(value, bool):
        raise DeclaredError('%s.id: %r is not text; quote it (id: "%s")' % (where, value, value))
    if value in ('_all', '*') or '*' in value or ',' in value:
        raise DeclaredError('%s.id: %r is a pattern or a list; give one exact id' % (where, value))
    try:
        validate_ml_ids([value], '%s.id' % where)
    except ValueError as exc:
        raise DeclaredError(str(exc))
    return value


def _text(where, key, value):
    if value is not None and not isinstance(value, str):
        raise DeclaredError('%s.%s: %r is not text' % (where, key, value))
    return value


def _strings(where, key, value):
    if value is None:
        return None
    if not isinstance(value, list) or any(not isinstance(item, str) or not item for item in value):
        raise DeclaredError('%s.%s: must be a list of non-empty strings' % (where, key))
    return value


def _filter_entry(where, raw):
    items = _strings(where, 'items', raw.get('items'))
    return dict(description=_text(where, 'description', raw.get('description')),
                items=sorted(set(items)) if items is not None else None)


def _calendar_entry(where, raw):
    mode = raw.get('events_mode') or 'exact'
    if mode not in EVENTS_MODES:
        raise DeclaredError('%s.events_mode: %r is not one of %s' % (where, mode, ', '.join(EVENTS_MODES)))
    recreate = raw.get('recreate') or False
    if not isinstance(recreate, bool):
        raise DeclaredError('%s.recreate: %r is not a boolean (true or false)' % (where, recreate))
    job_ids = _strings(where, 'job_ids', raw.get('job_ids'))
    events = raw.get('events')
    if events is not None and (not isinstance(events, list) or any(not isinstance(e, dict) for e in events)):
        raise DeclaredError('%s.events: must be a list of mappings (description, start_time, end_time or duration)'
                            % where)
    try:
        job_ids = declared_job_ids(job_ids) if job_ids is not None else None
        events = declared_events(events) if events is not None else None
    except ValueError as exc:
        raise DeclaredError('%s.%s' % (where, exc))
    return dict(description=_text(where, 'description', raw.get('description')), job_ids=job_ids, events=events,
                events_mode=mode, recreate=recreate)


def normalize_entries(kind, raw_entries):
    """The checked entries of ``ml_filters`` or ``ml_calendars``: ``[{id, state, description, ...}]``. Raises
    DeclaredError with one line (an id listed twice, a pattern, an event that ends before it starts, ...)."""
    if raw_entries is None:
        return []
    if not isinstance(raw_entries, list):
        raise DeclaredError('%s must be a list of entries, not %s' % (kind, type(raw_entries).__name__))
    entries = []
    for index, raw in enumerate(raw_entries):
        where = '%s[%d]' % (kind, index)
        if not isinstance(raw, dict):
            raise DeclaredError('%s must be a mapping with id, not %s' % (where, type(raw).__name__))
        unknown = sorted(str(key) for key in raw if key not in OPTIONS[kind])
        if unknown:
            raise DeclaredError('%s: unknown key(s) %s; known: %s' % (where, ', '.join(unknown), ', '.join(OPTIONS[kind])))
        object_id = _exact_id(where, raw.get('id'))
        if any(entry['id'] == object_id for entry in entries):
            raise DeclaredError('%s: %s is listed in more than one entry' % (kind, object_id))
        state = raw.get('state') or 'present'
        if state not in STATES:
            raise DeclaredError('%s.state: %r is not one of %s' % (where, state, ', '.join(STATES)))
        extra = [key for key in raw if key not in ('id', 'state') and raw[key] is not None]
        if state == 'absent' and extra:
            raise DeclaredError('%s: state absent deletes the %s; leave out %s' % (where, NOUNS[kind], ', '.join(sorted(extra))))
        entry = (_filter_entry if kind == 'ml_filters' else _calendar_entry)(where, raw)
        entry.update(id=object_id, state=state)
        entries.append(entry)
    return entries


def normalize_policy(kind, value):
    value = value or 'ignore'
    if value not in POLICIES:
        raise DeclaredError('unmentioned.%s: %r is not one of %s' % (kind, value, ', '.join(POLICIES)))
    return value


# -- the cluster, as plain data ------------------------------------------------------------------------------------

def calendar_snapshot(calendars, events):
    """GET calendars + GET calendars/_all/events -> ``{id: {description, job_ids, events}}`` (what the plan reads)."""
    out = OrderedDict()
    for calendar in sorted(calendars or [], key=lambda item: item['calendar_id']):
        out[calendar['calendar_id']] = dict(description=calendar.get('description'),
                                            job_ids=sorted(calendar.get('job_ids') or []), events=[])
    for event in events or []:
        if event.get('calendar_id') in out:
            out[event['calendar_id']]['events'].append(event)
    return out


def filter_snapshot(filters):
    """GET filters -> ``{id: {description, items}}``."""
    return OrderedDict((item['filter_id'], dict(description=item.get('description'), items=sorted(item.get('items') or [])))
                       for item in sorted(filters or [], key=lambda item: item['filter_id']))


def export_calendars_and_filters(calendars, events_by_calendar, filters):
    """The document's ``ml_filters`` and ``ml_calendars`` lists of a cluster (calendar-format.md): every calendar with
    its jobs and its events (ISO 8601 UTC, ``events_mode: exact``), every filter with its items sorted. ``calendars``
    and ``filters`` as GET calendars / GET filters list them, ``events_by_calendar`` ``{calendar_id: [event]}``.
    Converging the result is a no-op. Returns ``{'ml_filters': [...], 'ml_calendars': [...]}``."""
    events = [dict(event, calendar_id=calendar_id) for calendar_id, items in (events_by_calendar or {}).items()
              for event in items]
    return OrderedDict([
        ('ml_filters', [filter_entry(filter_id, facts) for filter_id, facts in filter_snapshot(filters).items()]),
        ('ml_calendars', [calendar_entry(calendar_id, facts)
                          for calendar_id, facts in calendar_snapshot(calendars, events).items()]),
    ])


def filter_entry(filter_id, facts):
    """One filter as a document entry."""
    entry = OrderedDict([('id', filter_id), ('state', 'present')])
    if facts.get('description') is not None:
        entry['description'] = facts['description']
    entry['items'] = sorted(facts.get('items') or [])
    return entry


def calendar_entry(calendar_id, facts):
    """One calendar as a document entry, its events included."""
    entry = OrderedDict([('id', calendar_id), ('state', 'present')])
    if facts.get('description') is not None:
        entry['description'] = facts['description']
    entry['job_ids'] = sorted(facts.get('job_ids') or [])
    entry['events'] = [OrderedDict([('description', event.get('description')), ('start_time', iso(event['start_time'])),
                                    ('end_time', iso(event['end_time']))])
                       # in time order, as a person reads a calendar
                       for event in sorted(facts.get('events') or [], key=lambda item: (int(item['start_time']), event_key(item)))]
    entry['events_mode'] = 'exact'
    return entry


def backup_fragment(kind, object_id, facts):
    """What a run writes before deleting a calendar or a filter: the document fragment that creates it again."""
    entry = calendar_entry(object_id, facts) if kind == 'ml_calendars' else filter_entry(object_id, facts)
    return OrderedDict([(kind, [entry])])


# -- the plan -------------------------------------------------------------------------------------------------------

def referenced_filters(job_config):
    """The filters a job's detector rules scope on (AnalysisConfig.extractReferencedFilters)."""
    detectors = ((job_config or {}).get('analysis_config') or {}).get('detectors') or []
    return sorted(set(ref.get('filter_id') for detector in detectors for rule in detector.get('custom_rules') or []
                      for ref in (rule.get('scope') or {}).values() if isinstance(ref, dict) and ref.get('filter_id')))


def _event_text(event):
    return '%s %s/%s' % (event.get('description'), iso(event['start_time']), iso(event['end_time']))


def _change(path, current, desired, change, reason=None):
    return OrderedDict([('path', path), ('current', current), ('desired', desired), ('change', change),
                        ('reason', reason)])


def _filter_plan(entry, current):
    """``(action, changes, body)`` of one filter entry; action None when it is as declared."""
    if entry['state'] == 'absent':
        return ('delete', [], None) if current else (None, [], None)
    if current is None:
        body = dict(items=entry['items'] or [], description=entry['description'])
        declared = (('description', entry['description']), ('items', entry['items']))
        changes = [_change(key, None, value, 'create') for key, value in declared if value is not None]
        return 'create', changes, body
    changes = []
    body = dict(add_items=[], remove_items=[], description=None)
    if entry['description'] is not None and entry['description'] != current.get('description'):
        body['description'] = entry['description']
        changes.append(_change('description', current.get('description'), entry['description'], 'update'))
    if entry['items'] is not None:
        have = set(current.get('items') or [])
        body['add_items'] = sorted(set(entry['items']) - have)
        body['remove_items'] = sorted(have - set(entry['items']))
        if body['add_items'] or body['remove_items']:
            changes.append(_change('items', sorted(have), entry['items'], 'update'))
    return ('update' if changes else None), changes, body


def _calendar_desired(entry, current, recreate):
    """What ``plan_calendar`` takes; a recreate keeps what the entry does not declare (jobs, events in add mode)."""
    job_ids, events = entry['job_ids'], entry['events']
    if recreate:
        if job_ids is None:
            job_ids = list(current.get('job_ids') or [])
        kept = [dict(description=e.get('description'), start_time=int(e['start_time']), end_time=int(e['end_time']))
                for e in current.get('events') or []]
        if events is None:
            events = kept
        elif entry['events_mode'] == 'add':
            events = list(events) + [e for e in kept if event_key(e) not in set(event_key(d) for d in events)]
    return dict(calendar_id=entry['id'], state=entry['state'], description=entry['description'], job_ids=job_ids,
                events=events, events_mode=entry['events_mode'])


def _calendar_changes(entry, current, steps):
    changes = []
    if entry['state'] == 'absent':
        return []   # a delete is a state change (the diff leaves deleted objects out of after), no field differs
    created = any(action == 'create' for action, _payload in steps)
    if entry['description'] is not None and (current is None or entry['description'] != current.get('description')):
        changes.append(_change('description', None if current is None else current.get('description'),
                               entry['description'], 'create' if current is None else 'replace',
                               None if current is None else 'Elasticsearch cannot change a calendar\'s description'))
    jobs_after = [job for action, payload in steps if action == 'create' for job in payload['job_ids']]
    jobs_before = [] if current is None or created else list(current.get('job_ids') or [])
    added = [job for action, payload in steps if action == 'add_jobs' for job in payload]
    removed = [job for action, payload in steps if action == 'remove_jobs' for job in payload]
    if jobs_after or added or removed:
        desired = sorted(set(jobs_before + jobs_after + added) - set(removed))
        changes.append(_change('job_ids', None if current is None else list(current.get('job_ids') or []), desired,
                               'create' if current is None else 'update'))
    for action, payload in steps:
        if action in ('add_events', 'remove_events'):
            for event in payload:
                text = _event_text(event)
                changes.append(_change('events[%s]' % text, text if action == 'remove_events' else None,
                                       text if action == 'add_events' else None,
                                       'add' if action == 'add_events' else 'remove'))
    return changes


def _calendar_plan(entry, current):
    """``(action, changes, steps, error)`` of one calendar entry; a different description is a replace, refused
    naming the field unless ``recreate``."""
    if entry['state'] == 'absent':
        return ('delete', _calendar_changes(entry, current, []), [('delete', None)], None) if current else \
            (None, [], [], None)
    replace = current is not None and entry['description'] is not None and entry['description'] != current.get('description')
    if not replace:
        # exact mode: the new events are posted before the old ones are removed (plan_calendar), so coverage never lapses
        steps = plan_calendar(current, _calendar_desired(entry, current or {}, False))
        action = 'create' if current is None else 'update' if steps else None
        return action, _calendar_changes(entry, current, steps), steps, None
    # the fields as they differ (the description, and the jobs and events as an update would change them)
    changes = _calendar_changes(entry, current, plan_calendar(current, dict(
        _calendar_desired(entry, current, False), description=None)))
    if not entry['recreate']:
        message = ('ML calendar %s needs a replace, Elasticsearch cannot change its description (%r, declared %r); '
                   'nothing was changed (set recreate: true to back it up, delete it and create it again with its jobs '
                   'and events, or declare its description)' % (entry['id'], current.get('description'), entry['description']))
        return REPLACE, changes, [], message
    return REPLACE, changes, [('delete', None)] + plan_calendar(None, _calendar_desired(entry, current, True)), None


def _filter_users(filter_id, jobs_after):
    return sorted(job_id for job_id, config in (jobs_after or {}).items() if filter_id in referenced_filters(config))


def _stage(kind, entry, action, steps, operations, changes):
    stage = '%s_%s' % (kind, 'absent' if entry['state'] == 'absent' else 'config')
    return OrderedDict([
        ('stage', stage), ('kind', kind), ('state', entry['state']), ('selector', entry['id']), ('ids', [entry['id']]),
        ('actions', OrderedDict([(entry['id'], [step for step, _payload in steps])])), ('operations', operations),
        ('options', OrderedDict([('timeout', STAGE_TIMEOUT), ('config_action', action),
                                 ('steps', [[step, payload] for step, payload in steps]), ('changes', changes)]))])


def _row(kind, entry, current, action, steps, changes, error):
    moving = bool(steps) and error is None
    planned = ('absent' if entry['state'] == 'absent' else 'present') if moving else ('present' if current else 'absent')
    row = OrderedDict([('kind', kind), ('id', entry['id']), ('selector', entry['id']), ('desired', entry['state']),
                       ('before', 'present' if current is not None else 'absent'), ('planned', planned),
                       # a refused replace is drift too: the object differs from git, as a refused job replace does
                       ('actions', [step for step, _payload in steps] if moving else []), ('drift', moving or action == REPLACE),
                       ('unmentioned', False), ('config', action), ('config_changes', changes)])
    if kind == 'ml_calendars' and action == REPLACE:
        row['config_steps'] = row['actions']
    return row


def plan_declared(snapshot, declared, policy, upgrade_during, upgrade_refuses, jobs_after):
    """The filters and calendars of the document against the snapshot: ``{rows, stages, errors, unmanaged}``.

    ``snapshot``: ``ml_filters`` ``{id: {description, items}}`` and ``ml_calendars`` ``{id: {description, job_ids,
    events}}`` (``calendar_snapshot``/``filter_snapshot``; a kind left out was not read). ``declared``: the
    normalized entries per kind; ``policy``: per kind, ignore or report. ``upgrade_during``: ML upgrade mode as it
    will be then; ``upgrade_refuses``: whether this version refuses these requests in upgrade mode (7.8+).
    ``jobs_after``: ``{job_id: config}`` of the jobs as they will be after this plan's job changes (a filter one of
    them uses cannot be deleted), or None when the jobs were not read."""
    out = dict(rows=[], stages=[], errors=[], unmanaged=[], entries=OrderedDict((kind, []) for kind in DECLARED_KINDS))
    for kind in DECLARED_KINDS:
        objects = snapshot.get(kind) or {}
        for entry in declared[kind]:
            current = objects.get(entry['id'])
            if kind == 'ml_filters':
                action, changes, body = _filter_plan(entry, current)
                steps = [(action, body)] if action else []
                operations = [FILTER_OPERATIONS[action]] if action else []
                error = None
                users = _filter_users(entry['id'], jobs_after) if action == 'delete' else []
                if action == 'delete' and jobs_after is None:
                    error = ('ML filter %s: the jobs were not read, so whether one uses it cannot be told; nothing '
                             'was changed' % entry['id'])
                elif users:
                    error = ('ML filter %s cannot be deleted: job(s) %s still use it in a detector rule after this '
                             'plan; nothing was changed (remove the rule first)' % (entry['id'], ', '.join(users)))
            else:
                action, changes, steps, error = _calendar_plan(entry, current)
                operations = unique([CALENDAR_OPERATIONS[step] for step, _payload in steps])
            if error is None and steps and upgrade_during and upgrade_refuses:
                error = ('ML upgrade mode is enabled: Elasticsearch refuses to %s %s %s until it is disabled '
                         '(ml_upgrade_mode: false); nothing was changed' % (action, NOUNS[kind], entry['id']))
            if error:
                out['errors'].append(dict(kind=kind, selector=entry['id'], msg=error))
            row = _row(kind, entry, current, action, steps, changes, error)
            out['rows'].append(row)
            out['entries'][kind].append(OrderedDict([
                ('selector', entry['id']), ('state', entry['state']), ('objects', 1 if current is not None else 0),
                ('drift', 1 if row['drift'] else 0), ('failed', error is not None), ('unmentioned', False)]))
            if steps and error is None:
                out['stages'].append(_stage(kind, entry, action, steps, operations, changes))
        if policy[kind] == 'report':
            named = set(entry['id'] for entry in declared[kind])
            out['unmanaged'].extend(dict(kind=kind, id=object_id, state='present', policy='report')
                                    for object_id in sorted(objects) if object_id not in named)
    return out


def unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# -- apply ------------------------------------------------------------------------------------------------------------

def apply_declared_stage(client, stage, done):
    """Send one planned calendar or filter stage through MlCalendarApi/MlFilterApi; ``done`` collects the actions
    sent. Raises ElasticsearchError."""
    object_id = stage['ids'][0]
    steps = [tuple(step) for step in stage['options']['steps']]
    if stage['kind'] == 'ml_calendars':
        CalendarRun(client, object_id, api=MlCalendarApi(client)).apply(steps, done)
        return
    api = MlFilterApi(client)
    for action, body in steps:
        if action == 'create':
            api.put_filter(object_id, body['items'], description=body['description'])
        elif action == 'update':
            api.update_filter(object_id, add_items=body['add_items'], remove_items=body['remove_items'],
                              description=body['description'])
        else:
            try:
                api.delete_filter(object_id)
            except NotFound:
                pass    # deleted meanwhile: what was asked for
        done.append(action)


def describe_failure(stage, done, exc):
    text = to_native(exc)
    if done and done[0] == 'delete' and stage['options']['config_action'] == REPLACE:
        # the object is gone: a new run creates it from the document alone, so what it held beyond the document
        # (jobs, events) is only in the backup written before the delete
        text += (' (already done: %s; run again to create it from the document - what it held beyond the document is '
                 'in the backup written before the delete)' % ', '.join(done))
    elif done:
        text += ' (already done: %s; run again to finish)' % ', '.join(done)
    return '%s %s %s: %s' % (stage['options']['config_action'], NOUNS[stage['kind']], stage['ids'][0], text)
