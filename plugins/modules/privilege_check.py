#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: privilege_check
short_description: Check that the Elasticsearch credential may perform the operations a run needs
version_added: 1.0.0
description:
  - Asks Elasticsearch, with one has-privileges request, whether the credential in use (user, API key or token)
    is allowed the cluster actions behind O(operations) and the C(delete_index) privilege on O(delete_indices),
    and lists what is missing. Use it before the first mutating request of a run, so that a credential that may
    read but not act stops the run before anything changed.
  - Checks the exact transport actions (for example C(cluster:admin/xpack/ml/job/close)), so any role that grants
    them passes, not only the built-in C(manage_ml) or C(manage_rollup).
  - When the cluster enforces no security (security not enabled on a 6.8/7.x basic license, or
    C(xpack.security.enabled=false)), there is nothing to check; RV(security_enabled) is V(false) and nothing is
    missing.
  - Changes nothing; it runs the same way in check mode. Any user or API key may ask about itself, so the check
    needs no privilege of its own.
  - Works with Elasticsearch 6.8 (C(_xpack/security) path) and 7.x to 9.x.
author:
  - esops.jobs contributors (@esops)
options:
  operations:
    description:
      - The operations the run will perform. Each maps to one Elasticsearch cluster action.
    type: list
    elements: str
    choices: [put_job, update_job, open_job, close_job, delete_job, put_datafeed, update_datafeed, start_datafeed,
              stop_datafeed, delete_datafeed, set_upgrade_mode, put_calendar, update_calendar_jobs, post_calendar_events,
              delete_calendar_event, delete_calendar, put_filter, update_filter, delete_filter, put_rollup, start_rollup,
              stop_rollup, delete_rollup, get_jobs, get_job_stats, get_datafeeds, get_datafeed_stats, get_rollup_jobs,
              get_calendars, get_calendar_events, get_filters]
    default: []
  delete_indices:
    description:
      - Indices the run will delete (for example a retired rollup job's rollup index); the C(delete_index) index
        privilege is checked on each.
    type: list
    elements: str
    default: []
  fail_on_missing:
    description:
      - When V(true) (the default) the module fails with one line naming every missing privilege. When V(false) it
        returns RV(missing) and RV(missing_text) and lets the caller word the failure.
    type: bool
    default: true
notes:
  - An empty O(operations) and O(delete_indices) together are an error.
seealso:
  - name: Has privileges API
    description: Elasticsearch reference for the has-privileges API.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-has-privileges.html
  - name: Security privileges
    description: The built-in cluster and index privileges.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/security-privileges.html
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.info_module
'''

EXAMPLES = r'''
- name: Stop before anything changes when the credential may not retire ML jobs
  esops.jobs.privilege_check:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    operations: [stop_datafeed, close_job, delete_datafeed, delete_job]

- name: Check a rollup retirement that deletes the rollup index, and word the failure yourself
  esops.jobs.privilege_check:
    hosts: https://es.example.com:9200
    username: rollup_ops
    password: "{{ vault_rollup_ops_password }}"
    operations: [stop_rollup, delete_rollup]
    delete_indices: [rollup-web]
    fail_on_missing: false
  register: privileges

- name: Refuse with the run's own words
  ansible.builtin.fail:
    msg: "rollup retirement refused, nothing was changed: missing {{ privileges.missing_text }}"
  when: privileges.missing | length > 0
'''

RETURN = r'''
changed:
  description: Always V(false).
  returned: always
  type: bool
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: the credential holds every privilege checked
security_enabled:
  description: Whether the cluster enforces security; V(false) means nothing was to check.
  returned: success
  type: bool
  sample: true
username:
  description: The user Elasticsearch checked (an API key's owner); null when security is not enabled.
  returned: success
  type: str
  sample: ml_ops
missing:
  description: Each privilege not granted, in the order asked.
  returned: success, and on the failure for missing privileges
  type: list
  elements: dict
  contains:
    kind:
      description: V(cluster) or V(index).
      type: str
    privilege:
      description: The cluster action or the index privilege.
      type: str
    operations:
      description: The operations that need the cluster action.
      type: list
      elements: str
      returned: when RV(missing[].kind) is V(cluster)
    index:
      description: The index the privilege was checked on.
      type: str
      returned: when RV(missing[].kind) is V(index)
    granted_by:
      description: The built-in privilege that grants it.
      type: str
  sample: [{kind: cluster, privilege: "cluster:admin/xpack/ml/job/close", operations: [close_job], granted_by: manage_ml}]
missing_text:
  description: RV(missing) as one line; empty when nothing is missing.
  returned: success, and on the failure for missing privileges
  type: str
  sample: "cluster action cluster:admin/xpack/ml/job/close (for close_job; granted by manage_ml)"
cluster:
  description:
    - The cluster the task ran against, from C(GET /).
    - C(uuid) and C(name) are null when the user may not call C(GET /) (no cluster privilege C(monitor));
      C(version) then comes from the ML info API when the user may read it, else it is null too.
  returned: always, and on failures once the cluster was read
  type: dict
  contains:
    uuid:
      description: C(cluster_uuid); null when unknown.
      type: str
    name:
      description: C(cluster_name); null when unknown.
      type: str
    version:
      description: The Elasticsearch version; null when unknown.
      type: str
  sample: {uuid: dGhpc2lzYXV1aWQxMjM0, name: prod-eu, version: 8.19.3}
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec
from ansible_collections.esops.jobs.plugins.module_utils._privileges import OPERATIONS, check_privileges


def argument_spec():
    return generate_argspec(
        operations=dict(type='list', elements='str', default=[], choices=sorted(OPERATIONS)),
        delete_indices=dict(type='list', elements='str', default=[]),
        fail_on_missing=dict(type='bool', default=True),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = check_privileges(module.client, module.params['operations'], module.params['delete_indices'])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    except ElasticsearchError as exc:
        module.fail_from_error(exc)
    if result['missing']:
        msg = 'the credential lacks %s' % result['missing_text']
        if module.params['fail_on_missing']:
            module.fail_json(msg=msg + '; nothing was changed', **result)
    elif result['security_enabled']:
        msg = 'the credential holds every privilege checked'
    else:
        msg = 'the cluster enforces no security; nothing to check'
    module.exit_json(changed=False, msg=msg, **result)


if __name__ == '__main__':
    main()
