"""What the API answers and how: the JSON as pydantic models (FastAPI turns them into the OpenAPI
schema, with the declarations below for what it cannot infer), and the Predictor that prepares drawings like MNIST and asks every loaded model.

A server under load has several drawings waiting at once. Preparing is per drawing, but each model
answers a stack of N images in one forward pass for far less than N passes of one image (the CNN:
about 1.2 ms for 8 images against 0.45 ms for 1 on one CPU thread, in a one-off timing), so
``predict_batch`` stacks them. Plain synchronous numpy/torch code; the app calls it batch by batch
(digitlab.web.app's MicroBatcher).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from digitlab.datasets.catalog import DEFAULT_DATASET, dataset_names
from digitlab.errors import DigitlabError, describe_errors
from digitlab.pixels import PIXEL_MAX
from digitlab.preprocess import CANVAS_SIZE, Ink, extract_ink, place_ink_for

UPLOAD_FIELD = "file"
MAX_PREPARED_SIDE = 256  # prepared images are a dataset's image shape (28x28 for MNIST); this only bounds the schema

Pixel = Annotated[float, Field(ge=0, le=PIXEL_MAX, allow_inf_nan=False)]
PixelRow = Annotated[list[Pixel], Field(min_length=CANVAS_SIZE, max_length=CANVAS_SIZE)]
ImageRows = Annotated[list[PixelRow], Field(min_length=CANVAS_SIZE, max_length=CANVAS_SIZE)]
OutputRow = Annotated[list[Annotated[int, Field(ge=0, le=PIXEL_MAX)]], Field(min_length=1, max_length=MAX_PREPARED_SIDE)]
OutputImage = Annotated[list[OutputRow], Field(min_length=1, max_length=MAX_PREPARED_SIDE)]


class ArrayInput(BaseModel):
    """A 28x28 image as JSON: rows of pixel values 0..255 (either ink polarity)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # strict: "12" and true are not pixel values

    image: ImageRows = Field(description="28 rows of 28 pixel values in 0..255")


class ModelInfo(BaseModel):
    name: str
    kind: str = Field(description="architecture, e.g. mlp, cnn, or knn")
    dataset: str = Field(description="the dataset it was trained on (a name in digitlab's catalog)")
    dataset_title: str = Field(description="how the dataset's name is written, from its catalog entry")
    image_shape: list[int] = Field(description="(height, width) of the images its models receive")
    classes: list[str]
    test_accuracy: float | None = Field(description="accuracy on the test set, as recorded when trained")
    num_parameters: int | None = Field(description="learned parameters; null for k-NN")


class Prediction(BaseModel):
    model: str = Field(description="the model's name, as in /api/models")
    dataset: str
    predicted_index: int
    predicted_class: str
    confidence: float = Field(description="probability of the predicted class")
    probabilities: list[float] = Field(description="one per class, in class order")
    explanation: Explanation | None = Field(default=None, description="with ?explain=true: why the model answered this")


class FeatureMapLayer(BaseModel):
    layer: str = Field(description="the block's name in the network, e.g. features.0")
    shape: list[int] = Field(description="(channels, height, width) of the block's whole output")
    maps: list[OutputImage] = Field(description="the most active channels (at most 16), each scaled to 0..255 by its own maximum")


class Neighbour(BaseModel):
    index: int = Field(description="position of the neighbour among the k-NN's training images")
    label: int
    class_name: str
    distance: float = Field(description="distance in the k-NN's own feature space, after its preprocessing")
    weight: float = Field(description="this neighbour's vote: 1, or 1/distance with distance weights")
    pixels: OutputImage = Field(description="the training image, white ink on black")


class Explanation(BaseModel):
    """Why one model answered what it did, as data the page draws (present with ?explain=true)."""

    method: str | None = Field(description="the attribution method (saliency, grad_cam, ...); null for k-NN")
    target_index: int = Field(description="the class the attribution and feature maps explain: the predicted one")
    attribution: OutputImage | None = Field(
        description="evidence for the target class per input pixel, 0..255 (scaled by its maximum), same shape as the input")
    feature_maps: list[FeatureMapLayer] = Field(description="CNNs: what each convolutional block makes of the drawing")
    neighbours: list[Neighbour] = Field(description="k-NN: the nearest training images, nearest first")


