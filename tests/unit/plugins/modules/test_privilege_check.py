# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.privilege_check against the emulator: per version, per credential, security on and off."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import privilege_check

RETIRE = ['stop_datafeed', 'close_job', 'delete_datafeed', 'delete_job']
SECURED = [dict(version=v, security=True) for v in ('6.8.23', '7.17.28', '8.19.3', '9.1.5')]


def run(run_module, es, args, **auth):
    """The module in check mode (it never changes anything) as the credential `auth`."""
    return run_module(privilege_check.main, dict(args, hosts=[es.url], **auth), check_mode=True)


@pytest.mark.parametrize('es', SECURED, indirect=True)
def test_manage_ml_user_may_retire_jobs_but_not_rollups(es, run_module):
    failed, result = run(run_module, es, dict(operations=RETIRE), username='ml_admin', password='changeme')
    assert not failed and result['security_enabled'] is True and result['missing'] == []
    failed, result = run(run_module, es, dict(operations=['stop_rollup', 'delete_rollup'], delete_indices=['rollup-x']),
                         username='ml_admin', password='changeme')
    assert failed
    assert result['msg'] == (
        'the credential lacks cluster action cluster:admin/xpack/rollup/stop (for stop_rollup; granted by '
        'manage_rollup); cluster action cluster:admin/xpack/rollup/delete (for delete_rollup; granted by '
        'manage_rollup); index privilege delete_index on [rollup-x]; nothing was changed')
    assert [m['privilege'] for m in result['missing']] == [
        'cluster:admin/xpack/rollup/stop', 'cluster:admin/xpack/rollup/delete', 'delete_index']
    assert es.mutating_requests() == []
    assert all(r['path'].endswith('/_has_privileges') for r in es.requests() if r['method'] != 'GET')


@pytest.mark.parametrize('es', SECURED, indirect=True)
def test_read_only_credential_is_refused_without_failing_when_asked(es, run_module):
    failed, result = run(run_module, es, dict(operations=['set_upgrade_mode'], fail_on_missing=False),
                         username='ml_viewer', password='changeme')
    assert not failed and result['username'] == 'ml_viewer'
    assert result['missing'] == [dict(kind='cluster', privilege='cluster:admin/xpack/ml/upgrade_mode',
                                      operations=['set_upgrade_mode'], granted_by='manage_ml')]


@pytest.mark.parametrize('es', [dict(version='8.19.3', security=True)], indirect=True)
def test_api_key_asks_about_itself(es, run_module):
    key = es.ok('POST', '/_security/api_key', {'name': 'k', 'role_descriptors': {'r': {'cluster': ['manage_ml']}}})
    failed, result = run(run_module, es, dict(operations=RETIRE + ['delete_rollup']), api_key=key['encoded'])
    assert failed and [m['privilege'] for m in result['missing']] == ['cluster:admin/xpack/rollup/delete']


@pytest.mark.parametrize('es', ['6.8.23', '7.17.28', '8.19.3', '9.1.5'], indirect=True)
def test_security_disabled_means_nothing_to_check(es, run_module):
    failed, result = run(run_module, es, dict(operations=RETIRE))
    assert not failed and result['security_enabled'] is False and result['missing'] == []
    assert result['msg'] == 'the cluster enforces no security; nothing to check'


@pytest.mark.parametrize('es', SECURED, indirect=True)
def test_nothing_to_check_is_an_error(es, run_module):
    failed, result = run(run_module, es, dict(), username='elastic', password='changeme')
    assert failed and result['msg'] == 'nothing to check: give at least one operation or index'
    assert es.requests() == []


EXPORT = ['get_jobs', 'get_job_stats', 'get_datafeeds', 'get_datafeed_stats', 'get_rollup_jobs']


@pytest.mark.parametrize('es', SECURED, indirect=True)
def test_an_export_needs_only_the_monitor_privileges(es, run_module):
    """playbooks/export_desired.yml asks for the reads desired_state_info sends: monitor_ml grants the ML ones,
    monitor_rollup the rollup one."""
    failed, result = run(run_module, es, dict(operations=EXPORT, fail_on_missing=False),
                         username='ml_viewer', password='changeme')
    assert not failed
    assert result['missing'] == [dict(kind='cluster', privilege='cluster:monitor/xpack/rollup/get',
                                      operations=['get_rollup_jobs'], granted_by='monitor_rollup')]
    failed, result = run(run_module, es, dict(operations=EXPORT), username='elastic', password='changeme')
    assert not failed and result['missing'] == [], result['msg']
