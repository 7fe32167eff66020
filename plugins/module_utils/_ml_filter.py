# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML filters (the item lists that detector custom rules scope on): the requests, for a planner of declared filters
(issue 21 item 3). https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-ad-apis.html#ml-api-filter-endpoint

Elasticsearch facts: ``PUT filters/<id>`` creates only (a second PUT is 400 ``resource_already_exists_exception``,
TransportPutFilterAction indexes with op_type create); ``POST filters/<id>/_update`` replaces the description and
adds/removes items (removing an absent item is a 400); items come back as a sorted set; ``DELETE`` of a filter that a
job's rule uses is a 409 (TransportDeleteFilterAction), classified as ``Conflict``. Reading filters needs manage_ml
(GetFiltersAction is an admin action).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._client import quote_path
from ansible_collections.esops.jobs.plugins.module_utils._errors import NotFound
from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi


class MlFilterApi(object):
    """Filter requests, one per method; failed requests raise the classified errors of ``_errors``."""

    def __init__(self, client, ml_api=None):
        self.ml = ml_api or MlApi(client)
        self.client = self.ml.client

    def _path(self, *parts):
        return self.ml.base + quote_path('filters', *parts)

    def filter(self, filter_id):
        """``{filter_id, description?, items}``, or None when there is no such filter (404 on every version: 6.8
        "Could not find requested filters", 7.x+ "Unable to find filter [x]")."""
        try:
            body = self.client.request('GET', self._path(filter_id)).body
        except NotFound:
            return None
        filters = (body or {}).get('filters') or []
        return filters[0] if filters else None

    def all_filters(self):
        """Every filter (``GET filters`` paged with from/size; on 6.8 ``count`` is the page's length)."""
        return self.ml.read_paged(self.ml.base + '/filters', 'filters')

    def put_filter(self, filter_id, items, description=None):
        body = {'items': list(items)}
        if description is not None:
            body['description'] = description
        return self.client.request('PUT', self._path(filter_id), body=body).body

    def update_filter(self, filter_id, add_items=(), remove_items=(), description=None):
        body = {}
        if description is not None:
            body['description'] = description
        if add_items:
            body['add_items'] = list(add_items)
        if remove_items:
            body['remove_items'] = list(remove_items)
        return self.client.request('POST', self._path(filter_id, '_update'), body=body).body

    def delete_filter(self, filter_id):
        return self.client.request('DELETE', self._path(filter_id)).body
