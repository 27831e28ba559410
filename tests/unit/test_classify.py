"""Classification schemes: breaks from mapclassify, colours per value, missing stays grey."""

from __future__ import annotations

import mapclassify
import numpy as np
import pytest

from essen_dash.classify import NO_VALUE_COLOUR, SCHEMES

VALUES = np.array([7.1, 1.3, 4.2, 2.6, 5.1, 4.2, 4.2, 1.4, 1.1])  # origin12_pct, Bezirke I–IX
fmt = lambda v: f"{v:.1f}".replace(".", ",")  # noqa: E731


@pytest.mark.parametrize("key, classifier", [
    ("quantiles", lambda v: mapclassify.Quantiles(v, k=4)),
    ("equal_interval", lambda v: mapclassify.EqualInterval(v, k=4)),
    ("natural_breaks", lambda v: mapclassify.FisherJenks(v, k=4)),  # computed by jenkspy: the same breaks
])
def test_classified_schemes_use_mapclassify_breaks(key, classifier):
    c = SCHEMES[key].build(VALUES, 3.6, fmt)
    assert c.bins == pytest.approx(list(classifier(VALUES).bins))
    assert len(c.labels) == len(c.legend_colours) == len(c.bins) and not c.continuous
    # Bezirk I (7.1) is in the top class, IX (1.1) in the lowest
    assert c.colours[0] == c.legend_colours[-1] and c.colours[8] == c.legend_colours[0]


def test_natural_breaks_equal_mapclassify_fisher_jenks_at_thousands_of_areas():
    """jenkspy's Fisher-Jenks gives mapclassify's breaks (which without numba take a minute for 5,000 areas)."""
    values = np.round(np.random.default_rng(15).lognormal(2, 0.8, 400), 1)  # made-up values, skewed like shares
    c = SCHEMES["natural_breaks"].build(values, 8.0, fmt)
    assert c.bins == pytest.approx(list(mapclassify.FisherJenks(values, k=4).bins))


def test_natural_breaks_labels_are_german_and_half_open():
    c = SCHEMES["natural_breaks"].build(VALUES, 3.6, fmt)
    assert c.labels[0].startswith("1,1 bis unter ") and c.labels[-1].endswith(" bis 7,1")
    assert all(" bis unter " in label for label in c.labels[:-1]) and " unter " not in c.labels[-1]


def test_a_value_on_a_break_belongs_to_the_class_above():
    c = SCHEMES["quantiles"].build(VALUES, 3.6, fmt)
    assert c.labels == ["1,1 bis unter 1,4", "1,4 bis unter 4,2", "4,2 bis 7,1"]
    by_value = dict(zip(VALUES, c.colours))
    assert by_value[1.4] == c.legend_colours[1] and by_value[4.2] == c.legend_colours[2]
    assert by_value[1.3] == c.legend_colours[0] and by_value[7.1] == c.legend_colours[2]


def test_continuous_and_deviation():
    c = SCHEMES["continuous"].build(VALUES, 3.6, fmt)
    assert (c.zmin, c.zmax, c.zmid, c.continuous) == (1.1, 7.1, None, True)
    d = SCHEMES["deviation"].build(VALUES, 3.6, fmt)
    assert d.zmid == 3.6 and d.zmin == pytest.approx(3.6 - 3.5) and d.zmax == pytest.approx(7.1)


def test_missing_values_are_grey_never_a_class():
    values = np.array([np.nan, 11.7, np.nan, 10.8, 6.1])
    for scheme in SCHEMES.values():
        c = scheme.build(values, 3.6, fmt)
        assert c.colours[0] == c.colours[2] == NO_VALUE_COLOUR
        assert NO_VALUE_COLOUR not in (c.colours[1], c.colours[3], c.colours[4])


@pytest.mark.parametrize("key", list(SCHEMES))
def test_no_published_value_at_all_is_all_grey(key):
    c = SCHEMES[key].build(np.array([np.nan] * 50), 3.6, fmt)
    assert c.colours == [NO_VALUE_COLOUR] * 50


@pytest.mark.parametrize("scale", ["SEQUENTIAL", "DIVERGING"])
def test_colours_are_sampled_exactly_as_plotly_samples_them(scale):
    from plotly.colors import sample_colorscale

    from essen_dash import classify

    stops = getattr(classify, scale)
    points = np.concatenate([[0.0, 1.0, 0.5], np.linspace(0, 1, len(stops)), np.random.default_rng(15).random(5000)])
    assert classify.sample(stops, points) == sample_colorscale(stops, list(points))
