#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: rollup_job
short_description: Create an Elasticsearch rollup job from a saved configuration
version_added: 1.0.0
description:
  - Makes sure one rollup job exists with the given configuration. Meant for restoring what
    M(esops.jobs.rollup_job_info) saved with O(esops.jobs.rollup_job_info#module:include_put_config=true) (for
    example the backups the C(esops.jobs.rollup_job_retire) role writes), and for creating jobs from code.
  - A missing job is created; it starts V(stopped). Start it afterwards with M(esops.jobs.rollup_job_state).
  - A job that exists and equals the configuration is left alone (C(changed=false)). Equal means every key given
    in the configuration has the same value in Elasticsearch; keys left out take Elasticsearch's defaults.
  - A job that exists and differs fails the task before any change, listing every difference in RV(differences).
    Rollup jobs cannot be updated; the module never deletes or overwrites one.
  - Elasticsearch refuses to re-create a job into a rollup index that still holds the rollups of a deleted job
    with the same id (HTTP 409 C(... previously created (existing metadata))), and to add rollups to an existing
    index that holds other data. The module reads the rollup index first and fails before any change, saying so.
    Then either restore into another rollup index (change C(rollup_index) in O(config); the old rollups stay in
    the old index) or delete the old index first with M(esops.jobs.rollup_job_state)
    O(esops.jobs.rollup_job_state#module:delete_rollup_index=true) or by hand, losing its rollups. Nothing
    here deletes data.
  - Works with Elasticsearch 6.8 (C(_xpack/rollup) paths) to 9.x. Elasticsearch 8.15 and later refuse new rollup
    jobs in clusters without any rollup job or rollup index; a restore into an existing rollup index is allowed.
author:
  - esops.jobs contributors (@esops)
options:
  job_id:
    description:
      - The rollup job id. One exact id (no pattern or list).
      - Defaults to C(id) of O(config); when both are given they must be equal.
    type: str
  config:
    description:
      - The job configuration, as the create-rollup-job API takes it (RV(esops.jobs.rollup_job_info#module:jobs[].put_config)
        or RV(esops.jobs.rollup_job_info#module:jobs[].config)).
    type: dict
    required: true
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
      - V(present) is the only state; delete jobs with M(esops.jobs.rollup_job_state).
    type: str
    choices: [present]
    default: present
notes:
  - "Requests: C(GET /), C(GET _rollup/job/<job_id>), C(GET /<rollup_index>) when the job is missing, then
    C(PUT _rollup/job/<job_id>)."
  - Needs the cluster privilege C(manage_rollup). Reading the rollup index needs the index privilege
    C(view_index_metadata) on it; without it the task warns and leaves the check to Elasticsearch, whose refusal
    is reported the same way (check mode then cannot predict it).
  - Check mode cannot know whether Elasticsearch will accept a new configuration; it predicts the creation, and
    the real run reports Elasticsearch's error.
seealso:
  - module: esops.jobs.rollup_job_info
  - module: esops.jobs.rollup_job_state
  - name: Create rollup jobs API
    description: Elasticsearch reference for the rollup job configuration.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/rollup-put-job.html
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
attributes:
  diff_mode:
    description: Shows the job's configuration before and after (predicted in check mode).
    support: full
'''

EXAMPLES = r'''
- name: Restore a rollup job from its backup (it starts stopped)
  esops.jobs.rollup_job:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    config: "{{ lookup('ansible.builtin.file', '/var/backups/es/rollup-nightly-sensors.json') | from_json }}"

- name: Restore it into a new rollup index, keeping the old rollups where they are
  esops.jobs.rollup_job:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    config: "{{ saved | combine({'rollup_index': saved.rollup_index ~ '-restored'}) }}"
  vars:
    saved: "{{ lookup('ansible.builtin.file', '/var/backups/es/rollup-nightly-sensors.json') | from_json }}"

- name: Then start it
  esops.jobs.rollup_job_state:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id: nightly-sensors
    state: started
'''

RETURN = r'''
changed:
  description: Whether the job was (or, in check mode, would be) created.
  returned: always
  type: bool
msg:
  description: One-line summary, or why the task failed.
  returned: always
  type: str
  sample: moved 1 of 1 rollup jobs to present
job_id:
  description: The rollup job id.
  returned: success, and failures after the input was checked
  type: str
  sample: nightly-sensors
actions:
  description: What was (or would be) done; empty when the job was already there.
  returned: success, and failures after the input was checked
  type: list
  elements: str
  choices: [create_job]
  sample: [create_job]
jobs:
  description: The job, in the shape every state module returns (C(state_before)/C(state_after) are V(present) or
    V(absent)), with C(job_state), its rollup state (V(stopped) once created).
  returned: success, and failures after the input was checked
  type: list
  elements: dict
  sample: [{job_id: nightly-sensors, state_before: absent, state_after: present, changed: true, actions: [create_job],
            job_state: stopped}]
differences:
  description: Where the existing job differs from the configuration; nothing was changed.
  returned: when the task failed because the job exists and differs
  type: list
  elements: dict
  contains:
    object:
      description: Always V(rollup_job).
      type: str
    path:
      description: The key, dotted, with list indices (for example C(groups.date_histogram.fixed_interval)).
      type: str
    current:
      description: The value in Elasticsearch (null when missing).
      type: raw
    desired:
      description: The value in the configuration.
      type: raw
  sample: [{object: rollup_job, path: cron, current: "0 0 * * * ?", desired: "0 30 * * * ?"}]
diff:
  description: The job's configuration before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {}, after: {nightly-sensors: {id: nightly-sensors, rollup_index: sensor_rollup}}}
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
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec
from ansible_collections.esops.jobs.plugins.module_utils._rollup_config import RollupJobConfigAdapter, restore_request


def argument_spec():
    return generate_argspec(
        job_id=dict(type='str'),
        config=dict(type='dict', required=True),
        backup_cluster=dict(type='dict'),
        state=dict(type='str', choices=['present'], default='present'),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        job_id, body = restore_request(module.params['job_id'], module.params['config'])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    refuse_other_cluster(module, job_id)
    adapter = RollupJobConfigAdapter(module.client, job_id, body, warn=module.warn)
    Converger(module, adapter).run(wait=False)


if __name__ == '__main__':
    main()
