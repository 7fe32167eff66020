"""Strict request-body parsing as Elasticsearch's ObjectParser does it, for every API the emulator parses strictly
(ML jobs/datafeeds/close/stop here, rollup jobs in rollup.py): one locator, one unknown-field message, one checker, one
wrapper.

An unknown field is a 400 `x_content_parse_exception` whose reason starts with the Jackson token location
`[line:column]` (XContentParseException.getMessage, XContentLocation). Errors in nested objects are wrapped once per
level in `[<outer parser>] failed to parse field [<field>]` (ObjectParser.parseValue / parseArray).
Sources: libs/x-content/.../ObjectParser.java (branch 6.8: "..., parser not found"; 7.x+: ErrorOnUnknown with
server/.../SuggestingErrorOnUnknown.java, "did you mean [x]?" for candidates with Levenshtein similarity > 0.5,
most similar first) and ConstructingObjectParser.java, on the 6.8/7.17/8.19/9.1 branches.
"""

import json

from .errors import EsError

# Exception types the emulator raises for plain Java exceptions (not ElasticsearchException subclasses).
_PLAIN_JAVA_EXCEPTIONS = ('illegal_argument_exception', 'illegal_state_exception')


class ParseError(EsError):
    """XContentParseException; `unknown_path` is set while an unknown field's error travels up the wrappers."""

    def __init__(self, reason, caused_by=None, unknown_path=None):
        super().__init__(400, 'x_content_parse_exception', reason, caused_by=caused_by)
        self.unknown_path = unknown_path

    def root(self):
        # ElasticsearchException.guessRootCauses (server/.../ElasticsearchException.java, 6.8-9.1): a parse exception
        # unwraps to its cause when that is another parse exception or an ElasticsearchException, never to a plain
        # Java exception such as IllegalArgumentException (e.g. a constructor's error under "failed to build").
        cause = self.caused_by
        if cause is None or cause.err_type in _PLAIN_JAVA_EXCEPTIONS:
            return self
        return cause.root()


class _Locator:
    """Positions (line, column; 1-based, as Jackson's getTokenLocation) of every key and value in a JSON text."""

    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.keys = {}      # path tuple -> location of the field name token
        self.values = {}    # path tuple -> location of the value's first token
        self.ends = {}      # path tuple -> location of an object's or array's closing token
        self._line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == '\n']

    def loc(self, offset):
        line = 0
        for i, start in enumerate(self._line_starts):
            if start <= offset:
                line = i
        return line + 1, offset - self._line_starts[line] + 1

    def _ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in ' \t\r\n':
            self.pos += 1

    def _string(self):
        decoder = json.JSONDecoder()
        value, end = decoder.raw_decode(self.text, self.pos)
        self.pos = end
        return value

    def value(self, path):
        self._ws()
        self.values[path] = self.loc(self.pos)
        char = self.text[self.pos]
        if char == '{':
            self.pos += 1
            self._ws()
            if self.text[self.pos] == '}':
                self.ends[path] = self.loc(self.pos)
                self.pos += 1
                return
            while True:
                self._ws()
                key_at = self.loc(self.pos)
                key = self._string()
                self.keys[path + (key,)] = key_at
                self._ws()
                self.pos += 1   # ':'
                self.value(path + (key,))
                self._ws()
                char = self.text[self.pos]
                if char == '}':
                    self.ends[path] = self.loc(self.pos)
                    self.pos += 1
                    return
                self.pos += 1
        elif char == '[':
            self.pos += 1
            self._ws()
            if self.text[self.pos] == ']':
                self.pos += 1
                return
            index = 0
            while True:
                self.value(path + (index,))
                index += 1
                self._ws()
                char = self.text[self.pos]
                self.pos += 1
                if char == ']':
                    return
        else:
            _value, end = json.JSONDecoder().raw_decode(self.text, self.pos)
            self.pos = end


def locate(raw):
    """Key/value locations of a raw JSON body (None when it cannot be scanned)."""
    try:
        text = raw.decode('utf-8') if isinstance(raw, bytes) else raw
        locator = _Locator(text)
        locator.value(())
        return locator
    except (ValueError, IndexError):
        return None


