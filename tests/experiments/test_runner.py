"""The run pipeline on generated data: networks and k-NN scored alike, robustness scores when asked for."""

import pytest

from digitlab.errors import DigitlabError
from digitlab.experiments import ExperimentConfig
from digitlab.experiments.runner import run
from digitlab.experiments.spec import resolve
from digitlab.images.transforms import STRENGTHS
from tests.training.synthetic import synthetic_dataset

TRANSFORMS = "shift,invert"


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=300, n_test=80)


def config(**settings) -> ExperimentConfig:
    base = {"model": "mlp", "model_config": {"hidden_sizes": [32], "num_classes": 4}, "validation_size": 50,
            "train_config": {"epochs": 2, "batch_size": 32, "lr": 3e-3}}
    return ExperimentConfig(**{**base, **settings})


@pytest.mark.parametrize("kind", ["network", "knn"])
def test_robustness_scores_every_strength_and_the_identity_is_the_clean_accuracy(data, kind):
    settings = {"kind": kind, "knn_config": {"n_neighbors": 3}} if kind == "knn" else {}
    result = run(resolve(config(robustness=TRANSFORMS, **settings), "cpu"), dataset=data)
    scores = result["robustness"]
    assert list(scores) == ["shift", "invert"]
    for name in scores:
        assert list(scores[name]) == [f"{strength:g}" for strength in STRENGTHS[name]]
        assert all(0.0 <= value <= 1.0 for value in scores[name].values())
    assert scores["shift"]["0"] == scores["invert"]["0"] == result["metrics"]["test_accuracy"]
    assert scores["shift"]["6"] < scores["shift"]["0"]  # the squares move out of their quadrant
    assert result["robustness_seconds"] > 0


def test_no_robustness_unless_asked(data):
    assert "robustness" not in run(resolve(config(), "cpu"), dataset=data)


def test_train_config_augment_reaches_the_training_loop(data):
    plain = run(resolve(config(train_config={"epochs": 1, "batch_size": 32}), "cpu"), dataset=data)
    augmented = run(resolve(config(train_config={"epochs": 1, "batch_size": 32, "augment": "rotate, shift"}), "cpu"), dataset=data)
    assert augmented["metrics"]["epochs"] == 1
    assert augmented["history"][0]["train_loss"] != plain["history"][0]["train_loss"]  # same seed: only the changes differ


@pytest.mark.parametrize(("settings", "message"), [
    ({"robustness": "shift,twist"}, "unknown transform 'twist'"),
    ({"train_config": {"augment": "blur"}}, "unknown augmentation 'blur'"),
])
def test_bad_settings_fail_before_running(settings, message):
    with pytest.raises(DigitlabError, match=message):
        resolve(config(**settings))


def test_a_validation_split_larger_than_the_training_limit_is_refused_up_front():
    with pytest.raises(DigitlabError, match="validation_size 5000 leaves no training images out of train_limit 1000"):
        resolve(ExperimentConfig(kind="knn", train_limit=1000))
    resolve(ExperimentConfig(kind="knn", train_limit=1000, validation_size=0))


def test_every_lab_sweep_point_passes_the_up_front_check():
    """The full lab (not only --quick) must not stop half-way on a config error."""
    from digitlab.experiments.sweep import lab_sweeps, quicken

    for dataset in ("mnist", "fashion-mnist"):
        for sweep in lab_sweeps(dataset):
            for spec in (sweep, quicken(sweep)):
                for point in spec.points():
                    resolve(spec.base.with_params(point))


def test_knn_grid_reuses_the_search_across_weightings_and_matches_a_fresh_classifier(data):
    from digitlab.experiments.knn_runs import NeighborCache
    from digitlab.knn import KNNClassifier, flatten_images

    settings = {"kind": "knn", "validation_size": 0}
    cache = NeighborCache()  # the caller owns the reuse: one cache per grid
    results = {weights: run(resolve(config(knn_config={"n_neighbors": 5, "weights": weights}, **settings), "cpu"), dataset=data,
                                       neighbor_cache=cache)
               for weights in ("uniform", "distance")}
    assert results["distance"]["metrics"]["neighbors_reused"] and results["distance"]["metrics"]["predict_seconds"] > 0
    for weights, result in results.items():
        fresh = KNNClassifier(5, weights=weights).fit(flatten_images(data.train.images), data.train.labels.numpy())
        expected = "".join(map(str, fresh.predict(flatten_images(data.test.images)).tolist()))
        assert result["test_predictions"] == expected
    other_k = run(resolve(config(knn_config={"n_neighbors": 3, "weights": "distance"}, **settings), "cpu"), dataset=data, neighbor_cache=cache)
    assert other_k["metrics"]["neighbors_reused"]  # the first 3 of the search for 9 (see the test below)
    assert results["uniform"]["metrics"]["searched_neighbors"] == other_k["metrics"]["searched_neighbors"] == 9
    other_data = synthetic_dataset(n_train=300, n_test=80, seed=1)
    assert not run(resolve(config(knn_config={"n_neighbors": 5}, **settings), "cpu"), dataset=other_data,
                              neighbor_cache=cache)["metrics"]["neighbors_reused"]
    without = run(resolve(config(knn_config={"n_neighbors": 5, "weights": "distance"}, **settings), "cpu"), dataset=data)
    assert not without["metrics"]["neighbors_reused"]  # no cache passed: nothing is remembered between runs


