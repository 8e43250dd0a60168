"""The Verdieping on k-NN: preprocessing (deskewing, PCA) and the most accurate setting beside published results.

The main line (report/knn.py) answers Opdracht 3 on raw pixels, as the course asks it; these steps go beyond
semester 4, so they are worked out at the end of the page, linked from the k-NN part. The published results
come from the dataset's catalog entry (``knn_references``): LeCun's table for MNIST, Zalando's benchmark for
Fashion-MNIST.
"""

from __future__ import annotations

from markupsafe import Markup

from digitlab.datasets.catalog import CATALOG
from digitlab.experiments.store import Run, SweepRuns, config_value
from digitlab.report.blocks import Table, Text
from digitlab.report.i18n import number, sweep_description, t
from digitlab.report.inputs import Inputs
from digitlab.report.knn import knn_settings
from digitlab.report.links import Links, accuracy_percent, percent, spec_data
from digitlab.report.tables import accuracy_and_time, pivot

PCA = "knn_config.pca"
DESKEW = "knn_config.deskew"


def knn_further(inputs: Inputs) -> list:
    """Roles: ``preprocess`` (PCA x deskewing) and ``best`` (the most accurate setting)."""
    blocks: list = []
    preprocess, best = inputs.sweep("preprocess"), inputs.sweep("best")
    blocks += preprocess_blocks(preprocess, inputs.links) if preprocess is not None else [inputs.not_run("preprocess")]
    return blocks + (best_blocks(best, inputs.links, inputs.dataset.name) if best is not None else [inputs.not_run("best")])


def preprocess_words(run: Run) -> str:
    """'PCA 50, rechtgezet' / 'ruwe pixels'."""
    pca, deskew = config_value(run.config, PCA), config_value(run.config, DESKEW)
    words = ([str(t("knn.step.pca", components=pca))] if pca else []) + ([str(t("knn.step.deskew"))] if deskew else [])
    return ", ".join(words) or str(t("knn.step.raw"))


def preprocess_blocks(sweep: SweepRuns, links: Links) -> list:
    best = sweep.best()
    blocks: list = [Text(sweep_description(sweep.name, sweep.description))]
    if PCA in sweep.grid and DESKEW in sweep.grid:
        blocks.append(pivot(sweep, PCA, DESKEW, accuracy_and_time(links, predict=True), caption=t("caption.preprocess")))
    blocks.append(Text(t("knn.preprocess_best", settings=preprocess_words(best), accuracy=links.accuracy(best), time=links.predict_time(best))))
    return blocks


def steps_of(options: dict) -> list[str]:
    """What the most accurate setting does to the images, in order, in the report's language."""
    shifts, zoom = int(options.get("shifts", 0)), float(options.get("zoom", 1.0))
    steps = [(t("knn.step.deskew"), options.get("deskew")),
             (t("knn.step.blur", sigma=number(float(options.get("blur") or 0), 1)), options.get("blur")),
             (t("knn.step.shifts", pixels=shifts, copies=(2 * shifts + 1) ** 2), shifts),
             (t("knn.step.zoom", factor=number(zoom, 2)), zoom != 1),
             (t("knn.step.pca", components=options.get("pca")), options.get("pca")),
             (t("knn.step.distortion", candidates=options.get("candidates"), pixels=options.get("distortion")), options.get("distortion"))]
    return [str(text) for text, used in steps if used]


def best_blocks(sweep: SweepRuns, links: Links, dataset: str) -> list:
    """The best k-NN setting (chosen on validation), what each of its steps does, and the published k-NN results."""
    best = sweep.best()
    options = spec_data(best)["knn_config"]  # as it ran
    steps = ", ".join(steps_of(options)) or str(t("knn.step.raw"))
    validated = best.metrics.get("val_accuracy") is not None  # a run that held nothing out has no validation score to give
    blocks: list = [Text(t("knn.most_accurate", description=sweep_description(sweep.name, sweep.description), steps=steps,
                           settings=knn_settings(best), accuracy=links.accuracy(best),
                           validation=t("knn.validation", value=links.metric(best, "val_accuracy")) if validated else "",
                           fit=links.train_time(best), predict=links.predict_time(best)))]
    entry = CATALOG.get(dataset)
    if entry is None or not entry.knn_references:
        return blocks
    rows: list[tuple[float, list]] = [(value, [t(f"knn.reference.{dataset}.{index}", default=name), percent(value), ""])
                                      for index, (name, value) in enumerate(entry.knn_references)]  # the catalog's names, translated
    rows.append(((accuracy_percent(best) or 0.0) / 100,
                 [Markup("<strong>digitlab: {}</strong>").format(steps), links.accuracy(best), links.predict_time(best)]))
    return [*blocks, Table(["k-NN", t("head.test_accuracy"), t("head.predict")], [row for _, row in sorted(rows, key=lambda item: item[0])],
                           caption=t(f"caption.references.{entry.knn_reference_source}"))]
