"""Hostile requests and connections, sent as raw bytes to a real `kit serve` with a token file and an audit log.

Each is answered as documented (kit/serving/app.py, auth.py, limits.py), then a good request succeeds, and the
server's log holds no traceback. The defects of issue 20 are among them: 1e308 (NaN outputs, once a 200 holding
bare NaN), a list for a datatype (once a 500), a WebSocket upgrade (once a 500), idle connections (never closed).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.serving.conftest import ADDRESS
from tests.utils.containers import wait_for
from tests.utils.http import get

TOKEN = "kit-test-token-0123456789abcdef"
OTHER = "kit-test-token-fedcba9876543210"  # a second token, as during a rotation
MODEL = "/v2/models/train_tabular"
STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


class HostileServer:
    """`kit serve` with a token file and an audit log, its log in a file read between cases."""

    def __init__(self, run, folder: Path) -> None:
        self.tokens = folder / "tokens"
        self.tokens.write_text(f"# the current token, then the next one\n{TOKEN}  \n\n{OTHER}\n")
        self.tokens.chmod(0o600)
        self.log, self.audit = folder / "serve.log", folder / "audit.jsonl"
        self.process = subprocess.Popen(
            ["kit", "serve", str(run.path), "--port", "0", "--token-file", str(self.tokens),
             "--audit-log", str(self.audit)],
            stderr=self.log.open("w"), stdout=subprocess.DEVNULL,
        )  # fmt: skip
        first = wait_for(lambda: self.log.read_text().splitlines()[:1], 60, "the server to start")
        match = ADDRESS.search(first[0])
        assert match, self.log.read_text()
        self.url = match.group(1)
        self.host, self.port = self.url.removeprefix("http://").split(":")
        self.port = int(self.port)
        wait_for(lambda: get(f"{self.url}/v2/health/ready")[0] == 200, 90, "the model to load")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(diagnosis, tmp_path_factory) -> Iterator[HostileServer]:
    """One server for the whole table: each case must leave it serving, which is what is tested."""
    started = HostileServer(diagnosis, tmp_path_factory.mktemp("hostile"))
    yield started
    started.stop()


def features(run) -> list[str]:
    return list(pd.read_csv(run.path / "artifacts" / "heldout.csv", nrows=0).columns.drop("target"))


FEATURES: list[str] = []


def body(value: float = 1.0, **changes) -> bytes:
    """An inference request of one row; ``changes`` replace fields of every input (or, with a ``top_`` prefix, of
    the request)."""
    inputs = [{"name": name, "datatype": "FP64", "shape": [1], "data": [value]} for name in FEATURES]
    request: dict = {"inputs": inputs}
    for key, change in changes.items():
        if key.startswith("top_"):
            request[key.removeprefix("top_")] = change
        else:
            for item in inputs:
                item[key] = change
    return json.dumps(request).encode()


def http(method: str = "POST", path: str = f"{MODEL}/infer", payload: bytes | None = None, *, token: str | None = TOKEN,
         headers: tuple[str, ...] = (), version: str = "1.1") -> bytes:  # fmt: skip
    """A request as bytes: with ``Authorization: Bearer token`` unless ``token`` is None; a body sent whole."""
    if payload is None and method == "POST":
        payload = body()
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    lines += list(headers)
    if payload is not None and not any(header.lower().startswith(("content-length", "transfer-encoding"))
                                       for header in headers):  # fmt: skip
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (payload or b"")


def binary(extra: bytes = b"", size_delta: int = 0, header_length: str | None = None) -> bytes:
    """A request with the binary tensor data extension: the JSON header, then each feature's 8 bytes of FP64."""
    inputs = [{"name": name, "datatype": "FP64", "shape": [1], "parameters": {"binary_data_size": 8 + size_delta}}
              for name in FEATURES]  # fmt: skip
    header = json.dumps({"inputs": inputs}).encode()
    payload = header + struct.pack("<d", 1.0) * len(FEATURES) + extra
    length = header_length if header_length is not None else str(len(header))
    return http(payload=payload, headers=(f"Inference-Header-Content-Length: {length}",))


