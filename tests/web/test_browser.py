"""The page in a real browser: Playwright drives Debian's Chromium (headless) against a real uvicorn.

It draws a "1" and a "7" with the mouse, reads the prediction the page shows, checks the empty
message and the upload, checks that the explanation panels (attribution overlays, a CNN's feature
maps, the k-NN's neighbours) appear and follow the drawing, and takes screenshots. Set DIGITLAB_WEB_SCREENSHOT=docs/img/web.png to
also keep the screenshot for the docs.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from digitlab.web import create_app, knn_model, load_models_dir
from digitlab.web.explaining import MAX_CHANNELS_SHOWN
from tests.i18n.words import problems
from tests.web.conftest import LiveServer
from tests.web.web_images import png_bytes
from tests.web.web_models import MNIST_CNN, MNIST_MLP, quick_cnn_dir

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
    models = load_models_dir(quick_checkpoints) + [knn_model("mnist", train_limit=KNN_TRAIN_LIMIT)]
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


def open_page(browser, url: str, model: str, width: int, height: int):
    """A fresh browser context on the page at ``url``, once ``model``'s card is shown; any JavaScript error fails the test."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"JavaScript error on the page: {error}"))
    page.goto(url + "/")
    page.wait_for_selector(f'article.model[data-model="{model}"]')
    return context, page


@pytest.fixture
def page(browser, server):
    context, page = open_page(browser, server.url, MNIST_MLP, 1200, 900)
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


@pytest.fixture(scope="module")
def explaining_page(browser):
    """The page served with an MLP, a CNN and the k-NN: every kind of explanation panel."""
    live = LiveServer(create_app(load_models_dir(quick_cnn_dir()) + [knn_model("mnist", train_limit=KNN_TRAIN_LIMIT)]))
    context, page = open_page(browser, live.url, MNIST_CNN, 1280, 1000)
    yield page
    context.close()
    live.close()


def painted(locator) -> bool:
    """Whether a canvas holds some non-black pixel (an empty or unpainted canvas is all zeros)."""
    return locator.evaluate("c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
                            ".some((v, i) => i % 4 !== 3 && v > 0)")


def test_the_panels_explain_each_model_as_the_user_draws(explaining_page, tmp_path):
    page = explaining_page
    assert page.is_checked("#explain")  # explanations are on by default
    assert draw(page, SEVEN) == "ready"
    card = {name: page.locator(f'article.model[data-model="{name}"] .why') for name in (MNIST_MLP, MNIST_CNN, "mnist-knn3")}
    for name, panel in card.items():
        assert panel.is_visible(), f"{name}: no explanation panel"
    for name in (MNIST_MLP, MNIST_CNN):
        overlay = card[name].locator("canvas.overlay")
        assert overlay.is_visible() and painted(overlay)
    assert "Grad-CAM" in card[MNIST_CNN].inner_text() and "saliency" in card[MNIST_MLP].inner_text()
    maps = card[MNIST_CNN].locator(".maps canvas")
    assert maps.count() == 2 * MAX_CHANNELS_SHOWN  # two blocks, their most active maps
    assert sum(painted(maps.nth(i)) for i in range(maps.count())) >= MAX_CHANNELS_SHOWN
    neighbours = card["mnist-knn3"].locator(".neighbours li")
    assert neighbours.count() == 3
    for i in range(3):
        assert painted(neighbours.nth(i).locator("canvas"))
        assert "d = " in neighbours.nth(i).inner_text()

    first_overlay = card[MNIST_CNN].locator("canvas.overlay").evaluate("c => c.toDataURL()")
    page.click("#clear")
    assert all(panel.is_hidden() for panel in card.values())  # a cleared pad explains nothing
    assert draw(page, ONE) == "ready"  # a new drawing: the panels follow it
    assert card[MNIST_CNN].locator("canvas.overlay").evaluate("c => c.toDataURL()") != first_overlay

    page.screenshot(path=str(tmp_path / "explained.png"), full_page=True)
    assert (tmp_path / "explained.png").stat().st_size > 20_000

    page.uncheck("#explain")  # off: plain predictions, the panels go away
    assert all(panel.is_hidden() for panel in card.values())


