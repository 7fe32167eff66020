"""Version personalities: every behaviour gate of the emulator, keyed on the ES version tuple.

Each gate cites the section of /work/shared/reference/es-behaviour.md it follows.
"""

import hashlib
import re

# Lucene version shipped with each ES minor (first match by prefix wins).
_LUCENE = (
    ((6, 8), '7.7.3'), ((7, 10), '8.7.0'), ((7, 11), '8.7.0'), ((7, 12), '8.8.0'), ((7, 13), '8.8.2'),
    ((7, 14), '8.9.0'), ((7, 15), '8.9.0'), ((7, 16), '8.10.1'), ((7, 17), '8.11.3'), ((8, 0), '9.0.0'),
    ((8, 1), '9.0.0'), ((8, 2), '9.1.0'), ((8, 3), '9.2.0'), ((8, 4), '9.3.0'), ((8, 5), '9.4.1'),
    ((8, 6), '9.4.2'), ((8, 7), '9.5.0'), ((8, 8), '9.6.0'), ((8, 9), '9.7.0'), ((8, 10), '9.7.0'),
    ((8, 11), '9.8.0'), ((8, 12), '9.9.2'), ((8, 13), '9.10.0'), ((8, 14), '9.10.0'), ((8, 15), '9.11.1'),
    ((8, 16), '9.12.0'), ((8, 17), '9.12.0'), ((8, 18), '9.12.1'), ((8, 19), '9.12.2'), ((9, 0), '10.1.0'),
    ((9, 1), '10.2.2'), ((9, 2), '10.2.2'),
)

_MIN_WIRE = {6: '5.6.0', 7: '6.8.0', 8: '7.17.0', 9: '8.18.0'}
_MIN_INDEX = {6: '5.0.0', 7: '6.0.0-beta1', 8: '7.0.0', 9: '8.0.0'}


def parse_version(text):
    m = re.match(r'^(\d+)\.(\d+)\.(\d+)(?:-[A-Za-z0-9.]+)?$', text.strip())
    if not m:
        raise ValueError('invalid --es-version %r, expected X.Y.Z' % text)
    return tuple(int(x) for x in m.groups())


