# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`python -m benchmarks`: esops.jobs modules vs the usual ansible.builtin.uri loops, against the emulator."""

import argparse
import collections
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

from benchmarks import harness
from benchmarks.report import render

ML_SIZES = (1, 10, 100, 1000)
ROLLUP_SIZES = (1, 10, 100)
PATTERN = 'bench-ml-*'


def log(message):
    print('[bench %s] %s' % (time.strftime('%H:%M:%S'), message), flush=True)


def request_summary(entries):
    """Group logged requests by method and endpoint shape, e.g. 'POST _close': 3."""
    counts = collections.Counter()
    for entry in entries:
        path = entry['path']
        if path == '/':
            kind = '/'
        elif path in ('/_ml/info', '/_xpack/ml/info'):
            kind = 'ml info'
        else:
            kind = path.rstrip('/').rsplit('/', 1)[-1]
            if not kind.startswith('_'):
                kind = re.sub(r'^/(_ml|_rollup)/.*$', r'\1/<id>', path)
        counts['%s %s' % (entry['method'], kind)] += 1
    return dict(sorted(counts.items()))


class Bench:
    def __init__(self, args):
        self.args = args
        self.coll_path = harness.collections_path()
        self.log_dir = tempfile.mkdtemp(prefix='esops-bench-logs-')
        self.emu = None
        self.es = None
        self.rows = []
        self.noop = []
        self.current_n = 0

    # ------------------------------------------------------------ helpers
    def module_available(self, name):
        return os.path.exists(os.path.join(self.coll_path, 'ansible_collections', 'esops', 'jobs', 'plugins', 'modules', name + '.py'))

    def measured(self, playbook, job_ids, server_done=None, verify=None):
        """Clear the request log, run the playbook, return a result dict (server_done() -> completion epoch)."""
        self.emu.clear_requests()
        run = harness.run_playbook(playbook, {'es_url': self.emu.url, 'job_ids': job_ids, 'n': self.current_n,
                                              'poll_delay': self.args.poll_delay, 'poll_retries': 60},
                                   self.coll_path, self.log_dir)
        entries = self.emu.requests()
        if self.args.dump_requests:
            os.makedirs(self.args.dump_requests, exist_ok=True)
            name = '%s-%d-%d.json' % (playbook.rsplit('.', 1)[0], self.current_n, len(os.listdir(self.args.dump_requests)))
            with open(os.path.join(self.args.dump_requests, name), 'w') as handle:
                json.dump({'task_start': run.task_start, 'task_end': run.task_end, 'requests': entries}, handle, indent=1)
        result = {'wall': run.wall, 'task_time': run.task_time, 'requests': len(entries), 'changed': run.changed,
                  'by_kind': request_summary(entries), 'retries': run.retries,
                  'non_2xx': sum(1 for e in entries if not 200 <= (e['status'] or 0) < 300)}
        if entries:
            first = min(e['time'] for e in entries)
            result['es_time'] = run.task_end - first
        if server_done is not None:
            done = server_done()
            if done is not None:
                result['gap'] = run.task_end - done
        if verify is not None:
            verify()
        return result

    # ------------------------------------------------------------ ML
    def ml_fixture(self, n):
        self.emu.reset()
        ids = ['bench-ml-%04d' % i for i in range(n)]
        harness.create_open_ml_jobs(self.es, ids)
        return ids

    def ml_verify(self, ids):
        def verify():
            states = harness.ml_states(self.es)
            wrong = [j for j in ids if states.get(j) != 'closed']
            if wrong:
                raise harness.EsError('%d jobs not closed after the run, e.g. %s=%s' % (len(wrong), wrong[0], states.get(wrong[0])))
        return verify

    def ml_done(self, ids):
        def done():
            finished = harness.ml_finished_times(self.es)
            times = [finished[j] for j in ids if j in finished]
            return max(times) if times else None
        return done

    def ml_case(self, n, module):
        self.current_n = n
        if n <= self.args.baseline_max:
            ids = self.ml_fixture(n)
            log('ML close N=%d: uri loop...' % n)
            res = self.measured('ml_close_uri.yml', ids, self.ml_done(ids), self.ml_verify(ids))
            self.rows.append(dict(res, case='ml', n=n, tool='uri loop'))
            log('  uri loop: task %.2fs, wall %.2fs, %d requests' % (res['task_time'], res['wall'], res['requests']))
            if n == self.args.noop_baseline_n:
                log('ML no-op N=%d: uri loop re-run...' % n)
                res = self.measured('ml_close_uri.yml', ids)
                self.noop.append(dict(res, case='ml', n=n, tool='uri loop'))
        if not module:
            return
        ids = self.ml_fixture(n)
        log('ML close N=%d: ml_job_state...' % n)
        res = self.measured('ml_close_module.yml', ids, self.ml_done(ids), self.ml_verify(ids))
        self.rows.append(dict(res, case='ml', n=n, tool='ml_job_state'))
        log('  ml_job_state: task %.2fs, wall %.2fs, %d requests, return gap %.3fs'
            % (res['task_time'], res['wall'], res['requests'], res.get('gap', float('nan'))))
        res = self.measured('ml_close_module.yml', ids)
        self.noop.append(dict(res, case='ml', n=n, tool='ml_job_state'))
        log('  no-op re-run: %d requests, changed=%s' % (res['requests'], res['changed']))
        if n in self.args.pattern_sizes:
            # The same jobs named by one wildcard instead of N explicit ids.
            ids = self.ml_fixture(n)
            tool = 'ml_job_state (job_id: %s)' % PATTERN
            log('ML close N=%d: %s...' % (n, tool))
            res = self.measured('ml_close_module.yml', [PATTERN], self.ml_done(ids), self.ml_verify(ids))
            self.rows.append(dict(res, case='ml', n=n, tool=tool))
            log('  task %.2fs, %d requests, return gap %.3fs' % (res['task_time'], res['requests'], res.get('gap', float('nan'))))
            res = self.measured('ml_close_module.yml', [PATTERN])
            self.noop.append(dict(res, case='ml', n=n, tool=tool))
            log('  no-op re-run: %d requests, changed=%s' % (res['requests'], res['changed']))

    # ------------------------------------------------------------ rollups
    def rollup_fixture(self, n):
        self.emu.reset()
        ids = ['bench-rollup-%03d' % i for i in range(n)]
        harness.create_started_rollup_jobs(self.es, ids, self.args.es_version)
        driver = harness.RollupDriver(self.es, ids)
        driver.start()
        driver.wait_all_indexing()
        return ids, driver

    def rollup_verify(self, ids):
        def verify():
            states = harness.rollup_states(self.es)
            wrong = [j for j in ids if states.get(j) != 'stopped']
            if wrong:
                raise harness.EsError('%d rollup jobs not stopped after the run, e.g. %s=%s' % (len(wrong), wrong[0], states.get(wrong[0])))
        return verify

    @staticmethod
    def rollup_done(ids, driver):
        def done():
            times = [driver.stopped_at[j] for j in ids if j in driver.stopped_at]
            return max(times) if len(times) == len(ids) else None
        return done

    def rollup_case(self, n, module):
        self.current_n = n
        if n <= self.args.baseline_max:
            ids, driver = self.rollup_fixture(n)
            log('Rollup stop N=%d: uri loop...' % n)
            try:
                res = self.measured('rollup_stop_uri.yml', ids, self.rollup_done(ids, driver), self.rollup_verify(ids))
            finally:
                driver.halt()
            self.rows.append(dict(res, case='rollup', n=n, tool='uri loop'))
            log('  uri loop: task %.2fs, wall %.2fs, %d requests' % (res['task_time'], res['wall'], res['requests']))
            if n == self.args.noop_baseline_n:
                log('Rollup no-op N=%d: uri loop re-run...' % n)
                res = self.measured('rollup_stop_uri.yml', ids)
                self.noop.append(dict(res, case='rollup', n=n, tool='uri loop'))
        if not module:
            return
        ids, driver = self.rollup_fixture(n)
        log('Rollup stop N=%d: rollup_job_state...' % n)
        try:
            res = self.measured('rollup_stop_module.yml', ids, self.rollup_done(ids, driver), self.rollup_verify(ids))
        finally:
            driver.halt()
        self.rows.append(dict(res, case='rollup', n=n, tool='rollup_job_state'))
        log('  rollup_job_state: task %.2fs (%.2fs from its first request), %d requests, return gap %.3fs'
            % (res['task_time'], res.get('es_time', float('nan')), res['requests'], res.get('gap', float('nan'))))
        res = self.measured('rollup_stop_module.yml', ids)
        self.noop.append(dict(res, case='rollup', n=n, tool='rollup_job_state'))
        log('  no-op re-run: %d requests, changed=%s' % (res['requests'], res['changed']))

    # ------------------------------------------------------------ main
    def run(self):
        from tests.emulator.launcher import running_emulator  # pylint: disable=import-outside-toplevel
        args = self.args
        have_ml = self.module_available('ml_job_state')
        have_rollup = self.module_available('rollup_job_state')
        for name, have in (('ml_job_state', have_ml), ('rollup_job_state', have_rollup)):
            if not have:
                log('esops.jobs.%s is not in %s yet: measuring the uri baseline only' % (name, self.coll_path))
        log('emulator: ES %s personality, close %.2fs, stop %.2fs; collection from %s; logs in %s'
            % (args.es_version, args.close_seconds, args.stop_seconds, self.coll_path, self.log_dir))
        started = time.monotonic()
        load_before = os.getloadavg()
        with running_emulator(es_version=args.es_version, close_seconds=args.close_seconds,
                              stop_seconds=args.stop_seconds, open_seconds=args.open_seconds) as emu:
            self.emu = emu
            self.es = harness.Es(emu.url)
            for n in args.ml_sizes:
                self.ml_case(n, have_ml)
            for n in args.rollup_sizes:
                self.rollup_case(n, have_rollup)
        elapsed = time.monotonic() - started
        meta = {
            'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'nproc': os.cpu_count(), 'python': platform.python_version(), 'ansible': ansible_version(),
            'machine': '%s %s' % (platform.system(), platform.machine()),
            'es_version': args.es_version, 'close_seconds': args.close_seconds, 'stop_seconds': args.stop_seconds,
            'open_seconds': args.open_seconds, 'poll_delay': args.poll_delay, 'baseline_max': args.baseline_max,
            'elapsed': elapsed, 'noop_baseline_n': args.noop_baseline_n,
            'load': (load_before[0], os.getloadavg()[0]), 'revision': git_revision(),
        }
        return {'meta': meta, 'rows': self.rows, 'noop': self.noop}


