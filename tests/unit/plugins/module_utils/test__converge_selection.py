# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Selection stays Elasticsearch's: the converge planner expands each entry from one read of every object
(``_converge_plan.select`` over ``_desired_state.read_snapshot``), and that expansion must equal what Elasticsearch
answers for the same expression - here the emulator's, whose expansion is itself proven against Elasticsearch in
tests/fidelity/test_ml_behaviour.py (test_id_expressions) and its sources: 6.8 GroupOrJobLookup.expandJobIds, 7.x+
JobConfigProvider.expandJobsIds (ids and group names, patterns over both), DatafeedConfigProvider.expandDatafeedIds
(ids only). Ids with groups, wildcards, comma lists and ``_all``, on every supported version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._converge_plan import normalize, select
from ansible_collections.esops.jobs.plugins.module_utils._desired_state import read_snapshot
from ansible_collections.esops.jobs.plugins.module_utils._ml import validate_ml_ids
from ansible_collections.esops.jobs.tests.emulator.inprocess import SUPPORTED_VERSIONS

JOB_EXPRESSIONS = ['_all', '*', 'web', 'web-a', 'prod', 'web-*', 'pro*', '*-b', 'db,web', 'web-a,db', 'w*,db',
                   'nope', 'web,nope', 'x*', 'web-a,web']
DATAFEED_EXPRESSIONS = ['_all', '*', 'datafeed-web-a', 'datafeed-*', 'datafeed-web-*,datafeed-db', 'web', 'nope',
                        'datafeed-db,nope', 'x*']


def cluster(es):
    es.add_job('web-a', groups=['web'], datafeed_state='stopped')
    es.add_job('web-b', groups=['web', 'prod'], datafeed_state='stopped')
    es.add_job('db', groups=['prod'], datafeed_state='stopped', datafeed_id='datafeed-db')
    es.add_job('other')
    return es


def elasticsearch_answer(es, kind, expression):
    """The ids ES selects for ``expression``, or 404 for an unknown exact id."""
    path = es.ml_path('anomaly_detectors' if kind == 'ml_jobs' else 'datafeeds', expression, '_stats')
    status, body = es.call('GET', path)
    if status == 404:
        return 404
    assert status == 200, body
    return sorted(entry['job_id' if kind == 'ml_jobs' else 'datafeed_id'] for entry in body[
        'jobs' if kind == 'ml_jobs' else 'datafeeds'])


def planner_answer(snapshot, kind, expression):
    ids, missing = select(kind, validate_ml_ids([expression], 'id'), snapshot[kind])
    return 404 if missing else ids


@pytest.mark.parametrize('es', SUPPORTED_VERSIONS, indirect=True)
def test_the_planner_selects_what_elasticsearch_selects(es):
    cluster(es)
    snapshot = read_snapshot(es.client(), normalize({}), kinds=['ml_jobs', 'datafeeds'])
    for kind, expressions in (('ml_jobs', JOB_EXPRESSIONS), ('datafeeds', DATAFEED_EXPRESSIONS)):
        for expression in expressions:
            assert planner_answer(snapshot, kind, expression) == elasticsearch_answer(es, kind, expression), \
                (es.version, kind, expression)
