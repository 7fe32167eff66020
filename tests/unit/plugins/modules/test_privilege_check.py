# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.privilege_check against the emulator: per version, per credential, security on and off."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import urllib.request

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchClient
from ansible_collections.esops.jobs.plugins.modules import privilege_check
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module
from ansible_collections.esops.jobs.tests.emulator.launcher import running_emulator

RETIRE = ['stop_datafeed', 'close_job', 'delete_datafeed', 'delete_job']


# Function scope: ansible-test runs module unit tests each in a forked child that exits right after the test, so a
# module-scoped fixture would never be torn down and its emulator would outlive the run.
@pytest.fixture(params=['6.8.23', '7.17.28', '8.19.3', '9.1.5'])
def secured(request):
    with running_emulator(request.param, security=True) as emu:
        yield emu


def run(emu, args, **auth):
    client = ElasticsearchClient([emu.url], **auth)
    return run_module(privilege_check.main, dict(args, hosts=[emu.url]), client, check_mode=True)


def test_manage_ml_user_may_retire_jobs_but_not_rollups(secured):
    failed, result = run(secured, dict(operations=RETIRE), username='ml_admin', password='changeme')
    assert not failed and result['security_enabled'] is True and result['missing'] == []
    failed, result = run(secured, dict(operations=['stop_rollup', 'delete_rollup'], delete_indices=['rollup-x']),
                         username='ml_admin', password='changeme')
    assert failed
    assert result['msg'] == (
        'the credential lacks cluster action cluster:admin/xpack/rollup/stop (for stop_rollup; granted by '
        'manage_rollup); cluster action cluster:admin/xpack/rollup/delete (for delete_rollup; granted by '
        'manage_rollup); index privilege delete_index on [rollup-x]; nothing was changed')
    assert [m['privilege'] for m in result['missing']] == [
        'cluster:admin/xpack/rollup/stop', 'cluster:admin/xpack/rollup/delete', 'delete_index']


def test_read_only_credential_is_refused_without_failing_when_asked(secured):
    failed, result = run(secured, dict(operations=['set_upgrade_mode'], fail_on_missing=False),
                         username='ml_viewer', password='changeme')
    assert not failed and result['username'] == 'ml_viewer'
    assert result['missing'] == [dict(kind='cluster', privilege='cluster:admin/xpack/ml/upgrade_mode',
                                      operations=['set_upgrade_mode'], granted_by='manage_ml')]


def test_api_key_asks_about_itself():
    with running_emulator('8.19.3', security=True) as emu:
        auth = 'Basic ' + base64.b64encode(b'elastic:changeme').decode()
        request = urllib.request.Request(emu.url + '/_security/api_key', method='POST', headers={
            'Authorization': auth, 'Content-Type': 'application/json'},
            data=json.dumps({'name': 'k', 'role_descriptors': {'r': {'cluster': ['manage_ml']}}}).encode())
        key = json.loads(urllib.request.urlopen(request).read())['encoded']
        failed, result = run(emu, dict(operations=RETIRE + ['delete_rollup']), api_key=key)
    assert failed and [m['privilege'] for m in result['missing']] == ['cluster:admin/xpack/rollup/delete']


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28', '8.19.3', '9.1.5'])
def test_security_disabled_means_nothing_to_check(version):
    with running_emulator(version) as emu:
        failed, result = run(emu, dict(operations=RETIRE))
    assert not failed and result['security_enabled'] is False and result['missing'] == []
    assert result['msg'] == 'the cluster enforces no security; nothing to check'


def test_nothing_to_check_is_an_error(secured):
    failed, result = run(secured, dict(), username='elastic', password='changeme')
    assert failed and result['msg'] == 'nothing to check: give at least one operation or index'
