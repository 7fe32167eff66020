"""python -m tests.emulator --port PORT --es-version X.Y.Z [...]: run the Elasticsearch emulator."""

import argparse
import signal
import sys
import threading

from .server import App, Server
from .state import Cluster, Timings
from .versions import Personality


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.emulator', description='Elasticsearch ML/rollup emulator')
    parser.add_argument('--port', type=int, default=9200, help='port to listen on (0 picks a free port)')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--es-version', default='8.19.0', help='version personality X.Y.Z (6.8 to 9.x)')
    parser.add_argument('--cluster-name', default='elasticsearch',
                        help="the cluster's cluster.name (ES's default: elasticsearch); its cluster_uuid is random per process")
    parser.add_argument('--security', action='store_true', help='require authentication (users/password changeme)')
    parser.add_argument('--tls-dir', help='serve HTTPS with the certificates in DIR (generated when absent)')
    parser.add_argument('--open-seconds', type=float, default=0.2, help='time a job stays opening / a datafeed starting')
    parser.add_argument('--close-seconds', type=float, default=0.5, help='time a job stays closing')
    parser.add_argument('--stop-seconds', type=float, default=0.5,
                        help='time a datafeed stays stopping, a rollup indexing run lasts, and a rollup job stays stopping')
    parser.add_argument('--upgrade-mode-seconds', type=float, default=0.2,
                        help='time a set_upgrade_mode request takes (a second request meanwhile is refused with 429)')
    parser.add_argument('--delete-seconds', type=float, default=0.2,
                        help='time an asynchronous job deletion (wait_for_completion=false) runs')
    parser.add_argument('--ml-max-model-memory-limit', default=None,
                        help='the node setting xpack.ml.max_model_memory_limit (e.g. 2gb); unset by default, as in ES')
    args = parser.parse_args(argv)
    try:
        personality = Personality(args.es_version)
    except ValueError as exc:
        parser.error(str(exc))
    timings = Timings(args.open_seconds, args.close_seconds, args.stop_seconds, args.upgrade_mode_seconds, args.delete_seconds)
    cluster = Cluster(personality, timings, args.cluster_name, args.ml_max_model_memory_limit)
    app = App(cluster, args.security)
    context = None
    if args.tls_dir:
        from .tls import server_context  # pylint: disable=import-outside-toplevel
        context = server_context(args.tls_dir)
    server = Server((args.host, args.port), app, context)
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
    thread.start()
    scheme = 'https' if context else 'http'
    sys.stdout.write('%s://127.0.0.1:%d\n' % (scheme, server.server_address[1]))
    sys.stdout.flush()
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
