"""The report's parts on the 3-layer network and wider/deeper MLPs, then the CNN."""

from __future__ import annotations

from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.evaluation import curve_figure, time_to_accuracy_figure
from digitlab.experiments.store import Run, SweepRuns, config_value
from digitlab.i18n import current
from digitlab.models import CNNConfig
from digitlab.report.blocks import Answer, Figures, Heading, Text, image
from digitlab.report.i18n import classes_of, sweep_description, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, accuracy_percent, model_settings, target, train_seconds
from digitlab.report.networks import BATCH, EPOCHS, confusion_of, epochs_batch_blocks, summary, trained_blocks
from digitlab.report.outputs import outputs_comparison
from digitlab.report.seeds import points
from digitlab.report.tables import described, listing, reach_sentence

HIDDEN = "model_config.hidden_sizes"
COMPLEX_TARGETS = (0.95, 0.98)  # "in de buurt van 95%... Als het goed is, kun je nu tot zo'n 98% komen"
UNPREDICTED_THRESHOLD = 0.95  # the validation accuracy whose first epoch shows the softmax network's plateau
COURSE_ROLES = ("notebook", "seeds", "hidden")  # Opdracht 2b in the course's own setup: what its answer chooses from
SOFTMAX = "softmax"  # the notebook's ComplexNetwork ends in a softmax


def complex_blocks(inputs: Inputs) -> list:
    """Roles: ``notebook`` (the course's ComplexNetwork), ``logits`` (the same with logits), ``seeds`` (sigmoid, softmax
    and logits outputs over three seeds), ``hidden`` (widths in the course's setup), ``layers`` (depths of digitlab's
    MLP), ``tuned`` (the tuned MLP)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    notebook = inputs.sweep("notebook")
    blocks.append(Heading(t("heading.complex_notebook")))
    if notebook is None:
        blocks.append(inputs.not_run("notebook"))
    else:
        blocks += epochs_batch_blocks(notebook, links, "ComplexNetwork")
        blocks += trained_blocks(notebook.best(), notebook, dataset, links, "ComplexNetwork")
    blocks.append(Heading(t("heading.complex_logits")))
    logits = inputs.sweep("logits")
    if logits is None:
        blocks.append(inputs.not_run("logits"))
    else:
        blocks.append(Text(sweep_description(logits.name, logits.description)))
        blocks += outputs_comparison(inputs, "complex-outputs", SOFTMAX)
    blocks += [Heading(t("heading.hidden"))] + hidden_blocks(inputs, links)
    blocks += [Heading(t("heading.beyond"))] + layers_blocks(inputs, links)
    best = inputs.sweep("tuned")
    if best is None:
        blocks.append(inputs.not_run("tuned"))
    else:
        blocks += [Text(sweep_description(best.name, best.description))] + trained_blocks(best.best(), best, dataset, links, "MLP")
    # the course's setup is the notebook's output layer too: the seeds sweep also trains logits and sigmoid outputs
    course_outputs = model_settings(notebook.runs[0]).get("outputs") if notebook is not None and notebook.runs else None
    course = [(run, words) for role in COURSE_ROLES if inputs.sweep(role) for run, words in described(inputs.sweep(role), dataset)
              if course_outputs is None or model_settings(run).get("outputs") == course_outputs]
    if course:
        top = max((run for run, _ in course), key=lambda run: (run.value if run.value is not None else float("-inf"), -run.id))
        answer = [t("complex.best", accuracy=links.accuracy(top), settings=summary(top, dataset), parameters=links.parameters(top),
                    time=links.train_time(top), validation=links.metric(top, "val_accuracy")),
                  *(Markup("<strong>{}?</strong> {}").format(target(goal), reach_sentence(course, goal, links)) for goal in COMPLEX_TARGETS)]
        if best is not None:
            tuned = best.best()
            answer.append(t("complex.beyond", accuracy=links.accuracy(tuned), settings=summary(tuned, dataset), time=links.train_time(tuned)))
        blocks.append(Answer(t("question.complex"), answer, short=complex_short(top, inputs.sweep("simple"), dataset, links)))
    return blocks


def complex_further(inputs: Inputs) -> list:
    """The Verdieping on the course's softmax output: the classes it stops predicting, measured."""
    notebook, logits = inputs.sweep("notebook"), inputs.sweep("logits")
    if notebook is None or logits is None:
        return []
    return unpredicted_blocks(notebook, logits, inputs.dataset, inputs.links)