def at(req, path, token):
    """`[line:column] ` of the token at `path` in the request body, as XContentParseException prints its
    XContentLocation: token 'name' (a field name; an array element has only its value), 'value' (the value's first
    token) or 'end' (an object's closing token). Empty when the body has no such token."""
    locator = req.body_locator()
    if locator is None:
        return ''
    table = {'name': locator.keys, 'value': locator.values, 'end': locator.ends}[token]
    if token == 'name' and path not in table:
        table = locator.values
    if path not in table:
        return ''
    line, column = table[path]
    return '[%d:%d] ' % (line, column)


def similarity(a, b):
    """Lucene LevenshteinDistance.getDistance: 1 - distance / max(len)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return 1.0 - float(prev[-1]) / max(len(a), len(b), 1)


def unknown_field_message(pers, parser_name, field, candidates):
    if not pers.unknown_field_suggestions:
        # 6.x ObjectParser.getParser.
        return '[%s] unknown field [%s], parser not found' % (parser_name, field)
    message = '[%s] unknown field [%s]' % (parser_name, field)
    scored = sorted(((-similarity(field, c), c) for c in candidates if similarity(field, c) > 0.5))
    if not scored:
        return message
    names = [c for _score, c in scored]
    if len(names) == 1:
        return message + ' did you mean [%s]?' % names[0]
    return message + ' did you mean any of [%s]?' % ', '.join(names)


def unknown_field(req, parser_name, field, candidates, path, token='name'):
    """ObjectParser's error for an undeclared field at `path` (its name token unless told otherwise)."""
    return ParseError(at(req, path, token) + unknown_field_message(req.pers, parser_name, field, candidates),
                      unknown_path=path)


def check_fields(req, obj, parser_name, known, path=(), token='name'):
    """Raise ES's error for the first key of `obj` (at `path` in the body, document order) that `known` lacks."""
    for key in obj:
        if key not in known:
            raise unknown_field(req, parser_name, key, sorted(known), path + (key,), token)


def failed_to_parse(req, parser_name, field, path, cause, token='name'):
    """ObjectParser.parseValue / parseArray's wrapper around an error inside a field's value, at the token `path`
    names (rollups: the field's name, or the array element)."""
    return ParseError(at(req, path, token) + '[%s] failed to parse field [%s]' % (parser_name, field), caused_by=cause,
                      unknown_path=getattr(cause, 'unknown_path', None))


def wrong_type(req, parser_name, field, path, value_token):
    """ObjectParser: a declared field whose value token (e.g. START_OBJECT) its ValueType does not accept, at the value."""
    return ParseError(at(req, path, 'value') + "[%s] %s doesn't support values of type: %s" % (parser_name, field, value_token))


def failed_to_build(req, parser_name, path, cause):
    """ConstructingObjectParser: the constructor threw once every required argument had arrived."""
    return ParseError(at(req, path, 'name') + 'failed to build [%s] after last required field arrived' % parser_name,
                      caused_by=cause)


class Field:
    """A declared field: `since` (first version), `until` (first version without it), `parser` for a nested object
    (or a list of objects when `array`), `keyed` when the object's keys are free and each value uses `parser`."""

    def __init__(self, since=None, until=None, parser=None, array=False, keyed=False):
        self.since = since
        self.until = until
        self.parser = parser
        self.array = array
        self.keyed = keyed

    def exists(self, pers):
        return (self.since is None or pers.at_least(*self.since)) and (self.until is None or pers.below(*self.until))


class Parser:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields    # name -> Field

    def known(self, pers):
        return sorted(n for n, f in self.fields.items() if f.exists(pers))

    def check(self, req, body, path=()):
        """Raise ES's parse error for the first unknown field (document order), recursing into declared objects."""
        if not isinstance(body, dict):
            return
        known = self.known(req.pers)
        check_fields(req, body, self.name, known, path)
        for key, value in body.items():
            spec = self.fields[key]
            if spec.parser is None:
                continue
            try:
                if spec.array and isinstance(value, list):
                    for index, item in enumerate(value):
                        spec.parser.check(req, item, path + (key, index))
                elif spec.keyed and isinstance(value, dict):
                    for sub_key, item in value.items():
                        spec.parser.check(req, item, path + (key, sub_key))
                else:
                    spec.parser.check(req, value, path + (key,))
            except ParseError as inner:
                where = inner.unknown_path
                if where is None:
                    raise
                # 6.x wraps at the unknown field's name token; 7.x+ at the current token, the unknown field's value.
                raise failed_to_parse(req, self.name, key, where, inner,
                                      'value' if req.pers.unknown_field_suggestions else 'name') from None


