#!/usr/bin/env python
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run make targets one after another and print what each cost: CPU (user+sys) and wall time.

    suites.py [--budget-cpu-min 25] [--budget-wall-min 30] TARGET...

Each TARGET runs as `make TARGET`; a failing suite does not stop the others (like make -k), so one
run shows every failure and the whole cost; the exit status is the first failure's. The CPU of a
suite is the resource usage of its `make` and every process it waited for (getrusage of the
children, before and after): emulators, ansible-playbook, pytest, pip. The table is printed at the
end whether the run passed or failed, with the totals against the budget (the budget never fails a
run: it is there to stay visible). Standard library only: it runs before .venv exists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import resource
import subprocess
import sys
import time


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(target):
    wall0, cpu0 = time.time(), children_cpu()
    print('\n=== make %s' % target, flush=True)
    rc = subprocess.call(['make', '--no-print-directory', target])
    return rc, children_cpu() - cpu0, time.time() - wall0


def table(rows, budget_cpu, budget_wall):
    lines = ['', 'suite budget (CPU = user+sys of the suite and everything it ran; 2 cores give 2 CPU-s per s)',
             '%-16s %10s %10s  %s' % ('suite', 'CPU min', 'wall min', 'result')]
    for name, rc, cpu, wall in rows:
        lines.append('%-16s %10.2f %10.2f  %s' % (name, cpu / 60, wall / 60, 'ok' if rc == 0 else 'FAILED (%d)' % rc))
    cpu = sum(r[2] for r in rows)
    wall = sum(r[3] for r in rows)
    lines.append('%-16s %10.2f %10.2f' % ('total', cpu / 60, wall / 60))
    lines.append('%-16s %10.2f %10.2f  %s' % ('budget', budget_cpu, budget_wall, ', '.join(
        '%s %s' % (what, 'within' if used / 60 <= limit else 'OVER')
        for what, used, limit in (('CPU', cpu, budget_cpu), ('wall', wall, budget_wall)))))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--budget-cpu-min', type=float, default=25.0)
    parser.add_argument('--budget-wall-min', type=float, default=30.0)
    parser.add_argument('--record', help='also append the rows to this TSV file')
    parser.add_argument('targets', nargs='+')
    args = parser.parse_args()
    rows = []
    for target in args.targets:
        rc, cpu, wall = run(target)
        rows.append((target, rc, cpu, wall))
    report = table(rows, args.budget_cpu_min, args.budget_wall_min)
    print(report, flush=True)
    if args.record:
        os.makedirs(os.path.dirname(os.path.abspath(args.record)), exist_ok=True)
        with open(args.record, 'a') as f:
            for name, rc, cpu, wall in rows:
                f.write('%s\t%d\t%.1f\t%.1f\n' % (name, rc, cpu, wall))
    failed = [r for r in rows if r[1] != 0]
    if failed:
        print('make test: FAILED: %s' % ', '.join(r[0] for r in failed), file=sys.stderr)
        return failed[0][1]
    print('make test: all suites passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
