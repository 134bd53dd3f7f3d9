"""The record's one codec (kit/record/codec.py): every typed file round-trips, newer fields are kept, a damaged
value is a ValueError that names the field."""

from __future__ import annotations

import copy

import pytest

from kit.models.signature import Range, Signature, Tensor
from kit.record.schema import Failure, Invocation, Resources, RunInfo, RunStatus, Threads
from kit.record.sweep import PointInfo, PointStatus, SweepInfo, SweepStatus
from kit.sweeping.point import Job, Outcome

THREADS = Threads(2, 1, "given")
INVOCATION = Invocation("nb.ipynb", {"seed": 1}, "/work", THREADS, "1", timeout=600)
RUN = RunInfo(
    run_id="r1",
    status=RunStatus.FAILED,
    notebook="nb.ipynb",
    notebook_path="/work/nb.ipynb",
    started="2026-12-02T10:00:00.000+00:00",
    invocation=INVOCATION,
    kit="0.1.0",
    ended="2026-12-02T10:00:05.000+00:00",
    duration_s=5.0,
    failure=Failure("ValueError", "bad x", 2, 3),
    record_problems=("artifact 'a' cannot be read",),
    resources=Resources(1.5, 100 << 20, 0.2),
)
SWEEP = SweepInfo(
    sweep_id="s1",
    status=SweepStatus.RUNNING,
    notebook="nb.ipynb",
    notebook_path="/work/nb.ipynb",
    notebook_sha256="0" * 64,
    grid={"grid": {"seed": [0, 1]}},
    swept=("seed",),
    threads=THREADS,
    started="2026-12-02T10:00:00.000+00:00",
    points=(PointInfo(0, {"seed": 0}, ("s1.p0",), PointStatus.SUCCEEDED), PointInfo(1, {"seed": 1})),
    workers=2,
)
SIGNATURE = Signature("tabular", (Tensor("a", "FP64", (-1,)),), (Tensor("prediction", "FP64", (-1,)),))
RANGED = Signature(
    "tabular",
    (Tensor("a", "FP64", (-1,)), Tensor("b", "FP64", (-1,))),
    (Tensor("prediction", "FP64", (-1,)),),
    ranges=(Range("a", -1.5, 2.0), Range("b", 3.0, 3.0)),
)
VALUES = {
    "run": RUN,
    "sweep": SWEEP,
    "signature": SIGNATURE,
    "signature-with-ranges": RANGED,
    "outcome": Outcome(3, PointStatus.FAILED, "s1.p3", "cell 2 failed", 1.5),
    "job": Job(3, "/work/nb.ipynb", "0" * 64, {"seed": 3}, "s1.p3", THREADS, None, "/work/runs"),
}


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_every_typed_file_round_trips(value):
    assert type(value).from_dict(value.to_dict()) == value


@pytest.mark.parametrize("value", [RUN, SWEEP, SIGNATURE, RANGED], ids=["run", "sweep", "signature", "ranged"])
def test_fields_of_a_newer_kit_are_kept(value):
    newer = {**value.to_dict(), "lineage": {"inputs": []}}
    read = type(value).from_dict(newer)
    assert read.extra == {"lineage": {"inputs": []}} and read.to_dict() == newer


def test_an_older_record_without_the_newer_fields_reads():
    data = RUN.to_dict()
    for key in ("kit", "ended", "duration_s", "failure", "record_problems", "resources"):
        del data[key]
    read = RunInfo.from_dict(data)
    assert (read.kit, read.failure, read.record_problems, read.resources) == ("unknown", None, (), None)


def _damaged(change):
    data = copy.deepcopy(RUN.to_dict())
    change(data)
    return data


DAMAGED = {
    "missing-field": (lambda d: d.pop("started"), "has no 'started'"),
    "null-required": (lambda d: d.update(started=None), "has 'started' of the wrong type (NoneType)"),
    "unknown-status": (lambda d: d.update(status="exploded"), "has an unknown status 'exploded'"),
    "bool-for-int": (lambda d: d["invocation"]["threads"].update(intra_op=True), "'intra_op' of the wrong type (bool)"),
    "text-for-float": (lambda d: d.update(duration_s="5"), "has 'duration_s' of the wrong type (str)"),
    "nested-not-object": (lambda d: d.update(failure=[1]), "is not a JSON object where a failure should be"),
    "list-of-numbers": (lambda d: d.update(record_problems=[1]), "has 'record_problems' of the wrong type (int)"),
    "zero-threads": (lambda d: d["invocation"]["threads"].update(intra_op=0), "has a thread count below 1"),
    "negative-cpu": (lambda d: d["resources"].update(cpu_s=-1), "has a negative resource figure"),
}


@pytest.mark.parametrize(("change", "message"), list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_value_names_its_field(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunInfo.from_dict(_damaged(change))


def test_an_int_is_read_as_a_float_and_a_sweep_checks_its_points():
    assert RunInfo.from_dict(_damaged(lambda d: d.update(duration_s=5))).duration_s == 5.0
    shuffled = {**SWEEP.to_dict(), "points": list(reversed(SWEEP.to_dict()["points"]))}
    with pytest.raises(ValueError, match="points out of order"):
        SweepInfo.from_dict(shuffled)
    with pytest.raises(ValueError, match="is not a model signature"):
        Signature.from_dict({**SIGNATURE.to_dict(), "kind": "image"})


def test_a_signature_saved_before_ranges_reads_with_none():
    older = RANGED.to_dict()
    del older["ranges"]
    assert Signature.from_dict(older).ranges is None


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        pytest.param([{"input": "c", "min": 0, "max": 1}], "its range of 'c' is not one of its inputs", id="unknown"),
        pytest.param([{"input": "a", "min": 2, "max": 1}], "its range of 'a' is not one", id="min-over-max"),
        pytest.param([{"input": "a", "min": "0", "max": 1}], "has 'min' of the wrong type (str)", id="text-min"),
        pytest.param([{"input": "a", "max": 1}], "has no 'min'", id="no-min"),
        pytest.param({"a": [0, 1]}, "has 'ranges' of the wrong type (dict)", id="not-a-list"),
    ],
)
def test_a_damaged_range_is_refused_naming_it(ranges, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Signature.from_dict({**RANGED.to_dict(), "ranges": ranges})
