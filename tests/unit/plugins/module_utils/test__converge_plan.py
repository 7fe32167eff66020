# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge planner on plain dicts (no Elasticsearch): document checks, selection, conflicts, deferred starts,
the order of the stages, the version rules (from the engines), ML upgrade mode as it will be, the unmentioned policy
and the privilege operations of the planned steps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._converge_plan import (
    STAGES, DocumentError, kinds_to_read, normalize, plan, select)


def snapshot(version='8.19.3', upgrade_mode=False, jobs=None, datafeeds=None, rollups=None):
    return {
        'version': version, 'upgrade_mode': upgrade_mode,
        'ml_jobs': dict((job_id, dict(state=state, groups=groups)) for job_id, (state, groups) in (jobs or {}).items()),
        'datafeeds': dict((df_id, dict(state=state, job_id=job_id)) for df_id, (state, job_id) in (datafeeds or {}).items()),
        'rollup_jobs': dict((job_id, dict(state=state)) for job_id, state in (rollups or {}).items()),
    }


FLEET = dict(
    jobs={'fleet-web': ('opened', ['fleet']), 'fleet-db': ('closed', ['fleet']), 'fleet-legacy': ('opened', []),
          'fleet-old': ('closed', [])},
    datafeeds={'datafeed-fleet-web': ('stopped', 'fleet-web'), 'datafeed-fleet-db': ('stopped', 'fleet-db')},
    rollups={'fleet-hourly': 'stopped'},
)


def rows(result):
    return dict(('%s/%s' % (row['kind'], row['id']), row) for row in result['objects'])


def stages(result):
    return [stage['stage'] for stage in result['steps']]


# -- the document ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('document, text', [
    ([], 'must be a mapping'),
    ({'ml_job': []}, 'unknown key(s) ml_job'),
    ({'ml_jobs': {'id': 'a', 'state': 'opened'}}, 'ml_jobs must be a list'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'sate': 'x'}]}, 'ml_jobs[0]: unknown key(s) sate'),
    ({'datafeeds': [{'id': 'a', 'state': 'opened'}]}, "datafeeds[0].state: 'opened' is not one of started"),
    ({'ml_jobs': [{'id': 123, 'state': 'opened'}]}, 'ml_jobs[0].id: 123 is a number, but ids are strings; quote it'),
    ({'ml_jobs': [{'id': ['a', 7], 'state': 'opened'}]}, 'ml_jobs[0].id: 7 is a number'),
    ({'ml_jobs': [{'id': 'A', 'state': 'opened'}]}, 'ids are lowercase'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'timeout': 0}]}, 'ml_jobs[0].timeout'),
    ({'rollup_jobs': [{'id': 'a', 'state': 'started', 'timeout': '0s'}]}, 'rollup_jobs[0].timeout'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'force': 'yes'}]}, 'ml_jobs[0].force'),
    ({'datafeeds': [{'id': 'a', 'state': 'stopped', 'end': 'now'}]}, 'datafeeds a: start/end only go with state started'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened'}, {'id': 'b,a', 'state': 'closed'}]}, 'ml_jobs: a is listed in more than one entry'),
    ({'ml_upgrade_mode': 'no'}, 'ml_upgrade_mode'),
    ({'unmentioned': {'ml_jobs': 'started'}}, "unmentioned.ml_jobs: 'started'"),
])
def test_a_bad_document_is_one_line(document, text):
    with pytest.raises(DocumentError) as info:
        normalize(document)
    assert text in info.value.message and '\n' not in info.value.message


def test_a_timeout_is_honoured_in_seconds():
    entry = normalize({'ml_jobs': [{'id': 'a', 'state': 'opened', 'timeout': '90s'}]})['entries']['ml_jobs'][0]
    assert entry['timeout'] == 90
    assert normalize({'rollup_jobs': [{'id': 'a', 'state': 'started', 'timeout': 5}]})['entries']['rollup_jobs'][0]['timeout'] == 5


