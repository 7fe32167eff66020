# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollup job selection, planning for every (state, desired) pair, the wait rules, and apply against the emulator.

Validation, selector matching and planning over given facts are pure. Everything that sends a request runs the
collection's real client against the in-process emulator (tests/unit/conftest.py) on its manual clock: states come
from ``es.state()``, requests from ``es.requests()``, and waits advance virtual time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._convergence import ABSENT, Converger, PlanError, StateError
from ansible_collections.esops.jobs.plugins.module_utils._rollup_job import (
    RollupJobAdapter, RollupJobReader, job_facts, resolve_selector, validate_rollup_ids)
from ansible_collections.esops.jobs.tests.emulator.rollup import DEPRECATION
from ansible_collections.esops.jobs.tests.emulator.state import Timings
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeModule

#: one per rollup API generation: 6.8 (_xpack/rollup, a start of a started job is a 500), 7.x, 8.15+ (new jobs need
#: rollup usage, start is idempotent), 9.x (deprecation warning, a stop wait that runs out is a 429)
VERSIONS = ('6.8.23', '7.17.28', '8.19.3', '9.1.5')


def adapter_for(es, desired, tokens, client=None, **kwargs):
    return RollupJobAdapter(client or es.client(), desired, tokens, poller=es.poller(), **kwargs)


def mutating(es):
    """The mutating requests the code under test sent, as 'METHOD <path after the rollup base>'."""
    base = es.rollup_path()
    return ['%s %s' % (r['method'], r['path'][len(base):]) for r in es.mutating_requests()]


def in_state(es, job_id, state):
    """Bring rollup job `job_id` (created with put_rollup_job) to `state` through the public APIs: a started job
    indexes once its cron fires (forced here), and a job stopped while indexing is `stopping` until its running
    page ends (Timings.stop_seconds)."""
    es.put_rollup_job(job_id)
    if state in ('started', 'indexing', 'stopping'):
        es.start_rollup_job(job_id)
    if state in ('indexing', 'stopping'):
        es.force_rollup_indexing(job_id)
    if state == 'stopping':
        es.stop_rollup_job(job_id)
    assert es.state()['rollup_jobs'][job_id] == state


def other_actor(es, before):
    """An opener that runs ``before(method, path)`` (another client's requests, through es.call) ahead of each
    request of the code under test: what a concurrent actor on a real cluster can do between two requests."""
    def opener(url, method='GET', **kwargs):
        before(method, url.split('9200', 1)[1].split('?')[0])
        return es.opener(url, method=method, **kwargs)
    return opener


# ------------------------------------------------------------------------------------- validation

@pytest.mark.parametrize('tokens,expected', [
    (['a'], ['a']),
    (['a,b', 'c'], ['a', 'b', 'c']),
    ([' a , b '], ['a', 'b']),
    (['a', 'a,b'], ['a', 'b']),
    (['*'], ['_all']),
    (['_all'], ['_all']),
    (['nightly-*', 'x*y'], ['nightly-*', 'x*y']),
    (['Upper.Case_ids/ok'], ['Upper.Case_ids/ok']),  # ES only requires rollup ids to be non-empty
])
def test_validate_accepts_ids_lists_and_patterns(tokens, expected):
    assert validate_rollup_ids(tokens, 'job_id') == expected


@pytest.mark.parametrize('tokens,fragment', [
    ([], 'give at least one rollup job id'),
    ([''], 'empty id;'),
    (['a,'], "empty id in 'a,'"),
    ([None], 'empty id;'),
    (['a b'], "'a b' is not a valid rollup job id"),
    (['a\nb'], 'whitespace or control characters'),
    (['_all', 'x'], '_all (or *) selects every rollup job'),
    (['*', 'x'], '_all (or *) selects every rollup job'),
])
def test_validate_refuses_malformed_selectors_naming_the_option(tokens, fragment):
    with pytest.raises(ValueError) as info:
        validate_rollup_ids(tokens, 'job_id')
    assert str(info.value).startswith('job_id: ')
    assert fragment in str(info.value)


# --------------------------------------------------------------------------------------- matching

EXISTING = ['web-b', 'db-1', 'web-a', 'web.c', 'x']


