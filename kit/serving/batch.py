"""Batch inference on a file of any size (``kit predict``): read in chunks, checked like a request, written atomically.

A CSV file has a header naming the model's features (any order, each once; nothing else); an ``.npy`` file holds
rows of the model's input shape (read memory-mapped). The predictions go to a CSV file (``label`` and one
``probability_CLASS`` column per class, or ``prediction``), written beside its final name and renamed into place
when complete: a mistake found in row 9,000,000 leaves nothing behind.
"""

from __future__ import annotations

import csv
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from kit.errors import PredictError
from kit.serving.model import ServedModel

#: Rows read, predicted and written at a time: memory stays bounded whatever the file's size.
CHUNK_ROWS = 10_000
SOURCES = (".csv", ".npy")


def default_output(source: Path) -> Path:
    return source.with_name(f"{source.stem}.predictions.csv")


def _csv_rows(source: Path, served: ServedModel, chunk_rows: int) -> Iterator:
    try:
        yield from _csv_chunks(source, served, chunk_rows)
    except UnicodeDecodeError:
        raise PredictError(source, "is not UTF-8 text: save it as UTF-8 CSV") from None
    except csv.Error as error:
        raise PredictError(source, f"is not a CSV file ({str(error)[:80]})") from None


def _csv_chunks(source: Path, served: ServedModel, chunk_rows: int) -> Iterator:
    import numpy

    features = served.signature.features
    with open(source, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if not header:
            raise PredictError(source, "is empty: it needs a header naming the features, then rows")
        unknown = [name for name in header if name not in features]
        missing = [name for name in features if name not in header]
        if unknown or missing or len(set(header)) != len(header):
            said = f"unknown columns {unknown[:3]}" if unknown else f"missing {missing[:3]}" if missing else "repeats"
            raise PredictError(source, f"has other columns than the model's {len(features)} features ({said})")
        order = [header.index(name) for name in features]
        chunk, first = [], 2  # the line number of the chunk's first row (the header is line 1)
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise PredictError(source, f"line {line} has {len(row)} values, the header {len(header)}")
            try:
                chunk.append([float(row[index]) if row[index].strip() else math.nan for index in order])
            except ValueError:
                raise PredictError(source, f"line {line} holds a value that is not a number") from None
            if len(chunk) == chunk_rows:
                yield first, numpy.asarray(chunk, dtype=numpy.float64)
                chunk, first = [], line + 1
        if chunk:
            yield first, numpy.asarray(chunk, dtype=numpy.float64)


def _npy_rows(source: Path, served: ServedModel, chunk_rows: int) -> Iterator:
    import numpy

    try:
        array = numpy.load(source, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise PredictError(source, f"is not a NumPy array file ({str(error)[:80]})") from None
    signature = served.signature
    per_row = list(signature.inputs[0].shape[1:]) if signature.kind == "tensor" else [len(signature.features)]
    trailing = list(array.shape[1:])
    if array.ndim < 2 or (trailing != per_row and not (per_row[-1:] == [1] and trailing == per_row[:-1])):
        raise PredictError(source, f"holds an array of shape {list(array.shape)}: the model takes [N, {per_row}]")
    if array.dtype.kind not in "biuf":
        raise PredictError(source, f"holds {array.dtype} values: the model takes numbers")
    for start in range(0, len(array), chunk_rows):
        rows = numpy.asarray(array[start : start + chunk_rows], dtype=numpy.float64)
        yield start + 1, rows.reshape([len(rows), *per_row])


def _columns(served: ServedModel) -> list[str]:
    classes = served.signature.classes
    if classes is None:
        return ["prediction"]
    return ["label", *(f"probability_{label}" for label in classes)]


def _lines(outputs: dict) -> Iterator[list]:
    if "prediction" in outputs:
        yield from ([repr(float(value))] for value in outputs["prediction"])
        return
    for label, probabilities in zip(outputs["label"].tolist(), outputs["probabilities"].tolist(), strict=True):
        yield [label, *(repr(float(p)) for p in probabilities)]


def predict_file(served: ServedModel, source: str | os.PathLike, output: str | os.PathLike | None = None,
                 *, chunk_rows: int = CHUNK_ROWS) -> tuple[Path, int]:  # fmt: skip
    """Predict every row of ``source`` into ``output`` (default: SOURCE.predictions.csv); the path and row count."""
    import numpy

    source = Path(source)
    if source.suffix not in SOURCES or not source.is_file():
        problem = "does not exist" if source.suffix in SOURCES else "is not a .csv or .npy file"
        raise PredictError(source, problem)
    if not served.ready:
        served.load()
    if not served.ready:
        raise PredictError(served.path, f"cannot be loaded ({served.error})")
    if source.suffix == ".csv" and served.signature.kind == "tensor":
        shape = list(served.signature.inputs[0].shape)
        raise PredictError(source, f"is a CSV file: the model takes arrays of shape {shape}, in an .npy file")
    output = Path(output) if output else default_output(source)
    if not output.parent.is_dir():
        raise PredictError(output, f"cannot be written: no folder {output.parent}")
    reader = _csv_rows if source.suffix == ".csv" else _npy_rows
    temporary = output.with_name(f".{output.name}.{secrets.token_hex(4)}.tmp")
    count = 0
    try:
        with open(temporary, "x", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(_columns(served))
            for first, rows in reader(source, served, chunk_rows):
                bad = ~numpy.isfinite(rows).reshape(len(rows), -1).all(axis=1)
                if bad.any() and not (served.signature.allow_nan and not numpy.isinf(rows).any()):
                    where = first + int(bad.argmax())
                    raise PredictError(source, f"row {where} holds NaN or an infinity, which the model cannot take")
                writer.writerows(_lines(served.predict(rows)))
                count += len(rows)
        os.replace(temporary, output)
    except OSError as error:
        raise PredictError(output, f"cannot be written ({error.strerror})") from None
    finally:
        temporary.unlink(missing_ok=True)
    return output, count
