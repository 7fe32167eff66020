# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the convergence engine itself: plan -> apply -> wait, changed after failures, the result and diff.

The adapter here is the engine's test double, EngineTestAdapter. It models no Elasticsearch API (no paths, no
responses, no error bodies): objects with string states that move when applied. Elasticsearch's behaviour belongs to
the emulator (tests/emulator), and the real adapters are tested against it (test__rollup_job.py, test__ml_*.py), so
the engine's own rules (what counts as changed, how long it waits, what a failure reports) are tested once, here,
with nothing ES-shaped to keep faithful. The former FakeServer (states that "lag" for a number of reads) became the
double's time lag: a move lands ``lag`` seconds later on the one test clock, the emulator's ManualClock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._convergence import (
    ABSENT, Adapter, Converger, PlanError, Poller, StateError, Step, WaitTimeout, run_concurrently)
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeModule


class EngineTestAdapter(Adapter):
    """The engine's test double. Objects open or close (or are deleted); ``failed`` ones cannot be closed (PlanError).

    A move lands ``lag`` seconds after apply (on ``clock``); until then the object reports ``<target>-ing``. ``confirm``:
    apply confirms the moved ids (the engine then skips its re-read). ``settle_error_on``: that state raises StateError
    while waiting. ``apply_error``: apply raises it.
    """

    def __init__(self, states, desired, clock, sleep, lag=0, confirm=False, settle_error_on=None, apply_error=None):
        super(EngineTestAdapter, self).__init__(client=None, desired=desired, poller=Poller(clock=clock.monotonic, sleep=sleep))
        self.states = OrderedDict(states)
        self.clock = clock
        self.lag = lag
        self.pending = {}
        self.reads = 0
        self.confirm = confirm
        self.settle_error_on = settle_error_on
        self.apply_error = apply_error
        self.apply_calls = []

    def read(self):
        self.reads += 1
        for object_id, (target, due) in list(self.pending.items()):
            if self.clock.monotonic() >= due:
                del self.pending[object_id]
                if target == ABSENT:
                    self.states.pop(object_id, None)
                else:
                    self.states[object_id] = target
        return OrderedDict((object_id, {'state': state, 'node': 'n1'}) for object_id, state in self.states.items())

    def plan(self, current):
        failed = [object_id for object_id, facts in current.items() if facts['state'] == 'failed']
        if failed:
            raise PlanError('cannot close failed job %s without force' % ', '.join(failed), job_ids=failed)
        if self.desired == ABSENT:
            return [Step(object_id, 'delete', facts['state'], ABSENT) for object_id, facts in current.items()]
        return [Step(object_id, 'close' if self.desired == 'closed' else 'open', facts['state'], self.desired)
                for object_id, facts in current.items() if facts['state'] != self.desired]

    def move(self, step):
        if self.lag:
            self.states[step.object_id] = step.after + '-ing' if step.after != ABSENT else 'deleting'
            self.pending[step.object_id] = (step.after, self.clock.monotonic() + self.lag)
        elif step.after == ABSENT:
            self.states.pop(step.object_id)
        else:
            self.states[step.object_id] = step.after

    def apply(self, steps, deadline):
        self.apply_calls.append((list(steps), deadline))
        if self.apply_error:
            raise self.apply_error
        for step in steps:
            self.move(step)
        return [step.object_id for step in steps] if self.confirm else []

    def settled(self, job_id, facts):
        if facts is not None and facts['state'] == self.settle_error_on:
            raise StateError('job %s went %s while waiting' % (job_id, facts['state']), job_ids=[job_id])
        if self.desired == ABSENT:
            return facts is None
        return facts is not None and facts['state'] == self.desired

    def describe(self, job_id, before, after):
        return {'node': (after or before or {}).get('node')}


