"""The official elasticsearch-py 8.x client against the emulator (8.x and 9.x personalities).

elasticsearch-py 8 sends `compatible-with=8` media types and requires `X-Elastic-Product: Elasticsearch`;
real 7.x servers reject compatible-with=8, so the 7.x personalities are covered by the HTTP-level suites instead.
"""

import time

import pytest

elasticsearch = pytest.importorskip('elasticsearch')

pytestmark = pytest.mark.filterwarnings('ignore::elasticsearch.ElasticsearchWarning')

JOB = {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]}, 'data_description': {'time_field': 'ts'}}


@pytest.fixture(params=['8.0.1', '8.19.0', '9.1.0'])
def client(request, emu_factory):
    emu = emu_factory(request.param)
    es = elasticsearch.Elasticsearch(emu.url, request_timeout=30)
    yield es, emu, request.param
    es.close()


def test_info_and_ml_lifecycle(client):
    es, _emu, version = client
    assert es.info()['version']['number'] == version
    es.ml.put_job(job_id='py-job', **JOB)
    assert es.ml.get_jobs(job_id='py-job')['jobs'][0]['job_id'] == 'py-job'
    assert es.ml.get_job_stats(job_id='py-job')['jobs'][0]['state'] == 'closed'
    assert es.ml.open_job(job_id='py-job')['opened'] is True
    with pytest.raises(elasticsearch.ConflictError) as info:
        es.ml.open_job(job_id='py-job')
    assert info.value.status_code == 409
    assert info.value.body['error']['reason'] == 'Cannot open job [py-job] because it has already been opened'
    es.indices.create(index='py-data', mappings={'properties': {'ts': {'type': 'date'}}})  # datafeed start needs the job's fields
    es.ml.put_datafeed(datafeed_id='py-feed', job_id='py-job', indices=['py-data'])
    assert es.ml.start_datafeed(datafeed_id='py-feed')['started'] is True
    assert es.ml.get_datafeed_stats(datafeed_id='py-feed')['datafeeds'][0]['state'] == 'started'
    assert es.ml.close_job(job_id='py-job', timeout='10s')['closed'] is True
    assert es.ml.get_datafeed_stats(datafeed_id='py-feed')['datafeeds'][0]['state'] == 'stopped'
    with pytest.raises(elasticsearch.NotFoundError) as info:
        es.ml.close_job(job_id='missing-job')
    assert info.value.body['error']['reason'] == "No known job with id 'missing-job'"
    assert es.ml.delete_job(job_id='py-job')['acknowledged'] is True
    with pytest.raises(elasticsearch.NotFoundError):
        es.ml.get_datafeeds(datafeed_id='py-feed')
    assert es.ml.info()['upgrade_mode'] is False
    assert es.ml.set_upgrade_mode(enabled=True)['acknowledged'] is True
    with pytest.raises(elasticsearch.ApiError) as info:
        es.ml.open_job(job_id='anything')
    assert info.value.status_code == 429
    es.ml.set_upgrade_mode(enabled=False)


def test_update_job_and_datafeed(client):
    """ml.update_job / ml.update_datafeed as the official client sends them (issue 23; sources in test_ml_update.py)."""
    es, _emu, _version = client
    es.ml.put_job(job_id='py-upd', **JOB)
    es.indices.create(index='py-upd-data', mappings={'properties': {'ts': {'type': 'date'}}})
    es.ml.put_datafeed(datafeed_id='py-upd-feed', job_id='py-upd', indices=['py-upd-data'])
    job = es.ml.update_job(job_id='py-upd', description='changed', groups=['py-group'],
                           analysis_limits={'model_memory_limit': '64mb'})
    assert (job['description'], job['groups'], job['analysis_limits']['model_memory_limit']) == ('changed', ['py-group'], '64mb')
    # the client has no `aggs` keyword; a raw body sends the synonym
    feed = es.ml.update_datafeed(datafeed_id='py-upd-feed', body={'scroll_size': 123, 'aggs': {'a': {'max': {'field': 'ts'}}}})
    assert feed['scroll_size'] == 123 and 'aggregations' in feed and 'aggs' not in feed
    es.ml.open_job(job_id='py-upd')
    with pytest.raises(elasticsearch.BadRequestError) as info:
        es.ml.update_job(job_id='py-upd', analysis_limits={'model_memory_limit': '128mb'})
    assert info.value.body['error']['reason'] == 'Cannot update analysis_limits while the job is open'
    es.ml.start_datafeed(datafeed_id='py-upd-feed')
    with pytest.raises(elasticsearch.ConflictError) as info:
        es.ml.update_datafeed(datafeed_id='py-upd-feed', scroll_size=5)
    assert info.value.body['error']['reason'] == 'Cannot update datafeed [py-upd-feed] while its status is started'
    assert es.ml.stop_datafeed(datafeed_id='py-upd-feed')['stopped'] is True
    with pytest.raises(elasticsearch.BadRequestError) as info:
        es.ml.update_datafeed(datafeed_id='py-upd-feed', job_id='other')
    assert info.value.body['error']['reason'] == "Datafeed's job_id cannot be changed."


