"""Index mappings per version and the datafeed start checks that read them (issue 12 area 4).

Sources: server RestCreateIndexAction (6.8: include_type_name defaults to true, with the "[types removal]" warning;
7.x prepareMappingsV7 / TYPES_DEPRECATION_MESSAGE; 8.x/9.x prepareMappings refusing a `_doc` wrapper),
DocumentMapperParser.checkNoRemainingFields ("Root mapping definition has unsupported parameters"),
https://www.elastic.co/guide/en/elasticsearch/reference/6.8/removal-of-types.html (6.8 typed mappings);
x-pack ml ScrollDataExtractorFactory.create + TimeBasedExtractedFields.build + ExtractedFields (datafeed start), and
ml/start_stop_datafeed.yml "Test start given field without mappings" (elastic/elasticsearch x-pack/plugin/src/
yamlRestTest/resources/rest-api-spec/test/ml/).
"""

import pytest

from .conftest import Client

PROPS = {'properties': {'time': {'type': 'date'}, 'airline': {'type': 'keyword'}, 'airport': {'type': 'text'},
                        'responsetime': {'type': 'float'}}}


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


def test_68_wants_typed_mappings(emu_factory):
    es = Client(emu_factory('6.8.23'))
    resp = es('PUT', '/untyped', {'mappings': {'properties': {'time': {'type': 'date'}}}})
    assert resp.status == 400
    assert err(resp) == ('mapper_parsing_exception', 'Failed to parse mapping [properties]: Root mapping definition has '
                         'unsupported parameters:  [time : {type=date}]')
    assert resp.body['error']['caused_by'] == {'type': 'mapper_parsing_exception',
                                               'reason': 'Root mapping definition has unsupported parameters:  [time : {type=date}]'}
    assert es('GET', '/untyped').status == 404
    resp = es('PUT', '/typed', {'mappings': {'_doc': PROPS}})
    assert resp.status == 200
    assert any('include_type_name should be explicitly specified' in w for w in resp.warnings())
    assert any('the default number of shards will change from [5] to [1] in 7.0.0' in w for w in resp.warnings())
    assert es('GET', '/typed').body['typed']['mappings'] == {'_doc': PROPS}
    assert es('GET', '/typed/_mapping').body == {'typed': {'mappings': {'_doc': PROPS}}}
    assert es('GET', '/typed/_mapping?include_type_name=false').body == {'typed': {'mappings': PROPS}}
    # include_type_name=false takes the 7.x form.
    resp = es('PUT', '/typeless?include_type_name=false', {'mappings': PROPS, 'settings': {'number_of_shards': 1}})
    assert resp.status == 200 and resp.warnings() == []
    # A _meta-only untyped body (what 8.15+ rollup-usage fixtures send) is a type called "_meta" here.
    resp = es('PUT', '/meta', {'mappings': {'_meta': {'_rollup': {'x': {}}}}})
    assert resp.status == 400 and err(resp)[1].endswith('unsupported parameters:  [_rollup : {x={}}]')


@pytest.mark.parametrize('version', ['7.13.4', '7.14.2', '7.17.28'])
def test_7x_refuses_doc_wrapper_unless_include_type_name(emu_factory, version):
    es = Client(emu_factory(version))
    resp = es('PUT', '/typed', {'mappings': {'_doc': PROPS}})
    assert resp.status == 400
    assert err(resp) == ('illegal_argument_exception',
                         'The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.')
    resp = es('PUT', '/typed?include_type_name=true', {'mappings': {'mytype': PROPS}})
    assert resp.status == 200
    assert any('[types removal] Using include_type_name in create index requests is deprecated.' in w for w in resp.warnings())
    assert es('GET', '/typed').body['typed']['mappings'] == PROPS
    assert es('GET', '/typed/_mapping?include_type_name=true').body == {'typed': {'mappings': {'_doc': PROPS}}}
    resp = es('PUT', '/other', {'mappings': {'mytype': PROPS}})
    assert resp.status == 400
    assert err(resp)[1].startswith('Failed to parse mapping [_doc]: Root mapping definition has unsupported parameters:  '
                                   '[mytype : {properties=')


@pytest.mark.parametrize('version', ['8.19.3', '9.1.5'])
def test_8x_has_no_types(emu_factory, version):
    es = Client(emu_factory(version))
    resp = es('PUT', '/typed', {'mappings': {'_doc': PROPS}})
    assert resp.status == 400 and err(resp)[0] == 'illegal_argument_exception'
    resp = es('PUT', '/typed?include_type_name=true', {'mappings': PROPS})
    assert resp.status == 400 and 'unrecognized parameter: [include_type_name]' in err(resp)[1]
    assert es('PUT', '/plain', {'mappings': PROPS}).status == 200
    assert es('GET', '/_mapping').body == {'plain': {'mappings': PROPS}}
    assert es('GET', '/pl*/_mapping').body == {'plain': {'mappings': PROPS}}
    resp = es('GET', '/missing/_mapping')
    assert resp.status == 404 and err(resp) == ('index_not_found_exception', 'no such index [missing]')


