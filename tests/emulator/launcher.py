"""pytest helper: start the emulator as a subprocess and talk to its control API (stdlib only)."""

import contextlib
import os
import ssl
import subprocess
import sys

from tests import es_http

from .control_calls import ControlCalls

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Emulator(ControlCalls):
    """A running emulator: `.url` plus the /_emulator/ control calls."""

    def __init__(self, url, process, tls_dir=None):
        self.url = url
        self.process = process
        self.tls_dir = tls_dir
        self.ca_cert = os.path.join(tls_dir, 'ca.crt') if tls_dir else None

    def ssl_context(self):
        if not self.url.startswith('https'):
            return None
        return ssl.create_default_context(cafile=self.ca_cert)

    def control(self, method, path, body=None):
        resp = es_http.request(self.url, method, '/_emulator/' + path.lstrip('/'), body, context=self.ssl_context())
        if resp.status >= 300:
            raise RuntimeError('emulator control %s %s failed: HTTP %d %s' % (method, path, resp.status, resp.raw.decode()))
        return resp.body

    def requests(self):
        return self.control('GET', 'requests')['requests']

    def clear_requests(self):
        return self.control('DELETE', 'requests')


@contextlib.contextmanager
def running_emulator(es_version='8.19.0', security=False, tls_dir=None, close_seconds=0.5, stop_seconds=0.5, open_seconds=0.2,
                     cluster_name=None, **ml_options):
    """ml_options: upgrade_mode_seconds, delete_seconds, ml_max_model_memory_limit (the matching --options)."""
    cmd = [sys.executable, '-m', 'tests.emulator', '--port', '0', '--es-version', es_version,
           '--close-seconds', str(close_seconds), '--stop-seconds', str(stop_seconds), '--open-seconds', str(open_seconds)]
    for name, value in sorted(ml_options.items()):
        if value is not None:
            cmd.extend(['--' + name.replace('_', '-'), str(value)])
    if cluster_name is not None:
        cmd.extend(['--cluster-name', cluster_name])
    if security:
        cmd.append('--security')
    if tls_dir:
        cmd.extend(['--tls-dir', str(tls_dir)])
    process = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # pylint: disable=consider-using-with
    try:
        line = process.stdout.readline().decode().strip()
        if not line.startswith('http'):
            process.kill()
            _out, err = process.communicate(timeout=10)
            raise RuntimeError('emulator failed to start: %s' % err.decode())
        yield Emulator(line, process, str(tls_dir) if tls_dir else None)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