def test_close_timeout_raises_500(client):
    es, _emu, _version = client
    es.ml.put_job(job_id='slow', **JOB)
    es.ml.open_job(job_id='slow')
    with pytest.raises(elasticsearch.ApiError) as info:
        es.options(retry_on_status=()).ml.close_job(job_id='slow', timeout='50ms')
    assert info.value.status_code == 500
    assert info.value.error == 'illegal_state_exception'
    time.sleep(0.6)
    assert es.ml.get_job_stats(job_id='slow')['jobs'][0]['state'] == 'closed'


def test_rollup_lifecycle(client):
    es, emu, version = client
    es.indices.create(index='dummy-rollup-index', mappings={'_meta': {'_rollup': {'x': {}}}})
    es.indices.create(index='src', mappings={'properties': {'ts': {'type': 'date'}}})  # rollup PUT checks its fields
    with pytest.warns(elasticsearch.ElasticsearchWarning) if version.startswith('9') else _nullcontext():
        es.rollup.put_job(id='py-roll', index_pattern='src', rollup_index='src_rollup', cron='*/30 * * * * ?', page_size=10,
                          groups={'date_histogram': {'field': 'ts', 'calendar_interval': '1h'}})
    assert es.rollup.get_jobs(id='py-roll')['jobs'][0]['status']['job_state'] == 'stopped'
    assert es.rollup.start_job(id='py-roll')['started'] is True
    assert es.rollup.start_job(id='py-roll')['started'] is True
    emu.force_rollup_indexing('py-roll')
    assert es.rollup.stop_job(id='py-roll')['stopped'] is True
    assert es.rollup.get_jobs(id='py-roll')['jobs'][0]['status']['job_state'] == 'stopping'
    with pytest.raises(elasticsearch.ApiError) as info:
        es.options(retry_on_status=()).rollup.delete_job(id='py-roll')
    assert info.value.status_code == 500
    assert info.value.body['task_failures'][0]['reason']['type'] == 'illegal_state_exception'
    assert es.rollup.stop_job(id='py-roll', wait_for_completion=True, timeout='5s')['stopped'] is True
    assert es.rollup.delete_job(id='py-roll')['acknowledged'] is True
    with pytest.raises(elasticsearch.NotFoundError) as info:
        es.rollup.start_job(id='py-roll')
    assert info.value.body['error']['reason'] == 'Task for Rollup Job [py-roll] not found'


def test_security_with_client(emu_factory):
    emu = emu_factory('8.19.0', security=True)
    with elasticsearch.Elasticsearch(emu.url) as anonymous:
        with pytest.raises(elasticsearch.AuthenticationException):
            anonymous.ml.get_jobs()
    with elasticsearch.Elasticsearch(emu.url, basic_auth=('ml_viewer', 'changeme')) as viewer:
        assert viewer.ml.get_jobs()['count'] == 0
        with pytest.raises(elasticsearch.AuthorizationException) as info:
            viewer.ml.close_job(job_id='x')
        assert info.value.body['error']['reason'].startswith('action [cluster:admin/xpack/ml/job/close] is unauthorized for user [ml_viewer]')
    with elasticsearch.Elasticsearch(emu.url, basic_auth=('elastic', 'changeme')) as admin:
        key = admin.security.create_api_key(name='py', role_descriptors={'r': {'cluster': ['manage_ml']}})
    with elasticsearch.Elasticsearch(emu.url, api_key=key['encoded']) as by_key:
        by_key.ml.put_job(job_id='k1', **JOB)
        assert by_key.security.authenticate()['username'] == 'elastic'


class _nullcontext:  # pylint: disable=invalid-name
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
