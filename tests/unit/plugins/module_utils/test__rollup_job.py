# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollup job selection, planning for every (state, desired) pair, and the wait rules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchClient
from ansible_collections.esops.jobs.plugins.module_utils._convergence import ABSENT, PlanError, Poller, StateError
from ansible_collections.esops.jobs.plugins.module_utils._rollup_job import (
    RollupJobAdapter, RollupJobReader, job_facts, resolve_selector, validate_rollup_ids)
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_rollup_es import FakeClock, FakeRollupEs


def client_for(es, clock=None):
    clock = clock or FakeClock()
    return ElasticsearchClient('http://es.test:9200', opener=es, sleep=clock.sleep)


def adapter_for(es, desired, tokens, clock=None, **kwargs):
    clock = clock or FakeClock()
    return RollupJobAdapter(client_for(es, clock), desired, tokens, poller=Poller(clock=clock, sleep=clock.sleep), **kwargs)


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


@pytest.mark.parametrize('version,path', [('6.8.23', '/_xpack/rollup/job/_all'), ('7.0.0', '/_rollup/job/_all'),
                                          ('9.1.5', '/_rollup/job/_all')])
def test_reader_reads_all_jobs_once_per_read_on_the_versioned_path(version, path):
    es = FakeRollupEs(version).add('b', 'started').add('a')
    reader = RollupJobReader(client_for(es), ['b', 'a', 'zz'])
    current = reader.read()
    assert list(current) == ['b', 'a']
    assert current['b']['state'] == 'started'
    assert reader.missing == ['zz']
    assert es.requests() == ['GET /', 'GET ' + path]


def test_reader_selection_is_fixed_by_the_first_read():
    es = FakeRollupEs('8.19.3').add('web-a')
    reader = RollupJobReader(client_for(es), ['web-*'])
    assert list(reader.read()) == ['web-a']
    es.add('web-b')
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
def test_plan_for_every_state_pair(state, desired, force):
    adapter = adapter_for(FakeRollupEs(), desired, ['j'], force=force)
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


def test_plan_reports_every_refused_job_at_once():
    adapter = adapter_for(FakeRollupEs(), 'absent', ['_all'])
    current = OrderedDict([('a', {'state': 'started'}), ('b', {'state': 'stopped'}), ('c', {'state': 'indexing'})])
    with pytest.raises(PlanError) as info:
        adapter.plan(current)
    assert info.value.job_ids == ['a', 'c']
    assert 'rollup job a is started' in info.value.message and 'rollup job c is indexing' in info.value.message


def test_plan_refuses_an_unknown_state():
    adapter = adapter_for(FakeRollupEs(), 'stopped', ['j'])
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
def test_settled(desired, facts, expected):
    assert adapter_for(FakeRollupEs(), desired, ['j']).settled('j', facts) is expected


@pytest.mark.parametrize('desired,facts,message', [
    ('stopped', None, 'rollup job j was deleted while waiting for it to be stopped'),
    ('started', {'state': 'aborting'}, 'rollup job j is aborting (it is being deleted); it cannot be started'),
])
def test_settled_raises_when_the_state_can_never_be_reached(desired, facts, message):
    with pytest.raises(StateError) as info:
        adapter_for(FakeRollupEs(), desired, ['j']).settled('j', facts)
    assert info.value.message == message


# -------------------------------------------------------------------------------------------- apply

def test_apply_confirms_waited_stops_and_leaves_unwaited_ones_pending():
    es = FakeRollupEs('8.19.3').add('a', 'started').add('b', 'indexing')
    adapter = adapter_for(es, 'stopped', ['_all'])
    steps = adapter.plan(adapter.read())
    assert sorted(adapter.apply(steps, deadline=1030.0)) == ['a', 'b']

    es2 = FakeRollupEs('6.5.4').add('a', 'started').add('b', 'indexing')
    adapter2 = adapter_for(es2, 'stopped', ['_all'])
    assert adapter2.apply(adapter2.plan(adapter2.read()), deadline=1030.0) == []


def test_apply_server_wait_uses_the_remaining_budget():
    clock = FakeClock()
    es = FakeRollupEs('7.17.28').add('a', 'indexing')
    adapter = adapter_for(es, 'stopped', ['a'], clock=clock, timeout=60.0)
    steps = adapter.plan(adapter.read())
    clock.now += 15.5
    adapter.apply(steps, deadline=1060.0)
    assert [params for method, _p, params in es.calls if method == 'POST'] == [
        {'wait_for_completion': 'true', 'timeout': '45s'}]  # whole seconds, rounded up (_time.server_timeout)


def test_apply_never_asks_es_for_a_wait_below_one_second():
    clock = FakeClock()
    es = FakeRollupEs('8.19.3').add('a', 'started')
    adapter = adapter_for(es, 'stopped', ['a'], clock=clock)
    steps = adapter.plan(adapter.read())
    clock.now += 100
    adapter.apply(steps, deadline=1030.0)
    assert [params['timeout'] for method, _p, params in es.calls if method == 'POST'] == ['1s']


def test_force_delete_retries_a_delete_that_met_a_still_stopping_job():
    es = FakeRollupEs('6.5.4').add('a', 'started')

    def back_to_stopping(method, path):
        # Another actor made the job index again between our stop and our delete.
        if method == 'DELETE' and not getattr(back_to_stopping, 'done', False):
            back_to_stopping.done = True
            es.jobs['a']['state'] = 'stopping'
            es.jobs['a']['reads'] = 1

    es.on_request = back_to_stopping
    adapter = adapter_for(es, 'absent', ['a'], force=True, wait=False)
    assert adapter.apply(adapter.plan(adapter.read()), deadline=1030.0) == ['a']
    assert es.mutating() == ['POST /_xpack/rollup/job/a/_stop', 'DELETE /_xpack/rollup/job/a', 'DELETE /_xpack/rollup/job/a']
    assert 'a' not in es.jobs


def test_force_delete_of_a_job_that_vanished_during_the_stop_is_done():
    es = FakeRollupEs('8.19.3').add('a', 'started')

    def vanish(method, path):
        if method == 'POST':
            del es.jobs['a']

    es.on_request = vanish
    adapter = adapter_for(es, 'absent', ['a'], force=True)
    assert adapter.apply(adapter.plan(adapter.read()), deadline=1030.0) == ['a']
    assert es.mutating() == ['POST /_rollup/job/a/_stop']
