"""ML job and datafeed configs as Elasticsearch stores and returns them: validation during parsing and the
normalised form GET returns (function shortcuts expanded, defaults filled).

Sources (x-pack/plugin/core/src/main/java/org/elasticsearch/xpack/core/ml/, branches 6.8 / 7.17 / 8.19 / 9.1):
job/config/DetectorFunction.java, AnalysisConfig.java (Builder.build), DetectionRule.java, FilterRef.java,
Job.java (Builder.validateGroups, validateAnalysisLimitsAndSetDefaults), job/messages/Messages.java,
datafeed/DatafeedConfig.java; REST tests x-pack/plugin/src/yamlRestTest/resources/rest-api-spec/test/ml/jobs_crud.yml.
"""

import re

from . import parsing
from .errors import EsError
from .state import parse_time_value

# DetectorFunction: the only shortcuts; every other function name must be given in full.
FUNCTION_SHORTCUTS = {
    'nzc': 'non_zero_count', 'low_nzc': 'low_non_zero_count', 'high_nzc': 'high_non_zero_count',
    'dc': 'distinct_count', 'low_dc': 'low_distinct_count', 'high_dc': 'high_distinct_count',
}

_ID_RE = re.compile(r'^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$')
_BYTE_UNITS = (('pb', 1 << 50), ('tb', 1 << 40), ('gb', 1 << 30), ('mb', 1 << 20), ('kb', 1 << 10),
               ('p', 1 << 50), ('t', 1 << 40), ('g', 1 << 30), ('m', 1 << 20), ('k', 1 << 10), ('b', 1))
MAX_MODEL_MEMORY_SETTING = 'xpack.ml.max_model_memory_limit'
DEFAULT_MODEL_MEMORY_MB = 1024      # AnalysisLimits.DEFAULT_MODEL_MEMORY_LIMIT_MB


def status_400(message):
    """ExceptionsHelper.badRequestException: an ElasticsearchStatusException, rendered as `status_exception`."""
    return EsError(400, 'status_exception', message)


def is_valid_id(value):
    """MlStrings.isValidId."""
    return isinstance(value, str) and bool(_ID_RE.match(value))


