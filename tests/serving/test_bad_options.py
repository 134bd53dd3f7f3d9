"""Hostile input to `kit predict`, `kit deploy` and `kit serve`: one `error:` line, exit 2, and nothing lost.

As tests/kit/test_bad_input.py does for `kit run`, each case runs the real `kit` command in a workspace of its own
(a copy of a trained run in runs/, a few rows in in.csv, the files the case needs) and checks that stderr is one
`error:` line under 300 characters, with no traceback, within seconds (no hang: a server that starts instead of
refusing is caught too), and that every file of the workspace is unchanged, hashed before and after. The data a
user gave (`-o in.csv` of in.csv, however spelled) and the records (`-o runs/RUN/artifacts/model.skops`) are
never replaced; a row the model gives NaN or an infinity for is refused by its number; a manifest Kubernetes
would refuse is never written.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy
import pandas as pd
import pytest
import yaml

from kit.errors import ManifestError, PredictError, ServeError
from kit.serving import kubernetes
from kit.serving.batch import predict_file
from kit.serving.model import open_model
from kit.serving.server import serve
from tests.utils.commands import kit as kit_command
from tests.utils.files import snapshot, unlock
from tests.utils.kubernetes import invalid_names

#: Replaced, in a case's arguments, by the workspace's absolute path.
WORK = "<WORK>"
#: Seconds any case may take (loading the model included): a refusal is immediate, a hang is a failure.
BOUND = 30


@dataclass(frozen=True)
class Bad:
    """One mistake: the `kit` arguments, what the error line must say, the run it uses, what to set up."""

    args: tuple
    message: str
    model: str = "diagnosis"
    files: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], object] | None = None
    cwd: str = "."


def case(id: str, *args, message: str, **kwargs) -> pytest.param:  # noqa: A002 - pytest's own word
    return pytest.param(Bad(args, message, **kwargs), id=id)


def features(work: Path, model: str) -> pd.DataFrame:
    return pd.read_csv(work / "runs" / model / "artifacts" / "heldout.csv").drop(columns="target")


def rows(name: str, values: dict[int, float], model: str = "diagnosis", count: int = 4) -> Callable[[Path], None]:
    """Set-up: ``count`` held-out rows of ``model`` into ``name``, with row ``index`` (0-based) set to ``value``."""

    def setup(work: Path) -> None:
        frame = features(work, model).head(count).copy()
        for index, value in values.items():
            frame.iloc[index] = value
        if name.endswith(".npy"):
            numpy.save(work / name, frame.to_numpy())
        else:
            frame.to_csv(work / name, index=False)

    return setup


def images(name: str, value: float) -> Callable[[Path], None]:
    """Set-up: three 8x8 images for the digits model, the second one all ``value``."""

    def setup(work: Path) -> None:
        array = numpy.load(work / "runs" / "digits" / "artifacts" / "heldout.npy")[:3].astype(numpy.float64)
        array[1] = value
        numpy.save(work / name, array)

    return setup


def folder(relative: str, mode: int = 0o755) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        (work / relative).mkdir(parents=True, exist_ok=True)
        (work / relative).chmod(mode)

    return setup


def symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda work: (work / name).symlink_to(target)


def hard_link(name: str, target: str) -> Callable[[Path], None]:
    return lambda work: os.link(work / target, work / name)


def copy_run(name: str) -> Callable[[Path], None]:
    """Set-up: the run's record copied out of the runs directory, as a user may keep one."""
    return lambda work: shutil.copytree(work / "runs" / "diagnosis", work / name)


def steps(*setups: Callable[[Path], object]) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        for each in setups:
            each(work)

    return setup


PREDICT = ("predict", "diagnosis", "in.csv")
HUGE = {1: 1e308, 2: -1e308}
DEPLOY = ("deploy", "diagnosis", "--image", "kit:1")
SERVE = ("serve", "diagnosis", "--port", "0")
FIX = "pass -o PATH, a new file outside the runs directory"

