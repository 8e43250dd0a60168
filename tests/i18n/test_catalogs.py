"""The gettext catalogs: both languages have every key with the same placeholders, plurals work, and every
key the code names literally exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import digitlab
from digitlab.errors import DigitlabError
from digitlab.i18n import LANGUAGES, placeholders, speaking, translator
from digitlab.i18n.catalogs import keys, read_catalog

# English reads these from elsewhere: a sweep's description from its sweep file, a part's title and a spec
# field's name from the code that declares them, a class name and a published k-NN result's name from the
# dataset catalog; other languages translate them in their catalog.
ENGLISH_ELSEWHERE = ("sweep.", "title.", "setting.", "dataset.", "knn.reference.")
SOURCE = Path(digitlab.__file__).parent
# calls whose first argument is a catalog key
KEYED_CALLS = {"t", "tr", "plural", "template", "plural_template"}  # tr: the convention for a Translator in a local


def forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def test_every_key_is_in_both_languages_translated_with_the_same_placeholders():
    english = {message.id if isinstance(message.id, str) else message.id[0]: message for message in read_catalog("en") if message.id}
    for lang in LANGUAGES:
        catalog = {message.id if isinstance(message.id, str) else message.id[0]: message for message in read_catalog(lang) if message.id}
        missing = set(english) - set(catalog)
        assert not missing, f"{lang} lacks {sorted(missing)}"
        extra = {key for key in set(catalog) - set(english) if not key.startswith(ENGLISH_ELSEWHERE)}
        assert not extra, f"{lang} has keys English lacks: {sorted(extra)}"
        for key, message in catalog.items():
            assert all(form.strip() for form in forms(message)) and not message.fuzzy, f"{lang}: {key} is untranslated or fuzzy"
            if key in english:
                assert {frozenset(placeholders(form)) for form in forms(message)} == {
                    frozenset(placeholders(form)) for form in forms(english[key])}, (lang, key)
                assert message.pluralizable == english[key].pluralizable, (lang, key)


def test_plurals_and_numbers_follow_the_language():
    nl, en = translator("nl"), translator("en")
    assert [en.plural("unit.epochs", n) for n in (1, 2, 1000)] == ["1 epoch", "2 epochs", "1,000 epochs"]
    assert [nl.plural("unit.epochs", n) for n in (1, 2, 1000)] == ["1 epoch", "2 epochs", "1.000 epochs"]
    assert (nl.numbers.integer(60000), en.numbers.integer(60000)) == ("60.000", "60,000")
    assert (nl.numbers.percent(0.976), en.numbers.percent(0.976), nl.numbers.percent(0.5, 0)) == ("97,60%", "97.60%", "50%")
    assert (nl.numbers.decimal(1.4612), en.numbers.decimal(1.4612, 3)) == ("1,46", "1.461")
    assert (nl.numbers.ratio(2.645), en.numbers.ratio(7.935)) == ("2,6×", "7.9×")
    assert (nl.numbers.seconds(0.0042), nl.numbers.seconds(3.21), en.numbers.seconds(412.4)) == ("0,004 s", "3,2 s", "412 s")
    assert (nl.numbers.milliseconds(0.000383), nl.numbers.short(0.25), nl.numbers.short(0.5), en.numbers.short(10000.0)) == (
        "0,38 ms", "0,25", "0,5", "10,000")
    assert nl.numbers.percent(None) == "–"


def test_an_unknown_key_or_language_is_named():
    with pytest.raises(KeyError, match="no.such.key"):
        translator("nl")("no.such.key")
    with pytest.raises(DigitlabError, match="'fr' is not one of nl, en"), speaking("fr"):
        pass


def literal_keys() -> dict[str, str]:
    """Every string literal passed as the key of a catalog call in src/digitlab, with the file it is in."""
    found = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in KEYED_CALLS:
                    found[node.args[0].value] = str(path.relative_to(SOURCE))
    return found


def test_every_key_the_code_names_is_in_the_catalogs():
    used = literal_keys()
    assert len(used) > 100  # the report alone names this many: the scan finds the calls
    for lang in LANGUAGES:
        missing = {key: where for key, where in used.items() if key not in keys(lang)}
        assert not missing, f"{lang} lacks {missing}"


def test_no_key_is_defined_twice():
    """Babel keeps the last of two equal msgids silently; a catalog appended to from two places must not hide one."""
    for lang in LANGUAGES:
        text = (SOURCE / "i18n" / "locales" / lang / "LC_MESSAGES" / "digitlab.po").read_text(encoding="utf-8")
        ids = [line for line in text.splitlines() if line.startswith('msgid "') and line != 'msgid ""']
        assert len(ids) == len(set(ids)), (lang, sorted({line for line in ids if ids.count(line) > 1}))


def test_every_augmentation_and_image_change_has_a_name_in_both_languages():
    """A run's settings name its augmentations in the report (``transform.<kind>``): none may be missing."""
    from digitlab.images.augmentation import AUGMENT_KINDS
    from digitlab.images.transforms import TRANSFORMS

    for lang in LANGUAGES:
        missing = [kind for kind in (*AUGMENT_KINDS, *TRANSFORMS) if f"transform.{kind}" not in keys(lang)]
        assert not missing, (lang, missing)
