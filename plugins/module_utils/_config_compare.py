# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A declared configuration (ML job, datafeed, rollup job) against the one Elasticsearch holds, pure: which keys
differ, and one line that names them. Used by the restore adapters (``_ml_config``, ``_rollup_config``), the ML
definitions (``_ml_definitions``) and the converge planner.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_text

_BYTES_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?b?)?\s*$', re.IGNORECASE)
_BYTE_UNITS = {'': 1, 'b': 1, 'k': 1024, 'kb': 1024, 'm': 1024 ** 2, 'mb': 1024 ** 2, 'g': 1024 ** 3, 'gb': 1024 ** 3,
               't': 1024 ** 4, 'tb': 1024 ** 4, 'p': 1024 ** 5, 'pb': 1024 ** 5}


def _byte_size(value):
    """``1gb``/``1024mb``/``1024`` (MiB when unitless, as model_memory_limit takes it) in bytes, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 1024 ** 2
    match = _BYTES_RE.match(to_text(value))
    if not match:
        return None
    unit = (match.group(2) or 'mb').lower()
    return float(match.group(1)) * _BYTE_UNITS[unit]


def _same(path, current, desired):
    if current == desired:
        return True
    leaf = path.rsplit('.', 1)[-1]
    if leaf == 'model_memory_limit':
        # ES stores it normalised to MiB ("1gb" reads back as "1024mb"; AnalysisLimits).
        return _byte_size(current) is not None and _byte_size(current) == _byte_size(desired)
    if leaf == 'results_index_name':
        # Job.Builder.build prefixes a custom name with "custom-" (once).
        return current == 'custom-%s' % desired
    if leaf in ('indices', 'indexes') and isinstance(desired, str) and isinstance(current, list):
        # a string is a one-item list to Elasticsearch (ObjectParser.ValueType.STRING_ARRAY takes VALUE_STRING), so "a,b"
        # reads back as ["a,b"]; a document may also mean the list the commas separate
        return current in ([desired], [item.strip() for item in desired.split(',')])
    return False


def differences(current, desired, path=''):
    """Where ``desired`` differs from ``current``: every key given in ``desired`` must be equal (recursively for
    objects, and item by item for lists of the same length); keys only in ``current`` are Elasticsearch's
    defaults (``detector_index``, ``time_zone``, ...) and count as equal.

    Returns a list of ``{'path', 'current', 'desired'}`` (``current`` None when the key is missing).
    """
    found = []
    for key, want in (desired or {}).items():
        where = '%s.%s' % (path, key) if path else key
        if key not in (current or {}):
            if want is not None:
                found.append({'path': where, 'current': None, 'desired': want})
            continue
        found.extend(_value_differences(where, current[key], want))
    return found


def _value_differences(where, have, want):
    if isinstance(want, dict) and isinstance(have, dict):
        return differences(have, want, where)
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        found = []
        for index, (item_have, item_want) in enumerate(zip(have, want)):
            found.extend(_value_differences('%s[%d]' % (where, index), item_have, item_want))
        return found
    if _same(where, have, want):
        return []
    return [{'path': where, 'current': have, 'desired': want}]


def describe_differences(items, limit=5):
    shown = '; '.join('%s: %s -> %s' % (d['path'], _short(d['current']), _short(d['desired'])) for d in items[:limit])
    if len(items) > limit:
        shown += '; and %d more' % (len(items) - limit)
    return shown


def _short(value, width=60):
    text = 'missing' if value is None else to_text(value)
    return text if len(text) <= width else text[:width - 3] + '...'
