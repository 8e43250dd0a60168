"""How accuracy falls when the test set changes: every model scored on shifted, turned, noisy... digits.

The notebook's claim is that a CNN copes with digits that are moved, turned or scaled better than
a network that sees pixels as one flat list (an MLP) or a pixel-distance method (k-NN). This
module measures it: each transform is applied **once** per strength to the whole test split
(batched, from one seed), so every model is scored on exactly the same changed images.

A *predictor* is any function ``(N, 28, 28) uint8 images -> (N,) int64 labels``; build one from a
checkpoint with :func:`checkpoint_predictor` or a k-NN with :func:`knn_predictor`.

>>> predictors = {"mlp": checkpoint_predictor(load_network("runs/mlp"))}   # doctest: +SKIP
>>> rows = robustness_table(predictors, load("mnist").test, transforms=("shift", "rotate"))
>>> rows[0]
{'model': 'mlp', 'transform': 'shift', 'strength': 0.0, 'accuracy': 0.981}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from digitlab.datasets import Dataset, Split
from digitlab.evaluation.metrics import accuracy
from digitlab.images.transforms import IDENTITY_STRENGTH, STRENGTHS, TRANSFORMS, apply
from digitlab.inference import predict_labels
from digitlab.knn.classifier import flatten_images
from digitlab.knn.pipeline import QUICK_TRAIN_LIMIT, KNNPipelineConfig, fit_knn

Predictor = Callable[[torch.Tensor], torch.Tensor]
StepHook = Callable[[str, float], None]

DEFAULT_TRANSFORMS = ("shift", "rotate", "scale", "invert", "noise", "elastic")


def parse_transforms(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"shift, rotate"`` (or a list of names) -> ``("shift", "rotate")``; unknown names fail, naming them."""
    names = [name.strip().lower() for name in (text.split(",") if isinstance(text, str) else text)]
    names = [name for name in names if name]
    if not names:
        raise ValueError(f"no transform named in {text!r}; choose from {', '.join(TRANSFORMS)}")
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown transform {unknown[0]!r}; choose from {', '.join(TRANSFORMS)} (comma separated)")
    return tuple(dict.fromkeys(names))


def checkpoint_predictor(checkpoint) -> Predictor:
    """Labels from a loaded checkpoint's network (:func:`digitlab.inference.load_network`; batched, eval mode)."""
    return lambda images: predict_labels(checkpoint.model, images)


def knn_predictor(
    dataset: Dataset, train_limit: int | None = QUICK_TRAIN_LIMIT, config: KNNPipelineConfig | None = None,
) -> Predictor:
    """The k-NN of ``config`` (default: the default k-NN) fitted to the first ``train_limit`` training images (all when None)."""
    reference = dataset.train.head(train_limit)
    model = fit_knn(reference.images, reference.labels, config)
    return lambda images: torch.as_tensor(np.asarray(model.predict(flatten_images(images))), dtype=torch.int64)


def sweep_strengths(
    transforms: Sequence[str], strengths: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, tuple[float, ...]]:
    """The strengths to try per transform: ``strengths[name]`` where given, else :data:`STRENGTHS`."""
    chosen = {}
    for name in parse_transforms(transforms):
        values = tuple(float(value) for value in (strengths or {}).get(name, STRENGTHS[name]))
        if not values:
            raise ValueError(f"transform {name!r} needs at least one strength")
        chosen[name] = values
    return chosen


def changed_test_sets(
    images: torch.Tensor, strengths: Mapping[str, Sequence[float]], seed: int = 0,
) -> Iterator[tuple[str, float, torch.Tensor]]:
    """``(transform, strength, changed images)`` for every step of a sweep, one batch call each.

    Every strength of a transform uses the same ``seed``, so a digit keeps its shift direction or
    turning sign as the strength grows: the curve follows the same changes, only stronger. The
    identity strength gives the untouched images (the clean accuracy every curve starts from).
    """
    for name, values in strengths.items():
        for strength in values:
            same = strength == IDENTITY_STRENGTH[name]
            yield name, strength, images if same else apply(name, images, strength, seed=seed)


def _labels(predictor: Predictor, images: torch.Tensor, model: str) -> torch.Tensor:
    """A predictor's answer as (N,) int64 on the CPU, or an error naming the model that broke the contract."""
    answer = predictor(images)
    predicted = (answer if isinstance(answer, torch.Tensor) else torch.as_tensor(np.asarray(answer))).cpu()
    if predicted.shape != (len(images),):
        raise ValueError(f"predictor {model!r} returned shape {tuple(predicted.shape)} for {len(images)} images; expected ({len(images)},)")
    return predicted.to(torch.int64)


def robustness_table(
    predictors: Mapping[str, Predictor],
    split: Split,
    transforms: Sequence[str] = DEFAULT_TRANSFORMS,
    strengths: Mapping[str, Sequence[float]] | None = None,
    seed: int = 0,
    on_step: StepHook | None = None,
) -> list[dict]:
    """Accuracy of every predictor on ``split`` changed by every transform at every strength.

    Returns one row per (transform, strength, model), in sweep order:
    ``{"model": name, "transform": name, "strength": float, "accuracy": float}``.
    ``on_step(transform, strength)`` is called after each changed set is scored (progress bars).
    """
    if not predictors:
        raise ValueError("robustness_table needs at least one predictor")
    if len(split) == 0:
        raise ValueError("cannot measure robustness on an empty split")
    rows = []
    clean: dict[str, float] = {}  # every sweep starts from the untouched images: score them once per model
    for name, strength, images in changed_test_sets(split.images, sweep_strengths(transforms, strengths), seed):
        for model, predictor in predictors.items():
            if images is split.images and model in clean:
                score = clean[model]
            else:
                score = accuracy(_labels(predictor, images, model), split.labels)
                if images is split.images:
                    clean[model] = score
            rows.append({"model": model, "transform": name, "strength": strength, "accuracy": score})
        if on_step is not None:
            on_step(name, strength)
    return rows


def accuracy_grid(rows: Sequence[dict]) -> dict[str, dict[str, dict[float, float]]]:
    """Rows -> ``grid[transform][model][strength] = accuracy`` (for tables and plots)."""
    grid: dict[str, dict[str, dict[float, float]]] = {}
    for row in rows:
        grid.setdefault(row["transform"], {}).setdefault(row["model"], {})[row["strength"]] = row["accuracy"]
    return grid


def mean_accuracy(rows: Sequence[dict]) -> dict[str, dict[str, float]]:
    """``summary[model][transform]`` = accuracy averaged over the sweep's strengths: one number per cell."""
    summary: dict[str, dict[str, float]] = {}
    for transform, models in accuracy_grid(rows).items():
        for model, by_strength in models.items():
            summary.setdefault(model, {})[transform] = sum(by_strength.values()) / len(by_strength)
    return summary


def first_of_class(split: Split, label: int) -> int:
    """Index of the first test image of class ``label`` (the notebook shows a 3), or 0 when there is none."""
    matches = torch.nonzero(split.labels == label).flatten()
    return int(matches[0]) if len(matches) else 0
