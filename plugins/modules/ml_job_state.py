#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: ml_job_state
short_description: Open, close or delete Elasticsearch machine learning anomaly-detection jobs idempotently
version_added: 1.0.0
description:
  - Moves one or more anomaly-detection jobs to V(closed), V(opened) or V(absent), and reports C(changed)
    only when a job really moved.
  - Reads every matched job's state with one job-stats request, then acts only on the jobs that are not
    already where you want them. All jobs to close go in one close request, which Elasticsearch runs
    concurrently and waits for server-side. Opens and deletes take one job per request; they run a few at
    a time in parallel.
  - Open is not idempotent in Elasticsearch (a second open answers 409), so a job that is V(opened) or
    V(opening) never gets an open request; an V(opening) job is waited for. A job with C(allow_lazy_open)
    that waits for ML capacity (V(opening), no node, an assignment explanation) already counts as opened;
    a re-run reports no change, and check mode predicts that.
  - A V(failed) job can only be closed (and so re-opened or deleted) with force. Without O(force) or
    O(force_failed) the module fails before sending anything, naming the failed jobs.
  - While waiting, a job that goes V(failed) stops the task within seconds, naming it, whatever O(timeout) is.
    Elasticsearch's close waits only for a job's task to disappear, and a failed job keeps its task, so each
    close request waits server-side for at most 5 seconds and the module reads the job states between two
    such requests; a job that closes within the first 5 seconds still costs one close request. An open or a
    close whose job fails on its node answers at once, and the module names that job.
  - While ML upgrade mode is enabled, Elasticsearch refuses to open, close or delete jobs; when a job would
    need such a request the module fails before sending any, pointing at M(esops.jobs.ml_upgrade_mode), and
    check mode predicts that failure (upgrade mode is read with one C(GET _ml/info) when a job has to move).
  - When a run fails after it already moved something (up to 7.13 the datafeeds are stopped before the close,
    which may then fail), those objects are reported as changed, with the datafeed's new state.
  - Works with Elasticsearch 6.8 (C(_xpack/ml) paths, C(allow_no_jobs)), 7.x, 8.x and 9.x, and handles the
    datafeed rules that changed between them (see O(state)).
author:
  - esops.jobs contributors (@esops)
options:
  job_id:
    description:
      - Jobs to manage. Each item is a job id, a job group, a pattern with V(*), or a comma-separated list of
        those. V(_all) selects every job. A YAML list and a comma-separated string both work.
      - Ids and groups follow Elasticsearch's rules (lowercase letters, digits, V(-) and V(_), starting and
        ending with a letter or digit, at most 64 characters; V(.) is accepted too, as Elasticsearch does).
        Patterns may add V(*).
      - An exact id or group that matches no job is an error for V(closed) and V(opened), and simply
        already gone for V(absent).
      - With O(state=absent), a pattern or V(_all) deletes every job it matches. Check with C(--check) first.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(closed) closes the jobs. Elasticsearch flushes and persists each job's model state first, which can
        take minutes for a big job. A job that is already V(closing) is waited for.
        Up to Elasticsearch 7.13 a started datafeed blocks the close of its job, so the module stops the
        datafeeds of the jobs it closes first (one stop request); from 7.14 the close stops them itself.
      - V(opened) opens the jobs. It never starts datafeeds; use M(esops.jobs.ml_datafeed_state) for that.
        A job that is V(closing) is waited for until it is closed, then opened. A V(failed) job is force-closed
        first, and only when O(force) or O(force_failed) is set.
        A job with C(allow_lazy_open) that waits for ML capacity stays V(opening); the module counts it as
        opened, as Elasticsearch's open API does.
      - V(absent) deletes the jobs. Only V(closed) jobs are deleted unless O(force=true) (or O(force_failed=true)
        for V(failed) jobs), which deletes running jobs with Elasticsearch's force delete. Up to Elasticsearch
        7.14 a datafeed blocks the delete of its job, so the module deletes the jobs' datafeeds first; from
        7.15 the job delete removes the datafeed itself.
    type: str
    choices: [closed, opened, absent]
    default: closed
  force:
    description:
      - With O(state=closed), force-close every job to close. A force close returns at once without flushing
        buffers or persisting the model snapshot, so results and model state since the last snapshot are lost.
        Elasticsearch recommends it only for failed jobs or jobs whose results you do not need.
      - With O(state=opened), force-close V(failed) jobs before opening them (the same as O(force_failed)).
      - With O(state=absent), delete jobs in any state with Elasticsearch's force delete (C(DELETE ?force=true)),
        which kills the job's process and removes the job. Nothing is lost that the delete would not remove anyway.
      - Never needed for jobs that are already in the requested state, and never used unless you set it.
    type: bool
    default: false
  force_failed:
    description:
      - Force-close only the jobs that are V(failed), and close every other job gracefully. This is the safe
        choice for maintenance windows. With O(state=closed) it sends two close requests (one forced for the
        failed jobs, one graceful for the rest).
      - With O(state=opened), force-close V(failed) jobs, then open them.
      - With O(state=absent), force-delete V(failed) jobs; other running jobs still need O(force).
      - O(force=true) includes this.
    type: bool
    default: false
  allow_no_match:
    description:
      - When V(false), a pattern or V(_all) that matches no job is an error (Elasticsearch's own message is
        shown). Exact ids must always match, except with O(state=absent).
      - Sent as C(allow_no_jobs) to Elasticsearch before 7.10 and as C(allow_no_match) from 7.10.
    type: bool
    default: true
  timeout:
    description:
      - How long the whole task may take, including Elasticsearch's own waits and the module's polling, as an
        Elasticsearch time value (V(30s), V(5m), V(1h)) or a number of seconds, at most V(7d). The default is
        Elasticsearch's own default for open and close.
      - Every open and close request carries the time left as its C(timeout) parameter. When Elasticsearch's
        wait runs out (a 500 C(Timed out when waiting for persistent tasks) for close, a 408 for open) the job
        goes on moving, so the module keeps polling the job stats until its own deadline, then fails with the
        last known state of each job that is not there yet.
    type: str
    default: 30m