CASES = [
    # predict: the output is never the input, however spelled
    case("predict-output-is-input", *PREDICT, "-o", "in.csv", message="in.csv is the input: the predictions would"),
    case("predict-output-dot-slash-input", *PREDICT, "-o", "./in.csv", message="is the input"),
    case("predict-output-absolute-input", *PREDICT, "-o", f"{WORK}/in.csv", message="is the input"),
    case("predict-output-dot-dot-input", *PREDICT, "-o", "runs/../in.csv", message="is the input"),
    case(
        "predict-output-symlink-to-input",
        *PREDICT,
        "-o",
        "link.csv",
        message="link.csv is the input",
        setup=symlink("link.csv", "in.csv"),
    ),  # fmt: skip
    case(
        "predict-input-symlink-output-target",
        "predict",
        "diagnosis",
        "link.csv",
        "-o",
        "in.csv",
        message="in.csv is the input",
        setup=symlink("link.csv", "in.csv"),
    ),  # fmt: skip
    case(
        "predict-output-hard-link",
        *PREDICT,
        "-o",
        "hard.csv",
        message="hard.csv is the input",
        setup=hard_link("hard.csv", "in.csv"),
    ),  # fmt: skip
    case(
        "predict-output-through-symlinked-folder",
        *PREDICT,
        "-o",
        "alias/in.csv",
        message="is the input",
        setup=symlink("alias", "."),
    ),  # fmt: skip
    case(
        "predict-output-from-another-cwd",
        "predict",
        "diagnosis",
        f"{WORK}/in.csv",
        "-o",
        "../in.csv",
        message="../in.csv is the input",
        cwd="sub",
        setup=folder("sub"),
    ),  # fmt: skip
    case(
        "predict-npy-output-is-input",
        "predict",
        "diagnosis",
        "in.npy",
        "-o",
        "in.npy",
        message="is the input",
        setup=rows("in.npy", {}),
    ),  # fmt: skip
    # predict: nothing goes into a record
    case(
        "predict-output-model",
        *PREDICT,
        "-o",
        "runs/diagnosis/artifacts/model.skops",
        message=f"is inside the record diagnosis (records are never changed): {FIX}",
    ),  # fmt: skip
    case(
        "predict-output-signature",
        *PREDICT,
        "-o",
        "runs/diagnosis/artifacts/model.signature.json",
        message="is inside the record diagnosis",
    ),  # fmt: skip
    case("predict-output-status", *PREDICT, "-o", "runs/diagnosis/status.json", message="inside the record diagnosis"),
    case(
        "predict-output-new-artifact", *PREDICT, "-o", "runs/diagnosis/artifacts/new.csv", message="inside the record"
    ),
    case("predict-output-into-record", *PREDICT, "-o", "runs/diagnosis/out.csv", message="inside the record diagnosis"),
    case(
        "predict-default-output-into-record",
        "predict",
        "diagnosis",
        "runs/diagnosis/artifacts/heldout.csv",
        message="heldout.predictions.csv is inside the record diagnosis",
    ),  # fmt: skip
    case(
        "predict-output-absolute-into-record",
        *PREDICT,
        "-o",
        f"{WORK}/runs/diagnosis/x.csv",
        message="inside the record diagnosis",
    ),  # fmt: skip
    case(
        "predict-output-into-sweeps",
        *PREDICT,
        "-o",
        "runs/sweeps/out.csv",
        message="is inside the record sweeps",
        setup=folder("runs/sweeps"),
    ),  # fmt: skip
    case(
        "predict-output-into-partial-run",
        *PREDICT,
        "-o",
        "runs/.r.partial/out.csv",
        message="inside the record",
        setup=folder("runs/.r.partial"),
    ),  # fmt: skip
    case(
        "predict-output-into-a-copied-record",
        *PREDICT,
        "-o",
        "kept/artifacts/out.csv",
        message="is inside the record kept",
        setup=copy_run("kept"),
    ),  # fmt: skip
    case(
        "predict-output-into-another-runs-dir",
        *PREDICT,
        "--runs-dir",
        "other",
        "-o",
        "other/r/out.csv",
        message="is inside the record r",
        setup=steps(copy_run("other/diagnosis"), folder("other/r")),
    ),  # fmt: skip
    case(
        "predict-output-record-through-symlink",
        *PREDICT,
        "-o",
        "model-link/out.csv",
        message="inside the record",
        setup=symlink("model-link", "runs/diagnosis/artifacts"),
    ),  # fmt: skip
    # predict: an output that is no file
    case("predict-output-dot", *PREDICT, "-o", ".", message=". is a folder: pass -o PATH"),
    case("predict-output-dot-dot", *PREDICT, "-o", "..", message=".. is a folder"),
    case("predict-output-folder", *PREDICT, "-o", "out", message="out is a folder", setup=folder("out")),
    case("predict-output-folder-slash", *PREDICT, "-o", "out/", message="out is a folder", setup=folder("out")),
    case("predict-output-empty", *PREDICT, "-o", "", message="is a folder"),
    case("predict-output-missing-folder", *PREDICT, "-o", "missing/out.csv", message="no folder missing"),
    case(
        "predict-output-read-only-folder",
        *PREDICT,
        "-o",
        "ro/out.csv",
        message="cannot be written (Permission",
        setup=folder("ro", 0o555),
    ),  # fmt: skip
    case("predict-output-under-a-file", *PREDICT, "-o", "in.csv/out.csv", message="no folder in.csv"),
    # predict: finite rows the model gives NaN or an infinity for
    case(
        "predict-rows-1e308",
        "predict",
        "diagnosis",
        "huge.csv",
        "-o",
        "out.csv",
        message="huge.csv rows 3, 4: the model gives NaN or an infinity for their values",
        setup=rows("huge.csv", HUGE),
    ),  # fmt: skip
    case(
        "predict-row-1e308",
        "predict",
        "diagnosis",
        "huge.csv",
        message="huge.csv row 2: the model gives NaN",
        setup=rows("huge.csv", {0: 1e308}),
    ),  # fmt: skip
    case(
        "predict-many-rows-1e308",
        "predict",
        "diagnosis",
        "huge.csv",
        message="rows 2, 3, 4, 5, 6 and 3 more: the model gives NaN",
        setup=rows("huge.csv", dict.fromkeys(range(8), 1e308), count=9),
    ),  # fmt: skip
    case(
        "predict-npy-1e308",
        "predict",
        "diagnosis",
        "huge.npy",
        message="huge.npy rows 2, 3: the model gives NaN",
        setup=rows("huge.npy", HUGE),
    ),  # fmt: skip
    case(
        "predict-regression-1e308",
        "predict",
        "regression",
        "huge.csv",
        model="regression",
        message="huge.csv rows 3, 4: the model gives NaN or an infinity",
        setup=rows("huge.csv", HUGE, model="regression"),
    ),  # fmt: skip
    case(
        "predict-images-1e308",
        "predict",
        "digits",
        "huge.npy",
        model="digits",
        message="huge.npy row 2: the model gives NaN or an infinity",
        setup=images("huge.npy", 1e308),
    ),  # fmt: skip
    case(
        "predict-npy-infinity",
        "predict",
        "diagnosis",
        "inf.npy",
        message="row 3 holds NaN or an infinity",
        setup=rows("inf.npy", {2: numpy.inf}),
    ),  # fmt: skip
    # deploy: images Kubernetes cannot pull
    case(
        "deploy-image-empty", "deploy", "diagnosis", "--image", "", message="--image '' is empty: pass the model image"
    ),
    case("deploy-image-blank", "deploy", "diagnosis", "--image", "  ", message="is empty: pass the model image"),
    case("deploy-image-space", "deploy", "diagnosis", "--image", "diagnosis 1", message="holds white space (' ')"),
    case("deploy-image-newline", "deploy", "diagnosis", "--image", "kit:1\n", message="holds white space ('\\n')"),
    case("deploy-image-tab", "deploy", "diagnosis", "--image", "kit\t:1", message="holds white space ('\\t')"),
    case("deploy-image-upper-case", "deploy", "diagnosis", "--image", "Diagnosis:1", message="upper-case letters"),
    case("deploy-image-url", "deploy", "diagnosis", "--image", "https://r.example/d:1", message="not an image ref"),
    case("deploy-image-two-tags", "deploy", "diagnosis", "--image", "kit:1:2", message="is not an image reference"),
    case("deploy-image-empty-tag", "deploy", "diagnosis", "--image", "kit:", message="is not an image reference"),
    case("deploy-image-short-digest", "deploy", "diagnosis", "--image", "kit@sha256:abc", message="not an image ref"),
    case("deploy-image-leading-dash", "deploy", "diagnosis", "--image", "-kit", message="is not an image reference"),
    case("deploy-image-too-long", "deploy", "diagnosis", "--image", "k" * 300, message="longer than 255 characters"),
    # deploy: quantities Kubernetes refuses
    case("deploy-cpu-0", *DEPLOY, "--cpu", "0", message="--cpu '0' is not above 0: pass the CPU cores"),
    case("deploy-cpu-negative", *DEPLOY, "--cpu", "-1", message="--cpu '-1' is not above 0"),
    case("deploy-cpu-text", *DEPLOY, "--cpu", "abc", message="--cpu 'abc' is not a Kubernetes quantity"),
    case("deploy-cpu-empty", *DEPLOY, "--cpu", "", message="--cpu '' is not a Kubernetes quantity"),
    case("deploy-cpu-two-points", *DEPLOY, "--cpu", "1.5.5", message="is not a Kubernetes quantity"),
    case("deploy-cpu-below-1m", *DEPLOY, "--cpu", "0.0001", message="--cpu '0.0001' is below 1m"),
    case("deploy-cpu-huge", *DEPLOY, "--cpu", "1e30", message="--cpu '1e30' is too large for a pod"),
    case("deploy-cpu-nan", *DEPLOY, "--cpu", "nan", message="is not a Kubernetes quantity"),
    case("deploy-memory-0", *DEPLOY, "--memory", "0", message="--memory '0' is not above 0"),
    case("deploy-memory-text", *DEPLOY, "--memory", "abc", message="--memory 'abc' is not a Kubernetes quantity"),
    case("deploy-memory-gib", *DEPLOY, "--memory", "1GiB", message="'1GiB' is not a Kubernetes quantity"),
    case("deploy-memory-bytes", *DEPLOY, "--memory", "512", message="--memory '512' is below 6Mi: pass the memory"),
    case("deploy-memory-negative", *DEPLOY, "--memory", "-512Mi", message="is not above 0"),
    case("deploy-memory-space", *DEPLOY, "--memory", "512 Mi", message="is not a Kubernetes quantity"),
    case("deploy-replicas-0", *DEPLOY, "--replicas", "0", message="0 is not in the range 1<=x<=100"),
    case("deploy-replicas-text", *DEPLOY, "--replicas", "two", message="'two' is not a valid integer"),
    # deploy: the output folder
    case("deploy-output-is-a-file", *DEPLOY, "-o", "in.csv", message="-o in.csv is a file: pass a folder"),
    case("deploy-output-under-a-file", *DEPLOY, "-o", "in.csv/k8s", message="cannot be made: in.csv is a file"),
    case(
        "deploy-output-read-only-parent",
        *DEPLOY,
        "-o",
        "ro/k8s",
        message="-o ro/k8s cannot be written",
        setup=folder("ro", 0o555),
    ),  # fmt: skip
    case("deploy-output-read-only", *DEPLOY, "-o", "ro", message="-o ro cannot be written", setup=folder("ro", 0o555)),
    case(
        "deploy-output-holds-another-manifest",
        *DEPLOY,
        "-o",
        "k8s",
        message="-o k8s already holds another deployment.yaml (kit deploy never replaces one)",
        files={"k8s/deployment.yaml": "kind: Deployment  # edited by hand\n"},
    ),  # fmt: skip
    case(
        "deploy-output-manifest-is-a-folder",
        *DEPLOY,
        "-o",
        "k8s",
        message="already holds another service.yaml",
        setup=folder("k8s/service.yaml"),
    ),  # fmt: skip
    case("deploy-output-name-too-long", *DEPLOY, "-o", "d" * 300, message="cannot be used (File name too long)"),
    case("deploy-unknown-run", "deploy", "nope", "--image", "kit:1", message="no run 'nope'"),
    case("deploy-without-image", "deploy", "diagnosis", message="Missing option '--image'"),
    # serve: options the server cannot run with, refused before it binds or loads
    case("serve-max-body-nan", *SERVE, "--max-body-mb", "nan", message="--max-body-mb must be from 0.001 to 1024"),
    case("serve-max-body-inf", *SERVE, "--max-body-mb", "inf", message="(MB), not inf"),
    case("serve-max-body-minus-inf", *SERVE, "--max-body-mb", "-inf", message="not -inf"),
    case("serve-max-body-negative", *SERVE, "--max-body-mb", "-1", message="not -1.0: e.g. 16"),
    case("serve-max-body-0", *SERVE, "--max-body-mb", "0", message="--max-body-mb must be from 0.001 to 1024"),
    case("serve-max-body-huge", *SERVE, "--max-body-mb", "1e300", message="not 1e+300"),
    case("serve-max-body-text", *SERVE, "--max-body-mb", "lots", message="'lots' is not a valid float"),
    case("serve-host-empty", *SERVE, "--host", "", message="--host '' is not an address: pass one such as 127.0.0.1"),
    case("serve-host-blank", *SERVE, "--host", " ", message="--host ' ' is not an address"),
    case("serve-host-newline", *SERVE, "--host", "127.0.0.1\n", message="is not an address"),
    case("serve-host-nul", *SERVE, "--host", "127.0.0.1\x01", message="is not an address"),
    case("serve-name-slash", *SERVE, "--name", "x/", message="the model's name 'x/' cannot be part of a URL"),
    case("serve-name-empty", *SERVE, "--name", "", message="the model's name '' is empty: pass --name NAME"),
    case("serve-name-blank", *SERVE, "--name", "  ", message="is empty"),
    case("serve-name-query", *SERVE, "--name", "a?b", message="cannot be part of a URL"),
    case("serve-name-fragment", *SERVE, "--name", "a#b", message="cannot be part of a URL"),
    case("serve-name-percent", *SERVE, "--name", "a%2Fb", message="cannot be part of a URL"),
    case("serve-name-dot-dot", *SERVE, "--name", "..", message="clients drop '.' and '..' from paths"),
    case("serve-name-newline", *SERVE, "--name", "a\nb", message="cannot be part of a URL"),
    case("serve-name-too-long", *SERVE, "--name", "n" * 500, message="is 500 characters long (at most 255)"),
    case("serve-port-negative", *SERVE, "--port", "-1", message="--port must be from 0 to 65535, not -1"),
    case("serve-port-too-large", *SERVE, "--port", "65536", message="--port must be from 0 to 65535, not 65536"),
    case("serve-port-text", *SERVE, "--port", "http", message="'http' is not a valid integer"),
    case("serve-workers-0", *SERVE, "--workers", "0", message="--workers must be from 1 to 64, not 0"),
    case("serve-workers-65", *SERVE, "--workers", "65", message="--workers must be from 1 to 64, not 65"),
    case("serve-unknown-run", "serve", "nope", "--port", "0", message="no run 'nope'"),
]


