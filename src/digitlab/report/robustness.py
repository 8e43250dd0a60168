"""The report's robustness part: does a model still recognise a digit that is moved, turned, scaled, inverted or noisy?

Its sweeps (which ones: :mod:`digitlab.report.parts`) train the plain networks, the same networks on
augmented batches, and fit a k-NN; every one of these runs scores the same changed test sets (its result
holds ``{"robustness": {transform: {strength: accuracy}}}``). This part shows them side by side at one
telling strength per transform, as curves over all strengths, and answers the notebook's question,
inversion included, with the numbers as they came out.
"""

from __future__ import annotations

from markupsafe import Markup

from digitlab.experiments.store import Run
from digitlab.i18n import current
from digitlab.images.transforms import strength_label, transform_name
from digitlab.report.blocks import Answer, Figures, Table, Text, image
from digitlab.report.compare import COMPARISONS, declared_pair, differences, differs_sentence
from digitlab.report.i18n import sweep_description, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, count, percent, run_setting, target
from digitlab.robustness.figures import robustness_figure

PART = "robustness"  # this part's anchor in report/parts.py (its declared comparisons name it)
AUGMENTED = "augmented"  # the role whose sweep (networks trained on augmented batches) introduces the part
RESULT_KEY = "robustness"  # {transform: {strength: accuracy}} (or {transform: accuracy}) in a run's result
NO_HELP = 0.01  # augmentation that gains at most a point on a change it never saw did not help against it
SURVIVES = 0.90  # accuracy on fully inverted digits that counts as coping with inversion
# One telling strength per transform for the side-by-side table (the curves show them all).
HEADLINE = (("shift", "4", "shifted 4 px"), ("rotate", "20", "turned 20°"), ("scale", "0.8", "shrunk to 80%"),
            ("invert", "1", "inverted"), ("noise", "0.3", "noise 0.3"), ("background", "0.3", "background +0.3"))
MODEL_LABELS = {"mlp": "MLP", "cnn": "CNN", "simple": "1-layer network", "complex": "ComplexNetwork"}


def run_label(run: Run) -> str:
    """'CNN + augmentatie (verschuiven, draaien, schalen, negatief)', 'MLP', 'k-NN (k=3, 9.000 trainplaatjes)'."""
    config = run.config
    if config.get("kind") == "knn":
        return str(t("label.knn", k=run_setting(run, "knn_config.n_neighbors", "?"), train=count(run.metrics.get("train_size"))))
    name = MODEL_LABELS.get(config.get("model"), str(config.get("model")))
    kinds = augmentation_words(run)
    return str(t("label.augmented", name=name, augment=kinds)) if kinds else name


def augmentation_words(run: Run) -> str:
    """The changes a network trained on, in the report's language ('verschuiving, pendikte'); '' without augmentation."""
    kinds = str(run_setting(run, "train_config.augment", "") or "").split(",")
    return ", ".join(transform_name(kind) for kind in kinds if kind)


def scored_runs(inputs: Inputs) -> list[tuple[str, Run]]:
    """(label, run) for every run of this part's sweeps whose result holds robustness scores."""
    found = []
    for _, sweep in inputs.present():
        for run in sweep.runs:
            if isinstance(run.result.get(RESULT_KEY), dict) and run.result[RESULT_KEY]:
                found.append((run_label(run), run))
    return found


def score(run: Run, transform: str, strength: str) -> float | None:
    """A run's accuracy on ``transform`` at ``strength`` ('4', '0.3'), or None when it was not measured."""
    return _by_strength(run, transform).get(f"{float(strength):g}")


def curve_rows(runs: list[tuple[str, Run]]) -> list[dict]:
    """Rows in robustness_table's format ({model, transform, strength, accuracy}) for the curves."""
    rows = []
    for label, run in runs:
        for transform, by_strength in run.result[RESULT_KEY].items():
            for strength, value in (by_strength.items() if isinstance(by_strength, dict) else []):
                try:
                    rows.append({"model": label, "transform": transform, "strength": float(strength), "accuracy": value})
                except ValueError:
                    continue  # a non-numeric strength has no place on a curve
    return rows


def headline_table(runs: list[tuple[str, Run]], links: Links) -> Table:
    columns = [(transform, strength, title) for transform, strength, title in HEADLINE
               if any(score(run, transform, strength) is not None for _, run in runs)]
    rows = []
    for label, run in runs:
        clean = unchanged(run)
        cells = [links.link(run, percent(clean)) if clean is not None else links.accuracy(run)]
        for transform, strength, _ in columns:
            value = score(run, transform, strength)
            cells.append(links.link(run, percent(value)) if value is not None else "–")
        rows.append([label, *cells])
    return Table([t("head.model"), t("head.clean"), *(t(f"change.{transform}") for transform, _, _ in columns)], rows,
                 caption=robustness_caption(runs))


def unchanged(run: Run) -> float | None:
    """The run's accuracy on the changed sets' own test images, unchanged (a shift of 0 pixels): the baseline every
    change is measured against, on the same images."""
    return score(run, "shift", "0")


