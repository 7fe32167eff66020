"""The emulator's Quartz cron evaluator (rollup schedules), against the Quartz CronTrigger tutorial's own examples:
https://www.quartz-scheduler.org/documentation/quartz-2.3.0/tutorials/crontrigger.html (fields, `?`, `L`, `W`, `#`,
ranges, steps, names) evaluated in UTC as ES's rollup scheduler does."""

import datetime as dt

import pytest

from tests.emulator.cron import Cron, CronError, next_fire_epoch

NOW = dt.datetime(2026, 11, 27, 12, 20, 7)  # a Friday


@pytest.mark.parametrize('expression,expected', [
    ('*/30 * * * * ?', dt.datetime(2026, 11, 27, 12, 20, 30)),
    ('* * * * * ?', dt.datetime(2026, 11, 27, 12, 20, 8)),
    ('5/15 * * * * ?', dt.datetime(2026, 11, 27, 12, 20, 20)),
    ('0 0 12 * * ?', dt.datetime(2026, 11, 28, 12, 0, 0)),                 # every day at noon
    ('0 15 10 ? * MON-FRI', dt.datetime(2026, 11, 30, 10, 15, 0)),         # weekdays
    ('0 0/5 14,18 * * ?', dt.datetime(2026, 11, 27, 14, 0, 0)),
    ('0 0-5 14 * * ?', dt.datetime(2026, 11, 27, 14, 0, 0)),
    ('0 10,44 14 ? 3 WED', dt.datetime(2027, 3, 3, 14, 10, 0)),
    ('0 15 10 L * ?', dt.datetime(2026, 11, 30, 10, 15, 0)),               # last day of the month
    ('0 15 10 L-2 * ?', dt.datetime(2026, 11, 28, 10, 15, 0)),
    ('0 15 10 ? * 6L', dt.datetime(2026, 12, 25, 10, 15, 0)),              # last Friday (today's 10:15 passed)
    ('0 15 10 ? * 6#3', dt.datetime(2026, 12, 18, 10, 15, 0)),             # third Friday
    ('0 0 12 1W * ?', dt.datetime(2026, 12, 1, 12, 0, 0)),                 # nearest weekday to the 1st
    ('0 0 12 LW * ?', dt.datetime(2026, 11, 30, 12, 0, 0)),
    ('0 0 0 ? * SAT-SUN', dt.datetime(2026, 11, 28, 0, 0, 0)),
    ('0 0 0 ? * FRI-MON', dt.datetime(2026, 11, 28, 0, 0, 0)),             # wrapping range
    ('0 0 0 1 JAN ? 2030', dt.datetime(2030, 1, 1, 0, 0, 0)),
    ('0 0 0 1 1 ?', dt.datetime(2027, 1, 1, 0, 0, 0)),                     # the integration fixtures' yearly cron
])
def test_next_fire(expression, expected):
    assert Cron(expression).next_fire(NOW) == expected


def test_nearest_weekday_stays_in_month():
    # 1 Nov 2026 is a Sunday: 1W fires Monday the 2nd, never in October.
    assert Cron('0 0 12 1W * ?').next_fire(dt.datetime(2026, 10, 31, 13, 0, 0)) == dt.datetime(2026, 11, 2, 12, 0, 0)


@pytest.mark.parametrize('expression', ['* * * * *', '0 0 12 * * MON', '0 0 12 ? * ?', '61 * * * * ?', '0 0 0 ? FOO *'])
def test_invalid(expression):
    with pytest.raises(CronError):
        Cron(expression)
    assert next_fire_epoch(expression, 0) is None


def test_never_and_epoch_form():
    assert Cron('0 0 0 30 FEB ?').next_fire(NOW) is None
    assert next_fire_epoch('*/30 * * * * ?', 1800000010) == 1800000030
