"""optuna-dashboard on digitlab's store, against a real dashboard server on 127.0.0.1: readable names and attributes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest

from digitlab.experiments import open_storage, run_grid
from digitlab.experiments.store import SUMMARY_ATTR
from tests.experiments.test_sweep import cheap_evaluate, make_sweep

pytest.importorskip("optuna_dashboard")
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_dashboard_lists_studies_with_readable_names_and_run_summaries(tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    sweep = make_sweep()
    run_grid(sweep, open_storage(url), cheap_evaluate)
    port = _free_port()
    command = [sys.executable, "-c", "from optuna_dashboard._cli import main; main()"]  # the console script, on this interpreter
    server = subprocess.Popen([*command, url, "--host", "127.0.0.1", "--port", str(port), "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                studies = httpx.get(f"http://127.0.0.1:{port}/api/studies", timeout=5).json()["study_summaries"]
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        (study,) = studies
        assert study["study_name"] == sweep.study_name and study["study_name"].startswith(f"{sweep.name}@")
        detail = httpx.get(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}", timeout=10).json()
        attrs = [{a["key"]: a["value"] for a in trial["user_attrs"]} for trial in detail["trials"]]
        assert len(attrs) == len(sweep.points())
        assert all(SUMMARY_ATTR in a and "test" in a[SUMMARY_ATTR] and "=" in a[SUMMARY_ATTR] for a in attrs)
        assert all(0 <= float(a["test_accuracy"]) <= 1 for a in attrs)
    finally:
        server.terminate()
        server.wait(10)
