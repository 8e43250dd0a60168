"""Kernel choice: measured probe, overrides, the disk cache. Machines without int8 instructions are
not the only ones: fake probes stand for an AVX-512 VNNI CPU and a GPU (no such machine ran these)."""

import json

import numpy as np
import pytest
import torch

from digitlab.knn import KNNClassifier, choice, set_kernel
from digitlab.knn.choice import Probe, choose

CPU = torch.device("cpu")
AVX2_ONLY = Probe("cpu", "avx2", int8_gops=1.1, float32_gflops=120.0, seconds=0.03)  # this project's EPYC VM
VNNI = Probe("cpu", "avx512", int8_gops=900.0, float32_gflops=150.0, seconds=0.01)  # AVX-512 VNNI / AMX Xeon
GPU = Probe("cuda:0", "cuda", int8_gops=200_000.0, float32_gflops=40_000.0, seconds=0.01)
NO_INT8 = Probe("mps", "none", int8_gops=None, float32_gflops=3000.0, seconds=0.01)


@pytest.fixture(autouse=True)
def no_forced_kernel(monkeypatch):
    monkeypatch.delenv(choice.KERNEL_ENV, raising=False)
    set_kernel(None)
    yield
    set_kernel(None)


@pytest.mark.parametrize("measured, n, expected", [
    (VNNI, 60_000, "int8"),  # where int8 wins it is still chosen: no regression there
    (GPU, 60_000, "int8"),
    (AVX2_ONLY, 60_000, "pruned"),  # full MNIST on an AVX2-only CPU
    (AVX2_ONLY, 2_000, "float32"),  # too few references to repay pruning
    (NO_INT8, 60_000, "pruned"),
])
def test_automatic_choice_follows_the_probe(measured, n, expected):
    picked = choose("auto", True, n, 784, CPU, probe_result=measured)
    assert picked.kernel == expected
    assert picked.product == ("int8" if measured in (VNNI, GPU) else "float32")
    assert "GOP/s" in picked.reason or "n/a" in picked.reason


def test_real_valued_data_never_gets_int8_and_needs_no_probe():
    assert choose("auto", False, 60_000, 784, CPU, probe_result=VNNI).kernel == "pruned"
    assert choose("auto", False, 60_000, 60, CPU, probe_result=VNNI).kernel == "float32"  # PCA features: narrow
    assert choose("int8", False, 60_000, 60, CPU).product == "float32"


def test_forced_pruned_keeps_the_faster_product_underneath():
    assert choose("pruned", True, 60_000, 784, CPU, probe_result=VNNI).product == "int8"
    assert choose("pruned", True, 60_000, 784, CPU, probe_result=AVX2_ONLY).product == "float32"


def test_overrides_parameter_then_set_kernel_then_environment(monkeypatch, pixel_data):
    X, y, _ = pixel_data
    monkeypatch.setenv(choice.KERNEL_ENV, "int8")
    assert KNNClassifier().fit(X, y).kernel_ == "int8"
    set_kernel("pruned")
    assert KNNClassifier().fit(X, y).kernel_ == "pruned"
    assert KNNClassifier(kernel="float32").fit(X, y).kernel_ == "float32"
    set_kernel(None)
    monkeypatch.setenv(choice.KERNEL_ENV, "fastest")
    with pytest.raises(ValueError, match="DIGITLAB_KNN_KERNEL='fastest'"):
        KNNClassifier().fit(X, y)
    with pytest.raises(ValueError, match="'int4'"):
        KNNClassifier(kernel="int4").fit(X, y)
    with pytest.raises(ValueError, match="'int4'"):
        set_kernel("int4")


def test_probe_measures_once_then_reads_its_disk_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(choice.PROBE_CACHE_ENV, "1")
    monkeypatch.setattr(choice, "_probes", {})
    first = choice.probe(CPU)
    assert first.source == "measured" and first.float32_gflops > 0 and first.seconds < 5
    stored = json.loads((tmp_path / choice.PROBE_FILE).read_text())
    assert stored[first.key]["float32_gflops"] == first.float32_gflops
    assert choice.probe(CPU) is first  # the process keeps it
    monkeypatch.setattr(choice, "_probes", {})
    assert choice.probe(CPU).source == "disk"
    (tmp_path / choice.PROBE_FILE).write_text("{not json")
    monkeypatch.setattr(choice, "_probes", {})
    assert choice.probe(CPU).source == "measured"  # a damaged cache costs one probe


def test_the_automatic_choice_gives_the_same_answer_as_every_forced_one(pixel_data):
    X, y, queries = pixel_data
    answers = {kernel: KNNClassifier(3, kernel=kernel).fit(X, y).kneighbors(queries) for kernel in choice.KERNELS}
    for distances, indices in answers.values():
        assert np.array_equal(indices, answers["auto"][1]) and np.array_equal(distances, answers["auto"][0])
