"""TF_CPP_MIN_LOG_LEVEL for the lines TensorFlow logs before it reads TF_CPP_MIN_LOG_LEVEL.

TensorFlow 2.21 logs "oneDNN custom operations are on ..." (INFO) while its libraries load, twice, each after
Abseil's "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", before it
applies TF_CPP_MIN_LOG_LEVEL; the only switch that silences it, TF_ENABLE_ONEDNN_OPTS=0, changes the numerics.
So while ``import tensorflow`` runs, and only when TF_CPP_MIN_LOG_LEVEL is 1 or more (the image's default),
the process's stderr goes through ``grep -v`` that drops exactly those lines and passes every other line on
at once: Python's warnings and tracebacks, TensorFlow's warnings and errors, a crash. ``tf_notices.pth``
installs it when Python starts; ``TF_CPP_MIN_LOG_LEVEL=0`` shows everything again.
"""

import os
import sys

NOTICES = (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|^I[0-9]{4} [0-9:.]+ +[0-9]+ port\.cc:[0-9]+\] oneDNN custom operations are on\. "
)


def _quiet() -> bool:
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")) >= 1
    except ValueError:
        return False


class _Filtered:
    """File descriptor 2 through ``grep -v NOTICES`` for the block; grep, a process, passes lines on at once."""

    def __enter__(self):
        import subprocess

        sys.stderr.flush()
        self.stderr = os.dup(2)
        command = ["grep", "--line-buffered", "--text", "--invert-match", "--extended-regexp", NOTICES]
        self.grep = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=self.stderr, stderr=self.stderr)
        os.dup2(self.grep.stdin.fileno(), 2)
        self.grep.stdin.close()

    def __exit__(self, *exc):
        import subprocess

        sys.stderr.flush()
        os.dup2(self.stderr, 2)  # grep reads the end of its input, passes the rest on and exits
        try:
            self.grep.wait(timeout=10)
        except subprocess.TimeoutExpired:  # something the import started still holds the pipe; grep goes on
            pass
        os.close(self.stderr)


class _Loader:
    """TensorFlow's own loader, its module executed with stderr filtered."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        with _Filtered():
            self.loader.exec_module(module)


class Finder:
    """Finds ``tensorflow`` with the other finders and wraps its loader (Python asks only until it is imported)."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "tensorflow" or not _quiet():
            return None
        for finder in sys.meta_path:
            spec = None if finder is cls else getattr(finder, "find_spec", lambda *_: None)(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def install() -> None:
    if Finder not in sys.meta_path:
        sys.meta_path.insert(0, Finder)
