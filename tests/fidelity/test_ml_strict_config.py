"""ML request parsing, normalised configs and validation per personality (issue 12 areas 1-3).

Each case is our own, written after ES's YAML REST tests ml/jobs_crud.yml and ml/datafeeds_crud.yml
(x-pack/plugin/src/yamlRestTest/resources/rest-api-spec/test/ml/, elastic/elasticsearch) and the parser sources cited
in tests/emulator/parsing.py and tests/emulator/ml_config.py.
"""

import pytest

from tests import es_http

from .conftest import Client

ALL = ('6.8.23', '7.13.4', '7.17.0', '8.19.0', '9.1.0')
JOB = {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]}, 'data_description': {}}


def base(version):
    return '/_xpack/ml' if version.startswith('6') else '/_ml'


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


def raw_put(es, path, text):
    """PUT a body exactly as written (the error locations depend on it)."""
    return es_http.request(es.url, 'PUT', path, text)


# ---------------------------------------------------------------- area 1: strict parsing

@pytest.mark.parametrize('version', ALL)
def test_unknown_job_field_is_a_parse_error(emu_factory, version):
    es = Client(emu_factory(version))
    resp = raw_put(es, base(version) + '/anomaly_detectors/j1',
                   '{"analysis_config":{"detectors":[{"function":"count"}]},"data_description":{},"descriptoin":"x"}')
    assert resp.status == 400
    if version.startswith('6'):
        # 6.8 ObjectParser.getParser
        assert err(resp) == ('x_content_parse_exception', '[1:79] [job_details] unknown field [descriptoin], parser not found')
    else:
        # SuggestingErrorOnUnknown: every candidate with Levenshtein similarity > 0.5, most similar first
        assert err(resp) == ('x_content_parse_exception',
                             '[1:79] [job_details] unknown field [descriptoin] did you mean any of [description, data_description]?')
    assert resp.body['error']['root_cause'][0]['type'] == 'x_content_parse_exception'
    assert es('GET', base(version) + '/anomaly_detectors/j1').status == 404


@pytest.mark.parametrize('version', ('6.8.23', '8.19.0'))
def test_nested_unknown_field_is_wrapped_per_level(emu_factory, version):
    es = Client(emu_factory(version))
    text = '{"analysis_config":{"detectors":[{"function":"count","bogus":1}]},"data_description":{}}'
    resp = raw_put(es, base(version) + '/anomaly_detectors/j1', text)
    assert resp.status == 400
    error = resp.body['error']
    if version.startswith('6'):
        # every level is reported at the unknown field's name token
        assert error['reason'] == '[1:54] [job_details] failed to parse field [analysis_config]'
        assert error['caused_by']['reason'] == '[1:54] [analysis_config] failed to parse field [detectors]'
        assert error['root_cause'][0]['reason'] == '[1:54] [detector] unknown field [bogus], parser not found'
    else:
        # the wrappers carry the current token (the unknown field's value), the innermost its name
        assert error['reason'] == '[1:62] [job_details] failed to parse field [analysis_config]'
        assert error['caused_by']['reason'] == '[1:62] [analysis_config] failed to parse field [detectors]'
        assert error['root_cause'] == [{'type': 'x_content_parse_exception', 'reason': '[1:54] [detector] unknown field [bogus]'}]


def test_unknown_datafeed_field_and_suggestions(emu_factory):
    es = Client(emu_factory('8.19.0'))
    es.put_job('j1')
    es('PUT', '/data', {})
    resp = raw_put(es, '/_ml/datafeeds/d1', '{"job_id":"j1","indices":["data"],"scrol_size":10}')
    assert resp.status == 400
    assert err(resp) == ('x_content_parse_exception', '[1:35] [datafeed_config] unknown field [scrol_size] did you mean [scroll_size]?')
    resp = raw_put(es, '/_ml/datafeeds/d1', '{"job_id":"j1","indices":["data"],"zzz":1}')
    assert err(resp)[1] == '[1:35] [datafeed_config] unknown field [zzz]'


