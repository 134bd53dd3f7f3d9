"""The model image under `kit deploy`'s limits (512 MiB, half a CPU): concurrent large requests never kill it.

Before the memory budget, 4 concurrent requests of 15.5 MB (each within the 16 MB body limit) got the container
OOM-killed. Now each is answered 200, or 503 with Retry-After when the bytes in flight would pass the budget, and the
server is alive after each wave.
"""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.by_image.model.test_model_image import PORTS, ready, request_body
from tests.utils.containers import host_port
from tests.utils.http import get

#: `kit deploy`'s defaults (kit/cli/serve.py): --memory 512Mi, --cpu 500m.
DEPLOY_LIMITS = {"mem_limit": "512m", "memswap_limit": "512m", "nano_cpus": 500_000_000}
BODY_BYTES = int(15.5 * (1 << 20))


def large_body(trained) -> bytes:
    """A request of about 15.5 MB: the held-out rows repeated, cut to whole rows under 15.5 MB."""
    one = len(json.dumps(request_body(trained)).encode())
    repeat = BODY_BYTES // one
    body = json.dumps(request_body(trained, repeat=repeat)).encode()
    assert 14 << 20 < len(body) <= BODY_BYTES, len(body)
    return body


def send(port: int, body: bytes) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v2/models/train_tabular/infer", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    finally:
        connection.close()


@pytest.mark.parametrize("concurrent", [4, 8])
def test_concurrent_large_requests_under_the_deploy_limits_never_kill_it(containers, trained, concurrent):
    container = containers.start(ports=PORTS, **DEPLOY_LIMITS)
    url = ready(container, 120)
    port = host_port(container, "8080/tcp")
    body = large_body(trained)
    with ThreadPoolExecutor(concurrent) as pool:
        answers = list(pool.map(lambda _: send(port, body), range(concurrent)))
    container.reload()
    state = container.attrs["State"]
    assert state["Running"] and not state["OOMKilled"] and container.attrs["RestartCount"] == 0, state
    assert all(status == 200 or (status == 503 and retry == "1") for status, retry in answers), answers
    assert any(status == 200 for status, _ in answers), answers
    assert get(f"{url}/v2/health/ready")[0] == 200
    peak = container.exec_run(["cat", "/sys/fs/cgroup/memory.peak"]).output.decode().strip()
    print(f"{concurrent} x {len(body) / 2**20:.1f} MB under 512 MiB: {answers}; peak memory {int(peak) / 2**20:.0f} MiB"
          if peak.isdigit() else answers)  # fmt: skip
