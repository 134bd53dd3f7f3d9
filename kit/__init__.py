"""kit: reproducible, recorded notebook runs in the kit image.

Importing kit is instant: TensorFlow and scikit-learn are imported only by the functions that need them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
