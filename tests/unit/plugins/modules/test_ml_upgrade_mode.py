# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_upgrade_mode end to end against the in-process emulator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.modules import ml_upgrade_mode
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS


@pytest.fixture
def run(run_module):
    return lambda args, **kwargs: run_module(ml_upgrade_mode.main, args, **kwargs)


def upgrade_mode(es):
    return es.ok('GET', es.ml_path('info'))['upgrade_mode']


@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
def test_enter_and_leave_idempotently(es, run):
    failed, result = run(dict(enabled=True, timeout='10m'), diff=True)
    assert not failed and result['changed'] is True and result['upgrade_mode_after'] is True
    assert result['diff'] == {'before': {'upgrade_mode': False}, 'after': {'upgrade_mode': True}}
    assert es.mutating_requests()[-1]['query'] == {'enabled': 'true', 'timeout': '10m'}
    assert upgrade_mode(es) is True
    failed, result = run(dict(enabled=True))
    assert result['changed'] is False and len(es.mutating_requests()) == 1
    failed, result = run(dict(enabled=False), check_mode=True)
    assert result['changed'] is True and result['upgrade_mode_after'] is False and upgrade_mode(es) is True
    assert len(es.mutating_requests()) == 1
    failed, result = run(dict(enabled=False))
    assert result['changed'] is True and upgrade_mode(es) is False
    assert es.mutating_requests()[-1]['query'] == {'enabled': 'false', 'timeout': '30s'}


def test_enabled_is_required(es, run):
    failed, result = run(dict())
    assert failed and 'enabled' in result['msg'] and es.requests() == []


def test_bad_timeout(es, run):
    failed, result = run(dict(enabled=True, timeout='-1'))
    assert failed and "timeout='-1' is not a duration" in result['msg'] and es.requests() == []


def test_huge_timeout(es, run):
    failed, result = run(dict(enabled=True, timeout='99999999d'))
    assert failed and result['msg'] == "timeout='99999999d' is too long: at most 7d" and es.requests() == []


def test_cluster_older_than_the_collection_supports(es, run):
    # The emulator has no 6.6 personality: GET / answers as a 6.6.2 node would (version.number is what is read).
    root = es.ok('GET', '/')
    root['version']['number'] = '6.6.2'
    es.faults(method='GET', path_regex='^/$', status=200, body=root)
    failed, result = run(dict(enabled=True))
    assert failed and result['msg'] == (
        'Elasticsearch 6.6.2 is not supported: esops.jobs needs 6.8.0 or later (nothing was changed)')
    assert es.mutating_requests() == []
