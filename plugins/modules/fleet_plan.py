#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: fleet_plan
short_description: Plan a fleet runbook on the controller before its first change (paths, shared files, clusters)
version_added: 1.0.0
description:
  - The first step of the collection's fleet runbooks (C(esops.jobs.retire_ml_jobs), C(retire_rollups),
    C(maintenance_enter), C(maintenance_exit), C(restore_jobs), C(export_desired)), run once for all inventory hosts of the play. Runs
    on the controller (an action plugin); sends no request to Elasticsearch and writes nothing.
  - Resolves every path option of each host (C(state_file), C(state_dir), C(backup_dir),
    C(backup_files), C(export_dir) in O(hosts), and O(summary_file)) against the working directory ansible-playbook was started in,
    never the playbook's directory (which is inside the installed collection when a runbook is run by name).
  - Fails, so that the run changes nothing, when two inventory hosts (or a host and the summary) would write one file,
    or when two inventory hosts reach the same cluster (the same C(cluster_uuid) in their O(probes)).
  - Refuses single hosts without stopping the others (RV(plan.refused)) when their probe answered without a
    C(cluster_uuid) (the credential lacks the cluster privilege C(monitor)); such a host could reach another host's
    cluster unnoticed. With O(reads_backup_files=true), a host whose backup files are missing is refused with one
    line naming them.
author:
  - esops.jobs contributors (@esops)
options:
  hosts:
    description:
      - Inventory host name -> that host's path options as given (relative paths are relative to the working
        directory). C(localhost) keeps the single-cluster paths; any other host gets per-host paths.
      - Keys C(state_file), C(state_dir) (default C(esops-maintenance-window), files C(<state_dir>/<host>.json)),
        C(backup_dir) (default C(esops-backups), in a fleet C(<backup_dir>/<host>/)), C(backup_files) (a list
        or a comma-separated string) and C(export_dir) (default C(desired), files C(<export_dir>/<host>.yml) for
        every host, C(localhost) too).
    type: dict
    required: true
  writes:
    description:
      - Which per-host path the runbook writes, checked for being one host's alone.
    type: str
    choices: [state_file, backup_dir, nothing, export_file]
    default: nothing
  reads_backup_files:
    description:
      - Refuse each host whose C(backup_files) is empty or names a file that does not exist.
    type: bool
    default: false
  summary_file:
    description:
      - The runbook's summary file, if any. Each cluster's entry is written to C(<summary_file>.d/<host>.json) as soon
        as it is known (RV(plan.paths) C(record_file)).
    type: str
    default: ''
  probes:
    description:
      - Inventory host name -> the registered result of a module run against that host's cluster (any module of
        this collection; its C(cluster) names the cluster). Hosts whose probe failed or was skipped are not compared.
    type: dict
    default: {}
attributes:
  check_mode:
    description: Runs the same way in check mode; it changes nothing in either.
    support: full
  diff_mode:
    description: Returns no diff; it changes nothing.
    support: none
  platform:
    description: Runs on the controller only.
    support: full
    platforms: posix
notes:
  - The runbooks run it with C(run_once) (its result is registered for every host of the play).
seealso:
  - module: esops.jobs.privilege_check
  - module: esops.jobs.write_files
'''

EXAMPLES = r'''
- name: Plan the run before any change
  esops.jobs.fleet_plan:
    hosts:
      prod-eu: {backup_dir: esops-backups}
      prod-us: {backup_dir: esops-backups}
    writes: backup_dir
    summary_file: retire.json
    probes:
      prod-eu: "{{ hostvars['prod-eu'].runbook_probe }}"
      prod-us: "{{ hostvars['prod-us'].runbook_probe }}"
  run_once: true
  register: runbook_planned
'''

RETURN = r'''
plan:
  description: The plan.
  type: dict
  returned: success
  contains:
    cwd:
      description: The working directory relative paths were resolved against.
      type: str
      sample: /home/sre/runs
    started:
      description: When the plan was made (UTC), written into every summary entry of the run.
      type: str
      sample: '2026-01-01T02:00:00Z'
    hosts:
      description: The inventory hosts, in play order.
      type: list
      elements: str
    summary_file:
      description: O(summary_file) as an absolute path, or empty.
      type: str
    records_dir:
      description: Where each cluster's summary entry is written as soon as it is known, or empty.
      type: str
      sample: /home/sre/runs/retire.json.d
    paths:
      description: Host -> C(state_file), C(backup_dir), C(backup_files), C(export_file) and C(record_file), absolute.
      type: dict
    refused:
      description: Host -> C(status), C(failure) and C(cluster) for each host refused on its own.
      type: dict
'''
