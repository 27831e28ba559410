"""The tables as files: CSV for German Excel, CSV of the data contract, and one workbook with a sources sheet."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd

from essen_dash.data import AppData
from essen_dash.datasets import DATASETS, column_info, iso_dates
from essen_dash.format import de_date
from essen_dash.tables.schema import LICENCE_DL_DE_BY, LICENCE_FIGURES, TABLES
from essen_dash.tables.store import as_strings

BOM = "\ufeff"


def german_headers(data: AppData, name: str, df: pd.DataFrame) -> list[str]:
    """Return the German column titles (with unit) of a dataset."""
    info = column_info(data, name, df)
    return [info[c].title for c in df.columns]


def german_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Return the cells as German Excel reads them: dates DD.MM.YYYY, truth values ja/nein, numbers untouched."""
    out = df.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, date)).any():
            out[col] = out[col].map(lambda v: de_date(v) if isinstance(v, date) else v)
        elif out[col].dtype == bool:
            out[col] = out[col].map({True: "ja", False: "nein"})
    return out


def german_csv(data: AppData, name: str, df: pd.DataFrame) -> bytes:
    """Return a CSV German Excel opens in columns: semicolon, decimal comma, UTF-8 with BOM, German headers."""
    text = german_cells(df).to_csv(sep=";", decimal=",", index=False, header=german_headers(data, name, df),
                                   lineterminator="\r\n")
    return (BOM + text).encode("utf-8")


def contract_csv(name: str, df: pd.DataFrame) -> bytes:
    """Return the CSV of the data contract (comma, decimal point, ISO dates, column keys): a stored table's rows
    exactly as its file in data/ writes them."""
    table = TABLES.get(DATASETS[name].table)
    cells = as_strings(table, df) if table is not None else iso_dates(df)
    return cells.to_csv(index=False, lineterminator="\n").encode("utf-8")


def sources_sheet(data: AppData) -> pd.DataFrame:
    """Return what the workbook's 'Quellen' sheet says: documents, Stichtage, licences, Kennzahl definitions."""
    rows = []
    for doc in data.tables["documents"].itertuples():
        rows.append(("Quelle", f"Ratsvorlage {doc.document_id} „{doc.title}“ ({doc.publisher}, "
                               f"{de_date(doc.document_date)})"))
        rows.append(("Bezirksdaten", f"Stadt Essen, {doc.bezirke_source}, Stand {de_date(doc.bezirke_stichtag)}, "
                                     f"Abschnitt {doc.bezirke_section}"))
        rows.append(("JobCenter-Daten", f"Stadt Essen, {doc.jobcenter_source}, Stand "
                                        f"{de_date(doc.jobcenter_stichtag)}, Abschnitt {doc.jobcenter_section}"))
    rows.append(("Lizenz der Zahlen", LICENCE_FIGURES["title"]))
    rows.append(("Lizenz der Geometrie und des Stadtteilverzeichnisses",
                 f"{LICENCE_DL_DE_BY['title']} ({LICENCE_DL_DE_BY['name']}), Namensnennung: Stadt Essen"))
    catalog = data.catalog(data.latest)
    for k in catalog.values():
        rows.append((k.label, f"{k.definition} Herkunft: {catalog.formula_text(k)}. Wert der Gesamtstadt: "
                              f"{catalog.reference_text(k)}. Einheit: {k.unit}."))
    return pd.DataFrame(rows, columns=["Angabe", "Inhalt"])


def workbook(data: AppData, frames: dict[str, pd.DataFrame]) -> bytes:
    """Return an XLSX with one sheet per dataset (German headers) and a 'Quellen' sheet first."""
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as xlsx:
        sources_sheet(data).to_excel(xlsx, sheet_name="Quellen", index=False)
        for name, df in frames.items():
            german_cells(df).to_excel(xlsx, sheet_name=name[:31], index=False, header=german_headers(data, name, df))
    return out.getvalue()
