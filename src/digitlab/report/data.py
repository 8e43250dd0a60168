"""The report's part on the data (the notebook's step 1), and pictures of a run's predictions."""

from __future__ import annotations

import torch

from digitlab.datasets import Dataset
from digitlab.evaluation import correct_and_incorrect, gallery_figure
from digitlab.evaluation.scores import decode_predictions
from digitlab.experiments.store import Run
from digitlab.exploration import class_count_chart, pixel_matrix, sample_grid
from digitlab.report.blocks import Figures, Note, Pre, Table, Text, image
from digitlab.report.i18n import t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, count, dataset_title, target

GALLERY_SIZE = 9  # the notebook shows 3 x 3 right and 3 x 3 wrong predictions
SAMPLE_SEED = 0  # the same sample grid in every report
SAME_ACCURACY = 1e-6  # re-scored predictions must give the stored accuracy, or they belong to other data


def data_blocks(inputs: Inputs) -> list:
    """Sizes, a grid of samples, images per class, and one image as the matrix of numbers it is (no sweeps)."""
    dataset = inputs.dataset
    height, width = dataset.image_shape
    grid, indices = sample_grid(dataset.train, dataset.classes, seed=SAMPLE_SEED)
    last = indices[-1]  # the notebook prints the bottom-right image of its grid
    train_counts = dataset.train.class_counts(dataset.num_classes).tolist()
    test_counts = dataset.test.class_counts(dataset.num_classes).tolist()
    rows = [[t("figure.train"), *map(count, train_counts)], [t("figure.test"), *map(count, test_counts)]]
    counts = Table([t("head.class"), *dataset.classes], rows, caption=t("caption.per_class"))
    return [
        Text(t("data.sizes", name=dataset_title(dataset.name), train=count(len(dataset.train)), test=count(len(dataset.test)),
               height=height, width=width, pixels=height * width, classes=dataset.num_classes, source=dataset.source)),
        Figures([image(grid, t("alt.samples", name=dataset.name)), image(class_count_chart(dataset), t("alt.per_class", name=dataset.name))]),
        Text(t("data.balanced", smallest=count(min(train_counts)), largest=count(max(train_counts)), classes=dataset.num_classes,
               share=target(1 / dataset.num_classes))),
        counts,
        Pre(pixel_matrix(dataset.train.images[last], scale=False),  # bytes: 3 characters a pixel keep 28 columns readable
            caption=t("data.matrix", index=last, label=dataset.classes[int(dataset.train.labels[last])], pixels=height * width)),
    ]


def test_predictions(run: Run, dataset: Dataset) -> torch.Tensor | None:
    """The run's predicted class per test image (int64), or None when missing or not of this test set."""
    predicted = decode_predictions(run.result.get("test_predictions"))
    if predicted is None or len(predicted) > len(dataset.test) or int(predicted.max()) >= dataset.num_classes:
        return None
    return predicted


def gallery_blocks(run: Run, dataset: Dataset, links: Links, model: str) -> list:
    """The notebook's step 4: how many test images are right and wrong, and nine of each."""
    predicted = test_predictions(run, dataset)
    if predicted is None:
        return [Note(f"Run {run.id} stored no per-image predictions for this test set, so no gallery.")]
    test = dataset.test.head(len(predicted))
    right, wrong = correct_and_incorrect(predicted, test.labels)
    stored = run.metrics.get("test_accuracy")
    if stored is not None and abs(len(right) / len(predicted) - stored) > SAME_ACCURACY:
        return [Note(f"Run {run.id}'s predictions do not match this {dataset.name} test set "
                     f"({len(right) / len(predicted):.2%} right here, {stored:.2%} when it ran), so no gallery.")]
    pictures = []
    for chosen, what in ((right, "right"), (wrong, "wrong")):
        figure = gallery_figure(test.images, predicted, test.labels, dataset.classes, chosen[:GALLERY_SIZE],
                                title=f"{model}: {what}")
        pictures.append(image(figure, t(f"alt.gallery_{what}", model=model, size=GALLERY_SIZE)))
    return [
        Text(t("gallery.counts", model=model, right=links.link(run, count(len(right))), total=count(len(predicted)),
               wrong=links.link(run, count(len(wrong))))),
        Figures(pictures),
    ]