class PreparedImage(BaseModel):
    dataset: str
    pixels: OutputImage = Field(description="the uint8 image this dataset's models receive (its image shape, 28x28 for MNIST), white ink on black")


class PredictResponse(BaseModel):
    image: OutputImage = Field(description="the image the (first dataset's) models receive")
    images: list[PreparedImage] = Field(
        description="the prepared image per dataset, as its catalog entry says (MNIST fits the ink in 20x20 of 28x28)"
    )
    inverted: bool = Field(description="the input was dark ink on light paper and got negated")
    ink_fraction: float = Field(description="share of the input's pixels that are ink")
    doubts: list[str] = Field(default_factory=list, description="why the digit found may not be the one meant: several_blobs, "
                              "touches_edge, little_ink (digitlab.preprocess.photo)")
    advice: list[str] = Field(default_factory=list, description="what to do about each doubt, in the language asked for (?lang=)")
    predictions: list[Prediction]


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong with the request, in one sentence")
    error: str = Field(description="a stable code: bad_image, empty_drawing, invalid_array, too_large, ...")


class Health(BaseModel):
    status: str
    models: int


PREDICT_BODY = {  # one operation, two encodings: FastAPI cannot declare that from parameters
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [UPLOAD_FIELD],
                    "properties": {UPLOAD_FIELD: {"type": "string", "format": "binary", "description": "a PNG or JPEG image"}},
                }
            },
            "application/json": {"schema": ArrayInput.model_json_schema()},
        },
    }
}
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "not a readable image, or a malformed request",
        413: "the body is larger than the limit",
        415: "neither multipart/form-data nor application/json",
        422: "an empty drawing, or a JSON array of the wrong shape or values",
    }.items()
}


def describe(errors: list) -> str:
    """A request's validation errors as one sentence: 'image.3.7: ... less than or equal to 255'."""
    return describe_errors(errors, "body")


Explainer = Callable[[np.ndarray, int], Explanation]  # (H, W) uint8 drawing, target class -> why


@dataclass(frozen=True)
class LoadedModel:
    """One model as the app shows it."""

    name: str  # unique on the page, e.g. the checkpoint folder "mnist-cnn"
    kind: str  # architecture ("mlp", "cnn", ...) or "knn"
    dataset: str  # a catalog name ("mnist", ...): its entry decides how a drawing is prepared
    classes: tuple[str, ...]  # index = label
    test_accuracy: float | None  # as recorded when the model was trained (None when unknown)
    num_parameters: int | None  # learned parameters (k-NN has none: None)
    predict_proba: Callable[[np.ndarray], np.ndarray]  # (N, 28, 28) uint8 -> (N, classes) probabilities (or a CPU tensor of them)
    explain: Explainer | None = None  # (28, 28) uint8, target class -> why (digitlab.web.explaining); None: cannot


Source = bytes | np.ndarray  # image file bytes, or a (28, 28) uint8 array from the JSON API


