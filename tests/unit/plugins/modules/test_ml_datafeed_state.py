# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_datafeed_state: options, validation and the end-to-end result against the in-process emulator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration
from ansible_collections.esops.jobs.plugins.modules import ml_datafeed_state
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS


@pytest.fixture
def run(run_module):
    return lambda args, **kwargs: run_module(ml_datafeed_state.main, args, **kwargs)


def with_web(es, state='started', job_state='opened'):
    """Job `web` in `job_state` with datafeed `datafeed-web` in `state`."""
    es.add_job('web', job_state, datafeed_state=state)
    return es


@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
def test_defaults_stop_with_explicit_timeout(es, run):
    with_web(es)
    failed, result = run(dict(datafeed_id=['datafeed-web']))
    assert not failed and result['changed'] is True
    assert result['datafeeds'] == [dict(datafeed_id='datafeed-web', job_id='web', state_before='started',
                                        state_after='stopped', changed=True, actions=['stop'])]
    stop = [r['query'] for r in es.mutating_requests()]
    assert len(stop) == 1 and list(stop[0]) == ['timeout']
    # the time left of the 5m default, in whole seconds
    assert 290 <= parse_duration(stop[0]['timeout']) <= 300
    assert es.state()['datafeeds'] == {'datafeed-web': 'stopped'}


def test_check_mode_and_diff_through_ansible_flags(es, run):
    with_web(es, state='stopped')
    failed, result = run(dict(datafeed_id='datafeed-web', state='started', timeout='45s'), check_mode=True, diff=True)
    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'datafeed-web': 'stopped'}, 'after': {'datafeed-web': 'started'}}
    assert es.mutating_requests() == []
    failed, result = run(dict(datafeed_id='datafeed-web', state='started', timeout='45s'))
    assert not failed and es.state()['datafeeds'] == {'datafeed-web': 'started'}
    start = es.mutating_requests()
    assert [(r['method'], r['path'], list(r['query'])) for r in start] == [('POST', '/_ml/datafeeds/datafeed-web/_start', ['timeout'])]
    assert 40 <= parse_duration(start[0]['query']['timeout']) <= 45
    failed, result = run(dict(datafeed_id='datafeed-web', state='started'))
    assert result['changed'] is False and len(es.mutating_requests()) == 1


def test_comma_list_in_one_item_and_several_items(es, run):
    with_web(es)
    es.add_job('db', 'opened', datafeed_state='started')
    es.add_job('x', 'opened', datafeed_state='started')
    failed, result = run(dict(datafeed_id=['datafeed-web,datafeed-db', 'datafeed-x']))
    assert not failed
    assert es.mutations() == [('POST', '/_ml/datafeeds/datafeed-db,datafeed-web,datafeed-x/_stop')]
    assert es.state()['datafeeds'] == {'datafeed-db': 'stopped', 'datafeed-web': 'stopped', 'datafeed-x': 'stopped'}


@pytest.mark.parametrize('ids,message', [
    (['Datafeed-Web'], "datafeed_id: 'Datafeed-Web' is not a valid id (ids are lowercase)"),
    (['ok,'], "datafeed_id: empty id in 'ok,'"),
    (['a b'], "datafeed_id: 'a b' is not a valid id"),
    (['_all', 'x'], 'datafeed_id: _all selects everything and cannot be combined with other ids'),
    (['x' * 65], 'is longer than 64 characters'),
    (['bad/*'], "datafeed_id: 'bad/*' is not a valid id pattern"),
    ([], 'datafeed_id: give at least one id, pattern or _all'),
])
def test_bad_ids_fail_before_any_request(es, run, ids, message):
    with_web(es)
    failed, result = run(dict(datafeed_id=ids))
    assert failed and message in result['msg']
    assert es.requests() == []


def test_missing_datafeed_id_is_an_argspec_failure(es, run):
    failed, result = run(dict(state='stopped'))
    assert failed and 'datafeed_id' in result['msg']
    assert es.requests() == []


@pytest.mark.parametrize('args,message', [
    (dict(start='now', state='stopped'), 'start is only used with state=started (state is stopped)'),
    (dict(end='now', state='absent'), 'end is only used with state=started (state is absent)'),
    (dict(start=' ', state='started'), 'start must not be empty'),
    (dict(timeout='soon'), "timeout='soon' is not a duration"),
    (dict(timeout='0s'), 'timeout must be greater than zero'),
    (dict(timeout='99999999d'), "timeout='99999999d' is too long: at most 7d"),
    (dict(state='opened'), 'value of state must be one of: stopped, started, absent'),
])
def test_bad_options_fail_clearly(es, run, args, message):
    with_web(es)
    args = dict(args, datafeed_id='datafeed-web')
    failed, result = run(args)
    assert failed and message in result['msg']
    assert es.requests() == []


def test_closed_job_failure_reaches_the_user(es, run):
    with_web(es, state='stopped', job_state='closed')
    failed, result = run(dict(datafeed_id='datafeed-web', state='started'))
    assert failed
    assert result['msg'] == ('cannot start datafeed datafeed-web because its job web is closed; '
                             'open it first with esops.jobs.ml_job_state (state: opened)')
    assert result['failed_datafeeds'] == ['datafeed-web']
    assert es.mutating_requests() == []


def test_absent_force_end_to_end(es, run):
    with_web(es)
    failed, result = run(dict(datafeed_id='datafeed-*', state='absent'))
    assert failed and 'is started' in result['msg']
    assert es.mutating_requests() == []
    failed, result = run(dict(datafeed_id='datafeed-*', state='absent', force=True))
    assert not failed and result['datafeeds'][0]['state_after'] == 'absent'
    assert es.state()['datafeeds'] == {}


def test_argspec_matches_documentation():
    import yaml
    doc = yaml.safe_load(ml_datafeed_state.DOCUMENTATION)
    spec = ml_datafeed_state.argument_spec()
    own = dict((name, spec[name]) for name in ('datafeed_id', 'state', 'force', 'start', 'end', 'allow_no_match', 'timeout'))
    for name, option in own.items():
        assert doc['options'][name]['type'] == option['type']
        assert doc['options'][name].get('default') == option.get('default')
        assert doc['options'][name].get('choices') == option.get('choices')
    assert spec['wait'] == dict(type='bool', default=True)
