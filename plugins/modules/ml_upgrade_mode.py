#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: ml_upgrade_mode
short_description: Enable or disable Elasticsearch machine learning upgrade mode idempotently
version_added: 1.0.0
description:
  - Turns ML upgrade mode on before a cluster upgrade or snapshot restore, and off again afterwards.
    While it is on, Elasticsearch unassigns every anomaly-detection job and datafeed task and refuses
    mutating ML requests (open, close, start, stop, delete, ...) with HTTP 429.
  - Reads C(upgrade_mode) from the ML info API first and sends the set-upgrade-mode request only when the value
    differs, so C(changed) means the value really changed.
  - When Elasticsearch is still processing an earlier change (HTTP 429 C(Previous request is still being
    processed)), the module retries until O(timeout) runs out, then fails with a clear message.
  - Works on every supported Elasticsearch (6.8 and later; the API exists from 6.7).
author:
  - esops.jobs contributors (@esops)
options:
  enabled:
    description:
      - V(true) enables upgrade mode, V(false) disables it.
    type: bool
    required: true
  timeout:
    description:
      - How long Elasticsearch may take to apply the change (the C(timeout) parameter of the API), and how long
        the module keeps retrying while an earlier change is still being processed. An Elasticsearch time value
        (V(30s), V(5m)) or a number of seconds, at most V(7d).
    type: str
    default: 30s
notes:
  - Elasticsearch itself waits until the jobs and datafeeds are unassigned (or reassigned) before answering,
    so there is no O(ignore:wait) option.
  - While upgrade mode is on, job stats still say C(opened) and datafeed stats C(started), with no node and
    an C(assignment_explanation); M(esops.jobs.ml_job_info) returns that explanation and the top-level
    C(upgrade_mode).
  - The C(diff) shows C(upgrade_mode) before and after (predicted in check mode).
seealso:
  - module: esops.jobs.ml_job_info
  - module: esops.jobs.ml_datafeed_state
  - name: Set upgrade mode API
    description: Elasticsearch reference for the set-upgrade-mode API.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-set-upgrade-mode.html
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
  - esops.jobs.attributes.diff_mode
'''

EXAMPLES = r'''
- name: Enter ML upgrade mode before upgrading the cluster
  esops.jobs.ml_upgrade_mode:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    enabled: true
    timeout: 10m

- name: Leave ML upgrade mode afterwards
  esops.jobs.ml_upgrade_mode:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    enabled: false

- name: Record the value before a window, restore it after
  module_defaults:
    group/esops.jobs.elasticsearch:
      hosts: https://es.example.com:9200
      api_key: "{{ vault_es_api_key }}"
  block:
    - name: Read the current value
      esops.jobs.ml_job_info:
      register: ml_before
    - name: Enter upgrade mode
      esops.jobs.ml_upgrade_mode:
        enabled: true
    # ... the window ...
    - name: Back to what it was
      esops.jobs.ml_upgrade_mode:
        enabled: "{{ ml_before.upgrade_mode }}"
'''

RETURN = r'''
changed:
  description: Whether upgrade mode was (or, in check mode, would be) changed.
  returned: always
  type: bool
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: ML upgrade mode enabled
upgrade_mode_before:
  description: The value found before the task.
  returned: success, and on failures after it was read
  type: bool
  sample: false
upgrade_mode_after:
  description: The value at the end (predicted in check mode).
  returned: success
  type: bool
  sample: true
diff:
  description: C(upgrade_mode) before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {upgrade_mode: false}, after: {upgrade_mode: true}}
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

from ansible_collections.esops.jobs.plugins.module_utils._ml_upgrade import run
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec


def argument_spec():
    return generate_argspec(
        enabled=dict(type='bool', required=True),
        timeout=dict(type='str', default='30s'),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    run(module, module.params['enabled'], module.duration('timeout'))


if __name__ == '__main__':
    main()
