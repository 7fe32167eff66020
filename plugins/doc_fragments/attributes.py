# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/esops.jobs.elasticsearch) in C(module_defaults) to set connection options once for all modules.
    support: full
    membership:
      - esops.jobs.elasticsearch
'''

    CHECK_MODE_FULL = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and predicts every transition without sending any mutating request.
    support: full
'''

    DIFF_MODE = r'''
options: {}
attributes:
  diff_mode:
    description: Shows each job's state before and after (predicted in check mode).
    support: full
'''

    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    description: This module only reads; it runs in check mode exactly as it does normally.
    support: full
  diff_mode:
    description: This module changes nothing, so it returns no diff.
    support: N/A
'''
