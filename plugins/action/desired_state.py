# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of esops.jobs.desired_state: check the document against a spec (one line), run the module (the one
module process of a cluster), and write its report files on the controller as soon as the module answered - so a
fleet run that is stopped later still leaves the report of every cluster that was planned or changed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.action import ActionBase

from ansible_collections.esops.jobs.plugins.module_utils._converge_report import (
    document_problems, report_json, report_markdown)
from ansible_collections.esops.jobs.plugins.module_utils._files import write_atomically

CONTROLLER_OPTIONS = ('document_spec', 'report_path', 'report_extra')


class ActionModule(ActionBase):

    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        spec = args.pop('document_spec', None)
        report_path = args.pop('report_path', None)
        extra = args.pop('report_extra', None) or {}
        if spec:
            problem = document_problems(spec, args.get('document'))
            if problem:
                result.update(failed=True, msg='the desired-state document is not valid: %s' % problem)
                return result
        result.update(self._execute_module(module_name='esops.jobs.desired_state', module_args=args, task_vars=task_vars))
        report = result.get('report')
        if isinstance(report, dict):
            report = dict(report, **extra)
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
