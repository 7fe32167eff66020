"""ML calendars, scheduled events and filters (`_ml/calendars`, `_ml/filters`; `_xpack/ml/...` on 6.8).

Sources (elastic/elasticsearch, x-pack/plugin/core/.../xpack/core/ml and x-pack/plugin/ml/.../xpack/ml, read at the
7.x and 8.x/9.x branches; the 6.x classes where cited): calendars/Calendar.java, calendars/ScheduledEvent.java,
job/config/MlFilter.java, action/{Put,Get,Delete}CalendarAction, UpdateCalendarJobAction, PostCalendarEventsAction,
GetCalendarEventsAction, DeleteCalendarEventAction, {Put,Get,Update,Delete}FilterAction and their Transport* actions,
job/persistence/JobResultsProvider.java (calendar, updateCalendar, removeJobFromCalendars), job/messages/Messages.java,
MlUpgradeModeActionFilter.java; the behaviour is also exercised by ES's YAML tests ml/calendar_crud.yml and
ml/filter_crud.yml (read, never copied). Where a detail is inferred it says [I].

Every calendar, event and filter lives in the `.ml-meta` index in ES; here they live in `cluster.ml_calendars`,
`cluster.ml_events` (in posting order) and `cluster.ml_filters`, wiped by /_emulator/reset.
"""

import secrets
import string

from . import ml_config, parsing
from .errors import EsError, bad_request, job_not_found, not_found, too_many
from .parsing import Field, Parser
from .state import simple_match

ACTIONS = {
    'put_calendar': 'cluster:admin/xpack/ml/calendars/put',
    'get_calendars': 'cluster:monitor/xpack/ml/calendars/get',
    'delete_calendar': 'cluster:admin/xpack/ml/calendars/delete',
    'calendar_jobs': 'cluster:admin/xpack/ml/calendars/jobs/update',
    'get_events': 'cluster:monitor/xpack/ml/calendars/events/get',
    'post_events': 'cluster:admin/xpack/ml/calendars/events/post',
    'delete_event': 'cluster:admin/xpack/ml/calendars/event/delete',
    'put_filter': 'cluster:admin/xpack/ml/filters/put',
    # GetFiltersAction.NAME is an admin action: reading filters needs manage_ml, not monitor_ml.
    'get_filters': 'cluster:admin/xpack/ml/filters/get',
    'update_filter': 'cluster:admin/xpack/ml/filters/update',
    'delete_filter': 'cluster:admin/xpack/ml/filters/delete',
}
# MlUpgradeModeActionFilter.ACTIONS_DISALLOWED_IN_UPGRADE_MODE lists every mutating calendar and filter action (7.8+).
_UPGRADE_BLOCKED = ('put_calendar', 'delete_calendar', 'calendar_jobs', 'post_events', 'delete_event', 'put_filter',
                    'update_filter', 'delete_filter')

MAX_FILTER_ITEMS = 10000    # MlFilter.MAX_ITEMS
DEFAULT_SIZE = 100          # PageParams.DEFAULT_SIZE
_EVENT_ID_CHARS = string.ascii_letters + string.digits + '-_'

# Strict parsers (ObjectParser names as ES gives them: Calendar's is "calendar_id", MlFilter's "type").
CALENDAR = Parser('calendar_id', {'calendar_id': Field(), 'job_ids': Field(), 'description': Field(), 'type': Field()})
SCHEDULED_EVENT = Parser('scheduled_event', {
    'description': Field(), 'start_time': Field(), 'end_time': Field(), 'calendar_id': Field(), 'type': Field(),
    # ScheduledEvent SKIP_RESULT / SKIP_MODEL_UPDATE / FORCE_TIME_SHIFT: elastic/elasticsearch PR 112837 (Sept 2024);
    # 8.16 is the first minor cut after it [I for the exact minor].
    'skip_result': Field(since=(8, 16)), 'skip_model_update': Field(since=(8, 16)), 'force_time_shift': Field(since=(8, 16)),
})
POST_EVENTS = Parser(ACTIONS['post_events'], {'events': Field(parser=SCHEDULED_EVENT, array=True)})
FILTER = Parser('type', {'filter_id': Field(), 'description': Field(), 'items': Field(), 'type': Field()})
UPDATE_FILTER = Parser(ACTIONS['update_filter'], {
    'filter_id': Field(), 'description': Field(), 'add_items': Field(), 'remove_items': Field(),
})
PAGE = Parser('page', {'from': Field(), 'size': Field()})
GET_CALENDARS = Parser(ACTIONS['get_calendars'], {'calendar_id': Field(), 'page': Field(parser=PAGE)})


