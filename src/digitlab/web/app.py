"""The web app: one page to draw on, and a JSON API that prepares the drawing and asks every model.

    GET  /               the page (templates/index.html in the reader's language: canvas, upload, live results; no build step)
    GET  /api/models     the loaded models: dataset, classes, test accuracy, parameter count
    POST /api/predict    a PNG/JPEG (multipart field ``file``) or {"image": 28x28} -> per-model probabilities;
                         ``?explain=true`` adds each model's explanation (attribution, feature maps, neighbours)
    GET  /api/health     liveness, for scripts that wait for the server
    GET  /openapi.json   the schema (FastAPI's /docs and /redoc are off: they load their scripts from a CDN)

Bad input is a 4xx with ``{"detail": ..., "error": ...}``, never a 500; bodies are capped (413).

Drawings are answered in dynamic batches, on the event loop (:class:`MicroBatcher`): the first request
of a quiet moment is answered at once (nobody waits for company, so one user sees no added latency).
While a batch is computed, new requests pile up, and the next batch answers them all: under load,
batches grow by themselves and each model pass serves several drawings. The batch runs on the event
loop's own thread, blocking it for a few milliseconds. That is on purpose: a worker thread would have
to share Python's GIL with the event loop, and on a 2-core laptop handing the GIL back and forth cost
more than the work (measured with ``benchmarks/web_load.py``: server CPU per request 2.0-2.8 ms here
against 3.1-3.8 ms with a worker thread, and a p99 about half as long). ``max_batch`` bounds how long
the loop is held; slow inputs (large photos) do not come here: they are decoded in a worker thread.
"""

from __future__ import annotations

import asyncio
import io
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import anyio.to_thread
import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from digitlab import __version__
from digitlab.datasets.catalog import get_spec
from digitlab.i18n import LANGUAGES, Language, accepted_language, advice, check_language, class_names, speaking
from digitlab.pixels import to_uint8
from digitlab.preprocess import BadImage, EmptyDrawing
from digitlab.preprocess.decode import MEGABYTE
from digitlab.web.answers import (
    ERROR_RESPONSES,
    PREDICT_BODY,
    UPLOAD_FIELD,
    ArrayInput,
    Health,
    LoadedModel,
    ModelInfo,
    Predictor,
    PredictResponse,
    describe,
)
from digitlab.web.guard import DEFAULT_MAX_BODY_BYTES, MAX_IN_FLIGHT, MULTIPART_ALLOWANCE, BodySizeLimit, InFlightLimit
from digitlab.web.models import load_models_dir
from digitlab.web.page import render_page

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_MAX_BATCH = 16  # drawings per batch: ~2 ms each, so the loop is never held much past 30 ms
ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}
INLINE_MAX_BYTES = 256 * 1024  # the page sends ~10 kB PNGs; larger files are photos
INLINE_MAX_PIXELS = 1024 * 1024  # decoding and preparing 1 megapixel takes ~5 ms; the page's canvas has 0.08
EXPLAIN_MAX_BATCH = 4  # explained drawings per batch: ~10-30 ms each (a backward pass per network), bounding the loop's hold
LARGE_DECODES = 2  # large images prepared at once (each may hold up to preprocess.MAX_DECODED_BYTES); the rest wait
Item = TypeVar("Item")
Answer = TypeVar("Answer")


