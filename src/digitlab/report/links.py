"""Numbers that point at the run they came from, and the words around them.

Every accuracy or time in the report is written through :class:`Links`, which renders it as a link
to the run's appendix entry and remembers the run, so the appendix holds exactly the runs the page
cites and no link can dangle.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from digitlab.datasets.catalog import CATALOG
from digitlab.experiments.store import Run, config_value
from digitlab.i18n import NO_VALUE, current
from digitlab.report.i18n import t
from digitlab.report.timing import contention

SHORT_DIGITS = 6  # a setting's decimals as written (lr 0.0005), trailing zeros dropped
BUSY_MARK = "⚠"  # beside a time measured on a busy machine


def percent(value: float | None) -> str:
    """A fraction as a percentage in the report's language: 97,60%."""
    return current().numbers.percent(value)


def accuracy_percent(run: Run) -> float | None:
    """Test accuracy in percent, for plots."""
    value = run.metrics.get("test_accuracy")
    return None if value is None else value * 100


def target(value: float) -> str:
    """A threshold as the notebook writes it: 0.92 -> '92%'."""
    return f"{current().numbers.short(value * 100)}%"


def seconds(value: float | None) -> str:
    """Seconds with sensible precision: 0,004 s, 3,2 s, 412 s."""
    return current().numbers.seconds(value)


def dataset_title(name: str) -> str:
    """How people write the dataset's name, from its catalog entry (the name itself for one not in the catalog)."""
    return CATALOG[name].title if name in CATALOG else name


def items(name: str) -> str:
    """What the dataset's images show, in the report's language: 'cijfers', 'kledingstukken' (its catalog entry's subject)."""
    return str(t(f"items.{CATALOG[name].subject if name in CATALOG else 'images'}"))


def count(value: int | None) -> str:
    """A count with the language's grouping: 60.000."""
    return current().numbers.integer(value)


def setting_label(path: str) -> str:
    """How the report names a dotted setting (the catalog's ``setting.<path>``; the field's own name without one)."""
    words = current()
    return words(f"setting.{path}") if words.has(f"setting.{path}") else path.split(".")[-1].replace("_", " ")


def setting_value(value: Any) -> str:
    """A setting's value as people write it: hidden layers [512, 512] as 512-512, False as no (nee), lr 0,01,
    a k-NN distance or vote by its name in the language ('value.<name>': 'euclidische afstand')."""
    words = current()
    if isinstance(value, bool):
        return words("value.yes" if value else "value.no")
    if value is None or value == "" or (isinstance(value, list | tuple) and not value):
        return words("value.none")
    if isinstance(value, list | tuple):  # layer sizes: 784-1024-10, a structure rather than amounts to group
        return "-".join(str(item) if isinstance(item, int) else setting_value(item) for item in value)
    if isinstance(value, int | float):
        return words.numbers.short(value, SHORT_DIGITS)
    return words(f"value.{value}") if isinstance(value, str) and words.has(f"value.{value}") else str(value)


def setting_phrase(path: str, value: Any) -> str:
    """One setting as a phrase of the report's language: '5 epochs', 'k = 3', 'rechtgezet', 'cosinusafstand'.

    The catalog's ``phrase.<path>.<value>`` for a value with its own words (deskewed or not, no PCA), else its
    ``phrase.<path>`` around the written value, else the value alone when it names itself (a distance, a vote),
    else label and value.
    """
    words = current()
    if path == "train_config.epochs" and isinstance(value, int):
        return words.plural("unit.epochs", value)
    if words.has(f"phrase.{path}.{value}"):
        return words(f"phrase.{path}.{value}")
    if words.has(f"phrase.{path}"):
        return words(f"phrase.{path}", value=setting_value(value))
    if isinstance(value, str) and words.has(f"value.{value}"):
        return words(f"value.{value}")
    return f"{setting_label(path)} {setting_value(value)}"


def describe(run: Run, grid: dict[str, list[Any]]) -> str:
    """The run's grid settings in words: '5 epochs, batch size 128', 'k = 3, stemmen gewogen naar afstand, cosinusafstand'."""
    return ", ".join(setting_phrase(path, config_value(run.config, path)) for path in grid)


