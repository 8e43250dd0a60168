"""What to do about a photo the digit search doubts, in the user's language.

One catalog for every sentence digitlab.preprocess has for students (the page and ``digitlab
predict`` show them beside the prepared image). Dutch by default, as the course; English on request.
"""

from __future__ import annotations

from digitlab.preprocess.photo import LITTLE_INK, SEVERAL_BLOBS, TOUCHES_EDGE

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"  # the course's language

ADVICE: dict[str, dict[str, str]] = {
    SEVERAL_BLOBS: {
        "nl": "Er staat meer dan één vlek of teken op de foto; snijd dichter bij je cijfer bij, zodat alleen het cijfer "
              "erop staat.",
        "en": "There is more than one mark in the photo; crop closer to your digit so that only the digit is in it.",
    },
    TOUCHES_EDGE: {
        "nl": "Je cijfer raakt de rand van de foto; laat rondom het cijfer wat papier zien.",
        "en": "Your digit touches the edge of the photo; leave some paper around it.",
    },
    LITTLE_INK: {
        "nl": "Je cijfer is klein of vaag op de foto; snijd dichter bij je cijfer bij, of schrijf het groter en donkerder.",
        "en": "Your digit is small or faint in the photo; crop closer to your digit, or write it larger and darker.",
    },
}


def advice(doubts: tuple[str, ...] | list[str], language: str = DEFAULT_LANGUAGE) -> list[str]:
    """One sentence per doubt, in ``language`` (``nl`` or ``en``; another falls back to Dutch)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return [ADVICE[doubt][language] for doubt in doubts]
