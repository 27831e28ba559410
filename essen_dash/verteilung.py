"""Verteilungsrechner: split a budget or a number of posts across the nine Bezirke by a stated key.

A key weights count Kennzahlen of the catalog (``origin12_count:50,population_count:50``). A Bezirk's share of
one count is its count over the city's count at the Stichtag, the city being its nine Bezirke: for every
published count the sum of the Bezirke is the published city figure; for a count derived from rounded shares
it differs slightly and the sum is used, so the shares add up to 100 % (the key's notes say so). The key share
is the weighted sum of those shares.

Posts are apportioned whole, euros to the cent, by the largest-remainder method (Hare-Niemeyer): each Bezirk
gets the whole part of its quota, the pieces left over go one by one to the largest remainders, so the parts add
up to the total exactly. An optional minimum per Bezirk is met by giving exactly the minimum to every Bezirk
whose quota falls below it and apportioning the rest among the others by the key (repeated until none falls
below). All arithmetic is exact (fractions), so a tie is a real tie and is decided by a stated rule.

The module holds the computation, its figures and its views (registered with :func:`views.register`); the page
``pages/verteilung.py`` only shows them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from essen_dash.classify import NO_VALUE_COLOUR, SEQUENTIAL
from essen_dash.data import AppData, memoized
from essen_dash.figures.choropleth import HALO, label_colour
from essen_dash.figures.common import ACCENT, HIGHLIGHT, MUTED
from essen_dash.figures.tables import table_figure
from essen_dash.format import de_date, de_number
from essen_dash.frames import ALLOCATION, area_values, city_values, outline_coords
from essen_dash.kennzahlen import Kennzahl
from essen_dash.params import Params, as_query
from essen_dash.tables.schema import BEZIRK_IDS
from essen_dash.views import Chart, View, register

PAGE = "verteilung"
#: the parameters of every view of the page (the district filter only highlights; the split is always city-wide)
VIEW_PARAMS = ("total", "unit", "key", "min", "bezirk")
#: the Kennzahl "per 1.000 inhabitants" is taken of
POPULATION = "population_count"
LESS, MORE = "#e08214", ACCENT  # PuOr ends: readable for colour-blind readers and in greyscale


# --- units and presets ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """What is distributed: its words, its smallest piece and how its per-person figures are scaled."""

    key: str
    label: str  # "Stellen", "Euro"
    one: str  # "Stelle", "Euro"
    symbol: str  # after a number: "Stellen", "€"
    pieces: int  # indivisible pieces per unit: 1 post, 100 cents
    decimals: int
    #: the persons a per-group figure is given for (posts per 1.000 persons, euros per person)
    per_persons: int

    def format(self, value: float, whole: bool = False) -> str:
        """Return an amount with its unit: ``1 Stelle``, ``8 Stellen``, ``1.000.000,00 €`` (``whole``: without
        cents where there are none, ``1.000.000 €``)."""
        if self.key == "posts" and value == 1:
            return f"1 {self.one}"
        return de_number(value, 0 if whole and value == int(value) else self.decimals, self.symbol)

    def rule(self) -> str:
        """Return the rounding rule in words (for figures, the page and the XLSX)."""
        pieces = "ganze Stellen" if self.pieces == 1 else "Beträge auf den Cent genau (gerechnet in Cent)"
        return (f"{pieces} nach dem Verfahren der größten Reste (Hare-Niemeyer): jeder Bezirk erhält zuerst den "
                "ganzzahligen Teil seiner Quote (Gesamtmenge × Schlüsselanteil), die übrigen "
                f"{'Stellen' if self.pieces == 1 else 'Cent'} gehen einzeln an die Bezirke mit den größten Resten; "
                "so ergibt die Summe genau die Gesamtmenge. " + TIE_RULE)


UNITS = {u.key: u for u in (Unit("posts", "Stellen", "Stelle", "Stellen", 1, 0, 1000),
                            Unit("eur", "Euro", "Euro", "€", 100, 2, 1))}
TIE_RULE = ("Bei gleichem Rest erhält der Bezirk mit dem größeren Schlüsselanteil den Vorzug, dann der in der "
            "amtlichen Reihenfolge frühere (I vor II).")
SHORT_RULE = "gerundet nach größten Resten (Hare-Niemeyer)"


@dataclass(frozen=True)
class Preset:
    """A total named in the founding documents, with the document and date it comes from."""

    key: str
    label: str
    unit: str
    total: int
    source: str


#: the totals of the founding documents (figures only; the documents are in ../shared/seeds)
PRESETS = (
    Preset("integrationsbudget-bezirksstellen", "Integrationsbudget der Bezirksstellen 2017/2018", "eur", 1_000_000,
           "Ratsvorlage 1846/2016 „Strategiekonzept Integration von Flüchtlingen“ vom 13.12.2016"),
    Preset("wohlfahrtsverbaende", "Stellen bei den Wohlfahrtsverbänden (VZÄ)", "posts", 35,
           "Ratsvorlage 1846/2016 vom 13.12.2016; Pressemitteilung der Stadt Essen vom 04.09.2017"),
    Preset("quartiermanager", "Quartiermanager in den Sozialen Diensten", "posts", 7,
           "Ratsvorlage 1846/2016 vom 13.12.2016 (7 VZÄ); Pressemitteilung der Stadt Essen vom 04.09.2017"),
    Preset("beratung-neuzugewanderte", "Stellen der Beratung für Neuzugewanderte (seit 2021)", "posts", 30,
           "Pressemitteilung der Stadt Essen vom 25.09.2024"),
    Preset("integrationsbudget-jahr", "Integrationsbudget je Jahr (Haushalt 2020/2021)", "eur", 4_900_000,
           "Pressemitteilung der Stadt Essen vom 20.02.2020 (Konzept „Zusammenleben in Vielfalt“)"),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}


def preset_for(unit: str, total: float) -> Preset | None:
    """Return the preset with this unit and total, if the setting is one."""
    return next((q for q in PRESETS if q.unit == unit and q.total == total), None)


def total_source(p: Params) -> str:
    preset = preset_for(p.unit, p.total)
    return f"Gesamtmenge: {preset.label}, {preset.source}" if preset else "Gesamtmenge: eigene Eingabe"


# --- apportionment -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Apportionment:
    """Whole pieces per party, the exact quotas they come from, and the parties a tie rule decided between."""

    seats: tuple[int, ...]
    quotas: tuple[Fraction, ...]
    tied: tuple[int, ...] = ()


def largest_remainder(pieces: int, weights: Sequence[Fraction]) -> Apportionment:
    """Return the Hare-Niemeyer apportionment of ``pieces`` by ``weights`` (exact fractions, not all zero).

    Equal remainders go to the larger weight, then to the earlier position; ``tied`` names the parties whose
    equal remainders straddled the cut, so the rule (not the key) decided between them.
    """
    if pieces < 0:
        raise ValueError("pieces must not be negative")
    total = sum(weights, Fraction(0))
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative and not all zero")
    quotas = [pieces * Fraction(w) / total for w in weights]
    seats = [math.floor(q) for q in quotas]
    left = pieces - sum(seats)
    remainder = [q - s for q, s in zip(quotas, seats)]
    order = sorted(range(len(weights)), key=lambda i: (-remainder[i], -weights[i], i))
    for i in order[:left]:
        seats[i] += 1
    tied: tuple[int, ...] = ()
    if 0 < left < len(order) and remainder[order[left - 1]] == remainder[order[left]]:
        cut = remainder[order[left]]
        tied = tuple(i for i in range(len(order)) if remainder[i] == cut)
    return Apportionment(tuple(seats), tuple(quotas), tied)


def apportion(pieces: int, shares: Sequence[Fraction], minimum: int = 0) -> tuple[Apportionment, tuple[bool, ...]]:
    """Return the apportionment of ``pieces`` by ``shares`` in which every party gets at least ``minimum``, and
    which parties were raised to the minimum (they get exactly it; the rest goes to the others by their shares)."""
    n = len(shares)
    if minimum < 0 or minimum * n > pieces:
        raise ValueError("the minimum cannot be met")
    fixed = [False] * n
    while True:
        free = [i for i in range(n) if not fixed[i]]
        rest = pieces - minimum * (n - len(free))
        weight = sum((shares[i] for i in free), Fraction(0))
        below = [i for i in free if rest * shares[i] < minimum * weight]
        if not below:
            break
        for i in below:
            fixed[i] = True
    inner = largest_remainder(rest, [shares[i] for i in free])
    seats, quotas = [minimum] * n, [Fraction(minimum)] * n
    for i, s, q in zip(free, inner.seats, inner.quotas):
        seats[i], quotas[i] = s, q
    return Apportionment(tuple(seats), tuple(quotas), tuple(free[i] for i in inner.tied)), tuple(fixed)


# --- the key and the result ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyPart:
    """One Kennzahl of a key: its weight, the count of every Bezirk, their sum and the published city value."""

    kennzahl: Kennzahl
    weight: Decimal
    counts: tuple[float, ...]  # in the order of BEZIRK_IDS
    total: float
    city: float | None

    def text(self, short: bool = False) -> str:
        weight = de_number(float(self.weight), 0 if self.weight == int(self.weight) else 2)
        return f"{weight} % {self.kennzahl.short if short else self.kennzahl.label}"


def key_parts(data: AppData, p: Params) -> tuple[KeyPart, ...]:
    """Return the parsed key of ``p`` with the counts of its Kennzahlen at ``p.stichtag``."""
    catalog = data.catalog(p.stichtag)
    values = area_values(data, "bezirk", p.stichtag).set_index("bezirk_id").loc[list(BEZIRK_IDS)]
    city = city_values(data, p.stichtag)
    out = []
    for part in p.key:
        name, _, weight = part.partition(":")
        counts = tuple(float(v) for v in values[name])
        out.append(KeyPart(catalog[name], Decimal(weight), counts, float(sum(counts)), city.get(name)))
    return tuple(out)


def names(items: Sequence[str]) -> str:
    """Return ``A``, ``A und B`` or ``A, B und C``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} und {items[-1]}"