@pytest.mark.parametrize('tokens,selected,missing', [
    (['_all'], ['db-1', 'web-a', 'web-b', 'web.c', 'x'], []),
    (['web-*'], ['web-a', 'web-b'], []),
    (['web*'], ['web-a', 'web-b', 'web.c'], []),
    (['*-*'], ['db-1', 'web-a', 'web-b'], []),
    (['x', 'web-*', 'x'], ['x', 'web-a', 'web-b'], []),
    (['nope-*'], [], []),
    (['web-b', 'gone', 'db-1', 'also-gone'], ['web-b', 'db-1'], ['gone', 'also-gone']),
    (['web.*'], ['web.c'], []),  # '.' is literal, not a regex wildcard
    (['w?b-a'], [], ['w?b-a']),  # only * is a wildcard, as in ES
])
def test_resolve_selector(tokens, selected, missing):
    assert resolve_selector(tokens, EXISTING) == (selected, missing)


def test_job_facts_keeps_what_es_returned():
    wrapper = {'config': {'id': 'a', 'cron': '* * * * * ?'}, 'status': {'job_state': 'indexing', 'upgraded_doc_id': True},
               'stats': {'pages_processed': 3}}
    assert job_facts(wrapper) == ('a', {'state': 'indexing', 'config': wrapper['config'], 'status': wrapper['status'],
                                        'stats': {'pages_processed': 3}})


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_reader_reads_all_jobs_once_per_read_on_the_versioned_path(es):
    es.put_rollup_job('b')
    es.start_rollup_job('b')
    es.put_rollup_job('a')
    warnings = []
    reader = RollupJobReader(es.client(warn=warnings.append), ['b', 'a', 'zz'])
    current = reader.read()
    assert list(current) == ['b', 'a']
    assert current['b']['state'] == 'started' and current['a']['state'] == 'stopped'
    assert current['a']['config']['rollup_index'] == 'sensor_rollup'
    assert reader.missing == ['zz']
    assert [(r['method'], r['path']) for r in es.requests()] == [('GET', '/'), ('GET', es.rollup_path('job', '_all'))]
    # 9.x deprecates rollup on every rollup call (a Warning header); the client surfaces it
    assert warnings == (['Elasticsearch: ' + DEPRECATION] if es.personality.major >= 9 else [])


def test_reader_selection_is_fixed_by_the_first_read(es):
    es.put_rollup_job('web-a')
    reader = RollupJobReader(es.client(), ['web-*'])
    assert list(reader.read()) == ['web-a']
    es.put_rollup_job('web-b')
    assert list(reader.read()) == ['web-a']  # a job created while we wait does not join the run


# ---------------------------------------------------------------------------------------- planning

STATES = ['started', 'indexing', 'stopping', 'stopped', 'aborting']
# (state, desired, force) -> actions, or the error text the plan must raise
PLAN = {
    ('started', 'stopped'): ['stop'],
    ('indexing', 'stopped'): ['stop'],
    ('stopping', 'stopped'): ['stop'],
    ('stopped', 'stopped'): [],
    ('aborting', 'stopped'): 'rollup job j is aborting (it is being deleted); it cannot be stopped',
    ('started', 'started'): [],
    ('indexing', 'started'): [],
    ('stopping', 'started'): ['start'],
    ('stopped', 'started'): ['start'],
    ('aborting', 'started'): 'rollup job j is aborting (it is being deleted); it cannot be started',
    ('stopped', 'absent'): ['delete'],
    ('aborting', 'absent'): ['await_removal'],
}


@pytest.mark.parametrize('state', STATES)
@pytest.mark.parametrize('desired', ['stopped', 'started', 'absent'])
@pytest.mark.parametrize('force', [False, True])
def test_plan_for_every_state_pair(es, state, desired, force):
    adapter = adapter_for(es, desired, ['j'], force=force)
    current = OrderedDict([('j', {'state': state})])
    expected = PLAN.get((state, desired))
    if expected is None:  # absent for a job that is not stopped
        expected = ['stop', 'delete'] if force else (
            'rollup job j is %s; only a stopped rollup job can be deleted: stop it first, '
            'or set force=true to stop and then delete it' % state)
    if isinstance(expected, list):
        steps = adapter.plan(current)
        assert [s.action for s in steps] == expected
        assert all(s.object_id == 'j' for s in steps)
        if expected:
            assert steps[0].before == state
            assert steps[-1].after == (ABSENT if desired == 'absent' else desired)
    else:
        with pytest.raises(PlanError) as info:
            adapter.plan(current)
        assert info.value.message == expected
        assert info.value.job_ids == ['j']


