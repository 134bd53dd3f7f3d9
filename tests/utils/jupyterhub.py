"""A real JupyterHub for the image tests: started from the host's .venv with deploy/jupyterhub/jupyterhub_config.py,
its proxy from tools/configurable-http-proxy (`make hub-proxy`), and what a user does with it over HTTP.

The hub listens on 127.0.0.1 only (its API on the gateway of a Docker network the test made, where users'
containers reach it); every wait is bounded, and `stop` leaves no process, container or volume behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests
import websocket

from tests.utils.ci import missing
from tests.utils.paths import ROOT

CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
PROXY = ROOT / "tools" / "configurable-http-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTERHUB = Path(sys.executable).parent / "jupyterhub"
#: What the hub logs of the test's polling of a user's state.
POLL = "200 GET /hub/api/users/"
#: The hub's own settings for a test, after the example's: ports, database, logins, names.
TEST_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({example!r})  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{home}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{home}/cookie_secret"
c.JupyterHub.pid_file = "{home}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.load_groups = {groups!r}
c.DockerSpawner.name_template = "{prefix}-{{username}}"
c.DockerSpawner.volumes = {{"{prefix}-{{username}}": "/home/jovyan/work"}}
"""


def require_hub() -> None:
    """Skip (fail in CI) when the hub or its proxy is not installed on the host."""
    if not JUPYTERHUB.exists():
        missing(f"{JUPYTERHUB} is missing: run `make venv` (requirements/host.in has jupyterhub)")
    if not PROXY.exists():
        missing(f"{PROXY} is missing: run `make hub-proxy` (make test does; it needs npm and Node.js 20)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(predicate, timeout: float, what: str, log: Path | None = None, interval: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with the hub's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
        except (OSError, requests.RequestException):
            result = None
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s\n{tail(log) if log else ''}")


def tail(log: Path) -> str:
    """The end of the hub's log, without the lines of the test's own polling."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return "\n".join(line for line in lines if POLL not in line)[-4000:]


@dataclass
class User:
    """A user who logged in through the hub's login form, with an API token of their own."""

    hub: Hub
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    @property
    def server_url(self) -> str:
        return f"{self.hub.url}/user/{self.name}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """A call to the hub's REST API as this user."""
        return requests.request(method, f"{self.hub.url}/hub/api{path}", headers=self.headers, timeout=30, **kwargs)

    def server(self) -> dict | None:
        """The user's default server as the hub sees it, or None when it has none."""
        return self.api("GET", f"/users/{self.name}").json()["servers"].get("")

    def start(self, timeout: float = 180) -> None:
        response = self.api("POST", f"/users/{self.name}/server")
        assert response.status_code in (201, 202), response.text
        server = wait(lambda: self._ready_or_gone(), timeout, f"{self.name}'s server to be ready", self.hub.log)
        assert server != "gone", f"{self.name}'s server failed to start:\n{tail(self.hub.log)}"

    def _ready_or_gone(self) -> str | None:
        server = self.server()
        return "gone" if server is None else "ready" if server["ready"] else None

    def stop(self, timeout: float = 120) -> None:
        response = self.api("DELETE", f"/users/{self.name}/server")
        assert response.status_code in (202, 204), response.text
        wait(lambda: self.server() is None, timeout, f"{self.name}'s server to stop", self.hub.log)

    def get(self, path: str, token: str | None = None) -> requests.Response:
        """GET ``path`` of this user's server through the hub's proxy, with a token (theirs unless given)."""
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.get(f"{self.server_url}{path}", headers=headers, timeout=30, allow_redirects=False)

    def file(self, path: str) -> str:
        """The text of a file in the user's ~/work, read with the server's contents API."""
        response = self.get(f"/api/contents/{path}?content=1&type=file&format=text")
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
        return response.json()["content"]

    def listing(self, path: str) -> list[str]:
        response = self.get(f"/api/contents/{path}?content=1")
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
        return sorted(entry["name"] for entry in response.json()["content"])

    def execute(self, code: str, timeout: float = 600) -> str:
        """Run ``code`` in a new kernel of the user's server (REST and its websocket); what it printed."""
        response = requests.post(f"{self.server_url}/api/kernels", headers=self.headers, json={}, timeout=60)
        assert response.status_code == 201, response.text
        kernel = response.json()["id"]
        url = f"{self.server_url.replace('http', 'ws', 1)}/api/kernels/{kernel}/channels"
        socket_ = websocket.create_connection(url, header=[f"Authorization: token {self.token}"], timeout=60)
        try:
            return _execute(socket_, code, self.name, time.monotonic() + timeout)
        finally:
            socket_.close()
            requests.delete(f"{self.server_url}/api/kernels/{kernel}", headers=self.headers, timeout=60)


def _execute(socket_, code: str, username: str, deadline: float) -> str:
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": username,
              "session": uuid.uuid4().hex, "version": "5.3"}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False,
               "stop_on_error": True}  # fmt: skip
    socket_.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                             "channel": "shell", "buffers": []}))  # fmt: skip
    printed = []
    while time.monotonic() < deadline:
        try:
            message = json.loads(socket_.recv())
        except TimeoutError:
            continue
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "stream":
            printed.append(message["content"]["text"])
        elif kind == "error":
            raise AssertionError("\n".join(message["content"]["traceback"])[-3000:])
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            return "".join(printed)
    raise AssertionError(f"the kernel did not finish within its time; it printed:\n{''.join(printed)[-3000:]}")


