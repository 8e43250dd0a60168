"""Progress for the long commands: a bar with an ETA that fits 80 columns, or plain lines off a terminal.

On a terminal every column has a fixed width, so the bar never pushes the counter or the ETA off the
line ("118/1…" was rich squeezing a bar wider than the window). A log file, a pipe or CI gets no
bar at all (it would be drawn once, cut) but one plain line per finished step, with the ETA.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column

DESCRIPTION_WIDTH = 24  # "epoch 12/12" or "mnist: mlp-width" (longer ones end in "…")
BAR_WIDTH = 16
STATS_WIDTH = 26  # "loss 0.1234  acc 97.12%": the rest of 80 columns after the others
SECONDS_PER_MINUTE = 60


def progress_bar(console: Console, stats: bool = False) -> Progress:
    """A rich Progress whose columns add up to at most 80 characters; disabled (silent) off a terminal."""
    columns = [TextColumn("{task.description}", table_column=Column(width=DESCRIPTION_WIDTH, no_wrap=True, overflow="ellipsis")),
               BarColumn(bar_width=BAR_WIDTH), MofNCompleteColumn()]
    if stats:
        columns.append(TextColumn("{task.fields[stats]}", table_column=Column(width=STATS_WIDTH, no_wrap=True, overflow="ellipsis")))
    columns.append(TimeRemainingColumn(compact=True, elapsed_when_finished=True))
    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


def clock(seconds: float) -> str:
    """12 -> '0:12', 754 -> '12:34', 4000 -> '1:06:40'."""
    minutes, secs = divmod(round(seconds), SECONDS_PER_MINUTE)
    hours, minutes = divmod(minutes, SECONDS_PER_MINUTE)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Eta:
    """The time left for ``total`` equal steps, from the pace of the ones done so far."""

    def __init__(self, total: int) -> None:
        self.total, self.started, self.before = total, time.perf_counter(), None

    def after(self, done: int) -> str:
        """'eta 1:23' after ``done`` of the steps ('done in 4:56' after the last); a resumed run counts from where it went on."""
        if self.before is None:
            self.before = done - 1  # the steps a resumed run had done before this process started
        elapsed = time.perf_counter() - self.started
        if done >= self.total:
            return f"done in {clock(elapsed)}"
        return f"eta {clock(elapsed / max(done - self.before, 1) * (self.total - done))}"
