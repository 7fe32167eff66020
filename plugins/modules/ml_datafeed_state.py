#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: ml_datafeed_state
short_description: Start, stop or delete Elasticsearch machine learning datafeeds idempotently
version_added: 1.0.0
description:
  - Moves one or more anomaly-detection datafeeds to V(stopped), V(started) or V(absent), and reports
    C(changed) only when a datafeed really moved.
  - Reads the datafeed states first. All datafeeds to stop go in one stop request. Each datafeed to start gets
    its own start request, and datafeeds that are already V(started) or V(starting) never get one (Elasticsearch
    answers 409 to a second start).
  - Elasticsearch refuses a request line over 4 KB. A O(datafeed_id) list longer than about 3000 characters is
    therefore matched in the module against one read of every datafeed, as Elasticsearch would match it (a
    missing exact id fails, a pattern may match nothing unless O(allow_no_match=false)), and the stop is split
    into request lines of that size, sent together.
  - A datafeed can only start while its job is open. If the job is closed the module fails and names the job;
    it never opens jobs behind your back. Open it with M(esops.jobs.ml_job_state) first.
  - While ML upgrade mode is enabled, Elasticsearch refuses to start, stop or delete datafeeds. The module then
    fails at once, pointing at M(esops.jobs.ml_upgrade_mode), instead of retrying.
  - Works with Elasticsearch 6.8 (C(_xpack/ml) paths, C(allow_no_datafeeds)) and 7.x to 9.x.
author:
  - esops.jobs contributors (@esops)
options:
  datafeed_id:
    description:
      - Datafeeds to manage. Each item is a datafeed id, a pattern with V(*), or a comma-separated list of those.
        V(_all) selects every datafeed.
      - Ids follow Elasticsearch's rules (lowercase letters, digits, V(-) and V(_), starting and ending with a
        letter or digit, at most 64 characters).
      - An exact id that does not exist is an error for V(stopped) and V(started) and simply already gone
        for V(absent).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(stopped) stops the datafeeds (a datafeed that is stopping is waited for).
      - V(started) starts the datafeeds. Their jobs must be opened (or opening). A datafeed that is still
        stopping is waited for, then started.
      - V(absent) deletes the datafeeds. Only stopped datafeeds are deleted unless O(force=true), which deletes
        started ones too.
    type: str
    choices: [stopped, started, absent]
    default: stopped
  force:
    description:
      - With O(state=stopped), stop at once without waiting for the current search to finish.
      - With O(state=absent), delete datafeeds even when they are started.
    type: bool
    default: false
  start:
    description:
      - Only with O(state=started). Where the datafeed starts reading, as Elasticsearch accepts it for the
        C(start) parameter of the start-datafeed API (epoch milliseconds, an ISO 8601 date, or date math such as
        V(now-1d)). Sent only to datafeeds that are started by this task.
      - When omitted, Elasticsearch continues after the last processed record (or starts at the beginning of
        the data for a new job).
    type: str
  end:
    description:
      - Only with O(state=started). Where the datafeed stops reading (the C(end) parameter of the start-datafeed
        API, same formats as O(start)). Without it the datafeed keeps running in real time.
      - A datafeed with an end time stops by itself, and closes its job, once it got there. A later run with
        O(state=started) then starts it again, so use O(end) for one-off look-backs.
    type: str
  allow_no_match:
    description:
      - When V(false), a pattern or V(_all) that matches no datafeed is an error.
      - Sent as C(allow_no_datafeeds) to Elasticsearch before 7.10 and as C(allow_no_match) from 7.10.
    type: bool
    default: true
  timeout:
    description:
      - How long the whole task may take, including Elasticsearch's own waits and the module's polling, as an
        Elasticsearch time value (V(30s), V(5m)) or a number of seconds, at most V(7d).
      - Every start and stop request carries the time left as its C(timeout) parameter, so Elasticsearch's
        own defaults (20 seconds for start; 5 minutes or 20 seconds for stop, depending on where you read) never
        apply. The default matches the stop default in Elasticsearch's code.
    type: str
    default: 5m
notes:
  - Stop requests always make Elasticsearch wait until the datafeeds stopped (up to O(timeout)), even with
    O(wait=false); O(wait=false) only skips polling after a start.
  - The C(diff) shows each datafeed's state before and after (predicted in check mode).
seealso:
  - module: esops.jobs.ml_job_state
  - module: esops.jobs.ml_job_info
  - module: esops.jobs.ml_upgrade_mode
  - name: Start datafeeds API
    description: Elasticsearch reference for the start-datafeed API.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-start-datafeed.html
  - name: Stop datafeeds API
    description: Elasticsearch reference for the stop-datafeed API.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-stop-datafeed.html
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.wait
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
  - esops.jobs.attributes.diff_mode
