# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML calendars and their scheduled events (module ``esops.jobs.ml_calendar``).

* ``MlCalendarApi``: the requests (``_ml/calendars``, ``_xpack/ml/calendars`` on 6.x;
  https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-ad-apis.html#ml-api-calendar-endpoint),
  through ``ClassifyingClient`` like every API class.
* ``plan_calendar(current, desired)``: pure, current calendar + declared calendar -> ordered steps. A future
  planner of declared calendars (issue 21) calls it with its own snapshot.
* ``run(module)``: read, plan, apply (never in check mode), exit.

Elasticsearch facts the plan relies on: a calendar's description cannot be changed (there is no update API; only
its jobs and events can: PUT/DELETE ``calendars/<id>/jobs/<ids>``, POST ``calendars/<id>/events``, DELETE
``calendars/<id>/events/<event_id>``); a calendar may name jobs or groups that do not exist (TransportPutCalendarAction
makes no job lookup); events get server-assigned ids and cannot be updated, so a declared event is matched by
description, start and end, and "changing" one is removing it and adding the new one; from 7.8 ML upgrade mode refuses
every calendar mutation with 429 (MlUpgradeModeActionFilter).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar as _calendar
import re
from collections import OrderedDict

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError, quote_path
from ansible_collections.esops.jobs.plugins.module_utils._convergence import PlanError
from ansible_collections.esops.jobs.plugins.module_utils._errors import AlreadyExists, NotFound, UpgradeModeOn
from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi, chunk_ids, validate_ml_ids
from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration

# GET events pages (PageParams: from/size; 10000 is the search window of the .ml-meta index).
EVENTS_PAGE_SIZE = 1000
_ISO_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?'
                     r'(Z|[+-]\d{2}:?\d{2})?$')
# The operation names of esops.jobs.privilege_check for each step (the run's privilege pre-check is derived from them).
STEP_OPERATIONS = OrderedDict([
    ('create', 'put_calendar'), ('add_jobs', 'update_calendar_jobs'), ('remove_jobs', 'update_calendar_jobs'),
    ('add_events', 'post_calendar_events'), ('remove_events', 'delete_calendar_event'), ('delete', 'delete_calendar'),
])


class MlCalendarApi(object):
    """Calendar requests, one per method; failed requests raise the classified errors of ``_errors``."""

    def __init__(self, client, ml_api=None):
        self.ml = ml_api or MlApi(client)
        self.client = self.ml.client

    def _path(self, *parts):
        return self.ml.base + quote_path('calendars', *parts)

    @property
    def refused_in_upgrade_mode(self):
        """7.8+: MlUpgradeModeActionFilter lists every mutating calendar action; before 7.8 only job open refused."""
        return self.ml.version >= (7, 8, 0)

    def calendar(self, calendar_id):
        """``{calendar_id, job_ids, description?}``, or None when there is no such calendar (404)."""
        try:
            body = self.client.request('GET', self._path(calendar_id)).body
        except NotFound:
            return None
        calendars = (body or {}).get('calendars') or []
        return calendars[0] if calendars else None

    def events(self, calendar_id):
        """Every scheduled event of the calendar (paged with from/size), as Elasticsearch returns them."""
        events = []
        while True:
            body = self.client.request('GET', self._path(calendar_id, 'events'),
                                       params={'from': len(events), 'size': EVENTS_PAGE_SIZE}).body or {}
            page = body.get('events') or []
            events.extend(page)
            if not page or len(events) >= int(body.get('count') or 0):
                return events

    def all_calendars(self):
        """Every calendar (``GET calendars`` paged with from/size, sorted by id; ``count`` counts them all):
        RestGetCalendarsAction registers ``calendars/`` and reads ``from``/``size`` as URL parameters on 6.x to 9.x."""
        return self.ml.read_paged(self.ml.base + '/calendars', 'calendars')

    def all_events(self):
        """The scheduled events of every calendar in one paged read, each naming its ``calendar_id``: ``GET
        calendars/_all/events`` ("You can get scheduled event information for all calendars by using _all", get
        calendar events API, 6.2+, https://www.elastic.co/guide/en/elasticsearch/reference/6.8/ml-get-calendar-event.html;
        GetCalendarEventsAction / TransportGetCalendarEventsAction)."""
        return self.ml.read_paged(self._path('_all', 'events'), 'events')

    def put_calendar(self, calendar_id, description, job_ids):
        body = {'job_ids': list(job_ids)}
        if description is not None:
            body['description'] = description
        return self.client.request('PUT', self._path(calendar_id), body=body).body

    def delete_calendar(self, calendar_id):
        return self.client.request('DELETE', self._path(calendar_id)).body

    def add_jobs(self, calendar_id, job_ids):
        for chunk in chunk_ids(job_ids):
            self.client.request('PUT', self._path(calendar_id, 'jobs', ','.join(chunk)))

    def remove_jobs(self, calendar_id, job_ids):
        for chunk in chunk_ids(job_ids):
            self.client.request('DELETE', self._path(calendar_id, 'jobs', ','.join(chunk)))

    def post_events(self, calendar_id, events):
        body = {'events': [dict((key, event[key]) for key in ('description', 'start_time', 'end_time'))
                           for event in events]}
        return self.client.request('POST', self._path(calendar_id, 'events'), body=body).body

    def delete_event(self, calendar_id, event_id):
        return self.client.request('DELETE', self._path(calendar_id, 'events', event_id)).body