def test_only_what_the_document_needs_is_read():
    assert kinds_to_read(normalize({'rollup_jobs': [{'id': 'a', 'state': 'started'}]})) == ['rollup_jobs']
    assert kinds_to_read(normalize({'datafeeds': [{'id': 'a', 'state': 'started'}]})) == ['ml_jobs', 'datafeeds']
    assert kinds_to_read(normalize({'unmentioned': {'rollup_jobs': 'report'}})) == ['rollup_jobs']


# -- selection -------------------------------------------------------------------------------------------------

def test_selection_by_id_group_pattern_and_all():
    jobs = {'web-a': {'groups': ['web']}, 'web-b': {'groups': ['web', 'prod']}, 'db': {'groups': ['prod']}}
    assert select('ml_jobs', ['web'], jobs) == (['web-a', 'web-b'], [])
    assert select('ml_jobs', ['pro*'], jobs) == (['db', 'web-b'], [])   # a pattern matches group names too
    assert select('ml_jobs', ['db', 'nope'], jobs) == (['db'], ['nope'])
    assert select('ml_jobs', ['_all'], jobs) == (['db', 'web-a', 'web-b'], [])
    assert select('ml_jobs', ['x*'], jobs) == ([], [])
    assert select('datafeeds', ['web'], {'web-a': {}}) == ([], ['web'])   # datafeeds have no groups
    assert select('rollup_jobs', ['h*', 'gone'], {'hourly': {}}) == (['hourly'], ['gone'])


def test_a_missing_exact_id_is_an_error_except_for_absent():
    result = plan(snapshot(**FLEET), {'ml_jobs': [{'id': 'nope', 'state': 'opened'}, {'id': 'gone', 'state': 'absent'}]})
    assert [error['selector'] for error in result['errors']] == ['nope']
    assert 'no job or job group matches nope' in result['errors'][0]['msg']


# -- the fleet plan --------------------------------------------------------------------------------------------

DOCUMENT = {
    'ml_jobs': [{'id': 'fleet', 'state': 'opened'}, {'id': 'fleet-old', 'state': 'absent'}],
    'datafeeds': [{'id': 'datafeed-fleet-*', 'state': 'started'}],
    'rollup_jobs': [{'id': 'fleet-hourly', 'state': 'started'}],
    'unmentioned': {'ml_jobs': 'report'},
}


def test_the_fleet_plan():
    result = plan(snapshot(**FLEET), DOCUMENT)
    assert result['errors'] == []
    by = rows(result)
    assert by['ml_jobs/fleet-db']['actions'] == ['open'] and by['ml_jobs/fleet-db']['planned'] == 'opened'
    assert by['ml_jobs/fleet-web']['drift'] is False
    assert by['ml_jobs/fleet-old']['actions'] == ['delete'] and by['ml_jobs/fleet-old']['planned'] == 'absent'
    # deferred start: its job is closed now, and opened by this plan before the datafeed stage
    assert by['datafeeds/datafeed-fleet-db']['actions'] == ['start'] and by['datafeeds/datafeed-fleet-db']['job_id'] == 'fleet-db'
    assert stages(result) == ['ml_jobs_absent', 'ml_jobs_opened', 'datafeeds_started', 'rollup_jobs_started']
    assert result['unmanaged'] == [{'kind': 'ml_jobs', 'id': 'fleet-legacy', 'state': 'opened', 'policy': 'report'}]
    assert [entry['drift'] for entry in result['entries']['ml_jobs']] == [1, 1]
    assert result['drift'] == 5
    assert result['operations'] == ['delete_job', 'open_job', 'start_datafeed', 'start_rollup']
    assert result['needs_upgrade_mode'] is False


def test_a_start_whose_job_stays_closed_is_refused():
    result = plan(snapshot(**FLEET), {'datafeeds': [{'id': 'datafeed-fleet-db', 'state': 'started'}]})
    assert [error['kind'] for error in result['errors']] == ['datafeeds']
    assert 'its job fleet-db is closed' in result['errors'][0]['msg']
    assert result['steps'] == []


