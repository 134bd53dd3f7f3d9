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
import warnings
from pathlib import Path

from kit import settings
from kit.errors import ServeError
from kit.serving import app as application
from kit.serving import limits
from kit.serving.model import ServedModel
from kit.shorten import shown

#: Seconds the requests in flight get to finish after SIGTERM (Kubernetes waits 30 before it kills).
GRACE = 10
MAX_WORKERS = 64
#: The smallest and largest request body limit: a body is read whole, so it must fit in memory many times over.
BODY_LIMITS = (1 << 10, 1 << 30)
MB = 1 << 20
#: What a model's name may not hold: it is a segment of every URL (/v2/models/NAME/infer).
_NOT_IN_NAMES = "/?#%\\"
#: A file name's length: every notebook's name fits.
MAX_NAME = 255


def body_bytes(megabytes: float) -> int:
    """``--max-body-mb`` in bytes; ServeError unless it is from 0.001 to 1024 MB."""
    low, high = (limit / MB for limit in BODY_LIMITS)
    if isinstance(megabytes, bool) or not isinstance(megabytes, int | float) or not low <= megabytes <= high:
        raise ServeError(f"--max-body-mb must be from {low:.3f} to {high:.0f} (MB), not {shown(megabytes)}: e.g. 16")
    return int(megabytes * MB)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a model's name in URLs (``/v2/models/NAME``), or None."""
    if not name or not name.strip():
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long (at most {MAX_NAME})"
    if name in (".", ".."):
        return "cannot be part of a URL (/v2/models/NAME): clients drop '.' and '..' from paths"
    if any(character in _NOT_IN_NAMES or not character.isprintable() for character in name):
        return "cannot be part of a URL (/v2/models/NAME): it holds '/', '?', '#', '%', '\\' or a control character"
    return None


def check(served: ServedModel, *, host: str, port: int, workers: int, max_body: int) -> None:
    """ServeError for an option the server cannot run with (nothing is bound or loaded yet)."""
    if problem := name_problem(served.name):
        raise ServeError(f"the model's name {shown(served.name)} {problem}: pass --name NAME, such as 'diagnosis'")
    if not isinstance(host, str) or not host.strip() or any(not character.isprintable() or character.isspace()
                                                              for character in host):  # fmt: skip
        raise ServeError(
            f"--host {shown(host)} is not an address: pass one such as 127.0.0.1 (or 0.0.0.0 for every interface)"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServeError(f"--port must be from 0 to 65535, not {shown(port)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ServeError(f"--workers must be from 1 to {MAX_WORKERS}, not {shown(workers)}")
    low, high = BODY_LIMITS
    if isinstance(max_body, bool) or not isinstance(max_body, int) or not low <= max_body <= high:
        raise ServeError(f"max_body must be a number of bytes from {low:,} to {high:,}, not {shown(max_body)}")


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
          max_body: int = application.MAX_BODY, token_file: str | os.PathLike | None = None,
          metrics_need_token: bool = False, audit_log: str | os.PathLike | None = None,
          audit_outputs: bool = False, batching: bool = True) -> None:  # fmt: skip
    """Serve the model until SIGTERM or Ctrl-C."""
    import uvicorn

    from kit.serving.http import TimedHttpProtocol

    check(served, host=host, port=port, workers=workers, max_body=max_body)
    options = application.Options(
        max_body=max_body, token_file=Path(token_file).absolute() if token_file else None,
        metrics_need_token=metrics_need_token, audit_log=Path(audit_log).absolute() if audit_log else None,
        audit_outputs=audit_outputs, workers=workers, batching=batching,
    )  # fmt: skip
    app = application.ServingApp(served, options=options)  # the token file and audit log checked before binding
    sock = bind(host, port)
    address = f"http://{host}:{sock.getsockname()[1]}"
    print(f"serving {served.name} (run {served.run.id}) at {address}/v2/models/{served.name}; metrics at "
          f"{address}/metrics", file=sys.stderr, flush=True)  # fmt: skip
    # uvicorn's websockets-sansio logs an error for a refused handshake; "websockets" refuses cleanly, and warns that
    # it will be replaced one day (the test of a WebSocket upgrade says when that changes).
    warnings.filterwarnings("ignore", message="The `websockets` implementation is deprecated")
    config = {"http": TimedHttpProtocol, "ws": "websockets", "loop": "uvloop", "lifespan": "on", "access_log": False,
              "log_level": "warning", "timeout_graceful_shutdown": GRACE, "server_header": False,
              "timeout_keep_alive": limits.KEEP_ALIVE, "limit_concurrency": limits.MAX_CONNECTIONS}  # fmt: skip
    # uvicorn re-raises SIGTERM once it has shut down gracefully; stopping as asked is a success, exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers == 1:
        uvicorn.Server(uvicorn.Config(app, **config)).run(sockets=[sock])
        return
    os.environ.update({settings.SERVE_RUN_ENV: str(served.run.path.resolve()), settings.SERVE_NAME_ENV: served.name,
                       **options.to_environment()})  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kit-metrics-") as metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics
        from uvicorn.supervisors import Multiprocess

        multi = uvicorn.Config("kit.serving.app:from_environment", factory=True, workers=workers, **config)
        Multiprocess(multi, sockets=[sock]).run()
