"""Which exact euclidean kernel runs: measured on the running machine at first use, never assumed.

Kernels (every one gives scikit-learn's answer, ties included):

- ``"int8"``: shifted pixels multiplied as int8 (``torch._int_mm``). Fastest where the CPU has
  int8 dot-product instructions (AVX-512 VNNI, AMX) or on a GPU; about 1-4 GOP/s on an AVX2-only
  CPU, 30x slower than its float32 product. Pixels only.
- ``"float32"``: one float32 product against every reference: exact for pixels (the products of
  shifted pixels are integers below 2^24), re-ranked in float64 for real-valued data.
- ``"pruned"``: lower bounds from a projection (:mod:`digitlab.knn.pruning`) skip most
  distances; the product the probe prefers settles the rows the bounds cannot.

``"auto"`` (the default) runs a short probe per device the first time it is needed: the same small
int8 and float32 products, timed (tens of milliseconds). int8 is used where it is faster; else
large, wide searches are pruned and the rest use float32. The probe is kept for the process and
on disk (``<cache dir>/knn-probe.json``, keyed by torch version, CPU capability and device;
``DIGITLAB_KNN_PROBE_CACHE=0`` keeps it in memory only). A kernel can be forced with the
``kernel=`` parameter, :func:`set_kernel` (``digitlab knn --kernel``) or ``DIGITLAB_KNN_KERNEL``;
where a forced kernel does not apply (int8 for real-valued data), the automatic choice is used.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass

import torch

from digitlab.knn.kernels import fits_int8_product

KERNELS = ("auto", "int8", "float32", "pruned")
KERNEL_ENV = "DIGITLAB_KNN_KERNEL"
PROBE_CACHE_ENV = "DIGITLAB_KNN_PROBE_CACHE"
PROBE_FILE = "knn-probe.json"
PROBE_REFERENCES, PROBE_FEATURES, PROBE_QUERIES = 1024, 256, 64  # 34 M multiply-adds: 8 ms at 4 GOP/s
PROBE_REPEATS = 3  # the fastest of these is kept (the first call of a product also warms it up)
PRUNE_MIN_REFERENCES = 8192  # below this a full product is cheap and pruning's fit cost is not repaid
PRUNE_MIN_FEATURES = 256  # pruning projects on at most a quarter of the features

_probes: dict[str, Probe] = {}  # by device key, for this process
_choices: dict[tuple, Choice] = {}  # what was chosen, for `digitlab doctor`
_forced: str | None = None  # set_kernel()


@dataclass(frozen=True)
class Probe:
    """Measured speed of the two exact products on one device."""

    device: str
    key: str  # torch version | capability | device name | threads: what the numbers depend on
    int8_gops: float | None  # None where the int8 product is not available
    float32_gflops: float
    seconds: float  # how long measuring took
    source: str = "measured"  # or "disk"

    @property
    def faster_product(self) -> str:
        return "int8" if self.int8_gops is not None and self.int8_gops > self.float32_gflops else "float32"


@dataclass(frozen=True)
class Choice:
    """One decision: which kernel serves which kind of search, and why."""

    kernel: str  # "int8", "float32" or "pruned"
    product: str  # the full product: "int8" or "float32" (pruned rows that fall back use it)
    reason: str
    data: str  # "pixels" or "real"
    device: str
    n_references: int
    n_features: int


def set_kernel(name: str | None) -> None:
    """Force a kernel for this process (``None`` or ``"auto"``: back to the environment / the probe)."""
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


def choose(requested: str, pixels: bool, n: int, d: int, device: torch.device, probe_result: Probe | None = None) -> Choice:
    """The kernel for an euclidean search of ``n`` references of ``d`` features (``pixels``: integer 0..255).

    ``product`` is the full product under it: for pixels ``"int8"`` or ``"float32"`` (exact while
    ``d`` < 1,024, else the float64-refined one), for real-valued data always ``"float32"``.
    """
    pixels = pixels and fits_int8_product(d)
    prunable = n >= PRUNE_MIN_REFERENCES and d >= PRUNE_MIN_FEATURES
    note = ""
    if requested == "int8" and not pixels:
        requested, note = "auto", "int8 asked for, but the data is not pixels; "
    measured = (probe_result or probe(device)) if pixels and requested in ("auto", "pruned") else None
    faster = measured.faster_product if measured else "float32"
    if requested != "auto":
        kernel, product, reason = requested, (requested if requested != "pruned" else faster), "forced"
    elif faster == "int8":
        kernel, product, reason = "int8", "int8", _speeds(measured) + ": int8 is faster"
    elif prunable:
        kernel, product, reason = "pruned", "float32", f"{n} references of {d} features: pruning pays"
    else:
        kernel, product, reason = "float32", "float32", f"{n} references of {d} features: too few to prune"
    if measured and requested == "auto" and faster != "int8":
        reason = _speeds(measured) + "; " + reason
    choice = Choice(kernel, product, note + reason, "pixels" if pixels else "real", str(device), n, d)
    _choices[(choice.data, choice.device, n, d, requested)] = choice
    return choice


def _speeds(measured: Probe) -> str:
    int8 = "n/a" if measured.int8_gops is None else f"{measured.int8_gops:.1f} GOP/s"
    return f"int8 {int8} vs float32 {measured.float32_gflops:.1f} GFLOP/s"


def choices() -> list[Choice]:
    """The choices made in this process so far."""
    return list(_choices.values())


def probes() -> list[Probe]:
    return list(_probes.values())


def device_key(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = cpu_model()
    capability = torch.backends.cpu.get_cpu_capability()
    return f"torch {torch.__version__} | {capability} | {device.type}: {name} | {torch.get_num_threads()} threads"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor() or platform.machine()


def probe(device: torch.device) -> Probe:
    """The measured products of ``device``: from this process, else the disk cache, else measured now."""
    key = device_key(device)
    if key in _probes:
        return _probes[key]
    result = _read_disk(key) or measure(device)
    if result.source == "measured":
        _write_disk(result)
    _probes[key] = result
    return result


def measure(device: torch.device) -> Probe:
    """Time a small int8 and float32 product (references x queries, as the search runs them)."""
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(0)
    references = torch.randint(-128, 128, (PROBE_REFERENCES, PROBE_FEATURES), dtype=torch.int8, generator=generator).to(device)
    queries = torch.randint(-128, 128, (PROBE_QUERIES, PROBE_FEATURES), dtype=torch.int8, generator=generator).to(device)
    operations = 2 * PROBE_REFERENCES * PROBE_FEATURES * PROBE_QUERIES
    try:
        int8 = operations / _fastest(lambda: torch._int_mm(references, queries.T), device) / 1e9
    except (RuntimeError, NotImplementedError):  # no int8 product for this device or build
        int8 = None
    float_references, float_queries = references.float(), queries.float()
    float32 = operations / _fastest(lambda: torch.mm(float_references, float_queries.T), device) / 1e9
    return Probe(str(device), device_key(device), int8, float32, time.perf_counter() - started)


def _fastest(product, device: torch.device) -> float:
    times = []
    for _ in range(PROBE_REPEATS + 1):  # the first run warms up and is not counted
        started = time.perf_counter()
        product()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
    return max(min(times[1:]), 1e-9)


def _cache_file():
    if os.environ.get(PROBE_CACHE_ENV, "1") == "0":
        return None
    from digitlab.datasets import default_cache_dir

    return default_cache_dir() / PROBE_FILE


def _read_disk(key: str) -> Probe | None:
    path = _cache_file()
    try:
        entry = json.loads(path.read_text())[key] if path else None
        return Probe(**{**entry, "source": "disk"}) if entry else None
    except (OSError, ValueError, KeyError, TypeError):  # missing, unreadable or from another version: measure
        return None


def _write_disk(result: Probe) -> None:
    path = _cache_file()
    if path is None:
        return
    from digitlab.atomic import atomic_write_text

    try:
        entries = json.loads(path.read_text()) if path.exists() else {}
        entries = entries if isinstance(entries, dict) else {}
    except (OSError, ValueError):
        entries = {}
    entries[result.key] = asdict(result)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(entries, indent=1))
    except OSError:  # a read-only cache costs a probe per process, nothing more
        pass