def chunked(payload: bytes, size: int = 1000) -> bytes:
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def exchange(server: HostileServer, raw: bytes, wait: float = 15) -> tuple[int | None, bytes, bytes]:
    """Send ``raw``, read until the server closes or ``wait`` seconds pass: (first status, its headers, its body)."""
    with socket.create_connection((server.host, server.port), timeout=wait) as sock:
        if raw:
            sock.sendall(raw)
        received, deadline = b"", time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(1 << 16)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
            if _complete(received.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")):
                break
    if received.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):  # the answer to Expect: 100-continue, then the real one
        received = received.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
    match = STATUS.match(received)
    if not match:
        return None, b"", received
    head, _, rest = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head)
    return int(match.group(1)), head, rest[: int(length.group(1))] if length else rest


def _complete(received: bytes) -> bool:
    head, separator, rest = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head)
    return bool(separator and length and len(rest) >= int(length.group(1)))


def statuses(server: HostileServer, raw: bytes) -> list[int]:
    """Every status answered on one connection (pipelined requests), until it closes or idles for 3 s."""
    with socket.create_connection((server.host, server.port), timeout=3) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(1 << 16):
                received += chunk
        except TimeoutError:
            pass
    return [int(code) for code in STATUS.findall(received)]


WEBSOCKET = ("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")  # fmt: skip

