# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_backup: backup file names from job ids, records, reading them back, the cluster they are bound to."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.esops.jobs.plugins.module_utils import _backup

STAMP = '20260101T020000Z'


@pytest.mark.parametrize('job_id', ['web-latency', 'a_b-9', '123'])
def test_ml_and_plain_ids_keep_the_names_of_earlier_releases(job_id):
    # ML job ids are [a-z0-9_-]: the file names stay what the plain-id names were, so old backups look the same.
    assert _backup.backup_file_name(_backup.ML_KIND, job_id, STAMP) == 'ml-job-%s-%s.json' % (job_id, STAMP)
    assert _backup.backup_file_name(_backup.ROLLUP_KIND, job_id, STAMP) == 'rollup-job-%s-%s.json' % (job_id, STAMP)


@pytest.mark.parametrize('job_id', ['x/../../../escaped', '..', '.', '/', 'a.b', 'Web', 'web', u'caf\u00e9', 'a%2F',
                                    'a b', '\\', u'\U0001f600', 'x' * 64])
def test_every_id_is_a_safe_reversible_name(job_id):
    name = _backup.backup_file_name(_backup.ROLLUP_KIND, job_id, STAMP)
    assert '/' not in name and '\\' not in name and '..' not in name and os.path.basename(name) == name
    encoded = name[len('rollup-job-'):-len('-%s.json' % STAMP)]
    assert _backup.decode_id(encoded) == job_id


def test_names_are_unique_also_on_a_case_insensitive_file_system():
    ids = ['Web', 'web', 'WEB', 'a/b', 'a%2Fb', 'a.b', 'a%2Eb', 'a-b', 'a_b', u'\u00e9', 'e']
    names = [_backup.encode_id(job_id).lower() for job_id in ids]
    assert len(set(names)) == len(ids)
    assert _backup.encode_id('x/../../../escaped') == 'x%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fescaped'


def test_too_long_and_empty_ids_are_one_clear_error():
    with pytest.raises(ValueError, match='too long for a backup file name'):
        _backup.backup_file_name(_backup.ROLLUP_KIND, u'\u00e9' * 120, STAMP)
    with pytest.raises(ValueError, match='needs a job id'):
        _backup.encode_id('')


@pytest.mark.parametrize('text', ['a%2f', 'a.b', 'A', '%2', ''])
def test_decode_refuses_what_encode_never_writes(text):
    with pytest.raises(ValueError):
        _backup.decode_id(text)


def test_an_ml_job_without_a_datafeed_is_backed_up_without_one():
    cluster = {'uuid': 'u1', 'name': 'c1', 'version': '8.19.3'}
    record = _backup.backup_record(_backup.ML_KIND, {'job_id': 'web', 'state': 'closed', 'put_config': {'groups': []},
                                                     'datafeed': None}, cluster, STAMP)
    assert record == {'esops_backup': 1, 'kind': _backup.ML_KIND, 'saved_at': STAMP, 'cluster': cluster, 'job_id': 'web',
                      'state': 'closed', 'job': {'groups': []}, 'datafeed': None}
    with_feed = _backup.backup_record(_backup.ML_KIND, {'job_id': 'web', 'put_config': {}, 'datafeed': {
        'datafeed_id': 'datafeed-web', 'put_config': {'indices': ['i']}}}, cluster, STAMP)
    assert with_feed['datafeed'] == {'indices': ['i']}
    rollup = _backup.backup_record(_backup.ROLLUP_KIND, {'job_id': 'r/1', 'state': 'started', 'put_config': {'cron': 'c'},
                                                         'stats': {'pages_processed': 1}}, None, STAMP)
    assert rollup['config'] == {'cron': 'c'} and rollup['stats'] == {'pages_processed': 1} and rollup['cluster'] is None
    with pytest.raises(ValueError, match='has no put_config'):
        _backup.backup_record(_backup.ML_KIND, {'job_id': 'web'}, cluster, STAMP)


def test_parse_backup_normalises_and_refuses_what_is_not_a_backup():
    good = {'esops_backup': 1, 'kind': _backup.ML_KIND, 'job_id': 123, 'job': {}, 'cluster': None}
    record = _backup.parse_backup('/b/x.json', json.dumps(good))
    assert record['job_id'] == '123' and record['cluster'] == {'uuid': None, 'name': None}
    for text, message in [('{', '/b/x.json is not JSON'),
                          ('[]', 'not an esops backup file'),
                          (json.dumps({'kind': _backup.ML_KIND}), 'not an esops backup file'),
                          (json.dumps(dict(good, kind='other')), "unknown backup kind 'other'"),
                          (json.dumps(dict(good, job_id='')), 'names no job_id'),
                          (json.dumps(dict(good, job=None)), 'holds no job configuration')]:
        with pytest.raises(ValueError, match=message):
            _backup.parse_backup('/b/x.json', text)


def test_duplicate_jobs_name_every_file():
    records = [('/b/1.json', {'kind': _backup.ML_KIND, 'job_id': 'web'}),
               ('/b/2.json', {'kind': _backup.ROLLUP_KIND, 'job_id': 'web'}),
               ('/b/3.json', {'kind': _backup.ML_KIND, 'job_id': 'web'}),
               ('/b/4.json', {'kind': _backup.ML_KIND, 'job_id': 'db'})]
    duplicates = _backup.duplicate_jobs(records)
    assert duplicates == [(_backup.ML_KIND, 'web', ['/b/1.json', '/b/3.json'])]
    assert _backup.describe_duplicates(duplicates) == 'ML job web in /b/1.json, /b/3.json'


@pytest.mark.parametrize('saved, reached, expected', [
    ({'uuid': 'u1', 'name': 'a'}, {'uuid': 'u1', 'name': 'a'}, None),
    ({'uuid': 'u1', 'name': 'a'}, {'uuid': 'u2', 'name': 'b'}, 'web was backed up on cluster a (u1), but this task reaches cluster b (u2)'),
    ({'uuid': 'u1', 'name': 'a'}, {'uuid': None, 'name': None}, 'cannot tell which cluster this task reaches'),
    ({'uuid': None, 'name': None}, {'uuid': 'u2', 'name': 'b'}, 'the backup of web records no cluster uuid'),
    ({}, {'uuid': 'u2', 'name': 'b'}, 'the backup of web records no cluster uuid'),
    ({'uuid': None}, {'uuid': None}, 'the cluster uuid is unknown on both sides'),
])
def test_cluster_binding_fails_closed(saved, reached, expected):
    problem = _backup.cluster_binding_problem('web', saved, reached)
    if expected is None:
        assert problem is None
    else:
        assert problem.startswith(expected) or expected in problem
        assert '\n' not in problem
        if reached.get('uuid') is None or saved.get('uuid') is None:
            assert 'monitor' in problem
