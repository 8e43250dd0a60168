"""What each classifier looks at, and why it decides: attributions (captum), weights, features, neighbours.

A library area below the CLI, the web app and the report: functions return tensors, arrays and
dataclasses; :mod:`digitlab.explain.figures` draws them; nothing here prints.

    from digitlab.explain import explain_network, attribute, explainable_knn, explain_knn
    found = explain_network(saved.model, image)                 # scores, saliency (+ Grad-CAM), weights/units/features
    maps = attribute(saved.model, images, "integrated_gradients")  # (N, 28, 28)
    votes = explain_knn(explainable_knn(train.images, train.labels), image)  # neighbours, distances, votes
"""

from digitlab.explain.attribution import FAST_IG, FAST_METHODS, METHODS, AttributionConfig, attribute, methods_for
from digitlab.explain.deletion import DeletionCurve, Faithfulness, deletion_curve, faithfulness, faithfulness_by_method, random_order
from digitlab.explain.explanation import NetworkExplanation, explain_network
from digitlab.explain.features import FeatureMaps, feature_maps, filters
from digitlab.explain.neighbours import FittedKNN, NeighbourVotes, explain_knn, explain_knn_many, explainable_knn
from digitlab.explain.scores import ClassScores, class_scores
from digitlab.explain.units import ActiveUnits, WeightImages, active_units, weight_images

__all__ = [
    "FAST_IG",
    "FAST_METHODS",
    "METHODS",
    "ActiveUnits",
    "AttributionConfig",
    "ClassScores",
    "DeletionCurve",
    "Faithfulness",
    "FeatureMaps",
    "FittedKNN",
    "NeighbourVotes",
    "NetworkExplanation",
    "WeightImages",
    "active_units",
    "attribute",
    "class_scores",
    "deletion_curve",
    "explain_knn",
    "explain_knn_many",
    "explain_network",
    "faithfulness",
    "faithfulness_by_method",
    "feature_maps",
    "filters",
    "explainable_knn",
    "methods_for",
    "random_order",
    "weight_images",
]
