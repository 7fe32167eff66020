# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MlDatafeedAdapter through the real engine and the real client, against the in-process emulator per version
(es-behaviour.md §2.7, §2.9; tests/unit/conftest.py). Starting and stopping take emulated (virtual) time; races are
other requests landing between the adapter's read and its own request, answered by the emulator as ES would."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Converger
from ansible_collections.esops.jobs.plugins.module_utils._ml_datafeed import MlDatafeedAdapter, simple_match
from ansible_collections.esops.jobs.tests.emulator.state import Timings
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeModule

VERSIONS = ['6.8.23', '7.9.3', '7.13.4', '7.17.28', '8.19.3', '9.1.5']


def converge(es, desired, ids=('_all',), check_mode=False, diff=False, wait=True, timeout=300, client=None, sleep=None,
             **kwargs):
    poller = es.poller(**({'sleep': sleep} if sleep else {}))
    adapter = MlDatafeedAdapter(client or es.client(), desired, list(ids), poller=poller, **kwargs)
    with pytest.raises((Exited, Failed)) as info:
        Converger(FakeModule(check_mode=check_mode, diff=diff), adapter).run(wait=wait, timeout=timeout)
    return info.value.result


def feed(result, datafeed_id):
    matches = [entry for entry in result['datafeeds'] if entry['datafeed_id'] == datafeed_id]
    assert len(matches) == 1, result
    return matches[0]


def call(es, method, *parts, **params):
    """A request of someone else (not logged): returns its HTTP status."""
    return es.call(method, es.ml_path(*parts), params=params or None)[0]


def cluster(es, **feeds):
    """Datafeeds by id (``df_a`` is ``df-a``): (job_id, job_state, datafeed_state), through the public APIs. Transient
    states (an opening job, a starting or stopping datafeed) are set up last, each by a request whose wait runs out
    at once (ES answers 408/500 and goes on), so that no later set-up step lets time move them on."""
    feeds = dict((df_id.replace('_', '-'), spec) for df_id, spec in feeds.items())
    job_states = dict((job_id, job_state) for job_id, job_state, _df_state in feeds.values())
    for job_id, job_state in sorted(job_states.items()):
        es.add_job(job_id, 'closed' if job_state == 'opening' else job_state)
    for df_id, (job_id, _job_state, df_state) in sorted(feeds.items()):
        es.put_datafeed(df_id, job_id)
        if df_state in ('started', 'stopping'):
            es.start_datafeed(df_id)
    for job_id, job_state in sorted(job_states.items()):
        if job_state == 'opening':
            assert call(es, 'POST', 'anomaly_detectors', job_id, '_open', timeout='0s') == 408
    for df_id, (_job_id, _job_state, df_state) in sorted(feeds.items()):
        if df_state == 'starting':
            assert call(es, 'POST', 'datafeeds', df_id, '_start', timeout='0s') == 500
        elif df_state == 'stopping':
            assert call(es, 'POST', 'datafeeds', df_id, '_stop', timeout='0s') == 500
    return es


def racing_client(es, method, suffix, race):
    """A client whose first ``method`` request to a path ending in ``suffix`` is preceded by ``race()``."""
    pending = [True]

    def opener(url, **kwargs):
        if pending and kwargs.get('method') == method and url.split('?')[0].endswith(suffix):
            pending.pop()
            race()
        return es.opener(url, **kwargs)

    return es.client(opener=opener)


def mutations(es):
    return [(r['method'], r['path']) for r in es.mutating_requests()]


def gets(es, part):
    return [r for r in es.requests() if r['method'] == 'GET' and part in r['path']]


def feeds(es):
    return es.state()['datafeeds']


def slow(version='8.19.3', **timings):
    return dict(version=version, timings=Timings(**timings))


# -- stopped ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_stop_sends_one_request_for_every_running_datafeed(es):
    cluster(es, df_a=('a', 'opened', 'started'), df_b=('b', 'opened', 'starting'), df_c=('c', 'closed', 'stopped'))
    result = converge(es, 'stopped')
    assert result['changed'] is True
    assert mutations(es) == [('POST', es.ml_path('datafeeds', 'df-a,df-b', '_stop'))]
    assert es.mutating_requests()[0]['query'] == {'timeout': '5m'}
    assert feed(result, 'df-a') == dict(datafeed_id='df-a', job_id='a', state_before='started', state_after='stopped',
                                        changed=True, actions=['stop'])
    assert feed(result, 'df-b')['state_before'] == 'starting'
    assert feed(result, 'df-c')['changed'] is False
    assert result['msg'] == 'moved 2 of 3 datafeeds to stopped'
    assert feeds(es) == {'df-a': 'stopped', 'df-b': 'stopped', 'df-c': 'stopped'}


