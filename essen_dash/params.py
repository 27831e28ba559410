"""The view parameters: one parser each, shared by URL, callback, export route and CLI.

``indicator`` (a Kennzahl key), ``scheme``, ``level`` (bezirk|stadtteil),
``bezirk`` (comma-separated ids, e.g. ``I,III``), ``stichtag`` (ISO date) and
``gruppe`` (a JobCenter origin group). Pages parse leniently: a bad value falls
back to the default and yields a German notice. Exports and the CLI parse
strictly: a bad value raises :class:`ParamError` (HTTP 400, exit 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode

from essen_dash.classify import DEFAULT_SCHEME, SCHEMES
from essen_dash.data import AppData
from essen_dash.format import de_date, de_number
from essen_dash.frames import ALLOCATION, DEFAULT_LEVEL, LEVELS, area_values, jobcenter_matrix
from essen_dash.tables.schema import BEZIRK_IDS

MAX_PARAM_LENGTH = 200
DEFAULT_KENNZAHL = "origin12_pct"


class ParamError(ValueError):
    """A parameter names something that does not exist (German message)."""


@dataclass(frozen=True)
class Params:
    """Everything a view can depend on, parsed and valid."""

    indicator: str = DEFAULT_KENNZAHL
    scheme: str = DEFAULT_SCHEME
    level: str = DEFAULT_LEVEL
    bezirk: tuple[str, ...] = ()
    stichtag: date | None = None
    #: a second Stichtag to compare with (the views then show the change from it to ``stichtag``)
    compare: date | None = None
    gruppe: str | None = None
    #: the Verteilungsrechner: what is distributed (``unit`` posts|eur, ``total``), by which key
    #: (``kennzahl:weight`` parts, weights in % adding up to 100) and the minimum per Bezirk
    unit: str = "posts"
    total: int | float = 35
    key: tuple[str, ...] = (f"{ALLOCATION[1]}:100",)
    min: int | float = 0

    @property
    def selected(self) -> frozenset[str]:
        return frozenset(self.bezirk)


def _one_of(allowed: Iterable[str]) -> Callable[[str], str]:
    allowed = list(allowed)

    def check(raw: str) -> str:
        if raw not in allowed:
            raise ParamError(f"erlaubt: {', '.join(allowed)}")
        return raw
    return check


def parse_indicator(raw: str, data: AppData, p: Params) -> str:
    return _one_of(data.catalog(p.stichtag or data.latest))(raw)


def parse_scheme(raw: str, data: AppData, p: Params) -> str:
    return _one_of(SCHEMES)(raw)


def parse_level(raw: str, data: AppData, p: Params) -> str:
    return _one_of(LEVELS)(raw)


def parse_bezirk(raw: str, data: AppData, p: Params) -> tuple[str, ...]:
    parts = [b.strip().upper() for b in raw.split(",") if b.strip()]
    if any(b not in BEZIRK_IDS for b in parts):
        raise ParamError(f"erlaubt sind {', '.join(BEZIRK_IDS)}")
    return tuple(sorted(set(parts), key=BEZIRK_IDS.index))


def parse_stichtag(raw: str, data: AppData, p: Params) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ParamError("erwartet ein Datum JJJJ-MM-TT") from None
    if day not in data.stichtage:
        raise ParamError(f"vorhanden: {', '.join(d.isoformat() for d in data.stichtage)}")
    return day


def parse_compare(raw: str, data: AppData, p: Params) -> date | None:
    if len(data.stichtage) < 2:
        raise ParamError("es gibt nur einen Stichtag, also nichts zu vergleichen")
    day = parse_stichtag(raw, data, p)
    if day == p.stichtag:
        raise ParamError("das ist der gezeigte Stichtag selbst; zum Vergleich einen anderen wählen")
    return day


def jobcenter_groups(data: AppData, p: Params) -> list[str]:
    return list(jobcenter_matrix(data.tables, data.jobcenter_stichtag(p.stichtag)).columns)


def parse_gruppe(raw: str, data: AppData, p: Params) -> str:
    return _one_of(jobcenter_groups(data, p))(raw)


# --- the Verteilungsrechner: what is distributed, in which unit, by which key, with which minimum ----------

#: the smallest piece of a unit (posts are whole, euros go to the cent), the largest sensible total, the default
UNIT_STEP = {"posts": Decimal(1), "eur": Decimal("0.01")}
UNIT_MAX = {"posts": Decimal(10_000), "eur": Decimal(1_000_000_000)}
UNIT_DEFAULT_TOTAL = {"posts": 35, "eur": 1_000_000}
UNIT_WORDS = {"posts": "Stellen", "eur": "Euro"}
WEIGHT_STEP = Decimal("0.01")
NUMBER_HINT = "erwartet eine Zahl wie 35 oder 1000000.50"


def plain_number(value: Decimal) -> int | float:
    """Return a parsed number as an int when it is whole (so it reads ``35``, not ``35.0``, in a URL)."""
    return int(value) if value == value.to_integral_value() else float(value)


def decimal_text(value: Decimal) -> str:
    """Return a decimal without exponent or trailing zeros (``100``, ``33.5``)."""
    return format(value.normalize(), "f") if value else "0"


def german(value: Decimal) -> str:
    """Return a decimal as people read it in a notice (``10.000``, ``0,01``)."""
    return de_number(float(value), max(0, -value.normalize().as_tuple().exponent))


def _decimal(raw: str, step: Decimal, largest: Decimal, what: str, word: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ParamError(NUMBER_HINT) from None
    if not value.is_finite():
        raise ParamError(NUMBER_HINT)
    if value < 0:
        raise ParamError(f"{what}: nicht negativ")
    if value > largest:
        raise ParamError(f"{what}: höchstens {german(largest)} {word}")
    if value % step:
        raise ParamError(f"{what}: nur ganze {word}" if step == 1 else
                         f"{what}: höchstens auf {german(step)} {word} genau")
    return value


def key_kennzahlen(data: AppData, stichtag: date) -> list[str]:
    """Return the Kennzahlen a key may weight at ``stichtag``: counts of the Bezirke with a value for every
    Bezirk, none negative, and a positive city total (a share of nothing cannot be taken)."""
    values = area_values(data, "bezirk", stichtag)
    out = []
    for k in data.catalog(stichtag).at_level("bezirk"):
        if k.kind != "count" or k.key not in values:
            continue
        column = values[k.key]
        if column.notna().all() and (column >= 0).all() and column.sum() > 0:
            out.append(k.key)
    return out


def parse_unit(raw: str, data: AppData, p: Params) -> str:
    return _one_of(UNIT_STEP)(raw)


def parse_total(raw: str, data: AppData, p: Params) -> int | float:
    word = UNIT_WORDS[p.unit]
    value = _decimal(raw, UNIT_STEP[p.unit], UNIT_MAX[p.unit], "Gesamtmenge", word)
    if value == 0:
        raise ParamError("Gesamtmenge: mehr als 0 " + word)
    return plain_number(value)


def parse_key(raw: str, data: AppData, p: Params) -> tuple[str, ...]:
    """Read ``kennzahl:weight,…`` (weights in %, together 100) into its canonical parts (zero weights dropped)."""
    stichtag = p.stichtag or data.latest
    catalog = data.catalog(stichtag)
    usable = key_kennzahlen(data, stichtag)
    allowed = f"möglich: {', '.join(usable)}"
    weights: dict[str, Decimal] = {}
    for part in (s.strip() for s in raw.split(",")):
        if not part:
            continue
        name, sep, weight = (s.strip() for s in part.partition(":"))
        if not sep:
            raise ParamError(f"erwartet Kennzahl:Gewicht, z. B. {ALLOCATION[1]}:50,population_count:50")
        if name not in catalog:
            raise ParamError(f"unbekannte Kennzahl „{name[:30]}“; {allowed}")
        if catalog[name].kind != "count":
            raise ParamError(f"„{name}“ ist keine Anzahl (Einheit {catalog[name].unit}); {allowed}")
        if name not in usable:
            raise ParamError(f"für „{name}“ fehlen am {de_date(stichtag)} Werte einzelner Bezirke; {allowed}")
        if name in weights:
            raise ParamError(f"„{name}“ ist doppelt genannt")
        weights[name] = _decimal(weight, WEIGHT_STEP, Decimal(100), f"Gewicht von „{name}“", "%")
    if not weights:
        raise ParamError(f"erwartet Kennzahl:Gewicht, z. B. {ALLOCATION[1]}:100")
    total = sum(weights.values())
    if total != 100:
        raise ParamError(f"die Gewichte ergeben {decimal_text(total).replace('.', ',')} statt 100")
    return tuple(f"{name}:{decimal_text(w)}" for name, w in weights.items() if w)


def default_key(data: AppData, p: Params) -> tuple[str, ...]:
    """Return the Zuteilung's count as the whole key, or the first usable count where it has no values."""
    usable = key_kennzahlen(data, p.stichtag or data.latest)
    name = ALLOCATION[1] if ALLOCATION[1] in usable else next(iter(usable), None)
    return (f"{name}:100",) if name else ()


