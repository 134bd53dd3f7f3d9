"""``kit sweep --emit-k8s DIR``: a sweep as a Kubernetes Indexed Job, for a cluster to run.

::

    DIR/
      job.yaml                a ConfigMap (the sweep file and the notebook) and the Indexed Job
      pvc.yaml                the PersistentVolumeClaim the runs go to (leave it out for a claim of your own)
      sweep/sweep.json        the sweep file every pod reads (the ConfigMap holds the same)
      sweep/notebook.ipynb    the notebook the sweep prepared (likewise)

The Job has one completion per point (``completionMode: Indexed``). Each pod runs ``kit sweep point
/etc/kit/sweep/sweep.json``, which takes its point from ``JOB_COMPLETION_INDEX`` and writes the point's run to
the claim, mounted where the image keeps runs; it exits 0, 1 when the notebook failed (the index fails at once,
no retry: it would fail again) or 2 when the point cannot run there. An evicted or preempted pod is retried
without counting (``DisruptionTarget``); a crash counts against ``backoffLimitPerIndex``. A point's run id is fixed
and its record retryable (:mod:`kit.sweeping.point`), so a retried pod writes a fresh record and the point is
recorded once.

Memory and CPU requests come from what runs of the same notebook used (``status.json``'s resources in the runs
directory): the largest peak memory with a quarter more, and the largest average CPU use; without a recorded run,
defaults, which the YAML says. Every value is checked before a file is written (:mod:`kit.k8s`): the image
reference, the claim's name and every other name and quantity of the manifests.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import k8s, plainyaml, settings
from kit.errors import GridError, ManifestError, PointFailed, RunsDirError, SweepNotFound
from kit.record import Run, layout
from kit.record.jsonfile import dumps, read_json, write_text
from kit.record.layout import SweepLayout
from kit.record.store import check_runs_dir
from kit.record.sweep import PointStatus, Sweep, SweepInfo
from kit.shorten import shown
from kit.sweeping.point import Job, Outcome, run

#: Where the pod finds the sweep file and the notebook (the ConfigMap), and writes runs (the claim).
SWEEP_MOUNT = "/etc/kit/sweep"
RUNS_MOUNT = "/home/jovyan/work/runs"
SWEEP_FILE, NOTEBOOK_FILE = "sweep.json", "notebook.ipynb"
#: The image's user and group (the top-level Dockerfile); the claim is made writable for the group.
UID, GID = 1000, 100
#: A ConfigMap holds at most 1 MiB.
MAX_CONFIG_BYTES = 1_000_000
#: Tries per point beyond the first when a pod crashes (disruptions do not count).
BACKOFF_PER_INDEX = 2
DEFAULT_MEMORY, DEFAULT_CPU = 1 << 30, 1.0
MI = 1 << 20


def sizing(notebook_path: Path, runs: Path) -> tuple[int, float, str]:
    """Memory (bytes) and CPU (cores) to request for one point, and where the figures come from."""
    peaks, cores = [], []
    try:
        entries = [path for path in runs.iterdir() if layout.is_listed(path) and (path / layout.STATUS).is_file()]
    except OSError:
        entries = []
    for path in entries:
        try:
            info = Run.open(path).info
        except Exception:  # a damaged record says nothing about sizes
            continue
        if info.resources and info.notebook_path == str(notebook_path) and info.duration_s:
            peaks.append(info.resources.peak_rss_bytes)
            cores.append(info.resources.cpu_s / info.duration_s)
    if not peaks:
        note = f"no recorded run of {notebook_path.name} in {runs}: default sizes; `kit run` it once and emit again"
        return DEFAULT_MEMORY, DEFAULT_CPU, note
    memory = math.ceil(max(peaks) * 1.25 / (64 * MI)) * 64 * MI
    cpu = max(0.1, math.ceil(max(cores) * 10) / 10)
    return memory, cpu, f"sized from {len(peaks)} recorded runs of {notebook_path.name}: peak RSS + 25 %, peak CPU"


@dataclass(frozen=True)
class Emitted:
    """A sweep written for Kubernetes: its id (``kit sweep show ID`` once the claim is mounted), its Job, its files."""

    sweep_id: str
    job: str
    files: list[Path]


def _name(sweep_id: str) -> str:
    """A DNS label for the Job and its ConfigMap: ``kit-sweep-`` and the sweep id's random part."""
    return f"kit-sweep-{sweep_id.rsplit('-', 1)[-1].lower()[:40]}"