def key_text(parts: Sequence[KeyPart], short: bool = False) -> str:
    """Return the key in words; ``short`` for headings: ``nach Personen: 50 % 12 Herkunftsländer und 50 % …``
    when every part counts the same unit."""
    units = {part.kennzahl.unit for part in parts}
    texts = [part.text(short) for part in parts]
    if short and len(units) == 1:
        unit = units.pop()
        texts = [t.removesuffix(f" ({unit})") for t in texts]
        return f"nach {unit}: {names(texts)}"
    return names(texts)


def exact(value: float) -> Fraction:
    """Return a count as an exact fraction (derived counts are decimals, taken as printed)."""
    return Fraction(repr(float(value)))


def key_shares(parts: Sequence[KeyPart]) -> list[Fraction]:
    """Return each Bezirk's key share: Σ weight/100 × count of the Bezirk / count of the city (exact)."""
    shares = [Fraction(0)] * len(BEZIRK_IDS)
    for part in parts:
        city = sum((exact(c) for c in part.counts), Fraction(0))
        for i, count in enumerate(part.counts):
            shares[i] += Fraction(part.weight) / 100 * exact(count) / city
    return shares


@dataclass(frozen=True, eq=False)
class Result:
    """A split: the setting, its key, the table of every Bezirk, and what the rounding rule decided."""

    p: Params
    unit: Unit
    parts: tuple[KeyPart, ...]
    frame: pd.DataFrame
    tied: tuple[str, ...] = ()
    at_minimum: tuple[str, ...] = ()

    @property
    def total_text(self) -> str:
        return self.unit.format(self.p.total, whole=True)

    @property
    def key_text(self) -> str:
        return key_text(self.parts)

    @property
    def short_key_text(self) -> str:
        return key_text(self.parts, short=True)


