"""Bad requests: each is a 4xx with a JSON error that says what was expected, and the server keeps serving."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.utils import http
from tests.utils.http import get, post


def features(run) -> list[str]:
    return list(pd.read_csv(run.path / "artifacts" / "heldout.csv", nrows=0).columns.drop("target"))


def columns(run, rows: int = 1, value: float = 1.0, **changes) -> dict:
    """A request of one input per feature; ``changes`` replace fields of every input."""
    return {"inputs": [{"name": name, "datatype": "FP64", "shape": [rows], "data": [value] * rows, **changes}
                       for name in features(run)]}  # fmt: skip


def without(run, name: str) -> dict:
    body = columns(run)
    body["inputs"] = [item for item in body["inputs"] if item["name"] != name]
    return body


def renamed(run) -> dict:
    body = columns(run)
    body["inputs"][0]["name"] = "mean radius typo"
    return body


def repeated(run) -> dict:
    body = columns(run)
    body["inputs"].append(dict(body["inputs"][0]))
    return body


def one_nan(run) -> bytes:
    return json.dumps(columns(run)).replace("1.0]", "NaN]", 1).encode()


def ragged(run) -> dict:
    body = columns(run, rows=2)
    body["inputs"][3]["data"] = [1.0]
    body["inputs"][3]["shape"] = [1]
    return body


def matrix(rows: int, width: int, data=None) -> dict:
    return {"inputs": [{"name": "rows", "datatype": "FP64", "shape": [rows, width],
                        "data": data if data is not None else [1.0] * rows * width}]}  # fmt: skip


def image(shape, data=None, datatype="FP32") -> dict:
    count = 1
    for size in shape:
        count *= size
    return {"inputs": [{"name": "input", "datatype": datatype, "shape": shape,
                        "data": data if data is not None else [0.5] * count}]}  # fmt: skip


# (id, which model, method, path after the server's URL (MODEL: the model's path), body, status, error fragment)
BAD = [
    pytest.param("diagnosis", "POST", "MODEL/infer", b"not json", 400, "not JSON", id="not-json"),
    pytest.param("diagnosis", "POST", "MODEL/infer", b"", 400, "not JSON", id="empty-body"),
    pytest.param("diagnosis", "POST", "MODEL/infer", b"\xff\xfe", 400, "not JSON", id="not-utf8"),
    pytest.param("diagnosis", "POST", "MODEL/infer", b"[1, 2]", 400, 'needs "inputs"', id="a-list"),
    pytest.param("diagnosis", "POST", "MODEL/infer", b"{}", 400, 'needs "inputs"', id="no-inputs"),
    pytest.param("diagnosis", "POST", "MODEL/infer", b'{"inputs": []}', 400, 'needs "inputs"', id="empty-inputs"),
    pytest.param(
        "diagnosis", "POST", "MODEL/infer", b'{"inputs": [1]}', 400, "must be an object", id="input-not-object"
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        b"[" * 100_000 + b"]" * 100_000,
        400,
        "nested too deeply",
        id="nested-100000-deep",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        b'{"inputs": ' + b"9" * 5000 + b"}",
        400,
        "too large",
        id="5000-digit-number",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: without(run, "mean radius"),
        422,
        "missing ['mean radius']",
        id="missing-feature",
    ),
    pytest.param(
        "diagnosis", "POST", "MODEL/infer", renamed, 422, "unknown ['mean radius typo']", id="unknown-feature"
    ),
    pytest.param("diagnosis", "POST", "MODEL/infer", repeated, 422, "(repeated)", id="repeated-feature"),
    pytest.param("diagnosis", "POST", "MODEL/infer", one_nan, 422, "holds NaN or an infinity", id="nan"),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: one_nan(run).replace(b"NaN", b"Infinity"),
        422,
        "holds NaN or an infinity",
        id="infinity",
    ),
    pytest.param(
        "diagnosis", "POST", "MODEL/infer", lambda run: columns(run, data=["a"]), 422, "not a number", id="text-data"
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: columns(run, datatype="BYTES"),
        422,
        "has datatype 'BYTES'",
        id="bytes-datatype",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: columns(run, datatype="FP128"),
        422,
        "has datatype 'FP128'",
        id="unknown-datatype",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: columns(run, shape=[2]),
        422,
        "has 1 values for shape [2]",
        id="shape-and-data-disagree",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: columns(run, shape="one"),
        400,
        "needs a shape",
        id="shape-not-a-list",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: columns(run, shape=[-1]),
        400,
        "needs a shape",
        id="negative-shape",
    ),
    pytest.param("diagnosis", "POST", "MODEL/infer", ragged, 422, "same shape", id="ragged-rows"),
    pytest.param("diagnosis", "POST", "MODEL/infer", lambda run: columns(run, rows=0), 422, "no rows", id="no-rows"),
    pytest.param(
        "diagnosis", "POST", "MODEL/infer", lambda run: matrix(1, 29), 422, "shape [1, 29]", id="matrix-too-narrow"
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: matrix(2, 30, [[1.0] * 30, [1.0] * 29]),
        422,
        "not a number",
        id="matrix-ragged",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: {**columns(run), "outputs": [{"name": "nope"}]},
        400,
        "outputs may name label, probabilities",
        id="unknown-output",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: columns(run, name=None),
        400,
        "has no name",
        id="input-without-name",
    ),
    pytest.param(
        "diagnosis",
        "POST",
        "MODEL/infer",
        lambda run: columns(run, data=None),
        400,
        "has no data",
        id="input-without-data",
    ),
    pytest.param("diagnosis", "GET", "MODEL/infer", None, 405, "GET is not allowed", id="get-infer"),
    pytest.param("diagnosis", "POST", "/v2/health/ready", b"{}", 405, "POST is not allowed", id="post-ready"),
    pytest.param(
        "diagnosis",
        "POST",
        "/v2/models/other/infer",
        b"{}",
        404,
        "this server serves 'train_tabular'",
        id="unknown-model",
    ),
    pytest.param("diagnosis", "GET", "MODEL/versions/nope", None, 404, "no model at", id="unknown-version"),
    pytest.param("diagnosis", "GET", "/nowhere", None, 404, "no endpoint /nowhere", id="unknown-path"),
    pytest.param(
        "regression",
        "POST",
        "MODEL/infer",
        lambda run: matrix(1, 30),
        422,
        "shape [1, 30]",
        id="regression-wrong-width",
    ),
    pytest.param(
        "digits",
        "POST",
        "MODEL/infer",
        lambda run: image([1, 8, 7]),
        422,
        "the model takes one input 'input'",
        id="image-wrong-shape",
    ),
    pytest.param("digits", "POST", "MODEL/infer", lambda run: image([64]), 422, "has shape [64]", id="image-flat"),
    pytest.param(
        "digits",
        "POST",
        "MODEL/infer",
        lambda run: {"inputs": image([1, 8, 8])["inputs"] * 2},
        422,
        "got 2 inputs",
        id="image-two-inputs",
    ),
    pytest.param(
        "digits",
        "POST",
        "MODEL/infer",
        lambda run: image([1, 8, 8], datatype="BYTES"),
        422,
        "has datatype 'BYTES'",
        id="image-bytes",
    ),
]


def good(model: str, run) -> dict:
    if model == "digits":
        return image([1, 8, 8, 1])
    return columns(run)


@pytest.mark.parametrize(("model", "method", "path", "body", "status", "fragment"), BAD)
def test_a_bad_request_is_a_4xx_json_error_and_the_next_good_one_succeeds(request, serve, model, method, path, body,
                                                                          status, fragment):  # fmt: skip
    run = request.getfixturevalue(model)
    server = serve(run)
    url = server.url + path.replace("MODEL", server.model.removeprefix(server.url))
    payload = body(run) if callable(body) else body
    if isinstance(payload, dict):
        payload = json.dumps(payload).encode()
    answered, answer = http.request(method, url, payload)
    assert (answered, type(answer)) == (status, dict), answer
    assert list(answer) == ["error"] and fragment in answer["error"] and len(answer["error"]) < 300, answer
    assert "Traceback" not in answer["error"]
    assert post(f"{server.model}/infer", good(model, run))[0] == 200
    assert get(f"{server.url}/v2/health/ready")[0] == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(serve, diagnosis):
    """A client that says it will send 17 MB hears 413 at once (the server reads none of it), as HTTP allows."""
    import http.client
    from urllib.parse import urlsplit

    server = serve(diagnosis)
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.putrequest("POST", urlsplit(server.model).path + "/infer")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(17 << 20))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "over 16,777,216 bytes" in json.loads(response.read())["error"]
    connection.close()
    assert post(f"{server.model}/infer", columns(diagnosis))[0] == 200


def test_the_table_is_large_enough():
    assert len(BAD) >= 25
