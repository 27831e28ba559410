"""Read a council submission (Ratsvorlage) in the text format of 1846/2016 into tidy tables.

The reader knows the *layout* of section 3.1 (city paragraph, one block per
Stadtbezirk, the JobCenter table with its area list) and nothing of its
figures: every number, date, name and source comes from the text. Text that
does not fit the layout raises :class:`VorlageParseError` naming the line and
what was expected there; so does a value the data contract refuses (a figure
out of its column's range, a date that does not exist, a Stadtteil or country
named twice), naming the line and the rule.

Every pattern here runs in time linear in the line: no two adjacent
quantifiers can match the same text, and lists are read item by item from a
fixed position, so a long line is read (or refused) quickly.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from essen_dash.tables.load import limit_rule
from essen_dash.tables.schema import BEZIRK_IDS, PCT, TABLES, Column, Table, _bezirk_id, _register_fk, _stichtag

MONTHS = {
    m: i
    for i, m in enumerate(
        ("januar", "februar", "märz", "april", "mai", "juni", "juli", "august",
         "september", "oktober", "november", "dezember"),
        start=1,
    )
}

#: Nationality adjectives (stem) as the text uses them, mapped to the country name.
NATIONALITY_STEMS = {
    "afghanisch": "Afghanistan", "albanisch": "Albanien", "bulgarisch": "Bulgarien",
    "eritreisch": "Eritrea", "griechisch": "Griechenland", "irakisch": "Irak", "iranisch": "Iran",
    "italienisch": "Italien", "kosovarisch": "Kosovo", "libanesisch": "Libanon",
    "marokkanisch": "Marokko", "nigerianisch": "Nigeria", "polnisch": "Polen",
    "rumänisch": "Rumänien", "russisch": "Russland", "serbisch": "Serbien", "spanisch": "Spanien",
    "somalisch": "Somalia", "syrisch": "Syrien", "türkisch": "Türkei", "ukrainisch": "Ukraine",
}

NUM = r"(?:\d{1,3}(?:\.\d{3})+|\d+)"  # German integer, with thousands dots in groups of three or without
DEC = r"\d+(?:,\d+)?"  # German decimal with comma
DATE_DOTTED = r"(\d{2})\.(\d{2})\.(\d{4})"


#: The submission's own table layout (one row per area, a column per figure): read and checked in this form,
#: then published as long values (:func:`as_values`).
LAYOUT: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            name="bezirke",
            title="Sozialdaten der Stadtbezirke I–IX",
            source_kind="bezirke",
            primary_key=("stichtag", "bezirk_id"),
            columns=(
                _stichtag(),
                _bezirk_id(),
                Column("bezirk_nr", "integer", "Stadtbezirk (Nummer)", constraints={"minimum": 1, "maximum": 9}),
                Column("population_count", "integer", "Gesamtbevölkerung", unit="Personen", constraints={"minimum": 1},
                       description="ein Bezirk hat Einwohner: jeder Anteil an der Bevölkerung teilt durch diese Zahl"),
                Column("non_german_pct", "number", "Anteil nichtdeutscher Bevölkerung", unit="%", constraints=PCT),
                Column("origin12_pct", "number", "Anteil der wesentlichen Herkunftsländer", unit="%",
                       constraints=PCT, description="Anteil an der Gesamtbevölkerung des Bezirks"),
                Column("origin12_count", "integer", "Personen aus den wesentlichen Herkunftsländern",
                       unit="Personen", constraints={"minimum": 0}),
                Column("bg_ro_pct", "number", "Anteil Bulgarien/Rumänien an Nichtdeutschen", unit="%", constraints=PCT),
                Column("bg_pct", "number", "Anteil Bulgarien an Nichtdeutschen", unit="%", constraints=PCT),
                Column("bg_count", "integer", "Personen mit bulgarischer Staatsangehörigkeit", unit="Personen",
                       constraints={"minimum": 0}),
                Column("ro_pct", "number", "Anteil Rumänien an Nichtdeutschen", unit="%", constraints=PCT),
                Column("ro_count", "integer", "Personen mit rumänischer Staatsangehörigkeit", unit="Personen",
                       constraints={"minimum": 0}),
                Column("project_housing_pct", "number", "Anteil Projektwohnungen für Flüchtlinge", unit="%",
                       constraints=PCT, description="Anteil des Bezirks an allen Projektwohnungen der Stadt"),
            ),
        ),
        Table(
            name="stadtteile_hotspots",
            title="Besonders betroffene Stadtteile",
            source_kind="bezirke",
            primary_key=("stichtag", "stadtteil_nr"),
            foreign_keys=(_register_fk(("stadtteil_nr", "stadtteil_nr"), ("stadtteil_name", "stadtteil_name"),
                                       ("bezirk_id", "bezirk_id")),),
            columns=(
                _stichtag(),
                _bezirk_id(),
                Column("stadtteil_nr", "integer", "Stadtteil (Nummer)", constraints={"minimum": 1}),
                Column("stadtteil_name", "string", "Stadtteil"),
                Column("origin12_pct", "number", "Anteil der wesentlichen Herkunftsländer", unit="%", constraints=PCT),
            ),
        ),
    )
}
#: the level and area column of each layout table
LAYOUT_LEVELS = {"bezirke": ("bezirk", "bezirk_id"), "stadtteile_hotspots": ("stadtteil", "stadtteil_nr")}


def layout_table(name: str) -> Table:
    """Return the table the reader fills: a layout table of the submission, or a table of the data contract."""
    return LAYOUT.get(name) or TABLES[name]


class VorlageParseError(ValueError):
    """The text does not fit the submission's layout at a given line, or a value there breaks a rule."""

    def __init__(self, path: str, line_no: int | None, expected: str, found: str = "", rule: str | None = None):
        self.path, self.line_no, self.expected, self.found, self.rule = path, line_no, expected, found, rule
        where = f"Zeile {line_no}" if line_no else "Dokumentende"
        detail = f"; gefunden: {found.strip()[:120]!r}" if found.strip() else ""
        said = f"abgelehnt – {rule}" if rule else f"erwartet {expected}"
        super().__init__(f"{path}, {where}: {said}{detail}")


