"""Photographed digits end to end: uploads to a real uvicorn serving the app, as the page sends them."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from benchmarks.photo_conditions import render

from digitlab.preprocess import prepare_for


@pytest.fixture(scope="module")
def uci_digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().images / 16.0


def aligned_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two 28x28s at the best shift of at most a pixel each way: the centre of mass is rounded to
    whole pixels, as MNIST's was, so a faint pixel more or less can move a digit by one (the CNN trains on such shifts)."""
    return max(float(np.corrcoef(np.roll(a, (rows, columns), axis=(0, 1)).ravel(), b.ravel())[0, 1])
               for rows in (-1, 0, 1) for columns in (-1, 0, 1))


def _upload(url: str, photo: bytes, lang: str = "nl") -> httpx.Response:
    kind = "image/jpeg" if photo[:2] == b"\xff\xd8" else "image/png"
    return httpx.post(f"{url}/api/predict?lang={lang}", files={"file": ("photo", photo, kind)}, timeout=30)


@pytest.mark.parametrize("condition", ["shadow", "squared", "phone"])
def test_a_photographed_digit_is_served_as_the_clean_photos_digit(live_stand_in_server, uci_digits, condition):
    digit = uci_digits[3]
    answer = _upload(live_stand_in_server.url, render(digit, condition, seed=3))
    assert answer.status_code == 200, answer.text
    served = np.asarray(answer.json()["image"], dtype=float)
    clean = prepare_for(render(digit, "clean", seed=3), "mnist").image.astype(float)
    assert aligned_correlation(served, clean) > 0.8


def test_a_doubtful_photo_comes_with_advice_in_the_language_asked_for(live_stand_in_server):
    paper = np.full((300, 400), 235, dtype=np.uint8)
    paper[80:240, 60:80] = 30  # two marks far apart: which one is the digit?
    paper[80:240, 320:340] = 30
    from tests.web.web_images import png_bytes

    dutch = _upload(live_stand_in_server.url, png_bytes(paper)).json()
    assert dutch["doubts"] == ["several_blobs"] and "snijd dichter bij je cijfer bij" in dutch["advice"][0]
    english = _upload(live_stand_in_server.url, png_bytes(paper), lang="en").json()
    assert "crop closer to your digit" in english["advice"][0]
