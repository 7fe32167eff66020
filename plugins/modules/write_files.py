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
    (a backup is never replaced).
  - A file whose content and mode are already as asked is left alone (not C(changed)).
  - Does not talk to Elasticsearch and takes no connection options.
author:
  - esops.jobs contributors (@esops)
options:
  files:
    description:
      - The files to write.
    type: list
    elements: dict
    required: true
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
  overwrite:
    description:
      - V(false) refuses, before writing anything, when any of O(files) exists.
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

- name: Replace a report atomically
  esops.jobs.write_files:
    files:
      - path: "{{ playbook_dir }}/reports/prod.md"
        content: "# prod: in sync"
        mode: '0644'
  delegate_to: localhost
'''

RETURN = r'''
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
'''

import json
import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

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


def write_atomically(module, path, data, mode):
    """A temporary file in the target's directory, moved over it by ansible-core's atomic_move: a rename, which
    also gives the file the SELinux context of the file it replaces (or the directory's default for a new one),
    where a plain os.rename would keep the temporary file's."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o750)
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
            files=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='path', required=True),
                content=dict(type='str'),
                json=dict(type='raw'),
                mode=dict(type='str', default='0640'),
            ), mutually_exclusive=[('content', 'json')], required_one_of=[('content', 'json')]),
            overwrite=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    if unsupported_python():
        module.fail_json(msg=unsupported_python())

    # Plan everything before the first write: bad input or an existing backup stops the run with nothing written.
    planned, seen = [], set()
    for entry in module.params['files']:
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
    if not module.params['overwrite']:
        existing = [path for path, _data, _mode in planned if os.path.lexists(path)]
        if existing:
            module.fail_json(msg='write_files: refusing to overwrite %s; nothing was written' % ', '.join(existing),
                             existing=existing)

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
                                 written=written, changed=bool(written))
        written.append(path)
    module.exit_json(changed=bool(written), written=written, unchanged=unchanged)


if __name__ == '__main__':
    main()
