"""The one k-NN pipeline builder: its config, its steps, predictions equal to scikit-learn's on the same
features, and the CLI, lab, robustness and web paths giving the same predictions for the same config."""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from digitlab.errors import DigitlabError
from digitlab.knn import PCA, Blur, Deskew, KNNPipelineConfig, TrainingCopies, build_pipeline, flatten_images
from digitlab.knn.copies import zoomed
from digitlab.pixels import shift
from tests.training.synthetic import synthetic_dataset

SIDE = 28
EVERY_STEP = KNNPipelineConfig(n_neighbors=3, weights="distance", deskew=True, blur=1.0, shifts=1, zoom=1.1, pca=12)


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=240, n_test=60, seed=3)


def test_config_round_trips_and_names_unknown_keys():
    assert KNNPipelineConfig.from_dict(EVERY_STEP.to_dict()) == EVERY_STEP
    with pytest.raises(DigitlabError, match=r"unknown k-NN settings \['k'\]; known: n_neighbors, weights"):
        KNNPipelineConfig.from_dict({"k": 3})


@pytest.mark.parametrize(("settings", "message"), [
    ({"n_neighbors": 0}, "n_neighbors=0"), ({"weights": "linear"}, "weights='linear'.*uniform, distance"),
    ({"blur": -1.0}, "blur=-1.0"), ({"zoom": 0.9}, "zoom=0.9"), ({"shifts": 1.5}, "shifts=1.5"), ({"pca": True}, "pca=True"), ({"p": 0.5}, "p=0.5"),
])
def test_config_rejects_bad_values_naming_them(settings, message):
    with pytest.raises(DigitlabError, match=message):
        KNNPipelineConfig(**settings)


def test_steps_follow_the_config_in_a_fixed_order():
    names = lambda config: [name for name, _ in build_pipeline(config).steps]  # noqa: E731
    assert names(KNNPipelineConfig()) == ["knn"]
    assert names(KNNPipelineConfig(deskew=True, blur=0.5, pca=10)) == ["deskew", "blur", "pca", "knn"]
    model = build_pipeline(EVERY_STEP)
    assert names(EVERY_STEP) == ["deskew", "blur", "copies"]
    assert names(KNNPipelineConfig(zoom=1.2)) == ["copies"]
    inner = model.named_steps["copies"].estimator
    assert [name for name, _ in inner.steps] == ["pca", "knn"] and inner.named_steps["knn"].n_neighbors == 3
    assert isinstance(model.named_steps["deskew"], Deskew) and not model.named_steps["deskew"].round_to_pixels
    # 11 copies: 1/11 of the queries per block, so the score block stays the size of a plain search
    assert inner.named_steps["knn"].batch_size == 1024 // 11 and build_pipeline(KNNPipelineConfig())[-1].batch_size == 1024


def test_predictions_equal_scikit_learn_on_the_same_features(data):
    X, y = flatten_images(data.train.images).numpy(), data.train.labels.numpy()
    queries = flatten_images(data.test.images).numpy()
    config = KNNPipelineConfig(n_neighbors=3, weights="distance", deskew=True, blur=1.0, pca=12)
    ours = build_pipeline(config).fit(X, y).predict(queries)
    steps = [Deskew(), Blur(1.0)]
    train_features, query_features = X, queries
    for step in steps:
        train_features, query_features = step.fit_transform(train_features), step.transform(query_features)
    pca = PCA(12).fit(train_features)
    reference = KNeighborsClassifier(3, weights="distance", algorithm="brute").fit(pca.transform(train_features), y)
    assert np.array_equal(ours, reference.predict(pca.transform(query_features)))


def test_training_copies_equal_scikit_learn_on_hand_made_copies(data):
    X, y = flatten_images(data.train.images).numpy(), data.train.labels.numpy()
    queries = flatten_images(data.test.images).numpy()
    ours = build_pipeline(KNNPipelineConfig(n_neighbors=4, weights="distance", shifts=1, zoom=1.1, pca=10)).fit(X, y).predict(queries)
    images = data.train.images.numpy()
    pca = PCA(10).fit(X)  # fitted on the originals, as TrainingCopies does
    offsets = [(0, 0)] + [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    made = [shift(images, dy, dx) for dy, dx in offsets] + [zoomed(images, 1.1), zoomed(images, 1 / 1.1)]
    copies = np.concatenate([pca.transform(copy.reshape(len(X), -1)) for copy in made])
    reference = KNeighborsClassifier(4, weights="distance", algorithm="brute").fit(copies, np.tile(y, 11))
    assert np.array_equal(ours, reference.predict(pca.transform(queries)))


@pytest.mark.parametrize("config", [KNNPipelineConfig(n_neighbors=3, weights="distance"), EVERY_STEP], ids=["raw", "every-step"])
def test_cli_lab_robustness_and_web_paths_agree(data, config, monkeypatch):
    import digitlab.datasets
    from digitlab.experiments import ExperimentConfig
    from digitlab.experiments.runner import run
    from digitlab.experiments.spec import resolve
    from digitlab.knn.tuning import evaluate
    from digitlab.robustness.evaluate import knn_predictor
    from digitlab.web.models import KNN_EVAL_LIMIT, knn_model

    cli = evaluate(config, data.train, data.test).predictions.numpy()  # digitlab knn / knn tune
    lab = run(resolve(ExperimentConfig(kind="knn", knn_config=config.to_dict(), validation_size=0), "cpu"), dataset=data)
    robustness = knn_predictor(data, train_limit=None, config=config)(data.test.images).numpy()
    monkeypatch.setattr(digitlab.datasets, "load", lambda name, **_: data)  # the web app loads by name
    web = knn_model("synthetic", train_limit=None, config=config).predict_proba(data.test.images.numpy()).argmax(axis=1)
    assert len(data.test) <= KNN_EVAL_LIMIT
    assert lab["test_predictions"] == "".join(map(str, cli.tolist()))
    assert np.array_equal(robustness, cli) and np.array_equal(web, cli)
    assert (cli == data.test.labels.numpy()).mean() > 0.9  # the data are learnable: agreement is not all-wrong


@pytest.mark.parametrize(("settings", "message"), [({"shift": -1}, "shift must be a whole number"), ({"zoom": 0.5}, "zoom must be a factor")])
def test_training_copies_reject_bad_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainingCopies(build_pipeline(KNNPipelineConfig())[-1], **settings).fit(np.zeros((4, SIDE * SIDE)), [0, 1, 0, 1])


def test_every_command_fits_the_one_default_knn(capsys):
    """`digitlab knn`, serve, explain and robustness start from one k-NN configuration and say which in --help."""
    import inspect

    from digitlab.cli import explain, knn, robustness, serve
    from digitlab.cli.main import main
    from digitlab.knn import QUICK_TRAIN_LIMIT

    default = KNNPipelineConfig()
    assert (default.n_neighbors, default.weights) == (3, "distance")
    for command in (knn.knn, knn.scaling_command):
        parameters = inspect.signature(command).parameters
        assert (parameters["k"].default, parameters["weights"].default.value) == (default.n_neighbors, default.weights)
    for command in (serve.serve, explain.explain, robustness.robustness):
        assert inspect.signature(command).parameters["knn_train_limit"].default == QUICK_TRAIN_LIMIT
    for name in ("serve", "explain", "robustness"):
        main([name, "--help"])
        assert default.label() in " ".join(capsys.readouterr().out.split()), name