def parse_bytes(value, field='model_memory_limit'):
    """ByteSizeValue.parseBytesSizeValue → bytes (a bare number is megabytes for model_memory_limit)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) << 20
    text = str(value).strip().lower()
    for unit, factor in _BYTE_UNITS:
        if text.endswith(unit):
            try:
                return int(float(text[:-len(unit)]) * factor)
            except ValueError:
                break
    raise EsError(400, 'parse_exception', 'failed to parse setting [%s] with value [%s] as a size in bytes: unit is '
                  'missing or unrecognized' % (field, value))


def format_bytes(count):
    """ByteSizeValue.toString: the largest unit with a value >= 1, one decimal at most ("10gb", "1.5gb")."""
    for unit, factor in (('pb', 1 << 50), ('tb', 1 << 40), ('gb', 1 << 30), ('mb', 1 << 20), ('kb', 1 << 10)):
        if count >= factor:
            return _one_decimal(count / factor) + unit
    return '%db' % count


def format_time(seconds):
    """TimeValue.toString: the largest unit with a value >= 1, one decimal at most ("15m", "1.5h")."""
    for unit, factor in (('d', 86400), ('h', 3600), ('m', 60), ('s', 1)):
        if seconds >= factor:
            return _one_decimal(seconds / factor) + unit
    return '%dms' % int(seconds * 1000)


def _one_decimal(value):
    text = '%.1f' % value
    return text[:-2] if text.endswith('.0') else text


def max_model_memory_limit(cluster):
    """The dynamic setting (cluster settings win over the node's elasticsearch.yml value); None or 0 = unset."""
    text = cluster.persistent_settings.get(MAX_MODEL_MEMORY_SETTING, cluster.ml_max_model_memory_limit)
    if not text:
        return None, None
    count = parse_bytes(text, MAX_MODEL_MEMORY_SETTING)
    return (text, count) if count > 0 else (None, None)


# ---------------------------------------------------------------- analysis_config

def build_analysis_config(pers, body):
    """AnalysisConfig.Builder.build(): the checks the emulator models, in ES's order; then the stored form."""
    analysis = dict(body)
    validate_model_prune_window(pers, analysis)
    if not analysis.get('detectors'):
        raise status_400('No detectors configured')
    verify_categorization(analysis)
    analysis['detectors'] = [_detector(det, index) for index, det in enumerate(analysis['detectors'])]
    analysis.setdefault('bucket_span', '5m')
    analysis.setdefault('influencers', [])
    if pers.model_prune_window:
        analysis.setdefault('model_prune_window', '30d')
    if analysis.get('categorization_field_name') and pers.per_partition_categorization:
        # perPartitionCategorizationConfig is written whenever categorization is used (AnalysisConfig.toXContent).
        analysis.setdefault('per_partition_categorization', {'enabled': False, 'stop_on_warn': False})
    return analysis


def validate_model_prune_window(pers, analysis):
    """AnalysisConfig.Builder.build (8.x): model_prune_window must be a multiple of bucket_span and at least twice it.
    Runs for PUT and, as JobUpdate.mergeWithJob rebuilds the AnalysisConfig, for update job."""
    span_seconds = parse_time_value(analysis.get('bucket_span', '5m'), 'bucket_span')
    prune = analysis.get('model_prune_window')
    if prune is None or not pers.model_prune_window:
        return
    prune_seconds = parse_time_value(prune, 'model_prune_window')
    if span_seconds and prune_seconds % span_seconds != 0:
        raise status_400('model_prune_window [%s] must be a multiple of bucket_span [%s]'
                         % (format_time(prune_seconds), format_time(span_seconds)))
    if span_seconds and prune_seconds / span_seconds < 2:
        raise status_400('model_prune_window [%s] must be at least 2 times greater than bucket_span [%s]'
                         % (format_time(prune_seconds), format_time(span_seconds)))


def verify_categorization(analysis):
    """AnalysisConfig.Builder.build: verifyCategorizationAnalyzer (filters and an analyzer exclude each other,
    Messages.JOB_CONFIG_CATEGORIZATION_FILTERS_INCOMPATIBLE_WITH_CATEGORIZATION_ANALYZER) and
    verifyCategorizationFilters (filters need a categorization field, JOB_CONFIG_CATEGORIZATION_FILTERS_REQUIRE_
    CATEGORIZATION_FIELD_NAME; job/messages/Messages.java)."""
    if analysis.get('categorization_analyzer') is not None and analysis.get('categorization_filters'):
        raise status_400('categorization_filters cannot be used with categorization_analyzer - instead specify them as '
                         'pattern_replace char_filters in the analyzer')
    if analysis.get('categorization_filters') and not analysis.get('categorization_field_name'):
        raise status_400('categorization_filters require setting categorization_field_name')


def model_plot_config(pers, body):
    """ModelPlotConfig as stored: `enabled` (required on the REST parser; default false here), `terms` when given, and
    from 7.9 `annotations_enabled`, defaulting to `enabled` and always written (ModelPlotConfig.java 7.9+, toXContent;
    jobs_crud.yml "Test update job" reads `model_plot_config.annotations_enabled: false` back)."""
    out = {'enabled': bool(body.get('enabled', False))}
    if body.get('terms') is not None:
        out['terms'] = body['terms']
    if pers.at_least(7, 9):
        out['annotations_enabled'] = bool(body.get('annotations_enabled', out['enabled']))
    return out


def _detector(det, index):
    det = dict(det)
    function = det.get('function', '')
    det['function'] = FUNCTION_SHORTCUTS.get(function, function)
    if det.get('custom_rules'):
        det['custom_rules'] = [_rule(rule) for rule in det['custom_rules']]
    det.setdefault('detector_description', _detector_description(det))
    det['detector_index'] = index
    return det


def detection_rules(rules):
    return [_rule(rule) for rule in rules]


def _rule(rule):
    """DetectionRule.toXContent: actions (default [skip_result]), scope and conditions only when not empty;
    FilterRef.toXContent always writes filter_type (default include)."""
    out = {'actions': list(rule.get('actions') or ['skip_result'])}
    scope = rule.get('scope') or {}
    if scope:
        out['scope'] = {field: {'filter_id': ref.get('filter_id'), 'filter_type': ref.get('filter_type', 'include')}
                        for field, ref in scope.items()}
    if rule.get('conditions'):
        out['conditions'] = [dict(c) for c in rule['conditions']]
    return out


def _detector_description(det):
    """DefaultDetectorDescription: function(field) by x over y partitionfield=z."""
    text = det['function']
    if det.get('field_name'):
        text += '(%s)' % det['field_name']
    for key, word in (('by_field_name', 'by '), ('over_field_name', 'over '), ('partition_field_name', 'partitionfield=')):
        if det.get(key):
            text += ' %s%s' % (word, det[key])
    return text


# CategorizationAnalyzerConfig.Builder.addDateWordsTokenFilter
DATE_WORDS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday',
              'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun',
              'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November',
              'December', 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec', 'GMT', 'UTC']


def standard_categorization_analyzer(pers, filters=()):
    """CategorizationAnalyzerConfig.buildStandardCategorizationAnalyzer (7.14+): the job's categorization_filters become
    pattern_replace char filters after the first-line char filter (first_non_blank_line in 7.x, first_line_with_letters
    in 8.x+ [I for the switch version]), the ml_standard tokenizer and the date-words stop filter."""
    first_line = 'first_line_with_letters' if pers.major >= 8 else 'first_non_blank_line'
    return {'char_filter': [first_line] + [{'type': 'pattern_replace', 'pattern': f} for f in filters],
            'tokenizer': 'ml_standard', 'filter': [{'type': 'stop', 'stopwords': list(DATE_WORDS)}]}


def fill_categorization_analyzer(pers, analysis):
    """JobManager.putJob (7.14+): a categorization job without an analyzer gets the standard one, which takes over
    its categorization_filters (AnalysisConfig forbids both together)."""
    if pers.standard_categorization_analyzer and analysis.get('categorization_field_name') \
            and analysis.get('categorization_analyzer') is None:
        analysis['categorization_analyzer'] = standard_categorization_analyzer(pers, analysis.pop('categorization_filters', None) or ())


# ---------------------------------------------------------------- job-level checks

def validate_groups(job_id, groups):
    """Job.Builder.validateGroups."""
    for group in groups:
        if not is_valid_id(group):
            raise EsError(400, 'illegal_argument_exception',
                          "Invalid group id '%s'; must be non-empty string and may contain lowercase alphanumeric (a-z and "
                          "0-9), hyphens or underscores; must start and end with alphanumeric" % group)
        if group == job_id:
            raise unique_names_error(group)


def unique_names_error(name):
    return EsError(400, 'resource_already_exists_exception',
                   'job and group names must be unique but job [%s] and group [%s] have the same name' % (name, name))


def analysis_limits(cluster, body):
    """Job.Builder.validateAnalysisLimitsAndSetDefaults with xpack.ml.max_model_memory_limit."""
    limits = dict(body or {})
    _max_text, max_bytes = max_model_memory_limit(cluster)
    if 'model_memory_limit' in limits:
        given = parse_bytes(limits['model_memory_limit'])
        mml_mb = given >> 20
        if mml_mb < 1:
            raise status_400('model_memory_limit must be at least 1 MiB. Value = %s' % limits['model_memory_limit'])
        if max_bytes is not None and given > max_bytes:
            raise status_400('model_memory_limit [%s] must be less than the value of the %s setting [%s]'
                             % (format_bytes(given), MAX_MODEL_MEMORY_SETTING, format_bytes(max_bytes)))
    else:
        mml_mb = DEFAULT_MODEL_MEMORY_MB
        if max_bytes is not None and (max_bytes >> 20) < mml_mb:
            mml_mb = max_bytes >> 20
    limits['model_memory_limit'] = '%dmb' % mml_mb
    limits.setdefault('categorization_examples_limit', 4)
    return limits


# ---------------------------------------------------------------- datafeeds

INDICES_OPTION_PARAMS = ('expand_wildcards', 'ignore_unavailable', 'allow_no_indices', 'ignore_throttled')
_WILDCARD_ORDER = ('open', 'closed', 'hidden')


def warn_ignore_throttled(req):
    """IndicesOptions.fromRequest/fromParameters (7.16+) logs IGNORE_THROTTLED_DEPRECATION_MESSAGE whenever the request
    carries `ignore_throttled`: for PUT datafeed, update datafeed and PUT job (RestPutJobAction reads the indices
    options for a possible datafeed_config), with or without a datafeed in the body. Called once per request."""
    if 'ignore_throttled' in req.params and req.pers.ignore_throttled_deprecated \
            and not getattr(req, '_ignore_throttled_warned', False):
        req._ignore_throttled_warned = True  # pylint: disable=protected-access
        req.warn('[ignore_throttled] parameter is deprecated because frozen indices have been deprecated. '
                 'Consider cold or frozen tiers in place of frozen indices.')


#: SearchRequest.DEFAULT_INDICES_OPTIONS as a datafeed's indices_options reads it (before _indices_options_view).
DEFAULT_INDICES_OPTIONS = {'expand_wildcards': ['open'], 'ignore_unavailable': False, 'allow_no_indices': True,
                           'ignore_throttled': True}


def default_indices_options(req):
    """The defaults as this version writes them: what DatafeedConfig.toXContent(exclude_generated) leaves out."""
    return _indices_options_view(req, dict(DEFAULT_INDICES_OPTIONS))


def indices_options(req, body_value):
    """IndicesOptions as a datafeed stores it (7.7+). The REST handlers always build IndicesOptions.fromRequest(request,
    SearchRequest.DEFAULT_INDICES_OPTIONS) from the parameters (so a bad parameter fails and `ignore_throttled` warns
    either way), but PutDatafeedAction.Request.parseRequest uses it only when the body has no `indices_options`
    (`if (datafeed.getIndicesOptions() == null) datafeed.setIndicesOptions(indicesOptions)`; PUT job's datafeed_config
    the same through Job.Builder.setDatafeedIndicesOptionsIfRequired): a body object wins whole,
    read by IndicesOptions.fromMap over the defaults (x-pack core ml/action/PutDatafeedAction.java, ml/rest/datafeeds/
    RestPutDatafeedAction.java, 8.x). expand_wildcards is written in enum order (IndicesOptions.toXContent writes the
    WildcardStates EnumSet); the parameter `ignore_throttled` is deprecated from 7.16 (IndicesOptions.fromRequest,
    IGNORE_THROTTLED_DEPRECATION_MESSAGE; datafeeds_crud.yml)."""
    defaults = DEFAULT_INDICES_OPTIONS
    from_params = dict(defaults)
    warn_ignore_throttled(req)
    for key in INDICES_OPTION_PARAMS:
        if key in req.params:
            from_params[key] = req.params[key] if key == 'expand_wildcards' else req.bool_param(key)
    from_params = _indices_options_view(req, from_params)
    if body_value is None:
        return from_params
    from_body = dict(defaults)
    for key, value in body_value.items():
        if key in from_body:
            from_body[key] = value
    return _indices_options_view(req, from_body)


def _indices_options_view(req, options):
    wildcards = options['expand_wildcards']
    states = set()
    for item in (wildcards.split(',') if isinstance(wildcards, str) else wildcards):
        item = item.strip()
        if item == 'all':
            states.update(_WILDCARD_ORDER if req.pers.hidden_wildcard_state else ('open', 'closed'))
        elif item in _WILDCARD_ORDER:
            states.add(item)
        elif item != 'none':
            raise EsError(400, 'illegal_argument_exception', 'No valid expand wildcard value [%s]' % item)
    for key in ('ignore_unavailable', 'allow_no_indices', 'ignore_throttled'):
        if not isinstance(options[key], bool):
            options[key] = str(options[key]) == 'true'
    return {'expand_wildcards': [s for s in _WILDCARD_ORDER if s in states], 'ignore_unavailable': options['ignore_unavailable'],
            'allow_no_indices': options['allow_no_indices'], 'ignore_throttled': options['ignore_throttled']}


# Query types a datafeed may use that the emulator knows (a subset of the search module's registry): any other
# name is a parse error, as QueryBuilder parsing raises for an unregistered query (NamedXContentRegistry).
KNOWN_QUERIES = {
    'match_all', 'match_none', 'match', 'match_phrase', 'match_phrase_prefix', 'multi_match', 'term', 'terms', 'range',
    'bool', 'exists', 'prefix', 'wildcard', 'regexp', 'fuzzy', 'ids', 'query_string', 'simple_query_string',
    'constant_score', 'dis_max', 'function_score', 'boosting', 'nested', 'has_child', 'has_parent', 'script',
    'geo_distance', 'geo_bounding_box', 'geo_shape', 'combined_fields', 'intervals', 'terms_set', 'distance_feature',
}


def validate_query(req, query, prefix=(), parser_name='datafeed_config'):
    """PUT datafeed parses `query` strictly (DatafeedConfig parser → QueryProvider.fromXContent, lenient=false): an
    unregistered query name fails inside the datafeed parser, so ES answers
    `[datafeed_config] failed to parse field [query]` caused by status_exception `Datafeed query is not parsable`.
    The innermost cause (the registry's unknown-name error) is modelled as `unknown query [x]` [I]."""
    if not isinstance(query, dict):
        return
    for name in query:
        if name not in KNOWN_QUERIES:
            inner = EsError(400, 'parsing_exception', 'unknown query [%s]' % name)
            cause = EsError(400, 'status_exception', 'Datafeed query is not parsable', caused_by=inner)
            raise parsing.wrap_built(req, parser_name, 'query', cause, value=True, prefix=prefix)
