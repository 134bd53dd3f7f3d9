"""kit's version, read from its installed package's metadata (``0+unknown`` in a source tree not installed)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
