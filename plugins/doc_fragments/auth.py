# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  username:
    description:
      - User for HTTP basic authentication. Needs O(password).
      - If not set, the environment variable E(ELASTICSEARCH_USERNAME) is used.
    type: str
  password:
    description:
      - Password for HTTP basic authentication.
      - If not set, the environment variable E(ELASTICSEARCH_PASSWORD) is used.
    type: str
  api_key:
    description:
      - API key, either as V(id:api_key) or already base64-encoded (the C(encoded) value that Elasticsearch returns).
      - "Sent as C(Authorization: ApiKey ...)."
      - If not set, the environment variable E(ELASTICSEARCH_API_KEY) is used.
    type: str
  bearer_token:
    description:
      - "OAuth2/JWT bearer token, sent as C(Authorization: Bearer ...)."
      - If not set, the environment variable E(ELASTICSEARCH_BEARER_TOKEN) is used.
    type: str
notes:
  - Only one of O(password), O(api_key) and O(bearer_token) may be used.
  - Secrets are never logged or returned, including in failures.
'''
