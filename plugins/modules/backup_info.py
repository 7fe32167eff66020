#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: backup_info
short_description: Read esops backup files and check that they can be restored together
version_added: 1.0.0
description:
  - Reads the JSON backup files that the C(esops.jobs.ml_job_retire) and C(esops.jobs.rollup_job_retire) roles write
    (M(esops.jobs.write_files) O(esops.jobs.write_files#module:backups)), in one task, and returns their records for
    M(esops.jobs.ml_job) and M(esops.jobs.rollup_job). The C(esops.jobs.job_restore) role plans with it.
  - Fails, with one line naming the file, when a file cannot be read, is not JSON or is not an esops backup.
  - Fails when two files back up the same job (the same kind and job id), naming the job and both files, for
    example two retire runs of one job, or the backups of two clusters; which one to restore is the operator's choice.
  - Works with backups of earlier releases (file names from plain job ids); the job id comes from the record, not
    from the file name.
  - With O(fail_on_refusal=false) these refusals are answers (RV(refused)) instead of failures, so that a role stops
    with its own message and no failed task.
  - Does not talk to Elasticsearch and takes no connection options.
author:
  - esops.jobs contributors (@esops)
options:
  paths:
    description:
      - The backup files.
    type: list
    elements: path
    required: true
  rollup_index:
    description:
      - Rollup job id to the rollup index to re-create it into, instead of the C(rollup_index) its backup holds
        (Elasticsearch refuses the old index while it keeps the deleted job's metadata). The returned records carry it
        in C(config.rollup_index).
      - Keys are job ids as strings (a YAML integer key such as V(123) is the id V("123")); keys no rollup backup of
        O(paths) holds are ignored (one mapping can serve every cluster of a fleet).
    type: dict
    default: {}
  fail_on_refusal:
    description:
      - V(false) returns a refusal (a file that cannot be read or is not an esops backup, two backups of one job, a bad
        O(rollup_index)) in RV(refused), with empty RV(backups), instead of failing.
    type: bool
    default: true
attributes:
  check_mode:
    description: Reads only; the same in check mode.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
  platform:
    description: Run it where the files are, usually the controller (C(delegate_to=localhost)).
    support: full
    platforms: posix
seealso:
  - module: esops.jobs.write_files
  - module: esops.jobs.ml_job
  - module: esops.jobs.rollup_job
'''

EXAMPLES = r'''
- name: Read two backups
  esops.jobs.backup_info:
    paths:
      - /var/backups/es/ml-job-web-20260101T020000Z.json
      - /var/backups/es/rollup-job-sensor-hourly-20260101T020000Z.json
  delegate_to: localhost
  register: backups

- name: Restore the ML job, only on the cluster it was backed up on
  esops.jobs.ml_job:
    job_id: "{{ item.job_id }}"
    config: "{{ item.job }}"
    datafeed_config: "{{ item.datafeed | default(omit, true) }}"
    backup_cluster: "{{ item.cluster }}"
  loop: "{{ backups.ml_jobs }}"
'''

RETURN = r'''
backups:
  description:
    - Every record, in the order of O(paths), with C(path) added. C(job_id) is a string; C(cluster) is a dict whose
      C(uuid) and C(name) are null when the backup does not record them.
  type: list
  elements: dict
  returned: success
  sample: [{path: /var/backups/es/ml-job-web-20260101T020000Z.json, esops_backup: 1, kind: ml_anomaly_detection_job,
            job_id: web, state: opened, saved_at: 20260101T020000Z, cluster: {uuid: dGhpc2lzYXV1aWQxMjM0, name: prod},
            job: {}, datafeed: null}]
ml_jobs:
  description: The records of kind V(ml_anomaly_detection_job) (C(job), C(datafeed)).
  type: list
  elements: dict
  returned: success
rollup_jobs:
  description: The records of kind V(rollup_job) (C(config), C(stats)).
  type: list
  elements: dict
  returned: success
refused:
  description:
    - Why the files cannot be restored together (the message the module fails with by default), or null. Nothing was
      read into RV(backups) when it is set.
  type: str
  returned: success
  sample: 'more than one backup of the same job: ML job web in /b/ml-job-web-1.json, /b/ml-job-web-2.json; give one file per job'
duplicates:
  description: When two files back up one job, each such job with its files.
  type: list
  elements: dict
  returned: when two files back up one job
  sample: [{kind: ml_anomaly_detection_job, job_id: web, paths: [/b/ml-job-web-1.json, /b/ml-job-web-2.json]}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._backup import (
    ML_KIND, ROLLUP_KIND, describe_duplicates, duplicate_jobs, parse_backup, with_rollup_index)
from ansible_collections.esops.jobs.plugins.module_utils._module import unsupported_python


class Refused(Exception):
    """A reason the files cannot be restored together, with the result keys that explain it."""

    def __init__(self, msg, **details):
        super(Refused, self).__init__(msg)
        self.details = details


def read_backups(paths, rollup_index):
    """Every record of ``paths`` in their order, ``path`` added; Refused when they cannot be restored together."""
    records = []
    for path in paths:
        try:
            with open(path, 'rb') as handle:
                text = handle.read().decode('utf-8')
        except (IOError, OSError) as exc:
            raise Refused('cannot read backup file %s: %s' % (path, to_native(exc.strerror or exc)))
        except UnicodeError:
            raise Refused('%s is not an esops backup file (not UTF-8 text)' % path)
        try:
            records.append((path, parse_backup(path, text)))
        except ValueError as exc:
            raise Refused(to_native(exc))
    duplicates = duplicate_jobs(records)
    if duplicates:
        raise Refused('more than one backup of the same job: %s; give one file per job' % describe_duplicates(duplicates),
                      duplicates=[dict(kind=kind, job_id=job_id, paths=paths) for kind, job_id, paths in duplicates])
    try:
        return with_rollup_index([dict(record, path=path) for path, record in records], rollup_index)
    except ValueError as exc:
        raise Refused(to_native(exc))


def main():
    module = AnsibleModule(argument_spec=dict(paths=dict(type='list', elements='path', required=True),
                                              rollup_index=dict(type='dict', default={}),
                                              fail_on_refusal=dict(type='bool', default=True)),
                           supports_check_mode=True)
    if unsupported_python():
        module.fail_json(msg=unsupported_python())
    try:
        backups = read_backups(module.params['paths'], module.params['rollup_index'])
    except Refused as refusal:
        if module.params['fail_on_refusal']:
            module.fail_json(msg=to_native(refusal), **refusal.details)
        module.exit_json(changed=False, refused=to_native(refusal), backups=[], ml_jobs=[], rollup_jobs=[],
                         **refusal.details)
    module.exit_json(changed=False, refused=None, backups=backups,
                     ml_jobs=[record for record in backups if record['kind'] == ML_KIND],
                     rollup_jobs=[record for record in backups if record['kind'] == ROLLUP_KIND])


if __name__ == '__main__':
    main()
