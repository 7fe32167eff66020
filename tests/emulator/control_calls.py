"""The /_emulator/ control calls, once for both ways of running the emulator: `launcher.Emulator` (a subprocess,
over HTTP) and `inprocess.InProcessEmulator` (App.handle directly). Each supplies `control(method, path, body)`."""


class ControlCalls:
    def control(self, method, path, body=None):
        raise NotImplementedError

    def faults(self, **spec):
        """Add a fault: method, path_regex, status, times, delay_ms (in-process: advances the clock), drop_connection, body."""
        return self.control('POST', 'faults', spec)

    def list_faults(self):
        return self.control('GET', 'faults')['faults']

    def clear_faults(self):
        return self.control('DELETE', 'faults')

    def reset(self):
        return self.control('POST', 'reset')

    def fail_ml_job(self, job_id, reason='emulated failure'):
        return self.control('POST', 'ml/%s/_fail' % job_id, {'reason': reason})

    def set_license(self, status, license_type=None):
        body = {'status': status}
        if license_type:
            body['type'] = license_type
        return self.control('POST', 'license', body)

    def force_rollup_indexing(self, job_id):
        return self.control('POST', 'rollup/%s/_indexing' % job_id)

    def state(self):
        """{'version', 'upgrade_mode', 'ml_jobs': {id: state}, 'datafeeds': {id: state}, 'rollup_jobs', 'indices'}."""
        return self.control('GET', 'state')