def wrap_built(req, parser_name, field, error, value=False, prefix=()):
    """An error raised while a field's value is turned into an object during parsing (e.g. Job.Builder.setAnalysisConfig
    calls AnalysisConfig.Builder.build()): ObjectParser wraps it at the current token, the nested object's closing
    token (`value`: its first token, for a value parsed as a whole such as a datafeed query)."""
    wrapped = failed_to_parse(req, parser_name, field, tuple(prefix) + (field,), error, 'value' if value else 'end')
    wrapped.unknown_path = None
    return wrapped


# ---------------------------------------------------------------- ML field tables
# Job.java / AnalysisConfig.java / Detector.java / DataDescription.java / AnalysisLimits.java / ModelPlotConfig.java /
# DetectionRule.java / RuleCondition.java / FilterRef.java / DatafeedConfig.java / ChunkingConfig.java /
# DelayedDataCheckConfig.java in x-pack/plugin/core/.../xpack/core/ml (STRICT_PARSER; branches 6.8, 7.17, 8.19, 9.1).
# A field's `since`/`until` is the version that added/removed it (the same versions as the gates in versions.py).

FILTER_REF = Parser('filter_ref', {'filter_id': Field(), 'filter_type': Field()})
RULE_CONDITION = Parser('rule_condition', {'applies_to': Field(), 'operator': Field(), 'value': Field()})
DETECTION_RULE = Parser('detection_rule', {
    'actions': Field(), 'scope': Field(parser=FILTER_REF, keyed=True), 'conditions': Field(parser=RULE_CONDITION, array=True),
})
DETECTOR = Parser('detector', {
    'detector_description': Field(), 'function': Field(), 'field_name': Field(), 'by_field_name': Field(),
    'over_field_name': Field(), 'partition_field_name': Field(), 'use_null': Field(), 'exclude_frequent': Field(),
    'custom_rules': Field(parser=DETECTION_RULE, array=True), 'detector_index': Field(),
})
PER_PARTITION_CATEGORIZATION = Parser('per_partition_categorization', {'enabled': Field(), 'stop_on_warn': Field()})
ANALYSIS_CONFIG = Parser('analysis_config', {
    'bucket_span': Field(), 'categorization_field_name': Field(), 'categorization_filters': Field(),
    'categorization_analyzer': Field(), 'latency': Field(), 'summary_count_field_name': Field(),
    'detectors': Field(parser=DETECTOR, array=True), 'influencers': Field(), 'multivariate_by_fields': Field(),
    'per_partition_categorization': Field(since=(7, 9), parser=PER_PARTITION_CATEGORIZATION),
    'model_prune_window': Field(since=(8, 0)),
})
ANALYSIS_LIMITS = Parser('analysis_limits', {'model_memory_limit': Field(), 'categorization_examples_limit': Field()})
DATA_DESCRIPTION = Parser('data_description', {
    'format': Field(), 'time_field': Field(), 'time_format': Field(), 'field_delimiter': Field(), 'quote_character': Field(),
})
MODEL_PLOT_CONFIG = Parser('model_plot_config', {'enabled': Field(), 'terms': Field(), 'annotations_enabled': Field(since=(7, 9))})
CHUNKING_CONFIG = Parser('chunking_config', {'mode': Field(), 'time_span': Field()})
DELAYED_DATA_CHECK_CONFIG = Parser('delayed_data_check_config', {'enabled': Field(), 'check_window': Field()})

_DATAFEED_FIELDS = {
    'datafeed_id': Field(), 'job_id': Field(), 'query_delay': Field(), 'frequency': Field(), 'indices': Field(),
    'indexes': Field(), 'query': Field(), 'aggregations': Field(), 'aggs': Field(), 'script_fields': Field(),
    'scroll_size': Field(), 'chunking_config': Field(parser=CHUNKING_CONFIG), 'config_type': Field(since=(6, 6)),
    'delayed_data_check_config': Field(since=(6, 6), parser=DELAYED_DATA_CHECK_CONFIG),
    'max_empty_searches': Field(since=(7, 5)), 'indices_options': Field(since=(7, 7)), 'runtime_mappings': Field(since=(7, 11)),
}
DATAFEED = Parser('datafeed_config', _DATAFEED_FIELDS)

