"""The Kennzahlen catalog: one row of ``kennzahlen.csv`` per Kennzahl, and what the code does with a row.

A Kennzahl is *published* (its values are the column of the same name in the
level's table) or *derived* by a formula over other Kennzahlen. Its city
reference is published (a value of the ``city`` table), the sum of the Bezirke,
the Kennzahl's formula applied to the city values of its inputs, or none — and
then the interface says so. Nothing here knows a particular Kennzahl.

Formulas are plain arithmetic (``+ - * /``, numbers, parentheses) over Kennzahl
keys, parsed with :mod:`ast` and evaluated on whatever numbers are passed in:
floats, pandas Series, or :class:`Interval` for the quality report.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from essen_dash.format import de_number

#: the range of a value by the Kennzahl's kind: a share is a percentage, a count is never negative
KIND_LIMITS: dict[str, tuple[float | None, float | None]] = {"share": (0.0, 100.0), "count": (0.0, None)}
NO_CITY_VALUE = "kein Wert der Gesamtstadt"
OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
OPERATOR_SIGNS = {ast.Add: "+", ast.Sub: "−", ast.Mult: "×", ast.Div: "/"}


class FormulaError(ValueError):
    """A formula uses something other than arithmetic over Kennzahl keys."""


def parse_formula(text: str) -> ast.expr:
    """Return the expression tree of a formula, or raise :class:`FormulaError` saying what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise FormulaError(f"Formel {text!r} ist kein Rechenausdruck") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and type(node.op) not in OPERATORS:
            raise FormulaError(f"Formel {text!r}: nur + − × / sind erlaubt")
        if not isinstance(node, (ast.BinOp, ast.Name, ast.Constant, ast.Load, *OPERATORS)) or (
                isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))):
            raise FormulaError(f"Formel {text!r}: nur Zahlen, Schlüssel von Kennzahlen und + − × / sind erlaubt")
    return tree


def formula_inputs(tree: ast.expr) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))


def evaluate(tree: ast.expr, env: Mapping[str, Any]) -> Any:
    """Return the formula's value for the given inputs (numbers, Series or intervals alike)."""
    if isinstance(tree, ast.BinOp):
        return OPERATORS[type(tree.op)](evaluate(tree.left, env), evaluate(tree.right, env))
    if isinstance(tree, ast.Name):
        return env[tree.id]
    return tree.value


def render(tree: ast.expr, name: Callable[[str], str]) -> str:
    """Return the formula as people read it (× for *, names as ``name`` gives them)."""
    if isinstance(tree, ast.BinOp):
        left, right = render(tree.left, name), render(tree.right, name)
        if isinstance(tree.left, ast.BinOp) and type(tree.op) in (ast.Mult, ast.Div) and \
                type(tree.left.op) in (ast.Add, ast.Sub):
            left = f"({left})"
        if isinstance(tree.right, ast.BinOp):
            right = f"({right})"
        return f"{left} {OPERATOR_SIGNS[type(tree.op)]} {right}"
    if isinstance(tree, ast.Name):
        return name(tree.id)
    return de_number(tree.value, 0 if float(tree.value).is_integer() else 2)


@dataclass(frozen=True)
class Interval:
    """A non-negative quantity known only within [low, high] (a rounded published figure)."""

    low: Any
    high: Any

    @staticmethod
    def of(value, half_width=0.0) -> Interval:
        return Interval(max(value - half_width, 0.0), value + half_width)  # quantities are never negative

    def _pair(self, other) -> Interval:
        return other if isinstance(other, Interval) else Interval(other, other)

    def __add__(self, other):
        o = self._pair(other)
        return Interval(self.low + o.low, self.high + o.high)

    def __sub__(self, other):
        o = self._pair(other)
        return Interval(self.low - o.high, self.high - o.low)

    def __mul__(self, other):
        o = self._pair(other)
        return Interval(self.low * o.low, self.high * o.high)

    def __truediv__(self, other):
        o = self._pair(other)
        return Interval(self.low / o.high, self.high / o.low)

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return self._pair(other) - self

    def __rtruediv__(self, other):
        return self._pair(other) / self


