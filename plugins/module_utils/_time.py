# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch time units (``30s``, ``5m``, ``500ms``) and plain seconds."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

_UNITS = {
    'nanos': 1e-9,
    'micros': 1e-6,
    'ms': 1e-3,
    's': 1.0,
    'm': 60.0,
    'h': 3600.0,
    'd': 86400.0,
}
# ES lowercases a time value before parsing it (TimeValue.parseTimeValue), so 30S is 30s there too.
_TIME_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)?\s*$', re.IGNORECASE)


# The longest duration any option accepts. Longer values are surely typos, and past about 10^9 s Python's own socket
# and lock timeouts overflow (timeout: 99999999d was a traceback).
MAX_DURATION = 7 * 86400.0


def parse_duration(value, option='timeout'):
    """Return seconds (float) for an ES time value or a number of seconds, greater than zero and at most 7d.

    The one check for every duration option. Raises ValueError with a one-line message naming the option.
    """
    if isinstance(value, bool):
        raise ValueError('%s must be a duration such as 30s, 5m or a number of seconds, not a boolean' % option)
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _TIME_RE.match(str(value))
        if not match:
            raise ValueError(
                "%s=%r is not a duration: use a number of seconds or an Elasticsearch time unit "
                "such as 500ms, 30s, 5m, 1h, 1d" % (option, value))
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or 's').lower()]
    if seconds <= 0:
        raise ValueError('%s must be greater than zero, got %r' % (option, value))
    if seconds > MAX_DURATION:
        raise ValueError('%s=%r is too long: at most %s' % (option, value, format_duration(MAX_DURATION)))
    return seconds


def format_duration(seconds):
    """Render seconds as an ES time value; whole units only (6.x rejects fractions)."""
    millis = int(round(seconds * 1000))
    if millis <= 0:
        millis = 1
    if millis % 1000:
        return '%dms' % millis
    whole = millis // 1000
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if whole % size == 0:
            return '%d%s' % (whole // size, unit)
    return '%ds' % whole


# Never ask Elasticsearch to wait less than this, even when the module's own deadline is (nearly) spent.
MIN_SERVER_TIMEOUT = 1.0


def server_timeout(remaining, cap=None):
    """The one rule for the ``timeout`` a request asks Elasticsearch to wait: the time left, in whole seconds
    rounded up (``timeout: 5m`` sends ``5m``, never ``299998ms``), at least MIN_SERVER_TIMEOUT, at most ``cap``."""
    seconds = max(MIN_SERVER_TIMEOUT, float(math.ceil(remaining)))
    if cap is not None:
        seconds = min(seconds, cap)
    return seconds
