# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`python -m benchmarks.fleet`: playbooks/converge.yml over a fleet of emulated clusters.

Targets (issue 17):
  * N clusters (default 20) converged with forks N in at most twice the wall time of one cluster;
  * a no-op run sends at most two requests per cluster (each emulator's request log, read through its
    control API, which is not itself logged).
Targets (issue 21), a no-op converge of the 10-entry document TEN_ENTRIES over the same fleet:
  * at most 6 requests per cluster, whatever the number of entries;
  * at most 1 module process per cluster (counted by a python interpreter wrapper that logs each start: the
    processes of the N-cluster run minus those of the one-cluster run, over N - 1);
  * at least 5x less CPU per cluster than the 5.4 CPU-s measured before the planner (at most 1.08 s).

Every cluster gets the same fixture (tests/integration/fleet.py --fixture bench: JOBS ML jobs in group `bench`,
opened here) and the same document: `ml_jobs: [{id: bench, state: closed}]`. Each close takes --close-seconds
in the emulator (ES persists the model state first; seconds to minutes on real clusters), so the measurement
shows whether clusters are converged in parallel. Results go to benchmarks/RESULTS-fleet.md.
"""

import argparse
import datetime
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks import harness


def _load_fleet_helper():
    """tests/integration/fleet.py (tests/integration is not a package: ansible-test owns that tree)."""
    spec = importlib.util.spec_from_file_location('esops_fleet', os.path.join(harness.REPO, 'tests', 'integration', 'fleet.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fleet_helper = _load_fleet_helper()

DOCUMENT = {'ml_jobs': [{'id': 'bench', 'state': 'closed'}]}
# Ten entries of every kind and selector form (exact ids, a group, a pattern, _all), all in sync once
# DOCUMENT converged: the issue-21 no-op case. Before the planner this cost 23 requests, 10 module runs and about
# 5.4 CPU-s per cluster (changelogs/fragments/desired-state-planner.yml, issue 21).
TEN_ENTRIES = {
    'ml_jobs': [{'id': 'bench-%d' % index, 'state': 'closed'} for index in range(5)] + [
        {'id': 'bench', 'state': 'closed'}, {'id': 'bench-*', 'state': 'closed'},
        {'id': '_all', 'state': 'closed'}],
    'datafeeds': [{'id': '_all', 'state': 'stopped'}],
    'rollup_jobs': [{'id': '_all', 'state': 'stopped'}],
}
CPU_BEFORE_PLANNER = 5.4


def log(message):
    print('[bench-fleet %s] %s' % (time.strftime('%H:%M:%S'), message), flush=True)


def cpu_seconds():
    usage = os.times()
    return usage.children_user + usage.children_system


def open_jobs(host, jobs):
    es = fleet_helper.Es(host['es_url'], host['es_version'])
    for index in range(jobs):
        es.call('POST', '%s/anomaly_detectors/bench-%d/_open' % (es.ml, index))


def job_states(host):
    es = fleet_helper.Es(host['es_url'], host['es_version'])
    return dict((j['job_id'], j['state']) for j in es.call('GET', '%s/anomaly_detectors/bench/_stats' % es.ml)['jobs'])


def interpreter_wrapper(work):
    """A python that appends a line to a log each time it starts: the module processes of a run (action-only
    tasks such as set_fact or debug start none). Returns (wrapper path, log path)."""
    log_path = os.path.join(work, 'module-processes.log')
    wrapper = os.path.join(work, 'python-counting')
    with open(wrapper, 'w') as handle:
        handle.write('#!/bin/sh\necho started >> %s\nexec %s "$@"\n' % (log_path, sys.executable))
    os.chmod(wrapper, 0o755)
    return wrapper, log_path


def count_lines(path):
    if not os.path.exists(path):
        return 0
    with open(path) as handle:
        return sum(1 for _line in handle)


def run_converge(inventory, limit, forks, work, coll_path, document=None, interpreter=None):
    """ansible-playbook playbooks/converge.yml on `limit`; returns (wall seconds, CPU seconds, fleet.json)."""
    reports = os.path.join(work, 'reports-%d' % time.monotonic_ns())
    extra = {'converge_target': 'fleet', 'converge_desired': document or DOCUMENT, 'converge_report_dir': reports,
             'converge_fleet_report_dir': reports, 'converge_connection': {'hosts': '{{ es_url }}'}}
    extra_file = os.path.join(work, 'extra.json')
    if interpreter:
        extra['ansible_python_interpreter'] = interpreter
    with open(extra_file, 'w') as handle:
        json.dump(extra, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=coll_path, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='false', ANSIBLE_LOCALHOST_WARNING='false')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
           os.path.join(harness.REPO, 'playbooks', 'converge.yml'), '-f', str(forks), '-l', limit + ',localhost',
           '-e', '@' + extra_file]
    cpu_before = cpu_seconds()
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=harness.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    wall = time.monotonic() - started
    cpu = cpu_seconds() - cpu_before
    output = proc.stdout.decode('utf-8', 'replace')
    with open(os.path.join(work, 'ansible.log'), 'a') as handle:
        handle.write(output)
    if proc.returncode != 0:
        raise RuntimeError('converge failed (rc=%d):\n%s' % (proc.returncode, '\n'.join(output.splitlines()[-30:])))
    with open(os.path.join(reports, 'fleet.json')) as handle:
        return wall, cpu, json.load(handle)


def measure(args):
    work = tempfile.mkdtemp(prefix='esops-bench-fleet-')
    coll_path = harness.collections_path()
    versions = ','.join([args.es_version] * args.clusters)
    fleet_dir = os.path.join(work, 'fleet')
    start_args = ['start', '--dir', fleet_dir, '--versions', versions, '--fixture', 'bench']
    fleet_helper.TIMINGS[:] = ['--close-seconds', str(args.close_seconds), '--stop-seconds', '0.2', '--open-seconds', '0.05']
    fleet_helper.BENCH_JOBS = args.jobs
    log('starting %d emulators (ES %s, close %.1fs) in %s' % (args.clusters, args.es_version, args.close_seconds, work))
    fleet_helper.main(start_args)
    try:
        with open(os.path.join(fleet_dir, 'fleet.json')) as handle:
            hosts = json.load(handle)['hosts']
        names = sorted(hosts)
        inventory = os.path.join(fleet_dir, 'inventory.yml')
        for name in names:
            open_jobs(hosts[name], args.jobs)

        log('one cluster (%s)...' % names[0])
        one_wall, one_cpu, one = run_converge(inventory, names[0], 1, work, coll_path)
        log('  %.1fs wall, %.1f CPU-s, %s' % (one_wall, one_cpu, one['clusters'][0]['line']))
        open_jobs(hosts[names[0]], args.jobs)

        log('%d clusters, forks %d...' % (len(names), args.forks))
        all_wall, all_cpu, fleet = run_converge(inventory, ','.join(names), args.forks, work, coll_path)
        log('  %.1fs wall, %.1f CPU-s, %s' % (all_wall, all_cpu, fleet['counts']))
        not_closed = [(n, s) for n in names for s in job_states(hosts[n]).values() if s != 'closed']

        for name in names:
            fleet_helper.Es(hosts[name]['es_url'], hosts[name]['es_version']).clear_requests()
        log('no-op re-run of %d clusters...' % len(names))
        noop_wall, noop_cpu, noop = run_converge(inventory, ','.join(names), args.forks, work, coll_path)
        requests = dict((n, fleet_helper.Es(hosts[n]['es_url'], hosts[n]['es_version']).requests()) for n in names)
        log('  %.1fs wall, requests per cluster: %s' % (noop_wall, sorted(set(len(r) for r in requests.values()))))
        ten = measure_ten_entries(hosts, names, inventory, args.forks, work, coll_path)
    finally:
        fleet_helper.main(['stop', '--dir', fleet_dir])
    result = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'revision': bench_revision(), 'nproc': os.cpu_count(), 'load_end': os.getloadavg()[0],
        'clusters': len(names), 'forks': args.forks, 'jobs': args.jobs, 'es_version': args.es_version,
        'close_seconds': args.close_seconds,
        'one': {'wall': one_wall, 'cpu': one_cpu, 'status': one['clusters'][0]['status']},
        'all': {'wall': all_wall, 'cpu': all_cpu, 'counts': fleet['counts'], 'not_closed': not_closed},
        'noop': {'wall': noop_wall, 'cpu': noop_cpu, 'counts': noop['counts'],
                 'requests': dict((n, ['%s %s' % (e['method'], e['path']) for e in r]) for n, r in requests.items())},
        'ten': ten,
    }
    shutil.rmtree(work, ignore_errors=True)
    return result


def measure_ten_entries(hosts, names, inventory, forks, work, coll_path):
    """The issue-21 case: TEN_ENTRIES, already in sync, on one cluster and on all, counting requests, module
    processes and CPU."""
    wrapper, process_log = interpreter_wrapper(work)
    log('no-op converge of a 10-entry document, one cluster...')
    one_wall, one_cpu, _one = run_converge(inventory, names[0], 1, work, coll_path, TEN_ENTRIES, wrapper)
    one_processes = count_lines(process_log)
    for name in names:
        fleet_helper.Es(hosts[name]['es_url'], hosts[name]['es_version']).clear_requests()
    log('no-op converge of a 10-entry document, %d clusters...' % len(names))
    all_wall, all_cpu, fleet = run_converge(inventory, ','.join(names), forks, work, coll_path, TEN_ENTRIES, wrapper)
    all_processes = count_lines(process_log) - one_processes
    requests = dict((n, fleet_helper.Es(hosts[n]['es_url'], hosts[n]['es_version']).requests()) for n in names)
    log('  %.1fs wall, %.1f CPU-s, requests per cluster: %s, module processes %d (one cluster: %d)' % (
        all_wall, all_cpu, sorted(set(len(r) for r in requests.values())), all_processes, one_processes))
    return {'one': {'wall': one_wall, 'cpu': one_cpu, 'processes': one_processes},
            'all': {'wall': all_wall, 'cpu': all_cpu, 'processes': all_processes, 'counts': fleet['counts']},
            'requests': dict((n, ['%s %s' % (e['method'], e['path']) for e in r]) for n, r in requests.items())}


def ten_entry_targets(r):
    ten, clusters = r['ten'], r['clusters']
    max_requests = max(len(v) for v in ten['requests'].values())
    per_cluster_processes = float(ten['all']['processes'] - ten['one']['processes']) / max(clusters - 1, 1)
    cpu_per_cluster = ten['all']['cpu'] / clusters
    return [
        ('no-op converge of a 10-entry document: at most 6 requests per cluster, every cluster in sync',
         'at most %d (%s); %s' % (max_requests, ', '.join(sorted(set(x for v in ten['requests'].values() for x in v))),
                                  ten['all']['counts']),
         max_requests <= 6 and ten['all']['counts']['in_sync'] == clusters),
        ('the same: at most 1 module process per cluster',
         '%.2f per cluster (%d processes for %d clusters, %d for one)' % (
             per_cluster_processes, ten['all']['processes'], clusters, ten['one']['processes']),
         per_cluster_processes <= 1.0),
        ('the same: at least 5x less CPU per cluster than %.1f s before the planner' % CPU_BEFORE_PLANNER,
         '%.2f s per cluster (%.1f CPU-s for %d clusters, start-up included; %.1f s for one cluster alone): %.1fx' % (
             cpu_per_cluster, ten['all']['cpu'], clusters, ten['one']['cpu'], CPU_BEFORE_PLANNER / cpu_per_cluster),
         CPU_BEFORE_PLANNER / cpu_per_cluster >= 5.0),
    ]


def bench_revision():
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=harness.REPO, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def render(r):
    ratio = r['all']['wall'] / r['one']['wall']
    max_requests = max(len(v) for v in r['noop']['requests'].values())
    targets = [
        ('%d clusters with forks %d within 2x the wall time of one' % (r['clusters'], r['forks']),
         '%.1f s vs %.1f s (%.2fx)' % (r['all']['wall'], r['one']['wall'], ratio), ratio <= 2.0),
        ('every cluster converged', '%s; jobs not closed: %d' % (r['all']['counts'], len(r['all']['not_closed'])),
         r['all']['counts']['converged'] == r['clusters'] and not r['all']['not_closed']),
        ('no-op run: at most 2 requests per cluster, every cluster in sync',
         'at most %d (%s); %s' % (max_requests, ', '.join(sorted(set(x for v in r['noop']['requests'].values() for x in v))),
                                  r['noop']['counts']),
         max_requests <= 2 and r['noop']['counts']['in_sync'] == r['clusters']),
    ] + ten_entry_targets(r)
    lines = [
        '# Fleet benchmark (`python -m benchmarks.fleet`, part of `make bench`)', '',
        'playbooks/converge.yml with the role esops.jobs.converge over emulated clusters (ES %s personality), '
        'each with %d open ML jobs in group `bench` and the document `ml_jobs: [{id: bench, state: closed}]`; '
        'each close takes %.1f s in the emulator (Elasticsearch persists the model state first). '
        'Wall time is the whole ansible-playbook run (start-up and fleet summary included); CPU is what '
        'ansible-playbook and its workers used. The 10-entry document (issue 21; `TEN_ENTRIES` in '
        '`benchmarks/fleet.py`) declares the same jobs closed by 5 exact ids, the group, a pattern and `_all`, '
        'and every datafeed and rollup job (`_all`) stopped; it is converged when nothing differs, so it is a '
        'no-op, and module processes are counted by a python interpreter wrapper that logs each start.'
        % (r['es_version'], r['jobs'], r['close_seconds']), '',
        'Run: %s, revision %s, %d CPUs, load average %.1f at the end.' % (r['date'], r['revision'], r['nproc'], r['load_end']), '',
        '| run | wall | CPU |', '|---|---:|---:|',
        '| 1 cluster, close %d jobs | %.1f s | %.1f s |' % (r['jobs'], r['one']['wall'], r['one']['cpu']),
        '| %d clusters, forks %d, close %d jobs each | %.1f s | %.1f s |' % (r['clusters'], r['forks'], r['jobs'], r['all']['wall'], r['all']['cpu']),
        '| %d clusters, no-op re-run | %.1f s | %.1f s |' % (r['clusters'], r['noop']['wall'], r['noop']['cpu']),
        '| 1 cluster, no-op, 10-entry document | %.1f s | %.1f s |' % (r['ten']['one']['wall'], r['ten']['one']['cpu']),
        '| %d clusters, no-op, 10-entry document | %.1f s | %.1f s |' % (r['clusters'], r['ten']['all']['wall'], r['ten']['all']['cpu']),
        '',
        'CPU per cluster: %.2f s converging (beyond the one-cluster run, whose start-up and summary are paid once), '
        '%.2f s for a no-op run (its start-up included). On 2 cores shared with other work this, not forks, sets the '
        'wall time.' % ((r['all']['cpu'] - r['one']['cpu']) / max(r['clusters'] - 1, 1), r['noop']['cpu'] / r['clusters']),
        '', '| target | measured | result |', '|---|---|---|',
    ]
    passed = True
    for name, measured, ok in targets:
        passed = passed and ok
        lines.append('| %s | %s | %s |' % (name, measured, '**PASS**' if ok else '**MISS**'))
    return '\n'.join(lines) + '\n', passed


def history_row(r):
    ratio = r['all']['wall'] / r['one']['wall']
    return '| %s | %s | %.1f | %.1f s | %.1f s | %.2fx%s | %.1f s / %.1f s | %.2f s / %.2f s |' % (
        r['date'].replace(' UTC', ''), r['revision'], r['load_end'], r['one']['wall'], r['all']['wall'], ratio,
        '' if ratio <= 2.0 else ' MISS', r['all']['cpu'], r['noop']['cpu'],
        (r['all']['cpu'] - r['one']['cpu']) / max(r['clusters'] - 1, 1), r['noop']['cpu'] / r['clusters'])


def with_history(text, r, previous):
    """The history section of the previous results file (everything from its line `History`), with this run's
    row added after the table's last row; the runs before stay readable next to this one."""
    start = previous.find('\nHistory')
    if start < 0:
        return text
    tail = previous[start + 1:].split('\n')
    last_row = max(index for index, line in enumerate(tail) if line.startswith('| 20'))
    tail.insert(last_row + 1, history_row(r))
    return text + '\n' + '\n'.join(tail)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.fleet', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--clusters', type=int, default=20)
    parser.add_argument('--forks', type=int, default=20)
    parser.add_argument('--jobs', type=int, default=5, help='ML jobs per cluster')
    parser.add_argument('--es-version', default='8.19.3')
    parser.add_argument('--close-seconds', type=float, default=20.0, help='emulated duration of each job close')
    parser.add_argument('--output', default=os.path.join(harness.BENCH_DIR, 'RESULTS-fleet.md'), help='- for stdout only')
    parser.add_argument('--check', action='store_true', help='exit 1 when a target is missed')
    args = parser.parse_args(argv)
    result = measure(args)
    text, passed = render(result)
    if args.output != '-' and os.path.exists(args.output):
        with open(args.output) as handle:
            text = with_history(text, result, handle.read())
    if args.output != '-':
        with open(args.output, 'w') as handle:
            handle.write(text)
        log('wrote %s' % os.path.relpath(args.output, harness.REPO))
    print(text)
    return 1 if args.check and not passed else 0


if __name__ == '__main__':
    sys.exit(main())
