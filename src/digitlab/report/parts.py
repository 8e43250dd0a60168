"""The report's parts, declared as data: in page order, each with its anchor, title and the lab sweeps it reads.

This is the one place that names sweeps for the report. A part's builder gets an
:class:`~digitlab.report.inputs.Inputs` and asks for its sweeps by role (``inputs.sweep("notebook")``);
``roles`` below says which sweep plays each role. Numbers ("3. The simple network") are given by
:mod:`digitlab.report.build` from the order here. To add a part: write its builder (a function
Inputs -> list of blocks, in the module of its area) and add one ``Part`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from digitlab.report.blocks import FURTHER
from digitlab.report.compare import AUGMENTATION
from digitlab.report.data import data_blocks
from digitlab.report.deeper import cnn_blocks, complex_blocks
from digitlab.report.further import further_blocks
from digitlab.report.i18n import title_in_language
from digitlab.report.inputs import Inputs
from digitlab.report.knn import knn_blocks
from digitlab.report.networks import simple_blocks, untrained_blocks
from digitlab.report.overview import comparison_blocks, other_dataset_blocks, other_dataset_title
from digitlab.report.robustness import robustness_blocks

Builder = Callable[[Inputs], list]

# The best run of each of these sweeps stands for its model in the comparisons, in this order (label -> sweep).
COMPARED = {
    "Untrained SimpleNetwork": "untrained",
    "SimpleNetwork (notebook: sigmoid outputs)": "simple-notebook",
    "One linear layer, logits": "simple-logits",
    "ComplexNetwork (notebook: 784-512-512-10)": "complex-notebook",
    "ComplexNetwork, logits instead of softmax": "complex-logits",
    "ComplexNetwork, best hidden width": "complex-hidden",
    "MLP, best depth": "mlp-layers",
    "MLP 784-512-512-10 (tuned)": "mlp-best",
    "CNN": "cnn",
    "k-NN on raw pixels": "knn",
    "k-NN with PCA / deskewing": "knn-preprocess",
    "k-NN, most accurate (deskew, PCA, image distortion model)": "knn-best",
    "Network trained on augmented batches": "robustness",
}
# Rows that stand for one run of their sweep rather than its best: the augmented row is the augmented CNN (the sweep's
# best on validation may be a network trained without augmentation). Settings as in SweepRuns.find.
PICKED = {"Network trained on augmented batches": {"model": "cnn", "train_config.augment": AUGMENTATION}}
# Rows whose sweep only repeats one setting over seeds: the summary gives their mean and spread, not the luckiest seed.
SPREAD = frozenset({"Untrained SimpleNetwork"})


@dataclass(frozen=True)
class Part:
    anchor: str  # the section's id, for links and the table of contents
    title: str | Callable[[str], str]  # without its number; a function of the dataset name when it depends on it
    build: Builder
    roles: dict[str, str] = field(default_factory=dict)  # role in the part -> the lab sweep that plays it
    numbered: bool = True  # the closing summary has no number
    compares_datasets: bool = False  # also gets the other dataset's sweeps
    picks: dict[str, dict] = field(default_factory=dict)  # role -> settings of the one run that plays it (else the best)
    spread: frozenset[str] = frozenset()  # roles whose sweep repeats one setting over seeds: shown as mean and spread

    def heading(self, dataset: str) -> str:
        """The title in the report's language (the catalog's ``title.<anchor>``; this English title without one)."""
        return self.title(dataset) if callable(self.title) else title_in_language(self.anchor, self.title)


PARTS = (
    Part("data", "The data", data_blocks, {"network": "simple-notebook"}),
    Part("untrained", "The untrained baseline", untrained_blocks, {"baseline": "untrained"}),
    Part("simple", "The simple network (Opdracht 1)", simple_blocks,
         {"notebook": "simple-notebook", "logits": "simple-logits", "seeds": "simple-seeds"}),
    Part("complex", "The 3-layer network (Opdracht 2)", complex_blocks,
         {"notebook": "complex-notebook", "logits": "complex-logits", "seeds": "complex-seeds", "hidden": "complex-hidden",
          "layers": "mlp-layers", "tuned": "mlp-best", "simple": "simple-notebook"}),
    Part("cnn", "A convolutional network (Deel II)", cnn_blocks, {"cnn": "cnn", "tuned": "mlp-best"}),
    # Deel II in one place, as the course has it: the CNN, then what it changes for shifted and turned digits
    Part("robustness", "Robustness: transformed images (Deel II)", robustness_blocks, {"augmented": "robustness", "knn": "robustness-knn"}),
    Part("knn", "k-nearest neighbours (Opdracht 3)", knn_blocks,
         {"grid": "knn", "best": "knn-best", "scaling": "knn-scaling", "simple": "simple-notebook",
          "mlp": "mlp-best", "cnn": "cnn", "robust_knn": "robustness-knn"}),
    Part("other-dataset", other_dataset_title, other_dataset_blocks, COMPARED, compares_datasets=True, picks=PICKED, spread=SPREAD),
    Part("comparison", "Summary: every model side by side", comparison_blocks, COMPARED, numbered=False, picks=PICKED, spread=SPREAD),
    # Beyond semester 4, at the end and linked from where each topic belongs: every role of the topics it works out.
    Part(FURTHER, "Going further", further_blocks,
         {"baseline": "untrained", "simple_notebook": "simple-notebook", "simple_logits": "simple-logits",
          "complex_notebook": "complex-notebook", "complex_logits": "complex-logits", "preprocess": "knn-preprocess", "best": "knn-best",
          "mlp": "mlp-best", "cnn": "cnn"}, numbered=False),
)


def numbered_titles(dataset: str) -> list[str]:
    """Each part's heading as the page shows it: '1. The data', ..., the summary without a number."""
    titles, number = [], 0
    for part in PARTS:
        number += part.numbered
        titles.append(f"{number}. {part.heading(dataset)}" if part.numbered else part.heading(dataset))
    return titles


def sweeps_read() -> set[str]:
    """Every sweep some part reads."""
    return {name for part in PARTS for name in part.roles.values()}
