"""One call that makes a notebook's randomness repeatable: ``kit.seed_everything(seed)``; and the kernel's hash seed.

A seed is an integer from 0 to 2**32 - 1: what NumPy's legacy seeding and Python's ``PYTHONHASHSEED`` both take.
:func:`hash_seed` is the one place that turns a run's ``seed`` parameter into the kernel's ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import os
import random
from importlib.util import find_spec
from typing import Any

from kit import settings
from kit.errors import SeedError
from kit.record.jsonfile import write_json
from kit.record.schema import INTRA_OP_VARIABLES

MAX_SEED = 2**32 - 1


def check_seed(seed: Any) -> int:
    """``seed`` if it is an integer from 0 to 2**32 - 1; SeedError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SeedError(seed)
    return seed


def hash_seed(parameters: dict[str, Any]) -> str:
    """The kernel's ``PYTHONHASHSEED``: the run's ``seed`` parameter when it is an integer, else 0.

    An integer ``seed`` that is not a valid seed (``True``, ``2**40``, ``-1``) is a SeedError before anything runs:
    Python refuses it as a hash seed, and the kernel would die at start with a message about something else.
    """
    seed = parameters.get("seed")
    return str(check_seed(seed)) if isinstance(seed, int) else "0"


def seed_everything(seed: int, *, tensorflow: bool | None = None) -> None:
    """Seed ``random``, NumPy and, when installed, TensorFlow (with op determinism), as ``random.seed`` does: no value.

    ``tensorflow=False`` skips TensorFlow, whose import takes seconds, in notebooks that do not use it.
    Inside ``kit run`` the kernel's hash seed and thread counts were set before it started; here the thread
    limits are applied again to libraries already loaded, and what was done is told to the run record.
    """
    check_seed(seed)
    import numpy

    random.seed(seed)
    numpy.random.seed(seed)
    kernel_hash_seed = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = str(seed)  # for processes this kernel starts; its own was fixed at start
    if tensorflow is None:
        tensorflow = find_spec("tensorflow") is not None
    if tensorflow:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
    _record(seed, tensorflow, kernel_hash_seed)


def _record(seed: int, tensorflow: bool, kernel_hash_seed: str | None) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    threads = os.environ.get(INTRA_OP_VARIABLES[0])
    if threads and threads.isdigit() and int(threads) > 0:
        threadpool_limits(limits=int(threads))
    if not os.environ.get(settings.RUN_DIR_ENV):
        return
    from kit.tracking.current import current

    pools = [{key: pool[key] for key in ("user_api", "internal_api", "num_threads")} for pool in threadpool_info()]
    seeded = {
        "seed": seed,
        "tensorflow": tensorflow,
        "op_determinism": tensorflow,
        "kernel_hash_seed": kernel_hash_seed,
        "threadpools": pools,
    }
    write_json(current().seeded, seeded)
