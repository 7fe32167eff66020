#!/usr/bin/env python
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run things against Elasticsearch: the emulator per version, or a real cluster from ES_URL.

    run_integration.py --collection DIR integration [TARGET...]
        Without ES_URL: for each version in ES_VERSIONS start `python -m tests.emulator`, write
        DIR/tests/integration/integration_config.yml, run `ansible-test integration [TARGET...]`
        in DIR, stop the emulator. Stops at the first version that fails.
        With ES_URL: one run against that cluster (ES_USERNAME, ES_PASSWORD, ES_API_KEY,
        ES_CA_CERT, ES_VALIDATE_CERTS), es_emulated: false.

    run_integration.py --collection DIR with-es [--es-version V] [--pid-file F] -- COMMAND...
        Run COMMAND with ES_URL in its environment: the given ES_URL, or an emulator of version V
        started for the command and stopped after it (its pid in F while it runs).

The emulator is started from the repository root, so it is always the checkout's own code.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_VERSIONS = '6.8.23 7.13.4 7.17.28 8.19.3 9.1.5'
# Short transitions keep the suites fast; the modules must wait for them all the same.
EMULATOR_TIMINGS = ['--close-seconds', '0.3', '--stop-seconds', '0.3', '--open-seconds', '0.1']
READY_TIMEOUT = 60


def say(msg):
    print('[run_integration] %s' % msg, flush=True)


class Emulator:
    """`python -m tests.emulator` in a child process; prints its URL on stdout when ready."""

    def __init__(self, version, log_path, pid_file=None):
        self.version = version
        self.log_path = log_path
        self.pid_file = pid_file
        self.proc = None
        self.url = None

    def __enter__(self):
        module = os.environ.get('EMULATOR_MODULE', 'tests.emulator')
        cmd = [sys.executable, '-m', module, '--port', '0', '--es-version', self.version] + EMULATOR_TIMINGS
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
        say('no integration targets under tests/integration/targets/ yet (only setup_*): skipping')
        return 0
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
        })
        return ansible_test(args.collection, args.targets)

    versions = (os.environ.get('ES_VERSIONS') or DEFAULT_VERSIONS).split()
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.collection))))
    timings = []
    for version in versions:
        started = time.time()
        say('=== Elasticsearch %s (emulator) ===' % version)
        with Emulator(version, os.path.join(build, 'emulator-%s.log' % version)) as emu:
            say('emulator %s at %s' % (version, emu.url))
            write_config(args.collection, {
                'es_url': emu.url, 'es_username': '', 'es_password': '', 'es_api_key': '',
                'es_ca_cert': '', 'es_validate_certs': True, 'es_emulated': True,
            })
            rc = ansible_test(args.collection, args.targets)
        timings.append('%s %.0fs' % (version, time.time() - started))
        if rc != 0:
            say('FAILED on Elasticsearch %s (emulator log: %s); not testing the remaining versions'
                % (version, emu.log_path))
            return rc
    say('integration passed on %s' % ', '.join(timings))
    return 0


def cmd_with_es(args):
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        sys.exit('with-es: no command given')
    if os.environ.get('ES_URL'):
        say('using ES_URL=%s' % os.environ['ES_URL'])
        return subprocess.call(command)
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.collection))))
    with Emulator(args.es_version, os.path.join(build, 'emulator-%s.log' % args.es_version), args.pid_file) as emu:
        say('emulator %s at %s (pid %d)' % (args.es_version, emu.url, emu.proc.pid))
        env = dict(os.environ, ES_URL=emu.url)
        return subprocess.call(command, env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--collection', required=True, help='the build tree: .../ansible_collections/esops/jobs')
    sub = parser.add_subparsers(dest='action')
    integration = sub.add_parser('integration')
    integration.add_argument('targets', nargs='*')
    with_es = sub.add_parser('with-es')
    with_es.add_argument('--es-version', default='8.19.3')
    with_es.add_argument('--pid-file')
    with_es.add_argument('command', nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.action == 'integration':
        return cmd_integration(args)
    if args.action == 'with-es':
        return cmd_with_es(args)
    parser.error('choose integration or with-es')
    return 2


if __name__ == '__main__':
    sys.exit(main())
