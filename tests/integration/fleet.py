#!/usr/bin/env python
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet of emulated Elasticsearch clusters for the converge scenario and the fleet benchmark.

    fleet.py start --dir DIR [--versions 6.8.23,7.13.4,...] [--unreachable NAME] [--failed-job NAME]
                   [--fixture converge|bench|definitions|none]
        Start one emulator per version (in the background, their own session), create the fixture of
        each cluster with real Elasticsearch APIs, and write DIR/fleet.json and DIR/inventory.yml
        (group `fleet`; each host has es_url, es_version, es_emulated and ansible_connection local).
        --unreachable adds a host whose URL is a port nothing listens on; --failed-job makes one
        cluster's job fail through the emulator control API (POST /_emulator/ml/<job>/_fail).
    fleet.py stop --dir DIR
        SIGTERM the emulators DIR/fleet.json recorded (only processes that are still `tests.emulator`).

Host names are `es<major><minor>-<n>` so a report file tells the version at a glance.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_VERSIONS = '6.8.23,7.13.4,7.14.2,7.17.28,8.10.4,8.15.5,8.19.3,9.0.8,9.1.5,9.1.5'
TIMINGS = ['--close-seconds', '0.2', '--stop-seconds', '0.2', '--open-seconds', '0.05']
READY_TIMEOUT = 60

# The converge fixture: what the desired-state document in the scenario is checked against.
JOBS = {
    # id: (groups, open?)
    'fleet-web': (['fleet'], True),
    'fleet-db': (['fleet'], False),      # declared opened through its group: the plan opens it
    'fleet-legacy': ([], True),          # not in the document: reported as unmanaged
    'fleet-old': ([], False),            # declared absent: deleted
}
DATAFEEDS = {'datafeed-fleet-web': 'fleet-web', 'datafeed-fleet-db': 'fleet-db'}
ROLLUPS = ['fleet-hourly']


def version_tuple(text):
    return tuple(int(p) for p in text.split('-')[0].split('.')[:3])


class Es:
    """Just enough HTTP for fixtures (stdlib only, real Elasticsearch APIs)."""

    def __init__(self, url, version):
        self.url = url.rstrip('/')
        self.version = version_tuple(version)
        self.ml = '/_xpack/ml' if self.version < (7, 0, 0) else '/_ml'
        self.rollup = '/_xpack/rollup' if self.version < (7, 0, 0) else '/_rollup'

    def call(self, method, path, body=None, ok=(200,)):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        if status not in ok:
            raise RuntimeError('%s %s%s -> HTTP %s %s' % (method, self.url, path, status, raw[:300].decode('utf-8', 'replace')))
        return json.loads(raw) if raw else None

    def requests(self):
        return self.call('GET', '/_emulator/requests')['requests']

    def clear_requests(self):
        return self.call('DELETE', '/_emulator/requests')


