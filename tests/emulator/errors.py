"""Error envelopes (es-behaviour §1.1)."""


class EsError(Exception):
    """An exception rendered like ElasticsearchException.toXContent."""

    def __init__(self, status, err_type, reason, caused_by=None, metadata=None, headers=None):
        super().__init__(reason)
        self.status = status
        self.err_type = err_type
        self.reason = reason
        self.caused_by = caused_by          # another EsError or None
        self.metadata = metadata or {}      # "es." metadata, written into the object without the prefix
        self.headers = headers or {}        # name -> list of values; also sent as real HTTP headers

    def _object(self, with_cause=True):
        obj = {'type': self.err_type, 'reason': self.reason}
        for key, value in self.metadata.items():
            obj[key] = value
        if self.headers:
            obj['header'] = {k: (v[0] if len(v) == 1 else list(v)) for k, v in self.headers.items()}
        if with_cause and self.caused_by is not None:
            obj['caused_by'] = self.caused_by._object()
        return obj

    def root(self):
        err = self
        while err.caused_by is not None:
            err = err.caused_by
        return err

    def body(self, error_trace=False):
        error = {'root_cause': [self.root()._object(with_cause=False)]}
        error.update(self._object())
        if error_trace:
            error['stack_trace'] = 'org.elasticsearch.%s: %s\n\tat emulator' % (self.err_type, self.reason)
        return {'error': error, 'status': self.status}


class RawResponse(Exception):
    """A non-2xx response whose body is not an error envelope (e.g. rollup delete task_failures, §3.4.4)."""

    def __init__(self, status, body, headers=None):
        super().__init__('HTTP %d' % status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found(reason, **metadata):
    return EsError(404, 'resource_not_found_exception', reason, metadata=metadata)


def conflict(reason):
    return EsError(409, 'status_exception', reason)


def bad_request(reason, err_type='illegal_argument_exception'):
    return EsError(400, err_type, reason)


def too_many(reason, caused_by=None):
    return EsError(429, 'status_exception', reason, caused_by=caused_by)


def job_not_found(expr):
    # Messages.JOB_UNKNOWN_ID (MessageFormat → single quotes), §2.4.1
    return not_found("No known job with id '%s'" % expr)


def datafeed_not_found(expr):
    return not_found('No datafeed with id [%s] exists' % expr)
