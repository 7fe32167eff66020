# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
requirements:
  - Python 3.8 or later on the managed node (the host the module runs on, usually C(localhost)); nothing else to
    install there, the modules talk to Elasticsearch with Python's standard library. On an older Python the module
    fails with one line naming the interpreter.
options:
  hosts:
    description:
      - Elasticsearch URLs, tried in order; when one cannot be reached or answers 502/503/504 the next one is used.
      - A single string with comma-separated URLs is accepted too.
      - If not set, the environment variable E(ELASTICSEARCH_URL) is used.
      - Credentials written into a URL (V(https://user:pass@host:9200)) are used for basic auth and never shown.
    type: list
    elements: str
    default: ['http://localhost:9200']
    aliases: [url]
  ca_cert:
    description:
      - CA certificate file (PEM) used to verify the server certificate.
      - If not set, the environment variable E(ELASTICSEARCH_CA_CERT) is used.
    type: path
    aliases: [ca_path]
  client_cert:
    description:
      - Client certificate file (PEM) for mutual TLS.
    type: path
  client_key:
    description:
      - Private key file (PEM) of O(client_cert). Needs O(client_cert).
    type: path
  validate_certs:
    description:
      - Verify the server certificate. Only turn this off for a throwaway test cluster.
    type: bool
    default: true
  request_timeout:
    description:
      - Seconds to wait for one HTTP response, more than zero and at most 604800 (7 days).
      - When a request asks Elasticsearch to wait server-side (a close or stop with a C(timeout)), the read
        timeout is raised above that server-side timeout automatically, so the client never gives up first.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried after HTTP 429, 502, 503, 504 or a connection error, with
        exponential backoff and jitter (at most 10 seconds between two tries).
      - V(0) disables retries.
    type: int
    default: 3
notes:
  - The modules use Python's standard library on the managed node; no Elasticsearch client package is needed.
'''
