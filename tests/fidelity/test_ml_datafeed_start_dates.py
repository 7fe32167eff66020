"""Datafeed start/end parameters: ES parses them with date math (StartDatafeedAction.DatafeedParams.parseDateOrThrow:
DateMathParser.parse(date, now), 6.8-9.1; x-pack/plugin/core/src/main/java/org/elasticsearch/xpack/core/ml/action/
StartDatafeedAction.java), so ``now-7d`` (the ml_datafeed_state example) is accepted; what is not a date is a 400
``parse_exception`` (ElasticsearchParseException) "Query param [start] with value [...] cannot be parsed as a date or
converted to a number (epoch)." (Messages.REST_INVALID_DATETIME_PARAMS).

The manual clock's wall time is 2026-01-01T00:00:00Z (1767225600000 ms): the "start must be earlier than end"
refusal (StartDatafeedAction.Request.validate) shows the parsed values."""

import pytest

from tests.emulator.inprocess import SUPPORTED_VERSIONS, InProcessEmulator

EPOCH = 1767225600000   # the manual clock's wall start
DAY = 86400000


@pytest.fixture(params=SUPPORTED_VERSIONS)
def es(request):
    emulator = InProcessEmulator(request.param)
    emulator.put_job('j1')
    emulator.put_datafeed('d1', 'j1')
    emulator.open_job('j1')
    return emulator


def refused(es, start, end):
    """(start, end) in epoch ms as ES parsed them, read from its "start must be earlier than end" refusal."""
    status, body = es.call('POST', es.ml_path('datafeeds', 'd1', '_start'), params={'start': start, 'end': end})
    assert status == 400, body
    first, second = body['error']['reason'].split('start [')[1].split('] must be earlier than end [')
    return int(first), int(second.split(']')[0])


@pytest.mark.parametrize('later, earlier, offsets', [
    ('now', 'now-1d', (0, -DAY)),
    ('now+1h', 'now-7d/d', (3600000, -7 * DAY)),                      # /d rounds down to 2025-12-25T00:00:00Z
    ('now-1M', 'now-1y', (-31 * DAY, -365 * DAY)),                   # 2025-12-01 and 2025-01-01 (calendar units)
    ('1767225600000', '2026-01-01T00:00:00Z||-1w', (0, -7 * DAY)),
])
def test_start_and_end_take_date_math(es, later, earlier, offsets):
    now = int(es.clock.time() * 1000)
    exact = [not text.startswith('now') or '/' in text for text in (later, earlier)]
    expected = tuple((EPOCH if fixed else now) + offset for fixed, offset in zip(exact, offsets))
    assert refused(es, later, earlier) == expected


def test_date_math_starts_the_datafeed(es):
    status, body = es.call('POST', es.ml_path('datafeeds', 'd1', '_start'), params={'start': 'now-7d', 'end': 'now'})
    assert status == 200 and body['started'] is True


@pytest.mark.parametrize('value', ['yesterday', 'now-1x', 'now-'])
def test_what_is_not_a_date_is_a_parse_exception(es, value):
    status, body = es.call('POST', es.ml_path('datafeeds', 'd1', '_start'), params={'start': value})
    assert status == 400
    assert (body['error']['type'], body['error']['reason']) == (
        'parse_exception', 'Query param [start] with value [%s] cannot be parsed as a date or converted to a number '
        '(epoch).' % value)