@pytest.fixture
def engine(es_clock, es_sleeps):
    """``engine(states, desired='closed', check_mode=False, diff=False, wait=True, timeout=30, **double options)``
    -> (result, failed, adapter); the adapter records its reads and apply calls, ``es_sleeps.delays`` the waits."""

    def run(states, desired='closed', check_mode=False, diff=False, wait=True, timeout=30, adapter_class=EngineTestAdapter,
            **options):
        adapter = adapter_class(states, desired, es_clock, es_sleeps, **options)
        with pytest.raises((Exited, Failed)) as info:
            Converger(FakeModule(check_mode=check_mode, diff=diff), adapter).run(wait=wait, timeout=timeout)
        return info.value.result, isinstance(info.value, Failed), adapter

    return run


def job(result, job_id):
    return [j for j in result['jobs'] if j['job_id'] == job_id][0]


# ---------------------------------------------------------------------------------------- check mode

def test_check_mode_predicts_and_never_applies(engine):
    result, failed, adapter = engine({'a': 'opened', 'b': 'closed'}, check_mode=True, diff=True)
    assert not failed
    assert adapter.apply_calls == []
    assert adapter.states == {'a': 'opened', 'b': 'closed'}
    assert adapter.reads == 1
    assert result['changed'] is True
    assert result['msg'] == 'would move 1 of 2 jobs to closed'
    assert job(result, 'a') == {'job_id': 'a', 'state_before': 'opened', 'state_after': 'closed', 'changed': True,
                                'actions': ['close'], 'node': 'n1'}
    assert job(result, 'b')['changed'] is False and job(result, 'b')['actions'] == []
    assert result['diff'] == {'before': {'a': 'opened', 'b': 'closed'}, 'after': {'a': 'closed', 'b': 'closed'}}


def test_check_mode_predicts_deletion_as_absent(engine):
    result, _failed, adapter = engine({'a': 'stopped'}, desired=ABSENT, check_mode=True, diff=True)
    assert adapter.apply_calls == [] and adapter.states == {'a': 'stopped'}
    assert job(result, 'a')['state_after'] == ABSENT
    assert result['diff'] == {'before': {'a': 'stopped'}, 'after': {}}


def test_check_mode_plan_error_still_fails(engine):
    result, failed, adapter = engine({'a': 'failed'}, check_mode=True)
    assert failed and adapter.apply_calls == []
    assert result['failed_jobs'] == ['a']


# ---------------------------------------------------------------------------------------- changed

def test_nothing_to_do_is_unchanged_and_sends_nothing(engine, es_sleeps):
    result, failed, adapter = engine({'a': 'closed', 'b': 'closed'})
    assert not failed
    assert result['changed'] is False
    assert adapter.apply_calls == [] and adapter.reads == 1 and es_sleeps.delays == []
    assert result['msg'] == 'all 2 jobs already closed'
    assert 'diff' not in result


def test_single_job_already_there_message(engine):
    result = engine({'a': 'closed'})[0]
    assert result['msg'] == 'job a already closed'


def test_no_match_message(engine):
    result = engine({})[0]
    assert result['changed'] is False and result['jobs'] == [] and result['msg'] == 'no jobs matched'


def test_changed_only_for_jobs_with_steps_and_diff(engine):
    result, failed, adapter = engine({'a': 'opened', 'b': 'closed', 'c': 'opened'}, diff=True)
    assert not failed
    assert result['changed'] is True
    assert [j['changed'] for j in result['jobs']] == [True, False, True]
    assert [[s.object_id for s in steps] for steps, _deadline in adapter.apply_calls] == [['a', 'c']]
    assert adapter.states == {'a': 'closed', 'b': 'closed', 'c': 'closed'}
    assert result['diff'] == {'before': {'a': 'opened', 'b': 'closed', 'c': 'opened'},
                              'after': {'a': 'closed', 'b': 'closed', 'c': 'closed'}}
    assert result['msg'] == 'moved 2 of 3 jobs to closed'


def test_apply_receives_the_deadline(engine, es_clock):
    started = es_clock.monotonic()
    _result, _failed, adapter = engine({'a': 'opened'}, timeout=45)
    assert adapter.apply_calls[0][1] == started + 45


