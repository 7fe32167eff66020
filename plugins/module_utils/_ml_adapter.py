# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ML job and datafeed adapters share (engine side): the base adapter and the upgrade-mode plan check.

The API and its version rules stay in ``_ml.py``, which imports nothing of the engine (imports go one way:
adapters -> API -> client).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.esops.jobs.plugins.module_utils._convergence import Adapter, PlanError, StateError, unique
from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi


def refuse_in_upgrade_mode(upgrade_mode, steps, hint, noun, nouns, refuses):
    """The plan check both ML adapters share: while upgrade mode is on, ES answers 429 to every open, close, delete,
    start and stop (MlUpgradeModeActionFilter), so a plan that needs one of them is refused before the first request,
    and check mode predicts that refusal. ``upgrade_mode`` comes from MlApi.upgrade_mode(), read only when something
    has to move; ``wait`` steps send nothing; ``refuses(action)`` is MlApi.refused_in_upgrade_mode (before 7.8 ES
    refuses fewer actions)."""
    mutating = []
    for step in steps:
        if step.action != 'wait' and refuses(step.action) and step.object_id not in mutating:
            mutating.append(step.object_id)
    if mutating and upgrade_mode:
        raise PlanError('%s (%s %s would need a request)' % (hint, noun if len(mutating) == 1 else nouns,
                                                             ', '.join(mutating)), job_ids=mutating)


def upgrade_mode_refusal(exc, hint, ids):
    """The StateError for an UpgradeModeOn answer (upgrade mode was enabled after the plan read it)."""
    return StateError('%s (Elasticsearch answered: %s)' % (hint, exc.reason or exc.message), job_ids=ids)


class MlAdapter(Adapter):
    """What the ML job and datafeed adapters share: the API, the user's selection tokens (order kept, duplicates
    dropped), ``allow_no_match``, and ML upgrade mode (read by the first read() only when something has to move)."""

    def __init__(self, client, desired, tokens, allow_no_match=True, poller=None, api=None):
        super(MlAdapter, self).__init__(client, desired, poller=poller)
        self.api = api or MlApi(client)
        self.tokens = unique(tokens)
        self.allow_no_match = allow_no_match
        self.upgrade_mode = None
        self._first_read = True
