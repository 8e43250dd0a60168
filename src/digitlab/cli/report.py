"""``digitlab report``: write the lab's HTML report for each dataset from the runs in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from digitlab.cli.common import (
    EVERY,
    REPORTS,
    CacheDirOption,
    DataDirOption,
    DatasetChoiceOption,
    LangOption,
    StorageOption,
    console,
    out_option,
    under,
)
from digitlab.experiments import open_storage
from digitlab.report import build_report
from digitlab.report.i18n import report_language

DEFAULT_OUT = under(REPORTS)


def report(
    dataset: DatasetChoiceOption = EVERY,
    storage: StorageOption = None,
    out: Annotated[Path, out_option("Folder for the reports: OUT/<dataset>/index.html.")] = DEFAULT_OUT,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    lang: LangOption = None,
) -> None:
    """Write OUT/<dataset>/index.html: the notebook's questions answered with the lab's runs."""
    store = open_storage(storage)
    for name in dataset.names():
        with console.status(f"{name}: building the report"):
            path = build_report(store, name, out / name, data_dir=data_dir, cache_dir=cache_dir, lang=report_language(name, lang))
        console.print(f"[green]✓[/green] {name}: wrote {path}")