def test_plan_reports_every_refused_job_at_once(es):
    adapter = adapter_for(es, 'absent', ['_all'])
    current = OrderedDict([('a', {'state': 'started'}), ('b', {'state': 'stopped'}), ('c', {'state': 'indexing'})])
    with pytest.raises(PlanError) as info:
        adapter.plan(current)
    assert info.value.job_ids == ['a', 'c']
    assert 'rollup job a is started' in info.value.message and 'rollup job c is indexing' in info.value.message


def test_plan_refuses_an_unknown_state(es):
    adapter = adapter_for(es, 'stopped', ['j'])
    with pytest.raises(PlanError) as info:
        adapter.plan(OrderedDict([('j', {'state': 'paused'})]))
    assert info.value.message == "rollup job j reports an unknown state 'paused'"


# ------------------------------------------------------------------------------------------ settled

@pytest.mark.parametrize('desired,facts,expected', [
    ('stopped', {'state': 'stopped'}, True),
    ('stopped', {'state': 'stopping'}, False),
    ('stopped', {'state': 'started'}, False),
    ('started', {'state': 'started'}, True),
    ('started', {'state': 'indexing'}, True),
    ('started', {'state': 'stopped'}, False),
    ('absent', None, True),
    ('absent', {'state': 'stopped'}, False),
    ('absent', {'state': 'aborting'}, False),
])
def test_settled(es, desired, facts, expected):
    assert adapter_for(es, desired, ['j']).settled('j', facts) is expected


@pytest.mark.parametrize('desired,facts,message', [
    ('stopped', None, 'rollup job j was deleted while waiting for it to be stopped'),
    ('started', {'state': 'aborting'}, 'rollup job j is aborting (it is being deleted); it cannot be started'),
])
def test_settled_raises_when_the_state_can_never_be_reached(es, desired, facts, message):
    with pytest.raises(StateError) as info:
        adapter_for(es, desired, ['j']).settled('j', facts)
    assert info.value.message == message


# -------------------------------------------------------------------------------- converge, end to end

# (state, desired) -> mutating requests (the engine's waits are GETs); absent is run with force
SENT = {
    ('started', 'stopped'): ['POST /job/j/_stop'],
    ('indexing', 'stopped'): ['POST /job/j/_stop'],
    ('stopping', 'stopped'): ['POST /job/j/_stop'],
    ('stopped', 'stopped'): [],
    ('started', 'started'): [],   # never a second start: 6.8 and 7.x answer it with a 500
    ('indexing', 'started'): [],
    ('stopping', 'started'): ['POST /job/j/_start'],   # only once it is stopped: every version refuses a stopping job
    ('stopped', 'started'): ['POST /job/j/_start'],
    ('started', 'absent'): ['POST /job/j/_stop', 'DELETE /job/j'],
    ('indexing', 'absent'): ['POST /job/j/_stop', 'DELETE /job/j'],
    ('stopping', 'absent'): ['POST /job/j/_stop', 'DELETE /job/j'],
    ('stopped', 'absent'): ['DELETE /job/j'],
}


@pytest.mark.parametrize('es', [dict(version=v, timings=Timings(stop_seconds=5)) for v in VERSIONS], indirect=True,
                         ids=VERSIONS)
@pytest.mark.parametrize('state', ['started', 'indexing', 'stopping', 'stopped'])
@pytest.mark.parametrize('desired', ['stopped', 'started', 'absent'])
def test_every_reachable_state_converges_with_the_requests_es_accepts(es, state, desired):
    in_state(es, 'j', state)
    adapter = adapter_for(es, desired, ['j'], force=True)
    with pytest.raises(Exited) as info:
        Converger(FakeModule(), adapter).run(wait=True, timeout=30)
    result = info.value.result
    # `indexing` is a started job running a page: nothing to do for started
    expected = {} if desired == 'absent' else {'j': 'indexing' if (state, desired) == ('indexing', 'started') else desired}
    assert es.state()['rollup_jobs'] == expected
    assert mutating(es) == SENT[(state, desired)]
    assert result['changed'] is bool(SENT[(state, desired)])
    assert [r['status'] for r in es.requests()] == [200] * len(es.requests())
    stops = [r for r in es.mutating_requests() if r['path'].endswith('/_stop')]
    assert all(r['query'].get('wait_for_completion') == 'true' for r in stops)  # ES waits for `stopped` itself


