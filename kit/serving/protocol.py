"""The Open Inference Protocol (KServe V2) for one model: requests checked against its signature, responses built.

An inference request names its inputs (``{"name", "datatype", "shape", "data"}``); a tabular model takes one
input per feature, each of shape [N] (the training feature names, any order), or one input of shape [N, features]
with the features in training order; a tensor model takes one input of its shape ([N, 8, 8, 1] or [N, 8, 8] for the
digits). ``data`` is flat in row-major order, or nested. Every mistake is a :class:`RequestError` with a 4xx status
and a message that says what was expected; nothing a client sends makes a 500.
"""

from __future__ import annotations

import json
import math
from typing import Any

from kit.models import datatypes
from kit.models.signature import Signature
from kit.shorten import shown

#: The most rows one request may hold (the body-size limit usually comes first).
MAX_ROWS = 1_000_000


class RequestError(Exception):
    """A request the model cannot answer: ``status`` (4xx, or 503) and a message that says what was expected.

    ``headers`` go with the answer (``WWW-Authenticate`` with a 401, ``Retry-After`` with a 503).
    """

    def __init__(self, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.status, self.message, self.headers = status, message, headers
        super().__init__(message)


class NonFiniteInput(RequestError):
    """422: an input holds NaN or an infinity the model cannot take.

    ``rows``: how many rows held one, by input of the signature (a feature, or a tensor model's input; never a name
    the client chose), for /metrics.
    """

    def __init__(self, message: str, rows: dict[str, int]) -> None:
        super().__init__(422, message)
        self.rows = rows


#: The binary tensor data extension (Triton's, which KServe's and Triton's clients send by default): the request's
#: JSON comes first, this header says its length, then each input's raw little-endian bytes, in order.
HEADER_LENGTH = b"inference-header-content-length"
BINARY_EXTENSION = "binary_tensor_data"


def parse(body: bytes, header_length: int | None = None) -> dict:
    """The request's JSON object (with the binary extension's tensors as arrays); 400 when the body is not one."""
    binary = b""
    if header_length is not None:
        if not 0 < header_length <= len(body):
            raise RequestError(
                400, f"Inference-Header-Content-Length is {header_length}, the body {len(body)} bytes: send the "
                "length of the JSON header, followed by the tensors' bytes",
            )  # fmt: skip
        body, binary = body[:header_length], memoryview(body)[header_length:]
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestError(
            400, 'the body is not JSON: send {"inputs": [{"name", "datatype", "shape", "data"}]}'
        ) from None
    except (RecursionError, ValueError):
        raise RequestError(400, "the body is nested too deeply or holds a number too large to read") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list) or not request["inputs"]:
        raise RequestError(400, 'the request needs "inputs": a list of {"name", "datatype", "shape", "data"}')
    if "id" in request and type(request["id"]) is not str:
        raise RequestError(400, f'"id" must be a string, not {shown(request["id"])}: e.g. "id": "request-1"')
    if request.get("parameters") is not None and type(request["parameters"]) is not dict:
        raise RequestError(400, f'"parameters" must be an object, not {shown(request["parameters"])}')
    if header_length is not None:
        _binary_inputs(request["inputs"], binary)
    return request


def _binary_inputs(inputs: list, binary: memoryview) -> None:
    """Give each input that names its ``binary_data_size`` its bytes (in order) as an array of its datatype."""
    import numpy

    offset = 0
    for item in inputs:
        parameters = item.get("parameters") if type(item) is dict else None
        if type(parameters) is not dict or "binary_data_size" not in parameters:
            continue
        name, size, datatype = item.get("name"), parameters["binary_data_size"], item.get("datatype")
        if type(size) is not int or size < 0:
            raise RequestError(400, f'input {shown(name)} has "binary_data_size" {shown(size)}: a number of bytes')
        if "data" in item:
            raise RequestError(400, f'input {shown(name)} has both "data" and "binary_data_size": send one')
        if type(datatype) is not str or datatype not in datatypes.NUMERIC:
            raise RequestError(422, f"input {shown(name)} has datatype {shown(datatype)}: binary data must be numbers")
        dtype = numpy.dtype(datatypes.DATATYPES[datatype]).newbyteorder("<")
        chunk = binary[offset : offset + size]
        if len(chunk) != size or size % dtype.itemsize:
            raise RequestError(
                400, f"input {shown(name)} says {size} bytes of {datatype}: the body holds {len(chunk)} more, and each "
                f"value takes {dtype.itemsize}",
            )  # fmt: skip
        item["data"] = numpy.frombuffer(chunk, dtype=dtype)
        offset += size
    if offset != len(binary):
        raise RequestError(400, f"the body holds {len(binary) - offset} bytes after the tensors its header describes")


