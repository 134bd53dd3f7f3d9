"""One run's record summarized once, as plain data, for the terminal (:mod:`.text`) and HTML (:mod:`.report`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.record import Failure, Resources, Run


@dataclass(frozen=True)
class Artifact:
    """One line of the manifest."""

    name: str
    size: int
    sha256: str


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
    )
