"""Verteilungsrechner on the frozen 2016 fixture: exact splits computed by hand here, sums always exact, the URL
round trip, German notices for bad settings, the views and the XLSX export."""

from __future__ import annotations

import dataclasses
import io
import random
import re
from datetime import date
from fractions import Fraction

import pandas as pd
import pytest

from essen_dash import verteilung as vt
from essen_dash.params import ParamError, as_query, key_kennzahlen, parse, parse_search
from essen_dash.views import VIEWS, build

DAY = date(2016, 9, 30)
IDS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")
#: persons from the 12 origin countries per Bezirk, 30.09.2016 (Ratsvorlage 1846/2016, section 3.1.1)
ORIGIN12 = dict(zip(IDS, (4795, 677, 4162, 2158, 2995, 2206, 2981, 736, 577)))
POPULATION = dict(zip(IDS, (67297, 54409, 98439, 84069, 58471, 52373, 70867, 52215, 50735)))
#: published shares of project housing, % (same source)
HOUSING = dict(zip(IDS, (22.3, 1.8, 18.6, 10.4, 11.0, 10.4, 19.0, 4.5, 2.4)))
SETTING = ("total", "unit", "key", "min", "stichtag")

# 35 posts by persons from the 12 origin countries; city = 4795 + 677 + … + 577 = 21287.
# quota = 35 × count / 21287       whole part   remainder (numerator over 21287)
#   I     167825 / 21287 = 7,884        7        18816
#   II     23695 / 21287 = 1,113        1         2408
#   III   145670 / 21287 = 6,843        6        17948
#   IV     75530 / 21287 = 3,548        3        11669
#   V     104825 / 21287 = 4,924        4        19677
#   VI     77210 / 21287 = 3,627        3        13349
#   VII   104335 / 21287 = 4,901        4        19187
#   VIII   25760 / 21287 = 1,210        1         4473
#   IX     20195 / 21287 = 0,949        0        20195
# whole parts 29; the 6 posts left go to the largest remainders IX, V, VII, I, III, VI.
SPLIT_35 = {"I": 8, "II": 1, "III": 7, "IV": 3, "V": 5, "VI": 4, "VII": 5, "VIII": 1, "IX": 1}

# 36 posts, same key: 36 × count / 21287 → whole parts I 8, II 1, III 7, IV 3, V 5, VI 3, VII 5, VIII 1, IX 0
# (33), remainders I 2324, II 3085, III 823, IV 13827, V 1385, VI 15555, VII 881, VIII 5209, IX 20772;
# the 3 left go to IX, VI, IV.
SPLIT_36 = {"I": 8, "II": 1, "III": 7, "IV": 4, "V": 5, "VI": 4, "VII": 5, "VIII": 1, "IX": 1}

# 7 posts (Quartiermanager): 7 × count / 21287 → whole parts I 1, III 1, others 0 (2); remainders
# I 12278, II 4739, III 7847, IV 15106, V 20965, VI 15442, VII 20867, VIII 5152, IX 4039; 5 left → V, VII, VI, IV, I.
SPLIT_7 = {"I": 2, "II": 0, "III": 1, "IV": 1, "V": 1, "VI": 1, "VII": 1, "VIII": 0, "IX": 0}

# 1.000.000 € = 100.000.000 Cent by the same key: 100000000 × count / 21287 in cent →
#   I 22525485 r 805, II 3180344 r 17272, III 19551839 r 3207, IV 10137642 r 14746, V 14069619 r 20347,
#   VI 10363132 r 9116, VII 14003852 r 2476, VIII 3457509 r 5917, IX 2710574 r 11262;
# the whole cents add up to 99999996, the 4 cents left go to V, II, IV, IX.
SPLIT_EUR = {"I": 225254.85, "II": 31803.45, "III": 195518.39, "IV": 101376.43, "V": 140696.20, "VI": 103631.32,
             "VII": 140038.52, "VIII": 34575.09, "IX": 27105.75}

