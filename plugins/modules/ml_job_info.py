#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: ml_job_info
short_description: Read Elasticsearch machine learning anomaly-detection jobs, their datafeeds and upgrade mode
version_added: 1.0.0
description:
  - Returns each selected anomaly-detection job with its state, groups, description, datafeed (id and state),
    node, open time and full configuration, plus the cluster's ML C(upgrade_mode).
  - Uses a fixed number of requests whatever the number of jobs (job stats, job configs, datafeed configs and
    stats, ML info), never one per job. A O(job_id) list too long for one request line (Elasticsearch refuses
    lines over 4 KB) is matched in the module against one read of every job; group names and patterns in it are
    still resolved by Elasticsearch.
  - Changes nothing; it runs the same way in check mode.
  - Works with Elasticsearch 6.8 and 7.x to 9.x.
author:
  - esops.jobs contributors (@esops)
options:
  job_id:
    description:
      - Jobs to read. Each item is a job id, a group name, a pattern with V(*), or a comma-separated list of those.
        V(_all) (the default) reads every job.
      - An exact id or group that does not exist is an error.
    type: list
    elements: str
    default: [_all]
  allow_no_match:
    description:
      - When V(false), a pattern or V(_all) that matches no job is an error; by default it returns an empty list.
      - Sent as C(allow_no_jobs) to Elasticsearch before 7.10 and as C(allow_no_match) from 7.10.
    type: bool
    default: true
  include_put_config:
    description:
      - Also return each job's configuration as the create-job API takes it (RV(jobs[].put_config)) and its
        datafeed's as the create-datafeed API takes it (RV(jobs[].datafeed.put_config)), for backups that
        M(esops.jobs.ml_job) can restore.
      - The fields only Elasticsearch sets are left out, as C(exclude_generated=true) leaves them out
        (C(create_time), C(job_version), C(model_snapshot_id), the datafeed's C(authorization), ...), on every
        version and from the same requests. Unlike C(exclude_generated), the defaults Elasticsearch filled in and
        C(custom_settings.created_by) are kept, so that a restored job equals the saved one.
    type: bool
    default: false
notes:
  - Job states come from the job stats API, the only place Elasticsearch reports them.
  - While ML upgrade mode is on, opened jobs still say V(opened) but RV(jobs[].node) is null, and
    RV(jobs[].assignment_explanation) says why.
seealso:
  - module: esops.jobs.ml_job_state
  - module: esops.jobs.ml_datafeed_state
  - module: esops.jobs.ml_upgrade_mode
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.info_module
'''

EXAMPLES = r'''
- name: Read every job
  esops.jobs.ml_job_info:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
  register: ml

- name: Show the jobs that are not closed
  ansible.builtin.debug:
    msg: "{{ ml.jobs | rejectattr('state', 'eq', 'closed') | map(attribute='job_id') | list }}"

- name: Record the open jobs and started datafeeds before a maintenance window
  ansible.builtin.set_fact:
    open_jobs: "{{ ml.jobs | selectattr('state', 'eq', 'opened') | map(attribute='job_id') | list }}"
    started_datafeeds: >-
      {{ ml.jobs | selectattr('datafeed') | map(attribute='datafeed')
         | selectattr('state', 'eq', 'started') | map(attribute='datafeed_id') | list }}
    upgrade_mode_before: "{{ ml.upgrade_mode }}"

- name: Save the configurations of the web jobs and their datafeeds (restorable with esops.jobs.ml_job)
  esops.jobs.ml_job_info:
    job_id: web-*
    include_put_config: true
  register: web

- name: Write one backup file per job
  ansible.builtin.copy:
    dest: "/var/backups/es/{{ item.job_id }}.json"
    content: "{{ {'job': item.put_config, 'datafeed': item.datafeed.put_config | default(none)} | to_nice_json }}"
    mode: "0640"
  loop: "{{ web.jobs }}"
  delegate_to: localhost

- name: Read the jobs of one group
  esops.jobs.ml_job_info:
    job_id: web-*
    allow_no_match: false
'''

RETURN = r'''
changed:
  description: Always V(false).
  returned: always
  type: bool
jobs:
  description: The matched jobs, in Elasticsearch's order (by id).
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: The job id.
      type: str
      sample: web-latency
    state:
      description: V(closed), V(opening), V(opened), V(closing) or V(failed).
      type: str
      sample: opened
    groups:
      description: The job's groups (empty list when it has none).
      type: list
      elements: str
      sample: [web]
    description:
      description: The job's description, or null.
      type: str
    datafeed:
      description: The job's datafeed, or null when it has none.
      type: dict
      contains:
        datafeed_id:
          description: The datafeed id.
          type: str
          sample: datafeed-web-latency
        state:
          description: V(stopped), V(starting), V(started) or V(stopping).
          type: str
          sample: started
        put_config:
          description: The datafeed configuration as the create-datafeed API takes it, with its C(datafeed_id)
            and C(job_id); give it to O(esops.jobs.ml_job#module:datafeed_config).
          returned: with O(include_put_config=true)
          type: dict
          sample: {datafeed_id: datafeed-web-latency, job_id: web-latency, indices: [web-*], query: {match_all: {}}}
    node:
      description: The name of the node the job runs on; null when it is not assigned to a node.
      type: str
      sample: ml-node-1
    assignment_explanation:
      description: Why the job is not assigned to a node (for example while upgrade mode is on); null when
        Elasticsearch gives no explanation.
      type: str
    open_time:
      description: How long the job has been open, as Elasticsearch reports it (for example V(13s)); null
        when it is not open.
      type: str
      sample: 3h
    config:
      description: The job configuration exactly as the get-jobs API returns it (null if the job was deleted
        between the two reads).
      type: dict
    put_config:
      description:
        - The job configuration as the create-job API takes it (see O(include_put_config)), with its C(job_id);
          give it to O(esops.jobs.ml_job#module:config) to re-create the job. The datafeed is in
          RV(jobs[].datafeed.put_config), not in here.
        - Null if the job was deleted between the two reads.
      returned: with O(include_put_config=true)
      type: dict
      sample: {job_id: web-latency, groups: [web], analysis_config: {bucket_span: 15m, detectors: [{function: mean, field_name: latency}]},
               data_description: {time_field: "@timestamp", time_format: epoch_ms}, analysis_limits: {model_memory_limit: 64mb},
               results_index_name: shared, allow_lazy_open: false}
upgrade_mode:
  description: Whether ML upgrade mode is enabled.
  returned: always
  type: bool
  sample: false
cluster:
  description:
    - The cluster the task ran against, from C(GET /).
    - C(uuid) and C(name) are null when the user may not call C(GET /) (no cluster privilege C(monitor));
      C(version) then comes from the ML info API when the user may read it, else it is null too.
  returned: always, and on failures once the cluster was read
  type: dict
  contains:
    uuid:
      description: C(cluster_uuid); null when unknown.
      type: str
    name:
      description: C(cluster_name); null when unknown.
      type: str
    version:
      description: The Elasticsearch version; null when unknown.
      type: str
  sample: {uuid: dGhpc2lzYXV1aWQxMjM0, name: prod-eu, version: 8.19.3}
'''

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._ml import validate_ml_ids
from ansible_collections.esops.jobs.plugins.module_utils._ml_info import gather_jobs
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec


def argument_spec():
    return generate_argspec(
        job_id=dict(type='list', elements='str', default=['_all']),
        allow_no_match=dict(type='bool', default=True),
        include_put_config=dict(type='bool', default=False),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        job_ids = validate_ml_ids(module.params['job_id'], 'job_id')
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        result = gather_jobs(module.client, job_ids, allow_no_match=module.params['allow_no_match'],
                             include_put_config=module.params['include_put_config'])
    except ElasticsearchError as exc:
        module.fail_from_error(exc)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