def test_conflicts_between_entries():
    result = plan(snapshot(**FLEET), {'ml_jobs': [{'id': 'fleet', 'state': 'opened'}, {'id': 'fleet-web', 'state': 'closed'}]})
    assert 'ML job fleet-web is selected by fleet (opened) and by fleet-web (closed)' in [e['msg'] for e in result['errors']]
    result = plan(snapshot(**FLEET), {'ml_jobs': [{'id': 'fleet-db', 'state': 'closed'}],
                                      'datafeeds': [{'id': 'datafeed-fleet-db', 'state': 'started'}]})
    assert ('datafeed datafeed-fleet-db is declared started but its job fleet-db is declared closed (fleet-db)'
            in [e['msg'] for e in result['errors']])


def test_the_same_object_twice_in_the_same_state_is_planned_once():
    result = plan(snapshot(**FLEET), {'ml_jobs': [{'id': 'fleet', 'state': 'opened'}, {'id': 'fleet-d*', 'state': 'opened'}]})
    assert result['errors'] == [] and [row['id'] for row in result['objects']] == ['fleet-db', 'fleet-web']
    assert [entry['objects'] for entry in result['entries']['ml_jobs']] == [2, 1]


def test_unmentioned_policy_as_a_state():
    result = plan(snapshot(**FLEET), {'ml_jobs': [{'id': 'fleet', 'state': 'opened'}], 'unmentioned': {'ml_jobs': 'closed'}})
    by = rows(result)
    assert by['ml_jobs/fleet-legacy']['selector'] == '(unmentioned)' and by['ml_jobs/fleet-legacy']['actions'] == ['close']
    assert by['ml_jobs/fleet-legacy']['unmentioned'] is True
    assert result['entries']['ml_jobs'][-1]['unmentioned'] is True
    assert stages(result) == ['ml_jobs_closed', 'ml_jobs_opened']


def test_every_stage_in_the_safe_order():
    snap = snapshot(
        upgrade_mode=False,
        jobs={'c': ('opened', []), 'o': ('closed', []), 'd': ('closed', [])},
        datafeeds={'f-stop': ('started', 'x'), 'f-start': ('stopped', 'o'), 'f-del': ('stopped', 'y')},
        rollups={'r-stop': 'started', 'r-start': 'stopped', 'r-del': 'stopped'})
    snap['ml_jobs'].update({'x': dict(state='opened', groups=[]), 'y': dict(state='closed', groups=[])})
    snap['ml_jobs']['o']['config'] = {'job_id': 'o', 'description': 'old'}
    snap['datafeeds']['f-start']['config'] = {'datafeed_id': 'f-start', 'job_id': 'o', 'frequency': '1m'}
    snap['rollup_indices'] = {'r-new-x': {'exists': False}}
    document = {
        'ml_upgrade_mode': True,
        'rollup_jobs': [{'id': 'r-start', 'state': 'started'}, {'id': 'r-del', 'state': 'absent'}, {'id': 'r-stop', 'state': 'stopped'},
                        {'id': 'r-new', 'state': 'stopped', 'config': {'index_pattern': 'x-*', 'rollup_index': 'r-new-x'}}],
        'datafeeds': [{'id': 'f-start', 'state': 'started', 'config': {'job_id': 'o', 'frequency': '2m'}},
                      {'id': 'f-del', 'state': 'absent'}, {'id': 'f-stop', 'state': 'stopped'}],
        'ml_jobs': [{'id': 'o', 'state': 'opened', 'config': {'description': 'new'}}, {'id': 'd', 'state': 'absent'},
                    {'id': 'c', 'state': 'closed'}],
        'ml_calendars': [{'id': 'new-cal', 'job_ids': ['o']}, {'id': 'old-cal', 'state': 'absent'}],
        'ml_filters': [{'id': 'old-filter', 'state': 'absent'}, {'id': 'new-filter', 'items': ['a']}],
    }
    snap['ml_calendars'] = {'old-cal': {'description': None, 'job_ids': [], 'events': []}}
    snap['ml_filters'] = {'old-filter': {'description': None, 'items': ['x']}}
    result = plan(snap, document)
    assert result['errors'] == []
    assert stages(result) == list(STAGES[1:])


# -- version rules: the engines' ---------------------------------------------------------------------------------