def _tensor(item: Any, expected: str) -> tuple[str, str, list[int], Any]:
    if type(item) is not dict:
        raise RequestError(400, f"each input must be an object with name, datatype, shape and data; got {shown(item)}")
    name, datatype, shape, data = item.get("name"), item.get("datatype"), item.get("shape"), item.get("data")
    if type(name) is not str:
        said = "has no name" if name is None else f'has "name" {shown(name)}, not a string'
        raise RequestError(400, f"an input {said}: name it (expected {expected})")
    if type(shape) is not list or not all(type(size) is int and size >= 0 for size in shape):
        raise RequestError(400, f'input {shown(name)} needs a shape: "shape" a list of sizes, such as [1]')
    if type(datatype) is not str:
        raise RequestError(400, f'input {shown(name)} has "datatype" {shown(datatype)}: a string, such as "FP64"')
    if datatype not in datatypes.NUMERIC:
        raise RequestError(422, f"input {shown(name)} has datatype {shown(datatype)}: the model takes numbers (FP64)")
    if data is None:
        raise RequestError(400, f'input {shown(name)} has no data: send "data", a list of numbers')
    if type(data) is not list and not hasattr(data, "dtype"):  # a list, or the binary extension's array
        raise RequestError(400, f'input {shown(name)} has "data" {shown(data)}: send a list of numbers')
    if item.get("parameters") is not None and type(item["parameters"]) is not dict:
        raise RequestError(400, f'input {shown(name)} has "parameters" {shown(item["parameters"])}: send an object')
    return name, datatype, shape, data


def _array(name: str, data: Any, shape: list[int], allow_nan: bool, columns: tuple[str, ...]):
    """``data`` as a float64 array of ``shape``; 422 when it is not numbers of that count.

    ``columns``: the signature's inputs it holds (the features of a matrix [N, features], else one), named in the
    :class:`NonFiniteInput` it raises.
    """
    import numpy

    count = math.prod(shape)
    if count > MAX_ROWS * 1000:
        raise RequestError(413, f"input {shown(name)} is too large: send at most {MAX_ROWS:,} rows per request")
    try:
        array = numpy.asarray(data, dtype=numpy.float64)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise RequestError(422, f"input {shown(name)} holds something that is not a number: send numbers") from None
    if array.size != count:
        raise RequestError(422, f"input {shown(name)} has {array.size} values for shape {shape}: send {count}")
    array = array.reshape(shape)
    if not _finite(array, allow_nan):
        which = "an infinity" if allow_nan else "NaN or an infinity"
        bad = (numpy.isinf(array) if allow_nan else ~numpy.isfinite(array)).reshape(shape[0] if shape else 1, -1)
        rows = bad.sum(axis=0) if len(columns) > 1 else [bad.any(axis=1).sum()]
        raise NonFiniteInput(
            f"input {shown(name)} holds {which}, which this model cannot take",
            {column: int(count) for column, count in zip(columns, rows, strict=True) if count},
        )
    return array


def _finite(array, allow_nan: bool) -> bool:
    import numpy

    return bool(numpy.isfinite(array).all()) or (allow_nan and not numpy.isinf(array).any())


def _expected(features) -> str:
    return (
        f"one input per feature ({', '.join(features[:3])}, …; {len(features)} in all), "
        f"or one input of shape [N, {len(features)}]"
    )


def _tabular(inputs: list, signature: Signature):
    import numpy

    features = signature.features
    tensors = [_tensor(item, "the model's features") for item in inputs]
    names = [name for name, *_ in tensors]
    if len(tensors) == 1 and names[0] not in signature.feature_set:  # one matrix, its columns in training order
        name, _, shape, data = tensors[0]
        if len(shape) != 2 or shape[1] != len(features):
            raise RequestError(422, f"input {shown(name)} has shape {shape}: the model takes {_expected(features)}")
        return _array(name, data, shape, signature.allow_nan, features)
    if len(names) != len(features) or set(names) != signature.feature_set:
        unknown = [name for name in names if name not in signature.feature_set]
        missing = [name for name in features if name not in set(names)]
        said = (
            f"unknown {shown(unknown[:3])}" if unknown else f"missing {shown(missing[:3])}" if missing else "repeated"
        )
        raise RequestError(
            422, f"the inputs must be the model's features, each once ({said}): send {_expected(features)}"
        )
    shape = tensors[0][2]
    if not shape or shape not in ([shape[0]], [shape[0], 1]) or any(item[2] != shape for item in tensors):
        raise RequestError(422, "every feature's input must have the same shape, [N] (or [N, 1])")
    by_name = {name: data for name, _, _, data in tensors}
    try:  # the fast way: all columns at once (a single row of 30 features costs microseconds)
        matrix = numpy.array([by_name[name] for name in features], dtype=numpy.float64).reshape(len(features), -1)
    except (ValueError, TypeError, OverflowError, RecursionError):
        matrix = None  # a column that is not numbers, or not of its shape: found and named one by one below
    if matrix is None or matrix.shape[1] != shape[0] or not _finite(matrix, signature.allow_nan):
        return numpy.column_stack(_columns(by_name, features, shape, signature.allow_nan))
    return numpy.ascontiguousarray(matrix.T)  # rows in C order, as kit predict gives them: the same bits out