# ------------------------------------------------------------------ shared checks

def _mutation(req, key):
    """MlUpgradeModeActionFilter (7.8+; before it nothing but job open refused) and the ML license."""
    if req.cluster.upgrade_mode and req.pers.upgrade_mode_action_filter and key in _UPGRADE_BLOCKED:
        raise too_many('Cannot perform %s action while upgrade mode is enabled' % ACTIONS[key])
    req.cluster.check_ml_license()


def _require_body(req):
    # RestRequest.contentOrSourceParamParser: "request body is required" (ElasticsearchParseException).
    if not req.has_body:
        raise EsError(400, 'parse_exception', 'request body is required')
    return req.body if isinstance(req.body, dict) else {}


def _inconsistent(field, body_id, url_id):
    # Messages.INCONSISTENT_ID
    return "Inconsistent %s; '%s' specified in the body differs from '%s' specified as a URL argument" % (field, body_id, url_id)


def _invalid_id(field, value):
    # Messages.INVALID_ID
    return ("Invalid %s; '%s' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; "
            "must start and end with alphanumeric" % (field, value))


def _string_list(req, parser_name, field, value, path):
    """ObjectParser.declareStringArray: an array of strings (a lone string is accepted as one element)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise parsing.wrong_type(req, parser_name, field, path, 'START_OBJECT' if isinstance(value, dict) else 'VALUE_NUMBER')
    return list(value)


def _page(req, body_page=None):
    """PageParams from ?from/?size or the body's `page` (defaults 0 and 100)."""
    page = dict(body_page or {})
    for name in ('from', 'size'):
        if name in req.params:
            page[name] = req.params[name]
    try:
        start = int(page.get('from', 0))
        size = int(page.get('size', DEFAULT_SIZE))
    except (TypeError, ValueError):
        raise bad_request('Failed to parse int parameter [from/size]') from None
    if start < 0:
        raise bad_request('Parameter [from] cannot be < 0')
    if size < 0:
        raise bad_request('Parameter [size] cannot be < 0')
    return start, size, bool(page)


def _calendar_missing(ids):
    # JobResultsProvider.calendar / CalendarQueryBuilder.buildNotFoundException
    return not_found('No calendar with id [%s]' % ids)


def _filter_missing(filter_id):
    return not_found('No filter with id [%s] exists' % filter_id)   # Messages.FILTER_NOT_FOUND


def _filter_unknown(filter_ids):
    # TransportGetFiltersAction.notFoundException (7.x+, AbstractTransportGetResourcesAction): the unmatched ids.
    return not_found('Unable to find filter [%s]' % filter_ids)


def _expand_calendars(req, expr):
    """6.8: one literal id (TransportGetCalendarsAction.getCalendar). 7.x+: comma-separated ids and wildcards through
    CalendarQueryBuilder; only no match at all is a 404 ("No calendar with id [<tokens>]", buildNotFoundException)
    [I for the 7.x minor that added expressions]."""
    names = req.cluster.ml_calendars
    if req.pers.major < 7:
        if expr in names:
            return [expr]
        raise _calendar_missing(expr)
    tokens = [t for t in expr.split(',') if t]
    found = {n for n in names for t in tokens if simple_match(t, n)}
    if not found:
        raise _calendar_missing(','.join(tokens))
    return sorted(found)


def _expand_filters(req, expr):
    """AbstractTransportGetResourcesAction with allow_no_resources (ExpandedIdsMatcher): an exact id must match, a
    wildcard may match nothing; the 404 names the unmatched ids."""
    names = req.cluster.ml_filters
    found, unmatched = set(), []
    for token in [t for t in expr.split(',') if t]:
        hits = {n for n in names if simple_match(token, n)}
        if not hits and '*' not in token:
            unmatched.append(token)
        found |= hits
    if unmatched:
        raise _filter_unknown(','.join(unmatched))
    return sorted(found)


# ------------------------------------------------------------------ calendars