def parse_min(raw: str, data: AppData, p: Params) -> int | float:
    word = UNIT_WORDS[p.unit]
    value = _decimal(raw, UNIT_STEP[p.unit], UNIT_MAX[p.unit], "Mindestwert", word)
    total = Decimal(str(p.total))
    if value * len(BEZIRK_IDS) > total:
        raise ParamError(f"{len(BEZIRK_IDS)} Bezirke × {german(value)} {word} sind mehr als die Gesamtmenge "
                         f"{german(total)} {word}")
    return plain_number(value)


@dataclass(frozen=True)
class Param:
    """One query parameter: how to read it, its default, and how it goes back into a URL."""

    name: str
    parse: Callable[[str, AppData, Params], object]
    default: Callable[[AppData, Params], object]


#: in parsing order: a later parameter may depend on an earlier one (the group on the Stichtag)
PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("stichtag", parse_stichtag, lambda data, p: data.latest),
    Param("compare", parse_compare, lambda data, p: None),
    Param("indicator", parse_indicator, lambda data, p: DEFAULT_KENNZAHL),
    Param("scheme", parse_scheme, lambda data, p: DEFAULT_SCHEME),
    Param("level", parse_level, lambda data, p: DEFAULT_LEVEL),
    Param("bezirk", parse_bezirk, lambda data, p: ()),
    Param("gruppe", parse_gruppe, lambda data, p: jobcenter_groups(data, p)[0]),
    Param("unit", parse_unit, lambda data, p: "posts"),
    Param("total", parse_total, lambda data, p: UNIT_DEFAULT_TOTAL[p.unit]),
    Param("key", parse_key, default_key),
    Param("min", parse_min, lambda data, p: 0),
)}
#: parameters every page shares through the shell (district filter, Stichtag and the one compared with)
SHELL_PARAMS = ("bezirk", "stichtag", "compare")


