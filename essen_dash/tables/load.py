"""Load a data folder into validated pandas tables, or refuse it with clear problems.

Validation runs the Frictionless table-schema checks (types, ranges, enums,
keys, foreign keys into the Stadtteil register) with the schemas declared in
:mod:`essen_dash.tables.schema` — never with whatever descriptor a folder
brings — then the cross-table rules below. The descriptor the folder brings
(``datapackage.json``) must still be there and equal the one the schema gives
for the folder's documents, so what a reader of the package sees is what is
checked. Every problem names file, row, column and rule; nothing reaches the
caller as a raw pandas or Frictionless traceback.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

from essen_dash.tables.schema import BEZIRK_IDS, TABLES, Column, Table

if TYPE_CHECKING:  # frictionless is imported where a folder is checked: serving from the store never needs it
    import frictionless

#: The range of a stored integer (pandas int64); Frictionless alone accepts integers of any size.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DESCRIPTOR = "datapackage.json"

T = TypeVar("T")

TYPE_NAMES = {"integer": "eine ganze Zahl", "number": "eine Zahl", "date": "ein Datum JJJJ-MM-TT",
              "boolean": "true oder false", "string": "Text"}


@dataclass(frozen=True)
class Problem:
    """One reason a data folder is refused."""

    file: str
    row: int | None
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"Zeile {self.row}")
        if self.column:
            where.append(f"Spalte '{self.column}'")
        return f"{', '.join(where)}: {self.rule}"


class DataError(Exception):
    """A data folder failed validation; ``problems`` lists every reason."""

    def __init__(self, folder: Path, problems: list[Problem], heading: str | None = None):
        self.folder, self.problems = folder, problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{heading or f'{len(problems)} Fehler in den Daten ({folder})'}:\n{lines}")


@dataclass(frozen=True)
class Tables:
    """The validated tables of one data folder, looked up by table name."""

    folder: Path
    frames: Mapping[str, pd.DataFrame]
    #: what is derived from the tables, built once (they never change): see :meth:`derived`
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def derived(self, key: tuple, build: Callable[[], T]) -> T:
        """Return what ``build`` derives from these tables, built at the first call per ``key``. A table comes as a
        copy (copy-on-write: nothing is copied until it is changed); anything else must be immutable."""
        if key not in self._derived:
            self._derived[key] = build()
        value = self._derived[key]
        return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value

    @property
    def stichtage(self) -> list[date]:
        """Return the Stichtage with delivered values, oldest first."""
        return list(self.derived(("stichtage",), lambda: tuple(sorted(self["values"]["stichtag"].unique()))))

    def wide(self, level: str) -> pd.DataFrame:
        """Return the published values of a level as a table: a row per Stichtag and area (``area``), a column per
        Kennzahl in catalog order; withheld and missing values are empty."""
        return self.derived(("wide", level), lambda: self._pivot(level))

    def _pivot(self, level: str) -> pd.DataFrame:
        v = self["values"]
        v = v[v["level"] == level]
        catalog = self["kennzahlen"]
        order = [k for k in catalog["key"] if k in set(v["kennzahl"])]
        out = v.pivot(index=["stichtag", "area"], columns="kennzahl", values="value").reindex(columns=order)
        out.columns.name = None
        counts = set(catalog[catalog["kind"] == "count"]["key"])
        out = out.astype({k: "Int64" for k in order if k in counts}).reset_index()
        rank = {a: i for i, a in enumerate(BEZIRK_IDS)} if level == "bezirk" else None
        return out.sort_values(["stichtag", "area"], key=lambda s: s.map(rank) if s.name == "area" and rank
                               else (s.astype(int) if s.name == "area" else s), kind="stable").reset_index(drop=True)


# --- rules for a single value ---------------------------------------------------

def storage_rule(column: Column, value: int | float, shown: str | None = None) -> str | None:
    """Return the rule ``value`` breaks by not fitting its column's type (int64, finite numbers), if any."""
    shown = str(value) if shown is None else shown
    if column.type == "integer" and value > INT64_MAX:
        return f"Wert {shown} ist zu groß für eine ganze Zahl (höchstens {INT64_MAX})"
    if column.type == "integer" and value < INT64_MIN:
        return f"Wert {shown} ist zu klein für eine ganze Zahl (mindestens {INT64_MIN})"
    if column.type == "number" and not math.isfinite(value):
        return f"Wert {shown} ist keine endliche Zahl"
    return None


