"""Errors that digitlab raises on purpose: each says what went wrong and what to do about it.

The CLI catches :class:`DigitlabError` and prints its message without a traceback; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

MAX_ERRORS_SHOWN = 3  # a wrong 28x28 array can have 784 errors, a bad manifest dozens; the first few say enough


class DigitlabError(Exception):
    """Base class of every error digitlab raises for bad input or an unavailable resource."""


class DataError(DigitlabError):
    """A dataset file is missing, corrupt, truncated or does not match its published checksum."""


class SourceUnavailable(DataError):
    """A data source could not be reached or does not hold the dataset (the next source is tried)."""


def describe_errors(errors: Sequence[dict[str, Any]], whole: str) -> str:
    """Pydantic's ``errors()`` as one line naming where and what ('image.3.7: ... less than or equal to 255');
    ``whole`` names the place of an error about the whole input ('body', 'manifest')."""
    parts = [f"{'.'.join(map(str, error['loc'])) or whole}: {error['msg']}" for error in errors[:MAX_ERRORS_SHOWN]]
    more = len(errors) - MAX_ERRORS_SHOWN
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def refuse_unknown_settings(owner: str, given: Iterable[str], known: Iterable[str]) -> None:
    """A ValueError naming every setting in ``given`` that ``owner`` ('training', "model 'mlp'") lacks, and those it has."""
    known = sorted(known)
    unknown = sorted(set(given) - set(known), key=str)
    if unknown:
        raise ValueError(f"{owner} has no setting {', '.join(map(repr, unknown))}; its settings are {', '.join(known)}")
