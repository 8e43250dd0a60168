"""Errors that digitlab raises on purpose: each says what went wrong and what to do about it.

The CLI catches :class:`DigitlabError` and prints its message without a traceback; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations


class DigitlabError(Exception):
    """Base class of every error digitlab raises for bad input or an unavailable resource."""


class DataError(DigitlabError):
    """A dataset file is missing, corrupt, truncated or does not match its published checksum."""


class SourceUnavailable(DataError):
    """A data source could not be reached or does not hold the dataset (the next source is tried)."""
