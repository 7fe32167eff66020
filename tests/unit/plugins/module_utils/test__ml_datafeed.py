# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MlDatafeedAdapter through the real engine, against a fake ES per version (es-behaviour.md §2.7, §2.9)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Converger, Poller
from ansible_collections.esops.jobs.plugins.module_utils._ml_datafeed import MlDatafeedAdapter, simple_match
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeClock, FakeModule
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_ml_es import FakeMlEs

VERSIONS = ['6.8.23', '7.9.3', '7.13.4', '7.17.28', '8.19.3', '9.1.5']


def converge(es, desired, ids=('_all',), check_mode=False, diff=False, wait=True, timeout=300, clock=None, **kwargs):
    clock = clock or FakeClock()
    adapter = MlDatafeedAdapter(es, desired, list(ids), poller=Poller(clock=clock.clock, sleep=clock.sleep), **kwargs)
    with pytest.raises((Exited, Failed)) as info:
        Converger(FakeModule(check_mode=check_mode, diff=diff), adapter).run(wait=wait, timeout=timeout)
    return info.value.result


def feed(result, datafeed_id):
    matches = [entry for entry in result['datafeeds'] if entry['datafeed_id'] == datafeed_id]
    assert len(matches) == 1, result
    return matches[0]


def cluster(version='8.19.3', **feeds):
    es = FakeMlEs(version)
    for df_id, (job_id, job_state, df_state) in sorted(feeds.items()):
        if job_id not in es.jobs:
            es.add_job(job_id, state=job_state)
        es.add_datafeed(df_id.replace('_', '-'), job_id, state=df_state)
    return es


# -- stopped ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('version', VERSIONS)
def test_stop_sends_one_request_for_every_running_datafeed(version):
    es = cluster(version, df_a=('a', 'opened', 'started'), df_b=('b', 'opened', 'starting'), df_c=('c', 'closed', 'stopped'))
    result = converge(es, 'stopped')
    assert result['changed'] is True
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    assert es.mutations() == [('POST', base + '/datafeeds/df-a,df-b/_stop')]
    stop_params = [params for method, _path, params in es.calls if method == 'POST'][0]
    assert stop_params == {'timeout': '5m'}
    assert feed(result, 'df-a') == dict(datafeed_id='df-a', job_id='a', state_before='started', state_after='stopped',
                                        changed=True, actions=['stop'])
    assert feed(result, 'df-b')['state_before'] == 'starting'
    assert feed(result, 'df-c')['changed'] is False
    assert result['msg'] == 'moved 2 of 3 datafeeds to stopped'
    assert all(df['state'] == 'stopped' for df in es.datafeeds.values())


@pytest.mark.parametrize('version,param', [('6.8.23', 'allow_no_datafeeds'), ('7.9.3', 'allow_no_datafeeds'),
                                           ('7.10.2', 'allow_no_match'), ('9.1.5', 'allow_no_match')])
def test_reads_name_allow_no_match_per_version(version, param):
    es = cluster(version, df_a=('a', 'opened', 'started'))
    converge(es, 'stopped', ids=['df-*'], allow_no_match=False)
    reads = [params for method, _path, params in es.calls if method == 'GET' and '/datafeeds/' in _path]
    assert reads and all(params == {param: False} for params in reads)


@pytest.mark.parametrize('version', VERSIONS)
def test_stop_when_all_stopped_sends_nothing(version):
    es = cluster(version, df_a=('a', 'closed', 'stopped'), df_b=('b', 'closed', 'stopped'))
    result = converge(es, 'stopped', ids=['df-a,df-b'])
    assert result['changed'] is False
    assert es.mutations() == []
    assert result['msg'] == 'all 2 datafeeds already stopped'
    # nothing to move: neither upgrade mode nor job states are read
    assert [path for _m, path, _p in es.calls if path.endswith('/info') or 'anomaly_detectors' in path] == []


