"""The report's part "Inside the models": what the networks look at, and how faithful those pictures are.

Numbers and pictures come from the checkpoints the lab kept (a sweep file's ``save_model``): the
SimpleNetwork's weight images (the course's setup and logits side by side), the most confident
mistakes of the CNN (or the MLP) with their attributions and a k-NN's neighbours, and deletion
curves on the first ``FAITHFULNESS_DIGITS`` test digits (digitlab.explain.deletion).
Every sentence is in ``TEXT`` so that a translated report can replace them in one place.
"""

from __future__ import annotations

from pathlib import Path

import torch
from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.experiments.store import Run
from digitlab.explain import attribute, explain_knn_many, faithfulness_by_method, fit_knn, weight_images
from digitlab.explain.figures import deletion_figure, mistakes_figure, weight_images_figure
from digitlab.inference import SavedNetwork, has_checkpoint, load_network, predict_proba
from digitlab.knn.threads import one_thread
from digitlab.report.blocks import Figures, Heading, Note, Table, Text, image
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links
from digitlab.report.select import SweepRuns

FAITHFULNESS_DIGITS = 200  # test digits per model for the deletion curves: seconds, not the benchmark's minutes (1,000)
MISTAKES = 4  # the most confident wrong answers shown
MISTAKE_METHOD = "integrated_gradients"  # the most faithful method for both networks in benchmarks/RESULTS.md
KNN_TRAIN = 20_000  # training digits the k-NN searches for the mistakes' neighbours (raw pixels, k=3)

TEXT = {
    "weights_heading": "What the single layer learned",
    "weights": "Each of the SimpleNetwork's ten output neurons computes a weighted sum of the 784 pixels. Its weights, drawn as a "
               "28x28 image (red: ink here counts for the class, blue: against), show what it looks for: a blurred template of "
               "the class. Top row: {notebook} (test accuracy {notebook_accuracy}); bottom row: {logits} ({logits_accuracy}).",
    "notebook_label": "the course's setup (sigmoid outputs)",
    "logits_label": "logits into CrossEntropyLoss",
    "mistakes_heading": "The most confident mistakes",
    "mistakes": "The {count} test digits {model} got wrong with the highest confidence, with the integrated-gradients map for "
                "its (wrong) answer and the 3 training digits nearest to each (a k-NN on {knn_train:,} training digits, raw pixels). "
                "Where the neighbours share the network's wrong answer the digit really looks like that class; where they "
                "carry the true label, the network missed something a template match sees.",
    "faithfulness_heading": "How faithful are these pictures?",
    "faithfulness": "An attribution map claims that some pixels matter more than others. Deleting (blacking out) the pixels it ranks "
                    "highest, 2.5% of the image at a time, should make the accuracy fall faster than deleting pixels in a random "
                    "order. The table gives the area under that deletion curve (the mean accuracy over 0-50% deleted; lower is "
                    "more faithful) on the first {digits} test digits; the ratio compares it with the random order. "
                    "benchmarks/RESULTS.md has the same measurement on 1,000 digits.",
    "most_faithful": "Most faithful for {model}: {method} (area {area} against {random} for a random order).",
    "no_checkpoint": "No checkpoint of sweep <code>{sweep}</code> is kept here: the lab keeps one when the sweep file says "
                     "<code>save_model = true</code> (<code>digitlab lab --dataset {dataset}</code>, not <code>--quick</code>).",
    "table_header": ["model", "method", "deletion area", "random order", "ratio"],
    "table_caption": "Deletion curves on the first {digits} test digits (lower = more faithful)",
}

ROLE_LABELS = {"notebook": "SimpleNetwork (course setup)", "logits": "SimpleNetwork (logits)", "mlp": "MLP", "cnn": "CNN"}


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
    return Note(Markup(TEXT["no_checkpoint"]).format(sweep=inputs.name(role), dataset=inputs.dataset.name))


def weights_blocks(inputs: Inputs, kept: dict[str, tuple[Run, SavedNetwork] | None]) -> list:
    blocks: list = [Heading(TEXT["weights_heading"])]
    present = [role for role in ("notebook", "logits") if kept.get(role)]
    if not present:
        return [*blocks, no_checkpoint(inputs, "notebook")]
    shape = inputs.dataset.image_shape
    panels = [(TEXT[f"{role}_label"], weight_images(kept[role][1].model, shape)) for role in present]
    values = {role: TEXT[f"{role}_label"] for role in ("notebook", "logits")}
    values |= {f"{role}_accuracy": inputs.links.accuracy(kept[role][0]) if kept.get(role) else "–" for role in ("notebook", "logits")}
    blocks.append(Text(Markup(TEXT["weights"]).format(**values)))
    blocks.append(Figures([image(weight_images_figure(panels, inputs.dataset.classes), "the SimpleNetwork's weight images per class")]))
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
    knn = fit_knn(train.images, train.labels, classes=dataset.classes)
    neighbours = explain_knn_many(knn, images)
    figure = mistakes_figure(images, test.labels[chosen], predicted[chosen], confidence[chosen], maps, neighbours, dataset.classes, MISTAKE_METHOD)
    return [
        Heading(TEXT["mistakes_heading"]),
        Text(Markup(TEXT["mistakes"]).format(count=len(chosen), model=links.link(run, label), knn_train=len(train))),
        Figures([image(figure, f"{label}: its most confident mistakes, their attributions and nearest training digits")]),
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
        label = ROLE_LABELS[role]
        rows += [[links.link(run, label), result.method.replace("_", " "), f"{result.area:.3f}", f"{result.random_area:.3f}",
                  f"{result.ratio:.2f}"] for result in results]
        best = results[0]
        sentences.append(TEXT["most_faithful"].format(model=label, method=best.method.replace("_", " "), area=f"{best.area:.3f}",
                                                      random=f"{best.random_area:.3f}"))
        pictures.append(image(deletion_figure(results, f"{label}: deletion curves"), f"{label}: accuracy as attributed pixels are deleted"))
    if not rows:
        return []
    return [
        Heading(TEXT["faithfulness_heading"]),
        Text(TEXT["faithfulness"].format(digits=len(images))),
        Table(TEXT["table_header"], rows, caption=TEXT["table_caption"].format(digits=len(images))),
        *(Text(sentence) for sentence in sentences),
        Figures(pictures),
    ]


def inside_blocks(inputs: Inputs) -> list:
    """Roles: ``notebook`` and ``logits`` (SimpleNetwork sweeps), ``mlp`` and ``cnn`` (their kept checkpoints)."""
    with one_thread():  # a few hundred small images: on a shared 2-core CPU a second thread mostly waits (measured 8x slower)
        return _inside(inputs)


def _inside(inputs: Inputs) -> list:
    kept = {role: kept_network(inputs.sweep(role)) for role in ("notebook", "logits", "mlp", "cnn")}
    blocks = weights_blocks(inputs, kept)
    network = next((role for role in ("cnn", "mlp") if kept.get(role)), None)
    if network is None:
        return [*blocks, no_checkpoint(inputs, "cnn")]
    blocks += mistakes_blocks(inputs.dataset, inputs.links, *kept[network], ROLE_LABELS[network])
    return blocks + faithfulness_blocks(inputs.dataset, inputs.links, kept)
