# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML upgrade mode: read first, change only when different, retry 429 'still being processed' (es-behaviour §2.9),
against the in-process emulator (tests/unit/conftest.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._ml_upgrade import UpgradeMode, run
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.engine_fakes import Exited, Failed, FakeModule

VERSIONS = ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5']
# TransportSetUpgradeModeAction's answer while an earlier set_upgrade_mode is still running (isRunning): 429.
BUSY_REASON = 'Cannot change [upgrade_mode]. Previous request is still being processed.'
BUSY_BODY = {'error': {'root_cause': [{'type': 'status_exception', 'reason': BUSY_REASON}], 'type': 'status_exception',
                       'reason': BUSY_REASON}, 'status': 429}


def converge(es, enabled, check_mode=False, diff=False, timeout=30.0, client=None, sleep=None):
    """The module's run() with the real client; ``retries=0`` unless a client is given, so that UpgradeMode's own
    retry of a busy answer (through its poller) is what a test sees, not the client's jittered 429 backoff."""
    poller = es.poller(initial=0.5, factor=2.0, maximum=5.0, **({'sleep': sleep} if sleep else {}))
    upgrade = UpgradeMode(client or es.client(retries=0), poller=poller)
    with pytest.raises((Exited, Failed)) as info:
        run(FakeModule(check_mode=check_mode, diff=diff), enabled, timeout, upgrade=upgrade)
    return info.value.result


def posts(es):
    return es.mutating_requests()


def busy(es, times):
    es.faults(method='POST', path_regex='set_upgrade_mode', status=429, times=times, body=BUSY_BODY)


@pytest.mark.parametrize('es', VERSIONS, indirect=True)
def test_enable_then_unchanged_then_disable(es):
    result = converge(es, True, diff=True)
    assert result == dict(changed=True, upgrade_mode_before=False, upgrade_mode_after=True, msg='ML upgrade mode enabled',
                          diff=dict(before=dict(upgrade_mode=False), after=dict(upgrade_mode=True)))
    assert [(r['method'], r['path'], r['query']) for r in posts(es)] == [
        ('POST', es.ml_path('set_upgrade_mode'), {'enabled': 'true', 'timeout': '30s'})]
    assert es.state()['upgrade_mode'] is True

    again = converge(es, True)
    assert again['changed'] is False and again['msg'] == 'ML upgrade mode already enabled'
    assert len(posts(es)) == 1

    off = converge(es, False, timeout=120.0)
    assert off['changed'] is True and off['upgrade_mode_before'] is True and off['upgrade_mode_after'] is False
    assert posts(es)[-1]['query'] == {'enabled': 'false', 'timeout': '2m'}
    assert all(r['status'] == 200 for r in es.requests())
    assert es.state()['upgrade_mode'] is False


def test_check_mode_predicts_without_posting(es):
    result = converge(es, True, check_mode=True, diff=True)
    assert result['changed'] is True and result['upgrade_mode_after'] is True
    assert result['msg'] == 'ML upgrade mode would be enabled'
    assert result['diff'] == dict(before=dict(upgrade_mode=False), after=dict(upgrade_mode=True))
    assert es.mutating_requests() == [] and es.state()['upgrade_mode'] is False


def test_check_mode_unchanged(es):
    es.set_upgrade_mode(True)
    result = converge(es, True, check_mode=True)
    assert result['changed'] is False and es.mutating_requests() == []


def test_busy_429_is_retried_within_the_timeout(es):
    busy(es, 2)
    start = es.clock.time()
    result = converge(es, True)
    assert result['changed'] is True and es.state()['upgrade_mode'] is True
    sent = posts(es)
    assert [r['status'] for r in sent] == [429, 429, 200]
    # the poller's backoff: 0.5s, then 1s
    assert [r['time'] - start for r in sent] == [0.0, 0.5, 1.5]
    # each retry asks ES to wait only for the time left
    assert [r['query']['timeout'] for r in sent] == ['30s', '30s', '29s']


def test_busy_429_where_the_other_request_sets_our_value_stops_retrying(es):
    busy(es, 5)

    def other_request_lands(seconds):
        es.clock.sleep(seconds)
        es.clear_faults()
        es.set_upgrade_mode(True)   # the earlier request, which was enabling too, is done

    result = converge(es, True, sleep=other_request_lands)
    assert result['changed'] is True and result['upgrade_mode_after'] is True
    assert [r['status'] for r in posts(es)] == [429]


def test_busy_429_until_the_deadline_fails_clearly(es):
    busy(es, 1000)
    result = converge(es, True, timeout=10.0)
    assert result['failed'] is True
    assert result['msg'].startswith('Elasticsearch was still processing an earlier upgrade mode change after 10s, '
                                    'so upgrade_mode could not be set to true')
    assert result['status'] == 429 and result['upgrade_mode_before'] is False
    assert es.state()['upgrade_mode'] is False


def test_busy_429_is_also_retried_by_the_client(es):
    # With the client's default retries the busy answer is first retried there (429 is a retry status).
    busy(es, 2)
    result = converge(es, True, client=es.client())
    assert result['changed'] is True and [r['status'] for r in posts(es)] == [429, 429, 200]


@pytest.mark.parametrize('es', [dict(security=True)], indirect=True)
def test_other_errors_fail_with_status(es):
    # ml_viewer (monitor_ml) may read ML info but not set upgrade mode: Elasticsearch's own 403.
    result = converge(es, True, client=es.client(username='ml_viewer', password='changeme'))
    assert result['failed'] is True and result['status'] == 403 and 'unauthorized' in result['msg']
    assert result['upgrade_mode_before'] is False
    assert es.state()['upgrade_mode'] is False


def test_read_error_fails_cleanly(es):
    es.faults(method='GET', path_regex='/info$', status=503, times=10)
    result = converge(es, True, client=es.client())
    assert result['failed'] is True and result['status'] == 503
    assert es.mutating_requests() == []