class Predictor:
    """Every loaded model, and the preparation each dataset's models expect."""

    def __init__(self, models: list[LoadedModel]) -> None:
        names = [model.name for model in models]
        if len(set(names)) != len(names):
            raise ValueError(f"model names must be unique, got {names}")
        order = list(dataset_names())  # the catalog's order: MNIST first, then Fashion-MNIST, then anything else
        self.models = sorted(models, key=lambda m: order.index(m.dataset) if m.dataset in order else len(order))
        self.datasets = list(dict.fromkeys(model.dataset for model in self.models)) or [DEFAULT_DATASET]

    def predict(self, source: Source) -> PredictResponse:
        """One drawing's answer; raises BadImage / EmptyDrawing for input that cannot be answered."""
        return self._one(self.predict_batch, source)

    def explain(self, source: Source) -> PredictResponse:
        """:meth:`predict` with each model's explanation of its answer."""
        return self._one(self.explain_batch, source)

    @staticmethod
    def _one(answer_batch, source: Source) -> PredictResponse:
        [answer] = answer_batch([source])
        if isinstance(answer, Exception):
            raise answer
        return answer

    def predict_batch(self, sources: Sequence[Source]) -> list[PredictResponse | DigitlabError]:
        """An answer per drawing, in order: a response, or the error that drawing alone deserves.

        One bad upload must not spoil the others in its batch, so preprocessing errors are returned
        in its place, not raised.
        """
        outcomes = [self.prepare(source) for source in sources]
        drawings = [outcome for outcome in outcomes if not isinstance(outcome, DigitlabError)]
        probabilities = iter(self.ask_all([images for _, images in drawings]))
        return [
            outcome if isinstance(outcome, DigitlabError) else self.respond(*outcome, next(probabilities))
            for outcome in outcomes
        ]

    def explain_batch(self, sources: Sequence[Source]) -> list[PredictResponse | DigitlabError]:
        """:meth:`predict_batch`, and each model's explanation of its answer (``?explain=true``).

        Explanations run one drawing at a time: a backward pass per network, a neighbour search for a k-NN.
        """
        answers = self.predict_batch(sources)
        for answer in answers:
            if isinstance(answer, PredictResponse):
                images = {prepared.dataset: prepared.pixels for prepared in answer.images}
                for model, prediction in zip(self.models, answer.predictions, strict=True):
                    if model.explain is not None:
                        image = np.asarray(images[model.dataset], dtype=np.uint8)  # (H, W) as the model saw it
                        prediction.explanation = model.explain(image, prediction.predicted_index)
        return answers

    def prepare(self, source: Source) -> tuple[Ink, dict[str, np.ndarray]] | DigitlabError:
        """The drawing's ink and its (28, 28) image per dataset, or why it cannot be answered."""
        try:
            ink = extract_ink(source)
        except DigitlabError as error:  # BadImage, EmptyDrawing
            return error
        return ink, {dataset: place_ink_for(ink, dataset) for dataset in self.datasets}

    def ask_all(self, drawings: list[dict[str, np.ndarray]]) -> list[list[np.ndarray]]:
        """Per drawing, each model's probabilities (classes,): one forward pass per model for all drawings."""
        if not drawings:
            return []
        per_model = []
        for model in self.models:
            stack = np.stack([images[model.dataset] for images in drawings])  # (N, 28, 28) uint8
            per_model.append(np.asarray(model.predict_proba(stack), dtype=np.float64))  # (N, classes)
        return [[probabilities[index] for probabilities in per_model] for index in range(len(drawings))]

    def respond(self, ink: Ink, images: dict[str, np.ndarray], probabilities: list[np.ndarray]) -> PredictResponse:
        # model_construct skips pydantic's validation, which would re-check all 784 pixels per image on
        # every request: these values come from uint8 arrays and float probabilities, valid by construction.
        pixels = {dataset: image.tolist() for dataset, image in images.items()}  # (28, 28) uint8 -> nested int lists
        return PredictResponse.model_construct(
            image=pixels[self.datasets[0]],
            images=[PreparedImage.model_construct(dataset=dataset, pixels=rows) for dataset, rows in pixels.items()],
            inverted=ink.inverted,
            ink_fraction=ink.ink_fraction,
            doubts=list(ink.doubts),
            advice=[],  # in the language of the request: the endpoint fills it in
            predictions=[self.prediction(model, row) for model, row in zip(self.models, probabilities, strict=True)],
        )

    @staticmethod
    def prediction(model: LoadedModel, probabilities: np.ndarray) -> Prediction:
        best = int(np.argmax(probabilities))
        return Prediction.model_construct(
            model=model.name,
            dataset=model.dataset,
            predicted_index=best,
            predicted_class=model.classes[best],
            confidence=float(probabilities[best]),
            probabilities=probabilities.tolist(),  # float64 -> Python floats
            explanation=None,
        )
