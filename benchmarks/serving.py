"""A real ``digitlab serve`` for the web benchmarks: its own process on 127.0.0.1, a free port, stopped afterwards.

Shared by web_load.py, web_explain.py and other_writers.py, so each measures the same server the way a user
starts it (``python -m digitlab serve``), ready only once ``/api/health`` answers.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

START_TIMEOUT_S = 180  # loading checkpoints and fitting the page's k-NN on a busy 2-core machine
POLL_S = 0.2  # between health checks while it starts
STOP_TIMEOUT_S = 30  # a terminated server has this long to exit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(models: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``digitlab serve --models MODELS OPTIONS...``; yields its base URL and process (for its pid), then stops it."""
    port = free_port()
    command = [sys.executable, "-m", "digitlab", "serve", "--models", str(models), "--port", str(port), *options]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, url)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_until_healthy(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"digitlab serve exited: {server.stderr.read().decode()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        time.sleep(POLL_S)
    raise RuntimeError(f"digitlab serve did not answer {url}/api/health within {START_TIMEOUT_S} s")