def _columns(by_name: dict, features: tuple[str, ...], shape: list[int], allow_nan: bool) -> list:
    """Each feature's column, checked one by one; the first mistake is raised, with every non-finite feature's rows."""
    columns, refused = [], None
    for name in features:
        try:
            columns.append(_array(name, by_name[name], shape, allow_nan, (name,)).reshape(-1))
        except NonFiniteInput as error:
            if refused is None:
                refused = error
            else:
                refused.rows.update(error.rows)
        except RequestError:
            if refused is not None:
                raise refused from None
            raise
    if refused is not None:
        raise refused
    return columns


def _tensor_input(inputs: list, signature: Signature):
    (expected,) = signature.inputs
    per_row = list(expected.shape[1:])
    wanted = f"one input {expected.name!r} of shape [N, {', '.join(map(str, per_row))}]"
    if len(inputs) != 1:
        raise RequestError(422, f"the model takes {wanted}; got {len(inputs)} inputs")
    name, _, shape, data = _tensor(inputs[0], wanted)
    trailing = shape[1:]
    if len(shape) < 2 or (trailing != per_row and not (per_row[-1:] == [1] and trailing == per_row[:-1])):
        raise RequestError(422, f"input {shown(name)} has shape {shape}: the model takes {wanted}")
    return _array(name, data, shape, signature.allow_nan, (expected.name,)).reshape([shape[0], *per_row])


def inputs(request: dict, signature: Signature):
    """The request's rows as one array the model takes; RequestError saying what was expected."""
    if signature.kind == "tabular":
        array = _tabular(request["inputs"], signature)
    else:
        array = _tensor_input(request["inputs"], signature)
    if array.shape[0] == 0:
        raise RequestError(422, "the request has no rows: send at least one")
    return array


def requested(request: dict, signature: Signature) -> list[str]:
    """The outputs the request asks for (all by default); 400 for one the model does not give."""
    names = [tensor.name for tensor in signature.outputs]
    asked = request.get("outputs")
    if asked is None:
        return names
    if not isinstance(asked, list) or not all(type(item) is dict and type(item.get("name")) is str
                                              and item["name"] in names for item in asked):  # fmt: skip
        raise RequestError(400, f'outputs may name {", ".join(names)}: e.g. "outputs": [{{"name": "{names[0]}"}}]')
    return [item["name"] for item in asked]


def binary_outputs(request: dict) -> set[str]:
    """The outputs the request wants as raw bytes (the binary extension): all with ``binary_data_output``."""
    wanted = set()
    if type(request.get("parameters")) is dict and request["parameters"].get("binary_data_output") is True:
        wanted.add("*")
    for item in request.get("outputs") or ():
        parameters = item.get("parameters")
        if type(parameters) is dict and parameters.get("binary_data") is True:
            wanted.add(item["name"])
    return wanted


def response(model_name: str, version: str, request: dict, outputs: dict[str, Any],
             binary: set[str] = frozenset()) -> tuple[dict, list[bytes]]:  # fmt: skip
    """The inference response (and the raw bytes of its binary outputs, in order).

    Each output has its datatype, shape and flat data; or, for an output in ``binary`` (``*``: all), its size in
    ``parameters.binary_data_size`` and its little-endian bytes returned apart.
    """
    tensors, raw = [], []
    for name, array in outputs.items():
        tensor = {"name": name, "datatype": datatypes.of(array.dtype), "shape": list(array.shape)}
        if (name in binary or "*" in binary) and array.dtype.kind in "biuf":
            data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
            tensor["parameters"] = {"binary_data_size": len(data)}
            raw.append(data)
        else:
            tensor["data"] = array.ravel().tolist() if array.dtype.kind != "O" else [str(x) for x in array.ravel()]
        tensors.append(tensor)
    answer = {"model_name": model_name, "model_version": version, "outputs": tensors}
    if isinstance(request.get("id"), str):
        answer["id"] = request["id"]
    return answer, raw
