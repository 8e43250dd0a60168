"""digitlab: learn and compare classifiers on MNIST and Fashion-MNIST.

The public API is re-exported here; see the README for the tour.
"""

from digitlab.datasets import Dataset, Split, fetch, flatten, load, one_hot, to_features
from digitlab.errors import DataError, DigitlabError
from digitlab.pixels import to_float

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Dataset",
    "DigitlabError",
    "Split",
    "__version__",
    "fetch",
    "flatten",
    "load",
    "one_hot",
    "to_features",
    "to_float",
]
