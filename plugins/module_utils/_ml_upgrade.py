# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML upgrade mode (module ``esops.jobs.ml_upgrade_mode``), see
https://www.elastic.co/guide/en/elasticsearch/reference/current/ml-set-upgrade-mode.html.

One cluster-wide boolean, so the job engine's per-object machinery does not fit; this keeps its
semantics instead: read first, no mutating request in check mode or when nothing differs, ``changed``
only on a real change, ``diff`` as ``{before: {upgrade_mode: ..}, after: {upgrade_mode: ..}}``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.esops.jobs.plugins.module_utils._client import ElasticsearchError
from ansible_collections.esops.jobs.plugins.module_utils._convergence import Poller, WaitTimeout
from ansible_collections.esops.jobs.plugins.module_utils._errors import Busy
from ansible_collections.esops.jobs.plugins.module_utils._ml import MlApi
from ansible_collections.esops.jobs.plugins.module_utils._time import format_duration, server_timeout


class UpgradeModeError(Exception):
    def __init__(self, message, **facts):
        super(UpgradeModeError, self).__init__(message)
        self.message = message
        self.facts = facts


class UpgradeMode(object):
    """Read and set ``upgrade_mode``; every method raises ElasticsearchError or UpgradeModeError."""

    def __init__(self, client, api=None, poller=None):
        self.client = client
        self.api = api or MlApi(client)
        self.poller = poller or Poller(initial=0.5, factor=2.0, maximum=5.0)

    def read(self):
        return bool((self.api.info() or {}).get('upgrade_mode'))

    def set(self, enabled, deadline, timeout):
        """Send set_upgrade_mode until it is accepted; retry (through the poller) while an earlier change is being
        processed (429 Busy). Returns the value read back when another request got there first, else ``enabled``.
        """
        busy = []

        def attempt():
            if busy and self.read() == enabled:
                return enabled   # the earlier request was setting the same value
            # The first request carries the user's timeout; retries the time left.
            wait = server_timeout(self.poller.remaining(deadline)) if busy else timeout
            try:
                body = self.api.set_upgrade_mode(enabled, wait)
            except Busy as exc:
                busy.append(exc)
                return None
            if (body or {}).get('acknowledged') is False:
                return self.read()
            return enabled

        try:
            return self.poller.until(attempt, lambda value: value is not None, deadline)
        except WaitTimeout:
            last = busy[-1]
            raise UpgradeModeError(
                'Elasticsearch was still processing an earlier upgrade mode change after %s, so upgrade_mode '
                'could not be set to %s; try again later or with a longer timeout (last answer: %s)' % (
                    format_duration(timeout), 'true' if enabled else 'false', to_native(last)),
                status=last.status, error_type=last.error_type)


def run(module, enabled, timeout, upgrade=None):
    """Converge upgrade mode, then exit or fail the module. Never returns."""
    try:
        upgrade = upgrade or UpgradeMode(module.client)
        poller = upgrade.poller
        deadline = poller.clock() + timeout
        before = upgrade.read()
    except UpgradeModeError as exc:
        module.fail_json(msg=exc.message, **exc.facts)
    except ElasticsearchError as exc:
        module.fail_from_error(exc)

    def result(after, changed):
        word = 'enabled' if after else 'disabled'
        if not changed:
            msg = 'ML upgrade mode already %s' % word
        elif module.check_mode:
            msg = 'ML upgrade mode would be %s' % word
        else:
            msg = 'ML upgrade mode %s' % word
        out = dict(changed=changed, upgrade_mode_before=before, upgrade_mode_after=after, msg=msg)
        if module._diff:
            out['diff'] = dict(before=dict(upgrade_mode=before), after=dict(upgrade_mode=after))
        return out

    if before == enabled or module.check_mode:
        module.exit_json(**result(enabled, before != enabled))
    try:
        after = upgrade.set(enabled, deadline, timeout)
    except UpgradeModeError as exc:
        module.fail_json(msg=exc.message, upgrade_mode_before=before, **exc.facts)
    except ElasticsearchError as exc:
        module.fail_from_error(exc, upgrade_mode_before=before)
    module.exit_json(**result(after, after != before))