# -- input ------------------------------------------------------------------------------------------------------------

def event_time(value, option):
    """Epoch milliseconds from epoch milliseconds (a number or digits) or an ISO 8601 date/time (UTC unless it names
    an offset, as Elasticsearch's strict_date_optional_time reads it). Raises ValueError naming ``option``."""
    if isinstance(value, bool) or value is None:
        raise ValueError('%s must be an ISO 8601 date/time or epoch milliseconds, got %r' % (option, value))
    if isinstance(value, (int, float)):
        return int(value)
    text = to_native(value).strip()
    if text.isdigit():
        return int(text)
    match = _ISO_RE.match(text)
    if not match:
        raise ValueError('%s=%r is not a date: use ISO 8601 (2026-01-31T22:00:00Z) or epoch milliseconds'
                         % (option, value))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        seconds = _calendar.timegm((int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                    int(second or 0), 0, 0, 0))
        if not (1 <= int(month) <= 12 and 1 <= int(day) <= _calendar.monthrange(int(year), int(month))[1]
                and int(hour or 0) < 24 and int(minute or 0) < 60 and int(second or 0) < 60):
            raise ValueError
    except ValueError:
        raise ValueError('%s=%r is not a valid date' % (option, value))
    if zone and zone != 'Z':
        digits = zone.replace(':', '')
        offset = int(digits[1:3]) * 3600 + int(digits[3:5]) * 60
        seconds -= offset if digits[0] == '+' else -offset
    millis = int((fraction or '0').ljust(3, '0')[:3])
    return seconds * 1000 + millis


def iso(millis):
    """Epoch milliseconds as ISO 8601 UTC (what results and messages show beside the milliseconds)."""
    import datetime
    when = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=int(millis))
    text = when.strftime('%Y-%m-%dT%H:%M:%S')
    if int(millis) % 1000:
        text += '.%03d' % (int(millis) % 1000)
    return text + 'Z'


def declared_events(events):
    """The ``events`` option -> [{description, start_time, end_time}] in epoch milliseconds (duplicates dropped).
    Raises ValueError with one line naming the event."""
    out = []
    for index, event in enumerate(events or []):
        where = 'events[%d]' % index
        description = event.get('description')
        if not description or not to_native(description).strip():
            raise ValueError('%s.description: every event needs a description (Elasticsearch requires one)' % where)
        start = event_time(event.get('start_time'), where + '.start_time')
        if event.get('end_time') is not None and event.get('duration') is not None:
            raise ValueError('%s: give end_time or duration, not both' % where)
        if event.get('end_time') is not None:
            end = event_time(event['end_time'], where + '.end_time')
        elif event.get('duration') is not None:
            end = start + int(round(parse_duration(event['duration'], where + '.duration') * 1000))
        else:
            raise ValueError('%s: give end_time or duration' % where)
        if end <= start:
            raise ValueError('%s: end_time %s must come after start_time %s' % (where, iso(end), iso(start)))
        item = {'description': description, 'start_time': start, 'end_time': end}
        if item not in out:
            out.append(item)
    return out


def declared_job_ids(job_ids):
    """Job ids and group names a calendar holds (no patterns: Elasticsearch stores them as given)."""
    tokens = validate_ml_ids(job_ids, 'job_ids') if job_ids else []
    for token in tokens:
        if '*' in token:
            raise ValueError("job_ids: %r is a pattern; a calendar holds job ids and group names as given "
                             "(Elasticsearch does not expand patterns there)" % token)
    return sorted(set(tokens))


def validate_calendar_id(calendar_id):
    """MlStrings.isValidId + the 64-character limit (PutCalendarAction.Request.validate); ``_all`` is reserved."""
    if calendar_id in ('_all', '*') or not calendar_id:
        raise ValueError('calendar_id: give one calendar id (%r is reserved)' % calendar_id)
    validate_ml_ids([calendar_id], 'calendar_id')
    if '*' in calendar_id or ',' in calendar_id:
        raise ValueError('calendar_id: give one calendar id, not a pattern or list (%r)' % calendar_id)
    return calendar_id


