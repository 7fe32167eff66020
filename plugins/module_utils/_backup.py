# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops backup files: their records, their file names, reading them back, and the cluster they are bound to.

One place for the format the retire roles write (``write_files`` option ``backups``) and ``job_restore`` reads
(``backup_info``, then ``ml_job``/``rollup_job`` option ``backup_cluster``).

File names come from job ids, and Elasticsearch accepts almost anything in a rollup job id (only a non-empty
string is required: ``RollupJobConfig`` constructor, x-pack/plugin/core/.../rollup/job/RollupJobConfig.java),
so ``/``, ``..``, upper case and non-ASCII are possible. ``encode_id`` keeps ``[a-z0-9_-]`` (every ML job id
and the usual rollup id, so those names are unchanged from the plain-id names of earlier releases) and writes
every other UTF-8 byte as ``%XX`` (upper-case hex): never a path separator or dot, unique, reversible, and
still unique on a case-insensitive file system.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible.module_utils.common.text.converters import to_bytes, to_text

BACKUP_FORMAT = 1
ML_KIND = 'ml_anomaly_detection_job'
ROLLUP_KIND = 'rollup_job'
#: kind -> file name prefix
PREFIXES = {ML_KIND: 'ml-job', ROLLUP_KIND: 'rollup-job'}
#: converge backs up a deleted calendar or filter as a desired-state document fragment, not a restore record
CALENDAR_KIND = 'ml_calendar'
FILTER_KIND = 'ml_filter'
FILE_PREFIXES = dict(PREFIXES, **{CALENDAR_KIND: 'ml-calendar', FILTER_KIND: 'ml-filter'})
#: most file systems allow 255 bytes in one name
MAX_NAME_BYTES = 255

_SAFE = frozenset(bytearray(b'abcdefghijklmnopqrstuvwxyz0123456789_-'))
_ENCODED_RE = re.compile(r'^(?:[a-z0-9_-]|%[0-9A-F]{2})+$')


def encode_id(job_id):
    """A job id as a file-name-safe string (see the module docstring); ``decode_id`` reverses it."""
    job_id = to_text(job_id)
    if not job_id:
        raise ValueError('a backup needs a job id')
    out = []
    for byte in bytearray(to_bytes(job_id, errors='surrogate_or_strict')):
        out.append(chr(byte) if byte in _SAFE else '%%%02X' % byte)
    return ''.join(out)


def decode_id(text):
    """The job id ``encode_id`` encoded as ``text``; ValueError when ``text`` is no such encoding."""
    if not _ENCODED_RE.match(text or ''):
        raise ValueError('%r is not an encoded job id' % (text,))
    raw = bytearray()
    index = 0
    while index < len(text):
        if text[index] == '%':
            raw.append(int(text[index + 1:index + 3], 16))
            index += 3
        else:
            raw.append(ord(text[index]))
            index += 1
    return to_text(bytes(raw), errors='surrogate_or_strict')


def backup_file_name(kind, job_id, stamp):
    """``ml-job-<encoded id>-<stamp>.json`` / ``rollup-job-<encoded id>-<stamp>.json``: a name, never a path."""
    name = '%s-%s-%s.json' % (FILE_PREFIXES[kind], encode_id(job_id), stamp)
    if len(to_bytes(name)) > MAX_NAME_BYTES:
        raise ValueError('job id %r is too long for a backup file name (%d bytes encoded, at most %d)'
                         % (to_text(job_id), len(to_bytes(name)), MAX_NAME_BYTES))
    return name


def backup_record(kind, job, cluster, stamp):
    """The backup of one job as ``ml_job_info``/``rollup_job_info`` (``include_put_config``) reported it.

    Only what was read from that cluster in this run: an ML job without a datafeed now is backed up without one.
    """
    if not isinstance(job, dict) or not job.get('job_id'):
        raise ValueError('each job needs a job_id (the jobs of ml_job_info or rollup_job_info)')
    if not isinstance(job.get('put_config'), dict):
        raise ValueError('job %s has no put_config (read it with include_put_config: true)' % to_text(job['job_id']))
    record = {'esops_backup': BACKUP_FORMAT, 'kind': kind, 'saved_at': stamp, 'cluster': cluster,
              'job_id': to_text(job['job_id']), 'state': job.get('state')}
    if kind == ML_KIND:
        feed = job.get('datafeed')
        record['job'] = job['put_config']
        record['datafeed'] = feed.get('put_config') if isinstance(feed, dict) else None
    elif kind == ROLLUP_KIND:
        record['config'] = job['put_config']
        record['stats'] = job.get('stats') or {}
    else:
        raise ValueError('unknown backup kind %r' % (kind,))
    return record


# -- reading them back -----------------------------------------------------------------------------

