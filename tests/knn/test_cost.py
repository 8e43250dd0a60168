"""The cost lines and the 1920x1080 extrapolation of `digitlab knn scaling`, and the files `digitlab knn` writes."""

import csv
import io

import pytest

from digitlab.knn.cost import HD_PIXELS, HD_TEST, HD_TRAIN, scaling_summary
from digitlab.knn.outputs import confusion_csv, rows_csv


def timed(kind: str, values, seconds, n_train: int = 1000, pixels: int = 784) -> list[dict]:
    key = "n_train" if kind == "train_size" else "pixels"
    return [{"kind": kind, "n_train": n_train, "pixels": pixels, key: value, "predict_seconds": s}
            for value, s in zip(values, seconds, strict=True)]


def test_extrapolation_scales_the_per_image_per_pixel_cost():
    # 0.1 s fixed + 2 ms per 1,000 training images for 50 queries of 784 pixels
    rows = timed("train_size", [1000, 2000, 4000], [0.102, 0.104, 0.108]) + timed("pixels", [784, 3136], [0.2, 0.5], n_train=500)
    summary = scaling_summary(rows, queries=50)
    assert summary["size_line"]["slope"] == pytest.approx(2e-6) and summary["size_line"]["intercept"] == pytest.approx(0.1)
    assert summary["pixel_line"]["slope"] == pytest.approx(0.3 / 2352) and summary["pixel_train"] == 500
    per_query = 2e-6 / 50 / 784 * HD_PIXELS * HD_TRAIN
    assert summary["hd_seconds_per_query"] == pytest.approx(per_query)
    assert summary["hd_hours_test_set"] == pytest.approx(per_query * HD_TEST / 3600)


def test_noisy_or_missing_timings_give_no_extrapolation():
    falling = scaling_summary(timed("train_size", [1000, 2000], [0.2, 0.1]), queries=10)
    assert falling["size_line"]["slope"] < 0 and falling["hd_seconds_per_query"] is None
    alone = scaling_summary(timed("train_size", [1000], [0.2]), queries=10)
    assert alone["size_line"] is None and alone["pixel_line"] is None and alone["hd_hours_test_set"] is None


def test_written_tables_round_trip_through_csv():
    text = confusion_csv([[5, 1], [0, 4]], ("cat", "dog"))
    assert list(csv.reader(io.StringIO(text))) == [["true \\ predicted", "cat", "dog"], ["cat", "5", "1"], ["dog", "0", "4"]]
    rows = [{"k": 1, "accuracy": 0.5}, {"k": 3, "accuracy": 0.75}]
    assert list(csv.DictReader(io.StringIO(rows_csv(rows)))) == [{"k": "1", "accuracy": "0.5"}, {"k": "3", "accuracy": "0.75"}]
