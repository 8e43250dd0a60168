"""`digitlab doctor`: the report as data (digitlab.system) and as the CLI prints it, tables and JSON."""

import json

import numpy as np
import torch
from typer.testing import CliRunner

from digitlab import system
from digitlab.cli.main import app
from digitlab.knn import choice
from digitlab.pixels import to_float


def small_features(what: str) -> torch.Tensor:
    """Stand-ins for MNIST's features (the test cache is empty): 600 references, timed like MNIST's."""
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.integers(0, 256, (600, 64), dtype=np.uint8))
    return pixels if what == system.MNIST_SEARCHES[0][0] else to_float(pixels)


def test_report_describes_machine_kernels_cache_and_advice(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setenv(choice.PROBE_CACHE_ENV, "0")
    monkeypatch.setattr(choice, "_timed", {})
    report = system.doctor()
    machine = report["machine"]
    assert machine["capability"] and machine["cores"] >= 1 and machine["torch_threads"] >= 1
    assert machine["int8_dot_product_instructions"] == any("vnni" in flag or flag.startswith("amx") for flag in machine["flags"])
    assert report["knn"]["choices"] == [] and "digitlab data fetch mnist" in report["knn"]["notes"][0]
    assert [dataset["state"] for dataset in report["cache"]["datasets"]] == ["not cached", "not cached"]
    assert any("data fetch" in tip for tip in report["advice"])


def test_measure_times_each_candidate_of_the_typical_searches(monkeypatch, tmp_path):
    monkeypatch.setenv(choice.PROBE_CACHE_ENV, "0")
    monkeypatch.setattr(choice, "_timed", {})
    monkeypatch.setattr(choice, "TIMED_MIN_WORK", 0)
    monkeypatch.setattr(system, "MNIST_TRAIN", 600)
    monkeypatch.setattr(system, "MNIST_SEARCHES", (("pixels", "pixels", 64), ("pixels/255", "real", 64)))
    monkeypatch.setattr(system, "mnist_features", small_features)
    monkeypatch.setattr(system.Cache, "record", lambda self, spec: {})  # "MNIST is cached"
    report = system.knn_kernels(measure=True)
    rows = {row["search"]: row for row in report["choices"]}
    assert set(rows) == {"pixels", "pixels/255"}
    assert [timing["kernel"] for timing in rows["pixels"]["timings"]] == ["float32", "pruned", "int8"]
    assert [timing["kernel"] for timing in rows["pixels/255"]["timings"]] == ["float32", "pruned"]
    for row in rows.values():
        fastest = min((timing for timing in row["timings"] if timing["seconds"]), key=lambda timing: timing["seconds"])
        assert row["kernel"] == fastest["kernel"] and row["source"] == "measured"
    assert system.float32_search_gflops(report["choices"]) > 0
    assert system.knn_kernels(measure=False)["choices"] == report["choices"]  # kept: not timed again
    again = system.knn_kernels(retime=True)
    assert again["notes"][0] == "2 timed k-NN choices of cpu forgotten" and len(again["choices"]) == 2


def test_cli_prints_tables_and_json(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(choice.PROBE_CACHE_ENV, "0")
    monkeypatch.setattr(choice, "_timed", {"x": choice.Choice("pruned", "r", "pixels", "cpu", 60_000, 784, (
        choice.Timing("float32", 0.2), choice.Timing("pruned", 0.05), choice.Timing("int8", None, note="stopped: 9 s")), key="x")})
    monkeypatch.setattr(choice, "device_key", lambda device: "")
    runner = CliRunner()
    shown = runner.invoke(app, ["doctor"])
    assert shown.exit_code == 0, shown.output
    for heading in ("Machine", "k-NN kernels", "Dataset cache", "Advice", "float32 200", "pruned 50", "stopped: 9 s"):
        assert heading in shown.output
    as_json = runner.invoke(app, ["doctor", "--json"])
    assert as_json.exit_code == 0
    assert set(json.loads(as_json.output)) == {"machine", "knn", "cache", "advice"}
    assert "--json" in runner.invoke(app, ["doctor", "--help"]).output