def first_epoch_reaching(run: Run, threshold: float) -> int | None:
    """The first epoch whose validation (else test) accuracy reaches ``threshold``."""
    for record in run.result.get("history") or []:
        value = record.get("val_accuracy", record.get("test_accuracy"))
        if value is not None and value >= threshold:
            return int(record["epoch"])
    return None


def longest_run(sweep: SweepRuns, batch: int) -> Run | None:
    """The sweep's finished run at ``batch`` that trained the most epochs (its learning curve is the longest)."""
    runs = [run for run in sweep.runs if config_value(run.config, BATCH) == batch]
    return max(runs, key=lambda run: config_value(run.config, EPOCHS) or 0, default=None)


def unpredicted_blocks(softmax: SweepRuns, logits: SweepRuns, dataset: Dataset, links: Links) -> list:
    """Double softmax, measured: the classes the softmax network never predicts after its shortest training, and how
    many epochs it needs to reach a validation accuracy the logits network has after its first."""
    shortest = min(logits.grid.get(EPOCHS, [1]))
    for batch in logits.grid.get(BATCH, []):
        soft, plain = (sweep.find({"train_config.epochs": shortest, "train_config.batch_size": batch}) for sweep in (softmax, logits))
        longest = [longest_run(sweep, batch) for sweep in (softmax, logits)]
        confusion = confusion_of(soft) if soft else None
        if soft is None or plain is None or confusion is None:
            continue
        missing = [classes_of(dataset)[index] for index, total in enumerate(confusion.sum(axis=0)) if total == 0]
        if not missing:
            return [Text(t("outputs.unpredicted_none", epochs=shortest, batch=batch, accuracy=links.accuracy(soft)))]
        late_run, quick_run = longest
        threshold = UNPREDICTED_THRESHOLD
        late = first_epoch_reaching(late_run, threshold) if late_run else None
        quick = first_epoch_reaching(quick_run, threshold) if quick_run else None
        sentence = t("outputs.unpredicted", epochs=shortest, batch=batch, classes=", ".join(missing), accuracy=links.accuracy(soft),
                     logits=links.accuracy(plain))
        if late and quick:  # a sentence only about epochs that exist: a short (quick) sweep may reach the threshold with neither
            sentence += " " + t("outputs.reaching", late=links.link(late_run, str(late)), logits_epoch=links.link(quick_run, str(quick)),
                                threshold=target(threshold), batch=batch)
        elif quick:
            sentence += " " + t("outputs.reaching_logits_only", logits_epoch=links.link(quick_run, str(quick)), threshold=target(threshold),
                                batch=batch, epochs=current().plural("unit.epochs", config_value((late_run or quick_run).config, EPOCHS) or 0))
        return [Text(sentence)]
    return []


def complex_short(top: Run, simple: SweepRuns | None, dataset: Dataset, links: Links) -> Markup:
    """Opdracht 2b in a sentence: the best network of the course's setup, against the best single layer of Opdracht 1."""
    short = t("short.complex", settings=summary(top, dataset), accuracy=links.accuracy(top))
    single = simple.best() if simple is not None else None
    if single is None or None in (single.metrics.get("test_accuracy"), top.metrics.get("test_accuracy")):
        return short
    gain = top.metrics["test_accuracy"] - single.metrics["test_accuracy"]
    return short + " " + t("short.complex_gain" if gain > 0 else "short.complex_no_gain", points=points(gain), simple=links.accuracy(single))


def hidden_blocks(inputs: Inputs, links: Links) -> list:
    """The course's network with 10 to 512 neurons in each hidden layer: accuracy, time and size."""
    sweep = inputs.sweep("hidden")
    if sweep is None or not sweep.grid:
        return [inputs.not_run("hidden")]
    key = next(iter(sweep.grid))
    blocks = [Text(sweep_description(sweep.name, sweep.description)), listing(sweep, links, caption=t("caption.hidden"), parameters=True)]
    widths = [float(value[0]) for value in sweep.grid[key]]  # neurons of the first hidden layer
    runs = [sweep.find({key: value}) for value in sweep.grid[key]]
    accuracy = [None if run is None else accuracy_percent(run) for run in runs]
    blocks.append(Figures([
        image(curve_figure(widths, {t("figure.test_accuracy"): accuracy}, t("figure.neurons_per_layer"), t("figure.test_accuracy_percent"),
                           t("figure.accuracy_against", x=t("figure.neurons_per_layer")), logx=True, percent=True),
              t("figure.accuracy_against", x=t("figure.neurons_per_layer"))),
        image(curve_figure(widths, {t("figure.training"): [None if run is None else train_seconds(run) for run in runs]},
                           t("figure.neurons_per_layer"), t("figure.training_seconds"), t("figure.time_against", x=t("figure.neurons_per_layer")),
                           logx=True),
              t("figure.time_against", x=t("figure.neurons_per_layer"))),
    ]))
    finished = [run for run in runs if run is not None]
    if len(finished) >= 2 and (narrow := finished[0]).id == (best := sweep.best()).id:
        blocks.append(Text(t("hidden.narrowest_best", best=layers_in_words(best, key), parameters=links.parameters(best),
                             accuracy=links.accuracy(best), time=links.train_time(best))))
    elif len(finished) >= 2:
        blocks.append(Text(t("hidden.sentence", narrow=layers_in_words(narrow, key), narrow_parameters=links.parameters(narrow),
                             narrow_accuracy=links.accuracy(narrow), best=layers_in_words(best, key), parameters=links.parameters(best),
                             accuracy=links.accuracy(best), time=links.train_time(best))))
    return blocks