# -------------------------------------------------------------------------------------------- apply

@pytest.mark.parametrize('es', [dict(version=v, timings=Timings(stop_seconds=5)) for v in VERSIONS], indirect=True,
                         ids=VERSIONS)
def test_apply_confirms_waited_stops_and_leaves_unwaited_ones_pending(es):
    in_state(es, 'a', 'started')
    in_state(es, 'b', 'indexing')
    adapter = adapter_for(es, 'stopped', ['_all'])
    deadline = es.clock.monotonic() + 30
    assert sorted(adapter.apply(adapter.plan(adapter.read()), deadline=deadline)) == ['a', 'b']
    assert es.state()['rollup_jobs'] == {'a': 'stopped', 'b': 'stopped'}

    es.start_rollup_job('a')
    es.start_rollup_job('b')
    es.force_rollup_indexing('b')
    es.clear_requests()
    adapter = adapter_for(es, 'stopped', ['_all'], wait=False)
    assert adapter.apply(adapter.plan(adapter.read()), deadline=es.clock.monotonic() + 30) == []
    # Without a wait the stop returns at once: b is still finishing its page, so the engine must read it again.
    assert es.state()['rollup_jobs'] == {'a': 'stopped', 'b': 'stopping'}
    assert [r['query'] for r in es.mutating_requests()] == [{}, {}]


@pytest.mark.parametrize('es', [dict(version='7.17.28', timings=Timings(stop_seconds=30))], indirect=True)
def test_apply_server_wait_uses_the_remaining_budget(es):
    in_state(es, 'a', 'indexing')
    adapter = adapter_for(es, 'stopped', ['a'], timeout=60.0)
    deadline = es.clock.monotonic() + 60
    steps = adapter.plan(adapter.read())
    es.advance(15.5)
    adapter.apply(steps, deadline=deadline)
    stop, = es.mutating_requests()
    assert stop['query'] == {'wait_for_completion': 'true', 'timeout': '45s'}  # whole seconds, rounded up (_time.server_timeout)
    # ES held the request until the running page ended (30s after the stop), on the emulator's clock.
    assert es.state()['rollup_jobs'] == {'a': 'stopped'}
    assert es.clock.monotonic() == pytest.approx(deadline - 60 + 15.5 + 30)


def test_apply_never_asks_es_for_a_wait_below_one_second(es):
    in_state(es, 'a', 'started')
    adapter = adapter_for(es, 'stopped', ['a'])
    deadline = es.clock.monotonic() + 30
    steps = adapter.plan(adapter.read())
    es.advance(100)
    adapter.apply(steps, deadline=deadline)
    assert [r['query']['timeout'] for r in es.mutating_requests()] == ['1s']


@pytest.mark.parametrize('es', [dict(version=v, timings=Timings(stop_seconds=120)) for v in VERSIONS], indirect=True,
                         ids=VERSIONS)
def test_a_stop_that_outlasts_the_server_wait_names_the_job_and_its_state(es):
    in_state(es, 'a', 'indexing')
    adapter = adapter_for(es, 'stopped', ['a'], timeout=10.0)
    with pytest.raises(StateError) as info:
        adapter.apply(adapter.plan(adapter.read()), deadline=es.clock.monotonic() + 10)
    assert info.value.message == 'rollup job a did not stop within 10s; last state: stopping'
    assert info.value.job_ids == ['a']
    # ES's own timeout answer (500, 429 from 9.0) is final: the stop is not sent again.
    stop, = es.mutating_requests()
    assert stop['status'] == (429 if es.personality.major >= 9 else 500)
    assert es.state()['rollup_jobs'] == {'a': 'stopping'}


@pytest.mark.parametrize('es', [dict(version=v, timings=Timings(stop_seconds=5)) for v in VERSIONS], indirect=True,
                         ids=VERSIONS)
