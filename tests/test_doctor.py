"""`digitlab doctor`: the report as data (digitlab.system) and as the CLI prints it, tables and JSON."""

import json

from typer.testing import CliRunner

from digitlab import system
from digitlab.cli.main import app
from digitlab.knn import choice


def test_report_describes_machine_kernels_cache_and_advice(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setenv(choice.PROBE_CACHE_ENV, "0")
    report = system.doctor()
    machine = report["machine"]
    assert machine["capability"] and machine["cores"] >= 1 and machine["torch_threads"] >= 1
    assert machine["int8_dot_product_instructions"] == any("vnni" in flag or flag.startswith("amx") for flag in machine["flags"])
    cpu = next(probe for probe in report["knn"]["probes"] if probe["device"] == "cpu")
    assert cpu["float32_gflops"] > 0
    kernels = {picked["search"]: picked["kernel"] for picked in report["knn"]["choices"]}
    assert set(kernels.values()) <= {"int8", "float32", "pruned"}
    assert kernels["PCA features (60), full MNIST"] == "float32"
    expected_pixels = "int8" if choice.Probe(**cpu).faster_product == "int8" else "pruned"
    assert kernels["raw pixels (uint8), full MNIST"] == expected_pixels
    assert [dataset["state"] for dataset in report["cache"]["datasets"]] == ["not cached", "not cached"]
    assert any("data fetch" in tip for tip in report["advice"])


def test_no_measure_reports_unmeasured_pixel_kernels(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(choice, "_probes", {})
    report = system.knn_kernels(measure=False)
    assert report["probes"] == []
    assert report["choices"][0]["kernel"] == "?"


def test_cli_prints_tables_and_json(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(choice.PROBE_CACHE_ENV, "0")
    runner = CliRunner()
    shown = runner.invoke(app, ["doctor"])
    assert shown.exit_code == 0, shown.output
    for heading in ("Machine", "k-NN kernels chosen", "Dataset cache", "Advice"):
        assert heading in shown.output
    as_json = runner.invoke(app, ["doctor", "--json"])
    assert as_json.exit_code == 0
    assert set(json.loads(as_json.output)) == {"machine", "knn", "cache", "advice"}
    assert "--json" in runner.invoke(app, ["doctor", "--help"]).output
