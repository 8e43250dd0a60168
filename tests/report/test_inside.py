"""The part "Inside the models" from kept checkpoints (tiny generated networks), and its notes when none are kept."""

import pytest
import torch

from digitlab.experiments.store import Run, SweepRuns
from digitlab.inference import save_checkpoint
from digitlab.knn.threads import one_thread
from digitlab.models import build
from digitlab.report import inside
from digitlab.report.blocks import Figures, Note, Table, Text
from digitlab.report.inputs import Inputs
from digitlab.report.links import Links
from tests.report.fakes import tiny_dataset
from tests.specs import run_spec

ROLES = {"notebook": "simple-notebook", "logits": "simple-logits", "mlp": "mlp-best", "cnn": "cnn"}  # the Verdieping's, by these names


def kept_sweep(tmp_path, name: str, model, accuracy: float, run_id: int) -> SweepRuns:
    folder = tmp_path / name
    save_checkpoint(folder, model, run_spec(model), metrics={"test_accuracy": accuracy})
    run = Run(id=run_id, study=f"{name}@mnist", number=0, state="COMPLETE", params={}, value=accuracy, config={},
              result={"checkpoint": str(folder), "metrics": {"test_accuracy": accuracy}}, started=None, finished=None)
    stale = Run(id=run_id + 100, study=f"{name}@mnist", number=1, state="COMPLETE", params={}, value=accuracy + 0.1, config={},
                result={"checkpoint": str(folder), "metrics": {"test_accuracy": accuracy + 0.1}}, started=None, finished=None)
    return SweepRuns(name=name, description="", grid={}, base={}, study=run.study, runs=[run, stale])


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(inside, "FAITHFULNESS_DIGITS", 24)
    monkeypatch.setattr(inside, "KNN_TRAIN", 60)
    monkeypatch.setenv("DIGITLAB_KNN_KERNEL", "float32")
    with one_thread():  # two dozen tiny images: a second thread only waits on a busy machine
        yield


def test_weights_mistakes_and_faithfulness_from_kept_checkpoints(tmp_path, small):
    torch.manual_seed(0)
    sweeps = {
        "simple-notebook": kept_sweep(tmp_path, "simple-notebook", build("simple", outputs="sigmoid"), 0.5, 1),
        "simple-logits": kept_sweep(tmp_path, "simple-logits", build("simple"), 0.6, 2),
        "cnn": kept_sweep(tmp_path, "cnn", build("cnn", channels=[4, 8], hidden_sizes=[16]), 0.7, 3),
    }
    links = Links()
    blocks = inside.inside_blocks(Inputs(tiny_dataset(), links, sweeps, ROLES))
    texts = " ".join(str(block.html) for block in blocks if isinstance(block, Text))
    assert "the course&#39;s setup" in texts
    assert "most confident" in " ".join(getattr(block, "text", "") for block in blocks)
    table = next(block for block in blocks if isinstance(block, Table))
    methods = {row[1] for row in table.rows}
    assert methods == {"saliency", "integrated gradients", "occlusion", "grad cam"}
    assert "Most faithful for the CNN" in texts and "first 24 test images" in texts
    assert sum(len(block.images) for block in blocks if isinstance(block, Figures)) >= 4  # weights, mistakes, two deletion figures
    assert {1, 2, 3} <= set(links.cited) and not {101, 102, 103} & set(links.cited)  # the overwritten grid point is not cited
    notes = [block for block in blocks if isinstance(block, Note)]
    assert not notes or all("mlp" not in str(note.html) for note in notes)


def test_without_kept_checkpoints_the_part_says_how_to_get_them():
    blocks = inside.inside_blocks(Inputs(tiny_dataset(), Links(), {}, ROLES))
    notes = [str(block.html) for block in blocks if isinstance(block, Note)]
    assert notes and all("save_model = true" in note for note in notes)


def test_the_part_speaks_dutch():
    from digitlab.report.i18n import speaking

    with speaking("nl"):
        blocks = inside.inside_blocks(Inputs(tiny_dataset(), Links(), {}, ROLES))
    assert blocks[0].text == "Wat de ene laag geleerd heeft" and "niet <code>--quick</code>" in str(blocks[1].html)
