# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge report files (docs/converge_report.md): ``<name>.json`` and the Markdown summary ``<name>.md``, and
the controller-side check of the document against the role's argument spec (one line).

Formatting only: every value comes from the report ``esops.jobs.desired_state`` returned.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_native


def report_json(report):
    return json.dumps(report, indent=2, sort_keys=True) + '\n'


def _cell(value):
    return '%s' % ('' if value is None else value)


def report_markdown(report):
    """The pull-request comment of one cluster."""
    plan = report['mode'] == 'plan'
    lines = ['### %s: `%s` - %s' % ('Plan' if plan else 'Applied', report.get('host'), report['status'].replace('_', ' ')), '']
    cluster = report.get('cluster')
    if cluster:
        head = 'Cluster `%s` (uuid `%s`, Elasticsearch %s)' % (cluster.get('name'), cluster.get('uuid'), cluster.get('version'))
    else:
        head = 'Cluster identity not reported'
    lines.append('%s;' % head)
    mode = ' (check mode)' if report.get('check_mode') else ''
    lines.append('document `%s`; %s%s.' % (report.get('document'), report['generated_at'], mode))
    lines.append('')
    counts = report['counts']
    lines.append('| objects | %s | moved | unmanaged | errors |' % ('to change' if plan else 'differed'))
    lines.append('|---:|---:|---:|---:|---:|')
    lines.append('| %d | %d | %d | %d | %d |' % (
        counts['objects'], counts['drift'], counts['moved'], counts['unmanaged'], counts['errors']))
    lines.append('')
    if report['errors']:
        lines.extend(['**Errors**', ''])
        lines.extend('- %s `%s`: %s' % (error['kind'], error['selector'], error['msg']) for error in report['errors'])
        lines.append('')
    changes = [row for row in report['objects'] if row['drift']]
    upgrade = report.get('ml_upgrade_mode')
    if changes or (upgrade and upgrade['drift']):
        lines.extend(['**%s**' % ('Changes planned' if plan else 'Changes'), ''])
        lines.append('| kind | id | before | %s | actions | entry |' % ('planned' if plan else 'after'))
        lines.append('|---|---|---|---|---|---|')
        if upgrade and upgrade['drift']:
            lines.append('| ml_upgrade_mode | - | %s | %s | set | ml_upgrade_mode |' % (
                _cell(upgrade['before']), _cell(upgrade['planned'] if plan else upgrade.get('after'))))
        for row in changes:
            lines.append('| %s | `%s` | %s | %s | %s | `%s` -> %s |' % (
                row['kind'], row['id'], row['before'], row['planned'] if plan else row.get('after'),
                ', '.join(row['actions']), row['selector'], row['desired']))
        lines.append('')
        lines.extend(_config_lines(changes, plan))
        deletes = [row for row in changes if row['planned'] == 'absent' or row.get('config') == 'replace']
        if deletes and report.get('backups'):
            lines.append('Backed up before deleting: %s' % ', '.join('`%s`' % path for path in report['backups']))
            lines.append('')
        elif deletes:
            jobs = [row for row in deletes if row['kind'] != 'datafeeds']
            if report.get('backup_dir') and jobs:
                noun = 'job(s)' if all(row['kind'] in ('ml_jobs', 'rollup_jobs') for row in jobs) else 'object(s)'
                text = '%d %s %s backed up to `%s` before deleting' % (
                    len(jobs), noun, 'would be' if plan else 'were to be', report['backup_dir'])
            else:
                text = '%d object(s) %s deleted without a backup (converge_backup_dir is empty)' % (
                    len(deletes), 'would be' if plan else 'were')
            lines.extend([text + '; a datafeed deleted on its own is never backed up.', ''])
    else:
        lines.extend(['No changes: every declared object is in its declared state.', ''])
    if report['unmanaged']:
        lines.extend(['<details><summary>%d object(s) not in the document</summary>' % len(report['unmanaged']), ''])
        lines.append('| kind | id | state | policy |')
        lines.append('|---|---|---|---|')
        lines.extend('| %s | `%s` | %s | %s |' % (row['kind'], row['id'], row['state'], row['policy'])
                     for row in report['unmanaged'])
        lines.extend(['', '</details>'])
    return '\n'.join(lines) + '\n'


def _value(value):
    text = 'missing' if value is None else json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return '`%s`' % text.replace('|', '\\|').replace('`', "'")


def _config_lines(changes, plan):
    """The declared configurations that differ, field by field, and what is done about them."""
    rows = [row for row in changes if row.get('config_changes') and row.get('config')]
    if not rows:
        return []
    lines = ['**Configurations%s**' % (' to change' if plan else ''), '',
             '| kind | id | field | current | declared | change |', '|---|---|---|---|---|---|']
    for row in rows:
        for item in row['config_changes']:
            lines.append('| %s | `%s` | `%s` | %s | %s | %s |' % (
                row['kind'], row['id'], item['path'], _value(item['current']), _value(item['desired']), item['change']))
    lines.append('')
    notes = []
    for row in rows:
        if row['config'] == 'replace':
            notes.append('- %s `%s` is replaced (%s): %s.' % (row['kind'], row['id'], 'recreate: true', ', '.join(row.get('config_steps') or [])))
        if row.get('restarted'):
            notes.append('- datafeed `%s` is running: %s stopped, updated and started again.' % (
                row['id'], 'it is' if plan else 'it was'))
    if notes:
        lines.extend(notes + [''])
    return lines


def document_problems(spec, document):
    """The spec's verdict on the document, as one line (None when valid)."""
    if not isinstance(document, dict):
        return 'the desired-state document must be a mapping (ml_jobs, datafeeds, rollup_jobs, ...)'
    texts = []
    for error in ArgumentSpecValidator(spec).validate(document).errors:
        text = ' '.join(to_native(error.msg).split())
        if type(error).__name__ == 'UnsupportedError':
            text = 'unknown key ' + text
        texts.append(text)
    return '; '.join(texts) or None
