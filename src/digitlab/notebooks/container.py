"""Run one untrusted command in a container (Docker or Podman), for machines without bubblewrap.

The container sees what a bubblewrap sandbox sees (:mod:`digitlab.notebooks.sandbox`): the system's
``/usr``, the Python installation and environment and digitlab's source, all bound read-only; the grader's
files as ``/checker/<name>``; a writable ``/notebook`` (the one notebook's copy) and a private ``/tmp`` of
bounded size. Its image is an empty skeleton (the host's ``/bin -> usr/bin`` links and the mount points)
made by the grader itself with ``import``: nothing is pulled from a registry, and the Python that runs is
the grader's own. The engine adds no network (``--network none``: only the container's own loopback), a
read-only root, no capabilities, no new privileges, a non-root user, a memory cap for the whole container
and a process cap (cgroups). Inside, ``prlimit`` sets the same per-process limits as bubblewrap and
``timeout`` kills the command a little after the grader's own deadline, so a container ends in time even
if the grader dies. When the command's first process ends, the container's PID namespace ends with it.

The engine's client passes no extra descriptor in, so the channel is the container's standard output;
the checker moves it aside before any student code runs (``print`` then goes to standard error).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

from digitlab.notebooks.sandbox import FIRST_UID, LINKABLE, READ_ONLY_SYSTEM, Resources, python_binds

IMAGE = "localhost/digitlab-sandbox"  # the skeleton image's name; its tag is the skeleton's own digest
MOUNT_POINTS = ("tmp", "notebook", "checker", "proc", "dev", "sys", "etc", "usr")
PROBE_S = 60  # an engine's first container (creating the image included) may take this long
GRACE_S = 5  # the in-container timeout fires this long after the grader's, which normally kills first
ENGINE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Engine:
    """A container engine that works on this machine, and the run options it needs here."""

    program: str  # "docker" or "podman"
    options: tuple[str, ...] = ()  # e.g. podman's ``--runtime runc`` where its default runtime cannot start containers
    image: str = ""


def skeleton() -> bytes:
    """The image's files: this machine's top-level links into ``/usr`` and empty mount points (a tar archive)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in MOUNT_POINTS:
            entry = tarfile.TarInfo(name)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(entry)
        for path in LINKABLE:
            if os.path.islink(path):
                entry = tarfile.TarInfo(path.lstrip("/"))
                entry.type, entry.linkname = tarfile.SYMTYPE, os.readlink(path)
                tar.addfile(entry)
    return buffer.getvalue()


def engine(program: str) -> Engine | None:
    """``program``'s engine if it is installed and runs a container here (its skeleton image made once), else None."""
    return None if shutil.which(program) is None else _working(program)


@functools.cache
def _working(program: str) -> Engine | None:
    with ENGINE_LOCK:
        try:
            image = _image(program)
        except (OSError, subprocess.SubprocessError):
            return None
        tries = [()] + ([("--runtime", "runc")] if program == "podman" and shutil.which("runc") else [])
        for options in tries:
            found = Engine(program, tuple(options), image)
            if _runs(found):
                return found
    return None


def _image(program: str) -> str:
    archive = skeleton()
    tag = f"{IMAGE}:{hashlib.sha256(archive).hexdigest()[:12]}"
    known = subprocess.run([program, "image", "inspect", tag], capture_output=True, timeout=PROBE_S, check=False)
    if known.returncode != 0:
        subprocess.run([program, "import", "-", tag], input=archive, capture_output=True, timeout=PROBE_S, check=True)
    return tag


def _runs(found: Engine) -> bool:
    probe = [found.program, "run", "--rm", *_isolation(found, Resources(), FIRST_UID), *_system_mounts(), found.image, "/usr/bin/true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=PROBE_S, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _isolation(found: Engine, resources: Resources, uid: int) -> list[str]:
    """The engine's own confinement: no network, read-only root, non-root user, no privileges, cgroup caps."""
    processes, files = resources.processes, resources.open_files
    return [*found.options, "--pull", "never", "--network", "none", "--read-only", "--user", f"{uid}:{uid}", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "--security-opt", "label=disable", "--log-driver", "none",
            "--memory", str(resources.memory_bytes), "--memory-swap", str(resources.memory_bytes), "--pids-limit", str(processes),
            "--ulimit", f"nproc={processes}:{processes}", "--ulimit", f"nofile={files}:{files}", "--ulimit", "core=0:0",
            "--tmpfs", f"/tmp:rw,nosuid,nodev,size={resources.tmp_bytes},mode=1777", "--hostname", "sandbox"]


def _bind(source: str, target: str, writable: bool = False) -> list[str]:
    return ["--mount", f"type=bind,source={source},target={target}" + ("" if writable else ",readonly")]


def _system_mounts() -> list[str]:
    mounts = []
    for path in READ_ONLY_SYSTEM + tuple(p for p in LINKABLE if not os.path.islink(p)):
        if os.path.exists(path):
            mounts += _bind(path, path)
    return mounts


def command(found: Engine, argv: list[str], workdir: Path, files: dict[str, Path], slot: int, resources: Resources,
            env: dict[str, str], name: str, seconds: float) -> list[str]:
    """``<engine> run`` for ``argv`` in container ``name``: binds, limits, and a deadline inside."""
    run = [found.program, "run", "--rm", "--name", name, *_isolation(found, resources, FIRST_UID + slot), *_system_mounts()]
    for folder in python_binds():
        run += _bind(folder, folder)
    for file_name, path in files.items():
        run += _bind(str(path), f"/checker/{file_name}")
    run += _bind(str(workdir), "/notebook", writable=True) + ["--workdir", "/notebook"]
    for variable, value in env.items():
        run += ["--env", f"{variable}={value}"]
    limits = ["prlimit", f"--as={resources.memory_bytes}", f"--cpu={resources.cpu_s}", f"--fsize={resources.file_bytes}", "--"]
    return run + [found.image, *limits, "timeout", "--signal=KILL", str(int(seconds) + GRACE_S), *argv]


def open_workdir(workdir: Path) -> None:
    """Let the container's user write the notebook's copy where it cannot be given to that user (not root)."""
    if os.geteuid() != 0:
        for path in [workdir, *workdir.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)


def remove(found: Engine, name: str) -> None:
    """End container ``name`` and everything in it (killing the engine's client leaves it running)."""
    subprocess.run([found.program, "rm", "--force", name], capture_output=True, timeout=PROBE_S, check=False)
