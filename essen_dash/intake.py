"""Read a table as the statistics office (Amt für Statistik, FB 12) or the JobCenter exports it into long values.

The office's tables come as CSV (UTF-8 or Windows-1252, ``;`` ``,`` or tab,
decimal comma or point) or XLSX, with title and note lines above the header
and footnotes below it. One row per area and one column per Kennzahl (*wide*)
or one row per value with columns Stichtag, Ebene, Gebiet, Kennzahl, Wert
(*long*). :func:`read_office_table` finds the header, recognises areas by
number or name and Kennzahlen by the catalog's key, label or aliases, and
returns every value as one row of the long values table — or, if anything is
wrong, no values and every problem, each naming file, row (as a person sees
it in the file), column and rule.

Nothing here knows a particular Kennzahl: kinds, units and levels come from
the catalog, areas from the Stadtteil register. Recognised headers, level
words, total rows, secrecy marks and value limits are registries below.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from essen_dash.format import de_date, de_number
from essen_dash.kennzahlen import PLACEHOLDER, Catalog, Kennzahl
from essen_dash.tables.load import Problem
from essen_dash.tables.schema import BEZIRK_IDS

SOURCE = "Stadt Essen, Amt für Statistik (FB 12)"
COLUMNS = ["stichtag", "level", "area", "kennzahl", "value", "state", "source"]
PUBLISHED, WITHHELD = "published", "withheld"
#: the office's secrecy marks: a value exists but is not published (never 0, never "no value")
WITHHELD_MARKS = frozenset({"–", "-", "—", ".", "x", "X", "/"})
#: area names of whole-city rows, skipped (compared after :func:`area_key`)
TOTALS = frozenset({"stadt essen", "essen gesamt", "gesamtstadt", "insgesamt", "summe"})
#: how many lines the delimiter is sniffed on (title lines, header, first rows)
HEADER_REGION = 60
NO_AREA = "keine Gebietsspalte gefunden (erwartet z. B. Stadtteil, Stadtteil-Nr., Stadtbezirk)"
UNKNOWN_KENNZAHL = ("unbekannte Kennzahl {!r}: nicht im Kennzahlenkatalog (Schlüssel, Bezeichnung oder andere "
                    "Schreibweise); erst den Katalog erweitern")


# --- registries ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AreaHeader:
    """What an area column's header says: the level (None: it does not say) and whether it holds numbers."""

    level: str | None
    is_number: bool


#: area column headers, compared after :func:`header_key` (case, spaces, dots and hyphens do not matter)
AREA_HEADERS = {
    **dict.fromkeys(("stadtteil", "stadtteilname"), AreaHeader("stadtteil", False)),
    **dict.fromkeys(("stadtteilnr", "stadtteilnummer"), AreaHeader("stadtteil", True)),
    **dict.fromkeys(("stadtbezirk", "bezirk", "stadtbezirksname", "bezirksname"), AreaHeader("bezirk", False)),
    **dict.fromkeys(("stadtbezirksnr", "stadtbezirknr", "bezirksnr", "bezirknr", "stadtbezirksnummer",
                     "bezirksnummer"), AreaHeader("bezirk", True)),
    **dict.fromkeys(("nr", "nummer"), AreaHeader(None, True)),
    **dict.fromkeys(("gebiet", "raum", "gebietsname", "raumeinheit"), AreaHeader(None, False)),
}
#: other columns with a role, compared after :func:`header_key`; in a wide table only ``stichtag`` applies
ROLE_HEADERS = {
    **dict.fromkeys(("stichtag", "stand", "datum"), "stichtag"),
    **dict.fromkeys(("ebene", "raumebene"), "level"),
    **dict.fromkeys(("kennzahl", "merkmal", "indikator"), "kennzahl"),
    **dict.fromkeys(("wert", "value"), "value"),
}
LONG_ROLES = frozenset({"kennzahl", "value"})
WIDE_ROLES = frozenset({"stichtag"})


