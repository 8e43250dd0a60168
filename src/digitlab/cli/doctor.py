"""``digitlab doctor``: what this machine is, which k-NN kernels it chose and why, the dataset cache, and advice.

What a teacher asks a student with slow runs to send. The data comes from :func:`digitlab.system.doctor`;
this module only prints it (a few tables, or JSON with ``--json``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from digitlab.cli.common import console
from digitlab.knn.choice import Probe
from digitlab.system import doctor as collect

JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON (for a bug report or a script).")]
MeasureOption = Annotated[bool, typer.Option("--measure/--no-measure",
                                             help="Time the k-NN products now if no earlier measurement is cached (tens of ms).")]


def doctor(as_json: JsonOption = False, measure: MeasureOption = True) -> None:
    """Check this machine: CPU capability, cores and threads, torch build, GPU, the k-NN kernels chosen
    (and their measured speed), the dataset cache, and what to do about a slow laptop."""
    report = collect(measure=measure)
    if as_json:
        console.print_json(json.dumps(report))
        return
    info = report["machine"]
    machine = Table(title="Machine", show_header=False)
    for label, value in [
        ("CPU", info["cpu"]), ("capability (torch)", info["capability"]), ("flags", " ".join(info["flags"]) or "-"),
        ("int8 dot-product instructions", "yes" if info["int8_dot_product_instructions"] else "no"),
        ("cores / torch threads", f"{info['cores']} / {info['torch_threads']}"),
        ("torch", f"{info['torch']} (" + ", ".join(f"{name} {'yes' if info[key] else 'no'}"
                                                   for name, key in (("oneDNN", "mkldnn"), ("MKL", "mkl"), ("OpenMP", "openmp"))) + ")"),
        ("CUDA", ", ".join(info["cuda"]) or "no"), ("MPS", "yes" if info["mps"] else "no"),
    ]:
        machine.add_row(label, str(value))
    console.print(machine)
    knn = report["knn"]
    probes = Table(title="k-NN product probe (small exact products, one CPU thread, measured on this machine)")
    for column in ("device", "int8 GOP/s", "float32 GFLOP/s", "faster", "took", "from"):
        probes.add_column(column)
    for probe in knn["probes"]:
        int8 = "n/a" if probe["int8_gops"] is None else f"{probe['int8_gops']:.1f}"
        faster = Probe(**probe).faster_product
        probes.add_row(probe["device"], int8, f"{probe['float32_gflops']:.1f}", faster, f"{probe['seconds'] * 1000:.0f} ms", probe["source"])
    console.print(probes)
    choices = Table(title=f"k-NN kernels chosen (asked for: {knn['requested']}; force one with {knn['override']})")
    for column in ("search", "device", "kernel", "why"):
        choices.add_column(column)
    for picked in knn["choices"]:
        choices.add_row(picked["search"], picked["device"], picked["kernel"], picked["reason"])
    console.print(choices)
    cache = Table(title=f"Dataset cache ({report['cache']['root']})")
    for column in ("dataset", "state", "detail"):
        cache.add_column(column)
    for dataset in report["cache"]["datasets"]:
        cache.add_row(dataset["name"], dataset["state"], dataset["detail"])
    console.print(cache)
    console.print("[bold]Advice[/bold]")
    for tip in report["advice"]:
        console.print(f"- {tip}")