def test_deleted_jobs_end_absent(engine):
    result, failed, adapter = engine({'a': 'stopped'}, desired=ABSENT, diff=True)
    assert not failed and adapter.states == {}
    assert job(result, 'a')['state_after'] == ABSENT
    assert result['diff']['after'] == {}


class RenamedAdapter(EngineTestAdapter):
    result_key, id_key, noun, nouns = 'datafeeds', 'datafeed_id', 'datafeed', 'datafeeds'


def test_custom_result_and_id_keys(engine):
    result, failed, _adapter = engine({'df': 'started'}, desired='stopped', timeout=10, adapter_class=RenamedAdapter)
    assert not failed
    assert 'jobs' not in result
    assert result['datafeeds'][0]['datafeed_id'] == 'df'
    assert result['msg'] == 'moved 1 of 1 datafeeds to stopped'


# ---------------------------------------------------------------------------------------- waiting

def test_wait_polls_on_the_manual_clock_until_settled(engine, es_clock, es_sleeps):
    started = es_clock.monotonic()
    result, failed, adapter = engine({'a': 'opened'}, lag=3)
    assert not failed
    assert job(result, 'a')['state_after'] == 'closed'
    # initial read, then polls until the move lands 3s later: the first poll at or after it ends the wait
    assert adapter.reads == 2 + len(es_sleeps.delays)
    assert 3 <= es_clock.monotonic() - started < 3 + es_sleeps.delays[-1]
    assert es_sleeps.delays[0] == pytest.approx(0.1)
    assert all(later >= earlier for earlier, later in zip(es_sleeps.delays, es_sleeps.delays[1:]))


def test_apply_confirming_ids_skips_the_re_read(engine, es_sleeps):
    result, failed, adapter = engine({'a': 'opened', 'b': 'opened'}, confirm=True)
    assert not failed
    assert adapter.reads == 1 and es_sleeps.delays == []
    assert [j['state_after'] for j in result['jobs']] == ['closed', 'closed']


def test_no_wait_reads_once_after_apply(engine, es_sleeps):
    result, failed, adapter = engine({'a': 'opened'}, wait=False, lag=5)
    assert not failed
    assert adapter.reads == 2 and es_sleeps.delays == []
    assert job(result, 'a')['state_after'] == 'closed-ing'
    assert result['changed'] is True


def test_wait_timeout_names_jobs_and_last_states(engine, es_sleeps):
    states = {'a': 'opened', 'b': 'opened', 'c': 'closed'}
    result, failed, adapter = engine(states, lag=10 ** 6, timeout=30)
    assert failed
    assert result['msg'] == 'timed out after 30s waiting for jobs a, b to reach closed; last states: a=closed-ing, b=closed-ing'
    assert result['timed_out_jobs'] == ['a', 'b']
    assert job(result, 'a')['state_after'] == 'closed-ing'
    assert result['changed'] is True
    # the wait never sleeps past the deadline, and the polling backs off to its cap
    assert sum(es_sleeps.delays) == pytest.approx(30)
    assert max(es_sleeps.delays) <= 2.0
    assert adapter.reads < 40


def test_poller_until_respects_deadline_and_returns_last_value(es_clock, es_sleeps):
    poller = Poller(clock=es_clock.monotonic, sleep=es_sleeps)
    values = iter(range(1000))
    with pytest.raises(WaitTimeout) as info:
        poller.until(lambda: next(values), lambda v: False, es_clock.monotonic() + 5)
    assert sum(es_sleeps.delays) == pytest.approx(5)
    assert info.value.last == len(es_sleeps.delays)
    assert poller.until(lambda: 'x', lambda v: v == 'x', es_clock.monotonic() - 1) == 'x'


def test_state_error_while_waiting_fails_with_states(engine):
    result, failed, adapter = engine({'a': 'opened'}, lag=2, settle_error_on='closed-ing')
    assert failed
    assert result['msg'] == 'job a went closed-ing while waiting'
    assert result['failed_jobs'] == ['a']
    assert job(result, 'a')['state_before'] == 'opened'
    assert job(result, 'a')['state_after'] in ('closed-ing', 'closed')