def _calendar_view(calendar):
    view = {'calendar_id': calendar['calendar_id'], 'job_ids': list(calendar['job_ids'])}
    if calendar.get('description') is not None:
        view['description'] = calendar['description']
    return view


def put_calendar(req):
    """RestPutCalendarAction: the body is optional; PutCalendarAction.Request.parseRequest, then validate(), then
    TransportPutCalendarAction indexes with op_type create. Job ids are not checked against jobs: a calendar may name
    groups that do not exist yet (ES PR 30757, 6.3; calendar_crud.yml "Test calendar actions with new job group")."""
    calendar_id = req.path_params['calendar_id']
    body = req.body if req.has_body and isinstance(req.body, dict) else {}
    CALENDAR.check(req, body)
    job_ids = _string_list(req, 'calendar_id', 'job_ids', body['job_ids'], ('job_ids',)) if 'job_ids' in body else []
    body_id = body.get('calendar_id')
    if body_id is not None and body_id != calendar_id:
        raise bad_request(_inconsistent('calendar_id', body_id, calendar_id))
    problems = []
    if calendar_id == '_all':
        problems.append('Cannot create a Calendar with the reserved name [_all]')
    if not ml_config.is_valid_id(calendar_id):
        problems.append(_invalid_id('calendar_id', calendar_id))
    if len(calendar_id) > 64:
        problems.append('The job id cannot contain more than 64 characters.')   # Messages.JOB_CONFIG_ID_TOO_LONG
    if problems:
        raise EsError(400, 'action_request_validation_exception',
                      'Validation Failed: ' + ''.join('%d: %s;' % (i, p) for i, p in enumerate(problems, 1)))
    _mutation(req, 'put_calendar')
    cluster = req.cluster
    if calendar_id in cluster.ml_calendars:
        raise bad_request('Cannot create calendar with id [%s] as it already exists' % calendar_id, 'status_exception')
    calendar = {'calendar_id': calendar_id, 'job_ids': job_ids, 'description': body.get('description')}
    cluster.ml_calendars[calendar_id] = calendar
    return _calendar_view(calendar)


def get_calendars(req):
    """GET|POST calendars[/<id>]: GetCalendarsAction.Request ("Params [from, size] are incompatible with
    [calendar_id]." when both are given; `_all` is every calendar), sorted by id, `count` before paging."""
    body = req.body if req.has_body and isinstance(req.body, dict) else {}
    GET_CALENDARS.check(req, body)
    calendar_id = req.path_params.get('calendar_id') or body.get('calendar_id')
    start, size, paged = _page(req, body.get('page'))
    if calendar_id is not None and paged and calendar_id != '_all':
        raise EsError(400, 'action_request_validation_exception',
                      'Validation Failed: 1: Params [from, size] are incompatible with [calendar_id].;')
    cluster = req.cluster
    if calendar_id is None or calendar_id == '_all':
        ids = sorted(cluster.ml_calendars)
    else:
        ids = _expand_calendars(req, calendar_id)
    return {'count': len(ids), 'calendars': [_calendar_view(cluster.ml_calendars[i]) for i in ids[start:start + size]]}


def delete_calendar(req):
    """TransportDeleteCalendarAction: 404 for an unknown calendar; its events go with it."""
    _mutation(req, 'delete_calendar')
    cluster = req.cluster
    calendar_id = req.path_params['calendar_id']
    if calendar_id not in cluster.ml_calendars:
        raise _calendar_missing(calendar_id)
    del cluster.ml_calendars[calendar_id]
    cluster.ml_events[:] = [e for e in cluster.ml_events if e['calendar_id'] != calendar_id]
    return {'acknowledged': True}


def _java_string_hash(text):
    """String.hashCode over UTF-16 code units, as a 32-bit unsigned value."""
    data = text.encode('utf-16-be')
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], 'big')) & 0xFFFFFFFF
    return h