def manifests(info: SweepInfo, config: dict[str, str], *, parallelism: int, image: str, claim: str,
              memory: int, cpu: float) -> list[dict[str, Any]]:  # fmt: skip
    """The ConfigMap and the Indexed Job, as plain data."""
    name = _name(info.sweep_id)
    labels = {"app.kubernetes.io/name": "kit-sweep", "app.kubernetes.io/instance": name}
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": config,
    }
    container = {
        "name": "point",
        "image": image,
        "command": ["kit", "sweep", "point", f"{SWEEP_MOUNT}/{SWEEP_FILE}"],
        "env": [{"name": settings.RUNS_DIR_ENV, "value": RUNS_MOUNT}],
        "resources": {
            "requests": {"cpu": f"{round(cpu * 1000)}m", "memory": f"{memory // MI}Mi"},
            "limits": {"memory": f"{2 * memory // MI}Mi"},
        },
        "volumeMounts": [
            {"name": "sweep", "mountPath": SWEEP_MOUNT, "readOnly": True},
            {"name": "runs", "mountPath": RUNS_MOUNT},
        ],
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": {"kit.sweep/id": info.sweep_id}},
        "spec": {
            "completionMode": "Indexed",
            "completions": len(info.points),
            "parallelism": parallelism,
            "backoffLimitPerIndex": BACKOFF_PER_INDEX,
            "podFailurePolicy": {
                "rules": [
                    # kit's exit codes: 1 the notebook failed (recorded), 2 the point cannot run here; neither
                    # gets better by trying again
                    {
                        "action": "FailIndex",
                        "onExitCodes": {"containerName": "point", "operator": "In", "values": [1, 2]},
                    },  # fmt: skip
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                ]
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": GID, "fsGroup": GID},
                    "containers": [container],
                    "volumes": [
                        {"name": "sweep", "configMap": {"name": name}},
                        {"name": "runs", "persistentVolumeClaim": {"claimName": claim}},
                    ],
                },
            },
        },
    }
    return [config_map, job]


def claim_manifest(claim: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "10Gi"}}},
    }


def check_options(image: str, claim: str) -> None:
    """ManifestError for an image or a claim name Kubernetes would refuse."""
    if problem := k8s.image_problem(image):
        fix = "pass the image the pods run as [REGISTRY/]NAME[:TAG], lower-case, such as registry.example/kit:1"
        raise ManifestError("--k8s-image", image, problem, fix)
    if problem := k8s.name_problem(claim):
        raise ManifestError("--k8s-claim", claim, problem, "pass the claim's name, such as kit-runs")


def check_directory(directory: Path) -> Path:
    """``directory`` if it is new or empty (GridError otherwise): emitting never overwrites manifests."""
    try:
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise GridError(f"--emit-k8s {directory} exists and is not an empty folder: pass a new folder")
        existing = directory
        while not existing.exists():
            existing = existing.parent
        if not os.access(existing, os.W_OK | os.X_OK):
            raise GridError(f"--emit-k8s {directory} cannot be written: pass a folder of yours")
    except OSError as error:
        raise GridError(f"--emit-k8s {directory} cannot be used ({error.strerror}): pass another folder") from None
    return directory


