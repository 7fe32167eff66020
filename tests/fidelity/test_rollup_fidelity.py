"""Rollup job fidelity, round 2 (issue 12 areas 1, 3, 4, 5): strict parsing, config and mapping validation,
the rollup index's metadata, the capabilities APIs and Quartz cron triggers.

Written from ES's own REST tests, read at elastic/elasticsearch x-pack/plugin/src/yamlRestTest/resources/
rest-api-spec/test/rollup/: put_job.yml @020ae6e304779dd50bf199d3c57946aa63332722 ("Try to include headers",
"Validation failures", "Unknown Metric", "Test put_job with existing name", "Test put_job in non-rollup index"),
get_rollup_caps.yml @2e58e7a14ed0aa67cb7c36c760f91c9233232c16, get_rollup_index_caps.yml
@30c31927509b23e5b84c47f31da1b65108b0ae4b; and from the Java sources each case names.
"""

import json
import time

import pytest

from .conftest import Client

ALL = ['6.8.23', '7.13.4', '7.14.2', '7.17.28', '8.19.3', '9.1.5']


def err(resp):
    return resp.body['error']['type'], resp.body['error']['reason']


def chain(resp):
    """[(type, reason)] from the top error down its caused_by chain."""
    out, error = [], resp.body['error']
    while error:
        out.append((error['type'], error['reason']))
        error = error.get('caused_by')
    return out


def setup(emu_factory, version):
    es = Client(emu_factory(version))
    vt = tuple(int(x) for x in version.split('.'))
    base = '/_xpack/rollup' if vt[0] == 6 else '/_rollup'
    if vt >= (8, 15):
        es('PUT', '/dummy-rollup-index', {'mappings': {'_meta': {'_rollup': {'x': {}}}}})
    es.create_index('src', {'ts': {'type': 'date'}, 'v': {'type': 'integer'}, 'k': {'type': 'keyword'},
                            'txt': {'type': 'text'}})
    return es, base, vt


def body_for(vt, **extra):
    body = {'index_pattern': 'src', 'rollup_index': 'src_rollup', 'cron': '*/30 * * * * ?', 'page_size': 10,
            'groups': {'date_histogram': {'field': 'ts', ('interval' if vt[0] == 6 else 'calendar_interval'): '1h'}},
            'metrics': [{'field': 'v', 'metrics': ['min', 'max', 'sum']}]}
    body.update(extra)
    return body


def location(body, key):
    """Jackson's 1-based [line:column] of `"key"` in the compact JSON the test client sends."""
    return '[1:%d]' % (json.dumps(body).index('"%s"' % key) + 1)


@pytest.mark.parametrize('version', ALL)
def test_unknown_top_level_field(emu_factory, version):
    # RollupJobConfig's parser (NAME "xpack/rollup/jobconfig") is strict; ObjectParser reports the field name's location
    # on every version (6.x: getParser on the FIELD_NAME token, UpdateRequestTests.testUnknownFieldParsing "[1:2]"),
    # and 6.8 appends ", parser not found".
    es, base, vt = setup(emu_factory, version)
    body = body_for(vt, headers={'foo': 'bar'})
    resp = es('PUT', base + '/job/r1', body)
    assert resp.status == 400
    if vt[0] == 6:
        assert err(resp) == ('x_content_parse_exception',
                             location(body, 'headers') + ' [xpack/rollup/jobconfig] unknown field [headers], parser not found')
    else:
        assert err(resp) == ('x_content_parse_exception', location(body, 'headers') + ' [xpack/rollup/jobconfig] unknown field [headers]')
    assert resp.body['error']['root_cause'][0]['type'] == 'x_content_parse_exception'
    assert es('GET', base + '/job/r1').body == {'jobs': []}
    assert es('GET', '/src_rollup').status == 404  # nothing was created


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28', '9.1.5'])
def test_unknown_nested_field_is_wrapped_by_each_parser(emu_factory, version):
    es, base, vt = setup(emu_factory, version)
    body = body_for(vt)
    body['groups']['date_histogram']['bogus'] = 1
    resp = es('PUT', base + '/job/r1', body)
    assert resp.status == 400
    errors = chain(resp)
    assert [e[0] for e in errors] == ['x_content_parse_exception'] * 3
    assert errors[0][1].endswith('[xpack/rollup/jobconfig] failed to parse field [groups]')
    assert errors[1][1].endswith('[groups] failed to parse field [date_histogram]')
    suffix = ', parser not found' if vt[0] == 6 else ''
    assert errors[2][1].endswith('[date_histogram] unknown field [bogus]' + suffix)
    # 6.x has no calendar_interval (added in 7.2): the 7.x body is an unknown field there.
    if vt[0] == 6:
        resp = es('PUT', base + '/job/r1', body_for((7,)))
        assert chain(resp)[-1][1].endswith('[date_histogram] unknown field [calendar_interval], parser not found')