def _bezirk_areas(register: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    return {b: (f"Stadtbezirk {b}", b, str(n), f"{n:02d}", f"Bezirk {b}", f"Stadtbezirk {n}", f"Bezirk {n}")
            for n, b in enumerate(BEZIRK_IDS, start=1)}


def _stadtteil_areas(register: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    return {str(int(nr)): (str(name), str(int(nr)), f"{int(nr):02d}")
            for nr, name in sorted(zip(register["stadtteil_nr"], register["stadtteil_name"]))}


@dataclass(frozen=True)
class Level:
    """One level of areas: how people name it and its areas, and the rule for a value naming none of them."""

    plural: str
    area_label: str  # how a message names one area, e.g. "Stadtbezirk {}"
    unknown: str
    areas: Callable[[pd.DataFrame], dict[str, tuple[str, ...]]]  # area -> (official name, other spellings …)


#: the levels, coarsest first (the order of the values table)
LEVELS = {
    "bezirk": Level("Stadtbezirke", "Stadtbezirk {}", "ist kein Stadtbezirk (I–IX)", _bezirk_areas),
    "stadtteil": Level("Stadtteile", "Stadtteil {}", "steht nicht im amtlichen Stadtteilverzeichnis",
                       _stadtteil_areas),
}
#: words a long table's Ebene column may use, compared after :func:`header_key`
LEVEL_WORDS = {"bezirk": "bezirk", "bezirke": "bezirk", "stadtbezirk": "bezirk", "stadtbezirke": "bezirk",
               "stadtteil": "stadtteil", "stadtteile": "stadtteil"}


@dataclass(frozen=True)
class Limits:
    """The range a value of a kind of Kennzahl must lie in."""

    low: float | None
    high: float | None
    whole: bool
    unit: str  # as the rule shows the limits


#: limits by kind; a Kennzahl in % has those of a share whatever its kind
LIMITS = {"share": Limits(0, 100, False, " %"), "count": Limits(0, None, True, "")}


def limits_of(k: Kennzahl) -> Limits | None:
    return LIMITS.get("share" if k.unit == "%" else k.kind)


# --- text keys ----------------------------------------------------------------------------

def header_key(text: str) -> str:
    """Return a header reduced to lower-case letters and digits ("Stadtteil-Nr." → "stadtteilnr")."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFC", text).casefold())


def text_key(text: str) -> str:
    """Return a name in lower case with single spaces (Kennzahl names)."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def area_key(text: str) -> str:
    """Return an area name in lower case, hyphens as spaces, single spaces, ß as ss."""
    return " ".join(re.sub(r"[-‐‑–—]", " ", unicodedata.normalize("NFC", text).casefold()).split())


UMLAUTS_PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})
UMLAUTS_E = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def spellings(name: str) -> set[str]:
    """Return the keys a name may be written as: with umlauts, without, or with ae/oe/ue."""
    key = area_key(name)
    return {key, key.translate(UMLAUTS_PLAIN), key.translate(UMLAUTS_E)}


def _map_unique(series: pd.Series, fn: Callable[[Hashable], object]) -> pd.Series:
    """Return ``fn`` of every value, computed once per distinct value."""
    uniques = series.unique()
    return series.map(dict(zip(uniques, map(fn, uniques))))


#: date patterns and the groups of (year, month, day)
DATE_FORMS = ((re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), (3, 2, 1)),
              (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), (1, 2, 3)))
STAND_LINE = re.compile(r"\b(?:stand|stichtag)\b\W*(?:am|vom|zum)?\s*(\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2})",
                        re.IGNORECASE)


def parse_date(text: str) -> date | None:
    """Return the date of ``31.12.2018`` or ``2018-12-31``, or None."""
    for pattern, (y, m, d) in DATE_FORMS:
        match = pattern.fullmatch(text.strip())
        if match:
            try:
                return date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
            except ValueError:
                return None
    return None


# --- the catalog's names and the register's areas --------------------------------------------

class KennzahlNames:
    """Find a Kennzahl by what a header or cell calls it: key, then label, then alias, then short label.

    Earlier kinds of name win ("Bulgarien" is the alias of the count and the short label of the share); two
    Kennzahlen with the same name of the same kind are ambiguous. A ``{placeholder}`` matches any number.
    """

    KINDS: tuple[Callable[[Kennzahl], tuple[str, ...]], ...] = (
        lambda k: (k.key,), lambda k: (k.label,), lambda k: k.aliases, lambda k: (k.short,))

    def __init__(self, catalog: Catalog):
        self.tiers = []
        for names in self.KINDS:
            exact: dict[str, list[str]] = {}
            patterns: list[tuple[re.Pattern, str]] = []
            for k in catalog.values():
                for name in filter(None, names(k)):
                    key = text_key(name)
                    if PLACEHOLDER.search(key):
                        parts = PLACEHOLDER.split(key)[::2]
                        patterns.append((re.compile(r"\d+".join(map(re.escape, parts))), k.key))
                    elif k.key not in exact.setdefault(key, []):
                        exact[key].append(k.key)
            self.tiers.append((exact, patterns))

    def find(self, text: str) -> list[str]:
        key = text_key(text)
        for exact, patterns in self.tiers:
            found = list(exact.get(key, []))
            found += [k for pattern, k in patterns if pattern.fullmatch(key) and k not in found]
            if found:
                return found
        return []


@dataclass(frozen=True)
class Areas:
    """The areas of one level: lookup by any spelling, official names, official order."""

    lookup: dict[str, str]
    names: dict[str, str]
    rank: dict[str, int]

    @staticmethod
    def of(level: str, register: pd.DataFrame) -> Areas:
        areas = LEVELS[level].areas(register)
        found: dict[str, set[str]] = {}
        for area, names in areas.items():
            for name in names:
                for key in spellings(name):
                    found.setdefault(key, set()).add(area)
        lookup = {key: next(iter(hits)) for key, hits in found.items() if len(hits) == 1}  # ambiguous: neither
        return Areas(lookup, {a: names[0] for a, names in areas.items()}, {a: i for i, a in enumerate(areas)})


