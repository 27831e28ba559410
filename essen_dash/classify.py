"""Classification schemes for choropleths, by key; breaks come from mapclassify.

Each scheme turns values (and the city reference) into a :class:`Classes`:
the colour of every value and the legend entries. Palettes are ColorBrewer
schemes that are safe for colour-blind readers and print in greyscale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import importlib
import warnings

import numpy as np
from plotly.colors import diverging, sample_colorscale, sequential

SEQUENTIAL = sequential.YlGnBu
DIVERGING = diverging.PuOr[::-1]  # low to high: purple below the city value, orange above
NO_VALUE_COLOUR = "#d9d9d9"
K = 4  # classes: nine Bezirke do not carry more


@dataclass(frozen=True)
class Classes:
    """How values map to colours, and what the legend says."""

    scheme: str
    colours: list[str]  # one per value; NO_VALUE_COLOUR where missing
    labels: list[str]  # legend entries, low to high ("" for a continuous scale)
    legend_colours: list[str]
    bins: list[float]  # upper bounds of classes (empty when continuous)
    continuous: bool
    colorscale: list  # plotly colorscale for the continuous case
    zmin: float
    zmax: float
    zmid: float | None = None


@dataclass(frozen=True)
class Scheme:
    key: str
    label: str
    build: Callable[[np.ndarray, float, Callable[[float], str]], Classes]
    description: str


def _continuous(values: np.ndarray, city: float | None, fmt, *, diverging: bool = False) -> Classes:
    diverging = diverging and city is not None  # without a city value there is nothing to deviate from
    valid = values[~np.isnan(values)]
    lo, hi = (float(valid.min()), float(valid.max())) if len(valid) else (0.0, 1.0)
    if diverging:
        half = max(abs(hi - city), abs(city - lo)) or 1.0
        lo, hi, scale = city - half, city + half, DIVERGING
    else:
        scale = SEQUENTIAL
    span = (hi - lo) or 1.0
    valued = ~np.isnan(values)
    sampled = iter(sample_colorscale(scale, list((values[valued] - lo) / span)))
    colours = [next(sampled) if has else NO_VALUE_COLOUR for has in valued]
    return Classes("diverging" if diverging else "continuous", colours, [], [], [], True,
                   [[i / (len(scale) - 1), c] for i, c in enumerate(scale)], lo, hi, city if diverging else None)


def _classified(kind: str, classifier: str) -> Callable:
    """Return a scheme built on mapclassify's ``classifier`` (imported when first used: it pulls in SciPy, a
    second of start-up that the default continuous scale never needs)."""

    def build(values: np.ndarray, city: float, fmt) -> Classes:
        valid = values[~np.isnan(values)]
        if len(valid) == 0:  # nothing published at this level: every unit is "no value"
            return Classes(kind, [NO_VALUE_COLOUR] * len(values), [], [], [], False, [], 0, 0)
        k = max(1, min(K, len(np.unique(valid))))
        with warnings.catch_warnings():
            # fewer distinct values than classes is expected for nine Bezirke; numba is optional
            warnings.filterwarnings("ignore", message="Not enough unique values|Numba not installed")
            mc = getattr(importlib.import_module("mapclassify"), classifier)(valid, k=k)
        bins = [float(b) for b in mc.bins]
        palette = sample_colorscale(SEQUENTIAL, list(np.linspace(0.12, 1.0, len(bins))))
        # mapclassify's breaks as half-open classes in the German statistical style: "a bis unter b", the last
        # class closed ("a bis b"), so a value on a break belongs to exactly one class
        lows = [float(valid.min())] + bins[:-1]
        labels = [f"{fmt(lo)} bis unter {fmt(hi)}" for lo, hi in zip(lows[:-1], bins[:-1])] + \
                 [f"{fmt(lows[-1])} bis {fmt(bins[-1])}"]
        index = np.searchsorted(bins[:-1], values, side="right")
        colours = [NO_VALUE_COLOUR if np.isnan(v) else palette[i] for v, i in zip(values, index)]
        return Classes(kind, colours, labels, palette, bins, False, [], 0, len(bins) - 1)

    return build


SCHEMES: dict[str, Scheme] = {
    s.key: s
    for s in (
        Scheme("continuous", "stetig", lambda v, c, f: _continuous(v, c, f),
               "Farbe wächst stetig mit dem Wert."),
        Scheme("quantiles", "Quantile", _classified("quantiles", "Quantiles"),
               "Klassen mit je etwa gleich vielen Gebieten (mapclassify Quantiles)."),
        Scheme("equal_interval", "gleiche Intervalle",
               _classified("equal_interval", "EqualInterval"),
               "Klassen gleicher Breite zwischen Minimum und Maximum (mapclassify EqualInterval)."),
        Scheme("natural_breaks", "natürliche Brüche (Jenks)",
               _classified("natural_breaks", "FisherJenks"),
               "Klassengrenzen an den größten Sprüngen der Werte (mapclassify FisherJenks, deterministisch)."),
        Scheme("deviation", "Abweichung vom Stadtwert", lambda v, c, f: _continuous(v, c, f, diverging=True),
               "Zweifarbig um den Wert der Gesamtstadt: orange darüber, lila darunter."),
    )
}
DEFAULT_SCHEME = "continuous"
