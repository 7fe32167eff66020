"""Cluster state, the event scheduler and small value parsers shared by the API modules."""

import heapq
import itertools
import base64
import os
import re
import threading

from .clock import RealClock
from .errors import EsError

NODE_ID = 'emUlAt0rN0dE1d0000000A'
NODE_NAME = 'emulator-node-0'

_TIME_UNITS = (('nanos', 1e-9), ('micros', 1e-6), ('ms', 1e-3), ('s', 1.0), ('m', 60.0), ('h', 3600.0), ('d', 86400.0))


def random_base64_uuid():
    """UUIDs.randomBase64UUID: 16 random bytes with the RFC 4122 version-4 and variant bits set, base64url
    without padding (22 characters). Source: server/src/main/java/org/elasticsearch/common/RandomBasedUUIDGenerator.java
    (getBase64UUID) on every release branch 6.8 to 9.1."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0f) | 0x40
    raw[8] = (raw[8] & 0x3f) | 0x80
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')


def parse_time_value(text, setting='timeout'):
    """ES TimeValue.parseTimeValue: a unit is mandatory except for -1 and 0."""
    value = str(text).strip()
    if value in ('-1', '0'):
        return float(value)
    low = value.lower()
    for unit, factor in _TIME_UNITS:
        if low.endswith(unit):
            number = low[:-len(unit)].strip()
            try:
                return float(number) * factor
            except ValueError:
                break
    raise EsError(400, 'parse_exception', 'failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized'
                  % (setting, value))


def flat_settings(obj, prefix=''):
    """Nested settings as dotted keys, as Settings.Builder.loadFromMap flattens them."""
    out = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(flat_settings(value, prefix + key + '.'))
        else:
            out[prefix + key] = value
    return out


def parse_bool(value, name):
    if isinstance(value, bool):
        return value
    text = str(value)
    if text in ('true', ''):
        return True
    if text == 'false':
        return False
    raise EsError(400, 'illegal_argument_exception',
                  "Failed to parse value [%s] as only [true] or [false] are allowed." % text)


def simple_match(pattern, value):
    """Regex.simpleMatch: '*' matches any sequence."""
    regex = '^' + '.*'.join(re.escape(p) for p in pattern.split('*')) + '$'
    return re.match(regex, value) is not None


class Timings:
    def __init__(self, open_seconds=0.2, close_seconds=0.5, stop_seconds=0.5, upgrade_mode_seconds=0.2, delete_seconds=0.2):
        self.open_seconds = open_seconds
        self.close_seconds = close_seconds
        self.stop_seconds = stop_seconds
        self.upgrade_mode_seconds = upgrade_mode_seconds
        self.delete_seconds = delete_seconds


class Handle:
    __slots__ = ('cancelled',)

    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Cluster:
    """All mutable state; every access happens under `lock` after `tick()`."""

    def __init__(self, personality, timings, cluster_name='elasticsearch', ml_max_model_memory_limit=None, clock=None):
        self.personality = personality
        # Every time read goes through this clock (clock.py): real time for the socket emulator, a ManualClock
        # for in-process unit tests.
        self.clock = clock or RealClock()
        self.clock.attach(self)
        self.timings = timings
        # Each emulated cluster is a new cluster: a random cluster_uuid like ES's, which survives /_emulator/reset
        # (a reset wipes the data, not the cluster). cluster_name defaults to ES's `cluster.name` default.
        self.cluster_name = cluster_name
        # xpack.ml.max_model_memory_limit from the node's settings (--ml-max-model-memory-limit); cluster settings win.
        self.ml_max_model_memory_limit = ml_max_model_memory_limit
        self.lock = threading.RLock()
        # Condition.wait() releases every recursion level of the RLock, so handlers may wait while "holding" it.
        self.cond = threading.Condition(self.lock)
        self.cluster_uuid = random_base64_uuid()
        self._seq = itertools.count()
        self._events = []
        self.ml_jobs = {}
        self.datafeeds = {}
        self.rollup_jobs = {}
        self.indices = {}
        self.tasks = {}
        self.persistent_settings = {}
        self.api_keys = {}
        self.tokens = {}
        self.faults = []
        self.request_log = []
        self.rollup_triggers = {}
        # ML calendars, scheduled events (posting order) and filters (ml_calendars.py).
        self.ml_calendars = {}
        self.ml_events = []
        self.ml_filters = {}
        self.upgrade_mode = False
        self.upgrade_mode_changing = False
        self.license = {'type': 'trial', 'status': 'active'}
        self.task_counter = itertools.count(1000)

    def reset(self):
        """Wipe every job, index, key, token, fault and logged request (POST /_emulator/reset)."""
        with self.lock:
            for handle_entry in self._events:
                handle_entry[2].cancel()
            # Release requests still waiting on old objects (close/stop waits test for "no task" / "stopped").
            for obj in list(self.ml_jobs.values()) + list(self.datafeeds.values()):
                obj['task'] = None
            for job in self.rollup_jobs.values():
                job['state'] = 'stopped'
            for container in (self._events, self.ml_jobs, self.datafeeds, self.rollup_jobs, self.indices, self.tasks,
                              self.persistent_settings, self.api_keys, self.tokens, self.faults, self.request_log,
                              self.rollup_triggers, self.ml_calendars, self.ml_events, self.ml_filters):
                container.clear()
            self.upgrade_mode = False
            self.upgrade_mode_changing = False
            self.license = {'type': 'trial', 'status': 'active'}

    # ---- scheduler ----
    def schedule(self, delay, callback):
        handle = Handle()
        heapq.heappush(self._events, (self.clock.monotonic() + max(delay, 0.0), next(self._seq), handle, callback))
        return handle

    def tick(self):
        """Run every due event, interleaved with rollup cron triggers, in time order."""
        now = self.clock.monotonic()
        with self.lock:
            while True:
                due_event = self._events[0][0] if self._events else None
                trig_id, trig_time = None, None
                for job_id, when in self.rollup_triggers.items():
                    if trig_time is None or when < trig_time:
                        trig_id, trig_time = job_id, when
                candidates = [t for t in (due_event, trig_time) if t is not None and t <= now]
                if not candidates:
                    return
                if due_event is not None and due_event <= now and (trig_time is None or due_event <= trig_time):
                    _due, _seq, handle, callback = heapq.heappop(self._events)
                    if not handle.cancelled:
                        callback(due_event)
                else:
                    self.rollup_cron_fire(trig_id, trig_time)

    def next_due(self):
        """When the next scheduled event or cron trigger is due (None: nothing scheduled)."""
        times = list(self.rollup_triggers.values())
        while self._events and self._events[0][2].cancelled:
            heapq.heappop(self._events)
        if self._events:
            times.append(self._events[0][0])
        return min(times) if times else None

    def rollup_cron_fire(self, job_id, when):
        """Replaced by the rollup module (kept here so tick() stays generic)."""
        del when
        self.rollup_triggers.pop(job_id, None)

    def wait_for(self, predicate, timeout):
        """Block until predicate() or timeout (the lock is released while waiting); returns predicate's truth.
        Under a manual clock nothing else can change the state meanwhile: virtual time jumps from one due event
        to the next until the predicate holds or the timeout has passed."""
        clock = self.clock
        deadline = clock.monotonic() + timeout
        if clock.manual:
            with self.lock:
                while True:
                    self.tick()
                    if predicate():
                        return True
                    if clock.monotonic() >= deadline:
                        return False
                    nxt = self.next_due()
                    clock.advance_to(deadline if nxt is None or nxt > deadline else nxt)
        with self.cond:
            while True:
                self.tick()
                if predicate():
                    return True
                remaining = deadline - clock.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(min(0.01, remaining))

    def next_task_id(self):
        return next(self.task_counter)

    # ---- indices (minimal indices.create / delete) ----
    def rollup_usage(self):
        """§3.6: any rollup job or any index whose mapping has _meta._rollup."""
        if self.rollup_jobs:
            return True
        return any('_rollup' in ((idx.get('mappings') or {}).get('_meta') or {}) for idx in self.indices.values())

    def index_exists(self, name):
        if '*' in name:
            return any(simple_match(name, n) for n in self.indices)
        return name in self.indices

    # ---- license (§1.3) ----
    def ml_licensed(self):
        lic = self.license
        return lic['status'] == 'active' and lic['type'] in ('trial', 'platinum', 'enterprise')

    def check_ml_license(self):
        if not self.ml_licensed():
            raise EsError(403, 'security_exception', 'current license is non-compliant for [ml]',
                          metadata={'license.expired.feature': 'ml'})