@dataclass(frozen=True)
class Line:
    no: int
    text: str


def clean(text: str) -> str:
    """Strip the markup the format carries (HTML bold, Markdown emphasis, escapes)."""
    text = re.sub(r"</?b>", "", text)
    text = text.replace("**", "").replace("\\*", "*").replace("\\_", "_")
    # Leading tabs are kept: an empty first cell is part of a table's layout.
    return text.rstrip().lstrip(" ")


def to_int(s: str) -> int:
    return int(s.replace(".", ""))


def to_float(s: str) -> float:
    return float(Decimal(s.replace(",", ".")))


def german(value: int | float, unit: str | None) -> str:
    """Return a value as the text writes it (thousands dots, decimal comma), for messages."""
    text = f"{value:,}".replace(",", ".") if isinstance(value, int) else repr(value).replace(".", ",")
    return f"{text} %" if unit == "%" else text


class Reader:
    """Walk the lines of one submission; every lookup failure names its line."""

    def __init__(self, text: str, path: str):
        self.path = path
        self.lines = [Line(i, clean(t)) for i, t in enumerate(text.splitlines(), start=1)]

    def fail(self, line: Line | None, expected: str) -> VorlageParseError:
        return VorlageParseError(self.path, line.no if line else None, expected, line.text if line else "")

    def refuse(self, line: Line | None, rule: str) -> VorlageParseError:
        """Return the error for a value that fits the layout but breaks ``rule`` of the data contract."""
        return VorlageParseError(self.path, line.no if line else None, "", line.text if line else "", rule=rule)

    def checked(self, line: Line, table_name: str, values: dict) -> dict:
        """Return ``values`` if each figure fits its column of the table (storable, minimum, maximum); else refuse."""
        table = layout_table(table_name)
        for name, value in values.items():
            column = table.column(name) if name in table.column_names else None
            if column is None or column.type not in ("integer", "number") or value is None:
                continue
            rule = limit_rule(column, value, german(value, column.unit))
            if rule:
                raise self.refuse(line, f"{column.title}: {rule}")
        return values

    def day(self, line: Line, year: str, month: int, day: str, shown: str) -> date:
        """Return the date, or refuse the line if the calendar has no such day (31.02., 00.01., month 13)."""
        y, d = int(year), int(day)
        if not 1 <= y <= 9999:
            raise self.refuse(line, f"Datum {shown} gibt es nicht (Jahr {y})")
        if not 1 <= month <= 12:
            raise self.refuse(line, f"Datum {shown} gibt es nicht (Monat {month})")
        last = calendar.monthrange(y, month)[1]
        if not 1 <= d <= last:
            name = next(m for m, i in MONTHS.items() if i == month).capitalize()
            raise self.refuse(line, f"Datum {shown} gibt es nicht ({name} {y} hat {last} Tage)")
        return date(y, month, d)

    def dotted(self, line: Line, m: re.Match[str]) -> date:
        """Return the date of a 'TT.MM.JJJJ' match on ``line``."""
        d, mth, y = m.groups()[:3]
        return self.day(line, y, int(mth), d, f"{d}.{mth}.{y}")

    def find(self, pattern: str, expected: str, start: int = 0) -> tuple[int, re.Match[str]]:
        """Return index and match of the first line from ``start`` matching ``pattern``."""
        rx = re.compile(pattern)
        for i in range(start, len(self.lines)):
            m = rx.search(self.lines[i].text)
            if m:
                return i, m
        raise self.fail(None, expected)

    def section_before(self, i: int) -> str:
        """Return the number of the nearest numbered heading above line index ``i``."""
        for j in range(i, -1, -1):
            m = re.match(r"^#+\s*(\d+(?:\.\d+)*)\.?\s", self.lines[j].text)
            if m:
                return m.group(1)
        raise self.fail(self.lines[i], "eine nummerierte Abschnittsüberschrift ('### 3.1 …') davor")

    def after(self, i: int) -> Iterator[tuple[int, Line]]:
        for j in range(i + 1, len(self.lines)):
            yield j, self.lines[j]

    def next_nonempty(self, i: int, expected: str) -> tuple[int, Line]:
        for j, line in self.after(i):
            if line.text:
                return j, line
        raise self.fail(None, expected)