# (raw request, or a function of the server giving (status, headers, body); status; fragment of the JSON error,
# or of the headers with "header:"; None: the body is not checked).
CASES = [
    # Authentication
    pytest.param(lambda: http(token=None), 401, "needs a token", id="no-token"),
    pytest.param(lambda: http(token="x" * len(TOKEN)), 401, "not one this server accepts", id="wrong-token-same-len"),
    pytest.param(lambda: http(token=TOKEN[:-1]), 401, "not one this server accepts", id="token-prefix"),
    pytest.param(lambda: http(token=TOKEN + "0"), 401, "not one this server accepts", id="token-longer"),
    pytest.param(lambda: http(token=""), 401, "not one this server accepts", id="empty-bearer"),
    pytest.param(lambda: http(token=None, headers=(f"Authorization: bearer {TOKEN}",)), 200, None, id="bearer-lower"),
    pytest.param(lambda: http(token=None, headers=(f"Authorization: BEARER {TOKEN}",)), 200, None, id="bearer-upper"),
    pytest.param(lambda: http(token=OTHER), 200, None, id="second-token-rotation"),
    pytest.param(lambda: http(token=f"{TOKEN}  "), 200, None, id="token-trailing-spaces"),
    pytest.param(
        lambda: http(token=None, headers=(f"Authorization: Basic {TOKEN}",)), 401, "must be Bearer", id="basic-scheme"
    ),  # fmt: skip
    pytest.param(
        lambda: http(token=None, headers=(f"Authorization: {TOKEN}",)), 401, "must be Bearer", id="no-scheme"
    ),  # fmt: skip
    pytest.param(
        lambda: http(headers=(f"Authorization: Bearer {TOKEN}",)),
        400,
        "2 Authorization headers",
        id="two-authorization-headers",
    ),  # fmt: skip
    pytest.param(lambda: http(path=f"{MODEL}/infer?token={TOKEN}"), 400, "in the URL", id="token-in-query"),
    pytest.param(
        lambda: http(path=f"{MODEL}/infer?access_token={TOKEN}", token=None),
        400,
        "in the URL",
        id="access-token-in-query",
    ),  # fmt: skip
    pytest.param(lambda: http(token=None), 401, 'header:www-authenticate: Bearer realm="kit"', id="challenge"),
    pytest.param(lambda: http("GET", MODEL, token=None), 401, "needs a token", id="metadata-needs-token"),
    pytest.param(lambda: http("GET", "/v2/models/other", token=None), 401, "needs a token", id="no-name-leak"),
    pytest.param(lambda: http("GET", "/v2/health/ready", token=None), 200, None, id="ready-open-for-probes"),
    pytest.param(lambda: http("GET", "/v2/health/live", token=None), 200, None, id="live-open-for-probes"),
    pytest.param(
        lambda: http("GET", "/metrics", token=None),
        200,
        "header:content-type: text/plain",
        id="metrics-open-by-default",
    ),  # fmt: skip
    # Values the model cannot take, fields of the wrong type
    pytest.param(lambda: http(payload=body(1e308)), 422, "outside what it can take", id="all-1e308"),
    pytest.param(lambda: http(payload=body(-1e308)), 422, "outside what it can take", id="all-minus-1e308"),
    pytest.param(lambda: http(payload=body(1e309)), 422, "NaN or an infinity", id="1e309-is-infinity"),
    pytest.param(lambda: http(payload=body(datatype=["FP64"])), 400, '"datatype"', id="datatype-a-list"),
    pytest.param(lambda: http(payload=body(datatype={"a": 1})), 400, '"datatype"', id="datatype-an-object"),
    pytest.param(lambda: http(payload=body(name=3)), 400, '"name" 3', id="name-a-number"),
    pytest.param(lambda: http(payload=body(shape={"0": 1})), 400, '"shape"', id="shape-an-object"),
    pytest.param(lambda: http(payload=body(shape=[True])), 400, '"shape"', id="shape-of-booleans"),
    pytest.param(lambda: http(payload=body(data="abc")), 400, '"data"', id="data-a-string"),
    pytest.param(lambda: http(payload=body(data={"x": 1})), 400, '"data"', id="data-an-object"),
    pytest.param(lambda: http(payload=body(data=5)), 400, '"data"', id="data-a-number"),
    pytest.param(lambda: http(payload=body(parameters="x")), 400, '"parameters"', id="input-parameters-a-string"),
    pytest.param(lambda: http(payload=body(top_id=7)), 400, '"id" must be a string', id="id-a-number"),
    pytest.param(
        lambda: http(payload=body(top_parameters=[1])), 400, '"parameters" must be an object', id="parameters-a-list"
    ),  # fmt: skip
    pytest.param(lambda: http(payload=body(top_outputs="label")), 400, "outputs may name", id="outputs-a-string"),
    pytest.param(
        lambda: http(payload=body(top_outputs=[{"name": ["label"]}])), 400, "outputs may name", id="output-name-a-list"
    ),  # fmt: skip
    pytest.param(lambda: http(payload=body(shape=[10**12])), 413, "too large", id="shape-of-a-trillion"),
    pytest.param(lambda: http(payload=body(shape=[1] * 100)), 422, "same shape", id="shape-of-100-dims"),
    pytest.param(lambda: http(payload=body(data=[[[[1.0]]]])), 200, None, id="data-nested-deeper-than-shape"),
    # The binary tensor data extension
    pytest.param(lambda: binary(), 200, None, id="binary-tensors"),
    pytest.param(
        lambda: binary(header_length="99999"),
        400,
        "Inference-Header-Content-Length is 99999",
        id="binary-header-longer-than-body",
    ),  # fmt: skip
    pytest.param(
        lambda: binary(header_length="0"), 400, "Inference-Header-Content-Length is 0", id="binary-header-zero"
    ),  # fmt: skip
    pytest.param(lambda: binary(header_length="12a"), 400, "must be a number", id="binary-header-not-a-number"),
    pytest.param(lambda: binary(extra=b"xx"), 400, "2 bytes after the tensors", id="binary-trailing-bytes"),
    pytest.param(lambda: binary(size_delta=-1), 400, "each value takes 8", id="binary-size-not-whole-values"),
    pytest.param(lambda: binary(size_delta=8), 400, "says 16 bytes of FP64", id="binary-sizes-past-the-end"),
    # HTTP itself
    pytest.param(lambda: http("GET", f"{MODEL}/infer", headers=WEBSOCKET), 400, "HTTP only", id="websocket-infer"),
    pytest.param(
        lambda: http("GET", "/v2/health/live", token=None, headers=WEBSOCKET), 400, "HTTP only", id="websocket-live"
    ),  # fmt: skip
    pytest.param(
        lambda: http(headers=("Transfer-Encoding: chunked",), payload=chunked(body())), 200, None, id="chunked-body"
    ),  # fmt: skip
    pytest.param(
        lambda: http(headers=("Transfer-Encoding: chunked",), payload=b"zz\r\nabc\r\n0\r\n\r\n"),
        400,
        "not a valid HTTP/1.1 request",
        id="chunked-bad-size",
    ),  # fmt: skip
    pytest.param(
        lambda: http(headers=("Content-Length: 5", "Content-Length: 6"), payload=b"hello!"),
        400,
        "not a valid HTTP/1.1 request",
        id="two-content-lengths",
    ),  # fmt: skip
    pytest.param(
        lambda: http(headers=("Content-Length: 4", "Transfer-Encoding: chunked"), payload=chunked(body())),
        400,
        "not a valid HTTP/1.1 request",
        id="length-and-chunked-smuggling",
    ),  # fmt: skip
    pytest.param(
        lambda: http(headers=("Content-Length: -1",), payload=b""),
        400,
        "not a valid HTTP/1.1 request",
        id="negative-content-length",
    ),  # fmt: skip
    pytest.param(lambda: b"G\x00T / HTTP/1.1\r\n\r\n", 400, "not a valid HTTP/1.1 request", id="nul-in-method"),
    pytest.param(
        lambda: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        400,
        "not a valid HTTP/1.1 request",
        id="tls-hello-on-http",
    ),  # fmt: skip
    pytest.param(lambda: http(version="1.0"), 200, None, id="http-1.0"),
    pytest.param(lambda: http(headers=("Expect: 100-continue",)), 200, None, id="expect-100-continue"),
    pytest.param(lambda: http("OPTIONS", f"{MODEL}/infer", None), 405, "OPTIONS is not allowed", id="options"),
    pytest.param(lambda: http("DELETE", MODEL, None), 405, "DELETE is not allowed", id="delete-model"),
    pytest.param(lambda: http("GET", "/v2/models/..%2F..%2Fetc%2Fpasswd"), 404, "no model at", id="path-traversal"),
    pytest.param(lambda: http("GET", "/" + "a" * 60_000), 404, "no endpoint", id="60kb-path"),
    pytest.param(lambda: http(headers=("X-Filler: " + "a" * 60_000,)), 200, None, id="60kb-header"),
    pytest.param(
        lambda: http(headers=("Content-Type: text/plain",), payload=b"\xff" * 100), 400, "not JSON", id="binary-body"
    ),  # fmt: skip
    pytest.param(
        lambda: http(headers=("Content-Length: 20000000",), payload=b""),
        413,
        "over 16,777,216 bytes",
        id="declared-20mb",
    ),  # fmt: skip
    pytest.param(lambda: http(headers=("Connection: close",)), 200, None, id="connection-close"),
]


