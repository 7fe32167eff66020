# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the reliability suite: emulators, fixtures made through real ES APIs, playbook runs.

Every suite drives the real modules end to end with ``ansible-playbook -vvv``. Many cases share one
run: each case is one task with ``ignore_errors`` + ``register``, and a last task dumps every
registered result to JSON, so a case costs a module run, not an ansible start-up.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import collections
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests import es_http
from tests.emulator.launcher import running_emulator

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)
ES_VERSION = os.environ.get('RELIABILITY_ES_VERSION', '8.19.3')
PASSWORD = 'changeme'
# Text that must never appear in a playbook's output: a traceback is a bug, whatever the input.
TRACEBACK_MARKERS = ('Traceback (most recent call last)', 'MODULE FAILURE', 'module_stderr')


def module_exists(name):
    return os.path.exists(os.path.join(REPO_ROOT, 'plugins', 'modules', name + '.py'))


def require_module(name):
    """Cases of a promised module that has not landed fail (not skip) with a message saying so."""
    if not module_exists(name):
        pytest.fail('esops.jobs.%s is promised (meta/runtime.yml) but plugins/modules/%s.py does not exist yet' % (name, name))


# ---------------------------------------------------------------------------------------- talking to ES directly

class Es(object):
    """Tiny stdlib client for fixtures (real ES APIs only) plus the emulator control calls."""

    def __init__(self, emu, user='elastic', password=PASSWORD):
        self.emu = emu
        self.url = emu.url
        self.auth = 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode() if emu.security else None
        self.ml = '/_xpack/ml' if ES_MAJOR(emu) < 7 else '/_ml'
        self.rollup = '/_xpack/rollup' if ES_MAJOR(emu) < 7 else '/_rollup'

    def __call__(self, method, path, body=None, ok=(200, 201)):
        headers = {'Authorization': self.auth} if self.auth else None
        resp = es_http.request(self.url, method, path, body, headers, self.emu.ssl_context())
        return resp.expect(*ok, what='fixture %s %s' % (method, path))

    def ml_job(self, job_id, groups=None):
        self('PUT', '%s/anomaly_detectors/%s' % (self.ml, job_id), {
            'groups': groups or [],
            'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
            'data_description': {'time_field': 'timestamp'}})

    def open_job(self, job_id):
        self('POST', '%s/anomaly_detectors/%s/_open' % (self.ml, job_id))

    def datafeed(self, job_id, datafeed_id=None):
        index = job_id + '-source'
        self('PUT', '/' + index, {'mappings': {'properties': {'timestamp': {'type': 'date'}, 'value': {'type': 'double'}}}},
             ok=(200, 201, 400))
        datafeed_id = datafeed_id or 'datafeed-' + job_id
        self('PUT', '%s/datafeeds/%s' % (self.ml, datafeed_id), {'job_id': job_id, 'indices': [index]})
        return datafeed_id

    def start_datafeed(self, datafeed_id):
        self('POST', '%s/datafeeds/%s/_start' % (self.ml, datafeed_id))

    def job_state(self, job_id):
        stats = self('GET', '%s/anomaly_detectors/%s/_stats' % (self.ml, job_id), ok=(200, 404))
        if not stats or not stats.get('jobs'):
            return 'absent'
        return stats['jobs'][0]['state']

    def datafeed_state(self, datafeed_id):
        stats = self('GET', '%s/datafeeds/%s/_stats' % (self.ml, datafeed_id), ok=(200, 404))
        if not stats or not stats.get('datafeeds'):
            return 'absent'
        return stats['datafeeds'][0]['state']

    def rollup_job(self, job_id, cron='0 0 0 1 1 ? 2099'):
        # 8.15+ refuses new rollup jobs in a cluster without rollup usage; an index with rollup metadata is usage.
        self('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'dummy': {}}}}}, ok=(200, 201, 400))
        index = job_id + '-source'
        self('PUT', '/' + index, {'mappings': {'properties': {'timestamp': {'type': 'date'}, 'value': {'type': 'double'}}}},
             ok=(200, 201, 400))
        self('PUT', '%s/job/%s' % (self.rollup, job_id), {
            'index_pattern': index, 'rollup_index': job_id + '-rollup', 'cron': cron, 'page_size': 100,
            'groups': {'date_histogram': {'field': 'timestamp', 'fixed_interval': '1h'}},
            'metrics': [{'field': 'value', 'metrics': ['min', 'max']}]})

    def rollup_state(self, job_id):
        jobs = self('GET', '%s/job/%s' % (self.rollup, job_id), ok=(200, 404))
        if not jobs or not jobs.get('jobs'):
            return 'absent'
        return jobs['jobs'][0]['status']['job_state']

    def api_key(self, name='reliability'):
        return self('POST', '/_security/api_key', {'name': name})

    def token(self):
        return self('POST', '/_security/oauth2/token', {'grant_type': 'password', 'username': 'elastic', 'password': PASSWORD})

    def mutating_requests(self, since=0):
        """Requests after index ``since`` of the emulator log that could change something."""
        return [r for r in self.emu.requests()[since:] if r['mutating'] and not is_fixture_credential(r['path'])]


def is_fixture_credential(path):
    # API keys and tokens the fixtures create for a case (the emulator marks read-only POSTs itself).
    return bool(re.search(r'/_security/(api_key|oauth2/token)$', path))


def ES_MAJOR(emu):  # pylint: disable=invalid-name
    return int(emu.es_version.split('.')[0])


@pytest.fixture(scope='session')
def collections_path(tmp_path_factory):
    """A collection tree that always reflects this checkout (no stale build tree)."""
    root = tmp_path_factory.mktemp('ac')
    os.makedirs(str(root / 'ansible_collections' / 'esops'))
    os.symlink(REPO_ROOT, str(root / 'ansible_collections' / 'esops' / 'jobs'))
    return str(root)


def _start(request, **opts):
    context = running_emulator(es_version=ES_VERSION, **opts)
    emu = context.__enter__()
    request.addfinalizer(lambda: context.__exit__(None, None, None))
    emu.es_version = ES_VERSION
    emu.security = bool(opts.get('security'))
    return emu


@pytest.fixture(scope='module')
def plain_emu(request):
    return _start(request, close_seconds=0.5, stop_seconds=0.3, open_seconds=0.1)


@pytest.fixture(scope='module')
def secure_emu(request):
    return _start(request, security=True, close_seconds=0.3, stop_seconds=0.2, open_seconds=0.1)


@pytest.fixture(scope='module')
def tls_emu(request, tmp_path_factory):
    return _start(request, security=True, tls_dir=str(tmp_path_factory.mktemp('tls')))


# ---------------------------------------------------------------------------------------- running playbooks

Run = collections.namedtuple('Run', 'rc output results')


class Playbook(object):
    """Build one play of many cases, run it once with -vvv, return every case's registered result."""

    def __init__(self, collections_path, tmp_path):
        self.collections_path = collections_path
        self.tmp_path = tmp_path
        self.cases = []

    def case(self, case_id, module, args, **task_opts):
        self.cases.append((case_id, module, args, task_opts))
        return case_id

    def command(self, check=False, diff=False, verbosity=3, env=None):
        tasks = []
        registers = {}
        for index, (case_id, module, args, task_opts) in enumerate(self.cases):
            var = 'case_%d' % index
            registers[case_id] = var
            task = {'name': case_id, module if '.' in module else 'esops.jobs.' + module: args,
                    'register': var, 'ignore_errors': True}
            task.update(task_opts)
            tasks.append(task)
        results_file = str(self.tmp_path / 'results.json')
        entries = ["'%s': %s | default({'skipped_case': true})" % (case_id, var) for case_id, var in registers.items()]
        dump = '{{ {%s} | to_json }}' % ', '.join(entries)
        tasks.append({'name': 'dump results', 'ansible.builtin.copy': {'content': dump, 'dest': results_file}, 'no_log': True,
                      'check_mode': False, 'diff': False})
        play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]
        playbook = self.tmp_path / 'play.yml'
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', str(playbook)]
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        return cmd, self._env(env), results_file

    def _env(self, extra):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ELASTICSEARCH_', 'ANSIBLE_')))
        env.update({
            'ANSIBLE_COLLECTIONS_PATH': self.collections_path,
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCAL_TEMP': str(self.tmp_path / 'ansible-tmp'),
            'ANSIBLE_HOME': str(self.tmp_path / 'ansible-home'),
            'PATH': VENV_BIN + os.pathsep + os.environ.get('PATH', ''),
        })
        env.update(extra or {})
        return env

    def run(self, **kwargs):
        cmd, env, results_file = self.command(**kwargs)
        proc = subprocess.run(cmd, env=env, cwd=str(self.tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=300, check=False)
        return self.finish(proc.returncode, proc.stdout.decode('utf-8', 'replace'), results_file)

    def start(self, **kwargs):
        """Start in the background (for concurrency cases); finish with ``wait(handle)``."""
        cmd, env, results_file = self.command(**kwargs)
        proc = subprocess.Popen(cmd, env=env, cwd=str(self.tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
        return proc, results_file

    def wait(self, handle):
        proc, results_file = handle
        out = proc.communicate(timeout=300)[0]
        return self.finish(proc.returncode, out.decode('utf-8', 'replace'), results_file)

    @staticmethod
    def finish(rc, output, results_file):
        if not os.path.exists(results_file):
            raise AssertionError('ansible-playbook did not reach the results dump (rc=%s):\n%s' % (rc, output[-6000:]))
        with open(results_file) as handle:
            results = json.load(handle)
        return Run(rc, output, results)


@pytest.fixture
def playbook(collections_path, tmp_path):
    return Playbook(collections_path, tmp_path)


def conn(emu, **extra):
    """Connection options for a module task."""
    opts = {'hosts': [emu.url], 'retries': 2, 'request_timeout': 10}
    if emu.security:
        opts.update(username='elastic', password=PASSWORD)
    if emu.url.startswith('https'):
        opts['ca_cert'] = emu.ca_cert
    opts.update(extra)
    return opts


def assert_clean_failure(result, *words):
    """The case failed with one clear line naming the problem, and no traceback."""
    assert result.get('failed') is True, 'expected a failure, got %s' % json.dumps(result)[:1500]
    msg = result.get('msg', '')
    assert isinstance(msg, str) and msg, result
    assert '\n' not in msg.strip(), 'msg is not one line: %r' % msg
    text = json.dumps(result)
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, 'traceback in result: %s' % text[:3000]
    # ansible-core 2.19 adds exception='(traceback unavailable)' to every failure at -vvv; a real one is a bug.
    assert result.get('exception', '(traceback unavailable)') == '(traceback unavailable)', result.get('exception')
    for word in words:
        assert word.lower() in msg.lower(), 'expected %r in msg %r' % (word, msg)
    return msg


def assert_no_tracebacks(output):
    for marker in TRACEBACK_MARKERS[:2]:
        assert marker not in output, output[output.find(marker) - 2000:output.find(marker) + 2000]


def pytest_terminal_summary(terminalreporter):
    """Print the matrix the README summarises: cases tried and passed per suite."""
    counts = collections.OrderedDict()
    for outcome in ('passed', 'failed', 'error', 'skipped'):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, 'when', 'call') not in ('call', 'setup') or 'reliability' not in report.nodeid:
                continue
            if outcome == 'passed' and report.when != 'call':
                continue
            suite = report.nodeid.split('::')[0].rsplit('/', 1)[-1].replace('.py', '')
            tried, passed = counts.get(suite, (0, 0))
            counts[suite] = (tried + 1, passed + (outcome == 'passed'))
    if counts:
        terminalreporter.write_sep('-', 'reliability matrix (cases tried / passed)')
        for suite, (tried, passed) in counts.items():
            terminalreporter.write_line('%-28s %4d / %d' % (suite, tried, passed))