@pytest.fixture
def work(tmp_path) -> Path:
    """A workspace: the case's run copied into runs/, and five of its held-out rows in in.csv."""
    yield tmp_path / "work"
    unlock(tmp_path)  # let pytest remove what a case locked


@pytest.mark.parametrize("bad", CASES)
def test_a_mistake_is_one_line_and_loses_nothing(request, work, bad):
    run = request.getfixturevalue(bad.model)
    shutil.copytree(run.path, work / "runs" / run.id)
    if (run.path / "artifacts" / "heldout.csv").exists():
        features(work, run.id).head(5).to_csv(work / "in.csv", index=False)
    for name, content in bad.files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(content)
    if bad.setup:
        bad.setup(work)
    before = snapshot(work)
    args = [arg.replace(WORK, str(work)) for arg in bad.args]
    started = time.monotonic()
    env = {**os.environ, "KIT_RUNS_DIR": str(work / "runs")}
    result = kit_command(*args, cwd=work / bad.cwd, env=env, timeout=BOUND * 3)
    took = time.monotonic() - started
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr[-2000:]
    assert bad.message in result.stderr and len(result.stderr) < 300, result.stderr
    assert took < BOUND, f"took {took:.0f} s"
    assert snapshot(work) == before, "a mistake must change nothing"


