# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet runbooks' plan, computed on the controller before the first change (action plugin fleet_plan).

* Paths: every path option of a runbook is relative to the operator's working directory (where
  ansible-playbook was started), never to the playbook's directory, which for ``ansible-playbook
  esops.jobs.<runbook>`` is inside the installed collection (modules run there). Each inventory host's files.
* Files: two hosts, or a host and the summary, writing one file is refused; backup files to read must exist.
* Clusters: two inventory hosts that reach one cluster (the same ``cluster_uuid`` in their probe results, e.g.
  ``-e es_url=...`` applies to every host of a group) refuse the run; a host whose cluster identity is unknown
  (the credential lacks ``monitor``) is refused on its own, since it could be any of the others.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

STATE_FILE = 'state_file'
BACKUP_DIR = 'backup_dir'
EXPORT_FILE = 'export_file'
WRITES = (STATE_FILE, BACKUP_DIR, 'nothing', EXPORT_FILE)

DEFAULT_STATE_FILE = 'esops-maintenance-window.json'
DEFAULT_STATE_DIR = 'esops-maintenance-window'
DEFAULT_BACKUP_DIR = 'esops-backups'
DEFAULT_EXPORT_DIR = 'desired'

NOTHING_CHANGED = 'Nothing was changed.'
UNKNOWN_IDENTITY = (
    "its cluster's identity is unknown (GET / was refused or the cluster state is not recovered; the credential "
    'needs the cluster privilege monitor), so it could be the cluster of another inventory host: refused. '
    + NOTHING_CHANGED)

# Characters kept as they are in a per-host file name; anything else (a '/', '..', spaces) is %XX-encoded, so
# a name is never a path and two host names never share a file.
_SAFE_NAME = re.compile(r'[A-Za-z0-9_-]|\.(?!$)')


def operator_path(path, cwd):
    """``path`` as an absolute, normalised path: ``~`` expanded, a relative path taken from ``cwd``."""
    if path is None or str(path).strip() == '':
        return ''
    path = os.path.expanduser(str(path).strip())
    if not os.path.isabs(path):
        path = os.path.join(cwd, path)
    return os.path.normpath(path)


def file_name(host):
    """A file name for an inventory host name: itself when it is plain, else %XX-encoded (never a path)."""
    text = str(host)
    out = []
    for index, char in enumerate(text):
        plain = _SAFE_NAME.match(text, index)
        if plain and not (index == 0 and char == '.'):
            out.append(char)
        else:
            out.extend('%%%02X' % byte for byte in char.encode('utf-8'))
    return ''.join(out) or '%00'


def records_dir(summary_file):
    """Where each cluster's summary entry is written as soon as it is known: ``<summary_file>.d/``."""
    return summary_file + '.d' if summary_file else ''


def as_list(value):
    """A list option given as a list or a comma-separated string, as the roles read it."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value).split(',')
    return [str(item).strip() for item in items if str(item).strip()]


def host_paths(host, options, cwd, summary_file):
    """The absolute paths one inventory host's run uses (its options as given, relative to ``cwd``)."""
    options = options or {}
    per_host = host != 'localhost'
    state_file = options.get('state_file') or ''
    state_dir = options.get('state_dir') or ''
    if state_file:
        state = operator_path(state_file, cwd)
    elif per_host or state_dir:
        state = operator_path(os.path.join(state_dir or DEFAULT_STATE_DIR, file_name(host) + '.json'), cwd)
    else:
        state = operator_path(DEFAULT_STATE_FILE, cwd)
    backup_dir = operator_path(options.get('backup_dir') or DEFAULT_BACKUP_DIR, cwd)
    if per_host:
        backup_dir = os.path.join(backup_dir, file_name(host))
    record = os.path.join(records_dir(summary_file), file_name(host) + '.json') if summary_file else ''
    return {
        'state_file': state,
        'backup_dir': backup_dir,
        # export_desired.yml: every host, localhost too, writes <export_dir>/<host>.yml (a converge_desired_file)
        'export_file': operator_path(os.path.join(options.get('export_dir') or DEFAULT_EXPORT_DIR,
                                                  file_name(host) + '.yml'), cwd),
        'backup_files': [operator_path(path, cwd) for path in as_list(options.get('backup_files'))],
        'record_file': record,
    }


def shared_files(paths, writes, summary_file):
    """One line per file that two writers would share (hosts by name, or the summary), else []."""
    owners = {}
    if summary_file:
        owners.setdefault(summary_file, []).append('summary_file')
    for host, host_paths_ in paths.items():
        if writes in (STATE_FILE, BACKUP_DIR, EXPORT_FILE):
            owners.setdefault(host_paths_[writes], []).append(host)
        if host_paths_['record_file']:
            owners.setdefault(host_paths_['record_file'], []).append('%s (its summary entry)' % host)
    return ['%s (%s)' % (path, ', '.join(names)) for path, names in sorted(owners.items()) if len(names) > 1]