def _hash_set_order(initial, added=(), removed=()):
    """The iteration order of the java.util.HashSet JobResultsProvider.updateCalendar builds (`new HashSet<>(job_ids)`,
    addAll, removeAll; the stored list is `new ArrayList<>(set)`): buckets in index order, bucket =
    (h ^ h >>> 16) & (capacity - 1), one bucket's entries in insertion order (HashMap keeps it across resizes).
    Capacity: `new HashMap<>(max((int) (n / .75f) + 1, 16))` rounded up to a power of two, doubled whenever the size
    passes 0.75 * capacity while adding."""
    order = list(dict.fromkeys(initial))
    capacity = 16
    while capacity < max(int(len(order) / 0.75) + 1, 16):
        capacity *= 2
    for item in added:
        if item not in order:
            order.append(item)
            if len(order) > capacity * 0.75:
                capacity *= 2
    kept = [item for item in order if item not in set(removed)]

    def bucket(item):
        h = _java_string_hash(item)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(kept, key=lambda item: (bucket(item), order.index(item)))


def calendar_jobs(req):
    """PUT|DELETE calendars/<id>/jobs/<job_or_group[,...]>: TransportUpdateCalendarJobAction + JobResultsProvider
    .updateCalendar. Removing an id the calendar does not hold is a 400; job ids are never checked against jobs.
    The stored list comes back in HashSet order (see _hash_set_order)."""
    _mutation(req, 'calendar_jobs')
    cluster = req.cluster
    calendar_id = req.path_params['calendar_id']
    calendar = cluster.ml_calendars.get(calendar_id)
    if calendar is None:
        raise _calendar_missing(calendar_id)
    tokens = [t.strip() for t in req.path_params['job_id'].split(',') if t.strip()]
    current = list(calendar['job_ids'])
    if req.method == 'DELETE':
        for token in tokens:
            if token not in current:
                raise bad_request('Cannot remove [%s] as it is not present in calendar [%s]' % (token, calendar_id),
                                  'status_exception')
        calendar['job_ids'] = _hash_set_order(current, removed=tokens)
    else:
        calendar['job_ids'] = _hash_set_order(current, added=tokens)
    return _calendar_view(calendar)


def remove_job(cluster, job_id):
    """JobResultsProvider.removeJobFromCalendars, a step of every job deletion (JobManager.deleteJob on 6.x,
    TransportDeleteJobAction from 7.x; calendar_crud.yml "Test deleted job is removed from calendar"): the other
    ids keep their order."""
    for calendar in cluster.ml_calendars.values():
        if job_id in calendar['job_ids']:
            calendar['job_ids'] = [j for j in calendar['job_ids'] if j != job_id]


# ------------------------------------------------------------------ scheduled events

def _event_time(req, value, field, index):
    """TimeUtils.parseTimeFieldToInstant, called while ObjectParser reads the event: a JSON number is epoch millis;
    a string goes through DateFieldMapper.DEFAULT_DATE_TIME_FORMATTER (strict_date_optional_time||epoch_millis), whose
    IllegalArgumentException ObjectParser wraps per level; any other token is "unexpected token [..] for [field]"
    (x-pack core common/time/TimeUtils.java, 7.x/8.x). The older TimeUtils.dateStringToEpoch path (a string of up to
    10 digits is seconds, an unparsable one -1) is taken for 6.8 [I: which 6.x/7.x minor switched is not pinned]."""
    from .ml import _parse_plain_date   # pylint: disable=import-outside-toplevel
    if isinstance(value, (dict, list)):
        # ValueType.VALUE takes no object or array: ObjectParser refuses the token before the field parser runs.
        inner = parsing.wrong_type(req, 'scheduled_event', field, ('events', index, field),
                                   'START_OBJECT' if isinstance(value, dict) else 'START_ARRAY')
        raise _wrap_events(req, field, index, inner)
    if isinstance(value, bool):
        raise _event_field_error(req, field, index, bad_request('unexpected token [VALUE_BOOLEAN] for [%s]' % field))
    if not isinstance(value, str):
        return int(value)
    if req.pers.major < 7:
        if value.strip().lstrip('-').isdigit():
            return int(value) * 1000 if len(value.strip()) <= 10 else int(value)
        millis = _parse_plain_date(value)
        return -1 if millis is None else millis
    millis = _parse_plain_date(value)
    if millis is None:
        raise _event_field_error(req, field, index, bad_request(
            'failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]' % value))
    return millis


def _event_field_error(req, field, index, cause):
    """ObjectParser's two wrappers: the event's field, then the request's `events` array."""
    inner = parsing.failed_to_parse(req, 'scheduled_event', field, ('events', index, field), cause, 'value')
    inner.unknown_path = None
    return _wrap_events(req, field, index, inner)


