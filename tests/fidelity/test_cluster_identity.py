"""Cluster identity (issue 12 area 8): every emulated cluster is a distinct cluster.

ES: cluster_uuid is UUIDs.randomBase64UUID() (server/.../common/RandomBasedUUIDGenerator.java#getBase64UUID on
every release branch 6.8-9.1): 16 random bytes, version-4/variant bits, base64url without padding = 22 chars.
cluster_name is the `cluster.name` setting, default "elasticsearch"
(https://www.elastic.co/guide/en/elasticsearch/reference/current/important-settings.html#cluster-name).
"""

import base64
import re

from tests.emulator.launcher import running_emulator

from .conftest import Client

UUID_RE = re.compile(r'^[A-Za-z0-9_-]{22}$')


def _uuid_bytes(text):
    return base64.urlsafe_b64decode(text + '==')


def test_default_name_and_random_uuid_per_cluster():
    with running_emulator('8.19.3') as one, running_emulator('8.19.3') as two:
        first, second = Client(one)('GET', '/').body, Client(two)('GET', '/').body
    for body in (first, second):
        assert body['cluster_name'] == 'elasticsearch'
        assert UUID_RE.match(body['cluster_uuid']), body['cluster_uuid']
        raw = _uuid_bytes(body['cluster_uuid'])
        assert len(raw) == 16 and raw[6] >> 4 == 4 and raw[8] >> 6 == 2
    assert first['cluster_uuid'] != second['cluster_uuid']


def test_cluster_name_option_everywhere_and_uuid_survives_reset():
    with running_emulator('6.8.23', cluster_name='prod-eu') as emu:
        es = Client(emu)
        root = es('GET', '/').body
        assert root['cluster_name'] == 'prod-eu'
        assert es('GET', '/_cluster/health').body['cluster_name'] == 'prod-eu'
        emu.reset()  # wipes data, not the cluster
        assert es('GET', '/').body['cluster_uuid'] == root['cluster_uuid']


def test_index_uuids_are_base64_uuids(emu_factory):
    es = Client(emu_factory('9.1.5'))
    assert es('PUT', '/idx', {}).status == 200
    resp = es('PUT', '/idx', {})
    uuid = resp.body['error']['index_uuid']
    raw = _uuid_bytes(uuid)
    assert UUID_RE.match(uuid) and raw[6] >> 4 == 4 and raw[8] >> 6 == 2
    assert resp.body['error']['reason'] == 'index [idx/%s] already exists' % uuid
