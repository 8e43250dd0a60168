"""The page in the reader's language (digitlab.web.app.request_language): the server fills the template's
words from digitlab.i18n. The script's own sentences travel with the page as JSON (``#strings``), plural
forms included, so app.js never holds words of its own; it writes numbers with the browser's
``Intl.NumberFormat`` for the page's language, which draws on the same CLDR data as Babel.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from digitlab.i18n import LANGUAGES, check_language, translator
from digitlab.i18n.catalogs import read_catalog

TEMPLATES = Path(__file__).parent / "templates"
SCRIPT_PREFIX = "web."  # every web.* sentence goes to the script; a few are only used in the template
PLURAL_COUNTS = {"one": 1, "other": 2}  # Dutch and English both have these two forms (Intl.PluralRules names)

_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def script_strings(lang: str) -> dict[str, object]:
    """The script's sentences: {key: template}, or {key: {"one": ..., "other": ...}} for a plural."""
    words, strings = translator(lang), {}
    for message in read_catalog(lang):
        key = message.id[0] if message.pluralizable else message.id
        if not key or not key.startswith(SCRIPT_PREFIX):
            continue
        strings[key] = ({form: words.plural_template(key, count) for form, count in PLURAL_COUNTS.items()} if message.pluralizable
                        else words.template(key))
    return strings


def render_page(lang: str, max_photo_megabytes: float) -> str:
    """The whole page in ``lang``; ``max_photo_megabytes``: the largest photo the server takes, which the page checks first."""
    language = check_language(lang)
    other = next(code for code in LANGUAGES if code != language)
    return _environment.get_template("index.html").render(lang=language.value, other=other, tr=translator(language),
                                                          strings={"lang": language.value, "messages": script_strings(language),
                                                                   "max_photo_megabytes": max_photo_megabytes})
