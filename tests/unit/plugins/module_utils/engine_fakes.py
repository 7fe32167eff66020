# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module double for the convergence engine's own tests (no Ansible). Time in tests has one source: the
emulator's ManualClock (tests/emulator/clock.py, fixtures es_clock / es_sleeps in tests/unit/conftest.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Exited(Exception):
    """Raised by FakeModule.exit_json (and by patched AnsibleModule.exit_json) with the result."""

    def __init__(self, result):
        super(Exited, self).__init__(result)
        self.result = result


class Failed(Exception):
    """Raised by FakeModule.fail_json (and by patched AnsibleModule.fail_json) with the result."""

    def __init__(self, result):
        super(Failed, self).__init__(result.get('msg'))
        self.result = result


class FakeModule(object):
    def __init__(self, check_mode=False, diff=False):
        self.check_mode = check_mode
        self._diff = diff

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, **result):
        result['failed'] = True
        raise Failed(result)

    def fail_from_error(self, error, **result):
        self.fail_json(msg=str(error), status=error.status, error_type=error.error_type, **result)
