import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from digitlab.evaluation import (
    accuracy,
    classification_report,
    confusion_matrix,
    correct_and_incorrect,
    macro_accuracy,
    most_confident_mistakes,
)

NUM_CLASSES = 10


def _random_labels(seed: int, n: int = 500, num_classes: int = NUM_CLASSES, hit_rate: float = 0.7):
    """Targets and predictions that agree about ``hit_rate`` of the time."""
    rng = np.random.default_rng(seed)
    target = rng.integers(0, num_classes, n)
    pred = np.where(rng.random(n) < hit_rate, target, rng.integers(0, num_classes, n))
    return torch.as_tensor(pred), torch.as_tensor(target)


@pytest.mark.parametrize("seed", range(5))
def test_random_data_matches_sklearn(seed):
    pred, target = _random_labels(seed)
    labels = list(range(NUM_CLASSES))
    assert accuracy(pred, target) == pytest.approx(skm.accuracy_score(target, pred))
    assert macro_accuracy(pred, target, NUM_CLASSES) == pytest.approx(skm.balanced_accuracy_score(target, pred))
    np.testing.assert_array_equal(confusion_matrix(pred, target, NUM_CLASSES).numpy(), skm.confusion_matrix(target, pred, labels=labels))
    report = classification_report(pred, target, NUM_CLASSES)
    precision, recall, f1, support = skm.precision_recall_fscore_support(target, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(report["precision"], precision)
    np.testing.assert_allclose(report["recall"], recall)
    np.testing.assert_allclose(report["f1"], f1)
    assert report["support"] == support.tolist()
    macro = skm.precision_recall_fscore_support(target, pred, labels=labels, average="macro", zero_division=0)
    assert [report["macro"][key] for key in ("precision", "recall", "f1")] == pytest.approx(list(macro[:3]))
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(target, pred))


def test_macro_accuracy_is_what_torchmetrics_multiclassaccuracy_reports():
    from torchmetrics.classification import MulticlassAccuracy

    pred, target = _random_labels(seed=11, n=300)
    metric = MulticlassAccuracy(num_classes=NUM_CLASSES)  # the notebook's evaluate()
    metric.update(pred, target)
    assert macro_accuracy(pred, target, NUM_CLASSES) == pytest.approx(float(metric.compute()))
    # On an unbalanced set the macro and the plain accuracy part ways.
    target = torch.tensor([0] * 90 + [1] * 10)
    pred = torch.zeros(100, dtype=torch.int64)
    assert accuracy(pred, target) == pytest.approx(0.9)
    assert macro_accuracy(pred, target, 2) == pytest.approx(0.5)


def test_classes_absent_from_predictions_and_targets():
    # Class 2 is true but never predicted, class 3 never occurs, class 4 is predicted but never true.
    target = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 0, 4])
    labels = list(range(5))
    np.testing.assert_array_equal(confusion_matrix(pred, target, 5).numpy(), skm.confusion_matrix(target, pred, labels=labels))
    report = classification_report(pred, target, 5)
    precision, recall, f1, support = skm.precision_recall_fscore_support(target, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(report["precision"], precision)
    np.testing.assert_allclose(report["recall"], recall)
    np.testing.assert_allclose(report["f1"], f1)
    assert report["support"] == support.tolist() == [2, 2, 2, 0, 0]
    # torchmetrics' macro: skip class 3 (absent everywhere), count class 4 with recall 0.
    expected = np.mean([recall[0], recall[1], recall[2], 0.0])
    assert macro_accuracy(pred, target, 5) == pytest.approx(expected)
    # Without a predicted-but-never-true class it equals sklearn's balanced accuracy.
    pred_without_4 = np.array([0, 1, 1, 1, 0, 0])
    assert macro_accuracy(pred_without_4, target, 5) == pytest.approx(skm.balanced_accuracy_score(target, pred_without_4))


@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda c: st.tuples(
    st.just(c), st.lists(st.tuples(st.integers(0, c - 1), st.integers(0, c - 1)), min_size=1, max_size=40))))
def test_confusion_and_report_match_sklearn_on_any_labels(case):
    num_classes, pairs = case
    pred, target = (np.array(column) for column in zip(*pairs, strict=True))
    labels = list(range(num_classes))
    np.testing.assert_array_equal(confusion_matrix(pred, target, num_classes).numpy(), skm.confusion_matrix(target, pred, labels=labels))
    precision, recall, f1, _ = skm.precision_recall_fscore_support(target, pred, labels=labels, zero_division=0)
    report = classification_report(pred, target, num_classes)
    np.testing.assert_allclose(report["f1"], f1, atol=1e-12)
    assert accuracy(pred, target) == pytest.approx(skm.accuracy_score(target, pred))