# 35 posts, at least 2 per Bezirk: II (1,11), VIII (1,21) and IX (0,95) fall below 2 and get exactly 2 (6 posts).
# The other 29 go to I, III, IV, V, VI, VII by their counts (sum 19297): 29 × count / 19297 →
#   I 7 r 3976, III 6 r 4916, IV 3 r 4691, V 4 r 9667, VI 3 r 6083, VII 4 r 9261 (none below 2 any more);
# whole parts 27, the 2 left go to V and VII.
SPLIT_35_MIN_2 = {"I": 7, "II": 2, "III": 6, "IV": 3, "V": 5, "VI": 3, "VII": 5, "VIII": 2, "IX": 2}

# 36 posts, 50 % persons from the origin countries + 50 % population (588875):
# quota = 36 × (count / 21287 / 2 + population / 588875 / 2) →
#   I 6,112  II 2,236  III 6,528  IV 4,394  V 4,320  VI 3,466  VII 4,687  VIII 2,218  IX 2,039
# whole parts 33; the 3 left go to VII (,687), III (,528), VI (,466).
SPLIT_36_HALF = {"I": 6, "II": 2, "III": 7, "IV": 4, "V": 4, "VI": 4, "VII": 5, "VIII": 2, "IX": 2}


def setting(app_data, **raw):
    """Return the parsed setting (no notices allowed) at 30.09.2016."""
    p, notices = parse({"stichtag": DAY.isoformat(), **raw}, app_data, SETTING)
    assert notices == {}
    return p


def split(app_data, **raw) -> dict[str, float]:
    r = vt.compute(app_data, setting(app_data, **raw))
    return dict(zip(r.frame["bezirk_id"], r.frame["amount"]))


def test_fixture_counts_are_the_published_ones(app_data):
    """The hand computations above use these counts; the fixture must hold them."""
    r = vt.compute(app_data, setting(app_data, total="35", unit="posts", key="origin12_count:100"))
    (part,) = r.parts
    assert dict(zip(IDS, part.counts)) == ORIGIN12 and part.total == 21287 == sum(ORIGIN12.values())


@pytest.mark.parametrize(("total", "expected"), [("35", SPLIT_35), ("36", SPLIT_36), ("7", SPLIT_7)])
def test_posts_by_origin_countries_as_computed_by_hand(app_data, total, expected):
    assert split(app_data, total=total, unit="posts", key="origin12_count:100") == expected
    assert sum(expected.values()) == int(total)


def test_remainders_of_the_35_split(app_data):
    """The quotas behind the 35 posts are exact: 35 × count / 21287."""
    r = vt.compute(app_data, setting(app_data, total="35", key="origin12_count:100"))
    assert r.frame["quota"].tolist() == pytest.approx([35 * ORIGIN12[b] / 21287 for b in IDS], abs=1e-12)
    assert r.frame["key_share_pct"].round(2).tolist() == [22.53, 3.18, 19.55, 10.14, 14.07, 10.36, 14.00, 3.46, 2.71]
    assert r.tied == () and r.at_minimum == ()


def test_euros_to_the_cent_as_computed_by_hand(app_data):
    amounts = split(app_data, total="1000000", unit="eur", key="origin12_count:100")
    assert amounts == pytest.approx(SPLIT_EUR, abs=1e-9)
    assert round(sum(amounts.values()) * 100) == 100_000_000


def test_minimum_per_bezirk_as_computed_by_hand(app_data):
    r = vt.compute(app_data, setting(app_data, total="35", key="origin12_count:100", min="2"))
    assert dict(zip(r.frame["bezirk_id"], r.frame["pieces"])) == SPLIT_35_MIN_2
    assert r.at_minimum == ("II", "VIII", "IX")
    assert "Den Mindestwert von 2 Stellen erhalten die Stadtbezirke II, VIII und IX" in vt.explanation(r)


def test_weighted_key_as_computed_by_hand(app_data):
    assert split(app_data, total="36", key="origin12_count:50,population_count:50") == SPLIT_36_HALF


# --- the rounding rule -----------------------------------------------------------------------------------------


