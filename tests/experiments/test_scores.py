from types import SimpleNamespace

import pytest
import torch

from digitlab.datasets import Dataset, Split
from digitlab.evaluation.metrics import accuracy
from digitlab.experiments.runner import decode_predictions, encode_predictions, scored


@pytest.mark.parametrize("num_classes", [2, 10, 47, 62, 100, 1000])
def test_predictions_round_trip_for_any_number_of_classes(num_classes):
    labels = torch.randint(0, num_classes, (500,), generator=torch.Generator().manual_seed(num_classes))
    labels[0] = num_classes - 1  # the largest label is always present
    stored = encode_predictions(labels)
    assert torch.equal(decode_predictions(stored), labels)
    if num_classes <= 62:
        assert isinstance(stored, str) and len(stored) == len(labels)  # one character per image


def test_ten_class_predictions_keep_the_digit_encoding_of_stored_runs():
    assert encode_predictions(torch.tensor([0, 9, 3])) == "093"
    assert decode_predictions("093").tolist() == [0, 9, 3]


@pytest.mark.parametrize("stored", [None, "", "3-1", [], [1, -2], ["1"], 7])
def test_anything_else_decodes_to_none(stored):
    assert decode_predictions(stored) is None


def test_scores_of_a_split_hold_metrics_confusion_and_predictions():
    split = Split(torch.zeros(6, 4, 4, dtype=torch.uint8), torch.tensor([0, 1, 2, 2, 1, 0]))
    predicted = torch.tensor([0, 1, 2, 1, 1, 2])
    data = Dataset("three", ["a", "b", "c"], split, split, "test")
    result = scored(SimpleNamespace(robustness=""), {"metrics": {"epochs": 1}}, predicted, None, data)
    assert result["metrics"]["epochs"] == 1  # the run's own metrics are kept beside the scores
    assert result["metrics"]["test_accuracy"] == pytest.approx(accuracy(predicted, split.labels)) == pytest.approx(4 / 6)
    assert result["confusion"][2] == [0, 1, 1] and sum(map(sum, result["confusion"])) == 6
    assert torch.equal(decode_predictions(result["test_predictions"]), predicted)
