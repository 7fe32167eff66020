# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""README.md names what the collection ships: a row of the *Modules and roles* table for every module and role, and
every playbook by its FQCN (issue 25: the table lacked ml_job and rollup_job); and the two commands for a fresh
machine are near the top."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def _readme():
    with open(os.path.join(COLLECTION_ROOT, 'README.md')) as handle:
        return handle.read()


def _names(directory, keep):
    path = os.path.join(COLLECTION_ROOT, directory)
    return sorted(name for name in os.listdir(path) if keep(os.path.join(path, name), name))


def test_every_module_and_role_has_a_table_row():
    rows = [line for line in _readme().splitlines() if line.startswith('| ')]
    modules = _names('plugins/modules', lambda path, name: name.endswith('.py') and not name.startswith('_'))
    roles = _names('roles', lambda path, name: os.path.isdir(os.path.join(path, 'tasks')))
    missing = ['module ' + m[:-3] for m in modules if not any(r.startswith('| `esops.jobs.%s` |' % m[:-3]) for r in rows)]
    missing += ['role ' + r for r in roles if not any(row.startswith('| role `esops.jobs.%s` |' % r) for row in rows)]
    assert len(modules) >= 10 and len(roles) >= 5
    assert missing == []


def test_every_playbook_is_named():
    readme = _readme()
    playbooks = _names('playbooks', lambda path, name: name.endswith('.yml') and os.path.isfile(path))
    assert len(playbooks) >= 9
    assert [p for p in playbooks if '`esops.jobs.%s`' % p[:-4] not in readme] == []


def test_make_demo_and_make_test_come_before_installation():
    readme = _readme()
    top = readme[:readme.index('## Installation')]
    assert 'make demo' in top and 'make test' in top
