#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: desired_state
short_description: Plan and converge one Elasticsearch cluster to a desired-state document of job states
version_added: 1.0.0
description:
  - Takes a desired-state document (the one the role P(esops.jobs.converge#role) reads from git) that declares ML
    anomaly-detection jobs (V(opened), V(closed), V(absent)), datafeeds (V(started), V(stopped), V(absent)), rollup
    jobs (V(started), V(stopped), V(absent)), optionally ML upgrade mode, and a policy for the objects it does not
    mention; plans the whole cluster in one run and, unless in check mode, applies the plan.
  - "Reads once: C(GET /), and per declared kind one list of every object - ML job configurations (for their
    groups) and stats, datafeed configurations (for their jobs) and stats, rollup jobs - plus C(GET _ml/info) only
    when an ML object would move or C(ml_upgrade_mode) is declared. A no-op run of any number of entries costs
    at most six requests, and at most three more when the document declares (or reports) filters and calendars
    (filters, calendars, every calendar's events)."
  - Selection follows Elasticsearch's rules on that read (ML jobs by id, group or pattern over ids and groups,
    datafeeds by id or pattern, rollup jobs as M(esops.jobs.rollup_job_state) selects them); a fidelity test proves
    it equal to Elasticsearch's own expansion.
  - Every object's steps come from the same engines as M(esops.jobs.ml_job_state), M(esops.jobs.ml_datafeed_state)
    and M(esops.jobs.rollup_job_state), so their version rules hold (datafeeds stopped before a close up to 7.13,
    deleted before their job up to 7.14). The plan refuses, before any change, an object two entries want in
    different states, a datafeed declared V(started) whose job is declared V(closed) or V(absent), an exact id that
    does not exist (except for V(absent)), anything the engines refuse (a failed job without C(force_failed),
    ML upgrade mode on while it stays on), a cluster other than the one the host is bound to
    (O(expected_cluster_uuid)), and a credential that lacks a privilege a planned step sends.
  - A datafeed declared V(started) whose job the same plan opens is started after the open. ML upgrade mode
    declared V(false) is turned off first, so the plan judges the other steps as they will run then.
  - Applies the stages in this order - upgrade mode off, datafeed stops, rollup stops, job closes, datafeed deletes,
    job deletes, rollup deletes, job opens, datafeed starts, rollup starts, upgrade mode on - each with the engine of
    its kind, and stops at the first failure (the report says what moved; a re-run resumes).
  - "Definitions: an ML job, datafeed or rollup job entry with one exact id may carry C(config) (as the create API takes it). A
    missing object is created; a field Elasticsearch updates in place is updated (a running datafeed is stopped first
    and started again after); any other difference is a replace, refused in the plan naming each field unless the
    entry says C(recreate: true) - then an ML job is backed up like a delete, deleted with its datafeed, created again
    and both brought back to their states. A rollup job cannot be updated: any difference is a replace, into a new
    C(rollup_index) (the plan reads the rollup index of each job it creates and refuses one that recorded the job).
    Keys left out are not compared; fields Elasticsearch sets never count. These stages run after the deletes and
    before the opens."
  - "Calendars and filters: C(ml_calendars) and C(ml_filters) entries (one exact id each, V(present) or V(absent)) are
    read only when declared or reported (C(GET filters), C(GET calendars), C(GET calendars/_all/events)), created,
    updated in place (filter description and items; calendar jobs and events, new events before old ones are removed)
    or deleted. Filters go before the job configurations and are deleted after the job deletes and configuration
    changes, before the opens (a filter a job's
    rule still uses is refused in the plan); calendars go after the job configurations. A different calendar
    description is a replace, refused unless C(recreate: true). From 7.8 ML upgrade mode refuses them all."
  - Deletes (V(absent), C(unmentioned) V(absent)) of ML jobs and rollup jobs are backed up first, in the retire
    roles' format, when O(backup_dir) is set; a datafeed deleted on its own is not (its job keeps running). The plan
    lists each delete.
author:
  - esops.jobs contributors (@esops)
options:
  document:
    description:
      - The desired-state document, as documented by the role P(esops.jobs.converge#role) (C(ansible-doc -t role
        esops.jobs.converge), entry point C(document)).
      - "Ids are strings (C(id: \"123\"), not C(id: 123)). An entry's C(timeout) must be more than 0.
        Any mistake fails with one line before any request."
    type: dict
    required: true
  expected_cluster_uuid:
    description:
      - The C(cluster_uuid) this run must reach. Another uuid, or a uuid that cannot be read (a credential without the
        cluster privilege C(monitor)), refuses the run before any change. Empty means not pinned.
    type: str
    default: ''
  expected_cluster_uuid_from:
    description: Where O(expected_cluster_uuid) came from, for the refusal's message.
    type: str
    default: expected_cluster_uuid
  fail_on_error:
    description:
      - V(true) fails the task when the plan or a step failed. V(false) returns the report with its C(errors)
        (status V(failed)) so the caller can write it first; the role P(esops.jobs.converge#role) does that.
      - A malformed document always fails.
    type: bool
    default: true
  document_spec:
    description:
      - An argument spec (the C(options) of an C(argument_specs) entry point) the document must satisfy, checked on
        the controller before the module runs; every mistake is reported in one line. The role P(esops.jobs.converge#role)
        passes its C(document) entry point.
    type: dict
  report_path:
    description:
      - Write the report to C(<report_path>.json) and its Markdown summary to C(<report_path>.md) on the controller,
        each replaced atomically, as soon as the module answered (also in check mode - a report is the output of a
        plan).
    type: path
  report_extra:
    description: Keys added to the report before it is returned and written (the role adds C(host) and C(document)).
    type: dict
  backup_dir:
    description:
      - Back up, on the controller, every ML job and rollup job the plan deletes before the first change, in the
        retire roles' format (C(ml-job-<id>-<UTC stamp>.json) with the job's and its datafeed's configuration as
        M(esops.jobs.ml_job_info) C(include_put_config) returns them, C(rollup-job-<id>-<UTC stamp>.json) with the
        rollup configuration and stats; the cluster and the state), restorable with the role P(esops.jobs.job_restore#role).
        A deleted or replaced calendar or filter is written as a desired-state document fragment
        (C(ml-calendar-<id>-<UTC stamp>.json), C(ml-filter-<id>-<UTC stamp>.json)) that converging creates again.
        The files are written atomically and never overwritten (an existing one refuses the run, nothing changed).
      - A run that deletes then costs a second module run (the first reads what it backs up and changes nothing).
        Without it, deletes are not backed up, and the report says so.
    type: path
  backup:
    description:
      - Internal, set by the action plugin for O(backup_dir) - a real run that would delete returns the backups and
        changes nothing.
    type: bool
    default: false
  backed_up:
    description:
      - Internal, set by the action plugin for O(backup_dir) - the jobs whose backups were written
        (C({ml_jobs, rollup_jobs, ml_calendars, ml_filters})); nothing else is deleted.
    type: dict
notes:
  - O(document_spec), O(report_path), O(report_extra) and O(backup_dir) are handled on the controller by the action plugin of the
    same name; the module itself runs once per cluster.
  - Check mode returns the plan and sends no mutating request (the privilege check is read-only and is asked too).
  - The result holds ids, states, actions and messages, never a connection setting.
seealso:
  - module: esops.jobs.ml_job_state
  - module: esops.jobs.ml_datafeed_state
  - module: esops.jobs.rollup_job_state
  - module: esops.jobs.privilege_check
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
  - esops.jobs.attributes.diff_mode
'''

EXAMPLES = r'''
- name: Plan a cluster against the document in git (a pull request)
  esops.jobs.desired_state:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    document: "{{ lookup('ansible.builtin.file', 'desired/prod-eu.yml') | from_yaml }}"
  check_mode: true
  diff: true
  register: plan

- name: Converge it, pinned to its cluster
  esops.jobs.desired_state:
    document:
      ml_jobs:
        - id: web-jobs
          state: opened
      datafeeds:
        - id: datafeed-web-*
          state: started
      ml_upgrade_mode: false
    expected_cluster_uuid: dGhpc2lzYXV1aWQxMjM0

- name: Declare a filter and a calendar with its jobs and scheduled events
  esops.jobs.desired_state:
    document:
      ml_filters:
        - id: safe_domains
          items: [example.com, "*.example.org"]
      ml_calendars:
        - id: planned-outages
          description: Planned outages
          job_ids: [web-jobs]
          events:
            - {description: Patch night, start_time: "2026-12-05T22:00:00Z", duration: 4h}
      unmentioned: {ml_calendars: report}
    backup_dir: /var/lib/esops/backups/prod-eu
'''

RETURN = r'''
changed:
  description: In check mode, whether anything would move; otherwise whether anything moved.
  returned: always
  type: bool
msg:
  description: One line - status, counts and the errors.
  returned: always
  type: str
  sample: drift; 6 objects, 5 to change, 0 moved, 1 unmanaged, 0 errors
report:
  description:
    - The converge report (docs/converge_report.md, format C(esops_converge_report) 1) without C(host) and
      C(document), which the caller adds.
    - C(mode) (V(plan) or V(apply)), C(check_mode), C(generated_at), C(cluster), C(bound_cluster_uuid), C(status),
      C(drift), C(changed), C(counts), C(policy), C(entries), C(objects) (one row per selected object - C(kind),
      C(id), C(selector), C(desired), C(before), C(planned), C(actions), C(drift), C(unmentioned), datafeeds C(job_id),
      after a real run C(after) and C(moved)), C(ml_upgrade_mode), C(unmanaged), C(errors) (C(kind) -
      V(ml_jobs), V(datafeeds), V(rollup_jobs), V(read), V(cluster), V(privileges), V(apply) - C(selector), C(msg)).
  returned: always
  type: dict
steps:
  description:
    - The planned stages in the order they run - C(stage), C(kind), C(state), C(selector), C(ids), C(actions) per id,
      C(operations) (what M(esops.jobs.privilege_check) was asked for them), C(options).
  returned: always
  type: list
  elements: dict
operations:
  description: Every operation the plan sends; the privilege check asked for exactly these.
  returned: always
  type: list
  elements: str
  sample: [open_job, start_datafeed]
diff:
  description:
    - Per object that differs (C(kind/id)), its state before and planned (or reached); deleted objects are left out of
      C(after).
    - An object with a declared C(config) that differs is C({state, config}), C(config) holding each differing field
      (its path) with its current value (before) and its declared value (after); a created object has no C(before).
  returned: when diff mode is on
  type: dict
report_markdown:
  description: The report as the Markdown summary (a pull-request comment).
  returned: always
  type: str
backup_files:
  description: The backups written before the first change (O(backup_dir)).
  returned: when O(backup_dir) is set and the run deleted jobs
  type: list
  elements: str
report_files:
  description: The files written (O(report_path) with C(.json) and C(.md)).
  returned: when O(report_path) is set
  type: list
  elements: str
cluster:
  description: The cluster the task ran against (C(uuid) and C(name) are null without the privilege C(monitor)).
  returned: always
  type: dict
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._converge_plan import DocumentError
from ansible_collections.esops.jobs.plugins.module_utils._desired_state import DesiredState
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec


def argument_spec():
    return generate_argspec(
        document=dict(type='dict', required=True),
        expected_cluster_uuid=dict(type='str', default=''),
        expected_cluster_uuid_from=dict(type='str', default='expected_cluster_uuid'),
        fail_on_error=dict(type='bool', default=True),
        # taken by the action plugin on the controller (never reach the module)
        document_spec=dict(type='dict'),
        report_path=dict(type='path'),
        report_extra=dict(type='dict'),
        backup_dir=dict(type='path'),
        # set by the action plugin: back up first (a run that would delete returns the backups and applies nothing),
        # then the jobs whose backups it wrote
        backup=dict(type='bool', default=False),
        backed_up=dict(type='dict'),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    runner = DesiredState(module, params['document'], params['expected_cluster_uuid'], params['expected_cluster_uuid_from'],
                          backup=params['backup'], backed_up=params['backed_up'])
    try:
        failure, result = runner.run()
    except DocumentError as exc:
        module.fail_json(msg=to_native(exc.message))
    if failure and params['fail_on_error']:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