@pytest.mark.parametrize('es, param', [('6.8.23', 'allow_no_datafeeds'), ('7.9.3', 'allow_no_datafeeds'),
                                       ('7.10.2', 'allow_no_match'), ('9.1.5', 'allow_no_match')], indirect=['es'])
def test_reads_name_allow_no_match_per_version(es, param):
    cluster(es, df_a=('a', 'opened', 'started'))
    converge(es, 'stopped', ids=['df-*'], allow_no_match=False)
    reads = gets(es, '/datafeeds/')
    assert reads and all(r['query'] == {param: 'false'} and r['status'] == 200 for r in reads)


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_stop_when_all_stopped_sends_nothing(es):
    cluster(es, df_a=('a', 'closed', 'stopped'), df_b=('b', 'closed', 'stopped'))
    result = converge(es, 'stopped', ids=['df-a,df-b'])
    assert result['changed'] is False
    assert es.mutating_requests() == []
    assert result['msg'] == 'all 2 datafeeds already stopped'
    # nothing to move: neither upgrade mode nor job states are read
    assert [r for r in es.requests() if r['path'].endswith('/info') or 'anomaly_detectors' in r['path']] == []


def test_stop_check_mode_predicts_and_leaves_server_alone(es):
    cluster(es, df_a=('a', 'opened', 'started'))
    result = converge(es, 'stopped', check_mode=True, diff=True)
    assert result['changed'] is True
    assert es.mutating_requests() == []
    assert feeds(es) == {'df-a': 'started'}
    assert result['diff'] == {'before': {'df-a': 'started'}, 'after': {'df-a': 'stopped'}}
    assert result['msg'] == 'would move 1 of 1 datafeeds to stopped'


@pytest.mark.parametrize('es', [slow(stop_seconds=600)], indirect=True)
def test_force_stop_passes_force_and_includes_stopping_datafeeds(es):
    cluster(es, df_a=('a', 'opened', 'stopping'))
    result = converge(es, 'stopped', force=True, timeout=20)
    last = es.requests()[-1]
    assert (last['method'], last['path'], last['query']) == ('POST', '/_ml/datafeeds/df-a/_stop',
                                                             {'timeout': '20s', 'force': 'true'})
    assert feed(result, 'df-a')['state_after'] == 'stopped'
    assert feeds(es) == {'df-a': 'stopped'}   # a force stop does not wait for the 600s graceful stop


@pytest.mark.parametrize('es', [slow(stop_seconds=60)], indirect=True)
def test_stop_timeout_from_elasticsearch_is_explained(es):
    cluster(es, df_a=('a', 'opened', 'started'))
    result = converge(es, 'stopped', timeout=20)
    assert result['failed'] is True
    assert result['msg'].startswith('timed out after 20s waiting for Elasticsearch to stop datafeed df-a')
    assert 'force: true' in result['msg']
    assert result['failed_datafeeds'] == ['df-a']
    assert [r['status'] for r in es.mutating_requests()] == [500]   # ES's "Timed out when waiting for persistent tasks"


def test_unknown_exact_id_is_a_clear_404(es):
    cluster(es, df_a=('a', 'opened', 'started'))
    result = converge(es, 'stopped', ids=['df-a', 'nope'])
    assert result['failed'] is True
    assert result['status'] == 404
    assert 'No datafeed with id [nope] exists' in result['msg']
    assert es.mutating_requests() == []


def test_pattern_matching_nothing_is_fine_unless_allow_no_match_false(es):
    cluster(es, df_a=('a', 'opened', 'started'))
    result = converge(es, 'stopped', ids=['other-*'])
    assert result['changed'] is False and result['datafeeds'] == [] and result['msg'] == 'no datafeeds matched'
    result = converge(es, 'stopped', ids=['other-*'], allow_no_match=False)
    assert result['failed'] is True and result['status'] == 404


# -- started ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_start_sends_one_request_per_stopped_datafeed_only(es):
    cluster(es, df_a=('a', 'opened', 'stopped'), df_b=('b', 'opening', 'stopped'), df_c=('c', 'opened', 'started'))
    result = converge(es, 'started', start='now-1d', end='now', timeout=60)
    assert mutations(es) == [('POST', es.ml_path('datafeeds', 'df-a', '_start')),
                             ('POST', es.ml_path('datafeeds', 'df-b', '_start'))]
    assert all(r['query'] == {'timeout': '1m', 'start': 'now-1d', 'end': 'now'} and r['status'] == 200
               for r in es.mutating_requests())
    assert [feed(result, i)['changed'] for i in ('df-a', 'df-b', 'df-c')] == [True, True, False]
    assert feed(result, 'df-a')['actions'] == ['start']
    # the job states were read in one request, for the jobs whose datafeeds start
    assert [r['path'] for r in es.requests() if 'anomaly_detectors' in r['path']] == [
        es.ml_path('anomaly_detectors', 'a,b', '_stats')]
    assert feeds(es) == {'df-a': 'started', 'df-b': 'started', 'df-c': 'started'}


