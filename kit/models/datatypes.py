"""The Open Inference Protocol's tensor datatypes and the NumPy dtypes they are: one table, and its inverse.

A signature names its inputs' and outputs' datatypes with it, a request's datatypes are checked against it, and a
response says the datatype of each output array by it.
"""

from __future__ import annotations

from typing import Any

#: Each datatype of the protocol, and the NumPy dtype of its values (BYTES: text, as Python objects).
DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
#: The datatype of each NumPy dtype (by its name).
_BY_DTYPE = {dtype: name for name, dtype in DATATYPES.items()}
#: Datatypes whose values are numbers (a numeric input may come in any of them).
NUMERIC = frozenset(name for name in DATATYPES if name != "BYTES")


#: ``of`` of the dtypes met so far (numpy's dtype.name is Python code: microseconds, for every output of a response).
_OF: dict[Any, str] = {}


def of(dtype: Any) -> str:
    """The protocol's name of a NumPy dtype (anything ``numpy.dtype`` takes); BYTES for text and objects."""
    try:
        return _OF[dtype]
    except (KeyError, TypeError):  # not met yet; or not hashable
        pass
    import numpy

    name = _BY_DTYPE.get(numpy.dtype(dtype).name, "BYTES")
    if isinstance(dtype, numpy.dtype) and len(_OF) < 64:  # a few dtypes: those of a model's outputs
        _OF[dtype] = name
    return name
