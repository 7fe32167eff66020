# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The datafeed adapter for the convergence engine (module ``esops.jobs.ml_datafeed_state``).

Server behaviour it relies on (https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-ad-apis.html):

* stopping is idempotent and takes an id expression, so every datafeed to stop goes in one request;
* starting is not idempotent (409 "already been started") and takes one id, so started and
  starting datafeeds never get a start request and the others get one request each;
* a datafeed can only start while its job is ``opened`` or ``opening``;
* a started datafeed is deleted only with ``force``;
* while ML upgrade mode is enabled every start/stop/delete answers 429.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._convergence import (
    ABSENT, PlanError, StateError, Step, WaitTimeout, run_concurrently)
from ansible_collections.esops.jobs.plugins.module_utils._errors import (
    AlreadyInState, Conflict, NotFound, ServerWaitTimedOut, UpgradeModeOn)
from ansible_collections.esops.jobs.plugins.module_utils._ml import chunk_ids, fits_one_line, simple_match
from ansible_collections.esops.jobs.plugins.module_utils._ml_adapter import (
    MlAdapter, refuse_in_upgrade_mode, upgrade_mode_refusal)
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration

STOPPED = 'stopped'
STARTED = 'started'
DESIRED_STATES = (STOPPED, STARTED, ABSENT)
JOB_STATES_THAT_ACCEPT_A_START = ('opened', 'opening')
UPGRADE_MODE_HINT = ('ML upgrade mode is enabled, and Elasticsearch refuses to start, stop or delete datafeeds until it is '
                     'disabled; end the upgrade window first with esops.jobs.ml_upgrade_mode (enabled: false)')


