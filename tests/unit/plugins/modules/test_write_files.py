# -*- coding: utf-8 -*-
# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""esops.jobs.write_files: many files in one task, each replaced atomically; a refusal writes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

from ansible_collections.esops.jobs.plugins.modules import write_files


def run(run_module, files, check_mode=False, **args):
    return run_module(write_files.main, dict(args, files=files), check_mode=check_mode)


def listing(root):
    return sorted(os.path.relpath(os.path.join(d, f), str(root)) for d, _dirs, names in os.walk(str(root)) for f in names)


def test_writes_every_file_creating_directories(run_module, tmp_path):
    a, b = str(tmp_path / 'backups' / 'a.json'), str(tmp_path / 'backups' / 'b.json')
    failed, result = run(run_module, [dict(path=a, content='{"a": 1}'), dict(path=b, content='B\n', mode='0600')])
    assert not failed and result['changed'] is True and result['written'] == [a, b]
    assert open(a).read() == '{"a": 1}\n' and open(b).read() == 'B\n'
    assert stat.S_IMODE(os.stat(a).st_mode) == 0o640 and stat.S_IMODE(os.stat(b).st_mode) == 0o600
    assert listing(tmp_path) == ['backups/a.json', 'backups/b.json']      # no temporary file left behind


def test_same_content_is_unchanged_and_new_content_replaces(run_module, tmp_path):
    path = str(tmp_path / 'state.json')
    run(run_module, [dict(path=path, content='one')])
    failed, result = run(run_module, [dict(path=path, content='one')])
    assert not failed and result['changed'] is False and result['unchanged'] == [path]
    failed, result = run(run_module, [dict(path=path, content='two')])
    assert result['changed'] is True and open(path).read() == 'two\n'


def test_overwrite_false_refuses_before_writing_anything(run_module, tmp_path):
    old, new = str(tmp_path / 'old.json'), str(tmp_path / 'new.json')
    run(run_module, [dict(path=old, content='kept')])
    failed, result = run(run_module, [dict(path=new, content='x'), dict(path=old, content='y')], overwrite=False)
    assert failed and result['msg'] == 'write_files: refusing to overwrite %s; nothing was written' % old
    assert result['existing'] == [old] and listing(tmp_path) == ['old.json'] and open(old).read() == 'kept\n'


def test_fail_on_refusal_false_returns_the_existing_files_and_writes_nothing(run_module, tmp_path):
    old, new = str(tmp_path / 'old.json'), str(tmp_path / 'new.json')
    run(run_module, [dict(path=old, content='kept')])
    for check_mode in (True, False):
        failed, result = run(run_module, [dict(path=new, content='x'), dict(path=old, content='y')], check_mode=check_mode,
                             overwrite=False, fail_on_refusal=False)
        assert not failed and result['changed'] is False and result['written'] == [] and result['existing'] == [old]
        assert result['refused'] == 'write_files: refusing to overwrite %s; nothing was written' % old
        assert listing(tmp_path) == ['old.json'] and open(old).read() == 'kept\n'
    failed, result = run(run_module, [dict(path=new, content='x')], overwrite=False, fail_on_refusal=False)
    assert not failed and result['refused'] is None and result['existing'] == [] and result['written'] == [new]


def test_check_mode_predicts_and_writes_nothing(run_module, tmp_path):
    path = str(tmp_path / 'sub' / 'r.md')
    failed, result = run(run_module, [dict(path=path, content='r')], check_mode=True)
    assert not failed and result['changed'] is True and result['written'] == [path]
    assert listing(tmp_path) == [] and not os.path.exists(str(tmp_path / 'sub'))


def test_bad_input_is_one_line_and_writes_nothing(run_module, tmp_path):
    good = str(tmp_path / 'good')
    for files, msg in [
            ([dict(path=good, content='x'), dict(path='relative.json', content='x')],
             'write_files: path relative.json is not absolute; nothing was written'),
            ([dict(path=good, content='x'), dict(path=good, content='y')],
             'write_files: %s is given twice; nothing was written' % good),
            ([dict(path=good, content='x', mode='rw-r')],
             "write_files: %s: mode 'rw-r' is not an octal permission such as 0640; nothing was written" % good)]:
        failed, result = run(run_module, files)
        assert failed and result['msg'] == msg
    assert listing(tmp_path) == []


