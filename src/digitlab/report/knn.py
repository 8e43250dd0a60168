"""The report's part on k-NN on the same images (Opdracht 3), and how its cost compares."""

from __future__ import annotations

import itertools

import numpy as np
from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.evaluation import confusion_figure, curve_figure
from digitlab.experiments.store import Run, SweepRuns, config_value
from digitlab.i18n import current
from digitlab.report.blocks import Answer, Figures, Heading, Table, Text, further_link, image
from digitlab.report.i18n import classes_of, number, sweep_description, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import (
    Links,
    accuracy_percent,
    count,
    describe,
    model_settings,
    percent,
    run_setting,
    seconds,
    setting_phrase,
    target,
    train_seconds,
)
from digitlab.report.networks import confusion_of
from digitlab.report.tables import described, reach_sentence
from digitlab.report.timing import timings_comparable

K = "knn_config.n_neighbors"
TRAIN_LIMIT = "train_limit"
LARGE_IMAGE = (1920, 1080)  # the notebook's "plaatjes van 1920x1080 pixels"
COLOUR_CHANNELS = 3  # a colour photo: red, green and blue per pixel, three times the numbers of a grey image
FLOAT_BYTES = 4  # a weight as a 32-bit float
DENSE_UNITS = 512  # the course's first hidden layer, when no tuned MLP ran
NETWORKS = (("simple", "SimpleNetwork"), ("mlp", "MLP (tuned)"), ("cnn", "CNN"))  # roles of the networks k-NN is timed against
REFERENCE_NETWORK = "mlp"  # the role of the network k-NN's times are set against in words
SLOWER = 2.0  # k-NN predicting at least this many times as long as the network counts as "the work is at prediction"
KNN_TARGET = 0.97  # "Als het goed is, kun je nu tot zo'n 97% komen"
CONFUSION_WIDTH = 680  # CSS pixels: the heatmap at about 90% of its size keeps its counts readable
PER_IMAGE_MS_DIGITS = 3  # one image's predict time: 0,383 ms


