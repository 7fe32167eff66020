# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge planner (module ``esops.jobs.desired_state``, role ``esops.jobs.converge``): pure functions.

``plan(snapshot, document)`` -> the ordered plan of one cluster, from

* ``snapshot``: what the reads returned, as plain data (see ``plan``), and
* ``document``: the desired-state document (``normalize`` checks it and raises DocumentError with one line).

No request is made here. Each object's steps come from the same adapters the state modules run
(``MlJobAdapter.plan``, ``MlDatafeedAdapter.plan``, ``RollupJobAdapter.plan``) on an API object that knows only the
version, so the version rules (datafeeds stopped before a close up to 7.13, deleted before their job up to 7.14,
what upgrade mode refuses) and the privilege operations each step sends (``Adapter.step_operations``) are written
once, in the engines. What the planner adds: selection from one read of every object (Elasticsearch's rules,
proven equal to the emulator's expansion in tests/fidelity/test_converge_selection.py), conflicts between entries,
datafeed starts planned after the opens of the same plan, the unmentioned policy, ML upgrade mode as it will be
when each step runs, and the safe order of the stages.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

from ansible_collections.esops.jobs.plugins.module_utils._convergence import ABSENT, PlanError
from ansible_collections.esops.jobs.plugins.module_utils._ml import (
    MlApi, close_stops_datafeeds, delete_removes_datafeed, refused_in_upgrade_mode, simple_match, validate_ml_ids)
from ansible_collections.esops.jobs.plugins.module_utils._ml_datafeed import MlDatafeedAdapter
from ansible_collections.esops.jobs.plugins.module_utils._ml_declared import (
    DECLARED_KINDS, DeclaredError, normalize_entries, normalize_policy, plan_declared)
from ansible_collections.esops.jobs.plugins.module_utils._ml_definitions import (
    CANNOT_UPDATE, REPLACE, datafeed_changes, datafeed_update_body, declared_datafeed_config, declared_job_config,
    job_changes, job_update_body, replace_fields)
from ansible_collections.esops.jobs.plugins.module_utils._ml_job import MlJobAdapter
from ansible_collections.esops.jobs.plugins.module_utils._config_compare import differences
from ansible_collections.esops.jobs.plugins.module_utils._rollup_config import existing_metadata_message
from ansible_collections.esops.jobs.plugins.module_utils._rollup_job import (
    RollupJobAdapter, missing_message, resolve_selector, validate_rollup_ids)
from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration

KINDS = OrderedDict([
    ('ml_jobs', dict(noun='ML job', states=('opened', 'closed', 'absent'), default_timeout='30m',
                     options=('id', 'state', 'force', 'force_failed', 'timeout', 'config', 'recreate'))),
    ('datafeeds', dict(noun='datafeed', states=('started', 'stopped', 'absent'), default_timeout='5m',
                       options=('id', 'state', 'force', 'start', 'end', 'timeout', 'config', 'recreate'))),
    ('rollup_jobs', dict(noun='rollup job', states=('started', 'stopped', 'absent'), default_timeout='30s',
                         options=('id', 'state', 'force', 'timeout', 'config', 'recreate'))),
])
TOP_LEVEL_KEYS = tuple(KINDS) + DECLARED_KINDS + ('ml_upgrade_mode', 'unmentioned')
POLICIES = ('ignore', 'report')
UNMENTIONED = '(unmentioned)'
UPGRADE_MODE_TIMEOUT = 30.0
#: What each action of a declared configuration sends (privilege_check operations, _privileges.OPERATIONS). A
#: ``replace`` is: stop its datafeed, close, delete the datafeed, delete, create, create the datafeed again, open,
#: start the datafeed - each only where the object is in that state when the stage runs.
CONFIG_OPERATIONS = OrderedDict([
    ('create', ('put_job',)), ('update', ('update_job',)), ('stop_datafeed', ('stop_datafeed',)),
    ('close', ('close_job',)), ('delete_datafeed', ('delete_datafeed',)), ('delete', ('delete_job',)),
    ('put_datafeed', ('put_datafeed',)), ('open', ('open_job',)), ('start_datafeed', ('start_datafeed',)),
])
#: The same for a datafeed's configuration: an update or a replace of a running datafeed stops it first and starts
#: it again after (Elasticsearch updates only stopped datafeeds, TransportUpdateDatafeedAction).
DATAFEED_CONFIG_OPERATIONS = OrderedDict([
    ('create', ('put_datafeed',)), ('update', ('update_datafeed',)), ('stop', ('stop_datafeed',)),
    ('delete', ('delete_datafeed',)), ('start', ('start_datafeed',)),
])
#: And for a rollup job, which Elasticsearch cannot update at all: any difference is a replace.
ROLLUP_CONFIG_OPERATIONS = OrderedDict([
    ('create', ('put_rollup',)), ('stop', ('stop_rollup',)), ('delete', ('delete_rollup',)),
    ('start', ('start_rollup',)),
])

# The safe order (nothing waits on an object a later stage removes; deletes after stops; starts last), as the role
# always applied it: ML upgrade mode off first and on last, because Elasticsearch refuses ML changes while it is on.
# Filters are created and updated before the jobs that may scope a rule on them, and deleted after every job change
# (a filter a job's rule uses cannot be deleted); calendars are deleted with the other deletes and created or changed
# after the jobs they name are created and before the opens.
STAGES = ('upgrade_mode_off', 'datafeeds_stopped', 'rollup_jobs_stopped', 'ml_jobs_closed', 'datafeeds_absent',
          'ml_jobs_absent', 'rollup_jobs_absent', 'ml_calendars_absent', 'ml_filters_config', 'ml_jobs_config',
          'datafeeds_config', 'rollup_jobs_config', 'ml_calendars_config', 'ml_filters_absent', 'ml_jobs_opened',
          'datafeeds_started', 'rollup_jobs_started', 'upgrade_mode_on')


class DocumentError(Exception):
    """The document itself is wrong: one line naming the entry and the key."""

    def __init__(self, message):
        super(DocumentError, self).__init__(message)
        self.message = message


class VersionOnlyMlApi(MlApi):
    """MlApi for planning: the version rules of a known version, and no client (it can send nothing)."""

    def __init__(self, version):  # pylint: disable=super-init-not-called
        self._version = tuple(version)
        self.client = None

    @property
    def version(self):
        return self._version


def parse_version(text):
    return tuple(int(part) for part in str(text).split('-', 1)[0].split('.')[:3])


# -- the document -------------------------------------------------------------------------------------------

def _where(kind, index):
    return '%s[%d]' % (kind, index)


def _tokens(kind, index, raw):
    where = _where(kind, index)
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        # YAML reads `id: 123` as a number; an id is text (and 0123 would already have lost its zero).
        if not isinstance(item, str) or isinstance(item, bool):
            what = 'a number' if isinstance(item, (int, float)) and not isinstance(item, bool) else 'not text'
            raise DocumentError('%s.id: %r is %s, but ids are strings; quote it (id: "%s")' % (where, item, what, item))
    try:
        if kind == 'rollup_jobs':
            return validate_rollup_ids(items, option='%s.id' % where)
        return validate_ml_ids(items, '%s.id' % where)
    except ValueError as exc:
        raise DocumentError(str(exc))


def _timeout(kind, index, value):
    where = '%s.timeout' % _where(kind, index)
    if value is None:
        value = KINDS[kind]['default_timeout']
    if isinstance(value, bool):
        raise DocumentError('%s: %r is not a duration' % (where, value))
    try:
        return parse_duration(str(value), where)
    except ValueError as exc:
        raise DocumentError(str(exc))


def _flag(kind, index, entry, key):
    value = entry.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DocumentError('%s.%s: %r is not a boolean (true or false)' % (_where(kind, index), key, value))
    return value


def _config(kind, index, raw, entry):
    """An entry's declared ``config`` (or None) and ``recreate``, checked: one exact id, a mapping, its own id."""
    where = _where(kind, index)
    recreate = _flag(kind, index, raw, 'recreate')
    config = raw.get('config')
    if config is None:
        if recreate:
            raise DocumentError('%s.recreate: goes with config' % where)
        return None, False
    if not isinstance(config, dict):
        raise DocumentError('%s.config: must be a mapping (the configuration as the create API takes it), not %s'
                            % (where, type(config).__name__))
    if len(entry['ids']) != 1 or '*' in entry['ids'][0] or entry['ids'][0] == '_all' or ',' in entry['ids'][0]:
        raise DocumentError('%s.config: goes with one exact id, not %s' % (where, entry['selector']))
    if entry['state'] == ABSENT:
        raise DocumentError('%s.config: an absent object has no configuration; leave config out' % where)
    if kind == 'rollup_jobs':
        named = config.get('id')
        if named is not None and named != entry['ids'][0]:
            raise DocumentError('%s.config.id: %r differs from the entry id %r' % (where, named, entry['ids'][0]))
        if not isinstance(config.get('rollup_index'), str) or not config['rollup_index']:
            raise DocumentError('%s.config.rollup_index: required (the index the rollups go to)' % where)
        return OrderedDict((key, value) for key, value in config.items() if key != 'id'), recreate
    if kind == 'datafeeds':
        named = config.get('datafeed_id')
        if named is not None and named != entry['ids'][0]:
            raise DocumentError('%s.config.datafeed_id: %r differs from the entry id %r' % (where, named, entry['ids'][0]))
        if not isinstance(config.get('job_id'), str) or not config['job_id']:
            raise DocumentError('%s.config.job_id: required (the job the datafeed feeds)' % where)
        return declared_datafeed_config(config), recreate
    named = config.get('job_id')
    if named is not None and named != entry['ids'][0]:
        raise DocumentError('%s.config.job_id: %r differs from the entry id %r' % (where, named, entry['ids'][0]))
    if 'datafeed_config' in config:
        raise DocumentError('%s.config.datafeed_config: declare the datafeed as a datafeeds entry with its config'
                            % where)
    return declared_job_config(config), recreate


def normalize(document):
    """Check the whole document; return ``{'entries': {kind: [entry]}, 'policy': {kind: policy}, 'ml_upgrade_mode':
    bool or None}``. Every entry: ``ids`` (tokens), ``state``, ``force``, ``force_failed``, ``timeout`` (seconds),
    ``start``, ``end``, ``selector`` (the ids joined with ``,``), ``unmentioned`` (False). Raises DocumentError."""
    if not isinstance(document, dict):
        raise DocumentError('the desired-state document must be a mapping (%s), not %s'
                            % (', '.join(TOP_LEVEL_KEYS), type(document).__name__))
    unknown = sorted(str(key) for key in document if key not in TOP_LEVEL_KEYS)
    if unknown:
        raise DocumentError('unknown key(s) %s in the document; known: %s' % (', '.join(unknown), ', '.join(TOP_LEVEL_KEYS)))
    entries = OrderedDict()
    problems = []
    for kind, spec in KINDS.items():
        raw_entries = document.get(kind) or []
        if not isinstance(raw_entries, list):
            raise DocumentError('%s must be a list of entries, not %s' % (kind, type(raw_entries).__name__))
        entries[kind] = []
        for index, raw in enumerate(raw_entries):
            where = _where(kind, index)
            if not isinstance(raw, dict):
                raise DocumentError('%s must be a mapping with id and state, not %s' % (where, type(raw).__name__))
            unknown = sorted(str(key) for key in raw if key not in spec['options'])
            if unknown:
                raise DocumentError('%s: unknown key(s) %s; known: %s' % (where, ', '.join(unknown), ', '.join(spec['options'])))
            if 'id' not in raw or raw['id'] in (None, '', []):
                raise DocumentError('%s: id is required' % where)
            if raw.get('state') not in spec['states']:
                raise DocumentError('%s.state: %r is not one of %s' % (where, raw.get('state'), ', '.join(spec['states'])))
            ids = _tokens(kind, index, raw['id'])
            entry = dict(ids=ids, selector=','.join(ids), state=raw['state'], force=_flag(kind, index, raw, 'force'),
                         force_failed=_flag(kind, index, raw, 'force_failed'),
                         timeout=_timeout(kind, index, raw.get('timeout')),
                         start=raw.get('start'), end=raw.get('end'), unmentioned=False)
            for key in ('start', 'end'):
                if entry[key] is not None and not isinstance(entry[key], str):
                    entry[key] = str(entry[key])
            entry['config'], entry['recreate'] = _config(kind, index, raw, entry)
            if (entry['start'] is not None or entry['end'] is not None) and entry['state'] != 'started':
                problems.append('%s %s: start/end only go with state started' % (kind, entry['selector']))
            entries[kind].append(entry)
        tokens = [token for entry in entries[kind] for token in entry['ids']]
        for token in unique_items(tokens):
            if tokens.count(token) > 1:
                problems.append('%s: %s is listed in more than one entry' % (kind, token))
    if problems:
        raise DocumentError('; '.join(problems))
    upgrade = document.get('ml_upgrade_mode')
    if upgrade is not None and not isinstance(upgrade, bool):
        raise DocumentError('ml_upgrade_mode: %r is not a boolean (true or false)' % (upgrade,))
    raw_policy = document.get('unmentioned') or {}
    if not isinstance(raw_policy, dict):
        raise DocumentError('unmentioned must be a mapping of kind to policy, not %s' % type(raw_policy).__name__)
    policy = OrderedDict()
    for key in raw_policy:
        if key not in KINDS and key not in DECLARED_KINDS:
            raise DocumentError('unmentioned: unknown kind %s; known: %s' % (key, ', '.join(tuple(KINDS) + DECLARED_KINDS)))
    for kind, spec in KINDS.items():
        value = raw_policy.get(kind) or 'ignore'
        if value not in POLICIES + spec['states']:
            raise DocumentError('unmentioned.%s: %r is not one of %s' % (kind, value, ', '.join(POLICIES + spec['states'])))
        policy[kind] = value
    declared = OrderedDict()
    try:
        for kind in DECLARED_KINDS:
            declared[kind] = normalize_entries(kind, document.get(kind))
            policy[kind] = normalize_policy(kind, raw_policy.get(kind))
    except DeclaredError as exc:
        raise DocumentError(str(exc))
    return dict(entries=entries, policy=policy, ml_upgrade_mode=upgrade, declared=declared)


def declared_kinds_to_read(normalized):
    """The calendars and filters the plan reads: a declared kind, or one whose unmentioned policy is report."""
    return [kind for kind in DECLARED_KINDS if normalized['declared'][kind] or normalized['policy'][kind] != 'ignore']


def deletes_filters(normalized):
    """A filter declared absent: every job's configuration is read (a filter a job's rule uses cannot be deleted)."""
    return any(entry['state'] == ABSENT for entry in normalized['declared']['ml_filters'])


def kinds_to_read(normalized):
    """The kinds whose objects the plan needs first (declared, or a policy other than ignore); ML jobs go with
    datafeeds (a datafeed's job decides its start). The datafeeds of ML job entries alone are read only when a job
    step needs them (``needs_datafeeds``)."""
    wanted = [kind for kind in KINDS if normalized['entries'][kind] or normalized['policy'][kind] != 'ignore']
    if deletes_filters(normalized):
        wanted.append('ml_jobs')
    if 'datafeeds' in wanted:
        wanted = unique_items(['ml_jobs'] + wanted)
    return [kind for kind in KINDS if kind in wanted]


def ml_entries_asked_one_by_one(normalized):
    """Whether Elasticsearch itself should expand each ML job entry (one stats request per entry) instead of one read
    of every job's config and stats with the expansion here: when that costs no more requests (at most two entries)
    and nothing needs every job (no unmentioned policy, no datafeed entries)."""
    return (0 < len(normalized['entries']['ml_jobs']) <= 2 and normalized['policy']['ml_jobs'] == 'ignore'
            and not normalized['entries']['datafeeds'] and normalized['policy']['datafeeds'] == 'ignore'
            and not any(entry['config'] is not None for entry in normalized['entries']['ml_jobs'])
            and not deletes_filters(normalized))


# -- selection: Elasticsearch's rules over one read of every object --------------------------------------------

def select(kind, tokens, objects):
    """``(ids selected, exact tokens that match nothing)``, as Elasticsearch expands ``tokens``:

    * ML jobs (6.8 GroupOrJobLookup.expandJobIds; 7.x+ JobConfigProvider.expandJobsIds): ``_all``/``*`` every job; a
      pattern matches job ids and group names; an exact token is a job id or a group name;
    * datafeeds (DatafeedConfigProvider.expandDatafeedIds): ids only, no groups;
    * rollup jobs: the rollup modules' own selection (``_rollup_job.resolve_selector``: ES's GET knows no patterns).
    """
    if kind == 'rollup_jobs':
        return resolve_selector(tokens, objects)
    selected = []
    missing = []
    for token in tokens:
        hits = []
        for object_id in sorted(objects):
            groups = objects[object_id].get('groups') or [] if kind == 'ml_jobs' else []
            if simple_match(token, object_id) or any(simple_match(token, group) for group in groups):
                hits.append(object_id)
        if not hits and not (token == '_all' or '*' in token):
            missing.append(token)
        for object_id in hits:
            if object_id not in selected:
                selected.append(object_id)
    return sorted(selected), missing


def _missing_error(kind, missing):
    if kind == 'ml_jobs':
        return 'no job or job group matches %s; check the id' % ', '.join(missing)
    if kind == 'datafeeds':
        return 'no datafeed with id %s exists' % ', '.join(missing)
    return missing_message(missing)


# -- the engines' plans, offline -----------------------------------------------------------------------------

def _adapter(kind, entry, version, ids, upgrade_mode, datafeeds, job_states):
    if kind == 'ml_jobs':
        adapter = MlJobAdapter(None, entry['state'], ids, force=entry['force'], force_failed=entry['force_failed'],
                               api=VersionOnlyMlApi(version))
        adapter.datafeeds = dict((facts.get('job_id'), df_id) for df_id, facts in datafeeds.items())
    elif kind == 'datafeeds':
        adapter = MlDatafeedAdapter(None, entry['state'], ids, force=entry['force'], start=entry['start'],
                                    end=entry['end'], api=VersionOnlyMlApi(version))
        adapter.job_states = dict(job_states)
    else:
        adapter = RollupJobAdapter(None, entry['state'], ids, force=entry['force'])
        adapter.reader.ids, adapter.reader.missing = list(ids), []
        return adapter
    adapter.upgrade_mode = upgrade_mode
    return adapter


def _current(kind, ids, objects):
    current = OrderedDict()
    for object_id in ids:
        facts = objects[object_id]
        if kind == 'ml_jobs':
            current[object_id] = dict(state=facts['state'], assigned=bool(facts.get('assigned')),
                                      assignment_explanation=facts.get('assignment_explanation'))
        elif kind == 'datafeeds':
            current[object_id] = dict(state=facts['state'], job_id=facts.get('job_id'))
        else:
            current[object_id] = dict(state=facts['state'])
    return current


# -- the plan ------------------------------------------------------------------------------------------------

def plan(snapshot, document):
    """The plan of one cluster.

    ``snapshot``: ``version`` ('8.19.3'); ``upgrade_mode`` (bool, or None when not read); ``ml_jobs``
    ``{id: {state, groups, assigned, assignment_explanation}}``, ``datafeeds`` ``{id: {state, job_id}}``,
    ``rollup_jobs`` ``{id: {state}}`` (a kind left out was not read: see ``kinds_to_read``); optionally
    ``selected`` ``{kind: {entry index: [ids]}}``, an entry's selection as Elasticsearch expanded it (then those
    objects are all the snapshot holds of that kind).
    ``document``: the desired-state document (checked with ``normalize``; DocumentError when it is wrong).

    Returns ``objects`` (one row per selected object), ``entries`` (per kind, one summary per entry), ``steps``
    (the stages in the safe order, each one entry's objects that move, with the adapters' actions and the
    privilege operations they send), ``operations`` (every operation the plan sends), ``ml_upgrade_mode``,
    ``unmanaged``, ``errors`` ({kind, selector, msg}), ``drift`` (objects that would move) and
    ``needs_upgrade_mode`` (an ML object moves but ``upgrade_mode`` was not read: read it and plan again),
    ``needs_datafeeds`` (a job step the engine pairs with its datafeed on this version, and no datafeed read).
    """
    normalized = normalize(document)
    version = parse_version(snapshot['version'])
    errors = []
    entries = OrderedDict((kind, [dict(entry) for entry in normalized['entries'][kind]]) for kind in KINDS)
    policy = normalized['policy']
    objects_of = dict((kind, dict(snapshot.get(kind) or {})) for kind in KINDS)   # a kind not read holds nothing
    upgrade_now = snapshot.get('upgrade_mode')
    upgrade_during = False if normalized['ml_upgrade_mode'] is False else upgrade_now
    configs = dict(ml_jobs=_plan_configs(entries['ml_jobs'], objects_of['ml_jobs'], version, upgrade_during, errors))
    configs['datafeeds'] = _plan_datafeed_configs(entries['datafeeds'], objects_of, version, upgrade_during, errors,
                                                  snapshot.get('ml_jobs') is not None)
    configs['rollup_jobs'], rollup_indices = _plan_rollup_configs(entries['rollup_jobs'], objects_of['rollup_jobs'],
                                                                  snapshot.get('rollup_indices'), errors)

    # Selection of every entry, then the unmentioned objects (policy: a state = one more entry, never forced).
    selected_by = dict((kind, OrderedDict()) for kind in KINDS)   # id -> the first entry that selected it
    unmanaged = []
    given = snapshot.get('selected') or {}
    for kind in KINDS:
        for index, entry in enumerate(entries[kind]):
            if index in given.get(kind, {}):
                ids, missing = sorted(given[kind][index]), []
            else:
                ids, missing = select(kind, entry['ids'], objects_of[kind])
            entry['selected'] = ids
            entry['error'] = entry.get('error')   # a refused declared config (_plan_configs) keeps its error
            if missing and entry['state'] != ABSENT:
                entry['error'] = _missing_error(kind, missing)
                errors.append(dict(kind=kind, selector=entry['selector'], msg=entry['error']))
            for object_id in ids:
                first = selected_by[kind].get(object_id)
                if first is None:
                    selected_by[kind][object_id] = entry
                elif first['state'] != entry['state']:
                    errors.append(dict(kind=kind, selector=entry['selector'], msg='%s %s is selected by %s (%s) and by %s (%s)' % (
                        KINDS[kind]['noun'], object_id, first['selector'], first['state'], entry['selector'], entry['state'])))
        if policy[kind] != 'ignore':
            rest = [object_id for object_id in sorted(objects_of[kind]) if object_id not in selected_by[kind]]
            for object_id in rest:
                unmanaged.append(dict(kind=kind, id=object_id, state=objects_of[kind][object_id]['state'], policy=policy[kind]))
            if rest and policy[kind] not in POLICIES:
                entry = dict(ids=rest, selector=UNMENTIONED, state=policy[kind], force=False, force_failed=False,
                             timeout=_timeout(kind, 0, None), start=None, end=None, unmentioned=True, selected=rest,
                             error=None)
                entries[kind].append(entry)
                for object_id in rest:
                    selected_by[kind][object_id] = entry

    # A datafeed declared started whose job is declared closed or absent can never run.
    for df_id, entry in selected_by['datafeeds'].items():
        job_id = objects_of['datafeeds'][df_id].get('job_id')
        job_entry = selected_by['ml_jobs'].get(job_id)
        if entry['state'] == 'started' and job_entry is not None and job_entry['state'] in ('closed', ABSENT):
            errors.append(dict(kind='datafeeds', selector=entry['selector'],
                               msg='datafeed %s is declared started but its job %s is declared %s (%s)'
                               % (df_id, job_id, job_entry['state'], job_entry['selector'])))

    # ML upgrade mode as it will be while the object stages run: off when the plan turns it off first.
    desired_upgrade = normalized['ml_upgrade_mode']

    rows = []
    steps = []
    predicted_jobs = dict((job_id, facts['state']) for job_id, facts in objects_of['ml_jobs'].items())
    ml_moves = False
    for kind in KINDS:
        for index, entry in enumerate(entries[kind]):
            own = [object_id for object_id in entry['selected'] if selected_by[kind][object_id] is entry]
            planned_steps = []
            if own and entry['error'] is None:
                adapter = _adapter(kind, entry, version, own, upgrade_during, objects_of['datafeeds'], predicted_jobs)
                try:
                    planned_steps = adapter.plan(_current(kind, own, objects_of[kind]))
                except PlanError as exc:
                    entry['error'] = exc.message
                    errors.append(dict(kind=kind, selector=entry['selector'], msg=exc.message))
            actions = OrderedDict((object_id, []) for object_id in own)
            planned = dict((object_id, objects_of[kind][object_id]['state']) for object_id in own)
            for step in planned_steps:
                actions[step.object_id].append(step.action)
                planned[step.object_id] = step.after
            moving = [object_id for object_id in own if actions[object_id]]
            if kind == 'ml_jobs':
                predicted_jobs.update((job_id, planned[job_id]) for job_id in moving)
            if moving and kind != 'rollup_jobs':
                ml_moves = True
            for object_id in own:
                config = configs.get(kind, {}).get(object_id)
                row_actions = list(actions[object_id])
                if config is not None and config['action']:
                    # the configuration stage runs after the closes and before the opens
                    opens = [i for i, action in enumerate(row_actions) if action in ('open', 'wait', 'start')]
                    row_actions.insert(opens[0] if opens else len(row_actions), config['action'])
                    ml_moves = True
                row = OrderedDict([('kind', kind), ('id', object_id), ('selector', entry['selector']),
                                   ('desired', entry['state']),
                                   ('before', ABSENT if config is not None and config['action'] == 'create'
                                    else objects_of[kind][object_id]['state']),
                                   ('planned', planned[object_id]), ('actions', row_actions),
                                   ('drift', bool(row_actions)), ('unmentioned', entry['unmentioned'])])
                if kind == 'datafeeds':
                    row['job_id'] = objects_of[kind][object_id].get('job_id')
                if config is not None:
                    row['config'] = config['action']
                    row['config_changes'] = config['changes']
                rows.append(row)
            entry['summary'] = OrderedDict([('selector', entry['selector']), ('state', entry['state']),
                                            ('objects', len(entry['selected'])),
                                            ('drift', sum(1 for row in rows[len(rows) - len(own):] if row['drift'])),
                                            ('failed', entry['error'] is not None), ('unmentioned', entry['unmentioned'])])
            if moving:
                stage_steps = [step for step in planned_steps if step.object_id in moving]
                steps.append(OrderedDict([
                    ('stage', '%s_%s' % (kind, entry['state'])), ('kind', kind), ('state', entry['state']),
                    ('selector', entry['selector']), ('ids', moving),
                    ('actions', OrderedDict((object_id, actions[object_id]) for object_id in moving)),
                    ('operations', type(adapter).operations(stage_steps)),
                    ('options', OrderedDict([('force', entry['force']), ('force_failed', entry['force_failed']),
                                             ('timeout', entry['timeout']), ('start', entry['start']),
                                             ('end', entry['end'])]))]))

    steps.extend(_config_stages(entries['ml_jobs'], configs['ml_jobs'], rows, objects_of, version))
    steps.extend(_datafeed_config_stages(entries['datafeeds'], configs['datafeeds'], rows))
    steps.extend(_rollup_config_stages(entries['rollup_jobs'], configs['rollup_jobs'], rows))
    declared = plan_declared(snapshot, normalized['declared'], policy, upgrade_during, tuple(version) >= (7, 8, 0),
                             jobs_after_plan(snapshot, entries['ml_jobs'], configs['ml_jobs'], rows))
    rows.extend(declared['rows'])
    steps.extend(declared['stages'])
    errors.extend(declared['errors'])
    unmanaged.extend(declared['unmanaged'])
    ml_moves = ml_moves or bool(declared['stages'])
    needs_datafeeds_for_replace = snapshot.get('datafeeds') is None and any(
        config['action'] == REPLACE for config in configs['ml_jobs'].values())

    upgrade = None
    if desired_upgrade is not None:
        drift = upgrade_now is not None and upgrade_now != desired_upgrade
        upgrade = OrderedDict([('desired', desired_upgrade), ('before', upgrade_now),
                               ('planned', desired_upgrade if upgrade_now is not None else None), ('drift', drift)])
        if drift:
            steps.append(OrderedDict([
                ('stage', 'upgrade_mode_on' if desired_upgrade else 'upgrade_mode_off'), ('kind', 'ml_upgrade_mode'),
                ('state', desired_upgrade), ('selector', 'ml_upgrade_mode'), ('ids', []), ('actions', {}),
                ('operations', ['set_upgrade_mode']),
                ('options', OrderedDict([('timeout', UPGRADE_MODE_TIMEOUT)]))]))
    steps.sort(key=lambda stage: STAGES.index(stage['stage']))   # stable: entries keep document order in a stage

    operations = []
    for stage in steps:
        for operation in stage['operations']:
            if operation not in operations:
                operations.append(operation)
    drift = sum(1 for row in rows if row['drift']) + (1 if upgrade is not None and upgrade['drift'] else 0)
    job_actions = set(action for row in rows if row['kind'] == 'ml_jobs' for action in row['actions'])
    needs_datafeeds = needs_datafeeds_for_replace or snapshot.get('datafeeds') is None and bool(
        (job_actions & set(('close', 'force_close')) and not close_stops_datafeeds(version))
        or (job_actions & set(('delete', 'force_delete')) and not delete_removes_datafeed(version)))
    return OrderedDict([
        ('version', snapshot['version']),
        ('policy', policy),
        ('entries', OrderedDict([(kind, [entry['summary'] for entry in entries[kind]]) for kind in KINDS]
                                + list(declared['entries'].items()))),
        ('objects', rows),
        ('ml_upgrade_mode', upgrade),
        ('unmanaged', unmanaged),
        ('steps', steps),
        ('operations', operations),
        ('errors', errors),
        ('drift', drift),
        ('needs_upgrade_mode', upgrade_now is None and (ml_moves or desired_upgrade is not None)),
        ('needs_datafeeds', needs_datafeeds),
        ('needs_rollup_indices', rollup_indices),
    ])


# -- declared configurations ---------------------------------------------------------------------------------

def _plan_configs(entries, jobs, version, upgrade_during, errors):
    """Each ML job entry with ``config``: ``{job_id: {action (create, update, replace or None), changes, body}}``.
    A missing job is added to ``jobs`` as it will be once created (closed), so selection and the state plan see it;
    a replace without ``recreate`` is the entry's error, naming each field."""
    configs = OrderedDict()
    for entry in entries:
        if entry['config'] is None:
            continue
        job_id = entry['ids'][0]
        facts = jobs.get(job_id)
        if facts is None:
            # Job ids and group names share one namespace (Job.Builder / JobManager: "job and group names must be
            # unique"); found here, the refusal comes before any change instead of from the PUT.
            groups = list(entry['config'].get('groups') or [])
            clashes = sorted(set([group for group in groups if group in jobs] + (
                [job_id] if any(job_id in (other.get('groups') or []) for other in jobs.values()) else [])))
            if clashes or job_id in groups:
                message = ('ML job %s cannot be created: job and group names must be unique, and %s is already a %s '
                           '(nothing was changed)' % (job_id, ', '.join(clashes or [job_id]),
                                                      'job or group' if clashes else 'group of this job'))
                entry['error'] = message
                errors.append(dict(kind='ml_jobs', selector=entry['selector'], msg=message))
                continue
            jobs[job_id] = dict(state='closed', groups=groups, assigned=False,
                                assignment_explanation=None, config=None)
            changes = [OrderedDict([('path', key), ('current', None), ('desired', value), ('change', 'create'),
                                    ('reason', None)]) for key, value in entry['config'].items()]
            configs[job_id] = dict(action='create', changes=changes, body=dict(entry['config']))
        else:
            closed = facts['state'] == 'closed' or entry['state'] == 'closed'   # the closes run before this stage
            changes = job_changes(facts.get('config') or {}, entry['config'], version, closed)
            replaces = replace_fields(changes)
            action = (REPLACE if replaces else 'update') if changes else None
            configs[job_id] = dict(action=action, changes=changes,
                                   body=job_update_body(facts.get('config') or {}, entry['config'], changes)
                                   if action == 'update' else dict(entry['config']))
            message = None
            if replaces and not entry['recreate']:
                message = ('ML job %s needs a replace, Elasticsearch cannot update %s in place; nothing was changed '
                           '(set recreate: true to back the job up, delete it and create it again with its state '
                           'restored, or change config)' % (job_id, ', '.join(
                               item['path'] if item['reason'] == CANNOT_UPDATE else '%s (%s)' % (item['path'], item['reason'])
                               for item in replaces)))
            elif action == REPLACE and facts['state'] not in ('opened', 'closed'):
                message = ('ML job %s is %s; it is replaced only from opened or closed (nothing was changed)'
                           % (job_id, facts['state']))
            if message:
                entry['error'] = message
                errors.append(dict(kind='ml_jobs', selector=entry['selector'], msg=message))
                continue
        if configs[job_id]['action'] and upgrade_during and refused_in_upgrade_mode(version, 'put'):
            message = ('ML upgrade mode is enabled: Elasticsearch refuses to %s ML job %s until it is disabled '
                       '(ml_upgrade_mode: false); nothing was changed' % (configs[job_id]['action'], job_id))
            entry['error'] = message
            errors.append(dict(kind='ml_jobs', selector=entry['selector'], msg=message))
    return configs


def _plan_datafeed_configs(entries, objects_of, version, upgrade_during, errors, jobs_read):
    """Each datafeed entry with ``config``: ``{datafeed_id: {action, changes, body}}``, as ``_plan_configs`` does for
    jobs; a missing datafeed is added to the datafeeds as it will be once created (stopped)."""
    configs = OrderedDict()
    feeds = objects_of['datafeeds']
    for entry in entries:
        if entry['config'] is None:
            continue
        df_id = entry['ids'][0]
        facts = feeds.get(df_id)
        message = None
        job_id = entry['config']['job_id']
        if jobs_read and job_id not in objects_of['ml_jobs']:
            message = ('datafeed %s: its job %s does not exist and is not declared with a config (nothing was changed)'
                       % (df_id, job_id))
        elif facts is None:
            others = [other for other, feed in sorted(feeds.items()) if feed.get('job_id') == job_id]
            if others:
                message = ('datafeed %s cannot be created: job %s already has datafeed %s (nothing was changed)'
                           % (df_id, job_id, others[0]))
            feeds[df_id] = dict(state='stopped', job_id=job_id, config=None)
            changes = [OrderedDict([('path', key), ('current', None), ('desired', value), ('change', 'create'),
                                    ('reason', None)]) for key, value in entry['config'].items()]
            configs[df_id] = dict(action='create', changes=changes, body=dict(entry['config']))
        else:
            changes = datafeed_changes(facts.get('config') or {}, entry['config'], version)
            replaces = replace_fields(changes)
            action = (REPLACE if replaces else 'update') if changes else None
            configs[df_id] = dict(action=action, changes=changes,
                                  body=datafeed_update_body(facts.get('config') or {}, entry['config'], changes)
                                  if action == 'update' else dict(entry['config']))
            if replaces and not entry['recreate']:
                message = ('datafeed %s needs a replace, Elasticsearch cannot update %s in place; nothing was changed '
                           '(set recreate: true to delete it and create it again, or change config)' % (df_id, ', '.join(
                               item['path'] if item['reason'] == CANNOT_UPDATE else '%s (%s)' % (item['path'], item['reason'])
                               for item in replaces)))
        if message is None and df_id in configs and configs[df_id]['action'] and upgrade_during \
                and refused_in_upgrade_mode(version, 'put'):
            message = ('ML upgrade mode is enabled: Elasticsearch refuses to %s datafeed %s until it is disabled '
                       '(ml_upgrade_mode: false); nothing was changed' % (configs[df_id]['action'], df_id))
        if message:
            entry['error'] = message
            errors.append(dict(kind='datafeeds', selector=entry['selector'], msg=message))
    return configs


def _restarting_config_stages(kind, entries, configs, rows, running_during, operations):
    """One ``<kind>_config`` stage per object whose configuration changes (``configs[id]['action']``: an update,
    create or replace); an object still running then (``running_during(config, row, entry)``) is stopped first and
    started again after."""
    row_of = dict(((row['kind'], row['id']), row) for row in rows)
    stages = []
    for entry in entries:
        config = configs.get(entry['ids'][0]) if entry.get('config') is not None else None
        if config is None or not config['action'] or entry['error'] is not None:
            continue
        object_id = entry['ids'][0]
        row = row_of[(kind, object_id)]
        running = running_during(config, row, entry)
        middle = ['delete', 'create'] if config['action'] == REPLACE else [config['action']]
        actions = (['stop'] if running else []) + middle + (['start'] if running else [])
        _expand(row, config['action'], actions)
        if kind == 'datafeeds':
            row['restarted'] = running
        stages.append(OrderedDict([
            ('stage', '%s_config' % kind), ('kind', kind), ('state', entry['state']),
            ('selector', entry['selector']), ('ids', [object_id]), ('actions', OrderedDict([(object_id, actions)])),
            ('operations', unique_items([op for action in actions for op in operations[action]])),
            ('options', OrderedDict([('timeout', entry['timeout']), ('config_action', config['action']),
                                     ('body', config['body']), ('restart', running),
                                     ('changes', config['changes'])]))]))
    return stages


def _datafeed_config_stages(entries, configs, rows):
    """A datafeed whose configuration changes: a running one (still started after the stops of the plan, and
    declared started) is stopped first and started again after."""
    return _restarting_config_stages('datafeeds', entries, configs, rows, lambda config, row, entry: (
        config['action'] != 'create' and row['before'] == 'started' and entry['state'] == 'started'),
        DATAFEED_CONFIG_OPERATIONS)


def _plan_rollup_configs(entries, jobs, indices, errors):
    """Each rollup job entry with ``config``: ``{job_id: {action (create, replace or None), changes, body}}`` (a rollup
    job cannot be updated: every difference is a replace, refused without ``recreate``), and the rollup indices a
    create writes to that ``indices`` (``snapshot['rollup_indices']``: ``{index: {exists, readable, is_rollup,
    job_ids}}``, from ``_rollup_config.read_index_meta``) does not describe yet: the caller reads them and plans again.
    Elasticsearch refuses to create a job again into an index that recorded it (409 "existing metadata") or into an
    index without rollup data, so a replace needs a new ``rollup_index``, as a restore does."""
    configs = OrderedDict()
    needed = []
    for entry in entries:
        if entry['config'] is None:
            continue
        job_id = entry['ids'][0]
        facts = jobs.get(job_id)
        message = None
        if facts is None:
            jobs[job_id] = dict(state='stopped', config=None)
            changes = [OrderedDict([('path', key), ('current', None), ('desired', value), ('change', 'create'),
                                    ('reason', None)]) for key, value in entry['config'].items()]
            action = 'create'
        else:
            changes = [OrderedDict([('path', item['path']), ('current', item['current']), ('desired', item['desired']),
                                    ('change', REPLACE), ('reason', 'Elasticsearch cannot update a rollup job')])
                       for item in differences(facts.get('config') or {}, entry['config'])]
            action = REPLACE if changes else None
            if changes and not entry['recreate']:
                message = ('rollup job %s needs a replace, Elasticsearch cannot update %s; nothing was changed (set '
                           'recreate: true to back it up, delete it and create it again into a new rollup_index, or '
                           'change config)' % (job_id, ', '.join(item['path'] for item in changes)))
        configs[job_id] = dict(action=action, changes=changes, body=dict(entry['config']))
        index = entry['config']['rollup_index']
        if message is None and action is not None:
            meta = (indices or {}).get(index)
            if meta is None:
                needed.append(index)
            elif meta.get('exists') and meta.get('readable') and not meta.get('is_rollup'):
                message = ('rollup job %s: rollup index %s exists and holds no rollup data: Elasticsearch refuses to '
                           'add rollups to it; nothing was changed. Choose another config.rollup_index' % (job_id, index))
            elif job_id in (meta.get('job_ids') or []) and facts is not None:
                message = ('rollup job %s cannot be created again into %s: that index recorded it, and Elasticsearch '
                           'refuses it (HTTP 409 "... previously created (existing metadata)"); nothing was changed. '
                           'Declare a new config.rollup_index (the old rollups stay searchable in %s)'
                           % (job_id, index, index))
            elif job_id in (meta.get('job_ids') or []):
                message = existing_metadata_message(job_id, index)
        if message:
            entry['error'] = message
            errors.append(dict(kind='rollup_jobs', selector=entry['selector'], msg=message))
    return configs, unique_items(needed)


def _rollup_config_stages(entries, configs, rows):
    """A rollup job created or replaced (its action is never an update); one still started then (declared started)
    is stopped first and started again after; one declared stopped was stopped by an earlier stage."""
    return _restarting_config_stages('rollup_jobs', entries, configs, rows, lambda config, row, entry: (
        config['action'] == REPLACE and row['before'] != 'stopped' and entry['state'] == 'started'),
        ROLLUP_CONFIG_OPERATIONS)


def _expand(row, action, steps):
    """The row's actions show each request of its configuration stage (a stop before an update, ...)."""
    row['config_steps'] = steps
    index = row['actions'].index(action)
    row['actions'] = row['actions'][:index] + list(steps) + row['actions'][index + 1:]


def _config_stages(entries, configs, rows, objects_of, version):
    """One ``ml_jobs_config`` stage per job whose configuration changes. A replace lists every request it sends,
    from the states the job and its datafeed will be in when the stage runs (after the stops, closes and deletes)."""
    row_of = dict(((row['kind'], row['id']), row) for row in rows)
    stages = []
    for entry in entries:
        config = configs.get(entry['ids'][0]) if entry.get('config') is not None else None
        if config is None or not config['action'] or entry['error'] is not None:
            continue
        job_id = entry['ids'][0]
        row = row_of[('ml_jobs', job_id)]
        actions = [config['action']]
        datafeed_id = None
        if config['action'] == REPLACE:
            job_state = 'closed' if entry['state'] == 'closed' else row['before']
            feed_state = None
            for df_id, facts in sorted(objects_of['datafeeds'].items()):
                if facts.get('job_id') == job_id:
                    feed_row = row_of.get(('datafeeds', df_id))
                    feed_state = feed_row['planned'] if feed_row and feed_row['planned'] in ('stopped', ABSENT) \
                        else facts['state']
                    datafeed_id = df_id if feed_state != ABSENT else None
            # a datafeed runs only while its job is opened: a job the plan closes first has stopped it (the engine on
            # 7.13 and before, Elasticsearch's close from 7.14)
            running = datafeed_id is not None and feed_state != 'stopped' and job_state == 'opened'
            actions = (['stop_datafeed'] if running else []) + (['close'] if job_state == 'opened' else []) + \
                (['delete_datafeed'] if datafeed_id else []) + ['delete', 'create'] + \
                (['put_datafeed'] if datafeed_id else []) + (['open'] if job_state == 'opened' else []) + \
                (['start_datafeed'] if running else [])
            _expand(row, config['action'], actions)
        operations = unique_items([op for action in actions for op in CONFIG_OPERATIONS[action]])
        stages.append(OrderedDict([
            ('stage', 'ml_jobs_config'), ('kind', 'ml_jobs'), ('state', entry['state']), ('selector', entry['selector']),
            ('ids', [job_id]), ('actions', OrderedDict([(job_id, actions)])), ('operations', operations),
            ('options', OrderedDict([('timeout', entry['timeout']), ('config_action', config['action']),
                                     ('body', config['body']), ('datafeed_id', datafeed_id),
                                     ('changes', config['changes'])]))]))
    return stages


def jobs_after_plan(snapshot, job_entries, job_configs, rows):
    """``{job_id: config}`` of the ML jobs as they will be after this plan's job stages (deleted ones left out; a
    declared config's detector rules replace the current ones), or None when the jobs were not read."""
    if snapshot.get('ml_jobs') is None:
        return None
    deleted = set(row['id'] for row in rows if row['kind'] == 'ml_jobs' and row['planned'] == ABSENT)
    declared = dict((entry['ids'][0], entry['config']) for entry in job_entries
                    if entry.get('config') is not None and entry.get('error') is None)
    jobs = OrderedDict()
    for job_id, facts in snapshot['ml_jobs'].items():
        if job_id not in deleted:
            jobs[job_id] = _rules_after(facts.get('config') or {}, declared.get(job_id))
    for job_id, config in declared.items():
        if job_id not in jobs and job_id not in deleted and (job_configs.get(job_id) or {}).get('action') == 'create':
            jobs[job_id] = config
    return jobs


def _rules_after(current, declared):
    """The job's configuration with each detector's ``custom_rules`` as declared (kept when left out)."""
    if not declared or 'analysis_config' not in declared:
        return current
    have = (current.get('analysis_config') or {}).get('detectors') or []
    detectors = []
    for index, detector in enumerate((declared.get('analysis_config') or {}).get('detectors') or []):
        rules = detector.get('custom_rules') if 'custom_rules' in detector else \
            (have[index].get('custom_rules') if index < len(have) else None)
        detectors.append(dict(detector, custom_rules=rules or []))
    return dict(current, analysis_config=dict(declared['analysis_config'], detectors=detectors))


def unique_items(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
