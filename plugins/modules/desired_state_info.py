#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: desired_state_info
short_description: Export an Elasticsearch cluster's jobs, calendars and filters as a desired-state document
version_added: 1.0.0
description:
  - Reads the ML anomaly-detection jobs, datafeeds, rollup jobs, ML calendars (with their scheduled events) and ML
    filters of one cluster and returns them as a desired-state
    document (the one M(esops.jobs.desired_state) and the role P(esops.jobs.converge#role) take), so a team can put an
    existing cluster into git in one step. Converging the document against the same cluster is a no-op - no step, no
    drift.
  - "Each object is one entry with its exact id, its state and its C(config) as the create API takes it: ML jobs
    without C(job_id), the embedded C(datafeed_config) and the fields only Elasticsearch sets (C(create_time),
    C(job_version), C(model_snapshot_id), C(custom_settings.created_by), ...); datafeeds with their C(job_id), without
    C(datafeed_id) and C(authorization), their aggregations as C(aggregations); rollup jobs without C(id). Mapping keys
    are sorted, entries sorted by id, so a re-export differs only where the cluster changed."
  - "Calendars and filters are exported as the converge document declares them: each filter with its C(description)
    and C(items) (sorted); each calendar with its C(description), C(job_ids) (sorted) and every scheduled event
    (C(description), C(start_time), C(end_time) in ISO 8601 UTC), with C(events_mode: exact). The event flags of 8.16+
    (C(skip_result), C(skip_model_update), C(force_time_shift)) are not part of the document."
  - "The document ends with C(unmentioned: report) for every exported kind: an object created later shows up in the
    plan. ML upgrade mode is not exported (it is an operator's switch, not a definition)."
  - An object in motion is exported in the steady state it moves to (V(opening) as V(opened), V(closing) as
    V(closed), V(starting) as V(started), V(stopping) as V(stopped), a rollup job V(indexing) as V(started)); a
    V(failed) job as V(opened). A job or rollup job being deleted (C(deleting) or no job stats, V(aborting)) is skipped, with its
    datafeed. Each such object is named in RV(export_warnings).
  - "Reads once: C(GET /); for ML jobs and datafeeds their configurations (with C(exclude_generated) from 7.11) and
    stats, for rollup jobs one list: six requests, whatever the number of objects. Filters, calendars and all
    calendars' events are one paged list each (a page is 1000): three more."
  - Changes nothing; it runs the same way in check mode. Works with Elasticsearch 6.8 and 7.x to 9.x.
author:
  - esops.jobs contributors (@esops)
options:
  kinds:
    description:
      - The kinds of objects to export. The others are left out of the document, and out of its C(unmentioned).
      - V(ml_filters) needs the cluster privilege C(manage_ml) (Elasticsearch's get filters action is an admin
        action); every other kind is read with C(monitor_ml) and C(monitor_rollup). Calendars and filters are always
        exported whole (every one of the cluster).
    type: list
    elements: str
    choices: [ml_jobs, datafeeds, rollup_jobs, ml_filters, ml_calendars]
    default: [ml_jobs, datafeeds, rollup_jobs, ml_filters, ml_calendars]
  ml_job_ids:
    description:
      - The ML jobs to export - job ids, group names, patterns with V(*), V(_all) - as Elasticsearch expands them
        (an exact id or group that does not exist is an error).
      - "With a subset (here or in O(datafeed_ids), O(rollup_job_ids)), the objects left out are reported as
        unmanaged by a plan of the document (C(unmentioned: report)); set that kind to V(ignore) in the file when the
        others are managed elsewhere."
    type: list
    elements: str
    default: [_all]
  datafeed_ids:
    description:
      - The datafeeds to export - ids, patterns with V(*), V(_all) - as Elasticsearch expands them.
    type: list
    elements: str
    default: [_all]
  rollup_job_ids:
    description:
      - The rollup jobs to export - ids, patterns with V(*), V(_all) - selected as M(esops.jobs.rollup_job_state)
        selects them (the rollup API takes one id or V(_all)). An exact id that does not exist is an error.
    type: list
    elements: str
    default: [_all]
notes:
  - The document holds ids, states and configurations, never a connection setting or a datafeed's credentials.
  - The playbook C(playbooks/export_desired.yml) writes one YAML file per cluster, usable as the role's
    C(converge_desired_file).
seealso:
  - module: esops.jobs.desired_state
  - module: esops.jobs.ml_job_info
  - module: esops.jobs.rollup_job_info
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.info_module
'''

EXAMPLES = r'''
- name: Export every job, datafeed and rollup job of a cluster
  esops.jobs.desired_state_info:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
  register: exported

- name: Write it for git (playbooks/export_desired.yml does this per cluster, atomically)
  esops.jobs.write_files:
    files:
      - path: "{{ playbook_dir }}/desired/prod-eu.yml"
        content: "{{ exported.document | to_nice_yaml(indent=2, sort_keys=false) }}"
  delegate_to: localhost

- name: Only the web jobs and their datafeeds
  esops.jobs.desired_state_info:
    kinds: [ml_jobs, datafeeds]
    ml_job_ids: [web]
    datafeed_ids: [datafeed-web-*]
'''

RETURN = r'''
document:
  description:
    - The desired-state document - C(ml_jobs), C(datafeeds), C(rollup_jobs) (the kinds of O(kinds)), each a list of
      C({id, state, config}) sorted by id; C(ml_filters) and C(ml_calendars), each a list of entries as the converge
      document declares them; and C(unmentioned) with V(report) per exported kind.
  returned: success
  type: dict
  sample:
    ml_jobs:
      - id: web-latency
        state: opened
        config:
          analysis_config: {bucket_span: 15m, detectors: [{detector_index: 0, field_name: latency, function: mean}]}
          analysis_limits: {model_memory_limit: 64mb}
          data_description: {time_field: "@timestamp", time_format: epoch_ms}
          groups: [web]
    datafeeds:
      - id: datafeed-web-latency
        state: started
        config: {indices: [web-*], job_id: web-latency, query: {match_all: {}}, scroll_size: 1000}
    rollup_jobs: []
    ml_filters:
      - {id: safe-domains, state: present, description: Domains we trust, items: [example.com]}
    ml_calendars:
      - id: planned-outages
        state: present
        description: Planned outages
        job_ids: [web]
        events: [{description: Patch night, start_time: "2026-12-05T22:00:00Z", end_time: "2026-12-06T02:00:00Z"}]
        events_mode: exact
    unmentioned: {ml_jobs: report, datafeeds: report, rollup_jobs: report, ml_filters: report, ml_calendars: report}
export_warnings:
  description:
    - One line per object exported in another state than it was read in, or skipped (being deleted).
  returned: success
  type: list
  elements: str
  sample: ["ml_jobs web-db was opening; exported as opened"]
msg:
  description: One line - the entries of each kind and the number of warnings.
  returned: success
  type: str
  sample: 3 ml_jobs, 2 datafeeds, 1 rollup_jobs, 1 ml_filters, 2 ml_calendars; 1 warning
counts:
  description: How many entries of each kind the document holds.
  returned: success
  type: dict
  sample: {ml_jobs: 2, datafeeds: 1, rollup_jobs: 0, ml_filters: 1, ml_calendars: 1}
cluster:
  description:
    - The cluster the document was read from (C(uuid) and C(name) are null without the cluster privilege C(monitor)).
  returned: always, and on failures once the cluster was read
  type: dict
  sample: {uuid: dGhpc2lzYXV1aWQxMjM0, name: prod-eu, version: 8.19.3}
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._desired_export import (
    EXPORT_KINDS, ExportError, export_document, read_cluster)
from ansible_collections.esops.jobs.plugins.module_utils._ml import validate_ml_ids
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec


def argument_spec():
    return generate_argspec(
        kinds=dict(type='list', elements='str', choices=list(EXPORT_KINDS), default=list(EXPORT_KINDS)),
        ml_job_ids=dict(type='list', elements='str', default=['_all']),
        datafeed_ids=dict(type='list', elements='str', default=['_all']),
        rollup_job_ids=dict(type='list', elements='str', default=['_all']),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    kinds = [kind for kind in EXPORT_KINDS if kind in params['kinds']]
    try:
        ids = dict(ml_jobs=validate_ml_ids(params['ml_job_ids'], 'ml_job_ids'),
                   datafeeds=validate_ml_ids(params['datafeed_ids'], 'datafeed_ids'),
                   rollup_jobs=[token.strip() for item in params['rollup_job_ids'] for token in item.split(',')
                                if token.strip()])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    if not ids['rollup_jobs']:
        module.fail_json(msg='rollup_job_ids: give at least one id, pattern or _all')
    try:
        snapshot = read_cluster(module.client, kinds, ids)
    except ExportError as exc:
        module.fail_json(msg=to_native(exc))
    except ElasticsearchError as exc:
        module.fail_from_error(exc)
    document, warnings = export_document(snapshot, kinds)
    for line in warnings:
        module.warn(line)
    counts = dict((kind, len(document[kind])) for kind in kinds)
    msg = ', '.join('%d %s' % (counts[kind], kind) for kind in kinds)
    if warnings:
        msg += '; %d warning%s' % (len(warnings), '' if len(warnings) == 1 else 's')
    module.exit_json(changed=False, msg=msg, document=document, export_warnings=warnings, counts=counts)


if __name__ == '__main__':
    main()
