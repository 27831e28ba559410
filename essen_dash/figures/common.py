"""Shared look of every figure: fonts, colours, margins, the source line."""

from __future__ import annotations

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


#: plotly's ``"none"`` template as the figure JSON carries it (tests/unit/figures/test_choropleth.py compares it with
#: plotly's own): written out, since building it through plotly loads all of plotly's validators (40 ms), and
#: the first page's map needs none of them
NONE_TEMPLATE = {"data": {"scatter": [{"type": "scatter"}]}}


def housed(layout: dict) -> dict:
    """Return a figure's layout (plotly JSON) in the house style (fonts, colours, German separators). Plain data:
    the figure was validated when it was built."""
    return {**merged(layout, HOUSE), "template": NONE_TEMPLATE}  # replaced whole, as plotly replaces a template
