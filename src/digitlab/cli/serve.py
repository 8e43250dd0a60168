"""``digitlab serve``: the draw-a-digit web app with every trained model (and optionally k-NN)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digitlab.cli.common import OUTPUT_ROOT, DatasetName, console, err_console, parse_dataset
from digitlab.datasets import DEFAULT_DATASET
from digitlab.errors import DigitlabError
from digitlab.i18n import check_language
from digitlab.knn.pipeline import QUICK_TRAIN_LIMIT, KNNPipelineConfig
from digitlab.preprocess.decode import MAX_PHOTO_MEGABYTES

MIN_UPLOAD_MB = 0.01  # a 28x28 PNG is under 1 kB
MAX_UPLOAD_MB = 1024.0  # a phone photo is a few MB; larger bodies only cost the server memory


def serve(
    models: Annotated[Path, typer.Option("--models", help="Folder with trained checkpoints (searched recursively).")] = OUTPUT_ROOT,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 opens it to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")] = 8000,
    knn: Annotated[bool, typer.Option("--knn", help=f"Also fit the default k-NN ({KNNPipelineConfig().label()}) at startup on each "
                                      "--dataset.")] = False,
    datasets: Annotated[list[DatasetName] | None, typer.Option(
        "--dataset", "-d", parser=parse_dataset, metavar="NAME", help="The k-NN's dataset (repeatable).", show_default=DEFAULT_DATASET)] = None,
    knn_train_limit: Annotated[
        int, typer.Option("--knn-train-limit", min=1, help="Training images the k-NN keeps (more: slower answers).")
    ] = QUICK_TRAIN_LIMIT,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=MIN_UPLOAD_MB, max=MAX_UPLOAD_MB,
                                                 help="Largest accepted photo, in MB (its form's few kB on top).")] = MAX_PHOTO_MEGABYTES,
    threads: Annotated[
        int, typer.Option("--threads", min=1, help="torch threads for the models (batches of drawings are small: 1 is fastest).")
    ] = 1,
    lang: Annotated[
        str | None, typer.Option("--lang", help="The page's language: nl or en [default: the browser's Accept-Language; else Dutch].")
    ] = None,
) -> None:
    """Serve a page to draw digits on, showing what each model sees and predicts, plus a JSON API."""
    from digitlab.web import create_app, knn_model, load_models_dir, run_server  # web stack: import on use
    from digitlab.web.guard import body_limit
    from digitlab.web.server import limit_torch_threads

    if lang is not None:
        check_language(lang)  # a wrong --lang fails before the models load
    limit_torch_threads(threads)
    loaded = load_models_dir(models) if models.exists() or not knn else []
    for dataset in (datasets or [DatasetName(DEFAULT_DATASET)]) if knn else []:
        with err_console.status(f"fitting k-NN on {knn_train_limit:,} {dataset.value} training images"):
            loaded.append(knn_model(dataset.value, train_limit=knn_train_limit))
    if not loaded:
        raise DigitlabError(f"no trained checkpoints found below {models}; train one first (digitlab train) or add --knn")
    app = create_app(loaded, max_body_bytes=body_limit(max_upload_mb), lang=lang)
    for model in loaded:
        accuracy = "?" if model.test_accuracy is None else f"{model.test_accuracy:.2%}"
        console.print(f"  {model.name:<28} {model.kind:<8} {model.dataset:<14} test accuracy {accuracy}", highlight=False)
    console.print(f"Serving on http://{host}:{port}/  (API schema: /openapi.json; Ctrl+C stops)", highlight=False)
    run_server(app, host=host, port=port)
