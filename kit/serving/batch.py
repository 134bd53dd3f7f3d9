"""Batch inference on a file of any size (``kit predict``): read in chunks, checked like a request, written atomically.

A CSV file has a header naming the model's features (any order, each once; nothing else); an ``.npy`` file holds
rows of the model's input shape (read memory-mapped). The predictions go to a CSV file (``label`` and one
``probability_CLASS`` column per class, or ``prediction``), written beside its final name and renamed into place
when complete: a mistake found in row 9,000,000 leaves nothing behind. A row the model gives NaN or an infinity
for (finite values near 1e308 overflow) is refused, named by its row number, like a row that holds NaN.

The output is never the input (however spelled: another path, a symlink, a hard link) and never inside a run
record or a runs directory's record (a model, say): nothing already there is lost.
"""

from __future__ import annotations

import csv
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from kit import settings
from kit.errors import PredictError
from kit.record import layout
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


def _nonfinite(first: int, rows: list[int]) -> str:
    """What to say of the rows of a chunk (from its row number ``first``) the model gives no finite output for."""
    several = len(rows) > 1
    named = ", ".join(str(first + index) for index in rows[:5]) + (
        f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    )
    return (
        f"row{'s' if several else ''} {named}: the model gives NaN or an infinity for {'their' if several else 'its'} "
        f"values (too large for it?): fix or leave out {'those rows' if several else 'that row'}"
    )


def _record_holding(path: Path, runs: list[Path]) -> Path | None:
    """The run or sweep record (or other entry of a runs directory in ``runs``) that ``path`` would be written in."""
    try:
        folder = path.parent.resolve()
        roots = {runs_dir.resolve() for runs_dir in runs}
    except (OSError, RuntimeError):  # a symlink loop: refused as it is when written
        return None
    for ancestor in (folder, *folder.parents):
        if ancestor.parent in roots or _is_record(ancestor):
            return ancestor
    return None


def _is_record(folder: Path) -> bool:
    """Whether ``folder`` is a run record (its status, manifest and params) or a sweep's (sweeps/SWEEP/sweep.json)."""
    if all((folder / name).is_file() for name in (layout.STATUS, layout.MANIFEST, layout.PARAMS)):
        return True
    return folder.parent.name == layout.SWEEPS and (folder / layout.SWEEP).is_file()


def check_output(output: Path, source: Path, runs: list[Path]) -> Path:
    """``output`` if predictions may be written there, else PredictError saying why.

    A file path in a folder that exists; not the input, however spelled; not inside a record (a run's or a sweep's
    folder wherever it is, or any entry of a runs directory in ``runs``).
    """
    fix = "pass -o PATH, a new file outside the runs directory"
    if not output.name or output.name in (".", "..") or output.is_dir():
        raise PredictError(output, f"is a folder: {fix}, such as predictions.csv")
    if not output.parent.is_dir():
        raise PredictError(output, f"cannot be written: no folder {output.parent}")
    if not os.access(output.parent, os.W_OK | os.X_OK):
        raise PredictError(output, "cannot be written (Permission denied): pass -o PATH in a folder of yours")
    try:
        same = output.exists() and os.path.samefile(output, source)
    except OSError:
        same = False
    if same or output.absolute() == source.absolute():
        raise PredictError(output, f"is the input: the predictions would replace it; pass -o {default_output(source)}")
    record = _record_holding(output, runs)
    if record is not None:
        raise PredictError(output, f"is inside the record {record.name} (records are never changed): {fix}")
    return output


def predict_file(
    served: ServedModel,
    source: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    runs_dir: str | os.PathLike | None = None,
) -> tuple[Path, int]:
    """Predict every row of ``source`` into ``output`` (default: SOURCE.predictions.csv); the path and row count.

    PredictError when a row cannot be predicted (its values, or the model's outputs for them, not finite) or the
    output must not be written (see :func:`check_output`; ``runs_dir``'s records are refused too): nothing is written.
    """
    import numpy

    source = Path(source)
    if source.suffix not in SOURCES or not source.is_file():
        problem = "does not exist" if source.suffix in SOURCES else "is not a .csv or .npy file"
        raise PredictError(source, problem)
    output = Path(output) if output is not None else default_output(source)
    output = check_output(output, source, [settings.runs_dir(runs_dir)])  # before the model loads: in milliseconds
    if not served.ready:
        served.load()
    if not served.ready:
        raise PredictError(served.path, f"cannot be loaded ({served.error})")
    if source.suffix == ".csv" and served.signature.kind == "tensor":
        shape = list(served.signature.inputs[0].shape)
        raise PredictError(source, f"is a CSV file: the model takes arrays of shape {shape}, in an .npy file")
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
                with numpy.errstate(all="ignore"):  # an overflow is found in the outputs, and named below
                    outputs = served.predict(rows)
                nonfinite = served.nonfinite_rows(outputs)
                if nonfinite:
                    raise PredictError(source, _nonfinite(first, nonfinite))
                writer.writerows(_lines(outputs))
                count += len(rows)
        os.replace(temporary, output)
    except OSError as error:
        raise PredictError(output, f"cannot be written ({error.strerror})") from None
    finally:
        temporary.unlink(missing_ok=True)
    return output, count