def test_unknown_field_suggestion(emu_factory):
    # SuggestingErrorOnUnknown (7.7+): a close name is offered.
    es, base, vt = setup(emu_factory, '8.19.3')
    body = body_for(vt, metrics=[{'field': 'v', 'metric': ['min']}])
    resp = es('PUT', base + '/job/r1', body)
    assert chain(resp)[-1][1].endswith('[metrics] unknown field [metric] did you mean [metrics]?')


@pytest.mark.parametrize('version', ALL)
def test_unknown_metric(emu_factory, version):
    # MetricConfig constructor via ConstructingObjectParser ("failed to build [metrics] after last required field
    # arrived"), wrapped by the job parser; RollupField.SUPPORTED_METRICS order.
    es, base, vt = setup(emu_factory, version)
    resp = es('PUT', base + '/job/r1', body_for(vt, metrics=[{'field': 'v', 'metrics': ['min', 'does_not_exist']}]))
    assert resp.status == 400
    errors = chain(resp)
    assert errors[0][0] == 'x_content_parse_exception' and errors[0][1].endswith('[xpack/rollup/jobconfig] failed to parse field [metrics]')
    assert errors[1][1].endswith('failed to build [metrics] after last required field arrived')
    assert errors[2] == ('illegal_argument_exception',
                         'Unsupported metric [does_not_exist]. Supported metrics include: [max, min, sum, avg, value_count]')


