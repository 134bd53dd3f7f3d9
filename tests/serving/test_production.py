"""What a hospital's deployment needs of `kit serve`, for real: a token file that is refused in one line when it
cannot be trusted, an audit trail never torn (under load, after `kill -9`), and batching that keeps the bits."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from tests.serving.conftest import Server
from tests.utils.commands import kit as kit_command
from tests.utils.http import get, post

TOKEN = "kit-test-token-0123456789abcdef"


def token_file(folder, text: str | bytes | None, mode: int = 0o600):
    path = folder / "tokens"
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        pytest.param(None, 0o600, "does not exist: make one with", id="missing"),
        pytest.param("", 0o600, "holds no token", id="empty"),
        pytest.param("\n  \n# a comment\n", 0o600, "holds no token", id="blank-lines-and-comments"),
        pytest.param(TOKEN, 0o000, "cannot be read (Permission denied)", id="unreadable"),
        pytest.param(TOKEN, 0o666, "is writable by anyone", id="world-writable"),
        pytest.param("short\n", 0o600, "token 1 is not 16 to 4096 characters", id="too-short"),
        pytest.param(f"{TOKEN} {TOKEN}\n", 0o600, "without spaces", id="space-inside"),
        pytest.param(b"\xff\xfe" * 10, 0o600, "is not UTF-8", id="not-utf8"),
    ],
)
def test_a_token_file_that_cannot_be_trusted_is_one_error_line_and_exit_2(diagnosis, tmp_path, text, mode, message):
    path = token_file(tmp_path, text, mode)
    result = kit_command("serve", diagnosis.path, "--port", "0", "--token-file", path, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and message in result.stderr
    assert len(result.stderr) < 300 and "serving" not in result.stderr


def test_a_token_folder_and_an_unwritable_audit_log_are_refused(diagnosis, tmp_path):
    result = kit_command("serve", diagnosis.path, "--port", "0", "--token-file", tmp_path, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "is a folder" in result.stderr and result.stderr.count("\n") == 1
    audit = tmp_path / "nowhere" / "audit.jsonl"
    result = kit_command("serve", diagnosis.path, "--port", "0", "--audit-log", audit, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "cannot be written (No such file" in result.stderr, result.stderr


def test_the_token_file_comes_from_the_environment_too(diagnosis, tmp_path):
    path = token_file(tmp_path, "")
    result = subprocess.run(["kit", "serve", str(diagnosis.path), "--port", "0"], capture_output=True, text=True,
                            env={**os.environ, "KIT_SERVE_TOKEN_FILE": str(path)}, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "holds no token" in result.stderr


def features(run) -> list[str]:
    return list(pd.read_csv(run.path / "artifacts" / "heldout.csv", nrows=0).columns.drop("target"))


def heldout_rows(run, count: int) -> pd.DataFrame:
    frame = pd.read_csv(run.path / "artifacts" / "heldout.csv").drop(columns="target")
    return pd.concat([frame] * (count // len(frame) + 1), ignore_index=True).iloc[:count]


def one_row(row: pd.Series, request_id: str | None = None) -> dict:
    body = {"inputs": [{"name": name, "datatype": "FP64", "shape": [1], "data": [float(value)]}
                       for name, value in row.items()]}  # fmt: skip
    if request_id:
        body["id"] = request_id
    return body


def authorized_post(url: str, body: dict) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    call = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                  headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_1000_rows_served_singly_under_32_connections_are_kit_predicts_bytes(diagnosis, serve, tmp_path):
    """Each row alone over HTTP, 32 at a time, gives the very bytes `kit predict` writes for the whole file."""
    rows = heldout_rows(diagnosis, 1000)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = kit_command("predict", diagnosis.path, tmp_path / "rows.csv", "-o", tmp_path / "out.csv",
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = (tmp_path / "out.csv").read_text().splitlines()[1:]
    server = serve(diagnosis)

    def line(index: int) -> str:
        status, answer = post(f"{server.model}/infer", one_row(rows.iloc[index]))
        assert status == 200, answer
        outputs = {item["name"]: item["data"] for item in answer["outputs"]}
        return ",".join([str(outputs["label"][0]), *(repr(float(p)) for p in outputs["probabilities"])])

    with ThreadPoolExecutor(32) as pool:
        served = list(pool.map(line, range(len(rows))))
    assert served == expected
    assert get(server.model)[1]["parameters"]["batching"] == {"rows_per_block": 64, "bit_identical": True}


def audit_lines(path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), text[-300:]
    return [json.loads(line) for line in text.splitlines()]


def test_the_audit_log_has_one_whole_line_per_request_under_load(diagnosis, tmp_path):
    tokens, audit = token_file(tmp_path, TOKEN + "\n"), tmp_path / "audit.jsonl"
    server = Server(diagnosis.path, "--token-file", str(tokens), "--audit-log", str(audit), "--workers", "2")
    try:
        rows = heldout_rows(diagnosis, 50)

        def send(index: int) -> int:
            body = one_row(rows.iloc[index % len(rows)], request_id=f"r{index}")
            if index % 10 == 9:  # some bad ones too: logged with their status
                body["inputs"][0]["datatype"] = ["FP64"]
            return authorized_post(f"{server.model}/infer", body)[0]

        with ThreadPoolExecutor(16) as pool:
            answered = list(pool.map(send, range(400)))
    finally:
        server.stop()
    lines = audit_lines(audit)
    assert len(lines) == 400 and sorted(line["id"] for line in lines) == sorted(f"r{i}" for i in range(400))
    assert sorted(line["status"] for line in lines) == sorted(answered)
    good = next(line for line in lines if line["status"] == 200)
    assert set(good) == {"time", "id", "client", "model", "run_id", "model_sha256", "input_sha256", "rows", "status",
                         "latency_ms"}  # fmt: skip
    assert good["rows"] == 1 and good["run_id"] == "diagnosis" and len(good["input_sha256"]) == 64
    assert '"data"' not in audit.read_text() and '"outputs"' not in audit.read_text()  # never the data


def test_the_audit_log_is_never_torn_by_kill_9(diagnosis, tmp_path):
    audit = tmp_path / "audit.jsonl"
    server = Server(diagnosis.path, "--audit-log", str(audit), "--audit-outputs")
    rows = heldout_rows(diagnosis, 50)
    stop = threading.Event()

    def load() -> None:
        index = 0
        while not stop.is_set() and index < 5000:
            try:
                post(f"{server.model}/infer", one_row(rows.iloc[index % len(rows)]), timeout=5)
            except (OSError, http.client.HTTPException):  # the server was killed mid-answer
                return
            index += 1

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    os.kill(server.process.pid, signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    server.process.wait(timeout=30)
    lines = audit_lines(audit)
    assert len(lines) > 10 and all(line["status"] == 200 and "outputs" in line for line in lines)


def test_binary_tensors_in_and_out_equal_json(diagnosis, serve):
    """The binary tensor data extension (KServe's and Triton's clients send it by default): the same outputs."""
    import struct
    import urllib.request

    import numpy

    server = serve(diagnosis)
    assert "binary_tensor_data" in get(f"{server.url}/v2")[1]["extensions"]
    rows = heldout_rows(diagnosis, 100)
    size = {"binary_data_size": 8 * len(rows)}
    inputs = [{"name": name, "datatype": "FP64", "shape": [len(rows)], "parameters": size} for name in rows.columns]
    header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode()
    payload = header + b"".join(rows[name].to_numpy("<f8").tobytes() for name in rows.columns)
    call = urllib.request.Request(f"{server.model}/infer", data=payload, method="POST",
                                  headers={"Inference-Header-Content-Length": str(len(header))})  # fmt: skip
    with urllib.request.urlopen(call, timeout=30) as response:
        length = int(response.headers["Inference-Header-Content-Length"])
        assert response.headers["Content-Type"] == "application/octet-stream"
        answer = response.read()
    described = json.loads(answer[:length])
    raw, got = answer[length:], {}
    for tensor in described["outputs"]:
        size = tensor["parameters"]["binary_data_size"]
        dtype = {"INT64": "<i8", "FP64": "<f8"}[tensor["datatype"]]
        got[tensor["name"]] = numpy.frombuffer(raw[:size], dtype=dtype).reshape(tensor["shape"])
        raw = raw[size:]
    assert raw == b""
    columns = [{"name": name, "datatype": "FP64", "shape": [len(rows)], "data": rows[name].tolist()}
               for name in rows.columns]  # fmt: skip
    status, as_json = post(f"{server.model}/infer", {"inputs": columns})
    assert status == 200
    for tensor in as_json["outputs"]:
        assert struct.pack(f"<{len(tensor['data'])}d", *tensor["data"]) == got[tensor["name"]].astype("<f8").tobytes()


def test_metrics_can_need_the_token_while_health_stays_open(diagnosis, tmp_path):
    tokens = token_file(tmp_path, TOKEN + "\n")
    server = Server(diagnosis.path, "--token-file", str(tokens), "--metrics-need-token")
    try:
        assert get(f"{server.url}/metrics")[0] == 401
        assert get(f"{server.url}/v2/health/live")[0] == 200 and get(f"{server.url}/v2/health/ready")[0] == 200
        assert authorized_post(f"{server.model}/infer", one_row(heldout_rows(diagnosis, 1).iloc[0]))[0] == 200
    finally:
        server.stop()
