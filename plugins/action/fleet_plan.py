# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of esops.jobs.fleet_plan (documented in plugins/modules/fleet_plan.py).

It runs here, not as a module, because it needs the operator's working directory: ansible-playbook never changes
its own, but runs modules of a local connection in the playbook's directory (inside the installed collection when
a runbook is run by name). The plan itself is plugins/module_utils/_fleet.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.esops.jobs.plugins.module_utils import _fleet


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('hosts', 'writes', 'reads_backup_files', 'summary_file', 'probes'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            hosts=dict(type='dict', required=True),
            writes=dict(type='str', default='nothing', choices=list(_fleet.WRITES)),
            reads_backup_files=dict(type='bool', default=False),
            summary_file=dict(type='str', default=''),
            probes=dict(type='dict', default={}),
        ))
        try:
            cwd = os.getcwd()
        except OSError as exc:
            raise AnsibleActionFail('The working directory ansible-playbook was started in is gone: %s' % to_native(exc))
        hosts = [(to_text(host), options if isinstance(options, dict) else {}) for host, options in args['hosts'].items()]
        error, plan = _fleet.plan(hosts, cwd, writes=args['writes'], reads_backup_files=args['reads_backup_files'],
                                  summary_file=args['summary_file'], probes=args['probes'])
        plan['started'] = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        if error:
            result.update(changed=False, failed=True, msg=error)
        else:
            result.update(changed=False, plan=plan)
        return result
