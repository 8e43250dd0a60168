"""The page in the reader's language: --lang, ?lang= and Accept-Language choose it; the page and the
script's sentences are all in it; every sentence the script asks for exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import digitlab.web
from digitlab.web import create_app
from tests.i18n.words import problems
from tests.web.conftest import linear_model

STATIC = Path(digitlab.web.__file__).parent / "static"
SAID = re.compile(r'say\("(web\.[\w.]+)"')
STRINGS = re.compile(r'<script id="strings" type="application/json">(.*?)</script>', flags=re.S)


def visible_text(html: str) -> str:
    """The page's words a reader sees (attributes a screen reader reads included), without the JSON of the script."""
    html = STRINGS.sub("", html)
    labels = " ".join(re.findall(r'aria-label="([^"]*)"', html))
    return re.sub(r"<[^>]+>", " ", html) + " " + labels


def strings(html: str) -> dict:
    return json.loads(STRINGS.search(html).group(1))


@pytest.fixture(scope="module")
def models():
    return [linear_model("mnist-a")]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_page_and_its_script_speak_one_language(models, lang):
    page = TestClient(create_app(models)).get("/", params={"lang": lang})
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text and page.headers["content-language"] == lang
    sent = strings(page.text)
    assert sent["lang"] == lang
    said = {key for script in ("app.js", "explain.js") for key in SAID.findall((STATIC / script).read_text(encoding="utf-8"))}
    assert len(said) > 15 and said <= set(sent["messages"]), said - set(sent["messages"])
    script_words = " | ".join(text for value in sent["messages"].values() for text in (value.values() if isinstance(value, dict) else [value]))
    script_words = re.sub(r"\{\w+\}", "", script_words)  # placeholders are names, not words
    assert not problems(visible_text(page.text), lang) and not problems(script_words, lang)


def test_the_language_comes_from_lang_then_query_then_browser(models):
    browser = TestClient(create_app(models))
    assert browser.get("/", headers={"accept-language": "en-GB,en;q=0.9,nl;q=0.5"}).headers["content-language"] == "en"
    assert browser.get("/", headers={"accept-language": "de-DE, nl;q=0.3"}).headers["content-language"] == "nl"
    assert browser.get("/").headers["content-language"] == "nl"  # the course's language when the browser names neither
    assert browser.get("/", params={"lang": "en"}, headers={"accept-language": "nl"}).headers["content-language"] == "en"
    fixed = TestClient(create_app(models, lang="en"))
    assert fixed.get("/", params={"lang": "nl"}, headers={"accept-language": "nl"}).headers["content-language"] == "en"
    dutch = browser.get("/", headers={"accept-language": "nl"}).text
    assert "Teken een cijfer" in dutch and 'href="/?lang=en"' in dutch


@pytest.mark.parametrize("megabytes", [20, 0.5])
def test_the_page_checks_the_photo_limit_its_server_was_given(models, megabytes):
    """`serve --max-upload-mb` reaches the page: the script refuses what the server would, and says the same size."""
    from digitlab.web.guard import body_limit

    html = TestClient(create_app(models, lang="nl", max_body_bytes=body_limit(megabytes))).get("/").text
    page = strings(html)
    assert page["max_photo_megabytes"] == megabytes
    assert "{megabytes} MB" in page["messages"]["web.too_large"]  # the script fills in the server's size
    script = (STATIC / "app.js").read_text()
    assert "STRINGS.max_photo_megabytes" in script and "20 * 1024 * 1024" not in script