def test_ties_go_to_the_larger_weight_then_the_earlier_bezirk():
    # 2 posts by 1 : 3 → quotas 0,5 and 1,5: equal remainders, the larger weight gets the post
    result = vt.largest_remainder(2, [Fraction(1), Fraction(3)])
    assert result.seats == (0, 2) and result.tied == (0, 1)
    # 2 posts by 1 : 1 : 1 → quotas 2/3 each: the first two in order
    result = vt.largest_remainder(2, [Fraction(1)] * 3)
    assert result.seats == (1, 1, 0) and result.tied == (0, 1, 2)
    # no tie at the cut: 3 posts by 1 : 1 : 2 → 0,75, 0,75, 1,5 → the two ,75 both get one
    assert vt.largest_remainder(3, [Fraction(1), Fraction(1), Fraction(2)]) == vt.Apportionment(
        (1, 1, 1), (Fraction(3, 4), Fraction(3, 4), Fraction(3, 2)), ())


def test_a_tie_is_named_in_subtitle_and_sentence(app_data):
    # 5 posts, four equal shares, at least 1 each: quotas 1,25 → one post left, a tie between all four
    result, fixed = vt.apportion(5, [Fraction(1, 4)] * 4, 1)
    assert result.seats == (2, 1, 1, 1) and result.tied == (0, 1, 2, 3) and fixed == (False,) * 4
    r = vt.compute(app_data, setting(app_data, total="35", key="origin12_count:100"))
    tied = dataclasses.replace(r, tied=("II", "IX"))
    assert "Gleicher Rest bei den Stadtbezirken II und IX: entschieden nach der Regel für gleiche Reste." in \
        vt.subtitle(tied) and vt.tie_text(tied) in vt.explanation(tied)
    assert vt.tie_text(r) == "" and "Gleicher Rest" not in vt.subtitle(r)


def test_an_impossible_minimum_is_refused_by_the_computation():
    with pytest.raises(ValueError):
        vt.apportion(7, [Fraction(1, 9)] * 9, 1)


def hare_niemeyer(pieces: int, counts: list[int]) -> list[int]:
    """Hare-Niemeyer in integers (independent of the module): floor, then the largest remainders, ties in order."""
    city = sum(counts)
    whole = [pieces * c // city for c in counts]
    rest = [pieces * c % city for c in counts]
    order = sorted(range(len(counts)), key=lambda i: (-rest[i], -counts[i], i))
    for i in order[:pieces - sum(whole)]:
        whole[i] += 1
    return whole


@pytest.mark.parametrize("key", ["origin12_count", "bg_count", "ro_count", "population_count"])
def test_every_total_matches_an_integer_hare_niemeyer(app_data, key):
    counts = [int(v) for v in vt.key_parts(app_data, setting(app_data, key=f"{key}:100"))[0].counts]
    for total in range(1, 301):
        assert list(split(app_data, total=str(total), key=f"{key}:100").values()) == hare_niemeyer(total, counts), total


def random_key(rng: random.Random, names: list[str]) -> str:
    chosen = rng.sample(names, rng.randint(1, len(names)))
    cuts = sorted(rng.sample(range(1, 10_000), len(chosen) - 1))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000])]  # hundredths of a percent, together 100 %
    return ",".join(f"{n}:{w / 100:.2f}" for n, w in zip(chosen, weights) if w)


def test_the_sum_is_always_exact(app_data):
    """Property: over many totals, keys and minimums the parts add up exactly, each Bezirk gets at least the
    minimum, and without a minimum every part is its quota rounded down or up."""
    rng = random.Random(20161213)
    names = key_kennzahlen(app_data, DAY)
    assert set(names) == {"origin12_count", "bg_count", "ro_count", "non_german_count", "population_count"}
    for _ in range(300):
        unit = rng.choice(["posts", "eur"])
        total = rng.randint(1, 500) if unit == "posts" else rng.randint(1, 10**10) / 100
        most = total // 9 if unit == "posts" else int(total / 9 * 100) / 100  # the largest minimum that can be met
        minimum = rng.choice([0, 0, min(1, most), most, int(most * rng.random())])
        p = setting(app_data, total=str(total), unit=unit, key=random_key(rng, names), min=str(minimum))
        r = vt.compute(app_data, p)
        pieces = r.frame["pieces"].tolist()
        step = vt.UNITS[unit].pieces
        assert sum(pieces) == round(total * step), (p, pieces)
        assert all(x >= round(minimum * step) for x in pieces)
        assert sum(r.frame["key_share_pct"]) == pytest.approx(100, abs=1e-9)
        if not minimum:
            quotas = [Fraction(q).limit_denominator(10**6) * step for q in r.frame["quota"]]
            assert all(abs(x - q) < 1 + 1e-6 for x, q in zip(pieces, quotas)), (p, pieces)


