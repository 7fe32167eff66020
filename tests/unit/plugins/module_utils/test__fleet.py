# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet runbooks' plan: paths from the operator's working directory, one writer per file, one host per cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.esops.jobs.plugins.module_utils import _fleet

CWD = '/home/sre/runs'


def probe(uuid, name='prod'):
    return {'changed': False, 'cluster': {'uuid': uuid, 'name': name if uuid else None, 'version': '8.19.3'}}


def test_operator_path_is_relative_to_the_working_directory():
    assert _fleet.operator_path('esops-backups/ml-job-web.json', CWD) == CWD + '/esops-backups/ml-job-web.json'
    assert _fleet.operator_path('./x.json', CWD) == CWD + '/x.json'
    assert _fleet.operator_path('../x.json', CWD) == '/home/sre/x.json'
    assert _fleet.operator_path('/var/lib/esops/a.json', CWD) == '/var/lib/esops/a.json'
    assert _fleet.operator_path('~/a.json', CWD) == os.path.expanduser('~/a.json')
    assert _fleet.operator_path('', CWD) == '' and _fleet.operator_path(None, CWD) == ''


def test_single_cluster_paths_on_localhost():
    paths = _fleet.host_paths('localhost', {}, CWD, '')
    assert paths == {'state_file': CWD + '/esops-maintenance-window.json', 'backup_dir': CWD + '/esops-backups',
                     'backup_files': [], 'record_file': '', 'export_file': CWD + '/desired/localhost.yml'}
    paths = _fleet.host_paths('localhost', {'state_dir': 'windows', 'backup_dir': 'b'}, CWD, '')
    assert paths['state_file'] == CWD + '/windows/localhost.json' and paths['backup_dir'] == CWD + '/b'


def test_fleet_paths_are_per_inventory_host():
    paths = _fleet.host_paths('prod-eu', {'state_dir': '/var/w', 'backup_dir': 'b',
                                          'backup_files': 'b/prod-eu/one.json, /abs/two.json'}, CWD, CWD + '/s.json')
    assert paths == {'state_file': '/var/w/prod-eu.json', 'backup_dir': CWD + '/b/prod-eu',
                     'backup_files': [CWD + '/b/prod-eu/one.json', '/abs/two.json'],
                     'record_file': CWD + '/s.json.d/prod-eu.json', 'export_file': CWD + '/desired/prod-eu.yml'}
    assert _fleet.host_paths('prod-eu', {'state_file': 'mine.json'}, CWD, '')['state_file'] == CWD + '/mine.json'


def test_an_export_file_per_host_in_export_dir():
    assert _fleet.host_paths('eu/1', {'export_dir': 'git/desired'}, CWD, '')['export_file'] == CWD + '/git/desired/eu%2F1.yml'
    error, plan = _fleet.plan([('eu', {'export_dir': '/srv/git'}), ('us', {})], CWD, writes='export_file')
    assert error is None
    assert plan['paths']['eu']['file'] == '/srv/git/eu.yml' and plan['paths']['us']['file'] == CWD + '/desired/us.yml'
    error, _plan = _fleet.plan([('eu', {}), ('us', {})], CWD, writes='export_file', summary_file='desired/eu.yml')
    assert 'desired/eu.yml (eu, summary_file)' in error or 'desired/eu.yml (summary_file, eu)' in error


@pytest.mark.parametrize('host', ['a/../../b', '..', '.hidden', 'x y', 'eu/1', 'é', 'trailing.'])
def test_a_host_name_is_never_a_path(host):
    name = _fleet.file_name(host)
    assert '/' not in name and not name.startswith('.') and not name.endswith('.') and ' ' not in name
    assert os.path.dirname(_fleet.host_paths(host, {'state_dir': 'w'}, CWD, '')['state_file']) == CWD + '/w'


def test_file_names_stay_unique():
    hosts = ['eu/1', 'eu%2F1', 'eu_1', 'prod-eu.example.net']
    assert len(set(_fleet.file_name(h) for h in hosts)) == len(hosts)
    assert _fleet.file_name('prod-eu.example.net') == 'prod-eu.example.net'