@pytest.mark.parametrize('version', ('7.13.4', '9.1.0'))
def test_close_and_stop_bodies_are_strict_open_and_start_lenient(emu_factory, version):
    es = Client(emu_factory(version))
    es.put_job('j1')
    es.put_datafeed('d1', 'j1')
    # OpenJobAction.JobParams / StartDatafeedAction.DatafeedParams ignore unknown fields
    assert es('POST', '/_ml/anomaly_detectors/j1/_open', {'timeout': '10s', 'extra': 1}).status == 200
    assert es('POST', '/_ml/datafeeds/d1/_start', {'extra': 1}).status == 200
    resp = es('POST', '/_ml/datafeeds/d1/_stop', {'forse': True})
    assert resp.status == 400 and err(resp) == (
        'x_content_parse_exception', '[1:2] [cluster:admin/xpack/ml/datafeed/stop] unknown field [forse] did you mean [force]?')
    resp = es('POST', '/_ml/anomaly_detectors/j1/_close', {'timeout': '10s', 'nope': True})
    assert resp.status == 400 and err(resp)[1].endswith('[cluster:admin/xpack/ml/job/close] unknown field [nope]')


@pytest.mark.parametrize('version', ('6.8.23', '8.19.0'))
def test_bare_boolean_parameter_means_true(emu_factory, version):
    """RestRequest.paramAsBoolean: `?force` with no value is true."""
    es = Client(emu_factory(version, close_seconds=2.0, stop_seconds=2.0))
    b = base(version)
    es.put_job('j1', base=b)
    es.put_datafeed('d1', 'j1', base=b)
    es('POST', b + '/anomaly_detectors/j1/_open')
    es('POST', b + '/datafeeds/d1/_start')
    resp = es('POST', b + '/datafeeds/d1/_stop?force', timeout=1.5)
    assert resp.body == {'stopped': True}
    resp = es('POST', b + '/anomaly_detectors/j1/_close?force', timeout=1.5)
    assert resp.body == {'closed': True}
    resp = es('POST', b + '/anomaly_detectors/j1/_close?force=yes')
    assert resp.status == 400
    assert err(resp) == ('illegal_argument_exception', 'Failed to parse value [yes] as only [true] or [false] are allowed.')


@pytest.mark.parametrize('version,accepted', (('6.8.23', False), ('7.13.4', True), ('9.1.0', True)))
def test_put_datafeed_indices_options_parameters(emu_factory, version, accepted):
    es = Client(emu_factory(version))
    b = base(version)
    es.put_job('j1', base=b)
    es('PUT', '/data', {})
    resp = es('PUT', b + '/datafeeds/d1?ignore_throttled=false&expand_wildcards=closed,open',
              {'job_id': 'j1', 'indices': ['data']})
    if not accepted:
        assert resp.status == 400 and 'unrecognized parameters' in err(resp)[1]
        return
    assert resp.status == 200, resp.body
    # IndicesOptions.toXContent: expand_wildcards in enum order
    assert resp.body['indices_options'] == {'expand_wildcards': ['open', 'closed'], 'ignore_unavailable': False,
                                            'allow_no_indices': True, 'ignore_throttled': False}
    resp = es('PUT', b + '/datafeeds/d2?expand_wildcards=all', {'job_id': 'j1', 'indices': ['data2']})
    assert resp.status == 400    # one datafeed per job
    es.put_job('j2', base=b)
    resp = es('PUT', b + '/datafeeds/d2?expand_wildcards=all', {'job_id': 'j2', 'indices': ['data']})
    assert resp.body['indices_options']['expand_wildcards'] == ['open', 'closed', 'hidden']


@pytest.mark.parametrize('version,in_plain,with_exclude', (
    ('7.13.4', False, False), ('7.17.0', True, False), ('8.19.0', True, True), ('9.1.0', True, True)))
def test_exclude_generated_on_get_jobs_and_datafeeds(emu_factory, version, in_plain, with_exclude):
    es = Client(emu_factory(version))
    es.put_job('j1', custom_settings={'created_by': 'ml-module', 'team': 'a'})
    es.put_datafeed('d1', 'j1')
    job = es('GET', '/_ml/anomaly_detectors/j1?exclude_generated').body['jobs'][0]
    assert 'create_time' not in job and 'job_version' not in job and 'job_type' not in job
    assert job['custom_settings'] == {'team': 'a'}
    # Job.doXContentBody: 7.x writes datafeed_config only without exclude_generated, 8.0+ always
    assert ('datafeed_config' in job) is with_exclude
    plain = es('GET', '/_ml/anomaly_detectors/j1').body['jobs'][0]
    assert ('datafeed_config' in plain) is in_plain
    assert es('GET', '/_ml/datafeeds/d1?exclude_generated=true').status == 200


