"""HTTP requests as a client sends them: the status and the decoded JSON (or text) of the answer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def request(method: str, url: str, body: bytes | None = None, timeout: float = 30) -> tuple[int, Any]:
    """(status, JSON answer) for any status; the text when the answer is not JSON."""
    call = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode(errors="replace")


def get(url: str, timeout: float = 30) -> tuple[int, Any]:
    return request("GET", url, timeout=timeout)


def post(url: str, data: Any, timeout: float = 30) -> tuple[int, Any]:
    """POST ``data`` as JSON (bytes are sent as they are)."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return request("POST", url, body, timeout=timeout)
