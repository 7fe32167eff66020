# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.ml_datafeed_state: options, validation and the end-to-end result, with a fake ES."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration
from ansible_collections.esops.jobs.plugins.modules import ml_datafeed_state
from ansible_collections.esops.jobs.tests.unit.plugins.module_utils.fake_ml_es import FakeMlEs
from ansible_collections.esops.jobs.tests.unit.plugins.modules.module_harness import run_module


def es_with(version='8.19.3', state='started', job_state='opened'):
    es = FakeMlEs(version)
    es.add_job('web', state=job_state)
    es.add_datafeed('datafeed-web', 'web', state=state)
    return es


def run(args, es, **kwargs):
    return run_module(ml_datafeed_state.main, args, es, **kwargs)


@pytest.mark.parametrize('version', ['6.8.23', '7.13.4', '7.17.28', '8.19.3', '9.1.5'])
def test_defaults_stop_with_explicit_timeout(version):
    es = es_with(version)
    failed, result = run(dict(datafeed_id=['datafeed-web']), es)
    assert not failed and result['changed'] is True
    assert result['datafeeds'] == [dict(datafeed_id='datafeed-web', job_id='web', state_before='started',
                                        state_after='stopped', changed=True, actions=['stop'])]
    stop = [params for method, _path, params in es.calls if method == 'POST']
    assert len(stop) == 1 and list(stop[0]) == ['timeout']
    # the time left of the 5m default, in whole seconds (a few ms have passed since the module started)
    assert 290 <= parse_duration(stop[0]['timeout']) <= 300


def test_check_mode_and_diff_through_ansible_flags():
    es = es_with(state='stopped')
    failed, result = run(dict(datafeed_id='datafeed-web', state='started', timeout='45s'), es, check_mode=True, diff=True)
    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'datafeed-web': 'stopped'}, 'after': {'datafeed-web': 'started'}}
    assert es.mutations() == []
    failed, result = run(dict(datafeed_id='datafeed-web', state='started', timeout='45s'), es)
    method, path, params = es.calls[-1]
    assert (method, path, list(params)) == ('POST', '/_ml/datafeeds/datafeed-web/_start', ['timeout'])
    assert 40 <= parse_duration(params['timeout']) <= 45
    failed, result = run(dict(datafeed_id='datafeed-web', state='started'), es)
    assert result['changed'] is False and len(es.mutations()) == 1


def test_comma_list_in_one_item_and_several_items():
    es = es_with()
    es.add_datafeed('datafeed-db', 'db', state='started')
    es.add_datafeed('datafeed-x', 'x', state='started')
    failed, result = run(dict(datafeed_id=['datafeed-web,datafeed-db', 'datafeed-x']), es)
    assert not failed
    assert es.mutations() == [('POST', '/_ml/datafeeds/datafeed-db,datafeed-web,datafeed-x/_stop')]


@pytest.mark.parametrize('ids,message', [
    (['Datafeed-Web'], "datafeed_id: 'Datafeed-Web' is not a valid id (ids are lowercase)"),
    (['ok,'], "datafeed_id: empty id in 'ok,'"),
    (['a b'], "datafeed_id: 'a b' is not a valid id"),
    (['_all', 'x'], 'datafeed_id: _all selects everything and cannot be combined with other ids'),
    (['x' * 65], 'is longer than 64 characters'),
    (['bad/*'], "datafeed_id: 'bad/*' is not a valid id pattern"),
    ([], 'datafeed_id: give at least one id, pattern or _all'),
])
def test_bad_ids_fail_before_any_request(ids, message):
    es = es_with()
    failed, result = run(dict(datafeed_id=ids), es)
    assert failed and message in result['msg']
    assert es.calls == []


def test_missing_datafeed_id_is_an_argspec_failure():
    failed, result = run(dict(state='stopped'), es_with())
    assert failed and 'datafeed_id' in result['msg']


@pytest.mark.parametrize('args,message', [
    (dict(start='now', state='stopped'), 'start is only used with state=started (state is stopped)'),
    (dict(end='now', state='absent'), 'end is only used with state=started (state is absent)'),
    (dict(start=' ', state='started'), 'start must not be empty'),
    (dict(timeout='soon'), "timeout='soon' is not a duration"),
    (dict(timeout='0s'), 'timeout must be greater than zero'),
    (dict(timeout='99999999d'), "timeout='99999999d' is too long: at most 7d"),
    (dict(state='opened'), 'value of state must be one of: stopped, started, absent'),
])
def test_bad_options_fail_clearly(args, message):
    es = es_with()
    args = dict(args, datafeed_id='datafeed-web')
    failed, result = run(args, es)
    assert failed and message in result['msg']
    assert es.mutations() == []


def test_closed_job_failure_reaches_the_user():
    es = es_with(state='stopped', job_state='closed')
    failed, result = run(dict(datafeed_id='datafeed-web', state='started'), es)
    assert failed
    assert result['msg'] == ('cannot start datafeed datafeed-web because its job web is closed; '
                             'open it first with esops.jobs.ml_job_state (state: opened)')
    assert result['failed_datafeeds'] == ['datafeed-web']


def test_absent_force_end_to_end():
    es = es_with()
    failed, result = run(dict(datafeed_id='datafeed-*', state='absent'), es)
    assert failed and 'is started' in result['msg']
    failed, result = run(dict(datafeed_id='datafeed-*', state='absent', force=True), es)
    assert not failed and result['datafeeds'][0]['state_after'] == 'absent'
    assert es.datafeeds == {}


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
