# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One convergence engine for every job kind: read state -> plan -> apply -> wait.

Adapters (``_ml_job.py``, ``_ml_datafeed.py``, ``_rollup_job.py``, ...) call the API classes; this module knows the
lifecycle that all
of them share: check mode makes no mutating request, ``changed`` means a transition really
happened, waits are bounded by one deadline, and failures carry the last known states.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time
from collections import OrderedDict
try:
    from concurrent.futures import ThreadPoolExecutor
except ImportError:  # Python 2: EsopsModule fails with one line (unsupported_python) before anything runs
    ThreadPoolExecutor = None

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration, server_timeout

ABSENT = 'absent'


class PlanError(Exception):
    """The request cannot be met safely from the current states (for example a failed job without force)."""

    def __init__(self, message, job_ids=None, **facts):
        super(PlanError, self).__init__(message)
        self.message = message
        self.job_ids = list(job_ids or [])
        #: extra result keys for the failure (for example ``differences``)
        self.facts = facts


class StateError(Exception):
    """An object reached a state from which the desired one cannot be reached (for example ``failed``)."""

    def __init__(self, message, job_ids=None):
        super(StateError, self).__init__(message)
        self.message = message
        self.job_ids = list(job_ids or [])


class WaitTimeout(Exception):
    """The deadline passed while waiting; ``last`` holds the last value seen."""

    def __init__(self, last):
        super(WaitTimeout, self).__init__('timed out')
        self.last = last


class Step(object):
    """One planned transition of one object (a job, a datafeed, a rollup job)."""

    def __init__(self, object_id, action, before, after, **details):
        self.object_id = object_id
        self.action = action
        self.before = before
        self.after = after
        self.details = details

    def __repr__(self):
        return 'Step(%r, %r, %r -> %r)' % (self.object_id, self.action, self.before, self.after)


class Poller(object):
    """Bounded polling with backoff: starts fast so short transitions return promptly."""

    def __init__(self, initial=0.1, factor=1.5, maximum=2.0, clock=None, sleep=time.sleep):
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
        # Looked up here, not in the signature: importing this file must work on Python 2 (no time.monotonic)
        # so that EsopsModule can refuse it with one line.
        self.clock = clock or time.monotonic
        self.sleep = sleep

    def remaining(self, deadline):
        return max(0.0, deadline - self.clock())

    def until(self, read, done, deadline):
        """Call ``read()`` until ``done(value)`` is true; raise WaitTimeout(last value) at the deadline."""
        interval = self.initial
        while True:
            value = read()
            if done(value):
                return value
            left = self.remaining(deadline)
            if left <= 0:
                raise WaitTimeout(value)
            self.sleep(min(interval, left))
            interval = min(self.maximum, interval * self.factor)


class Adapter(object):
    """What the engine needs from a job kind. Subclasses live beside the APIs they drive."""

    #: how objects are named in messages, singular and plural
    noun = 'job'
    nouns = 'jobs'
    #: how the result names the list of objects and each object's id
    result_key = 'jobs'
    id_key = 'job_id'
    #: the states this kind can be asked for (empty: not checked here)
    desired_states = ()
    #: what each Step action asks Elasticsearch to do (esops.jobs.privilege_check operations, _privileges.OPERATIONS):
    #: the one place a pre-check learns which actions a plan will send
    step_operations = {}

    def __init__(self, client, desired, poller=None):
        if self.desired_states and desired not in self.desired_states:
            raise ValueError('state must be one of %s, got %r' % (', '.join(self.desired_states), desired))
        self.client = client
        self.desired = desired
        self.poller = poller or Poller()

    @classmethod
    def operations(cls, steps):
        """The privilege_check operations ``steps`` would send, in the order first needed."""
        needed = []
        for step in steps:
            for operation in cls.step_operations[step.action]:
                if operation not in needed:
                    needed.append(operation)
        return needed

    def read(self):
        """Return OrderedDict {id: facts}; facts has at least ``state``. Missing objects are left out."""
        raise NotImplementedError

    def plan(self, current):
        """Return the list of Steps that move ``current`` to ``self.desired``; raise PlanError if unsafe."""
        raise NotImplementedError

    def apply(self, steps, deadline):
        """Send the mutating requests. Return the ids already confirmed in the desired state."""
        raise NotImplementedError

    def settled(self, job_id, facts):
        """True when the object is where we want it (facts is None when it is gone); raise StateError if it never will be."""
        raise NotImplementedError

    def describe(self, job_id, before, after):
        """Extra per-object facts for the result (datafeed, node, ...)."""
        return {}

    def diff_view(self, job_id, facts, side):
        """What ``diff`` shows of one present object on ``side`` ('before' or 'after'): its state by default."""
        return facts.get('state', ABSENT)

    def extra_result(self, result, observed):
        """Add what the adapter did beside the per-object steps (for example deleted indices) to ``result``."""

    def moved_besides_state(self, object_id):
        """After a failure: True when something of this object other than its state was changed (for example the
        job's datafeed was stopped before its close failed), so the result counts it as changed."""
        return False

    def server_timeout(self, deadline, cap=None):
        """The ``timeout`` for a request Elasticsearch waits on: the time left before ``deadline`` (see
        _time.server_timeout), at most ``cap`` seconds."""
        return server_timeout(self.poller.remaining(deadline), cap)


