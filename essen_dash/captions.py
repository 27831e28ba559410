"""German sentences that say what a view shows: highest, lowest, the selection against the city, flags.

They are the accessible description of a chart on screen, its alt text in exports and the speaker notes of
slides; each is built from the same frame as the chart, so it cannot say something the chart does not show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from essen_dash.format import de_number
from essen_dash.kennzahlen import Kennzahl


def names(items: list[str]) -> str:
    """Return ``A``, ``A und B`` or ``A, B und C``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} und {items[-1]}"


def against_city(value: float, city: float, decimals: int) -> str:
    rounded = round(value - city, decimals)
    return "über" if rounded > 0 else "unter" if rounded < 0 else "gleichauf mit"


def kennzahl_sentence(frame: pd.DataFrame, k: Kennzahl, selected: frozenset[str] = frozenset()) -> str:
    """Describe one Kennzahl over the areas of a frame (``kennzahl_frame``)."""
    values, names_of = frame["value"].to_numpy(dtype=float, na_value=np.nan), frame["name"].to_numpy()
    valued = ~np.isnan(values)
    if not valued.any():
        return f"{k.label}: für diese Gebiete ist kein Wert veröffentlicht."
    high, low = values[valued].max(), values[valued].min()
    text = (f"{k.label}: am höchsten in {names(names_of[values == high].tolist())} ({k.format(high)}), "
            f"am niedrigsten in {names(names_of[values == low].tolist())} ({k.format(low)})")
    city = float(frame["city_value"].iloc[0])
    text += f"; Gesamtstadt {k.format(city)}." if not np.isnan(city) else "; einen Wert der Gesamtstadt gibt es nicht."
    missing = len(frame) - int(valued.sum())
    if missing:
        text += f" Für {missing} von {len(frame)} Gebieten ist kein Wert veröffentlicht."
    chosen = frame["key"].isin(selected).to_numpy() & valued
    if not np.isnan(city):
        for name, value in zip(names_of[chosen], values[chosen]):
            text += (f" {name} liegt mit {k.format(value)} {against_city(value, city, k.decimals)} "
                     "dem Wert der Gesamtstadt.")
    flags = frame["flag"].to_numpy()
    for name, flag in zip(names_of[flags != ""], flags[flags != ""]):
        text += f" {name} (*): {flag}."
    return text


def change_sentence(frame: pd.DataFrame, k: Kennzahl, change: Kennzahl, compare, stichtag) -> str:
    """Describe how one Kennzahl changed between two Stichtage over the areas of a frame (``change_frame``)."""
    span = f"von {compare:%d.%m.%Y} bis {stichtag:%d.%m.%Y}"
    valued = frame[frame["value"].notna()]
    if valued.empty:
        return f"{k.label}: {span} ist für keines dieser Gebiete ein Vergleich möglich."

    def detail(rows: pd.DataFrame) -> str:
        by = change.format(rows["value"].iloc[0])
        if len(rows) == 1:
            return f"{rows['name'].iloc[0]} ({by}; {rows['count_text'].iloc[0]})"
        return f"{names([f'{n} ({c})' for n, c in zip(rows['name'], rows['count_text'])])}, je {by}"

    top = valued[valued["value"] == valued["value"].max()]
    low = valued[valued["value"] == valued["value"].min()]
    text = (f"{k.label}, {span}: am stärksten gestiegen in {detail(top)}, am stärksten gesunken oder am "
            f"wenigsten gestiegen in {detail(low)}. {frame['city_text'].iloc[0]}.")
    missing = len(frame) - len(valued)
    if missing:
        text += f" Für {missing} von {len(frame)} Gebieten ist kein Vergleich möglich (ein Wert fehlt)."
    return text


def series_sentence(frames: dict, kennzahlen: list[Kennzahl], bezirk_id: str) -> str:
    """Describe how a Bezirk's Kennzahlen developed from its first to its last value."""
    parts = []
    for k in kennzahlen:
        own = frames[k.key]
        own = own[(own["kind"] == "bezirk") & own["value"].notna()]
        if len(own) >= 2:
            first, last = own.iloc[0], own.iloc[-1]
            parts.append(f"{k.short} {k.format(first.value)} ({first.day:%d.%m.%Y}) → {k.format(last.value)} "
                         f"({last.day:%d.%m.%Y})")
    if not parts:
        return f"Stadtbezirk {bezirk_id}: eine Entwicklung zeigt sich ab zwei Stichtagen mit Werten."
    return f"Stadtbezirk {bezirk_id}: " + "; ".join(parts) + "."


