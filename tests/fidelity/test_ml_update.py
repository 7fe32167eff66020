"""Update job / update datafeed and the remaining ML differences of issue 23 (items 1, 2 and 4).

Our own cases. Sources, cited again in tests/emulator/ml.py, ml_config.py, parsing.py and versions.py:
x-pack core ml/job/config/JobUpdate.java (6.x and 7.15+ copies: EXTERNAL_PARSER, mergeWithJob, DetectorUpdate),
x-pack ml/job/JobManager.java (updateJob, validateAnalysisLimitsUpdate: 6.6-6.8 and 8.x copies),
x-pack ml/action/TransportUpdateJobAction.java ("Job Id _all cannot be for update"),
x-pack core ml/datafeed/DatafeedUpdate.java (PARSER, apply, ERROR_MESSAGE_ON_JOB_ID_UPDATE; PR 44752 for 7.4),
x-pack ml/action/TransportUpdateDatafeedAction.java (6.8: checkJobDoesNotHaveADifferentDatafeed; every version:
DATAFEED_CANNOT_UPDATE_IN_CURRENT_STATE; PR 92227 for "only while stopped"), Job.java (Builder.build: results index
name prefix), TransportMlInfoAction.java (6.8 and 7.x defaults; PR 49545 for the 7.6 analyzer).
"""

import pytest

from tests import es_http

from .conftest import Client

ERAS = ('6.8.23', '7.13.4', '7.14.2', '7.17.0', '8.19.0', '9.1.0')


def base(version):
    return '/_xpack/ml' if version.startswith('6') else '/_ml'


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


def vt(version):
    return tuple(int(x) for x in version.split('.'))


def _categorization_job(es, version, job_id='upd'):
    body = {'description': 'before',
            'analysis_config': {'bucket_span': '15m', 'categorization_field_name': 'msg',
                                'detectors': [{'function': 'mean', 'field_name': 'rt', 'by_field_name': 'airline'},
                                              {'function': 'count', 'by_field_name': 'mlcategory'}]},
            'data_description': {}, 'model_plot_config': {'enabled': True, 'terms': 'a,b'},
            'analysis_limits': {'model_memory_limit': '12mb'}, 'renormalization_window_days': 1,
            'background_persist_interval': '2h', 'model_snapshot_retention_days': 3, 'results_retention_days': 4,
            'custom_settings': {'owner': 'team-a'}}
    resp = es('PUT', '%s/anomaly_detectors/%s' % (base(version), job_id), body)
    assert resp.status == 200, resp.body
    return resp.body


# ---------------------------------------------------------------- item 1: update job

@pytest.mark.parametrize('version', ERAS)
def test_update_job_merges_fields_and_get_reads_them_back(emu_factory, version):
    es = Client(emu_factory(version))
    _categorization_job(es, version)
    assert es('POST', base(version) + '/anomaly_detectors/upd/_open').status == 200
    update = {'groups': ['g-one', 'g-two'], 'description': 'after',
              'detectors': [{'detector_index': 0, 'custom_rules': [{'conditions': [{'applies_to': 'actual', 'operator': 'gt',
                                                                                    'value': 5}]}]},
                            {'detector_index': 1, 'description': 'renamed'}],
              'model_plot_config': {'enabled': False, 'terms': 'c'}, 'renormalization_window_days': 7,
              'background_persist_interval': '4h', 'model_snapshot_retention_days': 20, 'results_retention_days': 30,
              'custom_settings': {'owner': 'team-b'}}
    resp = es('POST', base(version) + '/anomaly_detectors/upd/_update', update)
    assert resp.status == 200, resp.body
    got = es('GET', base(version) + '/anomaly_detectors/upd').body['jobs'][0]
    for job in (resp.body, got):
        assert job['groups'] == ['g-one', 'g-two'] and job['description'] == 'after'
        detectors = job['analysis_config']['detectors']
        # DetectionRule.toXContent: actions default to [skip_result]
        assert detectors[0]['custom_rules'] == [{'actions': ['skip_result'],
                                                 'conditions': [{'applies_to': 'actual', 'operator': 'gt', 'value': 5}]}]
        assert [d['detector_index'] for d in detectors] == [0, 1]
        assert detectors[1]['detector_description'] == 'renamed'
        expected_plot = {'enabled': False, 'terms': 'c'}
        if vt(version) >= (7, 9):
            expected_plot['annotations_enabled'] = False   # ModelPlotConfig 7.9+: defaults to `enabled`, always written
        assert job['model_plot_config'] == expected_plot
        assert (job['renormalization_window_days'], job['background_persist_interval']) == (7, '4h')
        assert (job['model_snapshot_retention_days'], job['results_retention_days']) == (20, 30)
        assert job['custom_settings'] == {'owner': 'team-b'}   # replaced, not merged
        assert job['analysis_limits']['model_memory_limit'] == '12mb'
    # groups are job selectors at once
    assert es('GET', base(version) + '/anomaly_detectors/g-two').body['count'] == 1


