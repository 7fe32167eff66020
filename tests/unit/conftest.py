# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one unit-test harness: the Elasticsearch emulator in-process, and modules run end to end against it.

Here, at tests/unit/, so that module_utils tests (adapters, engine) and module tests share one model of
Elasticsearch (community.hashi_vault keeps its shared unit fixtures in one conftest.py the same way).

* ``es`` / ``es_factory``: an in-process emulator (tests/emulator/inprocess.py) on a manual clock. The collection's
  real client (_client.ElasticsearchClient) talks to it: only the lowest layer, ``open_url``, is replaced, so
  request building, retries, error parsing and warnings all run. Module-side waits (Poller, client backoff)
  sleep on the same manual clock, so a wait advances emulator time and nothing really sleeps.
* ``run_module(main, args, check_mode=False, diff=False)``: runs a module's main() with AnsibleModule's real
  exit_json/fail_json (no_log masking, invocation, warnings) and returns (failed, result).

See docs/design.md ("Emulator", "Tests: which suite owns which promise") and tests/emulator/inprocess.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import io
import json
import socket
from unittest import mock

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 has no ansible.module_utils.testing
    from ansible.module_utils import basic as _basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        """What ansible-core 2.19's patch_module_args does, the way older cores read module arguments:
        AnsibleModule loads them from basic._ANSIBLE_ARGS when it is set."""
        serialized = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode('utf-8')
        with mock.patch.object(_basic, '_ANSIBLE_ARGS', serialized):
            yield

from ansible.module_utils.common import warnings as _ansible_warnings
from ansible.module_utils.six.moves.urllib.error import URLError
from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.esops.jobs.plugins.module_utils import _client, _convergence
from ansible_collections.esops.jobs.tests.emulator.clock import ManualClock
from ansible_collections.esops.jobs.tests.emulator.inprocess import InProcessEmulator
DEFAULT_VERSION = '8.19.3'


class UnitEs(InProcessEmulator):
    """InProcessEmulator plus what unit tests need from the collection's side."""

    def client(self, **kwargs):
        """The collection's real ElasticsearchClient pointed at this emulator (its backoff sleeps on the clock)."""
        kwargs.setdefault('hosts', [self.url])
        if self.security and not any(kwargs.get(k) for k in ('username', 'api_key', 'bearer_token')):
            kwargs.setdefault('username', 'elastic')
            kwargs.setdefault('password', 'changeme')
        kwargs.setdefault('sleep', self.clock.sleep)
        kwargs.setdefault('opener', self.opener)
        return _client.ElasticsearchClient(**kwargs)

    def poller(self, **kwargs):
        """A Poller on the manual clock (adapters take one as ``poller=``)."""
        kwargs.setdefault('clock', self.clock.monotonic)
        kwargs.setdefault('sleep', self.clock.sleep)
        return _convergence.Poller(**kwargs)

    def params(self, **args):
        """Module arguments with this emulator's connection options (hosts; elastic/changeme with security)."""
        out = {'hosts': [self.url]}
        if self.security:
            out.update(username='elastic', password='changeme')
        out.update(args)
        return out


class _Router(object):
    """open_url for every emulator of the test, chosen by host:port; any other host refuses the connection."""

    def __init__(self, emulators):
        self.emulators = emulators

    def __call__(self, url, **kwargs):
        netloc = urlsplit(url).netloc.rpartition('@')[2]
        for emulator in self.emulators:
            if emulator.host == netloc:
                return emulator.opener(url, **kwargs)
        raise URLError(socket.error(111, 'Connection refused'))


@pytest.fixture
def es_clock():
    """The manual clock every emulator of the test shares (``es_clock.advance(seconds)``)."""
    return ManualClock()