@dataclass(frozen=True)
class Kennzahl:
    """One row of the catalog, with its formula parsed."""

    key: str
    label: str
    short: str
    unit: str
    kind: str
    definition: str
    obtained: str
    formula: str
    reference: str
    reference_source: str
    reference_note: str
    decimals: int
    levels: tuple[str, ...]
    source: str
    aliases: tuple[str, ...]
    #: a change, shown with its sign (+0,8 Pp.)
    signed: bool = False

    @cached_property
    def tree(self) -> ast.expr | None:
        return parse_formula(self.formula) if self.formula else None

    @cached_property
    def numerator(self) -> ast.expr | None:
        """Return the count a share is taken of (``N`` of ``N / D * 100``), or None for other formulas."""
        tree = self.tree
        if self.kind == "share" and isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Mult) and \
                isinstance(tree.left, ast.BinOp) and isinstance(tree.left.op, ast.Div):
            return tree.left.left
        return None

    @property
    def inputs(self) -> tuple[str, ...]:
        return formula_inputs(self.tree) if self.formula else ()

    @property
    def is_derived(self) -> bool:
        return self.obtained == "derived"

    @property
    def has_reference(self) -> bool:
        return self.reference != "none"

    @property
    def limits(self) -> tuple[float | None, float | None]:
        """Return the range a value of this Kennzahl must lie in (None: open), from its kind."""
        return KIND_LIMITS.get(self.kind, (None, None))

    def format(self, value: float | None) -> str:
        text = de_number(value, self.decimals, self.unit)
        return "+" + text if self.signed and value is not None and value == value and round(value, self.decimals) > 0 \
            else text

    def with_facts(self, facts: Mapping[str, object]) -> Kennzahl:
        """Return this Kennzahl with data-dependent placeholders in its texts filled in."""
        fill = lambda text: text.format_map(facts) if text else text  # noqa: E731
        return replace(self, label=fill(self.label), short=fill(self.short), definition=fill(self.definition),
                       reference_note=fill(self.reference_note))


def _split(text: str, sep: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(sep) if p.strip())


def kennzahl_from_row(row: Mapping[str, Any]) -> Kennzahl:
    text = lambda name: "" if pd.isna(row.get(name)) else str(row.get(name))  # noqa: E731
    return Kennzahl(
        key=text("key"), label=text("label"), short=text("short_label"), unit=text("unit"), kind=text("kind"),
        definition=text("definition"), obtained=text("obtained"), formula=text("formula"),
        reference=text("reference"), reference_source=text("reference_source"),
        reference_note=text("reference_note"), decimals=int(row["decimals"]), levels=_split(text("levels"), " "),
        source=text("source"), aliases=_split(text("aliases"), "|"))


# --- data-dependent label facts ---------------------------------------------------------

def _origin_country_count(tables, stichtag: date) -> int:
    """Return how many countries the "wesentliche Herkunftsländer" are: as listed for ``stichtag``, else as last
    listed before it (a delivery without a submission keeps the definition in force)."""
    oc = tables["origin_countries"]
    oc = oc[oc["used_in"] == "bezirke"]
    days = sorted(oc["stichtag"].unique())
    day = max((d for d in days if d <= stichtag), default=days[0] if days else None)
    return int(oc[oc["stichtag"] == day]["country_name"].nunique())


