"""What a k-NN search costs as the data grows: lines fitted to measured predict times, and the
notebook's question "what about 1920x1080 images?" answered by extrapolating them.

The search reads every (training image x pixel) once per query, so its time grows in proportion
to both; :func:`scaling_summary` fits one line against training-set size and one against pixels
per image (rows from :func:`digitlab.knn.tuning.scaling`) and scales the per-image, per-pixel cost
up to HD colour images with MNIST's set sizes.

>>> rows = [{"kind": "train_size", "n_train": n, "pixels": 784, "predict_seconds": 0.01 * n / 1000} for n in (1000, 2000)]
>>> summary = scaling_summary(rows, queries=100)
>>> round(summary["hd_seconds_per_query"], 1), round(summary["hd_hours_test_set"])
(47.6, 132)
"""

from __future__ import annotations

from collections.abc import Sequence

from digitlab.knn.tuning import fit_line

HD_PIXELS = 1920 * 1080 * 3  # the notebook's "what about 1920x1080 images?", in colour
HD_TRAIN, HD_TEST = 60_000, 10_000  # the extrapolation keeps MNIST's set sizes
SECONDS_PER_HOUR = 3600


def scaling_summary(rows: Sequence[dict], queries: int) -> dict:
    """Fitted lines and the HD extrapolation of ``rows`` timed with ``queries`` queries each.

    Keys: ``size_line`` (seconds against training images) and ``pixel_line`` (against pixels per
    image), each :func:`fit_line`'s dict or None with fewer than two points; ``pixel_train`` (the
    training images of the pixel rows); ``hd_seconds_per_query`` and ``hd_hours_test_set``: None
    when there is no size line or its slope is not positive (timings too noisy for a slope).
    """
    by_size = [row for row in rows if row["kind"] == "train_size"]
    by_pixels = [row for row in rows if row["kind"] == "pixels"]
    size_line = fit_line([r["n_train"] for r in by_size], [r["predict_seconds"] for r in by_size]) if len(by_size) >= 2 else None
    pixel_line = fit_line([r["pixels"] for r in by_pixels], [r["predict_seconds"] for r in by_pixels]) if len(by_pixels) >= 2 else None
    summary = {"size_line": size_line, "pixel_line": pixel_line, "pixel_train": by_pixels[0]["n_train"] if by_pixels else None,
               "hd_seconds_per_query": None, "hd_hours_test_set": None}
    if size_line is None or size_line["slope"] <= 0:
        return summary
    per_image_pixel = size_line["slope"] / queries / by_size[0]["pixels"]  # seconds per query, training image and pixel
    per_query = per_image_pixel * HD_PIXELS * HD_TRAIN
    return {**summary, "hd_seconds_per_query": per_query, "hd_hours_test_set": per_query * HD_TEST / SECONDS_PER_HOUR}
