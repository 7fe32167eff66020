# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the convergence engine with a fake adapter, a fake module and a fake clock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._convergence import (
    ABSENT, Adapter, Converger, PlanError, Poller, StateError, Step, WaitTimeout, run_concurrently)
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeClock, FakeModule


class FakeServer(object):
    """Job states; a transition passes through ``<target>-ing`` for ``lag`` reads before it lands."""

    def __init__(self, states, lag=0):
        self.states = OrderedDict(states)
        self.lag = lag
        self.pending = {}
        self.reads = 0
        self.applied = []

    def read(self):
        self.reads += 1
        for job_id in list(self.pending):
            target, left = self.pending[job_id]
            if left <= 0:
                del self.pending[job_id]
                if target == ABSENT:
                    self.states.pop(job_id, None)
                else:
                    self.states[job_id] = target
            else:
                self.pending[job_id] = (target, left - 1)
        return OrderedDict((job_id, {'state': state, 'node': 'n1'}) for job_id, state in self.states.items())


class FakeAdapter(Adapter):
    """Opens or closes jobs. ``failed`` jobs cannot be closed without force (PlanError)."""

    def __init__(self, server, desired, poller, confirm=False, settle_error_on=None, apply_error=None):
        super(FakeAdapter, self).__init__(client=None, desired=desired, poller=poller)
        self.server = server
        self.confirm = confirm
        self.settle_error_on = settle_error_on
        self.apply_error = apply_error
        self.apply_calls = []

    def read(self):
        return self.server.read()

    def plan(self, current):
        failed = [job_id for job_id, facts in current.items() if facts['state'] == 'failed']
        if failed:
            raise PlanError('cannot close failed job %s without force' % ', '.join(failed), job_ids=failed)
        if self.desired == ABSENT:
            return [Step(job_id, 'delete', facts['state'], ABSENT) for job_id, facts in current.items()]
        return [Step(job_id, 'close' if self.desired == 'closed' else 'open', facts['state'], self.desired)
                for job_id, facts in current.items() if facts['state'] != self.desired]

    def apply(self, steps, deadline):
        self.apply_calls.append((list(steps), deadline))
        if self.apply_error:
            raise self.apply_error
        for step in steps:
            self.server.applied.append(step.object_id)
            if self.server.lag:
                self.server.states[step.object_id] = step.after + '-ing' if step.after != ABSENT else 'deleting'
                self.server.pending[step.object_id] = (step.after, self.server.lag)
            elif step.after == ABSENT:
                self.server.states.pop(step.object_id)
            else:
                self.server.states[step.object_id] = step.after
        return [step.object_id for step in steps] if self.confirm else []

    def settled(self, job_id, facts):
        if facts is not None and facts['state'] == self.settle_error_on:
            raise StateError('job %s went %s while waiting' % (job_id, facts['state']), job_ids=[job_id])
        if self.desired == ABSENT:
            return facts is None
        return facts is not None and facts['state'] == self.desired

    def describe(self, job_id, before, after):
        return {'node': (after or before or {}).get('node')}


def converge(states, desired='closed', check_mode=False, diff=False, wait=True, timeout=30, lag=0, **adapter_kwargs):
    clock = FakeClock()
    server = FakeServer(states, lag=lag)
    adapter = FakeAdapter(server, desired, Poller(clock=clock.clock, sleep=clock.sleep), **adapter_kwargs)
    module = FakeModule(check_mode=check_mode, diff=diff)
    with pytest.raises((Exited, Failed)) as info:
        Converger(module, adapter).run(wait=wait, timeout=timeout)
    return info.value.result, isinstance(info.value, Failed), adapter, server, clock


def job(result, job_id):
    return [j for j in result['jobs'] if j['job_id'] == job_id][0]


# ---------------------------------------------------------------------------------------- check mode

def test_check_mode_predicts_and_never_applies():
    result, failed, adapter, server, _clock = converge({'a': 'opened', 'b': 'closed'}, check_mode=True, diff=True)
    assert not failed
    assert adapter.apply_calls == []
    assert server.states == {'a': 'opened', 'b': 'closed'}
    assert server.reads == 1
    assert result['changed'] is True
    assert result['msg'] == 'would move 1 of 2 jobs to closed'
    assert job(result, 'a') == {'job_id': 'a', 'state_before': 'opened', 'state_after': 'closed', 'changed': True,
                                'actions': ['close'], 'node': 'n1'}
    assert job(result, 'b')['changed'] is False and job(result, 'b')['actions'] == []
    assert result['diff'] == {'before': {'a': 'opened', 'b': 'closed'}, 'after': {'a': 'closed', 'b': 'closed'}}


