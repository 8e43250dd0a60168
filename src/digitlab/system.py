"""What ``digitlab doctor`` reports, as plain data: the machine, the k-NN kernels it chose and how fast
they measured, the dataset cache, and advice for a slow laptop.

>>> report = doctor(measure=False)                                   # doctest: +SKIP
>>> report["machine"]["capability"], [c["kernel"] for c in report["knn"]["choices"]]
('AVX2', ['pruned', 'pruned', 'float32'])

Nothing here writes, except the k-NN probe's own cache file when ``measure`` runs it
(:mod:`digitlab.knn.choice`); the dataset cache is only looked at (file sizes against its records,
no hashing).
"""

from __future__ import annotations

import os
from dataclasses import asdict

import torch

from digitlab.datasets import CATALOG, Cache, default_cache_dir
from digitlab.errors import DataError
from digitlab.knn import choice

FLAG_PREFIXES = ("avx", "fma", "amx", "sse4", "f16c")  # the instruction sets torch's kernels dispatch on
MNIST_SHAPES = (  # the k-NN searches students run: (what, pixels?, references, features)
    ("raw pixels (uint8), full MNIST", True, 60_000, 784),
    ("float features (pixels/255, deskewed), full MNIST", False, 60_000, 784),
    ("PCA features (60), full MNIST", False, 60_000, 60),
)
FEW_CORES = 4  # below this many cores a full lab run is slow; say what to do
SLOW_FLOAT32_GFLOPS = 10  # one thread's float32 product slower than this: a laptop on battery, a busy or old CPU


def cpu_flags() -> list[str]:
    """The instruction-set flags of the CPU that matter to torch (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line.split(":", 1)[1].split() for line in info if line.startswith(("flags", "Features"))), [])
    except OSError:
        return []
    return sorted(flag for flag in flags if flag.startswith(FLAG_PREFIXES) or "vnni" in flag)


def machine() -> dict:
    """CPU, capability, cores and threads, the torch build, and accelerators."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return {
        "cpu": choice.cpu_model(),
        "capability": torch.backends.cpu.get_cpu_capability(),
        "flags": cpu_flags(),
        "int8_dot_product_instructions": any("vnni" in flag or flag.startswith("amx") for flag in cpu_flags()),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "mkl": torch.backends.mkl.is_available(),
        "openmp": torch.backends.openmp.is_available(),
        "cuda": [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())] if cuda else [],
        "mps": bool(mps and mps.is_available()),
    }


def knn_kernels(measure: bool = True) -> dict:
    """The probe of each device (measured now or read from its cache) and the kernel each typical search gets."""
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    probes, choices = [], []
    for device in devices:
        probe = choice.probe(device) if measure else choice.cached_probe(device)
        probes += [asdict(probe)] if probe else []
        for what, pixels, n, d in MNIST_SHAPES:
            if pixels and probe is None:
                choices.append({"search": what, "device": str(device), "kernel": "?", "reason": "not measured yet (run without --no-measure)"})
                continue
            picked = choice.choose(choice.requested_kernel(), pixels, n, d, device, probe_result=probe)
            choices.append({"search": what, **asdict(picked)})
    return {"requested": choice.requested_kernel(), "probes": probes, "choices": choices,
            "override": f"kernel= on KNNClassifier, `digitlab knn --kernel`, or ${choice.KERNEL_ENV}"}


def dataset_cache() -> dict:
    """Each catalog dataset: cached or not, where from, and whether its files still have their recorded sizes."""
    cache = Cache(default_cache_dir())
    datasets = []
    for name, spec in CATALOG.items():
        try:
            record = cache.record(spec)
        except DataError as error:
            datasets.append({"name": name, "state": "unreadable record", "detail": str(error)})
            continue
        if record is None:
            datasets.append({"name": name, "state": "not cached", "detail": f"`digitlab data fetch {name}` downloads it"})
            continue
        folder = cache.folder(spec)
        changed = [file for file, entry in record.get("files", {}).items()
                   if not (folder / file).is_file() or (folder / file).stat().st_size != entry.get("size")]
        size = sum((folder / file).stat().st_size for file in record.get("files", {}) if (folder / file).is_file())
        datasets.append({"name": name, "state": "cached" if not changed else "damaged",
                         "detail": f"{size / 2**20:.1f} MiB from {record.get('source', '?')}"
                         + (f"; changed or missing: {', '.join(changed)} (it is fetched again on next use)" if changed else "")})
    return {"root": str(cache.root), "datasets": datasets}


def advice(report: dict) -> list[str]:
    """Plain sentences for a student whose runs are slow."""
    tips = []
    info, knn = report["machine"], report["knn"]
    cpu_probe = next((probe for probe in knn["probes"] if probe["device"] == "cpu"), None)
    if not info["int8_dot_product_instructions"]:
        tips.append("This CPU has no int8 dot-product instructions (VNNI/AMX): digitlab's k-NN uses exact float32 "
                    "products and pruning instead, which is the right choice here; nothing to change.")
    if info["cores"] and info["cores"] < FEW_CORES:
        tips.append(f"Only {info['cores']} cores: run `digitlab lab --quick` first (under a minute), close other "
                    "programs during a full lab run, and keep the laptop on mains power.")
    if info["torch_threads"] and info["cores"] and info["torch_threads"] < info["cores"]:
        tips.append(f"torch uses {info['torch_threads']} of {info['cores']} cores: unset OMP_NUM_THREADS / MKL_NUM_THREADS "
                    "unless you set them on purpose.")
    if cpu_probe and cpu_probe["float32_gflops"] < SLOW_FLOAT32_GFLOPS:
        tips.append(f"The float32 product measured {cpu_probe['float32_gflops']:.0f} GFLOP/s on one thread, slow for a modern CPU: "
                    "plug in the charger, choose a performance power mode, and check that no other job is running.")
    if not info["cuda"] and not info["mps"]:
        tips.append("No GPU: the networks train on the CPU; use --quick or fewer epochs while trying things out.")
    if any(dataset["state"] != "cached" for dataset in report["cache"]["datasets"]):
        tips.append("Fetch the datasets once while online (`digitlab data fetch mnist`): later runs need no network.")
    tips.append("For a fast and accurate k-NN: deskew + PCA (`digitlab knn --deskew --pca 60 --k 4 --weights distance`).")
    return tips


def doctor(measure: bool = True) -> dict:
    """Everything above in one dict (JSON-ready)."""
    report = {"machine": machine(), "knn": knn_kernels(measure), "cache": dataset_cache()}
    report["advice"] = advice(report)
    return report