def test_json_values_are_written_as_json_whatever_templating_did(run_module, tmp_path):
    path = str(tmp_path / 'record.json')
    failed, result = run(run_module, [dict(path=path, json={'b': None, 'a': [1, True], 'c': {'d': 'e'}})])
    assert not failed
    assert open(path).read() == '{\n  "a": [\n    1,\n    true\n  ],\n  "b": null,\n  "c": {\n    "d": "e"\n  }\n}\n'
    failed, result = run(run_module, [dict(path=path, json={'a': 1}, content='x')])
    assert failed and 'mutually exclusive' in result['msg'] and open(path).read().startswith('{\n  "a": [')


def test_every_file_is_moved_into_place_by_atomic_move_with_the_mode_asked_for(run_module, tmp_path, monkeypatch):
    """ansible-core's atomic_move (not os.rename) keeps a replaced file's SELinux context; it gives a new file the
    umask's mode and a replaced one the old file's, so the module sets the mode asked for after the move."""
    moves, real_move = [], write_files.AnsibleModule.atomic_move

    def recording_move(self, src, dest, *args, **kwargs):
        moves.append((os.path.dirname(src), dest))
        return real_move(self, src, dest, *args, **kwargs)
    monkeypatch.setattr(write_files.AnsibleModule, 'atomic_move', recording_move)
    old, new = str(tmp_path / 'old.json'), str(tmp_path / 'sub' / 'new.json')
    with open(old, 'w') as handle:
        handle.write('before\n')
    os.chmod(old, 0o600)
    previous_umask = os.umask(0o022)
    try:
        failed, result = run(run_module, [dict(path=old, content='after', mode='0644'), dict(path=new, content='n')])
    finally:
        os.umask(previous_umask)
    assert not failed and result['written'] == [old, new]
    # each temporary file sits in its target's directory, so the move is a rename on one file system
    assert moves == [(str(tmp_path), old), (str(tmp_path / 'sub'), new)]
    assert stat.S_IMODE(os.stat(old).st_mode) == 0o644 and stat.S_IMODE(os.stat(new).st_mode) == 0o640
    assert open(old).read() == 'after\n' and listing(tmp_path) == ['old.json', 'sub/new.json']


def ml_job(job_id, datafeed=True):
    job = {'job_id': job_id, 'state': 'closed', 'put_config': {'groups': ['g']}, 'datafeed': None}
    if datafeed:
        job['datafeed'] = {'datafeed_id': 'datafeed-' + job_id, 'put_config': {'indices': ['src']}}
    return job


def test_backups_are_named_from_safely_encoded_ids_inside_dir(run_module, tmp_path):
    backup_dir = tmp_path / 'a' / 'b' / 'c' / 'backups'
    jobs = [{'job_id': 'x/../../../escaped', 'state': 'stopped', 'put_config': {'rollup_index': 'r'}, 'stats': {}},
            {'job_id': 'plain', 'state': 'started', 'put_config': {'rollup_index': 'r'}}]
    failed, result = run_module(write_files.main, dict(overwrite=False, backups=dict(
        dir=str(backup_dir), kind='rollup_job', jobs=jobs, cluster={'uuid': 'u1', 'name': 'c1'})))
    assert not failed, result
    stamp = result['saved_at']
    assert listing(tmp_path) == sorted(['a/b/c/backups/rollup-job-x%%2F%%2E%%2E%%2F%%2E%%2E%%2F%%2E%%2E%%2Fescaped-%s.json' % stamp,
                                        'a/b/c/backups/rollup-job-plain-%s.json' % stamp])
    assert [os.path.dirname(path) for path in result['written']] == [str(backup_dir)] * 2
    record = json.load(open(result['written'][0]))
    assert record['job_id'] == 'x/../../../escaped' and record['cluster'] == {'uuid': 'u1', 'name': 'c1'}
    assert record['kind'] == 'rollup_job' and record['saved_at'] == stamp and record['config'] == {'rollup_index': 'r'}
    assert stat.S_IMODE(os.stat(result['written'][0]).st_mode) == 0o640


