"""Write tidy tables as CSV with their Frictionless data package descriptor.

Tables are keyed by Stichtag: writing a new submission into a folder that
already holds another Stichtag keeps those rows and adds the new ones beside
them; rows of the same Stichtag (or document) are replaced.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pandas as pd

from essen_dash.tables.schema import LICENCE_DL_DE_BY, LICENCE_FIGURES, REFERENCE_TABLES, TABLES, Table

DESCRIPTOR = "datapackage.json"
#: Sources and licences of the tables that do not come from a submission.
OWN_SOURCES = {
    "register": ({"title": "Amtliches Stadtteilverzeichnis (Nummerierung des Amts für Statistik)",
                  "publisher": "Stadt Essen, Amt für Statistik"}, LICENCE_DL_DE_BY),
    "catalog": ({"title": "Kennzahlenkatalog von essen-dash: Definitionen und Formeln zu den veröffentlichten Zahlen",
                 "publisher": "essen-dash"}, LICENCE_FIGURES),
}


def format_cell(value: object, kind: str) -> str:
    """Return a cell as the CSV dialect of the data package writes it."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if kind == "boolean":
        return "true" if bool(value) else "false"
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "integer":
        return str(int(value))
    if kind == "number":
        return repr(float(value))
    return str(value)


def as_strings(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {c.name: [format_cell(v, c.type) for v in df[c.name]] for c in table.columns}, dtype="string"
    )


def read_strings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype="string", keep_default_na=False, encoding="utf-8")


def merge(table: Table, old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Return ``old`` without the Stichtage (or keys) in ``new``, with ``new`` appended."""
    key = "stichtag" if "stichtag" in table.column_names else table.primary_key[0]
    kept = old[~old[key].isin(set(new[key]))]
    out = pd.concat([kept, new], ignore_index=True)
    order = {k: i for i, k in enumerate(sorted(out[key].unique()))}
    return out.sort_values(key, key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.write_text(df.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write ``tables`` into ``out_dir`` (merging by Stichtag) and refresh the descriptor."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        table = TABLES[name]
        path = out_dir / table.path
        new = as_strings(table, df)
        if path.exists() and name not in REFERENCE_TABLES:
            new = merge(table, read_strings(path), new)
        write_csv(new, path)
        written.append(path)
    documents = read_strings(out_dir / TABLES["documents"].path)
    (out_dir / DESCRIPTOR).write_text(
        json.dumps(descriptor(documents), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return written + [out_dir / DESCRIPTOR]


def document_sources(documents: pd.DataFrame, kind: str) -> list[dict]:
    """Return one source record per document for tables of ``kind``."""
    sources = []
    for doc in documents.to_dict("records"):
        base = {
            "title": f"Ratsvorlage {doc['document_id']} „{doc['title']}“",
            "publisher": doc["publisher"],
            "document_date": doc["document_date"],
        }
        if kind in ("bezirke", "document"):
            sources.append({**base, "data_source": f"Stadt Essen, {doc['bezirke_source']}",
                            "section": f"{doc['city_section']}, {doc['bezirke_section']}",
                            "stichtag": doc["bezirke_stichtag"]})
        if kind in ("jobcenter", "document"):
            sources.append({**base, "data_source": f"Stadt Essen, {doc['jobcenter_source']}",
                            "section": doc["jobcenter_section"], "stichtag": doc["jobcenter_stichtag"]})
    return sources


def descriptor(documents: pd.DataFrame) -> dict:
    """Return the Frictionless data package descriptor for a data folder."""
    resources = []
    for table in TABLES.values():
        own = OWN_SOURCES.get(table.source_kind)
        sources = [own[0]] if own else document_sources(documents, table.source_kind)
        resources.append({
            "name": table.name,
            "title": table.title,
            "path": table.path,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "doubleQuote": True, "header": True},
            "schema": table.schema_descriptor(),
            "sources": sources,
            "licenses": [own[1] if own else LICENCE_FIGURES],
        })
    return {
        "profile": "tabular-data-package",
        "name": "essen-dash-sozialdaten",
        "title": "Sozialdaten der Essener Stadtbezirke und JobCenter-Bereiche",
        "licenses": [LICENCE_FIGURES],
        "resources": resources,
    }
