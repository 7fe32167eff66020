# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollup job selection and the rollup job adapter of the convergence engine (rollup APIs,
https://www.elastic.co/guide/en/elasticsearch/reference/7.17/rollup-apis.html).

Selection: ``GET <base>/job/_all`` once, then ``job_id`` tokens (exact ids, ``*`` patterns, ``_all``)
are matched client-side, because ES's GET only knows exact ids, ``_all`` and ``*`` (rollup-get-job docs).

Transitions (RollupJobTask.java): stop is sent with ``wait_for_completion=true`` so ES itself waits for
``stopped``; several jobs are stopped concurrently. Start is never sent to a job that is not
``stopped`` (≤7.x answer 500 for a started job; every version refuses ``stopping``). Delete needs a
``stopped`` job; its 500 ``task_failures`` answer is turned into a clear message.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from collections import OrderedDict

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._convergence import (
    ABSENT, Adapter, PlanError, Poller, StateError, Step, WaitTimeout, run_concurrently)
from ansible_collections.esops.jobs.plugins.module_utils._errors import (
    AlreadyInState, Conflict, NotFound, ServerWaitTimedOut)
from ansible_collections.esops.jobs.plugins.module_utils._rollup import ROLLUP_STATES, RollupApi
from ansible_collections.esops.jobs.plugins.module_utils._rollup_config import RollupIndexCleanup
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

#: per-job requests (stop with a server-side wait) run concurrently, at most this many at a time
MAX_WORKERS = 16
RUNNING_STATES = ('started', 'indexing')
_BAD_ID_CHARS_RE = re.compile(r'[\s\x00-\x1f\x7f]')


def validate_rollup_ids(tokens, option='job_id'):
    """Split and check ``job_id`` tokens; return the list (order kept, duplicates dropped).

    Each item may itself be a comma list. A token is an exact id, a pattern with ``*`` or ``_all``
    (``*`` alone means the same); ``_all`` cannot be combined with other tokens. ES only requires
    ids to be non-empty; ids with whitespace or control characters are refused here because they
    cannot be meant (and could not be typed into Kibana either). Raises ValueError naming the option.
    """
    result = []
    for item in tokens or []:
        if item is None:
            raise ValueError('%s: empty id; give a rollup job id, a pattern with * or _all' % option)
        for token in to_text(item).split(','):
            token = token.strip()
            if not token:
                where = ' in %r' % to_text(item) if ',' in to_text(item) else ''
                raise ValueError('%s: empty id%s; separate ids with single commas, with none left over at either end'
                                 % (option, where))
            if _BAD_ID_CHARS_RE.search(token):
                raise ValueError('%s: %r is not a valid rollup job id: it contains whitespace or control characters'
                                 % (option, token))
            if token == '*':
                token = '_all'
            if token not in result:
                result.append(token)
    if not result:
        raise ValueError('%s: give at least one rollup job id, a pattern with * or _all' % option)
    if '_all' in result and len(result) > 1:
        raise ValueError('%s: _all (or *) selects every rollup job and cannot be combined with other ids' % option)
    return result


def is_pattern(token):
    return token == '_all' or '*' in token


def _pattern_re(token):
    return re.compile('^' + '.*'.join(re.escape(part) for part in token.split('*')) + '$', re.DOTALL)


def resolve_selector(tokens, existing):
    """Match tokens against the existing ids. Return (selected ids in selector order, missing exact ids).

    Exact ids keep the order they were given in; a pattern adds its matches sorted by id.
    """
    existing = list(existing)
    present = set(existing)
    selected = []
    missing = []
    for token in tokens:
        if token == '_all':
            matches = sorted(existing)
        elif '*' in token:
            regex = _pattern_re(token)
            matches = sorted(job_id for job_id in existing if regex.match(job_id))
        elif token in present:
            matches = [token]
        else:
            matches = []
            missing.append(token)
        for job_id in matches:
            if job_id not in selected:
                selected.append(job_id)
    return selected, missing


def missing_message(missing):
    return '%s not found: %s' % ('rollup job' if len(missing) == 1 else 'rollup jobs', ', '.join(missing))


def job_facts(wrapper):
    """One entry of GET <base>/job -> (id, facts). facts: state, config, status, stats as ES returns them."""
    config = wrapper.get('config') or {}
    status = wrapper.get('status') or {}
    return config.get('id'), {
        'state': status.get('job_state'),
        'config': config,
        'status': status,
        'stats': wrapper.get('stats') or {},
    }


class RollupJobReader(object):
    """Read every rollup job once and pick the selected ones; shared by the state and info modules."""

    def __init__(self, client, tokens):
        self.client = client
        self.tokens = list(tokens)
        self.ids = None
        self.missing = []
        self.all_jobs = OrderedDict()
        self.api = RollupApi(client)   # sends nothing until the first read

    def read(self):
        """OrderedDict {id: facts} of the selected jobs that exist. The selection is fixed by the first read."""
        by_id = OrderedDict()
        for wrapper in self.api.get_jobs('_all'):
            job_id, facts = job_facts(wrapper)
            if job_id is not None:
                by_id[job_id] = facts
        self.all_jobs = by_id
        if self.ids is None:
            self.ids, self.missing = resolve_selector(self.tokens, by_id)
        return OrderedDict((job_id, by_id[job_id]) for job_id in self.ids if job_id in by_id)


