"""One run's record summarized once, as plain data, for the terminal (:mod:`.text`) and HTML (:mod:`.report`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.record import Failure, Resources, Run
from kit.record.inputs import DECLARED, Input


@dataclass(frozen=True)
class Artifact:
    """One line of the manifest."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class InputRow:
    """One input of the run: the path the notebook gave, and what identifies its content."""

    path: str
    resolved: str | None
    size: int | None
    #: ``sha256`` for a file, ``digest`` for a value declared with kit.log_input, None when it was not hashed.
    hashed_by: str | None
    hash: str | None
    #: What else to know (declared, written by the run, changed while read, not hashed and why); empty if nothing.
    note: str


@dataclass(frozen=True)
class RunSummary:
    """What ``kit runs show`` prints and ``kit report`` puts first."""

    id: str
    path: Path
    notebook: str
    status: str
    started: str
    ended: str | None
    duration_s: float | None
    failure: Failure | None
    record_problems: tuple[str, ...]
    threads: str
    seeding: str
    git: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    artifacts: list[Artifact]
    resources: Resources | None = None
    #: The files the run read and the inputs it declared, in the order it read them.
    inputs: tuple[InputRow, ...] = ()


def _section(environment: dict, name: str) -> dict:
    return environment.get(name) or {}


def summarize(run: Run) -> RunSummary:
    """Everything shown about a run; reads the record (DamagedRecord for a damaged file)."""
    info, env = run.info, run.environment
    threads = run.info.invocation.threads
    seed = _section(env, "seed").get("seed")
    git = _section(env, "git")
    return RunSummary(
        id=run.id,
        path=run.path,
        notebook=info.notebook,
        status=info.status.value,
        started=info.started,
        ended=info.ended,
        duration_s=info.duration_s,
        failure=info.failure,
        record_problems=info.record_problems,
        threads=f"intra-op {threads.intra_op}, inter-op {threads.inter_op} ({threads.source})",
        seeding=f"seed {seed}; PYTHONHASHSEED {info.invocation.hash_seed}",
        git=f"{git.get('commit') or git.get('note') or 'unknown'}{' (dirty)' if git.get('dirty') else ''}",
        params=run.params,
        metrics=run.metrics,
        artifacts=[Artifact(name, entry["size"], entry["sha256"]) for name, entry in run.manifest.items()],
        resources=info.resources,
        inputs=tuple(input_row(entry) for entry in run.inputs),
    )


def input_row(entry: Input) -> InputRow:
    said = [word for word, on in (("declared", entry.declared), ("written by the run", entry.written)) if on]
    if entry.changed or entry.note:
        said.append(entry.note or "changed while the run read it")
    hashed_by = "digest" if entry.kind == DECLARED else "sha256" if entry.sha256 else None
    return InputRow(entry.path, entry.resolved, entry.size, hashed_by, entry.identity, "; ".join(said))
