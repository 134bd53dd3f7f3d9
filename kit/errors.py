"""The one base exception of kit and its subclasses.

``str(error)`` is one short line that says what to do; the fields let callers tell the failures apart (a server
answers a :class:`RunNotFound` with 404, a sweep tells :class:`RunIdTaken` from a user's mistake). Values given
by a user are shown through :mod:`kit.shorten`, so a huge value never makes a huge message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from kit.exits import ExitCode
from kit.shorten import brief, cut, shown, shown_path


class Described(Protocol):
    """What a failed run's error needs of its failure (:class:`kit.record.schema.Failure`): one line saying it."""

    def describe(self) -> str: ...


class KitError(Exception):
    """Base of every error kit raises on purpose; the CLI prints it as one ``error: ...`` line."""

    exit_code = ExitCode.USAGE


# Notebooks


class NotebookError(KitError):
    """The notebook cannot be run as it is."""

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{shown_path(path)}: {problem}: {fix}")


class NotebookNotFound(NotebookError):
    """No file at the notebook's path."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "no such notebook", "check the path (kit params NOTEBOOK lists its parameters)")


class NotebookChanged(NotebookError):
    """A sweep's notebook is not the file the sweep prepared (changed since, or another on this machine)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        fix = "start a new sweep, or give every machine the same files (a shared volume)"
        super().__init__(path, problem, fix)


class InvalidNotebook(NotebookError):
    """Not JSON, not a notebook, or a notebook kit cannot parameterize (two parameters cells, say)."""


class KernelNotFound(NotebookError):
    """The notebook's kernel is not installed here."""

    def __init__(self, path: str | Path, kernel: str, installed: list[str]) -> None:
        self.kernel = kernel
        fix = f"pick one of {', '.join(installed) or 'none'} in JupyterLab (Kernel > Change Kernel) and save"
        super().__init__(path, f"its kernel {shown(kernel)} is not installed", fix)


# Parameters


class ParameterError(KitError):
    """A parameter's name or value is not acceptable."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


class UnknownParameter(ParameterError):
    """A name the notebook's parameters cell does not set."""

    def __init__(self, name: Any, notebook: str | Path, valid: list[str]) -> None:
        self.valid = valid
        names = ", ".join(valid) or "none"
        super().__init__(str(name), f"unknown parameter {shown(name)} for {notebook}: valid ones are {names}")


class ParameterTypeError(ParameterError):
    """A value that does not fit its parameter's type."""

    def __init__(self, name: str, expected: str, value: Any, example: str) -> None:
        self.expected, self.value = expected, value
        super().__init__(name, f"parameter {name!r} expects {expected}, got {shown(value)}: pass {example}")


class ParameterValueError(ParameterError):
    """A value that no parameter may take: too large, nested too deep, not finite, not UTF-8."""

    def __init__(self, name: str, problem: str) -> None:
        self.problem = problem
        super().__init__(name, f"parameter {name!r} {problem}")


class ParametersFileError(KitError):
    """A ``-f`` parameters file that cannot be read as a mapping of names to values."""

    def __init__(self, path: str | Path, problem: str, fix: str = "write one 'name: value' per line") -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{shown_path(path)} {problem}: {fix}")