JOB = Parser('job_details', {
    'job_id': Field(), 'job_type': Field(), 'job_version': Field(), 'groups': Field(), 'description': Field(),
    'create_time': Field(), 'finished_time': Field(), 'model_snapshot_id': Field(), 'model_snapshot_min_version': Field(since=(6, 5)),
    'analysis_config': Field(parser=ANALYSIS_CONFIG), 'analysis_limits': Field(parser=ANALYSIS_LIMITS),
    'data_description': Field(parser=DATA_DESCRIPTION), 'model_plot_config': Field(parser=MODEL_PLOT_CONFIG),
    'renormalization_window_days': Field(), 'background_persist_interval': Field(), 'model_snapshot_retention_days': Field(),
    'daily_model_snapshot_retention_after_days': Field(since=(7, 8)), 'results_retention_days': Field(), 'custom_settings': Field(),
    'results_index_name': Field(), 'deleting': Field(), 'allow_lazy_open': Field(since=(7, 1)), 'blocked': Field(since=(7, 14)),
    'established_model_memory': Field(until=(7, 0)), 'last_data_time': Field(until=(7, 0)),
    'datafeed_config': Field(since=(7, 15), parser=DATAFEED),
})

# Update APIs. JobUpdate.EXTERNAL_PARSER (x-pack core ml/job/config/JobUpdate.java: 6.x copy with the fields of 6.8;
# the 7.15+ copy adds daily_model_snapshot_retention_after_days (wire 7.8), per_partition_categorization (7.9),
# allow_lazy_open (wire 7.5), system_annotations_retention_days (7.15)); model_prune_window is updatable
# (elastic/elasticsearch-specification specification/ml/update_job/MlUpdateJobRequest.ts) from the version its PUT
# field appears in (8.0 here, the gate of ANALYSIS_CONFIG above). The internal-only fields (model_snapshot_id, job_version, ...)
# are unknown to a REST request. DetectorUpdate.PARSER ("detector_update"): detector_index, description, custom_rules.
DETECTOR_UPDATE = Parser('detector_update', {
    'detector_index': Field(), 'description': Field(), 'custom_rules': Field(parser=DETECTION_RULE, array=True),
})
JOB_UPDATE = Parser('job_update', {
    'job_id': Field(), 'groups': Field(), 'description': Field(), 'detectors': Field(parser=DETECTOR_UPDATE, array=True),
    'model_plot_config': Field(parser=MODEL_PLOT_CONFIG), 'analysis_limits': Field(parser=ANALYSIS_LIMITS),
    'background_persist_interval': Field(), 'renormalization_window_days': Field(), 'results_retention_days': Field(),
    'system_annotations_retention_days': Field(since=(7, 15)), 'model_snapshot_retention_days': Field(),
    'daily_model_snapshot_retention_after_days': Field(since=(7, 8)), 'categorization_filters': Field(),
    'per_partition_categorization': Field(since=(7, 9), parser=PER_PARTITION_CATEGORIZATION), 'custom_settings': Field(),
    'allow_lazy_open': Field(since=(7, 5)), 'model_prune_window': Field(since=(8, 0)),
})
# DatafeedUpdate.PARSER ("datafeed_update", x-pack core ml/datafeed/DatafeedUpdate.java): the datafeed fields except
# config_type, with the same first versions as the datafeed parser above.
DATAFEED_UPDATE = Parser('datafeed_update', {k: f for k, f in _DATAFEED_FIELDS.items() if k != 'config_type'})

# CloseJobAction.Request.PARSER / StopDatafeedAction.Request.PARSER are named after the action; OpenJobAction.JobParams
# and StartDatafeedAction.DatafeedParams ignore unknown fields (`new ObjectParser<>(..., true, ...)`).


def _close_or_stop(action, id_field, legacy):
    return Parser(action, {
        id_field: Field(), 'timeout': Field(), 'force': Field(), legacy: Field(), 'allow_no_match': Field(since=(7, 10)),
    })


CLOSE_JOB = _close_or_stop('cluster:admin/xpack/ml/job/close', 'job_id', 'allow_no_jobs')
STOP_DATAFEED = _close_or_stop('cluster:admin/xpack/ml/datafeed/stop', 'datafeed_id', 'allow_no_datafeeds')