def limit_rule(column: Column, value: int | float, shown: str | None = None) -> str | None:
    """Return the rule ``value`` breaks of its column: the type's range, then the schema's minimum and maximum.

    The wording is that of the same rule found in a data file, so an importer and ``validate`` say the same.
    """
    shown = str(value) if shown is None else shown
    rule = storage_rule(column, value, shown)
    if rule:
        return rule
    unit = f" {column.unit}" if column.unit == "%" else ""
    low, high = column.constraints.get("minimum"), column.constraints.get("maximum")
    if low is not None and value < low:
        return f"Wert {shown} liegt unter dem Mindestwert {low}{unit}"
    if high is not None and value > high:
        return f"Wert {shown} liegt über dem Höchstwert {high}{unit}"
    return None


# --- file level ---------------------------------------------------------------

def encoding_problem(path: Path) -> Problem | None:
    """Return where a file stops being UTF-8, if it does."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        row = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        header = raw.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(",")
        col_index = raw[line_start: exc.start].count(b",")
        column = header[col_index] if col_index < len(header) else None
        return Problem(path.name, row, column,
                       f"Datei ist nicht UTF-8-kodiert (Byte 0x{raw[exc.start]:02x}, vermutlich Latin-1/Windows-1252); "
                       "bitte als UTF-8 speichern")
    return None


def rule_text(table: Table, error: frictionless.errors.Error) -> str:
    """Return a German statement of the rule a Frictionless error broke."""
    kind = error.type
    cell = getattr(error, "cell", None)
    field = table.column(error.field_name) if getattr(error, "field_name", None) in table.column_names else None
    if kind == "type-error" and field is not None:
        if field.type == "number" and re.fullmatch(r"-?\d+,\d+", cell or ""):
            return f"Dezimalkomma in {cell!r}: Zahlen mit Dezimalpunkt schreiben (z. B. {cell.replace(',', '.')})"
        if field.type == "integer" and re.fullmatch(r"\d{1,3}(\.\d{3})+", cell or ""):
            return f"Tausenderpunkt in {cell!r}: ganze Zahlen ohne Trennzeichen schreiben"
        return f"Wert {cell!r} ist nicht {TYPE_NAMES[field.type]}"
    if kind == "constraint-error" and field is not None:
        m = re.search(r'constraint "(\w+)" is "(.*)"', error.note)
        name, limit = (m.group(1), m.group(2)) if m else ("", "")
        unit = f" {field.unit}" if field.unit == "%" else ""
        return {
            "required": "Pflichtfeld ist leer",
            "minimum": f"Wert {cell} liegt unter dem Mindestwert {limit}{unit}",
            "maximum": f"Wert {cell} liegt über dem Höchstwert {limit}{unit}",
            "enum": f"unbekannter Wert {cell!r}; erlaubt: {', '.join(field.constraints.get('enum', []))}",
            "unique": f"Wert {cell!r} kommt mehrfach vor",
        }.get(name, f"Bedingung {name} = {limit} verletzt (Wert {cell!r})")
    if kind == "primary-key":
        return f"Schlüssel ({', '.join(table.primary_key)}) doppelt: {error.note}".replace(
            "the same as in the row at position", "wie in Zeile")
    if kind == "foreign-key":
        return "Stadtteil nicht im amtlichen Stadtteilverzeichnis (Nummer, Name und Bezirk müssen dort stehen)"
    label_rules = {
        "missing-label": "Spalte fehlt",
        "extra-label": "unerwartete Spalte",
        "incorrect-label": "falscher Spaltenname",
        "duplicate-label": "Spaltenname doppelt",
        "blank-label": "Spaltenname leer",
        "missing-cell": "Zelle fehlt (zu wenige Werte in der Zeile)",
        "extra-cell": "zu viele Werte in der Zeile",
        "blank-row": "leere Zeile",
    }
    if kind in label_rules:
        label = getattr(error, "label", None)
        found = f" (gefunden: {label!r})" if label and kind == "incorrect-label" else ""
        return label_rules[kind] + found
    return f"{error.title}: {error.note}"


def error_column(table: Table, error: frictionless.errors.Error) -> str | None:
    if error.type == "primary-key":
        return ", ".join(table.primary_key)
    if error.type == "foreign-key":
        return ", ".join(table.foreign_keys[0]["fields"])
    name = getattr(error, "field_name", None)
    if error.type == "incorrect-label" and getattr(error, "field_number", None):
        return table.column_names[error.field_number - 1] if error.field_number <= len(table.columns) else name
    return name or getattr(error, "label", None)


def frictionless_problems(folder: Path, names: list[str]) -> list[Problem]:
    """Return the table-schema problems of the given tables (they exist and are UTF-8)."""
    import frictionless

    resources = [
        frictionless.Resource(
            name=name, path=TABLES[name].path, basepath=str(folder), encoding="utf-8", format="csv",
            dialect=frictionless.Dialect.from_descriptor({"csv": {"delimiter": ","}}),
            schema=frictionless.Schema.from_descriptor(TABLES[name].schema_descriptor()),
        )
        for name in names
    ]
    package = frictionless.Package(resources=resources, basepath=str(folder))
    report = package.validate()
    problems = []
    for task in report.tasks:
        table = TABLES[task.name]
        for error in task.errors:
            row = 1 if error.type.endswith("-label") else getattr(error, "row_number", None)
            problems.append(Problem(table.path, row, error_column(table, error), rule_text(table, error)))
    return problems


def storage_problems(folder: Path, names: list[str]) -> list[Problem]:
    """Return the integer cells too large (or small) to store: Frictionless accepts them, pandas cannot hold them."""
    problems = []
    for name in names:
        table = TABLES[name]
        columns = [c for c in table.columns if c.type == "integer"]
        if not columns:
            continue
        with open(folder / table.path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            try:
                index = {label.strip(): i for i, label in enumerate(next(reader, []))}
                for row_no, cells in enumerate(reader, start=2):
                    for c in columns:
                        i = index.get(c.name)
                        if i is None or i >= len(cells):
                            continue
                        try:
                            value = int(cells[i])
                        except ValueError:
                            continue  # not an integer (or beyond int()'s digit limit): Frictionless reports it
                        rule = storage_rule(c, value)
                        if rule:
                            problems.append(Problem(table.path, row_no, c.name, rule))
            except csv.Error as exc:  # e.g. a cell beyond the csv module's size limit
                problems.append(Problem(table.path, reader.line_num, None, f"Datei nicht lesbar: {exc}"))
    return problems


def first_difference(expected: object, found: object, where: str = "") -> str | None:
    """Return where ``found`` first differs from ``expected`` (a JSON document), in words; None if equal.

    Places read like ``resources[bezirke].schema.fields[population_count].constraints.minimum``.
    """
    def shown(value: object) -> str:
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 80 else text[:77] + "…"

    if isinstance(expected, dict) and isinstance(found, dict):
        for key, value in expected.items():
            place = f"{where}.{key}" if where else key
            if key not in found:
                return f"{place} fehlt"
            diff = first_difference(value, found[key], place)
            if diff:
                return diff
        extra = [key for key in found if key not in expected]
        return f"{where + '.' if where else ''}{extra[0]} ist unbekannt" if extra else None
    if isinstance(expected, list) and isinstance(found, list):
        for i, value in enumerate(expected):
            place = f"{where}[{value['name']}]" if isinstance(value, dict) and "name" in value else f"{where}[{i}]"
            if i >= len(found):
                return f"{place} fehlt"
            diff = first_difference(value, found[i], place)
            if diff:
                return diff
        if len(found) > len(expected):
            return f"{where}[{len(expected)}] ist zu viel ({shown(found[len(expected)])})"
        return None
    if expected != found or isinstance(expected, bool) != isinstance(found, bool):  # 100 == 100.0, but 1 != true
        return f"{where or 'Dokument'}: erwartet {shown(expected)}, gefunden {shown(found)}"
    return None


def read_descriptor(folder: Path) -> tuple[object | None, list[Problem]]:
    """Return the folder's own descriptor, or why it cannot be read."""
    path = folder / DESCRIPTOR
    if not path.is_file():
        return None, [Problem(DESCRIPTOR, None, None, "Datei fehlt (die Beschreibung des Datenpakets: Spalten, "
                                                      "Typen, Quellen, Lizenzen)")]
    try:
        return json.loads(path.read_bytes().decode("utf-8")), []
    except UnicodeDecodeError:
        return None, [Problem(DESCRIPTOR, None, None, "Datei ist beschädigt (nicht UTF-8-kodiert)")]
    except json.JSONDecodeError as exc:
        return None, [Problem(DESCRIPTOR, exc.lineno, None,
                              f"Datei ist beschädigt oder abgeschnitten (kein gültiges JSON: {exc.msg}, "
                              f"Spalte {exc.colno})")]