def git_revision():
    """HEAD's short hash, noting uncommitted changes to plugins/ (what the modules ran from)."""
    try:
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=harness.REPO, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--', 'plugins'], cwd=harness.REPO, check=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    return head + (' + uncommitted changes in plugins/' if dirty else '')


def ansible_version():
    try:
        from ansible.release import __version__  # pylint: disable=import-outside-toplevel
        return __version__
    except ImportError:
        return 'unknown'


# `--smoke` (make bench-smoke, part of make test): small sizes, short emulated durations, no uri loops,
# and only the deterministic half of the targets: the exact requests each run sends. Timing targets
# need a quiet machine and stay in `make bench`.
SMOKE_N = 10


def smoke_expected(row):
    """The requests (by endpoint) a run must send; N ids fit one request line at SMOKE_N."""
    n, noop = row['n'], row['kind'] == 'noop'
    if row['case'] == 'ml':
        # A job that has to move also costs one ML info read (upgrade mode, checked in the plan).
        return dict({'GET /': 1, 'GET _stats': 1}, **({} if noop else {'GET ml info': 1, 'POST _close': 1}))
    return dict({'GET /': 1, 'GET _all': 1}, **({} if noop else {'POST _stop': n}))


def smoke_check(data):
    rows = [dict(r, kind='change') for r in data['rows']] + [dict(r, kind='noop') for r in data['noop']]
    failures = []
    log('smoke: requests per run (deterministic; timings are only measured by make bench)')
    for row in rows:
        expected = smoke_expected(row)
        ok = row['by_kind'] == expected and row['changed'] == (row['kind'] == 'change') and row['non_2xx'] == 0
        log('  %-6s %-6s N=%-3d %-40s %2d requests %-50s changed=%s %s' % (
            row['case'], row['kind'], row['n'], row['tool'], row['requests'],
            ', '.join('%s x%d' % kv for kv in sorted(row['by_kind'].items())), row['changed'], 'ok' if ok else 'FAIL'))
        if not ok:
            failures.append('%s %s N=%d %s: sent %s (changed=%s), expected %s (changed=%s)' % (
                row['case'], row['kind'], row['n'], row['tool'], row['by_kind'], row['changed'], expected,
                row['kind'] == 'change'))
    if len(rows) != 6:
        failures.append('expected 6 measured runs, got %d' % len(rows))
    for failure in failures:
        log('smoke FAILED: ' + failure)
    return not failures


