"""The models the web app serves: trained checkpoints and, on request, a k-NN fitted at startup.

Each becomes a :class:`~digitlab.web.answers.LoadedModel`, a small record with one function, ``predict_proba`` on
(N, 28, 28) uint8 images, so the app does not care whether a network or k-NN answers.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digitlab.datasets.catalog import CATALOG
from digitlab.errors import DigitlabError
from digitlab.web.answers import LoadedModel
from digitlab.web.explaining import knn_explainer, network_explainer

if TYPE_CHECKING:
    from digitlab.knn.pipeline import KNNPipelineConfig

log = logging.getLogger(__name__)

CHECKPOINT_MARKER = "checkpoint.json"  # digitlab.inference.checkpoint.MANIFEST: the file that commits a checkpoint
KNN_EVAL_LIMIT = 1000  # k-NN's accuracy on the page is measured on this many test images at startup


def from_checkpoint(path: Path, name: str | None = None) -> LoadedModel:
    """Load a trained network from its checkpoint folder (see ``digitlab train``)."""
    from digitlab.inference import load_network, predict_proba  # heavy (torch): import on use

    checkpoint = load_network(path)
    model = checkpoint.model
    num_classes = model.config.num_classes
    if checkpoint.classes and len(checkpoint.classes) != num_classes:  # the page names every output
        raise DigitlabError(f"checkpoint {path} names {len(checkpoint.classes)} classes for a network with {num_classes} outputs")
    dataset = checkpoint.dataset
    if dataset not in CATALOG:  # its drawings could not be prepared: the catalog says how
        raise DigitlabError(f"checkpoint {path} was trained on {dataset!r}, which is not in the dataset catalog "
                            f"({', '.join(CATALOG)}); register it first (digitlab.datasets.register)")
    if checkpoint.image_shape not in (None, CATALOG[dataset].image_shape):
        raise DigitlabError(f"checkpoint {path} was trained on {checkpoint.image_shape} images; "
                            f"{dataset}'s are {CATALOG[dataset].image_shape}")

    return LoadedModel(
        name=name or Path(path).name,
        kind=checkpoint.model_name,
        dataset=dataset,
        classes=tuple(checkpoint.classes) or tuple(str(label) for label in range(num_classes)),
        test_accuracy=checkpoint.metrics.get("test_accuracy"),
        num_parameters=checkpoint.num_parameters,
        predict_proba=partial(predict_proba, model),
        explain=network_explainer(model),
    )


def checkpoint_folders(models_dir: Path) -> list[Path]:
    """Every folder at or below ``models_dir`` that holds weights, in a stable order."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise DigitlabError(f"models folder {models_dir} does not exist; train a model first (digitlab train) or pass --models")
    return sorted(manifest.parent for manifest in models_dir.rglob(CHECKPOINT_MARKER))


def load_models_dir(models_dir: Path) -> list[LoadedModel]:
    """Load every checkpoint below ``models_dir``; broken ones are skipped with a warning."""
    models = []
    for folder in checkpoint_folders(models_dir):
        name = folder.relative_to(models_dir).as_posix() if folder != Path(models_dir) else folder.name
        try:
            models.append(from_checkpoint(folder, name=name))
        except Exception as error:  # noqa: BLE001 - one bad folder must not take the server down; one line says why
            log.warning("skipping checkpoint %s: %s", folder, " ".join(str(error).split()) or type(error).__name__)
    return models


def knn_model(dataset: str, train_limit: int | None, config: KNNPipelineConfig | None = None) -> LoadedModel:
    """The k-NN of ``config`` (default: the default k-NN) fitted on the first ``train_limit`` training images of
    ``dataset`` (seconds, not minutes)."""
    from digitlab.datasets import load
    from digitlab.explain import explainable_knn
    from digitlab.knn import KNNPipelineConfig, flatten_images

    config = config or KNNPipelineConfig()
    data = load(dataset).limit(train=train_limit, test=KNN_EVAL_LIMIT)
    # uint8 pixels, flattened: scaling every pixel by 1/255 changes no distance ranking nor the weight ratios.
    fitted = explainable_knn(data.train.images, data.train.labels, config, data.classes, device="auto")
    knn = fitted.pipeline
    accuracy = float(knn.score(flatten_images(data.test.images), data.test.labels.numpy()))
    columns = np.asarray(knn.classes_)  # the labels seen in training, in predict_proba's column order

    def probabilities(images: np.ndarray) -> np.ndarray:
        shares = np.zeros((len(images), data.num_classes))
        shares[:, columns] = knn.predict_proba(flatten_images(images))  # a class missing from a small train set gets 0
        return shares

    return LoadedModel(
        name=f"{dataset}-knn{config.n_neighbors}",
        kind="knn",
        dataset=dataset,
        classes=data.classes,
        test_accuracy=accuracy,
        num_parameters=None,
        predict_proba=probabilities,
        explain=knn_explainer(fitted),
    )