@dataclass
class Hub:
    """A JupyterHub process on 127.0.0.1 with the example's configuration; `stop` removes all it made."""

    home: Path
    network: str
    image: str
    users: tuple[str, ...]
    groups: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"hub-test-{secrets.token_hex(3)}")
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "jupyterhub.log"

    def start(self) -> Hub:
        config = self.home / "jupyterhub_config.py"
        config.write_text(TEST_CONFIG.format(
            example=str(CONFIG), port=self.port, hub_port=free_port(), proxy_api_port=free_port(), proxy=str(PROXY),
            home=self.home, password=self.password, users=set(self.users),
            groups={name: {"users": members} for name, members in self.groups.items()}, prefix=self.prefix,
        ))  # fmt: skip
        env = os.environ | {"KIT_HUB_IMAGE": self.image, "KIT_HUB_NETWORK": self.network} | self.env
        env["PATH"] = f"{JUPYTERHUB.parent}{os.pathsep}{env.get('PATH', '')}"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([str(JUPYTERHUB), "-f", str(config)], cwd=self.home, env=env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        wait(self._answers, 60, "the hub to answer", self.log)
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the hub exited {self.process.returncode}:\n{self.log.read_text()[-4000:]}")
        return requests.get(f"{self.url}/hub/api", timeout=5).status_code == 200

    def login(self, name: str) -> User:
        """Log in through the hub's login form, as a person does, then ask the hub for an API token."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30)
        xsrf = session.cookies.get("_xsrf")
        form = {"username": name, "password": self.password, "_xsrf": xsrf}
        response = session.post(f"{self.url}/hub/login", data=form, allow_redirects=False, timeout=30)
        assert response.status_code == 302, f"login of {name}: {response.status_code} {response.text[:500]}"
        xsrf = session.cookies.get("_xsrf")  # a new one, for the logged-in user
        response = session.post(f"{self.url}/hub/api/users/{name}/tokens", json={"note": "test", "expires_in": 3600},
                                headers={"X-XSRFToken": xsrf}, timeout=30)  # fmt: skip
        assert response.status_code == 201, response.text
        return User(self, name, response.json()["token"])

    def containers(self, client: docker.DockerClient) -> list:
        """The hub's users' containers that exist now (one removed between the listing and its inspection is gone)."""
        found = []
        for summary in client.api.containers(all=True, filters={"name": self.prefix}):
            try:
                found.append(client.containers.get(summary["Id"]))
            except docker.errors.NotFound:
                continue
        return found

    def stop(self, client: docker.DockerClient) -> None:
        """Stop the hub (it stops its users' servers), then remove whatever of its is left, even after a failure."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        for container in self.containers(client):
            container.remove(force=True)
        for volume in client.volumes.list(filters={"name": self.prefix}):
            volume.remove(force=True)
        shutil.rmtree(self.home, ignore_errors=True)
