"""What a report part is given: the dataset, the link keeper, and the sweeps it reads, by the role they play in it.

Parts name their sweeps by role ("notebook", "logits"); which lab sweep plays each role is declared
once, in :mod:`digitlab.report.parts`, so renaming a sweep file changes one line there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from digitlab.datasets import Dataset
from digitlab.experiments.store import SweepRuns
from digitlab.report.blocks import Note, not_run
from digitlab.report.links import Links


@dataclass
class Inputs:
    dataset: Dataset
    links: Links
    sweeps: dict[str, SweepRuns]  # every lab sweep with finished runs on this dataset, by sweep name
    roles: dict[str, str]  # this part's role -> the sweep that plays it (in the part's order)
    others: dict[str, SweepRuns] = field(default_factory=dict)  # the same for the other dataset, when a part compares
    picks: dict[str, dict] = field(default_factory=dict)  # role -> settings of the run that plays it (else the sweep's best)
    spread: frozenset[str] = frozenset()  # roles shown as the mean and spread of their sweep's seeds

    def with_roles(self, roles: dict[str, str]) -> Inputs:
        """The same page's inputs for a builder written for other role names (the Verdieping reuses the parts' builders)."""
        return Inputs(self.dataset, self.links, self.sweeps, roles, self.others)

    def sweep(self, role: str) -> SweepRuns | None:
        """The sweep playing ``role`` here, or None when it has not run on this dataset."""
        return self.sweeps.get(self.roles[role])

    def name(self, role: str) -> str:
        return self.roles[role]

    def not_run(self, role: str) -> Note:
        """The note for a role whose sweep has not run: names the sweep and the command that runs it."""
        return not_run(self.roles[role], self.dataset.name)

    def present(self) -> list[tuple[str, SweepRuns]]:
        """(role, sweep) for every role whose sweep ran on this dataset, in the part's order."""
        return [(role, self.sweeps[name]) for role, name in self.roles.items() if name in self.sweeps]