# --- document header -------------------------------------------------------

def read_document(r: Reader) -> dict:
    i, _ = r.find(r"^lfd\. Nummer$", "die Kopfzeile 'lfd. Nummer'")
    j, num = r.next_nonempty(i, "die laufende Nummer der Vorlage")
    if not num.text.isdigit():
        raise r.fail(num, "die laufende Nummer der Vorlage (Ziffern)")
    i, _ = r.find(r"^Jahr$", "die Kopfzeile 'Jahr'", j)
    j, year = r.next_nonempty(i, "das Jahr der Vorlage")
    if not re.fullmatch(r"\d{4}", year.text):
        raise r.fail(year, "das Jahr der Vorlage (vierstellig)")
    i, _ = r.find(r"^Geschäftsbereich$", "die Kopfzeile 'Geschäftsbereich'", j)
    j, gb = r.next_nonempty(i, "die Nummer des Geschäftsbereichs")
    i, _ = r.find(r"^Betreff$", "die Kopfzeile 'Betreff'", j)
    j, title = r.next_nonempty(i, "den Betreff der Vorlage")
    k, m = r.find(r"^Datum:\s*" + DATE_DOTTED, "eine Zeile 'Datum: TT.MM.JJJJ'", j)
    return {
        "document_id": f"{num.text}/{year.text}",
        "document_date": r.dotted(r.lines[k], m),
        "title": title.text,
        "publisher": f"Stadt Essen, Geschäftsbereich {gb.text}",
    }


# --- city paragraph ------------------------------------------------------------

CITY_TOTAL = re.compile(
    rf"Zum Stand (\d{{1,2}})\.\s*(\w+)\s+(\d{{4}}) leben in Essen ({NUM}) Menschen, davon sind ({NUM}) bzw\. "
    rf"({DEC})\s*% Nichtdeutsche"
)
#: "die türkische mit 14.948 (2,5 %)", "der syrischen Staatsangehörigkeit mit 8.228 (2,0 %)"
NATIONALITY_WITH = re.compile(rf"(?:die|der)\s+(\w+?)(?:e|en)?\s+(?:Staatsangehörigkeit\s+)?mit\s+({NUM})\s*\(({DEC})\s*%\)")
#: "aus dem Irak (4.452, 0,8 %)"
NATIONALITY_FROM = re.compile(rf"aus\s+(?:dem\s+|der\s+|den\s+)?(\w+)\s*\(({NUM}),\s*({DEC})\s*%\)")
#: "Die syrischen Staatsangehörigkeiten haben bereits einen Anteil von 9,2 % der Nichtdeutschen"
NON_GERMAN_SHARE = re.compile(r"\b(\w+?)(?:e|en)?\s+Staatsangehörigkeit(?:en)?\s+haben")
NON_GERMAN_SHARE_VALUE = re.compile(rf"Anteil von ({DEC})\s*% der Nichtdeutschen")


def non_german_share(text: str) -> tuple[str, str, int] | None:
    """Return nationality, share and end of the first sentence stating a share of the non-Germans.

    Searched in two linear passes per stretch between full stops, where one pattern with ``[^.]*?`` between
    subject and value would rescan the rest of the stretch from every subject.
    """
    pos = 0
    while sm := NON_GERMAN_SHARE.search(text, pos):
        stop = text.find(".", sm.end())
        stop = len(text) if stop < 0 else stop
        vm = NON_GERMAN_SHARE_VALUE.search(text, sm.end(), stop)
        if vm:
            return sm.group(1), vm.group(1), vm.end()
        pos = stop + 1
    return None