def shown(value: object) -> str:
    if value is None:
        return "kein Vergleich"
    if isinstance(value, date):
        return de_date(value)
    if isinstance(value, tuple):
        return ",".join(value) or "alle Bezirke"
    return str(value)


def parse(raw: Mapping[str, object], data: AppData, names: Iterable[str] = PARAMS, *,
          strict: bool = False) -> tuple[Params, dict[str, str]]:
    """Return the parameters ``names`` read from ``raw`` (others keep their defaults) and a German notice per
    unusable value; with ``strict`` the first unusable value raises :class:`ParamError` instead."""
    wanted = set(names)
    p, notices = Params(), {}
    for name, param in PARAMS.items():
        if name not in wanted and name != "stichtag":
            continue
        value = raw.get(name)
        text = "" if value is None else (",".join(value) if isinstance(value, (list, tuple)) else str(value))
        try:
            if len(text) > MAX_PARAM_LENGTH:
                raise ParamError(f"höchstens {MAX_PARAM_LENGTH} Zeichen")
            parsed = param.parse(text, data, p) if text else param.default(data, p)
        except ParamError as exc:
            message = f"Der Wert „{text[:40]}“ für „{name}“ ist ungültig ({exc})"
            if strict:
                raise ParamError(message) from None
            parsed = param.default(data, p)
            notices[name] = f"{message}; angezeigt wird {shown(parsed)}."
        p = replace(p, **{name: parsed})
    return p, notices


def parse_search(search: str | None, data: AppData, names: Iterable[str] = PARAMS) -> tuple[Params, dict[str, str]]:
    return parse(dict(parse_qsl((search or "").lstrip("?"))), data, names)


def as_query(p: Params, names: Iterable[str]) -> dict[str, str]:
    """Return the given parameters as URL values (empty selections left out)."""
    out = {}
    for name in names:
        value = getattr(p, name)
        if value in (None, (), ""):
            continue
        out[name] = value.isoformat() if isinstance(value, date) else ",".join(value) if isinstance(value, tuple) \
            else str(value)
    return out


def query(**values) -> str:
    """Return ``?a=b&…`` for the non-empty values."""
    clean = {k: (",".join(v) if isinstance(v, (list, tuple)) else (v.isoformat() if isinstance(v, date) else v))
             for k, v in values.items() if v}
    return "?" + urlencode(clean, safe=",") if clean else ""


FIELD_NAMES = tuple(f.name for f in fields(Params))
assert set(FIELD_NAMES) == set(PARAMS), "every Params field has one parser"
