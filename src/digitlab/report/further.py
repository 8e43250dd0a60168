"""The Verdieping: what goes beyond semester 4, at the end of the page, each topic linked from where it belongs.

The main line answers the notebook's questions at the course's level; the why behind some answers (a formula, a
loss floor, PCA and deskewing, the image distortion model, published tables, attributions and their faithfulness)
is worked out here. Each topic starts with a heading whose anchor the main line's "Verdieping" links point at
(:func:`digitlab.report.blocks.further_link`). The builders are the parts' own, given this part's roles under the
names they expect.
"""

from __future__ import annotations

from digitlab.report.blocks import Text, further_heading
from digitlab.report.deeper import complex_further
from digitlab.report.i18n import t
from digitlab.report.inputs import Inputs
from digitlab.report.inside import inside_blocks
from digitlab.report.knn_further import knn_further
from digitlab.report.networks import untrained_further
from digitlab.report.outputs import outputs_further


def further_blocks(inputs: Inputs) -> list:
    """Roles: ``baseline``, ``simple_notebook``, ``simple_logits``, ``complex_notebook``, ``complex_logits``,
    ``preprocess``, ``best``, ``mlp``, ``cnn``."""
    roles = inputs.roles
    simple = inputs.with_roles({"notebook": roles["simple_notebook"], "logits": roles["simple_logits"]})
    complex_ = inputs.with_roles({"notebook": roles["complex_notebook"], "logits": roles["complex_logits"]})
    blocks: list = [Text(t("further.intro"))]
    blocks += untrained_further(inputs.with_roles({"baseline": roles["baseline"]}))
    blocks += topic("outputs-sigmoid", outputs_further(simple, "simple-outputs", "sigmoid"))
    blocks += topic("outputs-softmax", outputs_further(complex_, "complex-outputs", "softmax") + complex_further(complex_))
    blocks += topic("knn", knn_further(inputs.with_roles({"preprocess": roles["preprocess"], "best": roles["best"]})))
    inside = inputs.with_roles({"notebook": roles["simple_notebook"], "logits": roles["simple_logits"], "mlp": roles["mlp"], "cnn": roles["cnn"]})
    return blocks + topic("inside", inside_blocks(inside))


def topic(name: str, blocks: list) -> list:
    """A topic's heading and its blocks; nothing when there is nothing to show (its sweeps have not run)."""
    return [further_heading(name), *blocks] if blocks else []
