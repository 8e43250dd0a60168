"""robustness_table and its figures, with stand-in predictors whose accuracy is known in advance."""

import pytest
import torch
from matplotlib.figure import Figure

from digitlab.images.transforms import IDENTITY_STRENGTH, transform_name
from digitlab.robustness import evaluate as evaluate_module
from digitlab.robustness.evaluate import (
    first_of_class,
    knn_predictor,
    mean_accuracy,
    parse_transforms,
    robustness_table,
    sweep_strengths,
)
from digitlab.robustness.figures import example_figure, robustness_figure
from tests.training.synthetic import CLASSES, synthetic_dataset

SWEEP = {"shift": (0, 2, 4), "rotate": (0, 30), "scale": (0.6, 1.0), "invert": (0, 1.0), "noise": (0, 0.3), "elastic": (0, 2)}


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=200, n_test=60)


def oracle(split):
    """Knows the label of every untouched test image and answers -1 (wrong) for any other picture."""
    known = {bytes(image.numpy()): int(label) for image, label in zip(split.images, split.labels, strict=True)}
    return lambda images: torch.tensor([known.get(bytes(image.numpy()), -1) for image in images])


def constant(label):
    return lambda images: torch.full((len(images),), label, dtype=torch.int64)


class Recorder:
    """A predictor that remembers every batch it was shown."""

    def __init__(self):
        self.seen = []

    def __call__(self, images):
        self.seen.append(images.clone())
        return torch.zeros(len(images), dtype=torch.int64)


def test_table_rows_and_values(data):
    rows = robustness_table({"oracle": oracle(data.test), "zeros": constant(0)}, data.test, strengths=SWEEP)
    assert len(rows) == 2 * sum(len(values) for values in SWEEP.values())
    assert set(rows[0]) == {"model", "transform", "strength", "accuracy"}
    assert [(row["transform"], row["strength"]) for row in rows[::2]] == [(t, float(s)) for t, values in SWEEP.items() for s in values]
    share_of_zeros = float((data.test.labels == 0).double().mean())
    for row in rows:
        if row["model"] == "zeros":
            assert row["accuracy"] == pytest.approx(share_of_zeros)  # a constant guess ignores the images
        elif row["strength"] == IDENTITY_STRENGTH[row["transform"]]:
            assert row["accuracy"] == 1.0  # the clean baseline is the untouched test set
        else:
            assert row["accuracy"] < 0.5, row  # every real change alters (almost) every image


def test_every_model_sees_the_same_changed_images_once_per_step(data, monkeypatch):
    calls = []
    real_apply = evaluate_module.apply
    monkeypatch.setattr(evaluate_module, "apply", lambda *args, **kwargs: calls.append(args[0]) or real_apply(*args, **kwargs))
    first, second = Recorder(), Recorder()
    robustness_table({"a": first, "b": second}, data.test, transforms=("shift", "noise"), strengths=SWEEP)
    assert calls == ["shift", "shift", "noise"]  # once per non-identity strength, never per model
    # 5 steps, two of them the untouched images: those are scored once per model, not once per sweep
    assert len(first.seen) == len(second.seen) == 4
    assert all(torch.equal(x, y) for x, y in zip(first.seen, second.seen, strict=True))
    assert torch.equal(first.seen[0], data.test.images)


def test_seed_decides_the_changes(data):
    def shown(seed):
        recorder = Recorder()
        robustness_table({"r": recorder}, data.test, transforms=("shift", "elastic"), strengths={"shift": (3,), "elastic": (2,)}, seed=seed)
        return recorder.seen

    again, other = shown(0), shown(1)
    assert all(torch.equal(x, y) for x, y in zip(shown(0), again, strict=True))
    assert not any(torch.equal(x, y) for x, y in zip(again, other, strict=True))


def test_bad_input_is_named(data):
    with pytest.raises(ValueError, match="unknown transform 'blur'"):
        parse_transforms("shift,blur")
    with pytest.raises(ValueError, match="no transform"):
        parse_transforms(" , ")
    assert parse_transforms(" Shift, rotate,shift") == ("shift", "rotate")
    with pytest.raises(ValueError, match="needs at least one strength"):
        sweep_strengths(["shift"], {"shift": ()})
    with pytest.raises(ValueError, match="'short' returned shape"):
        robustness_table({"short": lambda images: torch.zeros(1, dtype=torch.int64)}, data.test, transforms=("scale",))
    with pytest.raises(ValueError, match="at least one predictor"):
        robustness_table({}, data.test)


def test_knn_predictor_recalls_its_training_images(data):
    predict = knn_predictor(data, train_limit=50)
    reference = data.train.head(50)
    assert torch.equal(predict(reference.images), reference.labels)  # distance weights: a zero-distance match wins


def test_mean_accuracy_and_figures(data):
    rows = robustness_table({"oracle": oracle(data.test), "zeros": constant(0)}, data.test, strengths=SWEEP)
    summary = mean_accuracy(rows)
    shift_scores = [row["accuracy"] for row in rows if row["model"] == "oracle" and row["transform"] == "shift"]
    assert summary["oracle"]["shift"] == pytest.approx(sum(shift_scores) / len(shift_scores))
    curves = robustness_figure(rows, chance=1 / len(CLASSES))
    assert isinstance(curves, Figure)
    assert [axis.get_title() for axis in curves.axes if axis.axison] == [transform_name(name) for name in SWEEP]
    assert [len(axis.lines) for axis in curves.axes if axis.axison] == [3] * len(SWEEP)  # two models + chance
    index = first_of_class(data.test, 3)
    assert int(data.test.labels[index]) == 3
    figure = example_figure({"oracle": oracle(data.test), "zeros": constant(0)}, data.test.images[index], 3, CLASSES, ("shift", "invert"))
    texts = [text.get_text() for axis in figure.axes for text in axis.texts]
    assert texts[:2] == ["oracle: three", "zeros: zero"]  # the untouched image: the oracle knows it
    assert texts[2] == "oracle: -1"  # a shifted image it does not know: an answer outside the classes is shown as is
    assert len(figure.axes) == 3 and len(texts) == 6
