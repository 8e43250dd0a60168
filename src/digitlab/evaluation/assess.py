"""One model's test predictions assessed the way ``digitlab evaluate`` shows them: numbers and figures, as data.

The caller predicts (any model: a network's probabilities, or one-hot rows for k-NN) and renders
(prints the table, writes the PNGs); this module only computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from matplotlib.figure import Figure

from digitlab.datasets import Split
from digitlab.evaluation.figures import confusion_figure, gallery_figure, history_figure
from digitlab.evaluation.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    correct_and_incorrect,
    macro_accuracy,
    most_confident_mistakes,
)
from digitlab.i18n import current

GALLERY_SIZE = 9  # a 3x3 grid, as in the notebook


@dataclass
class Assessment:
    """Accuracies, the per-class report and the figures of one model on one test split."""

    accuracy: float  # micro: the fraction of all test images classified correctly
    macro_accuracy: float  # the mean of the per-class accuracies (torchmetrics' MulticlassAccuracy default)
    report: dict[str, Any]  # classification_report: precision, recall, f1, support per class
    test_images: int
    figures: dict[str, Figure] = field(repr=False)  # file name -> figure: confusion, galleries, curves

    def metrics(self) -> dict[str, Any]:
        """What evaluation.json holds."""
        return {"accuracy": self.accuracy, "macro_accuracy": self.macro_accuracy, "test_images": self.test_images,
                "report": self.report}


def assess(probabilities: torch.Tensor, test: Split, classes: tuple[str, ...], title: str,
           history: list[dict[str, Any]] | None = None) -> Assessment:
    """Assess (N, classes) ``probabilities`` for ``test``: metrics, confusion matrix, galleries, learning curves."""
    labels, predicted = test.labels, probabilities.argmax(dim=1)
    right, wrong = correct_and_incorrect(predicted, labels)
    mistakes = most_confident_mistakes(probabilities, labels, GALLERY_SIZE)
    tr = current()  # the figures' words; ``classes`` and ``title`` come in the same language
    figures = {
        "confusion.png": confusion_figure(confusion_matrix(predicted, labels, len(classes)), classes, tr("figure.confusion_title", title=title)),
        "correct.png": gallery_figure(test.images, predicted, labels, classes, right[:GALLERY_SIZE], tr("figure.correctly_predicted")),
        "incorrect.png": gallery_figure(test.images, predicted, labels, classes, wrong[:GALLERY_SIZE], tr("figure.incorrectly_predicted")),
        "mistakes.png": gallery_figure(test.images, predicted, labels, classes, mistakes, tr("figure.confident_mistakes")),
    }
    if history:
        figures["curves.png"] = history_figure(history)
    return Assessment(accuracy(predicted, labels), macro_accuracy(predicted, labels, len(classes)),
                      classification_report(predicted, labels, len(classes)), len(labels), figures)