def test_the_table_covers_every_command():
    assert len(CASES) >= 80
    for command in ("predict", "deploy", "serve"):
        assert sum(param.values[0].args[0] == command for param in CASES) >= 20


# The library refuses what the command does: the CLI only converts.


def test_serve_refuses_its_options_before_it_binds(diagnosis):
    served = open_model(diagnosis)
    for options, message in [
        ({"max_body": -1}, "max_body must be a number of bytes from 1,024"),
        ({"max_body": 1.5}, "max_body must be a number of bytes"),
        ({"host": ""}, "--host '' is not an address"),
        ({"workers": 0}, "--workers must be from 1 to 64"),
        ({"port": 1 << 20}, "--port must be from 0 to 65535"),
    ]:
        with pytest.raises(ServeError, match=message.replace("(", r"\(").replace("*", r"\*")):
            serve(served, **{"port": 0, **options})
    with pytest.raises(ServeError, match="cannot be part of a URL"):
        serve(open_model(diagnosis, name="a/b"), port=0)


def test_predict_file_refuses_its_input_or_a_record_as_output(diagnosis, tmp_path):
    run = shutil.copytree(diagnosis.path, tmp_path / "kept" / "diagnosis")
    source = tmp_path / "in.csv"
    pd.read_csv(run / "artifacts" / "heldout.csv").drop(columns="target").head(3).to_csv(source, index=False)
    served = open_model(run)
    before = snapshot(tmp_path)
    with pytest.raises(PredictError, match="is the input"):
        predict_file(served, source, tmp_path / "kept" / ".." / "in.csv")
    with pytest.raises(PredictError, match="inside the record diagnosis"):
        predict_file(served, source, run / "artifacts" / "model.skops")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "name",
    ["2024 Übung_MODEL (v2)", "Diagnosis", "train_tabular", "---", "日本語", "9", "a.b.c", "x" * 250, "Ünïcödé"],
)
def test_deploy_names_every_object_as_kubernetes_requires(diagnosis, name):
    """Names made from any notebook's name: DNS-1035 for the Service, DNS-1123 for the rest, checked directly."""
    served = dataclasses.replace(open_model(diagnosis), name=name)
    found = kubernetes.manifests(served, "registry.example/diagnosis:1")
    documents = [document for document in found.values() if "metadata" in document]
    assert [problem for document in documents for problem in invalid_names(document)] == []
    names = {document["metadata"]["name"] for document in documents}
    assert len(names) == 1 and names.pop().isascii()


