#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: rollup_job_state
short_description: Start, stop or delete Elasticsearch rollup jobs, idempotently
version_added: 1.0.0
description:
  - Moves one or more Elasticsearch rollup jobs to V(started), V(stopped) or V(absent) (deleted), reading their
    states first so that only real transitions are requested and reported as changed.
  - Handles every rollup job state. V(indexing) counts as running. A V(stopping) job is finishing the page
    it was indexing. An V(aborting) job is being deleted.
  - Stopping waits server-side (C(wait_for_completion=true)), several jobs at
    once.
  - A start is only ever sent to a V(stopped) job; Elasticsearch 7.x and earlier answer HTTP 500 when a
    started job is started again.
  - Works with Elasticsearch 6.8 (C(_xpack/rollup) paths) to 9.x. Rollups are deprecated since 8.11; the
    deprecation warnings Elasticsearch sends are shown as task warnings and never fail the task.
author:
  - esops.jobs contributors (@esops)
options:
  job_id:
    description:
      - The rollup jobs to manage, as one id, a list of ids, patterns with C(*) (for example V(nightly-*)), or
        V(_all) (V(*) means the same). A string with comma-separated ids works too.
      - Patterns are matched against the jobs that exist (one C(GET _rollup/job/_all) request).
        A pattern that matches nothing selects nothing; the task then reports no change and an empty RV(jobs).
      - An exact id that does not exist fails the task for O(state=started) and O(state=stopped),
        listing every missing id. For O(state=absent) it is already absent, which is not an error.
      - V(_all) cannot be combined with other ids. Ids with whitespace or control characters are refused.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(stopped) stops V(started) and V(indexing) jobs. A V(stopping) job gets a stop too (harmless; it lets
        Elasticsearch wait for the end of its page) and is reported as changed, because its state moves during
        the task.
      - V(started) starts V(stopped) jobs. V(started) and V(indexing) jobs are left alone. A V(stopping) job
        is first waited for until it is V(stopped) (within O(timeout), even with O(wait=false), as
        Elasticsearch refuses to start a stopping job), then started.
      - V(absent) deletes V(stopped) jobs. A job in any other state is only deleted with O(force=true);
        otherwise the task fails naming the job's state and deletes nothing. With O(wait=true) the task reads
        the jobs again until they are gone (Elasticsearch 6.x may still list a deleted job for a moment).
      - An V(aborting) job is already being deleted; it fails the task for V(started) and V(stopped), and
        for V(absent) the task waits until it is gone (reported as changed).
      - The rollup index and the data already rolled up are kept, unless O(delete_rollup_index=true).
    type: str
    choices: [started, stopped, absent]
    default: stopped
  force:
    description:
      - With O(state=absent), stop jobs that are not stopped, wait until they are V(stopped) (within
        O(timeout), even with O(wait=false)), then delete them.
      - With other states it has no effect, and the task shows a warning.
    type: bool
    default: false
  delete_rollup_index:
    description:
      - With O(state=absent), also delete each deleted job's own rollup index (C(config.rollup_index)), with
        the data rolled up in it, once the jobs are gone.
      - An index is only deleted when it holds nothing but the rollups of jobs this task deletes. When it is
        also the rollup index of a job that is not deleted, or still holds the rollups of a job deleted earlier
        (the rollup index mapping keeps every job that wrote to it, C(_meta._rollup)), the task fails before
        any change, naming those jobs. To delete such an index anyway, list those jobs in O(job_id) too; a job
        deleted earlier is simply already absent.
      - Needs the index privileges C(view_index_metadata) (to read which jobs the index holds, before any change)
        and C(delete_index) (or C(manage)) on the rollup index, beside C(manage_rollup). The plan asks Elasticsearch
        (has-privileges, as M(esops.jobs.privilege_check) does) whether the credential may delete the rollup jobs
        and the indices, and fails before any change when it may not, so the jobs are never deleted without their
        index.
      - Only allowed with O(state=absent). Check mode reads the indices and predicts their deletion.
      - A rollup index that no longer exists is reported unchanged. When an exact O(job_id) is already gone (a run
        that deleted the job and then failed on its index), the task finds the index through the rollup
        capabilities API (C(GET _rollup/data/_all), which lists the jobs whose rollups an index still holds) and
        deletes it under the same rules, so running the task again finishes the work.
    type: bool
    default: false
  timeout:
    description:
      - How long the whole task may wait for jobs to reach the requested state, as an Elasticsearch time value
        (V(30s), V(5m)) or a number of seconds, at most V(7d).
      - Stops are sent with this budget as their server-side C(timeout). When it runs out the task fails
        naming the jobs and their last state; Elasticsearch keeps stopping them in the background.
    type: str
    default: 30s
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.wait
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
  - esops.jobs.attributes.diff_mode
notes:
  - Requests, for O(state=stopped) on N running jobs with O(wait=true), C(GET /),
    C(GET _rollup/job/_all) and one stop per job, run concurrently (up to 16 at a time); nothing is
    read again when every stop answered. When nothing needs to change only the two C(GET) requests are sent.
  - Check mode reads the jobs and predicts every transition without sending any mutating request.
  - Elasticsearch 8.15 and later refuse to create rollup jobs in clusters that never used rollups; this
    module does not create jobs, it only manages existing ones.
seealso:
  - module: esops.jobs.rollup_job_info
  - name: Stop rollup jobs API
    description: Elasticsearch reference for the stop API, including C(wait_for_completion).
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/rollup-stop-job.html
'''

EXAMPLES = r'''
- name: Stop every nightly rollup job before the maintenance window
  esops.jobs.rollup_job_state:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id: nightly-*
    state: stopped
    timeout: 2m

