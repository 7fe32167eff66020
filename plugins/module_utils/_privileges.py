# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask Elasticsearch whether the credential may do what a run needs (module ``esops.jobs.privilege_check``).

One has-privileges request (https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-has-privileges.html)
for the transport actions behind the named operations and the index privileges, so a run learns what it may not do
before its first mutating request. Any user and any API key may ask about itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._errors import ClassifyingClient, NoHandler, SecurityNotEnabled

# Operation -> the cluster action Elasticsearch authorises for it (the action NAME constants in
# x-pack/plugin/core/src/main/java/org/elasticsearch/xpack/core/{ml,rollup}/action/*Action.java, the same 6.8-9.x;
# they are what a 403 names). Asking for the action, not for manage_ml, accepts any role that grants it.
OPERATIONS = {
    'put_job': 'cluster:admin/xpack/ml/job/put',
    'update_job': 'cluster:admin/xpack/ml/job/update',
    'open_job': 'cluster:admin/xpack/ml/job/open',
    'close_job': 'cluster:admin/xpack/ml/job/close',
    'delete_job': 'cluster:admin/xpack/ml/job/delete',
    'put_datafeed': 'cluster:admin/xpack/ml/datafeeds/put',
    'update_datafeed': 'cluster:admin/xpack/ml/datafeeds/update',
    'start_datafeed': 'cluster:admin/xpack/ml/datafeed/start',
    'stop_datafeed': 'cluster:admin/xpack/ml/datafeed/stop',
    'delete_datafeed': 'cluster:admin/xpack/ml/datafeeds/delete',
    'set_upgrade_mode': 'cluster:admin/xpack/ml/upgrade_mode',
    'put_calendar': 'cluster:admin/xpack/ml/calendars/put',
    'update_calendar_jobs': 'cluster:admin/xpack/ml/calendars/jobs/update',
    'post_calendar_events': 'cluster:admin/xpack/ml/calendars/events/post',
    'delete_calendar_event': 'cluster:admin/xpack/ml/calendars/event/delete',
    'delete_calendar': 'cluster:admin/xpack/ml/calendars/delete',
    'put_filter': 'cluster:admin/xpack/ml/filters/put',
    'update_filter': 'cluster:admin/xpack/ml/filters/update',
    'delete_filter': 'cluster:admin/xpack/ml/filters/delete',
    'put_rollup': 'cluster:admin/xpack/rollup/put',
    'start_rollup': 'cluster:admin/xpack/rollup/start',
    'stop_rollup': 'cluster:admin/xpack/rollup/stop',
    'delete_rollup': 'cluster:admin/xpack/rollup/delete',
    # reads (an export, esops.jobs.desired_state_info): GetJobsAction, GetJobsStatsAction, GetDatafeedsAction,
    # GetDatafeedsStatsAction, GetRollupJobsAction
    'get_jobs': 'cluster:monitor/xpack/ml/job/get',
    'get_job_stats': 'cluster:monitor/xpack/ml/job/stats/get',
    'get_datafeeds': 'cluster:monitor/xpack/ml/datafeeds/get',
    'get_datafeed_stats': 'cluster:monitor/xpack/ml/datafeeds/stats/get',
    'get_rollup_jobs': 'cluster:monitor/xpack/rollup/get',
    # GetCalendarsAction, GetCalendarEventsAction; GetFiltersAction is an admin action (manage_ml, not monitor_ml)
    'get_calendars': 'cluster:monitor/xpack/ml/calendars/get',
    'get_calendar_events': 'cluster:monitor/xpack/ml/calendars/events/get',
    'get_filters': 'cluster:admin/xpack/ml/filters/get',
}
# The built-in privilege an administrator would grant for each action family (docs security-privileges.html).
GRANTED_BY = (('cluster:admin/xpack/ml/', 'manage_ml'), ('cluster:admin/xpack/rollup/', 'manage_rollup'),
              ('cluster:monitor/xpack/ml/', 'monitor_ml'), ('cluster:monitor/xpack/rollup/', 'monitor_rollup'))
