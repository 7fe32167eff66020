# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/runtime.yml's action group must list exactly the modules in plugins/modules/ that talk to Elasticsearch
(their DOCUMENTATION extends the esops.jobs.connection fragment); a module without connection options
(write_files) must stay out of it, or the group's hosts/credentials would be unsupported parameters there.

Users write ``module_defaults: group/esops.jobs.elasticsearch: ...`` once per play; a module missing
from the group silently ignores those defaults (community.postgresql shipped such a bug), and a
name without a module makes ansible-core warn on every play that uses the group.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
GROUP = 'elasticsearch'


def _runtime():
    with open(os.path.join(COLLECTION_ROOT, 'meta', 'runtime.yml')) as f:
        return yaml.safe_load(f)


def _module_names():
    modules_dir = os.path.join(COLLECTION_ROOT, 'plugins', 'modules')
    if not os.path.isdir(modules_dir):
        return set()
    return set(
        name[:-3] for name in os.listdir(modules_dir)
        if name.endswith('.py') and not name.startswith('_')
    )


def _elasticsearch_modules():
    """The modules whose documentation extends esops.jobs.connection: the ones that take the group's options."""
    modules_dir = os.path.join(COLLECTION_ROOT, 'plugins', 'modules')
    found = set()
    for name in _module_names():
        with open(os.path.join(modules_dir, name + '.py')) as f:
            source = f.read()
        documentation = yaml.safe_load(source.split("DOCUMENTATION = r\'\'\'", 1)[1].split("\'\'\'", 1)[0])
        if 'esops.jobs.connection' in documentation.get('extends_documentation_fragment', []):
            found.add(name)
    return found


def _group():
    groups = _runtime().get('action_groups') or {}
    assert GROUP in groups, 'meta/runtime.yml has no action_groups.%s' % GROUP
    return groups[GROUP]


def test_requires_ansible():
    assert _runtime()['requires_ansible'] == '>=2.16.0'


def test_group_entries_are_short_names_without_duplicates():
    entries = _group()
    assert all(isinstance(e, str) and '.' not in e for e in entries), entries
    assert len(entries) == len(set(entries)), 'duplicate entries: %r' % entries
    assert entries == sorted(entries), 'keep the group alphabetical: %r' % entries


def test_every_elasticsearch_module_is_in_the_group():
    missing = sorted(_elasticsearch_modules() - set(_group()))
    assert not missing, 'modules missing from action_groups.%s in meta/runtime.yml: %s' % (GROUP, ', '.join(missing))


def test_modules_without_connection_options_are_not_in_the_group():
    assert 'write_files' in _module_names() - _elasticsearch_modules()
    assert not set(_group()) & (_module_names() - _elasticsearch_modules())


def test_every_group_entry_has_a_module():
    orphans = sorted(set(_group()) - _module_names())
    assert not orphans, 'action_groups.%s lists names with no plugins/modules/<name>.py: %s' % (GROUP, ', '.join(orphans))
