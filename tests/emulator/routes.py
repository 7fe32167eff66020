"""Route table per personality: path templates, transport action names and accepted query parameters."""

from . import ml, rollup
from . import core
from . import ml_calendars

GLOBAL_PARAMS = {'pretty', 'human', 'error_trace', 'filter_path', 'format'}


class Route:
    def __init__(self, method, template, handler, action, params=(), family=None, deprecated_of=None, body_wins=False):
        self.method = method
        self.template = template
        self.segments = [s for s in template.split('/') if s]
        self.handler = handler
        self.action = action
        self.params = params            # callable(personality, compat7) -> set, or a tuple
        self.family = family            # 'ml' | 'rollup' | None
        self.deprecated_of = deprecated_of
        self.body_wins = body_wins

    def match(self, segments):
        if len(segments) != len(self.segments):
            return None
        found = {}
        for tmpl, seg in zip(self.segments, segments):
            if tmpl.startswith('{'):
                found[tmpl[1:-1]] = seg
            elif tmpl != seg:
                return None
        return found

    def literal_count(self):
        return sum(1 for s in self.segments if not s.startswith('{'))

    def allowed_params(self, pers, compat7):
        if callable(self.params):
            return set(self.params(pers, compat7))
        return set(self.params)


def _legacy(name):
    def params(pers, compat7):
        out = set()
        if pers.ml_allow_no_match():
            out.add('allow_no_match')
        if pers.ml_allow_no_jobs(compat7) is not None:
            out.add(name)
        return out
    return params


def _with(base, *extra):
    def params(pers, compat7):
        return base(pers, compat7) | set(extra)
    return params


def _get_params(legacy_name):
    def params(pers, compat7):
        out = _legacy(legacy_name)(pers, compat7)
        if pers.exclude_generated:
            out.add('exclude_generated')
        return out
    return params


_INDICES_OPTIONS = ('ignore_unavailable', 'allow_no_indices', 'ignore_throttled', 'expand_wildcards')


def _put_datafeed_params(pers, _compat7):
    # RestPutDatafeedAction reads IndicesOptions.fromRequest (rest-api-spec ml.put_datafeed.json).
    return set(_INDICES_OPTIONS) if pers.datafeed_indices_options else set()


def _put_job_params(pers, _compat7):
    # RestPutJobAction: the same parameters, for the datafeed_config a job body may carry (ml.put_job.json).
    return set(_INDICES_OPTIONS) if pers.job_has_datafeed_config else set()


def _update_datafeed_params(pers, _compat7):
    # RestUpdateDatafeedAction (8.x) reads the indices options when any is given; from 7.7 with the datafeed field
    # indices_options, as PUT datafeed [I for the first minor of the update parameters].
    return set(_INDICES_OPTIONS) if pers.datafeed_indices_options else set()


def _delete_job_params(pers, _compat7):
    out = {'force', 'wait_for_completion', 'timeout', 'master_timeout'}
    if pers.delete_user_annotations:
        out.add('delete_user_annotations')
    return out


def _stop_rollup_params(pers, _compat7):
    return {'wait_for_completion', 'timeout'} if pers.at_least(6, 6) else set()