def sizes(text):
    return tuple(int(p) for p in text.split(',') if p.strip())


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks', description=__doc__)
    parser.add_argument('--es-version', default='8.19.3', help='emulator personality (default %(default)s)')
    parser.add_argument('--close-seconds', type=float, default=0.5, help='emulated ML close duration per job')
    parser.add_argument('--stop-seconds', type=float, default=0.5, help='emulated rollup stop duration per job')
    parser.add_argument('--open-seconds', type=float, default=0.02, help='emulated ML open duration (fixtures only)')
    parser.add_argument('--poll-delay', type=int, default=1, help='`delay` of the uri loops\' until polling (seconds)')
    parser.add_argument('--ml-sizes', type=sizes, default=ML_SIZES, help='comma-separated N for ML close')
    parser.add_argument('--rollup-sizes', type=sizes, default=ROLLUP_SIZES, help='comma-separated N for rollup stop')
    parser.add_argument('--baseline-max', type=int, default=100,
                        help='largest N the uri loop is run for; larger N are extrapolated linearly')
    parser.add_argument('--pattern-sizes', type=sizes, default=(1000,),
                        help='N at which ml_job_state is also run with job_id: %s instead of N ids' % PATTERN)
    parser.add_argument('--noop-baseline-n', type=int, default=10, help='N at which the uri loop no-op re-run is measured')
    parser.add_argument('--output', default=os.path.join(harness.BENCH_DIR, 'RESULTS.md'),
                        help='where to write the table (default benchmarks/RESULTS.md; - for stdout only)')
    parser.add_argument('--dump-requests', metavar='DIR', help='also write each measured run\'s request log to DIR as JSON')
    parser.add_argument('--save-json', metavar='FILE', help='also save the measurements as JSON')
    parser.add_argument('--from-json', metavar='FILE', help='render the table from measurements saved with --save-json')
    parser.add_argument('--check', action='store_true', help='exit 1 when a target is missed')
    parser.add_argument('--smoke', action='store_true',
                        help='N=%d only, no uri loops, short durations; check the exact requests of each run '
                             '(timing targets are not checked) and write no RESULTS.md' % SMOKE_N)
    args = parser.parse_args(argv)
    if args.smoke:
        args.ml_sizes, args.rollup_sizes, args.pattern_sizes = (SMOKE_N,), (SMOKE_N,), (SMOKE_N,)
        args.baseline_max, args.output = 0, '-'
        args.close_seconds = args.stop_seconds = 0.05
    sys.path.insert(0, harness.REPO)
    if args.from_json:
        with open(args.from_json) as handle:
            data = json.load(handle)
    else:
        data = Bench(args).run()
    if args.save_json:
        with open(args.save_json, 'w') as handle:
            json.dump(data, handle, indent=1)
    if args.smoke:
        return 0 if smoke_check(data) else 1
    text, passed = render(data['meta'], data['rows'], data['noop'])
    if args.output != '-':
        with open(args.output, 'w') as handle:
            handle.write(text)
        log('wrote %s' % os.path.relpath(args.output, harness.REPO))
    print(text)
    if args.check and not passed:
        log('--check: at least one target was missed')
        return 1
    return 0