@pytest.mark.parametrize('version, close, delete', [
    ('6.8.23', ['stop_datafeed', 'close'], ['delete_datafeed', 'delete']),
    ('7.13.4', ['stop_datafeed', 'close'], ['delete_datafeed', 'delete']),
    ('7.14.2', ['close'], ['delete_datafeed', 'delete']),
    ('7.15.0', ['close'], ['delete']),
    ('9.1.5', ['close'], ['delete']),
])
def test_datafeed_rules_per_version(version, close, delete):
    snap = snapshot(version=version, jobs={'a': ('opened', []), 'b': ('closed', [])},
                    datafeeds={'df-a': ('started', 'a'), 'df-b': ('stopped', 'b')})
    result = plan(snap, {'ml_jobs': [{'id': 'a', 'state': 'closed'}, {'id': 'b', 'state': 'absent'}]})
    assert result['errors'] == []
    assert rows(result)['ml_jobs/a']['actions'] == close
    assert rows(result)['ml_jobs/b']['actions'] == delete
    expected = (['stop_datafeed'] if 'stop_datafeed' in close else []) + ['close_job'] \
        + (['delete_datafeed'] if 'delete_datafeed' in delete else []) + ['delete_job']
    assert result['operations'] == expected


def test_force_failed_open_force_closes_first():
    result = plan(snapshot(jobs={'a': ('failed', [])}), {'ml_jobs': [{'id': 'a', 'state': 'opened', 'force_failed': True}]})
    assert rows(result)['ml_jobs/a']['actions'] == ['force_close', 'open']
    assert result['operations'] == ['close_job', 'open_job']
    result = plan(snapshot(jobs={'a': ('failed', [])}), {'ml_jobs': [{'id': 'a', 'state': 'opened'}]})
    assert 'force_failed' in result['errors'][0]['msg'] and result['steps'] == []


# -- ML upgrade mode as it will be when each step runs -------------------------------------------------------------

def test_upgrade_mode_off_first_lets_a_job_move():
    result = plan(snapshot(upgrade_mode=True, jobs={'a': ('closed', [])}),
                  {'ml_jobs': [{'id': 'a', 'state': 'opened'}], 'ml_upgrade_mode': False})
    assert result['errors'] == []
    assert stages(result) == ['upgrade_mode_off', 'ml_jobs_opened']
    assert result['operations'] == ['set_upgrade_mode', 'open_job']
    assert result['ml_upgrade_mode'] == {'desired': False, 'before': True, 'planned': False, 'drift': True}


@pytest.mark.parametrize('declared', [None, True])
def test_upgrade_mode_that_stays_on_refuses_the_move(declared):
    document = {'ml_jobs': [{'id': 'a', 'state': 'opened'}]}
    if declared is not None:
        document['ml_upgrade_mode'] = declared
    result = plan(snapshot(upgrade_mode=True, jobs={'a': ('closed', [])}), document)
    assert 'ML upgrade mode is enabled' in result['errors'][0]['msg']


def test_upgrade_mode_not_read_yet_is_asked_for():
    snap = snapshot(upgrade_mode=None, jobs={'a': ('closed', [])})
    assert plan(snap, {'ml_jobs': [{'id': 'a', 'state': 'opened'}]})['needs_upgrade_mode'] is True
    assert plan(snap, {'ml_jobs': [{'id': 'a', 'state': 'closed'}]})['needs_upgrade_mode'] is False
    assert plan(snap, {'ml_upgrade_mode': False})['needs_upgrade_mode'] is True


# -- what the module must read next -----------------------------------------------------------------------------

@pytest.mark.parametrize('version, needed', [('7.13.4', True), ('7.14.2', False)])
def test_a_close_needs_the_datafeeds_only_where_the_engine_stops_them(version, needed):
    snap = snapshot(version=version, jobs={'a': ('opened', [])})
    del snap['datafeeds']   # not read: the document has no datafeed entry
    assert plan(snap, {'ml_jobs': [{'id': 'a', 'state': 'closed'}]})['needs_datafeeds'] is needed


