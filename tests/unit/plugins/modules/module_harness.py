# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() with arguments, a fake ES client, and exit/fail captured as exceptions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
from unittest import mock

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 has no ansible.module_utils.testing
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        """What ansible-core 2.19's patch_module_args does, the way older cores read module arguments:
        AnsibleModule loads them from basic._ANSIBLE_ARGS when it is set."""
        serialized = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode('utf-8')
        with mock.patch.object(basic, '_ANSIBLE_ARGS', serialized):
            yield

from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed


def run_module(main, args, es, check_mode=False, diff=False):
    """Return (failed, result)."""
    args = dict(args)
    args['_ansible_check_mode'] = check_mode
    args['_ansible_diff'] = diff

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, **result):
        result['failed'] = True
        raise Failed(result)

    with patch_module_args(args), \
            mock.patch.object(EsopsModule, 'client', new_callable=mock.PropertyMock, return_value=es), \
            mock.patch.object(EsopsModule, 'exit_json', exit_json), \
            mock.patch.object(EsopsModule, 'fail_json', fail_json):
        with pytest.raises((Exited, Failed)) as info:
            main()
    return isinstance(info.value, Failed), info.value.result
