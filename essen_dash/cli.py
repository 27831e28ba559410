"""The ``essen-dash`` command line: import, validate, show, inspect geometry, serve."""

from __future__ import annotations

import argparse
import gc
import getpass
import sys
from datetime import date
from pathlib import Path

from essen_dash import paths
from essen_dash.format import de_number
from essen_dash.paths import Settings


def print_rows(rows: list[dict], empty: str) -> None:
    """Print ``rows`` as an aligned table, or ``empty`` when there are none."""
    import pandas as pd

    sys.stdout.write(pd.DataFrame(rows).to_string(index=False) + "\n" if rows else empty + "\n")


# --- commands ----------------------------------------------------------------------

def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"kein Datum JJJJ-MM-TT: {text!r}") from None


def delivery_of(path: Path, args: argparse.Namespace):
    from essen_dash.sources.publish import Delivery, file_sha256

    return Delivery(author=args.author, file_name=path.name, sha256=file_sha256(path), note=args.note or "")


def cmd_import_vorlage(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.sources.publish import data_source
    from essen_dash.sources.vorlage import read_vorlage
    from essen_dash.tables.load import DataError, Problem
    from essen_dash.tables.schema import REFERENCE_TABLES, TABLES
    from essen_dash.tables.store import write_tables

    current = data_source(settings).load()
    kept = {name: current[name] for name in REFERENCE_TABLES}
    if args.register is not None:
        import pandas as pd

        register = pd.read_csv(args.register, encoding="utf-8")
        missing = [c for c in TABLES["stadtteile_register"].column_names if c not in register.columns]
        if missing:  # the rest of the register is checked with the imported result, before anything is written
            raise DataError(Path(args.register),
                            [Problem(Path(args.register).name, 1, c, "Spalte fehlt") for c in missing])
        kept["stadtteile_register"] = register
    tables = {**read_vorlage(args.path, kept["stadtteile_register"]), **kept}
    doc = tables["documents"].iloc[0]
    print(f"Vorlage {doc['document_id']} gelesen: Bezirksdaten Stand {doc['bezirke_stichtag']:%d.%m.%Y}, "
          f"JobCenter-Daten Stand {doc['jobcenter_stichtag']:%d.%m.%Y}")
    # All or nothing: the merged result is validated like `validate` before it replaces anything.
    if args.out:
        for path in write_tables(tables, Path(args.out)):
            print(f"  geschrieben: {path}")
    else:
        source = data_source(settings)
        print(f"  {source.label}: {source.publish(tables, delivery_of(Path(args.path), args))}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import an office's table (CSV/XLSX) or a whole data package folder into the data in force."""
    from essen_dash.sources.publish import check_delivery, data_source, prepare_delivery, publish_delivery

    source = data_source(settings)
    prepared = prepare_delivery(source, Path(args.file), stichtag=args.stichtag, level=args.ebene, sheet=args.sheet,
                                quelle=args.quelle)
    print(prepared.what)
    for line in prepared.lines:
        print(f"  {line}")
    if args.dry_run:  # validated as a publication would be, then nothing is published
        check_delivery(source, prepared)
        print("Probelauf: nichts veröffentlicht.")
        return 0
    # merged into the current state and validated as a whole; refused (publishing nothing) if invalid
    print(f"{source.label}: {publish_delivery(source, prepared, args.author, args.note or '')}")
    return 0


def database(settings: Settings):
    """Return the versioned store in force, or refuse: a data folder given without a database has no versions."""
    from essen_dash.sources.publish import DatabaseSource, data_source

    source = data_source(settings)
    if not isinstance(source, DatabaseSource):
        raise ValueError(f"Versionen gibt es nur in der Datenbank; {source.label} ist ein Datenordner ohne "
                         f"Versionen (--database-url oder ${paths.DATABASE_URL_ENV} angeben)")
    source.ready()
    return source.store


def cmd_versions(args: argparse.Namespace, settings: Settings) -> int:
    store = database(settings)
    rows = [{"Version": v.number, "aktuell": "ja" if v.is_current else "",
             "Zeit (UTC)": v.created_at.strftime("%d.%m.%Y %H:%M:%S"), "von": v.author, "Datei": v.file_name,
             "Werte": v.counts.get("values", 0), "sha256": v.sha256[:12], "Hinweis": v.note}
            for v in store.versions()]
    print_rows(rows, "keine Versionen")
    return 0


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    store = database(settings)
    store.rollback(args.number)
    print(f"Version {args.number} ist jetzt aktuell (alle Versionen bleiben gespeichert).")
    return 0


def read_password(args: argparse.Namespace) -> str:
    """Return a new password: one line of standard input with --password-stdin, else typed twice at a prompt
    (never an argument: arguments are visible to every user of the machine)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Passwort: ")
    if getpass.getpass("Passwort wiederholen: ") != password:
        raise ValueError("Die beiden Passwörter stimmen nicht überein")
    return password


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    """Add, remove, list accounts, change a role or a password; every change goes into the audit log."""
    from essen_dash.admin.accounts import ROLES, Accounts

    accounts = Accounts(settings.accounts_url)
    args.role = args.role or args.role_option
    actor = f"{getpass.getuser()} (Kommandozeile)"
    if args.action == "list":
        rows = [{"Konto": a.name, "Rolle": a.role, "angelegt (UTC)": a.created_at.strftime("%d.%m.%Y %H:%M")}
                for a in accounts.all()]
        print_rows(rows, "keine Konten")
        return 0
    if not args.name:
        raise ValueError(f"essen-dash user {args.action} braucht den Namen des Kontos")
    if args.action == "add":
        role = args.role or "editor"
        accounts.add(args.name, role, read_password(args))
        accounts.record(actor, "Konto angelegt", f"{args.name} ({role})")
        print(f"Konto {args.name} angelegt: {ROLES[role].label}")
    elif args.action == "remove":
        accounts.remove(args.name)
        accounts.record(actor, "Konto entfernt", args.name)
        print(f"Konto {args.name} entfernt")
    elif args.action == "role":
        if not args.role:
            raise ValueError(f"essen-dash user role braucht die Rolle: {', '.join(ROLES)}")
        accounts.set_role(args.name, args.role)
        accounts.record(actor, "Rolle geändert", f"{args.name}: {args.role}")
        print(f"Konto {args.name}: {ROLES[args.role].label}")
    elif args.action == "password":
        accounts.set_password(args.name, read_password(args))
        accounts.record(actor, "Passwort geändert", args.name)
        print(f"Passwort von {args.name} geändert; bestehende Anmeldungen sind beendet")
    return 0


def cmd_export_data(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.sources.publish import data_source, write_package
    from essen_dash.tables.load import load_tables

    out = Path(args.dir)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} ist nicht leer; bitte einen neuen oder leeren Ordner angeben")
    write_package(data_source(settings).load().frames, out)
    load_tables(out)  # the written package passes every rule of `validate`
    print(f"Datenpaket geschrieben: {out}")
    return 0


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.tables.load import check_folder, Tables
    from essen_dash.tables.quality import findings

    folder = Path(args.dir) if args.dir else settings.data_dir
    frames, problems = check_folder(folder)
    if problems:
        print(f"FEHLER: {len(problems)} Problem(e) in {folder}", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"OK: {folder} – alle {len(frames)} Tabellen entsprechen ihrem Schema.")
    report = findings(Tables(folder, frames))
    bad = [f for f in report if f.is_discrepancy]
    print(f"\nDatenqualität: {len(report)} veröffentlichte Werte nachgerechnet, {len(bad)} Abweichung(en) "
          "über die Rundung hinaus:")
    for f in bad:
        unit = f" {f.unit}" if f.unit == "%" else f" {f.unit}"
        print(f"  - {f.check}, {f.subject} (Stand {f.stichtag:%d.%m.%Y}): veröffentlicht "
              f"{de_number(f.published, 1)}{unit}, nachgerechnet {f.recomputed_text()}{unit} [{f.formula}]")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.data import load_app_data
    from essen_dash.datasets import DATASETS, iso_dates, kennzahl_values

    data = load_app_data(settings, maps=False)
    if args.table == "values":
        if not args.kennzahl:
            raise ValueError("show values braucht --kennzahl (Schlüssel, siehe essen-dash show kennzahlen)")
        df = kennzahl_values(data, args.kennzahl, args.ebene, args.stichtag)
    else:
        df = DATASETS[args.table].get(data)
    df = iso_dates(df)
    if args.format == "json":
        print(df.to_json(orient="records", force_ascii=False, indent=1))
    elif args.format == "table":
        sys.stdout.write(df.to_string(index=False) + "\n")
    else:
        sys.stdout.write(df.to_csv(index=False, lineterminator="\n"))
    return 0


def cmd_geometry(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.geo.boundaries import find_raw_dir
    from essen_dash.geo.load import load_boundaries
    from essen_dash.geo.prepare import build_prepared
    from essen_dash.tables.load import load_tables

    register = load_tables(settings.data_dir)["stadtteile_register"]
    if args.build:
        raw = find_raw_dir(settings)
        b = build_prepared(raw, paths.PROJECT_GEO_DIR, register)
        print(f"Vorbereitete Grenzen aus {raw} nach {paths.PROJECT_GEO_DIR} geschrieben")
    else:
        b = load_boundaries(register, settings, use_cache=not args.no_cache)
        print(f"Grenzdateien aus {b.source_dir}")
    for r in b.reports:
        print(f"  {r.level}: {r.features} Flächen; Stützpunkte {r.vertices_before} → {r.vertices_after}; "
              f"GeoJSON {de_number(r.bytes_before / 1024, 0)} KB → {de_number(r.bytes_after / 1024, 0)} KB")
        for note in r.notes:
            print(f"    · {note}")
    return 0


def write_rendered(out: str, render) -> int:
    """Render with the shared browser, stop it, write the file and say so."""
    from essen_dash.export.render import RENDERER

    try:
        body = render()
    finally:
        RENDERER.close()
    Path(out).write_bytes(body)
    print(f"geschrieben: {out} ({len(body):,} Bytes)".replace(",", "."))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.data import load_app_data
    from essen_dash.export.charts import parse_request
    from essen_dash.export.render import RENDERER
    from essen_dash.params import PARAMS

    data = load_app_data(settings)
    raw = {k: v for k, v in vars(args).items() if k in ("page", "chart", "format", *PARAMS) and v}
    raw["caption"] = "1" if args.caption else "0"
    request = parse_request(raw, data)
    return write_rendered(args.out, lambda: request.finish(RENDERER.render(request.figure(data), request.format),
                                                           data))


def cmd_export_pack(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.data import load_app_data
    from essen_dash.export.pack import PACK_FORMATS, parse_pack_request

    data = load_app_data(settings)
    fmt = args.format or Path(args.out).suffix.lstrip(".").lower() or "pdf"
    if args.bezirk == "alle" and fmt != "zip":
        raise ValueError("bezirk=alle schreibt ein ZIP mit einem PDF je Bezirk: --out …zip")
    bezirke, day, fmt = parse_pack_request({"bezirk": args.bezirk, "format": fmt, "stichtag": args.stichtag or ""}, data)
    return write_rendered(args.out, lambda: PACK_FORMATS[fmt][1](data, bezirke, day))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.serve import serve

    serve(settings, args.host, args.port, args.workers)
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.app import app_started, create_app, warm_later

    app = create_app(settings, warm=False)  # serving starts at once; the common views are built meanwhile
    app_started()
    warm_later()
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


# --- parser ------------------------------------------------------------------------

#: what the view parameters mean on the command line (the parsers themselves live in essen_dash.params)
PARAM_HELP = {
    "indicator": "Schlüssel einer Kennzahl (essen-dash show kennzahlen)",
    "bezirk": "Auswahl, z. B. I,III (beim Profil: der Bezirk)", "stichtag": "JJJJ-MM-TT",
    "gruppe": "Herkunftsgruppe der JobCenter-Seite", "level": "bezirk oder stadtteil",
    "total": "Verteilung: zu verteilende Summe", "unit": "Verteilung: eur oder posts",
    "key": "Verteilung: Schlüssel, z. B. origin12_count:50,population_count:50",
    "min": "Verteilung: Mindestbetrag je Bezirk",
}


def build_parser() -> argparse.ArgumentParser:
    from essen_dash.datasets import DATASETS
    from essen_dash.params import PARAMS
    from essen_dash.views import VIEWS

    def folder_options(parser: argparse.ArgumentParser, default) -> argparse.ArgumentParser:
        parser.add_argument("--data-dir", default=default,
                            help=f"Datenpaket (sonst ${paths.DATA_DIR_ENV} oder die mitgelieferten Daten); ohne "
                                 "Datenbank wird es unverändert gelesen, sonst ist es die erste Version einer neuen")
        parser.add_argument("--database-url", default=default,
                            help=f"Datenbank (SQLAlchemy-URL, sonst ${paths.DATABASE_URL_ENV}; Standard: SQLite in "
                                 f"{paths.DEFAULT_STATE_DIR / paths.DATABASE_FILE})")
        parser.add_argument("--geo-dir", default=default,
                            help=f"Ordner der Grenzdateien (sonst ${paths.GEO_DIR_ENV}, geo/, ../shared/geo)")
        return parser

    # Accepted before and after the command; SUPPRESS keeps a subcommand from resetting them.
    common = folder_options(argparse.ArgumentParser(add_help=False), argparse.SUPPRESS)
    parser = folder_options(argparse.ArgumentParser(prog="essen-dash",
                                                    description="Sozialdaten-Dashboard der Stadt Essen"), None)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", parents=[common], help="Dashboard starten (Entwicklungsserver)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--debug", action="store_true")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("serve", parents=[common], help="Dashboard für den Betrieb starten (gunicorn, mehrere Worker)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--workers", type=int, help="Zahl der Worker-Prozesse (Standard: 2–4 nach Kernen)")
    p.set_defaults(func=cmd_serve)

    def delivery_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--author", default=getpass.getuser(), help="wer einspielt (Standard: Benutzername)")
        parser.add_argument("--note", help="Hinweis zur Version")

    p = sub.add_parser("import", parents=[common],
                       help="Tabelle des Amts für Statistik oder des JobCenters (CSV, XLSX) oder ein ganzes Datenpaket "
                            "(Ordner) als neue Version veröffentlichen")
    p.add_argument("file")
    p.add_argument("--stichtag", type=iso_date, help="JJJJ-MM-TT (sonst aus einer Stichtag-Spalte oder „Stand:“)")
    p.add_argument("--ebene", choices=("bezirk", "stadtteil"), help="sonst aus der Gebietsspalte")
    p.add_argument("--sheet", help="Blatt einer XLSX-Datei (Standard: das erste)")
    p.add_argument("--quelle", help="liefernde Stelle (Standard: Stadt Essen, Amt für Statistik (FB 12))")
    p.add_argument("--dry-run", action="store_true", help="nur zeigen, was sich ändern würde")
    delivery_options(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("import-vorlage", parents=[common], help="Ratsvorlage (Textformat) einspielen")
    p.add_argument("path")
    p.add_argument("--out", help="in diesen Datenordner schreiben statt zu veröffentlichen; andere Stichtage "
                                 "bleiben erhalten")
    p.add_argument("--register", help="Stadtteilverzeichnis (CSV); sonst das der aktuellen Daten")
    delivery_options(p)
    p.set_defaults(func=cmd_import_vorlage)

    p = sub.add_parser("versions", parents=[common], help="Versionen der Datenbank auflisten")
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser("rollback", parents=[common], help="eine frühere Version wieder aktuell machen")
    p.add_argument("number", type=int)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("user", parents=[common], help="Konten der Datenpflege: anlegen, entfernen, Rolle, Passwort")
    p.add_argument("action", choices=("add", "remove", "role", "password", "list"))
    p.add_argument("name", nargs="?", help="Kontoname")
    p.add_argument("role", nargs="?", choices=("viewer", "editor", "admin"),
                   help="bei role (und add, Standard editor): viewer (lesen), editor (hochladen, veröffentlichen, "
                        "zurücksetzen), admin (auch Konten)")
    p.add_argument("--role", dest="role_option", choices=("viewer", "editor", "admin"), help="wie das Argument role")
    p.add_argument("--password-stdin", action="store_true",
                   help="das Passwort als eine Zeile von der Standardeingabe lesen (sonst Eingabeaufforderung)")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("export-data", parents=[common], help="die aktuellen Daten als Datenpaket (CSV) schreiben")
    p.add_argument("dir")
    p.set_defaults(func=cmd_export_data)

    p = sub.add_parser("validate", parents=[common], help="Datenordner prüfen und Datenqualität berichten")
    p.add_argument("dir", nargs="?")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", parents=[common], help="Eine Tabelle ausgeben, oder mit „values“ die Werte einer "
                                                      "Kennzahl samt Status")
    p.add_argument("table", choices=["values", *DATASETS])
    p.add_argument("--kennzahl", help="bei values: Schlüssel der Kennzahl")
    p.add_argument("--ebene", choices=("bezirk", "stadtteil"), default="bezirk", help="bei values")
    p.add_argument("--stichtag", type=iso_date, help="bei values: JJJJ-MM-TT (Standard: alle)")
    p.add_argument("--format", choices=("csv", "json", "table"), default="csv")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("export", parents=[common], help="Diagramm oder Karte als PNG, SVG oder PDF exportieren")
    p.add_argument("--page", required=True, help=", ".join(sorted({v.page for v in VIEWS.values()})))
    p.add_argument("--chart", help=f"{', '.join(sorted({v.chart for v in VIEWS.values()}))} "
                                   "(Standard: das Hauptdiagramm der Seite)")
    for name in PARAMS:  # the views' own parameters, parsed by the same parsers as URLs
        p.add_argument(f"--{name}", help=PARAM_HELP.get(name))
    p.add_argument("--format", choices=("png", "svg", "pdf"), default="png")
    p.add_argument("--caption", action="store_true", help="den beschreibenden Satz unter die Grafik drucken")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export-pack", parents=[common], help="Bezirkspaket als PDF (oder ZIP der Folien)")
    p.add_argument("--bezirk", required=True,
                   help="ein Bezirk oder mehrere, z. B. III oder I,III; alle: ein ZIP mit dem PDF-Paket jedes Bezirks")
    p.add_argument("--stichtag")
    p.add_argument("--format", choices=("pdf", "zip", "pptx"), help="Standard: nach der Dateiendung von --out")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export_pack)

    p = sub.add_parser("geometry", parents=[common], help="Grenzen vorbereiten und Bericht ausgeben")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--build", action="store_true",
                   help="aus den Rohdateien die vorbereiteten Grenzen in geo/ des Projekts schreiben")
    p.set_defaults(func=cmd_geometry)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A start imports pandas, Dash, geopandas and SQLAlchemy and builds the app: 250,000 objects the collector
    # tracks, hardly one freed, and each collection meanwhile walks them all (0.3–0.4 s of a 1.9 s cold start).
    # Collection resumes when the command ends, or once the app is built (essen_dash.app.app_started).
    gc.disable()
    try:
        return run_command(argv)
    finally:
        gc.enable()


def run_command(argv: list[str] | None) -> int:
    from essen_dash.export.charts import ExportError
    from essen_dash.export.render import ExportUnavailable
    from essen_dash.geo.boundaries import GeometryJoinError, GeometryNotFound
    from essen_dash.sources.vorlage import VorlageParseError
    from essen_dash.tables.load import DataError

    from sqlalchemy.exc import SQLAlchemyError

    args = build_parser().parse_args(argv)
    settings = paths.settings(getattr(args, "data_dir", None), getattr(args, "geo_dir", None),
                              database_url=getattr(args, "database_url", None))
    try:
        return args.func(args, settings)
    except (DataError, VorlageParseError, GeometryNotFound, GeometryJoinError, OSError, ValueError, ExportError,
            ExportUnavailable) as exc:
        print(f"FEHLER: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # the database unreachable or refusing: its own words, without a traceback
        print(f"FEHLER: Datenbank {settings.database_url}: {getattr(exc, 'orig', None) or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