def _wrap_events(req, field, index, inner):
    outer = parsing.failed_to_parse(req, ACTIONS['post_events'], 'events', ('events', index, field), inner, 'value')
    outer.unknown_path = None
    return outer


def _instant(millis):
    """Instant.toString (ISO 8601, UTC, seconds precision unless there are milliseconds)."""
    from datetime import datetime, timezone   # pylint: disable=import-outside-toplevel
    when = datetime.fromtimestamp(millis / 1000.0, tz=timezone.utc)
    text = when.strftime('%Y-%m-%dT%H:%M:%S')
    if millis % 1000:
        text += '.%03d' % (millis % 1000)
    return text + 'Z'


def _event_view(req, event, with_id=True):
    """ScheduledEvent.toXContent: times as epoch millis; skip_result/skip_model_update (and force_time_shift when set)
    on 8.16+; event_id once stored."""
    view = {'description': event['description'], 'start_time': event['start_time'], 'end_time': event['end_time']}
    if req.pers.at_least(8, 16):
        view['skip_result'] = event['skip_result']
        view['skip_model_update'] = event['skip_model_update']
        if event.get('force_time_shift') is not None:
            view['force_time_shift'] = event['force_time_shift']
    view['calendar_id'] = event['calendar_id']
    if with_id:
        view['event_id'] = event['event_id']
    return view


def _parse_event_times(req, raw, index):
    """The times as ObjectParser reads them, in document order (before any calendar_id or build() check)."""
    return {field: _event_time(req, raw[field], field, index) for field in raw
            if field in ('start_time', 'end_time') and raw[field] is not None}


def _build_event(req, calendar_id, raw, times):
    """ScheduledEvent.Builder.build: description, start_time and end_time are required (Messages.FIELD_CANNOT_BE_NULL,
    400), start strictly before end."""
    for field in ('description', 'start_time', 'end_time'):
        if raw.get(field) is None:
            raise bad_request('Field [%s] cannot be null' % field, 'status_exception')
    start, end = times['start_time'], times['end_time']
    if start >= end:
        raise bad_request('Event start time [%s] must come before end time [%s]' % (_instant(start), _instant(end)),
                          'status_exception')
    event = {'description': raw['description'], 'start_time': start, 'end_time': end, 'calendar_id': calendar_id}
    if req.pers.at_least(8, 16):
        event['skip_result'] = raw.get('skip_result') is None or bool(raw.get('skip_result'))
        event['skip_model_update'] = raw.get('skip_model_update') is None or bool(raw.get('skip_model_update'))
        event['force_time_shift'] = raw.get('force_time_shift')
    return event


def post_events(req):
    """PostCalendarEventsAction.Request.parseRequest (REST layer: strict parse, an event's calendar_id must match the
    URL, every event built, "At least 1 event is required"), then TransportPostCalendarEventsAction: the calendar must
    exist; each event is indexed under a generated id. The response echoes the events as built, without event_id."""
    body = _require_body(req)
    POST_EVENTS.check(req, body)
    calendar_id = req.path_params['calendar_id']
    raws = body.get('events') or []
    times = [_parse_event_times(req, raw, index) for index, raw in enumerate(raws)]
    for raw in raws:
        if raw.get('calendar_id') is not None and raw['calendar_id'] != calendar_id:
            raise bad_request(_inconsistent('calendar_id', raw['calendar_id'], calendar_id), 'status_exception')
    events = [_build_event(req, calendar_id, raw, parsed) for raw, parsed in zip(raws, times)]
    if not events:
        raise bad_request('At least 1 event is required', 'status_exception')
    _mutation(req, 'post_events')
    cluster = req.cluster
    if calendar_id not in cluster.ml_calendars:
        raise _calendar_missing(calendar_id)
    for event in events:
        # The bulk index's auto-generated document id (20 URL-safe characters) is the event id.
        event['event_id'] = ''.join(secrets.choice(_EVENT_ID_CHARS) for _position in range(20))
        cluster.ml_events.append(event)
    return {'events': [_event_view(req, e, with_id=False) for e in events]}


