# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module_utils layering of docs/design.md, held by an AST scan of plugins/:

* only the API classes (``class <Name>Api``) build requests: no other code calls ``.request(`` (the client,
  ``_client.py``, and the classifying wrapper around it, ``_errors.py``, excepted);
* errors are classified once, in ``_errors.py``: no other file compares a ``.status`` or matches an error's
  ``reason``/``message``/``error_type`` (reading them to word a message is fine; comparing them is classifying).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
PLUGINS = os.path.join(COLLECTION_ROOT, 'plugins')
CLIENT_FILES = ('plugins/module_utils/_client.py', 'plugins/module_utils/_errors.py')
ERROR_FIELDS = ('status', 'reason', 'message', 'error_type')


def _python_files():
    found = []
    for folder, _dirs, names in os.walk(PLUGINS):
        for name in names:
            if name.endswith('.py'):
                found.append(os.path.relpath(os.path.join(folder, name), COLLECTION_ROOT).replace(os.sep, '/'))
    return sorted(found)


def _error_attributes(node):
    return [sub for sub in ast.walk(node) if isinstance(sub, ast.Attribute) and sub.attr in ERROR_FIELDS]


def requests_outside_api_classes(source):
    """Line numbers of ``.request(`` calls not inside a class whose name ends in ``Api``."""
    found = []

    def visit(node, in_api):
        if isinstance(node, ast.ClassDef):
            in_api = node.name.endswith('Api')
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'request'
                and not in_api):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, in_api)

    visit(ast.parse(source), False)
    return found


def error_matching(source):
    """Line numbers of comparisons that classify an error: a compared ``.status``, or ``.reason``/``.message``/
    ``.error_type`` (or a name built from them in the same function) compared or searched."""
    found = []
    for scope in ast.walk(ast.parse(source)):
        if not isinstance(scope, ast.FunctionDef):
            continue
        tainted = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and _error_attributes(node.value):
                tainted.update(target.id for target in node.targets if isinstance(target, ast.Name))
        for node in ast.walk(scope):
            if isinstance(node, ast.Compare):
                operands = [node.left] + list(node.comparators)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ('search', 'match', 'startswith', 'endswith', 'find')):
                operands = list(node.args) + [node.func.value]
            else:
                continue
            for operand in operands:
                names = set(sub.id for sub in ast.walk(operand) if isinstance(sub, ast.Name))
                if _error_attributes(operand) or names & tainted:
                    found.append(node.lineno)
                    break
    return sorted(set(found))


@pytest.mark.parametrize('path', [p for p in _python_files() if p not in CLIENT_FILES])
def test_only_api_classes_send_requests(path):
    with open(os.path.join(COLLECTION_ROOT, path)) as f:
        lines = requests_outside_api_classes(f.read())
    assert not lines, '%s calls .request( outside an API class at line(s) %s: add a method to the API class' % (
        path, ', '.join(str(line) for line in lines))


@pytest.mark.parametrize('path', [p for p in _python_files() if p not in CLIENT_FILES])
def test_errors_are_classified_only_in_errors_py(path):
    with open(os.path.join(COLLECTION_ROOT, path)) as f:
        lines = error_matching(f.read())
    assert not lines, ('%s compares an error status or matches an error text at line(s) %s: classify it in '
                       '_errors.py and catch the class' % (path, ', '.join(str(line) for line in lines)))


def test_the_scan_finds_what_it_forbids():
    # What main had before the rule (issue 24): a config adapter building a request and matching the 409's text,
    # a status comparison, and a text match on a name built from the error.
    adapter = (
        "class RollupJobConfigAdapter(object):\n"
        "    def apply(self):\n"
        "        try:\n"
        "            self.api.client.request('PUT', path, body=self.config)\n"
        "        except Conflict as exc:\n"
        "            if 'existing metadata' in to_text(exc.reason or exc.message):\n"
        "                raise StateError()\n"
        "class RollupApi(object):\n"
        "    def put_job(self):\n"
        "        return self.client.request('PUT', path)\n")
    assert requests_outside_api_classes(adapter) == [4]
    assert error_matching(adapter) == [6]
    assert error_matching("def f(response):\n    return response.status == 404\n") == [2]
    assert error_matching("def f(error):\n    text = '%s %s' % (error.reason, error)\n"
                          "    return 'Security must be' in text\n") == [3]
    assert error_matching("def f(item):\n    return item['reason'] == 'x'\n") == []
