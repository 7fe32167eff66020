"""ML calendars, scheduled events and filters per personality (issue 23 item 3).

Our own cases, written after the Elasticsearch sources cited in tests/emulator/ml_calendars.py and the behaviour ES's
YAML tests ml/calendar_crud.yml and ml/filter_crud.yml (x-pack/plugin/src/yamlRestTest/..., elastic/elasticsearch)
exercise; none of their text is copied.
"""

import pytest

from .conftest import Client

VERSIONS = ('6.8.23', '7.13.4', '7.17.28', '9.1.5')
JOB = {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]}, 'data_description': {}}
DAY = 86400000
T0 = 1767225600000   # 2026-01-01T00:00:00Z


def base(version):
    return '/_xpack/ml' if version.startswith('6') else '/_ml'


def err(resp):
    return resp.status, resp.body['error']['type'], resp.body['error']['reason']


def setup(emu_factory, version, **kwargs):
    es = Client(emu_factory(version, **kwargs))
    return es, base(version)


def put_job(es, b, job_id, **extra):
    body = dict(JOB)
    body.update(extra)
    resp = es('PUT', '%s/anomaly_detectors/%s' % (b, job_id), body)
    assert resp.status == 200, resp.body
    return resp


def event(description, start, end, **extra):
    out = {'description': description, 'start_time': start, 'end_time': end}
    out.update(extra)
    return out


# ---------------------------------------------------------------- calendars

@pytest.mark.parametrize('version', VERSIONS)
def test_calendar_crud_and_job_ids_read_back(emu_factory, version):
    es, b = setup(emu_factory, version)
    put_job(es, b, 'cal-job')
    resp = es('PUT', b + '/calendars/advent', {'job_ids': ['cal-job', 'no-such-group'], 'description': 'holidays'})
    # Job ids are not checked: a calendar may name a group no job has yet (PR 30757; TransportPutCalendarAction).
    assert resp.status == 200
    assert resp.body == {'calendar_id': 'advent', 'job_ids': ['cal-job', 'no-such-group'], 'description': 'holidays'}
    assert es('PUT', b + '/calendars/empty').body == {'calendar_id': 'empty', 'job_ids': []}
    got = es('GET', b + '/calendars/advent').body
    assert got == {'count': 1, 'calendars': [{'calendar_id': 'advent', 'job_ids': ['cal-job', 'no-such-group'],
                                              'description': 'holidays'}]}
    assert es('GET', b + '/calendars').body['count'] == 2
    assert es('GET', b + '/calendars/_all').body['count'] == 2
    assert es('DELETE', b + '/calendars/empty').body == {'acknowledged': True}
    assert err(es('GET', b + '/calendars/empty')) == (404, 'resource_not_found_exception', 'No calendar with id [empty]')
    assert err(es('DELETE', b + '/calendars/empty')) == (404, 'resource_not_found_exception', 'No calendar with id [empty]')


@pytest.mark.parametrize('version', VERSIONS)
def test_put_calendar_refusals(emu_factory, version):
    es, b = setup(emu_factory, version)
    es('PUT', b + '/calendars/mayan')
    assert err(es('PUT', b + '/calendars/mayan')) == (
        400, 'status_exception', 'Cannot create calendar with id [mayan] as it already exists')
    assert err(es('PUT', b + '/calendars/_all')) == (
        400, 'action_request_validation_exception',
        "Validation Failed: 1: Cannot create a Calendar with the reserved name [_all];2: Invalid calendar_id; '_all' can "
        "contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start and end with alphanumeric;")
    status, kind, _reason = err(es('PUT', b + '/calendars/Mayas'))
    assert (status, kind) == (400, 'action_request_validation_exception')
    assert err(es('PUT', b + '/calendars/a', {'calendar_id': 'b'})) == (
        400, 'illegal_argument_exception',
        "Inconsistent calendar_id; 'b' specified in the body differs from 'a' specified as a URL argument")
    status, kind, reason = err(es('PUT', b + '/calendars/c', {'job_id': ['x']}))
    assert (status, kind) == (400, 'x_content_parse_exception')
    assert '[calendar_id] unknown field [job_id]' in reason


