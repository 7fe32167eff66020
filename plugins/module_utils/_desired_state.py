# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cluster converged to a desired-state document in one module run (module ``esops.jobs.desired_state``).

read once (few requests) -> ``_converge_plan.plan`` (pure) -> refuse (document, cluster pin, plan errors,
privileges) -> apply the stages in the safe order with the state modules' adapters (``Converger.execute``) ->
the report data (``docs/converge_report.md``). Check mode stops after the privilege check (read-only).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time
from collections import OrderedDict

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._backup import (
    CALENDAR_KIND, FILTER_KIND, ML_KIND, ROLLUP_KIND, backup_file_name, backup_record)
from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._convergence import ABSENT, Converger
from ansible_collections.esops.jobs.plugins.module_utils._ml_definitions import REPLACE
from ansible_collections.esops.jobs.plugins.module_utils._converge_plan import (
    KINDS, declared_kinds_to_read, kinds_to_read, ml_entries_asked_one_by_one, normalize, plan)
from ansible_collections.esops.jobs.plugins.module_utils._ml_calendar import MlCalendarApi
from ansible_collections.esops.jobs.plugins.module_utils._ml_declared import (
    DECLARED_KINDS, apply_declared_stage, backup_fragment, calendar_snapshot, describe_failure, filter_snapshot)
from ansible_collections.esops.jobs.plugins.module_utils._ml_filter import MlFilterApi
from ansible_collections.esops.jobs.plugins.module_utils._errors import NotFound
from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi
from ansible_collections.esops.jobs.plugins.module_utils._ml_config import datafeed_put_config
from ansible_collections.esops.jobs.plugins.module_utils._ml_datafeed import MlDatafeedAdapter
from ansible_collections.esops.jobs.plugins.module_utils._ml_info import gather_jobs
from ansible_collections.esops.jobs.plugins.module_utils._ml_job import MlJobAdapter
from ansible_collections.esops.jobs.plugins.module_utils._ml_upgrade import UpgradeMode, UpgradeModeError
from ansible_collections.esops.jobs.plugins.module_utils._privileges import check_privileges
from ansible_collections.esops.jobs.plugins.module_utils._rollup import RollupApi
from ansible_collections.esops.jobs.plugins.module_utils._rollup_config import read_index_meta, rollup_put_config
from ansible_collections.esops.jobs.plugins.module_utils._rollup_job import RollupJobAdapter, RollupJobReader, job_facts

REPORT_FORMAT = 1
MONITOR_HINT = ('GET / was refused, so the cluster_uuid is unknown: the credential needs the cluster privilege '
                '`monitor` (nothing else a manage_ml/manage_rollup user may read names the cluster)')


JOB_FIELDS = ('job_id', 'state', 'node.id', 'assignment_explanation')


def _job_facts(entry, groups=(), config=None):
    return dict(state=entry.get('state', 'closed'), groups=list(groups), assigned=bool(entry.get('node')),
                assignment_explanation=entry.get('assignment_explanation'), config=config)


def read_jobs_one_by_one(ml, entries):
    """Each entry's jobs as Elasticsearch expands its expression (one stats request per entry): ``(jobs,
    selected)``, or None when an exact id is missing (the caller reads every job instead and the plan names it)."""
    jobs = OrderedDict()
    selected = {}
    for index, entry in enumerate(entries):
        try:
            stats = ml.job_stats(','.join(entry['ids']), allow_no_match=True, fields=JOB_FIELDS)
        except NotFound:
            return None
        selected[index] = [item['job_id'] for item in stats]
        for item in stats:
            jobs[item['job_id']] = _job_facts(item)
    return jobs, selected


def read_jobs(ml):
    """Every job's state and configuration (its groups select it; a declared config is compared with it)."""
    configs = dict((job['job_id'], job) for job in ml.get_jobs('_all', allow_no_match=True))
    return OrderedDict((entry['job_id'], _job_facts(entry, (configs.get(entry['job_id']) or {}).get('groups') or [],
                                                    configs.get(entry['job_id'])))
                       for entry in ml.job_stats('_all', allow_no_match=True, fields=JOB_FIELDS))


def read_datafeeds(ml):
    """Every datafeed's state and configuration (its job; a declared config is compared with it)."""
    configs = dict((feed['datafeed_id'], feed) for feed in ml.get_datafeeds('_all', allow_no_match=True))
    return OrderedDict(
        (entry['datafeed_id'], dict(state=entry.get('state', 'stopped'),
                                    job_id=(configs.get(entry['datafeed_id']) or {}).get('job_id'),
                                    config=configs.get(entry['datafeed_id'])))
        for entry in ml.datafeed_stats('_all', allow_no_match=True))