@pytest.mark.parametrize('version', ERAS)
def test_model_memory_limit_only_while_closed(emu_factory, version):
    es = Client(emu_factory(version))
    es.put_job('mml', base=base(version), analysis_limits={'model_memory_limit': '20mb'})
    es('POST', base(version) + '/anomaly_detectors/mml/_open')
    resp = es('POST', base(version) + '/anomaly_detectors/mml/_update', {'analysis_limits': {'model_memory_limit': '30mb'}})
    assert resp.status == 400
    assert err(resp) == ('status_exception', 'Cannot update analysis_limits while the job is open')
    # other fields may change while the job is open
    assert es('POST', base(version) + '/anomaly_detectors/mml/_update', {'description': 'x'}).status == 200
    assert es('POST', base(version) + '/anomaly_detectors/mml/_close').status == 200
    # closed: raised, then lowered (no model yet, so nothing to stay above); the limits are re-validated
    for value, stored in (('40mb', '40mb'), ('15mb', '15mb'), ('1gb', '1024mb')):
        resp = es('POST', base(version) + '/anomaly_detectors/mml/_update', {'analysis_limits': {'model_memory_limit': value}})
        assert resp.status == 200, resp.body
        assert resp.body['analysis_limits'] == {'model_memory_limit': stored, 'categorization_examples_limit': 4}
    resp = es('POST', base(version) + '/anomaly_detectors/mml/_update', {'analysis_limits': {'model_memory_limit': '100kb'}})
    assert resp.status == 400 and err(resp)[1] == 'model_memory_limit must be at least 1 MiB. Value = 100kb'


@pytest.mark.parametrize('version', ('6.8.23', '7.13.4', '8.19.0'))
def test_update_job_refusals(emu_factory, version):
    es = Client(emu_factory(version))
    path = base(version) + '/anomaly_detectors/%s/_update'
    es.put_job('j1', base=base(version))
    es.put_job('other', base=base(version))
    resp = es('POST', path % 'missing', {'description': 'x'})
    assert resp.status == 404 and err(resp) == ('resource_not_found_exception', "No known job with id 'missing'")
    resp = es('POST', path % '_all', {'description': 'x'})
    assert resp.status == 400 and err(resp) == ('illegal_argument_exception', 'Job Id _all cannot be for update')
    resp = es('POST', path % 'j1', {'groups': ['other']})
    assert resp.status == 400
    assert err(resp) == ('resource_already_exists_exception',
                         'job and group names must be unique but job [other] and group [other] have the same name')
    resp = es('POST', path % 'j1', {'detectors': [{'detector_index': 3, 'description': 'x'}]})
    assert resp.status == 400
    assert err(resp) == ('status_exception', 'Supplied detector_index [3] is >= the number of detectors [1]')
    resp = es('POST', path % 'j1', {'categorization_filters': ['x.*']})
    assert err(resp) == ('status_exception', 'categorization_filters require setting categorization_field_name')
    # fields only the internal parser knows are unknown to a REST request
    resp = es_http.request(es.url, 'POST', path % 'j1', '{"model_snapshot_id":"1"}')
    assert resp.status == 400
    if version.startswith('6'):
        assert err(resp) == ('x_content_parse_exception', '[1:2] [job_update] unknown field [model_snapshot_id], parser not found')
    else:
        assert err(resp)[0] == 'x_content_parse_exception'
        assert err(resp)[1].startswith('[1:2] [job_update] unknown field [model_snapshot_id]')
    # nothing changed
    job = es('GET', base(version) + '/anomaly_detectors/j1').body['jobs'][0]
    assert 'groups' not in job and job['analysis_config']['detectors'][0]['detector_description'] == 'count'