def test_stop_check_mode_predicts_and_leaves_server_alone():
    es = cluster(df_a=('a', 'opened', 'started'))
    result = converge(es, 'stopped', check_mode=True, diff=True)
    assert result['changed'] is True
    assert es.mutations() == []
    assert es.datafeeds['df-a']['state'] == 'started'
    assert result['diff'] == {'before': {'df-a': 'started'}, 'after': {'df-a': 'stopped'}}
    assert result['msg'] == 'would move 1 of 1 datafeeds to stopped'


def test_force_stop_passes_force_and_includes_stopping_datafeeds():
    es = cluster(df_a=('a', 'opened', 'stopping'))
    result = converge(es, 'stopped', force=True, timeout=20)
    assert es.calls[-1] == ('POST', '/_ml/datafeeds/df-a/_stop', {'timeout': '20s', 'force': True})
    assert feed(result, 'df-a')['state_after'] == 'stopped'


def test_stop_timeout_from_elasticsearch_is_explained():
    es = cluster(df_a=('a', 'opened', 'started'))
    es.fault('POST', '_stop$', 500, 'illegal_state_exception', 'Timed out when waiting for persistent tasks after 20s')
    result = converge(es, 'stopped', timeout=20)
    assert result['failed'] is True
    assert result['msg'].startswith('timed out after 20s waiting for Elasticsearch to stop datafeed df-a')
    assert 'force: true' in result['msg']
    assert result['failed_datafeeds'] == ['df-a']


def test_unknown_exact_id_is_a_clear_404():
    es = cluster(df_a=('a', 'opened', 'started'))
    result = converge(es, 'stopped', ids=['df-a', 'nope'])
    assert result['failed'] is True
    assert result['status'] == 404
    assert 'No datafeed with id [nope] exists' in result['msg']
    assert es.mutations() == []


def test_pattern_matching_nothing_is_fine_unless_allow_no_match_false():
    es = cluster(df_a=('a', 'opened', 'started'))
    result = converge(es, 'stopped', ids=['other-*'])
    assert result['changed'] is False and result['datafeeds'] == [] and result['msg'] == 'no datafeeds matched'
    result = converge(es, 'stopped', ids=['other-*'], allow_no_match=False)
    assert result['failed'] is True and result['status'] == 404


# -- started ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('version', VERSIONS)
def test_start_sends_one_request_per_stopped_datafeed_only(version):
    es = cluster(version, df_a=('a', 'opened', 'stopped'), df_b=('b', 'opening', 'stopped'), df_c=('c', 'opened', 'started'))
    result = converge(es, 'started', start='now-1d', end='now', timeout=60)
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    assert es.mutations() == [('POST', base + '/datafeeds/df-a/_start'), ('POST', base + '/datafeeds/df-b/_start')]
    for method, _path, params in es.calls:
        if method == 'POST':
            assert params == {'timeout': '1m', 'start': 'now-1d', 'end': 'now'}
    assert [feed(result, i)['changed'] for i in ('df-a', 'df-b', 'df-c')] == [True, True, False]
    assert feed(result, 'df-a')['actions'] == ['start']
    # the job states were read in one request, for the jobs whose datafeeds start
    job_reads = [path for method, path, _p in es.calls if 'anomaly_detectors' in path]
    assert job_reads == [base + '/anomaly_detectors/a,b/_stats']


def test_start_never_sends_start_to_started_or_starting():
    es = cluster(df_a=('a', 'opened', 'started'))
    result = converge(es, 'started')
    assert result['changed'] is False and es.mutations() == []
    assert result['msg'] == 'datafeed df-a already started'


@pytest.mark.parametrize('version', VERSIONS)
def test_start_with_closed_job_fails_naming_job_and_module(version):
    es = cluster(version, df_a=('job-a', 'closed', 'stopped'), df_b=('job-b', 'opened', 'stopped'))
    for check_mode in (True, False):
        result = converge(es, 'started', check_mode=check_mode)
        assert result['failed'] is True
        assert result['msg'] == ('cannot start datafeed df-a because its job job-a is closed; '
                                 'open it first with esops.jobs.ml_job_state (state: opened)')
        assert result['failed_datafeeds'] == ['df-a']
        assert es.mutations() == []  # nothing started, not even df-b: the task fails as a whole
        assert es.jobs['job-a']['state'] == 'closed'  # and the job is never opened behind the user's back