def descriptor_problems(folder: Path, found: object) -> list[Problem]:
    """Return a problem if the folder's descriptor is not the one the schema gives for its documents."""
    from essen_dash.tables.store import descriptor, read_strings  # the store imports this module

    expected = descriptor(read_strings(folder / TABLES["documents"].path))
    diff = first_difference(expected, found)
    return [Problem(DESCRIPTOR, None, None, f"weicht vom Schema ab ({diff})")] if diff else []


# --- reading into pandas --------------------------------------------------------

def read_table(folder: Path, table: Table) -> pd.DataFrame:
    """Read a validated CSV with the schema's types (missing stays missing, never 0)."""
    raw = pd.read_csv(folder / table.path, dtype="string", keep_default_na=False, encoding="utf-8")
    out = {}
    for c in table.columns:
        s = raw[c.name].replace("", pd.NA)
        if c.type == "integer":
            out[c.name] = s.astype("Int64") if s.isna().any() else s.astype("int64")
        elif c.type == "number":
            out[c.name] = s.astype("float64")
        elif c.type == "boolean":
            out[c.name] = s.map({"true": True, "false": False}).astype(bool)
        elif c.type == "date":
            out[c.name] = s.map(date.fromisoformat).astype(object)
        else:
            out[c.name] = s.astype(str)
    return pd.DataFrame(out)