@pytest.mark.parametrize('version, needed', [('7.14.2', True), ('7.15.0', False)])
def test_a_delete_needs_the_datafeeds_only_where_the_engine_deletes_them(version, needed):
    snap = snapshot(version=version, jobs={'a': ('closed', [])})
    del snap['datafeeds']
    assert plan(snap, {'ml_jobs': [{'id': 'a', 'state': 'absent'}]})['needs_datafeeds'] is needed


def test_a_selection_elasticsearch_expanded_is_taken_as_it_is():
    snap = snapshot(jobs={'web-a': ('closed', [])})   # groups unknown: ES expanded the entry
    snap['selected'] = {'ml_jobs': {0: ['web-a']}}
    result = plan(snap, {'ml_jobs': [{'id': 'web', 'state': 'opened'}]})
    assert result['errors'] == [] and rows(result)['ml_jobs/web-a']['actions'] == ['open']


# -- declared configurations ---------------------------------------------------------------------------------------

JOB = {'job_id': 'web', 'description': 'web', 'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
       'data_description': {'time_field': 'timestamp'}}


def config_snapshot(version='8.19.3', state='opened', datafeed='started', upgrade_mode=False):
    snap = snapshot(version=version, upgrade_mode=upgrade_mode, jobs={'web': (state, [])},
                    datafeeds={'datafeed-web': (datafeed, 'web')} if datafeed else {})
    snap['ml_jobs']['web']['config'] = dict(JOB)
    return snap


@pytest.mark.parametrize('document, text', [
    ({'ml_jobs': [{'id': 'web-*', 'state': 'opened', 'config': {}}]}, 'ml_jobs[0].config: goes with one exact id'),
    ({'ml_jobs': [{'id': 'a,b', 'state': 'opened', 'config': {}}]}, 'ml_jobs[0].config: goes with one exact id'),
    ({'ml_jobs': [{'id': 'a', 'state': 'absent', 'config': {}}]}, 'an absent object has no configuration'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'config': 'x'}]}, 'ml_jobs[0].config: must be a mapping'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'config': {'job_id': 'b'}}]}, "config.job_id: 'b' differs"),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'config': {'datafeed_config': {}}}]}, 'as a datafeeds entry'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'recreate': True}]}, 'ml_jobs[0].recreate: goes with config'),
    ({'ml_jobs': [{'id': 'a', 'state': 'opened', 'config': {}, 'recreate': 'yes'}]}, 'ml_jobs[0].recreate'),
])
def test_a_bad_config_is_one_line(document, text):
    with pytest.raises(DocumentError) as exc:
        normalize(document)
    assert text in exc.value.message


def test_a_missing_job_is_created_then_opened_and_its_datafeed_started_after():
    snap = snapshot(jobs={}, datafeeds={})
    config = dict(JOB, groups=['edge'])
    config.pop('job_id')
    result = plan(snap, {'ml_jobs': [{'id': 'web', 'state': 'opened', 'config': config}]})
    assert result['errors'] == []
    row = rows(result)['ml_jobs/web']
    assert (row['before'], row['planned'], row['actions'], row['config']) == ('absent', 'opened', ['create', 'open'], 'create')
    assert stages(result) == ['ml_jobs_config', 'ml_jobs_opened']
    assert result['steps'][0]['options']['body'] == config
    assert result['operations'] == ['put_job', 'open_job']
    assert result['needs_upgrade_mode'] is False


def test_a_config_in_sync_is_no_drift():
    result = plan(config_snapshot(), {'ml_jobs': [{'id': 'web', 'state': 'opened', 'config': dict(JOB, create_time=5)}]})
    assert result['errors'] == [] and result['steps'] == [] and result['drift'] == 0
    assert rows(result)['ml_jobs/web']['config'] is None and rows(result)['ml_jobs/web']['config_changes'] == []