def test_start_with_failed_job_advises_force_close():
    es = cluster(df_a=('a', 'failed', 'stopped'))
    result = converge(es, 'started')
    assert 'its job a is failed; force-close it' in result['msg']


def test_starting_datafeed_is_waited_for_not_restarted():
    es = cluster(df_a=('a', 'opened', 'starting'))
    reads = []

    def land(clock):
        reads.append(clock.now)
        if len(reads) == 2:
            es.datafeeds['df-a']['state'] = 'started'

    result = converge(es, 'started', clock=FakeClock(on_sleep=land))
    assert es.mutations() == []
    assert feed(result, 'df-a')['actions'] == ['wait']
    assert feed(result, 'df-a')['state_after'] == 'started'


def test_stopping_datafeed_is_waited_for_then_started():
    es = cluster(df_a=('a', 'opened', 'stopping'))

    def land(clock):
        es.datafeeds['df-a']['state'] = 'stopped'

    result = converge(es, 'started', clock=FakeClock(on_sleep=land))
    assert es.mutations() == [('POST', '/_ml/datafeeds/df-a/_start')]
    assert feed(result, 'df-a')['state_before'] == 'stopping'
    assert feed(result, 'df-a')['state_after'] == 'started'


def test_stopping_datafeed_that_never_stops_fails_without_start():
    es = cluster(df_a=('a', 'opened', 'stopping'))
    result = converge(es, 'started', timeout=5)
    assert result['failed'] is True
    assert 'still stopping when the timeout ran out' in result['msg']
    assert es.mutations() == []


def test_start_race_already_started_is_not_a_failure():
    es = cluster(df_a=('a', 'opened', 'stopped'))
    es.fault('POST', '_start$', 409, 'status_exception', 'cannot start datafeed [df-a] because it has already been started')
    es.datafeeds['df-a']['state'] = 'stopped'

    def someone_started_it(method, path):
        if path.endswith('_start'):
            es.datafeeds['df-a']['state'] = 'started'

    es.on_request = someone_started_it
    result = converge(es, 'started')
    assert 'failed' not in result
    assert feed(result, 'df-a')['state_after'] == 'started'


def test_start_race_job_closed_meanwhile_is_explained():
    es = cluster(df_a=('a', 'opened', 'stopped'))
    es.fault('POST', '_start$', 409, 'status_exception', 'cannot start datafeed [df-a] because job [a] is closed')
    result = converge(es, 'started')
    assert result['failed'] is True
    assert 'esops.jobs.ml_job_state (state: opened)' in result['msg']


def test_datafeed_that_stops_again_while_waiting_fails_unless_end_was_given():
    es = cluster(df_a=('a', 'opened', 'starting'))

    def flop(clock):
        es.datafeeds['df-a']['state'] = 'stopped'

    result = converge(es, 'started', clock=FakeClock(on_sleep=flop))
    assert result['failed'] is True and 'stopped again while waiting' in result['msg']
    es.datafeeds['df-a']['state'] = 'starting'
    result = converge(es, 'started', end='now', clock=FakeClock(on_sleep=flop))
    assert 'failed' not in result


def test_wait_false_does_not_poll_a_starting_datafeed():
    es = cluster(df_a=('a', 'opened', 'starting'))
    clock = FakeClock()
    result = converge(es, 'started', wait=False, clock=clock)
    assert clock.sleeps == []
    assert feed(result, 'df-a')['state_after'] == 'starting'


# -- absent -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('version', VERSIONS)
def test_absent_deletes_stopped_datafeeds_one_by_one(version):
    es = cluster(version, df_a=('a', 'closed', 'stopped'), df_b=('b', 'closed', 'stopped'))
    result = converge(es, 'absent', ids=['df-*'], diff=True)
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    assert es.mutations() == [('DELETE', base + '/datafeeds/df-a'), ('DELETE', base + '/datafeeds/df-b')]
    assert es.datafeeds == {}
    assert feed(result, 'df-a')['state_after'] == 'absent'
    assert result['diff'] == {'before': {'df-a': 'stopped', 'df-b': 'stopped'}, 'after': {}}
    again = converge(es, 'absent', ids=['df-*'])
    assert again['changed'] is False and again['datafeeds'] == []