@pytest.mark.parametrize('version,known', (('6.8.23', False), ('7.13.4', True), ('9.1.0', True)))
def test_daily_retention_is_a_7_8_field(emu_factory, version, known):
    es = Client(emu_factory(version))
    es.put_job('r1', base=base(version))
    path = base(version) + '/anomaly_detectors/r1/_update'
    resp = es('POST', path, {'daily_model_snapshot_retention_after_days': 40})
    if not known:
        assert resp.status == 400 and err(resp)[0] == 'x_content_parse_exception'
        assert es('GET', base(version) + '/anomaly_detectors/r1').body['jobs'][0]['model_snapshot_retention_days'] == 1
        return
    assert resp.status == 400
    assert err(resp) == ('status_exception', 'The value of daily_model_snapshot_retention_after_days [40] cannot be greater '
                                             'than model_snapshot_retention_days [10]')
    assert es('POST', path, {'daily_model_snapshot_retention_after_days': 4}).status == 200
    resp = es('POST', path, {'model_snapshot_retention_days': 2})
    assert err(resp)[1] == ('The value of daily_model_snapshot_retention_after_days [4] cannot be greater than '
                            'model_snapshot_retention_days [2]')


def test_categorization_filters_per_version(emu_factory):
    """7.13: filters stay filters and can be replaced; 7.14+: PUT moved them into the standard analyzer, so an
    update of categorization_filters fails the AnalysisConfig check."""
    old = Client(emu_factory('7.13.4'))
    _categorization_job(old, '7.13.4')
    resp = old('POST', '/_ml/anomaly_detectors/upd/_update', {'categorization_filters': ['x.*']})
    assert resp.status == 200 and resp.body['analysis_config']['categorization_filters'] == ['x.*']
    new = Client(emu_factory('7.17.0'))
    job = _categorization_job(new, '7.17.0')
    assert job['analysis_config']['categorization_analyzer']['char_filter'] == ['first_non_blank_line']
    resp = new('POST', '/_ml/anomaly_detectors/upd/_update', {'categorization_filters': ['x.*']})
    assert resp.status == 400
    assert err(resp)[1].startswith('categorization_filters cannot be used with categorization_analyzer')


def test_per_partition_enabled_cannot_change(emu_factory):
    es = Client(emu_factory('8.19.0'))
    _categorization_job(es, '8.19.0')
    resp = es('POST', '/_ml/anomaly_detectors/upd/_update', {'per_partition_categorization': {'enabled': True}})
    assert resp.status == 400
    assert err(resp) == ('status_exception', 'analysis_config.per_partition_categorization.enabled cannot be updated')
    resp = es('POST', '/_ml/anomaly_detectors/upd/_update', {'per_partition_categorization': {'enabled': False,
                                                                                              'stop_on_warn': True}})
    assert resp.status == 200
    assert resp.body['analysis_config']['per_partition_categorization'] == {'enabled': False, 'stop_on_warn': True}


@pytest.mark.parametrize('version', ('7.17.0', '8.19.0'))
def test_allow_lazy_open_and_model_prune_window(emu_factory, version):
    es = Client(emu_factory(version))
    es.put_job('p1')   # bucket_span 15m
    assert es('POST', '/_ml/anomaly_detectors/p1/_update', {'allow_lazy_open': True}).body['allow_lazy_open'] is True
    resp = es('POST', '/_ml/anomaly_detectors/p1/_update', {'model_prune_window': '1h'})
    if version.startswith('7'):
        assert resp.status == 400 and err(resp)[0] == 'x_content_parse_exception'   # 8.0+ field
        return
    assert resp.status == 200 and resp.body['analysis_config']['model_prune_window'] == '1h'
    resp = es('POST', '/_ml/anomaly_detectors/p1/_update', {'model_prune_window': '20m'})
    assert resp.status == 400
    assert err(resp) == ('status_exception', 'model_prune_window [20m] must be a multiple of bucket_span [15m]')
    resp = es('POST', '/_ml/anomaly_detectors/p1/_update', {'model_prune_window': '15m'})
    assert err(resp)[1] == 'model_prune_window [15m] must be at least 2 times greater than bucket_span [15m]'
    assert es('GET', '/_ml/anomaly_detectors/p1').body['jobs'][0]['analysis_config']['model_prune_window'] == '1h'


