"""What gives away the other language: its words (the issue's phrases included) and its number formats.

Used by the surface tests: a Dutch surface may contain no ENGLISH word, an English one no DUTCH word,
and neither a number written the other locale's way.
"""

from __future__ import annotations

import re

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

# Whole words or phrases, matched case-insensitively on word boundaries. Shared terms of the course
# (accuracy, loss, epoch, batch size, model, k-NN, pixels, test-accuracy, upload) are in neither list, nor is
# "of" (Dutch for "or").
ENGLISH = (
    "the", "and", "against", "images", "image", "class", "predicted", "true", "training", "seconds", "deleted",
    "neighbours", "validation", "votes", "share", "random", "order", "original", "rotation", "noise", "background",
    "shift", "nothing", "query", "input", "draw", "clear", "width", "loaded", "receive", "examples per class",
    "true class", "predicted class", "loss per epoch", "training seconds", "neurons per hidden layer", "pixels deleted",
    "explaining", "guessing", "chance", "yes", "no", "none", "time", "layer", "evidence", "nearest", "show", "why", "each",
    "deskewed", "principal components", "re-ranked", "distortion", "hidden size", "tuned", "settings", "results",
    "environment", "untrained", "weights distance", "augment",
)
DUTCH = (
    "de", "het", "een", "van", "tegen", "plaatjes", "plaatje", "klasse", "voorspeld", "voorspelde", "echte", "trainset",
    "testset", "seconden", "gewiste", "buren", "validatie", "stemmen", "willekeurige", "volgorde", "origineel",
    "verschuiving", "draaiing", "ruis", "achtergrond", "teken", "wissen", "niets", "invoer", "na elke", "trainplaatjes",
    "testplaatjes", "kans", "gokken", "ja", "nee", "geen", "uitleg", "neuronen", "trainingstijd", "voorspeltijd", "pendikte",
    "geladen", "krijgen", "waarom", "dichtstbijzijnde", "distance-stemmen", "uniform-stemmen", "cosine-afstand",
    "euclidean-afstand", "1 epochs", "klasse(n)", "getunede", "rechtgezet", "hoofdcomponenten", "vervormingsmodel",
    "instellingen", "gewogen", "ongetraind", "afgesteld",
)
WORDS = {"nl": ENGLISH, "en": DUTCH}  # what a page in the key's language must not contain
# Words the course's own Dutch text uses (the notebook: "k-Nearest Neighbours", "hidden layers", "input", "training"):
# a Dutch report may use them too. The surfaces that label things themselves (figures, the web page) are checked without.
COURSE_TERMS = {"nl": ("k-nearest neighbours", "hidden layers", "hidden layer", "inputs", "input", "training"), "en": ()}

# A number's separator followed by anything but a group of exactly three digits is a decimal sign;
# 1.44e+03 is no one's way of writing a number for a student.
DECIMAL_SIGN = {"nl": re.compile(r"\d\.(?!\d{3}(?!\d))\d"), "en": re.compile(r"\d,(?!\d{3}(?!\d))\d")}
EXPONENT = re.compile(r"\d[eE][+-]\d")


def foreign_words(text: str, lang: str, course_terms: bool = False) -> list[str]:
    """The other language's words in ``text``; with ``course_terms``, the course's own loanwords are allowed."""
    lowered = text.lower()
    for term in COURSE_TERMS[lang] if course_terms else ():
        lowered = re.sub(rf"(?<![\w-]){re.escape(term)}(?![\w-])", " ", lowered)
    return [word for word in WORDS[lang] if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered)]


def foreign_numbers(text: str, lang: str) -> list[str]:
    """Numbers in ``text`` written the other language's way (an English decimal point in Dutch, ...)."""
    return [match.group() for pattern in (DECIMAL_SIGN[lang], EXPONENT) for match in pattern.finditer(text)]


def problems(text: str, lang: str) -> list[str]:
    return foreign_words(text, lang) + foreign_numbers(text, lang)


def texts(figure: Figure) -> list[str]:
    """Every visible text of the drawn figure: tick labels exist only once it is drawn."""
    FigureCanvasAgg(figure).draw()
    return [text.get_text() for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip()]