def test_absent_refuses_started_datafeed_without_force():
    es = cluster(df_a=('a', 'opened', 'started'), df_b=('b', 'closed', 'stopped'))
    result = converge(es, 'absent')
    assert result['failed'] is True
    assert result['msg'] == 'datafeed df-a is started; stop it first (state: stopped) or delete it with force: true'
    assert es.mutations() == []


def test_absent_with_force_deletes_started_with_force_and_stopped_without():
    es = cluster(df_a=('a', 'opened', 'started'), df_b=('b', 'closed', 'stopped'))
    converge(es, 'absent', force=True)
    deletes = [(path, params) for method, path, params in es.calls if method == 'DELETE']
    assert deletes == [('/_ml/datafeeds/df-a', {'force': True}), ('/_ml/datafeeds/df-b', {})]


def test_absent_missing_exact_id_is_already_absent():
    es = cluster(df_a=('a', 'closed', 'stopped'))
    result = converge(es, 'absent', ids=['gone'])
    assert result['changed'] is False and es.mutations() == []


def test_absent_pattern_with_allow_no_match_false_fails():
    es = cluster(df_a=('a', 'closed', 'stopped'))
    result = converge(es, 'absent', ids=['zzz-*'], allow_no_match=False)
    assert result['failed'] is True and result['msg'] == 'no datafeed matches zzz-* (allow_no_match is false)'


def test_absent_delete_race_404_counts_as_deleted():
    es = cluster(df_a=('a', 'closed', 'stopped'))
    es.fault('DELETE', 'df-a$', 404, 'resource_not_found_exception', 'No datafeed with id [df-a] exists')
    result = converge(es, 'absent', ids=['df-a'])
    assert 'failed' not in result and feed(result, 'df-a')['state_after'] == 'absent'


def test_absent_delete_409_is_explained():
    es = cluster(df_a=('a', 'closed', 'stopped'))
    es.fault('DELETE', 'df-a$', 409, 'status_exception', 'Cannot delete datafeed [df-a] while its status is started')
    result = converge(es, 'absent', ids=['df-a'])
    assert result['failed'] is True and 'use force: true' in result['msg']


# -- upgrade mode -------------------------------------------------------------------------------------

@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('desired,state', [('stopped', 'started'), ('started', 'stopped'), ('absent', 'stopped')])
def test_upgrade_mode_fails_fast_pointing_at_the_module(version, desired, state):
    es = cluster(version, df_a=('a', 'opened', state))
    es.upgrade_mode = True
    result = converge(es, desired, check_mode=(desired == 'absent'))
    if version == '6.8.23':
        # Before 7.8 Elasticsearch refuses no datafeed action in upgrade mode (only opening a job).
        assert 'failed' not in result and result['changed'] is True
        return
    assert result['failed'] is True
    assert 'ML upgrade mode is enabled' in result['msg'] and 'esops.jobs.ml_upgrade_mode (enabled: false)' in result['msg']
    assert es.mutations() == []


def test_upgrade_mode_with_nothing_to_do_is_fine():
    es = cluster(df_a=('a', 'opened', 'started'))
    es.upgrade_mode = True
    result = converge(es, 'started')
    assert result['changed'] is False and 'failed' not in result


def test_upgrade_mode_429_during_apply_is_explained_not_retried_forever():
    es = cluster(df_a=('a', 'opened', 'started'))

    def enable_upgrade_mode(method, path):
        if method == 'POST':
            es.upgrade_mode = True

    es.on_request = enable_upgrade_mode
    result = converge(es, 'stopped')
    assert result['failed'] is True
    assert result['msg'].startswith('ML upgrade mode is enabled')
    assert 'Cannot perform cluster:admin/xpack/ml/datafeed/stop action while upgrade mode is enabled' in result['msg']
    assert len(es.mutations()) == 1


