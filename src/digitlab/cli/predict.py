"""``digitlab predict CHECKPOINT IMAGE|FOLDER...``: a trained network's answer for each picture file.

Each file gets its own answer: one that cannot be read or holds no drawing is reported on its own
line (and the exit code says so) while the others are still classified. Folders are searched for
pictures; ``--json`` prints the answers for a script.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from PIL import Image
from rich.table import Table

from digitlab.cli.common import console, print_error
from digitlab.errors import DigitlabError
from digitlab.i18n import LANGUAGES, advice, dataset_language
from digitlab.inference import load_network, predict_proba
from digitlab.inference.checkpoint import has_checkpoint
from digitlab.preprocess import ALLOWED_FORMATS, PreprocessResult, prepare_for, read_image_file

PERCENT = 100
IMAGE_SUFFIXES = {suffix for suffix, kind in Image.registered_extensions().items() if kind in ALLOWED_FORMATS}  # what preprocess decodes


def check_checkpoint(checkpoint: Path) -> None:
    """A clear line when the first argument is not a checkpoint folder (often: the checkpoint was left out)."""
    if has_checkpoint(checkpoint):
        return
    if checkpoint.suffix.lower() in IMAGE_SUFFIXES or checkpoint.is_file():
        raise DigitlabError(f"{checkpoint} is a file, not a checkpoint folder: name the checkpoint first, "
                            f"e.g. digitlab predict runs/mlp-mnist {checkpoint}")
    raise DigitlabError(f"no checkpoint in {checkpoint} (no checkpoint.json): name a folder written by digitlab train or "
                        "digitlab lab, e.g. runs/mlp-mnist")


def image_files(paths: list[Path]) -> list[Path]:
    """The files named, and the pictures inside the folders named (sorted), in the order given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found


def prepared(path: Path, dataset: str) -> PreprocessResult | str:
    """The picture prepared like the dataset's images (and the preparation's doubts), or the one-line reason it cannot be."""
    try:
        return prepare_for(read_image_file(path), dataset)
    except DigitlabError as error:
        return str(error) if str(path) in str(error) else f"{path}: {error}"


def _label(classes: tuple[str, ...], index: int) -> str:
    """The class name of an output; its number when the checkpoint names fewer classes than outputs."""
    return classes[index] if index < len(classes) else str(index)


def answers(checkpoint: Path, paths: list[Path], top: int, lang: str | None = None) -> list[dict[str, Any]]:
    """One answer per file: its top classes with probabilities and advice about a doubtful photo, or its error."""
    saved = load_network(checkpoint)
    dataset = saved.dataset
    images = {path: prepared(path, dataset) for path in paths}
    good = [path for path, image in images.items() if isinstance(image, PreprocessResult)]
    rows = predict_proba(saved.model, torch.stack([torch.from_numpy(images[path].image) for path in good])) if good else torch.empty(0)
    scores = dict(zip(good, rows, strict=True))
    result = []
    for path in paths:
        if path not in scores:
            result.append({"image": str(path), "error": images[path]})
            continue
        best = scores[path].topk(min(top, len(scores[path])))
        ranked = [{"class": _label(saved.classes, int(i)), "probability": float(p)} for p, i in zip(best.values, best.indices, strict=True)]
        result.append({"image": str(path), "predicted": ranked[0]["class"], "probability": ranked[0]["probability"], "top": ranked,
                       "advice": advice(images[path].doubts, dataset_language(dataset, lang))})
    return result


def predict(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint folder written by digitlab train (or the lab).")],
    images: Annotated[list[Path] | None, typer.Argument(
        help="Picture files (PNG, JPEG, ...), one digit or garment each, or folders of them.", show_default=False)] = None,
    top: Annotated[int, typer.Option(min=1, help="How many classes to list per image.")] = 3,
    json_output: Annotated[bool, typer.Option("--json", help="Print the answers as JSON, one object per file.")] = False,
    lang: Annotated[str | None, typer.Option("--lang", help=f"The language of the advice about doubtful photos: {' or '.join(LANGUAGES)} "
                                           "[default: the checkpoint dataset's; Dutch for MNIST and Fashion-MNIST].")] = None,
) -> None:
    """Classify picture files with a trained network; a file that cannot be read does not stop the others."""
    check_checkpoint(checkpoint)
    files = image_files(list(images or []))
    if not files:
        raise DigitlabError("name one or more picture files or folders after the checkpoint, e.g. digitlab predict "
                            f"{checkpoint} digit.png")
    found = answers(checkpoint, files, top, lang)
    if json_output:
        console.print_json(json.dumps(found))
    else:
        table = Table("image", "predicted", "probability", f"top {top}")
        for answer in found:
            if "error" not in answer:
                ranked = ", ".join(f"{item['class']} {item['probability'] * PERCENT:.1f}%" for item in answer["top"])
                table.add_row(answer["image"], answer["predicted"], f"{answer['probability'] * PERCENT:.1f}%", ranked)
        console.print(table)
        for answer in found:
            for sentence in answer.get("advice", []):
                console.print(f"{answer['image']}: {sentence}", highlight=False)
    failed = [answer for answer in found if "error" in answer]
    for answer in failed:
        print_error(answer["error"])
    if failed:
        raise typer.Exit(1)