def test_force_delete_retries_a_delete_that_met_a_still_stopping_job(es):
    in_state(es, 'a', 'started')

    done = []

    def restart_between_stop_and_delete(method, path):
        # Another actor starts the job again between our stop and our delete, it indexes, and it is stopped
        # without a wait: our delete meets a `stopping` job (ES answers 500 task_failures).
        if method == 'DELETE' and not done:
            done.append(path)
            es.start_rollup_job('a')
            es.force_rollup_indexing('a')
            es.stop_rollup_job('a')

    adapter = adapter_for(es, 'absent', ['a'], client=es.client(opener=other_actor(es, restart_between_stop_and_delete)),
                          force=True, wait=False)
    assert adapter.apply(adapter.plan(adapter.read()), deadline=es.clock.monotonic() + 30) == ['a']
    assert mutating(es) == ['POST /job/a/_stop', 'DELETE /job/a', 'DELETE /job/a']
    assert [r['status'] for r in es.mutating_requests()] == [200, 500, 200]
    assert es.state()['rollup_jobs'] == {}


def test_force_delete_of_a_still_running_job_names_the_race(es):
    in_state(es, 'a', 'started')

    def restart(method, path):
        if method == 'DELETE':
            es.start_rollup_job('a')   # started again after our stop: a delete cannot pass, force or not

    adapter = adapter_for(es, 'absent', ['a'], client=es.client(opener=other_actor(es, restart)), force=True)
    with pytest.raises(StateError) as info:
        adapter.apply(adapter.plan(adapter.read()), deadline=es.clock.monotonic() + 30)
    assert info.value.message.startswith('rollup job a cannot be deleted: HTTP 500 illegal_state_exception: '
                                         'Could not delete job [a] because indexer state is [STARTED].')
    assert info.value.message.endswith('(it was started again after it was read; run again, with force=true to stop it first)')
    assert es.state()['rollup_jobs'] == {'a': 'started'}


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_force_delete_of_a_job_that_vanished_during_the_stop_is_done(es):
    in_state(es, 'a', 'started')

    def delete_first(method, path):
        if method == 'POST' and 'a' in es.state()['rollup_jobs']:
            es.stop_rollup_job('a')
            es.ok('DELETE', es.rollup_path('job', 'a'))

    adapter = adapter_for(es, 'absent', ['a'], client=es.client(opener=other_actor(es, delete_first)), force=True)
    assert adapter.apply(adapter.plan(adapter.read()), deadline=es.clock.monotonic() + 30) == ['a']
    assert mutating(es) == ['POST /job/a/_stop']
    assert es.mutating_requests()[0]['status'] == 404
    assert es.state()['rollup_jobs'] == {}


def test_plan_refuses_missing_ids_before_any_change(es):
    in_state(es, 'a', 'started')
    adapter = adapter_for(es, 'stopped', ['a', 'gone'])
    with pytest.raises(Failed) as info:
        Converger(FakeModule(), adapter).run(wait=True, timeout=30)
    assert info.value.result['msg'] == 'rollup job not found: gone'
    assert es.mutating_requests() == [] and es.state()['rollup_jobs'] == {'a': 'started'}


@pytest.mark.parametrize('es', [dict(version=v, timings=Timings(stop_seconds=120)) for v in VERSIONS], indirect=True,
                         ids=VERSIONS)
def test_a_start_waits_for_a_stopping_job_within_the_timeout_only(es):
    in_state(es, 'a', 'stopping')
    adapter = adapter_for(es, 'started', ['a'], timeout=10.0)
    with pytest.raises(Failed) as info:
        Converger(FakeModule(), adapter).run(wait=True, timeout=10)
    assert info.value.result['msg'] == 'rollup job a did not stop within 10s before it can be started; last state: stopping'
    assert es.mutating_requests() == []   # ES refuses to start a stopping job: nothing was sent
    assert es.state()['rollup_jobs'] == {'a': 'stopping'}


@pytest.mark.parametrize('es', [dict(version=v, security=True) for v in VERSIONS], indirect=True, ids=VERSIONS)
def test_a_manage_rollup_only_user_is_served_on_the_right_paths(es):
    # rollup_admin holds manage_rollup only: GET / (monitor) and ML info (monitor_ml) are refused, so the rollup
    # routes tell the API generation.
    in_state(es, 'a', 'started')
    adapter = adapter_for(es, 'stopped', ['a'], client=es.client(username='rollup_admin', password='changeme'))
    with pytest.raises(Exited):
        Converger(FakeModule(), adapter).run(wait=True, timeout=30)
    assert es.state()['rollup_jobs'] == {'a': 'stopped'}
    stop, = es.mutating_requests()
    assert stop['path'] == es.rollup_path('job', 'a', '_stop')
    assert stop['query']['wait_for_completion'] == 'true'   # 6.x is taken as 6.8, whose stop can wait
