# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one classification of Elasticsearch errors: status + type, reason text only where ES says nothing better."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchConnectionError, ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._errors import (
    AlreadyExists, AlreadyInState, Busy, ClassifyingClient, Conflict, Forbidden, NoHandler, NotFound,
    RollupIndexHasJobMetadata, SecurityNotEnabled, ServerError, ServerWaitTimedOut, Unauthenticated, UpgradeModeOn,
    classify, worth_retrying)

CASES = [
    # (status, type, reason) -> class, state
    (404, 'resource_not_found_exception', "No known job with id 'x'", NotFound, None),
    (409, 'status_exception', 'Cannot open job [x] because it has already been opened', AlreadyInState, None),
    (409, 'status_exception', 'cannot start datafeed [d] because it has already been started', AlreadyInState, None),
    (500, 'exception', 'Cannot start task for Rollup Job [r] because state was [STARTED]', AlreadyInState, 'started'),
    (500, 'illegal_state_exception', 'Timed out when waiting for persistent tasks after 5s', ServerWaitTimedOut, None),
    (408, 'status_exception', 'Opening job [x] timed out after [5s]', ServerWaitTimedOut, None),
    (429, 'elasticsearch_timeout_exception', 'Timed out after [5s] while waiting for rollup job [r] to stop. '
     'State was [STOPPING]', ServerWaitTimedOut, 'stopping'),
    (429, 'status_exception', 'Cannot perform cluster:admin/xpack/ml/job/close action while upgrade mode is enabled',
     UpgradeModeOn, None),
    (429, 'status_exception', 'Cannot change [upgrade_mode]. Previous request is still being processed.', Busy, None),
    (409, 'status_exception', 'cannot close job [x] because it failed, use force close', Conflict, 'failed'),
    (409, 'status_exception', 'Cannot delete job [x] because the job is opened', Conflict, 'opened'),
    (500, None, 'rollup job [r]: indexer state is [STARTED]', Conflict, 'started'),
    (500, 'exception', 'Exception closing autodetect process', ServerError, None),
    (400, 'resource_already_exists_exception', 'A filter with id [f] already exists', AlreadyExists, None),
    (400, 'status_exception', 'Cannot create calendar with id [c] as it already exists', AlreadyExists, None),
    (400, 'status_exception', 'Cannot remove [j] as it is not present in calendar [c]', ElasticsearchError, None),
    # TransportPutRollupJobAction (6.8-9.x): the rollup index still records a job of that id.
    (409, 'status_exception', 'Cannot create rollup job [r1] because job was previously created (existing metadata).',
     RollupIndexHasJobMetadata, None),
    (401, 'security_exception', 'unable to authenticate user [u] for REST request [/]', Unauthenticated, None),
    (403, 'security_exception', 'action [indices:admin/get] is unauthorized for user [u]', Forbidden, None),
    # RestController: no route (8.x: an error object; 6.8/7.x: a bare string, so no type).
    (400, 'illegal_argument_exception', 'no handler found for uri [/_security/user/_has_privileges] and method [POST]',
     NoHandler, None),
    (400, None, 'no handler found for uri [/_rollup/job/_all] and method [GET]', NoHandler, None),
    (405, None, 'Incorrect HTTP method for uri [/_rollup/job/_all] and method [DELETE], allowed: [GET]', NoHandler, None),
    (500, 'exception', 'Security must be explicitly enabled when using a [basic] license. Enable security by setting '
     '[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.', SecurityNotEnabled, None),
    (500, 'exception', 'Security is not enabled but a security rest handler is registered', SecurityNotEnabled, None),
]


@pytest.mark.parametrize('status, error_type, reason, cls, state', CASES)
def test_classify(status, error_type, reason, cls, state):
    error = classify(ElasticsearchError('POST /x failed: HTTP %d' % status, status=status, error_type=error_type,
                                        reason=reason))
    assert error.__class__ is cls
    assert isinstance(error, ElasticsearchError)
    assert (error.status, error.error_type, error.reason) == (status, error_type, reason)
    if cls in (AlreadyInState, Conflict, ServerWaitTimedOut):
        assert error.state == state


@pytest.mark.parametrize('reason, ids', [
    ("No known job with id 'a,b-*'", ['a', 'b-*']),
    ('No datafeed with id [d1] exists', ['d1']),
    ('the job is gone', None),
])
def test_not_found_names_the_missing_ids(reason, ids):
    error = classify(ElasticsearchError('HTTP 404', status=404, error_type='resource_not_found_exception', reason=reason))
    assert error.__class__ is NotFound and error.ids == ids


def test_existing_metadata_is_still_a_conflict():
    # Code that catches Conflict (the 409 family) keeps catching it.
    error = classify(ElasticsearchError('HTTP 409', status=409, error_type='status_exception',
                                        reason='Cannot create rollup job [r1] because job was previously created '
                                               '(existing metadata).'))
    assert isinstance(error, Conflict)


def test_classifying_client_classifies_a_refused_version_read():
    class Client(object):
        @property
        def version(self):
            raise ElasticsearchError('GET / failed', status=403, error_type='security_exception', reason='no')

    with pytest.raises(Forbidden):
        ClassifyingClient(Client()).version


def test_unclassified_and_connection_errors_pass_unchanged():
    bad = ElasticsearchError('HTTP 400', status=400, error_type='illegal_argument_exception', reason='x')
    assert classify(bad) is bad
    refused = ElasticsearchConnectionError('refused')
    assert classify(refused) is refused


def test_classifying_client_raises_typed_and_passes_the_rest_through():
    class Client(object):
        version = (8, 19, 0)

        def request(self, method, path, **kwargs):
            raise ElasticsearchError('gone', status=404, error_type='resource_not_found_exception', reason='gone')

    client = ClassifyingClient(Client())
    assert client.version == (8, 19, 0)
    with pytest.raises(NotFound):
        client.request('GET', '/x')


@pytest.mark.parametrize('status, error_type, reason, expected', [
    (429, 'status_exception', 'Cannot change [upgrade_mode]. Previous request is still being processed.', True),
    (429, 'es_rejected_execution_exception', 'rejected execution of coordinating operation', True),
    (503, 'unavailable_shards_exception', 'primary shard is not active', True),
    # upgrade mode stays on until an operator ends it; a spent server-side wait would only be spent again
    (429, 'status_exception', 'Cannot perform cluster:admin/xpack/ml/datafeed/stop action while upgrade mode is enabled',
     False),
    (429, 'status_exception', 'Cannot open jobs when upgrade mode is enabled', False),
    (429, 'elasticsearch_timeout_exception', 'Timed out after [5s] while waiting for rollup job [r] to stop', False),
    (404, 'resource_not_found_exception', "No known job with id 'x'", False),
    (500, 'exception', 'disk on fire', False),
])
def test_worth_retrying(status, error_type, reason, expected):
    assert worth_retrying(ElasticsearchError(reason, status=status, error_type=error_type, reason=reason)) is expected