def parse_backup(path, text):
    """One backup file's record, with ``job_id`` a string and ``cluster`` a dict (uuid/name None when the backup
    does not record them); ValueError naming the file otherwise."""
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ValueError('%s is not JSON (%s); is it an esops backup file?' % (path, to_text(exc).splitlines()[0]))
    if not isinstance(record, dict) or 'esops_backup' not in record:
        raise ValueError('%s is not an esops backup file (no esops_backup key)' % path)
    if record.get('kind') not in PREFIXES:
        raise ValueError('%s: unknown backup kind %r (expected %s)' % (path, record.get('kind'), ' or '.join(sorted(PREFIXES))))
    if record.get('job_id') in (None, ''):
        raise ValueError('%s: the backup names no job_id' % path)
    body = record.get('job' if record['kind'] == ML_KIND else 'config')
    if not isinstance(body, dict):
        raise ValueError('%s: the backup holds no job configuration' % path)
    record = dict(record, job_id=to_text(record['job_id']))
    cluster = record.get('cluster') if isinstance(record.get('cluster'), dict) else {}
    record['cluster'] = dict(cluster, uuid=cluster.get('uuid') or None, name=cluster.get('name') or None)
    return record


def duplicate_jobs(paths_and_records):
    """``[(kind, job_id, [paths])]`` for every job that more than one file backs up, in the order first seen."""
    seen = {}
    order = []
    for path, record in paths_and_records:
        key = (record['kind'], record['job_id'])
        if key not in seen:
            seen[key] = []
            order.append(key)
        seen[key].append(path)
    return [(kind, job_id, seen[(kind, job_id)]) for kind, job_id in order if len(seen[(kind, job_id)]) > 1]


def describe_duplicates(duplicates):
    return '; '.join('%s %s in %s' % ('ML job' if kind == ML_KIND else 'rollup job', job_id, ', '.join(paths))
                     for kind, job_id, paths in duplicates)


# -- the cluster a backup is bound to --------------------------------------------------------------

def _cluster_text(cluster):
    return '%s (%s)' % (cluster.get('name') or 'unnamed', cluster.get('uuid'))


def cluster_binding_problem(job_id, saved, reached):
    """Why a backup saved on cluster ``saved`` must not be restored on ``reached`` (both ``{'uuid', 'name'}``), or
    None when both uuids are known and equal. Unknown on either side is a refusal: a guard that cannot tell fails
    closed. The ``monitor`` cluster privilege is what reads the uuid (GET /, ``cluster:monitor/main``)."""
    saved = saved or {}
    reached = reached or {}
    if not reached.get('uuid'):
        return ('cannot tell which cluster this task reaches (its uuid is unknown: the credential lacks the cluster '
                'privilege monitor, needed for GET /), so the backup of %s, saved on cluster %s, cannot be matched to it'
                % (job_id, _cluster_text(saved)) if saved.get('uuid') else
                'the cluster uuid is unknown on both sides: the backup of %s records none (written by a credential '
                'without the cluster privilege monitor) and this task cannot read it either (the credential lacks '
                'the cluster privilege monitor)' % job_id)
    if not saved.get('uuid'):
        return ('the backup of %s records no cluster uuid (it was written by a credential without the cluster '
                'privilege monitor), so it cannot be matched to cluster %s that this task reaches'
                % (job_id, _cluster_text(reached)))
    if saved['uuid'] != reached['uuid']:
        return ('%s was backed up on cluster %s, but this task reaches cluster %s'
                % (job_id, _cluster_text(saved), _cluster_text(reached)))
    return None


def refuse_other_cluster(module, job_id):
    """``ml_job``/``rollup_job`` option ``backup_cluster``: fail the module, before anything is planned or sent,
    when the cluster it reaches is not (provably) the one the backup was taken on."""
    saved = module.params.get('backup_cluster')
    if saved is None:
        return
    problem = cluster_binding_problem(job_id, saved, module.client.cluster_identity(read=True))
    if problem:
        module.fail_json(msg='%s; nothing was changed' % problem, job_id=job_id, changed=False, other_cluster=True)


def with_rollup_index(records, rollup_index):
    """The records with ``config.rollup_index`` replaced for the rollup job ids ``rollup_index`` maps (keys taken as
    strings: YAML reads ``123:`` as an integer); ValueError for an index that is not a non-empty string. Keys no record
    holds are left alone (one mapping may serve the backup files of every cluster of a fleet)."""
    wanted = dict((to_text(key), value) for key, value in (rollup_index or {}).items())
    for job_id, index in wanted.items():
        if not isinstance(index, str) or not index.strip():
            raise ValueError('rollup_index: give the rollup index of %s as a non-empty string, not %r' % (job_id, index))
    out = []
    for record in records:
        if record['kind'] == ROLLUP_KIND and record['job_id'] in wanted:
            record = dict(record, config=dict(record['config'], rollup_index=wanted[record['job_id']]))
        out.append(record)
    return out
