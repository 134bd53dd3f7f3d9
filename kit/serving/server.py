"""Running the application: uvicorn with httptools (a fast HTTP parser) and uvloop, one or several workers.

The port is bound before the model loads, so a port in use is one ``error:`` line, not a log. SIGTERM (``docker
stop``, Kubernetes) stops taking connections, lets the requests in flight finish, and exits.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile

from kit.errors import ServeError
from kit.serving import app as application
from kit.serving.model import ServedModel

#: Seconds the requests in flight get to finish after SIGTERM (Kubernetes waits 30 before it kills).
GRACE = 10


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; ServeError when it cannot be had."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port} ({error.strerror}): pass another --port or --host") from None
    except (OverflowError, ValueError):
        raise ServeError(f"--port must be from 0 to 65535, not {port}") from None
    sock.set_inheritable(True)
    return sock


def serve(served: ServedModel, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
          max_body: int = application.MAX_BODY) -> None:  # fmt: skip
    """Serve the model until SIGTERM or Ctrl-C."""
    import uvicorn

    if not 1 <= workers <= 64:
        raise ServeError(f"--workers must be from 1 to 64, not {workers}")
    sock = bind(host, port)
    address = f"http://{host}:{sock.getsockname()[1]}"
    print(f"serving {served.name} (run {served.run.id}) at {address}/v2/models/{served.name}; metrics at "
          f"{address}/metrics", file=sys.stderr, flush=True)  # fmt: skip
    options = {"http": "httptools", "loop": "uvloop", "lifespan": "on", "access_log": False, "log_level": "warning",
               "timeout_graceful_shutdown": GRACE, "server_header": False}  # fmt: skip
    # uvicorn re-raises SIGTERM once it has shut down gracefully; stopping as asked is a success, exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers == 1:
        config = uvicorn.Config(application.ServingApp(served, max_body=max_body), **options)
        uvicorn.Server(config).run(sockets=[sock])
        return
    os.environ.update({application.RUN_ENV: str(served.run.path.resolve()), application.NAME_ENV: served.name,
                       application.MAX_BODY_ENV: str(max_body)})  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kit-metrics-") as metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config("kit.serving.app:from_environment", factory=True, workers=workers, **options)
        Multiprocess(config, sockets=[sock]).run()
