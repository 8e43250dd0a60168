"""Which exact kernel answers a euclidean or cosine search: the candidate searches themselves, timed.

Kernels (every one gives scikit-learn's answer, ties included):

- ``"int8"``: shifted pixels multiplied as int8 (``torch._int_mm``), exact in int32. Pixels only.
  Fast where the CPU has int8 dot-product instructions (AVX-512 VNNI, AMX) or on a GPU; on an
  AVX2-only CPU about 30x slower than the float32 product.
- ``"float32"``: one float32 product against every reference: exact for pixels (the products of
  shifted pixels are integers below 2^24), re-ranked in float64 for real-valued data.
- ``"pruned"``: lower bounds from a projection (:mod:`digitlab.knn.pruning`) skip most distances;
  the full kernel settles the rows the bounds cannot.

``"auto"`` (the default): the first search of a shape (data kind, references, features) on a
device builds every candidate that applies and times it answering ``SAMPLE_QUERIES`` of the
references as queries, the same blocked search a real query runs, round-robin over
``ROUNDS`` rounds so that a change of load touches every candidate alike; the fastest wins. A
kernel whose cost is a full product (int8) is first timed on ``SCREEN_REFERENCES`` references
and timed on all of them unless that, scaled to the whole set, is already ``SCREEN_SLACK`` times
slower than the fastest so far: an int8 product on an AVX2-only CPU would otherwise spend seconds
losing. The kernel that wins is the one the
search then uses (nothing is built twice). The result is kept for the process and on disk in
``<cache dir>/knn-probe.json`` (keyed by torch version, CPU capability, device name, threads,
data kind and shape; ``DIGITLAB_KNN_PROBE_CACHE=0`` keeps it in memory only), so a machine times
a shape once. Searches too small to matter (``TIMED_MIN_WORK``) take float32 untimed.

A kernel can be forced with the ``kernel=`` parameter, :func:`set_kernel` (``digitlab knn
--kernel``) or ``DIGITLAB_KNN_KERNEL``; where a forced kernel does not apply (int8 for real-valued
data), the automatic choice is used and its reason says so.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import torch

KERNELS = ("auto", "int8", "float32", "pruned")
KERNEL_ENV = "DIGITLAB_KNN_KERNEL"
PROBE_CACHE_ENV = "DIGITLAB_KNN_PROBE_CACHE"
PROBE_FILE = "knn-probe.json"
PROBE_VERSION = 3  # part of the cache key: a change to how kernels are timed invalidates old entries
DATA_KINDS = ("pixels", "real", "cosine")
SAMPLE_QUERIES = 128  # queries per timed search: one block, as a real search runs it (float32: 12 GFLOP on MNIST)
ROUNDS = 2  # timed runs per candidate, the fastest kept (after one untimed warm-up query)
TIMED_NEIGHBOURS = 5  # k of the timed searches (the course's default); the kernels' ranking barely depends on it
SCREEN_REFERENCES = 512  # a full-product kernel is timed on this many references first (0.1 s at 1 GOP/s)
SCREEN_SLACK = 4.0  # stopped only when the screen, scaled, is this much slower than the fastest so far: a small
#                     product's fixed costs weigh more (int8 measured 38x slower on the AVX2-only EPYC; about
#                     1-1.5x on the AVX-512 VNNI Xeon by its probe, where it must be timed in full)
LINEAR_KERNELS = ("int8",)  # kernels whose cost is a full product, linear in the references: screened first
TIMED_MIN_WORK = 2**20  # references x features below this (1,337 MNIST images): float32, untimed (milliseconds)

_timed: dict[str, Choice] = {}  # timed choices by key, for this process
_choices: dict[tuple, Choice] = {}  # every choice made in this process (:func:`choices`)
_forced: str | None = None  # set_kernel()


@dataclass(frozen=True)
class Timing:
    """One candidate's measurement: the fastest timed search of the sample, or why it was not timed in full."""

    kernel: str
    seconds: float | None  # the sample's fastest search; None: stopped after the screen
    prepare_seconds: float = 0.0  # building it and its warm-up query (the pruned projection, the int8 copy)
    note: str = ""


