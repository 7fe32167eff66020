# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Index APIs the collection needs around rollup jobs: read an index (its mappings hold the rollup metadata) and
delete a retired job's rollup index. The same paths on 6.8 to 9.x
(https://www.elastic.co/guide/en/elasticsearch/reference/7.17/indices-get-index.html, indices-delete-index.html)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._client import quote_path
from ansible_collections.esops.jobs.plugins.module_utils._errors import ClassifyingClient


class IndicesApi(object):
    """Thin wrappers around the index endpoints. Every method is one request; a failed one raises its typed
    exception from ``_errors`` (NotFound, Forbidden, Unauthenticated, ...)."""

    def __init__(self, client):
        self.client = ClassifyingClient(client)

    def get(self, index):
        """``GET /<index>``: ``{concrete index: {aliases, mappings, settings}}`` (an alias answers with the indices
        behind it). Needs the index privilege ``view_index_metadata``."""
        return self.client.request('GET', quote_path(index)).body or {}

    def delete(self, index):
        """``DELETE /<index>`` (index privilege ``delete_index``)."""
        return self.client.request('DELETE', quote_path(index)).body