# --- rules across tables ----------------------------------------------------------

CrossRule = Callable[[Mapping[str, pd.DataFrame]], Iterator[Problem]]


def values_fit_catalog(t: Mapping[str, pd.DataFrame]) -> Iterator[Problem]:
    """Each delivered value belongs to a known area of its level and to a Kennzahl the catalog publishes there,
    lies in the Kennzahl's range, and has a value exactly when it is published (not when withheld)."""
    from essen_dash.kennzahlen import Catalog, value_rule

    file = TABLES["values"].path
    catalog = Catalog.from_table(t["kennzahlen"])
    areas = {"bezirk": set(BEZIRK_IDS), "stadtteil": set(t["stadtteile_register"]["stadtteil_nr"].astype(str))}
    v = t["values"]
    for i, row in enumerate(v.itertuples(index=False), start=2):
        k = catalog.get(row.kennzahl)
        if row.area not in areas[row.level]:
            yield Problem(file, i, "area", f"Gebiet {row.area!r} gibt es auf Ebene {row.level} nicht"
                                           + (" (Stadtbezirke I–IX)" if row.level == "bezirk"
                                              else " (Nummer im amtlichen Stadtteilverzeichnis)"))
        if k is None:
            yield Problem(file, i, "kennzahl", f"Kennzahl {row.kennzahl!r} steht nicht im Kennzahlenkatalog")
            continue
        if k.is_derived:
            yield Problem(file, i, "kennzahl", f"Kennzahl {k.key!r} wird berechnet, nicht geliefert")
        elif row.level not in k.levels:
            yield Problem(file, i, "kennzahl", f"Kennzahl {k.key!r} gibt der Katalog nicht auf Ebene {row.level}")
        has_value = not pd.isna(row.value)
        if has_value != (row.state == "published"):
            yield Problem(file, i, "value", "veröffentlichte Werte brauchen einen Wert, gesperrte haben keinen")
        elif has_value:
            rule = value_rule(k, float(row.value))
            if rule:
                yield Problem(file, i, "value", f"Kennzahl {k.key!r}: {rule}")


def full_jobcenter_grid(t: Mapping[str, pd.DataFrame]) -> Iterator[Problem]:
    for stichtag, rows in t["jobcenter"].groupby("stichtag"):
        grid = pd.MultiIndex.from_product([rows["jc_area"].unique(), rows["origin_group"].unique()])
        for area, group in grid.difference(pd.MultiIndex.from_frame(rows[["jc_area", "origin_group"]])):
            yield Problem("jobcenter.csv", None, "share_pct",
                          f"Stichtag {stichtag}: kein Anteil für Bereich {area!r} und Herkunft {group!r}")


def crosswalk_areas_known(t: Mapping[str, pd.DataFrame]) -> Iterator[Problem]:
    known = set(zip(t["jobcenter"]["stichtag"], t["jobcenter"]["jc_area"]))
    for i, row in t["jobcenter_crosswalk"].iterrows():
        if (row["stichtag"], row["jc_area"]) not in known:
            yield Problem("jobcenter_crosswalk.csv", i + 2, "jc_area",
                          f"Bereich {row['jc_area']!r} steht nicht in jobcenter.csv (Stichtag {row['stichtag']})")


def documented_stichtage(t: Mapping[str, pd.DataFrame]) -> Iterator[Problem]:
    docs = t["documents"]
    for table, column in (("jobcenter", "jobcenter_stichtag"),):
        for stichtag in sorted(set(t[table]["stichtag"]) - set(docs[column])):
            yield Problem(f"{table}.csv", None, "stichtag",
                          f"Stichtag {stichtag} hat keinen Quelleneintrag in documents.csv ({column})")