def _job(es, base, job_id, analysis):
    resp = es('PUT', '%s/anomaly_detectors/%s' % (base, job_id),
              {'analysis_config': dict({'bucket_span': '1h'}, **analysis), 'data_description': {'time_field': 'time'}})
    assert resp.status == 200, resp.body
    assert es('POST', '%s/anomaly_detectors/%s/_open' % (base, job_id)).status == 200


@pytest.mark.parametrize('version', ['6.8.23', '7.13.4', '7.14.2', '7.17.28', '8.19.3', '9.1.5'])
def test_datafeed_start_needs_the_jobs_fields_mapped(emu_factory, version):
    es = Client(emu_factory(version))
    base = '/_xpack/ml' if version.startswith('6') else '/_ml'
    es.create_index('airline-data', PROPS['properties'])
    es.create_index('empty', {})

    def start(df_id, job_id, **extra):
        body = dict({'job_id': job_id, 'indices': ['airline-data']}, **extra)
        assert es('PUT', '%s/datafeeds/%s' % (base, df_id), body).status == 200
        return es('POST', '%s/datafeeds/%s/_start' % (base, df_id))

    _job(es, base, 'by-missing', {'detectors': [{'function': 'count', 'by_field_name': 'airline2'}]})
    resp = start('by-missing-feed', 'by-missing')
    assert resp.status == 400
    assert err(resp) == ('status_exception', '[by-missing-feed] cannot retrieve field [airline2] because it has no mappings')
    _job(es, base, 'influencer', {'detectors': [{'function': 'mean', 'field_name': 'responsetime'}], 'influencers': ['zone']})
    assert err(start('influencer-feed', 'influencer')) == (
        'status_exception', '[influencer-feed] cannot retrieve field [zone] because it has no mappings')
    for job_id in ('no-time', 'no-match', 'missing'):  # one datafeed per job
        _job(es, base, job_id, {'detectors': [{'function': 'count'}]})
    resp = start('no-time-feed', 'no-time', indices=['empty'])
    assert err(resp) == ('status_exception', '[no-time-feed] cannot retrieve field [time] because it has no mappings')
    resp = start('no-match-feed', 'no-match', indices=['nothing-*'])  # allow_no_indices: no field caps at all
    assert err(resp) == ('status_exception', '[no-match-feed] cannot retrieve field [time] because it has no mappings')
    resp = start('missing-feed', 'missing', indices=['missing'])
    assert resp.status == 404
    assert err(resp) == ('resource_not_found_exception', 'datafeed [missing-feed] cannot retrieve data because index [missing] does not exist')
    # A script field stands in for an unmapped field; fields spread over several indices are fine.
    _job(es, base, 'scripted', {'detectors': [{'function': 'count', 'by_field_name': 'computed'}]})
    script = {'computed': {'script': {'source': "'x'"}}}
    assert start('scripted-feed', 'scripted', script_fields=script).status == 200
    es.create_index('zones', {'zone': {'type': 'keyword'}})
    _job(es, base, 'spread', {'detectors': [{'function': 'mean', 'field_name': 'responsetime'}], 'influencers': ['zone']})
    assert start('spread-feed', 'spread', indices=['airline-data', 'zones']).status == 200
    # The time field must be aggregatable.
    es.create_index('text-time', {'time': {'type': 'text'}})
    _job(es, base, 'text-time', {'detectors': [{'function': 'count'}]})
    assert err(start('text-time-feed', 'text-time', indices=['text-time'])) == (
        'status_exception', '[text-time-feed] cannot retrieve time field [time] because it is not aggregatable')


@pytest.mark.parametrize('version', ['6.8.23', '7.13.4', '7.14.2', '7.17.28', '8.19.3', '9.1.5'])
def test_head_and_delete_index(emu_factory, version):
    es = Client(emu_factory(version))
    es.create_index('idx', {'time': {'type': 'date'}})
    assert es('HEAD', '/idx').status == 200
    assert es('DELETE', '/idx').body == {'acknowledged': True}
    assert es('HEAD', '/idx').status == 404
    resp = es('DELETE', '/idx')
    assert resp.status == 404 and err(resp) == ('index_not_found_exception', 'no such index [idx]')