@dataclass(frozen=True)
class Choice:
    """One decision: which kernel serves a search of ``n_references`` x ``n_features``, and why."""

    kernel: str  # "int8", "float32" or "pruned"
    reason: str
    data: str  # "pixels", "real" or "cosine"
    device: str
    n_references: int
    n_features: int
    timings: tuple[Timing, ...] = ()
    source: str = "measured"  # "measured", "disk", "forced" or "untimed"
    seconds: float = 0.0  # what timing took (building included)
    key: str = ""
    sample_queries: int = SAMPLE_QUERIES


def set_kernel(name: str | None) -> None:
    """Force a kernel for this process (``None`` or ``"auto"``: back to the environment / the timing)."""
    global _forced
    _forced = None if name in (None, "auto") else check_kernel(name)


def check_kernel(name: str) -> str:
    if name not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {name!r}")
    return name


def requested_kernel(explicit: str = "auto") -> str:
    """The kernel asked for: the parameter, else :func:`set_kernel`, else ``$DIGITLAB_KNN_KERNEL``, else auto."""
    if check_kernel(explicit) != "auto":
        return explicit
    if _forced:
        return _forced
    from_env = os.environ.get(KERNEL_ENV, "").strip().lower() or "auto"
    if from_env not in KERNELS:
        raise ValueError(f"{KERNEL_ENV}={from_env!r} is not a k-NN kernel; use one of {KERNELS}")
    return from_env


def candidates(data: str) -> tuple[str, ...]:
    """The kernels that apply to ``data``, cheapest to build first (the first is the incumbent of the timing)."""
    return ("float32", "pruned", "int8") if data == "pixels" else ("float32", "pruned")


Timer = Callable[[Sequence[str]], tuple[Timing, ...]]


def choose(requested: str, data: str, n: int, d: int, device: torch.device, timer: Timer) -> Choice:
    """The kernel for a search of ``n`` references of ``d`` features of kind ``data`` on ``device``.

    ``timer`` times the given candidates on the real references (see :func:`time_candidates`);
    it runs only when ``requested`` is ``"auto"`` and this shape was not timed on this machine.
    """
    if data not in DATA_KINDS:
        raise ValueError(f"data must be one of {DATA_KINDS}, got {data!r}")
    applicable, note = candidates(data), ""
    if requested not in ("auto", *applicable):
        requested, note = "auto", f"{requested} asked for, but it does not apply to {data} data; "
    if requested != "auto":
        return _made_now(Choice(requested, "forced", data, str(device), n, d, source="forced"))
    if n * d < TIMED_MIN_WORK:
        return _made_now(Choice("float32", note + f"{n} x {d}: a small search, one float32 product (not timed)",
                                data, str(device), n, d, source="untimed"))
    key = shape_key(device, data, n, d)
    known = _timed.get(key) or _read_disk(key)
    if known is None:
        started = time.perf_counter()
        timings = timer(applicable)
        known = decide(timings, data, str(device), n, d, time.perf_counter() - started, key)
        _timed[key] = known
        _write_disk(known)
    else:
        _timed[key] = known
    return _made_now(replace(known, reason=note + known.reason) if note else known)


def decide(timings: Sequence[Timing], data: str, device: str, n: int, d: int, seconds: float, key: str) -> Choice:
    """The fastest timed candidate, with every candidate's time in the reason."""
    timed = [timing for timing in timings if timing.seconds is not None]
    fastest = min(timed, key=lambda timing: timing.seconds)
    said = ", ".join(f"{t.kernel} {t.seconds * 1000:.0f} ms" if t.seconds is not None else f"{t.kernel} {t.note}" for t in timings)
    reason = f"fastest on {SAMPLE_QUERIES} queries: {said}"
    return Choice(fastest.kernel, reason, data, device, n, d, tuple(timings), "measured", seconds, key)


