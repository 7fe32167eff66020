# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`python -m benchmarks.fleet`: playbooks/converge.yml over a fleet of emulated clusters.

Targets (issue 17):
  * N clusters (default 20) converged with forks N in at most twice the wall time of one cluster;
  * a no-op run sends at most two requests per cluster (each emulator's request log, read through its
    control API, which is not itself logged).

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


def run_converge(inventory, limit, forks, work, coll_path):
    """ansible-playbook playbooks/converge.yml on `limit`; returns (wall seconds, CPU seconds, fleet.json)."""
    reports = os.path.join(work, 'reports-%d' % time.monotonic_ns())
    extra = {'converge_target': 'fleet', 'converge_desired': DOCUMENT, 'converge_report_dir': reports,
             'converge_fleet_report_dir': reports, 'converge_connection': {'hosts': '{{ es_url }}'}}
    extra_file = os.path.join(work, 'extra.json')
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
    }
    shutil.rmtree(work, ignore_errors=True)
    return result


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
    ]
    lines = [
        '# Fleet benchmark (`python -m benchmarks.fleet`, part of `make bench`)', '',
        'playbooks/converge.yml with the role esops.jobs.converge over emulated clusters (ES %s personality), '
        'each with %d open ML jobs in group `bench` and the document `ml_jobs: [{id: bench, state: closed}]`; '
        'each close takes %.1f s in the emulator (Elasticsearch persists the model state first). '
        'Wall time is the whole ansible-playbook run (start-up and fleet summary included); CPU is what '
        'ansible-playbook and its workers used.' % (r['es_version'], r['jobs'], r['close_seconds']), '',
        'Run: %s, revision %s, %d CPUs, load average %.1f at the end.' % (r['date'], r['revision'], r['nproc'], r['load_end']), '',
        '| run | wall | CPU |', '|---|---:|---:|',
        '| 1 cluster, close %d jobs | %.1f s | %.1f s |' % (r['jobs'], r['one']['wall'], r['one']['cpu']),
        '| %d clusters, forks %d, close %d jobs each | %.1f s | %.1f s |' % (r['clusters'], r['forks'], r['jobs'], r['all']['wall'], r['all']['cpu']),
        '| %d clusters, no-op re-run | %.1f s | %.1f s |' % (r['clusters'], r['noop']['wall'], r['noop']['cpu']),
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
    text, passed = render(measure(args))
    if args.output != '-':
        with open(args.output, 'w') as handle:
            handle.write(text)
        log('wrote %s' % os.path.relpath(args.output, harness.REPO))
    print(text)
    return 1 if args.check and not passed else 0


if __name__ == '__main__':
    sys.exit(main())