class MlDatafeedAdapter(MlAdapter):
    """Move datafeeds to ``stopped``, ``started`` or ``absent``."""

    noun = 'datafeed'
    nouns = 'datafeeds'
    result_key = 'datafeeds'
    id_key = 'datafeed_id'
    desired_states = DESIRED_STATES
    # A force delete removes a started datafeed's task inside Elasticsearch: the user asks only for the delete.
    step_operations = {'stop': ('stop_datafeed',), 'start': ('start_datafeed',), 'delete': ('delete_datafeed',),
                       'wait': ()}

    def __init__(self, client, desired, datafeed_ids, force=False, start=None, end=None, allow_no_match=True,
                 poller=None, api=None):
        super(MlDatafeedAdapter, self).__init__(client, desired, datafeed_ids, allow_no_match, poller=poller, api=api)
        self.expression = ','.join(self.tokens)
        self.force = force
        self.start = start
        self.end = end
        self.job_of = {}          # datafeed id -> job id, from the datafeed configs
        self.job_states = {}      # job id -> state, read only when a datafeed has to start

    # -- reading ------------------------------------------------------------------------------------

    def read(self):
        if self.desired == ABSENT:
            current = self._read_absent()
        else:
            current = self._read_selected()
        if self._first_read:
            self._first_read = False
            self._read_context(current)
        return current

    def _read_selected(self):
        """Stats for the user's expression; ES resolves it (unknown exact ids are 404, as they should be)."""
        stats = self.api.datafeed_stats_of(self.tokens, allow_no_match=self.allow_no_match)
        if any(entry['datafeed_id'] not in self.job_of for entry in stats):
            if fits_one_line(self.tokens):
                configs = self.api.get_datafeeds(self.expression, allow_no_match=self.allow_no_match)
            else:
                configs = self.api.get_datafeeds('_all', allow_no_match=True)
            self.job_of.update((c['datafeed_id'], c.get('job_id')) for c in configs)
        return self._facts(stats)

    def _read_absent(self):
        """For ``absent`` a missing exact id is the goal, not an error: read everything and match here."""
        stats = self.api.datafeed_stats('_all', allow_no_match=True)
        selected = [entry for entry in stats if any(simple_match(t, entry['datafeed_id']) for t in self.tokens)]
        if self._first_read and not self.allow_no_match:
            ids = [entry['datafeed_id'] for entry in stats]
            unmatched = [t for t in self.tokens if '*' in t or t == '_all']
            unmatched = [t for t in unmatched if not any(simple_match(t, df_id) for df_id in ids)]
            if unmatched:
                raise PlanError('no datafeed matches %s (allow_no_match is false)' % ', '.join(unmatched))
        if any(entry['datafeed_id'] not in self.job_of for entry in selected):
            configs = self.api.get_datafeeds('_all', allow_no_match=True)
            self.job_of.update((c['datafeed_id'], c.get('job_id')) for c in configs)
        return self._facts(selected)

    def _facts(self, stats):
        current = OrderedDict()
        for entry in stats:
            df_id = entry['datafeed_id']
            current[df_id] = {'state': entry.get('state', STOPPED), 'job_id': self.job_of.get(df_id)}
        return current

    def _read_context(self, current):
        """Facts the plan needs only when something has to move: upgrade mode, and the jobs of datafeeds to start."""
        moving = [df_id for df_id, facts in current.items() if self._needs_request(facts['state'])]
        if not moving:
            return
        self.upgrade_mode = self.api.upgrade_mode()
        if self.desired == STARTED:
            job_ids = sorted(set(current[df_id]['job_id'] for df_id in moving if current[df_id]['job_id']))
            if job_ids:
                stats = self.api.job_stats_of(job_ids, allow_no_match=True)
                self.job_states = dict((job['job_id'], job.get('state')) for job in stats)

    def _needs_request(self, state):
        if self.desired == STOPPED:
            return state != STOPPED
        if self.desired == STARTED:
            return state in (STOPPED, 'stopping')
        return True

    # -- planning -----------------------------------------------------------------------------------

    def plan(self, current):
        steps = []
        problems = []
        blocked = []
        for df_id, facts in current.items():
            state = facts['state']
            if self.desired == STOPPED:
                if state != STOPPED:
                    steps.append(Step(df_id, 'stop', state, STOPPED, force=self.force))
            elif self.desired == STARTED:
                if state == 'starting':
                    steps.append(Step(df_id, 'wait', state, STARTED))
                elif state in (STOPPED, 'stopping'):
                    problem = self._job_problem(df_id, facts.get('job_id'))
                    if problem:
                        problems.append(problem)
                        blocked.append(df_id)
                    else:
                        steps.append(Step(df_id, 'start', state, STARTED, after_stopping=(state == 'stopping')))
            elif state == STOPPED or self.force:
                steps.append(Step(df_id, 'delete', state, ABSENT, force=self.force and state != STOPPED))
            else:
                problems.append('datafeed %s is %s; stop it first (state: stopped) or delete it with force: true' % (df_id, state))
                blocked.append(df_id)
        if problems:
            raise PlanError('; '.join(problems), job_ids=blocked)
        refuse_in_upgrade_mode(self.upgrade_mode, steps, UPGRADE_MODE_HINT, self.noun, self.nouns,
                               refuses=self.api.refused_in_upgrade_mode)
        return steps

    def _job_problem(self, df_id, job_id):
        state = self.job_states.get(job_id)
        if state in JOB_STATES_THAT_ACCEPT_A_START:
            return None
        if state is None:
            return 'cannot start datafeed %s: its job %s was not found' % (df_id, job_id)
        if state == 'failed':
            advice = 'force-close it and open it again with esops.jobs.ml_job_state (state: closed, force: true, then state: opened)'
        else:
            advice = 'open it first with esops.jobs.ml_job_state (state: opened)'
        return 'cannot start datafeed %s because its job %s is %s; %s' % (df_id, job_id, state, advice)

    # -- applying -----------------------------------------------------------------------------------

    def apply(self, steps, deadline):
        confirmed = []
        stops = [step.object_id for step in steps if step.action == 'stop']
        if stops:
            confirmed.extend(self._stop(stops, deadline))
        for step in steps:
            if step.action == 'start':
                if self._start(step, deadline):
                    confirmed.append(step.object_id)
            elif step.action == 'delete':
                self._delete(step)
                confirmed.append(step.object_id)
        return confirmed

    def _stop(self, ids, deadline):
        """One stop for every datafeed (several, sent together, when the ids do not fit one request line)."""
        timeout = self.server_timeout(deadline)

        def stop(chunk):
            try:
                body = self.api.stop_datafeed(','.join(chunk), timeout, force=self.force)
            except ServerWaitTimedOut:
                raise StateError('timed out after %s waiting for Elasticsearch to stop %s %s; the stop goes on in '
                                 'the background (force: true stops at once, without finishing the current search)'
                                 % (format_duration(timeout), self.noun if len(chunk) == 1 else self.nouns,
                                    ', '.join(chunk)), job_ids=chunk)
            except UpgradeModeOn as exc:
                raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, chunk)
            # {"stopped": true} means every listed datafeed is stopped (ES waited for the tasks to go away).
            return chunk if (body or {}).get('stopped') else []

        chunks = chunk_ids(ids)
        confirmed = []
        for stopped in run_concurrently(stop, chunks, workers=len(chunks)):
            confirmed.extend(stopped)
        return confirmed

    def _start(self, step, deadline):
        df_id = step.object_id
        if step.details.get('after_stopping'):
            self._wait_stopped(df_id, deadline)
        try:
            body = self.api.start_datafeed(df_id, self.server_timeout(deadline), start=self.start, end=self.end)
        except AlreadyInState:
            # Someone else started it since we read it: the goal is met once it reports started.
            return False
        except Conflict as exc:
            # "cannot start datafeed [d] because job [j] is closed": the job moved since it was read.
            raise StateError('cannot start datafeed %s: %s; open the job first with esops.jobs.ml_job_state (state: opened)'
                             % (df_id, exc.reason or exc.message), job_ids=[df_id])
        except UpgradeModeOn as exc:
            raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, [df_id])
        return bool((body or {}).get('started'))

    def _wait_stopped(self, df_id, deadline):
        def read_one():
            stats = self.api.datafeed_stats(df_id)
            return stats[0].get('state', STOPPED) if stats else STOPPED

        try:
            self.poller.until(read_one, lambda state: state == STOPPED, deadline)
        except WaitTimeout as exc:
            raise StateError('datafeed %s was still %s when the timeout ran out; it must finish stopping before it can '
                             'start again' % (df_id, exc.last), job_ids=[df_id])

    def _delete(self, step):
        df_id = step.object_id
        try:
            self.api.delete_datafeed(df_id, force=step.details.get('force', False))
        except NotFound:
            return  # deleted by someone else meanwhile: absent is what we want
        except Conflict as exc:
            raise StateError('cannot delete datafeed %s: %s; stop it first (state: stopped) or use force: true'
                             % (df_id, exc.reason or exc.message), job_ids=[df_id])
        except UpgradeModeOn as exc:
            raise upgrade_mode_refusal(exc, UPGRADE_MODE_HINT, [df_id])

    # -- waiting / reporting ------------------------------------------------------------------------

    def settled(self, job_id, facts):
        if self.desired == ABSENT:
            return facts is None
        if facts is None:
            raise StateError('datafeed %s was deleted while waiting for it to be %s' % (job_id, self.desired), job_ids=[job_id])
        state = facts['state']
        if self.desired == STARTED and state == STOPPED:
            if self.end is not None:
                return True  # a datafeed with an end time stops by itself once it got there
            raise StateError('datafeed %s stopped again while waiting for it to start; see its assignment_explanation '
                             'and the job messages' % job_id, job_ids=[job_id])
        return state == self.desired

    def describe(self, job_id, before, after):
        return {'job_id': (before or after or {}).get('job_id') or self.job_of.get(job_id)}