def robustness_caption(runs: list[tuple[str, Run]]) -> Markup:
    """The table's caption, naming how many test digits each changed set holds when the runs agree on it."""
    sizes = {run.result.get("robustness_size") for _, run in runs}
    if len(sizes) == 1 and None not in sizes:
        return t("caption.robustness_size", size=count(sizes.pop()))
    return t("caption.robustness")


def plain_answer(inputs: Inputs) -> Markup | None:
    """Without augmentation: the MLP against the CNN on 4-pixel shifts and 20-degree turns (the preset's own 1-pixel
    shifts said), and the course's point only where the numbers make it."""
    found = declared_pair(inputs, "plain-mlp-cnn")
    if found is None:
        return None
    mlp, cnn = found
    cells = Markup("; ").join(pair_cells(inputs.links, mlp, cnn, HEADLINE[:2]))
    kinds = str(run_setting(cnn, "train_config.augment", "")).split(",")
    shift = int(run_setting(cnn, "train_config.augment_max_shift", 0)) if "shift" in kinds else 0
    recipe = t("robustness.recipe_shift", pixels=shift) if shift else t("robustness.recipe_plain")
    text = t("robustness.plain", recipe=recipe, cells=cells)
    if gains(mlp, cnn, HEADLINE[:2]) and all(gain > 0 for gain in gains(mlp, cnn, HEADLINE[:2])):
        text += " " + t("robustness.cnn_better")
    return text


def gains(first: Run, second: Run, headline: tuple | list) -> list[float]:
    """How much higher the second run scores than the first on each of these changes (where both were measured)."""
    pairs = [(score(first, transform, strength), score(second, transform, strength)) for transform, strength, _ in headline]
    return [b - a for a, b in pairs if a is not None and b is not None]


def pair_cells(links: Links, first: Run, second: Run, headline: tuple | list) -> list[Markup]:
    return [t("robustness.cell", change=t(f"change.{transform}"), first=links.link(first, percent(score(first, transform, strength))),
              second=links.link(second, percent(score(second, transform, strength))))
            for transform, strength, _ in headline if None not in (score(first, transform, strength), score(second, transform, strength))]


def augmentation_answer(inputs: Inputs, classes: int) -> list[Markup]:
    """The course's point, measured on the MLP: does augmentation help against the changes it trained on, and against
    new ones? Each claim only where the numbers make it; a score below chance explained."""
    found = declared_pair(inputs, "mlp-augment")
    if found is None:
        return []
    plain, augmented = found
    trained = set(run_setting(augmented, "train_config.augment", "").split(","))
    seen = [item for item in HEADLINE if item[0] in trained]
    new = [item for item in HEADLINE if item[0] not in trained]
    links, paragraphs = inputs.links, []
    if helped := pair_cells(links, plain, augmented, seen):
        moved = gains(plain, augmented, seen)  # helps: better somewhere, worse nowhere (beyond a point)
        better = any(gain > NO_HELP for gain in moved) and all(gain > -NO_HELP for gain in moved)
        paragraphs.append(t("robustness.trained_on" if better else "robustness.trained_on_mixed", cells=Markup("; ").join(helped)))
    if unseen := pair_cells(links, plain, augmented, new):
        no_help = all(gain <= NO_HELP for gain in gains(plain, augmented, new))
        paragraphs.append(t("robustness.not_trained_on" if no_help else "robustness.new_mixed", cells=Markup("; ").join(unseen)))
    below = [(transform, value) for transform, strength, _ in new
             if (value := score(augmented, transform, strength)) is not None and value < 1 / classes]
    if below:
        transform, value = min(below, key=lambda item: item[1])
        paragraphs.append(t("robustness.below_chance", change=t(f"change.{transform}"), value=links.link(augmented, percent(value)),
                            chance=target(1 / classes), classes=classes))
    return paragraphs


def augmentation_short(inputs: Inputs) -> Markup | str:
    """Deel II's answer in two sentences, when the numbers make the course's point: the MLP's largest gain on a change
    it trained on, and its largest loss on one it never saw ('' when augmentation did not help, or hurt nothing)."""
    found = declared_pair(inputs, "mlp-augment")
    if found is None:
        return ""
    plain, augmented = found
    trained = set(run_setting(augmented, "train_config.augment", "").split(","))
    moved = [(score(augmented, name, strength) - score(plain, name, strength), name, strength) for name, strength, _ in HEADLINE
             if None not in (score(plain, name, strength), score(augmented, name, strength))]
    seen, new = [item for item in moved if item[1] in trained], [item for item in moved if item[1] not in trained]
    if not seen or not new or max(seen)[0] <= NO_HELP or min(new)[0] > -NO_HELP:
        return ""
    (_, helped, at), (_, hurt, where) = max(seen), min(new)
    links = inputs.links
    return t("short.robustness", seen=t(f"change.{helped}"), seen_before=links.link(plain, percent(score(plain, helped, at))),
             seen_after=links.link(augmented, percent(score(augmented, helped, at))), new=t(f"change.{hurt}"),
             new_before=links.link(plain, percent(score(plain, hurt, where))),
             new_after=links.link(augmented, percent(score(augmented, hurt, where))))


