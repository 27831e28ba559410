"""The district pack over time, rendered for real, on the frozen 2016 package with a MADE-UP second Stichtag
(tests/multi_year.py): one Entwicklung page per Kennzahl, and a pack comparing the two Stichtage whose every
page, cover, file name and metadata name both dates."""

from __future__ import annotations

import io
import shutil
import sys

import dash
import pytest
from pypdf import PdfReader

from essen_dash import paths
from essen_dash.tables.schema import BEZIRK_IDS
from tests.conftest import FIXTURE_DATA
from tests.multi_year import FIRST, SECOND, add_made_up_stichtag

BOTH = ("30.09.2016", "31.12.2018")
DATES = "Stand 31.12.2018, Veränderung gegenüber 30.09.2016"


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """Settings of the frozen 2016 package with the made-up second Stichtag (real boundaries)."""
    root = tmp_path_factory.mktemp("pack-two")
    shutil.copytree(FIXTURE_DATA, root / "data")
    add_made_up_stichtag(root / "data")
    return paths.settings(data_dir=root / "data", cache_dir=root / "cache")


@pytest.fixture(scope="module")
def data(settings):
    from essen_dash.data import load_app_data

    return load_app_data(settings)


@pytest.fixture(scope="module")
def client(settings, data):
    from essen_dash.app import create_app

    return create_app(settings=settings, data=data).server.test_client()


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_texts(body: bytes) -> tuple[list[str], PdfReader]:
    reader = PdfReader(io.BytesIO(body))
    return [flat(p.extract_text()) for p in reader.pages], reader


def labels(data, which: str) -> list[str]:
    """Return the labels of the Bezirk Kennzahlen (Entwicklung pages) or of the mapped ones (all but counts)."""
    catalog = data.catalog(SECOND)
    chosen = catalog.at_level("bezirk") if which == "entwicklung" else [k for k in catalog.values()
                                                                         if k.kind != "count"]
    return [k.label for k in chosen]


def get_pack(client, **query):
    response = client.get("/download/pack", query_string={"bezirk": "III", "stichtag": SECOND.isoformat(), **query})
    assert response.status_code == 200, response.data[:300]
    return response


def test_two_stichtage_give_one_entwicklung_page_per_kennzahl(client, data):
    entwicklung = labels(data, "entwicklung")
    assert len(entwicklung) == 11 and entwicklung[0] == "Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter"
    texts, reader = pdf_texts(get_pack(client, format="pdf").data)
    # cover, summary, profile, an Entwicklung page per Bezirk Kennzahl, a map per share, Stadtteile, JobCenter,
    # Kennzahlen, definitions, sources
    assert len(texts) == 3 + 11 + 6 + 5
    assert "Stadtbezirk III auf einen Blick" in texts[1] and "Stadtbezirk III im Vergleich zur Gesamtstadt" in texts[2]
    for k, text in zip(data.catalog(SECOND).at_level("bezirk"), texts[3:14]):
        assert f"Entwicklung: {k.label} Stadtbezirk III · 2 Stichtage, 30.09.2016 bis 31.12.2018 · Einheit: " \
               f"{k.unit}" in text
        # the Bezirk's line, and the city's where the Kennzahl has a city value
        assert "Stadtbezirk III Entwicklung" in text or "Stadtbezirk III Gesamtstadt" in text
        assert ("Gesamtstadt" in text) == k.has_reference, k.key
    # the Bezirk's Stadtteile where the Kennzahl has Stadtteil values (12 Herkunftsländer: Altendorf has some)
    assert "Altendorf" in texts[3] and "Altendorf" not in texts[4]
    assert "Entwicklung: Anteil Bulgarien/Rumänien an den Nichtdeutschen" in texts[5]
    for label, text in zip(labels(data, "karten"), texts[14:20]):  # without a comparison: the Stichtag itself
        assert label in text and "Stadtbezirke, Stand 31.12.2018" in text and "Veränderung" not in text
    assert reader.metadata.title == "Bezirkspaket Stadtbezirk III – Stand 31.12.2018"