def _pieces(value: float, unit: Unit) -> int:
    return int(Decimal(str(value)) * unit.pieces)


@memoized
def compute(data: AppData, p: Params) -> Result:
    """Return the split of ``p`` (parameters as parsed, so valid) at ``p.stichtag``."""
    unit = UNITS[p.unit]
    parts = key_parts(data, p)
    shares = key_shares(parts)
    result, fixed = apportion(_pieces(p.total, unit), shares, _pieces(p.min, unit))
    values = area_values(data, "bezirk", p.stichtag).set_index("bezirk_id").loc[list(BEZIRK_IDS)]
    housing_key = ALLOCATION[0]
    housing = data.catalog(p.stichtag)[housing_key]
    frame = pd.DataFrame({"bezirk_id": list(BEZIRK_IDS), "name": values["name"].to_numpy()})
    frame["key_share_pct"] = [float(s * 100) for s in shares]
    frame["quota"] = [float(s * Fraction(Decimal(str(p.total)))) for s in shares]  # before rounding and minimum
    frame["pieces"] = list(result.seats)
    frame["amount"] = [s / unit.pieces for s in result.seats]
    frame["at_minimum"] = list(fixed)
    frame["population"] = values[POPULATION].to_numpy(dtype=float)
    frame["per_1000_inhabitants"] = frame["amount"] / frame["population"] * 1000
    for part in parts:
        counts = np.array(part.counts, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[f"per_group:{part.kennzahl.key}"] = np.where(counts > 0, frame["amount"] / counts
                                                               * unit.per_persons, np.nan)
    frame["equal_diff"] = frame["amount"] - p.total / len(BEZIRK_IDS)
    frame["housing_pct"] = values[housing_key].to_numpy(dtype=float)
    frame["housing_diff_pp"] = frame["housing_pct"] - frame["key_share_pct"]
    # a published share is rounded to its last digit: a difference within half of it is no difference
    tolerance = 0.5 * 10 ** -housing.decimals
    frame["housing_verdict"] = ["kein Wert veröffentlicht" if np.isnan(d) else
                                "mehr als nach Schlüssel" if d > tolerance else
                                "weniger als nach Schlüssel" if d < -tolerance else "etwa wie nach Schlüssel"
                                for d in frame["housing_diff_pp"]]
    return Result(p, unit, parts, frame, tuple(BEZIRK_IDS[i] for i in result.tied),
                  tuple(b for b, f in zip(BEZIRK_IDS, fixed) if f))


# --- words ---------------------------------------------------------------------------------------------------

def bezirke_text(ids: Sequence[str], case: str = "nom") -> str:
    """Return ``Stadtbezirk I`` or ``die Stadtbezirke I und II`` (``dat``: ``den Stadtbezirken I und II``)."""
    if len(ids) == 1:
        return f"Stadtbezirk {ids[0]}"
    return f"{'die Stadtbezirke' if case == 'nom' else 'den Stadtbezirken'} {names(list(ids))}"


def receive(ids: Sequence[str]) -> str:
    """Return the Bezirke as subject with the verb: ``erhält Stadtbezirk I`` / ``erhalten die Stadtbezirke …``."""
    return f"{'erhält' if len(ids) == 1 else 'erhalten'} {bezirke_text(ids)}"


def minimum_text(r: Result) -> str:
    if not r.p.min:
        return "kein Mindestwert je Bezirk"
    return (f"mindestens {r.unit.format(r.p.min)} je Bezirk: wessen Quote darunter läge, erhält genau den "
            "Mindestwert, der Rest geht nach dem Schlüssel an die übrigen Bezirke")


def tie_text(r: Result) -> str:
    return (f"Gleicher Rest bei {bezirke_text(r.tied, 'dat')}: entschieden nach der Regel für gleiche Reste."
            if r.tied else "")


def explanation(r: Result) -> str:
    """Return the German sentences that explain a split (page, captions and the XLSX)."""
    f = r.frame
    top = f[f["pieces"] == f["pieces"].max()]
    low = f[f["pieces"] == f["pieces"].min()]
    each = lambda rows: ("je " if len(rows) > 1 else "") + r.unit.format(rows["amount"].iloc[0])  # noqa: E731
    text = (f"{r.total_text} werden nach dem Schlüssel {r.key_text} (Stand {de_date(r.p.stichtag)}) auf die "
            f"neun Stadtbezirke verteilt. Am meisten {receive(top['bezirk_id'].tolist())} ({each(top)}), am "
            f"wenigsten {receive(low['bezirk_id'].tolist())} ({each(low)}). Gerundet wurde nach dem Verfahren der "
            f"größten Reste (Hare-Niemeyer); zusammen ergibt das genau {r.total_text}.")
    if r.at_minimum:
        text += (f" Den Mindestwert von {r.unit.format(r.p.min)} {receive(r.at_minimum)}, weil ihr Anteil nach "
                 "dem Schlüssel darunter läge.")
    if r.tied:
        text += " " + tie_text(r)
    return text + " " + comparison_text(r)


def comparison_text(r: Result) -> str:
    f = r.frame
    more = f[f["housing_verdict"] == "mehr als nach Schlüssel"]["bezirk_id"].tolist()
    less = f[f["housing_verdict"] == "weniger als nach Schlüssel"]["bezirk_id"].tolist()
    parts = [f"{bezirke_text(ids)} {word}" for ids, word in ((more, "mehr"), (less, "weniger")) if ids]
    if not parts:
        return "Die Projektwohnungen sind etwa so verteilt, wie es dieser Schlüssel ergäbe."
    verb = "hat" if len(more) + len(less) == 1 else "haben"
    return (f"Von den Projektwohnungen {verb} {' und '.join(parts)} erhalten, als es dieser Schlüssel ergäbe "
            "(Abweichungen innerhalb der Rundung des veröffentlichten Anteils zählen nicht).")


def allocation_text(r: Result) -> str:
    """Return the allocation of every Bezirk in one sentence (what the map, ranking and table show)."""
    each = "; ".join(f"Stadtbezirk {row.bezirk_id} {r.unit.format(row.amount)}" for row in r.frame.itertuples())
    return f"Zuteilung nach dem Schlüssel {r.key_text}: {each} – zusammen genau {r.total_text}."


def share_rule(r: Result) -> str:
    return ("Anteil eines Bezirks an einer Anzahl = Anzahl des Bezirks / Anzahl der Gesamtstadt (Summe der neun "
            "Bezirke) am Stichtag; Schlüsselanteil = Summe aus Gewicht × Anteil.")


def key_notes(r: Result) -> list[str]:
    """Return per Kennzahl of the key how its city total is formed (and where it differs from the published)."""
    notes = []
    for part in r.parts:
        k = part.kennzahl
        text = f"{k.label}: Summe der Bezirke {k.format(part.total)}"
        if part.city is not None and k.reference == "published" and round(part.city) != round(part.total):
            text += (f"; veröffentlichter Wert der Gesamtstadt {k.format(part.city)} – die Bezirkswerte sind "
                     "berechnet, die Anteile beziehen sich auf ihre Summe, damit sie zusammen 100 % ergeben")
        notes.append(text)
    return notes


def subtitle(r: Result, *extra: str) -> str:
    """Return the two subtitle lines every view of a split carries: Stichtag and key; rounding rule, minimum,
    ties (two lines is what the print heading has room for)."""
    rule = [f"{SHORT_RULE}, Summe genau {r.total_text}",
            *([f"mindestens {r.unit.format(r.p.min, whole=True)} je Bezirk"] if r.p.min else []),
            *([tie_text(r)] if r.tied else []), *extra]
    return f"Stand {de_date(r.p.stichtag)} · Schlüssel {r.short_key_text}<br>{' · '.join(rule)}"


def source_line(data: AppData, r: Result, geometry: bool = False) -> str:
    return f"{data.source_line(r.p.stichtag, geometry=geometry)}; {total_source(r.p)}"


# --- figures -------------------------------------------------------------------------------------------------

def signed(value: float, decimals: int, unit: str = "") -> str:
    """Return a difference with its sign: ``+4,11``, ``−2,89`` (``0,00`` without one)."""
    text = de_number(abs(value), decimals, unit)
    if np.isnan(value) or round(value, decimals) == 0:
        return de_number(0.0 if not np.isnan(value) else value, decimals, unit)
    return ("+" if value > 0 else "−") + text


#: the top of a bar chart's plot area: room below the two-line heading, also in the print layout
TOP = 0.93


def _faded(frame: pd.DataFrame, selected: frozenset[str]) -> list[bool]:
    return [bool(selected) and b not in selected for b in frame["bezirk_id"]]


def hover(r: Result) -> list[dict]:
    """Return per Bezirk the named fields its tooltip shows (never positions)."""
    return [{"bezirk_id": row.bezirk_id, "name": row.name, "value": r.unit.format(row.amount),
             "share": de_number(row.key_share_pct, 2, "%"), "quota": de_number(row.quota, 2),
             "note": " (Mindestwert)" if row.at_minimum else ""} for row in r.frame.itertuples()]


HOVER = ("<b>%{customdata.name}</b><br>%{customdata.value}%{customdata.note}<br>Schlüsselanteil: "
         "%{customdata.share}<br>Quote nach Schlüssel: %{customdata.quota}<extra></extra>")


def map_figure(r: Result, geojson, labels: pd.DataFrame | None, outline: tuple[list, list] | None = None,
               height: int = 560) -> go.Figure:
    """Return the Bezirke coloured by their allocation, labelled with numeral and amount."""
    f = r.frame
    top = float(f["amount"].max()) or 1.0
    fig = go.Figure(go.Choropleth(
        geojson=geojson, locations=f["bezirk_id"].tolist(), z=f["amount"].tolist(), zmin=0, zmax=top,
        colorscale=SEQUENTIAL, customdata=hover(r), hovertemplate=HOVER, name=r.unit.label,
        marker={"line": {"color": "white", "width": 1}},
        colorbar={"title": {"text": r.unit.symbol, "side": "top"}, "thickness": 14, "len": 0.6, "x": 1.0,
                  "tickformat": ",.0f", "outlinewidth": 0}))
    if labels is not None:
        at = labels.set_index("key").loc[f["bezirk_id"]]
        fills = sample_colorscale(SEQUENTIAL, [v / top for v in f["amount"]])
        ink = [label_colour(c) for c in fills]
        for colour in sorted(set(ink)):
            keep = [c == colour for c in ink]
            fig.add_scattergeo(
                lon=at["lon"][keep].round(5).tolist(), lat=at["lat"][keep].round(5).tolist(), mode="text",
                text=[f"{b}<br>{de_number(a, 0)}" for b, a in zip(f["bezirk_id"][keep], f["amount"][keep])],
                textfont={"size": 13, "color": colour, "shadow": HALO[colour]}, hoverinfo="skip", showlegend=False,
                name="Beschriftung")
    if outline is not None:
        fig.add_scattergeo(lon=outline[0], lat=outline[1], mode="lines", line={"color": HIGHLIGHT, "width": 3},
                           name=f"Auswahl: Stadtbezirk {', '.join(sorted(r.p.bezirk))}", hoverinfo="skip")
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator", bgcolor="white")
    fig.update_layout(height=height, dragmode=False, margin={"l": 0, "r": 0, "t": 90, "b": 46},
                      legend={"x": 0, "y": 0.02, "bgcolor": "rgba(255,255,255,0.85)"})
    return fig


def ranking_figure(r: Result, selected: frozenset[str] = frozenset(), height: int = 440) -> go.Figure:
    """Return the Bezirke sorted by allocation (largest on top) with the equal split as a dashed line."""
    f = r.frame.sort_values(["amount", "bezirk_id"], ascending=[True, False])
    faded = _faded(f, selected)
    fills = sample_colorscale(SEQUENTIAL, [v / (float(r.frame["amount"].max()) or 1.0) for v in f["amount"]])
    fig = go.Figure(go.Bar(
        x=f["amount"].tolist(), y=f["name"].tolist(), orientation="h", name=r.unit.label,
        customdata=[{"bezirk_id": b} for b in f["bezirk_id"]],
        marker={"color": fills, "opacity": [0.35 if x else 1.0 for x in faded],
                "line": {"color": [HIGHLIGHT if selected and not x else "rgba(0,0,0,0)" for x in faded],
                         "width": 1.5}},
        text=[r.unit.format(a) + (" (Mindestwert)" if m else "") for a, m in zip(f["amount"], f["at_minimum"])],
        textposition="outside", cliponaxis=False,
        hovertext=[f"Schlüsselanteil {de_number(s, 2, '%')} · Quote nach Schlüssel {de_number(q, 2)}"
                   for s, q in zip(f["key_share_pct"], f["quota"])],
        hovertemplate="<b>%{y}</b><br>%{text}<br>%{hovertext}<extra></extra>"))
    equal = r.p.total / len(BEZIRK_IDS)
    fig.add_vline(x=equal, line={"color": MUTED, "dash": "dash", "width": 1.5})
    fig.add_annotation(x=equal, y=TOP, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"Gleichverteilung {de_number(equal, 2, r.unit.symbol)}", font={"size": 11, "color": MUTED})
    fig.update_layout(height=height, showlegend=False, bargap=0.25,
                      xaxis={"title": r.unit.label, "gridcolor": "#eef1f4", "zeroline": False, "tickformat": ",~r",
                             "range": [0, max(float(f["amount"].max()), equal) * 1.3]},
                      yaxis={"automargin": True, "domain": [0, TOP]}, margin={"l": 10, "r": 30, "t": 90, "b": 76})
    return fig


def comparison_figure(r: Result, selected: frozenset[str] = frozenset(), height: int = 440) -> go.Figure:
    """Return per Bezirk its share of project housing minus its key share (percentage points)."""
    f = r.frame.iloc[::-1]  # Bezirk I on top
    faded = _faded(f, selected)
    colours = [NO_VALUE_COLOUR if v == "etwa wie nach Schlüssel" else MORE if v.startswith("mehr") else LESS
               for v in f["housing_verdict"]]
    fig = go.Figure(go.Bar(
        x=f["housing_diff_pp"].tolist(), y=f["name"].tolist(), orientation="h", name="Abweichung",
        customdata=[{"bezirk_id": b, "housing": de_number(h, 1, "%"), "key": de_number(k, 2, "%"), "verdict": v}
                    for b, h, k, v in zip(f["bezirk_id"], f["housing_pct"], f["key_share_pct"], f["housing_verdict"])],
        marker={"color": colours, "opacity": [0.35 if x else 1.0 for x in faded]},
        text=[signed(d, 1, "Pp.") if not np.isnan(d) else "kein Wert veröffentlicht" for d in f["housing_diff_pp"]],
        textposition="outside", cliponaxis=False,
        hovertemplate="<b>%{y}</b><br>Projektwohnungen: %{customdata.housing}<br>Schlüsselanteil: "
                      "%{customdata.key}<br>%{customdata.verdict}<extra></extra>"))
    fig.add_vline(x=0, line={"color": MUTED, "width": 1})
    reach = float(np.nanmax(np.abs(f["housing_diff_pp"].to_numpy(dtype=float)))) if f["housing_diff_pp"].notna().any() \
        else 1.0
    fig.update_layout(height=height, showlegend=False, bargap=0.25,
                      xaxis={"title": "Abweichung (Prozentpunkte)",
                             "gridcolor": "#eef1f4", "zeroline": False, "range": [-reach * 1.35, reach * 1.35]},
                      yaxis={"automargin": True, "domain": [0, TOP]}, margin={"l": 10, "r": 30, "t": 90, "b": 76})
    return fig


# --- tables --------------------------------------------------------------------------------------------------

def per_group_label(r: Result, k: Kennzahl) -> str:
    """Return ``Stellen je 1.000 Personen: 12 Herkunftsländer`` or ``Euro je Person: Bevölkerung``."""
    per = f"je {de_number(r.unit.per_persons, 0)} {k.unit}" if r.unit.per_persons > 1 else "je Person"
    return f"{r.unit.label} {per}: {k.short.removesuffix(f' ({k.unit})')}"


def result_table(r: Result) -> pd.DataFrame:
    """Return the result per Bezirk as display strings with German headers, and the sum of all Bezirke."""
    f, u = r.frame, r.unit
    per_decimals = 3 if u.key == "posts" else 2
    table = pd.DataFrame({
        "Stadtbezirk": f["name"],
        "Schlüsselanteil": [de_number(v, 2, "%") for v in f["key_share_pct"]],
        "Quote nach Schlüssel": [de_number(v, 2) for v in f["quota"]],
        "Zuteilung": [u.format(a) + (" (Mindestwert)" if m else "") for a, m in zip(f["amount"], f["at_minimum"])],
        f"{u.label} je 1.000 Einwohner": [de_number(v, per_decimals) for v in f["per_1000_inhabitants"]],
    })
    for part in r.parts:
        table[per_group_label(r, part.kennzahl)] = [
            de_number(v, 2) for v in f[f"per_group:{part.kennzahl.key}"]]
    table["Unterschied zur Gleichverteilung"] = [signed(d, 2) for d in f["equal_diff"]]
    total = {"Stadtbezirk": "Summe", "Schlüsselanteil": de_number(float(f["key_share_pct"].sum()), 2, "%"),
             "Quote nach Schlüssel": de_number(float(f["quota"].sum()), 2),
             "Zuteilung": u.format(sum(f["pieces"]) / u.pieces)}
    table.loc[len(table)] = [total.get(c, "") for c in table.columns]
    return table


def comparison_table(r: Result) -> pd.DataFrame:
    f = r.frame
    return pd.DataFrame({
        "Stadtbezirk": f["name"],
        "Schlüsselanteil": [de_number(v, 2, "%") for v in f["key_share_pct"]],
        "Anteil an den Projektwohnungen": [de_number(v, 1, "%") for v in f["housing_pct"]],
        "Abweichung": [signed(v, 1, "Pp.") for v in f["housing_diff_pp"]],
        "Projektwohnungen …": f["housing_verdict"],
    })


# --- views ---------------------------------------------------------------------------------------------------

def _chart(figure: go.Figure, title: str, sub: str, source: str, table: pd.DataFrame | None = None,
           caption: str = "") -> Chart:
    """Return a Chart; the caption travels with it where the Chart record has one."""
    extra = {"caption": caption} if "caption" in {f.name for f in fields(Chart)} else {}
    return Chart(figure, title, sub, source, table, **extra)


def verteilung_map(data: AppData, p: Params, geo) -> Chart:
    r = compute(data, p)
    outline = outline_coords(data.boundaries.units["bezirke"], p.bezirk) if p.bezirk else None
    fig = map_figure(r, geo("bezirk"), data.boundaries.label_points["bezirk"], outline)
    return _chart(fig, f"Verteilung von {r.total_text} auf die Stadtbezirke", subtitle(r),
                  source_line(data, r, geometry=True), caption=allocation_text(r))


def verteilung_ranking(data: AppData, p: Params, geo) -> Chart:
    r = compute(data, p)
    return _chart(ranking_figure(r, p.selected), f"Rangfolge der Zuteilung: {r.total_text}",
                  subtitle(r, "gestrichelt: Gleichverteilung"), source_line(data, r),
                  caption=allocation_text(r))


def verteilung_comparison(data: AppData, p: Params, geo) -> Chart:
    r = compute(data, p)
    housing = data.catalog(p.stichtag)[ALLOCATION[0]]
    return _chart(comparison_figure(r, p.selected), "Projektwohnungen gegen den Schlüssel: Abweichung je Bezirk",
                  f"Stand {de_date(p.stichtag)} · Schlüssel {r.short_key_text}<br>Anteil an den {housing.short} "
                  "(veröffentlicht) minus Schlüsselanteil, in Prozentpunkten · blau: mehr, orange: weniger · "
                  "bis ±0,05 Pp. Rundung",
                  source_line(data, r), caption=comparison_text(r))


def verteilung_table(data: AppData, p: Params, geo) -> Chart:
    r = compute(data, p)
    table = result_table(r)
    return _chart(table_figure(table), f"Verteilung von {r.total_text}: Werte je Bezirk", subtitle(r),
                  source_line(data, r), table, caption=allocation_text(r))


MAP = View(PAGE, "map", "Karte", VIEW_PARAMS, verteilung_map, needs_geometry=True)
RANKING = View(PAGE, "ranking", "Rangfolge", VIEW_PARAMS, verteilung_ranking)
COMPARISON = View(PAGE, "comparison", "Vergleich", VIEW_PARAMS, verteilung_comparison)
TABLE = View(PAGE, "table", "Tabelle", VIEW_PARAMS, verteilung_table)
register(MAP, RANKING, COMPARISON, TABLE, default="map")


# --- the XLSX export -----------------------------------------------------------------------------------------

SETTING_NAMES = ("total", "unit", "key", "min")


def page_query(p: Params) -> str:
    """Return the page's URL query for a setting (the link that restores it)."""
    return urlencode({**as_query(p, SETTING_NAMES), "stichtag": p.stichtag.isoformat()}, safe=",:")


def xlsx_filename(p: Params) -> str:
    return f"essen-verteilung_{p.total}-{p.unit}_{p.stichtag.isoformat()}.xlsx"


def xlsx_bytes(data: AppData, p: Params) -> bytes:
    """Return the split as a workbook: the result (numbers, not text), the key, the rules and the sources."""
    r = compute(data, p)
    f, u = r.frame, r.unit
    result = pd.DataFrame({
        "Stadtbezirk": f["bezirk_id"], "Name": f["name"], "Schlüsselanteil (%)": f["key_share_pct"],
        f"Quote nach Schlüssel, ungerundet ({u.label})": f["quota"], f"Zuteilung ({u.label})": f["amount"],
        "Mindestwert angewandt": ["ja" if m else "nein" for m in f["at_minimum"]],
        "Einwohner": f["population"], f"{u.label} je 1.000 Einwohner": f["per_1000_inhabitants"]})
    for part in r.parts:
        result[per_group_label(r, part.kennzahl)] = f[f"per_group:{part.kennzahl.key}"]
    result[f"Unterschied zur Gleichverteilung ({u.label})"] = f["equal_diff"]
    result["Anteil an den Projektwohnungen (%, veröffentlicht)"] = f["housing_pct"]
    result["Projektwohnungen minus Schlüsselanteil (Pp.)"] = f["housing_diff_pp"]
    result["Projektwohnungen …"] = f["housing_verdict"]
    summe = {c: "" for c in result.columns}
    summe.update({"Stadtbezirk": "Summe", "Schlüsselanteil (%)": float(f["key_share_pct"].sum()),
                  f"Quote nach Schlüssel, ungerundet ({u.label})": float(f["quota"].sum()),
                  f"Zuteilung ({u.label})": sum(f["pieces"]) / u.pieces})
    result = pd.concat([result, pd.DataFrame([summe])], ignore_index=True)
    key = pd.DataFrame({
        "Kennzahl": [part.kennzahl.key for part in r.parts], "Bezeichnung": [part.kennzahl.label for part in r.parts],
        "Gewicht (%)": [float(part.weight) for part in r.parts],
        **{f"Stadtbezirk {b}": [part.counts[i] for part in r.parts] for i, b in enumerate(BEZIRK_IDS)},
        "Summe der Bezirke": [part.total for part in r.parts],
        "Wert der Gesamtstadt": [part.city for part in r.parts],
        "Herkunft": [data.catalog(p.stichtag).formula_text(part.kennzahl) for part in r.parts],
        "Quelle": [data.source_line(p.stichtag, part.kennzahl.source, geometry=False) for part in r.parts]})
    doc = data.document(p.stichtag)
    method = pd.DataFrame([
        ("Gesamtmenge", r.total_text), ("Einheit", u.label), ("Stichtag", de_date(p.stichtag)),
        ("Schlüssel", r.key_text), ("Schlüssel (URL)", ",".join(p.key)), ("Anteile", share_rule(r)),
        *[("Gesamtstadt", note) for note in key_notes(r)],
        ("Rundung", u.rule()), ("Mindestwert", minimum_text(r)),
        *([("Gleicher Rest", tie_text(r))] if r.tied else []),
        ("Ergebnis", explanation(r)),
        ("Einstellung als Link", f"/verteilung?{page_query(p)}"),
    ], columns=["Punkt", "Angabe"])
    sources = pd.DataFrame([
        ("Bezirkswerte", data.source_line(p.stichtag, geometry=False).removeprefix("Quelle: ")),
        *([("Dokument", f"Ratsvorlage {doc['document_id']} „{doc['title']}“ vom {de_date(doc['document_date'])}, "
                        f"Abschnitt {doc['bezirke_section']}")] if doc is not None else []),
        ("Projektwohnungen", f"{data.catalog(p.stichtag)[ALLOCATION[0]].label}: veröffentlichter Anteil, "
                             "gleiche Quelle"),
        ("Gesamtmenge", total_source(p).removeprefix("Gesamtmenge: ")),
    ], columns=["Angabe", "Quelle"])
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, sheet in (("Verteilung", result), ("Schlüssel", key), ("Methode", method), ("Quellen", sources)):
            sheet.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            for column in ws.columns:
                width = max(len(str(c.value or "")) for c in column[:12])
                ws.column_dimensions[column[0].column_letter].width = min(max(12, width + 2), 90)
    return buffer.getvalue()