def test_exclude_generated_unknown_on_6_8(emu_factory):
    es = Client(emu_factory('6.8.23'))
    resp = es('GET', '/_xpack/ml/datafeeds?exclude_generated=true')
    assert resp.status == 400 and 'unrecognized parameter: [exclude_generated]' in err(resp)[1]


# ---------------------------------------------------------------- area 2: normalised configs

@pytest.mark.parametrize('version', ALL)
def test_function_shortcuts_and_rule_defaults(emu_factory, version):
    es = Client(emu_factory(version))
    b = base(version)
    body = {'analysis_config': {'bucket_span': '1h', 'detectors': [
        {'function': 'nzc', 'by_field_name': 'airline'}, {'function': 'high_dc', 'field_name': 'ip'},
        {'function': 'count', 'by_field_name': 'country', 'custom_rules': [
            {'scope': {'country': {'filter_id': 'safe'}}, 'conditions': [{'applies_to': 'actual', 'operator': 'lt', 'value': 3}]}]}]},
        'data_description': {}}
    resp = es('PUT', b + '/anomaly_detectors/j1', body)
    assert resp.status == 200, resp.body
    detectors = es('GET', b + '/anomaly_detectors/j1').body['jobs'][0]['analysis_config']['detectors']
    assert [d['function'] for d in detectors] == ['non_zero_count', 'high_distinct_count', 'count']
    assert detectors[0]['detector_description'] == 'non_zero_count by airline'
    assert detectors[2]['custom_rules'] == [{'actions': ['skip_result'], 'scope': {'country': {'filter_id': 'safe', 'filter_type': 'include'}},
                                             'conditions': [{'applies_to': 'actual', 'operator': 'lt', 'value': 3}]}]


def test_datafeed_aggs_stored_as_aggregations(emu_factory):
    es = Client(emu_factory('8.19.0'))
    es.put_job('j1')
    es('PUT', '/data', {})
    aggs = {'buckets': {'date_histogram': {'field': 'time', 'fixed_interval': '15m'}, 'aggs': {'time': {'max': {'field': 'time'}}}}}
    resp = es('PUT', '/_ml/datafeeds/d1', {'job_id': 'j1', 'indices': ['data'], 'aggs': aggs})
    assert resp.status == 200 and resp.body['aggregations'] == aggs and 'aggs' not in resp.body
    assert es('GET', '/_ml/datafeeds/d1').body['datafeeds'][0]['aggregations'] == aggs


def test_max_model_memory_limit_option(emu_factory):
    es = Client(emu_factory('8.19.0', ml_max_model_memory_limit='512mb'))
    info = es('GET', '/_ml/info').body
    assert info['limits']['max_model_memory_limit'] == '512mb'
    assert info['limits']['effective_max_model_memory_limit'] == '512mb'
    assert info['defaults']['anomaly_detectors']['model_memory_limit'] == '512mb'
    assert es.put_job('j1').body['analysis_limits']['model_memory_limit'] == '512mb'
    resp = es('PUT', '/_ml/anomaly_detectors/j2', dict(JOB, analysis_limits={'model_memory_limit': '1gb'}))
    assert resp.status == 400 and err(resp) == (
        'status_exception', 'model_memory_limit [1gb] must be less than the value of the xpack.ml.max_model_memory_limit setting [512mb]')


def test_max_model_memory_limit_cluster_setting(emu_factory):
    es = Client(emu_factory('8.19.0'))
    assert 'max_model_memory_limit' not in es('GET', '/_ml/info').body['limits']
    es('PUT', '/_cluster/settings', {'transient': {'xpack.ml.max_model_memory_limit': '9g'}})
    assert es.put_job('j1', analysis_limits={'model_memory_limit': '8g'}).body['analysis_limits']['model_memory_limit'] == '8192mb'
    resp = es('PUT', '/_ml/anomaly_detectors/j2', dict(JOB, analysis_limits={'model_memory_limit': '10g'}))
    assert err(resp)[1] == 'model_memory_limit [10gb] must be less than the value of the xpack.ml.max_model_memory_limit setting [9gb]'
    assert es('GET', '/_ml/info').body['limits']['max_model_memory_limit'] == '9g'
    es('PUT', '/_cluster/settings', {'transient': {'xpack.ml.max_model_memory_limit': None}})
    assert es.put_job('j3', analysis_limits={'model_memory_limit': '10g'}).body['analysis_limits']['model_memory_limit'] == '10240mb'