def test_numpy_and_torch_inputs_agree_and_matrix_is_int64_rows_true():
    pred, target = _random_labels(seed=3, n=100)
    from_torch = confusion_matrix(pred, target, NUM_CLASSES)
    from_numpy = confusion_matrix(pred.numpy().astype(np.int32), target.numpy(), NUM_CLASSES)
    assert from_torch.dtype == torch.int64 and from_torch.shape == (NUM_CLASSES, NUM_CLASSES)
    assert torch.equal(from_torch, from_numpy)
    assert from_torch.sum(dim=1).tolist() == torch.bincount(target, minlength=NUM_CLASSES).tolist()
    assert confusion_matrix([1], [0], 2).tolist() == [[0, 1], [0, 0]]  # true 0 predicted as 1: row 0, column 1


def test_correct_and_incorrect_partition_the_indices():
    pred, target = torch.tensor([3, 1, 2, 2, 0]), torch.tensor([3, 0, 2, 1, 0])
    correct, incorrect = correct_and_incorrect(pred, target)
    assert correct.tolist() == [0, 2, 4] and incorrect.tolist() == [1, 3]
    assert correct.dtype == incorrect.dtype == torch.int64 and correct.ndim == 1


def test_most_confident_mistakes_orders_by_wrong_confidence():
    probabilities = torch.tensor([
        [0.9, 0.1],   # right (target 0)
        [0.3, 0.7],   # wrong, 0.7
        [0.05, 0.95], # wrong, 0.95
        [0.6, 0.4],   # wrong, 0.6
        [0.3, 0.7],   # wrong, 0.7 (tie with index 1: lower index first)
    ])
    target = torch.tensor([0, 0, 0, 1, 0])
    mistakes = most_confident_mistakes(probabilities, target, k=10)
    assert mistakes.tolist() == [2, 1, 4, 3] and mistakes.dtype == torch.int64
    assert most_confident_mistakes(probabilities, target, k=2).tolist() == [2, 1]
    assert most_confident_mistakes(probabilities.numpy(), target.numpy(), k=0).tolist() == []
    all_right = most_confident_mistakes(probabilities[:1], target[:1], k=3)
    assert all_right.tolist() == []


def test_most_confident_mistakes_on_random_softmax_agrees_with_a_sort():
    generator = torch.Generator().manual_seed(0)
    probabilities = torch.softmax(torch.randn(200, 10, generator=generator) * 3, dim=1)
    target = torch.randint(0, 10, (200,), generator=generator)
    mistakes = most_confident_mistakes(probabilities, target, k=15)
    confidence, pred = probabilities.max(dim=1)
    assert (pred[mistakes] != target[mistakes]).all()
    assert (confidence[mistakes].diff() <= 0).all()
    wrong = pred != target
    assert confidence[mistakes[-1]] >= confidence[wrong].sort(descending=True).values[14]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: accuracy([0, 1], [0]), "differ in length"),
    (lambda: accuracy(np.zeros((2, 2), dtype=int), np.zeros((2, 2), dtype=int)), "1-D"),
    (lambda: accuracy(torch.tensor([0.0, 1.0]), torch.tensor([0, 1])), "integer"),
    (lambda: accuracy([], []), "at least one"),
    (lambda: confusion_matrix([0, 7], [0, 1], 3), "label 7 outside 0..2"),
    (lambda: confusion_matrix([0, 1], [0, -1], 3), "target holds label -1"),
    (lambda: macro_accuracy([0], [0], 0), "num_classes"),
    (lambda: most_confident_mistakes(torch.randn(4, 3), torch.zeros(4, dtype=torch.int64), 2), "softmax"),
    (lambda: most_confident_mistakes(torch.full((4, 2), 0.5), torch.zeros(3, dtype=torch.int64), 2), "differ in length"),
    (lambda: most_confident_mistakes(torch.full((4, 2), 0.5), torch.zeros(4, dtype=torch.int64), -1), "k must"),
])
def test_bad_input_names_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_empty_input_gives_empty_results_where_meaningful():
    assert confusion_matrix([], [], 3).sum() == 0
    correct, incorrect = correct_and_incorrect(np.array([], dtype=int), np.array([], dtype=int))
    assert len(correct) == len(incorrect) == 0
