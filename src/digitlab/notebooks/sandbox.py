"""Run one untrusted command in an OS sandbox: bubblewrap namespaces, a non-root user, resource limits.

The sandbox (``bwrap``) gets new PID, network, IPC, UTS and cgroup namespaces and a new root made of
read-only binds: the system's ``/usr`` and library folders, the Python installation and environment,
digitlab's own source and the files the grader hands in (``/checker``: its job and the data). The only writable places are a
private ``/tmp`` and ``/notebook``, a copy of the one notebook. No network exists (a fresh network
namespace has only its own loopback), nothing of the grader's files, environment (``--clearenv``), home
folder or other notebooks is visible, and ``/proc`` shows the sandbox's own processes only.

bwrap runs as root without a user namespace so that the command inside can drop to a non-root uid of its
own (``setpriv``: all capabilities gone, no new privileges): only then does the kernel enforce the
process-count limit (root is exempt from RLIMIT_NPROC). Limits (``prlimit``): address space (memory),
CPU seconds, processes, file size, open files. When the command's first process ends or is killed, the
PID namespace ends and the kernel kills every process still in it (``setsid`` children included);
``--die-with-parent`` does the same if the grader itself dies. Where bubblewrap is missing,
:mod:`digitlab.notebooks.container` gives the same view and limits through Docker or Podman.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BWRAP, DOCKER, PODMAN, NONE, AUTO = "bwrap", "docker", "podman", "none", "auto"
CONTAINERS = (DOCKER, PODMAN)  # container engines, in the order ``auto`` tries them after bubblewrap
KINDS = (AUTO, BWRAP, DOCKER, PODMAN, NONE)
INSTALL_HINT = ("no sandbox found: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; "
                "on Windows inside WSL 2, on macOS inside a Linux VM), or run Docker or Podman on this Linux machine, "
                "or pass --sandbox none to run students' code unconfined (not for real submissions)")
FIRST_UID = 61_000  # sandbox users are FIRST_UID + slot: each parallel sandbox counts its own processes
READ_ONLY_SYSTEM = ("/usr", "/etc/ld.so.cache", "/etc/alternatives", "/etc/fonts", "/etc/localtime", "/etc/ssl/certs")
LINKABLE = ("/bin", "/sbin", "/lib", "/lib32", "/lib64")  # a symlink into /usr on merged-/usr systems, else a folder
MAX_CHANNEL_BYTES = 16 * 2**20  # more than this from a sandbox is hostile: reading stops


@dataclass(frozen=True)
class Resources:
    """What one sandbox may use."""

    memory_bytes: int = 4 * 2**30  # address space per process (torch and a notebook's tensors need ~1.5 GB)
    cpu_s: int = 900  # CPU seconds per process; the wall-time limit usually ends things first
    processes: int = 256  # processes and threads of the sandbox user (torch starts one thread per core)
    file_bytes: int = 64 * 2**20  # largest file the sandbox may write
    open_files: int = 512  # open file descriptors per process
    tmp_bytes: int = 512 * 2**20  # the private /tmp (a tmpfs: it lives in memory): matplotlib's cache and a student's files


@dataclass
class Finished:
    """How a sandboxed command ended."""

    channel: bytes  # everything it wrote to the channel (at most MAX_CHANNEL_BYTES)
    returncode: int | None  # None when it was killed for running past its time
    timed_out: bool = False
    stderr_tail: str = ""


def bwrap_works() -> bool:
    """Whether bubblewrap (and the tools it is used with) is installed and can start a sandbox here."""
    return bool(shutil.which("bwrap") and shutil.which("prlimit") and (shutil.which("setpriv") or not _as_root()) and _bwrap_starts())


def _bwrap_starts() -> bool:
    probe = ["bwrap", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/"]
    probe += [*_drop(FIRST_UID), "true"] if _as_root() else ["--unshare-user", "true"]
    try:
        probe = subprocess.run(probe, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def python_binds() -> list[str]:
    """Folders the sandbox needs to run this Python with digitlab: the installation, the environment, sys.path."""
    here = os.path.realpath(os.getcwd())
    folders = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), package_root()}
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        other_copy = os.path.exists(os.path.join(real, "digitlab", "__init__.py")) and real != package_root()
        if real and os.path.isdir(real) and real != here and not other_copy:  # one digitlab: the grader's own
            folders.add(real)
    return [f for f in sorted(folders) if not any(f.startswith(other + os.sep) for other in folders)]


def python_prefix() -> str:
    """The Python environment the sandbox runs (a venv's own folder, so its packages come along)."""
    return os.path.realpath(sys.prefix)


def package_root() -> str:
    """The folder holding the ``digitlab`` package (its source tree, or site-packages)."""
    import digitlab

    return os.path.realpath(str(Path(digitlab.__file__).parent.parent))


def bwrap_command(argv: list[str], workdir: Path, files: dict[str, Path], slot: int, resources: Resources, env: dict[str, str]) -> list[str]:
    """The full command line: prlimit, bwrap with its binds, setpriv dropping to the slot's user, ``argv``.

    ``files`` are bound read-only one by one as ``/checker/<name>`` (a shared folder would show one
    sandbox the files handed to another).
    """
    uid = FIRST_UID + slot
    command = ["prlimit", f"--as={resources.memory_bytes}", f"--cpu={resources.cpu_s}", f"--nproc={resources.processes}",
               f"--fsize={resources.file_bytes}", f"--nofile={resources.open_files}", "--core=0",
               "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox",
               # /tmp first: binds below it (a source tree under /tmp) must land on top of the private tmpfs
               "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(resources.tmp_bytes), "--tmpfs", "/tmp"]
    for path in READ_ONLY_SYSTEM:
        if os.path.exists(path):
            command += ["--ro-bind", path, path]
    for path in LINKABLE:
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            command += ["--ro-bind", path, path]
    for folder in python_binds():
        command += _parents(folder) + ["--ro-bind", folder, folder]
    command += ["--perms", "0755", "--dir", "/checker"]
    for name, path in files.items():
        command += ["--ro-bind", str(path), f"/checker/{name}"]
    command += ["--bind", str(workdir), "/notebook", "--chdir", "/notebook"]
    for name, value in env.items():
        command += ["--setenv", name, value]
    if _as_root():
        return command + [*_drop(uid), *argv]
    # Without root, a user namespace maps the sandbox user onto the teacher's: the process cap then counts the
    # teacher's own processes too, and the other limits hold as they are.
    return command + ["--unshare-user", "--uid", str(uid), "--gid", str(uid), "--cap-drop", "ALL", "--", *argv]


def _as_root() -> bool:
    return os.geteuid() == 0


def _drop(uid: int) -> list[str]:
    """setpriv: become ``uid`` with no capabilities and no way to gain any (then RLIMIT_NPROC holds)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
            "--no-new-privs", "--"]


def _parents(folder: str) -> list[str]:
    """``--dir`` for each parent of ``folder`` with mode 0755, so a non-root user can reach it (even under /root)."""
    parts, out = Path(folder).parts[1:-1], []
    for depth in range(1, len(parts) + 1):
        parent = "/" + "/".join(parts[:depth])
        if parent != "/tmp":  # the private tmpfs, open to all (1777) already
            out += ["--perms", "0755", "--dir", parent]
    return out


def prepare_workdir(workdir: Path, slot: int) -> None:
    """Give the slot's sandbox user the writable folder (the grader runs as root; the sandbox does not)."""
    if os.geteuid() == 0:
        uid = FIRST_UID + slot
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, uid, uid)


def channel() -> tuple[int, int]:
    """A pipe for one sandbox: the grader reads the first fd, the sandboxed command writes the second."""
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)
    return read_end, write_end