# ---------------------------------------------------------------- item 2: update datafeed

def _feed(es, version, df_id='f1', job_id='fj'):
    es.put_job(job_id, base=base(version))
    es.put_datafeed(df_id, job_id, base=base(version))


@pytest.mark.parametrize('version', ERAS)
def test_update_datafeed_only_while_stopped(emu_factory, version):
    es = Client(emu_factory(version))
    _feed(es, version)
    es('POST', base(version) + '/anomaly_detectors/fj/_open')
    assert es('POST', base(version) + '/datafeeds/f1/_start').status == 200
    resp = es('POST', base(version) + '/datafeeds/f1/_update', {'scroll_size': 10})
    assert resp.status == 409
    assert err(resp) == ('status_exception', 'Cannot update datafeed [f1] while its status is started')
    assert es('POST', base(version) + '/datafeeds/f1/_stop').status == 200
    resp = es('POST', base(version) + '/datafeeds/f1/_update', {'scroll_size': 10})
    assert resp.status == 200 and resp.body['scroll_size'] == 10
    resp = es('POST', base(version) + '/datafeeds/nope/_update', {'scroll_size': 10})
    assert resp.status == 404 and err(resp) == ('resource_not_found_exception', 'No datafeed with id [nope] exists')


@pytest.mark.parametrize('version', ERAS)
def test_update_datafeed_fields_and_normalisation(emu_factory, version):
    es = Client(emu_factory(version))
    _feed(es, version)
    es.create_index('other', {'time': {'type': 'date'}})
    update = {'indexes': ['other'], 'query': {'term': {'airline': 'AAL'}}, 'frequency': '150s', 'query_delay': '2m',
              'scroll_size': 500, 'chunking_config': {'mode': 'manual', 'time_span': '1h'},
              'aggs': {'buckets': {'date_histogram': {'field': 'time', 'fixed_interval': '1h'}}}}
    if vt(version) >= (7, 5):
        update['max_empty_searches'] = 5
    if vt(version) >= (7, 11):
        update['runtime_mappings'] = {'hour': {'type': 'long'}}
    resp = es('POST', base(version) + '/datafeeds/f1/_update', update)
    assert resp.status == 200, resp.body
    got = es('GET', base(version) + '/datafeeds/f1').body['datafeeds'][0]
    for feed in (resp.body, got):
        assert feed['indices'] == ['other'] and feed['query'] == {'term': {'airline': 'AAL'}}
        assert (feed['frequency'], feed['query_delay'], feed['scroll_size']) == ('150s', '2m', 500)
        assert feed['chunking_config'] == {'mode': 'manual', 'time_span': '1h'}
        assert 'aggs' not in feed and 'date_histogram' in feed['aggregations']['buckets']   # `aggs` is read back as `aggregations`
        assert feed.get('max_empty_searches') == update.get('max_empty_searches')
        assert feed.get('runtime_mappings') == update.get('runtime_mappings')
        assert feed['job_id'] == 'fj'
    if vt(version) >= (7, 5):
        resp = es('POST', base(version) + '/datafeeds/f1/_update', {'max_empty_searches': -1})
        assert 'max_empty_searches' not in resp.body   # -1 unsets it


@pytest.mark.parametrize('version', ERAS)
def test_update_datafeed_job_id(emu_factory, version):
    es = Client(emu_factory(version))
    _feed(es, version)
    es.put_job('j2', base=base(version))
    # the current job_id may be sent back (get-modify-update)
    assert es('POST', base(version) + '/datafeeds/f1/_update', {'job_id': 'fj'}).status == 200
    resp = es('POST', base(version) + '/datafeeds/f1/_update', {'job_id': 'j2'})
    if vt(version) >= (7, 4):
        assert resp.status == 400 and err(resp) == ('status_exception', "Datafeed's job_id cannot be changed.")
        return
    # 6.8: another job, if it exists and has no datafeed of its own
    assert resp.status == 200 and resp.body['job_id'] == 'j2'
    es.put_job('j3', base=base(version))
    es.put_datafeed('f3', 'j3', base=base(version))
    resp = es('POST', base(version) + '/datafeeds/f1/_update', {'job_id': 'j3'})
    assert resp.status == 409 and err(resp) == ('status_exception', 'A datafeed [f3] already exists for job [j3]')
    resp = es('POST', base(version) + '/datafeeds/f1/_update', {'job_id': 'nojob'})
    assert resp.status == 404 and err(resp)[1] == "No known job with id 'nojob'"