#: placeholders a catalog text may use, each computed from the data of a Stichtag
FACTS: dict[str, Callable[[Any, date], object]] = {"anzahl_herkunftslaender": _origin_country_count}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Catalog(Mapping[str, Kennzahl]):
    """The Kennzahlen in catalog order, looked up by key."""

    def __init__(self, kennzahlen: list[Kennzahl]):
        self._items = {k.key: k for k in kennzahlen}

    @classmethod
    def from_table(cls, df: pd.DataFrame) -> Catalog:
        return cls([kennzahl_from_row(r) for r in df.to_dict("records")])

    def __getitem__(self, key: str) -> Kennzahl:
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def at_level(self, level: str) -> list[Kennzahl]:
        return [k for k in self.values() if level in k.levels]

    def resolved(self, tables, stichtag: date) -> Catalog:
        """Return the catalog with every placeholder filled from the data of ``stichtag``."""
        facts = {name: fn(tables, stichtag) for name, fn in FACTS.items()}
        return Catalog([k.with_facts(facts) for k in self.values()])

    def derivation_order(self) -> list[Kennzahl]:
        """Return the derived Kennzahlen so that each comes after the derived ones it uses."""
        done: set[str] = set()
        visiting: set[str] = set()
        out: list[Kennzahl] = []

        def visit(k: Kennzahl) -> None:
            if k.key in done:
                return
            if k.key in visiting:
                raise FormulaError(f"Formeln beziehen sich im Kreis aufeinander (bei {k.key!r})")
            visiting.add(k.key)
            for name in k.inputs:
                if name in self and self[name].is_derived:
                    visit(self[name])
            done.add(k.key)
            out.append(k)

        for k in self.values():
            if k.is_derived:
                visit(k)
        return out

    def formula_text(self, k: Kennzahl) -> str:
        """Return how a Kennzahl is obtained, in words people read."""
        if not k.formula:
            return "veröffentlicht"
        shown = render(k.tree, lambda name: self[name].short)
        return f"berechnet: {shown}" if k.is_derived else f"veröffentlicht; entspricht {shown}"

    def reference_text(self, k: Kennzahl) -> str:
        """Return what the city value of a Kennzahl is and how it is obtained."""
        if k.reference == "published":
            return "Gesamtstadt, veröffentlichter Wert"
        if k.reference == "sum":
            return "Gesamtstadt, Summe der Bezirke"
        if k.reference == "ratio":
            return "Gesamtstadt, nach derselben Formel aus den Stadtwerten berechnet"
        return f"{NO_CITY_VALUE}. {k.reference_note}".strip()


# --- values ------------------------------------------------------------------------------------

def value_rule(k: Kennzahl, value: float, shown: str | None = None) -> str | None:
    """Return the rule a delivered value of ``k`` breaks (range of its kind, counts whole), if any."""
    shown = f"{value:g}".replace(".", ",") if shown is None else shown
    if not math.isfinite(value):
        return f"Wert {shown} ist keine endliche Zahl"
    low, high = k.limits
    unit = " %" if k.unit == "%" else ""
    if low is not None and value < low:
        return f"Wert {shown} liegt unter dem Mindestwert {low:g}{unit}"
    if high is not None and value > high:
        return f"Wert {shown} liegt über dem Höchstwert {high:g}{unit}"
    if k.kind == "count" and value != int(value):
        return f"Wert {shown} ist keine ganze Zahl (die Kennzahl zählt {k.unit or 'Einheiten'})"
    return None


def level_values(catalog: Catalog, published: pd.DataFrame, level: str) -> pd.DataFrame:
    """Return ``published`` (one row per area, a column per published Kennzahl) with every Kennzahl of the
    level as a float column: published ones as they are, derived ones by formula (missing inputs stay missing)."""
    columns = {k.key: pd.to_numeric(published[k.key], errors="coerce").astype(float)
               for k in catalog.at_level(level) if not k.is_derived}
    for k in catalog.derivation_order():
        if level in k.levels:
            derived = evaluate(k.tree, {name: columns[name] for name in k.inputs})
            columns[k.key] = derived.where(np.isfinite(derived))  # a division by 0 has no value, not infinity
    rest = published.drop(columns=[c for c in columns if c in published])
    return pd.concat([rest, pd.DataFrame(columns, index=published.index)], axis=1)


def city_value(catalog: Catalog, key: str, bezirk_values: pd.DataFrame, city: pd.DataFrame) -> float | None:
    """Return the city reference of one Kennzahl at one Stichtag (``None`` where the catalog says none)."""
    k = catalog[key]
    if k.reference == "published":
        group, column = k.reference_source.split(":")
        rows = city[city["group_name"] == group]
        return float(rows[column].iloc[0]) if len(rows) and pd.notna(rows[column].iloc[0]) else None
    if k.reference == "sum":
        values = bezirk_values[key]
        return None if values.isna().any() else float(values.sum())
    if k.reference == "ratio":
        inputs = {name: city_value(catalog, name, bezirk_values, city) for name in k.inputs}
        return None if any(v is None for v in inputs.values()) else float(evaluate(k.tree, inputs))
    return None
