"""The JSON the API speaks, as pydantic models: FastAPI turns them into the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from digitlab.preprocess import CANVAS_SIZE

MAX_PREPARED_SIDE = 256  # prepared images are a dataset's image shape (28x28 for MNIST); this only bounds the schema

Pixel = Annotated[float, Field(ge=0, le=255, allow_inf_nan=False)]
PixelRow = Annotated[list[Pixel], Field(min_length=CANVAS_SIZE, max_length=CANVAS_SIZE)]
ImageRows = Annotated[list[PixelRow], Field(min_length=CANVAS_SIZE, max_length=CANVAS_SIZE)]
OutputRow = Annotated[list[Annotated[int, Field(ge=0, le=255)]], Field(min_length=1, max_length=MAX_PREPARED_SIDE)]
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
