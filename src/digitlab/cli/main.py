"""Entry point of the ``digitlab`` command: registers the command groups and turns errors into messages."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from digitlab import __version__
from digitlab.cli import check, data, doctor, explain, knn, lab, notebook, predict, report, robustness, runs, serve, sweep, train
from digitlab.cli.common import describe_disk_error, err_console, print_error, setup_logging
from digitlab.cli.interrupts import INTERRUPTED_EXIT_CODE, interrupted_message
from digitlab.errors import DigitlabError

app = typer.Typer(
    rich_markup_mode=None,  # help texts are plain text: "[grid]" and "[default: ...]" are not markup
    name="digitlab",
    help="Learn and compare classifiers on MNIST and Fashion-MNIST, the course notebook as software.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# In the order a student meets them: the main job, the data, networks, k-NN, experiments, results.
app.command("lab")(lab.lab)
app.add_typer(data.app, name="data")
app.add_typer(train.app)  # train, evaluate, summary
app.command("predict")(predict.predict)
app.add_typer(knn.app, name="knn")  # knn, knn tune, knn scaling
app.command("sweep")(sweep.sweep)
app.command("tune")(sweep.tune)
app.add_typer(runs.app, name="runs")
app.command("report")(report.report)
app.command("robustness")(robustness.robustness)
app.command("explain")(explain.explain)
app.command("serve")(serve.serve)
app.command("notebook")(notebook.notebook)
app.command("check")(check.check)
app.command("doctor")(doctor.doctor)


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
        if done.code == INTERRUPTED_EXIT_CODE:  # typer turns a Ctrl-C into exit 130: say what it interrupted
            err_console.print(f"[yellow]{escape(interrupted_message())}[/yellow]", highlight=False)
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    except KeyboardInterrupt:  # outside typer's own handling (between commands)
        err_console.print(f"[yellow]{escape(interrupted_message())}[/yellow]", highlight=False)
        return INTERRUPTED_EXIT_CODE
    except (DigitlabError, ValueError) as error:  # ValueError: a library's argument check
        print_error(str(error))
        return 1
    except Exception as error:
        from digitlab.experiments.store import describe_store_error

        message = describe_disk_error(error) or describe_store_error(error)
        if message is None:
            raise  # a bug: the traceback is what a report needs
        print_error(message)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
