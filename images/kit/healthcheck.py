#!/opt/venv/bin/python
"""Docker HEALTHCHECK: exit 0 when a Jupyter server of this container answers /api.

Reads the servers' runtime files, so it follows a custom port (JUPYTER_PORT or --port) and base URL. /api (the
server's version) needs no login, as in the Jupyter Docker Stacks' check: a JupyterHub user's server accepts only
the hub's tokens, not the one in its runtime file.
"""

import json
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


def main() -> int:
    for info in Path(jupyter_runtime_dir()).glob("jpserver-*.json"):
        try:
            if answers(json.loads(info.read_text())):
                return 0
        except (OSError, ValueError, KeyError):
            continue
    return 1


if __name__ == "__main__":
    sys.exit(main())