def _ml_routes(pers):
    jobs_legacy = _legacy('allow_no_jobs')
    feeds_legacy = _legacy('allow_no_datafeeds')
    get_jobs_params = _get_params('allow_no_jobs')
    get_feeds_params = _get_params('allow_no_datafeeds')
    ad = '/anomaly_detectors'
    specs = [
        ('PUT', ad + '/{job_id}', ml.put_job, 'put_job', _put_job_params, False),
        ('GET', ad, ml.get_jobs, 'get_jobs', get_jobs_params, False),
        ('GET', ad + '/{job_id}', ml.get_jobs, 'get_jobs', get_jobs_params, False),
        ('GET', ad + '/_stats', ml.job_stats, 'job_stats', jobs_legacy, False),
        ('GET', ad + '/{job_id}/_stats', ml.job_stats, 'job_stats', jobs_legacy, False),
        ('POST', ad + '/{job_id}/_open', ml.open_job, 'open', ('timeout',), True),
        ('POST', ad + '/{job_id}/_close', ml.close_job, 'close', _with(jobs_legacy, 'force', 'timeout'), True),
        ('DELETE', ad + '/{job_id}', ml.delete_job, 'delete_job', _delete_job_params, False),
        ('PUT', '/datafeeds/{datafeed_id}', ml.put_datafeed, 'put_datafeed', _put_datafeed_params, False),
        ('GET', '/datafeeds', ml.get_datafeeds, 'get_datafeeds', get_feeds_params, False),
        ('GET', '/datafeeds/{datafeed_id}', ml.get_datafeeds, 'get_datafeeds', get_feeds_params, False),
        ('GET', '/datafeeds/_stats', ml.datafeed_stats, 'datafeed_stats', feeds_legacy, False),
        ('GET', '/datafeeds/{datafeed_id}/_stats', ml.datafeed_stats, 'datafeed_stats', feeds_legacy, False),
        ('POST', '/datafeeds/{datafeed_id}/_start', ml.start_datafeed, 'start_datafeed', ('start', 'end', 'timeout'), True),
        ('POST', '/datafeeds/{datafeed_id}/_stop', ml.stop_datafeed, 'stop_datafeed', _with(feeds_legacy, 'force', 'timeout'), True),
        ('DELETE', '/datafeeds/{datafeed_id}', ml.delete_datafeed, 'delete_datafeed', ('force',), False),
        ('GET', '/info', ml.ml_info, 'info', (), False),
        # Update APIs (issue 23): RestPostJobUpdateAction / RestUpdateDatafeedAction, `_xpack/ml` on 6.x.
        ('POST', ad + '/{job_id}/_update', ml.update_job, 'update_job', (), False),
        ('POST', '/datafeeds/{datafeed_id}/_update', ml.update_datafeed, 'update_datafeed', _update_datafeed_params, False),
    ]
    if pers.at_least(6, 7):
        specs.append(('POST', '/set_upgrade_mode', ml.set_upgrade_mode, 'upgrade_mode', ('enabled', 'timeout'), False))
    return [(m, p, h, ml.ACTIONS[k], params, bw) for m, p, h, k, params, bw in specs]


def _rollup_routes():
    specs = [
        ('PUT', '/job/{id}', rollup.put_job, 'put', ()),
        ('GET', '/job', rollup.get_jobs, 'get', ()),
        ('GET', '/job/{id}', rollup.get_jobs, 'get', ()),
        ('POST', '/job/{id}/_start', rollup.start_job, 'start', ()),
        ('POST', '/job/{id}/_stop', rollup.stop_job, 'stop', _stop_rollup_params),
        ('DELETE', '/job/{id}', rollup.delete_job, 'delete', ()),
        ('GET', '/data', rollup.get_caps, 'caps', ()),
        ('GET', '/data/{id}', rollup.get_caps, 'caps', ()),
    ]
    return [(m, p, h, rollup.ACTIONS[k], params, False) for m, p, h, k, params in specs]


def _rollup_index_caps_routes(pers):
    """GET <index>/_rollup/data (6.x: <index>/_xpack/rollup/data; 7.x and 8.x compat-7 also the deprecated form)."""
    action = rollup.ACTIONS['index_caps']
    out = []
    for index in ('{index}', '_all'):  # `_all` is an index expression here, not an API name
        if pers.xpack_paths_only:
            out.append(Route('GET', '/%s/_xpack/rollup/data' % index, rollup.get_index_caps, action, (), 'rollup'))
            continue
        out.append(Route('GET', '/%s/_rollup/data' % index, rollup.get_index_caps, action, (), 'rollup'))
        if pers.major in (7, 8):
            out.append(Route('GET', '/%s/_xpack/rollup/data' % index, rollup.get_index_caps, action, (), 'rollup',
                             deprecated_of='/%s/_rollup/data' % index))
    return out


def build_routes(pers):
    """§2.1 / §3.1: 6.x only /_xpack; 7.x /_ml + deprecated /_xpack; 8.x /_xpack with compat-7; 9.x none."""
    routes = []
    families = (('ml', '/_ml', '/_xpack/ml', _ml_routes(pers)),
                ('rollup', '/_rollup', '/_xpack/rollup', _rollup_routes()),
                # ML calendars, scheduled events and filters (ml_calendars.py): the same path rules as the ML APIs.
                ('ml', '/_ml', '/_xpack/ml', ml_calendars.routes(pers)))
    for family, new_base, old_base, specs in families:
        for method, path, handler, action, params, body_wins in specs:
            if pers.xpack_paths_only:
                routes.append(Route(method, old_base + path, handler, action, params, family, body_wins=body_wins))
                continue
            routes.append(Route(method, new_base + path, handler, action, params, family, body_wins=body_wins))
            if pers.major in (7, 8):
                routes.append(Route(method, old_base + path, handler, action, params, family,
                                    deprecated_of=new_base + path, body_wins=body_wins))
    routes.extend(_rollup_index_caps_routes(pers))
    routes.extend(core.routes(pers, Route))
    return routes