def converge_fixture(es, failed_job=False):
    mapping = {'properties': {'timestamp': {'type': 'date'}, 'value': {'type': 'double'}}}
    es.call('PUT', '/fleet-source', {'mappings': {'_doc': mapping} if es.version < (7, 0, 0) else mapping})
    for job_id, (groups, _open) in sorted(JOBS.items()):
        es.call('PUT', '%s/anomaly_detectors/%s' % (es.ml, job_id), {
            'groups': groups, 'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
            'data_description': {'time_field': 'timestamp'}})
    for df_id, job_id in sorted(DATAFEEDS.items()):
        es.call('PUT', '%s/datafeeds/%s' % (es.ml, df_id), {'job_id': job_id, 'indices': ['fleet-source']})
    for job_id, (_groups, opened) in sorted(JOBS.items()):
        if opened:
            es.call('POST', '%s/anomaly_detectors/%s/_open' % (es.ml, job_id))
    if es.version >= (8, 15, 0):
        # 8.15+ refuses rollup PUT in a cluster that never used rollups; ES's own tests create this index first
        # (x-pack/plugin/rollup/src/main/java/org/elasticsearch/xpack/rollup/action/TransportPutRollupJobAction.java, 8.15).
        es.call('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'dummy': {}}}}})
    interval = 'interval' if es.version < (7, 2, 0) else 'calendar_interval'
    for rollup_id in ROLLUPS:
        es.call('PUT', '%s/job/%s' % (es.rollup, rollup_id), {
            'index_pattern': 'fleet-source', 'rollup_index': 'fleet-rollup', 'cron': '0 0 * * * ?', 'page_size': 100,
            'groups': {'date_histogram': {'field': 'timestamp', interval: '1h'}},
            'metrics': [{'field': 'value', 'metrics': ['min', 'max', 'sum']}]})
    if failed_job:
        es.call('POST', '/_emulator/ml/fleet-web/_fail', {'reason': 'fleet scenario: emulated failure'})


BENCH_JOBS = 5


def bench_fixture(es, failed_job=False):  # pylint: disable=unused-argument
    """BENCH_JOBS closed ML jobs bench-<n> in group `bench` (benchmarks/fleet.py opens them)."""
    for index in range(BENCH_JOBS):
        es.call('PUT', '%s/anomaly_detectors/bench-%d' % (es.ml, index), {
            'groups': ['bench'], 'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
            'data_description': {'time_field': 'timestamp'}})


def definitions_fixture(es, failed_job=False):  # pylint: disable=unused-argument
    """Only the source index the converge_definitions scenario's declared job, datafeed and rollup job read (the
    scenario's document creates them), and on 8.15+ the rollup usage a rollup PUT needs (as converge_fixture)."""
    mapping = {'properties': {'timestamp': {'type': 'date'}, 'value': {'type': 'double'}, 'status': {'type': 'integer'}}}
    es.call('PUT', '/defs-source', {'mappings': {'_doc': mapping} if es.version < (7, 0, 0) else mapping})
    if es.version >= (8, 15, 0):
        es.call('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'dummy': {}}}}})


FIXTURES = {'converge': converge_fixture, 'bench': bench_fixture, 'definitions': definitions_fixture,
            'none': lambda es, failed_job=False: None}


def emulator_supports(option):
    with open(os.path.join(REPO_ROOT, 'tests', 'emulator', '__main__.py')) as handle:
        return option in handle.read()


def host_names(versions):
    names, seen = [], {}
    for version in versions:
        stem = 'es%s' % ''.join(version.split('.')[:2])
        seen[stem] = seen.get(stem, 0) + 1
        names.append('%s-%d' % (stem, seen[stem]))
    return names


def free_port():
    """A port nothing listens on (bound, then released): connections to it are refused."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def start(args):
    os.makedirs(args.dir, exist_ok=True)
    versions = [v for v in args.versions.split(',') if v.strip()]
    names = host_names(versions)
    cluster_name = emulator_supports('--cluster-name')
    hosts = {}
    procs = []
    for name, version in zip(names, versions):
        cmd = [sys.executable, '-m', 'tests.emulator', '--port', '0', '--es-version', version] + TIMINGS
        if cluster_name:
            cmd += ['--cluster-name', name]
        url_file = os.path.join(args.dir, name + '.url')
        with open(url_file, 'w') as out, open(os.path.join(args.dir, name + '.log'), 'w') as err:
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err,  # pylint: disable=consider-using-with
                                    start_new_session=True)
        procs.append((name, version, proc, url_file))
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        for name, version, proc, url_file in procs:
            url = ''
            while not url.startswith('http'):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('emulator %s (%s) did not start; see %s' % (name, version, url_file[:-4] + '.log'))
                time.sleep(0.05)
                with open(url_file) as handle:
                    url = handle.readline().strip()
            hosts[name] = {'es_url': url, 'es_version': version, 'es_emulated': True, 'pid': proc.pid}
        for name, host in hosts.items():
            FIXTURES[args.fixture](Es(host['es_url'], host['es_version']), failed_job=(name == args.failed_job))
    except Exception:
        stop_pids([p.pid for _n, _v, p, _u in procs])
        raise
    if args.unreachable:
        hosts[args.unreachable] = {'es_url': 'http://127.0.0.1:%d' % free_port(), 'es_version': None,
                                   'es_emulated': False, 'pid': None}
    with open(os.path.join(args.dir, 'fleet.json'), 'w') as handle:
        json.dump({'hosts': hosts}, handle, indent=1)
    inventory = {'all': {'children': {'fleet': {
        'hosts': dict((name, {k: v for k, v in host.items() if k != 'pid'}) for name, host in hosts.items()),
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}}
    with open(os.path.join(args.dir, 'inventory.yml'), 'w') as handle:
        json.dump(inventory, handle, indent=1)  # JSON is YAML
    print('fleet: %d clusters in %s' % (len(hosts), args.dir), flush=True)
    return 0


def stop_pids(pids):
    for pid in pids:
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                if b'tests.emulator' not in handle.read():
                    continue
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            continue
    deadline = time.monotonic() + 10
    for pid in pids:
        while time.monotonic() < deadline and os.path.exists('/proc/%d' % pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)


def stop(args):
    path = os.path.join(args.dir, 'fleet.json')
    if not os.path.exists(path):
        return 0
    with open(path) as handle:
        hosts = json.load(handle)['hosts']
    stop_pids([h['pid'] for h in hosts.values() if h.get('pid')])
    os.unlink(path)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='action')
    start_p = sub.add_parser('start')
    start_p.add_argument('--dir', required=True)
    start_p.add_argument('--versions', default=DEFAULT_VERSIONS)
    start_p.add_argument('--unreachable', help='also add this host name, pointing at a port nothing listens on')
    start_p.add_argument('--failed-job', help='host name whose job fleet-web fails after the fixture')
    start_p.add_argument('--fixture', choices=sorted(FIXTURES), default='converge')
    stop_p = sub.add_parser('stop')
    stop_p.add_argument('--dir', required=True)
    args = parser.parse_args(argv)
    if args.action == 'start':
        return start(args)
    if args.action == 'stop':
        return stop(args)
    parser.error('choose start or stop')
    return 2


if __name__ == '__main__':
    sys.exit(main())