def read_snapshot(client, normalized, kinds=None):
    """What the planner needs, in few requests: GET / (the version), then per kind one list of every object - ML job
    configs (groups) and stats, datafeed configs (jobs) and stats, rollup jobs - or, for one or two ML job entries
    and nothing that needs every job, each entry's jobs as Elasticsearch expands it (``selected``)."""
    kinds = kinds_to_read(normalized) if kinds is None else kinds
    snapshot = OrderedDict([('version', client.version_string), ('upgrade_mode', None)])
    ml = MlApi(client)
    if 'ml_jobs' in kinds:
        one_by_one = read_jobs_one_by_one(ml, normalized['entries']['ml_jobs']) \
            if ml_entries_asked_one_by_one(normalized) else None
        if one_by_one is not None:
            snapshot['ml_jobs'], snapshot['selected'] = one_by_one[0], {'ml_jobs': one_by_one[1]}
        else:
            snapshot['ml_jobs'] = read_jobs(ml)
    if 'datafeeds' in kinds:
        snapshot['datafeeds'] = read_datafeeds(ml)
    if 'rollup_jobs' in kinds:
        jobs = OrderedDict()
        for wrapper in RollupApi(client).get_jobs('_all'):
            job_id, facts = job_facts(wrapper)
            if job_id is not None:
                jobs[job_id] = dict(state=facts['state'], config=facts['config'])
        snapshot['rollup_jobs'] = jobs
    read_declared(client, normalized, snapshot)
    return snapshot


def read_declared(client, normalized, snapshot):
    """Calendars (with every event, one paged read of ``calendars/_all/events``) and filters, only when the document
    declares them or reports the unmentioned ones: no request otherwise."""
    kinds = declared_kinds_to_read(normalized)
    if 'ml_filters' in kinds:
        snapshot['ml_filters'] = filter_snapshot(MlFilterApi(client).all_filters())
    if 'ml_calendars' in kinds:
        api = MlCalendarApi(client)
        calendars = api.all_calendars()
        snapshot['ml_calendars'] = calendar_snapshot(calendars, api.all_events() if calendars else [])


BACKED_UP_KINDS = ('ml_jobs', 'rollup_jobs') + DECLARED_KINDS


def planned_deletes(the_plan):
    """{kind: [ids]} of the ML and rollup jobs the plan deletes (what the retire roles back up)."""
    deletes = OrderedDict((kind, []) for kind in BACKED_UP_KINDS)
    for row in the_plan['objects']:
        if row['kind'] in deletes and row['drift'] and (row['planned'] == ABSENT or row.get('config') == REPLACE):
            deletes[row['kind']].append(row['id'])
    return deletes


def declared_backup_items(snapshot, deletes, stamp):
    """The calendars and filters to delete, from the snapshot already read: each the document fragment
    (``ml_calendars:``/``ml_filters:`` with its one entry, events included) that converging creates again."""
    items = []
    for kind, backup_kind in (('ml_calendars', CALENDAR_KIND), ('ml_filters', FILTER_KIND)):
        for object_id in deletes.get(kind) or []:
            items.append(dict(name=backup_file_name(backup_kind, object_id, stamp), kind=kind, id=object_id,
                              record=backup_fragment(kind, object_id, snapshot[kind][object_id])))
    return items


def backup_records(client, deletes, cluster, stamp):
    """The retire roles' backup records (``_backup.backup_record``: what ml_job_info/rollup_job_info include_put_config
    return, the cluster and the state) of the jobs to delete, read now, each with its file name
    (``_backup.backup_file_name``, a safe encoding of the id, never a path): ``[{name, kind, id, record}]``."""
    records = []
    if deletes['ml_jobs']:
        for job in gather_jobs(client, deletes['ml_jobs'], include_put_config=True)['jobs']:
            records.append(_backup_item('ml_jobs', ML_KIND, job, cluster, stamp))
    if deletes['rollup_jobs']:
        reader = RollupJobReader(client, deletes['rollup_jobs'])
        for job_id, facts in reader.read().items():
            job = dict(job_id=job_id, state=facts['state'], put_config=rollup_put_config(facts['config']),
                       stats=facts['stats'])
            records.append(_backup_item('rollup_jobs', ROLLUP_KIND, job, cluster, stamp))
    return records


