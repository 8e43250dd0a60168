"""Every word and number a student reads, in one language: gettext catalogs (nl, en) and Babel number formats.

The report, figures, the web page, ``digitlab explain`` pictures and the grader's feedback all go
through here; the CLI itself stays English.

>>> from digitlab.i18n import translator
>>> nl = translator("nl")
>>> nl("head.chance"), nl.plural("unit.epochs", 1), nl.plural("unit.epochs", 2)
('kans-accuracy', '1 epoch', '2 epochs')
>>> nl.numbers.integer(60000), nl.numbers.percent(0.976), nl.numbers.ratio(2.645), nl.numbers.seconds(0.0042)
('60.000', '97,60%', '2,6×', '0,004 s')

``speaking("nl")`` makes Dutch the current language for a block and ``current()`` returns its
translator, so code deep inside a page or figure needs no language argument. Figures call
``localize_axes(fig)`` (digitlab.i18n.ticks) so their ticks follow the locale too.

How to add a sentence:

1. Pick a dotted key named after where it appears (``figure.loss_per_epoch``, ``web.draw_hint``).
2. Add it to BOTH ``locales/en/LC_MESSAGES/digitlab.po`` and ``locales/nl/LC_MESSAGES/digitlab.po``::

       msgid "figure.examples_per_class"
       msgstr "examples per class"          # en;  nl: "plaatjes per klasse"

   Placeholders are ``{name}`` fields (str.format), the same in both languages. A sentence with a
   count gets plural forms (``{n}`` is the count, grouped the locale's way)::

       msgid "unit.epochs"
       msgid_plural "unit.epochs"
       msgstr[0] "{n} epoch"
       msgstr[1] "{n} epochs"

3. Use it: ``current()("figure.examples_per_class")`` or ``translator(lang).plural("unit.epochs", n)``.
   Never write a number with an f-string where a student reads it: use ``.numbers`` (integer, decimal,
   percent, seconds, milliseconds, ratio, short).

tests/i18n checks that both catalogs have the same keys and placeholders and that every key used in
the code exists; the .po files are read at run time (no compiled .mo to rebuild).
"""

from digitlab.i18n.catalogs import LANGUAGES, Language, check_language
from digitlab.i18n.numbers import NO_VALUE, Numbers
from digitlab.i18n.translator import (
    DEFAULT_LANGUAGE,
    Translator,
    accepted_language,
    advice,
    class_names,
    current,
    dataset_language,
    placeholders,
    speaking,
    translator,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "NO_VALUE",
    "Language",
    "Numbers",
    "Translator",
    "accepted_language",
    "advice",
    "check_language",
    "class_names",
    "current",
    "dataset_language",
    "placeholders",
    "speaking",
    "translator",
]
