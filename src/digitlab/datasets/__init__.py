"""Datasets (MNIST, Fashion-MNIST, any registered one): a catalog, verified sources, a cache, in-memory tensors.

>>> from digitlab.datasets import load, to_features, one_hot   # doctest: +SKIP
>>> mnist = load("mnist")
>>> X_train = to_features(mnist.train.images)                   # (60000, 784) float32 in [0, 1]
>>> Y_train = one_hot(mnist.train.labels, mnist.num_classes)    # (60000, 10)
"""

from digitlab.datasets.cache import Cache, default_cache_dir
from digitlab.datasets.catalog import CATALOG, DATASET_NAMES, DEFAULT_DATASET, DatasetSpec, dataset_names, get_spec, register
from digitlab.datasets.dataset import Dataset, Split, train_validation_split
from digitlab.datasets.features import flatten, one_hot, to_features
from digitlab.datasets.idx import decode_idx, encode_idx
from digitlab.datasets.load import SOURCE_ORDER_HELP, FetchResult, fetch, load

__all__ = [
    "CATALOG",
    "DATASET_NAMES",
    "DEFAULT_DATASET",
    "SOURCE_ORDER_HELP",
    "Cache",
    "Dataset",
    "DatasetSpec",
    "FetchResult",
    "Split",
    "dataset_names",
    "decode_idx",
    "default_cache_dir",
    "encode_idx",
    "fetch",
    "flatten",
    "get_spec",
    "load",
    "one_hot",
    "register",
    "to_features",
    "train_validation_split",
]
