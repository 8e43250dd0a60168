"""Lists on the command line: ``--ks 1-15``, ``--blurs 0,1.5``, ``--metrics euclidean,cosine``, ``--deskew both``.

Each parser returns the values in the order given, duplicates dropped, or raises ``typer.BadParameter``
naming the option and what it expects (typer prints it as a usage error).
"""

from __future__ import annotations

from enum import Enum

import typer


def int_list(text: str, option: str, low: int = 1) -> tuple[int, ...]:
    """'1-15' or '1,3,5' (or a mix) -> (1, ..., 15) / (1, 3, 5)."""
    values: list[int] = []
    try:
        for part in (part.strip() for part in text.split(",") if part.strip()):
            first, _, last = part.partition("-")
            values += range(int(first), int(last) + 1) if last else [int(first)]
    except ValueError:
        raise typer.BadParameter(f"expected numbers like '1-15' or '1,3,5', got {text!r}", param_hint=option) from None
    if not values or min(values) < low:
        raise typer.BadParameter(f"expected numbers of at least {low}, got {text!r}", param_hint=option)
    return tuple(dict.fromkeys(values))


def float_list(text: str, option: str, low: float = 0) -> tuple[float, ...]:
    """'0,1.5' -> (0.0, 1.5): numbers of at least ``low``."""
    try:
        values = tuple(dict.fromkeys(float(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise typer.BadParameter(f"expected numbers like '0,1', got {text!r}", param_hint=option) from None
    if not values or min(values) < low:
        raise typer.BadParameter(f"expected numbers of at least {low:g}, got {text!r}", param_hint=option)
    return values


def choice_list(text: str, kind: type[Enum], option: str) -> tuple[str, ...]:
    """'euclidean,cosine' -> the names, each one of ``kind``'s values."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    allowed = [member.value for member in kind]
    wrong = [name for name in names if name not in allowed]
    if wrong or not names:
        raise typer.BadParameter(f"choose from {', '.join(allowed)}; got {text!r}", param_hint=option)
    return names


def deskew_choices(text: str) -> tuple[bool, ...]:
    """'both' -> (False, True), 'yes' -> (True,), 'no' -> (False,)."""
    choices = {"both": (False, True), "yes": (True,), "no": (False,)}
    if text not in choices:
        raise typer.BadParameter(f"choose both, yes or no; got {text!r}", param_hint="--deskew")
    return choices[text]
