"""Where the app's boundaries come from: a prepared folder as it is, or raw files prepared once and cached.

The raw files' preparation (:mod:`essen_dash.geo.prepare`, geopandas and pyproj) is imported only where no
prepared folder comes first: the app itself starts on the committed ``geo/`` without it.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from essen_dash import paths
from essen_dash.geo.boundaries import (Boundaries, GeometryJoinError, find_geo_dir, holds_prepared,
                                       read_prepared)

log = logging.getLogger(__name__)


def load_boundaries(register: pd.DataFrame, settings: paths.Settings, use_cache: bool = True) -> Boundaries:
    """Return the boundaries of the first folder of ``settings.geo_dirs()`` holding prepared or raw files.

    Prepared files are read as they are (checked against the register). Raw files are prepared, and
    the result is kept in ``settings.cache_dir`` keyed by a hash of the files, the register and the
    preparation settings; ``use_cache`` False prepares afresh and writes no cache.
    """
    folder = find_geo_dir(settings)
    if holds_prepared(folder):
        return read_prepared(folder, register)
    from essen_dash.geo import prepare

    key = prepare.source_key(folder, register)
    cached = Path(settings.cache_dir) / f"geometry-{key}"
    if use_cache and holds_prepared(cached):
        try:
            return read_prepared(cached, register, source_dir=folder)
        except GeometryJoinError as exc:  # a damaged cache is rebuilt, never fatal
            log.warning("Geometrie-Cache %s unbrauchbar (%s), wird neu erstellt", cached, exc)
            shutil.rmtree(cached, ignore_errors=True)
    boundaries = prepare.prepare(folder, register)
    if use_cache:
        prepare.write_cache(boundaries, cached)
    return boundaries


