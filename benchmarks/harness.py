# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark plumbing: a small ES client for fixtures, the rollup "busy indexer" driver, and playbook runs.

Fixtures use only real Elasticsearch APIs (PUT/open/start jobs); the one exception is the rollup driver, which
uses the emulator's control API to keep started rollup jobs `indexing` (so that every stop really takes the
emulated stop duration) and to observe, every 10 ms, when each job reaches `stopped`. Control API calls are not
in the emulator's request log, so they never count as requests of the tool being measured.
"""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from tests import es_http

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(REPO, 'benchmarks')
PLAYBOOKS = os.path.join(BENCH_DIR, 'playbooks')
CALLBACKS = os.path.join(BENCH_DIR, 'callback_plugins')


class EsError(Exception):
    pass


class Es:
    """Just enough HTTP for fixtures (stdlib only)."""

    def __init__(self, url):
        self.url = url.rstrip('/')

    def call(self, method, path, body=None, ok=(200,)):
        resp = es_http.request(self.url, method, path, body, timeout=120, connect_retries=4)
        if resp.status not in ok:
            raise EsError('%s %s -> HTTP %s %s' % (method, path, resp.status, resp.raw[:300].decode('utf-8', 'replace')))
        return resp.body

    def control(self, method, path, body=None, ok=(200,)):
        return self.call(method, '/_emulator/' + path, body, ok=ok)


def parallel(func, items, workers=4):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(func, items))


def version_tuple(text):
    return tuple(int(p) for p in text.split('-')[0].split('.')[:3])


# ---------------------------------------------------------------- fixtures (real ES APIs)

def create_open_ml_jobs(es, job_ids):
    body = {'groups': ['bench'],
            'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
            'analysis_limits': {'model_memory_limit': '10mb'},
            'data_description': {'time_field': 'timestamp'}}
    parallel(lambda job_id: es.call('PUT', '/_ml/anomaly_detectors/' + job_id, body), job_ids)
    parallel(lambda job_id: es.call('POST', '/_ml/anomaly_detectors/%s/_open' % job_id), job_ids)
    states = ml_states(es)
    not_open = [j for j in job_ids if states.get(j) != 'opened']
    if not_open:
        raise EsError('fixture: %d ML jobs did not open (%s...)' % (len(not_open), not_open[:3]))


def ml_states(es):
    return {j['job_id']: j['state'] for j in es.call('GET', '/_ml/anomaly_detectors/_all/_stats')['jobs']}


def ml_finished_times(es):
    """Job id -> `finished_time` (epoch seconds) that Elasticsearch records when a job has closed."""
    jobs = es.call('GET', '/_ml/anomaly_detectors/_all')['jobs']
    return {j['job_id']: j['finished_time'] / 1000.0 for j in jobs if j.get('finished_time') is not None}


def create_started_rollup_jobs(es, job_ids, es_version):
    if version_tuple(es_version) >= (8, 15, 0):
        # 8.15+ refuses rollup PUT in a cluster without rollup usage (es-behaviour §3.6); ES's own tests do this.
        es.call('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'dummy': {}}}}})
    es.call('PUT', '/bench-source', {'mappings': {'properties': {'timestamp': {'type': 'date'}, 'value': {'type': 'double'}}}})

    def put(job_id):
        es.call('PUT', '/_rollup/job/' + job_id, {
            'index_pattern': 'bench-source', 'rollup_index': 'bench-rollup', 'cron': '0 0 * * * ?', 'page_size': 1000,
            'groups': {'date_histogram': {'field': 'timestamp', 'calendar_interval': '1h'}},
            'metrics': [{'field': 'value', 'metrics': ['min', 'max', 'sum']}]})
    # Sequential: every PUT updates the shared rollup index's _meta.
    for job_id in job_ids:
        put(job_id)
    parallel(lambda job_id: es.call('POST', '/_rollup/job/%s/_start' % job_id), job_ids)


def rollup_states(es):
    return {j['config']['id']: j['status']['job_state'] for j in es.call('GET', '/_rollup/job/_all')['jobs']}


class RollupDriver(threading.Thread):
    """Keeps started rollup jobs busy (`indexing`, as jobs with a backlog are) and records when each one stops.

    Every `period` seconds: GET /_emulator/state; each `started` job gets POST /_emulator/rollup/<id>/_indexing
    (an indexing run of --stop-seconds); the first time a job is seen `stopped` is recorded. A stop that arrives
    while a job is indexing leaves it `stopping` for --stop-seconds (es-behaviour §3.2), so every measured stop
    takes the full emulated stop duration.
    """

    def __init__(self, es, job_ids, period=0.01):
        super().__init__(daemon=True)
        self.es = es
        self.job_ids = set(job_ids)
        self.period = period
        self.stopped_at = {}
        self.error = None
        self._halt = threading.Event()

    def run(self):
        try:
            while not self._halt.is_set():
                states = self.es.control('GET', 'state')['rollup_jobs']
                now = time.time()
                for job_id in self.job_ids:
                    state = states.get(job_id)
                    if state == 'stopped':
                        self.stopped_at.setdefault(job_id, now)
                    elif state == 'started':
                        # 409 when the job was stopped meanwhile: fine.
                        self.es.control('POST', 'rollup/%s/_indexing' % job_id, ok=(200, 409))
                self._halt.wait(self.period)
        except Exception as err:  # pylint: disable=broad-except
            self.error = err

    def wait_all_indexing(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.es.control('GET', 'state')['rollup_jobs']
            if all(states.get(j) == 'indexing' for j in self.job_ids):
                return
            time.sleep(0.02)
        raise EsError('fixture: rollup jobs did not all reach indexing')

    def halt(self):
        self._halt.set()
        self.join(10)
        if self.error:
            raise EsError('rollup driver failed: %s' % self.error)


# ---------------------------------------------------------------- running playbooks

def collections_path():
    """The tree ansible-playbook loads esops.jobs from: $ANSIBLE_COLLECTIONS_PATH (make bench sets the build
    tree), else the build tree refreshed with .ci/sync_build_tree.py, else /tmp/ac."""
    env = os.environ.get('ANSIBLE_COLLECTIONS_PATH')
    if env:
        return env
    build = os.path.join(REPO, '.build')
    sync = os.path.join(REPO, '.ci', 'sync_build_tree.py')
    if os.path.exists(sync):
        subprocess.run([sys.executable, sync, REPO, os.path.join(build, 'ansible_collections', 'esops', 'jobs')],
                       check=True, stdout=subprocess.DEVNULL)
        return build
    return '/tmp/ac'


class PlaybookRun:
    def __init__(self, wall, events, output):
        self.wall = wall
        self.events = events
        self.output = output
        starts = [e['time'] for e in events if e['event'] == 'task_start']
        results = [e['time'] for e in events if e['event'] not in ('playbook_start', 'task_start', 'stats')]
        self.task_start = min(starts)
        self.task_end = max(results)
        self.task_time = self.task_end - self.task_start
        self.retries = sum(1 for e in events if e['event'] == 'retry')
        self.changed = any(e.get('changed') for e in events if e['event'] == 'task_ok')


class PlaybookFailed(Exception):
    pass


def run_playbook(name, extra_vars, coll_path, log_dir):
    """Run benchmarks/playbooks/<name>; return a PlaybookRun (wall time around the whole ansible-playbook)."""
    work = tempfile.mkdtemp(prefix='esops-bench-')
    try:
        vars_file = os.path.join(work, 'vars.json')
        timer_file = os.path.join(work, 'timer.json')
        with open(vars_file, 'w') as handle:
            json.dump(extra_vars, handle)
        env = dict(os.environ)
        env.update({
            'ANSIBLE_COLLECTIONS_PATH': coll_path,
            'ANSIBLE_CALLBACK_PLUGINS': CALLBACKS,
            'ANSIBLE_CALLBACKS_ENABLED': 'bench_timer',
            'BENCH_TIMER_FILE': timer_file,
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_LOCALHOST_WARNING': 'false',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
            'ANSIBLE_RETRY_FILES_ENABLED': 'false',
        })
        cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
               os.path.join(PLAYBOOKS, name), '-e', '@' + vars_file]
        started = time.monotonic()
        proc = subprocess.run(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        wall = time.monotonic() - started
        output = proc.stdout.decode('utf-8', 'replace')
        log_path = os.path.join(log_dir, '%s-%s.log' % (name.rsplit('.', 1)[0], extra_vars.get('n', 'x')))
        with open(log_path, 'a') as handle:
            handle.write(output)
        if proc.returncode != 0:
            raise PlaybookFailed('%s failed (rc=%d); last lines:\n%s' % (name, proc.returncode, '\n'.join(output.splitlines()[-25:])))
        with open(timer_file) as handle:
            events = json.load(handle)
        return PlaybookRun(wall, events, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
