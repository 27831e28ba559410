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
from urllib.parse import parse_qsl, urlencode

from essen_dash.classify import DEFAULT_SCHEME, SCHEMES
from essen_dash.data import AppData
from essen_dash.format import de_date
from essen_dash.frames import DEFAULT_LEVEL, LEVELS, jobcenter_matrix
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
    gruppe: str | None = None

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


def jobcenter_groups(data: AppData, p: Params) -> list[str]:
    return list(jobcenter_matrix(data.tables, data.jobcenter_stichtag(p.stichtag)).columns)


def parse_gruppe(raw: str, data: AppData, p: Params) -> str:
    return _one_of(jobcenter_groups(data, p))(raw)


@dataclass(frozen=True)
class Param:
    """One query parameter: how to read it, its default, and how it goes back into a URL."""

    name: str
    parse: Callable[[str, AppData, Params], object]
    default: Callable[[AppData, Params], object]


#: in parsing order: a later parameter may depend on an earlier one (the group on the Stichtag)
PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("stichtag", parse_stichtag, lambda data, p: data.latest),
    Param("indicator", parse_indicator, lambda data, p: DEFAULT_KENNZAHL),
    Param("scheme", parse_scheme, lambda data, p: DEFAULT_SCHEME),
    Param("level", parse_level, lambda data, p: DEFAULT_LEVEL),
    Param("bezirk", parse_bezirk, lambda data, p: ()),
    Param("gruppe", parse_gruppe, lambda data, p: jobcenter_groups(data, p)[0]),
)}
#: parameters every page shares through the shell (district filter and Stichtag)
SHELL_PARAMS = ("bezirk", "stichtag")


def shown(value: object) -> str:
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