# ---------------------------------------------------------------- area 3: validation

@pytest.mark.parametrize('version', ('6.8.23', '8.19.0'))
def test_group_validation(emu_factory, version):
    es = Client(emu_factory(version))
    b = base(version)
    invalid = ("Invalid group id '%s'; must be non-empty string and may contain lowercase alphanumeric (a-z and 0-9), "
               "hyphens or underscores; must start and end with alphanumeric")
    for group in ('', 'Bad!', '-x'):
        resp = es('PUT', b + '/anomaly_detectors/j1', dict(JOB, groups=[group]))
        assert resp.status == 400 and err(resp) == ('illegal_argument_exception', invalid % group)
    resp = es('PUT', b + '/anomaly_detectors/j1', dict(JOB, groups=['j1']))
    assert resp.status == 400 and err(resp) == (
        'resource_already_exists_exception', 'job and group names must be unique but job [j1] and group [j1] have the same name')
    es.put_job('other', base=b)
    resp = es('PUT', b + '/anomaly_detectors/j1', dict(JOB, groups=['other']))
    assert err(resp)[1] == 'job and group names must be unique but job [other] and group [other] have the same name'


def test_model_prune_window(emu_factory):
    es = Client(emu_factory('8.19.0'))
    for window, message in (('45m', 'model_prune_window [45m] must be a multiple of bucket_span [30m]'),
                            ('30m', 'model_prune_window [30m] must be at least 2 times greater than bucket_span [30m]')):
        text = '{"analysis_config":{"bucket_span":"30m","model_prune_window":"%s","detectors":[{"function":"count"}]},' \
               '"data_description":{}}' % window
        resp = raw_put(es, '/_ml/anomaly_detectors/j1', text)
        assert resp.status == 400
        # AnalysisConfig.Builder.build() runs inside Job.Builder.setAnalysisConfig, i.e. during parsing
        assert err(resp) == ('x_content_parse_exception', '[1:102] [job_details] failed to parse field [analysis_config]')
        assert resp.body['error']['root_cause'] == [{'type': 'status_exception', 'reason': message}]
    assert es.put_job('j1', analysis_config={'bucket_span': '30m', 'model_prune_window': '1h',
                                             'detectors': [{'function': 'count'}]}).status == 200
    assert es('GET', '/_ml/anomaly_detectors/j1').body['jobs'][0]['analysis_config']['model_prune_window'] == '1h'
    old = Client(emu_factory('7.17.0'))
    resp = old('PUT', '/_ml/anomaly_detectors/j1', dict(JOB, analysis_config={'model_prune_window': '1d', 'detectors': [{'function': 'count'}]}))
    assert resp.status == 400 and 'unknown field [model_prune_window]' in resp.body['error']['root_cause'][0]['reason']


def test_categorization_filters_with_analyzer(emu_factory):
    es = Client(emu_factory('7.17.0'))
    analysis = {'detectors': [{'function': 'count', 'by_field_name': 'mlcategory'}], 'categorization_field_name': 'message',
                'categorization_analyzer': {'tokenizer': 'classic'}, 'categorization_filters': ['cat1.*']}
    resp = es('PUT', '/_ml/anomaly_detectors/j1', dict(JOB, analysis_config=analysis))
    assert resp.status == 400
    assert resp.body['error']['root_cause'][0] == {
        'type': 'status_exception', 'reason': 'categorization_filters cannot be used with categorization_analyzer - instead specify '
                                              'them as pattern_replace char_filters in the analyzer'}
    del analysis['categorization_filters']
    resp = es('PUT', '/_ml/anomaly_detectors/j1', dict(JOB, analysis_config=analysis))
    assert resp.status == 200 and resp.body['analysis_config']['categorization_analyzer'] == {'tokenizer': 'classic'}


def test_invalid_datafeed_query(emu_factory):
    es = Client(emu_factory('8.19.0'))
    es.put_job('j1')
    es('PUT', '/data', {})
    resp = es('PUT', '/_ml/datafeeds/d1', {'job_id': 'j1', 'indices': ['data'], 'query': {'no_such_query': {}}})
    assert resp.status == 400
    error = resp.body['error']
    assert error['type'] == 'x_content_parse_exception' and error['reason'].endswith('[datafeed_config] failed to parse field [query]')
    assert error['caused_by']['type'] == 'status_exception' and error['caused_by']['reason'] == 'Datafeed query is not parsable'
    assert 'no_such_query' in error['root_cause'][0]['reason']
    assert es('GET', '/_ml/datafeeds/d1').status == 404