def run(command: list[str], channel_fds: tuple[int, int], timeout_s: float, env: dict[str, str] | None = None,
        cwd: Path | None = None, channel_on_stdout: bool = False, stop: Callable[[], None] | None = None) -> Finished:
    """Run ``command`` (it writes its data to the channel); kill its whole process group past ``timeout_s``.

    ``channel_on_stdout``: the channel is the command's standard output (a container engine's client passes
    no other descriptor in). ``stop`` ends what killing the command leaves running (a container).
    """
    read_end, write_end = channel_fds
    stderr_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"digitlab-sandbox-{os.getpid()}-{threading.get_ident()}.err"
    with open(stderr_path, "w+b") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=write_end if channel_on_stdout else subprocess.DEVNULL,
                                   stderr=stderr, pass_fds=() if channel_on_stdout else (write_end,), start_new_session=True,
                                   env=env, cwd=cwd)
        os.close(write_end)
        chunks: list[bytes] = []
        reader = threading.Thread(target=_read, args=(read_end, chunks), daemon=True)
        reader.start()
        timed_out = False
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(process)
        finally:
            if stop is not None:
                stop()
        reader.join(timeout=10)
        stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 2000))
        tail = stderr.read().decode("utf-8", "replace")
    stderr_path.unlink(missing_ok=True)
    return Finished(b"".join(chunks), None if timed_out else process.returncode, timed_out, tail)


def _read(fd: int, chunks: list[bytes]) -> None:
    total = 0
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            if total + len(chunk) > MAX_CHANNEL_BYTES:
                break
            chunks.append(chunk)
            total += len(chunk)


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the sandbox's process group; bwrap's PID namespace takes every process inside with it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
