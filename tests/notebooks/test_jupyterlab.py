"""The course set-up opens the student edition in JupyterLab: the command `digitlab notebook` prints starts a server
that lists the notebook (started headless on loopback, asked through its REST API, then stopped)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from digitlab.cli.main import main
from digitlab.notebooks.editions import STUDENT_NAME

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90  # a cold JupyterLab start on a busy 2-core machine takes ~10-30 s


def test_the_course_extra_installs_jupyterlab_and_the_readme_installs_the_course_extra():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(requirement.startswith("jupyterlab") for requirement in extras["course"])
    assert "notebook" not in extras  # one course set-up, not two extras that each install half of it
    assert '.venv/bin/pip install -e ".[course]"' in (ROOT / "README.md").read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _contents(port: int, token: str, path: str = "") -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents/{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


@pytest.mark.slow
def test_the_printed_command_opens_the_student_edition_in_jupyterlab(tmp_path, capsys):
    pytest.importorskip("jupyterlab")
    assert main(["notebook", "--student", str(tmp_path / "handout")]) == 0
    printed = capsys.readouterr().out.replace("\n", "")
    command = shlex.split(printed.split("open it with  ", 1)[1])
    assert command[1:] == ["lab", str((tmp_path / "handout" / STUDENT_NAME).resolve())]
    port, token = _free_port(), "digitlab-test"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen([*command, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                               f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
                               *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
                              cwd=tmp_path / "handout", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, listing = time.monotonic() + START_TIMEOUT_S, None
        while listing is None:
            assert server.poll() is None, server.stderr.read().decode(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "JupyterLab did not answer in time"
            try:
                listing = _contents(port, token)
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert [(item["name"], item["type"]) for item in listing["content"]] == [(STUDENT_NAME, "notebook")]
        notebook = _contents(port, token, STUDENT_NAME)
        assert notebook["type"] == "notebook" and notebook["content"]["cells"]  # JupyterLab reads it as a notebook
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
