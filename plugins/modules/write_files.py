#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: write_files
short_description: Write several files atomically in one task (backups, state files, reports)
version_added: 1.0.0
description:
  - Writes every file of O(files) to a temporary file in its directory and renames it over the target, so a reader
    never sees half a file. Missing parent directories are created (mode C(0750)).
  - One task, and one module run, for any number of files. The roles of this collection write their backups, the
    maintenance window's state file and the converge reports with it, on the controller (C(delegate_to=localhost));
    a loop of M(ansible.builtin.copy) costs two module runs per file.
  - With O(overwrite=false) nothing is written when any target already exists; the module fails and lists them
    (a backup is never replaced), or, with O(fail_on_refusal=false), returns them in RV(existing) and RV(refused)
    without failing, so that a role stops with its own message and no failed task.
  - A file whose content and mode are already as asked is left alone (not C(changed)).
  - With O(backups), the module writes the esops backup files of the jobs an info module read, one per job, named
    from the job id by a safe, reversible encoding (never a path, whatever the id holds). With O(overwrite=false) an
    existing backup file is refused with one line naming the files and saying to run again a second later (the names
    hold the UTC second), which is the message the retire roles stop with.
  - Does not talk to Elasticsearch and takes no connection options.
author:
  - esops.jobs contributors (@esops)
