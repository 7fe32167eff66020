# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollup_job_state delete_rollup_index: the plan asks Elasticsearch whether the credential may delete the rollup
index before it deletes any job, so a credential without delete_index changes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import rollup_job_state


def rollup_job(es):
    es.put_index('src', {'properties': {'ts': {'type': 'date'}}})
    es.put_rollup_job('r1', body={
        'index_pattern': 'src', 'rollup_index': 'r1-rollup', 'cron': '0 0 0 1 1 ?', 'page_size': 10,
        'groups': {'date_histogram': {'field': 'ts', 'interval': '1h'}}})


@pytest.mark.parametrize('es', [dict(version='7.17.28', security=True), dict(version='9.1.5', security=True)],
                         indirect=True)
def test_no_delete_index_privilege_refuses_before_the_job_is_deleted(es, run_module):
    rollup_job(es)
    key = es.ok('POST', '/_security/api_key', {'name': 'k', 'role_descriptors': {'r': {
        'cluster': ['manage_rollup', 'monitor'],
        'indices': [{'names': ['r1-rollup'], 'privileges': ['view_index_metadata']}]}}})
    failed, result = run_module(rollup_job_state.main, dict(job_id=['r1'], state='absent', delete_rollup_index=True,
                                                            hosts=[es.url], api_key=key['encoded']))
    assert failed and result['changed'] is False
    assert result['msg'] == 'not deleting anything: the credential lacks index privilege delete_index on [r1-rollup]'
    assert list(es.state()['rollup_jobs']) == ['r1'] and 'r1-rollup' in es.state()['indices']
    assert es.mutating_requests() == []
    assert [r['path'] for r in es.requests() if r['method'] == 'POST'] == ['/_security/user/_has_privileges']


@pytest.mark.parametrize('es', [dict(version='6.8.23', security=True)], indirect=True)
def test_superuser_on_6_8_deletes_the_job_and_its_index(es, run_module):
    # 6.8 asks under _xpack/security; a superuser passes the plan's check and both go.
    rollup_job(es)
    failed, result = run_module(rollup_job_state.main, dict(job_id=['r1'], state='absent', delete_rollup_index=True))
    assert not failed, result.get('msg')
    assert es.state()['rollup_jobs'] == {} and 'r1-rollup' not in es.state()['indices']
