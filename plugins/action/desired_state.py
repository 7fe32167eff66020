# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of esops.jobs.desired_state: check the document against a spec (one line), run the module (the one
module process of a cluster), and write its report files on the controller as soon as the module answered - so a
fleet run that is stopped later still leaves the report of every cluster that was planned or changed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.action import ActionBase

from ansible_collections.esops.jobs.plugins.module_utils._converge_report import (
    document_problems, report_json, report_markdown)
from ansible_collections.esops.jobs.plugins.module_utils._files import write_atomically


class ActionModule(ActionBase):

    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        spec = args.pop('document_spec', None)
        report_path = args.pop('report_path', None)
        extra = args.pop('report_extra', None) or {}
        backup_dir = args.pop('backup_dir', None)
        if spec:
            problem = document_problems(spec, args.get('document'))
            if problem:
                result.update(failed=True, msg='the desired-state document is not valid: %s' % problem)
                return result
        backups = []
        if backup_dir:
            first = self._execute_module(module_name='esops.jobs.desired_state', module_args=dict(args, backup=True),
                                         task_vars=task_vars)
            if first.get('backups'):
                try:
                    backups = self._write_backups(backup_dir, first['backups'])
                except (IOError, OSError, ValueError) as exc:
                    result.update(failed=True, changed=False, msg='nothing was changed: the backups before deleting '
                                  'could not be written: %s' % to_native(exc))
                    return result
                backed_up = {}
                for item in first['backups']:
                    backed_up.setdefault(item['kind'], []).append(item['id'])
                args['backed_up'] = backed_up
                result.update(self._execute_module(module_name='esops.jobs.desired_state', module_args=args,
                                                   task_vars=task_vars))
                result['backup_files'] = backups
            else:
                result.update(first)
        else:
            result.update(self._execute_module(module_name='esops.jobs.desired_state', module_args=args, task_vars=task_vars))
        report = result.get('report')
        if isinstance(report, dict):
            report = dict(report, backup_dir=backup_dir or None, backups=backups, **extra)
            result['report'] = report
            result['report_markdown'] = report_markdown(report)
            if report_path:
                try:
                    for suffix, text in (('.json', report_json(report)), ('.md', result['report_markdown'])):
                        write_atomically(os.path.abspath(report_path + suffix), to_bytes(text), 0o644)
                except (IOError, OSError) as exc:
                    result.update(failed=True, msg='cannot write the report %s.json/.md: %s (the run itself: %s)'
                                  % (report_path, to_native(exc), result.get('msg')))
                result['report_files'] = [report_path + '.json', report_path + '.md']
        return result

    @staticmethod
    def _write_backups(directory, items):
        """Every backup or none: an existing file refuses them all before one is written (as write_files
        overwrite=false does for the retire roles)."""
        directory = os.path.abspath(directory)
        paths = [os.path.join(directory, item['name']) for item in items]
        existing = [path for path in paths if os.path.lexists(path)]
        if existing:
            raise ValueError('%s already exist(s); run again in a second' % ', '.join(existing))
        for path, item in zip(paths, items):
            write_atomically(path, to_bytes(json.dumps(item['record'], indent=2, sort_keys=True) + '\n'), 0o600)
        return paths
