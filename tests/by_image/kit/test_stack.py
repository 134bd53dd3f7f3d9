"""What is inside: the python3 kernel, the ML stack, kit, and the record of where the image came from."""

import hashlib
import json

from tests.utils.paths import ROOT

COMPUTE = """
import json, sys
import tensorflow as tf, sklearn, papermill, nbconvert, pandas, matplotlib, docker, kit
x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
print(json.dumps({
    "tf": tf.__version__, "sklearn": sklearn.__version__, "papermill": papermill.__version__,
    "kit": kit.__version__, "matmul": tf.linalg.matmul(x, x).numpy().tolist(),
    "gpus": len(tf.config.list_physical_devices("GPU")), "python": sys.version_info[:2],
}))
"""


def locked_pins() -> dict[str, str]:
    """name -> version of every package the image's lock installs on this machine's architecture."""
    import platform

    from imagebuild import lock

    pins = lock.read("cpu")
    return {key: pin.version for key, pin in pins.items() if not pin.marker or f"'{platform.machine()}'" in pin.marker}


def test_python3_kernelspec_uses_the_image_python(containers):
    specs = json.loads(containers.run(["jupyter", "kernelspec", "list", "--json"]))["kernelspecs"]
    assert "python3" in specs
    assert specs["python3"]["spec"]["argv"][0].startswith("/opt/venv/bin/python")


def test_ml_stack_imports_and_computes(containers):
    result = json.loads(containers.run(["python", "-c", COMPUTE]).strip().splitlines()[-1])
    pins = locked_pins()
    assert result["matmul"] == [[7.0, 10.0], [15.0, 22.0]]
    assert result["tf"] == pins.get("tensorflow-cpu", pins.get("tensorflow"))
    assert result["sklearn"] == pins["scikit-learn"]
    assert result["papermill"] == pins["papermill"]
    assert result["python"] == [3, 11]
    assert result["gpus"] == 0


def test_kit_command_is_on_path(containers):
    assert containers.run(["kit", "--version"]).strip().startswith("kit, version ")


def test_package_list_names_every_installed_package(containers):
    listed = dict(line.split("==") for line in containers.run(["cat", "/etc/kit/packages.txt"]).split() if "==" in line)
    from imagebuild.lock import normalize

    listed = {normalize(name): version for name, version in listed.items()}
    for name, version in locked_pins().items():
        assert listed.get(name) == version, f"{name}: locked {version}, listed {listed.get(name)}"
    assert "kit" in listed
    installed = containers.run(["pip", "list", "--format=freeze", "--disable-pip-version-check"]).split()
    assert len(installed) == len(listed)


def test_labels_record_source_revision_created_and_lock(docker_client, image):
    labels = docker_client.images.get(image).labels
    lock_sha = hashlib.sha256((ROOT / "requirements/cpu.lock").read_bytes()).hexdigest()
    assert labels["io.kit.lock.sha256"] == lock_sha
    for key in ("source", "revision", "created"):
        assert labels[f"org.opencontainers.image.{key}"] not in ("", "unknown"), key


def test_image_carries_its_lock(containers):
    inside = containers.run(["cat", "/etc/kit/requirements.lock"])
    assert inside == (ROOT / "requirements/cpu.lock").read_text()


def test_no_wheelhouse_compiler_or_pip_cache_in_any_layer(docker_client, image, containers):
    history = " ".join(layer.get("CreatedBy", "") for layer in docker_client.images.get(image).history())
    assert "wheelhouse" not in history  # the wheels were only ever in the build stage
    leftovers = "command -v gcc cc g++ || true; ls /tmp; du -s ~/.cache 2>/dev/null || true"
    assert containers.run(["bash", "-c", leftovers]).strip() == ""