#: "(Türkei 16,7 %)" in a sentence about shares of the non-Germans
NON_GERMAN_SHARE_ASIDE = re.compile(rf"\((\w+)\s+({DEC})\s*%\)")


def country(word: str, line: Line, r: Reader) -> str:
    """Return the country a nationality adjective or country name stands for."""
    if word in NATIONALITY_STEMS.values():
        return word
    stem = word.lower()
    for suffix in ("en", "e", ""):
        if stem.endswith(suffix) and stem[: len(stem) - len(suffix)] in NATIONALITY_STEMS:
            return NATIONALITY_STEMS[stem[: len(stem) - len(suffix)]]
    raise r.fail(line, f"eine bekannte Staatsangehörigkeit statt {word!r}")


def read_city(r: Reader) -> tuple[list[dict], int]:
    i, m = r.find(CITY_TOTAL.pattern, "den Satz zur Gesamtbevölkerung ('Zum Stand … leben in Essen … Menschen …')")
    day, month, year = m.group(1), m.group(2).lower(), m.group(3)
    if month not in MONTHS:
        raise r.fail(r.lines[i], "einen deutschen Monatsnamen im Stand-Datum")
    stichtag = r.day(r.lines[i], year, MONTHS[month], day, f"{day}. {m.group(2)} {year}")
    rows = [
        {"group_kind": "total", "group_name": "Gesamtbevölkerung", "nationality_rank": None,
         **r.checked(r.lines[i], "city", {"person_count": to_int(m.group(4))}),
         "population_pct": None, "non_german_pct": None},
        {"group_kind": "non_german", "group_name": "Nichtdeutsche", "nationality_rank": None,
         **r.checked(r.lines[i], "city", {"person_count": to_int(m.group(5)), "population_pct": to_float(m.group(6))}),
         "non_german_pct": None},
    ]
    nationalities: dict[str, dict] = {}
    stated_on: dict[str, Line] = {}
    shares: dict[str, float] = {}
    for line in r.lines[i:]:
        if line.text.startswith("#"):
            break
        for rx in (NATIONALITY_WITH, NATIONALITY_FROM):
            for nm in rx.finditer(line.text):
                name = country(nm.group(1), line, r)
                if name in stated_on:
                    raise r.refuse(line, f"Staatsangehörigkeit {name} steht doppelt (schon in Zeile "
                                         f"{stated_on[name].no}); je Stichtag eine Angabe")
                stated_on[name] = line
                nationalities[name] = r.checked(line, "city", {"person_count": to_int(nm.group(2)),
                                                               "population_pct": to_float(nm.group(3))})
        stated = non_german_share(line.text)
        if stated:
            word, value, end = stated
            shares[country(word, line, r)] = r.checked(line, "city", {"non_german_pct": to_float(value)})[
                "non_german_pct"]
            for am in NON_GERMAN_SHARE_ASIDE.finditer(line.text, end):
                shares[country(am.group(1), line, r)] = r.checked(
                    line, "city", {"non_german_pct": to_float(am.group(2))})["non_german_pct"]
    if not nationalities:
        raise r.fail(r.lines[i], "Angaben zu den größten Staatsangehörigkeiten ('die … mit <Zahl> (<Anteil> %)')")
    unknown = set(shares) - set(nationalities)
    if unknown:
        raise r.fail(r.lines[i], f"Anzahl und Anteil auch für {', '.join(sorted(unknown))}")
    ranked = sorted(nationalities.items(), key=lambda kv: -kv[1]["person_count"])
    for rank, (name, vals) in enumerate(ranked, start=1):
        rows.append({"group_kind": "nationality", "group_name": name, "nationality_rank": rank,
                     **vals, "non_german_pct": shares.get(name)})
    for row in rows:
        row["stichtag"] = stichtag
    return rows, i


# --- Stadtbezirk blocks ------------------------------------------------------------

@dataclass(frozen=True)
class RowRule:
    """How one labelled row of a Bezirk block becomes columns."""

    label: str  # regex for the label cell
    value: str  # regex for the value cell
    read: Callable[[re.Match[str], re.Match[str]], dict]
    expected: str  # what the row looks like, for error messages