def profile_sentence(rows: pd.DataFrame, bezirk_id: str) -> str:
    """Describe a Bezirk's profile: which Kennzahlen lie above and below the city."""
    comparable = rows[rows["index"].notna()]
    above = comparable[comparable["index"] > 100]["label"].tolist()
    below = comparable[comparable["index"] < 100]["label"].tolist()
    parts = [f"Stadtbezirk {bezirk_id} liegt"]
    if above:
        parts.append(f"über dem Wert der Gesamtstadt bei {names(above)}")
    if below:
        parts.append(("und " if above else "") + f"unter ihm bei {names(below)}")
    text = " ".join(parts) + "."
    if len(comparable):
        top = comparable.loc[comparable["index"].idxmax()]
        text += f" Am weitesten darüber: {top['label']} mit {top['value_text']} (Index {de_number(top['index'], 0)})."
    return text


def jobcenter_sentence(frame: pd.DataFrame, group: str, unassigned: float) -> str:
    """Describe how recipients of one origin spread over the published JobCenter areas."""
    single = frame[frame["value"].notna()]
    if single.empty:
        return f"Für {group} ist kein Anteil eines einzelnen Bereichs veröffentlicht."
    top = single.loc[single["value"].idxmax()]
    low = single.loc[single["value"].idxmin()]
    return (f"Von den SGB-II-Leistungsbeziehenden aus {group} betreut der Bereich {top['name']} den größten Anteil "
            f"({de_number(top['value'], 1, '%')}), {low['name']} den kleinsten ({de_number(low['value'], 1, '%')}); "
            f"{de_number(unassigned, 1, '%')} sind keinem Bereich zugeordnet.")


def allocation_sentence(frame: pd.DataFrame) -> str:
    """Describe which Bezirke hold more or fewer project flats than their share of the residents."""
    more = frame[frame["ratio"] > 1.005].sort_values("ratio", ascending=False)
    fewer = frame[frame["ratio"] < 0.995].sort_values("ratio")
    text = ""
    if len(more):
        text += (f"Mehr Projektwohnungen als ihrem Einwohneranteil entspricht haben {names(more['name'].tolist())}; "
                 f"am meisten {more['name'].iloc[0]} (Verhältnis {de_number(more['ratio'].iloc[0], 2)}).")
    if len(fewer):
        text += (f" Weniger haben {names(fewer['name'].tolist())}; am wenigsten {fewer['name'].iloc[0]} "
                 f"(Verhältnis {de_number(fewer['ratio'].iloc[0], 2)}).")
    return text.strip()


def heatmap_sentence(matrix: pd.DataFrame) -> str:
    """Describe the largest share in the JobCenter table shown."""
    values = matrix.stack()
    (area, group), top = values.idxmax(), values.max()
    return (f"Jede Spalte verteilt die Leistungsbeziehenden einer Herkunft auf die Bereiche. Der größte Anteil: "
            f"{de_number(top, 1, '%')} der Leistungsbeziehenden aus {group} im Bereich {area}.")


def profile_line(row, bezirk_id: str) -> str:
    """Return one sentence for one Kennzahl of a profile row (``profile_frame``): value, count, city, rank."""
    value = row.value_text.rstrip("*") + (f" ({row.count_text})" if row.count_text else "")
    if np.isnan(row.value):
        return f"Stadtbezirk {bezirk_id}: {value}."
    if np.isnan(row.index) and np.isnan(row.share_of_city):
        where = "; einen Wert der Gesamtstadt gibt es nicht"
    elif not np.isnan(row.share_of_city):
        where = f", {de_number(row.share_of_city, 1, '%')} der Gesamtstadt ({row.city_text})"
    else:
        where = f", {against_city(row.value, row.city, 1)} dem Wert der Gesamtstadt ({row.city_text})"
    flag = f" * {row.flag}." if row.flag else ""
    return f"Stadtbezirk {bezirk_id}: {value}{where}; {row.rank_text}.{flag}"