- name: Start two rollup jobs again afterwards
  esops.jobs.rollup_job_state:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id:
      - sensor-hourly
      - sensor-daily
    state: started

- name: Delete a rollup job, stopping it first if it is running
  esops.jobs.rollup_job_state:
    hosts: https://es.example.com:9200
    username: rollup_admin
    password: "{{ vault_rollup_admin_password }}"
    ca_cert: /etc/pki/es-ca.pem
    job_id: legacy-metrics
    state: absent
    force: true

- name: Retire a rollup job and its own rollup index (refused if the index holds other jobs' rollups)
  esops.jobs.rollup_job_state:
    hosts: https://es.example.com:9200
    api_key: "{{ es_api_key }}"
    job_id: legacy-metrics
    state: absent
    force: true
    delete_rollup_index: true

- name: Preview which rollup jobs would be stopped, with the connection set once for the block
  module_defaults:
    group/esops.jobs.elasticsearch:
      hosts: https://es.example.com:9200
      api_key: "{{ es_api_key }}"
  block:
    - name: Predict the stops
      esops.jobs.rollup_job_state:
        job_id: _all
        state: stopped
      check_mode: true
      diff: true
      register: preview

    - name: Show which jobs would be stopped
      ansible.builtin.debug:
        msg: "{{ preview.jobs | selectattr('changed') | map(attribute='job_id') | list }}"
'''

RETURN = r'''
changed:
  description: Whether at least one job changed state (or would, in check mode).
  returned: always
  type: bool
  sample: true
msg:
  description: A one-line summary, or the reason of the failure.
  returned: always
  type: str
  sample: moved 2 of 3 rollup jobs to stopped
jobs:
  description:
    - One entry per selected job that existed when the task started, in the order of O(job_id)
      (pattern matches sorted by id).
    - Empty when nothing matched.
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: The rollup job id.
      type: str
      returned: always
      sample: nightly-sensors
    state_before:
      description: The job state when the task started.
      type: str
      returned: always
      sample: indexing
    state_after:
      description:
        - The job state when the task ended (predicted in check mode), or V(absent) once deleted.
        - With O(wait=false) it may be transitional, such as V(stopping).
      type: str
      returned: always
      sample: stopped
    changed:
      description: Whether this job changed state (or would, in check mode).
      type: bool
      returned: always
      sample: true
    actions:
      description:
        - What the module did (or would do) to this job, in order; empty when nothing was needed.
        - V(stop), V(start), V(delete), or V(await_removal) for an V(aborting) job that only had to be waited for.
      type: list
      elements: str
      returned: always
      sample: [stop, delete]
diff:
  description:
    - The jobs' states before and after (predicted in check mode); deleted jobs are left out of C(after).
    - With O(delete_rollup_index=true), each rollup index is an entry C(index/<name>) (V(present)) too.
  returned: when diff mode is on
  type: dict
  sample: {before: {nightly-sensors: started, index/sensors-rollup: present}, after: {}}
rollup_indices:
  description: The rollup indices of the deleted jobs and what happened to them (predicted in check mode).
  returned: with O(delete_rollup_index=true), when the plan was made
  type: list
  elements: dict
  contains:
    index:
      description: The rollup index name.
      type: str
    job_ids:
      description: The jobs of this task whose rollup index it is.
      type: list
      elements: str
    state_before:
      description: V(present), or V(absent) when it no longer existed.
      type: str
    state_after:
      description: V(absent) once deleted; V(present) when the task failed before deleting it.
      type: str
    changed:
      description: Whether it was (or would be) deleted.
      type: bool
  sample: [{index: sensors-rollup, job_ids: [nightly-sensors], state_before: present, state_after: absent, changed: true}]
failed_jobs:
  description: Ids of the jobs that caused the failure (missing ids, wrong states, refused requests).
  returned: on failure
  type: list
  elements: str
  sample: [nightly-sensors]
timed_out_jobs:
  description: Ids of the jobs that had not reached the requested state when O(timeout) ran out while polling.
  returned: on failure, when polling timed out
  type: list
  elements: str
  sample: [nightly-sensors]
status:
  description: HTTP status of the Elasticsearch error that failed the task; null when Elasticsearch could not be reached.
  returned: on failure, when Elasticsearch refused a request
  type: int
  sample: 403
error_type:
  description: Elasticsearch's error type of that error.
  returned: on failure, when Elasticsearch refused a request
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

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Converger
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec, wait_argspec
from ansible_collections.esops.jobs.plugins.module_utils._rollup_job import RollupJobAdapter, validate_rollup_ids


def argument_spec():
    options = dict(
        job_id=dict(type='list', elements='str', required=True),
        state=dict(type='str', choices=['started', 'stopped', 'absent'], default='stopped'),
        force=dict(type='bool', default=False),
        delete_rollup_index=dict(type='bool', default=False),
    )
    options.update(wait_argspec('30s'))
    return generate_argspec(**options)


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        tokens = validate_rollup_ids(module.params['job_id'], 'job_id')
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    timeout = module.duration('timeout')
    state = module.params['state']
    if module.params['force'] and state != 'absent':
        module.warn('force has no effect with state=%s; it only applies to state=absent' % state)
    if module.params['delete_rollup_index'] and state != 'absent':
        module.fail_json(msg='delete_rollup_index=true needs state=absent (it deletes the rollup index of deleted jobs)')
    adapter = RollupJobAdapter(module.client, state, tokens, force=module.params['force'],
                               wait=module.params['wait'], timeout=timeout,
                               delete_rollup_index=module.params['delete_rollup_index'])
    Converger(module, adapter).run(wait=module.params['wait'], timeout=timeout)


if __name__ == '__main__':
    main()
