"""Grade students' notebooks: each one's code checked in its own sandbox, every verdict decided outside it.

Per notebook the grader (this process, which never runs student code) collects each assignment's cells:
the student's cell and any cells the student added right under it. Written answers are read from the
notebook's JSON. For the code assignments it starts a sandbox (:mod:`digitlab.notebooks.sandbox`) running
:mod:`digitlab.notebooks.checker`, which executes the companion notebook's own setup cells and the
students' assignment cells, and lets each check extract data (predictions, parameter shapes, raw
outputs). The grader judges that data (:mod:`digitlab.notebooks.checks`) against what the sandbox never
sees: the test labels. Printed text, the notebook's outputs, its check cells, its exception handlers and
files never count. A check that runs past its time is a verdict with a hint; a sandbox that dies or runs
out of time is restarted for the assignments it had not reached.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitlab.errors import DigitlabError
from digitlab.notebooks import container, sandbox
from digitlab.notebooks.catalog import language_of, say
from digitlab.notebooks.checker import QUICK_ENV, STDOUT
from digitlab.notebooks.checks import ANSWERED, CHECKS, FAILED, NOT_ANSWERED, PASSED, Truth, Verdict
from digitlab.notebooks.checks.contract import error_hint
from digitlab.notebooks.collect import answer_text, assignment_cells, is_blank
from digitlab.notebooks.editions import CHECK, DEMO, STUDENT, TEACHER, assignment_of, assignments, read_notebook, source_of, tags_of

QUICK_TRAIN, QUICK_TEST = 3_000, 1_000  # the notebook's quick mode: the data the checks run on
THREADS_PER_SANDBOX = 1  # torch threads per sandbox, whatever --jobs: sums in one order, so the same verdicts and numbers


@dataclass(frozen=True)
class Limits:
    """How long and how much one notebook may take while it is graded."""

    cell_s: int = 60  # one student cell or one check (the quick mode's slowest, an epoch of the 3-layer network, needs seconds)
    total_s: int = 300  # the whole notebook, restarts included
    memory_bytes: int = sandbox.Resources.memory_bytes  # per sandboxed process
    sandbox: str = sandbox.AUTO  # auto, bwrap, docker, podman or none


@dataclass(frozen=True)
class Outcome:
    """What one assignment of one notebook came to."""

    assignment: str
    status: str  # PASSED, FAILED, NOT_ANSWERED, or ANSWERED (a written answer, for the teacher to read)
    saw: str = ""  # what the check saw, in the notebook's language
    hint: str = ""  # what to change, in the notebook's language
    answer: str = ""  # a written answer's text


@dataclass
class Grade:
    """One notebook, graded."""

    path: Path
    language: str = "nl"
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    problem: str = ""  # the notebook could not be read at all
    sandbox: str = sandbox.BWRAP  # what isolated it ("none": the CSV row says so)


@dataclass
class Context:
    """What every notebook of a class is graded with: made once, its data loaded when a notebook first needs it."""

    reference: dict
    limits: Limits
    sandbox: str  # the chosen kind: bwrap, docker, podman or none
    inputs: Path  # a folder with inputs.npz (no test labels), bound read-only into each sandbox
    truth: Truth | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ready(self) -> Truth:
        """Load the data, write the sandbox's inputs and the checks' shared work, once."""
        with self.lock:
            if self.truth is None:
                self.truth = _load_truth(self.inputs)
        return self.truth


def choose_sandbox(kind: str) -> str:
    """The sandbox to use for ``kind`` (auto / bwrap / docker / podman / none) on this machine, or a one-line error."""
    if kind not in sandbox.KINDS:
        raise DigitlabError(f"--sandbox {kind}: choose one of {', '.join(sandbox.KINDS)}")
    if kind == sandbox.NONE or (kind in (sandbox.AUTO, sandbox.BWRAP) and sandbox.bwrap_works()):
        return kind if kind == sandbox.NONE else sandbox.BWRAP
    for engine in sandbox.CONTAINERS if kind == sandbox.AUTO else (kind,) if kind in sandbox.CONTAINERS else ():
        if container.engine(engine) is not None:
            return engine
    hint = sandbox.INSTALL_HINT
    raise DigitlabError(hint if kind == sandbox.AUTO else f"--sandbox {kind}: {kind} does not work here. {hint}")


def prepare(limits: Limits = Limits(), reference: dict | None = None, folder: Path | None = None) -> Context:
    """Choose the sandbox (a one-line error when there is none) and a folder for its inputs (a temp dir by default)."""
    kind = choose_sandbox(limits.sandbox)
    if importlib.util.find_spec("IPython") is None:
        raise DigitlabError("digitlab check runs students' cells in IPython, which is not installed: pip install 'digitlab[course]'")
    folder = Path(tempfile.mkdtemp(prefix="digitlab-check-")) if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    return Context(read_notebook() if reference is None else reference, limits, kind, folder)


def _load_truth(folder: Path) -> Truth:
    from digitlab.datasets import load

    dataset = load("mnist").limit(train=QUICK_TRAIN, test=QUICK_TEST)
    truth = Truth(dataset.train.images.numpy(), dataset.train.labels.numpy(), dataset.test.images.numpy(), dataset.test.labels.numpy())
    np.savez(folder / "inputs.npz", train_images=truth.train_images, train_labels=truth.train_labels, test_images=truth.test_images)
    (folder / "inputs.npz").chmod(0o644)
    for check in CHECKS.values():  # class-wide judge work (the k-NN references), once
        if check.prepare is not None:
            check.prepare(truth)
    return truth


def _steps(reference: dict, cells: dict[str, list[dict]]) -> list[dict]:
    """The checker's program: the reference's setup cells, and each answered code assignment where it belongs."""
    steps, done, first_seen = [], set(), False
    for cell in reference["cells"]:
        tags, name = tags_of(cell), assignment_of(cell)
        if cell.get("cell_type") != "code" or tags & {CHECK, DEMO, TEACHER}:
            continue
        first_seen = first_seen or STUDENT in tags
        if STUDENT not in tags:  # cells before the first assignment are the course's own; later ones may use a student's code
            steps.append({"assignment": None, "source": source_of(cell), "required": not first_seen})
        elif name in cells and name not in done:
            done.add(name)
            steps.append({"assignment": name, "sources": [source_of(c) for c in cells[name]]})
    return steps


def _run_sandbox(context: Context, notebook: Path, steps: list[dict], slot: int, seconds: float) -> list[dict]:
    """Run the checker on ``steps`` in a fresh sandbox; its events, in order (data from it, never verdicts)."""
    with tempfile.TemporaryDirectory(prefix="digitlab-notebook-") as work:
        workdir = Path(work) / "notebook"
        workdir.mkdir()
        shutil.copyfile(notebook, workdir / notebook.name)
        job = Path(work) / "job.json"
        job.write_text(json.dumps({"cell_s": context.limits.cell_s, "setup_s": max(1, int(seconds)), "steps": steps}))
        job.chmod(0o644)
        Path(work).chmod(0o755)
        read_end, write_end = sandbox.channel()
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/notebook", "MPLBACKEND": "agg", QUICK_ENV: "1",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": sandbox.package_root(), "MPLCONFIGDIR": "/tmp/matplotlib",
               "DIGITLAB_CACHE_DIR": "/tmp/no-cache", "DIGITLAB_MIRRORS": "", "OMP_NUM_THREADS": str(THREADS_PER_SANDBOX),
               "MKL_NUM_THREADS": str(THREADS_PER_SANDBOX)}
        python = str(Path(sandbox.python_prefix()) / "bin" / "python")
        checker = [python, "-m", "digitlab.notebooks.checker"]
        if context.sandbox == sandbox.NONE:
            argv = [*checker, str(job), str(context.inputs / "inputs.npz"), str(write_end)]
            finished = sandbox.run(argv, (read_end, write_end), seconds, env=env, cwd=workdir)
        else:  # the same binds, files and limits in bubblewrap or a container; only the channel differs
            sandbox.prepare_workdir(workdir, slot)
            resources = sandbox.Resources(memory_bytes=context.limits.memory_bytes)
            files = {"job.json": job, "inputs.npz": context.inputs / "inputs.npz"}
            in_container = context.sandbox in sandbox.CONTAINERS
            argv = [*checker, "/checker/job.json", "/checker/inputs.npz", str(STDOUT if in_container else write_end)]
            if in_container:
                container.open_workdir(workdir)
                engine, name = container.engine(context.sandbox), f"digitlab-check-{uuid.uuid4().hex[:16]}"
                command = container.command(engine, argv, workdir, files, slot, resources, env, name, seconds)
                finished = sandbox.run(command, (read_end, write_end), seconds, channel_on_stdout=True,
                                       stop=lambda: container.remove(engine, name))
            else:
                command = sandbox.bwrap_command(argv, workdir, files, slot, resources, env)
                finished = sandbox.run(command, (read_end, write_end), seconds)
    events = []
    for line in finished.channel.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a student's stray bytes on the channel are no event
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            events.append(event)
    if finished.timed_out:
        events.append({"event": "killed", "reason": "time"})
    elif not any(e["event"] == "done" for e in events):
        events.append({"event": "killed", "reason": "crash"})
    return events


def _check(context: Context, path: Path, cells: dict[str, list[dict]], slot: int, started: float) -> tuple[dict[str, Verdict], str]:
    """Verdicts for the answered code assignments, restarting the sandbox after a crash or a hang; and a problem."""
    verdicts: dict[str, Verdict] = {}
    problem, truth = "", context.ready()
    todo = _steps(context.reference, cells)
    memory = f"{context.limits.memory_bytes / 2**30:g} GB"
    while any(step["assignment"] for step in todo):
        remaining = context.limits.total_s - (time.monotonic() - started)
        if remaining < 1:
            break
        running = None
        for event in _run_sandbox(context, path, todo, slot, remaining):
            name = event.get("assignment")
            if event["event"] == "setup-error" and not problem:
                problem = f"the companion notebook's setup failed in the sandbox: {event.get('error')}"
            elif event["event"] == "start" and name in cells:
                running = name
            elif event["event"] == "timeout" and name == running and name not in verdicts:
                verdicts[name] = Verdict(FAILED, "timeout", "endless", {"seconds": context.limits.cell_s})
            elif event["event"] == "data" and name == running and name not in verdicts:
                verdicts[name] = _judged(name, event.get("data"), truth)
            elif event["event"] == "killed" and running and running not in verdicts:
                verdicts[running] = (Verdict(FAILED, "timeout", "endless", {"seconds": int(remaining)}) if event["reason"] == "time"
                                     else Verdict(FAILED, "crashed", "memory", {"memory": memory}))
        todo = _after(todo, verdicts) if running else []
    for name in cells:
        verdicts.setdefault(name, Verdict(FAILED, "not-run", "", {}))
    return verdicts, problem


def _after(steps: list[dict], verdicts: dict[str, Verdict]) -> list[dict]:
    """The steps still to run: setup cells stay (the next assignments need them), judged assignments go."""
    return [step for step in steps if step["assignment"] is None or step["assignment"] not in verdicts]


def _judged(name: str, data, truth: Truth) -> Verdict:
    if not isinstance(data, dict):
        return Verdict(FAILED, "bad-data", "", {})
    if name not in CHECKS:
        return Verdict(ANSWERED, "no-check", "", {})
    try:
        verdict = CHECKS[name].judge(data, truth)
    except Exception:  # hostile data a judge did not foresee is the student's failure, not the grader's crash
        return Verdict(FAILED, "bad-data", "", {})
    cell_error = data.get("cell_error")
    if verdict.status != PASSED and isinstance(cell_error, dict) and cell_error.get("type"):
        kind, message = str(cell_error["type"])[:80], str(cell_error.get("message", ""))[:300]
        if kind == "NotImplementedError":
            return Verdict(NOT_ANSWERED, "placeholder", "", {})
        return Verdict(FAILED, "cell-error", error_hint(kind, message), {"error": f"{kind}: {message}"})
    return verdict


def grade(path: Path, context: Context, slot: int = 0) -> Grade:
    """Grade the notebook at ``path``; never raises for a student's notebook."""
    started = time.monotonic()
    result = Grade(Path(path), sandbox=context.sandbox)
    try:
        student = read_notebook(path)
    except DigitlabError as error:
        result.problem = say("unreadable", problem=str(error))
        result.outcomes = [Outcome(a.id, NOT_ANSWERED if a.kind == "answer" else FAILED, result.problem)
                           for a in assignments(context.reference)]
        return result
    result.language = language = language_of(student)
    cells = assignment_cells(student, context.reference)
    code = {a.id for a in assignments(context.reference) if a.kind == "code"}
    answered = {name: found for name, found in cells.items() if name in code and not is_blank(found)}
    checked = {name: found for name, found in answered.items() if name in CHECKS}  # only what a check reads is run
    verdicts, result.problem = _check(context, Path(path), checked, slot, started) if checked else ({}, "")
    for name in answered.keys() - checked.keys():  # an assignment the course added before its check: the teacher reads it
        verdicts[name] = Verdict(ANSWERED, "no-check", "", {})
    for item in assignments(context.reference):
        if item.kind == "answer":
            text = answer_text(cells.get(item.id, []))
            result.outcomes.append(Outcome(item.id, ANSWERED if text else NOT_ANSWERED, answer=text))
            continue
        verdict = verdicts.get(item.id, Verdict(NOT_ANSWERED, "open", "", {}))
        code_text = answer_text(cells.get(item.id, [])) if verdict.status == ANSWERED else ""
        result.outcomes.append(Outcome(item.id, verdict.status, say(verdict.saw, language, **verdict.params),
                                       say("hint." + verdict.hint, language, **verdict.params) if verdict.hint else "", code_text))
    result.seconds = time.monotonic() - started
    return result


def grade_all(paths: Iterable[Path], limits: Limits = Limits(), on_graded: Callable[[Grade], None] | None = None,
              jobs: int = 1, reference: dict | None = None) -> list[Grade]:
    """Grade every notebook, ``jobs`` sandboxes at a time; the grades come back in the order of ``paths``."""
    paths = [Path(path) for path in paths]
    if jobs < 1:
        raise DigitlabError(f"--jobs {jobs}: give 1 or more notebooks to run at once")
    context = prepare(limits, reference)
    free = list(range(jobs))
    lock = threading.Lock()

    def one(path: Path) -> Grade:
        with lock:
            slot = free.pop()
        try:
            graded = grade(path, context, slot)
        finally:
            with lock:
                free.append(slot)
        if on_graded is not None:
            with lock:
                on_graded(graded)
        return graded

    try:
        with ThreadPoolExecutor(jobs) as pool:
            return list(pool.map(one, paths))
    finally:
        shutil.rmtree(context.inputs, ignore_errors=True)