class Personality:
    """The behaviour switches of one Elasticsearch version."""

    def __init__(self, version_string):
        self.number = version_string
        self.v = parse_version(version_string)
        self.major = self.v[0]
        if self.major not in (6, 7, 8, 9):
            raise ValueError('unsupported major version %d (6.x to 9.x are emulated)' % self.major)
        self.build_hash = hashlib.sha1(('esops-emulator-' + version_string).encode()).hexdigest()

    def at_least(self, *ver):
        return self.v >= tuple(ver)

    def below(self, *ver):
        return self.v < tuple(ver)

    # ---- paths (§2.1, §3.1, §1.6) ----
    @property
    def xpack_paths_only(self):
        """6.x serves ML and rollup only under /_xpack."""
        return self.major == 6

    def xpack_route_available(self, compat7):
        """7.x: deprecated /_xpack routes; 8.x only with compat-7 headers; 9.x never."""
        if self.major == 7:
            return True
        if self.major == 8:
            return compat7
        return False

    # ---- parameters (§2.4.2) ----
    def ml_allow_no_match(self):
        return self.at_least(7, 10)

    def ml_allow_no_jobs(self, compat7):
        """Returns None (unknown param), 'plain' (≤7.9) or 'deprecated' (7.10-7.17, 8.x compat)."""
        if self.below(7, 10):
            return 'plain'
        if self.major == 7 or (self.major == 8 and compat7):
            return 'deprecated'
        return None

    @property
    def delete_user_annotations(self):
        return self.at_least(8, 7)  # §2.1 / §2.8

    @property
    def open_timeout_param_listed(self):
        # The REST handler reads ?timeout in every version (§2.6); it is accepted everywhere.
        return True

    # ---- ML behaviour ----
    @property
    def close_stops_datafeeds(self):
        return self.at_least(7, 14)  # §2.5.3

    @property
    def delete_job_removes_datafeed(self):
        return self.at_least(7, 15)  # §2.8

    @property
    def open_response_has_node(self):
        return self.at_least(7, 8)  # §2.6

    @property
    def start_datafeed_has_node(self):
        return self.major >= 7  # §2.7

    @property
    def datafeed_running_state(self):
        return self.at_least(7, 14)  # §2.7

    @property
    def job_has_datafeed_config(self):
        return self.at_least(7, 15)  # §2.4.3

    @property
    def exclude_generated(self):
        return self.at_least(7, 11)  # ml.get_jobs / ml.get_datafeeds `exclude_generated` (rest-api-spec, §2.4.3)

    @property
    def exclude_generated_drops_datafeed_config(self):
        # Job.doXContentBody (branch 7.17) writes datafeed_config inside the not-exclude_generated branch; 8.0 moved it out.
        return self.major == 7

    @property
    def datafeed_indices_options(self):
        return self.at_least(7, 7)  # DatafeedConfig.INDICES_OPTIONS + the PUT datafeed indices-options parameters

    @property
    def ignore_throttled_deprecated(self):
        return self.at_least(7, 16)  # ES API spec: ignore_throttled @deprecated 7.16.0 (frozen indices)

    @property
    def datafeed_authorization(self):
        return self.at_least(7, 11)  # DatafeedConfig `authorization` [I for the first minor]

    @property
    def model_prune_window(self):
        return self.at_least(8, 0)  # AnalysisConfig.MODEL_PRUNE_WINDOW, default 30d in GET (jobs_crud.yml)

    @property
    def per_partition_categorization(self):
        return self.at_least(7, 9)  # AnalysisConfig.PER_PARTITION_CATEGORIZATION

    @property
    def hidden_wildcard_state(self):
        return self.at_least(7, 7)  # IndicesOptions.WildcardStates.HIDDEN: expand_wildcards=all includes hidden

    @property
    def standard_categorization_analyzer(self):
        return self.at_least(7, 14)  # CategorizationAnalyzerConfig.buildStandardCategorizationAnalyzer ("7.14 or above")

    @property
    def ml_info_categorization_analyzer(self):
        # TransportMlInfoAction writes defaults.anomaly_detectors.categorization_analyzer from 7.6 (elastic/elasticsearch
        # PR 49545, Nov 2019); the 6.7/6.8 action has only model_memory_limit, categorization_examples_limit and
        # model_snapshot_retention_days.
        return self.at_least(7, 6)

    @property
    def daily_snapshot_retention(self):
        # Job.DAILY_MODEL_SNAPSHOT_RETENTION_AFTER_DAYS (7.8; JobUpdate streams it from V_7_8_0), which also raised
        # Job.DEFAULT_MODEL_SNAPSHOT_RETENTION_DAYS from 1 to 10 (the .NET client's ML tests expect 1 before 7.8.0).
        return self.at_least(7, 8)

    @property
    def default_model_snapshot_retention_days(self):
        return 10 if self.daily_snapshot_retention else 1

    @property
    def job_blocked(self):
        return self.at_least(7, 14)  # Job.BLOCKED ({reason, task_id}) while a delete/reset/revert runs

    @property
    def upgrade_mode_action_filter(self):
        """7.8+: MlUpgradeModeActionFilter refuses every ML mutation with 429 `Cannot perform <action> action while
        upgrade mode is enabled`; before, only open job refused (429 `Cannot open jobs when upgrade mode is enabled`,
        TransportOpenJobAction.makeCurrentlyBeingUpgradedException / SetUpgradeModeIT at 7.7). The filter came with
        elastic/elasticsearch PR 54437 ("Do not execute ML CRUD actions when upgrade mode is enabled", 7.x backport
        PR 55049, April 2020 = 7.8); its list includes update job and update datafeed."""
        return self.at_least(7, 8)

    @property
    def upgrade_mode_feature_message(self):
        return self.major >= 9  # §2.9

    # ---- rollup ----
    @property
    def rollup_start_idempotent(self):
        return self.major >= 8  # §3.2

    @property
    def rollup_put_requires_usage(self):
        return self.at_least(8, 15)  # §3.6

    @property
    def rollup_deprecation_warning(self):
        return self.major >= 9  # §3.6 / §1.4

    @property
    def rollup_upgraded_doc_id(self):
        return self.major in (6, 7)  # §3.3

    @property
    def timeout_status(self):
        return 429 if self.major >= 9 else 500  # §1.5

    @property
    def rollup_date_types(self):
        # RollupField.DATE_FIELD_MAPPER_TYPES: [date] in 6.x, [date, date_nanos] from 7.x (date_nanos exists from 7.0);
        # x-pack core rollup/job/DateHistogramGroupConfig.java at 6.8 vs 7.17.
        return ('date',) if self.major == 6 else ('date', 'date_nanos')

    @property
    def rollup_meta_version_required(self):
        # TransportPutRollupJobAction.updateMapping at 7.17 refuses an existing rollup index whose _meta lacks
        # `rollup-version` ("Could not determine version of existing rollup metadata"); the 8.x/9.x code has no such check.
        return self.major <= 7

    # ---- strict body parsing (ObjectParser) ----
    @property
    def unknown_field_suggestions(self):
        # ObjectParser's ErrorOnUnknown (SuggestingErrorOnUnknown, " did you mean [x]?") replaced 6.x's
        # "..., parser not found" text; 7.7 is the first personality boundary after it [I for the exact minor].
        return self.at_least(7, 7)

    # ---- index mappings ----
    @property
    def mapping_types_param(self):
        # include_type_name is a parameter of the 6.7+/7.x index APIs; 8.x knows it only for compatible-with=7.
        return self.major in (6, 7)

    @property
    def mapping_types_by_default(self):
        # 6.x: include_type_name defaults to true (mappings keyed by type); 7.0 flipped the default to false.
        return self.major == 6

    # ---- transport / headers ----
    @property
    def product_header(self):
        # The X-Elastic-Product header exists since 7.14 (client product check); the 8.x clients require it.
        return self.at_least(7, 14)

    @property
    def www_authenticate(self):
        """§1.2: 6.x only Basic; 7.x/8.x Basic+Bearer+ApiKey; the comma form seen from 8.17 [I]."""
        if self.major == 6:
            return ['Basic realm="security" charset="UTF-8"']
        basic = 'Basic realm="security", charset="UTF-8"' if self.at_least(8, 17) else 'Basic realm="security" charset="UTF-8"'
        return [basic, 'Bearer realm="security"', 'ApiKey']

    @property
    def privilege_hint(self):
        return self.major >= 7  # §1.2

    @property
    def no_handler_envelope(self):
        # 8.x renders "no handler found" as a full error object; older versions as a bare string [I].
        return self.major >= 8

    def compat_versions(self):
        """Versions accepted in compatible-with=N media types (N and N-1)."""
        return (self.major, self.major - 1) if self.major >= 8 else (self.major,)

    # ---- GET / ----
    @property
    def lucene_version(self):
        key = self.v[:2]
        for minor, lucene in _LUCENE:
            if minor == key:
                return lucene
        best = None
        for minor, lucene in _LUCENE:
            if minor <= key:
                best = lucene
        return best or '7.7.3'

    @property
    def minimum_wire_compatibility_version(self):
        return _MIN_WIRE[self.major]

    @property
    def minimum_index_compatibility_version(self):
        return _MIN_INDEX[self.major]

    def warning_value(self, message, date_text):
        """§1.4: 299 Elasticsearch-<ver>-<hash> "msg" (6.x appends a quoted date)."""
        escaped = message.replace('\\', '\\\\').replace('"', '\\"')
        value = '299 Elasticsearch-%s-%s "%s"' % (self.number, self.build_hash, escaped)
        if self.major == 6:
            value += ' "%s"' % date_text
        return value