def test_compare_pack_names_both_dates_on_every_page(client, data):
    response = get_pack(client, compare=FIRST.isoformat(), format="pdf")
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="essen-bezirkspaket_III_2016-09-30_2018-12-31.pdf"'
    texts, reader = pdf_texts(response.data)
    assert reader.metadata.title == f"Bezirkspaket Stadtbezirk III – {DATES}"
    assert len(texts) == 25
    for i, text in enumerate(texts):
        assert all(day in text for day in BOTH), (i, text[:300])
    assert DATES in texts[0] and "Bezirkspaket Stadtbezirk III" in texts[0]
    assert "Quelle: Stadt Essen, FB 12, Stand 30.09.2016 und Testdaten (erfunden), Stand 31.12.2018" in texts[0]
    # a page whose view shows one Stichtag says which two the pack compares
    assert f"Stand 31.12.2018 Bezirkspaket: {DATES}" in texts[1]
    for label, text in zip(labels(data, "entwicklung"), texts[3:14]):
        assert f"Entwicklung: {label}" in text and f"Bezirkspaket: {DATES}" in text
    # the maps show the change since the Stichtag compared with, in the Karte's own words
    for label, text in zip(labels(data, "karten"), texts[14:20]):
        assert f"Veränderung: {label}" in text
        assert "Stadtbezirke, 30.09.2016 → 31.12.2018 · Veränderung in Prozentpunkten" in text
        assert "Veränderung gegenüber 30.09.2016 (%-Punkte)" in text and "kein Vergleich möglich" in text
        assert "Bezirkspaket:" not in text
    stadtteile, jobcenter, kennzahlen, definitions, sources = texts[20:]
    assert "Stadtteile von Stadtbezirk III" in stadtteile and "Kennzahlen Stadtbezirk III" in kennzahlen
    assert "Bereiche mit Stadtteilen in Stadtbezirk III" in jobcenter
    assert "Kennzahlen: Herkunft und Wert der Gesamtstadt" in definitions
    assert "Quellen, Formeln und Hinweise" in sources and DATES in sources
    # the sources of both dates (the table's text comes out a column at a time)
    assert "Bezirksdaten, Stand 31.12.2018 Bezirksdaten, Stand 30.09.2016 JobCenter-Daten" in sources
    assert "Testdaten (erfunden), Stand 31.12.2018 Stadt Essen, FB 12, in Ratsvorlage 1846/2016" in sources


def test_compare_pack_as_powerpoint_names_both_dates(client):
    from pptx import Presentation

    response = get_pack(client, compare=FIRST.isoformat(), format="pptx")
    assert response.headers["Content-Disposition"].endswith('_III_2016-09-30_2018-12-31.pptx"')
    deck = Presentation(io.BytesIO(response.data))
    assert deck.core_properties.title == f"Bezirkspaket Stadtbezirk III – {DATES}"
    slides = list(deck.slides)
    assert len(slides) == 25
    for slide in slides[1:]:  # the cover says it in its picture
        text = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
        assert all(day in text for day in BOTH), text[:300]
    assert [s.shapes.title.text for s in slides[14:16]] == [
        "Veränderung: Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter",
        "Veränderung: Anteil Bulgarien/Rumänien an den Nichtdeutschen"]


def test_compare_zip_and_all_nine_are_named_by_both_dates(client):
    for query, name in (({"format": "zip"}, "essen-bezirkspaket_III_2016-09-30_2018-12-31.zip"),
                        ({"bezirk": "alle"}, f"essen-bezirkspaket_{'-'.join(BEZIRK_IDS)}_2016-09-30_2018-12-31.zip")):
        response = client.head("/download/pack", query_string={"bezirk": "III", "stichtag": SECOND.isoformat(),
                                                                "compare": FIRST.isoformat(), **query})
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'


@pytest.mark.parametrize("compare, message", [
    (SECOND, "das ist der gezeigte Stichtag selbst"), ("2017-01-01", "Der Wert „2017-01-01“ für „compare“ ist ungültig")])
def test_bad_comparison_answers_400(client, compare, message):
    response = client.get("/download/pack", query_string={"bezirk": "III", "stichtag": SECOND.isoformat(),
                                                           "compare": str(compare)})
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_profile_pack_links_carry_the_comparison(client, data):
    from essen_dash.params import Params

    # the page module as Dash imported it (importing it again under its package name would register it twice)
    content = next(sys.modules[page["module"]] for page in dash.page_registry.values()
                   if page["module"].endswith("bezirk")).content

    def hrefs(p: Params) -> dict[str, str]:
        return {a.id: a.href for part in content(data, "III", p) if getattr(part, "id", None) is None
                for a in getattr(part, "children", None) or [] if getattr(a, "id", "").startswith("bezirk-pack-")}

    assert hrefs(Params(stichtag=SECOND, compare=FIRST)) == {
        "bezirk-pack-pdf": "/download/pack?bezirk=III&stichtag=2018-12-31&compare=2016-09-30&format=pdf",
        "bezirk-pack-pptx": "/download/pack?bezirk=III&stichtag=2018-12-31&compare=2016-09-30&format=pptx",
        "bezirk-pack-zip": "/download/pack?bezirk=III&stichtag=2018-12-31&compare=2016-09-30&format=zip",
        "bezirk-pack-alle": "/download/pack?bezirk=alle&stichtag=2018-12-31&compare=2016-09-30"}
    assert hrefs(Params(bezirk=("I", "III"), stichtag=SECOND))["bezirk-pack-pdf"] == \
        "/download/pack?bezirk=I,III&stichtag=2018-12-31&format=pdf"
