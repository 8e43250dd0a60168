"""Every figure a student sees, drawn in Dutch and in English: all its texts (titles, labels, legends,
ticks, annotations) in that language, numbers in that language's format."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from digitlab.evaluation import confusion_figure, curve_figure, gallery_figure, history_figure, time_to_accuracy_figure
from digitlab.explain import explain_knn, explain_network, explainable_knn
from digitlab.explain.deletion import faithfulness
from digitlab.explain.figures import deletion_figure, knn_figure, mistakes_figure, network_figure, weight_images_figure
from digitlab.exploration import class_count_chart, sample_grid
from digitlab.i18n import LANGUAGES, speaking
from digitlab.knn.figures import scaling_figures
from digitlab.models import build
from digitlab.robustness.evaluate import robustness_table
from digitlab.robustness.figures import example_figure, robustness_figure
from tests.explain.conftest import block_digits, known_pixel_model
from tests.i18n.words import problems, texts
from tests.training.synthetic import CLASSES, synthetic_dataset

DIGITS = tuple("0123456789")
STRENGTHS = {"shift": (0, 2), "rotate": (0, 30), "scale": (0.6, 1.0), "invert": (0, 1.0), "noise": (0, 0.25), "background": (0, 0.5)}


@pytest.fixture(scope="module")
def inputs():
    torch.manual_seed(0)
    data = synthetic_dataset(n_train=120, n_test=40)
    images, labels = block_digits(12)
    model = known_pixel_model()
    knn = explainable_knn(images, torch.arange(12) % 3)
    history = [{"epoch": e, "train_loss": 1.5 / e, "train_accuracy": 0.5 + e / 10, "val_accuracy": 0.55 + e / 10, "test_accuracy": 0.6 + e / 10}
               for e in (1, 2, 3)]
    robustness = robustness_table({"constant": lambda batch: torch.zeros(len(batch), dtype=torch.int64)}, data.test, strengths=STRENGTHS)
    return {"data": data, "images": images, "labels": labels, "model": model, "knn": knn, "history": history, "robustness": robustness}


def every_figure(inputs) -> dict[str, Figure]:
    """Each figure builder once, with numbers that need grouping, decimals and percentages."""
    data, images, model = inputs["data"], inputs["images"], inputs["model"]
    found = explain_network(model, images[0], classes=DIGITS)
    cnn = explain_network(build("cnn", channels=[4, 8], hidden_sizes=[16], kernel_size=3, padding="same"), images[0], classes=DIGITS)
    votes = explain_knn(inputs["knn"], images[1])
    confusion = np.array([[1234, 5, 0], [7, 2345, 1], [0, 3, 999]])
    return {
        "history": history_figure(inputs["history"]),
        "confusion": confusion_figure(confusion, CLASSES[:3], title="k-NN"),
        "gallery": gallery_figure(data.test.images, data.test.labels, data.test.labels, CLASSES, indices=[0, 1, 2]),
        "curve": curve_figure([1000, 5000, 60000], {"MLP": [91.5, 95.25, 97.6]}, "x", "y", "t", logx=True, percent=True),
        "time_to_accuracy": time_to_accuracy_figure({"CNN": [[(1.5, 0.915), (12.0, 0.9876)]]}),
        "samples": sample_grid(data.train, CLASSES, seed=0)[0],
        "class_counts": class_count_chart(data),
        "robustness": robustness_figure(inputs["robustness"], chance=0.25),
        "robustness_example": example_figure({"constant": lambda batch: torch.zeros(len(batch), dtype=torch.int64)},
                                             data.test.images[0], int(data.test.labels[0]), CLASSES, tuple(STRENGTHS)),
        "knn_scaling": scaling_figures([{"kind": "train_size", "x": x, "predict_seconds": x / 2e5} for x in (1000, 10000, 60000)],
                                       "k=3", 1000, "mnist")["train_size"],
        "network": network_figure(found, "SimpleNetwork"),
        "cnn": network_figure(cnn, "CNN"),
        "knn": knn_figure(images[1], votes, "k-NN"),
        "weights": weight_images_figure([("a", found.weight_images)], DIGITS),
        "deletion": deletion_figure([faithfulness(model, images, inputs["labels"], "saliency")], "saliency"),
        "mistakes": mistakes_figure(images[:2], inputs["labels"][:2], torch.zeros(2, dtype=torch.long), torch.tensor([0.987, 0.5]),
                                    [found.attributions["saliency"]] * 2, [votes, votes], DIGITS, "saliency"),
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_figure_speaks_one_language_with_its_numbers(inputs, lang):
    with speaking(lang):
        figures = every_figure(inputs)
    found = {name: problems(" | ".join(texts(figure)), lang) for name, figure in figures.items()}
    assert not {name: issue for name, issue in found.items() if issue}, found


def test_the_languages_differ_where_a_student_reads():
    history = [{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.9, "test_accuracy": 0.9}]
    with speaking("nl"):
        dutch = texts(history_figure(history))
    with speaking("en"):
        english = texts(history_figure(history))
    assert "loss na elke epoch" in dutch and "loss per epoch" in english
    assert "90%" in dutch and "90%" in english  # accuracy axes are percentages in both


def test_ticks_follow_the_locale():
    with speaking("nl"):
        dutch = texts(curve_figure([1000, 60000], {"a": [0.25, 1.5]}, "x", "y", "t"))
    with speaking("en"):
        english = texts(curve_figure([1000, 60000], {"a": [0.25, 1.5]}, "x", "y", "t"))
    assert "60.000" in dutch and "60,000" in english
    assert any("," in text and text[0].isdigit() for text in dutch if text != "60.000")