# 7.0+ serve /_security; 6.x only /_xpack/security (docs 6.2-6.8 "GET _xpack/security/user/_has_privileges"; 7.x keeps
# it as a deprecated replaced route, 8.x/9.x drop it). Tried in this order, so no version read is needed.
PATHS = ('/_security/user/_has_privileges', '/_xpack/security/user/_has_privileges')


def _granted_by(action):
    for prefix, privilege in GRANTED_BY:
        if action.startswith(prefix):
            return privilege
    return 'all'


class SecurityApi(object):
    """The one security request the collection sends. A failed one raises its typed exception from ``_errors``.

    Security not enforced (``_errors`` classifies it): 6.8/7.x with security not enabled (the basic-license default)
    answer 500 "Security must be explicitly enabled ..." (SecurityBaseRestHandler / SecurityActionFilter),
    7.16+ "Security is not enabled but a security rest handler is registered" (SecurityNotEnabled); with
    ``xpack.security.enabled: false`` no security handler is registered at all (Security.java getRestHandlers
    "if (enabled == false) return emptyList()", 7.x and 8.x), so "no handler found for uri" (NoHandler).
    """

    def __init__(self, client):
        self.client = ClassifyingClient(client)

    def has_privileges(self, body):
        """``POST _security/user/_has_privileges`` (7.0+), else ``_xpack/security/...`` (6.x): tried in that order,
        so no version read is needed; NoHandler when neither route exists (security disabled)."""
        last = None
        for path in PATHS:
            try:
                return self.client.request('POST', path, body=body).body
            except NoHandler as exc:
                last = exc   # the other path (6.x) or no security handler at all
        raise last


def build_request(operations, delete_indices):
    """The has-privileges body, and for each requested entry what it is for (to name it when it is missing)."""
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown:
        raise ValueError('unknown operation(s) %s; known: %s' % (', '.join(unknown), ', '.join(sorted(OPERATIONS))))
    cluster = []
    for op in operations:
        if OPERATIONS[op] not in cluster:
            cluster.append(OPERATIONS[op])
    body = {'cluster': cluster}
    indices = [name for name in delete_indices if name]
    if indices:
        body['index'] = [{'names': indices, 'privileges': ['delete_index']}]
    if not cluster and not indices:
        raise ValueError('nothing to check: give at least one operation or index')
    return body


def missing_from(body, answer):
    """What the answer says is not granted, as one dict per missing entry, in the order they were asked."""
    missing = []
    granted = answer.get('cluster') or {}
    for action in body.get('cluster', []):
        if granted.get(action) is not True:
            ops = sorted(op for op, name in OPERATIONS.items() if name == action)
            missing.append(dict(kind='cluster', privilege=action, operations=ops, granted_by=_granted_by(action)))
    index_answer = answer.get('index') or {}
    for entry in body.get('index', []):
        for name in entry['names']:
            for privilege in entry['privileges']:
                if (index_answer.get(name) or {}).get(privilege) is not True:
                    missing.append(dict(kind='index', privilege=privilege, index=name, granted_by=privilege))
    return missing


def describe(missing):
    """One line: each missing privilege and the built-in privilege that would grant it."""
    parts = []
    for item in missing:
        if item['kind'] == 'cluster':
            parts.append('cluster action %s (for %s; granted by %s)'
                         % (item['privilege'], ', '.join(item['operations']), item['granted_by']))
        else:
            parts.append('index privilege %s on [%s]' % (item['privilege'], item['index']))
    return '; '.join(parts)


def check_privileges(client, operations, delete_indices=()):
    """Return ``{security_enabled, username, missing, missing_text}``; raises ElasticsearchError or ValueError.

    Read-only (has-privileges changes nothing), so it runs the same in check mode.
    """
    body = build_request(list(operations), list(delete_indices))
    try:
        answer = SecurityApi(client).has_privileges(body)
    except (SecurityNotEnabled, NoHandler):
        return dict(security_enabled=False, username=None, missing=[], missing_text='')
    missing = missing_from(body, answer if isinstance(answer, dict) else {})
    return dict(security_enabled=True, username=answer.get('username'), missing=missing,
                missing_text=describe(missing))
