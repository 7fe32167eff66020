# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge report files (docs/converge_report.md) and the controller-side document check of desired_state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import yaml

from ansible_collections.esops.jobs.plugins.module_utils._converge_report import document_problems, report_json, report_markdown

REPORT = {
    'esops_converge_report': 1, 'host': 'es91-1', 'mode': 'plan', 'check_mode': True, 'generated_at': '2026-01-01T00:00:00Z',
    'document': 'desired.yml', 'cluster': {'uuid': 'u1', 'name': 'prod', 'version': '9.1.5'}, 'bound_cluster_uuid': 'u1',
    'status': 'drift', 'drift': True, 'changed': False,
    'counts': {'objects': 2, 'drift': 2, 'moved': 0, 'unmanaged': 1, 'errors': 0},
    'policy': {'ml_jobs': 'report'}, 'entries': {},
    'objects': [
        {'kind': 'ml_jobs', 'id': 'fleet-db', 'selector': 'fleet', 'desired': 'opened', 'before': 'closed',
         'planned': 'opened', 'actions': ['open'], 'drift': True, 'unmentioned': False},
        {'kind': 'ml_jobs', 'id': 'fleet-old', 'selector': 'fleet-old', 'desired': 'absent', 'before': 'closed',
         'planned': 'absent', 'actions': ['delete'], 'drift': True, 'unmentioned': False}],
    'ml_upgrade_mode': None,
    'unmanaged': [{'kind': 'ml_jobs', 'id': 'fleet-legacy', 'state': 'opened', 'policy': 'report'}],
    'errors': [],
}


def test_the_markdown_is_a_pull_request_comment():
    text = report_markdown(REPORT)
    assert text.startswith('### Plan: `es91-1` - drift\n')
    assert '| ml_jobs | `fleet-db` | closed | opened | open | `fleet` -> opened |' in text
    assert '1 object(s) would be deleted without a backup (converge_backup_dir is empty)' in text
    assert '1 job(s) would be backed up to `/b` before deleting' in report_markdown(dict(REPORT, backup_dir='/b'))
    applied = dict(REPORT, mode='apply', backup_dir='/b', backups=['/b/ml-job-fleet-old-x.json'],
                   objects=[dict(row, after=row['planned'], moved=True) for row in REPORT['objects']])
    assert 'Backed up before deleting: `/b/ml-job-fleet-old-x.json`' in report_markdown(applied)
    assert '1 object(s) not in the document' in text
    assert '(check mode)' in text


def test_the_json_is_the_report():
    assert json.loads(report_json(REPORT)) == REPORT


def test_a_bad_document_is_one_line():
    spec = {'ml_jobs': {'type': 'list', 'elements': 'dict', 'options': {
        'id': {'type': 'list', 'elements': 'str', 'required': True},
        'state': {'type': 'str', 'required': True, 'choices': ['opened', 'closed', 'absent']}}}}
    problem = document_problems(spec, {'ml_jobs': [{'id': 'a', 'state': 'x', 'sate': 'y'}], 'other': 1})
    assert '\n' not in problem
    assert 'unknown key' in problem and 'sate' in problem and 'value of state must be one of' in problem
    assert document_problems(spec, {'ml_jobs': [{'id': 'a', 'state': 'opened'}]}) is None
    assert 'must be a mapping' in document_problems(spec, ['x'])


def test_config_changes_are_listed_field_by_field():
    objects = [
        {'kind': 'ml_jobs', 'id': 'web', 'selector': 'web', 'desired': 'opened', 'before': 'opened', 'planned': 'opened',
         'actions': ['stop_datafeed', 'close', 'delete_datafeed', 'delete', 'create', 'put_datafeed', 'open',
                     'start_datafeed'], 'drift': True, 'unmentioned': False, 'config': 'replace',
         'config_steps': ['close', 'delete', 'create', 'open'],
         'config_changes': [{'path': 'analysis_config.bucket_span', 'current': '15m', 'desired': '1h',
                             'change': 'replace', 'reason': 'Elasticsearch cannot update it'}]},
        {'kind': 'datafeeds', 'id': 'datafeed-web', 'selector': 'datafeed-web', 'desired': 'started', 'before': 'started',
         'planned': 'started', 'actions': ['stop', 'update', 'start'], 'drift': True, 'unmentioned': False,
         'config': 'update', 'restarted': True, 'config_changes': [
             {'path': 'query.term', 'current': None, 'desired': {'status': 500}, 'change': 'update', 'reason': None}]}]
    text = report_markdown(dict(REPORT, objects=objects, unmanaged=[]))
    assert '| ml_jobs | `web` | `analysis_config.bucket_span` | `15m` | `1h` | replace |' in text
    assert '| datafeeds | `datafeed-web` | `query.term` | `missing` | `{"status": 500}` | update |' in text
    assert '- ml_jobs `web` is replaced (recreate: true): close, delete, create, open.' in text
    assert '- datafeed `datafeed-web` is running: it is stopped, updated and started again.' in text
    assert '1 object(s) would be deleted without a backup' in text


def test_a_calendar_is_listed_field_by_field_and_its_replace_explained():
    objects = [{'kind': 'ml_calendars', 'id': 'outages', 'selector': 'outages', 'desired': 'present', 'before': 'present',
                'planned': 'present', 'actions': ['delete', 'create', 'add_events'], 'drift': True, 'unmentioned': False,
                'config': 'replace', 'config_steps': ['delete', 'create', 'add_events'], 'config_changes': [
                    {'path': 'description', 'current': 'Old', 'desired': 'New', 'change': 'replace', 'reason': 'x'},
                    {'path': 'events[Patch 2026-12-05T22:00:00Z/2026-12-06T02:00:00Z]', 'current': None,
                     'desired': 'Patch 2026-12-05T22:00:00Z/2026-12-06T02:00:00Z', 'change': 'add', 'reason': None}]}]
    text = report_markdown(dict(REPORT, objects=objects, unmanaged=[], backup_dir='/b'))
    assert '| ml_calendars | `outages` | `description` | `Old` | `New` | replace |' in text
    assert '| ml_calendars | `outages` | `events[Patch 2026-12-05T22:00:00Z/2026-12-06T02:00:00Z]` | `missing` |' in text
    assert '- ml_calendars `outages` is replaced (recreate: true): delete, create, add_events.' in text
    assert '1 object(s) would be backed up to `/b` before deleting' in text


def test_the_role_spec_checks_calendars_and_filters():
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'converge', 'meta', 'argument_specs.yml')
    with open(path) as handle:
        spec = yaml.safe_load(handle)['argument_specs']['document']['options']
    good = {'ml_filters': [{'id': 'safe', 'items': ['a.com']}, {'id': 'old', 'state': 'absent'}],
            'ml_calendars': [{'id': 'outages', 'description': 'Planned', 'job_ids': ['web'], 'recreate': True,
                              'events': [{'description': 'Patch', 'start_time': '2026-12-05T22:00:00Z', 'duration': '4h'}]}],
            'unmentioned': {'ml_filters': 'report', 'ml_calendars': 'ignore'}}
    assert document_problems(spec, good) is None
    problem = document_problems(spec, {'ml_calendars': [{'id': 'c', 'events_mode': 'sync', 'events': [{'start_time': 1}]}],
                                       'unmentioned': {'ml_filters': 'absent'}})
    assert '\n' not in problem and 'events_mode' in problem and 'description' in problem and 'ml_filters' in problem
