"""Entry point of the ``digitlab`` command: registers the command groups and turns errors into messages."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from digitlab import __version__
from digitlab.cli import data, lab
from digitlab.cli.common import err_console, setup_logging
from digitlab.errors import DigitlabError

app = typer.Typer(
    name="digitlab",
    help="Learn and compare classifiers on MNIST and Fashion-MNIST, the course notebook as software.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data.app, name="data")
app.command("lab")(lab.lab)
from digitlab.cli import runs as runs_cli; app.add_typer(runs_cli.app, name="runs")  # noqa: E402, E702
from digitlab.cli import sweep as sweep_cli; app.command("sweep")(sweep_cli.sweep); app.command("tune")(sweep_cli.tune)  # noqa: E402, E702
# Command groups of later features register here, one line each.
from digitlab.cli import robustness as robustness_cli; app.command("robustness")(robustness_cli.robustness)  # noqa: E402, E702
from digitlab.cli import knn as knn_cli; app.add_typer(knn_cli.app, name="knn")  # noqa: E402, E702  (knn, knn tune, knn scaling)
from digitlab.cli import report as report_cli; app.command("report")(report_cli.report)  # noqa: E402, E702
from digitlab.cli import train as train_cli; app.add_typer(train_cli.app)  # noqa: E402, E702  (train, evaluate, predict, summary)
from digitlab.cli import serve as serve_cli; app.command("serve")(serve_cli.serve)  # noqa: E402, E702


def _version(value: bool) -> None:
    if value:
        print(f"digitlab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="Say more: -v for steps, -vv for debug.")] = 0,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    setup_logging(verbose)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input ends in one clear line on stderr and a non-zero exit, not a traceback.

    Usage errors exit 2 (typer's own handling); digitlab's data and argument errors exit 1.
    """
    try:
        app(args=argv, prog_name="digitlab")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    except (DigitlabError, ValueError) as error:  # ValueError: a library's argument check
        err_console.print(f"[bold red]error:[/bold red] {escape(str(error))}", highlight=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
