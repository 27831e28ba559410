"""Declare every tidy table: columns, types, units, allowed ranges and keys.

The records here are the single description of the public data contract. They
are written out as a Frictionless data package (``data/datapackage.json``) and
enforced when a folder is loaded, so the descriptor beside the CSV files and
the checks can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BEZIRK_IDS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")
#: the levels areas are published at
LEVELS = ("bezirk", "stadtteil")
#: the states of a delivered value (a value not delivered is missing; a derived one is computed)
STATES = ("published", "withheld")
PCT = {"minimum": 0, "maximum": 100}
LICENCE_FIGURES = {
    "name": "source-named",
    "title": "Zahlen aus einer öffentlichen Ratsvorlage der Stadt Essen, mit Quellenangabe verwendet",
}
LICENCE_DL_DE_BY = {
    "name": "dl-de/by-2-0",
    "title": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "path": "https://www.govdata.de/dl-de/by-2-0",
}


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, type, unit and constraints."""

    name: str
    type: str
    title: str
    unit: str | None = None
    required: bool = True
    constraints: dict[str, Any] = field(default_factory=dict)
    description: str | None = None

    def descriptor(self) -> dict[str, Any]:
        """Return the Frictionless field descriptor."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "title": self.title}
        if self.description:
            out["description"] = self.description
        if self.unit:
            out["unit"] = self.unit
        constraints = {"required": True} if self.required else {}
        constraints.update(self.constraints)
        if constraints:
            out["constraints"] = constraints
        if self.type == "boolean":
            out["trueValues"] = ["true"]
            out["falseValues"] = ["false"]
        return out


@dataclass(frozen=True)
class Table:
    """One tidy table: file, columns, keys and where its figures come from."""

    name: str
    title: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    source_kind: str  # which source record describes it: "bezirke", "jobcenter", "register", "document"
    foreign_keys: tuple[dict[str, Any], ...] = ()
    description: str = ""
    #: the columns whose values a delivery replaces as a whole (default: the Stichtag, else the first key)
    replace_key: tuple[str, ...] = ()

    @property
    def replaced_by(self) -> tuple[str, ...]:
        if self.replace_key:
            return self.replace_key
        return ("stichtag",) if "stichtag" in self.column_names else self.primary_key[:1]

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def schema_descriptor(self) -> dict[str, Any]:
        """Return the Frictionless Table Schema."""
        schema: dict[str, Any] = {
            "fields": [c.descriptor() for c in self.columns],
            "primaryKey": list(self.primary_key),
            "missingValues": [""],
        }
        if self.foreign_keys:
            schema["foreignKeys"] = list(self.foreign_keys)
        return schema


def _stichtag(title: str = "Stichtag") -> Column:
    return Column("stichtag", "date", title, description="Stand der Daten (ISO-Datum)")


def _bezirk_id() -> Column:
    return Column("bezirk_id", "string", "Stadtbezirk", constraints={"enum": list(BEZIRK_IDS)})


def _register_fk(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "fields": [local for local, _ in pairs],
        "reference": {"resource": "stadtteile_register", "fields": [ref for _, ref in pairs]},
    }


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            name="values",
            title="Kennzahlen je Gebiet und Stichtag, wie geliefert",
            source_kind="bezirke",  # the submissions' records; a delivery without one names itself in `source`
            primary_key=("stichtag", "level", "area", "kennzahl"),
            replace_key=("stichtag", "level", "kennzahl"),
            description="Eine Zeile je geliefertem Wert: veröffentlicht (mit Wert) oder von der Quelle gesperrt "
                        "(Geheimhaltung, ohne Wert). Ein Gebiet ohne Zeile hat keinen Wert – nicht 0. Berechnete "
                        "Kennzahlen stehen nicht hier, sondern entstehen nach der Formel des Katalogs.",
            columns=(
                _stichtag(),
                Column("level", "string", "Ebene", constraints={"enum": list(LEVELS)}),
                Column("area", "string", "Gebiet",
                       description="Stadtbezirk I–IX oder Nummer des Stadtteils im amtlichen Verzeichnis"),
                Column("kennzahl", "string", "Kennzahl", description="Schlüssel im Kennzahlenkatalog"),
                Column("value", "number", "Wert", required=False,
                       description="in der Einheit der Kennzahl; leer, wenn gesperrt"),
                Column("state", "string", "Status", constraints={"enum": list(STATES)},
                       description="published: veröffentlicht; withheld: von der Quelle gesperrt (Geheimhaltung)"),
                Column("source", "string", "Quelle", description="liefernde Stelle, z. B. Stadt Essen, FB 12"),
            ),
        ),
        Table(
            name="city",
            title="Gesamtstadt: Bevölkerung und größte nichtdeutsche Staatsangehörigkeiten",
            source_kind="bezirke",
            primary_key=("stichtag", "group_name"),
            columns=(
                _stichtag(),
                Column("group_kind", "string", "Art der Gruppe",
                       constraints={"enum": ["total", "non_german", "nationality"]}),
                Column("group_name", "string", "Gruppe"),
                Column("nationality_rank", "integer", "Rang unter den Staatsangehörigkeiten", required=False,
                       constraints={"minimum": 1}),
                Column("person_count", "integer", "Personen", unit="Personen", constraints={"minimum": 0}),
                Column("population_pct", "number", "Anteil an der Gesamtbevölkerung", unit="%", required=False,
                       constraints=PCT),
                Column("non_german_pct", "number", "Anteil an den Nichtdeutschen", unit="%", required=False,
                       constraints=PCT),
            ),
        ),
        Table(
            name="jobcenter",
            title="Verteilung der SGB-II-Leistungsbeziehenden nach Herkunft auf die JobCenter-Bereiche",
            source_kind="jobcenter",
            primary_key=("stichtag", "jc_area", "origin_group"),
            columns=(
                _stichtag(),
                Column("jc_area", "string", "JobCenter-Bereich"),
                Column("origin_group", "string", "Herkunft"),
                Column("is_eu_origin", "boolean", "Herkunft aus EU-Land"),
                Column("share_pct", "number", "Anteil an allen Leistungsbeziehenden dieser Herkunft", unit="%",
                       constraints=PCT),
            ),
        ),
        Table(
            name="jobcenter_crosswalk",
            title="JobCenter-Bereiche und ihre Stadtteile",
            source_kind="jobcenter",
            primary_key=("stichtag", "jc_area", "stadtteil_nr"),
            foreign_keys=(_register_fk(("stadtteil_nr", "stadtteil_nr"), ("stadtteil_name", "stadtteil_name")),),
            columns=(
                _stichtag(),
                Column("jc_area", "string", "JobCenter-Bereich"),
                Column("published_as", "string", "Bezeichnung in der Quelle",
                       description="Die Liste, unter der die Quelle den Stadtteil nennt (z. B. eine gemeinsame Liste)"),
                Column("stadtteil_nr", "integer", "Stadtteil (Nummer)", constraints={"minimum": 1}),
                Column("stadtteil_name", "string", "Stadtteil"),
                Column("is_partial", "boolean", "nur teilweise zugeordnet"),
                Column("is_list_incomplete", "boolean", "Liste in der Quelle unvollständig"),
            ),
        ),
        Table(
            name="origin_countries",
            title="Länder der Herkunftsgruppen",
            source_kind="document",
            primary_key=("stichtag", "used_in", "country_name"),
            columns=(
                _stichtag(),
                Column("used_in", "string", "Tabelle", constraints={"enum": ["bezirke", "jobcenter"]}),
                Column("origin_group", "string", "Herkunftsgruppe"),
                Column("country_name", "string", "Land"),
            ),
        ),
        Table(
            name="documents",
            title="Quelldokumente",
            source_kind="document",
            primary_key=("document_id",),
            columns=(
                Column("document_id", "string", "Vorlage"),
                Column("document_date", "date", "Datum der Vorlage"),
                Column("title", "string", "Betreff"),
                Column("publisher", "string", "Herausgeber"),
                Column("city_section", "string", "Abschnitt der Gesamtstadt-Angaben"),
                Column("bezirke_section", "string", "Abschnitt der Bezirkstabellen"),
                Column("bezirke_stichtag", "date", "Stand der Bezirksdaten"),
                Column("bezirke_source", "string", "Quelle der Bezirksdaten"),
                Column("jobcenter_section", "string", "Abschnitt der JobCenter-Tabelle"),
                Column("jobcenter_stichtag", "date", "Stand der JobCenter-Daten"),
                Column("jobcenter_source", "string", "Quelle der JobCenter-Daten"),
            ),
        ),
        Table(
            name="kennzahlen",
            title="Kennzahlenkatalog",
            source_kind="catalog",
            primary_key=("key",),
            description="Eine Zeile je Kennzahl: Bezeichnung, Einheit, Art, Herkunft (veröffentlicht oder nach "
                        "Formel berechnet), Wert der Gesamtstadt, Ebenen, Quelle und andere Schreibweisen.",
            columns=(
                Column("key", "string", "Schlüssel", constraints={"unique": True, "pattern": "[a-z][a-z0-9_]*"},
                       description="Spaltenname im Datenvertrag; Formeln nennen andere Kennzahlen mit ihm"),
                Column("label", "string", "Bezeichnung",
                       description="darf {anzahl_herkunftslaender} enthalten (aus origin_countries)"),
                Column("short_label", "string", "Kurzbezeichnung"),
                Column("unit", "string", "Einheit"),
                Column("kind", "string", "Art", constraints={"enum": ["share", "count", "index", "ratio"]}),
                Column("definition", "string", "Definition"),
                Column("obtained", "string", "Herkunft", constraints={"enum": ["published", "derived"]},
                       description="published: Werte in values.csv unter diesem Schlüssel; derived: Formel"),
                Column("formula", "string", "Formel", required=False,
                       description="Arithmetik (+ − × /) über Schlüssel anderer Kennzahlen; bei veröffentlichten "
                                   "Kennzahlen die Formel, der der veröffentlichte Wert entspricht"),
                Column("reference", "string", "Wert der Gesamtstadt",
                       constraints={"enum": ["published", "sum", "ratio", "none"]},
                       description="published: aus der Tabelle city; sum: Summe der Bezirke; ratio: Formel auf die "
                                   "Stadtwerte der Eingänge; none: kein Stadtwert"),
                Column("reference_source", "string", "Stadtwert: Gruppe und Spalte in city", required=False,
                       constraints={"pattern": "[^:]+:[a-z_]+"}),
                Column("reference_note", "string", "Hinweis zum Stadtwert", required=False),
                Column("decimals", "integer", "Nachkommastellen", constraints={"minimum": 0, "maximum": 4}),
                Column("levels", "string", "Ebenen", constraints={"pattern": "(bezirk|stadtteil)( (bezirk|stadtteil))*"}),
                Column("source", "string", "Quelle", constraints={"enum": ["bezirke", "jobcenter"]},
                       description="welche Quellenangabe in documents.csv gilt (bei Lieferungen ohne Vorlage: die "
                                   "Quelle in values.csv)"),
                Column("aliases", "string", "andere Schreibweisen", required=False,
                       description="durch | getrennt; Spaltenköpfe, unter denen Ämter die Kennzahl liefern"),
            ),
        ),
        Table(
            name="stadtteile_register",
            title="Amtliches Stadtteilverzeichnis",
            source_kind="register",
            primary_key=("stadtteil_nr",),
            columns=(
                Column("stadtteil_nr", "integer", "Stadtteil (Nummer)", constraints={"minimum": 1}),
                Column("stadtteil_name", "string", "Stadtteil", constraints={"unique": True}),
                _bezirk_id(),
            ),
        ),
    )
}
#: Tables kept as they are when a submission is imported (not derived from it).
REFERENCE_TABLES = tuple(name for name, t in TABLES.items() if t.source_kind in ("register", "catalog"))