# -- plan ---------------------------------------------------------------------------------------------------------------

def event_key(event):
    return (event.get('description'), int(event['start_time']), int(event['end_time']))


def plain_event(event):
    return {'description': event.get('description'), 'start_time': int(event['start_time']),
            'end_time': int(event['end_time'])}


def plan_calendar(current, desired):
    """Steps [(action, payload)] that turn ``current`` into ``desired``. Pure.

    ``current``: None (no calendar) or ``{'description', 'job_ids', 'events': [{event_id, description, start_time,
    end_time}]}``. ``desired``: ``{'state': present|absent, 'description', 'job_ids' (None: not managed),
    'events' (declared, epoch ms; None: not managed), 'events_mode': add|exact}``. Raises PlanError when the
    declaration asks for something Elasticsearch cannot do (a different description of an existing calendar).
    Actions: create (description, job_ids), add_jobs, remove_jobs (ids), add_events (events), remove_events
    (events with their event_id), delete.
    """
    if desired['state'] == 'absent':
        return [('delete', None)] if current is not None else []
    job_ids = desired.get('job_ids')
    events = desired.get('events')
    steps = []
    if current is None:
        steps.append(('create', {'description': desired.get('description'), 'job_ids': job_ids or []}))
        if events:
            steps.append(('add_events', list(events)))
        return steps
    description = desired.get('description')
    if description is not None and description != current.get('description'):
        raise PlanError('calendar %s has the description %r, not %r: Elasticsearch cannot change the description of '
                        'a calendar; declare its description, or delete the calendar (state: absent, which deletes '
                        'its events too) and create it again' % (desired['calendar_id'], current.get('description'),
                                                                 description))
    if job_ids is not None:
        have = set(current.get('job_ids') or [])
        add = sorted(set(job_ids) - have)
        remove = sorted(have - set(job_ids))
        if add:
            steps.append(('add_jobs', add))
        if remove:
            steps.append(('remove_jobs', remove))
    if events is not None:
        unmatched = list(current.get('events') or [])
        missing = []
        for event in events:
            match = next((have for have in unmatched if event_key(have) == event_key(event)), None)
            if match is None:
                missing.append(event)
            else:
                unmatched.remove(match)
        if missing:
            steps.append(('add_events', missing))
        if desired.get('events_mode') == 'exact' and unmatched:
            steps.append(('remove_events', sorted(unmatched, key=event_key)))
    return steps


def predict(current, steps):
    """The calendar after ``steps`` (None when deleted or never created): what check mode reports."""
    after = None
    if current is not None:
        after = dict(current, job_ids=list(current.get('job_ids') or []), events=list(current.get('events') or []))
    for action, payload in steps:
        if action == 'delete':
            after = None
        elif action == 'create':
            after = {'description': payload['description'], 'job_ids': list(payload['job_ids']), 'events': []}
        elif action == 'add_jobs':
            after['job_ids'] = after['job_ids'] + payload
        elif action == 'remove_jobs':
            after['job_ids'] = [job for job in after['job_ids'] if job not in payload]
        elif action == 'add_events':
            after['events'] = after['events'] + [plain_event(event) for event in payload]
        elif action == 'remove_events':
            gone = [event.get('event_id') for event in payload]
            after['events'] = [event for event in after['events']
                               if event.get('event_id') is None or event.get('event_id') not in gone]
    return after


def operations(steps):
    """The esops.jobs.privilege_check operations the steps need, in step order."""
    out = []
    for action, _payload in steps:
        if STEP_OPERATIONS[action] not in out:
            out.append(STEP_OPERATIONS[action])
    return out


# -- run ----------------------------------------------------------------------------------------------------------------

class CalendarRun(object):
    """Read, plan and apply one declared calendar."""

    def __init__(self, client, calendar_id, api=None):
        self.calendar_id = calendar_id
        self.api = api or MlCalendarApi(client)

    def read(self):
        found = self.api.calendar(self.calendar_id)
        if found is None:
            return None
        return {'description': found.get('description'), 'job_ids': sorted(found.get('job_ids') or []),
                'events': self.api.events(self.calendar_id)}

    def check_upgrade_mode(self, steps):
        """Before the first mutation (and in check mode): 7.8+ refuses every calendar change in upgrade mode."""
        if steps and self.api.refused_in_upgrade_mode and self.api.ml.upgrade_mode():
            raise PlanError('ML upgrade mode is enabled, so Elasticsearch refuses to change calendar %s; disable '
                            'upgrade mode first (esops.jobs.ml_upgrade_mode). Nothing was changed.' % self.calendar_id)

    def apply(self, steps, done):
        """Send the steps in order; ``done`` collects the actions that were sent (for a failure's report)."""
        for action, payload in steps:
            if action == 'delete':
                try:
                    self.api.delete_calendar(self.calendar_id)
                except NotFound:
                    pass    # deleted meanwhile: what was asked for
            elif action == 'create':
                self.api.put_calendar(self.calendar_id, payload['description'], payload['job_ids'])
            elif action == 'add_jobs':
                self.api.add_jobs(self.calendar_id, payload)
            elif action == 'remove_jobs':
                self.api.remove_jobs(self.calendar_id, payload)
            elif action == 'add_events':
                self.api.post_events(self.calendar_id, payload)
            elif action == 'remove_events':
                for event in payload:
                    try:
                        self.api.delete_event(self.calendar_id, event['event_id'])
                    except NotFound:
                        pass    # removed meanwhile
            done.append(action)