def test_an_update_runs_after_the_closes_and_before_the_opens():
    snap = config_snapshot(state='opened')
    snap['ml_jobs']['web']['config']['analysis_limits'] = {'model_memory_limit': '1024mb'}
    document = {'ml_jobs': [{'id': 'web', 'state': 'closed',
                             'config': {'description': 'new', 'analysis_limits': {'model_memory_limit': '2gb'}}}]}
    result = plan(snap, document)
    assert result['errors'] == []
    assert stages(result) == ['ml_jobs_closed', 'ml_jobs_config']
    assert rows(result)['ml_jobs/web']['actions'] == ['close', 'update']
    assert result['steps'][1]['options']['body'] == {'description': 'new', 'analysis_limits': {'model_memory_limit': '2gb'}}
    assert result['operations'] == ['close_job', 'update_job']
    # opened it stays: ES refuses analysis_limits while the job is open, so the plan does
    document['ml_jobs'][0]['state'] = 'opened'
    result = plan(snap, document)
    assert result['steps'] == [] and len(result['errors']) == 1
    assert 'analysis_limits.model_memory_limit (Elasticsearch updates it only while the job is closed)' in result['errors'][0]['msg']


def test_a_replace_is_refused_naming_each_field_without_recreate():
    document = {'ml_jobs': [{'id': 'web', 'state': 'opened', 'config': {
        'analysis_config': {'bucket_span': '1h', 'detectors': [{'function': 'sum', 'field_name': 'bytes'}]},
        'description': 'new'}}]}
    result = plan(config_snapshot(), document)
    assert result['steps'] == [] and result['operations'] == []
    [error] = result['errors']
    assert error['msg'].startswith('ML job web needs a replace, Elasticsearch cannot update analysis_config.bucket_span, '
                                   'analysis_config.detectors[0].function, analysis_config.detectors[0].field_name in place')
    assert 'recreate: true' in error['msg']


@pytest.mark.parametrize('version, state, datafeed, actions', [
    ('8.19.3', 'opened', 'started', ['stop_datafeed', 'close', 'delete_datafeed', 'delete', 'create', 'put_datafeed',
                                     'open', 'start_datafeed']),
    ('6.8.23', 'closed', 'stopped', ['delete_datafeed', 'delete', 'create', 'put_datafeed']),
    ('7.17.28', 'opened', None, ['close', 'delete', 'create', 'open']),
])
def test_a_replace_with_recreate_restores_the_states(version, state, datafeed, actions):
    document = {'ml_jobs': [{'id': 'web', 'state': state, 'recreate': True,
                             'config': {'analysis_config': {'bucket_span': '1h', 'detectors': [{'function': 'count'}]}}}]}
    result = plan(config_snapshot(version, state, datafeed), document)
    assert result['errors'] == []
    assert stages(result) == ['ml_jobs_config']
    assert result['steps'][0]['actions'] == {'web': actions}
    row = rows(result)['ml_jobs/web']
    assert row['config'] == 'replace' and row['planned'] == state and row['config_steps'] == actions
    operations = {'stop_datafeed': 'stop_datafeed', 'close': 'close_job', 'delete_datafeed': 'delete_datafeed',
                  'delete': 'delete_job', 'create': 'put_job', 'put_datafeed': 'put_datafeed', 'open': 'open_job',
                  'start_datafeed': 'start_datafeed'}
    assert result['operations'] == [operations[action] for action in actions]


def test_a_replace_without_the_datafeeds_read_asks_for_them():
    snap = config_snapshot()
    snap.pop('datafeeds')
    document = {'ml_jobs': [{'id': 'web', 'state': 'opened', 'recreate': True,
                             'config': {'analysis_config': {'bucket_span': '1h'}}}]}
    assert plan(snap, document)['needs_datafeeds'] is True


@pytest.mark.parametrize('version, refused', [('7.7.1', False), ('7.8.0', True)])
def test_upgrade_mode_refuses_a_config_change_from_7_8(version, refused):
    document = {'ml_jobs': [{'id': 'web', 'state': 'opened', 'config': {'description': 'new'}}]}
    result = plan(config_snapshot(version=version, upgrade_mode=True), document)
    assert bool(result['errors']) == refused
    if refused:
        assert 'ML upgrade mode is enabled' in result['errors'][0]['msg']


FEED = {'datafeed_id': 'datafeed-web', 'job_id': 'web', 'indices': ['web-*'], 'query': {'match_all': {}}}


