"""POST /api/predict?explain=true: each model's explanation as data, checked against references.

A quick MLP, a quick CNN (tests.web.web_models.quick_cnn_dir) and a k-NN answer a drawn digit; the
saliency map is compared with torch's own gradient, the neighbours with a brute-force search over
the k-NN's training images, the feature maps with the CNN's blocks run by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitlab.web import create_app, knn_model, load_models_dir
from digitlab.web.explaining import MAX_CHANNELS_SHOWN, to_pixels
from tests.web.conftest import TestClient, linear_model
from tests.web.web_images import png_bytes
from tests.web.web_models import MNIST_CNN, MNIST_MLP, quick_cnn_dir

KNN_TRAIN_LIMIT = 2_000
PIXEL_TOLERANCE = 1  # rounding to 0..255

pytestmark = pytest.mark.realdata  # the networks and the k-NN learn from real MNIST


@pytest.fixture(scope="module")
def models():
    loaded = load_models_dir(quick_cnn_dir()) + [knn_model("mnist", train_limit=KNN_TRAIN_LIMIT)]
    return {model.kind: model for model in loaded}


@pytest.fixture(scope="module")
def client(models):
    with TestClient(create_app(list(models.values()))) as test_client:
        yield test_client


def drawn_seven() -> bytes:
    paper = np.full((280, 280), 255, dtype=np.uint8)
    paper[60:80, 70:210] = 0  # the bar
    for row in range(80, 240):  # the diagonal, 20 px wide
        centre = 200 - (row - 80) * 0.55
        paper[row, int(centre) - 10 : int(centre) + 10] = 0
    return png_bytes(paper)


def explained(client) -> dict:
    response = client.post("/api/predict?explain=true", files={"file": ("seven.png", drawn_seven(), "image/png")})
    assert response.status_code == 200, response.text
    return response.json()


def by_model(body: dict) -> dict:
    return {prediction["model"]: prediction for prediction in body["predictions"]}


def test_plain_predicts_carry_no_explanation(client):
    body = client.post("/api/predict", files={"file": ("seven.png", drawn_seven(), "image/png")}).json()
    assert all(prediction["explanation"] is None for prediction in body["predictions"])


def test_saliency_of_the_mlp_is_the_gradient_of_its_answer(client, models):
    from digitlab.inference import load_network

    body = explained(client)
    mlp = by_model(body)[MNIST_MLP]
    explanation = mlp["explanation"]
    assert explanation["method"] == "saliency" and explanation["target_index"] == mlp["predicted_index"]
    network = load_network(quick_cnn_dir() / MNIST_MLP).model.eval()
    pixels = torch.tensor(body["image"], dtype=torch.float32)[None] / 255  # (1, 28, 28) as the model saw it
    pixels.requires_grad_(True)
    network(pixels)[0, mlp["predicted_index"]].backward()
    gradient = pixels.grad[0].abs().numpy()
    expected = np.round(gradient / gradient.max() * 255)
    assert np.abs(np.array(explanation["attribution"]) - expected).max() <= PIXEL_TOLERANCE
    assert explanation["feature_maps"] == [] and explanation["neighbours"] == []


def test_the_cnn_shows_grad_cam_and_its_blocks_most_active_feature_maps(client):
    from digitlab.inference import load_network

    body = explained(client)
    explanation = by_model(body)[MNIST_CNN]["explanation"]
    assert explanation["method"] == "grad_cam"
    attribution = np.array(explanation["attribution"])
    assert attribution.shape == (28, 28) and attribution.max() == 255
    network = load_network(quick_cnn_dir() / MNIST_CNN).model.eval()
    with torch.no_grad():
        first = network.features[0](torch.tensor(body["image"], dtype=torch.float32)[None, None] / 255)[0]  # (32, 14, 14)
    layers = explanation["feature_maps"]
    assert [layer["layer"] for layer in layers] == ["features.0", "features.1"]
    assert layers[0]["shape"] == list(first.shape)
    assert [len(layer["maps"]) for layer in layers] == [MAX_CHANNELS_SHOWN, MAX_CHANNELS_SHOWN]
    strongest = int(first.mean(dim=(1, 2)).argmax())  # the first map shown is the most active channel
    assert np.abs(np.array(layers[0]["maps"][0]) - np.array(to_pixels(first[strongest].numpy()))).max() <= PIXEL_TOLERANCE


def test_the_knn_shows_its_nearest_training_images_with_their_true_distances(client, models):
    from digitlab.datasets import load

    body = explained(client)
    prediction = by_model(body)[models["knn"].name]
    explanation = prediction["explanation"]
    assert explanation["attribution"] is None and explanation["method"] is None
    neighbours = explanation["neighbours"]
    train = load("mnist").limit(train=KNN_TRAIN_LIMIT).train
    images = train.images.numpy().reshape(KNN_TRAIN_LIMIT, -1).astype(np.float64)
    distances = np.linalg.norm(images - np.array(body["image"], dtype=np.float64).ravel(), axis=1)  # brute force
    nearest = np.argsort(distances, kind="stable")[: len(neighbours)]
    assert [n["index"] for n in neighbours] == nearest.tolist()
    assert [n["distance"] for n in neighbours] == pytest.approx(distances[nearest].tolist(), rel=1e-4)
    for neighbour in neighbours:
        assert neighbour["label"] == int(train.labels[neighbour["index"]])
        assert np.array_equal(np.array(neighbour["pixels"]), train.images[neighbour["index"]].numpy())
    votes = np.zeros(10)
    for neighbour in neighbours:
        votes[neighbour["label"]] += neighbour["weight"]
    assert int(np.argmax(votes)) == prediction["predicted_index"]  # the neighbours' weighted vote is the answer


def test_models_without_explanations_and_bad_flags():
    with TestClient(create_app([linear_model("digits")])) as plain:
        body = plain.post("/api/predict?explain=true", files={"file": ("seven.png", drawn_seven(), "image/png")}).json()
        assert body["predictions"][0]["explanation"] is None  # a model that cannot explain answers all the same
        response = plain.post("/api/predict?explain=maybe", files={"file": ("seven.png", drawn_seven(), "image/png")})
        assert response.status_code == 422 and response.json()["error"] == "invalid_request"
        assert "explain" in response.json()["detail"]


def test_the_explanation_is_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/predict"]["post"]
    assert [parameter["name"] for parameter in operation["parameters"]] == ["explain"]
    assert {"attribution", "feature_maps", "neighbours"} <= set(schema["components"]["schemas"]["Explanation"]["properties"])


def test_a_large_photo_is_explained_too(client):
    """Photos over a megapixel are prepared in a worker thread, not in the batches: explained all the same."""
    paper = np.full((1200, 1000), 235, dtype=np.uint8)
    paper[200:1000, 470:530] = 30  # a dark "1" on grey paper
    response = client.post("/api/predict?explain=true", files={"file": ("one.jpg", png_bytes(paper, "JPEG"), "image/jpeg")})
    assert response.status_code == 200, response.text
    assert all(prediction["explanation"] is not None for prediction in response.json()["predictions"])