def missing_files(files):
    """The files of ``files`` that are not readable regular files."""
    return [path for path in files if not (os.path.isfile(path) and os.access(path, os.R_OK))]


def probed_cluster(probe):
    """(probed, cluster) from a host's registered probe result: not probed when skipped, absent or failed."""
    if not isinstance(probe, dict) or probe.get('skipped') or probe.get('failed') or 'cluster' not in probe:
        return False, None
    cluster = probe.get('cluster')
    return True, cluster if isinstance(cluster, dict) else None


def same_cluster_hosts(clusters):
    """``[(uuid, name, [hosts])]`` for every cluster_uuid that two or more hosts reach, in host order.

    ``clusters``: ordered ``[(host, cluster)]`` where cluster is a module result's ``cluster`` dict.
    """
    by_uuid = {}
    order = []
    for host, cluster in clusters:
        uuid = (cluster or {}).get('uuid')
        if not uuid:
            continue
        if uuid not in by_uuid:
            by_uuid[uuid] = ((cluster or {}).get('name'), [])
            order.append(uuid)
        by_uuid[uuid][1].append(host)
    return [(uuid, by_uuid[uuid][0], by_uuid[uuid][1]) for uuid in order if len(by_uuid[uuid][1]) > 1]


def plan(hosts, cwd, writes='nothing', reads_backup_files=False, summary_file='', probes=None):
    """The runbook's plan over ``hosts`` (ordered ``[(host, options)]``).

    Returns ``(error, result)``: ``error`` is the one line that refuses the whole run (nothing may start), else
    None; ``result`` has ``cwd``, ``summary_file``, ``records_dir``, ``hosts`` (names in order), ``paths`` (host ->
    host_paths) and ``refused`` (host -> runbook_outcome fields for a host refused on its own).
    """
    if writes not in WRITES:
        raise ValueError('writes must be one of %s, not %r' % (', '.join(WRITES), writes))
    probes = probes or {}
    summary = operator_path(summary_file, cwd)
    names = [str(host) for host, _options in hosts]
    paths = dict((str(host), host_paths(str(host), options, cwd, summary)) for host, options in hosts)
    for host_paths_ in paths.values():
        host_paths_['file'] = host_paths_[writes] if writes in (STATE_FILE, BACKUP_DIR, EXPORT_FILE) else ''
    result = {
        'cwd': cwd, 'summary_file': summary, 'records_dir': records_dir(summary),
        'hosts': names, 'paths': paths, 'refused': {},
    }

    errors = []
    shared = shared_files(paths, writes, summary)
    if shared:
        errors.append('Files written by more than one inventory host or the summary: %s (-e state_file applies '
                      'to every cluster: use state_dir, or set state_file per host in host_vars; summary_file '
                      'must be a file of its own)' % '; '.join(shared))

    probed = []
    for host in names:
        was_probed, cluster = probed_cluster(probes.get(host))
        if was_probed:
            probed.append((host, cluster))
    same = same_cluster_hosts(probed)
    if same:
        errors.append('; '.join(
            'inventory hosts %s reach the same cluster (cluster_uuid %s%s)'
            % (' and '.join(hosts_), uuid, ', name %s' % name if name else '') for uuid, name, hosts_ in same)
            + ': each cluster must be one inventory host (an -e es_url=... applies to every host of the group)')
    if errors:
        return 'Refusing the run: %s. %s' % ('. '.join(errors), NOTHING_CHANGED), result

    # A host whose probe failed is refused already (the plan play's rescue recorded why): nothing more to say.
    failed_probe = set(host for host in names if isinstance(probes.get(host), dict) and probes[host].get('failed'))
    for host, cluster in probed:
        if not (cluster or {}).get('uuid'):
            result['refused'][host] = {'status': 'failed', 'failure': 'Refusing %s: %s' % (host, UNKNOWN_IDENTITY),
                                       'cluster': None}
    if reads_backup_files:
        for host in names:
            if host in result['refused'] or host in failed_probe:
                continue
            if not paths[host]['backup_files']:
                result['refused'][host] = {'status': 'failed', 'cluster': None,
                                           'failure': 'backup_files is empty: name the backup files to restore. '
                                                      + NOTHING_CHANGED}
                continue
            missing = missing_files(paths[host]['backup_files'])
            if missing:
                result['refused'][host] = {
                    'status': 'failed', 'cluster': None,
                    'failure': 'Backup file%s not found: %s (relative paths are read from the working directory %s). %s'
                               % ('s' if len(missing) > 1 else '', ', '.join(missing), cwd, NOTHING_CHANGED)}
    return None, result
