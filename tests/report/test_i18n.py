"""The report's languages: sentences escape their values and follow the language; a Dutch page has no English titles."""

from __future__ import annotations

import re
from html import unescape

import pytest

from digitlab.errors import DigitlabError
from digitlab.experiments import open_storage
from digitlab.i18n import translator
from digitlab.report import render_report
from digitlab.report.i18n import number, speaking, t
from tests.i18n.words import foreign_numbers, foreign_words


def test_t_fills_placeholders_escapes_values_and_follows_the_language():
    assert t("title.companion", name="<b>") == "&lt;b&gt; (Deel IV)"
    with speaking("nl"):
        assert t("head.chance") != translator("en")("head.chance") and number(1.4612) == "1,46" and number(12345, 0) == "12.345"
    assert number(12345, 0) == "12,345"
    with pytest.raises(DigitlabError, match="fr"), speaking("fr"):
        pass


HEADINGS = re.compile(r"<h([234])>(.*?)</h\1>", flags=re.S)
# Not numbers for a student: the stored runs, the pixel bytes, pictures, CSS, code and the version (digitlab 0.1.0)
APPENDIX = re.compile(r'<section id="runs">.*?</section>|<pre>.*?</pre>|<img [^>]*>|<style>.*?</style>|<code>.*?</code>|\d+\.\d+\.\d+',
                      flags=re.S)
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def pages(lab_url, mnist) -> dict[str, str]:
    storage = open_storage(lab_url)
    return {lang: render_report(storage, mnist, lang=lang) for lang in ("en", "nl")}


@pytest.fixture(scope="module")
def fashion_nl(lab_url, fashion) -> str:
    return render_report(open_storage(lab_url), fashion, lang="nl")


def test_a_dutch_report_has_no_english_titles(pages):
    def titles(html: str) -> list:  # the page's titles, not the appendix's "Run 12" entries
        return [text for _, text in HEADINGS.findall(html) if not text.startswith("Run ")]

    en_titles, nl_titles = titles(pages["en"]), titles(pages["nl"])
    assert len(en_titles) == len(nl_titles) > 20
    untranslated = [text for text, other in zip(nl_titles, en_titles, strict=True) if text == other]
    assert not untranslated, untranslated
    assert '<html lang="nl">' in pages["nl"] and "Opdracht 1" in pages["nl"] and "Schrijf hier je antwoord" not in pages["nl"]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_number_is_written_the_languages_way_and_no_html_is_escaped(pages, lang):
    html = pages[lang]
    assert "&lt;a" not in html and "&amp;lt;" not in html and "&lt;code" not in html and "&lt;strong" not in html
    text = TAG.sub(" ", APPENDIX.sub(" ", html))
    assert not foreign_numbers(text, lang), foreign_numbers(text, lang)
    assert "%" in text and not re.search(r"\b0[.,]\d+ accuracy|accuracy (of )?0[.,]\d", text)  # accuracy as a percentage


HIDDEN = re.compile(r'<section id="runs">.*?</section>|<pre>.*?</pre>|<img [^>]*>|<style>.*?</style>|<script.*?</script>|<code>.*?</code>',
                    flags=re.S)


def visible_text(html: str) -> str:
    """What a student reads on the page: every text outside the appendix of runs, code, pictures and the style sheet."""
    return unescape(TAG.sub("\n", HIDDEN.sub(" ", html)))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_page_has_no_word_of_the_other_language(pages, lang):
    lines = [line.strip() for line in visible_text(pages[lang]).splitlines() if line.strip()]
    found = [(problems, line) for line in lines if (problems := foreign_words(line, lang, course_terms=True))]
    assert not found, "\n".join(f"{words}: {line[:200]}" for words, line in found)


def test_a_dutch_fashion_page_names_its_classes_in_dutch_and_no_english(fashion_nl):
    text = visible_text(fashion_nl)
    assert "Enkellaars" in text and "Ankle boot" not in text and "Trouser" not in text
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found = [(problems, line) for line in lines if (problems := foreign_words(line, "nl", course_terms=True))]
    assert not found, "\n".join(f"{words}: {line[:200]}" for words, line in found)