def test_plan_error_fails_without_apply(engine):
    result, failed, adapter = engine({'a': 'failed', 'b': 'opened'})
    assert failed
    assert adapter.apply_calls == []
    assert result['msg'] == 'cannot close failed job a without force'
    assert result['failed_jobs'] == ['a']
    assert result['changed'] is False
    assert job(result, 'a')['state_after'] == 'failed'


class UnreadableAdapter(EngineTestAdapter):
    def read(self):
        raise ElasticsearchError('read refused', status=403, error_type='refused')


def test_elasticsearch_error_on_read_fails_cleanly(engine):
    result, failed, _adapter = engine({}, timeout=10, adapter_class=UnreadableAdapter)
    assert failed
    assert result['msg'] == 'read refused'
    assert (result['status'], result['error_type']) == (403, 'refused')


def test_elasticsearch_error_on_apply_reports_status_and_current_states(engine):
    error = ElasticsearchError('apply refused', status=409, error_type='refused')
    result, failed, adapter = engine({'a': 'opened'}, apply_error=error)
    assert failed
    assert result['msg'] == 'apply refused'
    assert (result['status'], result['error_type']) == (409, 'refused')
    assert adapter.reads == 2  # the states reported are re-read after the failure
    assert job(result, 'a')['state_after'] == 'opened'
    # the refused request moved nothing, so nothing is reported as changed
    assert result['changed'] is False and job(result, 'a')['changed'] is False


class PartlyFailingAdapter(EngineTestAdapter):
    """Moves the first object, then fails on the second (like a batch whose second request is refused)."""

    def apply(self, steps, deadline):
        self.apply_calls.append((list(steps), deadline))
        self.move(steps[0])
        raise ElasticsearchError('second move refused', status=409)


def test_failure_after_a_partial_move_reports_only_what_moved(engine):
    result, failed, _adapter = engine({'a': 'opened', 'b': 'opened'}, diff=True, adapter_class=PartlyFailingAdapter)
    assert failed
    assert result['changed'] is True
    assert job(result, 'a')['changed'] is True and job(result, 'a')['state_after'] == 'closed'
    assert job(result, 'b')['changed'] is False and job(result, 'b')['state_after'] == 'opened'
    assert result['diff'] == {'before': {'a': 'opened', 'b': 'opened'}, 'after': {'a': 'closed', 'b': 'opened'}}


# ------------------------------------------------------------------ run_concurrently

def test_run_concurrently_keeps_the_order_and_runs_every_item_when_some_fail():
    ran = []

    def work(item):
        ran.append(item)
        if item in ('b', 'd'):
            raise StateError('%s went wrong' % item, job_ids=[item, 'shared'])
        if item == 'c':
            raise ElasticsearchError('c: HTTP 409', status=409)
        return item.upper()

    assert run_concurrently(work, ['x', 'y', 'z'], workers=2) == ['X', 'Y', 'Z']
    del ran[:]
    with pytest.raises(StateError) as info:
        run_concurrently(work, ['a', 'b', 'c', 'd', 'e'], workers=2)
    assert sorted(ran) == ['a', 'b', 'c', 'd', 'e']
    assert info.value.message == '3 requests failed: b went wrong; c: HTTP 409; d went wrong'
    assert info.value.job_ids == ['b', 'shared', 'd']


def test_run_concurrently_raises_a_single_failure_as_it_is():
    error = ElasticsearchError('boom', status=500)

    def work(item):
        if item == 2:
            raise error
        return item

    with pytest.raises(ElasticsearchError) as info:
        run_concurrently(work, [1, 2, 3], workers=4)
    assert info.value is error


def test_run_concurrently_combines_http_errors_into_one_with_the_first_status():
    def unavailable(item):
        raise ElasticsearchError('e%d' % item, status=503)

    with pytest.raises(ElasticsearchError) as info:
        run_concurrently(unavailable, [1, 2], workers=2)
    assert info.value.status == 503 and info.value.message == '2 requests failed: e1; e2'