def test_start_never_sends_start_to_started_or_starting(es):
    cluster(es, df_a=('a', 'opened', 'started'))
    result = converge(es, 'started')
    assert result['changed'] is False and es.mutating_requests() == []
    assert result['msg'] == 'datafeed df-a already started'


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_start_with_closed_job_fails_naming_job_and_module(es):
    cluster(es, df_a=('job-a', 'closed', 'stopped'), df_b=('job-b', 'opened', 'stopped'))
    for check_mode in (True, False):
        result = converge(es, 'started', check_mode=check_mode)
        assert result['failed'] is True
        assert result['msg'] == ('cannot start datafeed df-a because its job job-a is closed; '
                                 'open it first with esops.jobs.ml_job_state (state: opened)')
        assert result['failed_datafeeds'] == ['df-a']
        assert es.mutating_requests() == []  # nothing started, not even df-b: the task fails as a whole
        assert es.state()['ml_jobs']['job-a'] == 'closed'  # and the job is never opened behind the user's back


def test_start_with_failed_job_advises_force_close(es):
    cluster(es, df_a=('a', 'failed', 'stopped'))
    result = converge(es, 'started')
    assert 'its job a is failed; force-close it' in result['msg']


def test_starting_datafeed_is_waited_for_not_restarted(es):
    cluster(es, df_a=('a', 'opened', 'starting'))
    result = converge(es, 'started')
    assert es.mutating_requests() == []
    assert feed(result, 'df-a')['actions'] == ['wait']
    assert feed(result, 'df-a')['state_after'] == 'started'


def test_stopping_datafeed_is_waited_for_then_started(es):
    cluster(es, df_a=('a', 'opened', 'stopping'))
    result = converge(es, 'started')
    assert mutations(es) == [('POST', '/_ml/datafeeds/df-a/_start')]
    assert feed(result, 'df-a')['state_before'] == 'stopping'
    assert feed(result, 'df-a')['state_after'] == 'started'


@pytest.mark.parametrize('es', [slow(stop_seconds=600)], indirect=True)
def test_stopping_datafeed_that_never_stops_fails_without_start(es):
    cluster(es, df_a=('a', 'opened', 'stopping'))
    result = converge(es, 'started', timeout=5)
    assert result['failed'] is True
    assert 'still stopping when the timeout ran out' in result['msg']
    assert es.mutating_requests() == []


def test_start_race_already_started_is_not_a_failure(es):
    cluster(es, df_a=('a', 'opened', 'stopped'))
    client = racing_client(es, 'POST', '/_start', lambda: es.start_datafeed('df-a'))
    result = converge(es, 'started', client=client)
    assert 'failed' not in result
    assert feed(result, 'df-a')['state_after'] == 'started'
    assert [r['status'] for r in es.mutating_requests()] == [409]   # ES's "already been started"


def test_start_race_job_closed_meanwhile_is_explained(es):
    cluster(es, df_a=('a', 'opened', 'stopped'))
    client = racing_client(es, 'POST', '/_start', lambda: es.close_job('a'))
    result = converge(es, 'started', client=client)
    assert result['failed'] is True
    assert 'cannot start datafeed [df-a] because job [a] is closed' in result['msg']
    assert 'esops.jobs.ml_job_state (state: opened)' in result['msg']


def test_datafeed_that_stops_again_while_waiting_fails_unless_end_was_given(es):
    cluster(es, df_a=('a', 'opened', 'starting'))

    def someone_stops_it(seconds):
        es.clock.sleep(seconds)
        call(es, 'POST', 'datafeeds', 'df-a', '_stop', force='true')

    result = converge(es, 'started', sleep=someone_stops_it)
    assert result['failed'] is True and 'stopped again while waiting' in result['msg']
    assert call(es, 'POST', 'datafeeds', 'df-a', '_start', timeout='0s') == 500   # starting again
    result = converge(es, 'started', end='now', sleep=someone_stops_it)
    assert 'failed' not in result


