# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role takes its connection one way: ``<role>_connection``, added as a module-specific ``module_defaults``
entry for each module of the action group the role calls, and nothing else.

ansible-core reads ``module_defaults`` keys statically (playbook/base.py _load_module_defaults: "the keys ... must
be static action, module, or group names") and merges its levels per key (executor/module_common.py
_get_action_arg_defaults: ``dict.update`` of each level, then the group entries, then the action's entry), so a
role can neither compute its entries nor set the group without replacing the play's group entry. That leaves one
static block per role; this test keeps each block equal to the modules its role calls (a module missing from it
would silently run without the role's connection, an extra one hides a stale copy).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
PREFIX = 'esops.jobs.'


def _group():
    with open(os.path.join(COLLECTION_ROOT, 'meta', 'runtime.yml')) as f:
        return set(PREFIX + name for name in yaml.safe_load(f)['action_groups']['elasticsearch'])


def _tasks(items):
    for task in items or []:
        if isinstance(task, dict):
            yield task
            for key in ('block', 'rescue', 'always'):
                yield from _tasks(task.get(key))


def _role(role):
    """(modules of the group the role's tasks call, [module_defaults entries of its tasks])."""
    tasks_dir = os.path.join(COLLECTION_ROOT, 'roles', role, 'tasks')
    called, defaults = set(), []
    for name in sorted(os.listdir(tasks_dir)):
        with open(os.path.join(tasks_dir, name)) as f:
            for task in _tasks(yaml.safe_load(f)):
                called.update(key for key in task if key in _group())
                if 'module_defaults' in task:
                    defaults.append(task['module_defaults'])
    return called, defaults


def _roles():
    return sorted(name for name in os.listdir(os.path.join(COLLECTION_ROOT, 'roles'))
                  if os.path.isdir(os.path.join(COLLECTION_ROOT, 'roles', name, 'tasks')))


def test_every_role_adds_its_connection_to_exactly_the_modules_it_calls():
    assert {'ml_job_retire', 'rollup_job_retire', 'job_restore', 'maintenance_window'} <= set(_roles())
    for role in _roles():
        called, defaults = _role(role)
        if not called:
            continue
        assert len(defaults) == 1, '%s: one module_defaults block, found %d' % (role, len(defaults))
        assert set(defaults[0]) == called, '%s: module_defaults %s, calls %s' % (role, sorted(defaults[0]), sorted(called))
        connection = '{{ %s_connection }}' % role
        assert all(value == connection for value in defaults[0].values()), (role, defaults[0])
        assert not [key for key in defaults[0] if key.startswith('group/')], role
