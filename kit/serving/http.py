"""uvicorn's httptools protocol with a deadline for each request's headers (uvicorn has none).

It also tells the application whether a request came on the only open connection (``scope["extensions"]``), which
then predicts it at once instead of waiting for the end of the event loop's turn to batch it with others.

A connection that sends no complete request line and headers within :data:`kit.serving.limits.HEADER_TIMEOUT`
seconds (from its opening, or from the start of its next request) is answered 408 and closed: idle or slow clients
(slowloris) cannot hold connections open. Idle keep-alive connections are closed by uvicorn's own timeout.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kit.serving import limits
from kit.serving.app import ALONE

_ANSWER = b"HTTP/1.1 %s\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
_TIMED_OUT = b'{"error":"the request\'s headers did not arrive within %d s: send them at once"}' % limits.HEADER_TIMEOUT
_INVALID = b'{"error":"not a valid HTTP/1.1 request: check the request line, Content-Length and Transfer-Encoding"}'


class TimedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol, and a request's headers must arrive within HEADER_TIMEOUT seconds; errors in JSON."""

    _headers_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        # The only connection open: no other request can be predicted with this one (kit.serving.app.ALONE).
        self.scope["extensions"] = {ALONE: len(self.server_state.connections) == 1}
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._headers_timer is None:
            self._headers_timer = self.loop.call_later(limits.HEADER_TIMEOUT, self._headers_late)

    def _disarm(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_late(self) -> None:
        self._headers_timer = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return
        self.transport.write(_ANSWER % (b"408 Request Timeout", len(_TIMED_OUT), _TIMED_OUT))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """What httptools cannot parse (smuggling, a bad chunk size, TLS on the HTTP port): 400 in JSON, closed."""
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_ANSWER % (b"400 Bad Request", len(_INVALID), _INVALID))
            self.transport.close()