@pytest.mark.parametrize('version', VERSIONS)
def test_get_calendars_paging(emu_factory, version):
    es, b = setup(emu_factory, version)
    for name in ('calendar3', 'calendar1', 'calendar2'):
        es('PUT', b + '/calendars/' + name)
    page = es('GET', b + '/calendars?from=1&size=1').body
    assert page == {'count': 3, 'calendars': [{'calendar_id': 'calendar2', 'job_ids': []}]}
    body_page = es('POST', b + '/calendars', {'page': {'from': 1, 'size': 2}}).body
    assert [c['calendar_id'] for c in body_page['calendars']] == ['calendar2', 'calendar3']
    assert err(es('GET', b + '/calendars/calendar1?size=10')) == (
        400, 'action_request_validation_exception', 'Validation Failed: 1: Params [from, size] are incompatible with [calendar_id].;')


@pytest.mark.parametrize('version', VERSIONS)
def test_calendar_jobs_add_remove_and_job_deletion(emu_factory, version):
    es, b = setup(emu_factory, version)
    for job_id in ('foo-a', 'foo-b', 'bar-a'):
        put_job(es, b, job_id)
    es('PUT', b + '/calendars/expression', {'job_ids': ['bar-a']})
    added = es('PUT', b + '/calendars/expression/jobs/foo-a,foo-b').body
    # The stored list is a java.util.HashSet's iteration order (JobResultsProvider.updateCalendar), not input order.
    assert added == {'calendar_id': 'expression', 'job_ids': ['bar-a', 'foo-b', 'foo-a']}
    assert err(es('DELETE', b + '/calendars/expression/jobs/otter')) == (
        400, 'status_exception', 'Cannot remove [otter] as it is not present in calendar [expression]')
    assert err(es('PUT', b + '/calendars/nope/jobs/foo-a')) == (404, 'resource_not_found_exception', 'No calendar with id [nope]')
    removed = es('DELETE', b + '/calendars/expression/jobs/foo-b').body
    assert removed['job_ids'] == ['bar-a', 'foo-a']
    # Deleting a job removes it from every calendar (JobResultsProvider.removeJobFromCalendars).
    assert es('DELETE', b + '/anomaly_detectors/bar-a').status == 200
    assert es('GET', b + '/calendars/expression').body['calendars'][0]['job_ids'] == ['foo-a']


# ---------------------------------------------------------------- scheduled events

@pytest.mark.parametrize('version', VERSIONS)
def test_post_and_get_events(emu_factory, version):
    es, b = setup(emu_factory, version)
    es('PUT', b + '/calendars/events')
    posted = es('POST', b + '/calendars/events/events', {'events': [
        event('event 1', T0, T0 + DAY), event('event 2', '2026-01-05T00:00:00Z', '2026-01-06T00:00:00Z'),
        event('event 3', T0 + 11 * DAY, T0 + 12 * DAY, calendar_id='events')]})
    assert posted.status == 200
    first = {'description': 'event 1', 'start_time': T0, 'end_time': T0 + DAY}
    if version.startswith('9'):
        first.update(skip_result=True, skip_model_update=True)
    first['calendar_id'] = 'events'
    assert posted.body['events'][0] == first      # the response has no event_id
    got = es('GET', b + '/calendars/events/events').body
    assert got['count'] == 3 and [e['description'] for e in got['events']] == ['event 1', 'event 2', 'event 3']
    assert all(len(e['event_id']) == 20 for e in got['events'])
    # end_time > start and start_time < end (ScheduledEventsQueryBuilder).
    window = es('GET', b + '/calendars/events/events?start=2026-01-02T00:00:00Z&end=2026-01-12T00:00:00Z').body
    assert [e['description'] for e in window['events']] == ['event 2']
    paged = es('GET', b + '/calendars/events/events?from=1&size=1').body
    assert paged['count'] == 3 and [e['description'] for e in paged['events']] == ['event 2']


