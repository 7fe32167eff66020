# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ML anomaly-detection job adapter for the convergence engine (module ``esops.jobs.ml_job_state``).

Server behaviour it relies on (ml-open-job, ml-close-job and ml-delete-job docs;
x-pack/plugin/ml TransportOpenJobAction, TransportCloseJobAction, TransportDeleteJobAction):

* state lives only in ``GET .../_stats``; one stats request covers every matched job;
* close is idempotent, takes an id expression, closes the listed jobs concurrently and waits
  server-side; its wait running out is a 500 "Timed out when waiting for persistent tasks" while
  the close goes on, so that answer means "still closing", not "failed";
* a ``failed`` job closes only with ``force``; ``force`` skips persisting the model state;
* open takes one id and is not idempotent (409 once a task exists), so ``opened``/``opening``
  jobs never get an open request; its wait running out is a 408 while the open goes on;
* up to 7.13 a started datafeed blocks the close of its job (7.14+: close stops it); up to 7.14 a
  datafeed blocks the delete of its job (7.15+: delete removes it);
* delete takes one id, and refuses a job that is not closed unless ``force``;
* while ML upgrade mode is enabled, open/close/delete answer 429.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._convergence import (
    ABSENT, PlanError, StateError, Step, WaitTimeout, run_concurrently)
from ansible_collections.esops.jobs.plugins.module_utils._errors import (
    AlreadyInState, Conflict, NotFound, ServerError, ServerWaitTimedOut, UpgradeModeOn)
from ansible_collections.esops.jobs.plugins.module_utils._ml import chunk_ids, is_pattern
from ansible_collections.esops.jobs.plugins.module_utils._ml_adapter import (
    MlAdapter, refuse_in_upgrade_mode, upgrade_mode_refusal)
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

CLOSED = 'closed'
OPENED = 'opened'
FAILED = 'failed'
DESIRED_STATES = (CLOSED, OPENED, ABSENT)
# The longest one close request waits server-side before the module reads the states again (see _close).
CLOSE_WAIT_CHUNK = 5.0
# With wait=false, how long open/close may hold the request. Neither API has an asynchronous form; when
# this runs out ES answers 408 (open) or 500 (close) and goes on in the background.
NO_WAIT_SERVER_TIMEOUT = 10.0
# Deletes and opens take one id per request; run a few at a time (the client is thread-safe).
MAX_PARALLEL_REQUESTS = 4
# What read() needs of each job when it reads every job's stats (a long job_id list); the rest (data counts, model
# size, timing) can be kilobytes per job.
STATE_FIELDS = ('job_id', 'state', 'node.id', 'assignment_explanation')
UPGRADE_MODE_HINT = ('ML upgrade mode is enabled, and Elasticsearch refuses to open, close or delete jobs until it is '
                     'disabled; end the upgrade window first with esops.jobs.ml_upgrade_mode (enabled: false)')
FORCE_DATA_LOSS = 'a force close does not persist the model state'


def _reason(error):
    return error.reason or error.message


def _waits_for_capacity(facts):
    """Lazily opened (allow_lazy_open) and waiting for ML capacity: ``opening`` with no node and an explanation.
    ES's open answers at this point (TransportOpenJobAction.JobPredicate: AWAITING_LAZY_ASSIGNMENT), so it counts as
    opened."""
    return facts['state'] == 'opening' and not facts.get('assigned') and bool(facts.get('assignment_explanation'))


def _names(ids):
    return ', '.join(ids)


def _job_word(ids):
    return 'job' if len(ids) == 1 else 'jobs'


