# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declared ML job configurations (desired-state ``config``) against the live ones: pure functions.

``job_changes`` says, field by field, what differs and whether Elasticsearch can update it in place (``update``,
POST anomaly_detectors/<id>/_update) or only a delete and a new PUT can reach it (``replace``); ``job_update_body``
builds that _update's body. The updatable fields and their first versions are JobUpdate's parser
(x-pack/plugin/core/.../ml/job/config/JobUpdate.java, the 6.x and 7.15+ copies; tests/emulator/README.md, "Fidelity
matrix: update APIs"): ``analysis_limits`` only while the job is closed (JobManager.validateAnalysisLimitsUpdate),
detectors only their ``detector_description`` (DetectorUpdate ``description``) and ``custom_rules`` (by ``detector_index``). Keys the document leaves out take
Elasticsearch's defaults and are not compared (``_config_compare.differences``); fields only Elasticsearch sets never
count.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import re
from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._config_compare import differences
from ansible_collections.esops.jobs.plugins.module_utils._ml_config import DATAFEED_GENERATED_FIELDS, JOB_GENERATED_FIELDS

#: Fields Elasticsearch sets on a job; in a document they are ignored, never compared.
JOB_SERVER_FIELDS = JOB_GENERATED_FIELDS + ('job_id', 'established_model_memory')

#: Top-level fields JobUpdate takes, with the first version that takes them (JobUpdate.EXTERNAL_PARSER).
UPDATABLE_JOB_FIELDS = OrderedDict([
    ('description', (0, 0, 0)), ('groups', (0, 0, 0)), ('custom_settings', (0, 0, 0)),
    ('model_plot_config', (0, 0, 0)), ('results_retention_days', (0, 0, 0)),
    ('model_snapshot_retention_days', (0, 0, 0)), ('renormalization_window_days', (0, 0, 0)),
    ('background_persist_interval', (0, 0, 0)), ('allow_lazy_open', (7, 5, 0)),
    ('daily_model_snapshot_retention_after_days', (7, 8, 0)), ('system_annotations_retention_days', (7, 15, 0)),
])
#: PUT's ``analysis_config.model_prune_window`` is updated as the top-level ``model_prune_window`` (8.0+).
MODEL_PRUNE_WINDOW = ('analysis_config.model_prune_window', (8, 0, 0))
_DETECTOR_FIELD = re.compile(r'^analysis_config\.detectors\[(\d+)\]\.(detector_description|custom_rules)(?:$|[.\[])')
#: A detector's ``detector_description`` (PUT, GET) is DetectorUpdate's ``description``.
_DETECTOR_UPDATE_FIELD = {'detector_description': 'description', 'custom_rules': 'custom_rules'}

UPDATE = 'update'
REPLACE = 'replace'
CANNOT_UPDATE = 'Elasticsearch cannot update it'


def declared_job_config(config):
    """The document's job ``config`` without the fields Elasticsearch sets (a copy)."""
    return OrderedDict((key, copy.deepcopy(value)) for key, value in (config or {}).items() if key not in JOB_SERVER_FIELDS)


def _version_text(version):
    return '.'.join(str(part) for part in version[:2])


def _how(path, version, closed):
    """(``update`` or ``replace``, why a replace) for one differing path."""
    top = re.split(r'[.\[]', path, 1)[0]
    if top in UPDATABLE_JOB_FIELDS:
        since = UPDATABLE_JOB_FIELDS[top]
        if tuple(version) >= since:
            return UPDATE, None
        return REPLACE, 'Elasticsearch %s cannot update it (%s+)' % (_version_text(version), _version_text(since))
    if _DETECTOR_FIELD.match(path):
        return UPDATE, None
    if path == MODEL_PRUNE_WINDOW[0] and tuple(version) >= MODEL_PRUNE_WINDOW[1]:
        return UPDATE, None
    if path == 'analysis_limits.model_memory_limit':
        if closed:
            return UPDATE, None
        return REPLACE, 'Elasticsearch updates it only while the job is closed'
    return REPLACE, CANNOT_UPDATE


def job_changes(current, desired, version, closed):
    """Field by field, where the declared ``desired`` config differs from ``current`` (a GET anomaly_detectors entry):
    ``[{path, current, desired, change (update|replace), reason (of a replace)}]``. ``closed``: whether the job is
    closed when the update runs (``analysis_limits`` is updatable only then). ``groups`` compare as sets."""
    want = declared_job_config(desired)
    have = dict(current or {})
    if isinstance(want.get('groups'), list) and isinstance(have.get('groups'), list) \
            and sorted(set(want['groups'])) == sorted(set(have['groups'])):
        want.pop('groups')
    found = []
    for item in differences(have, want):
        change, reason = _how(item['path'], version, closed)
        found.append(OrderedDict([('path', item['path']), ('current', item['current']), ('desired', item['desired']),
                                  ('change', change), ('reason', reason)]))
    return found


def replace_fields(changes):
    return [item for item in changes if item['change'] == REPLACE]


def job_update_body(current, desired, changes):
    """The body of POST anomaly_detectors/<id>/_update that makes ``current`` what ``desired`` declares, for
    ``changes`` that are all updates. Objects Elasticsearch replaces whole (``custom_settings``,
    ``model_plot_config``, ``analysis_limits``) are sent as the declared keys over the current ones, so keys the
    document leaves out keep their value; detectors are sent by ``detector_index`` with the declared fields."""
    want = declared_job_config(desired)
    body = OrderedDict()
    detectors = OrderedDict()
    for item in changes:
        path = item['path']
        top = re.split(r'[.\[]', path, 1)[0]
        match = _DETECTOR_FIELD.match(path)
        if match:
            index, field = int(match.group(1)), match.group(2)
            detector = detectors.setdefault(index, OrderedDict([('detector_index', index)]))
            detector[_DETECTOR_UPDATE_FIELD[field]] = copy.deepcopy(want['analysis_config']['detectors'][index][field])
        elif path == MODEL_PRUNE_WINDOW[0]:
            body['model_prune_window'] = want['analysis_config']['model_prune_window']
        elif path == 'analysis_limits.model_memory_limit':
            body['analysis_limits'] = dict(current.get('analysis_limits') or {},
                                           model_memory_limit=want['analysis_limits']['model_memory_limit'])
        elif top in ('custom_settings', 'model_plot_config') and isinstance(want.get(top), dict):
            body[top] = dict(current.get(top) or {}, **copy.deepcopy(want[top]))
        else:
            body[top] = copy.deepcopy(want[top])
    if detectors:
        body['detectors'] = list(detectors.values())
    return body


# -- datafeeds ---------------------------------------------------------------------------------------------------

#: Fields Elasticsearch sets on a datafeed (DatafeedConfig.toXContent; ``datafeed_id`` is the entry's id).
DATAFEED_SERVER_FIELDS = DATAFEED_GENERATED_FIELDS + ('datafeed_id',)

#: Fields DatafeedUpdate takes, with their first version (DatafeedUpdate.PARSER; tests/emulator/README.md "Fidelity
#: matrix: update APIs"). ``job_id`` is not here: 7.4+ refuse to change it (PR 44752), so it is a replace.
UPDATABLE_DATAFEED_FIELDS = OrderedDict([
    ('indices', (0, 0, 0)), ('indexes', (0, 0, 0)), ('query', (0, 0, 0)), ('frequency', (0, 0, 0)),
    ('query_delay', (0, 0, 0)), ('scroll_size', (0, 0, 0)), ('chunking_config', (0, 0, 0)),
    ('aggregations', (0, 0, 0)), ('script_fields', (0, 0, 0)), ('delayed_data_check_config', (0, 0, 0)),
    ('max_empty_searches', (7, 5, 0)), ('indices_options', (7, 7, 0)), ('runtime_mappings', (7, 11, 0)),
])


def declared_datafeed_config(config):
    """The document's datafeed ``config`` without server-set fields; ``aggs`` named ``aggregations`` as GET reads it
    back (DatafeedConfig.toXContent) and ``indexes`` as ``indices``."""
    declared = OrderedDict()
    for key, value in (config or {}).items():
        if key in DATAFEED_SERVER_FIELDS:
            continue
        declared[{'aggs': 'aggregations', 'indexes': 'indices'}.get(key, key)] = copy.deepcopy(value)
    return declared


#: Datafeed fields that are one search expression: Elasticsearch keeps them as given (QueryProvider,
#: AggProvider), so they compare whole - a clause the document leaves out of a query is a difference, not a default.
WHOLE_DATAFEED_FIELDS = ('query', 'aggregations', 'script_fields', 'runtime_mappings')


def datafeed_changes(current, desired, version):
    """Field by field, where the declared datafeed ``desired`` differs from ``current`` (a GET datafeeds entry):
    ``[{path, current, desired, change (update|replace), reason}]``."""
    current = dict(current or {})
    want = declared_datafeed_config(desired)
    whole = [OrderedDict([('path', key), ('current', current.get(key)), ('desired', want.pop(key))])
             for key in WHOLE_DATAFEED_FIELDS if key in want and want[key] != current.get(key)]
    for key in WHOLE_DATAFEED_FIELDS:
        want.pop(key, None)
    found = []
    for item in whole + differences(current, want):
        top = re.split(r'[.\[]', item['path'], 1)[0]
        since = UPDATABLE_DATAFEED_FIELDS.get(top)
        if since is not None and tuple(version) >= since:
            change, reason = UPDATE, None
        elif since is not None:
            change, reason = REPLACE, 'Elasticsearch %s cannot update it (%s+)' % (_version_text(version),
                                                                                   _version_text(since))
        else:
            change, reason = REPLACE, CANNOT_UPDATE
        found.append(OrderedDict([('path', item['path']), ('current', item['current']), ('desired', item['desired']),
                                  ('change', change), ('reason', reason)]))
    return found


def datafeed_update_body(current, desired, changes):
    """POST datafeeds/<id>/_update's body: each differing top-level field as declared (``chunking_config`` and
    ``delayed_data_check_config`` over the current keys; a query or aggregation is sent whole)."""
    want = declared_datafeed_config(desired)
    body = OrderedDict()
    for item in changes:
        top = re.split(r'[.\[]', item['path'], 1)[0]
        if top in ('chunking_config', 'delayed_data_check_config') and isinstance(want.get(top), dict):
            body[top] = dict(current.get(top) or {}, **copy.deepcopy(want[top]))
        else:
            body[top] = copy.deepcopy(want[top])
    return body


# -- export (module desired_state_info) -------------------------------------------------------------------------

#: ``custom_settings`` keys another Elastic stack process sets (Kibana's wizards and modules write ``created_by``):
#: ``exclude_generated=true`` leaves them out (elastic/elasticsearch#63899, Job.doXContentBody), and so does an
#: export from a version without the parameter. A document that leaves them out does not compare them.
GENERATED_CUSTOM_SETTINGS = ('created_by',)


def exported_job_config(config):
    """A GET anomaly_detectors entry as a document's ``config``: what ``exclude_generated=true`` returns, on every
    version - the server-set fields (``JOB_SERVER_FIELDS``, also ``job_id`` and the embedded ``datafeed_config``,
    declared as a datafeeds entry) and the generated ``custom_settings`` keys left out (an emptied
    ``custom_settings`` with them). The result is what ``declared_job_config`` keeps, so it compares as no drift."""
    exported = declared_job_config(config)
    settings = exported.get('custom_settings')
    if isinstance(settings, dict):
        settings = OrderedDict((key, value) for key, value in settings.items() if key not in GENERATED_CUSTOM_SETTINGS)
        if settings:
            exported['custom_settings'] = settings
        else:
            exported.pop('custom_settings')
    return exported


def exported_datafeed_config(config):
    """A GET datafeeds entry as a document's ``config``: its ``job_id`` kept, the server-set fields
    (``DATAFEED_SERVER_FIELDS``: ``datafeed_id``, the ``authorization`` it runs with) left out, ``aggregations`` under
    the name GET reads back (``declared_datafeed_config``), as ``datafeed_changes`` compares it."""
    return declared_datafeed_config(config)