@pytest.mark.parametrize('version', VERSIONS)
def test_post_events_validation(emu_factory, version):
    es, b = setup(emu_factory, version)
    es('PUT', b + '/calendars/cal')
    path = b + '/calendars/cal/events'
    assert err(es('POST', path, {'events': [event('e', T0 + DAY, T0)]})) == (
        400, 'status_exception', 'Event start time [2026-01-02T00:00:00Z] must come before end time [2026-01-01T00:00:00Z]')
    assert err(es('POST', path, {'events': [event('e', T0, T0)]}))[2].startswith('Event start time [2026-01-01T00:00:00Z]')
    assert err(es('POST', path, {'events': [{'start_time': T0, 'end_time': T0 + DAY}]})) == (
        400, 'status_exception', 'Field [description] cannot be null')
    assert err(es('POST', path, {'events': []})) == (400, 'status_exception', 'At least 1 event is required')
    assert err(es('POST', path, {'events': [event('e', T0, T0 + DAY, calendar_id='other')]})) == (
        400, 'status_exception', "Inconsistent calendar_id; 'other' specified in the body differs from 'cal' specified as a URL argument")
    assert err(es('POST', b + '/calendars/nope/events', {'events': [event('e', T0, T0 + DAY)]})) == (
        404, 'resource_not_found_exception', 'No calendar with id [nope]')
    resp = es('POST', path, {'events': [event('e', T0, T0 + DAY, skip_result=False)]})
    if version.startswith('9'):
        assert resp.status == 200 and resp.body['events'][0]['skip_result'] is False
    else:
        # skip_result / skip_model_update / force_time_shift are 8.16+ fields (PR 112837); ObjectParser wraps the
        # unknown field of an array element in "[<action>] failed to parse field [events]".
        assert err(resp)[:2] == (400, 'x_content_parse_exception')
        assert 'unknown field [skip_result]' in resp.body['error']['caused_by']['reason']
    assert es('GET', path).body['count'] == (1 if version.startswith('9') else 0)


@pytest.mark.parametrize('version', VERSIONS)
def test_event_time_parsing(emu_factory, version):
    es, b = setup(emu_factory, version)
    es('PUT', b + '/calendars/cal')
    path = b + '/calendars/cal/events'
    ok = es('POST', path, {'events': [event('e', '1767225600000', '2026-01-02')]})
    assert ok.status == 200 and (ok.body['events'][0]['start_time'], ok.body['events'][0]['end_time']) == (T0, T0 + DAY)
    resp = es('POST', path, {'events': [event('e', {'date': 1}, T0)]})
    assert err(resp)[:2] == (400, 'x_content_parse_exception')
    assert resp.body['error']['reason'].endswith('[cluster:admin/xpack/ml/calendars/events/post] failed to parse field [events]')
    assert resp.body['error']['caused_by']['reason'].endswith("[scheduled_event] start_time doesn't support values of type: START_OBJECT")
    garbage = es('POST', path, {'events': [event('e', 'soon', T0)]})
    if version.startswith('6'):
        # TimeUtils.dateStringToEpoch: an unparsable string is -1 (1969-12-31T23:59:59.999Z), before T0: accepted.
        assert garbage.status == 200 and garbage.body['events'][0]['start_time'] == -1
    else:
        assert err(garbage)[:2] == (400, 'x_content_parse_exception')
        # The formatter's IllegalArgumentException is the innermost cause; guessRootCauses stops at the parse
        # exception around it (parsing.ParseError.root).
        field_error = garbage.body['error']['caused_by']
        assert field_error['reason'].endswith('[scheduled_event] failed to parse field [start_time]')
        assert field_error['caused_by'] == {
            'type': 'illegal_argument_exception',
            'reason': 'failed to parse date field [soon] with format [strict_date_optional_time||epoch_millis]'}
        # ObjectParser reads the times before any calendar_id check: the date error wins.
        both = es('POST', path, {'events': [event('e', 'soon', T0, calendar_id='other')]})
        assert err(both)[:2] == (400, 'x_content_parse_exception')