def knn_blocks(inputs: Inputs) -> list:
    """Roles: ``grid`` (k x weighting x distance), ``scaling`` (training-set sizes), and the networks of NETWORKS; the
    preprocessing and the most accurate setting (``preprocess``, ``best``) are in the Verdieping (report/knn_further.py).
    The sections say what each measurement shows; the answer says what the notebook asks, in its own sentences."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep, scaling = inputs.sweep("grid"), inputs.sweep("scaling")
    answer, short = [], ""
    blocks.append(Heading(t("heading.knn_grid")))
    if sweep is None:
        blocks.append(inputs.not_run("grid"))
    else:
        best = sweep.best()
        short = t("short.knn", accuracy=links.accuracy(best), settings=describe(best, sweep.grid), train=links.metric(best, "train_size", count),
                  test=links.metric(best, "test_size", count))
        blocks += grid_blocks(sweep, links) + [Text(best_sentence(best, links))] + confusion_blocks(best, dataset, links)
        blocks += [Heading(t("heading.knn_time")), *timing_blocks(best, inputs, links)]
        answer.append(versus_sentence(best, inputs, links))
    blocks.append(Heading(t("heading.knn_scaling")))
    blocks += scaling_blocks(scaling, links, dataset) if scaling else [inputs.not_run("scaling")]
    if scaling is None:
        answer.append(t("knn.scaling_not_run", dataset=dataset.name))
    if sweep is not None:
        reach = reach_sentence(described(sweep, dataset), KNN_TARGET, links, by_predict=True)
        answer.append(Markup("<strong>{}?</strong> {}").format(target(KNN_TARGET), reach))
    most = inputs.sweep("best")
    if most is not None:
        answer.append(t("knn.further", accuracy=links.accuracy(most.best())) + " " + further_link("knn"))
    blocks.append(Answer(t("question.knn"), answer, short=short))
    blocks += [Heading(t("heading.large_images"))] + large_image_blocks(inputs)
    return blocks


def versus_sentence(knn: Run, inputs: Inputs, links: Links) -> Markup:
    """k-NN beside each network that ran: test accuracy and predict time per image, the two sides of the comparison."""
    parts = [t("knn.answer_model", label=label, accuracy=links.accuracy(run), per_image=per_image_text(run, links))
             for label, run in [("k-NN", knn), *((label, run) for _, label, run in networks_of(inputs))]]
    return t("knn.answer_versus", models=Markup("; ").join(parts))


def networks_of(inputs: Inputs) -> list[tuple[str, str, Run]]:
    """(role, the summary's name, best run) of each network of NETWORKS that ran."""
    return [(role, str(t(f"row.{inputs.name(role)}", default=label)), inputs.sweep(role).best()) for role, label in NETWORKS if inputs.sweep(role)]


def per_image_text(run: Run, links: Links) -> Markup | str:
    each = per_image_seconds(run)
    return "–" if each is None else links.link(run, current().numbers.milliseconds(each, PER_IMAGE_MS_DIGITS))


def large_image_blocks(inputs: Inputs) -> list:
    """The course's 'Beperkingen van kNN': what 1920 x 1080 images would cost k-NN, a dense network and a CNN, and
    why k-NN's accuracy would suffer too, from this dataset's runs where they exist. Every factor is of grey pixels
    (1920 x 1080 against this dataset's images); a colour photo has three numbers per pixel on top (said once)."""
    dataset, links = inputs.dataset, inputs.links
    ours = int(np.prod(dataset.image_shape))
    pixels = LARGE_IMAGE[0] * LARGE_IMAGE[1]
    factor = count(round(pixels / ours))
    grid, mlp, cnn = inputs.sweep("grid"), inputs.sweep("mlp"), inputs.sweep("cnn")
    paragraphs = [t("large.sizes", width=LARGE_IMAGE[0], height=LARGE_IMAGE[1], pixels=count(pixels), ours=count(ours), factor=factor,
                    channels=COLOUR_CHANNELS)]
    knn, short = grid.best() if grid else None, ""
    if knn is not None and knn.metrics.get("predict_seconds") and knn.metrics.get("train_size") and knn.metrics.get("test_size"):
        per_image = knn.metrics["predict_seconds"] / knn.metrics["test_size"]
        short = t("short.large", factor=factor, large_time=links.link(knn, seconds(per_image * pixels / ours)))
        paragraphs.append(t("large.knn", train=links.metric(knn, "train_size", count), pixels=count(ours),
                            per_image=links.link(knn, current().numbers.milliseconds(per_image)), factor=factor,
                            large_time=links.link(knn, seconds(per_image * pixels / ours))))
    else:
        paragraphs.append(t("large.knn_not_run", factor=factor, dataset=dataset.name))
    hidden = (model_settings(mlp.best()).get("hidden_sizes") or [DENSE_UNITS])[0] if mlp else DENSE_UNITS
    paragraphs.append(t("large.dense", large=count(pixels), units=hidden, weights=count(pixels * hidden), ours=count(ours * hidden),
                        megabytes=count(round(pixels * hidden * FLOAT_BYTES / 1e6))))
    if cnn is not None:
        run = cnn.best()
        paragraphs.append(t("large.cnn", parameters=links.parameters(run), factor=factor, time=links.predict_time(run)))
    else:
        paragraphs.append(t("large.cnn_not_run", factor=factor))
    paragraphs.append(t("large.accuracy", **robust_knn_numbers(inputs)))
    return [Answer(t("question.large_images"), paragraphs, short=short)]


def robust_knn_numbers(inputs: Inputs) -> dict:
    """k-NN's accuracy on the robustness part's test images unchanged and shifted 2 px: the same images both times."""
    sweep = inputs.sweep("robust_knn")
    run = sweep.best() if sweep else None
    shifts = (run.result.get("robustness") or {}).get("shift") or {} if run else {}
    clean, shifted = shifts.get("0"), shifts.get("2")
    if run is None or clean is None or shifted is None:
        return {"evidence": t("large.no_evidence")}
    return {"evidence": t("large.evidence", clean=inputs.links.link(run, percent(clean)), shifted=inputs.links.link(run, percent(shifted)),
                          size=count(run.result.get("robustness_size")), train=inputs.links.metric(run, "train_size", count))}


def knn_words(setting: str, value: object) -> str:
    """A k-NN setting's value in the report's language: 'euclidische afstand', 'stemmen gewogen naar afstand'."""
    return setting_phrase(f"knn_config.{setting}", value)


def knn_settings(run: Run) -> str:
    """The k-NN a run used, in words, as its resolved spec holds it: 'k = 3, stemmen gewogen naar afstand, euclidische afstand'."""
    return ", ".join([f"k = {run_setting(run, K, '?')}", *(knn_words(name, run_setting(run, f"knn_config.{name}", "?"))
                                                          for name in ("weights", "metric"))])


def best_sentence(best: Run, links: Links) -> Markup:
    """What the notebook asks: how many neighbours, which distance, how big the train and test sets."""
    return t("knn.best", settings=knn_settings(best),
             train=links.metric(best, "train_size", count), test=links.metric(best, "test_size", count), accuracy=links.accuracy(best),
             fit=links.train_time(best), predict=links.predict_time(best))


def setting_words(run: Run, grid: dict) -> str:
    """The run's k-NN grid settings in words: 'k = 3, euclidische afstand, gelijke stemmen'."""
    words = []
    for path in grid:
        value = config_value(run.config, path)
        words.append(f"k = {value}" if path == K else knn_words(path.split(".")[-1], value))
    return ", ".join(words)


def grid_blocks(sweep: SweepRuns, links: Links) -> list:
    """Accuracy for every k and every other setting, as a table and as curves against k."""
    others = [path for path in sweep.grid if path != K]
    combos = list(itertools.product(*(sweep.grid[path] for path in others)))
    names = [", ".join(knn_words(path.split(".")[-1], value) for path, value in zip(others, combo, strict=True)) or "k-NN"
             for combo in combos]
    rows, lines = [], {name: [] for name in names}
    for k in sweep.grid.get(K, []):
        row = [str(k)]
        for name, combo in zip(names, combos, strict=True):
            run = sweep.find({K: k, **dict(zip(others, combo, strict=True))})
            row.append("–" if run is None else links.accuracy(run))
            lines[name].append(None if run is None else accuracy_percent(run))
        rows.append(row)
    blocks = [Text(sweep_description(sweep.name, sweep.description)), Table(["k", *names], rows, caption=t("caption.knn_grid"))]
    if K in sweep.grid:
        blocks.append(Figures([image(curve_figure([float(k) for k in sweep.grid[K]], lines, t("figure.neighbours"),
                                                  t("figure.test_accuracy_percent"), t("figure.knn_accuracy"), percent=True),
                                     t("alt.knn_grid"))]))
    return blocks


def confusion_blocks(best: Run, dataset: Dataset, links: Links) -> list:
    """The best k-NN's confusion matrix as a heatmap, and its most frequent mistake."""
    confusion = confusion_of(best)
    if confusion is None or len(confusion) != dataset.num_classes:
        return []
    figure = confusion_figure(confusion.astype(int), classes_of(dataset), title=str(t("figure.knn_confusion", k=run_setting(best, K, "?"))))
    return [Figures([image(figure, str(t("alt.knn_confusion")), max_width=CONFUSION_WIDTH)]),
            Text(mistake_sentence(best, confusion, dataset, links))]


def mistake_sentence(run: Run, confusion: np.ndarray, dataset: Dataset, links: Links) -> Markup:
    """The most frequent mistake: which true class is most often taken for which other."""
    off_diagonal = confusion - np.diag(np.diag(confusion))
    true, predicted = np.unravel_index(int(off_diagonal.argmax()), off_diagonal.shape)
    if off_diagonal[true, predicted] == 0:
        return t("knn.no_mistakes")
    times = int(off_diagonal[true, predicted])
    return t("knn.mistake", true=classes_of(dataset)[true], predicted=classes_of(dataset)[predicted], times=links.link(run, count(times)))


def per_image_seconds(run: Run) -> float | None:
    total, size = run.metrics.get("predict_seconds"), run.metrics.get("test_size")
    return None if total is None or not size else total / size



def timing_blocks(knn: Run, inputs: Inputs, links: Links) -> list:
    """k-NN's fit and predict time next to the networks' train and predict time."""
    networks, rows = networks_of(inputs), []
    for label, run in [("k-NN", knn), *((label, run) for _, label, run in networks)]:
        rows.append([label, links.accuracy(run), links.train_time(run), links.predict_time(run), per_image_text(run, links)])
    blocks = [Table([t("head.model"), t("head.test_accuracy"), t("head.train"), t("head.predict"), t("head.per_image")], rows,
                    caption=t("caption.knn_time"))]
    # Compare with the tuned MLP when it ran, else with whichever network did.
    _, label, network = next((item for item in networks if item[0] == REFERENCE_NETWORK), networks[0] if networks else ("", "", None))
    if network is not None and knn.metrics.get("predict_seconds") and network.metrics.get("predict_seconds"):
        blocks.append(Text(cost_sentence(knn, label, network, links), conclusion=True))
    return blocks


def cost_sentence(knn: Run, label: str, network: Run, links: Links) -> Markup:
    """Where each pays: k-NN at prediction (it compares with every training image), the network in training."""
    ratio = knn.metrics["predict_seconds"] / network.metrics["predict_seconds"]
    text = t("knn.stores", fit=links.train_time(knn)) + " "
    times = {"knn": links.predict_time(knn), "network": links.predict_time(network), "label": label}
    if not timings_comparable(knn, network):
        return text + t("knn.cost_contended", **times)
    if ratio >= SLOWER:
        text += t("knn.cost_predict", ratio=count(round(ratio)), **times)
    else:
        text += t("knn.cost_cheap", train=links.metric(knn, "train_size", count), **times)
    return text + " " + t("knn.cost_network", label=label, time=links.train_time(network))


def scaling_blocks(sweep: SweepRuns, links: Links, dataset: Dataset) -> list:
    """Predict time against training-set size: k-NN's cost grows with what it remembers."""
    runs = sorted((run for run in sweep.runs if config_value(run.config, TRAIN_LIMIT)),
                  key=lambda run: config_value(run.config, TRAIN_LIMIT))
    blocks = [Text(sweep_description(sweep.name, sweep.description))]
    if not runs:
        return blocks
    sizes = [float(config_value(run.config, TRAIN_LIMIT)) for run in runs]
    rows = [[count(int(size)), links.accuracy(run), links.train_time(run), links.predict_time(run)]
            for size, run in zip(sizes, runs, strict=True)]
    times = {t("figure.predict"): [run.metrics.get("predict_seconds") for run in runs], t("figure.fit"): [train_seconds(run) for run in runs]}
    blocks += [
        Table([t("head.train_images"), t("head.test_accuracy"), t("head.fit"), t("head.predict")], rows,
              caption=t("caption.scaling", settings=knn_settings(runs[-1]))),
        Figures([image(curve_figure(sizes, times, t("figure.training_images"), t("figure.seconds"), t("figure.knn_time_size")),
                       t("alt.knn_time_size")),
                 image(curve_figure(sizes, {t("figure.test_accuracy"): [accuracy_percent(run) for run in runs]}, t("figure.training_images"),
                                    t("figure.test_accuracy_percent"), t("figure.knn_accuracy_size"), percent=True),
                       t("alt.knn_accuracy_size"))]),
    ]
    first, last = runs[0], runs[-1]
    if len(runs) >= 2 and first.metrics.get("predict_seconds") and last.metrics.get("predict_seconds"):
        if timings_comparable(*runs):
            blocks.append(Text(growth_sentence(first, last, sizes[0], sizes[-1], links), conclusion=True))
        else:
            blocks.append(Text(t("knn.growth_contended", dataset=dataset.name)))
    return blocks


def growth_sentence(first: Run, last: Run, smallest: float, largest: float, links: Links) -> Markup:
    """How predict time and accuracy grow with the training set (bigger images: the next section)."""
    gained = (last.metrics.get("test_accuracy") or 0.0) > (first.metrics.get("test_accuracy") or 0.0)
    return t("knn.growth_gained" if gained else "knn.growth", smallest=count(int(smallest)), largest=count(int(largest)),
             times=count(round(largest / smallest)), first=links.predict_time(first), last=links.predict_time(last),
             slower=number(last.metrics["predict_seconds"] / first.metrics["predict_seconds"], 1), first_accuracy=links.accuracy(first),
             last_accuracy=links.accuracy(last))
