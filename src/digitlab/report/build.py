"""Assemble the report: read the lab's sweeps from the store, build each part of :data:`~digitlab.report.parts.PARTS`
in order (numbering their titles), render one HTML file.

>>> from digitlab.experiments import open_storage                       # doctest: +SKIP
>>> build_report(open_storage(), "mnist", Path("reports/mnist"))      # reports/mnist/index.html
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from optuna.storages import RDBStorage
from sqlalchemy.engine import make_url

from digitlab import __version__
from digitlab.atomic import atomic_write_text
from digitlab.datasets import Dataset, get_spec, load
from digitlab.errors import DigitlabError
from digitlab.experiments.store import REUSED_FROM, Run, load_sweeps
from digitlab.i18n import Language, current
from digitlab.report.blocks import Section
from digitlab.report.i18n import DEFAULT_LANGUAGE, speaking, t
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links, count, dataset_title, percent, seconds
from digitlab.report.overview import compared, other_dataset, row_of
from digitlab.report.parts import COMPARED, PARTS, PICKED, numbered_titles
from digitlab.report.quick import banner, quick_cut, without_conclusions
from digitlab.report.timing import contention

REPORT_FILE = "index.html"
READABLE = 0o644
METRIC_DIGITS = 4  # significant digits of a stored metric that is neither accuracy, seconds nor a count
NUMBER = re.compile(r"[-–+]?[\d,.]*\d[\d,.]*\s*(%|s|ms)?|–")  # 12,345 / 97.50% / 3.2 s / a dash for none
WORD = re.compile(r"[^\W\d_]{2,}")  # a word of the language, not a unit letter or a number
UNIT_WORDS = {"ms"}  # what may stand beside a number in a number cell (with s, %, × and the busy mark)
TEMPLATE = "report.html.j2"
ENVIRONMENT_KEYS = ("device", "torch", "python", "digitlab", "git_commit", "cpu_count", "torch_threads", "cpu_seconds",
                    "wall_seconds", "load_start", "load_end")


@dataclass
class AppendixEntry:
    """Everything the report shows about one cited run."""

    run: Run
    params: list[tuple[str, str]]
    metrics: list[tuple[str, str]]
    environment: list[tuple[str, str]]
    config: str  # pretty JSON


def build_report(storage: RDBStorage, dataset_name: str, out_dir: Path, dataset: Dataset | None = None, *,
                 data_dir: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None,
                 lang: str = DEFAULT_LANGUAGE) -> Path:
    """Write ``out_dir/index.html`` from the runs in ``storage``; return its path.

    The lab and ``digitlab report`` use ``out_dir = reports/<dataset_name>``, so the two reports are
    siblings and link to each other (``../fashion-mnist/index.html``). ``dataset`` (loaded with
    :func:`digitlab.datasets.load` when not given) supplies the data part and the images of the
    prediction galleries. Sweeps the store lacks get a "not run yet" note. ``lang``: the page's language
    (``en`` or ``nl``; :mod:`digitlab.report.i18n`).
    """
    if dataset is None:
        dataset = load(dataset_name, data_dir=data_dir, cache_dir=cache_dir)
    if dataset.name != dataset_name:
        raise DigitlabError(f"report for {dataset_name!r} given the dataset {dataset.name!r}")
    path = Path(out_dir) / REPORT_FILE
    atomic_write_text(path, render_report(storage, dataset, lang=lang))
    path.chmod(READABLE)  # temp files are private (0600); a report is for reading and sharing
    return path


def comparison_rows(storage: RDBStorage, dataset_name: str) -> list[dict[str, Any]]:
    """One dict per model (its sweep's best run): model, sweep, settings, run_id, test_accuracy,
    train_seconds, predict_seconds, num_parameters. Empty when nothing has run on the dataset."""
    spec = get_spec(dataset_name)
    with speaking(Language.ENGLISH):  # the command line's table (the CLI is English): the report's own phrases
        return [row_of(label, sweep, run, spec) for label, sweep, run in compared(load_sweeps(storage, dataset_name), COMPARED, PICKED)]


def render_report(storage: RDBStorage, dataset: Dataset, lang: str = DEFAULT_LANGUAGE) -> str:
    """The whole page as a string, in ``lang``."""
    with speaking(lang):
        return _render(storage, dataset, lang)


def _render(storage: RDBStorage, dataset: Dataset, lang: str) -> str:
    sweeps = load_sweeps(storage, dataset.name)
    other = other_dataset(dataset.name)
    others = load_sweeps(storage, other) if other else {}
    links = Links()
    sections = [Section(part.anchor, title, part.build(Inputs(dataset, links, sweeps, part.roles, others if part.compares_datasets else {},
                                                              part.picks, part.spread)))
                for part, title in zip(PARTS, numbered_titles(dataset.name), strict=True)]
    cut = quick_cut(sweeps)
    if cut is not None:
        sections = without_conclusions(sections)
    appendix = [appendix_entry(run) for run in sorted(links.cited.values(), key=lambda run: run.id)]
    busy = sum(contention(run) is not None for run in links.cited.values())
    return _environment().get_template(TEMPLATE).render(
        lang=lang, t=t, busy_note=t("timing.note", count=busy) if busy else "", quick_note=banner(cut) if cut else "",
        dataset=dataset, title=dataset_title(dataset.name), sections=sections, appendix=appendix,
        store=_safe_url(storage.url), version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), sweep_count=len(sweeps),
    )


def appendix_entry(run: Run) -> AppendixEntry:
    environment = run.result.get("environment") or {}
    return AppendixEntry(
        run=run,
        params=[(key, str(value)) for key, value in run.params.items()],
        metrics=[(name, format_metric(name, value)) for name, value in run.metrics.items()],
        environment=[(key, str(environment[key])) for key in ENVIRONMENT_KEYS if key in environment]
        + ([("contention", reason)] if (reason := contention(run)) else [])
        + ([("reused from", f"run {source['run']} ({source['study']}): the same spec, computed once")]
           if isinstance(source := run.result.get(REUSED_FROM), dict) else []),
        config=json.dumps(run.config, indent=2, sort_keys=True),
    )


def format_metric(name: str, value: Any) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else str(value)
    if name.endswith("accuracy"):
        return percent(value)
    if name.endswith("seconds"):
        return seconds(value)
    return count(value) if isinstance(value, int) else current().numbers.significant(value, METRIC_DIGITS)


def _safe_url(url: str) -> str:
    """The store's URL without its password (a PostgreSQL URL may carry one)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL: show nothing rather than risk a secret
        return "(store)"


def alignment(cell: Any) -> str:
    """CSS class of a table cell: numbers (links to runs, counts, times, a busy mark beside them) line up on the
    right; words, linked numbers among them included, on the left."""
    if not isinstance(cell, Markup):
        return "num" if NUMBER.fullmatch(str(cell)) else "text"
    words = [word for word in WORD.findall(cell.striptags()) if word not in UNIT_WORDS]
    return "text" if words else "num"


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("digitlab.report", "templates"), autoescape=select_autoescape(("html", "j2")),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["alignment"] = alignment
    return environment
