#!/usr/bin/env python
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run things against Elasticsearch: the emulator per version, or a real cluster from ES_URL.

    run_integration.py --collection DIR integration [TARGET...]
        Without ES_URL: for each version in ES_VERSIONS start `python -m tests.emulator`, write
        tests/integration/integration_config.yml, run `ansible-test integration [TARGET...]`, stop
        the emulator. The modules run on a Python with only the standard library (see
        managed_node_python). INTEGRATION_JOBS (default 2) versions run at once, each in its own copy of
        the build tree under .build/integration/<version>/; the first failure stops the others.
        With ES_URL: one run against that cluster (ES_USERNAME, ES_PASSWORD, ES_API_KEY,
        ES_CA_CERT, ES_VALIDATE_CERTS), es_emulated: false.

    run_integration.py --collection DIR with-es [--es-version V] [--pid-file F] -- COMMAND...
        Run COMMAND with ES_URL in its environment: the given ES_URL, or an emulator of version V
        started for the command and stopped after it (its pid in F while it runs).

    Emulators get cluster.name from --cluster-name (with-es) or EMULATOR_CLUSTER_NAME (default
    elasticsearch, ES's default) and a random cluster_uuid each start.

    run_integration.py --collection DIR with-fleet [--versions V,V,...] [--unreachable NAME] [--failed-job NAME] -- COMMAND...
        Run COMMAND with FLEET_DIR and FLEET_INVENTORY in its environment: one emulator per version with the
        converge fixture and an inventory of group `fleet` (tests/integration/fleet.py), stopped after it.

The emulator is started from the repository root, so it is always the checkout's own code.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_VERSIONS = '6.8.23 7.13.4 7.14.2 7.17.28 8.19.3 9.1.5'
# Short transitions keep the suites fast; the modules must wait for them all the same.
EMULATOR_TIMINGS = ['--close-seconds', '0.3', '--stop-seconds', '0.3', '--open-seconds', '0.1']
READY_TIMEOUT = 60


def say(msg):
    print('[run_integration] %s' % msg, flush=True)


class Emulator:
    """`python -m tests.emulator` in a child process; prints its URL on stdout when ready."""

    def __init__(self, version, log_path, pid_file=None, cluster_name=None):
        self.version = version
        # The emulated cluster's cluster.name (emulator default: elasticsearch); its cluster_uuid is random per start.
        self.cluster_name = cluster_name or os.environ.get('EMULATOR_CLUSTER_NAME') or None
        self.log_path = log_path
        self.pid_file = pid_file
        self.proc = None
        self.url = None

    def __enter__(self):
        module = os.environ.get('EMULATOR_MODULE', 'tests.emulator')
        cmd = [sys.executable, '-m', module, '--port', '0', '--es-version', self.version] + EMULATOR_TIMINGS
        if self.cluster_name:
            cmd += ['--cluster-name', self.cluster_name]
        log = open(self.log_path, 'w')  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            universal_newlines=True)
        found = threading.Event()

        def pump():
            # Keep draining stdout into the log so the emulator never blocks on a full pipe.
            for line in self.proc.stdout:
                if self.url is None and line.strip().startswith(('http://', 'https://')):
                    self.url = line.strip()
                    found.set()
                log.write(line)
                log.flush()
            found.set()

        threading.Thread(target=pump, daemon=True).start()
        found.wait(READY_TIMEOUT)
        if self.url is None:
            self.stop()
            raise RuntimeError('emulator %s did not print its URL within %d s; log %s:\n%s'
                               % (self.version, READY_TIMEOUT, self.log_path, tail(self.log_path)))
        if self.pid_file:
            with open(self.pid_file, 'w') as f:
                f.write('%d\n' % self.proc.pid)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.pid_file and os.path.exists(self.pid_file):
            os.unlink(self.pid_file)

    def __exit__(self, *exc):
        self.stop()


def tail(path, lines=30):
    try:
        with open(path) as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def write_config(collection, values):
    path = os.path.join(collection, 'tests', 'integration', 'integration_config.yml')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('---\n# written by tests/integration/run_integration.py for this run\n')
        for key in sorted(values):
            f.write('%s: %s\n' % (key, json.dumps(values[key])))  # JSON scalars are YAML
    return path


def managed_node_python(build):
    """The interpreter the integration targets' modules run on: a venv of this Python's base interpreter with
    nothing installed (<build>/managed-python, made once). A managed node needs only the standard library;
    ansible-test's own choice, the controller's .venv, is not one: every module run there also loads its
    site-packages (setuptools' .pth hook, and cryptography through ansible.module_utils.urls), ~15% of a module
    run's CPU, ~200 runs per Elasticsearch version. integration_config.yml, a vars file of each target's play,
    outranks the inventory's ansible_python_interpreter."""
    venv = os.path.join(build, 'managed-python')
    python = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, '-m', 'venv', '--without-pip', venv], stdin=subprocess.DEVNULL)
    return python


