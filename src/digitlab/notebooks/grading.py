"""Grade students' notebooks: run each one in a real Jupyter kernel, time-limited and offline, and say per
assignment whether it passed its checks, failed them, or was not answered.

A student's copy is graded with the companion notebook's own check cells (put back in place of whatever
the student's copy holds), so a changed or deleted check cannot pass an assignment. Each notebook runs in a
fresh kernel in its own temporary folder; a cell that runs past its time limit is interrupted, a kernel
that ignores the interrupt or dies is killed, and grading goes on with the next notebook.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import multiprocessing
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from digitlab.atomic import atomic_write_text
from digitlab.errors import DigitlabError
from digitlab.notebooks.editions import CHECK, DEMO, STUDENT, assignment_of, assignments, is_open, read_notebook, source_of, tags_of

PASSED, FAILED, NOT_ANSWERED, ANSWERED = "passed", "failed", "not answered", "answered"
PROBE_TIMEOUT_S = 10  # after an interrupt, a kernel that cannot run `pass` within this is hung: killed
QUICK_ENV = "DIGITLAB_NOTEBOOK_QUICK"  # the notebook's quick mode: small data, one epoch (its SNEL flag)
# Run first in every kernel: Python sockets may reach this machine only (the kernel's own channels are ZeroMQ's).
OFFLINE_CODE = '''
import socket as _socket
def _digitlab_offline(_connect):
    def connect(self, address, *rest):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (_socket.AF_INET, _socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"digitlab check runs notebooks offline: no connection to {host}")
        return _connect(self, address, *rest)
    return connect
_socket.socket.connect = _digitlab_offline(_socket.socket.connect)
_socket.socket.connect_ex = _digitlab_offline(_socket.socket.connect_ex)
del _digitlab_offline
'''


@dataclass(frozen=True)
class Limits:
    """How long and how much a notebook may take while it is graded."""

    cell_s: int = 300  # one cell at most (the full notebook's longest cell, the CNN, needs ~2 minutes)
    total_s: int = 900  # the whole notebook at most, checks included
    output_bytes: int = 200_000  # output kept per cell; a print loop cannot fill the memory
    quick: bool = True  # run the notebook in its quick mode (small data): checks need no more
    all_cells: bool = False  # also run the cells tagged "demo" (training runs and figures nothing checks)


@dataclass(frozen=True)
class Outcome:
    """What one assignment of one notebook came to."""

    assignment: str
    status: str  # PASSED, FAILED, NOT_ANSWERED, or ANSWERED (a written answer, for the teacher to read)
    detail: str = ""  # why it failed: the check's message, the error, the time limit


@dataclass
class Grade:
    """One notebook, graded."""

    path: Path
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    problem: str = ""  # the notebook could not be read or run at all


@dataclass
class _Ran:
    """The fate of one executed cell: None while fine, else a short reason."""

    error: str | None = None
    missing: bool = False  # never ran (the kernel died or the time ran out before it)


def prepare(student: dict, reference: dict, all_cells: bool = False) -> tuple[list[dict], dict[str, list[int]], dict[str, list[int]]]:
    """The cells to run: the student's, with the reference's checks after each assignment's last student cell.

    Returns the cells and, per assignment, the indices of its student cells and of its check cells.
    """
    checks: dict[str, list[dict]] = {}
    for cell in reference["cells"]:
        if CHECK in tags_of(cell):
            checks.setdefault(assignment_of(cell), []).append(copy.deepcopy(cell))
    kept = [cell for cell in student["cells"]
            if CHECK not in tags_of(cell) and (all_cells or DEMO not in tags_of(cell))]
    last = {assignment_of(cell): index for index, cell in enumerate(kept) if STUDENT in tags_of(cell)}
    cells, solutions, tests = [], {}, {}
    for index, cell in enumerate(kept):
        name = assignment_of(cell)
        if STUDENT in tags_of(cell):
            solutions.setdefault(name, []).append(len(cells))
        cells.append(cell)
        if last.get(name) == index and STUDENT in tags_of(cell):
            for check in checks.get(name, []):
                tests.setdefault(name, []).append(len(cells))
                cells.append(check)
    return cells, solutions, tests


def _load_nbclient():
    try:
        import nbclient
        import nbformat
        from nbclient.exceptions import CellTimeoutError, DeadKernelError
        from nbclient.util import run_sync
    except ImportError as error:
        raise DigitlabError(f"digitlab check needs nbclient, nbformat and ipykernel ({error.name} is missing): "
                            "pip install 'digitlab[course]'") from None
    return nbclient, nbformat, CellTimeoutError, DeadKernelError, run_sync


def _bounded_client(nbclient, output_bytes: int):
    """An nbclient NotebookClient that keeps at most ``output_bytes`` of output per cell."""

    class BoundedClient(nbclient.NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            kept = self.__dict__.setdefault("_kept_bytes", {})  # per cell index, of this client
            size = len(str(msg.get("content", "")))
            used = kept.get(cell_index, 0)
            kept[cell_index] = used + size
            if used + size > output_bytes and msg["msg_type"] != "error":  # errors are what grading reads
                return None
            return super().output(outs, msg, display_id, cell_index)

    return BoundedClient


def _error_of(cell: dict) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = str(output.get("evalue", "")).strip().split("\n")[0]
            return f"{output.get('ename', 'Error')}: {message}" if message else str(output.get("ename", "Error"))
    return None


def _execute(cells: list[dict], limits: Limits, workdir: Path) -> list[_Ran]:
    """Run ``cells`` in one fresh kernel; the fate of each cell, in order."""
    nbclient, nbformat, CellTimeoutError, DeadKernelError, run_sync = _load_nbclient()

    # nbclient stores each executed cell at its index in the notebook: the offline guard is a real first cell
    offline = nbformat.v4.new_code_cell(OFFLINE_CODE)
    notebook = nbformat.v4.new_notebook(cells=[offline, *(nbformat.from_dict(cell) for cell in cells)],
                                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    env = {**os.environ, "MPLBACKEND": "agg", QUICK_ENV: "1" if limits.quick else "0", "PYTHONDONTWRITEBYTECODE": "1"}
    client = _bounded_client(nbclient, limits.output_bytes)(
        notebook, timeout=limits.cell_s, kernel_name="python3", allow_errors=True, shutdown_kernel="immediate",
        startup_timeout=min(120, limits.total_s), resources={"metadata": {"path": str(workdir)}})
    fates = [_Ran() for _ in notebook.cells]
    deadline = time.monotonic() + limits.total_s
    with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):  # the kernel's own log is noise here
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            remaining = deadline - time.monotonic()
            if remaining < 1:
                fates[index] = _Ran(f"the notebook ran past its {limits.total_s} s limit before this cell", missing=True)
                continue
            client.timeout = int(min(limits.cell_s, remaining))
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                fates[index] = _Ran(f"ran past its time limit ({client.timeout} s)")
                if not _interrupted(client, index, nbformat, run_sync):
                    run_sync(client.km.shutdown_kernel)(now=True)  # a kernel that ignores the interrupt is killed
                    for later in range(index + 1, len(fates)):
                        fates[later] = _Ran("not run: the kernel hung and was killed", missing=True)
                    break
                continue
            except DeadKernelError:
                fates[index] = _Ran("the kernel died in this cell (a crash, or out of memory)")
                for later in range(index + 1, len(fates)):
                    fates[later] = _Ran("not run: the kernel died in an earlier cell", missing=True)
                break
            fates[index] = _Ran(_error_of(cell))
    if fates[0].error:
        raise RuntimeError(f"the offline guard failed: {fates[0].error}")
    return fates[1:]


def _interrupted(client, index: int, nbformat, run_sync) -> bool:
    """Interrupt the kernel; True when it answers again (runs ``pass``, in place of cell ``index``) in time."""
    with contextlib.suppress(Exception):  # a kernel that is gone cannot be interrupted: the probe says so
        run_sync(client.km.interrupt_kernel)()
    client.timeout = PROBE_TIMEOUT_S
    try:
        client.execute_cell(nbformat.v4.new_code_cell("pass"), index)
    except Exception:  # CellTimeoutError (hung) or DeadKernelError: either way it cannot go on
        return False
    return True


def _judge(name: str, kind: str, cells: list[dict], solutions: list[int], tests: list[int], fates: list[_Ran]) -> Outcome:
    if kind == "answer":
        answered = [index for index in solutions if not is_open(cells[index])]
        return Outcome(name, ANSWERED if answered else NOT_ANSWERED)
    if not solutions or all(is_open(cells[index]) for index in solutions):
        return Outcome(name, NOT_ANSWERED)
    for index in solutions:
        fate = fates[index]
        if fate.error and fate.error.startswith("NotImplementedError"):
            return Outcome(name, NOT_ANSWERED, "a placeholder still raises NotImplementedError")
        if fate.error:
            return Outcome(name, FAILED, f"your cell: {fate.error}")
    if not tests:
        return Outcome(name, FAILED, "no check cell for this assignment in the companion notebook")
    for index in tests:
        if fates[index].error:
            return Outcome(name, FAILED, f"check: {fates[index].error}")
    return Outcome(name, PASSED)


def grade(path: Path, reference: dict | None = None, limits: Limits = Limits()) -> Grade:
    """Run the notebook at ``path`` and judge each assignment; never raises for a student's notebook."""
    reference = read_notebook() if reference is None else reference
    started = time.monotonic()
    result = Grade(Path(path))
    try:
        student = read_notebook(path)
    except DigitlabError as error:
        result.problem = str(error)
        result.outcomes = [Outcome(a.id, NOT_ANSWERED if a.kind == "answer" else FAILED, "the notebook could not be read")
                           for a in assignments(reference)]
        return result
    cells, solutions, tests = prepare(student, reference, limits.all_cells)
    needs_kernel = any(source_of(cells[i]).strip() and not is_open(cells[i]) for ids in solutions.values() for i in ids)
    if needs_kernel:
        with tempfile.TemporaryDirectory(prefix="digitlab-check-") as workdir:
            try:
                fates = _execute(cells, limits, Path(workdir))
            except DigitlabError:
                raise
            except Exception as error:  # the kernel would not start, or nbclient gave up: this notebook only
                result.problem = f"could not run the notebook: {type(error).__name__}: {error}"
                fates = [_Ran(result.problem, missing=True) for _ in cells]
    else:
        fates = [_Ran() for _ in cells]  # nothing answered in code: no kernel needed
    result.outcomes = [_judge(a.id, a.kind, cells, solutions.get(a.id, []), tests.get(a.id, []), fates)
                       for a in assignments(reference)]
    result.seconds = time.monotonic() - started
    return result