# ---------------------------------------------------------------- after ml/datafeeds_crud.yml (commit 190176da)

@pytest.mark.parametrize('version,warns', (('7.13.4', False), ('7.17.0', True), ('9.1.0', True)))
def test_datafeed_put_details(emu_factory, version, warns):
    es = Client(emu_factory(version))
    es.put_job('j1')
    es('PUT', '/data', {})
    # security headers are never accepted in a body (only the lenient, internal parser knows them)
    resp = es('PUT', '/_ml/datafeeds/d1', {'job_id': 'j1', 'indices': ['data'], 'headers': {'a': 'b'}})
    assert resp.status == 400 and 'unknown field [headers]' in err(resp)[1]
    resp = es('PUT', '/_ml/datafeeds/d1?ignore_throttled=false', {'job_id': 'j1', 'indices': ['data'], 'max_empty_searches': -1})
    assert resp.status == 200
    assert 'max_empty_searches' not in resp.body
    assert any('[ignore_throttled] parameter is deprecated' in w for w in resp.warnings()) is warns
    exported = es('GET', '/_ml/datafeeds/d1?exclude_generated=true').body['datafeeds'][0]
    assert exported['indices'] == ['data']
    assert 'query_delay' not in exported and 'chunking_config' not in exported
    assert 'chunking_config' in es('GET', '/_ml/datafeeds/d1').body['datafeeds'][0]


@pytest.mark.parametrize('version', ('7.13.4', '8.19.0', '9.1.0'))
def test_datafeed_export_keeps_what_was_set(emu_factory, version):
    """DatafeedConfig.toXContent, exclude_generated (elastic/elasticsearch#63899): query_delay, chunking_config and
    indices_options are left out only while they are the defaults ES computed; values given on PUT stay."""
    es = Client(emu_factory(version))
    es.put_job('j1')
    es.put_job('j2')
    es('PUT', '/data', {})
    set_here = {'job_id': 'j1', 'indices': ['data'], 'query_delay': '93s', 'chunking_config': {'mode': 'off'},
                'indices_options': {'ignore_unavailable': True}}
    assert es('PUT', '/_ml/datafeeds/d1', set_here).status == 200
    assert es('PUT', '/_ml/datafeeds/d2', {'job_id': 'j2', 'indices': ['data']}).status == 200
    exported = es('GET', '/_ml/datafeeds/d1?exclude_generated=true').body['datafeeds'][0]
    assert exported['query_delay'] == '93s' and exported['chunking_config'] == {'mode': 'off'}
    assert exported['indices_options']['ignore_unavailable'] is True
    defaults = es('GET', '/_ml/datafeeds/d2?exclude_generated=true').body['datafeeds'][0]
    assert not set(defaults) & {'query_delay', 'chunking_config', 'indices_options', 'authorization'}
    assert set(es('GET', '/_ml/datafeeds/d2').body['datafeeds'][0]) >= {'query_delay', 'chunking_config', 'indices_options'}


@pytest.mark.parametrize('version,first_line', (('7.13.4', None), ('7.17.0', 'first_non_blank_line'), ('8.19.0', 'first_line_with_letters')))
def test_categorization_job_gets_the_standard_analyzer(emu_factory, version, first_line):
    """jobs_crud.yml "Test update job": from 7.14 the filters move into the stored standard analyzer."""
    es = Client(emu_factory(version))
    analysis = {'detectors': [{'function': 'count', 'by_field_name': 'mlcategory'}], 'categorization_field_name': 'message',
                'categorization_filters': ['cat1.*']}
    stored = es.put_job('j1', analysis_config=analysis).body['analysis_config']
    assert stored == es('GET', '/_ml/anomaly_detectors/j1').body['jobs'][0]['analysis_config']
    if first_line is None:
        assert stored['categorization_filters'] == ['cat1.*'] and 'categorization_analyzer' not in stored
        return
    assert 'categorization_filters' not in stored
    analyzer = stored['categorization_analyzer']
    assert analyzer['char_filter'] == [first_line, {'type': 'pattern_replace', 'pattern': 'cat1.*'}]
    assert analyzer['tokenizer'] == 'ml_standard' and len(analyzer['filter']) == 1 and 'GMT' in analyzer['filter'][0]['stopwords']
