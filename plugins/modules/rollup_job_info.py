#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: rollup_job_info
short_description: Read Elasticsearch rollup jobs, their states, configurations and statistics
version_added: 1.0.0
description:
  - Returns the selected Elasticsearch rollup jobs as Elasticsearch reports them, with each job's state
    (V(started), V(indexing), V(stopping), V(stopped) or V(aborting)).
  - Only reads; it never changes anything.
  - Works with Elasticsearch 6.8 (C(_xpack/rollup) paths) to 9.x. The deprecation warnings that Elasticsearch
    9.x sends for rollup APIs are shown as task warnings.
author:
  - esops.jobs contributors (@esops)
options:
  job_id:
    description:
      - The rollup jobs to read, as one id, a list of ids, patterns with C(*) (for example V(nightly-*)), or
        V(_all) (V(*) means the same). A string with comma-separated ids works too.
      - All jobs are read with one C(GET _rollup/job/_all) request and the selection is made from them.
      - A pattern that matches nothing adds nothing to RV(jobs). An exact id that does not exist fails the task,
        listing every missing id (as M(esops.jobs.ml_job_info) does); use a pattern to look for a job that
        may not exist.
      - V(_all) cannot be combined with other ids. Ids with whitespace or control characters are refused.
    type: list
    elements: str
    default: [_all]
  include_put_config:
    description:
      - Also return each job's configuration as the create-rollup-job API takes it (RV(jobs[].put_config)), for
        backups that M(esops.jobs.rollup_job) can restore.
    type: bool
    default: false
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.info_module
seealso:
  - module: esops.jobs.rollup_job_state
  - name: Get rollup jobs API
    description: Elasticsearch reference for the response this module returns.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/rollup-get-job.html
'''

EXAMPLES = r'''
- name: Read every rollup job
  esops.jobs.rollup_job_info:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
  register: rollups

- name: List the running ones
  ansible.builtin.debug:
    msg: "{{ rollups.jobs | selectattr('state', 'in', ['started', 'indexing']) | map(attribute='job_id') | list }}"

- name: Read two rollup jobs (the task fails, naming them, if either does not exist)
  esops.jobs.rollup_job_info:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id:
      - sensor-hourly
      - sensor-daily
  register: wanted

- name: Find out whether a rollup job exists, without failing
  esops.jobs.rollup_job_info:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id: legacy-metrics*
  register: legacy

- name: Report it
  ansible.builtin.debug:
    msg: "legacy-metrics exists: {{ 'legacy-metrics' in (legacy.jobs | map(attribute='job_id')) }}"

- name: Save the nightly jobs' configurations (restorable with esops.jobs.rollup_job)
  esops.jobs.rollup_job_info:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id: nightly-*
    include_put_config: true
  register: nightly_saved

- name: Write one backup file per job
  ansible.builtin.copy:
    dest: "/var/backups/es/rollup-{{ item.job_id }}.json"
    content: "{{ item.put_config | to_nice_json }}"
    mode: "0640"
  loop: "{{ nightly_saved.jobs }}"
  delegate_to: localhost

- name: Show how many documents the nightly jobs processed
  esops.jobs.rollup_job_info:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id: nightly-*
  register: nightly

- name: Print them
  ansible.builtin.debug:
    msg: "{{ item.job_id }}: {{ item.state }}, {{ item.stats.documents_processed }} documents"
  loop: "{{ nightly.jobs }}"
  loop_control:
    label: "{{ item.job_id }}"
'''

RETURN = r'''
changed:
  description: Always V(false); this module only reads.
  returned: always
  type: bool
  sample: false
