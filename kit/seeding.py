"""One call that makes a notebook's randomness repeatable: ``kit.seed_everything(seed)``."""

from __future__ import annotations

import os
import random
from importlib.util import find_spec

from kit import settings
from kit.errors import KitError
from kit.threads import INTRA_OP_VARIABLES


def seed_everything(seed: int, *, tensorflow: bool | None = None) -> int:
    """Seed ``random``, NumPy and, when installed, TensorFlow (with op determinism); return the seed.

    ``tensorflow=False`` skips TensorFlow, whose import takes seconds, in notebooks that do not use it.
    Inside ``kit run`` the kernel's hash seed and thread counts were set before it started; here the thread
    limits are applied again to libraries already loaded, and what was done is told to the run record.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise KitError(f"seed must be an integer from 0 to 2**32 - 1, not {seed!r}: e.g. seed_everything(42)")
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
    return seed


def _record(seed: int, tensorflow: bool, kernel_hash_seed: str | None) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    threads = os.environ.get(INTRA_OP_VARIABLES[0])
    if threads:
        threadpool_limits(limits=int(threads))
    if not os.environ.get(settings.RUN_DIR_ENV):
        return
    from kit.record import write_json
    from kit.tracking import run_dir

    pools = [{key: pool[key] for key in ("user_api", "internal_api", "num_threads")} for pool in threadpool_info()]
    seeded = {
        "seed": seed,
        "tensorflow": tensorflow,
        "op_determinism": tensorflow,
        "kernel_hash_seed": kernel_hash_seed,
        "threadpools": pools,
    }
    write_json(run_dir() / settings.SEEDED, seeded)