BEZIRK_ROWS: tuple[RowRule, ...] = (
    RowRule(r"^Gesamtbevölkerung$", rf"^({NUM})$",
            lambda lm, vm: {"population_count": to_int(vm.group(1))}, "'Gesamtbevölkerung<TAB><Zahl>'"),
    RowRule(r"^Anteil nichtdeutscher Bevölkerung$", rf"^({DEC})\s*%$",
            lambda lm, vm: {"non_german_pct": to_float(vm.group(1))},
            "'Anteil nichtdeutscher Bevölkerung<TAB><Anteil> %'"),
    RowRule(r"^Anteil der wesentlichen (\d+) Herkunftsländer\*?$", rf"^({DEC})\s*%\s*\(({NUM})\)$",
            lambda lm, vm: {"origin12_pct": to_float(vm.group(1)), "origin12_count": to_int(vm.group(2)),
                            "_n_countries": int(lm.group(1))},
            "'Anteil der wesentlichen <n> Herkunftsländer*<TAB><Anteil> % (<Zahl>)'"),
    RowRule(r"^Besonders betroffene Stadtteile:(.*)$", r"^$",
            lambda lm, vm: {"_hotspots": lm.group(1).strip()},
            "'Besonders betroffene Stadtteile: <Name> (<Anteil> %), …' oder '… ./.'"),
    RowRule(r"^Anteil Bulgarien/Rumänien an Nichtdeutschen$",
            rf"^gesamt ({DEC})\s*%\s*\(({DEC})\s*%\s*\(({NUM})\)\s*bzw\.\s*({DEC})\s*%\s*\(({NUM})\)\)$",
            lambda lm, vm: {"bg_ro_pct": to_float(vm.group(1)), "bg_pct": to_float(vm.group(2)),
                            "bg_count": to_int(vm.group(3)), "ro_pct": to_float(vm.group(4)),
                            "ro_count": to_int(vm.group(5))},
            "'Anteil Bulgarien/Rumänien an Nichtdeutschen<TAB>gesamt <A> % (<B> % (<n>) bzw. <C> % (<m>))'"),
    RowRule(r"^Anteil Projektwohnungen für Flüchtlinge$", rf"^({DEC})\s*%$",
            lambda lm, vm: {"project_housing_pct": to_float(vm.group(1))},
            "'Anteil Projektwohnungen für Flüchtlinge<TAB><Anteil> %'"),
)

BEZIRK_HEADING = re.compile(r"^#*\s*Bezirk\s+([IVX]+)\s*$")
SOURCE_LINE = re.compile(r"^Quelle:\s*(.+?),\s*Stand\s+(\d{2}\.\d{2}\.\d{4})\s*$")
NO_HOTSPOTS = {"./.", "-", "–", "keine"}
#: One item of the hotspot list, matched at a fixed position: separators (possessive, so they are never
#: re-split), a name up to its parenthesis, the share.
HOTSPOT = re.compile(rf"[ ,]*+([^,()]+)\(\s*({DEC})\s*%\)")


def source_line(r: Reader, line: Line, m: re.Match[str]) -> tuple[str, date]:
    return m.group(1).strip(), r.dotted(line, re.match(DATE_DOTTED, m.group(2)))


def read_bezirk_row(r: Reader, line: Line) -> tuple[RowRule, dict]:
    label, _, value = line.text.partition("\t")
    label, value = label.strip(), value.strip()
    for rule in BEZIRK_ROWS:
        lm = re.match(rule.label, label)
        if lm:
            vm = re.match(rule.value, value)
            if not vm:
                raise r.fail(line, rule.expected)
            return rule, r.checked(line, "bezirke", rule.read(lm, vm))
    raise r.fail(line, "eine Zeile der Bezirkstabelle, eine von: " + ", ".join(rule.expected for rule in BEZIRK_ROWS))


#: The Stadtteil register by name: one dict lookup per named Stadtteil, however long the list.
Register = Mapping[str, dict]


def resolve_stadtteil(r: Reader, line: Line, name: str, register: Register) -> dict:
    hit = register.get(name)
    if hit is None:
        raise r.fail(line, f"einen Stadtteil des amtlichen Verzeichnisses statt {name!r}")
    return hit


def read_hotspots(r: Reader, line: Line, text: str, bezirk_id: str, register: Register) -> list[dict]:
    if text in NO_HOTSPOTS:
        return []
    rows, pos = [], 0
    while m := HOTSPOT.match(text, pos):
        st = resolve_stadtteil(r, line, m.group(1).strip(), register)
        if st["bezirk_id"] != bezirk_id:
            raise r.refuse(line, f"Stadtteil {st['stadtteil_name']} gehört laut amtlichem Stadtteilverzeichnis zu "
                                 f"Bezirk {st['bezirk_id']}, nicht zu Bezirk {bezirk_id}")
        rows.append({"bezirk_id": bezirk_id, "stadtteil_nr": int(st["stadtteil_nr"]),
                     "stadtteil_name": st["stadtteil_name"], "_line": line,
                     **r.checked(line, "stadtteile_hotspots", {"origin12_pct": to_float(m.group(2))})})
        pos = m.end()
    if not rows or text[pos:].strip(" ,"):
        raise r.fail(line, BEZIRK_ROWS[3].expected)
    return rows


