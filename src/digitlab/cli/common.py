"""What every command group shares: the console, logging, and the common options."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from digitlab.atomic import atomic_write_bytes
from digitlab.cli.paths import OUTPUT_ROOT, writable_folder
from digitlab.datasets import DEFAULT_DATASET, dataset_names, get_spec
from digitlab.i18n import LANGUAGES

# Piped output (tests, `| less`) gets a wide console so tables and pixel matrices are not cut at 80.
PIPE_WIDTH = 200
console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)  # results go to stdout
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())  # logs, progress, errors; one line each in a log file


ALL_DATASETS = "all"


class DatasetName(str):
    """A dataset's name as the command line gave it, checked against the catalog when parsed.

    A plain ``str`` (so datasets registered at run time are accepted too); ``.value`` is the name.
    """

    @property
    def value(self) -> str:
        return str(self)


class DatasetChoice(DatasetName):
    """A dataset's name, or "all" for every dataset in the catalog."""

    def names(self) -> list[str]:
        return list(dataset_names()) if self == ALL_DATASETS else [self.value]


def parse_dataset(value: str) -> DatasetName:
    try:
        get_spec(str(value))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return DatasetName(value)


def parse_dataset_choice(value: str) -> DatasetChoice:
    return DatasetChoice(ALL_DATASETS if str(value) == ALL_DATASETS else parse_dataset(value))


def dataset_option(help_text: str = "Which dataset.", show_default: bool | str = True) -> typer.models.OptionInfo:
    """``--dataset/-d NAME``, checked against the catalog."""
    return typer.Option("--dataset", "-d", parser=parse_dataset, metavar="NAME", help=f"{help_text} {DATASETS_HELP}", show_default=show_default)


def dataset_choice_option(help_text: str = "Which dataset, or all.") -> typer.models.OptionInfo:
    return typer.Option("--dataset", "-d", parser=parse_dataset_choice, metavar="NAME|all", help=f"{help_text} {DATASETS_HELP}")


DATASETS_HELP = f"One of: {', '.join(dataset_names())} (or a registered one)."


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="DIGITLAB_DATA_DIR",
                 help="Folder with the IDX files [default: the cache, else downloaded; where from: digitlab data fetch --help]."),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", envvar="DIGITLAB_CACHE_DIR", help="digitlab's dataset cache [default: ~/.cache/digitlab]."),
]
DatasetOption = Annotated[DatasetName, dataset_option()]
DatasetChoiceOption = Annotated[DatasetChoice, dataset_choice_option()]
DatasetArgument = Annotated[DatasetChoice, typer.Argument(parser=parse_dataset_choice, metavar="[NAME|all]",
                                                          help=f"A dataset, or all. {DATASETS_HELP}")]
DEFAULT = DatasetName(DEFAULT_DATASET)  # what a command uses when no dataset is named
EVERY = DatasetChoice(ALL_DATASETS)
DEFAULT_CHOICE = DatasetChoice(DEFAULT_DATASET)
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same result.")]
# What a student reads (report, figures, pictures) follows --lang; the CLI's own printed text stays English.
LangOption = Annotated[str | None, typer.Option(
    "--lang", help=f"The language of what a student reads (report, figures): {' or '.join(LANGUAGES)} "
                   "[default: the dataset's; Dutch for MNIST and Fashion-MNIST, as the course].")]


def _writable_out(value: Path | None) -> Path | None:
    """--out is checked while the command line is parsed: a folder that cannot be written fails before any work."""
    return None if value is None else writable_folder(value)


def out_option(help_text: str, default_text: str | None = None) -> typer.models.OptionInfo:
    """``--out/-o FOLDER``, one meaning in every command: the folder the results go to, below runs/ by default."""
    return typer.Option("--out", "-o", callback=_writable_out, metavar="FOLDER", help=help_text,
                        show_default=default_text if default_text is not None else True)


def setup_logging(verbose: int) -> None:
    """Warnings by default, source-by-source progress with -v, everything with -vv."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = RichHandler(console=err_console, show_path=False, show_time=False)
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    logging.getLogger("digitlab").setLevel(level)

StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        envvar="DIGITLAB_STORAGE",
        help=f"Results store: an SQLAlchemy URL, e.g. postgresql://user@host/db [default: sqlite:///{OUTPUT_ROOT}/digitlab.sqlite3].",
    ),
]
DeviceOption = Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps [default: auto: CUDA, then MPS, then CPU].")]
FIGURE_DPI = 110  # PNGs written by the commands


def save_figure(figure, path: Path, dpi: int = FIGURE_DPI) -> Path:  # noqa: ANN001 (matplotlib Figure)
    """Write a figure as PNG atomically (a temp file renamed into place)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return path
