# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML upgrade mode: read first, change only when different, retry 429 'still being processed' (es-behaviour §2.9)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Poller
from ansible_collections.esops.jobs.plugins.module_utils._ml_upgrade import UpgradeMode, run
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeClock, FakeModule
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_ml_es import FakeMlEs

VERSIONS = ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5']


def converge(es, enabled, check_mode=False, diff=False, timeout=30.0, clock=None):
    clock = clock or FakeClock()
    upgrade = UpgradeMode(es, poller=Poller(initial=0.5, factor=2.0, maximum=5.0, clock=clock.clock, sleep=clock.sleep))
    with pytest.raises((Exited, Failed)) as info:
        run(FakeModule(check_mode=check_mode, diff=diff), enabled, timeout, upgrade=upgrade)
    return info.value.result


@pytest.mark.parametrize('version', VERSIONS)
def test_enable_then_unchanged_then_disable(version):
    es = FakeMlEs(version)
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    result = converge(es, True, diff=True)
    assert result == dict(changed=True, upgrade_mode_before=False, upgrade_mode_after=True, msg='ML upgrade mode enabled',
                          diff=dict(before=dict(upgrade_mode=False), after=dict(upgrade_mode=True)))
    assert es.mutations() == [('POST', base + '/set_upgrade_mode')]
    assert es.calls[-1][2] == {'enabled': True, 'timeout': '30s'}
    assert es.upgrade_mode is True

    again = converge(es, True)
    assert again['changed'] is False and again['msg'] == 'ML upgrade mode already enabled'
    assert len(es.mutations()) == 1

    off = converge(es, False, timeout=120.0)
    assert off['changed'] is True and off['upgrade_mode_before'] is True and off['upgrade_mode_after'] is False
    assert es.calls[-1][2] == {'enabled': False, 'timeout': '2m'}
    assert es.upgrade_mode is False


def test_check_mode_predicts_without_posting():
    es = FakeMlEs()
    result = converge(es, True, check_mode=True, diff=True)
    assert result['changed'] is True and result['upgrade_mode_after'] is True
    assert result['msg'] == 'ML upgrade mode would be enabled'
    assert result['diff'] == dict(before=dict(upgrade_mode=False), after=dict(upgrade_mode=True))
    assert es.mutations() == [] and es.upgrade_mode is False


def test_check_mode_unchanged():
    es = FakeMlEs(upgrade_mode=True)
    result = converge(es, True, check_mode=True)
    assert result['changed'] is False and es.mutations() == []


def test_busy_429_is_retried_within_the_timeout():
    es = FakeMlEs()
    es.busy_upgrade_answers = 2
    clock = FakeClock()
    result = converge(es, True, clock=clock)
    assert result['changed'] is True and es.upgrade_mode is True
    assert len(es.mutations()) == 3
    assert clock.sleeps == [0.5, 1.0]
    # each retry asks ES to wait only for the time left
    assert [params['timeout'] for method, _p, params in es.calls if method == 'POST'] == ['30s', '30s', '29s']


def test_busy_429_where_the_other_request_sets_our_value_stops_retrying():
    es = FakeMlEs()
    es.busy_upgrade_answers = 5

    def other_request_lands(clock):
        es.upgrade_mode = True

    result = converge(es, True, clock=FakeClock(on_sleep=other_request_lands))
    assert result['changed'] is True and result['upgrade_mode_after'] is True
    assert len(es.mutations()) == 1


def test_busy_429_until_the_deadline_fails_clearly():
    es = FakeMlEs()
    es.busy_upgrade_answers = 1000
    result = converge(es, True, timeout=10.0)
    assert result['failed'] is True
    assert result['msg'].startswith('Elasticsearch was still processing an earlier upgrade mode change after 10s, '
                                    'so upgrade_mode could not be set to true')
    assert result['status'] == 429 and result['upgrade_mode_before'] is False


def test_other_errors_fail_with_status():
    es = FakeMlEs()
    es.fault('POST', 'set_upgrade_mode', 403, 'security_exception',
             'action [cluster:admin/xpack/ml/upgrade_mode] is unauthorized for user [viewer]')
    result = converge(es, True)
    assert result['failed'] is True and result['status'] == 403 and 'unauthorized' in result['msg']
    assert result['upgrade_mode_before'] is False


def test_before_6_7_fails_naming_the_version():
    es = FakeMlEs('6.5.4')
    result = converge(es, True)
    assert result['failed'] is True
    assert result['msg'] == 'ML upgrade mode needs Elasticsearch 6.7 or later; this cluster runs 6.5.4'
    assert es.calls == []


def test_read_error_fails_cleanly():
    es = FakeMlEs()
    es.fault('GET', '/info$', 503, 'master_not_discovered_exception', None)
    result = converge(es, True)
    assert result['failed'] is True and result['status'] == 503
