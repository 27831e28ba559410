"""The render helper's kaleido reloads a tab's page every RELOAD_EVERY figures and after a failed one, not after
each figure (kaleido's own way, which took two thirds of a page's time). A stand-in for kaleido's tab queue."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from essen_dash.export import render


class Queueing:
    """Stands in for kaleido.Kaleido: its tab queue, and a return that reloads the tab (as kaleido does)."""

    def __init__(self) -> None:
        self.tabs_ready: asyncio.Queue = asyncio.Queue()
        self.reloads: list[str] = []

    async def _return_kaleido_tab(self, tab) -> None:
        self.reloads.append(tab)
        await self.tabs_ready.put(tab)


async def use(k, tab: str, fail: bool = False) -> None:
    """Return ``tab`` as kaleido's render task does: in a ``finally``, a failed figure's exception on its way."""
    try:
        if fail:
            raise RuntimeError("figure failed")
    finally:
        await k._return_kaleido_tab(tab)


def test_a_tab_is_reloaded_every_n_figures_and_after_a_failure(monkeypatch):
    monkeypatch.setattr(render, "RELOAD_EVERY", 4)
    k = render._kaleido(Queueing)()

    async def run() -> None:
        for i in range(9):
            await use(k, f"t{i % 2}")
        assert k.reloads == ["t1", "t1"]  # the 4th and 8th figure
        try:
            await use(k, "t0", fail=True)
        except RuntimeError:
            pass
        assert k.reloads == ["t1", "t1", "t0"]
        assert k.tabs_ready.qsize() == 10  # every tab went back to the queue

    # a loop of its own in a thread of its own: the browser tests' Playwright keeps a loop in the main thread
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_a_kaleido_without_the_tab_queue_keeps_its_own_way():
    class Other:
        pass

    assert render._kaleido(Other) is Other