def test_wait_false_does_not_poll_a_starting_datafeed(es):
    cluster(es, df_a=('a', 'opened', 'starting'))
    sleeps = []
    start = es.clock.monotonic()
    result = converge(es, 'started', wait=False, sleep=sleeps.append)
    assert sleeps == [] and es.clock.monotonic() == start
    assert feed(result, 'df-a')['state_after'] == 'starting'


# -- absent -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_absent_deletes_stopped_datafeeds_one_by_one(es):
    cluster(es, df_a=('a', 'closed', 'stopped'), df_b=('b', 'closed', 'stopped'))
    result = converge(es, 'absent', ids=['df-*'], diff=True)
    assert mutations(es) == [('DELETE', es.ml_path('datafeeds', 'df-a')), ('DELETE', es.ml_path('datafeeds', 'df-b'))]
    assert feeds(es) == {}
    assert feed(result, 'df-a')['state_after'] == 'absent'
    assert result['diff'] == {'before': {'df-a': 'stopped', 'df-b': 'stopped'}, 'after': {}}
    again = converge(es, 'absent', ids=['df-*'])
    assert again['changed'] is False and again['datafeeds'] == []


def test_absent_refuses_started_datafeed_without_force(es):
    cluster(es, df_a=('a', 'opened', 'started'), df_b=('b', 'closed', 'stopped'))
    result = converge(es, 'absent')
    assert result['failed'] is True
    assert result['msg'] == 'datafeed df-a is started; stop it first (state: stopped) or delete it with force: true'
    assert es.mutating_requests() == []


def test_absent_with_force_deletes_started_with_force_and_stopped_without(es):
    cluster(es, df_a=('a', 'opened', 'started'), df_b=('b', 'closed', 'stopped'))
    converge(es, 'absent', force=True)
    deletes = [(r['path'], r['query'], r['status']) for r in es.mutating_requests()]
    assert deletes == [('/_ml/datafeeds/df-a', {'force': 'true'}, 200), ('/_ml/datafeeds/df-b', {}, 200)]
    assert feeds(es) == {}


def test_absent_missing_exact_id_is_already_absent(es):
    cluster(es, df_a=('a', 'closed', 'stopped'))
    result = converge(es, 'absent', ids=['gone'])
    assert result['changed'] is False and es.mutating_requests() == []


def test_absent_pattern_with_allow_no_match_false_fails(es):
    cluster(es, df_a=('a', 'closed', 'stopped'))
    result = converge(es, 'absent', ids=['zzz-*'], allow_no_match=False)
    assert result['failed'] is True and result['msg'] == 'no datafeed matches zzz-* (allow_no_match is false)'


def test_absent_delete_race_404_counts_as_deleted(es):
    cluster(es, df_a=('a', 'closed', 'stopped'))
    client = racing_client(es, 'DELETE', '/datafeeds/df-a', lambda: call(es, 'DELETE', 'datafeeds', 'df-a'))
    result = converge(es, 'absent', ids=['df-a'], client=client)
    assert 'failed' not in result and feed(result, 'df-a')['state_after'] == 'absent'
    assert [r['status'] for r in es.mutating_requests()] == [404]


def test_absent_delete_409_is_explained(es):
    # Someone starts the datafeed between the read and the delete: ES's 409 "while its status is started".
    cluster(es, df_a=('a', 'opened', 'stopped'))
    client = racing_client(es, 'DELETE', '/datafeeds/df-a', lambda: es.start_datafeed('df-a'))
    result = converge(es, 'absent', ids=['df-a'], client=client)
    assert result['failed'] is True and 'use force: true' in result['msg']
    assert 'Cannot delete datafeed [df-a] while its status is started' in result['msg']
    assert feeds(es) == {'df-a': 'started'}


# -- upgrade mode -------------------------------------------------------------------------------------

@pytest.mark.parametrize('es', VERSIONS, indirect=True)
@pytest.mark.parametrize('desired,state', [('stopped', 'started'), ('started', 'stopped'), ('absent', 'stopped')])
def test_upgrade_mode_fails_fast_pointing_at_the_module(es, desired, state):
    cluster(es, df_a=('a', 'opened', state))
    es.set_upgrade_mode(True)
    result = converge(es, desired, check_mode=(desired == 'absent'))
    if es.version == '6.8.23':
        # Before 7.8 Elasticsearch refuses no datafeed action in upgrade mode (only opening a job).
        assert 'failed' not in result and result['changed'] is True
        return
    assert result['failed'] is True
    assert 'ML upgrade mode is enabled' in result['msg'] and 'esops.jobs.ml_upgrade_mode (enabled: false)' in result['msg']
    assert es.mutating_requests() == []