def _backup_item(kind, backup_kind, job, cluster, stamp):
    return dict(name=backup_file_name(backup_kind, job['job_id'], stamp), kind=kind, id=job['job_id'],
                record=backup_record(backup_kind, job, cluster, stamp))


def pin_error(identity, expected, expected_from):
    """The cluster binding: None when this cluster may be changed, else the one-line refusal."""
    if not expected:
        return None
    uuid = (identity or {}).get('uuid')
    if uuid is None:
        return ('cannot tell which cluster this is, and this host is bound to cluster %s (%s): %s; refusing to change '
                'anything' % (expected, expected_from, MONITOR_HINT))
    if uuid != expected:
        return ('reached cluster %s (%s) but is bound to cluster %s (%s); refusing to change anything. Check the '
                'connection, or correct the binding' % (uuid, identity.get('name') or '?', expected, expected_from))
    return None


def _adapter(client, stage):
    options = stage['options']
    ids = stage['ids']
    if stage['kind'] == 'ml_jobs':
        return MlJobAdapter(client, stage['state'], ids, force=options['force'], force_failed=options['force_failed'])
    if stage['kind'] == 'datafeeds':
        return MlDatafeedAdapter(client, stage['state'], ids, force=options['force'], start=options['start'],
                                 end=options['end'])
    return RollupJobAdapter(client, stage['state'], ids, force=options['force'], timeout=options['timeout'])


