import io

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from digitlab.evaluation import confusion_figure, confusion_matrix, curve_figure, gallery_figure, history_figure, time_to_accuracy_figure

CLASSES = tuple(str(digit) for digit in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _renders(figure: Figure) -> bool:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue().startswith(b"\x89PNG")


def _history(epochs: int, with_validation: bool = True) -> list[dict]:
    return [
        {"epoch": e, "train_loss": 1 / e, "train_accuracy": 1 - 0.5 / e, "test_accuracy": 1 - 0.6 / e, "seconds": 0.1,
         **({"val_accuracy": 1 - 0.55 / e} if with_validation else {})}
        for e in range(1, epochs + 1)
    ]


def test_history_figure_has_loss_and_accuracy_panels():
    figure = history_figure(_history(4))
    loss, acc = figure.axes
    assert [axis.get_title() for axis in figure.axes] == ["loss per epoch", "accuracy per epoch"]
    assert [line.get_label() for line in acc.get_lines()] == ["train", "validation", "test"]
    np.testing.assert_allclose(loss.get_lines()[0].get_ydata(), [1, 1 / 2, 1 / 3, 1 / 4])
    assert _renders(figure)


def test_history_figure_edge_cases():
    single = history_figure(_history(1, with_validation=False))
    assert len(single.axes[1].get_lines()) == 2 and _renders(single)
    mixed = _history(3)
    del mixed[0]["val_accuracy"]  # validation only from epoch 2 on
    assert len(history_figure(mixed).axes[1].get_lines()[1].get_xdata()) == 2
    with pytest.raises(ValueError, match="empty"):
        history_figure([])
    with pytest.raises(ValueError, match="entry 0 lacks test_accuracy"):
        history_figure([{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5}])


def test_confusion_figure_annotates_every_cell():
    rng = np.random.default_rng(0)
    counts = confusion_matrix(rng.integers(0, 10, 300), rng.integers(0, 10, 300), 10)
    figure = confusion_figure(counts, CLASSES, title="kNN on MNIST")
    heatmap = figure.axes[0]
    assert len(figure.axes) == 2  # the heatmap and its colour bar
    assert heatmap.get_title() == "kNN on MNIST"
    assert heatmap.get_xlabel() == "predicted class" and heatmap.get_ylabel() == "true class"
    assert [label.get_text() for label in heatmap.get_yticklabels()] == list(CLASSES)
    texts = [text.get_text() for text in heatmap.texts]
    assert len(texts) == 100 and texts[:10] == [str(int(value)) for value in counts[0]]
    assert _renders(figure)


def test_confusion_figure_edge_cases():
    assert _renders(confusion_figure(np.zeros((10, 10), dtype=np.int64), FASHION))  # all zeros, long names
    assert _renders(confusion_figure(torch.tensor([[3]]), ("only",)))
    with pytest.raises(ValueError, match="square"):
        confusion_figure(np.zeros((2, 3)), ("a", "b"))
    with pytest.raises(ValueError, match="3 class names for a 2x2"):
        confusion_figure(np.zeros((2, 2)), ("a", "b", "c"))


def test_gallery_figure_titles_tiles_with_class_names():
    images = torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8)
    labels = torch.arange(20) % 10
    predicted = (labels + 1) % 10
    figure = gallery_figure(images, predicted, labels, FASHION, indices=torch.tensor([4, 0, 7, 9]), title="mistakes")
    assert len(figure.axes) == 6  # two rows of three, the last two left blank
    assert figure.axes[0].get_title() == "predicted Sandal\nclass Coat"
    assert [axis.get_title() for axis in figure.axes[4:]] == ["", ""]
    assert figure.get_suptitle() == "mistakes"
    assert _renders(figure)


def test_gallery_figure_edge_cases():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2])
    assert _renders(gallery_figure(images, labels, labels, CLASSES, indices=[]))  # nothing to show
    assert len(gallery_figure(images, labels, labels, CLASSES, indices=[2], cols=1).axes) == 1
    with pytest.raises(ValueError, match="index 3 is outside"):
        gallery_figure(images, labels, labels, CLASSES, indices=[3])
    with pytest.raises(ValueError, match="differ in length"):
        gallery_figure(images, labels[:2], labels, CLASSES, indices=[0])