@pytest.mark.parametrize('version', ALL)
def test_field_validation_against_mappings(emu_factory, version):
    # TransportPutRollupJobAction: field caps over index_pattern, then PutRollupJobAction.Request.validateMappings
    # (DateHistogramGroupConfig, HistogramGroupConfig, TermsGroupConfig, MetricConfig .validateMappings).
    es, base, vt = setup(emu_factory, version)
    dates = '[date]' if vt[0] == 6 else '[date,date_nanos]'

    def failures(**extra):
        resp = es('PUT', base + '/job/r1', body_for(vt, **extra))
        assert resp.status == 400 and resp.body['error']['type'] == 'action_request_validation_exception', resp.body
        return resp.body['error']['reason']

    assert failures(metrics=[{'field': 'field_doesnt_exist', 'metrics': ['min']}]) == (
        'Validation Failed: 1: Could not find a [numeric] or %s field with name [field_doesnt_exist] in any of the '
        'indices matching the index pattern.;' % dates.replace('[date,date_nanos]', '[date,date_nanos]'))
    assert failures(metrics=[{'field': 'k', 'metrics': ['max']}]) == (
        'Validation Failed: 1: The field referenced by a metric group must be a [numeric] or %s type, but found [keyword] '
        'for field [k];' % dates)
    histo = body_for(vt)['groups']['date_histogram']
    reason = failures(groups={'date_histogram': dict(histo, field='k'), 'histogram': {'fields': ['k'], 'interval': 5},
                              'terms': {'fields': ['ts', 'nope']}})
    if vt[0] == 6:
        date_errors = ('1: The field referenced by a date_histo group must be a [date] type across all indices in the index '
                       'pattern.  Found: [keyword] for field [k];2: Could not find a [date] field with name [k] in any of the '
                       'indices matching the index pattern.;')
        n = 3
    else:
        date_errors = ('1: The field referenced by a date_histo group must be one of type [date,date_nanos] across all indices '
                       'in the index pattern.  Found: [keyword] for field [k];')
        n = 2
    assert reason == ('Validation Failed: ' + date_errors +
                      '%d: The field referenced by a histo group must be a [numeric] type, but found [keyword] for field [k];'
                      '%d: The field referenced by a terms group must be a [numeric] or [keyword/text] type, but found [date] for '
                      'field [ts];%d: Could not find a [numeric] or [keyword/text] field with name [nope] in any of the indices '
                      'matching the index pattern.;' % (n, n + 1, n + 2))
    # text is not aggregatable (no doc values)
    assert 'The field [txt] must be aggregatable across all indices, but is not.' in failures(groups={
        'date_histogram': histo, 'terms': {'fields': ['txt']}})
    # Date metrics: only min/max/value_count.
    if vt[0] >= 7:
        assert failures(metrics=[{'field': 'ts', 'metrics': ['min', 'sum']}]) == (
            'Validation Failed: 1: Only the metrics [max, min, value_count] are supported for [date] types, but unsupported '
            'metrics [sum] supplied for field [ts];')
    # No configured field mapped at all / pattern matching nothing.
    assert failures(index_pattern='nothing-*') == (
        'Validation Failed: 1: Could not find any fields in the index/index-pattern that were configured in job;')
    # A missing concrete source index fails field caps itself.
    resp = es('PUT', base + '/job/r1', body_for(vt, index_pattern='missing'))
    assert resp.status == 404 and err(resp) == ('index_not_found_exception', 'no such index [missing]')
    assert es('GET', base + '/job/r1').body == {'jobs': []}


@pytest.mark.parametrize('version', ALL)
def test_existing_metadata_and_task_exists(emu_factory, version):
    # TransportPutRollupJobAction.updateMapping / startPersistentTask: a duplicate PUT meets the job's own metadata in
    # its rollup index first; after DELETE the metadata stays, so re-creating into that index is refused too.
    es, base, vt = setup(emu_factory, version)
    assert es('PUT', base + '/job/r1', body_for(vt)).status == 200
    existing = ('status_exception', 'Cannot create rollup job [r1] because job was previously created (existing metadata).')
    resp = es('PUT', base + '/job/r1', body_for(vt))
    assert resp.status == 409 and err(resp) == existing
    resp = es('PUT', base + '/job/r1', body_for(vt, rollup_index='other_rollup'))
    assert resp.status == 409
    assert err(resp) == ('status_exception', 'Cannot create job [r1] because it has already been created (task exists)')
    assert resp.body['error']['caused_by'] == {'type': 'resource_already_exists_exception', 'reason': 'task with id {r1} already exist'}
    assert es('DELETE', base + '/job/r1').body == {'acknowledged': True}
    resp = es('PUT', base + '/job/r1', body_for(vt))
    assert resp.status == 409 and err(resp) == existing
    resp = es('PUT', base + '/job/r1', body_for(vt, rollup_index='other_rollup'))  # the failed PUT left r1's metadata there
    assert resp.status == 409 and err(resp) == existing
    # A fresh rollup index works; so does another id into the old one.
    assert es('PUT', base + '/job/r1', body_for(vt, rollup_index='fresh_rollup')).status == 200
    assert es('PUT', base + '/job/r2', body_for(vt)).status == 200