def test_upgrade_mode_with_nothing_to_do_is_fine(es):
    cluster(es, df_a=('a', 'opened', 'started'))
    es.set_upgrade_mode(True)
    result = converge(es, 'started')
    assert result['changed'] is False and 'failed' not in result


def test_upgrade_mode_429_during_apply_is_explained_not_retried_forever(es):
    # Upgrade mode is enabled between the adapter's read and its stop: ES's 429 (MlUpgradeModeActionFilter).
    cluster(es, df_a=('a', 'opened', 'started'))
    client = racing_client(es, 'POST', '/_stop', lambda: es.set_upgrade_mode(True))
    result = converge(es, 'stopped', client=client)
    assert result['failed'] is True
    assert result['msg'].startswith('ML upgrade mode is enabled')
    assert 'Cannot perform cluster:admin/xpack/ml/datafeed/stop action while upgrade mode is enabled' in result['msg']
    # upgrade mode lasts until an operator ends it: the 429 is not sent again (_errors.worth_retrying)
    assert [r['status'] for r in es.mutating_requests()] == [429]
    assert feeds(es) == {'df-a': 'started'}


# -- helpers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('pattern,value,expected', [
    ('_all', 'x', True), ('*', 'x', True), ('df-*', 'df-a', True), ('df-*', 'xdf-a', False),
    ('*-web-*', 'df-web-1', True), ('a.b', 'axb', False), ('exact', 'exact', True), ('exact', 'exact2', False)])
def test_simple_match(pattern, value, expected):
    assert simple_match(pattern, value) is expected


def test_bad_desired_state_is_rejected():
    with pytest.raises(ValueError):
        MlDatafeedAdapter(None, 'opened', ['x'])


# -- datafeed_id lists too long for one request line ---------------------------------------------------

LONG_IDS = ['datafeed-long-%02d-%s' % (i, 'x' * 45) for i in range(70)]


def long_cluster(es, df_state='started'):
    specs = dict((df_id.replace('-', '_'), (df_id.replace('datafeed-', 'job-'), 'opened', df_state)) for df_id in LONG_IDS)
    specs['datafeed_other'] = ('job-other', 'opened', df_state)
    return cluster(es, **specs)


@pytest.mark.parametrize('es', ['6.8.23', '8.19.3'], indirect=True)
def test_a_long_list_is_read_once_and_stopped_in_request_lines_sent_together(es):
    long_cluster(es)
    result = converge(es, 'stopped', ids=LONG_IDS)
    assert result['changed'] is True and len(result['datafeeds']) == 70
    assert [r['path'] for r in gets(es, '/datafeeds')] == [es.ml_path('datafeeds', '_all', '_stats'),
                                                           es.ml_path('datafeeds', '_all')]
    stops = [path for _method, path in mutations(es)]
    assert len(stops) == 2 and all(path.endswith('/_stop') for path in stops)
    assert sorted(df for path in stops for df in path.split('/')[-2].split(',')) == LONG_IDS
    assert all(r['status'] == 200 for r in es.requests())
    state = feeds(es)
    assert state['datafeed-other'] == 'started'
    assert all(state[df_id] == 'stopped' for df_id in LONG_IDS)


def test_a_long_list_resolves_patterns_like_elasticsearch(es):
    long_cluster(es)
    cluster(es, datafeed_extra_1=('job-extra-1', 'opened', 'started'))
    result = converge(es, 'stopped', ids=LONG_IDS + ['datafeed-extra-*', 'nothing-*'])
    assert sorted(df['datafeed_id'] for df in result['datafeeds']) == sorted(LONG_IDS + ['datafeed-extra-1'])
    assert feeds(es)['datafeed-other'] == 'started'


@pytest.mark.parametrize('extra, allow_no_match', [(['datafeed-missing'], True), (['nothing-*'], False)])
def test_a_long_list_with_an_unknown_id_fails_like_elasticsearch_and_sends_nothing(es, extra, allow_no_match):
    long_cluster(es)
    result = converge(es, 'stopped', ids=LONG_IDS + extra, allow_no_match=allow_no_match)
    assert result['failed'] is True
    assert 'No datafeed with id [%s] exists' % extra[0] in result['msg']
    assert es.mutating_requests() == []


def test_a_long_list_to_start_reads_the_jobs_without_a_long_line(es):
    long_cluster(es, df_state='stopped')
    result = converge(es, 'started', ids=LONG_IDS)
    assert result['changed'] is True
    state = feeds(es)
    assert all(state[df_id] == 'started' for df_id in LONG_IDS)
    assert state['datafeed-other'] == 'stopped'
    assert [r['path'] for r in gets(es, '/anomaly_detectors')] == ['/_ml/anomaly_detectors/_all/_stats']
