"""Fixtures for the web app: stand-in models, trained models, an in-process client and a real server."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import uvicorn

from digitlab.web import LoadedModel, create_app
from digitlab.web.server import uvicorn_config
from tests.web.web_models import quick_checkpoints, quick_mlp  # noqa: F401 (fixtures)

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DIGITS = tuple(str(d) for d in range(10))
SERVER_START_TIMEOUT_S = 10


def linear_model(name: str, dataset: str = "mnist", classes: tuple[str, ...] = DIGITS, seed: int = 0) -> LoadedModel:
    """A stand-in model: softmax of a fixed random linear map. Fast and deterministic, not clever."""
    weights = np.random.default_rng(seed).normal(0, 0.01, (28 * 28, len(classes)))

    def predict_proba(images: np.ndarray) -> np.ndarray:
        logits = images.reshape(len(images), -1).astype(np.float64) @ weights  # (N, classes)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    return LoadedModel(name, "linear", dataset, classes, 0.5, weights.size, predict_proba)


@pytest.fixture(scope="session")
def stand_in_models() -> list[LoadedModel]:
    fashion = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    return [linear_model("digits"), linear_model("clothes", "fashion-mnist", fashion, seed=1)]


@pytest.fixture(scope="session")
def client(stand_in_models) -> Iterator[TestClient]:
    with TestClient(create_app(stand_in_models)) as test_client:
        yield test_client


class LiveServer:
    """The app under a real uvicorn on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", self.port))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [listener]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(SERVER_START_TIMEOUT_S)


@pytest.fixture(scope="session")
def live_stand_in_server(stand_in_models) -> Iterator[LiveServer]:
    server = LiveServer(create_app(stand_in_models))
    yield server
    server.close()