def read_bezirke(r: Reader, start: int, register: Register) -> tuple[list[dict], list[dict], dict, int, int]:
    """Read the Bezirk blocks and their source line; return rows, hotspots, source, n countries, end."""
    first, _ = r.find(BEZIRK_HEADING.pattern, "eine Überschrift 'Bezirk <I…IX>'", start)
    blocks: list[tuple[Line, dict, set[RowRule]]] = []
    hotspots: list[dict] = []
    end = None
    for i in range(first, len(r.lines)):
        line = r.lines[i]
        hm = BEZIRK_HEADING.match(line.text)
        if hm:
            if hm.group(1) not in BEZIRK_IDS:
                raise r.fail(line, "eine Bezirksnummer I bis IX")
            bid = hm.group(1)
            blocks.append((line, {"bezirk_id": bid, "bezirk_nr": BEZIRK_IDS.index(bid) + 1}, set()))
        elif SOURCE_LINE.match(line.text):
            end = i
            break
        elif line.text:
            heading, row, seen = blocks[-1]
            rule, values = read_bezirk_row(r, line)
            if rule in seen:
                raise r.fail(line, f"jede Zeile nur einmal je Bezirk ({rule.expected} steht doppelt)")
            seen.add(rule)
            text = values.pop("_hotspots", None)
            if text is not None:
                hotspots += read_hotspots(r, line, text, row["bezirk_id"], register)
            row.update(values)
    if end is None:
        raise r.fail(None, "die Quellenzeile 'Quelle: <Fachbereich>, Stand TT.MM.JJJJ' nach den Bezirkstabellen")
    for heading, row, seen in blocks:
        missing = [rule.expected for rule in BEZIRK_ROWS if rule not in seen]
        if missing:
            raise r.fail(heading, f"im Block dieses Bezirks auch die Zeile {missing[0]}")
    ids = [row["bezirk_id"] for _, row, _ in blocks]
    if sorted(ids, key=BEZIRK_IDS.index) != list(BEZIRK_IDS) or len(ids) != len(set(ids)):
        raise r.fail(r.lines[first], f"je einen Block für die Bezirke {', '.join(BEZIRK_IDS)} (gefunden: {', '.join(ids)})")
    counts = {row.pop("_n_countries") for _, row, _ in blocks}
    if len(counts) != 1:
        raise r.fail(r.lines[first], "in jedem Bezirk dieselbe Zahl der wesentlichen Herkunftsländer")
    publisher, stichtag = source_line(r, r.lines[end], SOURCE_LINE.match(r.lines[end].text))
    source = {"bezirke_source": publisher, "bezirke_stichtag": stichtag, "bezirke_section": r.section_before(first)}
    return [row for _, row, _ in blocks], hotspots, source, counts.pop(), end


def split_countries(text: str) -> list[str]:
    return [c.strip() for c in re.split(r",|\bund\b", text) if c.strip()]


def read_footnote(r: Reader, start: int, expected: str) -> tuple[list[str], int]:
    """Read the next '* Land, Land und Land' footnote after ``start``."""
    j, line = r.next_nonempty(start, expected)
    if not line.text.startswith("*"):
        raise r.fail(line, expected)
    countries = split_countries(line.text.lstrip("* "))
    seen: set[str] = set()
    for c in countries:
        if c in seen:
            raise r.refuse(line, f"Land {c} steht doppelt in der Fußnote; jedes Land nur einmal")
        seen.add(c)
    return countries, j


# --- JobCenter table and area list ---------------------------------------------