@pytest.fixture(scope="module", autouse=True)
def _features(diagnosis):
    FEATURES[:] = features(diagnosis)


def check_served(server: HostileServer) -> None:
    """A good request succeeds and the log holds no traceback."""
    assert exchange(server, http())[0] == 200
    log = server.log.read_text()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-3000:]


@pytest.mark.parametrize(("make", "status", "fragment"), CASES)
def test_a_hostile_request_is_answered_as_documented_and_the_server_keeps_serving(server, make, status, fragment):
    answered, head, answer = exchange(server, make())
    assert answered == status, (head + answer)[:500]
    if fragment and fragment.startswith("header:"):
        assert fragment.removeprefix("header:").encode().lower() in head.lower(), head
    elif fragment:
        error = json.loads(answer)["error"]
        assert fragment in error and len(error) < 300, error
    else:
        json.loads(answer)  # strict JSON: a bare NaN fails here
    check_served(server)


def test_the_table_is_large_enough():
    assert len(CASES) >= 40


def test_pipelined_requests_are_each_answered(server):
    assert statuses(server, http() + http("GET", "/v2/health/live") + http()) == [200, 200, 200]
    check_served(server)


def test_an_idle_connection_is_answered_408_and_closed(server):
    """Nothing sent: closed after the header timeout (10 s), not held open as before."""
    started = time.monotonic()
    status, _, answer = exchange(server, b"", wait=20)
    assert status == 408 and "did not arrive within 10 s" in json.loads(answer)["error"]
    assert time.monotonic() - started < 15
    check_served(server)


def test_a_slowloris_is_answered_408_and_closed(server):
    status, _, _ = exchange(server, http()[:40], wait=20)
    assert status == 408
    check_served(server)


def test_a_body_that_never_comes_is_answered_408(server):
    status, _, answer = exchange(server, http(headers=("Content-Length: 5000",), payload=b"{"), wait=40)
    assert status == 408 and "body did not arrive within 30 s" in json.loads(answer)["error"]
    check_served(server)


def test_the_model_warnings_are_counted_and_logged_at_most_once_a_minute(server):
    for _ in range(5):
        assert exchange(server, http(payload=body(1e308)))[0] == 422
    metrics = get(f"{server.url}/metrics")[1]
    counted = re.search(r'kit_model_warnings_total\{category="RuntimeWarning"\} (\S+)', metrics)
    assert counted and float(counted.group(1)) >= 5, metrics
    assert server.log.read_text().count("the model warned") <= 1
    check_served(server)
