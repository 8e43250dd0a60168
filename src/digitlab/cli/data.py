"""``digitlab data``: fetch, inspect, export and explore the datasets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from digitlab import exploration
from digitlab.atomic import atomic_write_bytes
from digitlab.cli.common import (
    DEFAULT,
    EVERY,
    CacheDirOption,
    DataDirOption,
    DatasetArgument,
    DatasetOption,
    LangOption,
    SeedOption,
    console,
    err_console,
    out_option,
    save_figure,
    under,
)
from digitlab.datasets import SOURCE_ORDER_HELP, Cache, default_cache_dir, fetch, get_spec, load
from digitlab.datasets.verify import md5_hex
from digitlab.errors import DataError
from digitlab.i18n import class_names, dataset_language, speaking

app = typer.Typer(rich_markup_mode=None, help="Get, verify, export and explore MNIST and Fashion-MNIST.", no_args_is_help=True)



@app.command("fetch", help="Download (or find) and verify datasets, filling the cache. " + SOURCE_ORDER_HELP)
def fetch_command(
    dataset: DatasetArgument = EVERY,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    for name in dataset.names():
        started = time.perf_counter()
        with err_console.status(f"Fetching {name}..."):
            result = fetch(name, data_dir=data_dir, cache_dir=cache_dir)
        where = result.cached_at or data_dir or "memory only (not cached)"
        console.print(f"[green]✓[/green] {name}: verified, from {result.source} → {where} ({time.perf_counter() - started:.1f} s)")


@app.command("info", help="Show where each dataset comes from, its sizes, label counts and verified MD5s.")
def info_command(
    dataset: DatasetArgument = EVERY,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    mismatches = []
    for name in dataset.names():
        spec = get_spec(name)
        result = fetch(name, data_dir=data_dir, cache_dir=cache_dir)
        data = load(name, data_dir=data_dir, cache_dir=cache_dir)
        console.print(f"[bold]{name}[/bold]  source: {result.source}  path: {result.cached_at or data_dir}")
        files = Table("file", "bytes", "MD5 (recomputed)", "matches published")
        for idx_file in spec.files:
            digest = md5_hex(result.files[idx_file.name])
            files.add_row(idx_file.name, f"{len(result.files[idx_file.name]):,}", digest, "✓" if digest == idx_file.md5 else "✗")
            mismatches += [] if digest == idx_file.md5 else [f"{name}/{idx_file.name}"]
        console.print(files)
        counts = Table("split", "examples", *data.classes)
        for split_name, split in (("train", data.train), ("test", data.test)):
            counts.add_row(split_name, f"{len(split):,}", *map(str, split.class_counts(data.num_classes).tolist()))
        console.print(counts)
    if mismatches:
        raise DataError(f"MD5 mismatch: {', '.join(mismatches)}; run 'digitlab data fetch' to fetch them again")


@app.command("export", help="Write the uncompressed IDX files in torchvision's layout (DIR/MNIST/raw, DIR/FashionMNIST/raw), "
             "so the notebook's own datasets.MNIST(root=DIR, download=True) works offline.")
def export_command(
    torchvision_root: Annotated[Path, typer.Option("--torchvision-root", help="torchvision's root= folder.")],
    dataset: DatasetArgument = EVERY,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    for name in dataset.names():
        spec = get_spec(name)
        result = fetch(name, data_dir=data_dir, cache_dir=cache_dir)
        raw = torchvision_root / spec.torchvision_folder / "raw"
        for idx_file in spec.files:
            atomic_write_bytes(raw / idx_file.name, bytes(result.files[idx_file.name]))
        console.print(f"[green]✓[/green] {name} → {raw}")


@app.command("show", help="Write a sample grid and a class-count chart (PNG) and print one image's pixel matrix.")
def show_command(
    dataset: DatasetOption = DEFAULT,
    out: Annotated[Path, out_option("Folder for the PNG files.")] = under("explore"),
    index: Annotated[int | None, typer.Option("--index", help="Training image whose pixel matrix is printed [default: the grid's last].")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print bytes 0..255 instead of network inputs 0..1.")] = False,
    seed: SeedOption = 0,
    data_dir: DataDirOption = None,
    cache_dir: CacheDirOption = None,
    lang: LangOption = None,
) -> None:
    data = load(dataset.value, data_dir=data_dir, cache_dir=cache_dir)
    if index is not None and not 0 <= index < len(data.train):
        raise typer.BadParameter(f"--index must be in 0..{len(data.train) - 1}, got {index}", param_hint="--index")
    out.mkdir(parents=True, exist_ok=True)
    with speaking(dataset_language(data.name, lang)):  # the figures' words; the printed text stays English
        grid, indices = exploration.sample_grid(data.train, class_names(data.name, data.classes), seed=seed)
        written = [save_figure(grid, out / f"{data.name}-samples.png"),
                   save_figure(exploration.class_count_chart(data), out / f"{data.name}-class-counts.png")]
    index = indices[-1] if index is None else index
    console.print(f"Training image #{index}, class {data.classes[int(data.train.labels[index])]}:")
    console.print(exploration.pixel_matrix(data.train.images[index], scale=not raw), highlight=False)
    for path in written:
        console.print(f"[green]✓[/green] wrote {path}")


@app.command("clear-cache", help="Delete digitlab's cached copy of a dataset (it is fetched again when needed).")
def clear_cache_command(dataset: DatasetArgument = EVERY, cache_dir: CacheDirOption = None) -> None:
    cache = Cache(cache_dir or default_cache_dir())
    for name in dataset.names():
        cache.remove(get_spec(name))
        console.print(f"removed {cache.folder(get_spec(name))}")



