"""The report's part on the data (the notebook's step 1), and pictures of a run's predictions."""

from __future__ import annotations

import torch

from digitlab.datasets import Dataset
from digitlab.evaluation import correct_and_incorrect, gallery_figure
from digitlab.experiments.runner import decode_predictions
from digitlab.experiments.store import Run
from digitlab.exploration import class_count_chart, pixel_matrix, sample_grid
from digitlab.report.blocks import Figures, Note, Pre, Table, Text, image
from digitlab.report.i18n import classes_of, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, count, dataset_title, items, percent, target

GALLERY_SIZE = 9  # the notebook shows 3 x 3 right and 3 x 3 wrong predictions
SAMPLE_SEED = 0  # the same sample grid in every report
SAME_ACCURACY = 1e-6  # re-scored predictions must give the stored accuracy, or they belong to other data


def data_blocks(inputs: Inputs) -> list:
    """Sizes, a grid of samples, images per class, and one image as the matrix of numbers it is (no sweeps)."""
    dataset = inputs.dataset
    height, width = dataset.image_shape
    grid, indices = sample_grid(dataset.train, classes_of(dataset), seed=SAMPLE_SEED)
    last = indices[-1]  # the notebook prints the bottom-right image of its grid
    train_counts = dataset.train.class_counts(dataset.num_classes).tolist()
    test_counts = dataset.test.class_counts(dataset.num_classes).tolist()
    rows = [[t("figure.train"), *map(count, train_counts)], [t("figure.test"), *map(count, test_counts)]]
    counts = Table([t("head.class"), *classes_of(dataset)], rows, caption=t("caption.per_class"))
    balanced = "data.equal" if min(train_counts) == max(train_counts) else "data.balanced"
    return [
        Text(t("data.sizes", name=dataset_title(dataset.name), train=count(len(dataset.train)), test=count(len(dataset.test)),
               height=height, width=width, pixels=height * width, classes=dataset.num_classes, source=dataset.source,
               items=items(dataset.name))),
        *validation_blocks(inputs),
        Figures([image(grid, t("alt.samples", name=dataset.name)), image(class_count_chart(dataset), t("alt.per_class", name=dataset.name))]),
        Text(t(balanced, smallest=count(min(train_counts)), largest=count(max(train_counts)), classes=dataset.num_classes,
               share=target(1 / dataset.num_classes))),
        counts,
        Pre(pixel_matrix(dataset.train.images[last], scale=False),  # bytes: 3 characters a pixel keep 28 columns readable
            caption=t("data.matrix", index=last, label=classes_of(dataset)[int(dataset.train.labels[last])], pixels=height * width)),
    ]


def validation_blocks(inputs: Inputs) -> list:
    """Said once for the whole page: how many images the networks train, validate and test on, what "chosen on
    validation accuracy" means, and what a seed changes. Read from a run of the part's ``network`` sweep (its spec's
    validation size, its training and test sizes), so a quick lab's page gives its own numbers."""
    sweep = inputs.sweep("network")
    run = sweep.runs[0] if sweep is not None and sweep.runs else None
    if run is None or run.spec is None:
        return []
    validation = run.spec.validation_size
    train, test = run.metrics.get("train_size"), run.metrics.get("test_size")
    if not validation or train is None or test is None:
        return []
    return [Text(t("data.validation", train=count(train), validation=count(validation), test=count(test))),
            Text(t("data.seeds"))]


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
        return [Note(t("gallery.none", run=run.id))]
    test = dataset.test.head(len(predicted))
    right, wrong = correct_and_incorrect(predicted, test.labels)
    stored = run.metrics.get("test_accuracy")
    if stored is not None and abs(len(right) / len(predicted) - stored) > SAME_ACCURACY:
        return [Note(t("gallery.mismatch", run=run.id, dataset=dataset.name, here=percent(len(right) / len(predicted)), stored=percent(stored)))]
    pictures = []
    for chosen, what in ((right, "right"), (wrong, "wrong")):
        figure = gallery_figure(test.images, predicted, test.labels, classes_of(dataset), chosen[:GALLERY_SIZE],
                                title=str(t(f"figure.gallery_{what}", model=model)))
        pictures.append(image(figure, t(f"alt.gallery_{what}", model=model, size=GALLERY_SIZE)))
    return [
        Text(t("gallery.counts", model=model, right=links.link(run, count(len(right))), total=count(len(predicted)),
               wrong=links.link(run, count(len(wrong))))),
        Figures(pictures),
    ]
