# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: records wall-clock timestamps of tasks and results in a JSON file."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Record task timestamps for benchmarks/ (not shipped with the collection)
description:
  - Writes C(time.time()) stamps of the play, every task start and every result to the file named by the
    environment variable E(BENCH_TIMER_FILE), so that they can be compared with the emulator's request log.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED=bench_timer
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


def _payload(result):
    """The result dict: ``result.result`` on ansible-core 2.19+, ``_result`` before."""
    payload = getattr(result, 'result', None)
    if payload is None:
        payload = getattr(result, '_result', None) or {}
    return payload


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.events = []

    def _record(self, kind, name=None, **extra):
        event = {'event': kind, 'time': time.time()}
        if name is not None:
            event['name'] = name
        event.update(extra)
        self.events.append(event)

    def v2_playbook_on_start(self, playbook):
        self._record('playbook_start')

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._record('task_start', task.get_name())

    def v2_runner_item_on_ok(self, result):
        self._record('item_ok', result.task_name)

    def v2_runner_item_on_failed(self, result):
        self._record('item_failed', result.task_name)

    def v2_runner_item_on_skipped(self, result):
        self._record('item_skipped', result.task_name)

    def v2_runner_retry(self, result):
        self._record('retry', result.task_name)

    def v2_runner_on_ok(self, result):
        self._record('task_ok', result.task_name, changed=bool(_payload(result).get('changed')))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record('task_failed', result.task_name, msg=str(_payload(result).get('msg', ''))[:500])

    def v2_runner_on_skipped(self, result):
        self._record('task_skipped', result.task_name)

    def v2_playbook_on_stats(self, stats):
        self._record('stats')
        path = os.environ.get('BENCH_TIMER_FILE')
        if path:
            with open(path, 'w') as handle:
                json.dump(self.events, handle)
