"""What an open cell of the student edition holds, and how a later cell tells that it is still open.

The student edition puts ``todo()`` where the solution goes. It never stops a Run All: in a cell or a class
body it only notes that the cell is open; inside a function it raises ``NotImplementedError`` when the
function is called, since the function has nothing to return (the grader reads that error as "not answered"). The cells
that use a student's names ask :func:`filled_in` first and say "nog niet ingevuld" instead of a NameError.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

OPEN_MARK = "__nog_niet_ingevuld__"  # set in a class body that still holds todo()
PLACEHOLDER_CALL = "todo"  # the name the placeholder line calls (notebooks.editions.CODE_PLACEHOLDER)


def todo() -> None:
    """The placeholder of an open cell: a no-op in a cell or class body, NotImplementedError when a function runs it."""
    caller = sys._getframe(1)
    if caller.f_code.co_flags & inspect.CO_OPTIMIZED:  # a function's body
        raise NotImplementedError(f"nog niet ingevuld: schrijf de code van {caller.f_code.co_name}() op de plek van todo()")
    if "__qualname__" in caller.f_locals and "__module__" in caller.f_locals:  # a class body
        caller.f_locals[OPEN_MARK] = True
        return
    print("✎ nog niet ingevuld: schrijf je code op de plek van todo() in deze cel")


def is_placeholder(value: Any) -> bool:
    """True for a class or function that still holds ``todo()``."""
    if isinstance(value, type):
        return bool(value.__dict__.get(OPEN_MARK, False))
    code = getattr(value, "__code__", None)
    return code is not None and PLACEHOLDER_CALL in code.co_names


def missing(namespace: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """The names that are not defined in ``namespace``, or still hold the placeholder."""
    return [name for name in names if namespace.get(name) is None or is_placeholder(namespace[name])]


def filled_in(*names: str) -> bool:
    """True when every name is defined in the notebook and filled in; else says which are not, and False.

    For cells that use a student's work: ``if filled_in("SimpleNetwork"):`` skips the cell, with a note,
    while the assignment is still open.
    """
    namespace = sys._getframe(1).f_globals
    open_names = missing(namespace, names)
    if open_names:
        print(f"⏭ deze cel slaat over: {', '.join(open_names)} {'is' if len(open_names) == 1 else 'zijn'} nog niet ingevuld")
    return not open_names
