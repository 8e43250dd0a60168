"""Hostile clients against the web app: a real server in its own process, attacks from this one.

Three measurements, the first two with drawings sent one at a time beside the attack (as a student would):

1. ``--large N`` uploads at once of a 16-bit 8192x2929 PNG (48 KB on the wire, 48 MB decoded):
   the server's peak memory (VmHWM, Linux) and the drawings' p50/p99 latency during the attack.
2. ``--idle N`` sockets that connect and send nothing, plus N that send half a request's headers:
   what a normal request gets while they are open, and how long the server keeps them.
3. ``--burst N`` drawings sent at once on N connections, from one address (a class behind one NAT
   address) and spread over five loopback addresses (127.0.0.1-5): how many get 200, 503 (with
   Retry-After) and no answer at all.

The server loads one stand-in model (a fixed linear map, microseconds per drawing), so the
numbers are the web layer's: decoding, preparing, connections. Run: ``python benchmarks/web_hostile.py``.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
from PIL import Image
from rich.console import Console
from rich.table import Table

SERVER_START_TIMEOUT_S = 60
ATTACK_WINDOW_S = 20  # how long idle sockets are watched at most
LARGE_SIZE = (8192, 2929)  # the 16-bit PNG
console = Console(width=None if sys.stdout.isatty() else 150)

SERVER = """
import sys
import numpy as np
import uvicorn
from digitlab.web import LoadedModel, create_app
from digitlab.web.server import uvicorn_config
weights = np.random.default_rng(0).normal(0, 0.01, (784, 10))
def predict_proba(images):
    logits = images.reshape(len(images), -1).astype(np.float64) @ weights
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)
model = LoadedModel("stand-in", "linear", "mnist", tuple("0123456789"), None, weights.size, predict_proba)
uvicorn.Server(uvicorn_config(create_app([model]), "127.0.0.1", int(sys.argv[1]))).run()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def large_png() -> bytes:
    pixels = np.zeros(LARGE_SIZE[::-1], dtype=np.uint16)  # (H, W)
    pixels[1000:2000, 3000:3500] = 60_000  # one thick stroke: a "1"
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def drawing_png() -> bytes:
    canvas = Image.new("L", (280, 280), 255)
    canvas.paste(0, (130, 60, 150, 220))  # a dark "1" on white, like the page
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had (Linux); else the current RSS."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return psutil.Process(pid).memory_info().rss / 2**20


def draw_while(url: str, stop: threading.Event, latencies: list[float], statuses: list[int]) -> None:
    png = drawing_png()
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.post(f"{url}/api/predict", files={"file": ("d.png", png, "image/png")})
            latencies.append(time.perf_counter() - started)
            statuses.append(response.status_code)