def read_jobcenter(r: Reader, start: int, register: Register) -> tuple[list[dict], list[dict], list[str], str, dict]:
    """Read the distribution table, its footnote, the area list and the source line."""
    i, _ = r.find(r"^JC-Verteilung\t", "die Kopfzeile der JobCenter-Tabelle ('JC-Verteilung<TAB>…')", start)
    blocks = r.lines[i].text.split("\t")
    j, header_line = r.next_nonempty(i, "die Zeile mit den Herkunftsgruppen der JobCenter-Tabelle")
    header = header_line.text.split("\t")
    groups = [h.strip() for h in header[1:]]
    if not groups or not all(groups):
        raise r.fail(header_line, "<TAB><Herkunft><TAB><Herkunft>… (Spaltenköpfe der JobCenter-Tabelle)")

    # the block label over each column: the last non-empty label at or left of it (one pass, not one per column)
    block_of, label = [], ""
    for k in range(len(groups) + 1):
        label = blocks[k].strip() if k >= 1 and k < len(blocks) and blocks[k].strip() else label
        block_of.append(label)

    starred = [g for g in groups if g.endswith("*")]
    origin = [(g.rstrip("*").strip(), "EU" in block_of[k]) for k, g in enumerate(groups, start=1)]
    shares: list[dict] = []
    area_on: dict[str, Line] = {}
    k = j + 1
    while k < len(r.lines) and r.lines[k].text:
        line = r.lines[k]
        cells = [c.strip() for c in line.text.split("\t")]
        if len(cells) != len(groups) + 1 or not cells[0]:
            raise r.fail(line, f"<Bereich> und {len(groups)} Anteile, getrennt durch Tabulatoren")
        if cells[0] in area_on:
            raise r.refuse(line, f"Bereich {cells[0]!r} steht doppelt in der JobCenter-Tabelle (schon in Zeile "
                                 f"{area_on[cells[0]].no})")
        area_on[cells[0]] = line
        for (name, is_eu), cell in zip(origin, cells[1:]):
            m = re.fullmatch(rf"({DEC})\s*%", cell)
            if not m:
                raise r.fail(line, f"einen Anteil '<Zahl> %' in der Spalte {name!r} statt {cell!r}")
            shares.append({"jc_area": cells[0], "origin_group": name, "is_eu_origin": is_eu, "_line": line,
                           **r.checked(line, "jobcenter", {"share_pct": to_float(m.group(1))})})
        k += 1
    if not shares:
        raise r.fail(r.lines[k] if k < len(r.lines) else None, "Zeilen '<Bereich><TAB><Anteil> %…' der JobCenter-Tabelle")
    starred_members: list[str] = []
    starred_name = starred[0].rstrip("*").strip() if starred else ""
    if starred:
        starred_members, k = read_footnote(r, k, f"die Fußnote '* …' zur Spalte {starred[0]!r}")
    areas = list(dict.fromkeys(s["jc_area"] for s in shares))
    crosswalk: list[dict] = []
    for k2, line in r.after(k):
        if not line.text:
            continue
        sm = SOURCE_LINE.match(line.text)
        if sm:
            publisher, stichtag = source_line(r, line, sm)
            break
        crosswalk += read_area_line(r, line, areas, register)
    else:
        raise r.fail(None, "die Quellenzeile 'Quelle: <Fachbereich>, Stand TT.MM.JJJJ' nach der JobCenter-Tabelle")
    if not crosswalk:
        raise r.fail(line, "die Liste der Stadtteile je JobCenter-Bereich ('<Bereich>: <Stadtteil>, teilw. <Stadtteil>, …')")
    source = {"jobcenter_source": publisher, "jobcenter_stichtag": stichtag, "jobcenter_section": r.section_before(i)}
    return shares, crosswalk, starred_members, starred_name, source


def read_area_line(r: Reader, line: Line, areas: list[str], register: Register) -> list[dict]:
    label, sep, members = line.text.partition(":")
    if not sep:
        raise r.fail(line, "'<JobCenter-Bereich>: <Stadtteil>, teilw. <Stadtteil>, …'")
    published_as = label.strip()
    names = [a.strip() for a in published_as.split("&")]
    known = set(areas)
    unknown = [a for a in names if a not in known]
    if unknown:
        raise r.fail(line, f"einen Bereich der JobCenter-Tabelle ({', '.join(areas)}) statt {unknown[0]!r}")
    seen: set[str] = set()
    for a in names:
        if a in seen:
            raise r.refuse(line, f"Bereich {a!r} steht doppelt in der Zeile")
        seen.add(a)
    members = members.strip()
    incomplete = members.endswith("...") or members.endswith("…")
    members = members.rstrip(".… ")
    parsed, named = [], set()
    for item in (m.strip() for m in members.split(",")):
        partial = item.startswith("teilw.")
        st = resolve_stadtteil(r, line, item.removeprefix("teilw.").strip(), register)
        if st["stadtteil_name"] in named:  # refused here, before the rows multiply by the areas
            raise r.refuse(line, f"Stadtteil {st['stadtteil_name']} steht doppelt in der Zeile")
        named.add(st["stadtteil_name"])
        parsed.append((st, partial))
    return [
        {"jc_area": area, "published_as": published_as, "stadtteil_nr": int(st["stadtteil_nr"]),
         "stadtteil_name": st["stadtteil_name"], "is_partial": partial, "is_list_incomplete": incomplete,
         "_line": line}
        for area in names
        for st, partial in parsed
    ]


# --- the whole submission ---------------------------------------------------------

