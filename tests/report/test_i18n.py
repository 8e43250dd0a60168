"""The report's languages: sentences escape their values and follow the language; a Dutch page has no English titles."""

from __future__ import annotations

import re

import pytest

from digitlab.errors import DigitlabError
from digitlab.experiments import open_storage
from digitlab.i18n import translator
from digitlab.report import render_report
from digitlab.report.i18n import number, speaking, t


def test_t_fills_placeholders_escapes_values_and_follows_the_language():
    assert t("title.companion", name="<b>") == "&lt;b&gt; (Deel IV)"
    with speaking("nl"):
        assert t("head.chance") != translator("en")("head.chance") and number(1.4612) == "1,46" and number(12345, 0) == "12.345"
    assert number(12345, 0) == "12,345"
    with pytest.raises(DigitlabError, match="fr"), speaking("fr"):
        pass


HEADINGS = re.compile(r"<h([234])>(.*?)</h\1>", flags=re.S)


def test_a_dutch_report_has_no_english_titles(lab_url, mnist):
    storage = open_storage(lab_url)
    english = render_report(storage, mnist, lang="en")
    dutch = render_report(storage, mnist, lang="nl")
    def titles(html: str) -> list:  # the page's titles, not the appendix's "Run 12" entries
        return [text for _, text in HEADINGS.findall(html) if not text.startswith("Run ")]

    en_titles, nl_titles = titles(english), titles(dutch)
    assert len(en_titles) == len(nl_titles) > 20
    untranslated = [text for text, other in zip(nl_titles, en_titles, strict=True) if text == other]
    assert not untranslated, untranslated
    assert '<html lang="nl">' in dutch and "Opdracht 1" in dutch and "Schrijf hier je antwoord" not in dutch
