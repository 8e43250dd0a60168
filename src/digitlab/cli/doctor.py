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
from digitlab.system import doctor as collect

JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON (for a bug report or a script).")]
MeasureOption = Annotated[bool, typer.Option("--measure/--no-measure",
                                             help="Time the k-NN kernels on MNIST's typical searches now where this machine "
                                                  "has not timed them yet (a few seconds, once).")]


RetimeOption = Annotated[bool, typer.Option("--retime", help="Forget this machine's k-NN kernel timings and time them again "
                                                               "(after timings taken while the machine was busy).")]


def doctor(as_json: JsonOption = False, measure: MeasureOption = True, retime: RetimeOption = False) -> None:
    """Check this machine: CPU capability, cores and threads, torch build, GPU, the k-NN kernels chosen
    (and their measured speed), the dataset cache, and what to do about a slow laptop."""
    report = collect(measure=measure or retime, retime=retime)
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
    choices = Table(title=f"k-NN kernels: each candidate search timed on this machine (asked for: {knn['requested']}; "
                          f"force one with {knn['override']})")
    for column in ("search", "device", "chosen", "candidates: ms per sample", "timing took", "from"):
        choices.add_column(column)
    for picked in knn["choices"]:
        choices.add_row(picked["search"], picked["device"], picked["kernel"], candidate_times(picked),
                        f"{picked['seconds']:.2f} s", picked["source"])
    console.print(choices)
    for note in knn["notes"]:
        console.print(f"[yellow]{note}[/yellow]")
    cache = Table(title=f"Dataset cache ({report['cache']['root']})")
    for column in ("dataset", "state", "detail"):
        cache.add_column(column)
    for dataset in report["cache"]["datasets"]:
        cache.add_row(dataset["name"], dataset["state"], dataset["detail"])
    console.print(cache)
    console.print("[bold]Advice[/bold]")
    for tip in report["advice"]:
        console.print(f"- {tip}")


def candidate_times(picked: dict) -> str:
    """'float32 152 ms, pruned 41 ms, int8 stopped: ...' with the sample's size."""
    said = [f"{timing['kernel']} {timing['seconds'] * 1000:.0f}" if timing["seconds"] is not None
            else f"{timing['kernel']} ({timing['note']})" for timing in picked["timings"]]
    return (", ".join(said) + f" ({picked['sample_queries']} queries)") if said else picked["reason"]