def test_no_upgrade_mode_read_before_6_7():
    es = cluster('6.5.4', df_a=('a', 'opened', 'started'))
    converge(es, 'stopped')
    assert not [path for _m, path, _p in es.calls if path.endswith('/info')]


# -- helpers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('pattern,value,expected', [
    ('_all', 'x', True), ('*', 'x', True), ('df-*', 'df-a', True), ('df-*', 'xdf-a', False),
    ('*-web-*', 'df-web-1', True), ('a.b', 'axb', False), ('exact', 'exact', True), ('exact', 'exact2', False)])
def test_simple_match(pattern, value, expected):
    assert simple_match(pattern, value) is expected


def test_bad_desired_state_is_rejected():
    with pytest.raises(ValueError):
        MlDatafeedAdapter(FakeMlEs(), 'opened', ['x'])


# -- datafeed_id lists too long for one request line ---------------------------------------------------

LONG_IDS = ['datafeed-long-%02d-%s' % (i, 'x' * 45) for i in range(70)]


def long_cluster(version='8.19.3', df_state='started', job_state='opened'):
    es = FakeMlEs(version)
    for df_id in LONG_IDS:
        es.add_job(df_id.replace('datafeed-', 'job-'), state=job_state)
        es.add_datafeed(df_id, df_id.replace('datafeed-', 'job-'), state=df_state)
    es.add_datafeed('datafeed-other', 'job-other', state=df_state)
    return es


@pytest.mark.parametrize('version', ['6.8.23', '8.19.3'])
def test_a_long_list_is_read_once_and_stopped_in_request_lines_sent_together(version):
    es = long_cluster(version)
    result = converge(es, 'stopped', ids=LONG_IDS)
    assert result['changed'] is True and len(result['datafeeds']) == 70
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    assert [path for method, path, _p in es.calls if method == 'GET' and '/datafeeds' in path] == [
        base + '/datafeeds/_all/_stats', base + '/datafeeds/_all']
    stops = [path for _method, path in es.mutations()]
    assert len(stops) == 2 and all(path.endswith('/_stop') for path in stops)
    assert sorted(df for path in stops for df in path.split('/')[-2].split(',')) == LONG_IDS
    assert es.datafeeds['datafeed-other']['state'] == 'started'
    assert all(es.datafeeds[df_id]['state'] == 'stopped' for df_id in LONG_IDS)


def test_a_long_list_resolves_patterns_like_elasticsearch():
    es = long_cluster()
    es.add_datafeed('datafeed-extra-1', 'job-extra-1', state='started')
    result = converge(es, 'stopped', ids=LONG_IDS + ['datafeed-extra-*', 'nothing-*'])
    assert sorted(df['datafeed_id'] for df in result['datafeeds']) == sorted(LONG_IDS + ['datafeed-extra-1'])
    assert es.datafeeds['datafeed-other']['state'] == 'started'


@pytest.mark.parametrize('extra, allow_no_match', [(['datafeed-missing'], True), (['nothing-*'], False)])
def test_a_long_list_with_an_unknown_id_fails_like_elasticsearch_and_sends_nothing(extra, allow_no_match):
    es = long_cluster()
    result = converge(es, 'stopped', ids=LONG_IDS + extra, allow_no_match=allow_no_match)
    assert result['failed'] is True
    assert 'No datafeed with id [%s] exists' % extra[0] in result['msg']
    assert es.mutations() == []


def test_a_long_list_to_start_reads_the_jobs_without_a_long_line():
    es = long_cluster(df_state='stopped')
    result = converge(es, 'started', ids=LONG_IDS)
    assert result['changed'] is True
    assert all(es.datafeeds[df_id]['state'] == 'started' for df_id in LONG_IDS)
    assert es.datafeeds['datafeed-other']['state'] == 'stopped'
    job_reads = [path for method, path, _p in es.calls if method == 'GET' and '/anomaly_detectors' in path]
    assert job_reads == ['/_ml/anomaly_detectors/_all/_stats']
