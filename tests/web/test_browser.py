"""The page in a real browser: Playwright drives Debian's Chromium (headless) against a real uvicorn.

It draws a "1" and a "7" with the mouse, reads the prediction the page shows, checks the empty
message and the upload, and takes a screenshot. Set DIGITLAB_WEB_SCREENSHOT=docs/img/web.png to
also keep the screenshot for the docs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from digitlab.web import create_app, fit_knn, load_models_dir
from tests.web.conftest import LiveServer
from tests.web.web_images import png_bytes
from tests.web.web_models import MNIST_MLP

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ANSWER_TIMEOUT_MS = 15_000  # the page answers in milliseconds; a loaded CI machine gets slack
KNN_TRAIN_LIMIT = 5_000

pytestmark = [
    pytest.mark.realdata,  # the models that read the drawings are trained on real MNIST
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium (scripts/system-deps.sh installs it as root)"),
]

# Strokes as fractions of the canvas (x, y): how a person draws them, in one or two strokes.
ONE = [[(0.52, 0.15), (0.50, 0.50), (0.48, 0.85)]]
SEVEN = [[(0.25, 0.18), (0.75, 0.18), (0.55, 0.50), (0.42, 0.85)]]


@pytest.fixture(scope="module")
def server(quick_checkpoints):
    models = load_models_dir(quick_checkpoints) + [fit_knn("mnist", train_limit=KNN_TRAIN_LIMIT)]
    live = LiveServer(create_app(models))
    yield live
    live.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"JavaScript error on the page: {error}"))
    page.goto(server.url + "/")
    page.wait_for_selector(f'article.model[data-model="{MNIST_MLP}"]')
    yield page
    context.close()


def answers_seen(page) -> int:
    return int(page.get_attribute("#results", "data-seq"))


def wait_for_answer(page, before: int) -> str:
    """Wait until the page has shown the answer to its latest drawing; returns the results status."""
    page.wait_for_function(
        "before => { const r = document.getElementById('results');"
        " return Number(r.dataset.seq) > before && r.dataset.status !== 'pending'; }",
        arg=before,
        timeout=ANSWER_TIMEOUT_MS,
    )
    return page.get_attribute("#results", "data-status")


def draw(page, strokes) -> str:
    box = page.locator("#pad").bounding_box()
    before = answers_seen(page)
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()
    return wait_for_answer(page, before)


def shown_prediction(page, model: str) -> str:
    return page.locator(f'article.model[data-model="{model}"] .prediction').inner_text().strip()


def test_drawn_digits_are_recognised_and_shown(page, tmp_path):
    assert draw(page, ONE) == "ready"
    assert shown_prediction(page, MNIST_MLP) == "1"
    assert "inverted" in page.inner_text("#message")  # dark ink on the white pad
    seen = page.locator('section.dataset[data-dataset="mnist"] .seen canvas')
    assert seen.evaluate("c => c.getContext('2d').getImageData(0, 0, 28, 28).data.some(v => v > 0 && v < 255)")

    page.click("#clear")
    assert page.get_attribute("#results", "data-status") == "idle"
    assert shown_prediction(page, MNIST_MLP) == "–"

    page.fill("#pen", "26")  # a wider pen for the 7
    assert draw(page, SEVEN) == "ready"
    assert shown_prediction(page, MNIST_MLP) == "7"
    assert shown_prediction(page, "mnist-knn3") == "7"
    best = page.locator(f'article.model[data-model="{MNIST_MLP}"] .bars li.best .label').inner_text()
    assert best == "7"  # the highlighted bar is the predicted class

    page.screenshot(path=str(tmp_path / "web.png"), full_page=True)
    assert (tmp_path / "web.png").stat().st_size > 10_000
    if os.environ.get("DIGITLAB_WEB_SCREENSHOT"):
        Path(os.environ["DIGITLAB_WEB_SCREENSHOT"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "web.png", os.environ["DIGITLAB_WEB_SCREENSHOT"])


def test_a_dot_gets_the_empty_message_not_a_guess(page):
    assert draw(page, [[(0.5, 0.5), (0.505, 0.5)]]) == "empty"
    assert "empty" in page.inner_text("#message")
    assert shown_prediction(page, MNIST_MLP) == "–"


def test_uploading_an_image_file(page, tmp_path):
    photo = np.full((300, 240), 230, dtype=np.uint8)
    photo[40:260, 110:130] = 30  # a dark "1" on grey paper
    path = tmp_path / "one.png"
    path.write_bytes(png_bytes(photo))
    before = answers_seen(page)
    page.set_input_files("#upload", str(path))
    assert wait_for_answer(page, before) == "ready"
    assert shown_prediction(page, MNIST_MLP) == "1"

    path.write_bytes(b"this is not an image")
    before = answers_seen(page)
    page.set_input_files("#upload", str(path))
    assert wait_for_answer(page, before) == "error"
    assert "not an image" in page.inner_text("#message")
