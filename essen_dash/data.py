"""Load everything the app shows once, as one immutable bundle, and hold the bundle in force.

:func:`current` is the one documented accessor for the bundle a request reads;
everything below a page callback receives the bundle as a parameter. Results of
pure builders are memoized outside the bundle (:func:`memoized`), keyed by the
bundle's identity, and dropped when another bundle is installed.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date

from essen_dash.format import de_date
from essen_dash.geo.boundaries import ATTRIBUTION, Boundaries, GeometryJoinError, GeometryNotFound
from essen_dash.geo.load import load_boundaries
from essen_dash.kennzahlen import Catalog
from essen_dash.paths import Settings
from essen_dash.sources.publish import data_source
from essen_dash.tables.load import Tables
from essen_dash.tables.quality import Finding, findings

log = logging.getLogger(__name__)
MEMO_SIZE = 1024


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one bundle, one memo key
class AppData:
    """Validated tables, the Kennzahlen catalog per Stichtag, prepared boundaries (or why there are none),
    and the quality report."""

    tables: Tables
    boundaries: Boundaries | None
    geometry_problem: str | None
    quality: tuple[Finding, ...]
    #: the catalog with data-dependent labels filled in, per Stichtag
    catalogs: dict = field(default_factory=dict)
    #: the state of the data source these tables were read at (its version, or its files' fingerprint)
    revision: object = None

    @property
    def stichtage(self) -> list[date]:
        return self.tables.stichtage

    @property
    def latest(self) -> date:
        return self.stichtage[-1]

    def jobcenter_areas(self, day: date):
        """Return the dissolved JobCenter areas of JobCenter Stichtag ``day``, or None (no boundaries, or no lists of
        that day); dissolved when first asked for (40 ms at a start that need not wait for them)."""
        return dissolved_jobcenter_areas(self, day)

    def catalog(self, stichtag: date) -> Catalog:
        return self.catalogs[stichtag]

    def document(self, stichtag: date):
        """Return the council submission the values of ``stichtag`` were published in, or None (a delivery)."""
        docs = self.tables["documents"]
        found = docs[docs["bezirke_stichtag"] == stichtag]
        return found.iloc[0] if len(found) else None

    def sources(self, stichtag: date) -> list[str]:
        """Return who delivered the values of ``stichtag`` (e.g. ``Stadt Essen, FB 12``), in order of delivery."""
        return self._sources.get(stichtag, [])

    @functools.cached_property
    def _sources(self) -> dict[date, list[str]]:
        """Who delivered the values, per Stichtag (asked for by every view's source line)."""
        v = self.tables["values"]
        return {day: list(found) for day, found in v.groupby("stichtag", sort=False)["source"].unique().items()}

    def jobcenter_stichtag(self, stichtag: date) -> date:
        """Return the JobCenter Stichtag shown with ``stichtag``: the one published with it, else the latest one
        before it (else the first there is)."""
        doc = self.document(stichtag)
        if doc is not None:
            return doc["jobcenter_stichtag"]
        days = sorted(self.tables["jobcenter"]["stichtag"].unique())
        return max((d for d in days if d <= stichtag), default=days[0])

    def jobcenter_source(self, stichtag: date) -> str:
        """Return who published the JobCenter figures shown with ``stichtag``."""
        docs = self.tables["documents"]
        doc = docs[docs["jobcenter_stichtag"] == self.jobcenter_stichtag(stichtag)].iloc[0]
        return f"Stadt Essen, {doc['jobcenter_source']}"

    def source_detail(self, stichtag: date) -> str:
        """Return where the values of ``stichtag`` come from, with the submission and section where there is one."""
        doc = self.document(stichtag)
        where = f", in Ratsvorlage {doc['document_id']} (Abschnitt {doc['bezirke_section']})" if doc is not None else ""
        return "; ".join(self.sources(stichtag)) + where

    def source_line(self, stichtag: date, kind: str = "bezirke", geometry: bool = True) -> str:
        """Return the source line for figures, from the data's source records."""
        if kind == "jobcenter":
            text = f"Quelle: {self.jobcenter_source(stichtag)}, Stand {de_date(self.jobcenter_stichtag(stichtag))}"
        else:
            text = f"Quelle: {'; '.join(self.sources(stichtag))}, Stand {de_date(stichtag)}"
        return f"{text}; {ATTRIBUTION.split(',')[0]}" if geometry else text


def load_app_data(settings: Settings, maps: bool = True) -> AppData:
    """Load and validate tables, then boundaries (unless ``maps`` is false, e.g. for tables on the command line);
    missing boundaries are reported, not fatal."""
    source = data_source(settings)
    revision = source.revision()  # before reading: a publication during the read is noticed at the next check
    tables = source.load()
    boundaries, problem = None, "Grenzen nicht geladen"
    try:
        if maps:
            boundaries, problem = load_boundaries(tables["stadtteile_register"], settings), None
    except (GeometryNotFound, GeometryJoinError) as exc:
        problem = str(exc)
        log.error("Karten nicht verfügbar: %s", exc)
    return assemble(tables, boundaries, problem, revision)


def assemble(tables: Tables, boundaries: Boundaries | None, problem: str | None, revision: object = None) -> AppData:
    """Return the bundle of validated tables with boundaries already prepared (a publication's preview reuses the
    boundaries in force)."""
    catalog = Catalog.from_table(tables["kennzahlen"])
    catalogs = {day: catalog.resolved(tables, day) for day in tables.stichtage}
    return AppData(tables, boundaries, problem, tuple(findings(tables, catalog)), catalogs, revision)


# --- memo of pure builders, outside the bundle ------------------------------------------

_memos: list = []


def memoized(fn=None, *, size: int = MEMO_SIZE):
    """Memoize a pure builder whose first argument is the bundle (views repeat across users).

    The memo keeps the ``size`` results last asked for, and is emptied whenever another bundle is installed.
    """
    if fn is None:
        return functools.partial(memoized, size=size)
    cached = functools.lru_cache(maxsize=size)(fn)
    _memos.append(cached)
    return functools.wraps(fn)(cached)


@memoized
def dissolved_jobcenter_areas(data: AppData, day: date):
    """See :meth:`AppData.jobcenter_areas`."""
    from essen_dash.geo.shapes import jobcenter_areas  # geopandas: imported with the first JobCenter map

    cw = data.tables["jobcenter_crosswalk"]
    rows = cw[cw["stichtag"] == day]
    return jobcenter_areas(data.boundaries.stadtteile, rows) if data.boundaries is not None and len(rows) else None


def _forget_views() -> None:
    """Empty every memo: its entries belong to a bundle that is no longer served."""
    for memo in _memos:
        memo.cache_clear()


# --- the bundle in force --------------------------------------------------------------------

#: How often (seconds) a request may check whether other data came into force (a new version, changed files).
RELOAD_INTERVAL_S = 2.0


@dataclass
class _Holder:
    """The bundle in force, and when its source was last looked at (one per process, same in every worker)."""

    data: AppData | None = None
    settings: Settings | None = None
    revision: object = None
    checked_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_holder = _Holder()


def install(data: AppData, settings: Settings) -> None:
    """Make ``data`` the bundle the pages read (at start-up, or after a successful reload)."""
    _holder.data, _holder.settings = data, settings
    _holder.revision, _holder.checked_at = data.revision, time.monotonic()
    _forget_views()


def reload_if_changed() -> bool:
    """Reload when other data came into force; keep serving the last good data if they cannot be read."""
    h = _holder
    if h.settings is None or time.monotonic() - h.checked_at < RELOAD_INTERVAL_S or not h.lock.acquire(blocking=False):
        return False
    source = data_source(h.settings)
    try:
        h.checked_at = time.monotonic()
        try:
            now = source.revision()
        except Exception as exc:  # the database unreachable for a moment: keep serving, look again later
            log.error("Datenquelle %s nicht erreichbar, es bleiben die bisherigen Daten: %s", source.label, exc)
            return False
        if now == h.revision:
            return False
        h.revision = now  # a broken state is reported once, not on every request
        try:
            fresh = load_app_data(h.settings)
        except Exception as exc:  # any failure keeps the last good data
            log.error("Neue Daten in %s abgelehnt, es bleiben die bisherigen: %s", source.label, exc)
            return False
        h.data, h.revision = fresh, fresh.revision
        _forget_views()
        log.info("Daten aus %s neu geladen (Stand %s)", source.label, fresh.revision)
        return True
    finally:
        h.lock.release()


def current() -> AppData:
    """Return the bundle in force (installed by :func:`essen_dash.app.create_app`)."""
    if _holder.data is None:
        raise RuntimeError("Keine Daten geladen: create_app() zuerst aufrufen")
    return _holder.data