def test_two_hosts_reaching_one_cluster_refuse_the_run_naming_both_and_the_uuid():
    hosts = [('eu', {}), ('us', {}), ('ap', {})]
    probes = {'eu': probe('U1', 'prod'), 'us': probe('U2'), 'ap': probe('U1', 'prod')}
    error, plan = _fleet.plan(hosts, CWD, writes='backup_dir', probes=probes)
    assert error == ('Refusing the run: inventory hosts eu and ap reach the same cluster (cluster_uuid U1, name prod): '
                     'each cluster must be one inventory host (an -e es_url=... applies to every host of the group). '
                     'Nothing was changed.')
    assert '\n' not in error


def test_distinct_clusters_pass():
    error, plan = _fleet.plan([('eu', {}), ('us', {})], CWD, writes='state_file',
                              probes={'eu': probe('U1'), 'us': probe('U2')})
    assert error is None and plan['refused'] == {} and plan['hosts'] == ['eu', 'us']
    assert plan['paths']['eu']['file'] == CWD + '/esops-maintenance-window/eu.json'


def test_unknown_identity_refuses_that_host_only():
    """Without `monitor` the module reports no uuid: the host could be any other host's cluster, so it is refused
    (fail closed, as maintenance_window refuses an unknown identity); the hosts with a known, distinct uuid run."""
    error, plan = _fleet.plan([('eu', {}), ('us', {}), ('ap', {})], CWD,
                              probes={'eu': probe('U1'), 'us': probe(None), 'ap': probe('U2')})
    assert error is None and list(plan['refused']) == ['us']
    assert plan['refused']['us']['status'] == 'failed'
    assert 'monitor' in plan['refused']['us']['failure'] and 'Nothing was changed.' in plan['refused']['us']['failure']


def test_failed_or_skipped_probes_are_not_compared_nor_refused_again():
    failed = {'failed': True, 'msg': 'connection refused'}
    error, plan = _fleet.plan([('eu', {}), ('down', {}), ('one', {})], CWD, reads_backup_files=True,
                              probes={'eu': probe('U1'), 'down': failed, 'one': {'skipped': True}})
    assert error is None and sorted(plan['refused']) == ['eu', 'one']      # empty backup_files, not the probe
    assert 'down' not in plan['refused']


def test_a_file_shared_by_two_hosts_refuses_the_run():
    error, _plan = _fleet.plan([('eu', {'state_file': 'w.json'}), ('us', {'state_file': CWD + '/w.json'})], CWD,
                               writes='state_file')
    assert error.startswith('Refusing the run: Files written by more than one inventory host or the summary: '
                            + CWD + '/w.json (eu, us)')


def test_a_host_named_like_the_summary_file_never_overwrites_it():
    # state files <state_dir>/<host>.json and the summary in the same directory: host `enter` is refused
    error, _plan = _fleet.plan([('enter', {'state_dir': 'runs'}), ('exit', {'state_dir': 'runs'})], CWD,
                               writes='state_file', summary_file='runs/enter.json')
    assert CWD + '/runs/enter.json (summary_file, enter)' in error
    # the per-cluster entries live in <summary_file>.d/, never the summary itself
    error, plan = _fleet.plan([('fleet.json', {}), ('fleet', {})], CWD, summary_file='fleet.json')
    assert error is None and plan['summary_file'] == CWD + '/fleet.json'
    assert plan['paths']['fleet.json']['record_file'] == CWD + '/fleet.json.d/fleet.json.json'
    assert plan['paths']['fleet']['record_file'] == CWD + '/fleet.json.d/fleet.json'


def test_missing_backup_files_are_named_in_one_line(tmp_path):
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / 'ml-job-web.json').write_text('{}')
    cwd = str(tmp_path)
    error, plan = _fleet.plan([('localhost', {'backup_files': ['b/ml-job-web.json', 'b/gone.json']})], cwd,
                              reads_backup_files=True)
    assert error is None
    assert plan['refused']['localhost']['failure'] == (
        'Backup file not found: %s/b/gone.json (relative paths are read from the working directory %s). '
        'Nothing was changed.' % (cwd, cwd))
    error, plan = _fleet.plan([('localhost', {'backup_files': 'b/ml-job-web.json'})], cwd, reads_backup_files=True)
    assert plan['refused'] == {} and plan['paths']['localhost']['backup_files'] == [cwd + '/b/ml-job-web.json']


def test_writes_must_be_known():
    with pytest.raises(ValueError):
        _fleet.plan([], CWD, writes='everything')