@pytest.mark.parametrize('version', ALL)
def test_rollup_index_with_other_data(emu_factory, version):
    es, base, vt = setup(emu_factory, version)
    es.create_index('plain', {'a': {'type': 'keyword'}})
    resp = es('PUT', base + '/job/r1', body_for(vt, rollup_index='plain'))
    assert resp.status == 500
    assert err(resp) == ('runtime_exception', 'Rollup data cannot be added to existing indices that contain non-rollup data '
                         '(expected to find _meta key in mapping of rollup index [plain] but not found).')
    mapping = {'_meta': {'owner': 'someone'}}
    es('PUT', '/meta-only', {'mappings': {'_doc': mapping} if vt[0] == 6 else mapping})
    resp = es('PUT', base + '/job/r1', body_for(vt, rollup_index='meta-only'))
    assert resp.status == 500
    assert err(resp) == ('runtime_exception', 'Rollup data cannot be added to existing indices that contain non-rollup data '
                         '(expected to find rollup meta key [_rollup] in mapping of rollup index [meta-only] but not found).')
    # 6.x/7.x also need the rollup-version their own rollup indices carry; 8.x dropped that check.
    mapping = {'_meta': {'_rollup': {'other': {}}}}
    es('PUT', '/no-version', {'mappings': {'_doc': mapping} if vt[0] == 6 else mapping})
    resp = es('PUT', base + '/job/r1', body_for(vt, rollup_index='no-version'))
    if vt[0] <= 7:
        assert resp.status == 500
        assert err(resp) == ('illegal_state_exception', 'Could not determine version of existing rollup metadata for index [no-version]')
    else:
        assert resp.status == 200


@pytest.mark.parametrize('version', ALL)
def test_rollup_caps(emu_factory, version):
    es, base, vt = setup(emu_factory, version)
    es.create_index('src2', {'ts': {'type': 'date'}, 'v': {'type': 'integer'}})
    assert es('PUT', base + '/job/foo', body_for(vt)).status == 200
    assert es('PUT', base + '/job/foo2', body_for(vt, index_pattern='src2')).status == 200
    assert es('PUT', base + '/job/foo3', body_for(vt, rollup_index='other_rollup')).status == 200
    interval = 'interval' if vt[0] == 6 else 'calendar_interval'

    def caps(job_id, pattern='src', rollup_index='src_rollup'):
        return {'job_id': job_id, 'rollup_index': rollup_index, 'index_pattern': pattern,
                'fields': {'ts': [{'agg': 'date_histogram', interval: '1h', 'time_zone': 'UTC'}],
                           'v': [{'agg': 'min'}, {'agg': 'max'}, {'agg': 'sum'}]}}

    resp = es('GET', base + '/data/src')
    assert resp.status == 200
    assert resp.body == {'src': {'rollup_jobs': [caps('foo'), caps('foo3', rollup_index='other_rollup')]}}
    everything = es('GET', base + '/data/_all').body
    assert everything == {'src': {'rollup_jobs': [caps('foo'), caps('foo3', rollup_index='other_rollup')]},
                          'src2': {'rollup_jobs': [caps('foo2', 'src2')]}}
    assert es('GET', base + '/data/nothing').body == {}
    index_base = '/_xpack/rollup/data' if vt[0] == 6 else '/_rollup/data'
    resp = es('GET', '/src_rollup' + index_base)
    assert resp.body == {'src_rollup': {'rollup_jobs': [caps('foo'), caps('foo2', 'src2')]}}
    assert sorted(es('GET', '/_all' + index_base).body) == ['other_rollup', 'src_rollup']
    assert sorted(es('GET', '/other_rollup,src_rollup' + index_base).body) == ['other_rollup', 'src_rollup']
    assert list(es('GET', '/other*' + index_base).body) == ['other_rollup']
    resp = es('GET', '/missing' + index_base)
    assert resp.status == 404 and err(resp) == ('index_not_found_exception', 'no such index [missing]')
    # Capabilities come from the rollup index, so a deleted job still shows there.
    es('DELETE', base + '/job/foo')
    assert [j['job_id'] for j in es('GET', '/src_rollup' + index_base).body['src_rollup']['rollup_jobs']] == ['foo', 'foo2']
    if vt[0] >= 9:
        assert any('The rollup functionality will be removed' in w for w in es('GET', base + '/data/src').warnings())


def _at_second(offset):
    """A cron firing once a minute at the wall-clock second `offset` seconds from now (UTC)."""
    return '%d * * * * ?' % ((int(time.time()) + offset) % 60)


