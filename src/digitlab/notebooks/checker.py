"""The checker process, run INSIDE a sandbox: ``python -m digitlab.notebooks.checker JOB INPUTS FD``.

It makes the checks' :class:`~digitlab.notebooks.checks.kit.Kit` (data and captured functions) before any
student code runs, serves the notebook's ``load("mnist")`` from the grader's inputs (test labels absent),
then runs the job's cells in one IPython shell, in the companion notebook's order: its setup cells
(errors ignored: some use the students' definitions), and per assignment the student's cells followed by
the check's ``extract``. Each student cell and each extract has ``cell_s`` seconds (SIGALRM); the
companion notebook's own setup cells (imports, loading data: slow on a busy machine) have ``setup_s``. It writes one JSON
line per event to the channel ``FD``: ``start`` (an assignment begins), ``data`` (extract's result and the
first error of the student's cells) or ``timeout``. The grader judges; nothing here decides a verdict.
"""

from __future__ import annotations

import json
import os
import signal
import sys

QUICK_ENV = "DIGITLAB_NOTEBOOK_QUICK"  # the notebook's quick mode (its SNEL flag): the checks need no more
STDOUT = 1  # the channel a container gives: moved to a private descriptor before any student code runs


class CellTimeout(BaseException):
    """Raised by SIGALRM when a cell runs past its time (a BaseException: ``except Exception`` lets it pass)."""


def _alarm(signum, frame):
    raise CellTimeout()


def _emit(write, fd: int, event: dict, _dumps=json.dumps) -> None:
    """One event as a JSON line (``json.dumps`` bound at import, before any student code)."""
    try:
        line = _dumps(event, allow_nan=False, default=str)
    except (ValueError, TypeError, RecursionError):  # NaN or a cycle in extracted data: the judge gets unusable data
        line = _dumps({**event, "data": "unserialisable"})
    write(fd, (line + "\n").encode())


def _serve_inputs(inputs: dict):
    """Make ``digitlab.datasets.load`` return the grader's data, with every test label 0 (the real ones stay out)."""
    import torch

    import digitlab.datasets as datasets
    from digitlab.datasets import Dataset, Split, get_spec

    def load(name="mnist", **_ignored):
        spec = get_spec(name)
        test_images = torch.from_numpy(inputs["test_images"])
        return Dataset(name=spec.name, classes=spec.classes,
                       train=Split(torch.from_numpy(inputs["train_images"]), torch.from_numpy(inputs["train_labels"])),
                       test=Split(test_images, torch.zeros(len(test_images), dtype=torch.int64)), source="digitlab check")

    datasets.load = load


def _first_error(result) -> dict | None:
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return None
    return {"type": type(error).__name__, "message": str(error).strip().split("\n")[0][:300]}


def main(job_path: str, inputs_path: str, fd: int) -> None:
    write = os.write
    if fd == STDOUT:  # a student's print() must not land on the channel: standard output becomes standard error
        fd = os.dup(STDOUT)
        os.dup2(2, STDOUT)
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    import numpy

    with numpy.load(inputs_path) as archive:
        inputs = {name: archive[name] for name in archive.files}
    from IPython.core.interactiveshell import InteractiveShell

    from digitlab.notebooks.checks import CHECKS
    from digitlab.notebooks.checks.kit import Kit

    _serve_inputs(inputs)
    checks = dict(CHECKS)  # the registry as it is now, before any student code could change it
    kit = Kit.make(inputs["train_images"], inputs["train_labels"], inputs["test_images"])
    shell = InteractiveShell.instance()
    shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` asks for a GUI loop; figures here are never shown
    cell_s, setup_s, emit, alarm = int(job["cell_s"]), int(job["setup_s"]), _emit, signal.alarm
    signal.signal(signal.SIGALRM, _alarm)
    for step in job["steps"]:
        if step["assignment"] is None:  # a setup cell after an assignment may call the student's code: cell_s then
            alarm(setup_s if step.get("required") else cell_s)
            result = shell.run_cell(step["source"], store_history=False, silent=True)
            alarm(0)
            kit.restore()
            if step.get("required") and _first_error(result):  # the companion notebook's own setup failed here
                emit(write, fd, {"event": "setup-error", "error": _first_error(result)})
            continue
        name = step["assignment"]
        emit(write, fd, {"event": "start", "assignment": name})
        error, timed_out = None, False
        for source in step["sources"]:
            alarm(cell_s)
            result = shell.run_cell(source, store_history=False, silent=True)
            alarm(0)
            kit.restore()  # a cell's patches to builtins, torch or numpy end with the cell: the checker's own code runs clean
            if isinstance(result.error_in_exec, CellTimeout):
                timed_out = True
                break
            error = error or _first_error(result)
        if timed_out:
            emit(write, fd, {"event": "timeout", "assignment": name, "seconds": cell_s})
            continue
        kit.restore()  # again: a thread the student started may have patched since
        try:
            alarm(cell_s)
            data = checks[name].extract(dict(shell.user_ns), kit) if name in checks else {}
            alarm(0)
        except CellTimeout:
            emit(write, fd, {"event": "timeout", "assignment": name, "seconds": cell_s})
            continue
        except Exception as failure:  # extract reports the student's errors itself; this is anything else
            alarm(0)
            data = {"error": {"type": type(failure).__name__, "message": str(failure)[:300]}}
        if error and "error" not in data:
            data["cell_error"] = error
        emit(write, fd, {"event": "data", "assignment": name, "data": data})
    emit(write, fd, {"event": "done"})


if __name__ == "__main__":
    os.environ.setdefault(QUICK_ENV, "1")
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
