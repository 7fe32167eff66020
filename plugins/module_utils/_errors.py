# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch errors, classified once (like amazon.aws ``module_utils/errors.py``).

The API classes (``MlApi``, ``RollupApi``, ``MlCalendarApi``, ``MlFilterApi``, ``IndicesApi``, ``SecurityApi``) send
every request through :class:`ClassifyingClient`, which passes every failure through :func:`classify`, so the
adapters catch a typed exception (``except NotFound``) and never look at statuses or message texts. Every
class is an ``ElasticsearchError``, so code that catches that still catches everything.

The key is the HTTP status and the error ``type``; the reason text is read only where Elasticsearch gives
nothing better (a 409 ``status_exception`` says "conflict" for many different things).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.esops.jobs.plugins.module_utils._client import (
    ElasticsearchConnectionError, ElasticsearchError, is_retryable)


class NotFound(ElasticsearchError):
    """404: the job, datafeed or rollup job does not exist (``resource_not_found_exception``). ``ids``: the ids
    Elasticsearch named as missing ("No known job with id 'a,b'", ExceptionsHelper.missingJobException; "No datafeed
    with id [a] exists"), or None when it named none."""

    def __init__(self, message, ids=None, **kwargs):
        super(NotFound, self).__init__(message, **kwargs)
        self.ids = ids


class AlreadyInState(ElasticsearchError):
    """The object is already where the request would move it: open on a job with a task ("has already been
    opened"), start on a started datafeed ("already been started"), rollup start on a started job (<= 7.x:
    500 "Cannot start task for Rollup Job [..] because state was [STARTED]"). ``state`` is the state Elasticsearch
    named, when it named one."""

    def __init__(self, message, state=None, **kwargs):
        super(AlreadyInState, self).__init__(message, **kwargs)
        self.state = state


class ServerWaitTimedOut(ElasticsearchError):
    """Elasticsearch's own wait (the request's ``timeout``) ran out; the change goes on in the background.

    Close / stop datafeed: 500 "Timed out when waiting for persistent tasks after <t>"
    (PersistentTasksService.waitForPersistentTasksCondition); open: 408 "Opening job [..] timed out after [..]"
    (TransportOpenJobAction); rollup stop ``wait_for_completion``: ``elasticsearch_timeout_exception`` (500, 429 from
    9.0, elastic/elasticsearch#116026), whose text names the job's state then (``state``)."""

    def __init__(self, message, state=None, **kwargs):
        super(ServerWaitTimedOut, self).__init__(message, **kwargs)
        self.state = state


class UpgradeModeOn(ElasticsearchError):
    """429: ML upgrade mode refuses the action ("Cannot perform <action> action while upgrade mode is enabled",
    MlUpgradeModeActionFilter; open: "Cannot open jobs when upgrade mode is enabled")."""


class Busy(ElasticsearchError):
    """429: an earlier set_upgrade_mode is still being processed ("Previous request is still being processed")."""


class Conflict(ElasticsearchError):
    """409: the object's state forbids the request (failed job closed without force, delete of an open job,
    datafeed started while its job is closed, ...). ``state`` is the state Elasticsearch named, when it named one."""

    def __init__(self, message, state=None, **kwargs):
        super(Conflict, self).__init__(message, **kwargs)
        self.state = state


class AlreadyExists(ElasticsearchError):
    """400: a create-only request found the object there (``resource_already_exists_exception``: PUT of an ML filter,
    TransportPutFilterAction; PUT of a calendar answers ``status_exception`` "Cannot create calendar with id [x] as it
    already exists", TransportPutCalendarAction)."""


class RollupIndexHasJobMetadata(Conflict):
    """409: a rollup job PUT into a rollup index that still records a job of that id in ``_meta._rollup`` ("Cannot
    create rollup job [<id>] because job was previously created (existing metadata).", TransportPutRollupJobAction,
    6.8 to 9.x). A ``Conflict``, so code that catches that still catches it."""


class Unauthenticated(ElasticsearchError):
    """401: Elasticsearch did not accept the credentials (``security_exception`` "unable to authenticate user",
    "missing authentication credentials")."""


class Forbidden(ElasticsearchError):
    """403: the credentials are valid but lack the privilege (``security_exception`` "action [..] is unauthorized
    for user [..]")."""


class NoHandler(ElasticsearchError):
    """The path has no REST handler on this cluster (RestController: 400 "no handler found for uri [..] and method
    [..]"; 405 "Incorrect HTTP method for uri [..]" when it has one for other methods): an API this version, or this
    configuration (security disabled), does not serve."""


class SecurityNotEnabled(ElasticsearchError):
    """500: a security API called on a cluster that does not enforce security (6.8/7.x basic license: "Security must
    be explicitly enabled when using a [basic] license", SecurityBaseRestHandler; 7.16+: "Security is not enabled but a
    security rest handler is registered")."""


class ServerError(ElasticsearchError):
    """Any other 5xx, for example a job that failed while closing (500 "Exception closing autodetect process",
    AutodetectProcessManager.closeJob) or opening (500 "Unexpected job state [failed] ... while waiting for job to be
    opened", TransportOpenJobAction.JobPredicate)."""


