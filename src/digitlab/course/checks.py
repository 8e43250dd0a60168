"""Every check of the companion notebook, by assignment, and the call a check cell makes.

A check takes the notebook's names (a dict) and returns a :class:`Verdict`; it never trusts what the
student's code printed. ``check("opdracht-1")`` in a check cell runs the assignment's check on the
notebook's names: it prints ✓ when it passes, a friendly "nog niet ingevuld" while the assignment is open
(so a Run All of an untouched notebook reaches its end), and raises :class:`CheckFailed` with a Dutch hint
when the work is wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from digitlab.course import code_checks
from digitlab.course.experiments import EXPERIMENTS, Verdict, check_experiment

CHECKS: dict[str, Callable[[dict[str, Any]], Verdict]] = {
    "simple-network": code_checks.simple_network,
    "training-loop": code_checks.training_loop,
    "complex-network": code_checks.complex_network,
    "knn": code_checks.knn,
    **{assignment: partial(check_experiment, assignment) for assignment in EXPERIMENTS},
}


class CheckFailed(AssertionError):
    """The student's work does not do what the assignment asks; the message says what to change (Dutch)."""


def verdict(assignment: str, namespace: dict[str, Any]) -> Verdict:
    """The verdict of ``assignment``'s check on ``namespace``."""
    if assignment not in CHECKS:
        raise KeyError(f"no check for {assignment!r}; the checks are {', '.join(CHECKS)}")
    return CHECKS[assignment](namespace)


def check(assignment: str) -> None:
    """Run ``assignment``'s check on the calling notebook's names; ✓, "nog niet ingevuld", or CheckFailed."""
    outcome = verdict(assignment, sys._getframe(1).f_globals)
    if outcome.status == "failed":
        raise CheckFailed(outcome.message)
    print(("✓ " if outcome.status == "passed" else "✎ ") + outcome.message)
