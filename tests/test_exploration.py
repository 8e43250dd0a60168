"""Exploration figures and the pixel matrix, on a small generated dataset."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from matplotlib.figure import Figure

from digitlab.datasets import Dataset, Split
from digitlab.exploration import class_count_chart, pixel_matrix, sample_grid

CLASSES = tuple("abc")


def tiny_dataset() -> Dataset:
    generator = torch.Generator().manual_seed(0)
    train_labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    test_labels = torch.tensor([0, 1, 2, 2])
    train = Split(torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8, generator=generator), train_labels)
    test = Split(torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8, generator=generator), test_labels)
    return Dataset("tiny", CLASSES, train, test)


def test_sample_grid_titles_each_image_with_its_index_and_class():
    data = tiny_dataset()
    figure, indices = sample_grid(data.train, CLASSES, rows=2, cols=3, seed=4)
    assert isinstance(figure, Figure) and len(indices) == 6 == len(set(indices))
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == [f"#{i}\n{CLASSES[int(data.train.labels[i])]}" for i in indices]
    assert sample_grid(data.train, CLASSES, rows=2, cols=3, seed=4)[1] == indices  # the seed decides
    chosen, _ = sample_grid(data.train, CLASSES, rows=2, cols=2, indices=[9, 0])
    assert [axis.get_title() for axis in chosen.axes][:2] == ["#9\nc", "#0\na"]
    with pytest.raises(ValueError, match="between 1 and 4"):
        sample_grid(data.train, CLASSES, rows=2, cols=2, indices=[0, 1, 2, 3, 4])


def test_class_count_chart_bars_are_the_class_counts():
    figure = class_count_chart(tiny_dataset())
    heights = [bar.get_height() for bar in figure.axes[0].patches]
    assert heights == [3, 2, 5, 1, 1, 2]  # train a, b, c, then test a, b, c


def test_pixel_matrix_scaled_and_raw():
    image = torch.tensor([[0, 255], [128, 51]], dtype=torch.uint8)
    scaled = pixel_matrix(image).splitlines()
    assert [row.split() for row in scaled] == [["0", "1"], ["0.5", "0.2"]]
    assert [row.split() for row in pixel_matrix(image, scale=False).splitlines()] == [["0", "255"], ["128", "51"]]
    with pytest.raises(ValueError, match="one \\(H, W\\) image"):
        pixel_matrix(torch.zeros(1, 2, 2))


def test_importing_digitlab_leaves_the_matplotlib_backend_alone():
    """A notebook's inline backend must survive `import digitlab...` (the library once forced Agg)."""
    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import digitlab.exploration, digitlab.evaluation, digitlab.report.blocks, digitlab.robustness.figures; "
        "print(matplotlib.get_backend())"
    )
    backend = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert backend == "svg"
