"""The report's languages: one message catalog per language, keyed sentences, and the language being written.

Builders write their words as ``t("key", name=value)``; the catalogs (:mod:`digitlab.report.catalog_en`,
:mod:`digitlab.report.catalog_nl`) hold each key's sentence per language, with ``{name}`` placeholders.
The values are escaped unless they are Markup (links to runs), like ``Markup.format``. The report is
rendered inside ``speaking(lang)``, so a builder needs no language argument; a test checks that both
catalogs have the same keys and placeholders.

>>> with speaking("nl"):                                        # doctest: +SKIP
...     t("question.untrained")
'Welke accuracy verwacht je, en waarom?'
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from markupsafe import Markup

from digitlab.datasets.catalog import CATALOG
from digitlab.errors import DigitlabError
from digitlab.report.catalog_en import MESSAGES as ENGLISH
from digitlab.report.catalog_nl import MESSAGES as DUTCH

CATALOGS = {"en": ENGLISH, "nl": DUTCH}
LANGUAGES = tuple(CATALOGS)
DEFAULT_LANGUAGE = "en"
_current: ContextVar[str] = ContextVar("report_language", default=DEFAULT_LANGUAGE)


def check_language(lang: str) -> str:
    if lang not in CATALOGS:
        raise DigitlabError(f"report language {lang!r} is not one of {', '.join(LANGUAGES)}; pass --lang {' or --lang '.join(LANGUAGES)}")
    return lang


def report_language(dataset: str, lang: str | None = None) -> str:
    """``lang`` when given, else the dataset's default (its catalog entry: Dutch for the course's datasets)."""
    if lang is not None:
        return check_language(lang)
    return check_language(CATALOG[dataset].report_language) if dataset in CATALOG else DEFAULT_LANGUAGE


@contextmanager
def speaking(lang: str) -> Iterator[str]:
    """Write the report's words in ``lang`` inside this block."""
    token = _current.set(check_language(lang))
    try:
        yield lang
    finally:
        _current.reset(token)


def language() -> str:
    """The language being written now ('en' outside any ``speaking`` block)."""
    return _current.get()


def t(key: str, default: str | None = None, **values: object) -> Markup:
    """The sentence ``key`` in the current language, its placeholders filled (escaped unless Markup).

    ``default`` (English) is used when the key is in no catalog, so a part added without catalog
    entries still shows its own words; the catalog test names such keys.
    """
    template = CATALOGS[language()].get(key, ENGLISH.get(key, default))
    if template is None:
        raise KeyError(f"report message {key!r} is in no catalog; add it to report/catalog_en.py and catalog_nl.py")
    return Markup(template).format(**values)


def sweep_description(name: str, description: str) -> str:
    """A sweep's description in the current language: its file's own words in English, the catalog's
    ``sweep.<name>`` sentence in other languages when it has one."""
    if language() == DEFAULT_LANGUAGE:
        return description
    return CATALOGS[language()].get(f"sweep.{name}", description)


def title_in_language(anchor: str, title: str) -> str:
    """A part's title: as declared in English, the catalog's ``title.<anchor>`` in other languages when it has one."""
    if language() == DEFAULT_LANGUAGE:
        return title
    return CATALOGS[language()].get(f"title.{anchor}", title)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a catalog sentence."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def number(value: float, digits: int = 2) -> str:
    """A decimal number as the current language writes it: 1.46 (en), 1,46 (nl)."""
    text = f"{value:,.{digits}f}"
    return text.translate(str.maketrans(",.", ".,")) if language() == "nl" else text