def phone_photo_jpeg(min_bytes: int) -> bytes:
    """A 4000x3000 colour phone-like JPEG of a dark "1" under a shadow, grainy enough to weigh ``min_bytes`` or more."""
    import io

    from PIL import Image

    paper = np.full((3000, 4000), 215, dtype=np.int16)
    paper[:, :1750] //= 2  # a shadow over the left part of the sheet and of the digit
    paper[700:2300, 1650:1850] //= 6  # the "1", half in the shadow
    grain = np.random.default_rng(0).integers(-45, 45, (3, 500, 500), dtype=np.int16)  # sensor grain, tiled: JPEG codes each 8x8 block alone
    channels = [np.clip(paper + np.tile(grain[c], (6, 8)), 0, 255).astype(np.uint8) for c in range(3)]
    buffer = io.BytesIO()
    Image.fromarray(np.dstack(channels)).save(buffer, "JPEG", quality=100)
    assert len(buffer.getvalue()) >= min_bytes, len(buffer.getvalue())
    return buffer.getvalue()


def test_a_15_mb_phone_photo_is_shrunk_by_the_page_and_read(page, tmp_path):
    path = tmp_path / "phone.jpg"
    path.write_bytes(phone_photo_jpeg(15 * 1024 * 1024))
    sent = []
    page.on("request", lambda request: sent.append(len(request.post_data_buffer or b"")) if "/api/predict" in request.url else None)
    before = answers_seen(page)
    page.set_input_files("#upload", str(path))
    assert wait_for_answer(page, before) == "ready"
    assert shown_prediction(page, MNIST_MLP) == "1"
    assert sent and max(sent) < 2 * 1024 * 1024  # shrunk on the canvas before sending, not 15 MB
    page.screenshot(path=str(tmp_path / "photo.png"), full_page=True)
    if os.environ.get("DIGITLAB_PHOTO_SCREENSHOT"):
        shutil.copy(tmp_path / "photo.png", os.environ["DIGITLAB_PHOTO_SCREENSHOT"])

    path.write_bytes(b"\xff\xd8" + b"\0" * (21 * 1024 * 1024))  # over 20 MB: refused by the page, in its language
    sent.clear()
    before = answers_seen(page)
    page.set_input_files("#upload", str(path))
    page.wait_for_function("() => document.getElementById('results').dataset.status === 'error'", timeout=ANSWER_TIMEOUT_MS)
    assert "20 MB" in page.inner_text("#message") and "bytes" not in page.inner_text("#message") and not sent


def test_a_dutch_browser_gets_the_page_in_dutch(browser, server, tmp_path):
    """Chromium with a Dutch locale (Accept-Language nl-NL): every word and number on the page is Dutch."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"JavaScript error on the page: {error}"))
    page.goto(server.url + "/")
    page.wait_for_selector(f'article.model[data-model="{MNIST_MLP}"]')
    assert page.get_attribute("html", "lang") == "nl"
    assert draw(page, SEVEN) == "ready" and shown_prediction(page, MNIST_MLP) == "7"
    assert "omgekeerd" in page.inner_text("#message")
    confidence = page.locator(f'article.model[data-model="{MNIST_MLP}"] .confidence').inner_text()
    assert re.fullmatch(r"\d+,\d%", confidence), confidence  # 97,6%: the Dutch decimal comma
    shown = page.inner_text("body")
    assert "test-accuracy" in shown and not problems(shown, "nl"), problems(shown, "nl")
    page.screenshot(path=str(tmp_path / "web-nl.png"), full_page=True)
    if os.environ.get("DIGITLAB_WEB_SCREENSHOT"):
        shutil.copy(tmp_path / "web-nl.png", Path(os.environ["DIGITLAB_WEB_SCREENSHOT"]).with_name("web-nl.png"))
    context.close()