class OptionError(KitError):
    """An option of a run (timeout, threads, seed) out of its range."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(message)


# Run records


class RunIdError(KitError):
    """A run id that cannot name a run directory."""

    def __init__(self, run_id: str, problem: str) -> None:
        self.run_id = run_id
        super().__init__(f"run id {shown(run_id)} {problem}")


class RunIdTaken(KitError):
    """Another run already has this id (a run is never overwritten)."""

    def __init__(self, run_id: str, runs_dir: Path) -> None:
        self.run_id, self.runs_dir = run_id, runs_dir
        super().__init__(
            f"run id {run_id!r} is taken in {shown_path(runs_dir)}: pass another --run-id (a run is never overwritten)"
        )


class RunsDirError(KitError):
    """The runs directory cannot be listed or written."""

    def __init__(self, path: Path, problem: str, fix: str = "") -> None:
        self.path, self.problem = path, problem
        fix = fix or "pass --runs-dir DIR or set KIT_RUNS_DIR to a folder of yours"
        super().__init__(f"runs directory {shown_path(path)} {problem}: {fix}")


def free_space_fix(runs_dir: Path) -> str:
    """What to do about a runs directory that is full."""
    where = shown_path(runs_dir)
    return (f"free space there (`du -sh {where}/*` shows what is large, `kit runs clean` removes abandoned runs) "
            "and run again, or pass --runs-dir DIR")  # fmt: skip


class RunsDirFull(RunsDirError):
    """The runs directory is full or read-only before the run: nothing ran, nothing was written."""

    exit_code = ExitCode.RECORD_NOT_KEPT


class RunNotFound(KitError):
    """No run by that id or path (a server answers 404)."""

    def __init__(self, ref: Any, runs_dir: Path) -> None:
        self.ref, self.runs_dir = ref, runs_dir
        super().__init__(
            f"no run {shown(str(ref))} in {shown_path(runs_dir)}: `kit runs --runs-dir DIR` lists the runs, "
            "or pass a run directory"
        )


class AmbiguousRef(KitError):
    """A run or sweep named by a prefix that several share: nothing was chosen."""

    def __init__(self, kind: str, ref: str, matches: list[str]) -> None:
        self.ref, self.matches = ref, matches
        named = ", ".join(matches[:3]) + (f" and {len(matches) - 3} more" if len(matches) > 3 else "")
        super().__init__(f"{len(matches)} {kind}s start with {shown(ref)} ({named}): give more of the id")


class DamagedRecord(KitError):
    """A file of a run record is missing, unreadable or of the wrong shape; nothing was changed."""

    def __init__(self, run_dir: Path, file: str, problem: str) -> None:
        self.run_dir, self.file, self.problem = Path(run_dir), file, problem
        super().__init__(
            f"run {self.run_dir.name} is damaged: {file} {problem}; "
            f"restore {shown_path(self.run_dir / file)} from a backup, or move the run out of the runs directory"
        )


class NotVerifiable(KitError):
    """A run that did not succeed cannot be verified."""

    def __init__(self, run_id: str, status: str) -> None:
        self.run_id, self.status = run_id, status
        super().__init__(f"run {run_id} {status}: only a succeeded run can be verified")


class ReportError(KitError):
    """The report cannot be written where it was asked to go."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(
            f"cannot write the report to {shown_path(path)}: {problem}: pass -o PATH in a folder you can write"
        )


# Runs that started


class RunError(KitError):
    """A run that started and did not succeed; its record is complete at ``run_dir``."""

    def __init__(self, run_dir: Path, message: str) -> None:
        self.run_dir = run_dir
        super().__init__(message)


class RunFailed(RunError):
    """The notebook raised, a cell timed out, the kernel died, or the record could not be completed."""

    exit_code = ExitCode.RUN_FAILED

    def __init__(self, run_dir: Path, failure: Described) -> None:
        self.failure = failure
        super().__init__(run_dir, f"{failure.describe()}; the record is in {shown_path(run_dir)} (kit report)")


def stopped(terminated: bool) -> tuple[ExitCode, str]:
    """The exit code and first words of a run or sweep stopped by Ctrl-C, or by SIGTERM (docker stop, kill)."""
    return (ExitCode.TERMINATED, "terminated by SIGTERM") if terminated else (ExitCode.INTERRUPTED, "interrupted")


class Interrupted(RunError):
    """Ctrl-C or SIGTERM during a run: the run is recorded as interrupted (its failure names the signal)."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, run_dir: Path, terminated: bool = False, completed: bool = False) -> None:
        self.terminated = terminated
        self.exit_code, said = stopped(terminated)
        what = "the run is recorded (it had ended)" if completed else "the partial run is recorded"
        super().__init__(run_dir, f"{said}: {what} in {shown_path(run_dir)}")


class RecordNotKept(RunError):
    """The runs directory filled up or turned read-only: the run's record could not be kept there.

    ``run_dir`` is the small failed record kept in its place, or None; ``left`` what could not even be removed.
    """

    exit_code = ExitCode.RECORD_NOT_KEPT

    def __init__(self, runs_dir: Path, problem: str, run_dir: Path | None, left: Path | None, fix: str) -> None:
        self.runs_dir, self.problem, self.left = runs_dir, problem, left
        if left is not None:
            kept = f"its partial record is left in {shown_path(left)} (`kit runs clean` removes it once writable)"
        elif run_dir is not None:
            kept = f"what the run wrote was removed, a failed record of it kept in {shown_path(run_dir)}"
        else:
            kept = "what the run wrote was removed, nothing of it is kept"
        super().__init__(run_dir, f"runs directory {shown_path(runs_dir)} {problem}: {kept}; {fix}")


class RunNotStarted(KitError):
    """A sweep stopped (Ctrl-C) before this run's first cell: nothing of it was recorded."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} was stopped before its first cell: nothing was recorded")


class NotReproduced(KitError):
    """``kit verify``: the re-execution gave different metrics or artifacts."""

    exit_code = ExitCode.NOT_REPRODUCED

    def __init__(self, run_id: str, again: Path, where: str | None = None) -> None:
        self.run_id, self.again, self.where = run_id, again, where
        said = f": {cut(where, 160)}" if where else ""
        super().__init__(f"run {run_id} did not reproduce{said}; see the differences above")


