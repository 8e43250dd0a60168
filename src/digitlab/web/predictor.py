"""Prepare drawings like MNIST and ask every loaded model: one request at a time, or many in one go.

A server under load has several drawings waiting at once. Preparing is per drawing, but each model
answers a stack of N images in one forward pass for far less than N passes of one image (the CNN:
about 1.2 ms for 8 images against 0.45 ms for 1 on one CPU thread, in a one-off timing), so ``predict_batch`` stacks them.
Plain synchronous numpy/torch code; the app calls it batch by batch (see digitlab.web.batching).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitlab.datasets.catalog import DEFAULT_DATASET, dataset_names
from digitlab.errors import DigitlabError
from digitlab.preprocess import Ink, extract_ink, place_ink_for
from digitlab.web.models import LoadedModel
from digitlab.web.schemas import Prediction, PredictResponse, PreparedImage

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
            per_model.append(model.predict_proba(stack))  # (N, classes)
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