def feed_snapshot(state='started', version='8.19.3'):
    snap = config_snapshot(version=version, datafeed=state)
    snap['datafeeds']['datafeed-web']['config'] = dict(FEED)
    return snap


@pytest.mark.parametrize('state, actions, stages_run', [
    ('started', ['stop', 'update', 'start'], ['datafeeds_config']),
    ('stopped', ['update', 'start'], ['datafeeds_config', 'datafeeds_started']),
])
def test_a_running_datafeed_is_stopped_updated_and_started_again(state, actions, stages_run):
    document = {'datafeeds': [{'id': 'datafeed-web', 'state': 'started',
                               'config': {'job_id': 'web', 'query': {'term': {'status': 500}}}}]}
    result = plan(feed_snapshot(state), document)
    assert result['errors'] == []
    assert stages(result) == stages_run
    row = rows(result)['datafeeds/datafeed-web']
    assert row['actions'] == actions and row['config'] == 'update' and row['restarted'] is (state == 'started')
    assert result['steps'][0]['options']['body'] == {'query': {'term': {'status': 500}}}
    assert result['operations'][:1] == (['stop_datafeed'] if state == 'started' else ['update_datafeed'])


def test_a_datafeed_moved_to_another_job_is_a_replace():
    document = {'datafeeds': [{'id': 'datafeed-web', 'state': 'stopped', 'config': {'job_id': 'other'}}]}
    snap = feed_snapshot('stopped')
    snap['ml_jobs']['other'] = dict(state='closed', groups=[], config={})
    result = plan(snap, document)
    assert result['errors'][0]['msg'].startswith('datafeed datafeed-web needs a replace, Elasticsearch cannot update '
                                                 'job_id in place')
    document['datafeeds'][0]['recreate'] = True
    result = plan(snap, document)
    assert result['errors'] == [] and result['steps'][0]['actions'] == {'datafeed-web': ['delete', 'create']}
    assert result['operations'] == ['delete_datafeed', 'put_datafeed']


def test_a_new_job_and_its_new_datafeed_are_created_then_opened_and_started():
    document = {'ml_jobs': [{'id': 'new', 'state': 'opened', 'config': {'analysis_config': {'bucket_span': '1h'}}}],
                'datafeeds': [{'id': 'datafeed-new', 'state': 'started', 'config': {'job_id': 'new', 'indices': ['x']}}]}
    result = plan(snapshot(jobs={}, datafeeds={}), document)
    assert result['errors'] == []
    assert stages(result) == ['ml_jobs_config', 'datafeeds_config', 'ml_jobs_opened', 'datafeeds_started']
    assert rows(result)['datafeeds/datafeed-new']['actions'] == ['create', 'start']
    assert result['operations'] == ['put_job', 'put_datafeed', 'open_job', 'start_datafeed']


def test_a_datafeed_for_a_missing_job_is_refused():
    document = {'datafeeds': [{'id': 'datafeed-x', 'state': 'stopped', 'config': {'job_id': 'nope'}}]}
    result = plan(snapshot(jobs={}, datafeeds={}), document)
    assert 'its job nope does not exist' in result['errors'][0]['msg'] and result['steps'] == []


ROLLUP = {'id': 'hourly', 'index_pattern': 'sensor-*', 'rollup_index': 'sensor_rollup', 'cron': '0 0 * * * ?',
          'page_size': 1000, 'timeout': '20s',
          'groups': {'date_histogram': {'field': 'timestamp', 'fixed_interval': '1h', 'time_zone': 'UTC'}},
          'metrics': [{'field': 'temperature', 'metrics': ['max']}]}


def rollup_snapshot(state='started', indices=None):
    snap = snapshot(rollups={'hourly': state})
    snap['rollup_jobs']['hourly']['config'] = dict(ROLLUP)
    if indices is not None:
        snap['rollup_indices'] = indices
    return snap


def declared_rollup(**fields):
    config = dict(ROLLUP, **fields)
    config.pop('id')
    config.pop('timeout')
    return config


