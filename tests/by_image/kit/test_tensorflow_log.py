"""TensorFlow is quiet by default: importing it and training a Keras model write nothing to stderr, in a terminal
and in a notebook's kernel, with kit.seed_everything's op determinism on and a real dataset's size (a partial last
batch); TF_CPP_MIN_LOG_LEVEL=0 brings TensorFlow's log back; Python's errors always show."""

import json
import re

import pytest

#: As notebooks/train_images.ipynb trains: seeded with op determinism, 1,000 rows in batches of 32 (the last one
#: partial), Keras fed tf.data datasets, a model's outputs for a few rows by calling it.
TRAIN = """
import numpy as np
import tensorflow as tf
import keras
import kit

kit.seed_everything(0)
x = np.random.default_rng(0).normal(size=(1000, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
train = tf.data.Dataset.from_tensor_slices((x[:800], y[:800])).shuffle(800, seed=0).batch(32)
test = tf.data.Dataset.from_tensor_slices((x[800:], y[800:])).batch(32)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(train, epochs=2, validation_data=test, shuffle=False, verbose=0)
model.evaluate(test, verbose=0)
print("trained", model.predict(test, verbose=0).shape, model(x[:2]).shape)
"""
#: What the README says still logs TensorFlow's make_deterministic error: NumPy arrays with a partial last batch.
NUMPY_INPUT = """
import numpy as np
import keras
import kit

kit.seed_everything(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
print("predicted", model.predict(np.zeros((3, 4), "float32"), verbose=0).shape)
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
    assert output.stdout.strip() == "trained (200, 1) (2, 1)"
    assert output.stderr == ""


def test_a_notebook_shows_no_tensorflow_log(containers):
    shown = json.loads(containers.run(["python", "-c", IN_A_KERNEL]).strip().splitlines()[-1])
    assert shown == {"stdout": "trained (200, 1) (2, 1)\n", "stderr": ""}


def test_numpy_input_with_a_partial_batch_under_op_determinism_still_logs_tensorflows_rewrite(containers):
    """TensorFlow 2.21's tf.data make_deterministic pass turns Keras' parallel map into a MapDataset and keeps its
    use_unbounded_threadpool attribute; when this fails, TensorFlow is fixed: drop the README's paragraph about it."""
    output = containers.execute(["python", "-c", NUMPY_INPUT])
    assert output.stdout.strip() == "predicted (3, 1)"
    assert LOG_LINE.findall(output.stderr) and all(
        "NodeDef mentions attribute use_unbounded_threadpool" in line for line in output.stderr.splitlines()
    ), output.stderr


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