# --- reading a file into a grid of cells -----------------------------------------------------

class Refused(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


@dataclass(frozen=True)
class Grid:
    """The cells of a file as a person sees them, rows numbered as shown (CSV line, Excel row)."""

    text: pd.DataFrame  # stripped text, "" when empty
    numbers: pd.DataFrame | None  # Excel number cells as floats, NaN elsewhere; None for CSV


def _frame(rows: list[list[str]], index: list[int]) -> pd.DataFrame:
    width = max(map(len, rows), default=0)
    padded = [[c.strip() for c in r] + [""] * (width - len(r)) for r in rows]
    return pd.DataFrame(padded, index=pd.Index(index, name="row"), columns=range(width), dtype=str)


DELIMITERS = (";", "\t", ",")
#: the longest cell read (the csv module's own default limit, 128 KiB)
MAX_CELL = 131_072


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        rows.extend(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        pass  # the full read reports it, with its line
    return rows


def sniff_delimiter(lines: list[str]) -> str:
    """Return the delimiter that splits the header region into a recognised header row with most columns;
    failing that, the one that splits most lines into rows of one width."""
    found = []
    for delimiter in DELIMITERS:
        header = next((r for r in _split(lines, delimiter) if is_header(r)), None)
        if header is not None:
            found.append((len(header), -DELIMITERS.index(delimiter), delimiter))
    if found:
        return max(found)[2]
    best, best_score = DELIMITERS[0], 0
    for delimiter in DELIMITERS:
        widths = Counter(n for n in map(len, _split(lines, delimiter)) if n > 1)
        if widths:
            width, rows = widths.most_common(1)[0]
            if width * rows > best_score:
                best, best_score = delimiter, width * rows
    return best


def read_csv_grid(file: str, data: bytes, sheet: str | None) -> Grid:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise Refused([Problem(file, data[: exc.start].count(b"\n") + 1, None,
                                   "Zeichenkodierung nicht erkannt (weder UTF-8 noch Windows-1252)")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text.splitlines()[:HEADER_REGION]))
    rows, lines, last = [], [], 0

    def too_big() -> Refused:
        return Refused([Problem(file, last + 1, None, "Datei nicht lesbar (eine Zelle ist zu groß für eine "
                                                      "CSV-Tabelle)")])

    try:
        for cells in reader:
            # our own limit: the csv module's is process-wide, and other libraries (frictionless) raise it
            if any(len(c) > MAX_CELL for c in cells):
                raise too_big()
            rows.append(cells)
            lines.append(last + 1)
            last = reader.line_num
    except csv.Error:  # a cell beyond the csv module's size limit
        raise too_big() from None
    return Grid(_frame(rows, lines), None)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _excel_cell(value: object) -> tuple[str, float]:
    """Return an Excel cell as text (as shown) and, if it is a number, as float."""
    if value is None:
        return "", np.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_text(value), float(value)
    if isinstance(value, datetime):
        return value.date().isoformat(), np.nan
    if isinstance(value, date):
        return value.isoformat(), np.nan
    return str(value).strip(), np.nan


def read_xlsx_grid(file: str, data: bytes, sheet: str | None) -> Grid:
    import openpyxl  # only when an Excel file comes: keeps the CLI's start quick

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - a damaged file raises many kinds (zip, XML, KeyError); the user gets a sentence
        raise Refused([Problem(file, None, None, "Datei nicht lesbar (keine gültige Excel-Datei .xlsx)")]) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise Refused([Problem(file, None, None, f"Tabellenblatt {sheet!r} fehlt; vorhanden: "
                                                     f"{', '.join(repr(s) for s in book.sheetnames)}")])
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        cells = [[_excel_cell(v) for v in values] for values in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()
    index = list(range(1, len(cells) + 1))
    text = _frame([[t for t, _ in row] for row in cells], index)
    width = len(text.columns)
    numbers = pd.DataFrame([[n for _, n in row] + [np.nan] * (width - len(row)) for row in cells],
                           index=text.index, columns=text.columns, dtype=float)
    return Grid(text, numbers)


def refuse_xls(file: str, data: bytes, sheet: str | None) -> Grid:
    raise Refused([Problem(file, None, None, "altes Excel-Format (.xls) wird nicht gelesen; bitte als .xlsx oder "
                                             "CSV speichern")])


#: file formats by their first bytes; anything else is read as text (CSV)
FORMATS: tuple[tuple[bytes, Callable[[str, bytes, str | None], Grid]], ...] = (
    (b"PK\x03\x04", read_xlsx_grid), (b"\xd0\xcf\x11\xe0", refuse_xls))


def read_grid(file: str, data: bytes, sheet: str | None) -> Grid:
    reader = next((r for magic, r in FORMATS if data.startswith(magic)), read_csv_grid)
    grid = reader(file, data, sheet)
    if not (grid.text != "").to_numpy().any():
        raise Refused([Problem(file, None, None, "Datei ist leer")])
    return grid


# --- the table ------------------------------------------------------------------------------

def is_header(cells) -> bool:
    """Return whether a row names an area column, or both Kennzahl and Wert columns (a long table)."""
    keys = {header_key(c) for c in cells if c}
    return bool(keys & AREA_HEADERS.keys()) or LONG_ROLES <= {ROLE_HEADERS.get(k) for k in keys}


def find_header(text: pd.DataFrame) -> int | None:
    """Return the number of the first header row."""
    return next((int(row) for row, cells in zip(text.index, text.itertuples(index=False)) if is_header(cells)), None)


def grouped(file: str, bad: pd.DataFrame) -> list[Problem]:
    """Return one problem per (column, rule) at its first row, naming the other rows it occurs in."""
    out = []
    for (column, rule), rows in bad.groupby(["column", "rule"], sort=False, dropna=False)["row"]:
        rows = rows.tolist()
        more = rows[1:]
        if more:
            shown = ", ".join(map(str, more[:5])) + (" …" if len(more) > 5 else "")
            rule = f"{rule}; ebenso in Zeile {shown} ({len(rows)} Zeilen)"
        out.append(Problem(file, int(rows[0]), column or None, rule))
    return out


def per_distinct(frame: pd.DataFrame, columns: list[str], fn: Callable[..., tuple], width: int = 2) -> list[np.ndarray]:
    """Return the ``width`` items of ``fn(*row[columns])`` for every row as arrays, computed once per distinct
    combination: a 50,000-row table names few areas and Kennzahlen."""
    distinct = frame[columns].drop_duplicates()
    results = [fn(*row) for row in distinct.itertuples(index=False, name=None)]
    outs = {f"_out{j}": pd.Series([r[j] for r in results], index=distinct.index, dtype=object) for j in range(width)}
    merged = frame[columns].merge(distinct.assign(**outs), on=columns, how="left", sort=False)
    return [merged[name].to_numpy(dtype=object) for name in outs]


def _bad(frame: pd.DataFrame, column: str | np.ndarray, rules: np.ndarray) -> pd.DataFrame:
    """Return the (row, column, rule) records of the rows whose rule is not empty."""
    mask = rules != ""
    column = column[mask] if isinstance(column, np.ndarray) else column
    return pd.DataFrame({"row": frame["row"].to_numpy()[mask], "column": column, "rule": rules[mask]})


@dataclass(frozen=True)
class Request:
    """What the caller asked for, beside the file itself."""

    file: str
    catalog: Catalog
    register: pd.DataFrame
    stichtag: date | None
    level: str | None
    source: str


@dataclass(frozen=True)
class Columns:
    """The columns of a table by what their headers say."""

    header: pd.Series  # the header cells as written
    areas: list[tuple[int, AreaHeader]]
    roles: dict[str, int]
    kennzahlen: list[int]  # wide: every other column with a header
    blank: list[int]  # no header, but cells

    @staticmethod
    def of(header: pd.Series, body: pd.DataFrame) -> Columns:
        areas, roles, others, blank = [], {}, [], []
        for c in header.index:
            key = header_key(header[c])
            if not header[c]:
                if (body[c] != "").any():
                    blank.append(c)
            elif key in AREA_HEADERS:
                areas.append((c, AREA_HEADERS[key]))
            elif key in ROLE_HEADERS and ROLE_HEADERS[key] not in roles:
                roles[ROLE_HEADERS[key]] = c
            else:
                others.append(c)
        if not LONG_ROLES <= roles.keys():  # wide: a Wert or Ebene column is just an unknown Kennzahl
            others = sorted(others + [c for role, c in roles.items() if role not in WIDE_ROLES])
            roles = {role: c for role, c in roles.items() if role in WIDE_ROLES}
        return Columns(header, areas, roles, others, blank)

    @property
    def layout(self) -> str:
        return "long" if LONG_ROLES <= self.roles.keys() else "wide"

    def name(self, c: int) -> str:
        return self.header[c]


def parse_table(grid: Grid, req: Request) -> tuple[str, pd.DataFrame, list[Problem]]:
    """Return the layout, the long values and every problem of a grid."""
    file, text = req.file, grid.text
    problems: list[Problem] = []
    bad: list[pd.DataFrame] = []  # row problems, reported grouped by (column, rule)
    h = find_header(text)
    if h is None:
        filled = (text != "").sum(axis=1)
        first_row = int(filled.index[filled >= 2][0]) if (filled >= 2).any() else None
        raise Refused([Problem(file, first_row, None, NO_AREA)])
    body = text.loc[text.index > h]
    numbers = grid.numbers.loc[body.index] if grid.numbers is not None else None
    cols = Columns.of(text.loc[h], body)
    name, layout = cols.name, cols.layout
    if not cols.areas:
        found = ", ".join(repr(name(c)) for c in cols.kennzahlen)
        raise Refused([Problem(file, h, None, f"{NO_AREA}; gefunden: {found}" if found else NO_AREA)])

    # the level: from the area headers (the finest one named), or as given (which must agree)
    named = {a.level: c for c, a in cols.areas if a.level}
    level = next((lv for lv in reversed(LEVELS) if lv in named), None)
    if req.level is not None:
        if req.level not in LEVELS:
            raise Refused([Problem(file, None, None, f"Ebene {req.level!r} unbekannt; erlaubt: {', '.join(LEVELS)}")])
        if level is not None and level != req.level:
            problems.append(Problem(file, h, name(named[level]),
                                    f"angegebene Ebene {LEVELS[req.level].plural} passt nicht zur Gebietsspalte "
                                    f"{name(named[level])!r} ({LEVELS[level].plural})"))
        level = req.level
    # the area is read from a number column of the level if there is one; the other area columns must agree
    is_number = dict(cols.areas)
    own = sorted((c for c, a in cols.areas if a.level in (None, level)), key=lambda c: not is_number[c].is_number)
    primary = own[0] if own else cols.areas[0][0]
    if level is None and "level" not in cols.roles:
        problems.append(Problem(file, h, name(primary),
                                f"Ebene nicht erkennbar: {name(primary)!r} sagt nicht, ob Stadtbezirke oder "
                                "Stadtteile gemeint sind; Ebene angeben oder Spalte 'Ebene' ergänzen"))

    # data rows are those with a value (titles, footnotes, separators have none); whole-city rows are skipped
    value_columns = cols.kennzahlen if layout == "wide" else [cols.roles["value"]]
    data = (body[value_columns] != "").any(axis=1) if value_columns else pd.Series(False, index=body.index)
    for c in cols.blank:
        with_values = body.index[data & (body[c] != "")]
        if len(with_values):
            problems.append(Problem(file, h, None, f"Spalte {c + 1} hat keine Überschrift, enthält aber Werte "
                                                   f"(z. B. Zeile {with_values[0]})"))
    total = pd.Series(False, index=body.index)
    for c, _ in cols.areas:
        total |= _map_unique(body[c], lambda t: area_key(t) in TOTALS).astype(bool)
    rows = body.loc[data & ~total]
    frame = pd.DataFrame({"row": rows.index.to_numpy()})
    last = body.index[data][-1] if data.any() else h
    notes = text.index[(text.index < h) | (text.index > last)]  # titles above the table, footnotes below it

    # the Stichtag of each row: as given, else from its column, else from a "Stand:" line
    stand = next(((r, m.group(1)) for r in notes
                  if (m := STAND_LINE.search(" ".join(c for c in text.loc[r] if c)))), None)
    stand_date = parse_date(stand[1]) if stand else None
    if stand and stand_date is None and req.stichtag is None:
        problems.append(Problem(file, stand[0], None, f"Stichtag {stand[1]!r} ist kein gültiges Datum"))
    fallback = req.stichtag or stand_date
    if "stichtag" in cols.roles:
        column = name(cols.roles["stichtag"])
        frame["stichtag_raw"] = rows[cols.roles["stichtag"]].to_numpy()

        def stichtag_of(raw: str) -> tuple[date | None, str]:
            if not raw:
                return fallback, "" if fallback else "kein Stichtag: Zelle leer und keine Zeile 'Stand: TT.MM.JJJJ'"
            day = parse_date(raw)
            if day is None:
                return None, f"Stichtag {raw!r} ist kein Datum (TT.MM.JJJJ oder JJJJ-MM-TT)"
            if req.stichtag is not None and day != req.stichtag:
                return None, f"Stichtag {raw!r} passt nicht zum angegebenen Stichtag {de_date(req.stichtag)}"
            return day, ""

        frame["stichtag"], rules = per_distinct(frame, ["stichtag_raw"], stichtag_of)
        bad.append(_bad(frame, column, rules))
    else:
        if fallback is None:
            problems.append(Problem(file, None, None, "kein Stichtag gefunden: weder beim Aufruf angegeben noch als "
                                                      "Spalte 'Stichtag' noch als Zeile 'Stand: TT.MM.JJJJ'"))
        frame["stichtag"] = pd.Series([fallback] * len(frame), dtype=object)

    # the level of each row: from the Ebene column (which must agree with area header and call), else the file's
    if "level" in cols.roles:
        frame["level_raw"] = rows[cols.roles["level"]].to_numpy()

        def level_of(raw: str) -> tuple[str, str]:
            if not raw:
                return level or "", "" if level else "keine Ebene angegeben"
            word = LEVEL_WORDS.get(header_key(raw))
            if word is None:
                return "", f"Ebene {raw!r} unbekannt (erwartet Stadtbezirk oder Stadtteil)"
            if level is not None and word != level:
                return "", f"Ebene {raw!r} widerspricht der Ebene {LEVELS[level].plural} (Gebietsspalte oder Aufruf)"
            return word, ""

        frame["level"], rules = per_distinct(frame, ["level_raw"], level_of)
        bad.append(_bad(frame, name(cols.roles["level"]), rules))
    else:
        frame["level"] = level or ""

    # the area of each row, by number, numeral or name
    lookups = {lv: Areas.of(lv, req.register) for lv in LEVELS}
    area_raw, area_column = rows[primary].to_numpy(dtype=object), np.full(len(rows), name(primary), dtype=object)
    for c in own[1:]:  # a number column left empty: the name beside it
        empty = area_raw == ""
        area_raw = np.where(empty, rows[c].to_numpy(dtype=object), area_raw)
        area_column = np.where(empty & (area_raw != ""), name(c), area_column)
    frame["area_raw"] = area_raw

    def area_of(lv: str, raw: str) -> tuple[str, str]:
        area = lookups[lv].lookup.get(area_key(raw), "") if lv else ""
        if area or not lv:
            return area, ""
        return "", f"Gebiet {raw!r} {LEVELS[lv].unknown}" if raw else "kein Gebiet angegeben (die Zeile hat Werte)"

    frame["area"], rules = per_distinct(frame, ["level", "area_raw"], area_of)
    bad.append(_bad(frame, area_column, rules))
    bezirk_of = {str(int(n)): b for n, b in zip(req.register["stadtteil_nr"], req.register["bezirk_id"])}
    for c, a in cols.areas:
        if c == primary:
            continue
        frame["other_raw"] = rows[c].to_numpy()
        other_level = a.level or level

        def agrees(lv: str, area: str, raw: str, shown: str) -> tuple[str]:
            if not (raw and area and other_level):
                return ("",)
            expected = area if other_level == lv else \
                bezirk_of.get(area) if (other_level, lv) == ("bezirk", "stadtteil") else None
            if expected is None or lookups[other_level].lookup.get(area_key(raw)) == expected:
                return ("",)
            return (f"{name(c)} {raw!r} passt nicht zu {name(primary)} {shown!r} "
                    f"(amtlich: {lookups[other_level].names[expected]})",)

        bad.append(_bad(frame, name(c), per_distinct(frame, ["level", "area", "other_raw", "area_raw"], agrees, 1)[0]))

    # the Kennzahl of each column (wide) or row (long)
    names = KennzahlNames(req.catalog)

    def kennzahl_of(shown: str, lv: str) -> tuple[str, str]:
        found = names.find(shown)
        if not found:
            return "", UNKNOWN_KENNZAHL.format(shown) if shown else "keine Kennzahl angegeben"
        if len(found) > 1:
            return "", f"Kennzahl {shown!r} ist mehrdeutig ({', '.join(found)}); im Katalog eindeutig benennen"
        k = req.catalog[found[0]]
        if k.is_derived:
            return "", (f"Kennzahl {shown!r} ({k.key}) wird nicht eingelesen, sondern "
                        f"{req.catalog.formula_text(k)}; Spalte entfernen")
        if lv and lv not in k.levels:
            return "", (f"Kennzahl {shown!r} ({k.key}) gibt es auf der Ebene {LEVELS[lv].plural} nicht "
                        f"(laut Katalog nur: {', '.join(LEVELS[x].plural for x in k.levels if x in LEVELS)})")
        return k.key, ""

    if layout == "wide":
        keys: dict[int, str] = {}
        for c in cols.kennzahlen:
            key, rule = kennzahl_of(name(c), level or "")
            if key in keys.values():
                rule = f"meint dieselbe Kennzahl ({key}) wie Spalte {name(next(o for o in keys if keys[o] == key))!r}"
            if rule:
                problems.append(Problem(file, h, name(c), rule))
            else:
                keys[c] = key
        cells = _wide_cells(rows, numbers, keys, cols.header)
    else:
        value_column = cols.roles["value"]
        frame["kennzahl_raw"] = rows[cols.roles["kennzahl"]].to_numpy()
        frame["kennzahl"], rules = per_distinct(frame, ["kennzahl_raw", "level"], kennzahl_of)
        bad.append(_bad(frame, name(cols.roles["kennzahl"]), rules))
        cells = pd.DataFrame({
            "i": np.arange(len(frame)), "column": name(value_column), "kennzahl": frame["kennzahl"].to_numpy(),
            "text": rows[value_column].to_numpy(),
            "number": numbers.loc[rows.index, value_column].to_numpy() if numbers is not None else np.nan})
        cells = cells[cells["kennzahl"] != ""]

    # the values, and the limits of their Kennzahl
    cells = cells.join(frame[["row", "stichtag", "level", "area"]], on="i")
    value, state, value_problems = parse_values(file, cells, req.catalog)
    cells = cells.assign(value=value, state=state)

    # each area (wide) or area and Kennzahl (long) once per Stichtag and level
    key = ["stichtag", "level", "area"] + (["kennzahl"] if layout == "long" else [])
    known = frame[frame["stichtag"].notna() & (frame["level"] != "") & (frame["area"] != "")]
    if layout == "long":
        known = known[known["kennzahl"] != ""]
    repeated = known[known.duplicated(key, keep=False)]
    if len(repeated):
        repeated = repeated.assign(first=repeated.groupby(key, sort=False)["row"].transform("first"))
        for r in repeated[repeated["row"] != repeated["first"]].to_dict("records"):
            what = f"Gebiet {r['area_raw']!r}" + (f" mit Kennzahl {r['kennzahl_raw']!r}" if layout == "long" else "")
            problems.append(Problem(file, int(r["row"]), name(primary if layout == "wide" else cols.roles["value"]),
                                    f"{what} steht für den Stichtag {de_date(r['stichtag'])} mehrfach in der Datei "
                                    f"(zuerst in Zeile {r['first']})"))

    problems += grouped(file, pd.concat(bad, ignore_index=True)) + value_problems
    if cells.empty and not problems:
        problems.append(Problem(file, h, None, "keine Werte gefunden: keine Spalte mit einer Kennzahl oder nur "
                                               "leere Zellen"))
    problems.sort(key=lambda p: p.row or 0)
    if problems:
        return layout, empty_values(), problems
    return layout, _values(cells, req, lookups), []


def _wide_cells(rows: pd.DataFrame, numbers: pd.DataFrame | None, keys: dict[int, str],
                header: pd.Series) -> pd.DataFrame:
    """Return one record per filled cell of the Kennzahl columns (an empty cell is no value)."""
    parts = [pd.DataFrame({"i": pd.Series([], dtype=int), "column": pd.Series([], dtype=str),
                           "kennzahl": pd.Series([], dtype=str), "text": pd.Series([], dtype=str),
                           "number": pd.Series([], dtype=float)})]
    for c, key in keys.items():
        text = rows[c].to_numpy(dtype=object)
        filled = np.flatnonzero(text != "")
        parts.append(pd.DataFrame({
            "i": filled, "column": header[c], "kennzahl": key, "text": text[filled],
            "number": numbers.loc[rows.index, c].to_numpy()[filled] if numbers is not None else np.nan}))
    return pd.concat(parts, ignore_index=True)


DECIMAL_COMMA = r"[+-]?[\d.]*\d,\d+"
NUMBER_COMMA = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"
NUMBER_POINT = r"[+-]?\d+(?:\.\d+)?"
THOUSANDS = r"[+-]?\d{1,3}(?:\.\d{3})+"


def parse_values(file: str, cells: pd.DataFrame, catalog: Catalog) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Return value and state of every cell, and a problem for each cell that is no number or breaks its limits.

    A file uses decimal comma (and "." between thousands) if any of its value cells has one; else decimal
    point, and "." between thousands only in a count ("12.345" people: a count is whole, so it cannot be 12.345).
    Excel number cells are taken as they are.
    """
    text = cells["text"].astype(str)
    number = cells["number"].astype(float)
    native = number.notna()
    withheld = ~native & text.isin(WITHHELD_MARKS)
    written = ~native & ~withheld
    limits = {k.key: limits_of(k) for k in catalog.values()}
    of = lambda field, empty: cells["kennzahl"].map(  # noqa: E731
        {key: empty if lim is None else getattr(lim, field) for key, lim in limits.items()})
    low, high = of("low", np.nan).astype(float), of("high", np.nan).astype(float)
    whole = of("whole", False).astype(bool)
    comma = bool(text[written].str.fullmatch(DECIMAL_COMMA).any())
    if comma:
        ok = text.str.fullmatch(NUMBER_COMMA)
        cleaned = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        thousands = whole & text.str.fullmatch(THOUSANDS)
        ok = thousands | text.str.fullmatch(NUMBER_POINT)
        cleaned = text.where(~thousands, text.str.replace(".", "", regex=False))
    value = pd.to_numeric(cleaned.where(written & ok), errors="coerce").astype(float).where(~native, number)
    not_number = written & ~ok
    below, above = value < low, value > high
    fraction = whole & value.notna() & (value % 1 != 0)
    problems = []
    for i in np.flatnonzero((not_number | below | above | fraction).to_numpy()):  # the rare bad cells only
        shown, lim = cells["text"].iloc[i], limits[cells["kennzahl"].iloc[i]]
        if not_number.iloc[i]:
            hint = " (die Datei schreibt Dezimalkomma; der Punkt trennt Tausender)" \
                if comma and re.fullmatch(NUMBER_POINT, shown) else ""
            rule = f"Wert {shown!r} ist keine Zahl{hint}"
        elif below.iloc[i]:
            rule = f"Wert {shown} liegt unter dem Mindestwert {lim.low:g}{lim.unit}"
        elif above.iloc[i]:
            rule = f"Wert {shown} liegt über dem Höchstwert {lim.high:g}{lim.unit}"
        else:
            rule = f"Wert {shown} ist keine ganze Zahl (die Kennzahl ist eine Anzahl)"
        problems.append(Problem(file, int(cells["row"].iloc[i]), cells["column"].iloc[i], rule))
    return value.where(~withheld).to_numpy(), np.where(withheld, WITHHELD, PUBLISHED), problems


def _values(cells: pd.DataFrame, req: Request, lookups: dict[str, Areas]) -> pd.DataFrame:
    """Return the cells as the long values table, in its order (Stichtag, level, catalog, official area order)."""
    area_rank = np.zeros(len(cells), dtype=int)
    for lv, areas in lookups.items():
        at = (cells["level"] == lv).to_numpy()
        area_rank[at] = cells["area"][at].map(areas.rank).to_numpy()
    order = np.lexsort((area_rank, cells["kennzahl"].map({k: i for i, k in enumerate(req.catalog)}).to_numpy(),
                        cells["level"].map({lv: i for i, lv in enumerate(LEVELS)}).to_numpy(),
                        _map_unique(cells["stichtag"], date.toordinal).to_numpy()))
    cells = cells.iloc[order]
    return pd.DataFrame({
        "stichtag": pd.Series(cells["stichtag"].to_numpy(), dtype=object),
        "level": pd.Series(cells["level"].to_numpy(), dtype=str),
        "area": pd.Series(cells["area"].to_numpy(), dtype=str),
        "kennzahl": pd.Series(cells["kennzahl"].to_numpy(), dtype=str),
        "value": pd.Series(cells["value"].to_numpy(), dtype=float),
        "state": pd.Series(cells["state"].to_numpy(), dtype=str),
        "source": pd.Series([req.source] * len(cells), dtype=str),
    })


def empty_values() -> pd.DataFrame:
    """Return a values table without rows."""
    return pd.DataFrame({"stichtag": pd.Series([], dtype=object), "level": pd.Series([], dtype=str),
                         "area": pd.Series([], dtype=str), "kennzahl": pd.Series([], dtype=str),
                         "value": pd.Series([], dtype=float), "state": pd.Series([], dtype=str),
                         "source": pd.Series([], dtype=str)})


# --- entry points ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Intake:
    """What reading one office table gave: its values, or none and every problem."""

    file: str  # the file name as given (for messages)
    values: pd.DataFrame  # long values (empty when there are problems)
    problems: list[Problem]
    layout: str  # "wide" or "long" as recognised; "" when no table was found
    sha256: str  # of the file's bytes


def read_office_table(path: Path, *, catalog: Catalog, register: pd.DataFrame, stichtag: date | None = None,
                      level: str | None = None, sheet: str | None = None, source: str = SOURCE,
                      file_name: str | None = None) -> Intake:
    """Return the values of an office table (CSV or XLSX, wide or long), or no values and every problem.

    ``stichtag`` and ``level`` override what the file says (a level contradicting its area column, or a
    Stichtag contradicting its Stichtag column, is a problem); ``sheet`` picks an Excel sheet (default: the
    first); ``source`` is written into every value; ``file_name`` is the name messages give the file (an upload
    is read from a temporary file with a generated name; default: the path's name).
    """
    path = Path(path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    name = file_name or path.name
    req = Request(name, catalog, register, stichtag, level, source)
    try:
        layout, values, problems = parse_table(read_grid(name, data, sheet), req)
    except Refused as exc:
        return Intake(name, empty_values(), exc.problems, "", digest)
    return Intake(name, values, problems, layout, digest)


DIFF_KEY = ["stichtag", "level", "area", "kennzahl"]


def diff_values(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Return one row per new value with the old value beside it and whether it is new, changed or unchanged."""
    def side(df: pd.DataFrame, which: str) -> pd.DataFrame:
        return df[DIFF_KEY + ["value", "state"]].rename(columns={"value": f"{which}_value", "state": f"{which}_state"})

    merged = side(new, "new").merge(side(old, "old"), on=DIFF_KEY, how="left", validate="one_to_one")
    old_value, new_value = merged["old_value"], merged["new_value"]
    same_value = (old_value == new_value) | (old_value.isna() & new_value.isna())
    same = (merged["old_state"] == merged["new_state"]) & same_value
    merged["change"] = np.select([merged["old_state"].isna(), same], ["neu", "unverändert"], "geändert")
    merged["change"] = merged["change"].astype(str)
    return merged[DIFF_KEY + ["old_value", "new_value", "old_state", "new_state", "change"]]


def _shown(value: float, state: str, k: Kennzahl) -> str:
    if state == WITHHELD:
        return "geheim gehalten"
    decimals = len(f"{value:.6f}".rstrip("0").split(".")[1])  # never hide a change behind rounding
    return de_number(value, max(k.decimals, decimals))


def describe_diff(diff: pd.DataFrame, catalog: Catalog) -> list[str]:
    """Return German lines: how many values are new, changed and unchanged, then each changed value."""
    counts = diff["change"].value_counts()
    n = len(diff)
    lines = [f"{n} {'Wert' if n == 1 else 'Werte'} in der Datei: {counts.get('neu', 0)} neu, "
             f"{counts.get('geändert', 0)} geändert, {counts.get('unverändert', 0)} unverändert"]
    for r in diff[diff["change"] == "geändert"].itertuples():
        k = catalog[r.kennzahl]
        lines.append(f"{LEVELS[r.level].area_label.format(r.area)}, {k.label}, {de_date(r.stichtag)}: "
                     f"{_shown(r.old_value, r.old_state, k)} → {_shown(r.new_value, r.new_state, k)}")
    return lines
