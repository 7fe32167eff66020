#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: ml_calendar
short_description: Manage an Elasticsearch machine learning calendar, its jobs and its scheduled events
version_added: 1.0.0
description:
  - Creates or deletes an anomaly-detection calendar, makes the jobs and groups it applies to match O(job_ids), and
    adds the scheduled events declared in O(events) that it does not hold yet (with O(events_mode=exact), also removes
    those it holds but were not declared).
  - During a scheduled event the jobs of the calendar keep running, but produce no results and do not update their
    models. Elastic recommends scheduled events for planned outages of the monitored systems; add them before the jobs
    analyse the data of that period (events added later change no result already written).
  - Reads the calendar and its events first and sends only the requests that a difference needs, so C(changed) means
    something really moved; check mode sends no request that changes anything.
  - Events have server-assigned ids and cannot be updated, so a declared event is the event with the same
    description, start and end. Changing a declared event's end (ending an event early) with O(events_mode=exact)
    removes the old event and adds the new one.
  - Works on every supported Elasticsearch (6.8, under C(_xpack/ml), to 9.x).
author:
  - esops.jobs contributors (@esops)
options:
  calendar_id:
    description:
      - The calendar. Lowercase letters, digits, C(-) and C(_), starting and ending with a letter or digit, at most 64
        characters; not C(_all).
    type: str
    required: true
  state:
    description:
      - V(present) creates the calendar when it is missing and makes it match what is given.
      - V(absent) deletes the calendar and, with it, all its events.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - The calendar's description, set when it is created.
      - Elasticsearch cannot change the description of an existing calendar, so a different description of an
        existing calendar fails, changing nothing. Left out, the description is not compared.
    type: str
  job_ids:
    description:
      - Job ids and group names the calendar applies to; memberships are added and removed to match this list exactly.
      - Elasticsearch stores them as given (a group applies to every job in it, now and later; ids need not exist yet),
        so patterns are refused. V(_all) makes the calendar apply to every job (Elasticsearch 7.7 and later).
      - Left out, the memberships are not changed (V([]) removes them all).
    type: list
    elements: str
  events:
    description:
      - Scheduled events the calendar must hold. One that is missing is added; left out, events are not compared.
    type: list
    elements: dict
    suboptions:
      description:
        description:
          - What the event is; part of its identity.
        type: str
        required: true
      start_time:
        description:
          - The start, as an ISO 8601 date and time (V(2026-01-31T22:00:00Z); UTC unless it names an offset) or epoch
            milliseconds.
        type: raw
        required: true
      end_time:
        description:
          - The end, in the same forms; after O(events[].start_time). Give this or O(events[].duration).
        type: raw
      duration:
        description:
          - The end as a duration after the start (Elasticsearch time units, V(4h), V(90m); at most V(7d)).
        type: str
  events_mode:
    description:
      - V(add) adds the declared events that are missing and leaves every other event of the calendar alone.
      - V(exact) also removes the events the calendar holds that are not declared (an empty O(events) removes all).
    type: str
    choices: [add, exact]
    default: add
notes:
  - The jobs' own settings are not touched. Elasticsearch sends calendar changes to open jobs itself.
  - From Elasticsearch 7.8, ML upgrade mode refuses every calendar change; when something has to change, the module
    reads upgrade mode first and fails before the first change (in check mode too).
  - The event fields C(skip_result), C(skip_model_update) and C(force_time_shift) (8.16 and later) are left at
    Elasticsearch's defaults (both skips on) and not compared.
  - The C(diff) shows the calendar (description, job ids, events) before and after (predicted in check mode).
seealso:
  - module: esops.jobs.ml_job_state
  - name: Calendars and scheduled events
    description: Elastic's guide to calendars and scheduled events for anomaly detection.
    link: https://www.elastic.co/guide/en/machine-learning/current/ml-ad-calendars.html
  - name: Calendar APIs
    description: Elasticsearch reference for the calendar and scheduled event APIs.
    link: https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-ad-apis.html
