# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  wait:
    description:
      - Wait until every object reached the requested state before returning.
      - Elasticsearch's own server-side waits are used where the API has one; otherwise the module polls
        with backoff.
      - With V(false) the module returns as soon as Elasticsearch accepted the requests; the states
        reported may then be transitional.
    type: bool
    default: true
'''
