"""The report's part "Inside the models": what the networks look at, and how faithful those pictures are.

Numbers and pictures come from the checkpoints the lab kept (a sweep file's ``save_model``): the
SimpleNetwork's weight images (the course's setup and logits side by side), the most confident
mistakes of the CNN (or the MLP) with their attributions and a k-NN's neighbours, and deletion
curves on the first ``FAITHFULNESS_DIGITS`` test digits (digitlab.explain.deletion).
Every sentence is a key ``inside.*`` of the gettext catalogs of digitlab.i18n.
"""

from __future__ import annotations

from pathlib import Path

import torch

from digitlab.datasets import Dataset
from digitlab.experiments.store import Run, SweepRuns
from digitlab.explain import attribute, explain_knn_many, explainable_knn, faithfulness_by_method, weight_images
from digitlab.explain.figures import deletion_figure, mistakes_figure, weight_images_figure
from digitlab.inference import SavedNetwork, has_checkpoint, load_network, predict_proba
from digitlab.knn.threads import one_thread
from digitlab.report.blocks import Figures, Heading, Note, Table, Text, image
from digitlab.report.i18n import classes_of, number, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links

FAITHFULNESS_DIGITS = 100  # test digits per model for the deletion curves: seconds, not the benchmark's minutes (1,000)
MISTAKES = 4  # the most confident wrong answers shown
MISTAKE_METHOD = "integrated_gradients"  # the most faithful method for both networks in benchmarks/RESULTS.md
KNN_TRAIN = 20_000  # training digits the k-NN searches for the mistakes' neighbours (raw pixels, k=3)

ROLES = ("notebook", "logits", "mlp", "cnn")  # the part's roles; each has a label "inside.role.<role>" in the catalogs


def role_label(role: str) -> str:
    return str(t(f"inside.role.{role}"))


def method_name(method: str) -> str:
    return method.replace("_", " ")  # the methods keep their names in every language (captum's, the literature's)


def kept_network(sweep: SweepRuns | None) -> tuple[Run, SavedNetwork] | None:
    """The run of ``sweep`` whose checkpoint the lab kept (the checkpoint's test accuracy names the run), best run first."""
    if sweep is None:
        return None
    for run in sorted(sweep.runs, key=lambda run: -(run.value or 0.0)):
        folder = run.result.get("checkpoint")
        if not folder or not has_checkpoint(Path(folder)):
            continue
        saved = load_network(folder)
        if saved.metrics.get("test_accuracy") == run.metrics.get("test_accuracy"):  # later grid points overwrite the folder
            return run, saved
    return None


def no_checkpoint(inputs: Inputs, role: str) -> Note:
    return Note(t("inside.no_checkpoint", sweep=inputs.name(role), dataset=inputs.dataset.name))


def weights_blocks(inputs: Inputs, kept: dict[str, tuple[Run, SavedNetwork] | None]) -> list:
    blocks: list = [Heading(str(t("inside.weights_heading")))]
    present = [role for role in ("notebook", "logits") if kept.get(role)]
    if not present:
        return [*blocks, no_checkpoint(inputs, "notebook")]
    shape = inputs.dataset.image_shape
    panels = [(role_label(role), weight_images(kept[role][1].model, shape)) for role in present]
    values = {role: role_label(role) for role in ("notebook", "logits")}
    values |= {f"{role}_accuracy": inputs.links.accuracy(kept[role][0]) if kept.get(role) else "–" for role in ("notebook", "logits")}
    blocks.append(Text(t("inside.weights", **values)))
    blocks.append(Figures([image(weight_images_figure(panels, classes_of(inputs.dataset)), t("alt.weights"))]))
    return blocks + [no_checkpoint(inputs, role) for role in ("notebook", "logits") if not kept.get(role)]


def mistakes_blocks(dataset: Dataset, links: Links, run: Run, saved: SavedNetwork, label: str) -> list:
    test = dataset.test
    probabilities = predict_proba(saved.model, test.images)  # (N, classes)
    confidence, predicted = probabilities.max(dim=1)
    wrong = torch.nonzero(predicted != test.labels).flatten()
    chosen = wrong[confidence[wrong].argsort(descending=True)[:MISTAKES]]
    if not len(chosen):
        return []
    images = test.images[chosen]
    maps = attribute(saved.model, images, MISTAKE_METHOD, targets=predicted[chosen])
    train = dataset.train.head(KNN_TRAIN)
    names = classes_of(dataset)
    knn = explainable_knn(train.images, train.labels, classes=names)
    neighbours = explain_knn_many(knn, images)
    figure = mistakes_figure(images, test.labels[chosen], predicted[chosen], confidence[chosen], maps, neighbours, names, MISTAKE_METHOD)
    return [
        Heading(str(t("inside.mistakes_heading"))),
        Text(t("inside.mistakes", count=len(chosen), model=links.link(run, label), knn_train=number(len(train), 0))),
        Figures([image(figure, t("alt.mistakes", model=label))]),
    ]


def faithfulness_blocks(dataset: Dataset, links: Links, kept: dict[str, tuple[Run, SavedNetwork] | None]) -> list:
    test = dataset.test
    images, labels = test.images[:FAITHFULNESS_DIGITS], test.labels[:FAITHFULNESS_DIGITS]
    rows, sentences, pictures = [], [], []
    for role in ("logits", "mlp", "cnn"):
        if not kept.get(role):
            continue
        run, saved = kept[role]
        results = faithfulness_by_method(saved.model, images, labels)
        label = role_label(role)
        rows += [[links.link(run, label), method_name(result.method), number(result.area, 3), number(result.random_area, 3),
                  number(result.ratio)] for result in results]
        best = results[0]
        sentences.append(t("inside.most_faithful", model=label, method=method_name(best.method), area=number(best.area, 3),
                           random=number(best.random_area, 3)))
        pictures.append(image(deletion_figure(results, str(t("figure.deletion", model=label))), t("alt.deletion", model=label)))
    if not rows:
        return []
    return [
        Heading(str(t("inside.faithfulness_heading"))),
        Text(t("inside.faithfulness", digits=len(images))),
        Table([str(t(f"inside.column.{column}")) for column in ("model", "method", "area", "random", "ratio")], rows,
              caption=str(t("inside.table_caption", digits=len(images)))),
        *(Text(sentence) for sentence in sentences),
        Figures(pictures),
    ]


def inside_blocks(inputs: Inputs) -> list:
    """Roles: ``notebook`` and ``logits`` (SimpleNetwork sweeps), ``mlp`` and ``cnn`` (their kept checkpoints)."""
    with one_thread():  # a few hundred small images: on a shared 2-core CPU a second thread mostly waits (measured 8x slower)
        return _inside(inputs)


def _inside(inputs: Inputs) -> list:
    kept = {role: kept_network(inputs.sweep(role)) for role in ROLES}
    blocks = weights_blocks(inputs, kept)
    network = next((role for role in ("cnn", "mlp") if kept.get(role)), None)
    if network is None:
        return [*blocks, no_checkpoint(inputs, "cnn")]
    blocks += mistakes_blocks(inputs.dataset, inputs.links, *kept[network], role_label(network))
    return blocks + faithfulness_blocks(inputs.dataset, inputs.links, kept)
