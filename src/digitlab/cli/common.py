"""What every command group shares: the console, logging, and the common options."""

from __future__ import annotations

import io
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from digitlab.atomic import atomic_write_bytes
from digitlab.datasets import SOURCE_ORDER_HELP

# Piped output (tests, `| less`) gets a wide console so tables and pixel matrices are not cut at 80.
PIPE_WIDTH = 200
console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)  # results go to stdout
err_console = Console(stderr=True)  # logs, progress and errors go to stderr


class DatasetName(str, Enum):
    mnist = "mnist"
    fashion_mnist = "fashion-mnist"


class DatasetChoice(str, Enum):
    """A dataset, or both."""

    mnist = "mnist"
    fashion_mnist = "fashion-mnist"
    all = "all"

    def names(self) -> list[str]:
        return [d.value for d in DatasetName] if self is DatasetChoice.all else [self.value]


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="DIGITLAB_DATA_DIR", help="Folder with the IDX files. " + SOURCE_ORDER_HELP),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", envvar="DIGITLAB_CACHE_DIR", help="digitlab's dataset cache [default: ~/.cache/digitlab]."),
]
DatasetOption = Annotated[DatasetName, typer.Option("--dataset", "-d", help="Which dataset.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same result.")]


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
        help="Results store: an SQLAlchemy URL, e.g. postgresql://user@host/db [default: sqlite:///runs/digitlab.sqlite3].",
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
