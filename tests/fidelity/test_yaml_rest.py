"""Run Elasticsearch's own YAML REST tests (ml/, rollup/) from the reference copies against the emulator."""

import os

import pytest

from .yaml_runner import TEST_DIR, Runner, SkipTest, load_api_specs, load_suite

# Personality per file: the era each stored copy was written for (see es-rest-spec/SOURCES.md and es-behaviour §4).
VERSIONS = {
    'ml/jobs_crud.yml': '7.14.2',           # mid-2021 copy: allow_no_jobs warnings and "refers to it" on delete (≤7.14)
    'ml/jobs_get_stats.yml': '8.19.0',
    'ml/set_upgrade_mode.yml': '8.19.0',
    'ml/start_stop_datafeed.yml': '8.19.0',
    'ml/delete_job_force.yml': '8.19.0',    # deletes a job together with its started datafeed (7.15+)
    'rollup/delete_job.yml': '8.14.0',      # pre-8.15 copies: no dummy rollup index in setup, no upgraded_doc_id
    'rollup/get_jobs.yml': '8.14.0',
    'rollup/start_job.yml': '9.1.0',        # expects the 9.x rollup deprecation warning as allowed_warnings
    'rollup/stop_job.yml': '9.1.0',
    'rollup/stop_job.yml@5c82a57f': '7.17.0',
}
SPEC_BRANCH = {'7': 'branch-7.17', '8': 'branch-8.19', '9': 'branch-9.1'}

# Out-of-scope APIs: a test that calls one is skipped with this reason.
UNSUPPORTED_APIS = {
    'ml.post_data': 'posting data (deprecated) and results processing are not emulated',
    'ml.flush_job': 'needs the results processor',
    'cat.tasks': 'cat APIs are not emulated',
    'tasks.list': 'task listing is not emulated',
}

# Individual tests skipped with a written reason (validation details of job configs the collection never sends).
SKIPPED_TESTS = {
    ('ml/jobs_crud.yml', 'Test get job with datafeed'):
        'this mid-2021 copy mixes the 7.15 datafeed_config field with the <=7.14 delete behaviour it is run against (es-behaviour §2.8)',
    ('ml/jobs_crud.yml', 'Test put job with datafeed'):
        'PUT job with datafeed_config is 7.15+ (as GET jobs datafeed_config); this copy runs as 7.14 for its delete tests',
    ('ml/jobs_crud.yml', 'Test put job with datafeed with indices options in params'):
        'PUT job with datafeed_config is 7.15+; covered by test_ml_strict_config on 7.17+',
    ('ml/jobs_get_stats.yml', 'Test reading v54 data counts and model size stats'): 'indexes raw documents into .ml-anomalies-*',
    ('ml/jobs_get_stats.yml', 'Test no exception on get job stats with missing index'): 'deletes the internal .ml-anomalies-* index',
}


def _collect():
    if not os.path.isdir(TEST_DIR):
        return [pytest.param(None, None, marks=pytest.mark.skip(reason='reference YAML tests not found at %s' % TEST_DIR))]
    cases = []
    for rel in sorted(VERSIONS):
        path = os.path.join(TEST_DIR, rel)
        if not os.path.exists(path):
            continue
        for name, _steps in load_suite(path)[2]:
            marks = []
            if (rel, name) in SKIPPED_TESTS:
                marks.append(pytest.mark.skip(reason=SKIPPED_TESTS[(rel, name)]))
            cases.append(pytest.param(rel, name, id='%s::%s' % (rel, name), marks=marks))
    return cases


@pytest.mark.parametrize('rel,name', _collect())
def test_yaml(emu_factory, rel, name):
    version = VERSIONS[rel]
    emu = emu_factory(version, close_seconds=0.2, stop_seconds=0.2, open_seconds=0.05)
    vt = tuple(int(x) for x in version.split('.'))
    setup, teardown, tests = load_suite(os.path.join(TEST_DIR, rel))
    steps = dict(tests)[name]
    runner = Runner(emu, vt, load_api_specs(SPEC_BRANCH[version[0]]), UNSUPPORTED_APIS)
    try:
        for step in steps:
            if 'skip' in step or 'requires' in step:
                runner.run_steps([step])
        runner.run_steps(setup)
        runner.run_steps(steps)
        runner.run_steps(teardown)
    except SkipTest as exc:
        pytest.skip(str(exc))
