"""The cache of rendered files: bounded in bytes, least recently used out first, per data bundle."""

from __future__ import annotations

import gc

from essen_dash.export.render import Rendered


class Bundle:
    """Stands for a data bundle (compared by identity, like AppData)."""


def test_cache_is_bounded_and_keeps_what_was_used_last():
    cache, bundle = Rendered(max_bytes=10), Bundle()
    a, b, c = (cache.key(bundle, name, "pdf") for name in "abc")
    cache.put(a, b"1234")
    cache.put(b, b"5678")
    assert cache.get(a) == b"1234"  # a is now the most recently used
    cache.put(c, b"90")
    assert cache.size() == (3, 10)
    cache.put(cache.key(bundle, "d", "pdf"), b"x")  # over 10 bytes: b, the least recently used, goes
    assert cache.get(b) is None and cache.get(a) == b"1234" and cache.size() == (3, 7)
    assert cache.put(cache.key(bundle, "huge", "pdf"), b"y" * 11) == b"y" * 11  # larger than the cache: not kept
    assert cache.size() == (3, 7)


def test_a_bundles_files_are_its_own_and_go_with_it():
    cache, first, second = Rendered(), Bundle(), Bundle()
    assert cache.key(first, "chart", "png") != cache.key(second, "chart", "png")
    assert cache.key(first, "chart", "png") == cache.key(first, "chart", "png")
    cache.put(cache.key(first, "chart", "png"), b"old")
    cache.put(cache.key(second, "chart", "png"), b"new")
    del first
    gc.collect()
    cache.put(cache.key(second, "other", "png"), b"z")  # files of bundles that are gone are dropped on the next put
    assert cache.size() == (2, 4)
