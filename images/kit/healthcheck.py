#!/opt/venv/bin/python
"""Docker HEALTHCHECK: exit 0 when what the container runs is up.

What it runs is tini's first child (PID 1 is tini; images/kit/start.sh execs the command in its own process):
- a Jupyter server (`jupyter lab`, `jupyter server`, a JupyterHub single-user server): one of this container's
  servers answers /api. Its runtime files give the port (JUPYTER_PORT or --port) and base URL; /api (the server's
  version) needs no login, as in the Jupyter Docker Stacks' check: a JupyterHub user's server accepts only the
  hub's tokens, not the one in its runtime file;
- `dask scheduler`: its port (8786, or --port) accepts connections;
- `kit serve`: /v2/health/live answers on its port (8080, or --port);
- anything else (`dask worker`, `kit sweep`, a shell): healthy while it runs. A Dask worker has no fixed port to
  ask: it keeps trying to reach its scheduler, whose own check says whether the cluster can work.
"""

import json
import socket
import ssl
import sys
import urllib.request
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir


def answers(server: dict) -> bool:
    scheme = "https" if server.get("secure") else "http"
    request = urllib.request.Request(f"{scheme}://127.0.0.1:{server['port']}{server.get('base_url', '/')}api")
    context = ssl._create_unverified_context() if scheme == "https" else None  # our own server, on loopback
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return response.status == 200
    except OSError:
        return False


def jupyter_answers() -> bool:
    for info in Path(jupyter_runtime_dir()).glob("jpserver-*.json"):
        try:
            if answers(json.loads(info.read_text())):
                return True
        except (OSError, ValueError, KeyError):
            continue
    return False


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def live(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/live", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main_command() -> list[str]:
    """The command line of tini's first child, the container's command; [] when none is found."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The fields after the command's name, which is in parentheses and may hold spaces.
            fields = stat.read_text().rpartition(")")[2].split()
            if fields[1] == "1":
                children.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    for pid in sorted(children):
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
        except OSError:
            continue
    return []


def option(command: list[str], name: str, default: int) -> int:
    """The value of ``--name N`` or ``--name=N`` in ``command``."""
    for index, word in enumerate(command):
        try:
            if word == name:
                return int(command[index + 1])
            if word.startswith(f"{name}="):
                return int(word.partition("=")[2])
        except (IndexError, ValueError):
            return default
    return default


def healthy(command: list[str]) -> bool:
    words = [Path(word).name for word in command]
    if any(word.startswith("jupyter") for word in words):
        return jupyter_answers()
    if "dask" in words and "scheduler" in words:
        return accepts(option(command, "--port", 8786))
    if "kit" in words and "serve" in words:
        return live(option(command, "--port", 8080))
    return bool(command) or jupyter_answers()


def main() -> int:
    return 0 if healthy(main_command()) else 1


if __name__ == "__main__":
    sys.exit(main())
