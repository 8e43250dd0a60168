"""What MNIST and Fashion-MNIST consist of: file names, sizes, published MD5s, class names, mirrors.

The MD5s are of the *uncompressed* IDX files (shared/DATASETS.md): the same data is distributed
with different gzip compression, so hashing the ``.gz`` would reject good copies.
"""

from __future__ import annotations

from dataclasses import dataclass

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


@dataclass(frozen=True)
class IdxFile:
    """One uncompressed IDX file as published."""

    name: str  # e.g. "train-images-idx3-ubyte"
    size: int  # bytes, uncompressed
    md5: str  # hex digest of the uncompressed bytes


@dataclass(frozen=True)
class DatasetSpec:
    """Everything digitlab knows about one dataset before it has a single byte of it."""

    name: str  # digitlab's name, used on the command line and as the cache folder
    torchvision_folder: str  # torchvision keeps the files in <root>/<folder>/raw/
    classes: tuple[str, ...]  # class names, index = label
    files: tuple[IdxFile, ...]  # the four IDX files
    mirrors: tuple[str, ...]  # base URLs holding <file>.gz, tried in order (torchvision's, HTTPS first)

    def file(self, name: str) -> IdxFile:
        return next(f for f in self.files if f.name == name)


MNIST = DatasetSpec(
    name="mnist",
    torchvision_folder="MNIST",
    classes=tuple(str(digit) for digit in range(10)),
    files=(
        IdxFile(TRAIN_IMAGES, 47040016, "6bbc9ace898e44ae57da46a324031adb"),
        IdxFile(TRAIN_LABELS, 60008, "a25bea736e30d166cdddb491f175f624"),
        IdxFile(TEST_IMAGES, 7840016, "2646ac647ad5339dbf082846283269ea"),
        IdxFile(TEST_LABELS, 10008, "27ae3e4e09519cfbb04c329615203637"),
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",  # no HTTPS there; the MD5 check guards integrity
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    torchvision_folder="FashionMNIST",
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    files=(
        IdxFile(TRAIN_IMAGES, 47040016, "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        IdxFile(TRAIN_LABELS, 60008, "9018921c3c673c538a1fc5bad174d6f9"),
        IdxFile(TEST_IMAGES, 7840016, "8181f5470baa50b63fa0f6fddb340f0a"),
        IdxFile(TEST_LABELS, 10008, "15d484375f8d13e6eb1aabb0c3f46965"),
    ),
    mirrors=(
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # S3 website: HTTP only
    ),
)

CATALOG: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}
DATASET_NAMES = tuple(CATALOG)


def get_spec(name: str) -> DatasetSpec:
    """Return the spec of dataset ``name``, or raise a ValueError listing the known names."""
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(DATASET_NAMES)
        raise ValueError(f"unknown dataset {name!r}; choose one of: {known}") from None
