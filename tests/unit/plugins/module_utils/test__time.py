# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of Elasticsearch time units."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration, parse_duration, server_timeout


@pytest.mark.parametrize('value, seconds', [
    ('30s', 30.0),
    ('5m', 300.0),
    ('500ms', 0.5),
    ('1h', 3600.0),
    ('2d', 172800.0),
    ('1500000micros', 1.5),
    ('2000000000nanos', 2.0),
    ('10', 10.0),
    (' 45s ', 45.0),
    ('1.5m', 90.0),
    (10, 10.0),
    (2.5, 2.5),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize('value, words', [
    ('30x', ['timeout=', "'30x'", 'is not a duration', '30s']),
    ('', ['is not a duration']),
    ('five minutes', ['is not a duration']),
    ('5 m s', ['is not a duration']),
    ('-5s', ['is not a duration']),
    ('s', ['is not a duration']),
    (None, ['is not a duration']),
    ('0', ['greater than zero']),
    ('0s', ['greater than zero']),
    (0, ['greater than zero']),
    (-3, ['greater than zero']),
    (True, ['not a boolean']),
    (False, ['not a boolean']),
    ('99999999d', ["'99999999d'", 'too long', 'at most 7d']),
    ('8d', ['too long', 'at most 7d']),
    (604801, ['too long']),
    (1e300, ['too long']),
])
def test_parse_duration_rejects_with_message_naming_the_option(value, words):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    text = str(info.value)
    assert text.startswith('timeout')
    assert '\n' not in text
    for word in words:
        assert word in text


def test_parse_duration_names_the_given_option():
    with pytest.raises(ValueError) as info:
        parse_duration('soon', option='close_timeout')
    assert str(info.value).startswith('close_timeout=')


@pytest.mark.parametrize('seconds, text', [
    (30, '30s'),
    (30.0, '30s'),
    (0.5, '500ms'),
    (1.5, '1500ms'),
    (60, '1m'),
    (90, '90s'),
    (120, '2m'),
    (3600, '1h'),
    (5400, '90m'),
    (86400, '1d'),
    (0, '1ms'),
    (0.0001, '1ms'),
])
def test_format_duration_uses_whole_units(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize('text', ['30s', '500ms', '5m', '1h', '1d', '90s', '1500ms'])
def test_round_trip(text):
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize('value, seconds', [('30S', 30.0), ('5M', 300.0), ('500MS', 0.5), ('1H', 3600.0)])
def test_units_are_case_insensitive_like_elasticsearch(value, seconds):
    assert parse_duration(value) == seconds


def test_seven_days_is_the_longest_duration():
    assert parse_duration('7d') == 7 * 86400


@pytest.mark.parametrize('remaining, cap, sent', [
    (1799.99, None, 1800.0),    # rounded up to whole seconds: 30m, never 1799990ms
    (0.0, None, 1.0),           # never less than a second
    (1799.99, 5.0, 5.0),
    (2.2, 5.0, 3.0),
])
def test_server_timeout_is_one_rule(remaining, cap, sent):
    assert server_timeout(remaining, cap) == sent
    assert format_duration(server_timeout(1799.99)) == '30m'
