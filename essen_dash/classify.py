"""Classification schemes for choropleths, by key; breaks come from mapclassify (natural breaks from jenkspy).

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
from plotly.colors import diverging, sequential

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


def sample(scale: list[str], points) -> list[str]:
    """Return the colours of ``scale`` (evenly spaced ``rgb(…)`` stops) at ``points`` in 0…1, exactly as plotly's
    ``sample_colorscale`` writes them (linear in RGB, rounded half to even), for thousands of points at once; each
    distinct point is written once (thousands of areas share a few hundred values)."""
    stops = np.array([i * (1.0 / (len(scale) - 1)) for i in range(len(scale))])
    rgb = np.array([[float(c) / 255.0 for c in stop[stop.index("(") + 1:-1].split(",")] for stop in scale])
    points, at = np.unique(np.asarray(points, dtype=float), return_inverse=True)
    high = np.searchsorted(stops, points, side="left")
    low = high - 1  # before the first stop (a point of 0) plotly interpolates from the last one with weight 1
    weight = (points - stops[low]) / (stops[high] - stops[low])
    channels = np.round((rgb[low] + weight[:, None] * (rgb[high] - rgb[low])) * 255.0).astype(int)
    return np.array([f"rgb({r}, {g}, {b})" for r, g, b in channels.tolist()], dtype=object)[at].tolist()


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
    colours = np.full(len(values), NO_VALUE_COLOUR, dtype=object)
    colours[valued] = sample(scale, (values[valued] - lo) / span)
    colours = colours.tolist()
    return Classes("diverging" if diverging else "continuous", colours, [], [], [], True,
                   [[i / (len(scale) - 1), c] for i, c in enumerate(scale)], lo, hi, city if diverging else None)


def mapclassify_breaks(classifier: str) -> Callable[[np.ndarray, int], list[float]]:
    """Return the upper bounds of ``k`` classes by mapclassify's ``classifier`` (imported when first used: it
    pulls in SciPy, a second of start-up that the default continuous scale never needs)."""

    def breaks(valid: np.ndarray, k: int) -> list[float]:
        with warnings.catch_warnings():
            # fewer distinct values than classes is expected for nine Bezirke; numba is optional
            warnings.filterwarnings("ignore", message="Not enough unique values|Numba not installed")
            return list(getattr(importlib.import_module("mapclassify"), classifier)(valid, k=k).bins)

    return breaks


def jenks_breaks(valid: np.ndarray, k: int) -> list[float]:
    """Return the upper bounds of ``k`` classes by Fisher-Jenks natural breaks: jenkspy's exact algorithm in C
    gives mapclassify's breaks, and takes 50 ms for 5,000 areas where mapclassify without numba takes a minute."""
    import jenkspy

    return [float(valid.max())] if k < 2 else jenkspy.jenks_breaks(valid, n_classes=k)[1:]


def _classified(kind: str, breaks: Callable[[np.ndarray, int], list[float]]) -> Callable:
    """Return a scheme of at most ``K`` classes whose upper bounds ``breaks`` finds."""

    def build(values: np.ndarray, city: float, fmt) -> Classes:
        valid = values[~np.isnan(values)]
        if len(valid) == 0:  # nothing published at this level: every unit is "no value"
            return Classes(kind, [NO_VALUE_COLOUR] * len(values), [], [], [], False, [], 0, 0)
        bins = [float(b) for b in breaks(valid, max(1, min(K, len(np.unique(valid)))))]
        palette = sample(SEQUENTIAL, np.linspace(0.12, 1.0, len(bins)))
        # the breaks as half-open classes in the German statistical style: "a bis unter b", the last class closed
        # ("a bis b"), so a value on a break belongs to exactly one class
        lows = [float(valid.min())] + bins[:-1]
        labels = [f"{fmt(lo)} bis unter {fmt(hi)}" for lo, hi in zip(lows[:-1], bins[:-1])] + \
                 [f"{fmt(lows[-1])} bis {fmt(bins[-1])}"]
        index = np.searchsorted(bins[:-1], values, side="right")
        colours = np.where(np.isnan(values), NO_VALUE_COLOUR, np.array(palette, dtype=object)[index]).tolist()
        return Classes(kind, colours, labels, palette, bins, False, [], 0, len(bins) - 1)

    return build


SCHEMES: dict[str, Scheme] = {
    s.key: s
    for s in (
        Scheme("continuous", "stetig", lambda v, c, f: _continuous(v, c, f),
               "Farbe wächst stetig mit dem Wert."),
        Scheme("quantiles", "Quantile", _classified("quantiles", mapclassify_breaks("Quantiles")),
               "Klassen mit je etwa gleich vielen Gebieten (mapclassify Quantiles)."),
        Scheme("equal_interval", "gleiche Intervalle",
               _classified("equal_interval", mapclassify_breaks("EqualInterval")),
               "Klassen gleicher Breite zwischen Minimum und Maximum (mapclassify EqualInterval)."),
        Scheme("natural_breaks", "natürliche Brüche (Jenks)",
               _classified("natural_breaks", jenks_breaks),
               "Klassengrenzen an den größten Sprüngen der Werte (Fisher-Jenks, deterministisch)."),
        Scheme("deviation", "Abweichung vom Stadtwert", lambda v, c, f: _continuous(v, c, f, diverging=True),
               "Zweifarbig um den Wert der Gesamtstadt: orange darüber, lila darunter."),
    )
}
DEFAULT_SCHEME = "continuous"