def test_check_mode_predicts_deletion_as_absent():
    result, _failed, adapter, server, _clock = converge({'a': 'stopped'}, desired=ABSENT, check_mode=True, diff=True)
    assert adapter.apply_calls == [] and server.states == {'a': 'stopped'}
    assert job(result, 'a')['state_after'] == ABSENT
    assert result['diff'] == {'before': {'a': 'stopped'}, 'after': {}}


def test_check_mode_plan_error_still_fails():
    result, failed, adapter, _server, _clock = converge({'a': 'failed'}, check_mode=True)
    assert failed and adapter.apply_calls == []
    assert result['failed_jobs'] == ['a']


# ---------------------------------------------------------------------------------------- changed

def test_nothing_to_do_is_unchanged_and_sends_nothing():
    result, failed, adapter, server, clock = converge({'a': 'closed', 'b': 'closed'})
    assert not failed
    assert result['changed'] is False
    assert adapter.apply_calls == [] and server.reads == 1 and clock.sleeps == []
    assert result['msg'] == 'all 2 jobs already closed'
    assert 'diff' not in result


def test_single_job_already_there_message():
    result = converge({'a': 'closed'})[0]
    assert result['msg'] == 'job a already closed'


def test_no_match_message():
    result = converge({})[0]
    assert result['changed'] is False and result['jobs'] == [] and result['msg'] == 'no jobs matched'


def test_changed_only_for_jobs_with_steps_and_diff():
    result, failed, adapter, server, _clock = converge({'a': 'opened', 'b': 'closed', 'c': 'opened'}, diff=True)
    assert not failed
    assert result['changed'] is True
    assert [j['changed'] for j in result['jobs']] == [True, False, True]
    assert [[s.object_id for s in steps] for steps, _deadline in adapter.apply_calls] == [['a', 'c']]
    assert server.states == {'a': 'closed', 'b': 'closed', 'c': 'closed'}
    assert result['diff'] == {'before': {'a': 'opened', 'b': 'closed', 'c': 'opened'},
                              'after': {'a': 'closed', 'b': 'closed', 'c': 'closed'}}
    assert result['msg'] == 'moved 2 of 3 jobs to closed'


def test_apply_receives_the_deadline():
    _result, _failed, adapter, _server, _clock = converge({'a': 'opened'}, timeout=45)
    assert adapter.apply_calls[0][1] == 1045.0


def test_deleted_jobs_end_absent():
    result, failed, _adapter, server, _clock = converge({'a': 'stopped'}, desired=ABSENT, diff=True)
    assert not failed and server.states == {}
    assert job(result, 'a')['state_after'] == ABSENT
    assert result['diff']['after'] == {}


def test_custom_result_and_id_keys():
    clock = FakeClock()
    adapter = FakeAdapter(FakeServer({'df': 'started'}), 'stopped', Poller(clock=clock.clock, sleep=clock.sleep))
    adapter.result_key, adapter.id_key, adapter.noun, adapter.nouns = 'datafeeds', 'datafeed_id', 'datafeed', 'datafeeds'
    with pytest.raises(Exited) as info:
        Converger(FakeModule(), adapter).run(wait=True, timeout=10)
    result = info.value.result
    assert 'jobs' not in result
    assert result['datafeeds'][0]['datafeed_id'] == 'df'
    assert result['msg'] == 'moved 1 of 1 datafeeds to stopped'


# ---------------------------------------------------------------------------------------- waiting

def test_wait_polls_with_fake_clock_until_settled():
    result, failed, _adapter, server, clock = converge({'a': 'opened'}, lag=3)
    assert not failed
    assert job(result, 'a')['state_after'] == 'closed'
    # initial read, then polls until the lagging transition lands
    assert server.reads >= 5
    assert clock.sleeps[0] == pytest.approx(0.1)
    assert all(later >= earlier for earlier, later in zip(clock.sleeps, clock.sleeps[1:]))


def test_apply_confirming_ids_skips_the_re_read():
    result, failed, _adapter, server, clock = converge({'a': 'opened', 'b': 'opened'}, confirm=True)
    assert not failed
    assert server.reads == 1 and clock.sleeps == []
    assert [j['state_after'] for j in result['jobs']] == ['closed', 'closed']


def test_no_wait_reads_once_after_apply():
    result, failed, _adapter, server, clock = converge({'a': 'opened'}, wait=False, lag=5)
    assert not failed
    assert server.reads == 2 and clock.sleeps == []
    assert job(result, 'a')['state_after'] == 'closed-ing'
    assert result['changed'] is True


