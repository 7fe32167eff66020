# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every module: connection options, the client, clean failures."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.text.converters import to_native

# The standard library's urllib.parse, imported once by _client (where Python 2 gets placeholders).
from ansible_collections.esops.jobs.plugins.module_utils._client import (
    ElasticsearchClient, ElasticsearchError, unquote, urlsplit)
from ansible_collections.esops.jobs.plugins.module_utils._time import parse_duration

# The oldest managed-node Python the collection supports: tests/config.yml (python_requires), every module's
# ``requirements`` and the README say the same, and ansible-test compiles and imports the modules on each
# Python from this one up. ansible-core 2.16 still runs modules on Python 2.7 and 3.6, 2.17 on 3.7.
MIN_PYTHON = (3, 8)


def unsupported_python(version_info=None, executable=None):
    """One line naming the managed node's Python when it is older than MIN_PYTHON; None when it is supported."""
    version = tuple(version_info or sys.version_info)[:3]
    if version[:2] >= MIN_PYTHON:
        return None
    return ('esops.jobs needs Python %s or later on the managed node, but %s is Python %s: '
            'set ansible_python_interpreter to a newer Python'
            % ('.'.join(str(part) for part in MIN_PYTHON), executable or sys.executable or 'the interpreter',
               '.'.join(str(part) for part in version)))


CONNECTION_MUTUALLY_EXCLUSIVE = [
    ('api_key', 'bearer_token'),
    ('api_key', 'password'),
    ('bearer_token', 'password'),
]
CONNECTION_REQUIRED_TOGETHER = [('username', 'password'), ('client_key', 'client_cert')]


def connection_argspec():
    """Connection and authentication options, shared by every module (doc fragment esops.jobs.connection)."""
    return dict(
        hosts=dict(type='list', elements='str', aliases=['url'], default=['http://localhost:9200'],
                   fallback=(env_fallback, ['ELASTICSEARCH_URL'])),
        username=dict(type='str', fallback=(env_fallback, ['ELASTICSEARCH_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['ELASTICSEARCH_PASSWORD'])),
        api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['ELASTICSEARCH_API_KEY'])),
        bearer_token=dict(type='str', no_log=True, fallback=(env_fallback, ['ELASTICSEARCH_BEARER_TOKEN'])),
        ca_cert=dict(type='path', aliases=['ca_path'], fallback=(env_fallback, ['ELASTICSEARCH_CA_CERT'])),
        client_cert=dict(type='path'),
        client_key=dict(type='path', no_log=False),
        validate_certs=dict(type='bool', default=True),
        request_timeout=dict(type='float', default=30.0),
        retries=dict(type='int', default=3),
    )


def wait_argspec(default_timeout):
    """``wait`` and ``timeout`` (doc fragment esops.jobs.wait)."""
    return dict(
        wait=dict(type='bool', default=True),
        timeout=dict(type='str', default=default_timeout),
    )


def generate_argspec(**module_options):
    """The connection options plus the module's own; a module option may not shadow a connection one."""
    spec = connection_argspec()
    clash = set(spec) & set(module_options)
    if clash:
        raise ValueError('module options shadow connection options: %s' % ', '.join(sorted(clash)))
    spec.update(module_options)
    return spec


class EsopsModule(AnsibleModule):
    """AnsibleModule with the collection's connection handling."""

    def __init__(self, *args, **kwargs):
        kwargs['mutually_exclusive'] = list(kwargs.get('mutually_exclusive') or []) + CONNECTION_MUTUALLY_EXCLUSIVE
        kwargs['required_together'] = list(kwargs.get('required_together') or []) + CONNECTION_REQUIRED_TOGETHER
        super(EsopsModule, self).__init__(*args, **kwargs)
        if unsupported_python():
            self.fail_json(msg=unsupported_python())
        self._client = None
        # A password written into a hosts URL is as secret as ``password``: mask it (as written and decoded)
        # in every result, including the module invocation echoed at -vvv.
        for host in self.params.get('hosts') or []:
            for piece in to_native(host).split(','):
                try:
                    secret = urlsplit(piece.strip()).password
                except ValueError:
                    continue
                if secret:
                    self.no_log_values.update([secret, unquote(secret)])

    @property
    def client(self):
        if self._client is None:
            try:
                self._client = ElasticsearchClient.from_params(self.params, warn=self.warn)
            except ValueError as exc:
                self.fail_json(msg=to_native(exc))
            if self.params.get('request_timeout') is not None:
                self.duration('request_timeout')
            if self.params.get('retries') is not None and self.params['retries'] < 0:
                self.fail_json(msg='retries must be zero or more')
        return self._client

    def exit_json(self, **result):
        """Every result names the cluster it came from (``cluster``), read once per run."""
        if self._client is not None:
            result.setdefault('cluster', self._client.cluster_identity(read=True))
        super(EsopsModule, self).exit_json(**result)

    def fail_json(self, msg, **result):
        """A failure names the cluster too once GET / was read; it never makes a request for it."""
        client = getattr(self, '_client', None)
        if client is not None and client.cluster_identity(read=False)['version'] is not None:
            result.setdefault('cluster', client.cluster_identity(read=False))
        super(EsopsModule, self).fail_json(msg=msg, **result)

    def duration(self, option):
        """Parse a duration option, failing the module with a clear message when it is malformed."""
        try:
            return parse_duration(self.params[option], option)
        except ValueError as exc:
            self.fail_json(msg=to_native(exc))

    def fail_from_error(self, error, **result):
        """Fail with the error's one-line message and its structured facts."""
        if isinstance(error, ElasticsearchError):
            facts = dict(status=error.status, error_type=error.error_type)
            facts.update(result)
            self.fail_json(msg=to_native(error), **facts)
        self.fail_json(msg='unexpected error: %s' % to_native(error), exception=traceback.format_exc(), **result)