def large_uploads(url: str, pid: int, count: int) -> dict:
    png = large_png()
    before = peak_rss_mb(pid)
    stop, latencies, drawing_statuses = threading.Event(), [], []
    drawer = threading.Thread(target=draw_while, args=(url, stop, latencies, drawing_statuses))
    drawer.start()
    time.sleep(1)  # drawings alone first
    statuses: list[int] = []

    def upload() -> None:
        response = httpx.post(f"{url}/api/predict", files={"file": ("scan.png", png, "image/png")}, timeout=120)
        statuses.append(response.status_code)

    started = time.perf_counter()
    uploads = [threading.Thread(target=upload) for _ in range(count)]
    for thread in uploads:
        thread.start()
    for thread in uploads:
        thread.join()
    seconds = time.perf_counter() - started
    stop.set()
    drawer.join()
    ordered = sorted(latencies)
    return {"png_bytes": len(png), "peak_before_mb": before, "peak_after_mb": peak_rss_mb(pid), "uploads_s": seconds,
            "upload_statuses": sorted(set(statuses)), "drawings": len(latencies),
            "drawing_errors": sum(s != 200 for s in drawing_statuses),
            "p50_ms": statistics.median(ordered) * 1000, "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000}


def idle_sockets(url: str, count: int) -> dict:
    port = int(url.rsplit(":", 1)[1])
    attacker = ("127.0.0.2", 0)  # another machine, as far as the server can tell (Linux routes all of 127/8)
    idle = [socket.create_connection(("127.0.0.1", port), source_address=attacker) for _ in range(count)]
    half = [socket.create_connection(("127.0.0.1", port), source_address=attacker) for _ in range(count)]
    for sock in half:
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n")  # headers never end
    time.sleep(0.5)
    try:
        during = str(httpx.get(f"{url}/api/health", timeout=10).status_code)
    except httpx.HTTPError as error:
        during = f"no answer ({type(error).__name__})"
    started = time.perf_counter()
    for sock in idle + half:
        sock.settimeout(0.2)
    open_ = list(idle + half)
    while open_ and time.perf_counter() - started < ATTACK_WINDOW_S:
        still = []
        for sock in open_:
            try:
                if sock.recv(1024) == b"":
                    continue  # closed by the server
                still.append(sock)
            except TimeoutError:
                still.append(sock)
            except OSError:
                continue  # reset by the server
        open_ = still
    closed_after = time.perf_counter() - started
    for sock in idle + half:
        sock.close()
    return {"health_status_during": during, "sockets": 2 * count, "still_open": len(open_),
            "closed_within_s": closed_after + 0.5}


def drawing_request() -> bytes:
    png = drawing_png()
    boundary = "digitlab-burst"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    return (f"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def answer_status(sock: socket.socket) -> tuple[str, bool]:
    """The answer's status code ("none" when the socket closed without one) and whether it carried Retry-After."""
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except OSError:
        pass
    if b"\r\n\r\n" not in received:
        return "none", False
    head = received.split(b"\r\n\r\n")[0].lower()
    return head.split(b" ")[1].decode(), b"\r\nretry-after:" in head


def burst(url: str, count: int, addresses: int) -> dict:
    """``count`` connections opened first, then every request sent, then every answer read."""
    port = int(url.rsplit(":", 1)[1])
    request = drawing_request()
    started = time.perf_counter()
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(f"127.0.0.{1 + i % addresses}", 0))
               for i in range(count)]
    for sock in sockets:
        sock.sendall(request)
    answers = [answer_status(sock) for sock in sockets]
    seconds = time.perf_counter() - started
    for sock in sockets:
        sock.close()
    statuses = [status for status, _ in answers]
    return {"count": count, "addresses": addresses, "ok": statuses.count("200"), "busy": statuses.count("503"),
            "busy_with_retry_after": sum(status == "503" and retry for status, retry in answers),
            "none": statuses.count("none"), "other": count - statuses.count("200") - statuses.count("503") - statuses.count("none"),
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=16, help="large uploads at once")
    parser.add_argument("--idle", type=int, default=64, help="idle sockets (and as many half-header ones)")
    parser.add_argument("--burst", type=int, default=150, help="drawings sent at once, each on its own connection")
    args = parser.parse_args()
    process, url = start_server()
    try:
        bursts = [burst(url, args.burst, addresses) for addresses in (1, 5)]
        large = large_uploads(url, process.pid, args.large)
        idle = idle_sockets(url, args.idle)
    finally:
        process.terminate()
        process.wait(10)
    table = Table("measurement", "value", title=f"web app under hostile clients ({platform.processor() or platform.machine()}, "
                  f"{os.cpu_count()} CPUs, Python {platform.python_version()})")
    table.add_row(f"{args.large} large PNGs at once ({large['png_bytes']:,} bytes each)",
                  f"statuses {large['upload_statuses']}, {large['uploads_s']:.1f} s")
    table.add_row("server peak memory before / after", f"{large['peak_before_mb']:.0f} MB / {large['peak_after_mb']:.0f} MB")
    table.add_row("drawings meanwhile: count, errors", f"{large['drawings']}, {large['drawing_errors']}")
    table.add_row("drawings meanwhile: p50 / p99", f"{large['p50_ms']:.1f} ms / {large['p99_ms']:.1f} ms")
    table.add_row(f"{idle['sockets']} idle and half-header sockets from one address: another's /api/health", idle["health_status_during"])
    table.add_row("attack sockets still open", f"{idle['still_open']} after {idle['closed_within_s']:.1f} s")
    for result in bursts:
        table.add_row(f"{result['count']} drawings at once from {result['addresses']} address(es): 200 / 503 / no answer / other",
                      f"{result['ok']} / {result['busy']} ({result['busy_with_retry_after']} with Retry-After) / "
                      f"{result['none']} / {result['other']}, {result['seconds']:.1f} s")
    console.print(table)


if __name__ == "__main__":
    main()