notes:
  - O(wait=false) returns as soon as Elasticsearch accepted the requests. Elasticsearch's open and close APIs
    have no asynchronous form, so with O(wait=false) they are sent with a server-side C(timeout) of at most
    10 seconds; a job still moving then is reported as V(opening) or V(closing) (Elasticsearch goes on in the
    background). Deletes always complete before the module returns (each carries the time left as its
    C(timeout) from 7.0), and up to 7.13 the datafeed stop before a close always waits.
  - Requests per run. A run with nothing to do sends C(GET /) and one job-stats request. Closing any number of
    jobs on 7.14+ adds one close request (two with O(force_failed) when some jobs failed), and no re-read when
    Elasticsearch confirms the close. Up to 7.13 it also reads the datafeed configurations once and, when any of
    those jobs has a datafeed, sends one datafeed stop. Opening or deleting N jobs adds N requests (up to 7.14, deleting also adds one datafeed read
    and one datafeed delete per job that has a datafeed).
  - Long O(job_id) lists. Elasticsearch refuses a request line over 4 KB, so ids that do not fit in about 3000
    characters are never sent in one URL. The states are then read with one request for every job
    (C(_all/_stats), only id, state and assignment of each) and the listed ids matched in the module; group
    names, patterns and ids not found there are still resolved by Elasticsearch. The close is split into
    request lines of that size, sent together.
  - Conflict and timeout answers are never retried blindly. Requests answered 429 are retried a few times by
    the client (throttling is usually brief); 429 for upgrade mode then fails with a pointer to
    M(esops.jobs.ml_upgrade_mode). An open retried after a lost connection may find the job already open;
    that is treated as success once the job reports V(opened).
  - The C(diff) shows each job's state before and after (predicted in check mode). Check mode sends no
    mutating request.
seealso:
  - module: esops.jobs.ml_datafeed_state
  - module: esops.jobs.ml_job_info
  - module: esops.jobs.ml_upgrade_mode
  - name: Close anomaly detection jobs API
    description: Elasticsearch reference for the close-job API, including what force skips.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-close-job.html
  - name: Open anomaly detection jobs API
    description: Elasticsearch reference for the open-job API.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-open-job.html
  - name: Delete anomaly detection jobs API
    description: Elasticsearch reference for the delete-job API.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-delete-job.html
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.wait
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
  - esops.jobs.attributes.diff_mode
'''

EXAMPLES = r'''
- name: Close every job before a maintenance window; force-close only the failed ones
  esops.jobs.ml_job_state:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    ca_cert: /etc/pki/es-ca.pem
    job_id: _all
    state: closed
    force_failed: true
    timeout: 20m

- name: Open the jobs of a group and two more jobs again after the window
  esops.jobs.ml_job_state:
    job_id:
      - web-jobs
      - billing-latency
      - billing-errors
    state: opened

- name: The same selection as a comma-separated string, with a pattern
  esops.jobs.ml_job_state:
    job_id: web-*,billing-latency
    state: opened

- name: Fail if the pattern matches nothing (a typo should not pass silently)
  esops.jobs.ml_job_state:
    job_id: web-*
    state: closed
    allow_no_match: false

- name: Start closing a large job and move on; a later task waits for it
  esops.jobs.ml_job_state:
    job_id: huge-population-job
    state: closed
    wait: false
  register: close_started