class DesiredState(object):
    """Plan (and in a real run apply) one cluster; ``run()`` returns ``(failed_msg or None, result)``."""

    def __init__(self, module, document, expected_uuid='', expected_from='expected_cluster_uuid', backup=False,
                 backed_up=None):
        self.module = module
        self.document = document
        self.expected_uuid = expected_uuid or ''
        self.expected_from = expected_from
        self.identity = None
        #: back up before deleting: a real run that would delete returns the records first, applying nothing
        self.backup = backup
        #: {kind: [ids]} written by the caller: only these may be deleted
        self.backed_up = backed_up
        self.backups = None

    def run(self):
        normalized = normalize(self.document)          # DocumentError: the caller fails with its one line
        client = self.module.client
        errors = []
        the_plan = None
        snapshot = None
        try:
            self.identity = client.cluster_identity(read=True)
            snapshot = read_snapshot(client, normalized)
            the_plan = plan(snapshot, self.document)
            if the_plan['needs_datafeeds']:
                snapshot['datafeeds'] = read_datafeeds(MlApi(client))
                the_plan = plan(snapshot, self.document)
            if the_plan['needs_rollup_indices']:
                snapshot['rollup_indices'] = dict((index, vars(read_index_meta(client, index)))
                                                  for index in the_plan['needs_rollup_indices'])
                the_plan = plan(snapshot, self.document)
            if the_plan['needs_upgrade_mode']:
                snapshot['upgrade_mode'] = MlApi(client).upgrade_mode()
                the_plan = plan(snapshot, self.document)
        except ElasticsearchError as exc:
            errors.append(dict(kind='read', selector='-', msg=to_native(exc)))
        if self.identity is None or self.identity.get('version') is None:
            self.identity = client.cluster_identity(read=False)
        refusal = pin_error(self.identity, self.expected_uuid, self.expected_from)
        if refusal:
            errors.insert(0, dict(kind='cluster', selector='-', msg=refusal))
        if the_plan is not None:
            errors.extend(the_plan['errors'])
            if not errors and the_plan['steps']:
                errors.extend(self._privilege_errors(client, the_plan['operations']))
        applied = None
        if the_plan is not None and not errors and the_plan['steps'] and not self.module.check_mode:
            deletes = planned_deletes(the_plan)
            if self.backed_up is not None:
                errors.extend(self._not_backed_up(deletes))
            elif self.backup and any(deletes.values()):
                try:
                    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
                    self.backups = backup_records(client, deletes, self.identity, stamp) + \
                        declared_backup_items(snapshot, deletes, stamp)
                except ElasticsearchError as exc:
                    errors.append(dict(kind='backup', selector='-', msg='cannot read what the plan deletes, to back it '
                                       'up: %s' % to_native(exc)))
                except ValueError as exc:   # an id too long for a file name
                    errors.append(dict(kind='backup', selector='-', msg='cannot back up what the plan deletes: %s'
                                       % to_native(exc)))
                else:
                    return None, dict(changed=False, backups=self.backups, msg='backups to write before deleting',
                                      report=None)
            if not errors:
                applied = self._apply(client, the_plan)
                errors.extend(applied['errors'])
        return self._result(the_plan, errors, applied)

    def _not_backed_up(self, deletes):
        """Objects the plan deletes whose backup the caller did not write (they appeared since it was read)."""
        missing = [object_id for kind, ids in deletes.items() for object_id in ids
                   if object_id not in (self.backed_up.get(kind) or [])]
        if not missing:
            return []
        return [dict(kind='backup', selector='-', msg='%s would be deleted without a backup (selected after the backup '
                     'was read); nothing was changed, run again' % ', '.join(missing))]

    @staticmethod
    def _privilege_errors(client, operations):
        """Ask for exactly the operations of the planned steps (read-only: check mode asks too)."""
        try:
            answer = check_privileges(client, operations)
        except ElasticsearchError as exc:
            return [dict(kind='privileges', selector='-', msg='cannot check the privileges: %s' % to_native(exc))]
        if answer['missing']:
            return [dict(kind='privileges', selector='-', msg='the credential%s may not make these changes: it lacks %s' % (
                ' of %s' % answer['username'] if answer.get('username') else '', answer['missing_text']))]
        return []

    def _apply(self, client, the_plan):
        """The stages in order; the first failure stops the run (later stages would build on it)."""
        after = {}
        moved = set()
        upgrade_after = None
        for stage in the_plan['steps']:
            timeout = stage['options']['timeout']
            if stage['kind'] == 'ml_upgrade_mode':
                upgrade = UpgradeMode(client)
                try:
                    upgrade_after = upgrade.set(stage['state'], upgrade.poller.clock() + timeout, timeout)
                except (UpgradeModeError, ElasticsearchError) as exc:
                    return dict(after=after, moved=moved, upgrade_after=upgrade_after,
                                errors=[dict(kind='apply', selector=stage['selector'],
                                             msg='%s: %s' % (stage['stage'], getattr(exc, 'message', None) or to_native(exc)))])
                continue
            if stage['kind'] in DECLARED_KINDS:
                error = self._apply_declared(client, stage, after, moved)
                if error:
                    return dict(after=after, moved=moved, upgrade_after=upgrade_after,
                                errors=[dict(kind='apply', selector=stage['selector'], msg=error)])
                continue
            if stage['stage'] in ('ml_jobs_config', 'datafeeds_config', 'rollup_jobs_config'):
                apply_config = dict(ml_jobs=self._apply_config, datafeeds=self._apply_datafeed_config,
                                    rollup_jobs=self._apply_rollup_config)[stage['kind']]
                error = apply_config(client, stage, after, moved)
                if error:
                    return dict(after=after, moved=moved, upgrade_after=upgrade_after,
                                errors=[dict(kind='apply', selector=stage['selector'],
                                             msg='%s %s: %s' % (stage['stage'], stage['selector'], error))])
                continue
            adapter = _adapter(client, stage)
            failed, result = Converger(self.module, adapter).execute(wait=True, timeout=timeout)
            for item in result.get(adapter.result_key, []):
                key = (stage['kind'], item[adapter.id_key])
                after[key] = item['state_after']
                if item['changed']:
                    moved.add(key)
            if failed:
                return dict(after=after, moved=moved, upgrade_after=upgrade_after,
                            errors=[dict(kind='apply', selector=stage['selector'],
                                         msg='%s %s: %s' % (stage['stage'], stage['selector'], result.get('msg')))])
        return dict(after=after, moved=moved, upgrade_after=upgrade_after, errors=[])

    @staticmethod
    def _apply_declared(client, stage, after, moved):
        """One calendar or filter stage; the error text, or None."""
        key = (stage['kind'], stage['ids'][0])
        done = []
        try:
            apply_declared_stage(client, stage, done)
        except ElasticsearchError as exc:
            if done:
                moved.add(key)
            return describe_failure(stage, done, exc)
        moved.add(key)
        after[key] = ABSENT if stage['state'] == ABSENT else 'present'
        return None

    def _apply_config(self, client, stage, after, moved):
        """Create, update or replace one ML job as planned; the error text, or None.

        A replace: the job's datafeed stopped (when running), the job closed (when opened), the datafeed and the job
        deleted (the backup was written first), the job created from the document, the datafeed created again from
        its configuration read just before, then the job and the datafeed brought back to the states they had."""
        options = stage['options']
        job_id = stage['ids'][0]
        key = ('ml_jobs', job_id)
        api = MlApi(client)
        timeout = options['timeout']
        try:
            if options['config_action'] == 'create':
                api.put_job(job_id, options['body'])
                after[key] = 'closed'
                moved.add(key)
                return None
            if options['config_action'] == 'update':
                api.update_job(job_id, options['body'])
                moved.add(key)
                return None
            state = (api.job_stats(job_id, fields=('job_id', 'state')) or [{}])[0].get('state', 'closed')
            datafeed_id = options['datafeed_id']
            feed = feed_state = None
            if datafeed_id is not None:
                feed = datafeed_put_config((api.get_datafeeds(datafeed_id) or [None])[0])
                feed_state = (api.datafeed_stats(datafeed_id) or [{}])[0].get('state', 'stopped')
                feed.pop('datafeed_id', None)
            for kind, desired, ids, when in (('datafeeds', 'stopped', [datafeed_id], feed_state == 'started'),
                                             ('ml_jobs', 'closed', [job_id], state == 'opened')):
                if when:
                    error = self._converge(client, kind, desired, ids, timeout)
                    if error:
                        return error
            if datafeed_id is not None:
                api.delete_datafeed(datafeed_id)
            api.delete_job(job_id, timeout=timeout)
            moved.add(key)
            after[key] = ABSENT
            api.put_job(job_id, options['body'])
            after[key] = 'closed'
            if datafeed_id is not None:
                api.put_datafeed(datafeed_id, feed)
            for kind, desired, ids, when in (('ml_jobs', 'opened', [job_id], state == 'opened'),
                                             ('datafeeds', 'started', [datafeed_id], feed_state == 'started')):
                if when:
                    error = self._converge(client, kind, desired, ids, timeout)
                    if error:
                        return 'replaced, but its state was not restored: %s' % error
            after[key] = state
        except ElasticsearchError as exc:
            return '%s ML job %s: %s' % (options['config_action'], job_id, to_native(exc))
        return None

    def _apply_datafeed_config(self, client, stage, after, moved):
        """Create, update or replace one datafeed as planned; a running one is stopped first and started again
        after (Elasticsearch updates only stopped datafeeds). The error text, or None."""
        options = stage['options']
        df_id = stage['ids'][0]
        key = ('datafeeds', df_id)
        api = MlApi(client)
        timeout = options['timeout']
        action = options['config_action']
        try:
            if action == 'create':
                api.put_datafeed(df_id, options['body'])
                after[key] = 'stopped'
                moved.add(key)
                return None
            state = (api.datafeed_stats(df_id) or [{}])[0].get('state', 'stopped')
            if state != 'stopped':
                error = self._converge(client, 'datafeeds', 'stopped', [df_id], timeout)
                if error:
                    return error
                after[key] = 'stopped'
            if action == 'update':
                api.update_datafeed(df_id, options['body'])
            else:
                api.delete_datafeed(df_id)
                after[key] = ABSENT
                api.put_datafeed(df_id, options['body'])
                after[key] = 'stopped'
            moved.add(key)
            if state == 'started':
                error = self._converge(client, 'datafeeds', 'started', [df_id], timeout)
                if error:
                    return '%sd, but not started again: %s' % (action, error)
                after[key] = 'started'
        except ElasticsearchError as exc:
            return '%s datafeed %s: %s' % (action, df_id, to_native(exc))
        return None

    def _apply_rollup_config(self, client, stage, after, moved):
        """Create or replace one rollup job as planned (a replace: stopped when started, deleted - the backup was
        written first -, created into its new rollup index, started again). The error text, or None."""
        options = stage['options']
        job_id = stage['ids'][0]
        key = ('rollup_jobs', job_id)
        api = RollupApi(client)
        timeout = options['timeout']
        try:
            if options['config_action'] == REPLACE:
                for desired in (('stopped', 'absent') if options['restart'] else ('absent',)):
                    error = self._converge(client, 'rollup_jobs', desired, [job_id], timeout)
                    if error:
                        return error
                    after[key] = desired
                moved.add(key)
            api.put_job(job_id, options['body'])
            after[key] = 'stopped'
            moved.add(key)
            if options['restart']:
                error = self._converge(client, 'rollup_jobs', 'started', [job_id], timeout)
                if error:
                    return 'replaced, but not started again: %s' % error
                after[key] = 'started'
        except ElasticsearchError as exc:
            return '%s rollup job %s: %s' % (options['config_action'], job_id, to_native(exc))
        return None

    def _converge(self, client, kind, desired, ids, timeout):
        stage = dict(kind=kind, state=desired, ids=ids,
                     options=dict(force=False, force_failed=False, start=None, end=None, timeout=timeout))
        failed, result = Converger(self.module, _adapter(client, stage)).execute(wait=True, timeout=timeout)
        return result.get('msg') if failed else None

    def _result(self, the_plan, errors, applied):
        check_mode = bool(self.module.check_mode)
        mode = 'apply' if applied is not None else 'plan'
        rows = [dict(row) for row in (the_plan or {}).get('objects', [])]
        upgrade = dict(the_plan['ml_upgrade_mode']) if the_plan and the_plan['ml_upgrade_mode'] else None
        if mode == 'apply':
            for row in rows:
                key = (row['kind'], row['id'])
                row['after'] = applied['after'].get(key, row['before'])
                row['moved'] = key in applied['moved']
            if upgrade is not None:
                upgrade['moved'] = upgrade['drift'] and applied['upgrade_after'] is not None
                upgrade['after'] = applied['upgrade_after'] if upgrade['moved'] else upgrade['before']
        drift = (the_plan or {}).get('drift', 0)
        moved = sum(1 for row in rows if row.get('moved')) + (1 if upgrade and upgrade.get('moved') else 0)
        if errors:
            status = 'failed'
        elif mode == 'apply':
            status = 'converged' if moved else 'in_sync'
        else:
            status = 'drift' if drift else 'in_sync'
        identity = self.identity or {}
        cluster = identity if identity.get('version') is not None or identity.get('uuid') is not None else None
        report = OrderedDict([
            ('esops_converge_report', REPORT_FORMAT),
            ('mode', mode),
            ('check_mode', check_mode),
            ('generated_at', time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())),
            ('cluster', cluster),
            ('bound_cluster_uuid', self.expected_uuid or identity.get('uuid')),
            ('status', status),
            ('drift', drift > 0),
            ('changed', moved > 0),
            ('counts', OrderedDict([('objects', len(rows)), ('drift', drift), ('moved', moved),
                                    ('unmanaged', len((the_plan or {}).get('unmanaged', []))),
                                    ('errors', len(errors))])),
            ('policy', (the_plan or {}).get('policy') or normalize(self.document)['policy']),
            ('entries', (the_plan or {}).get('entries') or OrderedDict((kind, []) for kind in KINDS)),
            ('objects', rows),
            ('ml_upgrade_mode', upgrade),
            ('unmanaged', (the_plan or {}).get('unmanaged', [])),
            ('errors', errors),
            ('backup_dir', None),     # the action plugin's backup_dir and the files it wrote
            ('backups', []),
        ])
        result = dict(
            changed=(drift > 0 and not errors) if mode == 'plan' and check_mode else moved > 0,
            report=report,
            steps=(the_plan or {}).get('steps', []),
            operations=(the_plan or {}).get('operations', []),
            msg=summary(report),
        )
        if self.module._diff:
            result['diff'] = diff_of(report)
        return (summary(report) if errors else None), result