jobs:
  description:
    - The selected jobs, in the order of O(job_id) (pattern matches sorted by id). Empty when nothing matched.
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: The rollup job id.
      type: str
      returned: always
      sample: nightly-sensors
    state:
      description: The job state, C(status.job_state) of the Elasticsearch response.
      type: str
      returned: always
      choices: [started, indexing, stopping, stopped, aborting]
      sample: started
    config:
      description:
        - The job configuration exactly as Elasticsearch returns it (C(id), C(index_pattern), C(rollup_index),
          C(cron), C(groups), C(metrics), C(timeout), C(page_size)).
        - The C(date_histogram) interval key is C(interval) on 6.x and C(calendar_interval) or C(fixed_interval) later.
      type: dict
      returned: always
      sample:
        id: nightly-sensors
        index_pattern: sensor-*
        rollup_index: sensor_rollup
        cron: "0 0 1 * * ?"
        groups:
          date_histogram: {field: timestamp, calendar_interval: 1h, time_zone: UTC}
        metrics:
          - {field: temperature, metrics: [min, max, sum]}
        timeout: 20s
        page_size: 1000
    put_config:
      description:
        - The job configuration as the create-rollup-job API takes it, with its C(id); give it to
          O(esops.jobs.rollup_job#module:config) to re-create the job. Rollup configurations hold no generated
          field, so it equals RV(jobs[].config).
      type: dict
      returned: with O(include_put_config=true)
      sample: {id: nightly-sensors, index_pattern: sensor-*, rollup_index: sensor_rollup, cron: "0 0 1 * * ?",
               groups: {date_histogram: {field: timestamp, calendar_interval: 1h, time_zone: UTC}},
               metrics: [{field: temperature, metrics: [min, max, sum]}], timeout: 20s, page_size: 1000}
    status:
      description:
        - The job status exactly as Elasticsearch returns it; C(job_state) is the same as RV(jobs[].state).
        - C(current_position) appears once the job has indexed something; C(upgraded_doc_id) exists on 6.4 to 7.17.
      type: dict
      returned: always
      sample: {job_state: started, current_position: {timestamp.date_histogram: 1700000000000}}
    stats:
      description: The job statistics exactly as Elasticsearch returns them; the timing and failure counters exist from 7.x.
      type: dict
      returned: always
      sample:
        pages_processed: 12
        documents_processed: 48000
        rollups_indexed: 120
        trigger_count: 30
        index_failures: 0
        search_failures: 0
msg:
  description: Why the task failed.
  returned: on failure
  type: str
  sample: 'rollup jobs not found: sensor-daily, sensor-weekly'
failed_jobs:
  description: The exact ids of O(job_id) that do not exist.
  returned: on failure, when exact ids do not exist
  type: list
  elements: str
  sample: [sensor-daily, sensor-weekly]
status:
  description: HTTP status of the Elasticsearch error that failed the task; null when Elasticsearch could not be reached.
  returned: on failure, when Elasticsearch refused the request
  type: int
  sample: 403
error_type:
  description: Elasticsearch's error type of that error.
  returned: on failure, when Elasticsearch refused the request
  type: str
  sample: security_exception
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

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec
from ansible_collections.esops.jobs.plugins.module_utils._rollup_config import rollup_put_config
from ansible_collections.esops.jobs.plugins.module_utils._rollup_job import RollupJobReader, missing_message, validate_rollup_ids


def argument_spec():
    return generate_argspec(
        job_id=dict(type='list', elements='str', default=['_all']),
        include_put_config=dict(type='bool', default=False),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        tokens = validate_rollup_ids(module.params['job_id'], 'job_id')
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    reader = RollupJobReader(module.client, tokens)
    try:
        current = reader.read()
    except ElasticsearchError as exc:
        module.fail_from_error(exc)
    jobs = [dict(job_id=job_id, state=facts['state'], config=facts['config'], status=facts['status'], stats=facts['stats'])
            for job_id, facts in current.items()]
    if module.params['include_put_config']:
        for job in jobs:
            job['put_config'] = rollup_put_config(job['config'])
    if reader.missing:
        module.fail_json(msg=missing_message(reader.missing), failed_jobs=reader.missing, changed=False, jobs=jobs)
    module.exit_json(changed=False, jobs=jobs)


if __name__ == '__main__':
    main()
