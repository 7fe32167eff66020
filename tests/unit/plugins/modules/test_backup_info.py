# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.backup_info: read backup files; one line naming the file for anything else; duplicates refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.esops.jobs.plugins.modules import backup_info


def backup(tmp_path, name, **record):
    path = tmp_path / name
    path.write_text(json.dumps(dict({'esops_backup': 1, 'kind': 'ml_anomaly_detection_job', 'job': {}, 'datafeed': None},
                                    **record)))
    return str(path)


def test_reads_ml_and_rollup_backups_old_names_included(run_module, tmp_path):
    old = backup(tmp_path, 'rollup-job-a.b-20250101T000000Z.json', kind='rollup_job', job_id='a.b', config={'cron': 'c'},
                 cluster={'uuid': 'u1', 'name': 'c1', 'version': '8.19.3'})
    ml = backup(tmp_path, 'ml-job-123-20260101T000000Z.json', job_id=123)
    failed, result = run_module(backup_info.main, dict(paths=[old, ml]), check_mode=True)
    assert not failed and result['changed'] is False
    assert [(r['path'], r['job_id']) for r in result['backups']] == [(old, 'a.b'), (ml, '123')]
    assert result['rollup_jobs'][0]['cluster'] == {'uuid': 'u1', 'name': 'c1', 'version': '8.19.3'}
    assert result['ml_jobs'][0]['cluster'] == {'uuid': None, 'name': None}


def test_two_backups_of_one_job_are_refused_naming_the_files(run_module, tmp_path):
    first = backup(tmp_path, 'ml-job-web-1.json', job_id='web')
    second = backup(tmp_path, 'ml-job-web-2.json', job_id='web')
    rollup = backup(tmp_path, 'rollup-job-web-1.json', job_id='web', kind='rollup_job', config={})
    failed, result = run_module(backup_info.main, dict(paths=[first, rollup, second]))
    assert failed and result['msg'] == ('more than one backup of the same job: ML job web in %s, %s; give one file per job'
                                        % (first, second))
    assert result['duplicates'] == [{'kind': 'ml_anomaly_detection_job', 'job_id': 'web', 'paths': [first, second]}]


def test_what_is_not_a_backup_is_one_line_naming_the_file(run_module, tmp_path):
    missing = str(tmp_path / 'missing.json')
    failed, result = run_module(backup_info.main, dict(paths=[missing]))
    assert failed and result['msg'] == 'cannot read backup file %s: No such file or directory' % missing
    other = tmp_path / 'other.json'
    other.write_text(u'{"a": 1}')
    failed, result = run_module(backup_info.main, dict(paths=[str(other)]))
    assert failed and result['msg'] == '%s is not an esops backup file (no esops_backup key)' % other
    binary = tmp_path / 'bin.json'
    binary.write_bytes(b'\xff\xfe')
    failed, result = run_module(backup_info.main, dict(paths=[str(binary)]))
    assert failed and result['msg'] == '%s is not an esops backup file (not UTF-8 text)' % binary


def test_rollup_index_overrides_by_id_integer_keys_as_strings(run_module, tmp_path):
    numeric = backup(tmp_path, 'rollup-job-123-1.json', kind='rollup_job', job_id='123', config={'rollup_index': 'old'})
    other = backup(tmp_path, 'rollup-job-r2-1.json', kind='rollup_job', job_id='r2', config={'rollup_index': 'r2-old'})
    failed, result = run_module(backup_info.main, dict(paths=[numeric, other], rollup_index={123: 'new'}))
    assert not failed, result
    assert [r['config']['rollup_index'] for r in result['rollup_jobs']] == ['new', 'r2-old']
    failed, result = run_module(backup_info.main, dict(paths=[numeric], rollup_index={'r9': 'x'}))
    assert not failed and result['rollup_jobs'][0]['config']['rollup_index'] == 'old'
    failed, result = run_module(backup_info.main, dict(paths=[numeric], rollup_index={'123': ''}))
    assert failed and result['msg'] == "rollup_index: give the rollup index of 123 as a non-empty string, not ''"


def test_fail_on_refusal_false_returns_every_refusal_as_an_answer(run_module, tmp_path):
    first = backup(tmp_path, 'ml-job-web-1.json', job_id='web')
    second = backup(tmp_path, 'ml-job-web-2.json', job_id='web')
    missing = str(tmp_path / 'missing.json')
    rollup = backup(tmp_path, 'rollup-job-r-1.json', kind='rollup_job', job_id='r', config={'rollup_index': 'old'})
    for args, refused in [
            (dict(paths=[first, second]),
             'more than one backup of the same job: ML job web in %s, %s; give one file per job' % (first, second)),
            (dict(paths=[missing]), 'cannot read backup file %s: No such file or directory' % missing),
            (dict(paths=[rollup], rollup_index={'r': ''}),
             "rollup_index: give the rollup index of r as a non-empty string, not ''")]:
        failed, result = run_module(backup_info.main, dict(args, fail_on_refusal=False))
        assert not failed and result['changed'] is False and result['refused'] == refused, result
        assert result['backups'] == result['ml_jobs'] == result['rollup_jobs'] == []
    failed, result = run_module(backup_info.main, dict(paths=[first, second], fail_on_refusal=False))
    assert result['duplicates'] == [{'kind': 'ml_anomaly_detection_job', 'job_id': 'web', 'paths': [first, second]}]
    failed, result = run_module(backup_info.main, dict(paths=[first], fail_on_refusal=False))
    assert not failed and result['refused'] is None and [r['job_id'] for r in result['ml_jobs']] == ['web']