def _event_calendars(req, calendar_expr):
    cluster = req.cluster
    tokens = [t for t in calendar_expr.split(',') if t]
    if not tokens or all(t in ('_all', '*') for t in tokens):
        return set(cluster.ml_calendars)
    found = set()
    for token in tokens:
        hits = [c for c in cluster.ml_calendars if simple_match(token, c)] if '*' in token else (
            [token] if token in cluster.ml_calendars else [])
        found.update(hits)
    if not found:
        raise _calendar_missing(','.join(tokens))
    return found


def get_events(req):
    """GET calendars/<id|_all|*>/events: GetCalendarEventsAction.Request.validate (job_id needs calendar `_all`),
    TransportGetCalendarEventsAction (the calendars must exist; a job_id that is neither a job nor a group is a 404;
    a job's events are those of calendars naming the job or one of its groups), ScheduledEventsQueryBuilder (an event
    is kept when end_time > start and start_time < end; sorted by start_time; `count` before paging)."""
    calendar_expr = req.path_params['calendar_id']
    job_id = req.params.get('job_id')
    if job_id is not None and calendar_expr != '_all':
        raise EsError(400, 'action_request_validation_exception',
                      "Validation Failed: 1: If job_id is used calendar_id must be '_all';")
    start, size, _paged = _page(req)
    calendars = _event_calendars(req, calendar_expr)
    cluster = req.cluster
    if job_id is not None:
        job = cluster.ml_jobs.get(job_id)
        if job is not None:
            names = {job_id} | set(job['config'].get('groups') or [])
        elif any(job_id in (j['config'].get('groups') or []) for j in cluster.ml_jobs.values()):
            names = {job_id}
        else:
            raise job_not_found(job_id)
        if req.pers.at_least(7, 7):
            # Global calendars: `_all` in job_ids applies to every job (CalendarQueryBuilder adds it to the job and
            # group terms; ES PR 50372, 7.x backport PR 52578 of Feb 2020, i.e. 7.7 [I for the minor]).
            names.add('_all')
        calendars = {c for c in calendars if names & set(cluster.ml_calendars[c]['job_ids'])}
    from .ml import _parse_plain_date   # pylint: disable=import-outside-toplevel
    after = _parse_plain_date(req.params['start']) if 'start' in req.params else None
    before = _parse_plain_date(req.params['end']) if 'end' in req.params else None
    events = [e for e in cluster.ml_events if e['calendar_id'] in calendars
              and (after is None or e['end_time'] > after) and (before is None or e['start_time'] < before)]
    events.sort(key=lambda e: e['start_time'])
    return {'count': len(events), 'events': [_event_view(req, e) for e in events[start:start + size]]}


def delete_event(req):
    """TransportDeleteCalendarEventAction: the calendar first (404), then the event (404 "No event with id [x]"), then
    400 when it belongs to another calendar."""
    _mutation(req, 'delete_event')
    cluster = req.cluster
    calendar_id = req.path_params['calendar_id']
    event_id = req.path_params['event_id']
    if calendar_id not in cluster.ml_calendars:
        raise _calendar_missing(calendar_id)
    event = next((e for e in cluster.ml_events if e['event_id'] == event_id), None)
    if event is None:
        raise not_found('No event with id [%s]' % event_id)
    if event['calendar_id'] != calendar_id:
        raise bad_request('Event [%s] has calendar_id [%s] which does not match the request calendar_id [%s]'
                          % (event_id, event['calendar_id'], calendar_id), 'status_exception')
    cluster.ml_events.remove(event)
    return {'acknowledged': True}


# ------------------------------------------------------------------ filters

def _filter_view(flt):
    view = {'filter_id': flt['filter_id']}
    if flt.get('description') is not None:
        view['description'] = flt['description']
    view['items'] = list(flt['items'])
    return view


def _checked_items(filter_id, items):
    """MlFilter.Builder.build: items are a sorted set; more than MAX_ITEMS is a 400 (Messages.FILTER_CONTAINS_TOO_MANY_ITEMS,
    MessageFormat prints the limit with a grouping separator)."""
    unique = sorted(set(items))
    if len(unique) > MAX_FILTER_ITEMS:
        raise bad_request('Filter [%s] contains too many items; up to [%s] items are allowed'
                          % (filter_id, '{:,}'.format(MAX_FILTER_ITEMS)), 'status_exception')
    return unique