def test_global_calendar_applies_to_every_job(emu_factory):
    for version, expected in (('6.8.23', []), ('7.17.28', ['all-jobs']), ('9.1.5', ['all-jobs'])):
        es, b = setup(emu_factory, version)
        put_job(es, b, 'any-job')
        es('PUT', b + '/calendars/everyone', {'job_ids': ['_all']})
        es('POST', b + '/calendars/everyone/events', {'events': [event('all-jobs', T0, T0 + DAY)]})
        got = es('GET', b + '/calendars/_all/events?job_id=any-job').body
        assert [e['description'] for e in got['events']] == expected, version


def test_event_time_shift_fields_by_version(emu_factory):
    old, b = setup(emu_factory, '8.14.0')
    old('PUT', b + '/calendars/dst')
    assert old('POST', b + '/calendars/dst/events', {'events': [event('e', T0, T0 + DAY, force_time_shift=-3600)]}).status == 400
    new, b = setup(emu_factory, '8.19.0')
    new('PUT', b + '/calendars/dst')
    shifted = event('e', T0, T0 + DAY, force_time_shift=-3600, skip_model_update=False)
    resp = new('POST', b + '/calendars/dst/events', {'events': [shifted]})
    assert resp.body['events'][0] == {'description': 'e', 'start_time': T0, 'end_time': T0 + DAY, 'skip_result': True,
                                      'skip_model_update': False, 'force_time_shift': -3600, 'calendar_id': 'dst'}


@pytest.mark.parametrize('version', VERSIONS)
def test_events_for_a_job_and_its_groups(emu_factory, version):
    es, b = setup(emu_factory, version)
    put_job(es, b, 'web', groups=['holiday-group'])
    es('PUT', b + '/calendars/by-job', {'job_ids': ['web']})
    es('PUT', b + '/calendars/by-group', {'job_ids': ['holiday-group']})
    es('PUT', b + '/calendars/unused')
    es('POST', b + '/calendars/by-job/events', {'events': [event('a', T0 + 2 * DAY, T0 + 3 * DAY)]})
    es('POST', b + '/calendars/by-group/events', {'events': [event('b', T0, T0 + DAY)]})
    es('POST', b + '/calendars/unused/events', {'events': [event('c', T0, T0 + DAY)]})
    for job_id, expected in (('web', ['b', 'a']), ('holiday-group', ['b'])):
        got = es('GET', b + '/calendars/_all/events?job_id=' + job_id).body
        assert [e['description'] for e in got['events']] == expected and got['count'] == len(expected)
    assert err(es('GET', b + '/calendars/by-job/events?job_id=web')) == (
        400, 'action_request_validation_exception', "Validation Failed: 1: If job_id is used calendar_id must be '_all';")
    assert err(es('GET', b + '/calendars/_all/events?job_id=ghost')) == (
        404, 'resource_not_found_exception', "No known job with id 'ghost'")
    assert es('GET', b + '/calendars/*/events').body['count'] == 3


