# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
""".ci/check_release_notes.py (run by `make dist`): every shipped module, role and playbook is in
changelogs/changelog.yaml, under the release its version_added names, and none is newer than galaxy.yml's version.

Before issue 25 the changelog listed 6 of 10 modules, 3 of 5 roles and 5 of 9 playbooks, and privilege_check and
write_files said version_added 1.1.0 in a 1.0.0 collection; test_this_collection failed on exactly those."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import textwrap

import pytest
import yaml

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def _load_checker():
    spec = importlib.util.spec_from_file_location(
        'check_release_notes', os.path.join(COLLECTION_ROOT, '.ci', 'check_release_notes.py'))
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    return checker


checker = _load_checker()


def _module_source(name, version_added):
    return textwrap.dedent('''\
        DOCUMENTATION = r\'\'\'
        module: %s
        short_description: A module
        version_added: %s
        \'\'\'
        ''') % (name, version_added)


@pytest.fixture
def tree(tmp_path):
    """A minimal collection: galaxy.yml 1.0.0, module m (1.0.0), role r, playbook p, all in the 1.0.0 release."""
    (tmp_path / 'galaxy.yml').write_text('namespace: esops\nname: jobs\nversion: 1.0.0\n')
    (tmp_path / 'plugins' / 'modules').mkdir(parents=True)
    (tmp_path / 'plugins' / 'modules' / 'm.py').write_text(_module_source('m', '1.0.0'))
    (tmp_path / 'plugins' / 'modules' / '_private.py').write_text('')
    (tmp_path / 'roles' / 'r' / 'tasks').mkdir(parents=True)
    (tmp_path / 'playbooks' / 'tasks').mkdir(parents=True)
    (tmp_path / 'playbooks' / 'p.yml').write_text('---\n')
    (tmp_path / 'playbooks' / 'tasks' / 'included.yml').write_text('---\n')
    (tmp_path / 'changelogs').mkdir()
    _write_changelog(tmp_path, {'releases': {'1.0.0': {
        'modules': [{'name': 'm', 'description': 'A module', 'namespace': ''}],
        'objects': {'role': [{'name': 'r', 'description': 'A role'}],
                    'playbook': [{'name': 'p', 'description': 'A playbook'}]}}}})
    return tmp_path


def _write_changelog(root, data):
    (root / 'changelogs' / 'changelog.yaml').write_text(yaml.safe_dump(data))


def _read_changelog(root):
    return yaml.safe_load((root / 'changelogs' / 'changelog.yaml').read_text())


def test_this_collection():
    version, found = checker.problems(COLLECTION_ROOT)
    assert found == [], found
    shipped = checker.shipped(COLLECTION_ROOT)
    assert len(shipped['module']) >= 10 and len(shipped['role']) >= 5 and len(shipped['playbook']) >= 9
    assert version


def test_complete_tree_passes(tree, capsys):
    assert checker.main([str(tree)]) == 0
    assert '1 modules, 1 roles and 1 playbooks are all in the changelog' in capsys.readouterr().out


def test_module_missing_from_changelog(tree):
    (tree / 'plugins' / 'modules' / 'new.py').write_text(_module_source('new', '1.0.0'))
    assert checker.problems(str(tree))[1] == [
        'module new is shipped but in no release of changelogs/changelog.yaml '
        '(make changelog adds it when version_added names this release)']


def test_version_added_above_collection_version(tree, capsys):
    (tree / 'plugins' / 'modules' / 'm.py').write_text(_module_source('m', '1.1.0'))
    assert checker.main([str(tree)]) == 1
    assert capsys.readouterr().out == (
        'check_release_notes: module m has version_added 1.1.0, above the collection version 1.0.0 (galaxy.yml)\n')


def test_version_added_differs_from_release_listing_it(tree):
    (tree / 'galaxy.yml').write_text('version: 1.1.0\n')
    (tree / 'plugins' / 'modules' / 'm.py').write_text(_module_source('m', '1.1.0'))
    assert checker.problems(str(tree))[1] == [
        'module m has version_added 1.1.0 but the changelog lists it under 1.0.0']


def test_prerelease_is_below_its_release(tree):
    (tree / 'galaxy.yml').write_text('version: 1.0.0-rc1\n')
    assert checker.problems(str(tree))[1] == [
        'module m has version_added 1.0.0, above the collection version 1.0.0-rc1 (galaxy.yml)']


@pytest.mark.parametrize('kind', ['role', 'playbook'])
def test_role_or_playbook_without_add_object(tree, kind):
    changelog = _read_changelog(tree)
    changelog['releases']['1.0.0']['objects'][kind] = []
    _write_changelog(tree, changelog)
    name = 'r' if kind == 'role' else 'p'
    assert checker.problems(str(tree))[1] == [
        '%s %s is shipped but in no release of changelogs/changelog.yaml '
        '(add an `add object.%s` fragment, then make changelog)' % (kind, name, kind)]


def test_module_without_version_added(tree):
    (tree / 'plugins' / 'modules' / 'm.py').write_text('DOCUMENTATION = "module: m"\n')
    assert checker.problems(str(tree))[1] == ['module m has no version_added']


def test_listed_in_a_later_release_still_counts(tree):
    changelog = _read_changelog(tree)
    changelog['releases']['1.1.0'] = {'objects': {'role': [{'name': 'late', 'description': 'x'}]}}
    _write_changelog(tree, changelog)
    (tree / 'roles' / 'late' / 'tasks').mkdir(parents=True)
    assert checker.problems(str(tree))[1] == []
