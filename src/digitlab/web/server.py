"""Run the app under uvicorn: one process, a modest number of torch threads, bounded concurrency."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

MAX_CONCURRENT_CONNECTIONS = 64  # beyond this uvicorn answers 503 instead of queueing without end
KEEP_ALIVE_SECONDS = 5


def limit_torch_threads(threads: int) -> None:
    """Requests run in parallel threads; each inference is tiny, so one torch thread per request is best."""
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
        limit_concurrency=MAX_CONCURRENT_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,
    )


def run_server(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    """Serve until interrupted (Ctrl+C)."""
    uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()
