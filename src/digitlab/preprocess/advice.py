"""What to do about a photo the digit search doubts, in the user's language.

The page and ``digitlab predict`` show these sentences beside the prepared image; the sentences live in
digitlab.i18n's catalogs (``preprocess.advice.<doubt>``), one key per doubt of digitlab.preprocess.photo.
"""

from __future__ import annotations

from digitlab.i18n import translator


def advice(doubts: tuple[str, ...] | list[str], language: str) -> list[str]:
    """One sentence per doubt (SEVERAL_BLOBS, TOUCHES_EDGE, LITTLE_INK), in ``language`` (nl or en)."""
    tr = translator(language)
    return [tr(f"preprocess.advice.{doubt}") for doubt in doubts]