def build_dir(collection):
    """<build> of <build>/ansible_collections/<namespace>/<name>."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(collection))))


def visible_targets(collection):
    root = os.path.join(collection, 'tests', 'integration', 'targets')
    if not os.path.isdir(root):
        return []
    return sorted(t for t in os.listdir(root)
                  if os.path.isdir(os.path.join(root, t)) and not t.startswith(('setup_', 'prepare_')))


def ansible_test(collection, targets):
    bindir = os.path.dirname(sys.executable)
    cmd = [os.path.join(bindir, 'ansible-test'), 'integration', '--color', 'no' if os.environ.get('CI') else 'yes']
    cmd += list(targets)
    say('$ (cd %s && %s)' % (collection, ' '.join(cmd)))
    return subprocess.call(cmd, cwd=collection, stdin=subprocess.DEVNULL)


def cmd_integration(args):
    if not visible_targets(args.collection):
        say('FAILED: no integration targets under tests/integration/targets/ (only setup_*)')
        return 1
    if os.environ.get('ES_URL'):
        say('testing against ES_URL=%s (es_emulated: false)' % os.environ['ES_URL'])
        write_config(args.collection, {
            'es_url': os.environ['ES_URL'],
            'es_username': os.environ.get('ES_USERNAME', ''),
            'es_password': os.environ.get('ES_PASSWORD', ''),
            'es_api_key': os.environ.get('ES_API_KEY', ''),
            'es_ca_cert': os.environ.get('ES_CA_CERT', ''),
            'es_validate_certs': os.environ.get('ES_VALIDATE_CERTS', 'true').lower() not in ('0', 'false', 'no'),
            'es_emulated': False,
            'ansible_python_interpreter': managed_node_python(build_dir(args.collection)),
        })
        return ansible_test(args.collection, args.targets)

    versions = (os.environ.get('ES_VERSIONS') or DEFAULT_VERSIONS).split()
    jobs = max(1, int(os.environ.get('INTEGRATION_JOBS') or 2))
    if jobs == 1 or len(versions) == 1:
        return run_versions_in_sequence(args, versions)
    return run_versions_in_parallel(args, versions, jobs)


def emulated_config(url, python):
    return {'es_url': url, 'es_username': '', 'es_password': '', 'es_api_key': '',
            'es_ca_cert': '', 'es_validate_certs': True, 'es_emulated': True, 'ansible_python_interpreter': python}


def run_versions_in_sequence(args, versions):
    build = build_dir(args.collection)
    python = managed_node_python(build)
    timings = []
    for version in versions:
        started = time.time()
        say('=== Elasticsearch %s (emulator) ===' % version)
        with Emulator(version, os.path.join(build, 'emulator-%s.log' % version)) as emu:
            say('emulator %s at %s' % (version, emu.url))
            write_config(args.collection, emulated_config(emu.url, python))
            rc = ansible_test(args.collection, args.targets)
        timings.append('%s %.0fs' % (version, time.time() - started))
        if rc != 0:
            say('FAILED on Elasticsearch %s (emulator log: %s); not testing the remaining versions'
                % (version, emu.log_path))
            return rc
    say('integration passed on %s' % ', '.join(timings))
    return 0


def run_versions_in_parallel(args, versions, jobs):
    """Each version gets its own copy of the build tree, emulator and log (ansible-test keeps its
    state in the collection's tests/output, so two runs must not share a tree)."""
    build = build_dir(args.collection)
    python = managed_node_python(build)
    sync = load_sync_module()
    ensure_ansible_test_ssh_key()
    stop = threading.Event()
    running = {}
    results = {}
    lock = threading.Lock()

    def one(version):
        if stop.is_set():
            return None
        root = os.path.join(build, 'integration', version)
        collection = os.path.join(root, 'ansible_collections', 'esops', 'jobs')
        sync.main(REPO_ROOT, collection)
        log_path = os.path.join(root, 'ansible-test.log')
        started = time.time()
        with Emulator(version, os.path.join(root, 'emulator.log')) as emu:
            write_config(collection, emulated_config(emu.url, python))
            say('=== Elasticsearch %s (emulator %s): started, log %s ===' % (version, emu.url, log_path))
            with open(log_path, 'w') as log:
                proc = ansible_test_process(collection, args.targets, log)
                with lock:
                    running[version] = proc
                rc = proc.wait()
                with lock:
                    running.pop(version, None)
        elapsed = time.time() - started
        with lock:
            results[version] = (rc, elapsed, log_path)
            if stop.is_set() and rc != 0:
                say('--- Elasticsearch %s: stopped because another version failed' % version)
                return rc
            if rc != 0:
                stop.set()
                for other in running.values():
                    other.terminate()
            say('--- Elasticsearch %s: %s in %.0fs; output:' % (version, 'passed' if rc == 0 else 'FAILED', elapsed))
            print(tail(log_path, 10 if rc == 0 else 400), flush=True)
        return rc

    threads = []
    queue = list(versions)
    queue_lock = threading.Lock()

    def worker():
        while True:
            with queue_lock:
                if not queue or stop.is_set():
                    return
                version = queue.pop(0)
            one(version)

    for _index in range(min(jobs, len(versions))):
        thread = threading.Thread(target=worker)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    failed = [v for v in versions if v in results and results[v][0] != 0]
    if failed or len(results) != len(versions):
        say('FAILED on Elasticsearch %s' % ', '.join(failed or ['(not run)']))
        return 1
    say('integration passed on %s (%d at a time)' % (
        ', '.join('%s %.0fs' % (v, results[v][1]) for v in versions), jobs))
    return 0


def ensure_ansible_test_ssh_key():
    """ansible-test creates ~/.ansible/test/id_rsa on first use; two runs starting together on a fresh
    machine race for it (one gets ssh-keygen's overwrite prompt). Create it once, the way it does."""
    key = os.path.join(os.path.expanduser('~'), '.ansible', 'test', 'id_rsa')
    if os.path.exists(key):
        return
    os.makedirs(os.path.dirname(key), exist_ok=True)
    subprocess.check_call(['ssh-keygen', '-m', 'PEM', '-q', '-t', 'rsa', '-N', '', '-f', key], stdin=subprocess.DEVNULL)


def load_sync_module():
    path = os.path.join(REPO_ROOT, '.ci', 'sync_build_tree.py')
    spec = importlib.util.spec_from_file_location('sync_build_tree', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ansible_test_process(collection, targets, log):
    bindir = os.path.dirname(sys.executable)
    cmd = [os.path.join(bindir, 'ansible-test'), 'integration', '--color', 'no'] + list(targets)
    log.write('$ (cd %s && %s)\n' % (collection, ' '.join(cmd)))
    log.flush()
    return subprocess.Popen(cmd, cwd=collection, stdin=subprocess.DEVNULL, stdout=log,  # pylint: disable=consider-using-with
                            stderr=subprocess.STDOUT)


def cmd_with_es(args):
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        sys.exit('with-es: no command given')
    if os.environ.get('ES_URL'):
        say('using ES_URL=%s' % os.environ['ES_URL'])
        return subprocess.call(command)
    build = build_dir(args.collection)
    log_path = args.log or os.path.join(build, 'emulator-%s.log' % args.es_version)
    with Emulator(args.es_version, log_path, args.pid_file, args.cluster_name) as emu:
        say('emulator %s at %s (pid %d)' % (args.es_version, emu.url, emu.proc.pid))
        env = dict(os.environ, ES_URL=emu.url)
        return subprocess.call(command, env=env)


def cmd_with_fleet(args):
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        sys.exit('with-fleet: no command given')
    fleet = os.path.join(REPO_ROOT, 'tests', 'integration', 'fleet.py')
    build = build_dir(args.collection)
    fleet_dir = os.path.join(build, 'fleet')
    start = [sys.executable, fleet, 'start', '--dir', fleet_dir, '--versions', args.versions]
    for option in ('unreachable', 'failed_job'):
        if getattr(args, option):
            start += ['--' + option.replace('_', '-'), getattr(args, option)]
    subprocess.check_call(start, cwd=REPO_ROOT)
    try:
        env = dict(os.environ, FLEET_DIR=fleet_dir, FLEET_INVENTORY=os.path.join(fleet_dir, 'inventory.yml'))
        return subprocess.call(command, env=env)
    finally:
        subprocess.call([sys.executable, fleet, 'stop', '--dir', fleet_dir], cwd=REPO_ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--collection', required=True, help='the build tree: .../ansible_collections/esops/jobs')
    sub = parser.add_subparsers(dest='action')
    integration = sub.add_parser('integration')
    integration.add_argument('targets', nargs='*')
    with_es = sub.add_parser('with-es')
    with_es.add_argument('--es-version', default='8.19.3')
    with_es.add_argument('--pid-file')
    with_es.add_argument('--log', help='the emulator log (default: <build>/emulator-<version>.log; two at once need two)')
    with_es.add_argument('--cluster-name', help="the emulator's cluster.name (default: $EMULATOR_CLUSTER_NAME or elasticsearch)")
    with_es.add_argument('command', nargs=argparse.REMAINDER)
    with_fleet = sub.add_parser('with-fleet')
    with_fleet.add_argument('--versions', default='6.8.23,7.17.28,9.1.5')
    with_fleet.add_argument('--unreachable')
    with_fleet.add_argument('--failed-job')
    with_fleet.add_argument('command', nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.action == 'integration':
        return cmd_integration(args)
    if args.action == 'with-es':
        return cmd_with_es(args)
    if args.action == 'with-fleet':
        return cmd_with_fleet(args)
    parser.error('choose integration, with-es or with-fleet')
    return 2


if __name__ == '__main__':
    sys.exit(main())
