"""TensorFlow is quiet by default: importing it and training a Keras model write nothing to stderr, in a terminal
and in a notebook's kernel; TF_CPP_MIN_LOG_LEVEL=0 brings TensorFlow's log back; Python's errors always show."""

import json
import re

import pytest

TRAIN = """
import numpy as np
import tensorflow as tf
import keras

x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=2, shuffle=False, verbose=0)
print("trained", model.predict(x[:2], verbose=0).shape)
"""
#: Runs TRAIN in a python3 kernel, as JupyterLab does, and prints what the notebook shows on stderr.
IN_A_KERNEL = f"""
import json, nbformat
from nbclient import NotebookClient

notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell({TRAIN!r})])
notebook.metadata["kernelspec"] = {{"name": "python3", "display_name": "Python 3", "language": "python"}}
NotebookClient(notebook, timeout=300).execute()
outputs = notebook.cells[0].outputs
print(json.dumps({{
    "stdout": "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout"),
    "stderr": "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr"),
}}))
"""
#: A line of TensorFlow's C++ log (Abseil's format): severity, date, time, thread, file:line].
LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] ", re.MULTILINE)


def test_importing_tensorflow_and_training_write_nothing_to_stderr(containers):
    output = containers.execute(["python", "-c", TRAIN])
    assert output.stdout.strip() == "trained (2, 1)"
    assert output.stderr == ""


def test_a_notebook_shows_no_tensorflow_log(containers):
    shown = json.loads(containers.run(["python", "-c", IN_A_KERNEL]).strip().splitlines()[-1])
    assert shown == {"stdout": "trained (2, 1)\n", "stderr": ""}


@pytest.mark.parametrize(
    ("environment", "first"),
    [
        pytest.param({"TF_CPP_MIN_LOG_LEVEL": "0"}, "", id="docker-run-e"),
        pytest.param({}, "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'; ", id="os-environ-before-import"),
    ],
)
def test_tf_cpp_min_log_level_0_shows_tensorflows_log_again(containers, environment, first):
    code = first + "import tensorflow as tf; print(tf.constant(1).numpy())"
    output = containers.execute(["python", "-c", code], environment=environment)
    assert output.stdout.strip() == "1"
    assert LOG_LINE.search(output.stderr), output.stderr


def test_python_errors_still_show(containers):
    code = "import tensorflow as tf; tf.reshape(tf.range(6), (4, 4))"
    output = containers.execute(["python", "-c", code], exit_code=1)
    assert "Traceback (most recent call last)" in output.stderr
    assert "InvalidArgumentError" in output.stderr
