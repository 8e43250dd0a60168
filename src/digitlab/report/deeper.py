"""The report's parts on the 3-layer network and wider/deeper MLPs, then the CNN."""

from __future__ import annotations

from markupsafe import Markup

from digitlab.evaluation import curve_figure
from digitlab.experiments.store import Run
from digitlab.report.blocks import Answer, Figures, Heading, Text, image
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, accuracy_percent, target, train_seconds
from digitlab.report.networks import epochs_batch_blocks, summary, trained_blocks
from digitlab.report.select import config_value
from digitlab.report.tables import described, listing, reach_sentence

HIDDEN = "model_options.hidden"
COMPLEX_TARGETS = (0.95, 0.98)  # "in de buurt van 95%... Als het goed is, kun je nu tot zo'n 98% komen"
NETWORK_ROLES = ("notebook", "hidden", "layers", "tuned")  # the fully connected networks Opdracht 2b compares


def complex_blocks(inputs: Inputs) -> list:
    """Roles: ``notebook`` (the course's ComplexNetwork), ``hidden`` (widths), ``layers`` (depths), ``tuned`` (the tuned MLP)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    notebook = inputs.sweep("notebook")
    blocks.append(Heading("The notebook's ComplexNetwork: epochs and batch size"))
    if notebook is None:
        blocks.append(inputs.not_run("notebook"))
    else:
        blocks += epochs_batch_blocks(notebook, links)
        blocks += trained_blocks(notebook.best(), notebook, dataset, links, "the ComplexNetwork")
    blocks += [Heading("Neurons per hidden layer")] + hidden_blocks(inputs, links)
    blocks += [Heading("More hidden layers")] + layers_blocks(inputs, links)
    best = inputs.sweep("tuned")
    blocks.append(Heading("The tuned MLP"))
    if best is None:
        blocks.append(inputs.not_run("tuned"))
    else:
        blocks += [Text(best.description)] + trained_blocks(best.best(), best, dataset, links, "the tuned MLP")
    candidates = [pair for role in NETWORK_ROLES if inputs.sweep(role) for pair in described(inputs.sweep(role), dataset)]
    if candidates:
        top = max((run for run, _ in candidates), key=lambda run: run.metrics.get("test_accuracy") or 0.0)
        blocks.append(Answer("Opdracht 2b: which accuracy with which structure, epochs and batch size?", [
            Markup("The highest test accuracy is {}, with {} ({} parameters) in {} of training.").format(
                links.accuracy(top), summary(top, dataset), links.parameters(top), links.train_time(top)),
            *(Markup("<strong>{}?</strong> {}").format(target(goal), reach_sentence(candidates, goal, links))
              for goal in COMPLEX_TARGETS),
        ]))
    return blocks


def hidden_blocks(inputs: Inputs, links: Links) -> list:
    """Two hidden layers of 10 to 1024 neurons: accuracy, time and size."""
    sweep = inputs.sweep("hidden")
    if sweep is None:
        return [inputs.not_run("hidden")]
    blocks = [Text(sweep.description), listing(sweep, links, caption="Width of the hidden layers", parameters=True)]
    widths = [float(hidden[0]) for hidden in sweep.grid[HIDDEN]]
    runs = [sweep.find(model_options__hidden=hidden) for hidden in sweep.grid[HIDDEN]]
    accuracy = [None if run is None else accuracy_percent(run) for run in runs]
    blocks.append(Figures([
        image(curve_figure(widths, {"test accuracy": accuracy}, "neurons per hidden layer", "test accuracy (%)",
                           "accuracy against width", logx=True), "test accuracy against hidden layer width"),
        image(curve_figure(widths, {"training": [None if run is None else train_seconds(run) for run in runs]},
                           "neurons per hidden layer", "seconds", "training time against width", logx=True),
              "training seconds against hidden layer width"),
    ]))
    finished = [run for run in runs if run is not None]
    if len(finished) >= 2:
        narrow, best = finished[0], sweep.best()
        blocks.append(Text(Markup(
            "With {} the network has {} parameters and reaches {}; the best by validation, {}, has {} parameters "
            "and reaches {} in {}.").format(
            layers_in_words(narrow), links.parameters(narrow), links.accuracy(narrow), layers_in_words(best),
            links.parameters(best), links.accuracy(best), links.train_time(best))))
    return blocks


def layers_in_words(run: Run) -> str:
    """'2 hidden layers of 512' / 'hidden layers of 512, 256'."""
    hidden = config_value(run.config, HIDDEN) or []
    if len(set(hidden)) == 1:
        return f"{len(hidden)} hidden layer{'s' if len(hidden) > 1 else ''} of {hidden[0]}"
    return f"hidden layers of {', '.join(map(str, hidden))}" if hidden else "no hidden layer"


def layers_blocks(inputs: Inputs, links: Links) -> list:
    """One, two or three hidden layers of the same width."""
    sweep = inputs.sweep("layers")
    if sweep is None:
        return [inputs.not_run("layers")]
    blocks = [Text(sweep.description), listing(sweep, links, caption="Number of hidden layers", parameters=True)]
    if len(sweep.runs) >= 2:
        best = sweep.best()
        blocks.append(Text(Markup("The best by validation has {}: {} with {} parameters in {}.").format(
            layers_in_words(best), links.accuracy(best), links.parameters(best), links.train_time(best))))
    return blocks


def cnn_blocks(inputs: Inputs) -> list:
    """Roles: ``cnn`` (the CNN), ``tuned`` (the tuned MLP it is set against)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("cnn")
    if sweep is None:
        return [inputs.not_run("cnn")]
    run = sweep.best()
    blocks += [Text(sweep.description)] + trained_blocks(run, sweep, dataset, links, "the CNN")
    text = Markup("The CNN has {} parameters and predicts the whole test set in {}.").format(
        links.parameters(run), links.predict_time(run))
    mlp = inputs.sweep("tuned")
    if mlp is not None:
        other = mlp.best()
        text += Markup(" The tuned MLP reaches {} with {} parameters in {} of training.").format(
            links.accuracy(other), links.parameters(other), links.train_time(other))
        if (run.metrics.get("num_parameters") or 0) < (other.metrics.get("num_parameters") or 0):
            text += Markup(" The CNN needs fewer weights: its small filters are shared over the whole image, so a "
                           "stroke is recognised wherever it is, instead of learning every position separately.")
    blocks.append(Text(text))
    return blocks
