#!/usr/bin/env python
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mirror the collection into DEST (.../ansible_collections/esops/jobs) for ansible-test and friends.

ansible-test only works with the collection at ansible_collections/<ns>/<name> as its cwd. The file
list is the one ansible-test itself would use in the git checkout: tracked and untracked files that
.gitignore does not exclude (so .venv, .build, tests/output, __pycache__ never get in). Without git
every file is taken except those directories. Only changed files are copied; files that left the
source are deleted, except under tests/output (ansible-test's own scratch space).

ansible-test looks for a .git upwards from its cwd and then lists files with git; the build tree sits
inside this repo's ignored .build/, so it would see no files at all ("All targets skipped"). DEST
therefore gets its own empty git repository: `git ls-files --others --exclude-standard` there lists
exactly the synced files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import sys

SKIP_DIRS = {'.git', '.venv', '.build', '.ansible', '.pytest_cache', '__pycache__'}
KEEP_DIRS = ('.git/', 'tests/output/')  # never pruned
KEEP_FILES = ('tests/integration/integration_config.yml',)  # written by tests/integration/run_integration.py


def source_files(src):
    try:
        out = subprocess.check_output(
            ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=src, stderr=subprocess.DEVNULL)
        return sorted(set(p for p in out.decode('utf-8').split('\0') if p and os.path.isfile(os.path.join(src, p))))
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(src):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and os.path.relpath(os.path.join(root, d), src) != 'tests/output']
            files.extend(os.path.relpath(os.path.join(root, n), src).replace(os.sep, '/') for n in names)
        return sorted(files)


def same(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return sa.st_size == sb.st_size and int(sa.st_mtime) == int(sb.st_mtime) and sa.st_mode == sb.st_mode


def main(src, dest):
    src, dest = os.path.abspath(src), os.path.abspath(dest)
    wanted = source_files(src)
    copied = 0
    for rel in wanted:
        s, d = os.path.join(src, rel), os.path.join(dest, rel)
        if not same(s, d):
            os.makedirs(os.path.dirname(d), exist_ok=True)
            if os.path.islink(d) or os.path.isdir(d):
                shutil.rmtree(d) if os.path.isdir(d) and not os.path.islink(d) else os.unlink(d)
            shutil.copy2(s, d)
            copied += 1
    wanted_set = set(wanted)
    removed = 0
    for root, dirs, names in os.walk(dest, topdown=False):
        rel_root = os.path.relpath(root, dest).replace(os.sep, '/') + '/'
        if rel_root.startswith(KEEP_DIRS) or '/__pycache__/' in '/' + rel_root:
            continue
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), dest).replace(os.sep, '/')
            if rel not in wanted_set and rel not in KEEP_FILES:
                os.unlink(os.path.join(root, n))
                removed += 1
        if root != dest and not os.listdir(root):
            os.rmdir(root)
    if not os.path.isdir(os.path.join(dest, '.git')):
        subprocess.check_call(['git', 'init', '-q', dest])
    print('build tree %s: %d files, %d copied, %d removed' % (dest, len(wanted), copied, removed))


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: sync_build_tree.py SRC DEST')
    main(sys.argv[1], sys.argv[2])