def summary(report):
    """One line: what a person reads per cluster."""
    counts = report['counts']
    line = '%s; %d objects, %d %s, %d moved, %d unmanaged, %d errors' % (
        report['status'], counts['objects'], counts['drift'], 'to change' if report['mode'] == 'plan' else 'differed',
        counts['moved'], counts['unmanaged'], counts['errors'])
    if report['errors']:
        line += ': ' + ' | '.join(unique_texts(error['msg'] for error in report['errors']))
    return line


def unique_texts(texts):
    out = []
    for text in texts:
        if text not in out:
            out.append(text)
    return out


def diff_of(report):
    """Per object that differs: its state before and planned (or reached), keyed kind/id."""
    before = OrderedDict()
    after = OrderedDict()
    upgrade = report['ml_upgrade_mode']
    if upgrade and upgrade['drift']:
        before['ml_upgrade_mode'] = upgrade['before']
        after['ml_upgrade_mode'] = upgrade.get('after', upgrade['planned'])
    for row in report['objects']:
        if row['drift']:
            key = '%s/%s' % (row['kind'], row['id'])
            reached = row.get('after', row['planned'])
            changes = row.get('config_changes') or []
            if changes:
                # the declared configuration field by field, beside the state
                if row['before'] != ABSENT:
                    before[key] = OrderedDict([('state', row['before']), ('config', OrderedDict(
                        (item['path'], item['current']) for item in changes))])
                after[key] = OrderedDict([('state', reached), ('config', OrderedDict(
                    (item['path'], item['desired']) for item in changes))])
                continue
            before[key] = row['before']
            if reached != ABSENT:
                after[key] = reached
    return dict(before=before, after=after)
