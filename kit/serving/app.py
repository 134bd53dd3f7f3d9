"""The ASGI application of ``kit serve``: the Open Inference Protocol's REST endpoints for one model, and /metrics.

A plain ASGI callable, no framework: a handful of routes, and every microsecond of a single-row request is spent
on parsing, checking and the model. Every answer is JSON (the metrics are Prometheus' text); a client's mistake is
a 4xx with a message that says what was expected, and the server keeps serving.

==========================================  ===============================================================
``GET  /v2/health/live``                    200 while the process serves
``GET  /v2/health/ready``                   200 once the model is loaded (503 before, or if it cannot load)
``GET  /v2``                                the server's metadata
``GET  /v2/models/{name}[/versions/{run}]`` the model's metadata: inputs, outputs, run id, parameters, metrics
``GET  /v2/models/{name}/ready``            200 once loaded
``POST /v2/models/{name}/infer``            inference
``GET  /metrics``                           requests by endpoint and status, latency, in flight, load time,
                                            inputs outside the training range and non-finite, by feature
==========================================  ===============================================================

With a token file (:mod:`.auth`) every endpoint but the health ones (and /metrics unless asked) needs
``Authorization: Bearer TOKEN``. What bounds memory and time is in :mod:`.limits`; the audit trail in :mod:`.audit`.
No response holds NaN or an infinity: every body is strict JSON (RFC 8259). A WebSocket upgrade is refused (400).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import math
import os
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from kit import settings
from kit.serving import auth, limits, protocol
from kit.serving.audit import AuditLog
from kit.serving.audit import now as timestamp
from kit.serving.batching import Batcher
from kit.serving.metrics import InputCounts, Metrics
from kit.serving.model import ServedModel, open_model
from kit.serving.protocol import RequestError
from kit.shorten import shown
from kit.version import __version__

#: The largest request body read (a larger one is refused with 413 before it is read).
MAX_BODY = 16 << 20
#: Requests up to this size (a few hundred rows) are answered on the event loop; larger ones in a thread.
INLINE = 64 << 10
JSON = b"application/json"
#: Endpoints that need no token: the probes of Kubernetes and load balancers.
OPEN = frozenset({"live", "ready"})
#: The model's warnings (overflow, say) go to the log at most this often; all are counted in /metrics.
WARNING_INTERVAL = 60.0
CLOSE = ((b"connection", b"close"),)
#: In ``scope["extensions"]`` (from kit.serving.http): true when the request came on the server's only open
#: connection, so no other request can join its batch: it is predicted at once (the same bits either way).
ALONE = "kit.alone"
log = logging.getLogger("kit.serve")


@dataclass(frozen=True)
class Options:
    """How the server answers, beyond the model: body limit, tokens, audit log."""

    max_body: int = MAX_BODY
    token_file: Path | None = None
    metrics_need_token: bool = False
    audit_log: Path | None = None
    audit_outputs: bool = False
    workers: int = 1
    #: Concurrent small requests predicted together (off: each alone; the bits are the same either way).
    batching: bool = True

    def to_environment(self) -> dict[str, str]:
        """These options for the worker processes of ``--workers N`` (read back by :meth:`from_environment`)."""
        return {
            settings.SERVE_MAX_BODY_ENV: str(self.max_body),
            settings.SERVE_TOKEN_FILE_ENV: str(self.token_file or ""),
            settings.SERVE_METRICS_NEED_TOKEN_ENV: "1" if self.metrics_need_token else "",
            settings.SERVE_AUDIT_LOG_ENV: str(self.audit_log or ""),
            settings.SERVE_AUDIT_OUTPUTS_ENV: "1" if self.audit_outputs else "",
            settings.SERVE_WORKERS_ENV: str(self.workers),
            settings.SERVE_NO_BATCHING_ENV: "" if self.batching else "1",
        }

    @classmethod
    def from_environment(cls) -> Options:
        env = os.environ.get
        return cls(
            max_body=int(env(settings.SERVE_MAX_BODY_ENV) or MAX_BODY),
            token_file=Path(env(settings.SERVE_TOKEN_FILE_ENV)) if env(settings.SERVE_TOKEN_FILE_ENV) else None,
            metrics_need_token=bool(env(settings.SERVE_METRICS_NEED_TOKEN_ENV)),
            audit_log=Path(env(settings.SERVE_AUDIT_LOG_ENV)) if env(settings.SERVE_AUDIT_LOG_ENV) else None,
            audit_outputs=bool(env(settings.SERVE_AUDIT_OUTPUTS_ENV)),
            workers=int(env(settings.SERVE_WORKERS_ENV) or 1),
            batching=not env(settings.SERVE_NO_BATCHING_ENV),
        )


class ServingApp:
    """One model behind the protocol's endpoints."""

    def __init__(self, served: ServedModel, *, max_body: int = MAX_BODY, load_first: bool = False,
                 options: Options | None = None) -> None:  # fmt: skip
        options = options or Options(max_body=max_body)
        self.served, self.options, self.load_first = served, options, load_first
        self.budget = limits.BodyBudget(limits.body_budget(options.workers))
        self.max_body = min(options.max_body, self.budget.capacity)  # a body over the budget could never be read
        self.tokens = auth.read_tokens(options.token_file) if options.token_file else ()
        self.open = OPEN if options.metrics_need_token else OPEN | {"metrics"}
        self.audit = AuditLog(options.audit_log) if options.audit_log else None
        self.metrics = Metrics()
        self._batcher: Batcher | None = None
        self._inputs: InputCounts | None = None
        self.metrics.body_budget.set(self.budget.capacity)
        self._warned_at, self._unlogged = -math.inf, 0
        prefix = f"/v2/models/{served.name}"
        versioned = f"{prefix}/versions/{served.run.id}"
        self.routes = {
            ("GET", "/v2/health/live"): ("live", self.live),
            ("GET", "/v2/health/ready"): ("ready", self.ready),
            ("GET", "/v2"): ("server", self.server),
            ("GET", prefix): ("metadata", self.model_metadata),
            ("GET", versioned): ("metadata", self.model_metadata),
            ("GET", f"{prefix}/ready"): ("ready", self.ready),
            ("GET", f"{versioned}/ready"): ("ready", self.ready),
            ("POST", f"{prefix}/infer"): ("infer", self.infer),
            ("POST", f"{versioned}/infer"): ("infer", self.infer),
            ("GET", "/metrics"): ("metrics", self.prometheus),
        }
        self.paths = {path for _, path in self.routes}

    # ASGI

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._refuse_websocket(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._count_warnings()
                if self.load_first:  # one of several workers: it takes connections once its model is loaded
                    await asyncio.to_thread(self._load)
                elif not self.served.ready:  # the model loads in the background: alive at once, ready when loaded
                    threading.Thread(target=self._load, name="load-model", daemon=True).start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @property
    def batcher(self) -> Batcher | None:
        """Batches concurrent small requests, once the model is loaded and known to keep its bits in any block."""
        if self._batcher is None and self.served.bit_identical and self.options.batching:
            self._batcher = Batcher(self.served, self._checked)
        return self._batcher

    @property
    def inputs(self) -> InputCounts | None:
        """Counts the inputs by feature in /metrics (outside the training range, non-finite), once the model loaded."""
        if self._inputs is None and self.served.ready:
            self._inputs = InputCounts(self.metrics, self.served.name, self.served.signature)
        return self._inputs

    def _load(self) -> None:
        self.served.load()
        if self.served.ready:
            self.metrics.loaded(self.served.load_seconds)
            _ = self.inputs  # its counters at 0 from the start: a rate needs a first sample
            # The model and its libraries are hundreds of thousands of objects that live as long as the process: out
            # of the collector's sight, a full collection takes a millisecond instead of 100 ms (the p99 latency of
            # a loaded server was those pauses: one every thousand requests or so).
            gc.collect()
            gc.freeze()
        else:
            log.error("the model of run %s cannot be loaded: %s", self.served.run.id, self.served.error)

    def _count_warnings(self) -> None:
        """Every warning counted in /metrics, one a minute logged: a client's extreme values cannot flood the log."""
        warnings.simplefilter("always", RuntimeWarning)  # counted each time, not once per place in the code
        warnings.showwarning = self._warning

    def _warning(self, message, category, filename, lineno, file=None, line=None) -> None:
        self.metrics.warnings.labels(category.__name__).inc()
        now = time.monotonic()
        if now - self._warned_at < WARNING_INTERVAL:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more in the last minute; see kit_model_warnings)" if self._unlogged else ""
        log.warning("the model warned: %s: %s%s", category.__name__, str(message)[:200], more)
        self._warned_at, self._unlogged = now, 0

    async def _refuse_websocket(self, scope, receive, send) -> None:
        await receive()  # websocket.connect
        body = _json({"error": "this server speaks HTTP only, not WebSocket: POST to /v2/models/NAME/infer"})
        if "websocket.http.response" in scope.get("extensions", {}):
            headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode())]
            await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1003})

    async def _http(self, scope, receive, send) -> None:
        started = time.perf_counter()
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        endpoint, handler = self.routes.get((method, path), ("other", None))
        self.metrics.in_flight.inc()
        status, headers, call = 500, [], {}
        try:
            if self.tokens and endpoint not in self.open:
                auth.check(scope["headers"], scope.get("query_string", b""), self.tokens)
            if handler is None:
                raise self._no_route(method, path)
            status, body, content_type = await handler(scope, receive, call)
        except RequestError as error:
            status, body, content_type = error.status, _json({"error": error.message}), JSON
            headers.extend(error.headers)
            if isinstance(error, protocol.NonFiniteInput) and self.inputs is not None:
                self.inputs.refused(error.rows)
        except Exception:  # a bug, not the client's mistake: said without details, logged with them
            log.exception("%s %s failed", method, path)
            status, body, content_type = 500, _json({"error": "the server failed on this request; see its log"}), JSON
        finally:
            self.metrics.in_flight.dec()
        headers += [
            *call.get("headers", ()),
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        seconds = time.perf_counter() - started
        self.metrics.observe(endpoint, status, seconds)
        if self.audit is not None and endpoint == "infer":
            self._audit(scope, status, seconds, call)

    def _audit(self, scope, status: int, seconds: float, call: dict) -> None:
        served = self.served
        entry = {
            "time": timestamp(), "id": call.get("id"), "client": (scope.get("client") or ("", 0))[0],
            "model": served.name, "run_id": served.run.id, "model_sha256": served.sha256,
            "input_sha256": call.get("input_sha256"), "rows": call.get("rows", 0), "status": status,
            "latency_ms": round(seconds * 1000, 3),
        }  # fmt: skip
        if self.options.audit_outputs and "outputs" in call:
            entry["outputs"] = call["outputs"]
        self.audit.write(entry)

    def _no_route(self, method: str, path: str) -> RequestError:
        if path in self.paths:
            return RequestError(405, f"{method} is not allowed on {path[:100]}")
        if path.startswith("/v2/models/"):
            return RequestError(404, f"no model at {path[:100]}: this server serves {self.served.name!r}")
        return RequestError(404, f"no endpoint {path[:100]}: see /v2/models/{self.served.name} and /v2/health/ready")

    # Endpoints: each returns (status, body, content type)

    async def live(self, scope, receive, call):
        return 200, b'{"live": true}', JSON

    async def ready(self, scope, receive, call):
        if self.served.ready:
            return 200, _json({"name": self.served.name, "ready": True}), JSON
        detail = {"error": f"the model cannot be loaded: {self.served.error}"} if self.served.error else {}
        return 503, _json({"name": self.served.name, "ready": False, **detail}), JSON

    async def server(self, scope, receive, call):
        return 200, _json({"name": "kit", "version": __version__, "extensions": [protocol.BINARY_EXTENSION]}), JSON

    async def model_metadata(self, scope, receive, call):
        return 200, _json(self.served.metadata()), JSON

    async def prometheus(self, scope, receive, call):
        body, content_type = self.metrics.exposition()
        return 200, body, content_type.encode()

    async def infer(self, scope, receive, call):
        if not self.served.ready:
            raise RequestError(503, "the model is not loaded yet: wait for /v2/health/ready")
        size = self._declared_size(scope)
        if not self.budget.try_take(size) and not await self.budget.take(size):
            raise RequestError(
                503, "the server is answering as many bytes of requests as its memory allows: retry in a second",
                ((b"retry-after", str(limits.RETRY_AFTER).encode()),),
            )  # fmt: skip
        self.metrics.body_bytes.inc(size)
        try:
            body = await self._body(receive)
            call["header_length"] = _header_length(scope)
            if len(body) > INLINE:  # a batch takes milliseconds to seconds: in a thread, so that others are answered
                return 200, *await asyncio.to_thread(self._answer, body, call)
            request, rows, wanted = self._parse(body, call)  # a few rows: answered at once, in microseconds
            if self.batcher is None or scope.get("extensions", {}).get(ALONE):
                outputs = self._predict(rows)
                return 200, *self._respond(request, rows, wanted, outputs, self._checked(rows, outputs), call)
            try:
                outputs, bad = await self.batcher.predict(rows)
            except (ValueError, TypeError) as error:
                raise self._refused(error) from None
            return 200, *self._respond(request, rows, wanted, outputs, bad, call)
        finally:
            self.budget.give(size)
            self.metrics.body_bytes.dec(size)

    def _declared_size(self, scope) -> int:
        """The body's size as its Content-Length says (413 when over the limit); the limit when it is not said."""
        lengths = [value for name, value in scope["headers"] if name == b"content-length"]
        if len(lengths) == 1 and lengths[0].isdigit():
            size = int(lengths[0])
            if size > self.max_body:
                raise RequestError(413, self._too_large(), CLOSE)
            return size
        return self.max_body

    def _too_large(self) -> str:
        return f"the body is over {self.max_body:,} bytes: send fewer rows per request"

    def _answer(self, body: bytes, call: dict) -> tuple[bytes, bytes]:
        request, rows, wanted = self._parse(body, call)
        outputs = self._predict(rows)
        return self._respond(request, rows, wanted, outputs, self._checked(rows, outputs), call)

    def _parse(self, body: bytes, call: dict):
        """The request, its rows as an array the model takes, the outputs it wants; RequestError saying what's wrong."""
        request = protocol.parse(body, call.get("header_length"))
        call["id"] = request["id"] if isinstance(request.get("id"), str) else None
        signature = self.served.signature
        rows = protocol.inputs(request, signature)
        wanted = protocol.requested(request, signature)
        call["rows"] = len(rows)
        if self.audit is not None:
            call["input_sha256"] = hashlib.sha256(rows.tobytes()).hexdigest()
            if call["id"] is None:  # made up, and returned in the response, so that the client can quote it
                call["id"] = request["id"] = uuid.uuid4().hex
        return request, rows, wanted

    def _predict(self, rows) -> dict:
        try:
            return self.served.predict(rows)
        except (ValueError, TypeError) as error:
            raise self._refused(error) from None

    @staticmethod
    def _refused(error: Exception) -> RequestError:
        """The model refused values the signature allowed."""
        return RequestError(422, f"the model refused the input: {str(error)[:200]}")

    def _checked(self, rows, outputs: dict) -> list[int]:
        """The indices of the rows without a finite answer; when there is none, the rows are counted in /metrics.

        Called once per request, or once for a batch of requests (:class:`.batching.Batcher`).
        """
        bad = self.served.nonfinite_rows(outputs)
        if not bad:
            self.metrics.rows.inc(len(rows))
            if self.inputs is not None:
                self.inputs.answered(rows)
        return bad

    def _respond(self, request: dict, rows, wanted: list[str], outputs: dict, bad: list[int],
                 call: dict) -> tuple[bytes, bytes]:  # fmt: skip
        """The response's body and content type: JSON, or JSON then raw tensors (the binary extension).

        ``bad``: the rows without a finite answer (:meth:`_checked`), which refuse the request.
        """
        if bad:
            self.metrics.nonfinite.inc()
            raise RequestError(422, self._out_of_range(rows, bad))
        wanted = {name: outputs[name] for name in wanted}
        answer, raw = protocol.response(self.served.name, self.served.run.id, request, wanted,
                                        protocol.binary_outputs(request))  # fmt: skip
        if self.options.audit_outputs:
            call["outputs"] = {name: array.tolist() for name, array in wanted.items()}
        if not raw:
            return _json(answer), JSON
        header = _json(answer)
        call["headers"] = [(protocol.HEADER_LENGTH, str(len(header)).encode())]
        return header + b"".join(raw), b"application/octet-stream"

    def _out_of_range(self, rows, bad: list[int]) -> str:
        """Which rows have no finite answer, and which of their inputs are the largest (the likely culprits)."""
        import numpy

        row = numpy.abs(rows[bad[0]].reshape(-1))
        signature = self.served.signature
        names = signature.features if signature.kind == "tabular" else [f"value {i}" for i in range(row.size)]
        largest = [f"{shown(names[i])} ({rows[bad[0]].reshape(-1)[i]:.3g})" for i in numpy.argsort(-row)[:3]]
        which = f"row {bad[0]}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")
        return (
            f"{which}: the model gives NaN or an infinity for these values, outside what it can take (the largest: "
            f"{', '.join(largest)}): send values in the range the model was trained on"
        )

    async def _body(self, receive) -> bytes:
        chunks, size = [], 0
        try:
            async with asyncio.timeout(limits.BODY_TIMEOUT):  # one timer, not wait_for's task for each receive()
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise RequestError(400, "the client went away")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        raise RequestError(413, self._too_large(), CLOSE)
                    chunks.append(chunk)
                    if not message.get("more_body"):
                        return b"".join(chunks)
        except TimeoutError:
            raise RequestError(
                408, f"the body did not arrive within {limits.BODY_TIMEOUT:.0f} s: send it at once", CLOSE
            ) from None


def _header_length(scope) -> int | None:
    """The binary extension's Inference-Header-Content-Length (None without it); 400 when it is not a number."""
    for name, value in scope["headers"]:
        if name == protocol.HEADER_LENGTH:
            if not value.isdigit() or len(value) > 12:
                raise RequestError(
                    400, f"Inference-Header-Content-Length must be a number of bytes, not {shown(value)}"
                )
            return int(value)
    return None


def _json(data) -> bytes:
    """Strict JSON (RFC 8259): a NaN or an infinity (in a run's metrics, say) is null, never a bare NaN token."""
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        return json.dumps(_finite(data), separators=(",", ":"), allow_nan=False).encode()


def _finite(data):
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def from_environment() -> ServingApp:
    """The application of one worker process, its model named by the environment (uvicorn's factory)."""
    served = open_model(os.environ[settings.SERVE_RUN_ENV], name=os.environ.get(settings.SERVE_NAME_ENV) or None)
    return ServingApp(served, load_first=True, options=Options.from_environment())
