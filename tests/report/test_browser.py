"""The report in a real browser (headless Debian Chromium): no errors, every image drawn, run links land."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


def test_report_renders_in_chromium_without_errors(mnist_report, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    problems, requests = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(mnist_report.as_uri(), wait_until="load")
            images = page.evaluate("[...document.images].map(image => [image.alt, image.complete, image.naturalWidth])")
            page.screenshot(path=tmp_path / "top.png")
            first = page.locator("#simple a.run").first
            target = first.get_attribute("href")
            first.click()
            landed = page.evaluate("location.hash")
            in_view = page.locator(target).evaluate("element => element.getBoundingClientRect().top")
            page.screenshot(path=tmp_path / "run.png")
        finally:
            browser.close()
    assert problems == []
    assert len(images) >= 10 and all(done and width > 0 for _, done, width in images), images
    assert all(url.startswith(("file:", "data:")) for url in requests), requests  # nothing from the network
    assert landed == target and 0 <= in_view < VIEWPORT["height"]
    assert (tmp_path / "top.png").stat().st_size > 10_000 and (tmp_path / "run.png").stat().st_size > 10_000