# Reason texts, read only where status and type say too little.
_ALREADY_RE = re.compile(r'already been (?:opened|started)|because state was \[(STARTED|INDEXING)\]')
_STATE_WAS_RE = re.compile(r'[Ss]tate was \[([A-Za-z_]+)\]|indexer state is \[([A-Za-z_]+)\]|because the job is (\w+)'
                           r'|because it (failed)')
_MISSING_RE = re.compile(r"No known job with id '([^']*)'|No datafeed with id \[([^\]]*)\] exists")
_SERVER_WAIT_TEXT = 'Timed out when waiting for persistent tasks'
_UPGRADE_MODE_TEXT = 'upgrade mode'
_BUSY_TEXT = 'Previous request is still being processed'
_TIMEOUT_TYPES = ('elasticsearch_timeout_exception', 'receive_timeout_transport_exception')
_EXISTS_TYPE = 'resource_already_exists_exception'
_CALENDAR_EXISTS_RE = re.compile(r'Cannot create calendar with id \[[^\]]*\] as it already exists')
_EXISTING_METADATA_TEXT = 'existing metadata'
_NO_HANDLER_TEXT = 'no handler found for uri'
_SECURITY_NOT_ENABLED_TEXTS = ('Security must be explicitly enabled',
                               'Security is not enabled but a security rest handler')

_ALL = (NotFound, AlreadyInState, ServerWaitTimedOut, UpgradeModeOn, Busy, Conflict, RollupIndexHasJobMetadata,
        AlreadyExists, Unauthenticated, Forbidden, NoHandler, SecurityNotEnabled, ServerError)


def _state_named(text):
    match = _STATE_WAS_RE.search(text)
    if not match:
        return None
    return next(group for group in match.groups() if group).lower()


def _ids_named(text):
    match = _MISSING_RE.search(text)
    if not match:
        return None
    return [token for token in (match.group(1) or match.group(2) or '').split(',') if token]


def error_class(status, error_type, text):
    """The class for one failed answer (``text``: reason and message). Pure, so it is tested on its own."""
    if status is None:
        return None                       # connection/TLS failure: no answer to classify
    if status == 405 or (status in (400, 404) and _NO_HANDLER_TEXT in text):
        return NoHandler
    if status == 401:
        return Unauthenticated
    if status == 403:
        return Forbidden
    if status == 404:
        return NotFound
    if status == 408 or error_type in _TIMEOUT_TYPES or _SERVER_WAIT_TEXT in text:
        return ServerWaitTimedOut
    if _ALREADY_RE.search(text) and status in (409, 500):
        return AlreadyInState
    if status == 429 and _BUSY_TEXT in text:
        return Busy
    if status == 429 and _UPGRADE_MODE_TEXT in text:
        return UpgradeModeOn
    if status == 400 and (error_type == _EXISTS_TYPE or _CALENDAR_EXISTS_RE.search(text)):
        return AlreadyExists
    if status == 409 and _EXISTING_METADATA_TEXT in text:
        return RollupIndexHasJobMetadata
    if status == 500 and any(marker in text for marker in _SECURITY_NOT_ENABLED_TEXTS):
        return SecurityNotEnabled
    if status == 409 or (status == 500 and 'indexer state is [' in text):
        # Rollup delete of a running job: 500 with task_failures "indexer state is [STARTED]"
        # (TransportDeleteRollupJobAction): a conflict in all but status.
        return Conflict
    if status >= 500:
        return ServerError
    return None


def classify(exc):
    """Return ``exc`` as the typed exception its status, type (and, where needed, text) say; unchanged if none fits."""
    if isinstance(exc, _ALL + (ElasticsearchConnectionError,)):  # already classified, or no answer at all
        return exc
    text = '%s %s' % (exc.reason or '', exc.message or '')
    cls = error_class(exc.status, exc.error_type, text)
    if cls is None:
        return exc
    kwargs = dict(status=exc.status, error_type=exc.error_type, reason=exc.reason)
    if cls in (AlreadyInState, Conflict, ServerWaitTimedOut):
        kwargs['state'] = _state_named(text)
    if cls is NotFound:
        kwargs['ids'] = _ids_named(exc.reason or exc.message or '')
    return cls(exc.message, **kwargs)


def worth_retrying(exc):
    """The client's retry rule, minus answers that cannot change within a retry's back-off: ML upgrade mode (it
    lasts until an operator turns it off) and a server-side wait that ran out."""
    if not is_retryable(exc):
        return False
    return error_class(exc.status, exc.error_type, '%s %s' % (exc.reason or '', exc.message or '')) not in (
        UpgradeModeOn, ServerWaitTimedOut)


class ClassifyingClient(object):
    """Wraps an ElasticsearchClient: every failed request raises its classified exception.

    The API classes send their requests through this, so classification happens once, there. Only they call
    ``request`` (tests/unit/meta/test_layering.py holds every other module_utils file to that).
    """

    def __init__(self, client):
        self._client = client

    @property
    def version(self):
        """The client's version, read from GET / (or ML info) on first use; a refusal raises classified too."""
        try:
            return self._client.version
        except ElasticsearchError as exc:
            raise classify(exc)

    def request(self, *args, **kwargs):
        kwargs.setdefault('retryable', worth_retrying)
        try:
            return self._client.request(*args, **kwargs)
        except ElasticsearchError as exc:
            raise classify(exc)

    def __getattr__(self, name):
        return getattr(self._client, name)
