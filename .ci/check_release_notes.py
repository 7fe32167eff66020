#!/usr/bin/env python
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every shipped module, role and playbook is in the changelog, and no module is newer than the collection.

    check_release_notes.py [COLLECTION_ROOT]        (default: this checkout)

antsibull-changelog lists a module under the release its ``version_added`` names, but a role or playbook only when
a fragment says ``add object.role``/``add object.playbook``, and it cannot know that a ``version_added`` above
galaxy.yml's version will never be released. `make dist` runs this before building the artifact: a release whose
notes leave out what it ships, or promise a version that is not the one built, is refused. Exits 0 with one
summary line, or 1 with one line per problem.

Shipped objects: plugins/modules/*.py (not _*.py), roles/<name>/ (with tasks/), playbooks/*.yml (the files directly
under playbooks/; tasks/, vars/, desired/ and inventory/ hold no playbooks).
"""

from __future__ import absolute_import, division, print_function

import ast
import os
import re
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def version_key(text):
    """A semantic version as a sortable tuple; a pre-release sorts before its release (1.1.0-rc1 < 1.1.0)."""
    match = re.match(r'^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$', str(text).strip())
    if not match:
        raise ValueError('%r is not a semantic version' % (text,))
    release = tuple(int(part) for part in match.group(1, 2, 3))
    return release + ((0, match.group(4)) if match.group(4) else (1, ''))


def module_documentation(path):
    """The DOCUMENTATION mapping of a module file, read without importing it."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'DOCUMENTATION' for t in node.targets):
            return yaml.safe_load(ast.literal_eval(node.value)) or {}
    return {}


def shipped(root):
    """{'module': {name: version_added or None}, 'role': {name: None}, 'playbook': {name: None}}."""
    found = {'module': {}, 'role': {}, 'playbook': {}}
    modules_dir = os.path.join(root, 'plugins', 'modules')
    for name in sorted(os.listdir(modules_dir)) if os.path.isdir(modules_dir) else []:
        if name.endswith('.py') and not name.startswith('_'):
            found['module'][name[:-3]] = module_documentation(os.path.join(modules_dir, name)).get('version_added')
    roles_dir = os.path.join(root, 'roles')
    for name in sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []:
        if os.path.isdir(os.path.join(roles_dir, name, 'tasks')):
            found['role'][name] = None
    playbooks_dir = os.path.join(root, 'playbooks')
    for name in sorted(os.listdir(playbooks_dir)) if os.path.isdir(playbooks_dir) else []:
        if name.endswith(('.yml', '.yaml')) and os.path.isfile(os.path.join(playbooks_dir, name)):
            found['playbook'][name.rsplit('.', 1)[0]] = None
    return found


def listed(changelog):
    """{'module': {name: release}, 'role': {...}, 'playbook': {...}} from changelogs/changelog.yaml."""
    found = {'module': {}, 'role': {}, 'playbook': {}}
    for release, entry in (changelog.get('releases') or {}).items():
        entry = entry or {}
        for module in entry.get('modules') or []:
            found['module'].setdefault(module['name'], str(release))
        for kind in ('role', 'playbook'):
            for obj in (entry.get('objects') or {}).get(kind) or []:
                found[kind].setdefault(obj['name'], str(release))
    return found


def problems(root):
    with open(os.path.join(root, 'galaxy.yml')) as handle:
        version = str(yaml.safe_load(handle)['version'])
    changelog_path = os.path.join(root, 'changelogs', 'changelog.yaml')
    if not os.path.isfile(changelog_path):
        return version, ['changelogs/changelog.yaml is missing']
    with open(changelog_path) as handle:
        in_changelog = listed(yaml.safe_load(handle) or {})
    found = []
    for kind, objects in sorted(shipped(root).items()):
        for name, version_added in sorted(objects.items()):
            release = in_changelog[kind].get(name)
            if kind == 'module':
                if version_added is None:
                    found.append('module %s has no version_added' % name)
                    continue
                try:
                    too_new = version_key(version_added) > version_key(version)
                except ValueError as exc:
                    found.append('module %s: version_added %s' % (name, exc))
                    continue
                if too_new:
                    found.append('module %s has version_added %s, above the collection version %s (galaxy.yml)'
                                 % (name, version_added, version))
                    continue
                if release is not None and release != str(version_added):
                    found.append('module %s has version_added %s but the changelog lists it under %s'
                                 % (name, version_added, release))
                    continue
            if release is None:
                how = ('make changelog adds it when version_added names this release' if kind == 'module'
                       else 'add an `add object.%s` fragment, then make changelog' % kind)
                found.append('%s %s is shipped but in no release of changelogs/changelog.yaml (%s)'
                             % (kind, name, how))
    return version, found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = os.path.abspath(argv[0]) if argv else REPO
    version, found = problems(root)
    for line in found:
        print('check_release_notes: %s' % line)
    if found:
        return 1
    counts = dict((kind, len(objects)) for kind, objects in shipped(root).items())
    print('check_release_notes: %(module)d modules, %(role)d roles and %(playbook)d playbooks are all in the changelog'
          % counts + ', none newer than %s' % version)
    return 0


if __name__ == '__main__':
    sys.exit(main())
