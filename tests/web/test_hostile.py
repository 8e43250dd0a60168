"""Hostile clients against a real server on 127.0.0.1: idle and slow sockets, large decodes, busy servers.

Deadlines are shortened for the tests (the guard reads them when it arms a timer); every socket
has a timeout, so a failing guard fails a test instead of hanging it.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from digitlab.web import create_app, guard
from tests.web.conftest import LiveServer

SHORT_DEADLINE_S = 1.0
SOCKET_TIMEOUT_S = 5.0  # a guard that fails shows as a test failure within this, not a hang
ATTACKER = ("127.0.0.2", 0)  # another machine as far as the server can tell (Linux routes all of 127/8)


@pytest.fixture
def short_deadlines(monkeypatch):
    monkeypatch.setattr(guard, "HEADERS_TIMEOUT_S", SHORT_DEADLINE_S)
    monkeypatch.setattr(guard, "BODY_TIMEOUT_S", SHORT_DEADLINE_S)


@pytest.fixture
def server(stand_in_models, short_deadlines):
    live = LiveServer(create_app(stand_in_models))
    yield live
    live.close()


def _connect(server: LiveServer, source=None) -> socket.socket:
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT_S, source_address=source)
    except OSError as error:  # macOS routes only 127.0.0.1
        pytest.skip(f"cannot connect from {source}: {error}")
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Wait (at most SOCKET_TIMEOUT_S) for the server to close; True when it did, False on timeout."""
    try:
        while True:
            if sock.recv(4096) == b"":
                return True
    except TimeoutError:
        return False
    except OSError:  # reset
        return True


def _health(server: LiveServer) -> int:
    return httpx.get(f"{server.url}/api/health", timeout=SOCKET_TIMEOUT_S).status_code


def test_64_idle_and_64_half_header_sockets_do_not_lock_others_out(server):
    idle = [_connect(server, ATTACKER) for _ in range(64)]
    half = [_connect(server, ATTACKER) for _ in range(64)]
    for sock in half:
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\n")  # the headers never end
    started = time.monotonic()
    assert _health(server) == 200  # from 127.0.0.1 meanwhile
    assert time.monotonic() - started < SHORT_DEADLINE_S  # answered at once, not after the attack ends
    assert all(_closed_by_server(sock) for sock in idle + half)
    assert time.monotonic() - started < SHORT_DEADLINE_S + SOCKET_TIMEOUT_S
    for sock in idle + half:
        sock.close()


def test_headers_trickled_byte_by_byte_meet_a_total_deadline(server):
    sock = _connect(server)
    request = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    started = time.monotonic()
    try:
        for byte in request:  # one byte every 0.1 s: each resets an idle timer, not a total deadline
            sock.sendall(bytes([byte]))
            time.sleep(0.1)
            if time.monotonic() - started > SHORT_DEADLINE_S + SOCKET_TIMEOUT_S:
                break
    except OSError:
        pass  # the server closed it: that is the point
    assert time.monotonic() - started < SHORT_DEADLINE_S + 2
    assert _closed_by_server(sock)
    sock.close()


def test_a_body_that_stops_arriving_is_closed_and_logs_no_traceback(server, caplog):
    sock = _connect(server)
    sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 5000\r\n\r\n{\"image\": [")
    started = time.monotonic()
    assert _closed_by_server(sock)
    assert time.monotonic() - started < SHORT_DEADLINE_S + 2
    sock.close()
    time.sleep(0.2)
    assert "Traceback" not in caplog.text and "ClientDisconnect" not in caplog.text
    assert _health(server) == 200


def test_a_kept_alive_connection_that_starts_a_second_request_and_stalls_is_closed(server):
    sock = _connect(server)
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in sock.recv(4096)
    sock.sendall(b"GET /api/health HTTP/1.1\r\n")  # half of a second request
    started = time.monotonic()
    assert _closed_by_server(sock)
    assert time.monotonic() - started < SHORT_DEADLINE_S + 2
    sock.close()


def test_one_address_holds_at_most_its_share_of_waiting_connections(live_stand_in_server):
    server = live_stand_in_server  # the real 10 s header deadline: only the busy ones close within a second or two
    held = [_connect(server, ATTACKER) for _ in range(guard.MAX_WAITING_PER_CLIENT + 8)]
    time.sleep(guard.BUSY_HEADERS_TIMEOUT_S + 0.5)
    for sock in held:
        sock.settimeout(0.05)
    closed_soon = sum(_closed_by_server(sock) for sock in held)
    assert closed_soon == 8
    assert _health(server) == 200
    for sock in held:
        sock.close()


def _answer_head(sock: socket.socket) -> bytes:
    """The status line and headers the server sent, or b"" when it closed (or reset) without an answer."""
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except OSError:
        pass
    return received.split(b"\r\n\r\n")[0] if b"\r\n\r\n" in received else b""


def test_150_simultaneous_requests_from_one_address_each_get_an_answer(live_stand_in_server):
    body = json.dumps({"image": [[255 if 12 <= x < 16 and 4 <= y < 24 else 0 for x in range(28)] for y in range(28)]})
    request = (f"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n{body}").encode()
    burst = [_connect(live_stand_in_server, ATTACKER) for _ in range(150)]  # a class behind one NAT address
    for sock in burst:
        sock.sendall(request)
    heads = [_answer_head(sock) for sock in burst]
    for sock in burst:
        sock.close()
    statuses = [head.split(b" ")[1] if head else b"none" for head in heads]
    assert statuses.count(b"none") == 0
    assert set(statuses) <= {b"200", b"503"} and statuses.count(b"200") >= guard.MAX_WAITING_PER_CLIENT
    assert all(b"retry-after: 1" in head.lower() for head in heads if head.split(b" ")[1] == b"503")
    assert _health(live_stand_in_server) == 200


def test_more_requests_in_flight_than_the_limit_get_a_json_503(stand_in_models, short_deadlines):
    live = LiveServer(create_app(stand_in_models, max_in_flight=1))
    try:
        slow = _connect(live)  # a request whose body is still coming holds the one place
        slow.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.2)
        busy = httpx.get(f"{live.url}/api/health", timeout=SOCKET_TIMEOUT_S)
        assert busy.status_code == 503 and busy.json()["error"] == "busy" and busy.headers["retry-after"] == "1"
        assert _closed_by_server(slow)  # its body deadline frees the place
        slow.close()
        assert _health(live) == 200
    finally:
        live.close()


def _large_16_bit_png() -> bytes:
    pixels = np.zeros((2929, 8192), dtype=np.uint16)  # the size of the scan: 48 MB decoded, 49 kB sent
    pixels[1000:2000, 3000:3500] = 60_000
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_large_images_are_prepared_two_at_a_time_and_answered(server):
    from digitlab.web import app as app_module

    predictor = server.server.config.app.state.predictor
    real_predict, lock = predictor.predict, threading.Lock()
    running, most = [0], [0]

    def counted_predict(source):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real_predict(source)
        finally:
            with lock:
                running[0] -= 1

    predictor.predict = counted_predict
    png = _large_16_bit_png()
    statuses = []

    def upload() -> None:
        response = httpx.post(f"{server.url}/api/predict", files={"file": ("scan.png", png, "image/png")}, timeout=120)
        statuses.append(response.status_code)

    uploads = [threading.Thread(target=upload) for _ in range(6)]
    for thread in uploads:
        thread.start()
    for thread in uploads:
        thread.join()
    assert statuses == [200] * 6 and most[0] == app_module.LARGE_DECODES