class Links:
    """Renders numbers as links to runs and collects the runs that were cited."""

    def __init__(self) -> None:
        self.cited: dict[int, Run] = {}

    def link(self, run: Run, text: str) -> Markup:
        self.cited[run.id] = run
        return Markup('<a class="run" href="#run-{0}" title="run {0}: {1}">{2}</a>').format(run.id, run.study, text)

    def metric(self, run: Run, name: str, as_text=percent) -> Markup | str:
        """``run.metrics[name]`` formatted and linked; a dash (no link) when the run lacks it."""
        value = run.metrics.get(name)
        return NO_VALUE if value is None else self.link(run, as_text(value))

    def accuracy(self, run: Run) -> Markup | str:
        return self.metric(run, "test_accuracy")

    def train_time(self, run: Run) -> Markup | str:
        """Training seconds; k-NN's 'training' is its fit."""
        return self.timed(run, train_seconds_key(run))

    def predict_time(self, run: Run) -> Markup | str:
        return self.timed(run, "predict_seconds")

    def timed(self, run: Run, name: str) -> Markup | str:
        """A time, marked (⚠, with the reason) when the run was timed on a busy machine."""
        value = self.metric(run, name, seconds)
        reason = contention(run)
        if reason is None or value == NO_VALUE:
            return value
        return value + Markup('<span class="busy" title="{}">{}</span>').format(t("timing.busy", reason=reason), BUSY_MARK)

    def parameters(self, run: Run) -> Markup | str:
        return self.metric(run, "num_parameters", count)


def train_seconds_key(run: Run) -> str:
    """Where a run keeps its training time: k-NN's 'training' is its fit."""
    knn = run.config.get("kind") == "knn" and run.metrics.get("fit_seconds") is not None
    return "fit_seconds" if knn or run.metrics.get("train_seconds") is None else "train_seconds"


def train_seconds(run: Run) -> float | None:
    return run.metrics.get(train_seconds_key(run))


def spec_data(run: Run) -> dict[str, Any]:
    """The run's resolved spec as data (RunSpec.to_dict()); {} for a run without a result."""
    return run.spec.to_dict() if run.spec is not None else {}


def model_settings(run: Run) -> dict[str, Any]:
    """The network's full config as it ran (the stored spec)."""
    return spec_data(run).get("model_config") or {}


def run_setting(run: Run, path: str, default: Any = None) -> Any:
    """A dotted setting as the run used it, from its stored spec ("train_config.augment");
    a setting the spec does not hold (the preset's name) as its config asked for it."""
    head, _, tail = path.partition(".")
    spec = spec_data(run)
    if tail and isinstance(spec.get(head), dict) and tail in spec[head]:
        return spec[head][tail]
    if not tail and head in spec:
        return spec[head]
    return config_value(run.config, path, default)


def training_settings(run: Run) -> dict[str, Any]:
    """Every training setting as the run used it (the stored spec)."""
    return spec_data(run).get("train_config") or {}


def architecture(run: Run, inputs: int, outputs: int) -> str:
    """Layer sizes of a fully connected network, '784-512-512-10'; '' for the convolutional one."""
    model = run.config.get("model", "")
    if model == "cnn":
        return ""
    settings = model_settings(run)
    if not settings:
        return model or "?"
    return "-".join(str(width) for width in (inputs, *settings.get("hidden_sizes", ()), outputs))  # SimpleNetwork: none


def network_summary(run: Run, inputs: int, outputs: int) -> str:
    """What the notebook asks to report: structure, epochs and batch size ('784-512-512-10, 10 epochs, batch 128')."""
    settings, words = training_settings(run), current()
    parts = [architecture(run, inputs, outputs)]
    if "epochs" in settings:
        parts.append(words.plural("unit.epochs", settings["epochs"]))
    if "batch_size" in settings:
        parts.append(words("summary.batch", size=words.numbers.integer(settings["batch_size"])))
    return ", ".join(part for part in parts if part)
