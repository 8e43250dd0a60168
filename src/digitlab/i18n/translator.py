"""A language's words and numbers in one object, and the language being written now.

``translator(lang)`` gives a :class:`Translator`; ``speaking(lang)`` makes it the current one for a
block (the report renders inside it, so its parts and figures need no language argument), and
``current()`` returns it.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from babel import Locale

from digitlab.datasets.catalog import CATALOG
from digitlab.i18n.catalogs import LANGUAGES, Language, check_language, keys, translations
from digitlab.i18n.numbers import Numbers

DEFAULT_LANGUAGE = Language.ENGLISH  # outside any speaking() block; surfaces choose per dataset or request


@dataclass(frozen=True)
class Translator:
    """The sentences (gettext) and number formats (Babel) of one language."""

    language: Language
    numbers: Numbers

    def template(self, key: str) -> str:
        """The sentence ``key`` with its ``{name}`` placeholders unfilled; KeyError for a key in no catalog."""
        return translations(self.language).gettext(key)

    def plural_template(self, key: str, count: int) -> str:
        """The form of ``key`` for ``count`` ('{n} epoch' / '{n} epochs'), by the catalog's Plural-Forms."""
        return translations(self.language).ngettext(key, key, count)

    def __call__(self, key: str, **values: object) -> str:
        """The sentence ``key``, placeholders filled (plain text: a page escapes it, see report/i18n.py)."""
        return self.template(key).format(**values)

    def plural(self, key: str, count: int, **values: object) -> str:
        """The plural form of ``key`` for ``count``; ``{n}`` is the count written with the locale's grouping."""
        return self.plural_template(key, count).format(n=self.numbers.integer(count), **values)

    def has(self, key: str) -> bool:
        return key in keys(self.language)


@cache
def translator(lang: str) -> Translator:
    """The translator of ``lang`` ('nl' or 'en'); a one-line DigitlabError for another."""
    language = check_language(lang)
    return Translator(language, Numbers(Locale.parse(language.value)))


_current: ContextVar[Language] = ContextVar("digitlab_language", default=DEFAULT_LANGUAGE)


@contextmanager
def speaking(lang: str) -> Iterator[Translator]:
    """Write every word and number in ``lang`` inside this block."""
    token = _current.set(check_language(lang))
    try:
        yield translator(lang)
    finally:
        _current.reset(token)


def current() -> Translator:
    """The translator of the language being written now (English outside any ``speaking`` block)."""
    return translator(_current.get())


def dataset_language(dataset: str, lang: str | None = None) -> Language:
    """``lang`` when given, else the dataset's own (its catalog entry: Dutch for the course's datasets)."""
    if lang is not None:
        return check_language(lang)
    return check_language(CATALOG[dataset].report_language) if dataset in CATALOG else DEFAULT_LANGUAGE


def class_names(dataset: str, classes: Sequence[str] | None = None) -> tuple[str, ...]:
    """The dataset's class names in the language being written: the catalog's ``dataset.<name>.class.<i>``
    where it has one, else the name itself. ``classes`` (default: the dataset catalog's, the one place
    of the English names) gives the names a checkpoint saved."""
    names = tuple(CATALOG[dataset].classes if classes is None else classes)
    words = current()
    return tuple(words(f"dataset.{dataset}.class.{index}") if words.has(f"dataset.{dataset}.class.{index}") else name
                 for index, name in enumerate(names))


def advice(doubts: Sequence[str], language: str) -> list[str]:
    """What to do about each doubt of a photo's digit search (digitlab.preprocess.photo: SEVERAL_BLOBS, TOUCHES_EDGE,
    LITTLE_INK), one catalog sentence ``preprocess.advice.<doubt>`` each, in ``language`` (nl or en)."""
    words = translator(language)
    return [words(f"preprocess.advice.{doubt}") for doubt in doubts]


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a sentence."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def accepted_language(header: str | None, default: str = Language.DUTCH) -> Language:
    """The first of our languages in an HTTP Accept-Language header, by the header's q-values; ``default`` without one."""
    preferences = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        weight = parameters.strip().removeprefix("q=") if parameters.strip().startswith("q=") else "1"
        try:
            preferences.append((-float(weight), position, tag.strip().lower().split("-")[0]))
        except ValueError:
            continue  # a malformed entry says nothing about the reader
    for weight, _, code in sorted(preferences):
        if code in LANGUAGES and weight < 0:
            return Language(code)
    return check_language(default)