def test_any_quartz_cron_triggers_at_its_time_and_stopping_follows(emu_factory):
    # Rollup jobs are scheduled by a Quartz cron in UTC (https://www.elastic.co/guide/en/elasticsearch/reference/7.17/
    # rollup-put-job.html); RollupJobTask triggers the indexer, which runs a page and returns to `started`; stop during
    # the run shows `stopping` until the page finishes (AsyncTwoPhaseIndexer).
    emu = emu_factory('8.19.3', stop_seconds=1.0)
    es, base, vt = setup(lambda v, **t: emu, '8.19.3')
    now = time.time()
    if now % 1 > 0.7:  # stay clear of a second boundary
        time.sleep(1.05 - now % 1)
    cron = _at_second(2)
    assert es('PUT', base + '/job/r1', body_for(vt, cron=cron)).status == 200
    es('PUT', base + '/job/never', body_for(vt, cron='0 0 0 1 1 ? 2099', rollup_index='never_rollup'))
    es('POST', base + '/job/r1/_start')
    es('POST', base + '/job/never/_start')
    assert es.rollup_state('r1') == 'started'
    time.sleep(1.2)
    assert es.rollup_state('r1') == 'started'  # not yet
    deadline = time.monotonic() + 2.5
    while es.rollup_state('r1') != 'indexing' and time.monotonic() < deadline:
        time.sleep(0.05)
    assert es.rollup_state('r1') == 'indexing'
    assert es('GET', base + '/job/r1').body['jobs'][0]['stats']['trigger_count'] == 1
    assert es('POST', base + '/job/r1/_stop').body == {'stopped': True}
    assert es.rollup_state('r1') == 'stopping'
    assert es('POST', base + '/job/r1/_stop?wait_for_completion=true&timeout=5s').body == {'stopped': True}
    assert es.rollup_state('r1') == 'stopped'
    assert es.rollup_state('never') == 'started'


@pytest.mark.parametrize('version', ['6.8.23', '7.17.28', '9.1.5'])
def test_nested_unknown_field_root_cause_is_the_innermost_parse_error(emu_factory, version):
    # ElasticsearchException.guessRootCauses (server/.../ElasticsearchException.java, 6.8-9.1): an
    # XContentParseException unwraps to its cause while that is another XContentParseException, so the root cause of a
    # field unknown two objects deep is the innermost parser's message, not the job parser's wrapper.
    es, base, vt = setup(emu_factory, version)
    body = body_for(vt)
    body['groups']['date_histogram']['bogus'] = 1
    resp = es('PUT', base + '/job/r1', body)
    root = resp.body['error']['root_cause']
    assert len(root) == 1 and root[0]['type'] == 'x_content_parse_exception'
    assert root[0]['reason'] == chain(resp)[-1][1]
    assert root[0]['reason'].endswith('[date_histogram] unknown field [bogus]' + (', parser not found' if vt[0] == 6 else ''))


@pytest.mark.parametrize('version', ['7.17.28', '8.19.3', '9.1.5'])
@pytest.mark.parametrize('field, suggestion', [
    # SuggestingErrorOnUnknown.errorMessage (libs/x-content, 7.17/8.19/9.1): every declared name with Lucene
    # LevenshteinDistance > 0.5, most similar first ("any of [..]" when several), none when nothing passes.
    ('histogra', ' did you mean any of [histogram, date_histogram]?'),   # 0.889 and 0.571
    ('histo', ' did you mean [histogram]?'),                              # 0.556; date_histogram 0.357
    ('termsxxxxx', ''),                                                   # terms: exactly 0.5 is not > 0.5
])
def test_unknown_group_suggestions_follow_levenshtein_similarity(emu_factory, version, field, suggestion):
    es, base, vt = setup(emu_factory, version)
    body = body_for(vt)
    body['groups'][field] = {'fields': ['k']}
    resp = es('PUT', base + '/job/r1', body)
    assert resp.status == 400
    assert chain(resp)[-1][1].endswith('[groups] unknown field [%s]%s' % (field, suggestion)), chain(resp)
