"""The JSON API: answers for good input, a 4xx with a clear message for every kind of bad input."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import httpx
import numpy as np
import pytest

from digitlab.datasets import get_spec
from digitlab.i18n import class_names, speaking
from digitlab.web import LoadedModel, create_app
from tests.web.conftest import DIGITS, LiveServer, TestClient, linear_model
from tests.web.web_images import blank_png, lying_png, png_bytes

FASHION_CLASSES_SAMPLE = {"Trouser", "Ankle boot"}


def drawn_one(side: int = 280) -> bytes:
    """A canvas as the page sends it: dark vertical stroke on white."""
    canvas = np.full((side, side), 255, dtype=np.uint8)
    canvas[side // 6 : side * 5 // 6, side // 2 - 10 : side // 2 + 10] = 0
    return png_bytes(canvas)


def translated(dataset: str, name: str) -> str:
    """A class name as the nl catalog writes it (Fashion-MNIST's are translated, digits stay digits)."""
    with speaking("nl"):
        return class_names(dataset)[get_spec(dataset).classes.index(name)]


def upload(data: bytes, name: str = "drawing.png", content_type: str = "image/png") -> dict:
    return {"files": {"file": (name, data, content_type)}}


def test_models_are_listed_with_dataset_accuracy_parameters_and_class_names(client):
    models = {m["name"]: m for m in client.get("/api/models?lang=en").json()}
    assert set(models) == {"digits", "clothes"}
    assert models["digits"]["classes"] == list(DIGITS) and models["digits"]["dataset"] == "mnist"
    assert FASHION_CLASSES_SAMPLE <= set(models["clothes"]["classes"])
    dutch = {m["name"]: m["classes"] for m in client.get("/api/models", headers={"Accept-Language": "nl"}).json()}
    assert dutch["digits"] == list(DIGITS) and dutch["clothes"][:2] == ["T-shirt/topje", "Broek"]  # the nl catalog's names
    assert models["clothes"]["num_parameters"] == 784 * 10 and models["clothes"]["test_accuracy"] == 0.5


def test_predict_an_uploaded_drawing(client, stand_in_models):
    response = client.post("/api/predict?lang=en", **upload(drawn_one()))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["inverted"] is True and 0 < body["ink_fraction"] < 0.2
    assert np.array(body["image"]).shape == (28, 28)
    by_dataset = {image["dataset"]: np.array(image["pixels"]) for image in body["images"]}
    assert set(by_dataset) == {"mnist", "fashion-mnist"}
    assert np.array_equal(by_dataset["mnist"], body["image"])
    assert not np.array_equal(by_dataset["mnist"], by_dataset["fashion-mnist"])  # 20x20 box vs the whole field
    for prediction, model in zip(body["predictions"], stand_in_models, strict=True):
        expected = model.predict_proba(by_dataset[model.dataset][None])[0]  # the same image through the model
        assert prediction["model"] == model.name
        assert prediction["probabilities"] == pytest.approx(expected.tolist())
        assert prediction["predicted_class"] == model.classes[int(np.argmax(expected))]
        assert prediction["confidence"] == pytest.approx(expected.max())
    dutch = client.post("/api/predict", headers={"Accept-Language": "nl"}, **upload(drawn_one())).json()["predictions"]
    for prediction, english, model in zip(dutch, body["predictions"], stand_in_models, strict=True):  # the same answer, named in Dutch
        assert prediction["predicted_class"] == translated(model.dataset, english["predicted_class"])


def test_predict_a_json_array_and_a_jpeg_agree(client):
    digit = np.zeros((28, 28))
    digit[4:24, 12:16] = 255
    from_json = client.post("/api/predict", json={"image": digit.tolist()}).json()
    photo = np.kron(255 - digit, np.ones((10, 10))).astype(np.uint8)  # 280x280, dark on light
    from_jpeg = client.post("/api/predict", **upload(png_bytes(photo, "JPEG"), "a.jpg", "image/jpeg")).json()
    assert from_json["inverted"] is False and from_jpeg["inverted"] is True
    assert np.abs(np.array(from_json["image"]) - np.array(from_jpeg["image"])).mean() < 8  # JPEG blurs edges a little
    assert [p["predicted_class"] for p in from_json["predictions"]] == [p["predicted_class"] for p in from_jpeg["predictions"]]


def json_body(value) -> dict:
    content = value if isinstance(value, bytes) else json.dumps(value).encode()
    return {"content": content, "headers": {"content-type": "application/json"}}


def json_image_of(literal: bytes) -> bytes:
    """{"image": 28x28 of a raw JSON literal}: NaN and Infinity, which json.dumps would not write by default."""
    row = b"[" + b",".join([literal] * 28) + b"]"
    return b'{"image": [' + b",".join([row] * 28) + b"]}"


ROW = [0] * 28
BAD_REQUESTS = {
    # name: (request keyword arguments, status, words the message must contain)
    "not-an-image": (upload(b"hello, I am text"), 400, "not an image"),
    "truncated-png": (upload(drawn_one()[:300]), 400, "truncated"),
    "20000x20000": (upload(lying_png(20_000, 20_000)), 400, "too large"),
    "decompression-bomb": (upload(blank_png(7_000, 7_000)), 400, "too large: 7000x7000"),
    "empty-file": (upload(b""), 400, "empty"),
    "blank-canvas": (upload(png_bytes(np.full((280, 280), 255, np.uint8))), 422, "empty"),
    "no-file-field": ({"files": {"picture": ("a.png", drawn_one(), "image/png")}}, 422, "'file'"),
    "file-field-as-text": ({"files": {"file": (None, "not a file")}}, 422, "'file'"),
    "urlencoded-form": ({"data": {"file": "not a file"}}, 415, "multipart"),
    "text-plain": ({"content": b"1", "headers": {"content-type": "text/plain"}}, 415, "text/plain"),
    "no-content-type": ({"content": b"1"}, 415, "no content type"),
    "multipart-without-boundary": ({"content": b"--x--", "headers": {"content-type": "multipart/form-data"}}, 400, "boundary"),
    "invalid-json": (json_body(b"{not json"), 422, "JSON"),
    "json-list": (json_body([ROW] * 28), 422, "image"),
    "27-rows": (json_body({"image": [ROW] * 27}), 422, "at least 28"),
    "29-columns": (json_body({"image": [ROW + [0]] * 28}), 422, "at most 28"),
    "flat-784": (json_body({"image": ROW * 28}), 422, "at most 28"),
    "strings": (json_body({"image": [["a"] * 28] * 28}), 422, "number"),
    "nan": (json_body(json_image_of(b"NaN")), 422, "finite"),
    "infinity": (json_body(json_image_of(b"Infinity")), 422, "finite"),
    "too-bright": (json_body({"image": [[256] * 28] * 28}), 422, "less than or equal to 255"),
    "negative": (json_body({"image": [[-1] * 28] * 28}), 422, "greater than or equal to 0"),
    "extra-key": (json_body({"image": [ROW] * 28, "label": 3}), 422, "label"),
    "all-black-array": (json_body({"image": [ROW] * 28}), 422, "empty"),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_input_gets_a_4xx_with_a_clear_message_on_a_real_server(live_stand_in_server, name):
    arguments, status, words = BAD_REQUESTS[name]
    with httpx.Client(base_url=live_stand_in_server.url, timeout=30) as http:
        response = http.post("/api/predict", **arguments)
        assert response.status_code == status, response.text
        body = response.json()
        assert words in body["detail"] and body["error"]
        assert http.post("/api/predict", **upload(drawn_one())).status_code == 200  # still serving


def test_request_size_is_limited_with_and_without_content_length(stand_in_models):
    limit = 50_000
    server = LiveServer(create_app(stand_in_models, max_body_bytes=limit))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            declared = http.post("/api/predict", **upload(b"\x00" * (limit + 1)))
            assert declared.status_code == 413 and "50,000 bytes" in declared.json()["detail"]

            def chunks():  # no Content-Length: the body is counted as it streams in
                for _ in range(20):
                    yield b"\x00" * 10_000

            streamed = http.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
            assert streamed.status_code == 413
            assert http.post("/api/predict", **upload(drawn_one(200))).status_code == 200
    finally:
        server.close()


def test_model_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        create_app([linear_model("same"), linear_model("same")])


def test_page_static_files_and_openapi_schema(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text and "/static/app.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from the internet
    for path in ("/static/app.js", "/static/style.css"):
        asset = client.get(path)
        assert asset.status_code == 200 and "https://" not in asset.text
    schema = client.get("/openapi.json").json()
    predict = schema["paths"]["/api/predict"]["post"]
    assert set(predict["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"200", "400", "413", "415", "422"} <= set(predict["responses"])
    assert "/api/models" in schema["paths"]
    for offline_blank in ("/docs", "/redoc"):  # they loaded their scripts from a CDN: removed
        assert client.get(offline_blank).status_code == 404


def slow_model(name: str, seconds: float) -> LoadedModel:
    """A stand-in that takes its time, so that requests pile up while it answers."""
    fast = linear_model(name)

    def predict_proba(images: np.ndarray) -> np.ndarray:
        time.sleep(seconds)
        return fast.predict_proba(images)

    return dataclasses.replace(fast, predict_proba=predict_proba)


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer():
    app = create_app([slow_model("digits", seconds=0.05)])
    server = LiveServer(app)
    strokes = [drawn_one(side) for side in range(200, 360, 20)]  # 8 different drawings
    requests = [upload(stroke) for stroke in strokes] + [upload(b"not an image"), json_body({"image": [ROW] * 28})]

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            return await asyncio.gather(*(http.post("/api/predict", **arguments) for arguments in requests))

    try:
        responses = asyncio.run(send_all())
        with httpx.Client(base_url=server.url, timeout=30) as http:
            one_by_one = [http.post("/api/predict", **upload(stroke)).json() for stroke in strokes]
    finally:
        server.close()
    assert [r.status_code for r in responses] == [200] * len(strokes) + [400, 422]
    for response, alone in zip(responses[: len(strokes)], one_by_one, strict=True):  # the last two were bad
        assert response.json()["image"] == alone["image"]
        assert response.json()["predictions"][0]["probabilities"] == pytest.approx(alone["predictions"][0]["probabilities"])
    assert max(app.state.batcher.batch_sizes) > 1  # requests that waited together were answered together


def test_a_large_photo_is_answered_outside_the_batches(stand_in_models):
    app = create_app(stand_in_models)
    photo = np.full((1200, 1000), 230, dtype=np.uint8)  # 1.2 megapixels: decoded in a worker thread
    photo[200:1000, 450:550] = 20
    with TestClient(app) as test_client:
        response = test_client.post("/api/predict", **upload(png_bytes(photo)))
        assert response.status_code == 200, response.text
        assert response.json()["inverted"] is True and not app.state.batcher.batch_sizes
        assert test_client.post("/api/predict", **upload(drawn_one())).status_code == 200
    assert list(app.state.batcher.batch_sizes) == [1]
