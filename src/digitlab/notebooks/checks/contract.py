"""The contract every assignment check follows: extract data in the sandbox, judge it in the grader.

A check is two functions that never meet:

- ``extract(namespace, kit) -> dict`` runs INSIDE the sandbox, in the checker process, right after the
  assignment's cells (the student's cell and any cells the student added under it) have run. It looks up
  the student's definitions in ``namespace`` (what the cells defined) and exercises them with the checker's
  own code: ``kit`` holds the data the sandbox was given (train images and labels, test images WITHOUT
  labels) and library functions captured before any student code ran. It returns DATA only (numbers,
  lists, short strings; JSON), never a verdict: predictions, parameter shapes, raw outputs, counts.
  A student's code shares that process, so it could forge what ``extract`` returns: the data must be such
  that only a working solution produces data the judge accepts (predictions scored against labels the
  sandbox never sees).
- ``judge(data, truth) -> Verdict`` runs in the trusted grader process, which never runs student code.
  ``truth`` holds what the sandbox never sees (the test labels). It must treat ``data`` as hostile input
  (any JSON at all: wrong types, huge numbers): :func:`number`, :func:`labels` and :func:`shapes` read it
  defensively, and anything unexpected is a FAILED verdict, never an exception.

A :class:`Verdict` names its sentences by catalog key (``digitlab.notebooks.catalog``), so the CSV and the
feedback page render them in the notebook's language: ``saw`` (what the check saw) and ``hint`` (what to
change), each with its ``params``.

To add a check (for example for a new student cell with a results table): write ``extract`` and
``judge`` in a module under ``digitlab/notebooks/checks/``, add its sentences to both catalogs, call
``register(Check("assignment-id", extract, judge))`` at import, and import the module in
``checks/__init__.py``. The assignment id is the one in the notebook's metadata. An answered assignment of kind
"code" without a registered check is not run: it comes out ANSWERED, its code on the feedback page for
the teacher to read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PASSED, FAILED, NOT_ANSWERED, ANSWERED = "passed", "failed", "not answered", "answered"
# Bounds on what a judge accepts from the sandbox: a list longer than this is hostile, not a solution
MAX_ITEMS = 100_000


@dataclass(frozen=True)
class Verdict:
    """One assignment's outcome: the status and, by catalog key, what the check saw and what to change."""

    status: str  # PASSED, FAILED or NOT_ANSWERED
    saw: str  # catalog key of the sentence saying what the check saw
    hint: str = ""  # catalog key of the sentence saying what to change ("" when there is nothing to change)
    params: Mapping[str, Any] = field(default_factory=dict)  # the numbers and names both sentences show


@dataclass(frozen=True)
class Truth:
    """What only the grader knows: the test labels of the images the sandbox was given."""

    train_images: np.ndarray  # (N, 28, 28) uint8, also given to the sandbox
    train_labels: np.ndarray  # (N,) int64, also given to the sandbox
    test_images: np.ndarray  # (M, 28, 28) uint8, also given to the sandbox
    test_labels: np.ndarray  # (M,) int64: never leaves the grader
    cache: dict = field(default_factory=dict, compare=False)  # judges' work shared across a class (k-NN references)


@dataclass(frozen=True)
class Check:
    """How one assignment is checked: data out of the sandbox, a verdict in the grader."""

    assignment: str  # the assignment id in the notebook's metadata
    extract: Callable[[Mapping[str, Any], Any], dict]  # in the sandbox: (namespace, kit) -> JSON data
    judge: Callable[[dict, Truth], Verdict]  # in the grader: (data, truth) -> Verdict
    prepare: Callable[[Truth], None] | None = None  # in the grader, once per class: work all judgements share


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    """Make ``check`` the check of its assignment (one check per assignment)."""
    if check.assignment in CHECKS:
        raise ValueError(f"assignment {check.assignment!r} has a check already")
    CHECKS[check.assignment] = check
    return check


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None when the sandbox sent anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def labels(value: Any, length: int) -> np.ndarray | None:
    """``value`` as ``length`` integer labels, or None (a wrong type or length is the student's mistake)."""
    if not isinstance(value, list) or len(value) != length or length > MAX_ITEMS:
        return None
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        return None
    return np.asarray(value, dtype=np.int64)


def shapes(value: Any) -> list[tuple[int, ...]] | None:
    """``value`` as a list of parameter shapes (lists of non-negative ints), or None."""
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        return None
    out = []
    for shape in value:
        if not isinstance(shape, list) or len(shape) > 8 or not all(isinstance(n, int) and 0 <= n < 10**9 for n in shape):
            return None
        out.append(tuple(shape))
    return out


def matrix(value: Any, columns: int | None = None) -> np.ndarray | None:
    """``value`` as a 2-d float array (rows of equal length), or None."""
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if array.ndim != 2 or (columns is not None and array.shape[1] != columns):
        return None
    return array


def error_of(data: dict) -> tuple[str, str] | None:
    """The (type, first line) of an error the sandbox reported for the student's code, if any."""
    error = data.get("error")
    if not isinstance(error, dict):
        return None
    kind, message = error.get("type"), error.get("message")
    return (str(kind)[:80], str(message)[:300]) if kind else None


# An error's words that name a common mistake -> the hint that says what to change
ERROR_HINTS = (
    (("dim 3", "3 dimension", "Expected 2D", "expected <= 2"), "knn.flat"),
    (("mat1 and mat2 shapes", "size mismatch"), "net.flat"),
    (("can't allocate memory", "out of memory", "MemoryError", "Cannot allocate"), "memory"),
)


def error_hint(kind: str, message: str) -> str:
    """The hint for an error the student's code raised: a known mistake's, else 'read the error'."""
    text = f"{kind}: {message}"
    for words, hint in ERROR_HINTS:
        if any(word in text for word in words):
            return hint
    return "read-error"