def view(calendar_id, calendar):
    """What results and diffs show of a calendar (events in epoch ms and ISO 8601, sorted by start)."""
    if calendar is None:
        return {'calendar_id': calendar_id, 'state': 'absent'}
    events = []
    for event in sorted(calendar.get('events') or [], key=event_key):
        item = plain_event(event)
        item.update(start=iso(item['start_time']), end=iso(item['end_time']))
        if event.get('event_id'):
            item['event_id'] = event['event_id']
        events.append(item)
    return {'calendar_id': calendar_id, 'state': 'present', 'description': calendar.get('description'),
            'job_ids': sorted(calendar.get('job_ids') or []), 'events': events}


def events_of(calendar_id, steps, action):
    events = [event for step, payload in steps if step == action for event in payload]
    return view(calendar_id, {'events': events})['events']


def summary(calendar_id, steps, check_mode):
    if not steps:
        return 'calendar %s is as declared' % calendar_id
    words = {'create': 'create', 'delete': 'delete', 'add_jobs': 'add jobs %s', 'remove_jobs': 'remove jobs %s',
             'add_events': 'add %d event(s)', 'remove_events': 'remove %d event(s)'}
    parts = []
    for action, payload in steps:
        word = words[action]
        if '%s' in word:
            word = word % ', '.join(payload)
        elif '%d' in word:
            word = word % len(payload)
        parts.append(word)
    return 'calendar %s: %s%s' % (calendar_id, 'would ' if check_mode else '', '; '.join(parts))


def desired_from_params(params):
    """The module options -> the declaration plan_calendar takes. Raises ValueError with one line."""
    calendar_id = validate_calendar_id(params['calendar_id'])
    if params['state'] == 'absent':
        extra = [name for name in ('description', 'job_ids', 'events') if params.get(name) is not None]
        if extra:
            raise ValueError('state=absent deletes the calendar and its events; %s cannot be given with it'
                             % ', '.join(extra))
    return {'calendar_id': calendar_id, 'state': params['state'], 'description': params.get('description'),
            'job_ids': declared_job_ids(params['job_ids']) if params.get('job_ids') is not None else None,
            'events': declared_events(params['events']) if params.get('events') is not None else None,
            'events_mode': params.get('events_mode') or 'add'}


def run(module, calendar_run=None):
    """Converge one calendar, then exit or fail the module. Never returns."""
    try:
        desired = desired_from_params(module.params)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    calendar_id = desired['calendar_id']
    done = []
    try:
        calendar_run = calendar_run or CalendarRun(module.client, calendar_id)
        before = calendar_run.read()
        steps = plan_calendar(before, desired)
        calendar_run.check_upgrade_mode(steps)
        if not module.check_mode:
            calendar_run.apply(steps, done)
    except PlanError as exc:
        module.fail_json(msg=exc.message, changed=False)
    except ElasticsearchError as exc:
        message = to_native(exc)
        if isinstance(exc, UpgradeModeOn):
            message += ' (ML upgrade mode was enabled after the calendar was read)'
        elif isinstance(exc, AlreadyExists):
            message += ' (another run created it after this one read it; run again to converge it)'
        if done:
            message += ' (already done: %s; run again to finish)' % ', '.join(done)
        module.fail_json(msg=message, changed=bool(done), actions=done, status=exc.status, error_type=exc.error_type)
    after = predict(before, steps)
    result = dict(changed=bool(steps), calendar_id=calendar_id, state_before='present' if before else 'absent',
                  state_after='present' if after else 'absent', actions=[action for action, _p in steps],
                  operations=operations(steps), calendar=view(calendar_id, after),
                  events_added=events_of(calendar_id, steps, 'add_events'),
                  events_removed=events_of(calendar_id, steps, 'remove_events'),
                  msg=summary(calendar_id, steps, module.check_mode))
    if module._diff:
        result['diff'] = dict(before=view(calendar_id, before), after=view(calendar_id, after))
    module.exit_json(**result)