@pytest.mark.parametrize('version', VERSIONS)
def test_delete_event_and_calendar_with_events(emu_factory, version):
    es, b = setup(emu_factory, version)
    for name in ('one', 'two'):
        es('PUT', b + '/calendars/' + name)
        es('POST', b + '/calendars/%s/events' % name, {'events': [event(name, T0, T0 + DAY)]})
    event_id = es('GET', b + '/calendars/one/events').body['events'][0]['event_id']
    assert err(es('DELETE', b + '/calendars/two/events/' + event_id)) == (
        400, 'status_exception',
        'Event [%s] has calendar_id [one] which does not match the request calendar_id [two]' % event_id)
    assert err(es('DELETE', b + '/calendars/nope/events/' + event_id)) == (
        404, 'resource_not_found_exception', 'No calendar with id [nope]')
    assert es('DELETE', b + '/calendars/one/events/' + event_id).body == {'acknowledged': True}
    assert err(es('DELETE', b + '/calendars/one/events/' + event_id)) == (
        404, 'resource_not_found_exception', 'No event with id [%s]' % event_id)
    es('DELETE', b + '/calendars/two')
    assert es('GET', b + '/calendars/_all/events').body == {'count': 0, 'events': []}
    assert err(es('GET', b + '/calendars/two/events')) == (404, 'resource_not_found_exception', 'No calendar with id [two]')


# ---------------------------------------------------------------- filters

@pytest.mark.parametrize('version', VERSIONS)
def test_filter_crud(emu_factory, version):
    es, b = setup(emu_factory, version)
    created = es('PUT', b + '/filters/safe-hosts', {'description': 'known', 'items': ['xyz', 'abc', 'abc']})
    assert created.body == {'filter_id': 'safe-hosts', 'description': 'known', 'items': ['abc', 'xyz']}   # a sorted set
    assert es('PUT', b + '/filters/second', {'items': ['1']}).status == 200
    assert err(es('PUT', b + '/filters/second', {'items': []})) == (
        400, 'resource_already_exists_exception', 'A filter with id [second] already exists')
    assert err(es('PUT', b + '/filters/Invalid', {})) == (
        400, 'status_exception', "Invalid filter_id; 'Invalid' can contain lowercase alphanumeric (a-z and 0-9), hyphens or "
        "underscores; must start and end with alphanumeric")
    assert err(es('PUT', b + '/filters/uri-id', {'filter_id': 'body-id'}))[:2] == (400, 'illegal_argument_exception')
    assert es('GET', b + '/filters').body['count'] == 2
    page = es('GET', b + '/filters?from=1&size=1').body
    if version.startswith('6'):
        # 6.8's TransportGetFiltersAction: `count` is the page's length; a missing id is QueryPage.emptyQueryPage's 404.
        assert page == {'count': 1, 'filters': [{'filter_id': 'second', 'items': ['1']}]}
        assert err(es('GET', b + '/filters/missing')) == (404, 'resource_not_found_exception', 'Could not find requested filters')
        assert err(es('GET', b + '/filters/second?size=1')) == (
            400, 'action_request_validation_exception', 'Validation Failed: 1: Params [from, size] are incompatible with [filter_id];')
    else:
        assert page == {'count': 2, 'filters': [{'filter_id': 'second', 'items': ['1']}]}
        assert err(es('GET', b + '/filters/missing')) == (404, 'resource_not_found_exception', 'Unable to find filter [missing]')
        assert es('GET', b + '/filters/second?size=1').body['count'] == 1
    updated = es('POST', b + '/filters/safe-hosts/_update', {'description': 'new', 'add_items': ['c'], 'remove_items': ['abc']})
    assert updated.body == {'filter_id': 'safe-hosts', 'description': 'new', 'items': ['c', 'xyz']}
    assert err(es('POST', b + '/filters/safe-hosts/_update', {'remove_items': ['gone']})) == (
        400, 'status_exception', 'Cannot remove item [gone] as it is not present in filter [safe-hosts]')
    assert err(es('POST', b + '/filters/missing/_update', {})) == (
        404, 'resource_not_found_exception', 'No filter with id [missing] exists')
    assert es('DELETE', b + '/filters/second').body == {'acknowledged': True}
    assert err(es('DELETE', b + '/filters/second')) == (
        404, 'resource_not_found_exception', 'Could not delete filter with ID [second] because it does not exist')