def grade_all(paths: Iterable[Path], limits: Limits = Limits(), on_graded: Callable[[Grade], None] | None = None,
              jobs: int = 1, reference: dict | None = None) -> list[Grade]:
    """Grade every notebook with the companion notebook's checks; one notebook's trouble stays its own.

    ``jobs`` notebooks run at once, each in its own process and kernel with ``cpu_count // jobs`` threads;
    the grades come back in the order of ``paths``, ``on_graded`` is called as each one finishes.
    """
    reference = read_notebook() if reference is None else reference
    paths = [Path(path) for path in paths]
    if jobs < 1:
        raise DigitlabError(f"--jobs {jobs}: give 1 or more notebooks to run at once")
    if jobs == 1 or len(paths) < 2:
        grades = []
        for path in paths:
            grades.append(grade(path, reference, limits))
            if on_graded is not None:
                on_graded(grades[-1])
        return grades
    threads = str(max(1, (os.cpu_count() or 1) // jobs))  # the kernels share the cores instead of fighting over them
    # spawn, not fork: the parent has torch and its thread pools loaded
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_set_threads,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(grade, path, reference, limits): index for index, path in enumerate(paths)}
        grades: list[Grade | None] = [None] * len(paths)
        for future in as_completed(futures):
            grades[futures[future]] = future.result()
            if on_graded is not None:
                on_graded(grades[futures[future]])
    return grades


def _set_threads(threads: str) -> None:
    """In a grading worker: the kernels it starts inherit this environment."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = threads


def class_table(grades: list[Grade], reference: dict | None = None) -> tuple[list[str], list[list[str]]]:
    """The whole class as a table: one row per notebook, one column per assignment, and the totals."""
    names = [a.id for a in assignments(read_notebook() if reference is None else reference)]
    header = ["notebook", *names, PASSED, FAILED, NOT_ANSWERED, ANSWERED, "seconds", "problem"]
    rows = []
    for graded in grades:
        status = {outcome.assignment: outcome.status for outcome in graded.outcomes}
        counts = [sum(outcome.status == wanted for outcome in graded.outcomes) for wanted in (PASSED, FAILED, NOT_ANSWERED, ANSWERED)]
        rows.append([str(graded.path), *(status.get(name, "") for name in names), *map(str, counts),
                     f"{graded.seconds:.1f}", graded.problem])
    return header, rows


def write_class_csv(grades: list[Grade], path: Path, reference: dict | None = None) -> Path:
    """Write :func:`class_table` as CSV, atomically (a spreadsheet open on the old file sees it whole)."""
    header, rows = class_table(grades, reference)
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(header)
    writer.writerows(rows)
    try:
        atomic_write_text(path, lines.getvalue())
    except OSError as error:
        raise DigitlabError(f"cannot write the class table to {path}: {error.strerror or error}") from error
    return Path(path)