def test_derived_count_shares_add_up_to_100(app_data):
    """non_german_count is derived from rounded shares: its Bezirk sum (89.389) is not the published city
    value (89.289); the shares are taken of the sum so they add up to 100 %, and the notes say so."""
    r = vt.compute(app_data, setting(app_data, total="30", key="non_german_count:100"))
    assert sum(r.frame["pieces"]) == 30
    assert sum(r.frame["key_share_pct"]) == pytest.approx(100)
    (note,) = vt.key_notes(r)
    assert "Summe der Bezirke 89.389 Personen" in note and "veröffentlichter Wert der Gesamtstadt 89.289" in note


# --- the comparison with project housing -----------------------------------------------------------------------


def test_comparison_with_project_housing(app_data):
    r = vt.compute(app_data, setting(app_data, total="35", key="origin12_count:100"))
    f = r.frame.set_index("bezirk_id")
    assert f["housing_pct"].to_dict() == HOUSING
    # housing share − 100 × count / 21287, e.g. I: 22,3 − 22,53 = −0,23; VI: 10,4 − 10,36 = +0,04 (rounding)
    expected = {b: HOUSING[b] - 100 * ORIGIN12[b] / 21287 for b in IDS}
    assert f["housing_diff_pp"].to_dict() == pytest.approx(expected)
    assert f["housing_verdict"].to_dict() == {
        "I": "weniger als nach Schlüssel", "II": "weniger als nach Schlüssel", "III": "weniger als nach Schlüssel",
        "IV": "mehr als nach Schlüssel", "V": "weniger als nach Schlüssel", "VI": "etwa wie nach Schlüssel",
        "VII": "mehr als nach Schlüssel", "VIII": "mehr als nach Schlüssel", "IX": "weniger als nach Schlüssel"}
    assert vt.comparison_text(r).startswith("Von den Projektwohnungen haben die Stadtbezirke IV, VII und VIII mehr "
                                            "und die Stadtbezirke I, II, III, V und IX weniger erhalten")


def test_per_inhabitant_per_group_and_equal_split(app_data):
    r = vt.compute(app_data, setting(app_data, total="35", key="origin12_count:50,population_count:50"))
    f = r.frame.set_index("bezirk_id")
    amounts = f["amount"]
    assert f["per_1000_inhabitants"].to_dict() == pytest.approx({b: amounts[b] / POPULATION[b] * 1000 for b in IDS})
    assert f["per_group:origin12_count"].to_dict() == pytest.approx({b: amounts[b] / ORIGIN12[b] * 1000 for b in IDS})
    assert f["equal_diff"].to_dict() == pytest.approx({b: amounts[b] - 35 / 9 for b in IDS})


# --- parameters and URL --------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "total=35&unit=posts&key=origin12_count:100",
    "total=1000000.5&unit=eur&key=origin12_count:50,bg_count:15,ro_count:15,population_count:20&min=50000",
    "total=7&unit=posts&key=non_german_count:33.33,population_count:66.67&min=0",
    "total=4900000&unit=eur&key=population_count:100&min=544444.44",
])
def test_url_round_trip(app_data, query):
    p, notices = parse_search(f"?{query}&stichtag={DAY.isoformat()}", app_data, SETTING)
    assert notices == {}
    again, notices = parse_search("?" + vt.page_query(p), app_data, SETTING)
    assert notices == {} and again == p
    assert as_query(again, SETTING) == as_query(p, SETTING)
    shown = dict(pair.split("=") for pair in query.split("&"))
    assert {k: v for k, v in as_query(p, SETTING).items() if k in shown} == shown


