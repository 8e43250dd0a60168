"""A page built from ``digitlab lab --quick`` runs says so at the top, and draws no conclusions from them.

A quick lab trains every network for one epoch on a small subset and tests on a few test images (experiments/sweep.py,
``quicken``): the numbers show that everything runs, not what the course's questions are answered with. The cut is
read from the sweeps' own stored base configs, so the banner states what those runs did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from markupsafe import Markup

from digitlab.experiments.store import SweepRuns
from digitlab.i18n import current
from digitlab.report.blocks import Answer, Section, Text
from digitlab.report.i18n import t
from digitlab.report.links import count


@dataclass(frozen=True)
class Cut:
    """What a quick lab left out: its subset sizes and epochs."""

    train: int  # training images per run (validation comes out of these)
    validation: int  # of those, held out for validation
    test: int  # test images per run
    epochs: int  # epochs per network


def quick_cut(sweeps: dict[str, SweepRuns]) -> Cut | None:
    """The cut of the sweeps when they ran on a subset of the test set (a quick lab); None for a full lab."""
    limited = [sweep.base for sweep in sweeps.values() if sweep.base.get("test_limit")]
    if not limited:
        return None
    base = limited[0]
    epochs = [sweep.base.get("train_config", {}).get("epochs") for sweep in sweeps.values()]
    return Cut(train=int(base.get("train_limit") or 0), validation=int(base.get("validation_size") or 0), test=int(base["test_limit"]),
               epochs=max((value for value in epochs if value), default=0))


def banner(cut: Cut) -> Markup:
    return t("quick.banner", train=count(cut.train), validation=count(cut.validation), test=count(cut.test),
             epochs=current().plural("unit.epochs", cut.epochs))


def without_conclusions(sections: list[Section]) -> list[Section]:
    """The sections with every answer's paragraphs replaced by a note that quick runs answer nothing, and every
    paragraph that reads something into the numbers (a ``Text`` marked ``conclusion``) left out."""
    return [replace(section, blocks=[Answer(block.question, [t("quick.no_answer")]) if isinstance(block, Answer) else block
                                     for block in section.blocks if not (isinstance(block, Text) and block.conclusion)])
            for section in sections]