@pytest.mark.parametrize('version', ('7.17.28', '9.1.5'))
def test_get_filters_id_expressions(emu_factory, version):
    es, b = setup(emu_factory, version)
    for name in ('filter-foo', 'filter-foo2', 'other'):
        es('PUT', b + '/filters/' + name, {'items': []})
    assert [f['filter_id'] for f in es('GET', b + '/filters/filter-foo,other').body['filters']] == ['filter-foo', 'other']
    assert es('GET', b + '/filters/filter-foo*').body['count'] == 2
    assert es('GET', b + '/filters/nothing*').body == {'count': 0, 'filters': []}
    assert err(es('GET', b + '/filters/other,gone,filter-foo')) == (404, 'resource_not_found_exception', 'Unable to find filter [gone]')


@pytest.mark.parametrize('version', ('7.17.28', '9.1.5'))
def test_get_calendars_id_expressions(emu_factory, version):
    es, b = setup(emu_factory, version)
    for name in ('cal-a', 'cal-b', 'other'):
        es('PUT', b + '/calendars/' + name)
    assert [c['calendar_id'] for c in es('GET', b + '/calendars/cal-*,gone').body['calendars']] == ['cal-a', 'cal-b']
    assert err(es('GET', b + '/calendars/gone,none*')) == (404, 'resource_not_found_exception', 'No calendar with id [gone,none*]')


def test_filter_item_limit(emu_factory):
    es, b = setup(emu_factory, '9.1.5')
    assert es('PUT', b + '/filters/big', {'items': ['i%d' % n for n in range(10000)]}).status == 200
    assert err(es('PUT', b + '/filters/too-big', {'items': ['i%d' % n for n in range(10001)]})) == (
        400, 'status_exception', 'Filter [too-big] contains too many items; up to [10,000] items are allowed')
    assert err(es('POST', b + '/filters/big/_update', {'add_items': ['one-more']}))[2].startswith('Filter [big] contains too many')


@pytest.mark.parametrize('version', VERSIONS)
def test_filter_in_use_by_rule_scopes(emu_factory, version):
    es, b = setup(emu_factory, version)
    es('PUT', b + '/filters/airlines', {'items': ['AAL']})
    scoped = {'bucket_span': '1h', 'detectors': [{'function': 'mean', 'field_name': 'responsetime', 'by_field_name': 'airline',
                                                  'custom_rules': [{'scope': {'airline': {'filter_id': 'airlines'}}}]}]}
    for job_id in ('zeta-job', 'alpha-job'):
        put_job(es, b, job_id, analysis_config=scoped)
    # PUT job does not look the filter up (JobManager.putJob): a scope may name a filter that does not exist yet.
    put_job(es, b, 'ghost-job', analysis_config={'bucket_span': '1h', 'detectors': [{
        'function': 'count', 'by_field_name': 'host', 'custom_rules': [{'scope': {'host': {'filter_id': 'not-yet'}}}]}]})
    assert err(es('DELETE', b + '/filters/airlines')) == (
        409, 'status_exception', 'Cannot delete filter [airlines] currently used by jobs [alpha-job, zeta-job]')
    # Opening a job whose rule names a missing filter: refused from 8.6 (PR 92207), accepted before.
    opened = es('POST', b + '/anomaly_detectors/ghost-job/_open')
    if version.startswith('9'):
        assert err(opened) == (404, 'resource_not_found_exception', 'Unable to find filter [not-yet]')
        es('PUT', b + '/filters/not-yet', {'items': []})
        assert es('POST', b + '/anomaly_detectors/ghost-job/_open').status == 200
    else:
        assert opened.status == 200
    es('DELETE', b + '/anomaly_detectors/alpha-job')
    es('DELETE', b + '/anomaly_detectors/zeta-job')
    assert es('DELETE', b + '/filters/airlines').status == 200


# ---------------------------------------------------------------- request log, upgrade mode, security, reset