def layers_in_words(run: Run, key: str = HIDDEN) -> str:
    """'2 hidden layers of 512' / 'hidden layers of 512, 256' (``key``: the grid setting that holds the widths)."""
    hidden = config_value(run.config, key) or []
    if len(set(hidden)) == 1:
        return str(t("layers.same" if len(hidden) > 1 else "layers.one", count=len(hidden), width=hidden[0]))
    return str(t("layers.mixed", widths=", ".join(map(str, hidden)) if hidden else "–")) if hidden else str(t("layers.none"))


def layers_blocks(inputs: Inputs, links: Links) -> list:
    """One, two or three hidden layers of the same width."""
    sweep = inputs.sweep("layers")
    if sweep is None:
        return [inputs.not_run("layers")]
    blocks = [Text(sweep_description(sweep.name, sweep.description)), listing(sweep, links, caption=t("caption.layers"), parameters=True)]
    if len(sweep.runs) >= 2:
        best = sweep.best()
        blocks.append(Text(t("layers.sentence", best=layers_in_words(best), accuracy=links.accuracy(best), parameters=links.parameters(best),
                             time=links.train_time(best))))
    return blocks


def cnn_blocks(inputs: Inputs) -> list:
    """Roles: ``cnn`` (the CNN), ``tuned`` (the tuned MLP it is set against)."""
    dataset, links, blocks = inputs.dataset, inputs.links, []
    sweep = inputs.sweep("cnn")
    if sweep is None:
        return [inputs.not_run("cnn")]
    run = sweep.best()
    blocks += [Text(sweep_description(sweep.name, sweep.description))] + trained_blocks(run, sweep, dataset, links, "CNN")
    # Markup's join keeps the links as links (a plain str join made the page show '<a class="run" ...>' as text)
    text = Markup(" ").join(filter(None, [t("cnn.size", parameters=links.parameters(run), time=links.predict_time(run)), views_sentence(run)]))
    mlp = inputs.sweep("tuned")
    if mlp is not None:
        other = mlp.best()
        text += " " + t("cnn.against_mlp", accuracy=links.accuracy(other), parameters=links.parameters(other), time=links.train_time(other))
        if (run.metrics.get("num_parameters") or 0) < (other.metrics.get("num_parameters") or 0):
            text += " " + t("cnn.fewer_weights")
    blocks.append(Text(text, conclusion=True))
    curves = {label: [[(h["elapsed"], h["test_accuracy"]) for h in chosen.result.get("history") or [] if "elapsed" in h]]
              for label, chosen in (("MLP", mlp.best() if mlp is not None else None), ("CNN", run)) if chosen is not None}
    if any(points for runs in curves.values() for points in runs):  # "Kijk ook naar de benodigde tijd"
        blocks.append(Figures([image(time_to_accuracy_figure({k: v for k, v in curves.items() if v[0]}), t("alt.time_to_accuracy"))]))
    return blocks


def views_sentence(run: Run) -> Markup | str:
    """What the CNN answers from when it scores more than the image itself (its test-time views; "" otherwise)."""
    config = run.spec.model_config if run.spec is not None else None
    if not isinstance(config, CNNConfig) or len(config.test_time_views) == 1:
        return ""
    mirror, shift, views = config.test_time_mirror, config.test_time_shift, len(config.test_time_views)
    which = [t("cnn.view_image"), *([t("cnn.view_mirror")] if mirror else []), *([t("cnn.view_moved", pixels=shift)] if shift else [])]
    return t("cnn.views", views=views, which=Markup(", ").join(which))
