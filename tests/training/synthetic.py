"""A tiny generated dataset that networks can actually learn: each class is a bright square at its own place.

Random noise images (tests/conftest.py's ``tiny``) test plumbing; these test learning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from digitlab.datasets import Dataset, Split
from digitlab.datasets.catalog import FILE_NAMES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, DatasetSpec, IdxFile
from digitlab.datasets.idx import encode_idx
from digitlab.datasets.verify import md5_hex

SIDE = 28
SQUARE = 6  # pixels per side of each class's bright square
NOISE = 60  # background noise level (of 255)
CLASSES = ("zero", "one", "two", "three")


def _images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    images = rng.integers(0, NOISE, (len(labels), SIDE, SIDE), dtype=np.uint8)
    for index, label in enumerate(labels):
        row, col = 3 + 13 * (label // 2), 3 + 13 * (label % 2)  # the four quadrants
        row += rng.integers(-2, 3)  # a little jitter, so that it is not a lookup table
        col += rng.integers(-2, 3)
        images[index, row:row + SQUARE, col:col + SQUARE] = rng.integers(180, 256, (SQUARE, SQUARE))
    return images


def synthetic_arrays(n_train: int = 256, n_test: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    train_labels = rng.integers(0, len(CLASSES), n_train).astype(np.uint8)
    test_labels = rng.integers(0, len(CLASSES), n_test).astype(np.uint8)
    return {TRAIN_IMAGES: _images(train_labels, rng), TRAIN_LABELS: train_labels,
            TEST_IMAGES: _images(test_labels, rng), TEST_LABELS: test_labels}


def synthetic_dataset(n_train: int = 256, n_test: int = 64, seed: int = 0) -> Dataset:
    arrays = synthetic_arrays(n_train, n_test, seed)

    def split(images: str, labels: str) -> Split:
        return Split(torch.from_numpy(arrays[images]), torch.from_numpy(arrays[labels].astype(np.int64)))

    return Dataset("synthetic", CLASSES, split(TRAIN_IMAGES, TRAIN_LABELS), split(TEST_IMAGES, TEST_LABELS))


def write_synthetic(folder: Path, n_train: int = 256, n_test: int = 64, seed: int = 0, name: str = "synthetic") -> DatasetSpec:
    """Write the IDX files into ``folder``; returns a catalog spec to register under a dataset name."""
    arrays = synthetic_arrays(n_train, n_test, seed)
    files = {file_name: encode_idx(arrays[file_name]) for file_name in FILE_NAMES}
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
    return DatasetSpec(name=name, torchvision_folder="Synthetic", classes=CLASSES,
                       files=tuple(IdxFile(file_name, len(files[file_name]), md5_hex(files[file_name])) for file_name in FILE_NAMES), mirrors=())