def test_defaults_are_the_first_preset_of_posts(app_data):
    p, notices = parse({}, app_data, SETTING)
    assert (p.total, p.unit, p.key, p.min, notices) == (35, "posts", ("origin12_count:100",), 0, {})
    assert parse({"unit": "eur"}, app_data, SETTING)[0].total == 1_000_000


@pytest.mark.parametrize(("raw", "name", "words"), [
    ({"key": "origin12_count:50,population_count:30"}, "key", "die Gewichte ergeben 80 statt 100"),
    ({"key": "foo_count:100"}, "key", "unbekannte Kennzahl „foo_count“"),
    ({"key": "origin12_pct:100"}, "key", "„origin12_pct“ ist keine Anzahl"),
    ({"key": "origin12_count:60,origin12_count:40"}, "key", "doppelt"),
    ({"key": "origin12_count"}, "key", "erwartet Kennzahl:Gewicht"),
    ({"key": "origin12_count:-10,population_count:110"}, "key", "nicht negativ"),
    ({"total": "-5"}, "total", "nicht negativ"),
    ({"total": "0"}, "total", "mehr als 0 Stellen"),
    ({"total": "1e12"}, "total", "höchstens 10.000 Stellen"),
    ({"total": "NaN"}, "total", "erwartet eine Zahl"),
    ({"total": "35.5"}, "total", "nur ganze Stellen"),
    ({"unit": "eur", "total": "10.001"}, "total", "höchstens auf 0,01 Euro genau"),
    ({"unit": "dollar"}, "unit", "erlaubt: posts, eur"),
    ({"total": "7", "min": "1"}, "min", "9 Bezirke × 1 Stellen sind mehr als die Gesamtmenge 7 Stellen"),
    ({"min": "-1"}, "min", "nicht negativ"),
])
def test_bad_settings_give_a_german_notice_and_the_default(app_data, raw, name, words):
    p, notices = parse({"stichtag": DAY.isoformat(), **raw}, app_data, SETTING)
    assert set(notices) == {name}
    assert words in notices[name] and "angezeigt wird" in notices[name]
    default = parse({"stichtag": DAY.isoformat(), **{k: v for k, v in raw.items() if k != name}}, app_data,
                    SETTING)[0]
    assert p == default
    r = vt.compute(app_data, p)  # the default still splits exactly
    assert sum(r.frame["pieces"]) == round(p.total * r.unit.pieces)
    with pytest.raises(ParamError, match=re.escape(words)):
        parse({"stichtag": DAY.isoformat(), **raw}, app_data, SETTING, strict=True)


def test_zero_weights_are_dropped(app_data):
    assert setting(app_data, key="origin12_count:100,bg_count:0").key == ("origin12_count:100",)


def test_presets_name_their_document_and_date(app_data):
    assert [(q.unit, q.total) for q in vt.PRESETS] == [("eur", 1_000_000), ("posts", 35), ("posts", 7),
                                                        ("posts", 30), ("eur", 4_900_000)]
    for q in vt.PRESETS:
        assert re.search(r"^(Ratsvorlage 1846/2016|Pressemitteilung der Stadt Essen)\b.* vom \d\d\.\d\d\.\d{4}",
                         q.source)
        p = setting(app_data, total=str(q.total), unit=q.unit)
        assert vt.preset_for(p.unit, p.total) == q and q.source in vt.total_source(p)
    assert "1846/2016" in vt.PRESETS_BY_KEY["integrationsbudget-bezirksstellen"].source
    assert "20.02.2020" in vt.PRESETS_BY_KEY["integrationsbudget-jahr"].source
    assert "25.09.2024" in vt.PRESETS_BY_KEY["beratung-neuzugewanderte"].source
    assert vt.total_source(setting(app_data, total="36")) == "Gesamtmenge: eigene Eingabe"


# --- views, sentences and the XLSX ---------------------------------------------------------------------------