@pytest.mark.parametrize('version,deprecated', (('7.13.4', False), ('7.17.0', True), ('8.19.0', True)))
def test_update_datafeed_indices_options(emu_factory, version, deprecated):
    es = Client(emu_factory(version))
    _feed(es, version)
    # a body object: omitted keys take the defaults, no warning
    resp = es('POST', '/_ml/datafeeds/f1/_update', {'indices_options': {'ignore_unavailable': True}})
    assert resp.status == 200, resp.body
    assert resp.body['indices_options'] == {'expand_wildcards': ['open'], 'ignore_unavailable': True,
                                            'allow_no_indices': True, 'ignore_throttled': True}
    assert 'Warning' not in resp.headers
    # parameters: IndicesOptions.fromRequest over the defaults replaces the body's object whole
    resp = es('POST', '/_ml/datafeeds/f1/_update?ignore_throttled=false&expand_wildcards=open,closed',
              {'indices_options': {'ignore_unavailable': True}})
    assert resp.status == 200, resp.body
    assert resp.body['indices_options'] == {'expand_wildcards': ['open', 'closed'], 'ignore_unavailable': False,
                                            'allow_no_indices': True, 'ignore_throttled': False}
    warning = resp.headers.get('Warning') or ''
    assert ('[ignore_throttled] parameter is deprecated' in warning) is deprecated
    # an update without indices options keeps the stored ones
    assert es('POST', '/_ml/datafeeds/f1/_update', {'scroll_size': 9}).body['indices_options'] == resp.body['indices_options']


def test_update_datafeed_bad_query_and_unknown_field(emu_factory):
    es = Client(emu_factory('8.19.0'))
    _feed(es, '8.19.0')
    resp = es_http.request(es.url, 'POST', '/_ml/datafeeds/f1/_update', '{"query":{"no_such_query":{}}}')
    assert resp.status == 400
    assert err(resp) == ('x_content_parse_exception', '[1:10] [datafeed_update] failed to parse field [query]')
    resp = es_http.request(es.url, 'POST', '/_ml/datafeeds/f1/_update', '{"config_type":"datafeed"}')
    assert resp.status == 400 and err(resp)[1].startswith('[1:2] [datafeed_update] unknown field [config_type]')


def test_update_datafeed_rewrites_authorization(emu_factory):
    import base64  # pylint: disable=import-outside-toplevel
    emu = emu_factory('8.19.0', security=True)
    admin = Client(emu, {'Authorization': 'Basic ' + base64.b64encode(b'elastic:changeme').decode()})
    admin('PUT', '/data', {})
    admin.put_job('fj')
    admin('PUT', '/_ml/datafeeds/f1', {'job_id': 'fj', 'indices': ['data']})
    ml_admin = Client(emu, {'Authorization': 'Basic ' + base64.b64encode(b'ml_admin:changeme').decode()})
    resp = ml_admin('POST', '/_ml/datafeeds/f1/_update', {'scroll_size': 10})
    assert resp.status == 200 and resp.body['authorization'] == {'roles': ['ml_admin']}
    assert admin('GET', '/_ml/datafeeds/f1').body['datafeeds'][0]['authorization'] == {'roles': ['ml_admin']}


# ---------------------------------------------------------------- upgrade mode and the update actions

@pytest.mark.parametrize('version,refused', (('7.7.1', False), ('7.8.1', True), ('9.1.0', True)))
def test_updates_in_upgrade_mode(emu_factory, version, refused):
    """MlUpgradeModeActionFilter (7.8+) lists update job and update datafeed; before it only open job refused."""
    es = Client(emu_factory(version))
    _feed(es, version)
    es('POST', '/_ml/set_upgrade_mode?enabled=true')
    job = es('POST', '/_ml/anomaly_detectors/fj/_update', {'description': 'x'})
    feed = es('POST', '/_ml/datafeeds/f1/_update', {'scroll_size': 10})
    if not refused:
        assert (job.status, feed.status) == (200, 200)
        return
    assert (job.status, feed.status) == (429, 429)
    assert err(job)[1] == 'Cannot perform cluster:admin/xpack/ml/job/update action while upgrade mode is enabled'
    assert err(feed)[1] == 'Cannot perform cluster:admin/xpack/ml/datafeeds/update action while upgrade mode is enabled'