'''

EXAMPLES = r'''
- name: Stop every datafeed before a maintenance window
  esops.jobs.ml_datafeed_state:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    ca_cert: /etc/pki/es-ca.pem
    datafeed_id: _all
    state: stopped

- name: Stop the web datafeeds, without waiting for the running search
  esops.jobs.ml_datafeed_state:
    datafeed_id: datafeed-web-*
    state: stopped
    force: true

- name: Start two datafeeds again (their jobs must be open)
  esops.jobs.ml_datafeed_state:
    datafeed_id:
      - datafeed-web-latency
      - datafeed-web-errors
    state: started

- name: Re-run a look-back over last week, then stop
  esops.jobs.ml_datafeed_state:
    datafeed_id: datafeed-web-latency
    state: started
    start: now-7d
    end: now

- name: Delete a datafeed even if it is running
  esops.jobs.ml_datafeed_state:
    datafeed_id: datafeed-old
    state: absent
    force: true

- name: Connection options once for every esops.jobs task
  module_defaults:
    group/esops.jobs.elasticsearch:
      hosts: https://es.example.com:9200
      api_key: "{{ vault_es_api_key }}"
  block:
    - name: Open the job, then start its datafeed
      esops.jobs.ml_job_state:
        job_id: web-latency
        state: opened
    - name: Start its datafeed
      esops.jobs.ml_datafeed_state:
        datafeed_id: datafeed-web-latency
        state: started
'''

RETURN = r'''
changed:
  description: Whether at least one datafeed was (or, in check mode, would be) moved.
  returned: always
  type: bool
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: moved 2 of 3 datafeeds to stopped
datafeeds:
  description: Every datafeed the selection matched, in Elasticsearch's order.
  returned: always
  type: list
  elements: dict
  contains:
    datafeed_id:
      description: The datafeed id.
      type: str
      sample: datafeed-web-latency
    job_id:
      description: The anomaly-detection job the datafeed feeds.
      type: str
      sample: web-latency
    state_before:
      description: The state found (V(stopped), V(starting), V(started), V(stopping)).
      type: str
      sample: started
    state_after:
      description: The state at the end (predicted in check mode); V(absent) once deleted.
      type: str
      sample: stopped
    changed:
      description: Whether this datafeed was (or would be) moved.
      type: bool
    actions:
      description: What the module did to this datafeed, in order (V(stop), V(start), V(delete), or V(wait) for
        a datafeed that was already starting).
      type: list
      elements: str
      sample: [stop]
diff:
  description: Datafeed states before and after, keyed by datafeed id. Absent datafeeds are left out.
  returned: when diff mode is on
  type: dict
  sample: {before: {datafeed-web-latency: started}, after: {datafeed-web-latency: stopped}}
failed_datafeeds:
  description: On failure, the datafeeds that stopped the task (a closed job, a started datafeed without force, ...).
  returned: on failure
  type: list
  elements: str
timed_out_datafeeds:
  description: On a timeout, the datafeeds that had not reached the requested state.
  returned: on timeout
  type: list
  elements: str
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

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Converger
from ansible_collections.esops.jobs.plugins.module_utils._ml import validate_ml_ids
from ansible_collections.esops.jobs.plugins.module_utils._ml_datafeed import MlDatafeedAdapter
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec, wait_argspec


def argument_spec():
    options = dict(
        datafeed_id=dict(type='list', elements='str', required=True),
        state=dict(type='str', default='stopped', choices=['stopped', 'started', 'absent']),
        force=dict(type='bool', default=False),
        start=dict(type='str'),
        end=dict(type='str'),
        allow_no_match=dict(type='bool', default=True),
    )
    options.update(wait_argspec('5m'))
    return generate_argspec(**options)


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        datafeed_ids = validate_ml_ids(params['datafeed_id'], 'datafeed_id')
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    for option in ('start', 'end'):
        if params[option] is not None:
            if params['state'] != 'started':
                module.fail_json(msg='%s is only used with state=started (state is %s)' % (option, params['state']))
            if not params[option].strip():
                module.fail_json(msg='%s must not be empty' % option)
    timeout = module.duration('timeout')
    adapter = MlDatafeedAdapter(module.client, params['state'], datafeed_ids, force=params['force'],
                                start=params['start'], end=params['end'], allow_no_match=params['allow_no_match'])
    Converger(module, adapter).run(wait=params['wait'], timeout=timeout)


if __name__ == '__main__':
    main()