def test_deploy_the_same_again_into_its_folder_is_allowed(diagnosis, tmp_path):
    """An unchanged manifest may be written again (nothing is lost); a changed one is refused (edits are kept)."""
    first = kit_command("deploy", diagnosis.path, "--image", "kit:1", "-o", tmp_path / "k8s", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = snapshot(tmp_path)
    again = kit_command("deploy", diagnosis.path, "--image", "kit:1", "-o", tmp_path / "k8s", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    other = kit_command("deploy", diagnosis.path, "--image", "kit:2", "-o", tmp_path / "k8s", cwd=tmp_path)
    assert other.returncode == 2 and "already holds another deployment.yaml" in other.stderr
    assert snapshot(tmp_path) == before
    deployment = yaml.safe_load((tmp_path / "k8s" / "deployment.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "kit:1"


def test_manifest_errors_name_the_option(diagnosis, tmp_path):
    with pytest.raises(ManifestError) as raised:
        kubernetes.write(open_model(diagnosis), "kit:1", tmp_path / "k8s", memory="0")
    assert raised.value.option == "--memory" and not (tmp_path / "k8s").exists()
    served = dataclasses.replace(open_model(diagnosis), name="a?b")  # a notebook named a?b.ipynb: no URL name
    with pytest.raises(ManifestError, match="the model's name 'a\\?b' cannot be part of a URL"):
        kubernetes.write(served, "kit:1", tmp_path / "k8s")
    assert not (tmp_path / "k8s").exists()


def test_predict_writes_beside_files_that_only_look_like_a_record(diagnosis, tmp_path):
    """A project's own status.json is no run record: predictions may go beside it."""
    (tmp_path / "status.json").write_text("{}")
    pd.read_csv(diagnosis.path / "artifacts" / "heldout.csv").drop(columns="target").head(3).to_csv(
        tmp_path / "in.csv", index=False
    )
    result = kit_command("predict", diagnosis.path, "in.csv", "-o", "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "out.csv")) == 3
