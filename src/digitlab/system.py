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
from digitlab.knn.search import NeighborIndex
from digitlab.pixels import to_float

FLAG_PREFIXES = ("avx", "fma", "amx", "sse4", "f16c")  # the instruction sets torch's kernels dispatch on
MNIST_TRAIN = 60_000  # training images: the references of every typical search
PCA_FEATURES = 60  # the PCA setting `digitlab knn` suggests (deskew + PCA 60)
MNIST_SEARCHES = (  # the k-NN searches students run on MNIST: (what, data kind, features)
    ("raw pixels (uint8), full MNIST", "pixels", 784),
    ("float features (pixels/255), full MNIST", "real", 784),
    (f"PCA features ({PCA_FEATURES}), full MNIST", "real", PCA_FEATURES),
)
FEW_CORES = 4  # below this many cores a full lab run is slow; say what to do
SLOW_FLOAT32_GFLOPS = 10  # a float32 search slower than this (all threads): a laptop on battery, a busy or old CPU


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


def knn_kernels(measure: bool = True, retime: bool = False) -> dict:
    """The kernel each k-NN search timed on this machine got, with every candidate's measured time.

    With ``measure``, the typical MNIST searches (``MNIST_SEARCHES``) not timed yet are timed now on
    MNIST's training set, when it is in the dataset cache (a few seconds, once per machine).
    ``retime`` first forgets every timing of this machine (one made while it was busy, say).
    """
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    notes = [f"{choice.forget(device)} timed k-NN choices of {device} forgotten" for device in devices] if retime else []
    if measure:
        notes += [time_typical_searches(device) for device in devices]
    rows = []
    for device in devices:
        for picked in sorted(choice.cached_choices(device), key=lambda c: (c.data, -c.n_references, -c.n_features)):
            rows.append({"search": search_name(picked), **asdict(picked)})
    return {"requested": choice.requested_kernel(), "choices": rows, "notes": [note for note in notes if note],
            "override": f"kernel= on KNNClassifier, `digitlab knn --kernel`, or ${choice.KERNEL_ENV}"}


def search_name(picked: choice.Choice) -> str:
    typical = {(data, MNIST_TRAIN, features): what for what, data, features in MNIST_SEARCHES}
    shape = f"{picked.n_references:,} x {picked.n_features}"
    return typical.get((picked.data, picked.n_references, picked.n_features), f"{picked.data}, {shape}")


def time_typical_searches(device: torch.device) -> str:
    """Time the MNIST searches of ``MNIST_SEARCHES`` not timed on ``device`` yet; a note when MNIST is not cached."""
    missing = [(what, data, features) for what, data, features in MNIST_SEARCHES
               if choice.lookup(device, data, MNIST_TRAIN, features) is None]
    if not missing:
        return ""
    if Cache(default_cache_dir()).record(CATALOG["mnist"]) is None:
        return "MNIST is not in the dataset cache: `digitlab data fetch mnist`, then `digitlab doctor` times the k-NN kernels"
    for what, data, _ in missing:
        NeighborIndex(mnist_features(what), metric="cosine" if data == "cosine" else "euclidean", device=device)
    return ""


def mnist_features(what: str) -> torch.Tensor:
    """The (60,000, D) training features of one of ``MNIST_SEARCHES``."""
    from digitlab.datasets import flatten, load
    from digitlab.knn.transforms import PCA

    pixels = flatten(load("mnist").train.images)
    if what == MNIST_SEARCHES[0][0]:
        return pixels
    scaled = to_float(pixels)
    return scaled if what == MNIST_SEARCHES[1][0] else torch.from_numpy(PCA(PCA_FEATURES).fit_transform(scaled.numpy()))


def float32_search_gflops(choices: list[dict]) -> float | None:
    """Multiply-adds per second (x2) of the fastest float32 search timed on the CPU, None if none was."""
    rates = [2 * picked["n_references"] * picked["n_features"] * picked["sample_queries"] / timing["seconds"] / 1e9
             for picked in choices if picked["device"] == "cpu"
             for timing in picked["timings"] if timing["kernel"] == "float32" and timing["seconds"]]
    return max(rates, default=None)


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
    speed = float32_search_gflops(knn["choices"])
    if not info["int8_dot_product_instructions"]:
        tips.append("This CPU has no int8 dot-product instructions (VNNI/AMX): digitlab's k-NN uses exact float32 "
                    "products and pruning instead, which is the right choice here; nothing to change.")
    if info["cores"] and info["cores"] < FEW_CORES:
        tips.append(f"Only {info['cores']} cores: run `digitlab lab --quick` first (under a minute), close other "
                    "programs during a full lab run, and keep the laptop on mains power.")
    if info["torch_threads"] and info["cores"] and info["torch_threads"] < info["cores"]:
        tips.append(f"torch uses {info['torch_threads']} of {info['cores']} cores: unset OMP_NUM_THREADS / MKL_NUM_THREADS "
                    "unless you set them on purpose.")
    if speed is not None and speed < SLOW_FLOAT32_GFLOPS:
        tips.append(f"The float32 k-NN search measured {speed:.0f} GFLOP/s, slow for a modern CPU: "
                    "plug in the charger, choose a performance power mode, and check that no other job is running.")
    if not info["cuda"] and not info["mps"]:
        tips.append("No GPU: the networks train on the CPU; use --quick or fewer epochs while trying things out.")
    if any(dataset["state"] != "cached" for dataset in report["cache"]["datasets"]):
        tips.append("Fetch the datasets once while online (`digitlab data fetch mnist`): later runs need no network.")
    tips.append("For a fast and accurate k-NN: deskew + PCA (`digitlab knn --deskew --pca 60 --k 4 --weights distance`).")
    return tips


def doctor(measure: bool = True, retime: bool = False) -> dict:
    """Everything above in one dict (JSON-ready)."""
    report = {"machine": machine(), "knn": knn_kernels(measure, retime), "cache": dataset_cache()}
    report["advice"] = advice(report)
    return report
