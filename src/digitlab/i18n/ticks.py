"""Matplotlib tick formatters in the current language: figures number their axes like the page around them.

``localize_axes(fig)`` (called by a figure builder once its axes are drawn) replaces the default
formatters of every numeric axis with locale-aware ones; ``percent_axis(ax.yaxis)`` marks an axis whose
values are percentages (accuracy drawn in percent).
"""

from __future__ import annotations

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, ScalarFormatter

from digitlab.i18n.numbers import Numbers
from digitlab.i18n.translator import current

TICK_DIGITS = 3  # decimals a tick may need (0,125); trailing zeros are dropped
PERCENT = 100


def number_formatter(numbers: Numbers | None = None) -> FuncFormatter:
    """Ticks as plain numbers in the locale: 0,5 / 1.000 / 60.000."""
    numbers = numbers or current().numbers
    return FuncFormatter(lambda value, _position: numbers.short(value, TICK_DIGITS))


def percent_formatter(numbers: Numbers | None = None, fractions: bool = False) -> FuncFormatter:
    """Ticks of values in percent (92 -> 92%), or of fractions with ``fractions`` (0.925 -> 92,5%)."""
    numbers = numbers or current().numbers
    scale = PERCENT if fractions else 1
    return FuncFormatter(lambda value, _position: f"{numbers.short(value * scale, TICK_DIGITS)}%")


def percent_axis(axis: Axis, numbers: Numbers | None = None, fractions: bool = False) -> None:
    """Mark ``axis`` as a percentage axis: accuracy reads as a percentage in every figure."""
    axis.set_major_formatter(percent_formatter(numbers, fractions))


def localize_axes(figure: Figure, numbers: Numbers | None = None) -> Figure:
    """Every axis still on matplotlib's default number formatter gets the locale's (log axes included)."""
    numbers = numbers or current().numbers
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            major = axis.get_major_formatter()
            if isinstance(major, ScalarFormatter | LogFormatterSciNotation):
                axis.set_major_formatter(number_formatter(numbers))
                if isinstance(major, LogFormatterSciNotation):
                    axis.set_minor_formatter(FuncFormatter(lambda _value, _position: ""))
    return figure
