# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/docker/wait_for_es.py, the readiness check the real-Elasticsearch workflow runs before the suite: with
--version the cluster must answer as that version, so a job never tests another container than the one it started.
Against a launched emulator (the script talks HTTP like it does to a container)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

import pytest

from ansible_collections.esops.jobs.tests.emulator.launcher import running_emulator

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _load():
    spec = importlib.util.spec_from_file_location('wait_for_es', os.path.join(COLLECTION_ROOT, 'tests', 'docker',
                                                                              'wait_for_es.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wait_for_es = _load()


@pytest.fixture(scope='module')
def emulator():
    with running_emulator(es_version='7.13.4') as emu:
        yield emu


def test_answers_as_the_version_asked_for(emulator, monkeypatch, capsys):
    monkeypatch.setenv('ES_URL', emulator.url)
    assert wait_for_es.main(['--timeout', '20', '--version', '7.13.4']) == 0
    assert capsys.readouterr().out.startswith('wait_for_es: Elasticsearch 7.13.4 at %s is ' % emulator.url)


def test_another_version_is_a_failure(emulator, monkeypatch, capsys):
    monkeypatch.setenv('ES_URL', emulator.url)
    assert wait_for_es.main(['--timeout', '20', '--version', '6.8.23']) == 1
    assert capsys.readouterr().out == 'wait_for_es: %s answers as Elasticsearch 7.13.4, not 6.8.23\n' % emulator.url
