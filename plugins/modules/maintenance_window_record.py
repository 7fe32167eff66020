#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: maintenance_window_record
short_description: Read, bind and plan a maintenance window's record (the bookkeeping of the maintenance_window role)
version_added: 1.0.0
description:
  - The bookkeeping of the C(esops.jobs.maintenance_window) role, in three steps around the role's reads of the
    cluster (M(esops.jobs.ml_job_info), M(esops.jobs.rollup_job_info)). Sends no request to Elasticsearch and writes nothing;
    the role writes the record with M(esops.jobs.write_files).
  - O(step=read) reads the state file O(state_file), if there is one, and checks that it is a maintenance window record
    of this version bound to a cluster. It fails with one line when it is not, and when O(action=exit) finds no state
    file. It decides what the role reads - RV(ml_read), RV(rollup_read) - and whether this is a new window (RV(new)).
  - O(step=plan) takes the record and the results of those reads. It refuses, with one line, a cluster that did not
    say which it is and a state file of a window open on another cluster (another C(cluster_uuid)), and on V(enter) of
    a new window in C(close_jobs) mode, ML upgrade mode that is already on. It builds a new window's record (the open
    jobs, started datafeeds and started rollup jobs, and in C(calendar) mode the window's calendar and event), works out
    what V(exit) restores (the recorded objects Elasticsearch still reports), the calendar events and the operations
    for M(esops.jobs.privilege_check).
  - O(step=verify), after the real pause or restore, takes the record (and on V(exit) RV(restore)) and the results
    of reading the recorded objects again, and fails with one line naming what is not paused (V(enter)) or not running
    again (V(exit)).
  - Run it where the state file is, the controller (C(delegate_to=localhost)).
author:
  - esops.jobs contributors (@esops)