# ---------------------------------------------------------------- item 4: remaining differences

@pytest.mark.parametrize('version', ('6.8.23', '7.17.0', '9.1.0'))
def test_results_index_name_gets_the_custom_prefix(emu_factory, version):
    es = Client(emu_factory(version))
    assert es.put_job('c1', base=base(version), results_index_name='mine').body['results_index_name'] == 'custom-mine'
    es.put_job('c2', base=base(version), results_index_name='custom-kept')
    es.put_job('c3', base=base(version), results_index_name='shared')
    jobs = es('GET', base(version) + '/anomaly_detectors/c1,c2,c3').body['jobs']
    assert [j['results_index_name'] for j in jobs] == ['custom-mine', 'custom-kept', 'shared']


@pytest.mark.parametrize('version', ('6.8.23', '7.5.2', '7.7.1', '7.13.4', '7.14.2', '8.19.0'))
def test_ml_info_anomaly_detector_defaults(emu_factory, version):
    defaults = Client(emu_factory(version))('GET', base(version) + '/info').body['defaults']['anomaly_detectors']
    analyzer = defaults.get('categorization_analyzer')
    if vt(version) < (7, 6):
        assert analyzer is None
    elif vt(version) < (7, 14):
        assert analyzer['tokenizer'] == 'ml_classic' and 'char_filter' not in analyzer
    else:
        assert analyzer['tokenizer'] == 'ml_standard'
        assert analyzer['char_filter'] == ['first_line_with_letters' if vt(version) >= (8, 0) else 'first_non_blank_line']
    assert defaults['model_snapshot_retention_days'] == (10 if vt(version) >= (7, 8) else 1)
    assert ('daily_model_snapshot_retention_after_days' in defaults) is (vt(version) >= (7, 8))


@pytest.mark.parametrize('version,warned', (('7.15.2', False), ('7.17.0', True), ('8.19.0', True)))
def test_put_job_accepts_indices_options_params(emu_factory, version, warned):
    es = Client(emu_factory(version))
    body = {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]}, 'data_description': {}}
    resp = es('PUT', '/_ml/anomaly_detectors/io1?ignore_unavailable=true&allow_no_indices=false&ignore_throttled=false'
                     '&expand_wildcards=open', body)
    assert resp.status == 200, resp.body
    assert ('[ignore_throttled] parameter is deprecated' in (resp.headers.get('Warning') or '')) is warned


@pytest.mark.parametrize('version', ('7.13.4', '8.19.0'))
def test_put_datafeed_body_indices_options_win_over_parameters(emu_factory, version):
    """PutDatafeedAction.Request.parseRequest sets the parameters' IndicesOptions only when the body has none."""
    es = Client(emu_factory(version))
    es.put_job('j1')
    es.create_index('data', {'time': {'type': 'date'}})
    resp = es('PUT', '/_ml/datafeeds/d1?expand_wildcards=closed&allow_no_indices=false',
              {'job_id': 'j1', 'indices': ['data'], 'indices_options': {'ignore_unavailable': True}})
    assert resp.status == 200, resp.body
    assert resp.body['indices_options'] == {'expand_wildcards': ['open'], 'ignore_unavailable': True,
                                            'allow_no_indices': True, 'ignore_throttled': True}
    # the parameters are still parsed first (RestPutDatafeedAction, before the body): a bad one fails even with a body
    # object, and before the datafeed's own checks (here: d1 already exists)
    resp = es('PUT', '/_ml/datafeeds/d1?expand_wildcards=bogus',
              {'job_id': 'j1', 'indices': ['data'], 'indices_options': {'ignore_unavailable': True}})
    assert resp.status == 400 and err(resp) == ('illegal_argument_exception', 'No valid expand wildcard value [bogus]')
