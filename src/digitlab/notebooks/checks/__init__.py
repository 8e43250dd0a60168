"""The checks of the companion notebook's code assignments, one registry: assignment id -> :class:`Check`.

See :mod:`digitlab.notebooks.checks.contract` for the contract (``extract`` in the sandbox returns data,
``judge`` in the grader returns a :class:`Verdict` by catalog key) and how to add a check. Importing this
package registers the built-in checks.
"""

from digitlab.notebooks.checks import experiments, knn, networks, training  # noqa: F401  (each registers its checks)
from digitlab.notebooks.checks.contract import ANSWERED, CHECKS, FAILED, NOT_ANSWERED, PASSED, Check, Truth, Verdict, register

__all__ = ["ANSWERED", "CHECKS", "FAILED", "NOT_ANSWERED", "PASSED", "Check", "Truth", "Verdict", "register"]
