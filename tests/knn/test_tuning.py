"""Evaluate, search and scaling on small generated image sets; then short runs on real MNIST."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from digitlab.datasets import Split, load, train_validation_split
from digitlab.knn import KNNClassifier, flatten_images
from digitlab.knn.pipeline import KNNPipelineConfig
from digitlab.knn.tuning import Grid, best_config, evaluate, fit_line, scaling, search


def blobs(n: int, seed: int) -> Split:
    """Images whose class (0..2) sets which third of the picture is bright, plus noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=generator)
    images = torch.randint(0, 60, (n, 12, 12), generator=generator)
    for label in range(3):
        images[labels == label, 4 * label : 4 * label + 4, :] += 150
    return Split(images.clamp(0, 255).to(torch.uint8), labels)


def test_evaluate_times_and_scores_a_setting():
    result = evaluate(KNNPipelineConfig(n_neighbors=3, pca=5), blobs(300, 0), blobs(60, 1))
    assert result.accuracy > 0.9 and result.fit_seconds > 0 and result.predict_seconds > 0
    assert result.predictions.shape == (60,) and (result.n_train, result.n_test) == (300, 60)


def test_search_scores_every_setting_on_validation_only():
    train = blobs(400, 2)
    grid = Grid(ks=(1, 3, 5), weights=("uniform", "distance"), metrics=("euclidean", "cosine"), pcas=(0, 4), deskews=(False, True))
    seen = []
    rows = search(train, grid, validation_size=100, progress=lambda done, total, what: seen.append((done, total)))
    assert len(rows) == grid.size() == 48
    assert seen[-1] == (8, 8)
    assert [row["accuracy"] for row in rows] == sorted((row["accuracy"] for row in rows), reverse=True)
    assert all(row["n_validation"] == 100 and 0 <= row["accuracy"] <= 1 for row in rows)
    # the k-from-one-search shortcut gives what a separate classifier of that k gives
    fit_part, validation = train_validation_split(train, 100, 0)
    for row in rows[:: len(rows) // 6]:
        if row["pca"] == 0 and not row["deskew"]:
            clf = KNNClassifier(row["n_neighbors"], weights=row["weights"], metric=row["metric"])
            clf.fit(flatten_images(fit_part.images).numpy(), fit_part.labels.numpy())
            assert clf.score(flatten_images(validation.images).numpy(), validation.labels.numpy()) == pytest.approx(row["accuracy"])
    assert best_config(rows) == KNNPipelineConfig(**{name: rows[0][name] for name in KNNPipelineConfig.__dataclass_fields__})


def test_cross_validation_folds():
    rows = search(blobs(150, 3), Grid(ks=(1, 3), weights=("uniform",), metrics=("euclidean",), pcas=(0,), deskews=(False,)), folds=3)
    assert len(rows) == 2 and rows[0]["folds"] == 3 and rows[0]["n_validation"] == 50
    with pytest.raises(ValueError, match="folds"):
        search(blobs(10, 0), folds=0)


def test_scaling_rows_and_line_fit():
    rows = scaling(KNNPipelineConfig(n_neighbors=1), blobs(200, 4), blobs(20, 5), sizes=(50, 100, 200), image_sides=(12, 24), repeats=1)
    assert [(row["kind"], row["n_train"], row["pixels"]) for row in rows] == [
        ("train_size", 50, 144), ("train_size", 100, 144), ("train_size", 200, 144), ("pixels", 200, 144), ("pixels", 200, 576)]
    line = fit_line([1, 2, 3, 4], [3, 5, 7, 9])
    assert line["slope"] == pytest.approx(2) and line["intercept"] == pytest.approx(1)
    assert fit_line([1, 10, 100], [2, 20, 200])["exponent"] == pytest.approx(1)


@pytest.mark.realdata
def test_real_mnist_predictions_identical_to_scikit_learn():
    data = load("mnist").limit(6000, 1000)
    X, queries = flatten_images(data.train.images).numpy(), flatten_images(data.test.images).numpy()
    y = data.train.labels.numpy()
    for weights in ("uniform", "distance"):
        ours = KNNClassifier(5, weights=weights).fit(X, y).predict(queries)  # uint8: the int8 path
        theirs = KNeighborsClassifier(5, weights=weights, algorithm="brute").fit(X.astype(np.float32), y).predict(queries.astype(np.float32))
        assert np.array_equal(ours, theirs)
    assert (ours == data.test.labels.numpy()).mean() > 0.9


@pytest.mark.realdata
def test_real_mnist_deskew_and_pca_beat_raw_pixels():
    data = load("mnist").limit(10_000, 1000)
    raw = evaluate(KNNPipelineConfig(n_neighbors=3, weights="distance"), data.train, data.test)
    tuned = evaluate(KNNPipelineConfig(n_neighbors=3, weights="distance", pca=40, deskew=True), data.train, data.test)
    assert raw.accuracy > 0.9 and tuned.accuracy > raw.accuracy + 0.01