class MicroBatcher(Generic[Item, Answer]):
    """Answers ``submit(item)`` calls with ``answer_batch(items)``, one batch of waiting items at a time.

    ``answer_batch`` returns one entry per item, in order; an entry that is an exception is raised to
    that item's caller alone. An exception raised by ``answer_batch`` itself goes to every caller of the batch.

    Examples
    --------
    >>> import asyncio
    >>> batcher = MicroBatcher(lambda numbers: [n * n for n in numbers])
    >>> async def ask():
    ...     return await asyncio.gather(*(batcher.submit(n) for n in range(4)))
    >>> asyncio.run(ask())
    [0, 1, 4, 9]
    >>> list(batcher.batch_sizes)  # the four calls arrived together and were answered in one batch
    [4]
    """

    def __init__(self, answer_batch: Callable[[list[Item]], Sequence[Answer | Exception]], max_batch: int = DEFAULT_MAX_BATCH):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.answer_batch = answer_batch
        self.max_batch = max_batch
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # the latest batches, for monitoring and tests
        self._waiting: deque[tuple[Item, asyncio.Future[Answer]]] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Answer:
        """The answer for ``item``, computed with the items waiting beside it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((item, future))
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            # Scheduled, not run: requests that are ready in this turn of the loop join the batch.
            self._worker = loop.create_task(self._answer_waiting())
        return await future

    async def _answer_waiting(self) -> None:
        """Answer batches until nobody waits; the next submit starts anew."""
        while self._waiting:
            batch = [self._waiting.popleft() for _ in range(min(self.max_batch, len(self._waiting)))]
            batch = [(item, future) for item, future in batch if not future.done()]  # skip clients that left
            if batch:
                self.answer(batch)
            if self._waiting:
                await asyncio.sleep(0)  # more than max_batch waited: let the loop breathe between batches

    def answer(self, batch: list[tuple[Item, asyncio.Future[Answer]]]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            answers = self.answer_batch([item for item, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"answer_batch gave {len(answers)} answers for {len(batch)} items")
        except Exception as error:  # noqa: BLE001 - every caller of the batch gets the error, the server lives on
            answers = [error] * len(batch)
        for (_, future), answer in zip(batch, answers, strict=True):
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)


async def read_input(request: Request) -> bytes | np.ndarray:
    """The request's image: uploaded file bytes, or the JSON array as (28, 28) uint8 pixels."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get(UPLOAD_FIELD)
            if not isinstance(upload, UploadFile):
                raise HTTPException(422, f"the multipart upload needs a file in the field {UPLOAD_FIELD!r}")
            return await upload.read()
    if media_type == "application/json":
        try:
            array = ArrayInput.model_validate_json(await request.body())
        except ValidationError as error:
            expected = '{"image": 28 rows of 28 numbers in 0..255}'
            raise HTTPException(422, f"expected {expected}: {describe(error.errors())}") from None
        return to_uint8(np.array(array.image, dtype=np.float32))  # (28, 28) uint8: pixels stay uint8 until the model
    sent = media_type or "no content type"
    raise HTTPException(415, f"send the image as multipart/form-data (field {UPLOAD_FIELD!r}) or application/json, not {sent!r}")


def quick_to_prepare(source: bytes | np.ndarray) -> bool:
    """Whether preparing ``source`` takes milliseconds at most: a drawing or a small image, not a photo."""
    if not isinstance(source, bytes):
        return True  # a 28x28 array
    if len(source) > INLINE_MAX_BYTES:
        return False
    try:
        with Image.open(io.BytesIO(source)) as image:  # reads the header, not the pixels
            width, height = image.size
    except Exception:  # noqa: BLE001 - not a readable image: digitlab.preprocess refuses it at once, with a reason
        return True
    return width * height <= INLINE_MAX_PIXELS


def error_response(status: int, detail: str, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "error": error}, status_code=status, headers=headers)


def request_language(request: Request, fixed: str | None) -> Language:
    """The language to answer in: the server's fixed ``--lang``, the page's ``?lang=`` (the footer's link to the
    other language), else the browser's Accept-Language between Dutch and English (Dutch when it names neither)."""
    if fixed is not None:
        return check_language(fixed)
    asked = request.query_params.get("lang")
    return Language(asked) if asked in LANGUAGES else accepted_language(request.headers.get("accept-language"))


def in_language(result: PredictResponse, models: list[LoadedModel], language: Language) -> PredictResponse:
    """``result`` with its class names and advice in ``language`` (the predictor, shared by every request's
    batch, answers with the dataset catalog's own names and the doubts' codes)."""
    result.advice = advice(result.doubts, language)
    by_name = {model.name: model for model in models}
    with speaking(language):
        for prediction in result.predictions:
            model = by_name[prediction.model]
            names = class_names(model.dataset, model.classes)
            prediction.predicted_class = names[model.classes.index(prediction.predicted_class)]
            for neighbour in prediction.explanation.neighbours if prediction.explanation else ():
                neighbour.class_name = names[neighbour.label]
    return result