def test_an_ml_backup_holds_only_what_was_read_now_never_an_earlier_backups_datafeed(run_module, tmp_path):
    # An earlier backup of the same job id (say, of another cluster) holds a datafeed; the job has none now.
    earlier = tmp_path / 'ml-job-web-20200101T000000Z.json'
    earlier.write_text(u'{"esops_backup": 1, "kind": "ml_anomaly_detection_job", "job_id": "web", "job": {},'
                       u' "datafeed": {"indices": ["elsewhere"]}, "cluster": {"uuid": "other"}}')
    failed, result = run_module(write_files.main, dict(overwrite=False, backups=dict(
        dir=str(tmp_path), kind='ml_anomaly_detection_job', jobs=[ml_job('web', datafeed=False), ml_job('db')],
        cluster={'uuid': 'u1'})))
    assert not failed, result
    web, db = [json.load(open(path)) for path in result['written']]
    assert web['job_id'] == 'web' and web['datafeed'] is None and web['job'] == {'groups': ['g']}
    assert db['datafeed'] == {'indices': ['src']}


def test_backups_check_mode_writes_nothing_and_bad_jobs_are_one_line(run_module, tmp_path):
    failed, result = run_module(write_files.main, dict(backups=dict(
        dir=str(tmp_path), kind='ml_anomaly_detection_job', jobs=[ml_job('web')])), check_mode=True)
    assert not failed and result['written'] == [str(tmp_path / ('ml-job-web-%s.json' % result['saved_at']))]
    assert listing(tmp_path) == []
    failed, result = run_module(write_files.main, dict(backups=dict(
        dir=str(tmp_path), kind='ml_anomaly_detection_job', jobs=[{'job_id': 'web'}])))
    assert failed and result['msg'] == ('write_files: backups: job web has no put_config (read it with '
                                        'include_put_config: true); nothing was written')
    assert listing(tmp_path) == []


def test_an_existing_backup_is_refused_with_the_line_the_retire_roles_stop_with(run_module, tmp_path, monkeypatch):
    """The retire roles let this refusal fail their one backup task (issue 24: no role-side twin of it)."""
    monkeypatch.setattr(write_files.time, 'strftime', lambda fmt, *when: '20260101T000000Z')
    existing = tmp_path / 'ml-job-web-20260101T000000Z.json'
    existing.write_text(u'kept')
    for fail_on_refusal in (True, False):
        failed, result = run_module(write_files.main, dict(overwrite=False, fail_on_refusal=fail_on_refusal, backups=dict(
            dir=str(tmp_path), kind='ml_anomaly_detection_job', jobs=[ml_job('db'), ml_job('web')])))
        line = ('write_files: backup file(s) already exist: %s; a backup is never replaced, so nothing was written. '
                'Run again in a second' % existing)
        assert failed is fail_on_refusal and result['existing'] == [str(existing)]
        assert result['msg' if fail_on_refusal else 'refused'] == line
        assert listing(tmp_path) == ['ml-job-web-20260101T000000Z.json'] and existing.read_text() == u'kept'


def test_a_directory_another_run_makes_meanwhile_is_used(run_module, tmp_path, monkeypatch):
    """A fleet's hosts write their summary entries into one new directory at once (molecule fleet_runbooks failed
    with 'File exists' when another host's run made it between the check and makedirs)."""
    shared = tmp_path / 'summary.json.d'
    real_isdir, raced = os.path.isdir, []

    def made_meanwhile(path):
        if path == str(shared) and not raced:
            raced.append(path)
            shared.mkdir()           # another host's run wins the race
            return False
        return real_isdir(path)
    monkeypatch.setattr(write_files.os.path, 'isdir', made_meanwhile)
    failed, result = run(run_module, [dict(path=str(shared / 'host-1.json'), content='x')])
    assert not failed, result
    assert raced and listing(tmp_path) == ['summary.json.d/host-1.json']