options:
  files:
    description:
      - The files to write.
      - Exactly one of O(files) and O(backups) is required.
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Absolute path of the file.
        type: path
        required: true
      content:
        description:
          - The text to write. A final newline is added when missing.
          - Exactly one of O(files[].content) and O(files[].json) is required.
        type: str
      json:
        description:
          - A value to write as JSON (keys sorted, indented by 2), for example a backup record. Passing data
            rather than C(to_json) text keeps the file JSON on every ansible-core, whose templating may turn
            JSON-looking text back into data.
        type: raw
      mode:
        description:
          - Permissions of the file, as an octal string.
        type: str
        default: '0640'
  backups:
    description:
      - Write one esops backup file per job (the format C(esops.jobs.job_restore) and M(esops.jobs.backup_info) read),
        instead of O(files).
      - Each file is C(<dir>/ml-job-<id>-<UTC timestamp>.json) or C(<dir>/rollup-job-<id>-<UTC timestamp>.json). C(<id>)
        is the job id with every byte other than V(a-z), V(0-9), V(_) and V(-) written as C(%XX) (upper-case hex), so a
        rollup job id such as V(x/../y) names a file inside O(backups.dir), two ids never share a name (also on a
        case-insensitive file system), and the name gives the id back. ML job ids and the usual rollup ids are
        unchanged by it.
      - A backup holds exactly what O(backups.jobs) holds, that is what was read from the cluster in this run; an ML job
        without a datafeed is backed up with C(datafeed) null.
    type: dict
    suboptions:
      dir:
        description:
          - Absolute path of the backup directory.
        type: path
        required: true
      kind:
        description:
          - V(ml_anomaly_detection_job) for the C(jobs) of M(esops.jobs.ml_job_info), V(rollup_job) for those of
            M(esops.jobs.rollup_job_info), both read with C(include_put_config=true).
        type: str
        required: true
        choices: [ml_anomaly_detection_job, rollup_job]
      jobs:
        description:
          - The jobs to back up, as the info module returned them (C(job_id), C(state), C(put_config); ML jobs their
            C(datafeed.put_config), rollup jobs C(stats)).
        type: list
        elements: dict
        required: true
      cluster:
        description:
          - The cluster the jobs were read from (the info module's C(cluster)), recorded in every backup.
        type: dict
      mode:
        description:
          - Permissions of the files, as an octal string.
        type: str
        default: '0640'
  overwrite:
    description:
      - V(false) refuses, before writing anything, when any of the files exists.
    type: bool
    default: true
  fail_on_refusal:
    description:
      - V(false) returns the refusal of O(overwrite=false) (a target that exists) in RV(refused) and RV(existing),
        with nothing written and not C(changed), instead of failing. Bad input and a file that cannot be written
        still fail.
    type: bool
    default: true
attributes:
  check_mode:
    description: Reports what would be written (RV(written)); writes and creates nothing.
    support: full
  diff_mode:
    description: Returns no diff (backups and reports can be large); RV(written) and RV(unchanged) say what moved.
    support: none
  platform:
    description: Run it where the files belong, usually the controller (C(delegate_to=localhost)).
    support: full
    platforms: posix
notes:
  - Secrets do not belong in these files; the module writes what it is given.
seealso:
  - module: ansible.builtin.copy
'''

EXAMPLES = r'''
- name: Save two backups, never replacing an earlier one
  esops.jobs.write_files:
    overwrite: false
    files:
      - path: /var/backups/es/ml-job-web-20260101T000000Z.json
        json: {job_id: web}
      - path: /var/backups/es/ml-job-db-20260101T000000Z.json
        json: {job_id: db}
  delegate_to: localhost

- name: Back up ML jobs as ml_job_info read them (one file per job, named from its id)
  esops.jobs.write_files:
    overwrite: false
    backups:
      dir: /var/backups/es
      kind: ml_anomaly_detection_job
      jobs: "{{ info.jobs }}"
      cluster: "{{ info.cluster }}"
  delegate_to: localhost

- name: Replace a report atomically
  esops.jobs.write_files:
    files:
      - path: "{{ playbook_dir }}/reports/prod.md"
        content: "# prod: in sync"
        mode: '0644'
  delegate_to: localhost
'''

RETURN = r'''
saved_at:
  description: The UTC timestamp in the backup files' names and records.
  type: str
  returned: with O(backups)
  sample: 20260101T020000Z
written:
  description: The files written (in check mode, the files that would be written), in the order given.
  type: list
  elements: str
  returned: always
  sample: [/var/backups/es/ml-job-web-20260101T000000Z.json]
unchanged:
  description: The files that already had this content and mode.
  type: list
  elements: str
  returned: always
  sample: []
existing:
  description: With O(overwrite=false), the targets that already exist (nothing was written when it is not empty).
  type: list
  elements: str
  returned: when O(overwrite=false)
  sample: []
refused:
  description: Why nothing was written (the message the module fails with by default), or null.
  type: str
  returned: when O(fail_on_refusal=false)
  sample: 'write_files: refusing to overwrite /var/backups/es/ml-job-web-20260101T000000Z.json; nothing was written'
'''

import json
import os
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.esops.jobs.plugins.module_utils._backup import backup_file_name, backup_record
from ansible_collections.esops.jobs.plugins.module_utils._module import unsupported_python


def parse_mode(text):
    try:
        mode = int(text, 8)
    except (TypeError, ValueError):
        raise ValueError('mode %r is not an octal permission such as 0640' % (text,))
    if not 0 <= mode <= 0o7777:
        raise ValueError('mode %r is not an octal permission such as 0640' % (text,))
    return mode


def is_current(path, data, mode):
    """The file exists with exactly this content and mode."""
    try:
        if stat.S_IMODE(os.stat(path).st_mode) != mode:
            return False
        with open(path, 'rb') as handle:
            return handle.read() == data
    except (IOError, OSError):
        return False


def backup_files(backups, stamp):
    """The ``files`` entries of the ``backups`` option: one record per job, named by ``_backup.backup_file_name``."""
    files = []
    for job in backups['jobs']:
        record = backup_record(backups['kind'], job, backups['cluster'], stamp)
        name = backup_file_name(backups['kind'], record['job_id'], stamp)
        files.append({'path': os.path.join(backups['dir'], name), 'json': record, 'content': None,
                      'mode': backups['mode']})
    return files


def write_atomically(module, path, data, mode):
    """A temporary file in the target's directory, moved over it by ansible-core's atomic_move: a rename, which
    also gives the file the SELinux context of the file it replaces (or the directory's default for a new one),
    where a plain os.rename would keep the temporary file's."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, 0o750)
        except OSError:
            # Another run (a fleet's hosts write their entries side by side) made it in the meantime.
            if not os.path.isdir(directory):
                raise
    handle, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
    try:
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    module.atomic_move(tmp, path)
    # atomic_move gives a new file the umask's mode and a replaced one the old file's: set the mode asked for.
    os.chmod(path, mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', options=dict(
                path=dict(type='path', required=True),
                content=dict(type='str'),
                json=dict(type='raw'),
                mode=dict(type='str', default='0640'),
            ), mutually_exclusive=[('content', 'json')], required_one_of=[('content', 'json')]),
            backups=dict(type='dict', options=dict(
                dir=dict(type='path', required=True),
                kind=dict(type='str', required=True, choices=['ml_anomaly_detection_job', 'rollup_job']),
                jobs=dict(type='list', elements='dict', required=True),
                cluster=dict(type='dict'),
                mode=dict(type='str', default='0640'),
            )),
            overwrite=dict(type='bool', default=True),
            fail_on_refusal=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('files', 'backups')],
        required_one_of=[('files', 'backups')],
        supports_check_mode=True,
    )
    if unsupported_python():
        module.fail_json(msg=unsupported_python())

    extra = {}
    files = module.params['files']
    if module.params['backups'] is not None:
        extra['saved_at'] = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
        try:
            files = backup_files(module.params['backups'], extra['saved_at'])
        except ValueError as exc:
            module.fail_json(msg='write_files: backups: %s; nothing was written' % to_native(exc))

    # Plan everything before the first write: bad input or an existing backup stops the run with nothing written.
    planned, seen = [], set()
    for entry in files:
        path = entry['path']
        if not os.path.isabs(path):
            module.fail_json(msg='write_files: path %s is not absolute; nothing was written' % path)
        if path in seen:
            module.fail_json(msg='write_files: %s is given twice; nothing was written' % path)
        seen.add(path)
        try:
            mode = parse_mode(entry['mode'])
        except ValueError as exc:
            module.fail_json(msg='write_files: %s: %s; nothing was written' % (path, to_native(exc)))
        if entry['content'] is not None:
            content = entry['content']
        else:
            # as ansible's to_nice_json(indent=2) writes it
            content = json.dumps(entry['json'], indent=2, sort_keys=True, separators=(',', ': '))
        content = content if content.endswith('\n') else content + '\n'
        planned.append((path, to_bytes(content, errors='surrogate_or_strict'), mode))
    if not module.params['fail_on_refusal']:
        extra['refused'] = None
    if not module.params['overwrite']:
        extra['existing'] = [path for path, _data, _mode in planned if os.path.lexists(path)]
        if extra['existing']:
            if module.params['backups'] is not None:
                # The names hold the UTC second (saved_at): a run a second later writes new files.
                refused = ('write_files: backup file(s) already exist: %s; a backup is never replaced, so nothing was '
                           'written. Run again in a second' % ', '.join(extra['existing']))
            else:
                refused = 'write_files: refusing to overwrite %s; nothing was written' % ', '.join(extra['existing'])
            if module.params['fail_on_refusal']:
                module.fail_json(msg=refused, **extra)
            extra['refused'] = refused
            module.exit_json(changed=False, written=[], unchanged=[], **extra)

    written, unchanged = [], []
    for path, data, mode in planned:
        if is_current(path, data, mode):
            unchanged.append(path)
            continue
        if not module.check_mode:
            try:
                write_atomically(module, path, data, mode)
            except (IOError, OSError) as exc:
                module.fail_json(msg='write_files: cannot write %s: %s' % (path, to_native(exc)),
                                 written=written, changed=bool(written), **extra)
        written.append(path)
    module.exit_json(changed=bool(written), written=written, unchanged=unchanged, **extra)


if __name__ == '__main__':
    main()