def create_app(
    models: list[LoadedModel] | Path | str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
    title: str = "digitlab",
    max_in_flight: int = MAX_IN_FLIGHT,
    lang: str | None = None,
) -> FastAPI:
    """Build the app around already loaded models, or the checkpoints below a folder.

    Drawings are answered in batches on the event loop: the requests waiting at one moment (at most
    ``max_batch``) go through each model together (:class:`MicroBatcher`). Large images (photos:
    slow to decode, see :func:`quick_to_prepare`) are answered in a worker thread instead, so that
    they never hold up the drawings. ``lang`` fixes the page's language (nl or en); without it each
    request gets its browser's (:func:`request_language`).
    """
    fixed = None if lang is None else check_language(lang).value
    photo_megabytes = max(max_body_bytes - MULTIPART_ALLOWANCE, 0) / MEGABYTE  # what the page tells and checks
    loaded = load_models_dir(Path(models)) if isinstance(models, (str, Path)) else list(models)
    predictor = Predictor(loaded)
    batcher = MicroBatcher(predictor.predict_batch, max_batch=max_batch)
    explain_batcher = MicroBatcher(predictor.explain_batch, max_batch=min(max_batch, EXPLAIN_MAX_BATCH))
    app = FastAPI(title=title, version=__version__, summary="Draw a digit: what each trained model sees and predicts.",
                  docs_url=None, redoc_url=None)  # both fetch Swagger/ReDoc from a CDN: blank in an offline classroom
    app.add_middleware(BodySizeLimit, max_body_bytes=max_body_bytes)
    app.add_middleware(InFlightLimit, limit=max_in_flight)  # added last: runs first, so a refused request costs nothing
    large_decodes = anyio.CapacityLimiter(LARGE_DECODES)
    app.state.predictor = predictor
    app.state.batcher = batcher

    @app.exception_handler(BadImage)
    async def bad_image(request: Request, error: BadImage) -> JSONResponse:
        return error_response(400, str(error), "bad_image")

    @app.exception_handler(EmptyDrawing)
    async def empty_drawing(request: Request, error: EmptyDrawing) -> JSONResponse:
        return error_response(422, str(error), "empty_drawing")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = "invalid_array" if error.status_code == 422 else ERROR_CODES.get(error.status_code, "error")
        return error_response(error.status_code, str(error.detail), code, error.headers)  # keeps 405's Allow

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # A bug, not bad input: still JSON for the page and scripts (the traceback goes to the log).
        return error_response(500, "internal error: the server could not answer this request", "internal")

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, error: ClientDisconnect) -> Response:
        # An abandoned upload (tab closed, body deadline passed): nobody is left to answer, nothing to log.
        return Response(status_code=499)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, describe(list(error.errors())), "invalid_request")

    @app.get("/api/models", response_model=list[ModelInfo])
    def list_models(request: Request) -> list[ModelInfo]:
        with speaking(request_language(request, fixed)):  # the class names in the page's language
            return [
                ModelInfo(
                    name=m.name, kind=m.kind, dataset=m.dataset, dataset_title=get_spec(m.dataset).title,
                    image_shape=list(get_spec(m.dataset).image_shape), classes=list(class_names(m.dataset, m.classes)),
                    test_accuracy=m.test_accuracy, num_parameters=m.num_parameters,
                )
                for m in predictor.models
            ]

    @app.post("/api/predict", response_model=PredictResponse, responses=ERROR_RESPONSES, openapi_extra=PREDICT_BODY)
    async def predict(
        request: Request,
        explain: bool = Query(False, description="also return each model's explanation: attribution map, CNN feature maps, "
                                                 "k-NN neighbours (slower: a backward pass per network)"),
    ) -> Response:
        """Prepare the image like MNIST (see digitlab.preprocess) and ask every loaded model."""
        source = await read_input(request)
        if quick_to_prepare(source):
            # together with the drawings waiting beside it; explained ones in their own, smaller batches
            result = await (explain_batcher if explain else batcher).submit(source)
        else:
            answer = predictor.explain if explain else predictor.predict
            result = await anyio.to_thread.run_sync(answer, source, limiter=large_decodes)
        result = in_language(result, predictor.models, request_language(request, fixed))
        # Built from valid arrays by the predictor: serialise it directly instead of FastAPI validating it again.
        return Response(result.model_dump_json(), media_type="application/json")

    @app.get("/api/health", response_model=Health)
    def health() -> Health:
        return Health(status="ok", models=len(predictor.models))

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        language = request_language(request, fixed).value
        return HTMLResponse(render_page(language, photo_megabytes), headers={"Vary": "Accept-Language", "Content-Language": language})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
