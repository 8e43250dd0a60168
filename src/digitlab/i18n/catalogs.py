"""The gettext catalogs: one ``locales/<lang>/LC_MESSAGES/digitlab.po`` per language, read once per process.

The ``.po`` files are the source and the only copy: Babel reads one and compiles it into an in-memory
``.mo``, which the standard library's :class:`gettext.GNUTranslations` serves (plurals included, from
the file's ``Plural-Forms`` header). Nothing compiled is shipped, so no build step can go stale.
"""

from __future__ import annotations

import gettext
import io
from enum import StrEnum
from functools import cache
from importlib import resources

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from digitlab.errors import DigitlabError

DOMAIN = "digitlab"  # the catalogs' file name: locales/<lang>/LC_MESSAGES/digitlab.po


class Language(StrEnum):
    """A language a student can read digitlab in; its value is the catalog's and the locale's code."""

    DUTCH = "nl"  # the course's language
    ENGLISH = "en"


LANGUAGES = tuple(language.value for language in Language)


def check_language(lang: str) -> Language:
    """``lang`` as a :class:`Language`, or a one-line error naming the choices."""
    try:
        return Language(lang)
    except ValueError:
        raise DigitlabError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}; pass --lang {' or --lang '.join(LANGUAGES)}") from None


def po_path(lang: str) -> resources.abc.Traversable:
    return resources.files(__package__).joinpath("locales", check_language(lang).value, "LC_MESSAGES", f"{DOMAIN}.po")


@cache
def read_catalog(lang: str) -> Catalog:
    """The language's catalog as Babel reads it (entries, comments, plural forms)."""
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=check_language(lang).value, domain=DOMAIN)


class _Missing(gettext.NullTranslations):
    """The last fallback: a key in no catalog is a bug to name, not a raw key to show a student."""

    def gettext(self, message: str) -> str:
        raise KeyError(f"message {message!r} is in no catalog; add it to digitlab/i18n/locales/*/LC_MESSAGES/{DOMAIN}.po")

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular)


@cache
def translations(lang: str) -> gettext.GNUTranslations:
    """The language's compiled catalog (standard gettext), raising KeyError for a key it lacks."""
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(lang), use_fuzzy=False)
    compiled.seek(0)
    served = gettext.GNUTranslations(compiled)
    served.add_fallback(_Missing())
    return served


def keys(lang: str) -> set[str]:
    """Every message key the language's catalog has."""
    return {message.id if isinstance(message.id, str) else message.id[0] for message in read_catalog(lang) if message.id}