class RollupJobAdapter(Adapter):
    """Moves rollup jobs to ``started``, ``stopped`` or ``absent``."""

    noun = 'rollup job'
    nouns = 'rollup jobs'
    # delete_rollup_index: the index privileges are asked by RollupIndexCleanup itself.
    step_operations = {'stop': ('stop_rollup',), 'start': ('start_rollup',), 'delete': ('delete_rollup',),
                       'await_removal': (), 'delete_rollup_index': ('delete_rollup',)}

    def __init__(self, client, desired, tokens, force=False, wait=True, timeout=30.0, poller=None,
                 max_workers=MAX_WORKERS, delete_rollup_index=False):
        super(RollupJobAdapter, self).__init__(client, desired, poller or Poller())
        self.reader = RollupJobReader(client, tokens)
        self.force = force
        self.wait = wait
        self.timeout = timeout
        self.max_workers = max(1, int(max_workers))
        # state=absent only (the module refuses it otherwise): also delete the jobs' own rollup indices.
        self.index_cleanup = RollupIndexCleanup(client, self.poller, timeout) if delete_rollup_index else None

    @property
    def api(self):
        return self.reader.api

    @property
    def missing(self):
        return self.reader.missing

    # -- read / plan ---------------------------------------------------------------------------

    def read(self):
        return self.reader.read()

    def plan(self, current):
        if self.missing and self.desired != ABSENT:
            raise PlanError(missing_message(self.missing), job_ids=self.missing)
        steps = []
        problems = []
        for job_id, facts in current.items():
            try:
                steps.extend(self._plan_one(job_id, facts.get('state')))
            except PlanError as exc:
                problems.append((job_id, exc.message))
        if problems:
            raise PlanError('; '.join(message for _job_id, message in problems),
                            job_ids=[job_id for job_id, _message in problems])
        if self.index_cleanup is not None:
            leftovers = self.api.caps() if self.missing else {}
            self.index_cleanup.plan(current, self.reader.all_jobs, list(current) + list(self.missing),
                                    leftovers=leftovers)
            # The index of a job an earlier run deleted (its index delete failed): nothing to do for the job, but a
            # step, so that the engine applies the index delete even when no job is left to move.
            for job_id in self.index_cleanup.leftover_job_ids():
                steps.append(Step(job_id, 'delete_rollup_index', ABSENT, ABSENT))
        return steps

    def _plan_one(self, job_id, state):
        desired = self.desired
        if state not in ROLLUP_STATES:
            raise PlanError('rollup job %s reports an unknown state %r' % (job_id, state))
        if state == 'aborting':
            if desired == ABSENT:
                # Already being deleted: nothing to send, the engine waits until it is gone.
                return [Step(job_id, 'await_removal', state, ABSENT)]
            raise PlanError('rollup job %s is aborting (it is being deleted); it cannot be %s' % (job_id, desired))
        if desired == 'stopped':
            if state == 'stopped':
                return []
            # `stopping` too: a stop is harmless there and lets ES wait for the end of the running page.
            return [Step(job_id, 'stop', state, 'stopped')]
        if desired == 'started':
            if state in RUNNING_STATES:
                return []
            # From `stopping` the start is sent once the job is stopped (ES refuses to start a stopping job).
            return [Step(job_id, 'start', state, 'started')]
        # absent
        if state == 'stopped':
            return [Step(job_id, 'delete', state, ABSENT)]
        if not self.force:
            raise PlanError('rollup job %s is %s; only a stopped rollup job can be deleted: stop it first, '
                            'or set force=true to stop and then delete it' % (job_id, state))
        return [Step(job_id, 'stop', state, 'stopped'), Step(job_id, 'delete', 'stopped', ABSENT)]

    # -- apply ---------------------------------------------------------------------------------

    def apply(self, steps, deadline):
        per_job = OrderedDict()
        for step in steps:
            per_job.setdefault(step.object_id, []).append(step)

        def run_job(item):
            job_id, job_steps = item
            return job_id, self._run_job(job_id, job_steps, deadline)

        # Each job's steps in order; the jobs concurrently (a stop waits server-side). One job's error stops that job
        # only; run_concurrently raises one error naming them all once every job ran.
        outcomes = run_concurrently(run_job, list(per_job.items()), self.max_workers)
        if self.index_cleanup is not None and self.index_cleanup.pending():
            # Only once every job is deleted, and gone: then the index holds nobody's live job.
            self.index_cleanup.apply(self.reader.read, list(per_job), deadline)
            return list(per_job)
        return [job_id for job_id, confirmed in outcomes if confirmed]

    def _run_job(self, job_id, steps, deadline):
        """Send one job's requests; True when the job is known to be in the desired state already."""
        confirmed = False
        for index, step in enumerate(steps):
            then_delete = any(later.action == 'delete' for later in steps[index + 1:])
            if step.action == 'stop':
                confirmed = self._stop(job_id, deadline, must_be_stopped=then_delete)
                if confirmed is None:
                    return True  # gone already: nothing left to delete
            elif step.action == 'start':
                if step.before == 'stopping':
                    self._await_stopped(job_id, deadline, purpose=' before it can be started')
                self._start(job_id)
                # Start flips the state at once (RollupJobTask.start): started, or indexing when the cron fires.
                confirmed = True
            elif step.action == 'delete':
                self._delete(job_id, deadline)
                # With wait the engine confirms the job is gone (6.x GET may show it briefly: TransportDeleteRollupJobAction).
                confirmed = not self.wait
            elif step.action == 'await_removal':
                confirmed = False
            elif step.action == 'delete_rollup_index':
                confirmed = True   # the job is gone already; apply() deletes its index after the other jobs
            else:  # pragma: no cover - plan() makes no other action
                raise StateError('internal error: unknown action %r' % step.action, [job_id])
        return confirmed

    def _remaining(self, deadline):
        return self.poller.remaining(deadline)

    def _stop(self, job_id, deadline, must_be_stopped):
        """Stop one job. True: known stopped. False: accepted, maybe still stopping. None: the job is gone."""
        try:
            if must_be_stopped or self.wait:
                self._stop_and_wait(job_id, deadline)
                return True
            self.api.stop_job(job_id)
        except NotFound:
            if must_be_stopped:
                return None
            raise StateError('rollup job %s was deleted while it was being stopped' % job_id, [job_id])
        return False

    def _stop_and_wait(self, job_id, deadline):
        try:
            self.api.stop_job(job_id, wait_for_completion=True, timeout=self.server_timeout(deadline))
        except ServerWaitTimedOut as exc:
            raise StateError('rollup job %s did not stop within %s; last state: %s' % (
                job_id, format_duration(self.timeout), self._last_state(job_id, exc)), [job_id])

    def _last_state(self, job_id, exc):
        if exc.state:
            return exc.state
        try:
            jobs = self.api.get_jobs(job_id)
        except ElasticsearchError:
            return 'unknown'
        return job_facts(jobs[0])[1]['state'] if jobs else ABSENT

    def _read_one(self, job_id):
        jobs = self.api.get_jobs(job_id)
        return job_facts(jobs[0])[1] if jobs else None

    def _await_stopped(self, job_id, deadline, purpose):
        def done(facts):
            return facts is None or facts['state'] == 'stopped'

        try:
            facts = self.poller.until(lambda: self._read_one(job_id), done, deadline)
        except WaitTimeout as exc:
            raise StateError('rollup job %s did not stop within %s%s; last state: %s' % (
                job_id, format_duration(self.timeout), purpose, (exc.last or {}).get('state', ABSENT)), [job_id])
        if facts is None:
            raise StateError('rollup job %s was deleted while waiting for it to stop' % job_id, [job_id])
        return True

    def _start(self, job_id):
        try:
            self.api.start_job(job_id)
        except AlreadyInState:
            return  # started by someone else since we read it (≤7.x refuse a second start)
        except NotFound:
            raise StateError('rollup job %s was deleted before it could be started' % job_id, [job_id])

    def _delete(self, job_id, deadline):
        while True:
            try:
                self.api.delete_job(job_id)
                return
            except NotFound:
                return  # already gone
            except Conflict as exc:
                # 500 with task_failures "indexer state is [..]" (TransportDeleteRollupJobAction), a Conflict.
                state = exc.state
                if state == 'stopping' and self.force and self._remaining(deadline) > 0:
                    self._await_stopped(job_id, deadline, purpose=' before it can be deleted')
                    continue
                detail = '%s: %s' % (exc.error_type, exc.reason) if exc.error_type else to_text(exc.reason or exc)
                hint = ''
                if state in RUNNING_STATES:
                    hint = ' (it was started again after it was read; run again, with force=true to stop it first)'
                raise StateError('rollup job %s cannot be deleted: HTTP %s %s%s' % (job_id, exc.status, detail, hint),
                                 [job_id])

    def extra_result(self, result, observed):
        if self.index_cleanup is not None:
            self.index_cleanup.report(result, observed)

    # -- wait ----------------------------------------------------------------------------------

    def settled(self, job_id, facts):
        if self.desired == ABSENT:
            return facts is None
        if facts is None:
            raise StateError('rollup job %s was deleted while waiting for it to be %s' % (job_id, self.desired), [job_id])
        state = facts.get('state')
        if state == 'aborting':
            raise StateError('rollup job %s is aborting (it is being deleted); it cannot be %s' % (job_id, self.desired),
                             [job_id])
        if self.desired == 'stopped':
            return state == 'stopped'
        return state in RUNNING_STATES