- name: Show what is still closing
  ansible.builtin.debug:
    msg: "{{ close_started.jobs | selectattr('state_after', 'equalto', 'closing') | map(attribute='job_id') | list }}"

- name: Delete a retired job (it must be closed)
  esops.jobs.ml_job_state:
    job_id: old-web-latency
    state: absent

- name: Delete a job whatever its state
  esops.jobs.ml_job_state:
    job_id: broken-experiment
    state: absent
    force: true

- name: Preview a bulk change without touching the cluster
  esops.jobs.ml_job_state:
    job_id: _all
    state: closed
  check_mode: true
  diff: true
  register: preview

- name: Connection options once for every esops.jobs task
  module_defaults:
    group/esops.jobs.elasticsearch:
      hosts: https://es.example.com:9200
      api_key: "{{ vault_es_api_key }}"
  block:
    - name: Open the job
      esops.jobs.ml_job_state:
        job_id: web-latency
        state: opened
    - name: Start its datafeed
      esops.jobs.ml_datafeed_state:
        datafeed_id: datafeed-web-latency
        state: started
'''

RETURN = r'''
changed:
  description:
    - Whether at least one job was (or, in check mode, would be) moved.
    - A job that was already V(opening) or V(closing) toward the requested state and was only waited for
      counts as moved, because its state changed during the task (its RV(jobs[].actions) say V(wait) or V(close)).
  returned: always
  type: bool
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: moved 2 of 3 jobs to closed
jobs:
  description: Every job the selection matched, sorted by job id.
  returned: always
  type: list
  elements: dict
  contains:
    job_id:
      description: The job id.
      type: str
      sample: web-latency
    state_before:
      description: The state found (V(closed), V(opening), V(opened), V(closing), V(failed)).
      type: str
      sample: opened
    state_after:
      description:
        - The state at the end (predicted in check mode); V(absent) once deleted.
        - With O(wait=false) it may be V(opening) or V(closing).
      type: str
      sample: closed
    changed:
      description: Whether this job was (or would be) moved.
      type: bool
    actions:
      description:
        - What the module did (or would do) to this job, in order. V(stop_datafeed), V(close), V(force_close),
          V(wait) (an opening job), V(open), V(delete_datafeed), V(delete), V(force_delete).
      type: list
      elements: str
      sample: [stop_datafeed, close]
    datafeed_id:
      description:
        - The id of the job's datafeed, or C(null) when it has none.
        - Returned only when the module read the datafeeds, which it does only where the Elasticsearch version
          makes it handle them, that is when closing jobs (or force-closing failed ones) up to 7.13 and when deleting
          jobs up to 7.14.
          On newer versions Elasticsearch handles the datafeeds itself and no request is spent on them.
      type: str
      returned: when the datafeeds were read
      sample: datafeed-web-latency
    datafeed_state:
      description:
        - The state the module brought the datafeed to, V(stopped) or V(absent); C(null) when it did not
          touch it (including in check mode).
      type: str
      returned: when the datafeeds were read
      sample: stopped
diff:
  description: Job states before and after, keyed by job id. Absent jobs are left out.
  returned: when diff mode is on
  type: dict
  sample: {before: {web-latency: opened}, after: {web-latency: closed}}
failed_jobs:
  description: On failure, the jobs (or unmatched ids) that stopped the task (failed jobs without force, a running
    job to delete without force, a job that failed while waiting, ...).
  returned: on failure
  type: list
  elements: str
  sample: [web-latency]
timed_out_jobs:
  description: On a timeout, the jobs that had not reached the requested state; RV(jobs) holds their last known states.
  returned: on timeout
  type: list
  elements: str
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
from ansible_collections.esops.jobs.plugins.module_utils._ml import validate_ml_ids
from ansible_collections.esops.jobs.plugins.module_utils._ml_job import MlJobAdapter
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec, wait_argspec


def argument_spec():
    options = dict(
        job_id=dict(type='list', elements='str', required=True),
        state=dict(type='str', default='closed', choices=['closed', 'opened', 'absent']),
        force=dict(type='bool', default=False),
        force_failed=dict(type='bool', default=False),
        allow_no_match=dict(type='bool', default=True),
    )
    options.update(wait_argspec('30m'))
    return generate_argspec(**options)


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        job_ids = validate_ml_ids(params['job_id'], 'job_id')
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    timeout = module.duration('timeout')
    adapter = MlJobAdapter(module.client, params['state'], job_ids, force=params['force'],
                           force_failed=params['force_failed'], allow_no_match=params['allow_no_match'],
                           wait=params['wait'])
    Converger(module, adapter).run(wait=params['wait'], timeout=timeout)


if __name__ == '__main__':
    main()
