"""The emulator's one source of time.

Every time read of the emulator (scheduler, ML task times, rollup cron triggers, task running times, API key and
token expirations, fault delays) goes through the cluster's clock:

* `RealClock` (the default, and what the socket emulator uses): time.monotonic / time.time / time.sleep.
* `ManualClock` (in-process unit tests): time stands still until `advance(seconds)` / `sleep(seconds)` moves it;
  every scheduled event due by then runs, in time order, each with the clock set to its own due time. No thread,
  no real sleeping. Server-side waits (open/close/stop waits, `wait_for_completion`) advance it themselves until
  their condition holds or their timeout passes (Cluster.wait_for).
"""

import contextlib
import time

# 2026-01-01T00:00:00Z: a fixed wall clock start makes cron fire times and create_time values reproducible.
MANUAL_CLOCK_EPOCH = 1767225600.0


class RealClock:
    manual = False

    def attach(self, cluster):
        """Nothing to drive: real time moves by itself and requests tick the cluster."""

    @staticmethod
    def monotonic():
        return time.monotonic()

    @staticmethod
    def time():
        return time.time()

    @staticmethod
    def sleep(seconds):
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """Virtual time that moves only when told to; `sleep` is `advance` (so it can stand in for time.sleep).
    Several clusters may share one (a test with two emulators): their events run in one time order."""

    manual = True

    def __init__(self, wall_start=MANUAL_CLOCK_EPOCH):
        self._now = 1000.0
        self._wall_offset = wall_start - self._now
        self._clusters = []

    def attach(self, cluster):
        self._clusters.append(cluster)

    def monotonic(self):
        return self._now

    def time(self):
        return self._now + self._wall_offset

    def set_monotonic(self, value):
        """Move to `value` without running events (time never goes back)."""
        self._now = max(self._now, value)

    def advance_to(self, target):
        """Step to `target`, stopping at each due time on the way, so every event runs in order with the clock at
        its own due time (callbacks that read the clock see the time they fire at). Holds every cluster's lock
        (always in the same order), so threads of the code under test may sleep on this clock concurrently."""
        with contextlib.ExitStack() as locks:
            for cluster in self._clusters:
                locks.enter_context(cluster.lock)
            self._advance_locked(target)

    def _advance_locked(self, target):
        while True:
            due = [(c.next_due(), i) for i, c in enumerate(self._clusters)]
            due = [d for d in due if d[0] is not None and d[0] <= target]
            if not due:
                break
            when, index = min(due)
            self.set_monotonic(when)
            self._clusters[index].tick()
        self.set_monotonic(target)
        for cluster in self._clusters:
            cluster.tick()

    def advance(self, seconds):
        """Move time forward by `seconds`, running every event due by then."""
        self.advance_to(self._now + max(0.0, float(seconds)))

    def sleep(self, seconds):
        self.advance(seconds)
