"""Every number a student reads, written the way the language writes it (Babel's CLDR data).

One :class:`Numbers` per language: ``60.000`` / ``60,000``; ``1,46`` / ``1.46``; accuracy always as a
percentage, ``97,60%`` / ``97.60%``; times in seconds or milliseconds; ratios ``2,6×``. Report tables,
sentences, figure ticks, the web page and the grader's feedback all format through it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from babel import Locale
from babel.numbers import format_decimal, format_percent

NO_VALUE = "–"  # a number that was not measured
TIMES = "×"  # ratios: '2,6×'
SLOW_SECONDS = 100  # from here on a duration has no decimals: 412 s
SECOND_DIGITS = 1  # 3.2 s
SUBSECOND_DIGITS = 3  # 0.004 s


def pattern(digits: int, suffix: str = "") -> str:
    """A CLDR number pattern with grouping and exactly ``digits`` decimals: 2 -> '#,##0.00'."""
    return "#,##0" + ("." + "0" * digits if digits > 0 else "") + suffix


@dataclass(frozen=True)
class Numbers:
    """Number formats of one locale; every method returns text for a student."""

    locale: Locale  # Babel locale: its decimal sign, grouping and percent sign

    def integer(self, value: int | float | None) -> str:
        """A count with the locale's grouping: 60.000 (nl), 60,000 (en)."""
        return NO_VALUE if value is None else format_decimal(round(value), format=pattern(0), locale=self.locale)

    def decimal(self, value: float | None, digits: int = 2) -> str:
        """A decimal with exactly ``digits`` decimals: 1,46 (nl), 1.46 (en)."""
        if value is None:
            return NO_VALUE
        if not math.isfinite(value):
            return format_decimal(value, locale=self.locale)
        return format_decimal(value, format=pattern(digits), locale=self.locale, decimal_quantization=True)

    def percent(self, fraction: float | None, digits: int = 2) -> str:
        """A fraction as a percentage: 0.976 -> 97,60% (nl), 97.60% (en). Accuracy is always written this way."""
        if fraction is None:
            return NO_VALUE
        return format_percent(fraction, format=pattern(digits, "%"), locale=self.locale, decimal_quantization=True)

    def points(self, value: float | None, digits: int = 2) -> str:
        """A number already in percent (a plot's axis, a difference in percentage points) with the percent sign."""
        return NO_VALUE if value is None else self.percent(value / 100, digits)

    def seconds(self, value: float | None) -> str:
        """A duration with sensible precision: 0,004 s, 3,2 s, 412 s."""
        if value is None:
            return NO_VALUE
        if value >= SLOW_SECONDS:
            return f"{self.integer(value)} s"
        return f"{self.decimal(value, SECOND_DIGITS if value >= 1 else SUBSECOND_DIGITS)} s"

    def milliseconds(self, seconds: float | None, digits: int = 2) -> str:
        """A short duration given in seconds, written in milliseconds: 0.000383 -> 0,38 ms."""
        return NO_VALUE if seconds is None else f"{self.decimal(seconds * 1000, digits)} ms"

    def ratio(self, value: float | None, digits: int = 1) -> str:
        """How many times as much: 2,6× (nl), 2.6× (en)."""
        return NO_VALUE if value is None else f"{self.decimal(value, digits)}{TIMES}"

    def short(self, value: float | None, digits: int = 3) -> str:
        """A number without trailing zeros (a setting, a strength, a tick): 0,5 / 0,25 / 3 / 10.000."""
        if value is None:
            return NO_VALUE
        if float(value).is_integer():
            return self.integer(value)
        return format_decimal(value, format="#,##0." + "#" * max(digits, 1), locale=self.locale)

    def significant(self, value: float | None, digits: int = 3) -> str:
        """A measurement with ``digits`` significant digits, never in exponent notation: 1.440 / 0,0123."""
        if value is None:
            return NO_VALUE
        if value == 0 or not math.isfinite(value):
            return self.short(value)
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        return self.short(round(value, decimals), decimals)

    def signed(self, value: float, digits: int = 1) -> str:
        """A decimal with its sign always written: +1,5 / -0,3."""
        return ("+" if value >= 0 else "") + self.decimal(value, digits)
