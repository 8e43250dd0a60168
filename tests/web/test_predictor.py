"""Predictor: a batch of drawings gets the answers each drawing gets alone; bad ones fail alone."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.preprocess import BadImage, EmptyDrawing
from digitlab.web import knn_model, load_models_dir
from digitlab.web.answers import Predictor, PredictResponse
from tests.web.web_images import png_bytes, render_like_a_person

KNN_TRAIN_LIMIT = 2_000


@pytest.fixture(scope="module")
def predictor(quick_checkpoints) -> Predictor:
    """The trained MNIST and Fashion-MNIST MLPs and a k-NN: networks and a non-network, two datasets."""
    return Predictor(load_models_dir(quick_checkpoints) + [knn_model("mnist", train_limit=KNN_TRAIN_LIMIT)])


@pytest.fixture(scope="module")
def drawings() -> list[bytes]:
    from digitlab.datasets import load

    rng = np.random.default_rng(0)
    return [render_like_a_person(digit, rng)[0] for digit in load("mnist").test.images[:12].numpy()]


def assert_same_answer(answer: PredictResponse, alone: PredictResponse) -> None:
    assert answer.image == alone.image and answer.images == alone.images and answer.inverted == alone.inverted
    assert [p.model for p in answer.predictions] == [p.model for p in alone.predictions]
    for mine, single in zip(answer.predictions, alone.predictions, strict=True):
        assert mine.predicted_class == single.predicted_class
        assert mine.probabilities == pytest.approx(single.probabilities, abs=1e-5)  # a batch sums floats in another order


@pytest.mark.realdata
def test_a_batch_answers_each_drawing_as_it_would_be_answered_alone(predictor, drawings):
    together = predictor.predict_batch(drawings)
    assert len(together) == len(drawings)
    for drawing, answer in zip(drawings, together, strict=True):
        assert_same_answer(answer, predictor.predict(drawing))


@pytest.mark.realdata
def test_bad_drawings_get_their_own_error_and_spoil_nothing(predictor, drawings):
    blank = png_bytes(np.full((280, 280), 255, np.uint8))
    answers = predictor.predict_batch([drawings[0], b"not an image", blank, drawings[1]])
    assert isinstance(answers[1], BadImage) and isinstance(answers[2], EmptyDrawing)
    assert_same_answer(answers[0], predictor.predict(drawings[0]))
    assert_same_answer(answers[3], predictor.predict(drawings[1]))
    assert predictor.predict_batch([b"", blank])[0].__class__ is BadImage  # a batch with nothing to ask the models
    with pytest.raises(EmptyDrawing):
        predictor.predict(blank)


@pytest.mark.realdata
def test_answers_are_valid_responses(predictor, drawings):
    """The responses skip pydantic's validation for speed: they must still pass it."""
    for answer in predictor.predict_batch(drawings[:3]):
        again = PredictResponse.model_validate_json(answer.model_dump_json())
        assert again == answer
        assert {p.model for p in again.predictions} == {m.name for m in predictor.models}
        assert all(sum(p.probabilities) == pytest.approx(1) for p in again.predictions)
