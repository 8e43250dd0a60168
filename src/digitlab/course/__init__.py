"""What the companion notebook uses, in one public module: the course's data, runs, checks and figures.

The notebook's first cell imports a handful of these names; later cells import what they show where they
show it. The experiments of the course are one call per run (:func:`train_and_score`,
:func:`knn_and_score`): the loop over the settings and the results table are the student's.
"""

from digitlab.course.checks import CHECKS, CheckFailed, check, verdict
from digitlab.course.facts import facts, published, recommended
from digitlab.course.pipeline import train_model
from digitlab.course.placeholder import filled_in, todo
from digitlab.course.runs import Score, course_data, knn_and_score, quick, run_log, train_and_score
from digitlab.course.table import show_table
from digitlab.datasets import one_hot, to_features, train_validation_split
from digitlab.evaluation import (
    accuracy,
    confusion_figure,
    confusion_matrix,
    correct_and_incorrect,
    gallery_figure,
    history_figure,
    most_confident_mistakes,
)
from digitlab.exploration import class_count_chart, pixel_matrix, sample_grid
from digitlab.inference import load_network, predict_labels, predict_proba
from digitlab.knn import KNNClassifier, flatten_images
from digitlab.models import build, summary
from digitlab.robustness.evaluate import robustness_table
from digitlab.robustness.figures import example_figure, robustness_figure

load = course_data  # `load("fashion-mnist")` in the notebook: the dataset as the course uses it (small in the quick mode)

__all__ = ["CHECKS", "CheckFailed", "KNNClassifier", "Score", "accuracy", "build", "check", "class_count_chart",
           "confusion_figure", "confusion_matrix", "correct_and_incorrect", "course_data", "example_figure", "facts", "filled_in",
           "flatten_images", "gallery_figure", "history_figure", "knn_and_score", "load", "load_network",
           "most_confident_mistakes", "one_hot", "pixel_matrix", "predict_labels", "predict_proba",
           "published", "quick", "recommended", "robustness_figure", "robustness_table", "run_log", "sample_grid", "show_table",
           "summary", "to_features", "todo", "train_and_score", "train_model", "train_validation_split", "verdict"]