def test_views_are_registered_and_state_key_rule_and_source(app_data):
    assert {k for k in VIEWS if k.startswith("verteilung-")} == {
        "verteilung-map", "verteilung-ranking", "verteilung-comparison", "verteilung-table"}
    p = setting(app_data, total="35", key="origin12_count:100")
    for key in ("verteilung-ranking", "verteilung-comparison", "verteilung-table"):
        chart = build(app_data, key, p)
        assert "Stand 30.09.2016" in chart.subtitle and "Schlüssel nach Personen: 100 % 12 Herkunftsländer" in \
            chart.subtitle
        assert "Quelle: Stadt Essen, FB 12, Stand 30.09.2016" in chart.source
        assert "Stellen bei den Wohlfahrtsverbänden (VZÄ), Ratsvorlage 1846/2016 vom 13.12.2016" in chart.source
    ranking = build(app_data, "verteilung-ranking", p)
    assert "gerundet nach größten Resten (Hare-Niemeyer), Summe genau 35 Stellen" in ranking.subtitle
    (bar,) = ranking.figure.data
    assert dict(zip([c["bezirk_id"] for c in bar.customdata], bar.x)) == SPLIT_35
    table = build(app_data, "verteilung-table", p).table
    assert table["Zuteilung"].tolist() == [
        "8 Stellen", "1 Stelle", "7 Stellen", "3 Stellen", "5 Stellen", "4 Stellen", "5 Stellen", "1 Stelle",
        "1 Stelle", "35 Stellen"]
    assert table["Stadtbezirk"].tolist()[-1] == "Summe"


def test_explanation_sentence(app_data):
    r = vt.compute(app_data, setting(app_data, total="35", key="origin12_count:100"))
    text = vt.explanation(r)
    assert text.startswith("35 Stellen werden nach dem Schlüssel 100 % Personen aus den 12 wesentlichen "
                           "Herkunftsländern Geflüchteter (Stand 30.09.2016) auf die neun Stadtbezirke verteilt. "
                           "Am meisten erhält Stadtbezirk I (8 Stellen), am wenigsten erhalten die Stadtbezirke II, "
                           "VIII und IX (je 1 Stelle).")
    assert "zusammen ergibt das genau 35 Stellen" in text
    assert vt.allocation_text(r).endswith("Stadtbezirk IX 1 Stelle – zusammen genau 35 Stellen.")


def test_xlsx_holds_result_key_rule_and_sources(app_data):
    p = setting(app_data, total="1000000", unit="eur", key="origin12_count:100")
    sheets = pd.read_excel(io.BytesIO(vt.xlsx_bytes(app_data, p)), sheet_name=None)
    assert list(sheets) == ["Verteilung", "Schlüssel", "Methode", "Quellen"]
    result = sheets["Verteilung"]
    assert result["Stadtbezirk"].tolist() == [*IDS, "Summe"]
    amounts = result["Zuteilung (Euro)"].tolist()
    assert dict(zip(IDS, amounts)) == pytest.approx(SPLIT_EUR, abs=1e-9) and amounts[-1] == 1_000_000
    key = sheets["Schlüssel"]
    assert key["Kennzahl"].tolist() == ["origin12_count"] and key["Gewicht (%)"].tolist() == [100]
    assert key["Summe der Bezirke"].tolist() == [21287] and key["Stadtbezirk I"].tolist() == [4795]
    method = dict(zip(sheets["Methode"]["Punkt"], sheets["Methode"]["Angabe"]))
    assert "Hare-Niemeyer" in method["Rundung"] and "Cent" in method["Rundung"]
    assert method["Schlüssel (URL)"] == "origin12_count:100"
    assert method["Einstellung als Link"] == ("/verteilung?total=1000000&unit=eur&key=origin12_count:100&min=0"
                                              "&stichtag=2016-09-30")
    sources = dict(zip(sheets["Quellen"]["Angabe"], sheets["Quellen"]["Quelle"]))
    assert sources["Bezirkswerte"] == "Stadt Essen, FB 12, Stand 30.09.2016"
    assert sources["Dokument"].startswith("Ratsvorlage 1846/2016 „Strategiekonzept Integration von Flüchtlingen“ "
                                          "vom 13.12.2016")
    assert "Ratsvorlage 1846/2016" in sources["Gesamtmenge"] and "13.12.2016" in sources["Gesamtmenge"]
