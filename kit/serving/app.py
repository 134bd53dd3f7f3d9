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
``GET  /metrics``                           requests by endpoint and status, latency, in flight, load time
==========================================  ===============================================================
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time

from kit import settings
from kit.serving import protocol
from kit.serving.metrics import Metrics
from kit.serving.model import ServedModel, open_model
from kit.serving.protocol import RequestError
from kit.version import __version__

#: The largest request body read (a larger one is refused with 413 before it is read).
MAX_BODY = 16 << 20
#: Requests up to this size (a few hundred rows) are answered on the event loop; larger ones in a thread.
INLINE = 64 << 10
JSON = b"application/json"
log = logging.getLogger("kit.serve")


class ServingApp:
    """One model behind the protocol's endpoints."""

    def __init__(self, served: ServedModel, *, max_body: int = MAX_BODY, load_first: bool = False) -> None:
        self.served, self.max_body, self.load_first = served, max_body, load_first
        self.metrics = Metrics()
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

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.load_first:  # one of several workers: it takes connections once its model is loaded
                    await asyncio.to_thread(self._load)
                elif not self.served.ready:  # the model loads in the background: alive at once, ready when loaded
                    threading.Thread(target=self._load, name="load-model", daemon=True).start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _load(self) -> None:
        self.served.load()
        if self.served.ready:
            self.metrics.loaded(self.served.load_seconds)
        else:
            log.error("the model of run %s cannot be loaded: %s", self.served.run.id, self.served.error)

    async def _http(self, scope, receive, send) -> None:
        started = time.perf_counter()
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        endpoint, handler = self.routes.get((method, path), ("other", None))
        self.metrics.in_flight.inc()
        status = 500
        try:
            if handler is None:
                raise self._no_route(method, path)
            status, body, content_type = await handler(scope, receive)
        except RequestError as error:
            status, body, content_type = error.status, _json({"error": error.message}), JSON
        except Exception:  # a bug, not the client's mistake: said without details, logged with them
            log.exception("%s %s failed", method, path)
            status, body, content_type = 500, _json({"error": "the server failed on this request; see its log"}), JSON
        finally:
            self.metrics.in_flight.dec()
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.metrics.observe(endpoint, status, time.perf_counter() - started)

    def _no_route(self, method: str, path: str) -> RequestError:
        if path in self.paths:
            return RequestError(405, f"{method} is not allowed on {path[:100]}")
        if path.startswith("/v2/models/"):
            return RequestError(404, f"no model at {path[:100]}: this server serves {self.served.name!r}")
        return RequestError(404, f"no endpoint {path[:100]}: see /v2/models/{self.served.name} and /v2/health/ready")

    # Endpoints: each returns (status, body, content type)

    async def live(self, scope, receive):
        return 200, b'{"live": true}', JSON

    async def ready(self, scope, receive):
        if self.served.ready:
            return 200, _json({"name": self.served.name, "ready": True}), JSON
        detail = {"error": f"the model cannot be loaded: {self.served.error}"} if self.served.error else {}
        return 503, _json({"name": self.served.name, "ready": False, **detail}), JSON

    async def server(self, scope, receive):
        return 200, _json({"name": "kit", "version": __version__, "extensions": []}), JSON

    async def model_metadata(self, scope, receive):
        return 200, _json(self.served.metadata()), JSON

    async def prometheus(self, scope, receive):
        body, content_type = self.metrics.exposition()
        return 200, body, content_type.encode()

    async def infer(self, scope, receive):
        if not self.served.ready:
            raise RequestError(503, "the model is not loaded yet: wait for /v2/health/ready")
        body = await self._body(scope, receive)
        if len(body) <= INLINE:  # a few rows: answered at once, in microseconds
            return 200, self._answer(body), JSON
        # A batch takes milliseconds to seconds: in a thread, so that probes and other requests are answered meanwhile.
        return 200, await asyncio.to_thread(self._answer, body), JSON

    def _answer(self, body: bytes) -> bytes:
        request = protocol.parse(body)
        signature = self.served.signature
        rows = protocol.inputs(request, signature)
        wanted = protocol.requested(request, signature)
        try:
            outputs = self.served.predict(rows)
        except (ValueError, TypeError) as error:  # the model refused values the signature allowed
            raise RequestError(422, f"the model refused the input: {str(error)[:200]}") from None
        self.metrics.rows.inc(len(rows))
        return _json(protocol.response(self.served.name, self.served.run.id, request, {k: outputs[k] for k in wanted}))

    async def _body(self, scope, receive) -> bytes:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                raise RequestError(413, f"the body is over {self.max_body:,} bytes: send fewer rows per request")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise RequestError(413, f"the body is over {self.max_body:,} bytes: send fewer rows per request")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


def _json(data) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def from_environment() -> ServingApp:
    """The application of one worker process, its model named by the environment (uvicorn's factory)."""
    served = open_model(os.environ[settings.SERVE_RUN_ENV], name=os.environ.get(settings.SERVE_NAME_ENV) or None)
    max_body = int(os.environ.get(settings.SERVE_MAX_BODY_ENV, MAX_BODY))
    return ServingApp(served, max_body=max_body, load_first=True)
