"""``digitlab lab``: the main job. For now: fetch both datasets and write the exploration figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digitlab.cli import data
from digitlab.cli.common import CacheDirOption, DataDirOption, DatasetChoice, DatasetName, SeedOption, console


def lab(
    dataset: Annotated[DatasetChoice, typer.Option("--dataset", "-d", help="mnist, fashion-mnist or all.")] = DatasetChoice.all,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for figures.")] = Path("out"),
    seed: SeedOption = 0,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Work through the course notebook: get the data, then explore it."""
    data.fetch_command(dataset, data_dir=data_dir, cache_dir=cache_dir)
    for name in dataset.names():
        console.rule(f"{name}: exploration")
        data.show_command(DatasetName(name), out=out / "explore", index=None, raw=False, seed=seed, data_dir=data_dir, cache_dir=cache_dir)
