# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollup_job_state delete_rollup_index plans the index delete's privilege: a credential that may delete the rollup
job and read its index but not delete it is refused before the job is deleted (else the index is left behind)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import urllib.error
import urllib.request

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchClient
from ansible_collections.esops.jobs.plugins.modules import rollup_job_state
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module
from ansible_collections.esops.jobs.tests.emulator.launcher import running_emulator

ELASTIC = 'Basic ' + base64.b64encode(b'elastic:changeme').decode()


def call(emu, method, path, body=None):
    request = urllib.request.Request(emu.url + path, method=method, headers={
        'Authorization': ELASTIC, 'Content-Type': 'application/json'},
        data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request) as resp:
            return resp.status, json.loads(resp.read() or b'null')
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b'null')


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28'])
def test_no_delete_index_privilege_refuses_before_the_job_is_deleted(version):
    base = '/_xpack/rollup' if version.startswith('6.') else '/_rollup'
    mappings = {'properties': {'ts': {'type': 'date'}}}
    with running_emulator(version, security=True) as emu:
        assert call(emu, 'PUT', '/src', {'mappings': {'_doc': mappings} if version.startswith('6.') else mappings})[0] == 200
        status, body = call(emu, 'PUT', base + '/job/r1', {
            'index_pattern': 'src', 'rollup_index': 'r1-rollup', 'cron': '0 0 0 1 1 ?', 'page_size': 10,
            'groups': {'date_histogram': {'field': 'ts', 'interval': '1h'}}})
        assert status == 200, body
        if version.startswith('6.'):
            # 6.8 (has-privileges under _xpack/security): a superuser passes the plan's check; the job and its
            # index both go.
            client = ElasticsearchClient([emu.url], username='elastic', password='changeme')
        else:
            status, key = call(emu, 'POST', '/_security/api_key', {'name': 'k', 'role_descriptors': {'r': {
                'cluster': ['manage_rollup', 'monitor'],
                'indices': [{'names': ['r1-rollup'], 'privileges': ['view_index_metadata']}]}}})
            client = ElasticsearchClient([emu.url], api_key=key['encoded'])
        failed, result = run_module(rollup_job_state.main, dict(job_id=['r1'], state='absent', delete_rollup_index=True,
                                                                hosts=[emu.url]), client)
        jobs = call(emu, 'GET', base + '/job/r1')[1]['jobs']
        index_status = call(emu, 'GET', '/r1-rollup')[0]
    if version.startswith('6.'):
        assert not failed, result.get('msg')
        assert jobs == [] and index_status == 404
        return
    assert failed and result['changed'] is False
    assert result['msg'] == ('not deleting anything: the credential lacks index privilege delete_index on [r1-rollup]')
    assert len(jobs) == 1 and index_status == 200