@pytest.fixture
def es_factory(es_clock):
    """``es_factory(version='8.19.3', security=False, **InProcessEmulator options)`` -> UnitEs. Each call is a new
    cluster on its own host (es.test:9200, es2.test:9200, ...), all on ``es_clock``. While any exists, the
    collection's client opens URLs through them and Poller / client backoff sleep on ``es_clock``."""
    emulators = []
    router = _Router(emulators)
    original_poller_init = _convergence.Poller.__init__
    original_client_init = _client.ElasticsearchClient.__init__

    def poller_init(self, *args, **kwargs):
        kwargs.setdefault('clock', es_clock.monotonic)
        kwargs.setdefault('sleep', es_clock.sleep)
        original_poller_init(self, *args, **kwargs)

    def client_init(self, *args, **kwargs):
        kwargs.setdefault('sleep', es_clock.sleep)
        original_client_init(self, *args, **kwargs)

    def make(version=DEFAULT_VERSION, security=False, **options):
        host = 'es.test:9200' if not emulators else 'es%d.test:9200' % (len(emulators) + 1)
        options.setdefault('host', host)
        emulator = UnitEs(version, security=security, clock=es_clock, **options)
        emulators.append(emulator)
        return emulator

    with mock.patch.object(_client, 'default_opener', lambda: router), \
            mock.patch.object(_convergence.Poller, '__init__', poller_init), \
            mock.patch.object(_client.ElasticsearchClient, '__init__', client_init):
        make.emulators = emulators
        yield make


@pytest.fixture
def es(request, es_factory):
    """One in-process cluster: 8.19.3 without security unless parametrized indirectly with a version string or a
    dict of es_factory arguments, e.g. ``@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)`` or
    ``@pytest.mark.parametrize('es', [dict(version='6.8.23', security=True)], indirect=True)``."""
    param = getattr(request, 'param', None)
    if param is None:
        return es_factory()
    if isinstance(param, dict):
        return es_factory(**param)
    return es_factory(param)


class ModuleExit(Exception):
    """Raised in place of sys.exit by a module run (the JSON it printed is in ``result``)."""


def _clear_global_warnings():
    # AnsibleModule keeps warn()/deprecate() messages in module-level containers; a module process exits after
    # one run, tests do not.
    for name in ('_global_warnings', '_global_deprecations'):
        container = getattr(_ansible_warnings, name, None)
        if hasattr(container, 'clear'):
            container.clear()


def _message(item):
    """A warning/deprecation as text: ansible-core 2.19+ prints structured events ({'event': {'msg': ...}}),
    older cores print strings (deprecations: {'msg': ..., 'version': ...})."""
    if isinstance(item, dict):
        event = item.get('event')
        return event.get('msg') if isinstance(event, dict) else item.get('msg')
    return item


@pytest.fixture
def run_module(request):
    """``run_module(main, args, check_mode=False, diff=False)`` -> (failed, result). ``hosts`` (and elastic's
    credentials when security is on) are filled in from the test's emulator when there is exactly one and args
    has no ``hosts``. The result is the JSON the module printed, minus ``invocation``; ``warnings`` and
    ``deprecations`` are lists of message texts on every ansible-core."""

    def run(main, args, check_mode=False, diff=False):
        args = dict(args)
        emulators = []
        if 'es_factory' in request.fixturenames:
            emulators = request.getfixturevalue('es_factory').emulators
        if 'hosts' not in args and len(emulators) == 1:
            args = emulators[0].params(**args)
        args['_ansible_check_mode'] = check_mode
        args['_ansible_diff'] = diff
        _clear_global_warnings()
        out = io.StringIO()
        with patch_module_args(args), contextlib.redirect_stdout(out):
            with pytest.raises(SystemExit) as info:
                main()
        printed = out.getvalue().strip()
        try:
            result = json.loads(printed.splitlines()[-1]) if printed else {}
        except ValueError:
            raise AssertionError('the module printed no JSON result: %r' % printed)
        result.pop('invocation', None)
        for key in ('warnings', 'deprecations'):
            if key in result:
                result[key] = [_message(item) for item in result[key]]
        failed = bool(result.get('failed')) or info.value.code not in (0, None)
        return failed, result

    return run


# ---- additive helpers (wip/unit-rollup) ----

class RecordingSleep(object):
    """``sleep(seconds)`` that advances a ManualClock and records each delay in ``delays``."""

    def __init__(self, clock):
        self.clock = clock
        self.delays = []

    def __call__(self, seconds):
        self.delays.append(seconds)
        self.clock.sleep(seconds)


@pytest.fixture
def es_sleeps(es_clock):
    """A ``sleep`` on ``es_clock`` that records every delay (``es_sleeps.delays``): for tests of a backoff schedule
    (client retries, Poller), where the sequence of sleeps is the behaviour under test. Time still has one source."""
    return RecordingSleep(es_clock)
