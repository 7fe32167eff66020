# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write one cluster's converge reports atomically: stdin is {"files": {"<path>": "<text>", ...}}.

Each file is written to a temporary file in the same directory and renamed over the old one, so a reader
(a pipeline posting the pull-request comment) never sees half a report. One process for every file of a
host, instead of two module runs per file with ansible.builtin.copy (CPU is what a fleet run spends).
"""
import json
import os
import sys
import tempfile


def main():
    files = json.load(sys.stdin)['files']
    for path, text in sorted(files.items()):
        directory = os.path.dirname(path) or '.'
        os.makedirs(directory, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
        try:
            with os.fdopen(handle, 'w') as out:
                out.write(text if text.endswith('\n') else text + '\n')
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    return 0


if __name__ == '__main__':
    sys.exit(main())