def time_candidates(names: Sequence[str], build: Callable[[str], None], search: Callable[[str, int], None],
                    screen: Callable[[str], float]) -> tuple[Timing, ...]:
    """Time the candidate searches: ``build(name)`` prepares a kernel (untimed), ``search(name, rows)``
    answers the first ``rows`` sample queries with it, and ``screen(name)`` returns the seconds of the
    sample against ``SCREEN_REFERENCES`` references, scaled to all (for :data:`LINEAR_KERNELS`)."""
    runs: dict[str, list[float]] = {}
    prepared: dict[str, float] = {}
    notes: dict[str, str] = {}
    for name in names:
        if name in LINEAR_KERNELS and runs:
            estimate, best = screen(name), min(min(times) for times in runs.values())
            if estimate > SCREEN_SLACK * best:
                notes[name] = f"stopped: {estimate:.2f} s estimated from {SCREEN_REFERENCES} references"
                continue
        started = time.perf_counter()
        build(name)
        search(name, 1)  # warm-up: first-call allocations, the pruned projection, waking threads
        prepared[name] = time.perf_counter() - started
        runs[name] = [_seconds(search, name)]
    for _ in range(ROUNDS - 1):
        for name in runs:  # round-robin: a change of load touches every candidate alike
            runs[name].append(_seconds(search, name))
    return tuple(Timing(name, min(runs[name]), prepared[name]) if name in runs else Timing(name, None, note=notes[name])
                 for name in names)


def _seconds(search: Callable[[str, int], None], name: str) -> float:
    started = time.perf_counter()
    search(name, SAMPLE_QUERIES)
    return time.perf_counter() - started


def _made_now(choice: Choice) -> Choice:
    _choices[(choice.data, choice.device, choice.n_references, choice.n_features, choice.source)] = choice
    return choice


def choices() -> list[Choice]:
    """The choices made in this process so far."""
    return list(_choices.values())


def lookup(device: torch.device, data: str, n: int, d: int) -> Choice | None:
    """The timed choice of this shape on ``device`` from this process or the disk cache, without timing."""
    key = shape_key(device, data, n, d)
    return _timed.get(key) or _read_disk(key)


def cached_choices(device: torch.device) -> list[Choice]:
    """Every timed choice of ``device`` (this process and the disk cache), for `digitlab doctor`."""
    prefix = device_key(device)
    found = {key: choice for key, choice in _disk_entries().items() if key.startswith(prefix)}
    found.update({key: choice for key, choice in _timed.items() if key.startswith(prefix)})
    return list(found.values())


def forget(device: torch.device) -> int:
    """Drop every timed choice of ``device`` (this process and the disk cache), so that the next search of
    each shape times its candidates again: after a timing on a busy machine. Returns how many were dropped."""
    prefix = device_key(device)
    dropped = {key for key in [*_timed, *_disk_entries()] if key.startswith(prefix)}
    for key in dropped:
        _timed.pop(key, None)
    _write_entries({key: entry for key, entry in _disk_entries().items() if key not in dropped})
    return len(dropped)


def device_key(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    capability = torch.backends.cpu.get_cpu_capability()
    return f"torch {torch.__version__} | {capability} | {device.type}: {name} | {torch.get_num_threads()} threads"


def shape_key(device: torch.device, data: str, n: int, d: int) -> str:
    return f"{device_key(device)} | {data} {n} x {d}"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor() or platform.machine()


def _cache_file():
    if os.environ.get(PROBE_CACHE_ENV, "1") == "0":
        return None
    from digitlab.datasets import default_cache_dir

    return default_cache_dir() / PROBE_FILE


def _disk_entries() -> dict[str, Choice]:
    """The cache file's choices (another version's file, or a damaged one, reads as empty)."""
    path = _cache_file()
    try:
        stored = json.loads(path.read_text()) if path else {}
        if stored.get("version") != PROBE_VERSION:
            return {}
        return {key: _from_json(entry) for key, entry in stored["choices"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # missing, unreadable or damaged: time again
        return {}


def _read_disk(key: str) -> Choice | None:
    return _disk_entries().get(key)


def _from_json(entry: dict) -> Choice:
    timings = tuple(Timing(**timing) for timing in entry.pop("timings"))
    return Choice(**{**entry, "timings": timings, "source": "disk"})


def _write_disk(choice: Choice) -> None:
    _write_entries({**_disk_entries(), choice.key: choice})


def _write_entries(choices: dict[str, Choice]) -> None:
    path = _cache_file()
    if path is None:
        return
    from digitlab.atomic import atomic_write_text

    entries = {key: {**asdict(entry), "source": "measured"} for key, entry in choices.items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"version": PROBE_VERSION, "choices": entries}, indent=1))
    except OSError:  # a read-only cache costs a timing per process, nothing more
        pass