class InputsChanged(KitError):
    """``kit verify``: files the run read are not what they were (changed or missing); nothing was run.

    ``changed`` holds (path, sha256 recorded, sha256 now or None, problem) for each, in the order they were read.
    """

    exit_code = ExitCode.INPUTS_CHANGED

    def __init__(self, run_id: str, changed: list[tuple[str, str, str | None, str]]) -> None:
        self.run_id, self.changed = run_id, changed
        path, recorded, now, problem = changed[0]
        was = f"sha256 {recorded[:16]}… recorded, " + (f"{now[:16]}… now" if now else "none now")
        more = f" (and {len(changed) - 1} more input{'s' if len(changed) > 2 else ''})" if len(changed) > 1 else ""
        super().__init__(
            f"input {shown_path(path, 80)} {problem} since run {run_id[:40]}: {was}{more}; "
            "restore it, or pass --ignore-inputs to run anyway"
        )


# Sweeps


def _point(index: int, parameters: dict[str, Any]) -> str:
    """``point 7 (seed=7, model='forest')``, short whatever the values."""
    return f"point {index} ({brief(parameters)})" if parameters else f"point {index}"


class GridError(KitError):
    """A grid (``-p NAME V1,V2``, a grid file, the options of a sweep) that cannot give points to run."""


class PointError(KitError):
    """One point of a sweep cannot run (a value of the wrong type, say): nothing of the sweep ran."""

    def __init__(self, index: int, parameters: dict[str, Any], error: KitError) -> None:
        self.index, self.parameters, self.error = index, parameters, error
        super().__init__(f"{_point(index, parameters)}: {error}")


class PointFailed(KitError):
    """One point run on its own (``kit sweep point``, a Kubernetes pod) did not succeed; its record is complete."""

    exit_code = ExitCode.RUN_FAILED

    def __init__(self, index: int, parameters: dict[str, Any], outcome: Any) -> None:
        self.index, self.outcome = index, outcome
        super().__init__(
            f"{_point(index, parameters)} {outcome.status.value}: {outcome.message or 'see its record'}; "
            f"the record is {outcome.run_id}"
        )


class SchedulerError(KitError):
    """The Dask scheduler cannot be reached (nothing was written)."""

    def __init__(self, address: str, problem: str) -> None:
        self.address = address
        super().__init__(
            f"cannot reach the Dask scheduler at {shown(address)} ({problem}): start one "
            "(dask scheduler; dask worker ADDRESS --nthreads 1) or pass its --scheduler tcp://HOST:8786"
        )


class ClusterError(KitError):
    """The Dask cluster answers but cannot run the sweep as it is (no workers, another kit): nothing was written."""

    def __init__(self, address: str, problem: str, fix: str) -> None:
        self.address, self.problem = address, problem
        super().__init__(f"the Dask cluster at {shown(address)} cannot run this sweep: {problem}: {fix}")


class SweepNotFound(KitError):
    """No sweep by that id or path."""

    def __init__(self, ref: Any, runs_dir: Path) -> None:
        self.ref, self.runs_dir = ref, runs_dir
        super().__init__(
            f"no sweep {shown(str(ref))} in {shown_path(runs_dir / 'sweeps')}: pass its id, its folder or its "
            "sweep.json (ls RUNS/sweeps lists them)"
        )


class DamagedSweep(KitError):
    """A sweep record that cannot be read; nothing was changed."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(f"sweep record {shown_path(path)} {problem}: restore it from a backup")


class SweepBusy(KitError):
    """Another kit process is running this sweep."""

    def __init__(self, sweep_id: str) -> None:
        self.sweep_id = sweep_id
        super().__init__(f"sweep {sweep_id} is running in another kit process: wait for it, or stop it with Ctrl-C")


class SweepNotResumable(KitError):
    """A sweep that cannot be resumed as it is (its notebook changed, it was made for Kubernetes)."""

    def __init__(self, sweep_id: str, problem: str, fix: str) -> None:
        self.sweep_id, self.problem = sweep_id, problem
        super().__init__(f"sweep {sweep_id} cannot be resumed: {problem}: {fix}")


class SweepFailed(KitError):
    """Points of a sweep failed (each is recorded); the others ran to their end."""

    exit_code = ExitCode.RUN_FAILED

    def __init__(self, sweep_id: str, path: Path, failed: list[tuple[int, dict[str, Any]]], total: int) -> None:
        self.sweep_id, self.path, self.failed = sweep_id, path, [index for index, _ in failed]
        named = ", ".join(_point(index, parameters) for index, parameters in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        super().__init__(
            f"{len(failed)} of {total} points failed: {named}{more}; `kit sweep show {sweep_id}` shows why, "
            f"`kit sweep --resume {sweep_id}` runs them again"
        )


class SweepInterrupted(KitError):
    """Ctrl-C or SIGTERM during a sweep: finished points keep their records, running ones are recorded interrupted."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, sweep_id: str, path: Path, finished: int, total: int, terminated: bool = False) -> None:
        self.sweep_id, self.path = sweep_id, path
        self.exit_code, said = stopped(terminated)
        super().__init__(
            f"{said}: {finished} of {total} points finished and are recorded; "
            f"`kit sweep --resume {sweep_id}` runs the others"
        )