def test_a_rollup_job_in_sync_ignores_defaults():
    result = plan(rollup_snapshot(), {'rollup_jobs': [{'id': 'hourly', 'state': 'started', 'config': declared_rollup()}]})
    assert result['errors'] == [] and result['steps'] == [] and result['needs_rollup_indices'] == []


def test_a_missing_rollup_job_reads_its_index_then_is_created_and_started():
    document = {'rollup_jobs': [{'id': 'daily', 'state': 'started', 'config': declared_rollup(rollup_index='daily_r')}]}
    result = plan(snapshot(rollups={}), document)
    assert result['needs_rollup_indices'] == ['daily_r']
    snap = snapshot(rollups={})
    snap['rollup_indices'] = {'daily_r': {'exists': False, 'readable': True, 'is_rollup': False, 'job_ids': []}}
    result = plan(snap, document)
    assert result['errors'] == [] and result['needs_rollup_indices'] == []
    assert stages(result) == ['rollup_jobs_config', 'rollup_jobs_started']
    assert rows(result)['rollup_jobs/daily']['actions'] == ['create', 'start']
    assert result['operations'] == ['put_rollup', 'start_rollup']


def test_any_rollup_difference_is_a_replace_refused_without_recreate():
    document = {'rollup_jobs': [{'id': 'hourly', 'state': 'started', 'config': declared_rollup(
        rollup_index='sensor_rollup_v2', metrics=[{'field': 'temperature', 'metrics': ['max', 'min']}])}]}
    result = plan(rollup_snapshot(), document)
    assert result['steps'] == [] and result['errors'][0]['msg'].startswith(
        'rollup job hourly needs a replace, Elasticsearch cannot update rollup_index, metrics')
    document['rollup_jobs'][0]['recreate'] = True
    result = plan(rollup_snapshot(indices={'sensor_rollup_v2': {'exists': False}}), document)
    assert result['errors'] == []
    assert rows(result)['rollup_jobs/hourly']['actions'] == ['stop', 'delete', 'create', 'start']
    assert result['operations'] == ['stop_rollup', 'delete_rollup', 'put_rollup', 'start_rollup']


def test_a_rollup_replace_into_the_same_index_is_refused():
    document = {'rollup_jobs': [{'id': 'hourly', 'state': 'stopped', 'recreate': True,
                                 'config': declared_rollup(page_size=500)}]}
    indices = {'sensor_rollup': {'exists': True, 'readable': True, 'is_rollup': True, 'job_ids': ['hourly']}}
    result = plan(rollup_snapshot('stopped', indices), document)
    assert 'rollup job hourly cannot be created again into sensor_rollup: that index recorded it' in result['errors'][0]['msg']
    assert result['steps'] == []


@pytest.mark.parametrize('jobs, config, text', [
    ({'old': ('closed', ['web'])}, {'groups': []}, 'ML job web cannot be created: job and group names must be unique, and web'),
    ({'old': ('closed', [])}, {'groups': ['old']}, 'and old is already a job or group'),
    ({}, {'groups': ['web']}, 'and web is already a group of this job'),
])
def test_a_created_job_may_not_clash_with_a_group(jobs, config, text):
    result = plan(snapshot(jobs=jobs, datafeeds={}), {'ml_jobs': [{'id': 'web', 'state': 'closed', 'config': config}]})
    assert text in result['errors'][0]['msg'] and result['steps'] == []


@pytest.mark.parametrize('version', ['7.13.4', '8.19.3'])
def test_a_replace_of_a_job_the_plan_closes_first_does_not_restart_its_datafeed(version):
    document = {'ml_jobs': [{'id': 'web', 'state': 'closed', 'recreate': True,
                             'config': {'analysis_config': {'bucket_span': '1h'}}}]}
    result = plan(config_snapshot(version, 'opened', 'started'), document)
    assert result['errors'] == []
    assert stages(result) == ['ml_jobs_closed', 'ml_jobs_config']
    assert result['steps'][1]['actions'] == {'web': ['delete_datafeed', 'delete', 'create', 'put_datafeed']}
    assert 'start_datafeed' not in result['operations']
