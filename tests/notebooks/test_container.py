"""`digitlab check --sandbox podman|docker`: the container backend, escape-tested in a real container.

A short hostile notebook (only its k-NN answered, every escape tried in a cell under it) is graded in a
real container of whichever engine works here; scripts/system-deps.sh installs Podman for this. The
engine's image is digitlab's own empty skeleton, so nothing is pulled from a registry.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from digitlab.errors import DigitlabError
from digitlab.notebooks import container, sandbox
from digitlab.notebooks.checks import PASSED
from digitlab.notebooks.editions import write_notebook
from digitlab.notebooks.grading import Limits, choose_sandbox, grade_all
from tests.notebooks import grading_class as students

WORKING = next((kind for kind in sandbox.CONTAINERS if container.engine(kind) is not None), None)
needs_engine = pytest.mark.skipif(WORKING is None, reason="neither Docker nor Podman runs containers here (scripts/system-deps.sh installs Podman)")
MEMORY = 2 * 2**30
LIMITS = Limits(cell_s=20, total_s=180, memory_bytes=MEMORY, sandbox=WORKING or sandbox.PODMAN)


def test_the_skeleton_image_holds_only_links_and_mount_points():
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(container.skeleton())) as tar:
        members = tar.getmembers()
    assert all(member.isdir() or member.issym() for member in members)
    assert {"tmp", "notebook", "checker"} <= {member.name for member in members}
    links = {"/" + member.name: member.linkname for member in members if member.issym()}
    assert links == {path: os.readlink(path) for path in sandbox.LINKABLE if os.path.islink(path)}


def test_an_engine_that_is_missing_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(container.shutil, "which", lambda program: None)
    with pytest.raises(DigitlabError, match="--sandbox docker: docker does not work here.*bubblewrap.*Docker or Podman"):
        choose_sandbox(sandbox.DOCKER)


@pytest.mark.realdata
@pytest.mark.slow
@needs_engine
def test_hostile_code_in_a_container_reaches_nothing_and_leaves_nothing(tmp_path):
    outside = tmp_path / "teacher"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("the answers")
    listener = socket.create_server(("127.0.0.1", 0))
    values = {"OTHER_NOTEBOOK": str(tmp_path / "other.ipynb"), "SECRET_FILE": str(secret), "OUTSIDE_FILE": str(outside / "escaped.txt"),
              "HOST_PORT": listener.getsockname()[1], "MEMORY_BYTES": MEMORY + 2**30, "CSV_FILE": str(outside / "class.csv")}
    write_notebook(students.right(), tmp_path / "other.ipynb")
    path = write_notebook(students.hostile(values, only_knn=True), tmp_path / "hostile.ipynb")
    probes, original_run = [], sandbox.run

    def recording_run(*args, **kwargs):
        finished = original_run(*args, **kwargs)
        probes.extend(line for line in finished.channel.decode().splitlines() if '"probe"' in line)
        return finished

    os.environ["DIGITLAB_TEST_SECRET"] = "grader-only"
    sandbox.run = recording_run
    try:
        [graded] = grade_all([path], LIMITS)
    finally:
        sandbox.run = original_run
        os.environ.pop("DIGITLAB_TEST_SECRET")
        listener.close()
    assert graded.sandbox == WORKING
    assert {o.assignment: o.status for o in graded.outcomes}["knn"] == PASSED  # its k-NN, judged outside, still passes
    assert len(probes) == 1, "the hostile cell did not report"
    found = json.loads(probes[0])["found"]
    blocked = ["read_other", "read_secret", "environment", "write_outside", "patch_package", "socket", "raw_socket",
               "reloaded_socket", "urllib", "udp", "curl", "system", "memory", "fill_tmp", "processes", "other_jobs"]
    assert {name: found[name] for name in blocked if not found[name].startswith("blocked")} == {}
    assert "grader-only" not in found["proc_1_environ"]  # the container's first process is the sandbox's own, with its own environment
    time.sleep(5)  # the setsid child meant to write the CSV 4 s after it started
    assert not (outside / "class.csv").exists() and not (outside / "escaped.txt").exists()
    left = subprocess.run([WORKING, "ps", "--all", "--quiet", "--filter", "name=digitlab-check-"], capture_output=True, text=True, check=True)
    assert left.stdout.strip() == ""
    import digitlab

    assert "# patched" not in Path(digitlab.__file__).read_text()
