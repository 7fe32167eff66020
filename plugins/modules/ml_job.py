#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: ml_job
short_description: Create an Elasticsearch ML anomaly-detection job and its datafeed from a saved configuration
version_added: 1.0.0
description:
  - Makes sure one anomaly-detection job, and optionally its datafeed, exist with the given configuration. Meant
    for restoring what M(esops.jobs.ml_job_info) saved with O(esops.jobs.ml_job_info#module:include_put_config=true)
    (for example the backups the C(esops.jobs.ml_job_retire) role writes), and for creating jobs from code.
  - A missing job is created (it starts V(closed)); a missing datafeed is created (it starts V(stopped)). Open the job
    and start the datafeed afterwards with M(esops.jobs.ml_job_state) and M(esops.jobs.ml_datafeed_state).
  - A job or datafeed that exists and equals the configuration is left alone (C(changed=false)). Equal means every
    key given in the configuration has the same value in Elasticsearch; keys left out take Elasticsearch's
    defaults and are not compared. V(1gb) and V(1024mb) are the same C(model_memory_limit).
  - A job or datafeed that exists and differs fails the task before any change, listing every difference in
    RV(differences). The module never updates or overwrites an existing job; delete it first
    (M(esops.jobs.ml_job_state) O(esops.jobs.ml_job_state#module:state=absent)) if it must be re-created.
  - Everything that can stop the task is checked before the first request that changes something (differences,
    a datafeed id used by another job, a job id that is a group name, ML upgrade mode).
  - Works with Elasticsearch 6.8 (C(_xpack/ml) paths) and 7.x to 9.x.
author:
  - esops.jobs contributors (@esops)
options:
  job_id:
    description:
      - The job id. One exact id (no pattern, list or group).
      - Defaults to C(job_id) of O(config); when both are given they must be equal.
    type: str
  config:
    description:
      - The job configuration, as the create-job API takes it (RV(esops.jobs.ml_job_info#module:jobs[].put_config)).
      - Fields only Elasticsearch sets (C(create_time), C(job_version), C(model_snapshot_id), C(finished_time),
        C(job_type), C(blocked), C(deleting)) are ignored, so a configuration as the get-jobs API returns it works
        too. Its embedded C(datafeed_config) (Elasticsearch 7.15 and later) is used as O(datafeed_config) when that
        option is not given.
    type: dict
    required: true
  datafeed_config:
    description:
      - The datafeed configuration, as the create-datafeed API takes it
        (RV(esops.jobs.ml_job_info#module:jobs[].datafeed.put_config)). Leave it out for a job without a datafeed.
      - Its C(datafeed_id) defaults to V(datafeed-<job_id>); its C(job_id) must be the job's (it is filled in when
        missing). C(authorization) (the credentials Elasticsearch saved for it) is ignored; the datafeed runs with
        the privileges of the user that creates it.
    type: dict
  backup_cluster:
    description:
      - The cluster the configuration was backed up on, as a backup records it (C(cluster), with C(uuid) and C(name)).
      - When given, the task refuses before any request that changes something unless the cluster it reaches has
        this C(uuid). An unknown uuid on either side is a refusal too, naming the cluster privilege C(monitor) -
        without it the task cannot read the uuid of the cluster it reaches (C(GET /)), and a backup written
        without it records none.
      - Leave it out to restore the configuration into whatever cluster the task reaches (moving a job on purpose).
    type: dict
  state:
    description:
      - V(present) is the only state; delete jobs with M(esops.jobs.ml_job_state).
    type: str
    choices: [present]
    default: present
notes:
  - "Requests: C(GET /), C(GET _ml/anomaly_detectors/<job_id>), C(GET _ml/datafeeds), C(GET _ml/info), then one
    C(PUT) per object created."
  - Needs the cluster privilege C(manage_ml). The datafeed reads its indices with the privileges of the user who
    creates it.
  - Check mode cannot know whether Elasticsearch will accept a new configuration (for example a detector it
    rejects); it predicts the creation, and the real run reports Elasticsearch's error.
seealso:
  - module: esops.jobs.ml_job_info
  - module: esops.jobs.ml_job_state
  - module: esops.jobs.ml_datafeed_state
  - name: Create anomaly detection jobs API
    description: Elasticsearch reference for the job configuration.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-put-job.html
  - name: Create datafeeds API
    description: Elasticsearch reference for the datafeed configuration.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-put-datafeed.html
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
attributes:
  diff_mode:
    description: Shows the job's (and datafeed's) configuration before and after (predicted in check mode).
    support: full
'''

EXAMPLES = r'''
- name: Save a job and its datafeed
  esops.jobs.ml_job_info:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    job_id: web-latency
    include_put_config: true
  register: saved

- name: Write the backup
  ansible.builtin.copy:
    dest: /var/backups/es/web-latency.json
    content: "{{ {'job': saved.jobs[0].put_config, 'datafeed': saved.jobs[0].datafeed.put_config | default(none)} | to_nice_json }}"
    mode: "0640"
  delegate_to: localhost

- name: Restore it later (creates what is missing, fails if something else has that id)
  esops.jobs.ml_job:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    config: "{{ backup.job }}"
    datafeed_config: "{{ backup.datafeed }}"
  vars:
    backup: "{{ lookup('ansible.builtin.file', '/var/backups/es/web-latency.json') | from_json }}"

- name: Create a job from code
  esops.jobs.ml_job:
    job_id: web-errors
    config:
      groups: [web]
      analysis_config:
        bucket_span: 15m
        detectors:
          - function: count
      data_description:
        time_field: "@timestamp"
      analysis_limits:
        model_memory_limit: 64mb
    datafeed_config:
      indices: [web-logs-*]
      query:
        term: {status: 500}
'''

RETURN = r'''
changed:
  description: Whether the job or its datafeed was (or, in check mode, would be) created.
  returned: always
  type: bool
msg:
  description: One-line summary, or why the task failed.
  returned: always
  type: str
  sample: moved 1 of 1 ML jobs to present
job_id:
  description: The job id.
  returned: success, and failures after the input was checked
  type: str
  sample: web-latency
datafeed_id:
  description: The datafeed id; null without O(datafeed_config).
  returned: success, and failures after the input was checked
  type: str
  sample: datafeed-web-latency
actions:
  description: What was (or would be) done, in order; empty when everything was already there.
  returned: success, and failures after the input was checked
  type: list
  elements: str
  choices: [create_job, create_datafeed]
  sample: [create_job, create_datafeed]
jobs:
  description: The job, in the shape every state module returns (C(state_before)/C(state_after) are V(present) or V(absent)).
  returned: success, and failures after the input was checked
  type: list
  elements: dict
  sample: [{job_id: web-latency, state_before: absent, state_after: present, changed: true,
            actions: [create_job, create_datafeed], datafeed_id: datafeed-web-latency}]
differences:
  description: Where the existing job or datafeed differs from the configuration; nothing was changed.
  returned: when the task failed because the job or datafeed exists and differs
  type: list
  elements: dict
  contains:
    object:
      description: V(job) or V(datafeed).
      type: str
    path:
      description: The key, dotted, with list indices (for example C(analysis_config.detectors[0].function)).
      type: str
    current:
      description: The value in Elasticsearch (null when missing).
      type: raw
    desired:
      description: The value in the configuration.
      type: raw
  sample: [{object: job, path: analysis_config.bucket_span, current: 15m, desired: 1h}]
diff:
  description: The PUT-able configuration of the job (C(job)) and its datafeed (C(datafeed)) before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {}, after: {web-latency: {job: {analysis_config: {bucket_span: 15m}}, datafeed: {indices: [web-logs-*]}}}}
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

from ansible_collections.esops.jobs.plugins.module_utils._backup import refuse_other_cluster
from ansible_collections.esops.jobs.plugins.module_utils._convergence import Converger
from ansible_collections.esops.jobs.plugins.module_utils._ml_config import MlJobConfigAdapter, restore_request
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec


def argument_spec():
    return generate_argspec(
        job_id=dict(type='str'),
        config=dict(type='dict', required=True),
        datafeed_config=dict(type='dict'),
        backup_cluster=dict(type='dict'),
        state=dict(type='str', choices=['present'], default='present'),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        job_id, body, datafeed_id, feed_body = restore_request(
            module.params['job_id'], module.params['config'], module.params['datafeed_config'])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    refuse_other_cluster(module, job_id)
    adapter = MlJobConfigAdapter(module.client, job_id, body, datafeed_id, feed_body)
    Converger(module, adapter).run(wait=False)


if __name__ == '__main__':
    main()
