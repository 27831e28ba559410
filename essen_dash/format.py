"""Format numbers and dates the German way (decimal comma, thousands dot)."""

from __future__ import annotations

import math
from datetime import date


def de_number(value: float | int | None, decimals: int = 1, unit: str = "") -> str:
    """Return ``value`` with German separators, e.g. ``588.875`` or ``7,1 %``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "kein Wert"
    text = f"{value:,.{decimals}f}".replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return f"{text} {unit}".strip() if unit else text


def de_date(day: date) -> str:
    """Return a date as ``30.09.2016``."""
    return day.strftime("%d.%m.%Y")
