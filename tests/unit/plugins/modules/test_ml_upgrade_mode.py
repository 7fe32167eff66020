# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_upgrade_mode end to end with a fake ES."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import ml_upgrade_mode
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_ml_es import FakeMlEs
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module


def run(args, es, **kwargs):
    return run_module(ml_upgrade_mode.main, args, es, **kwargs)


@pytest.mark.parametrize('version', ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5'])
def test_enter_and_leave_idempotently(version):
    es = FakeMlEs(version)
    failed, result = run(dict(enabled=True, timeout='10m'), es, diff=True)
    assert not failed and result['changed'] is True and result['upgrade_mode_after'] is True
    assert result['diff'] == {'before': {'upgrade_mode': False}, 'after': {'upgrade_mode': True}}
    assert es.calls[-1][2] == {'enabled': True, 'timeout': '10m'}
    failed, result = run(dict(enabled=True), es)
    assert result['changed'] is False and len(es.mutations()) == 1
    failed, result = run(dict(enabled=False), es, check_mode=True)
    assert result['changed'] is True and result['upgrade_mode_after'] is False and es.upgrade_mode is True
    failed, result = run(dict(enabled=False), es)
    assert result['changed'] is True and es.upgrade_mode is False
    assert es.calls[-1][2] == {'enabled': False, 'timeout': '30s'}


def test_enabled_is_required():
    failed, result = run(dict(), FakeMlEs())
    assert failed and 'enabled' in result['msg']


def test_bad_timeout():
    es = FakeMlEs()
    failed, result = run(dict(enabled=True, timeout='-1'), es)
    assert failed and "timeout='-1' is not a duration" in result['msg'] and es.calls == []


def test_huge_timeout():
    es = FakeMlEs()
    failed, result = run(dict(enabled=True, timeout='99999999d'), es)
    assert failed and result['msg'] == "timeout='99999999d' is too long: at most 7d" and es.calls == []


def test_old_cluster():
    failed, result = run(dict(enabled=True), FakeMlEs('6.6.2'))
    assert failed and result['msg'] == 'ML upgrade mode needs Elasticsearch 6.7 or later; this cluster runs 6.6.2'