class _Finished(Exception):
    """How execute() leaves from deep inside a run: the module result, and whether it is a failure."""

    def __init__(self, result, failed):
        super(_Finished, self).__init__('finished')
        self.result = result
        self.failed = failed


class Converger(object):
    def __init__(self, module, adapter):
        self.module = module
        self.adapter = adapter

    def run(self, wait=True, timeout=None):
        """Converge, then exit or fail the module. Never returns."""
        failed, result = self.execute(wait=wait, timeout=timeout)
        if failed:
            self.module.fail_json(**result)
        self.module.exit_json(**result)

    def execute(self, wait=True, timeout=None):
        """Converge and return ``(failed, result)`` without exiting the module (esops.jobs.desired_state runs several
        adapters in one module run). ``result`` is what run() exits or fails with."""
        try:
            self._execute(wait, timeout)
        except _Finished as done:
            return done.failed, done.result
        raise AssertionError('unreachable: _execute always finishes')   # pragma: no cover

    def _fail(self, **result):
        raise _Finished(result, True)

    def _exit(self, **result):
        raise _Finished(result, False)

    def _fail_from_error(self, error, **result):
        facts = dict(status=error.status, error_type=error.error_type)
        facts.update(result)
        self._fail(msg=to_native(error), **facts)

    def _execute(self, wait, timeout):
        adapter = self.adapter
        poller = adapter.poller
        deadline = poller.clock() + (timeout or 0)
        before = OrderedDict()
        steps = []
        try:
            before = adapter.read()
            steps = adapter.plan(before)
        except PlanError as exc:
            # _result() carries its own summary msg; the failure's msg must replace it, not collide with it.
            result = self._result(before, before, [])
            result.update(exc.facts)
            result.update({'msg': exc.message, self._failed_key: exc.job_ids})
            self._fail(**result)
        except ElasticsearchError as exc:
            self._fail_from_error(exc)

        changed_ids = unique(step.object_id for step in steps)
        predicted = OrderedDict((job_id, dict(facts)) for job_id, facts in before.items())
        for step in steps:
            if step.after == ABSENT:
                predicted.pop(step.object_id, None)
            else:
                predicted.setdefault(step.object_id, {})['state'] = step.after

        if self.module.check_mode or not steps:
            self._exit(**self._result(before, predicted, steps))

        after = predicted
        try:
            confirmed = set(adapter.apply(steps, deadline) or ())
            pending = [job_id for job_id in changed_ids if job_id not in confirmed]
            if pending and wait:
                after = self._wait(before, predicted, pending, deadline, steps, timeout)
            elif pending:
                after = self._merge(predicted, adapter.read(), pending)
        except StateError as exc:
            self._fail_with_states(exc.message, before, steps, exc.job_ids)
        except ElasticsearchError as exc:
            self._fail_with_states(to_native(exc), before, steps, [], status=exc.status, error_type=exc.error_type)
        self._exit(**self._result(before, after, steps))

    def _wait(self, before, predicted, pending, deadline, steps, timeout):
        adapter = self.adapter

        def done(current):
            # Ask about every pending object (no short-circuit), so one that failed stops the wait at once
            # even while an earlier one is still moving.
            answers = [adapter.settled(job_id, current.get(job_id)) for job_id in pending]
            return all(answers)

        try:
            current = adapter.poller.until(adapter.read, done, deadline)
        except WaitTimeout as exc:
            late = [job_id for job_id in pending if not adapter.settled(job_id, exc.last.get(job_id))]
            states = ', '.join('%s=%s' % (job_id, exc.last.get(job_id, {}).get('state', ABSENT)) for job_id in late)
            result = self._result(before, self._merge(predicted, exc.last, pending), steps, observed=True)
            result.update(
                msg='timed out after %s waiting for %s to reach %s; last states: %s' % (
                    format_duration(timeout or 0), self._name(late), self.adapter.desired, states),
                **{'timed_out_' + self.adapter.result_key: late})
            self._fail(**result)
        return self._merge(predicted, current, pending)

    @staticmethod
    def _merge(predicted, current, ids):
        merged = OrderedDict((job_id, dict(facts)) for job_id, facts in predicted.items())
        for job_id in ids:
            if job_id in current:
                merged[job_id] = current[job_id]
            else:
                merged.pop(job_id, None)
        return merged

    def _fail_with_states(self, message, before, steps, failed_ids, **facts):
        try:
            after = self.adapter.read()
        except ElasticsearchError:
            after = before
        result = self._result(before, after, steps, observed=True)
        result.update(facts)
        result.update({'msg': message, self._failed_key: failed_ids})
        self._fail(**result)

    @property
    def _failed_key(self):
        """``failed_jobs`` (ML and rollup jobs), ``failed_datafeeds``: named after the result's list."""
        return 'failed_' + self.adapter.result_key

    def _name(self, ids):
        noun = self.adapter.noun if len(ids) == 1 else self.adapter.nouns
        return '%s %s' % (noun, ', '.join(ids))

    def _result(self, before, after, steps, observed=False):
        """The module result. ``observed``: ``after`` was read from the cluster after a failure, so a job
        counts as changed only if its state really moved (a refused or unsent request changed nothing)."""
        actions = OrderedDict()
        for step in steps:
            actions.setdefault(step.object_id, []).append(step.action)
        jobs = []
        for job_id in unique(list(before) + list(after)):
            facts_before = before.get(job_id)
            facts_after = after.get(job_id)
            entry = {self.adapter.id_key: job_id}
            entry.update(
                state_before=(facts_before or {}).get('state', ABSENT),
                state_after=(facts_after or {}).get('state', ABSENT),
                changed=job_id in actions,
                actions=actions.get(job_id, []),
            )
            if observed:
                entry['changed'] = entry['changed'] and (entry['state_before'] != entry['state_after']
                                                         or self.adapter.moved_besides_state(job_id))
            entry.update(self.adapter.describe(job_id, facts_before, facts_after))
            jobs.append(entry)
        changed = any(j['changed'] for j in jobs) if observed else bool(steps)
        result = {'changed': changed, self.adapter.result_key: jobs, 'msg': self._summary(jobs)}
        if self.module._diff:
            diff_before = dict((job_id, self.adapter.diff_view(job_id, facts, 'before'))
                               for job_id, facts in before.items() if (facts or {}).get('state', ABSENT) != ABSENT)
            diff_after = dict((job_id, self.adapter.diff_view(job_id, facts, 'after'))
                              for job_id, facts in after.items() if (facts or {}).get('state', ABSENT) != ABSENT)
            result['diff'] = dict(before=diff_before, after=diff_after)
        self.adapter.extra_result(result, observed)
        return result

    def _summary(self, jobs):
        if not jobs:
            if self.adapter.desired == ABSENT:
                return 'no %s matched: nothing to delete' % self.adapter.nouns
            return 'no %s matched' % self.adapter.nouns
        moved = [j for j in jobs if j['changed']]
        verb = 'would move' if self.module.check_mode else 'moved'
        if not moved:
            if len(jobs) == 1:
                return '%s %s already %s' % (self.adapter.noun, jobs[0][self.adapter.id_key], self.adapter.desired)
            return 'all %d %s already %s' % (len(jobs), self.adapter.nouns, self.adapter.desired)
        return '%s %d of %d %s to %s' % (verb, len(moved), len(jobs), self.adapter.nouns, self.adapter.desired)