def test_request_log_marks_mutations(emu_factory):
    emu = emu_factory('9.1.5')
    es = Client(emu)
    es('PUT', '/_ml/calendars/c')
    es('POST', '/_ml/calendars/c', {})
    es('POST', '/_ml/calendars', {'page': {'from': 0, 'size': 1}})
    es('POST', '/_ml/calendars/c/events', {'events': [event('e', T0, T0 + DAY)]})
    es('GET', '/_ml/calendars/c/events')
    es('POST', '/_ml/filters/f/_update', {})
    marks = [(r['method'], r['path'], r['mutating']) for r in emu.requests()]
    assert marks == [('PUT', '/_ml/calendars/c', True), ('POST', '/_ml/calendars/c', False), ('POST', '/_ml/calendars', False),
                     ('POST', '/_ml/calendars/c/events', True), ('GET', '/_ml/calendars/c/events', False),
                     ('POST', '/_ml/filters/f/_update', True)]


@pytest.mark.parametrize('version', ('6.8.23', '7.17.28'))
def test_upgrade_mode_blocks_calendar_and_filter_changes_from_7_8(emu_factory, version):
    es, b = setup(emu_factory, version)
    assert es('POST', b + '/set_upgrade_mode?enabled=true').status == 200
    resp = es('PUT', b + '/calendars/c')
    if version.startswith('6'):
        assert resp.status == 200     # before 7.8 only job open refused (no action filter)
    else:
        assert err(resp) == (429, 'status_exception',
                             'Cannot perform cluster:admin/xpack/ml/calendars/put action while upgrade mode is enabled')
        assert err(es('PUT', b + '/filters/f', {}))[0] == 429
        assert es('GET', b + '/calendars').status == 200
    es('POST', b + '/set_upgrade_mode?enabled=false')


def test_privileges(emu_factory):
    es = Client(emu_factory('8.19.0', security=True))
    admin = {'Authorization': 'Basic bWxfYWRtaW46Y2hhbmdlbWU='}      # ml_admin: manage_ml
    viewer = {'Authorization': 'Basic bWxfdmlld2VyOmNoYW5nZW1l'}     # ml_viewer: monitor_ml
    assert es('PUT', '/_ml/calendars/c', headers=admin).status == 200
    assert es('GET', '/_ml/calendars/c', headers=viewer).status == 200
    assert es('GET', '/_ml/calendars/c/events', headers=viewer).status == 200
    status, _kind, reason = err(es('PUT', '/_ml/calendars/d', headers=viewer))
    assert status == 403 and 'action [cluster:admin/xpack/ml/calendars/put] is unauthorized for user [ml_viewer]' in reason
    # GetFiltersAction is cluster:admin/xpack/ml/filters/get: monitor_ml cannot read filters.
    status, _kind, reason = err(es('GET', '/_ml/filters', headers=viewer))
    assert status == 403 and 'cluster:admin/xpack/ml/filters/get' in reason
    assert es('GET', '/_ml/filters', headers=admin).status == 200


def test_reset_and_control_state(emu_factory):
    emu = emu_factory('9.1.5')
    es = Client(emu)
    es('PUT', '/_ml/calendars/c', {'job_ids': ['g']})
    es('POST', '/_ml/calendars/c/events', {'events': [event('e', T0, T0 + DAY)]})
    es('PUT', '/_ml/filters/f', {'items': ['a', 'b']})
    state = emu.control('GET', 'state')
    assert (state['ml_calendars'], state['ml_events'], state['ml_filters']) == ({'c': ['g']}, 1, {'f': 2})
    emu.reset()
    assert es('GET', '/_ml/calendars').body == {'count': 0, 'calendars': []}
    assert es('GET', '/_ml/calendars/_all/events').body == {'count': 0, 'events': []}
    assert es('GET', '/_ml/filters').body == {'count': 0, 'filters': []}
