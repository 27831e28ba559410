"""Load everything the app shows once at start-up, as one immutable bundle."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from essen_dash.format import de_date
from essen_dash.geo.boundaries import (ATTRIBUTION, Boundaries, GeometryJoinError, GeometryNotFound, jobcenter_areas,
                                      load_boundaries)
from essen_dash.tables.load import Tables, load_tables
from essen_dash.tables.quality import Finding, findings

log = logging.getLogger(__name__)
MEMO_SIZE = 512


@dataclass(frozen=True)
class AppData:
    """Validated tables, prepared boundaries (or why there are none) and the quality report."""

    tables: Tables
    boundaries: Boundaries | None
    geometry_problem: str | None
    quality: tuple[Finding, ...]
    #: dissolved JobCenter areas per JobCenter Stichtag (empty without boundaries)
    jobcenter_geo: dict = field(default_factory=dict)
    #: results of pure builders for this bundle (dropped with it on reload); only a speed-up
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: tuple, build):
        """Return ``build()`` once per key for this data bundle (views repeat across users)."""
        value = self._memo.get(key)
        if value is None:
            value = build()
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            # return the built value itself: another thread may clear the dict right after this store
            self._memo[key] = value
        return value

    @property
    def stichtage(self) -> list[date]:
        return self.tables.stichtage

    @property
    def latest(self) -> date:
        return self.stichtage[-1]

    def latest_for_jobcenter(self, jc_stichtag: date) -> date:
        """Return the Bezirk Stichtag published together with a JobCenter Stichtag."""
        docs = self.tables["documents"]
        return docs[docs["jobcenter_stichtag"] == jc_stichtag]["bezirke_stichtag"].iloc[0]

    def document(self, stichtag: date):
        docs = self.tables["documents"]
        return docs[docs["bezirke_stichtag"] == stichtag].iloc[0]

    def source_line(self, stichtag: date, kind: str = "bezirke", geometry: bool = True) -> str:
        """Return the source line for figures, from the data's source records."""
        doc = self.document(stichtag)
        text = f"Quelle: Stadt Essen, {doc[f'{kind}_source']}, Stand {de_date(doc[f'{kind}_stichtag'])}"
        return f"{text}; {ATTRIBUTION.split(',')[0]}" if geometry else text


def load_app_data(data_dir: Path | None = None) -> AppData:
    """Load and validate tables, then boundaries; missing boundaries are reported, not fatal."""
    tables = load_tables(data_dir)
    try:
        boundaries, problem = load_boundaries(tables["stadtteile_register"]), None
    except (GeometryNotFound, GeometryJoinError) as exc:
        boundaries, problem = None, str(exc)
        log.error("Karten nicht verfügbar: %s", exc)
    jc_geo = {}
    if boundaries is not None:
        cw = tables["jobcenter_crosswalk"]
        jc_geo = {day: jobcenter_areas(boundaries.stadtteile, rows) for day, rows in cw.groupby("stichtag")}
    return AppData(tables, boundaries, problem, tuple(findings(tables)), jc_geo)


#: How often (seconds) a request may check whether the data files changed.
RELOAD_INTERVAL_S = 2.0


def fingerprint(folder: Path) -> tuple:
    """Return (name, size, mtime) of every file in the data folder: cheap to compare."""
    try:
        return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()))
    except OSError:
        return ()


@dataclass
class _Holder:
    """The bundle in force, and when its folder was last looked at (one per process, same in every worker)."""

    data: AppData | None = None
    folder: Path | None = None
    fingerprint: tuple = ()
    checked_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_holder = _Holder()


def install(data: AppData) -> None:
    """Make ``data`` the bundle the pages read (at start-up, or after a successful reload)."""
    _holder.data, _holder.folder = data, data.tables.folder
    _holder.fingerprint, _holder.checked_at = fingerprint(data.tables.folder), time.monotonic()


def reload_if_changed() -> bool:
    """Reload when the data files changed; keep serving the last good data if the new files are bad."""
    h = _holder
    if h.folder is None or time.monotonic() - h.checked_at < RELOAD_INTERVAL_S or not h.lock.acquire(blocking=False):
        return False
    try:
        h.checked_at = time.monotonic()
        now = fingerprint(h.folder)
        if now == h.fingerprint:
            return False
        h.fingerprint = now  # a broken state is reported once, not on every request
        try:
            fresh = load_app_data(h.folder)
        except Exception as exc:  # any failure keeps the last good data
            log.error("Neue Daten in %s abgelehnt, es bleiben die bisherigen: %s", h.folder, exc)
            return False
        h.data = fresh
        log.info("Daten aus %s neu geladen", h.folder)
        return True
    finally:
        h.lock.release()


def current() -> AppData:
    if _holder.data is None:
        install(load_app_data())
    return _holder.data