def put_filter(req):
    """PutFilterAction.Request.parseRequest (MlFilter.STRICT_PARSER, URL and body id must match: IllegalArgumentException),
    MlFilter.Builder.build (MlStrings.isValidId only: no length limit), TransportPutFilterAction (op_type create:
    ResourceAlreadyExistsException)."""
    body = _require_body(req)
    FILTER.check(req, body)
    filter_id = req.path_params['filter_id']
    if body.get('filter_id') is not None and body['filter_id'] != filter_id:
        raise bad_request(_inconsistent('filter_id', body['filter_id'], filter_id))
    if not ml_config.is_valid_id(filter_id):
        raise bad_request(_invalid_id('filter_id', filter_id), 'status_exception')
    items = _string_list(req, 'type', 'items', body['items'], ('items',)) if 'items' in body else []
    items = _checked_items(filter_id, items)
    _mutation(req, 'put_filter')
    cluster = req.cluster
    if filter_id in cluster.ml_filters:
        raise EsError(400, 'resource_already_exists_exception', 'A filter with id [%s] already exists' % filter_id)
    flt = {'filter_id': filter_id, 'description': body.get('description'), 'items': items}
    cluster.ml_filters[filter_id] = flt
    return _filter_view(flt)


def get_filters(req):
    """GET filters[/<id>] with from/size. 7.x+ (TransportGetFiltersAction as an AbstractTransportGetResourcesAction):
    id expressions (comma, wildcards), sorted by id, `count` = every match, an unknown id is a 404 "Unable to find
    filter [x]". 6.8 (the older TransportGetFiltersAction): one literal id (a missing one is
    QueryPage.emptyQueryPage's 404 "Could not find requested filters"), or a page of filters in index order whose
    `count` is the page's length. The 7.x minor of the switch is [I] (every 7.x personality here is 7.13+)."""
    start, size, paged = _page(req)
    cluster = req.cluster
    filter_id = req.path_params.get('filter_id')
    if req.pers.major < 7:
        if filter_id is not None and paged:
            # 6.x GetFiltersAction.Request.validate (no trailing period, unlike GetCalendarsAction's); the 7.x
            # AbstractGetResourcesRequest of 7.13+ has no such check [I for the minor that dropped it].
            raise EsError(400, 'action_request_validation_exception',
                          'Validation Failed: 1: Params [from, size] are incompatible with [filter_id];')
        if filter_id is not None:
            if filter_id not in cluster.ml_filters:
                raise not_found('Could not find requested filters')
            return {'count': 1, 'filters': [_filter_view(cluster.ml_filters[filter_id])]}
        page = list(cluster.ml_filters)[start:start + size]
        return {'count': len(page), 'filters': [_filter_view(cluster.ml_filters[i]) for i in page]}
    if filter_id is None or filter_id == '_all':
        ids = sorted(cluster.ml_filters)
    else:
        ids = _expand_filters(req, filter_id)
    return {'count': len(ids), 'filters': [_filter_view(cluster.ml_filters[i]) for i in ids[start:start + size]]}


def update_filter(req):
    """UpdateFilterAction.Request.parseRequest + TransportUpdateFilterAction.updateFilter: description replaces,
    add_items then remove_items (each removed item must be present, else 400); an empty update is a no-op."""
    body = _require_body(req)
    UPDATE_FILTER.check(req, body)
    filter_id = req.path_params['filter_id']
    if body.get('filter_id') is not None and body['filter_id'] != filter_id:
        raise bad_request(_inconsistent('filter_id', body['filter_id'], filter_id))
    name = ACTIONS['update_filter']
    add = _string_list(req, name, 'add_items', body['add_items'], ('add_items',)) if 'add_items' in body else []
    remove = _string_list(req, name, 'remove_items', body['remove_items'], ('remove_items',)) if 'remove_items' in body else []
    _mutation(req, 'update_filter')
    cluster = req.cluster
    flt = cluster.ml_filters.get(filter_id)
    if flt is None:
        raise _filter_missing(filter_id)
    if body.get('description') is None and not add and not remove:
        return _filter_view(flt)
    items = set(flt['items']) | set(add)
    for item in sorted(set(remove)):
        if item not in items:
            raise bad_request('Cannot remove item [%s] as it is not present in filter [%s]' % (item, filter_id),
                              'status_exception')
        items.discard(item)
    updated = {'filter_id': filter_id, 'description': body['description'] if body.get('description') is not None
               else flt.get('description'), 'items': _checked_items(filter_id, items)}
    cluster.ml_filters[filter_id] = updated
    return _filter_view(updated)


