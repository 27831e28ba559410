"""The view state shared through the URL: plain, documented query parameters.

``indicator`` (data contract column), ``scheme``, ``level`` (bezirk|stadtteil),
``bezirk`` (comma-separated ids, e.g. ``I,III``), ``stichtag`` (ISO date).
A bad value falls back to the default and yields a German notice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import parse_qsl, urlencode

from essen_dash.classify import DEFAULT_SCHEME, SCHEMES
from essen_dash.format import de_date
from essen_dash.frames import DEFAULT_LEVEL, LEVELS
from essen_dash.indicators import DEFAULT_INDICATOR, INDICATORS
from essen_dash.tables.schema import BEZIRK_IDS

MAX_PARAM_LENGTH = 200


@dataclass(frozen=True)
class View:
    indicator: str = DEFAULT_INDICATOR
    scheme: str = DEFAULT_SCHEME
    level: str = DEFAULT_LEVEL
    bezirk: tuple[str, ...] = ()
    stichtag: date | None = None


def _choice(options: Mapping[str, object]) -> Callable[[str, list[date]], object]:
    def parse(raw: str, stichtage: list[date]) -> str:
        if raw not in options:
            raise ValueError(f"erlaubt: {', '.join(options)}")
        return raw
    return parse


def _bezirke(raw: str, stichtage: list[date]) -> tuple[str, ...]:
    parts = [p.strip().upper() for p in raw.split(",") if p.strip()]
    bad = [p for p in parts if p not in BEZIRK_IDS]
    if bad:
        raise ValueError(f"erlaubt sind {', '.join(BEZIRK_IDS)}")
    return tuple(sorted(set(parts), key=BEZIRK_IDS.index))


def _stichtag(raw: str, stichtage: list[date]) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError("erwartet ein Datum JJJJ-MM-TT") from None
    if day not in stichtage:
        raise ValueError(f"vorhanden: {', '.join(d.isoformat() for d in stichtage)}")
    return day


#: query parameter → parser (raising ValueError with what is allowed)
PARAMS: dict[str, Callable[[str, list[date]], object]] = {
    "indicator": _choice(INDICATORS),
    "scheme": _choice(SCHEMES),
    "level": _choice(LEVELS),
    "bezirk": _bezirke,
    "stichtag": _stichtag,
}
SHELL_PARAMS = ("bezirk", "stichtag")


def parse_view(params: Mapping[str, object], stichtage: list[date]) -> tuple[View, dict[str, str]]:
    """Return the view the parameters describe and a notice for each one that was not usable."""
    view = View(stichtag=stichtage[-1])
    notices: dict[str, str] = {}
    for name, parse in PARAMS.items():
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        text = str(raw)[:MAX_PARAM_LENGTH]
        try:
            view = replace(view, **{name: parse(text, stichtage)})
        except ValueError as exc:
            default = getattr(view, name)
            shown = de_date(default) if isinstance(default, date) else (",".join(default) if isinstance(default, tuple) else default)
            notices[name] = (f"Der Wert „{text[:40]}“ für „{name}“ ist ungültig ({exc}); "
                             f"angezeigt wird {shown or 'alle Bezirke'}.")
    return view, notices


def parse_search(search: str | None, stichtage: list[date]) -> tuple[View, dict[str, str]]:
    return parse_view(dict(parse_qsl((search or "").lstrip("?"))), stichtage)


def query(**values) -> str:
    """Return ``?a=b&…`` for the non-empty values."""
    clean = {k: (",".join(v) if isinstance(v, (list, tuple)) else (v.isoformat() if isinstance(v, date) else v))
             for k, v in values.items() if v}
    return "?" + urlencode(clean, safe=",") if clean else ""
