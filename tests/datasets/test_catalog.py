"""The catalog: one entry per dataset holds every dataset fact, and a registered entry is used everywhere."""

import dataclasses

import pytest

from digitlab.datasets import catalog, load
from digitlab.datasets.catalog import FASHION_MNIST, MNIST, DatasetSpec, dataset_names, get_spec, register


def test_builtin_entries_hold_their_facts():
    assert [MNIST.title, FASHION_MNIST.title] == ["MNIST", "Fashion-MNIST"]
    assert MNIST.num_classes == FASHION_MNIST.num_classes == 10 and MNIST.image_shape == (28, 28)
    assert (MNIST.fit_size, FASHION_MNIST.fit_size) == (20, 28)  # MNIST's 20x20 box; Fashion fills the field
    assert MNIST.companion == "fashion-mnist" and FASHION_MNIST.companion == "mnist"
    assert MNIST.train_images == "train-images-idx3-ubyte" and MNIST.test_labels == "t10k-labels-idx1-ubyte"


def test_registered_dataset_is_known_and_loads(tmp_path, monkeypatch, tiny):
    spec = dataclasses.replace(tiny.spec, name="my-set", title="My set")
    monkeypatch.delitem(catalog.CATALOG, "my-set", raising=False)
    monkeypatch.setitem(catalog.CATALOG, "my-set", spec)  # so that the catalog forgets it after the test
    del catalog.CATALOG["my-set"]
    assert register(spec) is spec and register(spec) is spec  # twice is harmless
    assert get_spec("my-set") is spec and dataset_names()[-1] == "my-set"
    for name, data in tiny.files.items():
        (tmp_path / name).write_bytes(data)
    dataset = load("my-set", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert dataset.num_classes == spec.num_classes and dataset.image_shape == spec.image_shape
    with pytest.raises(ValueError, match="already in the catalog"):
        register(dataclasses.replace(spec, title="Another"))


def test_bad_entries_are_refused_naming_what_is_wrong(tiny):
    with pytest.raises(ValueError, match="needs 4 IDX files"):
        DatasetSpec(name="x", classes=("a", "b"), files=tiny.spec.files[:2])
    with pytest.raises(ValueError, match="at least 2 classes"):
        DatasetSpec(name="x", classes=("a",), files=tiny.spec.files)
    with pytest.raises(ValueError, match="fit_size 30"):
        DatasetSpec(name="x", classes=("a", "b"), files=tiny.spec.files, fit_size=30)


def test_images_of_another_shape_than_the_entry_says_are_a_data_error(tmp_path, tiny):
    for name, data in tiny.files.items():
        (tmp_path / name).write_bytes(data)
    wrong = dataclasses.replace(tiny.spec, image_shape=(tiny.spec.image_shape[0] + 1, tiny.spec.image_shape[1]))
    with pytest.raises(Exception, match="catalog entry says"):
        load(wrong, data_dir=tmp_path, cache_dir=tmp_path / "cache")