def test_curve_figure_draws_one_line_per_series():
    figure = curve_figure([1, 3, 10, 30], {"mnist": [0.9, 0.95, 0.96, None], "fashion": [0.8, 0.82, 0.85, 0.84]},
                          xlabel="k", ylabel="accuracy", title="k-NN sweep", logx=True)
    (axis,) = figure.axes
    assert axis.get_title() == "k-NN sweep" and axis.get_xscale() == "log"
    assert [line.get_label() for line in axis.get_lines()] == ["mnist", "fashion"]
    assert np.isnan(axis.get_lines()[0].get_ydata()[-1])  # None is a gap
    assert _renders(figure)
    assert _renders(curve_figure([], {}, "x", "y", "empty"))
    with pytest.raises(ValueError, match="'mnist' has 2 values for 3"):
        curve_figure([1, 2, 3], {"mnist": [1, 2]}, "x", "y", "t")


def test_time_to_accuracy_figure_draws_every_run_in_its_setups_colour():
    curves = {"mlp": [[(2.0, 0.97), (4.0, 0.983)], [(2.1, 0.968), (4.2, 0.984)]], "cnn": [[(6.0, 0.985), (12.0, 0.991)]]}
    figure = time_to_accuracy_figure(curves, floor=0.975)
    (axis,) = figure.axes
    lines = axis.get_lines()
    assert len(lines) == 3 and [line.get_label() for line in lines][::2] == ["mlp", "cnn"]  # one legend entry per setup
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert list(lines[2].get_ydata()) == pytest.approx([98.5, 99.1]) and axis.get_xscale() == "log"
    assert axis.get_ylim()[0] == pytest.approx(97.5)
    assert time_to_accuracy_figure(curves, floor=0.995).axes[0].get_ylim()[0] < 97  # nothing above the floor: not applied
    assert _renders(figure)
    with pytest.raises(ValueError, match="no runs to draw"):
        time_to_accuracy_figure({"mlp": []})


def _legend_clear_of_axes(figure: Figure) -> bool:
    """Whether every legend of the drawn figure lies inside the figure and outside every axes (it covers no line)."""
    canvas = FigureCanvasAgg(figure)  # digitlab's figures have no pyplot canvas: draw them on Agg, as savefig does
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = figure.legends + [axis.get_legend() for axis in figure.axes if axis.get_legend()]
    whole = figure.bbox
    boxes = [legend.get_window_extent(renderer) for legend in legends]
    return bool(boxes) and all(
        box.x0 >= whole.x0 - 1 and box.x1 <= whole.x1 + 1 and not any(box.overlaps(axis.bbox) for axis in figure.axes if axis.axison)
        for box in boxes)


def test_legends_with_long_translated_labels_sit_beside_the_data():
    """Long labels (a Dutch k-NN setting, a model trained with four augmentations) fit the figure and cover no curve."""
    from digitlab.robustness.figures import robustness_figure

    long = "stemmen gewogen naar afstand, euclidische afstand"
    curves = curve_figure([1, 3, 5, 7, 9], {f"{long} {i}": [97.0 + i * 0.1 - k * 0.05 for k in range(5)] for i in range(4)},
                          "k", "test-accuracy (%)", "k-NN", percent=True)
    models = ["MLP", "MLP + augmentatie (verschuiving, draaiing, schaal, negatief)", "CNN",
              "CNN + augmentatie (verschuiving, draaiing, schaal, negatief)", "k-NN (k=3, 9.000 trainplaatjes)"]
    rows = [{"model": model, "transform": transform, "strength": strength, "accuracy": 0.9 - strength / 10}
            for model in models for transform in ("shift", "rotate", "noise") for strength in (0, 1, 2)]
    assert _legend_clear_of_axes(curves)
    assert _legend_clear_of_axes(robustness_figure(rows, chance=0.1))
