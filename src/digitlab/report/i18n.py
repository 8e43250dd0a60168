"""The report's words, through digitlab.i18n: keyed sentences as escaped HTML, in the language being written.

Builders write their words as ``t("key", name=value)``; the sentences live in the gettext catalogs of
:mod:`digitlab.i18n` (``locales/<lang>/LC_MESSAGES/digitlab.po``, how to add one is in its docstring).
The values are escaped unless they are Markup (links to runs), like ``Markup.format``. The report is
rendered inside ``speaking(lang)``, so a builder needs no language argument.

>>> with speaking("nl"):                                        # doctest: +SKIP
...     t("question.untrained")
'Beredeneer welke accuracy je hier verwacht: ...'
"""

from __future__ import annotations

from markupsafe import Markup

from digitlab.datasets import Dataset
from digitlab.i18n import DEFAULT_LANGUAGE, LANGUAGES, check_language, class_names, current, dataset_language, speaking

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "check_language", "classes_of", "language", "number", "report_language", "speaking",
           "sweep_description", "t", "title_in_language"]


def report_language(dataset: str, lang: str | None = None) -> str:
    """``lang`` when given, else the dataset's default (its catalog entry: Dutch for the course's datasets)."""
    return dataset_language(dataset, lang).value


def classes_of(dataset: Dataset) -> tuple[str, ...]:
    """The dataset's class names in the language being written (digitlab.i18n.class_names): how the report names
    a class everywhere, in text, tables and figures ('Enkellaars', not the stored 'Ankle boot')."""
    return class_names(dataset.name, dataset.classes)


def language() -> str:
    """The language being written now ('en' outside any ``speaking`` block)."""
    return current().language.value


def t(key: str, default: str | None = None, **values: object) -> Markup:
    """The sentence ``key`` in the current language, its placeholders filled (escaped unless Markup).

    ``default`` (English) is used when the key is in no catalog: a spec field the catalogs do not name yet.
    """
    words = current()
    if default is not None and not words.has(key):
        return Markup.escape(default)
    return Markup(words.template(key)).format(**values)


def sweep_description(name: str, description: str) -> str:
    """A sweep's description in the current language: its file's own words in English, the catalog's
    ``sweep.<name>`` sentence in other languages when it has one."""
    words = current()
    return words(f"sweep.{name}") if words.has(f"sweep.{name}") else description


def title_in_language(anchor: str, title: str) -> str:
    """A part's title: the catalog's ``title.<anchor>``, the English title declared with the part without one."""
    words = current()
    return words(f"title.{anchor}") if words.has(f"title.{anchor}") else title


def number(value: float, digits: int = 2) -> str:
    """A decimal number as the current language writes it: 1.46 (en), 1,46 (nl)."""
    return current().numbers.decimal(value, digits)