def jobs_using_filter(cluster, filter_id):
    """TransportDeleteFilterAction.findJobsUsingFilter: jobs (sorted by id, as JobConfigProvider.findJobsWithCustomRules
    returns them [I]) with a detector whose custom_rules scope names the filter."""
    users = []
    for job_id in sorted(cluster.ml_jobs):
        if filter_id in referenced_filters(cluster.ml_jobs[job_id]['config']):
            users.append(job_id)
    return users


def referenced_filters(job_config):
    """AnalysisConfig.extractReferencedFilters: every filter a detector's rule scope names (a HashSet)."""
    detectors = (job_config.get('analysis_config') or {}).get('detectors') or []
    return _hash_set_order([], added=[ref.get('filter_id') for det in detectors for rule in det.get('custom_rules') or []
                                      for ref in (rule.get('scope') or {}).values() if ref.get('filter_id')])


def check_rule_filters_on_open(req, job_config):
    """TransportOpenJobAction (8.6+, ES PR 92207 and its 8.6 backport 92226): before the task starts, the filters the
    job's rules reference are fetched with GetFiltersAction; a missing one fails the open with that action's 404.
    Before 8.6 the open was accepted and the job then failed without a reason (the PR's description)."""
    if not req.pers.at_least(8, 6):
        return
    refs = referenced_filters(job_config)
    missing = [f for f in refs if f not in req.cluster.ml_filters]
    if missing:
        raise _filter_unknown(','.join(missing))


def delete_filter(req):
    """TransportDeleteFilterAction: 409 while a job's rule scope uses it (Messages.FILTER_CANNOT_DELETE, the job list
    printed as a Java list), 404 when it does not exist."""
    _mutation(req, 'delete_filter')
    cluster = req.cluster
    filter_id = req.path_params['filter_id']
    users = jobs_using_filter(cluster, filter_id)
    if users:
        raise EsError(409, 'status_exception', 'Cannot delete filter [%s] currently used by jobs [%s]'
                      % (filter_id, ', '.join(users)))
    if filter_id not in cluster.ml_filters:
        raise not_found('Could not delete filter with ID [%s] because it does not exist' % filter_id)
    del cluster.ml_filters[filter_id]
    return {'acknowledged': True}


# ------------------------------------------------------------------ routes

def _paging(_pers, _compat7):
    return {'from', 'size'}


def routes(_pers):
    """(method, path under _ml / _xpack/ml, handler, action, query params, body_wins); every route exists on 6.8-9.1
    (calendars and filters are 6.2+ / 6.1+ APIs; ml.*calendar* / ml.*filter* in the REST spec)."""
    cal = '/calendars/{calendar_id}'
    specs = [
        ('PUT', cal, put_calendar, 'put_calendar', ()),
        ('GET', '/calendars', get_calendars, 'get_calendars', _paging),
        ('GET', cal, get_calendars, 'get_calendars', _paging),
        ('POST', '/calendars', get_calendars, 'get_calendars', _paging),
        ('POST', cal, get_calendars, 'get_calendars', _paging),
        ('DELETE', cal, delete_calendar, 'delete_calendar', ()),
        ('PUT', cal + '/jobs/{job_id}', calendar_jobs, 'calendar_jobs', ()),
        ('DELETE', cal + '/jobs/{job_id}', calendar_jobs, 'calendar_jobs', ()),
        ('GET', cal + '/events', get_events, 'get_events', ('job_id', 'start', 'end', 'from', 'size')),
        ('POST', cal + '/events', post_events, 'post_events', ()),
        ('DELETE', cal + '/events/{event_id}', delete_event, 'delete_event', ()),
        ('PUT', '/filters/{filter_id}', put_filter, 'put_filter', ()),
        ('GET', '/filters', get_filters, 'get_filters', _paging),
        ('GET', '/filters/{filter_id}', get_filters, 'get_filters', _paging),
        ('POST', '/filters/{filter_id}/_update', update_filter, 'update_filter', ()),
        ('DELETE', '/filters/{filter_id}', delete_filter, 'delete_filter', ()),
    ]
    return [(m, p, h, ACTIONS[k], params, False) for m, p, h, k, params in specs]
