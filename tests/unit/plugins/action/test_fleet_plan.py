# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.fleet_plan's action plugin: relative paths from the controller's working directory, refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
from unittest import mock

import pytest


def _run_in_child(args, conn):
    # Imported here, in the child: importing ansible's controller-side plugins changes how AnsibleModule reports
    # warnings in the same process, which the module tests of this suite read.
    from ansible.errors import AnsibleActionFail
    from ansible_collections.esops.jobs.plugins.action.fleet_plan import ActionModule

    task = mock.MagicMock(args=args, async_val=0, check_mode=False)
    connection = mock.MagicMock()
    connection._shell.tmpdir = None
    action = ActionModule(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    try:
        conn.send(('result', action.run(task_vars={})))
    except AnsibleActionFail as exc:
        conn.send(('AnsibleActionFail', str(exc)))


def run_action(args):
    """The action plugin's run() in a forked child (its working directory is the test's)."""
    context = multiprocessing.get_context('fork')
    parent, child = context.Pipe()
    process = context.Process(target=_run_in_child, args=(args, child))
    process.start()
    kind, value = parent.recv()
    process.join()
    return kind, value


@pytest.fixture
def operator_dir(tmp_path, monkeypatch):
    """ansible-playbook started in tmp_path (modules of a local connection run in the playbook's directory)."""
    monkeypatch.chdir(tmp_path)
    return str(tmp_path)


def test_paths_come_from_the_working_directory(operator_dir):
    kind, result = run_action({'hosts': {'localhost': {'backup_dir': 'esops-backups'}}, 'writes': 'backup_dir',
                               'summary_file': 'retire.json'})
    assert kind == 'result' and not result.get('failed')
    plan = result['plan']
    assert plan['cwd'] == os.getcwd()
    assert plan['paths']['localhost']['backup_dir'] == os.path.join(operator_dir, 'esops-backups')
    assert plan['summary_file'] == os.path.join(operator_dir, 'retire.json')
    assert plan['started'].endswith('Z')


def test_two_hosts_on_one_cluster_fail_the_task(operator_dir):
    probe = {'cluster': {'uuid': 'U1', 'name': 'prod', 'version': '8.19.3'}}
    kind, result = run_action({'hosts': {'eu': {}, 'us': {}}, 'probes': {'eu': probe, 'us': probe}})
    assert kind == 'result' and result['failed'] is True and 'plan' not in result
    assert 'inventory hosts eu and us reach the same cluster (cluster_uuid U1' in result['msg']


def test_a_missing_backup_file_refuses_its_host(operator_dir):
    kind, result = run_action({'hosts': {'localhost': {'backup_files': 'esops-backups/none.json'}},
                               'reads_backup_files': True})
    assert kind == 'result' and not result.get('failed')
    failure = result['plan']['refused']['localhost']['failure']
    assert failure.startswith('Backup file not found: %s/esops-backups/none.json' % operator_dir)


def test_bad_option_is_one_clear_error(operator_dir):
    # ansible-core turns AnsibleActionFail into the task's failed result with this message
    kind, message = run_action({'hosts': {}, 'writes': 'everything'})
    assert kind == 'AnsibleActionFail'
    assert message.startswith('value of writes must be one of: state_file, backup_dir, nothing') and '\n' not in message