def tied_dataset():
    """Images of three grey levels in a 3 x 3 patch, with duplicates labelled differently: ties everywhere."""
    import numpy as np
    import torch

    from digitlab.datasets import Dataset, Split

    rng = np.random.default_rng(4)
    images = np.zeros((380, 28, 28), dtype=np.uint8)
    images[:, 10:13, 10:13] = rng.integers(0, 3, (380, 3, 3)) * 127
    images[200:260] = images[:60]
    labels = torch.from_numpy(rng.integers(0, 4, 380))
    split = lambda rows: Split(torch.from_numpy(images[rows]), labels[rows])  # noqa: E731
    return Dataset("tied", ("a", "b", "c", "d"), split(slice(0, 300)), split(slice(300, 380)))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_grid_over_k_takes_prefixes_of_one_search_and_matches_fresh_searches(metric):
    """k 1..9 x both weightings from one search for 9 neighbours: every prediction is a fresh search's (and
    scikit-learn's for euclidean), rows tied at the k-th place are searched again."""
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier
    from threadpoolctl import threadpool_limits

    from digitlab.experiments.knn_runs import NeighborCache
    from digitlab.knn import KNNClassifier, flatten_images

    data, cache, again = tied_dataset(), NeighborCache(), 0
    X, y, queries = (flatten_images(data.train.images).numpy(), data.train.labels.numpy(), flatten_images(data.test.images).numpy())
    with threadpool_limits(limits=1, user_api="openmp"):
        for k in (1, 2, 3, 5, 9):
            for weights in ("uniform", "distance"):
                options = {"n_neighbors": k, "weights": weights, "metric": metric}
                result = run(resolve(config(kind="knn", validation_size=0, knn_config=options), "cpu"), dataset=data, neighbor_cache=cache)
                metrics = result["metrics"]
                assert metrics["neighbors_reused"] == ((k, weights) != (1, "uniform")) and metrics["searched_neighbors"] == 9
                assert metrics["fit_reused"] == metrics["neighbors_reused"]  # one fitted pipeline serves the grid
                again += metrics["rows_searched_again"]
                fresh = KNNClassifier(k, weights=weights, metric=metric).fit(X, y).predict(queries)
                assert result["test_predictions"] == "".join(map(str, fresh.tolist()))
                if metric == "euclidean" and weights == "uniform":  # 1/d vote sums tied exactly can round either way
                    theirs = KNeighborsClassifier(k, weights=weights, algorithm="brute").fit(X.astype(np.float64), y)
                    assert np.array_equal(fresh, theirs.predict(queries.astype(np.float64)))
    assert again > 0  # the tied rows' path ran


def test_neighbor_cache_holds_on_to_the_newest_fitted_pipelines_only():
    import numpy as np

    from digitlab.experiments.knn_runs import KEPT_MODELS, NeighborCache, Search

    cache, models = NeighborCache(), [object() for _ in range(KEPT_MODELS + 1)]
    empty = np.zeros((1, 1))
    for number, model in enumerate(models):
        cache.put(f"test {number}", Search(empty, empty, 1.0, model))
        cache.put(f"validation {number}", Search(empty, empty, 1.0, model))  # one pipeline, two query sets
    assert cache.get("test 0").model is None and cache.get("validation 0").model is None  # the oldest pipeline let go
    assert all(cache.get(f"{split} {n}").model is models[n] for n in range(1, KEPT_MODELS + 1) for split in ("test", "validation"))
    assert len(cache) == 2 * len(models)  # the searches themselves are all kept


def test_every_run_records_how_busy_the_machine_was(data):
    environment = run(resolve(config(), "cpu"), dataset=data)["environment"]
    assert environment["wall_seconds"] > 0 and environment["cpu_seconds"] >= 0 and environment["cpu_count"] >= 1
    wall, cpu = environment["wall_seconds"], environment["cpu_seconds"]
    # both are stored to the millisecond (±0.0005 s), the ratio from the unrounded times: a short run's ratio moves that much
    rounding = 0.0005 * (1 + cpu / wall) / max(wall - 0.0005, 1e-6) + 0.001
    assert environment["cpu_per_wall"] == pytest.approx(cpu / wall, abs=max(rounding, 0.01 * cpu / wall))
    assert "load_start" in environment and "load_end" in environment  # None where the system has no load average
