"""Write tidy tables as CSV with their Frictionless data package descriptor, all or nothing.

Tables are keyed by Stichtag: writing a new submission into a folder that
already holds another Stichtag keeps those rows and adds the new ones beside
them; rows of the same Stichtag (or document) are replaced — but never rows
another document published, and never a document's row by one with other
Stichtage.

A write builds the complete new folder beside the target (same file system),
checks it with the rules of ``essen-dash validate`` (:func:`load.check_folder`)
and only then puts it in place of the target in one rename. On any failure the
target is left byte for byte as it was.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd

from essen_dash.tables.load import DESCRIPTOR, DataError, Problem, check_folder
from essen_dash.tables.schema import LICENCE_DL_DE_BY, LICENCE_FIGURES, REFERENCE_TABLES, TABLES, Table

try:
    import fcntl
except ImportError:  # not on Windows; the project runs on Debian
    fcntl = None
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
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    return str(value)


def as_strings(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {c.name: [format_cell(v, c.type) for v in df[c.name]] for c in table.columns}, dtype="string"
    )


def read_strings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype="string", keep_default_na=False, encoding="utf-8")


def merge(table: Table, old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Return ``old`` without what ``new`` delivers again (its Stichtage, or the table's replace key), with ``new``
    appended; rows stay ordered by their first key column (the Stichtag)."""
    keys = list(table.replaced_by)
    delivered = pd.MultiIndex.from_frame(new[keys].astype(str))
    kept = old[~pd.MultiIndex.from_frame(old[keys].astype(str)).isin(delivered)] if len(old) else old
    out = pd.concat([kept, new], ignore_index=True)
    first = keys[0]
    order = {k: i for i, k in enumerate(sorted(out[first].astype(str).unique()))}
    return out.sort_values(first, key=lambda s: s.astype(str).map(order), kind="stable").reset_index(drop=True)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.write_text(df.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


class ImportRefused(DataError):
    """An import was refused; the target folder is unchanged."""

    def __init__(self, target: Path, problems: list[Problem]):
        super().__init__(target, problems, f"Import abgelehnt, {target} bleibt unverändert – {len(problems)} Fehler")


def de_day(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%d.%m.%Y")
    except ValueError:  # an old record that is itself broken; validation names it
        return iso


def document_clashes(old: pd.DataFrame, new: pd.DataFrame) -> list[Problem]:
    """Return why the new source records may not be merged into the old ones (both as written strings).

    A document keeps its Stichtage: the same document id with other Stichtage would silently replace its
    source record while its old rows stay behind. A Stichtag keeps its document: another document with the
    same Stichtag would replace rows that the old record still names as its own.
    """
    table = TABLES["documents"]
    key = table.primary_key[0]
    days = [c for c in table.columns if c.name.endswith("_stichtag")]
    problems = []
    for doc in new.to_dict("records"):
        for row_no, was in enumerate(old.to_dict("records"), start=2):
            if was[key] == doc[key]:
                changed = [c for c in days if was[c.name] != doc[c.name]]
                if changed:
                    problems.append(Problem(table.path, row_no, key, (
                        f"Vorlage {doc[key]} steht schon mit anderem Stand im Datenordner ("
                        + "; ".join(f"{c.title}: eingetragen {de_day(was[c.name])}, neu {de_day(doc[c.name])}"
                                    for c in changed)
                        + "); dieselbe Vorlage mit neuem Stichtag wird nicht übernommen")))
                continue
            for c in days:
                if was[c.name] == doc[c.name]:
                    problems.append(Problem(table.path, row_no, c.name, (
                        f"{c.title} {de_day(doc[c.name])} stammt schon aus Vorlage {was[key]}; Vorlage {doc[key]} "
                        "nennt denselben Stand und würde deren Zeilen ersetzen")))
    return problems


def write_into(tables: dict[str, pd.DataFrame], folder: Path) -> list[str]:
    """Merge ``tables`` into the files of ``folder`` and rewrite its descriptor; return the names written."""
    documents = folder / TABLES["documents"].path
    if "documents" in tables and documents.exists():
        clashes = document_clashes(read_strings(documents), as_strings(TABLES["documents"], tables["documents"]))
        if clashes:
            raise ImportRefused(folder, clashes)
    written = []
    for name, df in tables.items():
        table = TABLES[name]
        path = folder / table.path
        new = as_strings(table, df)
        if path.exists() and name not in REFERENCE_TABLES:
            new = merge(table, read_strings(path), new)
        write_csv(new, path)
        written.append(table.path)
    write_descriptor(folder)
    return written + [DESCRIPTOR]


def write_descriptor(folder: Path) -> None:
    """Write the folder's ``datapackage.json`` for the documents its tables come from."""
    documents = read_strings(folder / TABLES["documents"].path)
    (folder / DESCRIPTOR).write_text(json.dumps(descriptor(documents), ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path, replace: bool = False) -> list[Path]:
    """Write ``tables`` into ``out_dir`` (merging by Stichtag; with ``replace``, instead of everything it held)
    with a fresh descriptor, completely or not at all.

    The new folder is built beside ``out_dir`` from a copy of it, validated with the rules of ``validate``, and
    swapped in with one rename; any failure (a clash of documents, a validation problem, an OS error) raises and
    leaves ``out_dir`` byte for byte as it was, with nothing left beside it.
    """
    out_dir = Path(out_dir)
    target = out_dir.resolve()  # a symlinked data folder: the folder it points to is replaced, not the link
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Zielordner ist kein Ordner", str(out_dir))
    target.parent.mkdir(parents=True, exist_ok=True)
    with import_lock(target):
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
        try:
            if target.is_dir() and not replace:
                shutil.copytree(target, tmp, symlinks=True, dirs_exist_ok=True)  # files it does not write stay
                shutil.copymode(target, tmp)
            else:
                os.chmod(tmp, 0o755)  # mkdtemp makes it private; the folder is read by the server and others
            if replace and target.is_dir():
                shutil.copymode(target, tmp)
            try:
                names = write_into(tables, tmp)
            except ImportRefused as exc:
                raise ImportRefused(out_dir, exc.problems) from None
            _, problems = check_folder(tmp)
            if problems:
                raise ImportRefused(out_dir, [named_after(p, tmp, out_dir) for p in problems])
            swap_in(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the refused result, or the old folder after the swap
    return [out_dir / name for name in names]


def named_after(problem: Problem, tmp: Path, target: Path) -> Problem:
    """Return ``problem`` naming the target folder where it names the temporary one."""
    file = problem.file.replace(str(tmp), str(target))
    return Problem(file, problem.row, problem.column, problem.rule.replace(str(tmp), str(target)))


# --- one step on the file system ---------------------------------------------------------

RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2); return False where the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new: Path, target: Path) -> None:
    """Put folder ``new`` in place of ``target`` in one step; afterwards ``new`` holds the old folder, if any.

    Where the folders cannot be exchanged, the old one is renamed aside first and renamed back if the new one
    cannot be put in place, so a failure still leaves ``target`` as it was.
    """
    if not target.exists():
        os.rename(new, target)
        return
    if exchange(new, target):
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    try:
        os.replace(target, old)  # replaces the empty placeholder
    except OSError:  # e.g. the target is a mount point: nothing has moved
        old.rmdir()
        raise
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)
        raise
    try:
        os.replace(old, new)
    except OSError:  # the new folder is in place; only the old one could not be handed back for removal
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def import_lock(target: Path) -> Iterator[None]:
    """Hold a lock on the folder holding ``target``: a second import waits, then merges into the first's result.

    The parent is locked rather than a lock file: its inode stays while ``target`` is swapped, and nothing is
    left behind.
    """
    if fcntl is None:
        yield
        return
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


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
