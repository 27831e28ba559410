"""The ``essen-dash`` command line: import, validate, show, inspect geometry, serve."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from essen_dash import paths
from essen_dash.format import de_number
from essen_dash.paths import Settings

# --- commands ----------------------------------------------------------------------

def cmd_import_vorlage(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.sources.vorlage import read_vorlage
    from essen_dash.tables.load import DataError, Problem, load_tables
    from essen_dash.tables.schema import REFERENCE_TABLES, TABLES
    from essen_dash.tables.store import write_tables

    current = load_tables(settings.data_dir)
    kept = {name: current[name] for name in REFERENCE_TABLES}
    if args.register is not None:
        register = pd.read_csv(args.register, encoding="utf-8")
        missing = [c for c in TABLES["stadtteile_register"].column_names if c not in register.columns]
        if missing:  # the rest of the register is checked with the imported result, before anything is written
            raise DataError(Path(args.register),
                            [Problem(Path(args.register).name, 1, c, "Spalte fehlt") for c in missing])
        kept["stadtteile_register"] = register
    # Written all or nothing: the result is validated like `validate` before it replaces anything in --out.
    tables = read_vorlage(args.path, kept["stadtteile_register"])
    out = Path(args.out)
    written = write_tables({**tables, **kept}, out)
    doc = tables["documents"].iloc[0]
    print(f"Vorlage {doc['document_id']} gelesen: Bezirksdaten Stand {doc['bezirke_stichtag']:%d.%m.%Y}, "
          f"JobCenter-Daten Stand {doc['jobcenter_stichtag']:%d.%m.%Y}")
    for path in written:
        print(f"  geschrieben: {path}")
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
    from essen_dash.datasets import DATASETS, iso_dates

    df = iso_dates(DATASETS[args.table].get(load_app_data(settings, maps=False)))
    if args.format == "json":
        print(df.to_json(orient="records", force_ascii=False, indent=1))
    else:
        sys.stdout.write(df.to_csv(index=False, lineterminator="\n"))
    return 0


def cmd_geometry(args: argparse.Namespace, settings: Settings) -> int:
    from essen_dash.geo.boundaries import build_prepared, find_raw_dir, load_boundaries
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
    from essen_dash.app import create_app

    app = create_app(settings)
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
                            help=f"Datenordner (sonst ${paths.DATA_DIR_ENV} oder die mitgelieferten Daten)")
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

    p = sub.add_parser("import-vorlage", parents=[common], help="Ratsvorlage (Textformat) in Tabellen umwandeln")
    p.add_argument("path")
    p.add_argument("--out", required=True, help="Zielordner; vorhandene andere Stichtage bleiben erhalten")
    p.add_argument("--register", help="Stadtteilverzeichnis (CSV); sonst das des Datenordners")
    p.set_defaults(func=cmd_import_vorlage)

    p = sub.add_parser("validate", parents=[common], help="Datenordner prüfen und Datenqualität berichten")
    p.add_argument("dir", nargs="?")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", parents=[common], help="Eine Tabelle ausgeben")
    p.add_argument("table", choices=list(DATASETS))
    p.add_argument("--format", choices=("csv", "json"), default="csv")
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
    from essen_dash.export.charts import ExportError
    from essen_dash.export.render import ExportUnavailable
    from essen_dash.geo.boundaries import GeometryJoinError, GeometryNotFound
    from essen_dash.sources.vorlage import VorlageParseError
    from essen_dash.tables.load import DataError

    args = build_parser().parse_args(argv)
    settings = paths.settings(getattr(args, "data_dir", None), getattr(args, "geo_dir", None))
    try:
        return args.func(args, settings)
    except (DataError, VorlageParseError, GeometryNotFound, GeometryJoinError, OSError, ValueError, ExportError,
            ExportUnavailable) as exc:
        print(f"FEHLER: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
