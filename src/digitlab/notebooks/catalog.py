"""The grader's words in the notebook's language: its sentences live in digitlab.i18n's catalogs as ``grader.<key>``.

A :class:`digitlab.notebooks.checks.Verdict` names its sentences by ``<key>`` (``hint.<key>`` for hints) and
carries plain numbers; :func:`say` fills them in with the language's number formats (Babel): fractions
named as accuracies become percentages, durations seconds, other floats decimals, ints grouped.
"""

from __future__ import annotations

from typing import Any

from digitlab.i18n import LANGUAGES, Language, Translator, translator

PREFIX = "grader."
COURSE_LANGUAGE = Language.DUTCH  # a notebook that names no language of ours is the course's: Dutch
PERCENT = frozenset({"accuracy", "floor", "agreement", "again"})  # fractions a student reads as percentages
LOSS_DIGITS = 3  # other floats (a mean loss) with this many decimals


def say(key: str, language: str = COURSE_LANGUAGE, **params: Any) -> str:
    """The sentence ``grader.<key>`` in ``language`` with ``params`` written the language's way."""
    tr = translator(language if language in LANGUAGES else COURSE_LANGUAGE)
    try:
        return tr.template(PREFIX + key).format(**{name: _written(tr, name, value) for name, value in params.items()})
    except (KeyError, IndexError, ValueError):  # a sentence missing a value it names: show the key, not a crash
        return key


def _written(tr: Translator, name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int):
        return tr.numbers.integer(value)
    if name in PERCENT:
        return tr.numbers.percent(value)
    if name == "seconds":
        return tr.numbers.seconds(value)
    return tr.numbers.decimal(value, LOSS_DIGITS)


def language_of(notebook: dict) -> str:
    """The notebook's language (its metadata ``digitlab.language``), Dutch when it names none we have."""
    language = notebook.get("metadata", {}).get("digitlab", {}).get("language", COURSE_LANGUAGE)
    return language if language in LANGUAGES else COURSE_LANGUAGE