# What a notebook calls


class MetricError(KitError):
    """A metric's name or value that cannot be recorded."""

    def __init__(self, name: Any, problem: str) -> None:
        self.name = name
        super().__init__(f"metric {shown(name)} {problem}")


class InputError(KitError):
    """``kit.input_path`` or ``kit.log_input`` was given something that is not an input."""

    def __init__(self, value: Any, problem: str) -> None:
        self.value = value
        super().__init__(f"input {shown(value)} {problem}")


class ArtifactNameError(KitError):
    """An artifact name that would leave the run's artifacts folder."""

    def __init__(self, name: Any) -> None:
        self.name = name
        super().__init__(f"artifact name {shown(name)} must be a relative path inside the run, such as 'model.keras'")


class SeedError(OptionError):
    """A seed outside 0 to 2**32 - 1, what NumPy and PYTHONHASHSEED take."""

    def __init__(self, seed: Any) -> None:
        self.seed = seed
        super().__init__("seed", f"seed must be an integer from 0 to 2**32 - 1, not {shown(seed)}: e.g. seed 42")


class ModelError(KitError):
    """A model file that cannot be loaded safely."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(message)


class ReferenceSetError(KitError):
    """``kit.save_model(model, reference=rows)``: rows that cannot be the model's reference set."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        super().__init__(f"the reference set {problem}: {fix}")


class TrainingDataError(KitError):
    """``kit.save_model(model, training=rows)``: rows that cannot be the model's training data."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        super().__init__(f"the training data {problem}: {fix}")


class ParityFailed(KitError):
    """The parity gate: the model predicts the reference set differently here than in its run."""

    exit_code = ExitCode.NOT_REPRODUCED

    def __init__(self, run_id: str, differing: int, rows: int, first: str) -> None:
        self.run_id, self.differing, self.rows = run_id, differing, rows
        super().__init__(
            f"the model of run {run_id} predicts {differing} of {rows} reference rows differently than its run did "
            f"({cut(first, 120)}): do not ship it; build the image from the run again (make model-image RUN={run_id})"
        )


class LineageUnavailable(KitError):
    """``kit lineage``: the model's lineage cannot be read where it was asked for."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(f"{shown_path(where)} {problem}: {fix}")


class ModelNotFound(ModelError):
    """No model file at the path (a server answers 404)."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            f"no model file {shown_path(path)}: pass RUN/artifacts/NAME.keras or .skops (kit runs show RUN lists them)",
        )


class ManifestError(OptionError):
    """A value that would make a Kubernetes manifest the cluster refuses (``kit deploy``, ``--emit-k8s``).

    Nothing was written. ``option`` is what to change: a flag, or the field of a manifest derived from the run.
    """

    def __init__(self, option: str, value: Any, problem: str, fix: str) -> None:
        self.value, self.problem = value, problem
        super().__init__(option, f"{option} {shown(value)} {problem}: {fix}")


class OutputError(KitError):
    """A folder or file a command was asked to write into that it cannot, or must not: nothing was written."""

    def __init__(self, option: str, path: str | Path, problem: str, fix: str) -> None:
        self.option, self.path, self.problem = option, Path(path), problem
        super().__init__(f"{option} {shown_path(path)} {problem}: {fix}")


class ServeError(KitError):
    """The server cannot start as asked (a port in use, a bad option)."""


class PredictError(KitError):
    """A file ``kit predict`` cannot read or write: nothing was written."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(f"{shown_path(path)} {problem}")


class TamperedModel(ModelError):
    """A model whose bytes are not those its run recorded: it is never loaded."""

    def __init__(self, path: Path, recorded: str, actual: str) -> None:
        self.recorded, self.actual = recorded, actual
        super().__init__(
            path,
            f"{shown_path(path)} was changed after its run (sha256 {actual[:12]}…, the manifest says "
            f"{recorded[:12]}…): it is not loaded; restore it, or train a new run",
        )


class UntrustedModel(ModelError):
    """A skops file needing types nobody vouched for."""

    def __init__(self, path: Path, types: list[str]) -> None:
        self.types = types
        super().__init__(
            path,
            f"{shown_path(path)} needs types skops does not trust ({shown(', '.join(types), 120)}) and is not an "
            "unchanged run artifact: check them, then pass trusted=[...]",
        )