def test_wait_timeout_names_jobs_and_last_states():
    states = {'a': 'opened', 'b': 'opened', 'c': 'closed'}
    result, failed, _adapter, server, clock = converge(states, lag=10 ** 6, timeout=30)
    assert failed
    assert result['msg'] == 'timed out after 30s waiting for jobs a, b to reach closed; last states: a=closed-ing, b=closed-ing'
    assert result['timed_out_jobs'] == ['a', 'b']
    assert job(result, 'a')['state_after'] == 'closed-ing'
    assert result['changed'] is True
    # the wait never sleeps past the deadline, and the polling backs off to its cap
    assert sum(clock.sleeps) == pytest.approx(30)
    assert max(clock.sleeps) <= 2.0
    assert server.reads < 40


def test_poller_until_respects_deadline_and_returns_last_value():
    clock = FakeClock()
    poller = Poller(clock=clock.clock, sleep=clock.sleep)
    values = iter(range(1000))
    with pytest.raises(WaitTimeout) as info:
        poller.until(lambda: next(values), lambda v: False, clock.now + 5)
    assert sum(clock.sleeps) == pytest.approx(5)
    assert info.value.last == len(clock.sleeps)
    assert poller.until(lambda: 'x', lambda v: v == 'x', clock.now - 1) == 'x'


def test_state_error_while_waiting_fails_with_states():
    result, failed, _adapter, _server, _clock = converge({'a': 'opened'}, lag=2, settle_error_on='closed-ing')
    assert failed
    assert result['msg'] == 'job a went closed-ing while waiting'
    assert result['failed_jobs'] == ['a']
    assert job(result, 'a')['state_before'] == 'opened'
    assert job(result, 'a')['state_after'] in ('closed-ing', 'closed')


def test_plan_error_fails_without_apply():
    result, failed, adapter, _server, _clock = converge({'a': 'failed', 'b': 'opened'})
    assert failed
    assert adapter.apply_calls == []
    assert result['msg'] == 'cannot close failed job a without force'
    assert result['failed_jobs'] == ['a']
    assert result['changed'] is False
    assert job(result, 'a')['state_after'] == 'failed'


def test_elasticsearch_error_on_read_fails_cleanly():
    clock = FakeClock()
    adapter = FakeAdapter(FakeServer({}), 'closed', Poller(clock=clock.clock, sleep=clock.sleep))

    def boom():
        raise ElasticsearchError('GET /_ml/anomaly_detectors failed: HTTP 403 security_exception: no', status=403,
                                 error_type='security_exception')
    adapter.read = boom
    with pytest.raises(Failed) as info:
        Converger(FakeModule(), adapter).run(wait=True, timeout=10)
    assert info.value.result['msg'].startswith('GET /_ml/anomaly_detectors failed: HTTP 403')
    assert info.value.result['status'] == 403


def test_elasticsearch_error_on_apply_reports_status_and_current_states():
    error = ElasticsearchError('POST /x failed: HTTP 409 status_exception: job failed', status=409,
                               error_type='status_exception')
    result, failed, _adapter, server, _clock = converge({'a': 'opened'}, apply_error=error)
    assert failed
    assert result['msg'] == 'POST /x failed: HTTP 409 status_exception: job failed'
    assert (result['status'], result['error_type']) == (409, 'status_exception')
    assert server.reads == 2  # the states reported are re-read after the failure
    assert job(result, 'a')['state_after'] == 'opened'
    # the refused request moved nothing, so nothing is reported as changed
    assert result['changed'] is False and job(result, 'a')['changed'] is False


class PartlyFailingAdapter(FakeAdapter):
    """Moves the first job, then fails on the second (like a batch whose second request is refused)."""

    def apply(self, steps, deadline):
        self.apply_calls.append((list(steps), deadline))
        self.server.states[steps[0].object_id] = steps[0].after
        raise ElasticsearchError('DELETE /b failed: HTTP 409 status_exception: busy', status=409)


def test_failure_after_a_partial_move_reports_only_what_moved():
    clock = FakeClock()
    server = FakeServer({'a': 'opened', 'b': 'opened'})
    adapter = PartlyFailingAdapter(server, 'closed', Poller(clock=clock.clock, sleep=clock.sleep))
    with pytest.raises(Failed) as info:
        Converger(FakeModule(diff=True), adapter).run(wait=True, timeout=30)
    result = info.value.result
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