options:
  step:
    description:
      - V(read) the state file, V(plan) from the record and the cluster reads, or V(verify) the pause or restore.
    type: str
    required: true
    choices: [read, plan, verify]
  action:
    description:
      - The role's action. V(enter) records and pauses; V(exit) restores.
    type: str
    required: true
    choices: [enter, exit]
  state_file:
    description:
      - The JSON state file of the window. The calendar id of a new window names it (the first 8 hex digits of the
        SHA-1 of the path, C(~) and variables expanded).
    type: path
    required: true
  ml:
    description:
      - Include ML jobs and datafeeds in a new window.
    type: bool
    default: true
  ml_mode:
    description:
      - How a new window pauses ML (the role's C(maintenance_window_ml_mode)).
    type: str
    choices: [upgrade_mode, close_jobs, calendar]
    default: upgrade_mode
  rollups:
    description:
      - Include rollup jobs in a new window.
    type: bool
    default: true
  ml_job_ids:
    description:
      - With O(step=read), the ML job selectors a new C(close_jobs) or C(calendar) window reads. Items are trimmed and
        empty ones dropped; Elasticsearch expands them.
    type: list
    elements: str
    default: [_all]
  rollup_job_ids:
    description:
      - With O(step=read), the rollup job selectors a new window reads.
    type: list
    elements: str
    default: [_all]
  calendar_duration:
    description:
      - With O(step=plan), how long a new C(calendar) window's event lasts (Elasticsearch time units).
    type: str
    default: 4h
  record:
    description:
      - With O(step=plan), RV(record) of O(step=read); with O(step=verify), RV(record) of O(step=plan).
    type: dict
    default: {}
  restore:
    description:
      - With O(step=verify) of V(exit), RV(restore) of O(step=plan).
    type: dict
    default: {}
  new:
    description:
      - With O(step=plan), RV(new) of O(step=read).
    type: bool
    default: false
  ml_info:
    description:
      - With O(step=plan) and O(step=verify), the registered result of M(esops.jobs.ml_job_info) (C(jobs), C(upgrade_mode), C(cluster)),
        or of its skipped task.
    type: dict
    default: {}
  rollup_info:
    description:
      - With O(step=plan) and O(step=verify), the registered result of M(esops.jobs.rollup_job_info) (C(jobs), C(cluster)), or of its
        skipped task.
    type: dict
    default: {}
attributes:
  check_mode:
    description: Reads and computes only; the same in check mode, and says whether the task runs in check mode.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
  platform:
    description: Run it where the state file is, the controller (C(delegate_to=localhost)).
    support: full
    platforms: posix
seealso:
  - module: esops.jobs.write_files
  - module: esops.jobs.ml_calendar
  - module: esops.jobs.privilege_check
'''

EXAMPLES = r'''
- name: Read the state file
  esops.jobs.maintenance_window_record:
    step: read
    action: enter
    state_file: /var/lib/esops/prod.json
    ml_mode: close_jobs
    ml_job_ids: [web-*]
  delegate_to: localhost
  register: window_read

- name: Read the cluster and the selected jobs
  esops.jobs.ml_job_info:
    job_id: "{{ window_read.ml_read }}"
  register: window_ml

- name: Bind the window to the cluster and build its record
  esops.jobs.maintenance_window_record:
    step: plan
    action: enter
    state_file: /var/lib/esops/prod.json
    ml_mode: close_jobs
    record: "{{ window_read.record }}"
    new: "{{ window_read.new }}"
    ml_info: "{{ window_ml }}"
  delegate_to: localhost
  register: window
'''

RETURN = r'''
check_mode:
  description: Whether this task runs in check mode (also when check mode was set on the task including the role).
  type: bool
  returned: always
record:
  description:
    - O(step=read), the state file's record (empty without a state file). O(step=plan), the window's record - a new
      window's as V(enter) writes it, else the state file's.
  type: dict
  returned: when O(step=read) or O(step=plan)
new:
  description: O(action=enter) and no window is open in the state file.
  type: bool
  returned: when O(step=read) or O(step=plan)
ml_needed:
  description: O(step=read), whether the role reads ML jobs and upgrade mode.
  type: bool
  returned: when O(step=read)
rollups_needed:
  description: O(step=read), whether the role reads rollup jobs (also when it reads nothing else, to learn the cluster).
  type: bool
  returned: when O(step=read)
ml_read:
  description: O(step=read), the ML job selectors to read.
  type: list
  elements: str
  returned: when O(step=read)
rollup_read:
  description: O(step=read), the rollup job selectors to read.
  type: list
  elements: str
  returned: when O(step=read)
cluster:
  description: The cluster the reads reached (C(uuid), C(name)).
  type: dict
  returned: when O(step=plan), also when it refuses another cluster
restore:
  description:
    - O(step=plan) of V(exit) of an open window, what is restored; empty lists otherwise. C(jobs), C(datafeeds) and
      C(rollup_jobs) are the recorded ones Elasticsearch still reports, C(datafeeds_to_start) those recorded
      datafeeds that are not started now, C(deleted) the recorded ones deleted during the window.
  type: dict
  returned: when O(step=plan)
exited_at:
  description: O(step=plan) of V(exit), the exit time (the end of the calendar event), or the recorded one for a
    window already exited; null for V(enter).
  type: str
  returned: when O(step=plan)
exited_record:
  description: O(step=plan) of V(exit) of an open window, the record marked as exited; null otherwise.
  type: dict
  returned: when O(step=plan)
calendar_events:
  description:
    - O(step=plan), the events the window's calendar holds - on V(enter) the planned event, on V(exit) the event ended
      at the exit time, or none when the exit is not after its start; empty without a calendar.
  type: list
  elements: dict
  returned: when O(step=plan)
operations:
  description: O(step=plan), the M(esops.jobs.privilege_check) operations of the pause or restore steps (without the calendar's).
  type: list
  elements: str
  returned: when O(step=plan)
outcome:
  description: O(step=plan), V(entered), V(restored) or V(already_exited) (an V(exit) of a window that was exited).
  type: str
  returned: when O(step=plan)
'''

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils import _maintenance_window as window
from ansible_collections.esops.jobs.plugins.module_utils._module import unsupported_python


def read_state_file(path):
    """The state file's text, None when there is none; Refused when it cannot be read."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8')
    except (IOError, OSError) as exc:
        raise window.Refused('cannot read the maintenance window state file %s: %s; nothing was changed'
                             % (path, to_native(exc.strerror or exc)))
    except UnicodeError:
        return ''


def main():
    module = AnsibleModule(argument_spec=dict(
        step=dict(type='str', required=True, choices=['read', 'plan', 'verify']),
        action=dict(type='str', required=True, choices=['enter', 'exit']),
        state_file=dict(type='path', required=True),
        ml=dict(type='bool', default=True),
        ml_mode=dict(type='str', default='upgrade_mode', choices=list(window.ML_MODES)),
        rollups=dict(type='bool', default=True),
        ml_job_ids=dict(type='list', elements='str', default=['_all']),
        rollup_job_ids=dict(type='list', elements='str', default=['_all']),
        calendar_duration=dict(type='str', default='4h'),
        record=dict(type='dict', default={}),
        restore=dict(type='dict', default={}),
        new=dict(type='bool', default=False),
        ml_info=dict(type='dict', default={}),
        rollup_info=dict(type='dict', default={}),
    ), supports_check_mode=True)
    if unsupported_python():
        module.fail_json(msg=unsupported_python())
    params = module.params
    try:
        if params['step'] == 'read':
            result = window.read(params['action'], params['state_file'], read_state_file(params['state_file']),
                                 params['ml'], params['ml_mode'], params['rollups'],
                                 params['ml_job_ids'], params['rollup_job_ids'])
        elif params['step'] == 'verify':
            window.verify(params['action'], params['record'], params['restore'], params['ml_info'], params['rollup_info'])
            result = {}
        else:
            now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
            result = window.plan(params['action'], params['state_file'], params['record'], params['new'], now,
                                 dict(ml=params['ml'], ml_mode=params['ml_mode'], rollups=params['rollups'],
                                      calendar_duration=params['calendar_duration']),
                                 params['ml_info'], params['rollup_info'])
    except window.Refused as refusal:
        module.fail_json(msg=to_native(refusal), check_mode=module.check_mode, **refusal.details)
    module.exit_json(changed=False, check_mode=module.check_mode, **result)


if __name__ == '__main__':
    main()