def frame(r: Reader, name: str, rows: list[dict], **constant) -> pd.DataFrame:
    """Return rows as a table in the schema's column order; a key stated twice is refused at its second line."""
    table = layout_table(name)
    full = [{**constant, **row} for row in rows]
    seen: dict[tuple, Line | None] = {}
    for row in full:
        key = tuple(row[k] for k in table.primary_key)
        if key in seen:
            first = f"schon in Zeile {seen[key].no}" if seen[key] else "schon weiter oben"
            raise r.refuse(row.get("_line"), f"{key_text(table, row)} steht doppelt ({first}); {table.path} hat "
                                             f"je {', '.join(table.column(k).title for k in table.primary_key)} "
                                             "nur eine Zeile")
        seen[key] = row.get("_line")
    return pd.DataFrame(full, columns=[*table.column_names, "_line"])[table.column_names]


def as_values(wide: pd.DataFrame, name: str, source: str) -> pd.DataFrame:
    """Return a layout table as long published values (one row per area and figure, in the table's order)."""
    level, key = LAYOUT_LEVELS[name]
    figures = [c.name for c in LAYOUT[name].columns if c.type in ("integer", "number") and not c.name.endswith("_nr")]
    long = wide.melt(id_vars=["stichtag", key], value_vars=figures, var_name="kennzahl", value_name="value",
                     ignore_index=False)
    long = long.reset_index(names="_row").sort_values(["kennzahl", "_row"], key=lambda s: s.map(
        {f: i for i, f in enumerate(figures)}) if s.name == "kennzahl" else s, kind="stable")
    return pd.DataFrame({"stichtag": long["stichtag"].to_numpy(), "level": level,
                         "area": long[key].astype(str).to_numpy(), "kennzahl": long["kennzahl"].to_numpy(),
                         "value": long["value"].astype(float).to_numpy(), "state": "published", "source": source},
                        columns=TABLES["values"].column_names)


def key_text(table: Table, row: dict) -> str:
    """Return a row's key in words, a Stadtteil by its name rather than its number (the Stichtag left out)."""
    parts = []
    for k in table.primary_key:
        if k == "stichtag":
            continue
        named = k.removesuffix("_nr") + "_name"
        if k.endswith("_nr") and named in table.column_names:
            k = named
        parts.append(f"{table.column(k).title} {row[k]}")
    return ", ".join(parts)


def read_vorlage(path: str | Path, register: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Return the tables of a submission's section 3.1, keyed by table name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line_no = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise VorlageParseError(str(path), line_no, "UTF-8-kodierten Text") from None
    r = Reader(text, str(path))
    by_name: dict[str, dict] = {}
    for row in register.to_dict("records"):
        by_name.setdefault(row["stadtteil_name"], row)
    document = read_document(r)
    city, city_end = read_city(r)
    bezirke, hotspots, bz_source, n_countries, bz_end = read_bezirke(r, city_end, by_name)
    origin12, fn_end = read_footnote(r, bz_end, "die Fußnote '* <Land>, <Land> … und <Land>' zu den Herkunftsländern")
    if len(origin12) != n_countries:
        raise r.fail(r.lines[fn_end], f"{n_countries} Länder in der Fußnote (gefunden: {len(origin12)})")
    shares, crosswalk, jc_members, jc_starred, jc_source = read_jobcenter(r, fn_end, by_name)
    document["city_section"] = r.section_before(city_end)
    document.update(bz_source)
    document.update(jc_source)
    bz_day, jc_day = bz_source["bezirke_stichtag"], jc_source["jobcenter_stichtag"]
    if city[0]["stichtag"] != bz_day:
        raise r.fail(r.lines[city_end], f"denselben Stand wie die Bezirkstabellen ({bz_day:%d.%m.%Y})")
    countries = [{"used_in": "bezirke", "origin_group": f"{n_countries} wesentliche Herkunftsländer",
                  "country_name": c, "stichtag": bz_day} for c in origin12]
    countries += [{"used_in": "jobcenter", "origin_group": jc_starred, "country_name": c, "stichtag": jc_day}
                  for c in jc_members]
    source = f"Stadt Essen, {document['bezirke_source']}"
    return {
        "values": pd.concat([as_values(frame(r, "bezirke", bezirke, stichtag=bz_day), "bezirke", source),
                             as_values(frame(r, "stadtteile_hotspots", hotspots, stichtag=bz_day),
                                       "stadtteile_hotspots", source)], ignore_index=True),
        "city": frame(r, "city", city),
        "jobcenter": frame(r, "jobcenter", shares, stichtag=jc_day),
        "jobcenter_crosswalk": frame(r, "jobcenter_crosswalk", crosswalk, stichtag=jc_day),
        "origin_countries": frame(r, "origin_countries", countries),
        "documents": frame(r, "documents", [document]),
    }
