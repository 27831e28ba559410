"""Shared look of every figure: fonts, colours, margins, the source line."""

from __future__ import annotations

import functools

import plotly.graph_objects as go

#: quoted: an unquoted "Source Sans 3" is invalid CSS, and the whole list then fell back to a serif font
FONT = "'Source Sans 3', 'Source Sans Pro', 'Segoe UI', Helvetica, Arial, 'Liberation Sans', sans-serif"
INK = "#1b2733"
MUTED = "#5b6770"
ACCENT = "#0b5394"
HIGHLIGHT = "#111111"


#: the house style of every figure's layout (fonts, colours, German separators); ``template="none"``: our style
#: is set here, plotly's default template would add ~6 KB to every figure
HOUSE = {"template": "none", "font": {"family": FONT, "color": INK, "size": 13}, "separators": ",.",
         "paper_bgcolor": "white", "plot_bgcolor": "white", "hoverlabel": {"bgcolor": "white",
                                                                           "font": {"family": FONT, "size": 13}}}


def merged(base: dict, extra: dict) -> dict:
    """Return ``base`` updated by ``extra`` as plotly's ``update_layout`` does: nested dicts key by key."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@functools.cache
def none_template() -> dict:
    """Return plotly's ``"none"`` template as the figure JSON carries it."""
    return go.Figure(layout={"template": "none"}).to_plotly_json()["layout"]["template"]


def housed(layout: dict) -> dict:
    """Return a figure's layout (plotly JSON) in the house style (fonts, colours, German separators). Plain data:
    the figure was validated when it was built."""
    return {**merged(layout, HOUSE), "template": none_template()}  # replaced whole, as plotly replaces a template


def house_layout(layout: dict, title: str, subtitle: str = "", source: str = "") -> dict:
    """Return a figure's layout (plotly JSON) in the house style with title and subtitle, and the source line at
    the foot (exports)."""
    out = merged(housed(layout), {"title": {
        "text": f"<b>{title}</b>" + (f"<br><span style='font-size:13px;color:{MUTED}'>{subtitle}</span>"
                                     if subtitle else ""),
        "x": 0.01, "xanchor": "left", "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 14},
        "font": {"size": 18, "color": INK}}})
    # room for the heading and the source line; a figure's own wider margins stay
    margin = out.get("margin", {})
    bottom = max(margin.get("b") or 0, 46 if source else 10)
    out["margin"] = {**margin, "l": 10 if margin.get("l") is None else margin["l"],
                     "r": 10 if margin.get("r") is None else margin["r"],
                     "t": max(margin.get("t") or 0, 80 if subtitle else 56), "b": bottom}
    if source:
        # at the foot of the figure, below tick labels and axis titles
        out["annotations"] = [*out.get("annotations", ()), {
            "text": source, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0, "y": 0,
            "yshift": -(bottom - 18), "xanchor": "left", "yanchor": "top", "font": {"size": 11, "color": MUTED},
            "name": "source"}]
    return out
