"""What every command shares: the console, logging, the common options, and the checks made before any work starts.

Every command writes below ``runs/`` unless ``--out`` says otherwise, so a student finds every result
in one place. A folder that cannot be written (a file, a device such as /dev/null, /proc, a read-only
disk) is refused with one line while the command line is parsed, before a minute of training or a sweep
is spent on it; so is a misspelt augmentation (a network too large to train is refused by the run
pipeline, :func:`digitlab.experiments.runner.check_network_size`, for every command). ``--help`` shows
each model's preset values for the training options.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import sys
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from digitlab.atomic import atomic_write_bytes
from digitlab.datasets import DEFAULT_DATASET, dataset_names, get_spec
from digitlab.errors import DigitlabError
from digitlab.i18n import LANGUAGES
from digitlab.images import parse_augment
from digitlab.models.registry import MODEL_NAMES, MODELS
from digitlab.presets import preset

OUTPUT_ROOT = Path("runs")  # every command's results go below it unless --out names another folder
REPORTS = "reports"  # below the root: one folder per dataset with its index.html (lab and report)
MODELS_FOLDER = "models"  # below the root: the lab's headline models, where serve finds them
PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))  # the kernel's, not the user's: never an output folder
SPACE_ERRORS = (errno.ENOSPC, errno.EDQUOT)  # the disk (or the user's quota) is full
WRITE_ERRORS = (errno.EROFS, errno.EACCES, errno.EPERM)  # read-only disk or folder


def under(name: str) -> Path:
    """The default folder of one command's results: runs/NAME."""
    return OUTPUT_ROOT / name


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _try_writing(folder: Path) -> OSError | None:
    """Create and remove one temporary file in ``folder``: the only test a root user's permissions cannot fool."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".digitlab-probe-")
    except OSError as error:
        return error
    os.close(handle)
    os.unlink(name)
    return None


def writable_folder(path: Path, option: str = "--out") -> Path:
    """``path`` if digitlab can create files in it (or create it), else a one-line DigitlabError.

    Nothing is left behind: the probe file is removed, and the folder is created by the first file written into it.
    """
    absolute = Path(os.path.abspath(path.expanduser()))
    for root in PSEUDO_FILESYSTEMS:
        if absolute == root or root in absolute.parents:
            raise DigitlabError(f"{option} {path} is under {root}, the system's own files: choose a folder of yours, "
                                f"e.g. {option} {OUTPUT_ROOT}")
    if absolute.exists() and not absolute.is_dir():
        raise DigitlabError(f"{option} {path} is a file, not a folder: choose a folder, e.g. {option} {OUTPUT_ROOT}")
    existing = _nearest_existing(absolute)
    if not existing.is_dir():
        raise DigitlabError(f"{option} {path} cannot be created: {existing} is a file; choose another folder")
    if (error := _try_writing(existing)) is not None:
        raise DigitlabError(f"{option} {path} cannot be written ({error.strerror or error}): choose a folder you can write, "
                            f"e.g. {option} ~/digitlab-runs") from error
    return path


FULL = ("the disk is full{where}: nothing half-written was kept and the files written before are intact; "
        "free some space (or write to another disk with --out) and run the command again")
READ_ONLY = "cannot write{where}: {reason}; run it in a folder you can write, or name one with --out (and --storage for the store)"
SQLITE_FULL = "database or disk is full"  # SQLite's words for ENOSPC, through SQLAlchemy and Optuna
SQLITE_READ_ONLY = ("attempt to write a readonly database", "unable to open database file")


def _chain(error: BaseException) -> list[BaseException]:
    """The error and the errors it was raised from or during (Optuna and SQLAlchemy wrap the operating system's)."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def writable_file(path: Path, option: str = "--out") -> Path:
    """``path`` if digitlab can write it (atomically, beside it in its folder), else a one-line DigitlabError."""
    if path.is_dir():
        raise DigitlabError(f"{option} {path} is a folder; name a file in it, e.g. {option} {path / 'runs.csv'}")
    writable_folder(path.parent, option)
    return path


def describe_disk_error(error: BaseException) -> str | None:
    """One line for a full or read-only disk met during work, else None (then it is a bug, and its traceback helps)."""
    for link in _chain(error):
        where = f" ({link.filename})" if isinstance(link, OSError) and link.filename else ""
        if isinstance(link, OSError) and link.errno in SPACE_ERRORS or SQLITE_FULL in str(link):
            return FULL.format(where=where)
        if isinstance(link, OSError) and link.errno in WRITE_ERRORS:
            return READ_ONLY.format(where=where, reason=link.strerror)
        if any(words in str(link) for words in SQLITE_READ_ONLY):
            return READ_ONLY.format(where=" the results store", reason="its folder is read-only or missing")
    return None


# Piped output (tests, `| less`) gets a wide console so tables and pixel matrices are not cut at 80.
PIPE_WIDTH = 200
console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)  # results go to stdout
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())  # logs, progress, errors; one line each in a log file


def print_error(message: str) -> None:
    """One error line on stderr, worded like typer's own usage errors ("Error: ...")."""
    err_console.print(f"[bold red]Error:[/bold red] {escape(message)}", highlight=False)


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


def check_augment(text: str) -> None:
    """One line naming the unknown augmentation and the known ones."""
    try:
        parse_augment(text)
    except ValueError as error:
        raise DigitlabError(f"--augment: {error}") from None


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value) if value not in (None, "") else "none"


def preset_default(field: str) -> str:
    """What the recommended preset sets ``field`` to for each model on the default dataset: the default --help shows."""
    shown = {name: _show(getattr(preset(name, DEFAULT_DATASET).train_config, field)) for name in MODEL_NAMES}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{name} {value}" for name, value in shown.items())


def model_default(option: str) -> str:
    """Each model's default for a model option (``--hidden-sizes``, ``--dropout``...), for --help; models without it are left out."""
    shown = []
    for name in MODEL_NAMES:
        defaults = {item.name: item.default for item in fields(MODELS[name][1])}
        if OPTION_FIELDS[option] in defaults:
            shown.append(f"{name} {_show(defaults[OPTION_FIELDS[option]])}")
    return ", ".join(shown)


# Command-line options -> the config field each sets; an option applies to a model whose config has the field.
OPTION_FIELDS = {"--hidden-sizes": "hidden_sizes", "--activation": "activation", "--dropout": "dropout", "--channels": "channels",
                 "--kernel-size": "kernel_size", "--padding": "padding", "--test-time-mirror": "test_time_mirror",
                 "--test-time-shift": "test_time_shift"}


def command_line_settings(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Model settings from ``digitlab train`` / ``summary`` options ({field: value}; None: not given), checked against
    the fields model ``name`` has: an option for a field it lacks is an error naming the options it takes."""
    known = {field.name for field in fields(MODELS[name][1])}
    settings = {field: value for field, value in given.items() if value is not None}
    if kernel_size := settings.get("kernel_size"):  # one size for every block, or one per block
        settings["kernel_size"] = kernel_size[0] if len(kernel_size) == 1 else kernel_size
    wrong = [option for option, field in OPTION_FIELDS.items() if field in settings and field not in known]
    if wrong:
        allowed = sorted(option for option, field in OPTION_FIELDS.items() if field in known)
        raise DigitlabError(f"{', '.join(wrong)} does not apply to --model {name} (it takes {', '.join(allowed) or 'no such options'})")
    return settings
