"""How good are the predictions: metrics that return numbers and figures that return Figures.

>>> from digitlab.evaluation import accuracy, confusion_matrix, confusion_figure  # doctest: +SKIP
>>> cm = confusion_matrix(predicted, mnist.test.labels, num_classes=10)          # (10, 10) int64
>>> figure = confusion_figure(cm, mnist.classes, title="MLP on MNIST")
"""

from digitlab.evaluation.figures import confusion_figure, curve_figure, gallery_figure, history_figure, time_to_accuracy_figure
from digitlab.evaluation.metrics import (
    accuracy,
    classification_report,
    confusion_matrix,
    correct_and_incorrect,
    macro_accuracy,
    most_confident_mistakes,
)

__all__ = [
    "accuracy",
    "classification_report",
    "confusion_figure",
    "confusion_matrix",
    "correct_and_incorrect",
    "curve_figure",
    "gallery_figure",
    "history_figure",
    "time_to_accuracy_figure",
    "macro_accuracy",
    "most_confident_mistakes",
]
