"""What ``digitlab knn`` writes next to its tables, as text and plain data (the CLI writes the files).

>>> confusion_csv([[2, 0], [1, 3]], ("0", "1")).splitlines()
['true \\\\ predicted,0,1', '0,2,0', '1,1,3']
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from digitlab.knn.pipeline import KNNPipelineConfig


def slug(config: KNNPipelineConfig) -> str:
    """A file-name part for ``config``, e.g. ``k3-distance-euclidean-deskew-pca30``."""
    return config.label().replace(" ", "-").replace("=", "").replace(".", "_")


def confusion_csv(counts: Sequence[Sequence[int]], classes: Sequence[str]) -> str:
    """The confusion matrix as CSV: true class down, predicted class across."""
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(["true \\ predicted", *classes])
    for name, row in zip(classes, counts, strict=True):
        writer.writerow([name, *row])
    return lines.getvalue()


def result_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The result file's content: the setting, accuracy, seconds, set sizes and the run's spec."""
    metrics = result["metrics"]
    return {"config": result["spec"]["knn_config"], "accuracy": metrics["test_accuracy"], "fit_seconds": metrics["fit_seconds"],
            "predict_seconds": metrics["predict_seconds"], "n_train": metrics["train_size"], "n_test": metrics["test_size"],
            "spec": result["spec"]}


def rows_csv(rows: Sequence[dict]) -> str:
    """Rows of one kind (tune or scaling) as CSV, with their keys as the header."""
    lines = io.StringIO()
    writer = csv.DictWriter(lines, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return lines.getvalue()
