"""Run the app under uvicorn: one process, one torch thread, bounded concurrency and client deadlines."""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

from digitlab.web.guard import GuardedH11Protocol

KEEP_ALIVE_SECONDS = 5


def limit_torch_threads(threads: int) -> None:
    """Batches of a few drawings are tiny work: more torch threads cost more in hand-offs than they save."""
    import torch

    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)


def uvicorn_config(app: FastAPI, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=GuardedH11Protocol,  # header and body deadlines; the app limits requests in flight (web.guard)
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,
    )


def run_server(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    """Serve until interrupted (Ctrl+C)."""
    # torch, FastAPI and the models leave ~200,000 long-lived objects that every full garbage
    # collection walks again: under load that paused one request for 160 ms (benchmarks/web_load.py).
    # Frozen once after start-up, they are left out, and full collections only see what requests make.
    gc.collect()
    gc.freeze()
    uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()
