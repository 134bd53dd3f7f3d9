"""Model formats and signatures: what both a notebook's kernel and a server need to know about a saved model.

Both :mod:`kit.tracking` and :mod:`kit.serving` import this package, which imports neither.
:mod:`.formats` the files a model is saved in and how each loads safely (skops, Keras' safe mode: never unpickled);
:mod:`.signature` what a model takes and gives, recorded beside it; :mod:`.ranges` the range of each input in
training, and how many rows a server is sent outside them; :mod:`.datatypes` the Open Inference Protocol's
datatypes and the NumPy dtypes they are, one table.
"""

from kit.models.formats import SUFFIXES, is_keras, load_model

__all__ = ["SUFFIXES", "is_keras", "load_model"]