def emit(info: SweepInfo, notebook: Path, directory: Path, *, parallelism: int, image: str, claim: str,
         runs: Path) -> Emitted:  # fmt: skip
    """Write the manifests, the sweep file and the notebook into ``directory``; what was written, and as what."""
    memory, cpu, note = sizing(Path(info.notebook_path), runs)
    emitted = SweepInfo.from_dict({**info.to_dict(), "notebook_path": NOTEBOOK_FILE})
    config = {SWEEP_FILE: dumps(emitted.to_dict()), NOTEBOOK_FILE: notebook.read_text(encoding="utf-8")}
    size = sum(len(text.encode()) for text in config.values())
    if size > MAX_CONFIG_BYTES:
        raise GridError(
            f"the notebook and the sweep file are {size:,} bytes, more than a ConfigMap holds (1 MiB): "
            "clear the notebook's outputs, or sweep fewer points"
        )
    check_options(image, claim)
    documents = manifests(emitted, config, parallelism=parallelism, image=image, claim=claim, memory=memory, cpu=cpu)
    for document in (*documents, claim_manifest(claim)):
        for problem in k8s.problems(document):  # a bug if it happens: every value was checked or made by kit
            raise ManifestError("the manifests", info.sweep_id, f"would be refused by Kubernetes ({problem})",
                                "report it, with the sweep's notebook")  # fmt: skip
    header = (
        f"# kit sweep {info.sweep_id}: {len(info.points)} points of {info.notebook} as an Indexed Job.\n"
        f"# Requests: {note}.\n# kubectl apply -f pvc.yaml (unless the claim {claim!r} exists), then -f job.yaml.\n"
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sweep").mkdir(exist_ok=True)
    written = {
        directory / "job.yaml": header + plainyaml.dump(*documents),
        directory / "pvc.yaml": plainyaml.dump(claim_manifest(claim)),
        directory / "sweep" / SWEEP_FILE: config[SWEEP_FILE],
        directory / "sweep" / NOTEBOOK_FILE: config[NOTEBOOK_FILE],
    }
    for path, text in written.items():
        write_text(path, text)
    return Emitted(info.sweep_id, _name(info.sweep_id), list(written))


def adopt(record: Path, runs: Path) -> None:
    """Put a pod's sweep file into the runs directory once (``kit sweep show ID`` then finds it); never replaces."""
    info = SweepInfo.from_dict(read_json(record))
    where = SweepLayout.of(runs, info.sweep_id)
    if where.record.exists():
        return
    where.root.mkdir(parents=True, exist_ok=True)
    temporary = where.root / f".{layout.SWEEP}.{secrets.token_hex(4)}.tmp"
    write_text(temporary, record.read_text(encoding="utf-8"))
    try:
        os.link(temporary, where.record)  # fails if another pod put it there first: theirs is the same
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def run_point(
    sweep_file: str | os.PathLike, index: int | None = None, runs_dir: str | os.PathLike | None = None
) -> Outcome:
    """What each pod runs: the point ``index`` (default ``$JOB_COMPLETION_INDEX``) of a sweep file, recorded once.

    The notebook is found next to the sweep file (where the ConfigMap puts both). Raises KitError (exit 2) when the
    point cannot run here (its index, the notebook changed): before anything is written; PointFailed (exit 1) when
    the notebook failed, and GridError (exit 2) when its record could not be started, after its record is complete.
    """
    record = Path(sweep_file)
    runs = settings.runs_dir(runs_dir)
    if not record.is_file():
        raise SweepNotFound(sweep_file, runs)
    found = Sweep.open(record, runs)
    info, runs = found.info, found.runs_dir
    last = len(info.points) - 1
    if index is None:
        text = os.environ.get(settings.JOB_INDEX_ENV, "").strip()
        if not text:
            raise GridError(f"no point index: pass --index N (0 to {last}) or set {settings.JOB_INDEX_ENV}")
        if not re.fullmatch("[0-9]{1,18}", text):  # ASCII digits only: '²' is a digit to str.isdigit, not to int
            raise GridError(f"{settings.JOB_INDEX_ENV}={shown(text, 30)} is not a point index: 0 to {last}")
        index = int(text)
    if not 0 <= index <= last:
        raise GridError(f"point index {shown(index, 30)} is not one of the sweep's: pass 0 to {last}")
    point = info.points[index]
    notebook = Path(info.notebook_path)
    notebook = notebook if notebook.is_absolute() else record.parent / notebook
    check_runs_dir(runs)
    job = Job(index, str(notebook), info.notebook_sha256, point.parameters, point.runs[-1], info.threads,
              info.timeout, str(runs))  # fmt: skip
    plan = job.plan()  # a changed notebook or a point that cannot run here: exit 2 before anything is written
    try:
        runs.mkdir(parents=True, exist_ok=True)
        adopt(record, runs)
    except OSError as error:  # the claim is not writable: the run could not be recorded either
        raise RunsDirError(runs, f"cannot be written ({error.strerror})") from None
    outcome = run(index, plan)
    if outcome.status is PointStatus.ERROR:
        raise GridError(outcome.message or "the point could not run")
    if outcome.status is not PointStatus.SUCCEEDED:
        raise PointFailed(index, point.parameters, outcome)
    return outcome
