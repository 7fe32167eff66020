# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least privilege: a manage_ml-only and a manage_rollup-only user back up and restore without GET / (issue 14).

Neither user may call GET / (cluster:monitor/main), so every result's ``cluster`` has a null uuid and name; the
version comes from ML info for the ML user and is unknown to the rollup-only user.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from tests.reliability.conftest import ES_VERSION, PASSWORD, Es, Playbook, conn, require_module


@pytest.fixture(scope='module')
def least_privilege_run(secure_emu, collections_path, tmp_path_factory):
    for name in ('ml_job', 'rollup_job'):
        require_module(name)
    es = Es(secure_emu)
    es.ml_job('lp-job', groups=['lp'])
    es.datafeed('lp-job')
    es.rollup_job('lp-roll')

    def as_user(user):
        return dict(conn(secure_emu), username=user, password=PASSWORD)

    # The emulator's ml_admin also has monitor; an API key limited to manage_ml is the manage_ml-only credential
    # (plus read on the datafeed's index, which ES checks when a datafeed is created: TransportPutDatafeedAction).
    key = es('POST', '/_security/api_key', {'name': 'manage-ml-only', 'role_descriptors': {'ml': {
        'cluster': ['manage_ml'], 'indices': [{'names': ['lp-job-source'], 'privileges': ['read']}]}}})
    ml_only = conn(secure_emu)
    ml_only.pop('username')
    ml_only.pop('password')
    ml_only['api_key'] = '%s:%s' % (key['id'], key['api_key'])

    new_job = {'job_id': 'lp-new', 'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
               'data_description': {'time_field': 'timestamp'}}
    new_feed = {'datafeed_id': 'datafeed-lp-new', 'job_id': 'lp-new', 'indices': ['lp-job-source']}
    roll = es('GET', '%s/job/lp-roll' % es.rollup)['jobs'][0]['config']
    new_roll = dict(roll, id='lp-roll2', rollup_index='lp-roll2-rollup')
    book = Playbook(collections_path, tmp_path_factory.mktemp('least-privilege'))
    book.case('ml_only_saves', 'ml_job_info', dict(ml_only, job_id=['lp-job'], include_put_config=True))
    book.case('ml_only_restores', 'ml_job', dict(ml_only, config=new_job, datafeed_config=new_feed))
    book.case('rollup_admin_saves', 'rollup_job_info', dict(as_user('rollup_admin'), job_id=['lp-roll'], include_put_config=True))
    book.case('rollup_admin_restores', 'rollup_job', dict(as_user('rollup_admin'), config=new_roll))
    book.case('elastic_reads', 'ml_job_info', dict(conn(secure_emu), job_id=['lp-job']))
    # A restore bound to the cluster its backup names (job_restore's backup_cluster): without monitor the task
    # cannot tell which cluster it reaches, so it refuses (issue 22 item 2).
    this_cluster = {'uuid': es('GET', '/')['cluster_uuid'], 'name': 'this'}
    book.case('ml_only_bound_restore', 'ml_job', dict(ml_only, config=dict(new_job, job_id='lp-bound'),
                                                      backup_cluster=this_cluster))
    book.case('rollup_admin_bound_restore', 'rollup_job', dict(as_user('rollup_admin'), backup_cluster=this_cluster,
                                                               config=dict(roll, id='lp-roll3', rollup_index='lp-roll3-rollup')))
    return book.run(), es


def test_ml_only_saves_and_restores_without_monitor(least_privilege_run):
    run, es = least_privilege_run
    saved = run.results['ml_only_saves']
    assert not saved.get('failed'), saved.get('msg')
    assert saved['cluster'] == {'uuid': None, 'name': None, 'version': ES_VERSION}
    assert saved['jobs'][0]['put_config']['groups'] == ['lp']
    assert saved['jobs'][0]['datafeed']['put_config']['job_id'] == 'lp-job'
    restored = run.results['ml_only_restores']
    assert not restored.get('failed'), restored.get('msg')
    assert restored['actions'] == ['create_job', 'create_datafeed']
    assert es.job_state('lp-new') == 'closed' and es.datafeed_state('datafeed-lp-new') == 'stopped'


def test_rollup_admin_saves_and_restores_without_monitor(least_privilege_run):
    run, es = least_privilege_run
    saved = run.results['rollup_admin_saves']
    assert not saved.get('failed'), saved.get('msg')
    assert saved['cluster'] == {'uuid': None, 'name': None, 'version': None}
    assert saved['jobs'][0]['put_config']['rollup_index'] == 'lp-roll-rollup'
    restored = run.results['rollup_admin_restores']
    assert not restored.get('failed'), restored.get('msg')
    assert restored['actions'] == ['create_job']
    assert es.rollup_state('lp-roll2') == 'stopped'


def test_a_user_with_monitor_gets_the_cluster_identity(least_privilege_run):
    run, _es = least_privilege_run
    cluster = run.results['elastic_reads']['cluster']
    assert cluster['version'] == ES_VERSION
    assert isinstance(cluster['uuid'], str) and len(cluster['uuid']) > 0
    assert isinstance(cluster['name'], str) and len(cluster['name']) > 0


def test_a_restore_bound_to_a_cluster_is_refused_without_monitor(least_privilege_run):
    run, es = least_privilege_run
    for case in ('ml_only_bound_restore', 'rollup_admin_bound_restore'):
        result = run.results[case]
        assert result.get('failed') and result['changed'] is False, result
        assert result['msg'].startswith('cannot tell which cluster this task reaches (its uuid is unknown: the '
                                        'credential lacks the cluster privilege monitor, needed for GET /)')
        assert '\n' not in result['msg'] and 'Traceback' not in run.output
    assert es.job_state('lp-bound') == 'absent' and es.rollup_state('lp-roll3') == 'absent'
