"""Shared fixtures: tiny generated IDX datasets and a local HTTP server standing in for mirrors."""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from digitlab.datasets.catalog import FILE_NAMES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, DatasetSpec, IdxFile
from digitlab.datasets.idx import encode_idx
from digitlab.datasets.verify import md5_hex

TINY_CLASSES = tuple("abc")


@dataclass
class TinyDataset:
    """A generated dataset with its own spec (sizes and MD5s of its generated files)."""

    spec: DatasetSpec
    arrays: dict[str, np.ndarray]
    files: dict[str, bytes] = field(repr=False)

    def write(self, folder: Path, gz: bool = False) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        return folder


def make_tiny_dataset(n_train: int = 12, n_test: int = 6, side: int = 28, seed: int = 0, name: str = "tiny") -> TinyDataset:
    rng = np.random.default_rng(seed)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, len(TINY_CLASSES), n_train).astype(np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, len(TINY_CLASSES), n_test).astype(np.uint8),
    }
    files = {file_name: encode_idx(arrays[file_name]) for file_name in FILE_NAMES}
    spec = DatasetSpec(
        name=name,
        torchvision_folder="Tiny",
        classes=TINY_CLASSES,
        files=tuple(IdxFile(file_name, len(files[file_name]), md5_hex(files[file_name])) for file_name in FILE_NAMES),
        mirrors=(),
        image_shape=(side, side),
    )
    return TinyDataset(spec, arrays, files)


@pytest.fixture(autouse=True)
def own_store(tmp_path_factory, monkeypatch) -> str:
    """Each test's runs go to a store of its own (``digitlab train`` records every run), never the working folder's."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store')}/runs.sqlite3"
    monkeypatch.setenv("DIGITLAB_STORAGE", url)
    return url


@pytest.fixture
def tiny() -> TinyDataset:
    return make_tiny_dataset()


class FakeMirror:
    """An HTTP server on 127.0.0.1: ``routes[path] = (status, body)``; unknown paths give 404."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                mirror.requests.append(self.path)
                status, body = mirror.routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, prefix: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{prefix.strip('/')}/"

    def serve_dataset(self, prefix: str, files: dict[str, bytes], corrupt: str | None = None) -> str:
        """Serve gzipped ``files`` under ``/prefix/``; the file named ``corrupt`` gets one flipped byte."""
        for name, data in files.items():
            if name == corrupt:
                data = bytes([data[0]]) + bytes([data[1] ^ 0xFF]) + data[2:] if len(data) < 20 else data[:-1] + bytes([data[-1] ^ 0xFF])
            self.routes[f"/{prefix}/{name}.gz"] = (200, gzip.compress(data))
        return self.url(prefix)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror() -> Iterator[FakeMirror]:
    server = FakeMirror()
    yield server
    server.close()