extends_documentation_fragment:
  - esops.jobs.connection
  - esops.jobs.auth
  - esops.jobs.attributes
  - esops.jobs.attributes.check_mode_full
  - esops.jobs.attributes.diff_mode
'''

EXAMPLES = r'''
- name: A calendar of planned outages for the web jobs
  esops.jobs.ml_calendar:
    hosts: https://es.example.com:9200
    api_key: "{{ vault_es_api_key }}"
    calendar_id: planned-outages
    description: Planned outages of the web tier
    job_ids: [web-latency, web-errors-group]
    events:
      - description: Datacenter move
        start_time: "2026-02-07T22:00:00Z"
        duration: 6h

- name: The events of the calendar are exactly these (others are removed)
  esops.jobs.ml_calendar:
    calendar_id: planned-outages
    events_mode: exact
    events:
      - description: Datacenter move
        start_time: "2026-02-07T22:00:00Z"
        end_time: "2026-02-08T01:30:00Z"

- name: Delete the calendar and its events
  esops.jobs.ml_calendar:
    calendar_id: planned-outages
    state: absent
'''

RETURN = r'''
changed:
  description: Whether the calendar was (or, in check mode, would be) changed.
  returned: always
  type: bool
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: "calendar planned-outages: create; add 1 event(s)"
calendar_id:
  description: The calendar.
  returned: success
  type: str
state_before:
  description: V(present) or V(absent) before the task.
  returned: success
  type: str
state_after:
  description: V(present) or V(absent) after the task (predicted in check mode).
  returned: success
  type: str
actions:
  description:
    - What was (or would be) sent, in order - V(create), V(add_jobs), V(remove_jobs), V(add_events), V(remove_events),
      V(delete). On a failure, what was already sent.
  returned: always
  type: list
  elements: str
operations:
  description:
    - The M(esops.jobs.privilege_check) operations those actions need (for a pre-check run in check mode).
  returned: success
  type: list
  elements: str
  sample: [put_calendar, post_calendar_events]
calendar:
  description: The calendar after the task (predicted in check mode); only C(calendar_id) and C(state) when absent.
  returned: success
  type: dict
  contains:
    calendar_id:
      description: The calendar.
      type: str
    state:
      description: V(present) or V(absent).
      type: str
    description:
      description: Its description.
      type: str
    job_ids:
      description: The job ids and group names it applies to, sorted.
      type: list
      elements: str
    events:
      description:
        - Its events, sorted by start; C(start_time)/C(end_time) in epoch milliseconds, C(start)/C(end) in ISO 8601
          UTC, C(event_id) for events that existed before the task.
      type: list
      elements: dict
events_added:
  description: The events added (or to add), in the form of RV(calendar.events).
  returned: success
  type: list
  elements: dict
events_removed:
  description: The events removed (or to remove), with their C(event_id).
  returned: success
  type: list
  elements: dict
diff:
  description: RV(calendar) before and after.
  returned: when diff mode is on
  type: dict
cluster:
  description:
    - The cluster the task ran against, from C(GET /). C(uuid) and C(name) are null without the C(monitor) privilege.
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
'''

from ansible_collections.esops.jobs.plugins.module_utils._ml_calendar import run
from ansible_collections.esops.jobs.plugins.module_utils._module import EsopsModule, generate_argspec


def argument_spec():
    return generate_argspec(
        calendar_id=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        description=dict(type='str'),
        job_ids=dict(type='list', elements='str'),
        events=dict(type='list', elements='dict', options=dict(
            description=dict(type='str', required=True),
            start_time=dict(type='raw', required=True),
            end_time=dict(type='raw'),
            duration=dict(type='str'),
        )),
        events_mode=dict(type='str', choices=['add', 'exact'], default='add'),
    )


def main():
    module = EsopsModule(argument_spec=argument_spec(), supports_check_mode=True)
    run(module)


if __name__ == '__main__':
    main()
