# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PUT-able ML configurations and their comparison."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._config_compare import differences
from ansible_collections.esops.jobs.plugins.module_utils._ml_config import datafeed_put_config, job_put_config


def test_job_put_config_drops_exactly_the_generated_fields():
    got = {'job_id': 'a', 'job_type': 'anomaly_detector', 'job_version': '8.19.3', 'create_time': 1, 'finished_time': 2,
           'model_snapshot_id': '3', 'model_snapshot_min_version': '7.0.0', 'deleting': True,
           'blocked': {'reason': 'reset'}, 'datafeed_config': {'datafeed_id': 'd'}, 'groups': ['g'],
           'custom_settings': {'created_by': 'ml-module-x', 'k': 1}, 'results_index_name': 'custom-x',
           'analysis_config': {'bucket_span': '15m'}}
    put = job_put_config(got)
    assert put == {'job_id': 'a', 'groups': ['g'], 'custom_settings': {'created_by': 'ml-module-x', 'k': 1},
                   'results_index_name': 'custom-x', 'analysis_config': {'bucket_span': '15m'}}
    assert got['job_type'] == 'anomaly_detector'   # the input is not changed
    assert job_put_config(None) is None


def test_datafeed_put_config_drops_the_saved_credentials():
    got = {'datafeed_id': 'd', 'job_id': 'a', 'authorization': {'api_key': {'id': 'k'}}, 'indices': ['i'],
           'query_delay': '90s', 'indices_options': {'expand_wildcards': ['open']}}
    assert datafeed_put_config(got) == {'datafeed_id': 'd', 'job_id': 'a', 'indices': ['i'], 'query_delay': '90s',
                                        'indices_options': {'expand_wildcards': ['open']}}


def test_differences_compare_only_the_keys_given():
    current = {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count', 'detector_index': 0}]},
               'analysis_limits': {'model_memory_limit': '1024mb'}, 'results_index_name': 'custom-mine',
               'indices': ['a', 'b'], 'description': 'x'}
    assert differences(current, {'analysis_config': {'detectors': [{'function': 'count'}]},
                                 'analysis_limits': {'model_memory_limit': '1gb'}, 'results_index_name': 'mine',
                                 'indices': 'a,b'}) == []
    assert differences(current, {'analysis_limits': {'model_memory_limit': 1024}}) == []
    assert differences(current, {'analysis_limits': {'model_memory_limit': '512mb'}}) == [
        {'path': 'analysis_limits.model_memory_limit', 'current': '1024mb', 'desired': '512mb'}]
    assert differences(current, {'analysis_config': {'detectors': [{'function': 'count'}, {'function': 'mean'}]}}) == [
        {'path': 'analysis_config.detectors', 'current': [{'function': 'count', 'detector_index': 0}],
         'desired': [{'function': 'count'}, {'function': 'mean'}]}]
    assert differences(current, {'groups': ['g']}) == [{'path': 'groups', 'current': None, 'desired': ['g']}]
    assert differences(current, {'groups': None}) == []
    assert differences(current, {'description': 'y'}) == [{'path': 'description', 'current': 'x', 'desired': 'y'}]