class MlJobAdapter(MlAdapter):
    """Move anomaly-detection jobs to ``closed``, ``opened`` or ``absent``."""

    noun = 'job'
    nouns = 'jobs'
    desired_states = DESIRED_STATES
    step_operations = {
        'stop_datafeed': ('stop_datafeed',), 'close': ('close_job',), 'force_close': ('close_job',), 'wait': (),
        'open': ('open_job',), 'delete_datafeed': ('delete_datafeed',), 'delete': ('delete_job',),
        'force_delete': ('delete_job',),
    }

    def __init__(self, client, desired, job_ids, force=False, force_failed=False, allow_no_match=True, wait=True,
                 poller=None, api=None):
        super(MlJobAdapter, self).__init__(client, desired, job_ids, allow_no_match, poller=poller, api=api)
        self.force = bool(force)
        self.force_failed = bool(force_failed)
        self.wait = wait
        self.datafeeds = None         # job id -> datafeed id (None: not read); read only where the ES version needs it
        self.datafeed_states = {}     # job id -> datafeed state the module brought it to (stopped / absent)

    # -- reading ------------------------------------------------------------------------------------

    def read(self):
        # allow_no_match checks the user's selection once; later reads (while waiting) must not fail
        # because the jobs we deleted are gone.
        allow = self.allow_no_match if self._first_read else True
        if self.desired == ABSENT or not self._first_read:
            # Later reads see a job deleted meanwhile as gone (settled() then names it), never as an error.
            stats = self._read_tolerating_missing(self.tokens, allow)
        else:
            try:
                stats = self._stats(self.tokens, allow)
            except NotFound as exc:
                missing = exc.ids or []
                if missing and all(is_pattern(t) for t in missing):
                    raise PlanError('no job matches %s and allow_no_match is false (Elasticsearch: %s)'
                                    % (_names(missing), _reason(exc)), job_ids=missing)
                raise PlanError('no job or job group matches %s (Elasticsearch: %s); check job_id'
                                % (_names(missing) or ','.join(self.tokens), _reason(exc)), job_ids=missing)
        current = OrderedDict()
        for job_id in sorted(stats):
            entry = stats[job_id]
            current[job_id] = {
                'state': entry.get('state', CLOSED),
                'assigned': bool(entry.get('node')),
                'assignment_explanation': entry.get('assignment_explanation'),
            }
        if self._first_read:
            self._first_read = False
            if any(self._moves(facts) for facts in current.values()) and not self._refused_anyway(current):
                self.upgrade_mode = self.api.upgrade_mode()
                if self._needs_datafeeds(current):
                    configs = self.api.get_datafeeds('_all', allow_no_match=True)
                    self.datafeeds = dict((c.get('job_id'), c['datafeed_id']) for c in configs)
        return current

    def _stats(self, tokens, allow):
        return dict((entry['job_id'], entry)
                    for entry in self.api.job_stats_of(tokens, allow_no_match=allow, fields_of_all=STATE_FIELDS))

    def _read_tolerating_missing(self, tokens, allow):
        """For ``absent`` an exact id (or group) that does not exist is already where we want it."""
        try:
            return self._stats(tokens, allow)
        except NotFound as exc:
            missing = exc.ids
            if missing is None:
                # Unrecognised message: ask token by token, so one missing id cannot hide the others.
                return self._stats_token_by_token(tokens, allow, exc)
            patterns = [t for t in missing if is_pattern(t)]
            if patterns or not set(missing) & set(tokens):
                raise PlanError('no job matches %s and allow_no_match is false (Elasticsearch: %s)'
                                % (_names(patterns or missing), _reason(exc)), job_ids=patterns or missing)
            remaining = [t for t in tokens if t not in missing]
            return self._read_tolerating_missing(remaining, allow) if remaining else {}

    def _stats_token_by_token(self, tokens, allow, first_error):
        stats = {}
        for token in tokens:
            try:
                stats.update(self._stats([token], allow))
            except NotFound as exc:
                if is_pattern(token):
                    raise PlanError('no job matches %s and allow_no_match is false (Elasticsearch: %s)'
                                    % (token, _reason(exc)), job_ids=[token])
        return stats

    def _moves(self, facts):
        """Does this job need a request (open, close, delete)? An opening job only gets a wait."""
        state = facts['state']
        return self.desired == ABSENT or (state != self.desired and not (self.desired == OPENED and state == 'opening'))

    def _jobs_to_close(self, current):
        if self.desired == CLOSED:
            return [job_id for job_id, facts in current.items() if facts['state'] != CLOSED]
        if self.desired == OPENED:
            return [job_id for job_id, facts in current.items() if facts['state'] == FAILED]
        return []

    def _refused_anyway(self, current):
        """The plan is going to refuse (failed or running jobs without force): read nothing more for it."""
        states = [facts['state'] for facts in current.values()]
        if self.desired == ABSENT:
            return any(state != CLOSED and not self._forced(state) for state in states)
        return FAILED in states and not (self.force or self.force_failed)

    def _needs_datafeeds(self, current):
        """Datafeeds are read only where ES makes the module handle them (<= 7.13 close, <= 7.14 delete)."""
        if self.desired == ABSENT:
            return bool(current) and not self.api.delete_removes_datafeed
        return bool(self._jobs_to_close(current)) and not self.api.close_stops_datafeeds

    # -- planning -----------------------------------------------------------------------------------

    def _forced(self, state):
        return self.force or (self.force_failed and state == FAILED)

    def _datafeed_of(self, job_id):
        return (self.datafeeds or {}).get(job_id)

    def plan(self, current):
        if self.desired == CLOSED:
            steps = self._plan_closed(current)
        elif self.desired == OPENED:
            steps = self._plan_opened(current)
        else:
            steps = self._plan_absent(current)
        refuse_in_upgrade_mode(self.upgrade_mode, steps, UPGRADE_MODE_HINT, self.noun, self.nouns,
                               refuses=self.api.refused_in_upgrade_mode)
        return steps

    def _check_failed(self, current, verb):
        failed = [job_id for job_id, facts in current.items() if facts['state'] == FAILED]
        if failed and not (self.force or self.force_failed):
            it = 'it' if len(failed) == 1 else 'they'
            if verb == 'open':
                why = ('%s failed, and Elasticsearch opens a failed job only after a force close. Set force_failed: true '
                       '(or force: true) to force-close the failed jobs, then open them' % it)
            else:
                why = ('%s failed, and Elasticsearch closes a failed job only with force. Set force_failed: true to '
                       'force-close only the failed jobs (the others close gracefully), or force: true to force-close '
                       'every job (%s)' % (it, FORCE_DATA_LOSS))
            raise PlanError('cannot %s %s %s: %s' % (verb, _job_word(failed), _names(failed), why), job_ids=failed)

    def _close_steps(self, job_id, state):
        steps = []
        forced = self._forced(state)
        df_id = self._datafeed_of(job_id)
        if df_id and not self.api.close_stops_datafeeds:
            steps.append(Step(job_id, 'stop_datafeed', state, state, datafeed_id=df_id))
        steps.append(Step(job_id, 'force_close' if forced else 'close', state, CLOSED, force=forced))
        return steps

    def _plan_closed(self, current):
        self._check_failed(current, 'close')
        steps = []
        for job_id, facts in current.items():
            if facts['state'] != CLOSED:
                steps.extend(self._close_steps(job_id, facts['state']))
        return steps

    def _plan_opened(self, current):
        self._check_failed(current, 'open')
        steps = []
        for job_id, facts in current.items():
            state = facts['state']
            if state == OPENED or _waits_for_capacity(facts):
                continue   # lazily opened and waiting for ML capacity counts as opened (see settled)
            if state == 'opening':
                # Open is not idempotent: an opening job gets no request, only a wait.
                steps.append(Step(job_id, 'wait', state, OPENED))
            elif state == FAILED:
                # A failed job must be force-closed before it can open again (checked above: force or force_failed).
                steps.extend(self._close_steps(job_id, state))
                steps.append(Step(job_id, 'open', CLOSED, OPENED))
            else:
                steps.append(Step(job_id, 'open', state, OPENED, after_closing=(state == 'closing')))
        return steps

    def _plan_absent(self, current):
        running = [(job_id, facts['state']) for job_id, facts in current.items()
                   if facts['state'] != CLOSED and not self._forced(facts['state'])]
        if running:
            ids = [job_id for job_id, _state in running]
            failed_only = all(state == FAILED for _job, state in running)
            raise PlanError(
                'cannot delete %s %s: Elasticsearch deletes a job that is not closed only with force. Close %s first '
                '(state: closed), or set force: true to delete %s as %s (%s)' % (
                    _job_word(ids), ', '.join('%s (%s)' % item for item in running), 'it' if len(ids) == 1 else 'them',
                    'it' if len(ids) == 1 else 'them', 'it is' if len(ids) == 1 else 'they are',
                    'force_failed: true is enough for failed jobs' if failed_only else
                    'the job and its model state are deleted anyway'),
                job_ids=ids)
        steps = []
        for job_id, facts in current.items():
            state = facts['state']
            forced = state != CLOSED
            df_id = self._datafeed_of(job_id)
            if df_id and not self.api.delete_removes_datafeed:
                steps.append(Step(job_id, 'delete_datafeed', state, state, datafeed_id=df_id, force=forced))
            steps.append(Step(job_id, 'force_delete' if forced else 'delete', state, ABSENT, force=forced))
        return steps

    # -- applying -----------------------------------------------------------------------------------

    def apply(self, steps, deadline):
        if self.desired == ABSENT:
            return self._apply_absent(steps, deadline)
        confirmed = set()
        stops = [step for step in steps if step.action == 'stop_datafeed']
        if stops:
            self._stop_datafeeds(stops, deadline)
        forced = [step.object_id for step in steps if step.action == 'force_close']
        graceful = [step.object_id for step in steps if step.action == 'close']
        if forced:
            confirmed.update(self._close(forced, deadline, force=True))
        if graceful:
            confirmed.update(self._close(graceful, deadline, force=False))
        if self.desired == OPENED:
            confirmed = self._apply_open(steps, deadline, forced, confirmed)
        return confirmed

    def _timeout(self, deadline, cap=None):
        """wait: false sends one request that may wait NO_WAIT_SERVER_TIMEOUT; otherwise at most ``cap``."""
        return self.server_timeout(deadline, cap if self.wait else NO_WAIT_SERVER_TIMEOUT)

    def _stop_datafeeds(self, steps, deadline):
        """<= 7.13: one stop for every datafeed of the jobs to close (stopping a stopped datafeed is a no-op)."""
        ids = [step.details['datafeed_id'] for step in steps]
        timeout = self.server_timeout(deadline)
        jobs = [step.object_id for step in steps]

        def stop(chunk):
            try:
                self.api.stop_datafeed(','.join(chunk), timeout, force=self.force)
            except ServerWaitTimedOut:
                raise StateError('timed out after %s waiting for Elasticsearch to stop datafeeds %s, which this version '
                                 'requires before closing their jobs; the stop goes on in the background'
                                 % (format_duration(timeout), _names(chunk)), job_ids=jobs)
            except UpgradeModeOn as exc:
                raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, jobs)

        chunks = chunk_ids(ids)
        run_concurrently(stop, chunks, workers=len(chunks))
        for step in steps:
            self.datafeed_states[step.object_id] = 'stopped'

    def _close(self, ids, deadline, force):
        """Close ``ids``; return the ids known to be closed.

        ES's close waits only for each job's persistent task to disappear (TransportCloseJobAction.waitForJobClosed,
        6.8-9.1); a job that fails while closing keeps its task, so a request that waits for it would hold the whole
        timeout. Each request therefore waits at most CLOSE_WAIT_CHUNK seconds, with one state read between two, so a
        failed job stops the run within seconds; a job that closes within the first chunk still costs one request.
        """
        confirmed = []
        pending = list(ids)

        def close_then_read():
            closed, waiting = self._close_once(pending, self._timeout(deadline, CLOSE_WAIT_CHUNK), force)
            confirmed.extend(closed)
            pending[:] = waiting
            if not waiting or not self.wait:
                return None
            current = self.read()
            for job_id in waiting:
                if self.settled(job_id, current.get(job_id), desired=CLOSED):  # StateError for a failed/deleted job
                    confirmed.append(job_id)
            pending[:] = [job_id for job_id in waiting if job_id not in confirmed]
            return current

        try:
            self.poller.until(close_then_read, lambda _current: not pending or not self.wait, deadline)
        except WaitTimeout:
            pass   # the engine's own wait reads once more and reports the timeout with the last states
        return confirmed

    def _close_once(self, ids, timeout, force):
        """One close per request line, all at once; returns (ids ES confirmed closed, ids still closing)."""
        def close(chunk):
            try:
                body = self.api.close_job(','.join(chunk), timeout, force=force)
            except ServerWaitTimedOut:
                return [], chunk   # ES's wait ran out; the close goes on
            except Conflict as exc:
                if force:
                    raise
                # A job failed since it was read: ES refuses the graceful close with a 409, naming the job only when
                # the request had one ("one or more jobs have state failed, use force close" otherwise;
                # TransportCloseJobAction, 6.8-9.1). The states name it.
                failed = self._failed_in(chunk)
                if failed:
                    raise StateError('cannot close %s %s: %s failed since %s read (%s); force-close %s with '
                                     'force_failed: true' % (
                                         _job_word(failed), _names(failed), 'it' if len(failed) == 1 else 'they',
                                         'it was' if len(failed) == 1 else 'they were', _reason(exc),
                                         'it' if len(failed) == 1 else 'them'),
                                     job_ids=failed)
                raise
            except ServerError as exc:
                # A job whose close fails on its node is marked failed and the close answers 500 "Exception closing
                # autodetect process" (AutodetectProcessManager.closeJob, 6.8-9.1).
                raise self._failed_while(exc, chunk, CLOSED)
            except UpgradeModeOn as exc:
                raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, chunk)
            return (chunk, []) if (body or {}).get('closed') else ([], chunk)

        closed, waiting = [], []
        # Every chunk at once: each is one server-side wait, and a later chunk must not wait for an earlier one.
        chunks = chunk_ids(ids)
        for done, left in run_concurrently(close, chunks, workers=len(chunks)):
            closed.extend(done)
            waiting.extend(left)
        return closed, waiting

    def _failed_in(self, ids):
        """Which of ``ids`` are failed now (one state read)."""
        try:
            current = self.read()
        except NotFound:
            return []
        return [job_id for job_id in ids if (current.get(job_id) or {}).get('state') == FAILED]

    def _failed_while(self, exc, ids, desired):
        """A 500 from open/close: when one of ``ids`` is failed now, say so (StateError); else the error as it came."""
        try:
            current = self.read()
        except NotFound:
            return exc
        for job_id in ids:
            facts = current.get(job_id)
            if facts is not None and facts['state'] == FAILED:
                return self._failed_error(job_id, facts, desired, _reason(exc))
        return exc

    def _apply_open(self, steps, deadline, force_closed, confirmed):
        opens = [step for step in steps if step.action == 'open']
        must_be_closed = [step.object_id for step in opens if step.details.get('after_closing')]
        # Force-closed jobs whose close ES did not confirm must be closed before they can open.
        must_be_closed += [job_id for job_id in force_closed if job_id not in confirmed]
        if must_be_closed:
            self._wait_closed(must_be_closed, deadline)

        def open_one(job_id):
            try:
                body = self.api.open_job(job_id, self._timeout(deadline))
            except ServerWaitTimedOut:
                return None   # ES's wait ran out; the open goes on
            except AlreadyInState:
                return None   # someone else (or a retried request) opened it since we read it
            except ServerError as exc:
                # The open's wait ends at once when the job fails: 500 "Unexpected job state [failed] ... while waiting
                # for job to be opened" (TransportOpenJobAction.JobPredicate, 6.8-9.1).
                raise self._failed_while(exc, [job_id], OPENED)
            except UpgradeModeOn as exc:
                raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, [job_id])
            body = body or {}
            # 7.8+ name the node; "" = lazily opened, waiting for ML capacity (the state shows opening). Before 7.8 the
            # answer has no node (RestOpenJobAction: {"opened": true} either way), so the state is read.
            return job_id if body.get('opened') and body.get('node') else None

        opened = set(job_id for job_id in run_concurrently(open_one, [step.object_id for step in opens], MAX_PARALLEL_REQUESTS) if job_id)
        return opened

    def _wait_closed(self, ids, deadline):
        def done(current):
            for job_id in ids:
                facts = current.get(job_id)
                if facts is None:
                    raise StateError('job %s was deleted while waiting for it to close before opening it' % job_id,
                                     job_ids=[job_id])
                if facts['state'] == FAILED:
                    raise StateError('job %s failed while closing, before it could be opened; force-close it with '
                                     'force_failed: true' % job_id, job_ids=[job_id])
            return all(current[job_id]['state'] == CLOSED for job_id in ids)

        try:
            self.poller.until(self.read, done, deadline)
        except WaitTimeout as exc:
            late = [job_id for job_id in ids if exc.last.get(job_id, {}).get('state') != CLOSED]
            raise StateError('timed out waiting for %s %s to finish closing before opening %s; last states: %s' % (
                _job_word(late), _names(late), 'it' if len(late) == 1 else 'them',
                ', '.join('%s=%s' % (job_id, exc.last.get(job_id, {}).get('state', ABSENT)) for job_id in late)),
                job_ids=late)

    def _apply_absent(self, steps, deadline):
        feeds = [step for step in steps if step.action == 'delete_datafeed']
        if feeds:
            def delete_feed(step):
                try:
                    self.api.delete_datafeed(step.details['datafeed_id'], force=step.details['force'])
                except NotFound:
                    pass   # deleted by someone else meanwhile
                except UpgradeModeOn as exc:
                    raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, [step.object_id])
                self.datafeed_states[step.object_id] = ABSENT
                return step.object_id

            run_concurrently(delete_feed, feeds, MAX_PARALLEL_REQUESTS)

        def delete_job(step):
            try:
                # Deleting a big job's results can take a while: the timeout keeps the client waiting as long as ES may.
                self.api.delete_job(step.object_id, force=step.details['force'], timeout=self.server_timeout(deadline))
            except NotFound:
                pass   # deleted by someone else meanwhile: absent is the goal
            except UpgradeModeOn as exc:
                raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, [step.object_id])
            return step.object_id

        return run_concurrently(delete_job, [step for step in steps if step.action in ('delete', 'force_delete')],
                                MAX_PARALLEL_REQUESTS)

    # -- waiting / reporting ------------------------------------------------------------------------

    def settled(self, job_id, facts, desired=None):
        desired = desired or self.desired
        if desired == ABSENT:
            return facts is None
        if facts is None:
            raise StateError('job %s was deleted while waiting for it to be %s' % (job_id, desired), job_ids=[job_id])
        state = facts['state']
        if state == desired:
            return True
        if state == FAILED:
            raise self._failed_error(job_id, facts, desired)
        if desired == OPENED:
            if _waits_for_capacity(facts):
                return True   # lazily opened, waiting for ML capacity: ES's own open answers at this point too
            if state == CLOSED:
                raise StateError('job %s closed again while waiting for it to open; see the job messages' % job_id,
                                 job_ids=[job_id])
        return False

    @staticmethod
    def _failed_error(job_id, facts, desired, answer=None):
        return StateError('job %s failed while waiting for it to be %s (%s); see the job messages, then force-close it '
                          'with force_failed: true%s' % (
                              job_id, desired, facts.get('assignment_explanation') or 'no explanation',
                              ' (Elasticsearch answered: %s)' % answer if answer else ''),
                          job_ids=[job_id])

    def moved_besides_state(self, object_id):
        return object_id in self.datafeed_states   # its datafeed was stopped or deleted, even if the job then failed to move

    def describe(self, job_id, before, after):
        if self.datafeeds is None:
            return {}
        return {'datafeed_id': self.datafeeds.get(job_id), 'datafeed_state': self.datafeed_states.get(job_id)}