def catalog_consistent(t: Mapping[str, pd.DataFrame]) -> Iterator[Problem]:
    """Check every catalog row against the other rows and the tables: formulas, levels, references, texts."""
    from essen_dash.kennzahlen import FACTS, PLACEHOLDER, Catalog, FormulaError, kennzahl_from_row

    file = TABLES["kennzahlen"].path
    rows = t["kennzahlen"].to_dict("records")
    known = {r["key"]: kennzahl_from_row(r) for r in rows}
    for i, row in enumerate(rows, start=2):
        k = known[row["key"]]
        def problem(column: str, rule: str) -> Problem:
            return Problem(file, i, column, f"Kennzahl {k.key!r}: {rule}")
        inputs: tuple[str, ...] = ()
        if k.formula:
            try:
                inputs = k.inputs
            except FormulaError as exc:
                yield problem("formula", str(exc))
                continue
            for name in inputs:
                if name not in known:
                    yield problem("formula", f"unbekannte Kennzahl {name!r} in der Formel")
        elif k.is_derived or k.reference == "ratio":
            yield problem("formula", "Formel fehlt (nötig für derived und für den Stadtwert ratio)")
        for level in k.levels:
            if k.is_derived:
                for name in inputs:
                    if name in known and level not in known[name].levels:
                        yield problem("levels", f"Eingang {name!r} gibt es auf Ebene {level} nicht")
        if k.reference == "published":
            group, _, column = k.reference_source.partition(":")
            if group not in set(t["city"]["group_name"]) or column not in t["city"].columns:
                yield problem("reference_source", f"{k.reference_source!r} ist keine Gruppe:Spalte der Tabelle city")
        if k.reference == "ratio":
            for name in inputs:
                if name in known and known[name].reference == "none":
                    yield problem("reference", f"Stadtwert ratio braucht Stadtwerte der Eingänge; {name!r} hat keinen")
        for column, text in (("label", k.label), ("short_label", k.short), ("definition", k.definition),
                             ("reference_note", k.reference_note)):
            for name in PLACEHOLDER.findall(text or ""):
                if name not in FACTS:
                    yield problem(column, f"unbekannter Platzhalter {{{name}}}; bekannt: {', '.join(FACTS)}")
    try:
        Catalog(list(known.values())).derivation_order()
    except FormulaError as exc:
        yield Problem(file, None, "formula", str(exc))


CROSS_RULES: tuple[CrossRule, ...] = (
    values_fit_catalog, full_jobcenter_grid, crosswalk_areas_known, documented_stichtage, catalog_consistent,
)




# --- entry points ---------------------------------------------------------------------

def check_folder(folder: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Return the readable tables of ``folder`` and every problem found."""
    import frictionless

    readable = []
    if not folder.is_dir():
        return {}, [Problem(str(folder), None, None, "Datenordner nicht gefunden")]
    own_descriptor, problems = read_descriptor(folder)
    for name, table in TABLES.items():
        path = folder / table.path
        if not path.is_file():
            problems.append(Problem(table.path, None, None, "Datei fehlt"))
            continue
        enc = encoding_problem(path)
        if enc:
            problems.append(enc)
            continue
        readable.append(name)
    try:
        problems += frictionless_problems(folder, readable)
    except frictionless.FrictionlessException as exc:  # unreadable CSV structure
        problems.append(Problem(str(folder), None, None, f"Datei nicht lesbar: {exc.error.note}"))
    reported = {(p.file, p.row, p.column) for p in problems}
    problems += [p for p in storage_problems(folder, readable) if (p.file, p.row, p.column) not in reported]
    documents = TABLES["documents"].path
    if own_descriptor is not None and "documents" in readable and not any(p.file == documents for p in problems):
        problems += descriptor_problems(folder, own_descriptor)
    if problems:
        return {}, problems
    frames = {}
    for name, table in TABLES.items():
        try:
            frames[name] = read_table(folder, table)
        except (ValueError, OverflowError) as exc:  # a case the checks above missed: still no traceback
            problems.append(Problem(table.path, None, None, f"Datei nicht lesbar: {exc}"))
    if problems:
        return {}, problems
    for rule in CROSS_RULES:
        problems += list(rule(frames))
    return frames, problems


def load_tables(folder: Path) -> Tables:
    """Return the validated tables of ``folder``."""
    folder = Path(folder)
    frames, problems = check_folder(folder)
    if problems:
        raise DataError(folder, problems)
    return Tables(folder, frames)