def one_change_sentence(inputs: Inputs) -> Markup | None:
    """One sentence for every comparison of this part: each pair differs in exactly the setting it is about (read from
    the stored specs); a pair that differs in more is named with what differs."""
    pairs = [(declared, found) for declared in COMPARISONS if declared.part == PART and (found := declared_pair(inputs, declared.key))]
    if not pairs:
        return None
    off = [differs_sentence(*found) for declared, found in pairs if list(differences(*found)) != [declared.about]]
    return Markup(" ").join(off) if off else t("robustness.one_change", count=len(pairs))


def inversion_answer(runs: list[tuple[str, Run]], links: Links) -> Markup | None:
    """The honest answer on inversion: who copes, who does not, and what it takes."""
    inverted = [(label, run, score(run, "invert", "1")) for label, run in runs]
    inverted = [(label, run, value) for label, run, value in inverted if value is not None]
    if not inverted:
        return None
    trained_on_it = [item for item in inverted if "invert" in run_setting(item[1], "train_config.augment", "")]
    others = [item for item in inverted if item not in trained_on_it]
    text = Markup("")
    if others:
        label, run, value = max(others, key=lambda item: item[2])
        key = "inversion.none" if value < SURVIVES else "inversion.untrained_copes"
        text += t(key, label=label, value=links.link(run, percent(value))) + " "
    if trained_on_it:
        label, run, value = max(trained_on_it, key=lambda item: item[2])
        key = "inversion.trained_copes" if value >= SURVIVES else "inversion.trained_short"
        clean = unchanged(run)  # on the same test images as the inverted score, not the whole test set
        text += t(key, label=label, value=links.link(run, percent(value)), clean=links.link(run, percent(clean)) if clean is not None else "–")
    else:
        text += t("inversion.how")
    return text


def transform_tables(runs: list[tuple[str, Run]], links: Links) -> list[Table]:
    """One table per transform: a row per model, a column per strength, every cell linked to its run."""
    tables = []
    transforms = list(dict.fromkeys(name for _, run in runs for name in run.result[RESULT_KEY]))
    for transform in transforms:
        measured = {label: _by_strength(run, transform) for label, run in runs}
        strengths = sorted({strength for values in measured.values() for strength in values}, key=_numeric_first)
        if not strengths:
            continue
        rows = [[label, *(links.link(run, percent(measured[label][strength])) if strength in measured[label] else "–"
                          for strength in strengths)] for label, run in runs]
        title = strength_label(transform)
        header = [f"{t('head.model')} \\ {title}", *(_strength_text(strength) for strength in strengths)]
        tables.append(Table(header, rows, caption=t("caption.transform", change=transform_name(transform))))
    return tables


def _by_strength(run: Run, transform: str) -> dict[str, float]:
    """{strength as text: accuracy} for one transform of a run ({} when it was not measured)."""
    values = run.result.get(RESULT_KEY, {}).get(transform)
    if not isinstance(values, dict):
        return {}
    return {f"{float(key):g}" if _numeric_first(str(key))[0] == 0 else str(key): value for key, value in values.items()
            if value is not None}


def _strength_text(strength: str) -> str:
    """A strength as the language writes it: 0,25 in Dutch (a stored key like '0.25' is a number, not text)."""
    return current().numbers.short(float(strength)) if _numeric_first(strength)[0] == 0 else strength


def _numeric_first(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def robustness_blocks(inputs: Inputs) -> list:
    """Accuracy on transformed test images, with and without augmentation. Roles: ``mlp`` and ``cnn`` (the plain
    networks), ``augmented`` (the same trained on augmented batches), ``knn``."""
    links, blocks = inputs.links, []
    runs = scored_runs(inputs)
    augmented = inputs.sweep(AUGMENTED)
    if augmented is None:
        blocks.append(inputs.not_run(AUGMENTED))
    if not runs:
        return blocks
    if augmented is not None and augmented.description:
        blocks.append(Text(sweep_description(augmented.name, augmented.description)))
    blocks.append(headline_table(runs, links))
    rows = curve_rows(runs)
    if rows:
        known = len(runs[0][1].result.get("confusion") or []) or None
        figure = robustness_figure(rows, chance=1 / known if known else None, title=str(t("figure.robustness")))
        blocks.append(Figures([image(figure, t("alt.robustness"))]))
    classes = len(runs[0][1].result.get("confusion") or []) or inputs.dataset.num_classes
    paragraphs = [text for text in (plain_answer(inputs), *augmentation_answer(inputs, classes)) if text]
    inversion = inversion_answer(runs, links)
    if inversion is not None:
        paragraphs.append(inversion)
    if paragraphs:
        same = one_change_sentence(inputs)
        blocks.append(Answer(t("question.robustness"), paragraphs + ([same] if same else []), short=augmentation_short(inputs)))
    blocks.extend(transform_tables(runs, links))
    return blocks