def unique(items):
    seen = OrderedDict()
    for item in items:
        seen[item] = None
    return list(seen)


def run_concurrently(func, items, workers):
    """Run ``func`` over ``items``, at most ``workers`` at a time; every item runs even when some fail.

    Returns the results in the order of ``items``; failures (ElasticsearchError, StateError) become one error
    naming them all, raised once every item has run.
    """
    items = list(items)
    if len(items) <= 1:
        return [func(item) for item in items]
    results = []
    errors = []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures = [pool.submit(func, item) for item in items]
        for future in futures:
            try:
                results.append(future.result())
            except (ElasticsearchError, StateError) as exc:
                errors.append(exc)
    if errors:
        raise combine_errors(errors)
    return results


def combine_errors(errors):
    """Several requests failed: one error naming them all (a StateError if any of them is one)."""
    if len(errors) == 1:
        return errors[0]
    text = '%d requests failed: %s' % (len(errors), '; '.join(to_native(exc.message) for exc in errors))
    state_errors = [exc for exc in errors if isinstance(exc, StateError)]
    if state_errors:
        ids = []
        for exc in state_errors:
            ids.extend(exc.job_ids)
        return StateError(text, job_ids=unique(ids))
    first = errors[0]
    return ElasticsearchError(text, status=first.status, error_type=first.error_type, reason=first.reason)
