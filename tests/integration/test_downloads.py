"""Table downloads on 'Daten & Quellen' in the real browser: German Excel CSV, contract CSV, workbook."""

from __future__ import annotations

import io
import re

import pandas as pd

from tests.integration.test_browser import open_page


def download(page, button: str) -> bytes:
    with page.expect_download() as info:
        page.click(f"#{button}")
    return open(info.value.path(), "rb").read()


def test_tables_download_for_german_excel_and_as_workbook(page, page_log, app_server):
    open_page(page, app_server, page_log, "/daten?bezirk=III", "#daten-table")
    excel = download(page, "daten-csv").decode("utf-8")
    assert excel.startswith("\ufeffStichtag;Stadtbezirk;")
    assert "30.09.2016;III;4,2;4162;8,1;3,8;707;4,3;800;18,6;18,9;98439" in excel
    assert len(excel.strip().split("\r\n")) >= 2 and ";II;" not in excel  # the district filter applies
    contract = download(page, "daten-csv-contract").decode("utf-8")
    assert contract.startswith("stichtag,bezirk_id,origin12_pct,origin12_count")
    assert "2016-09-30,III,4.2,4162,8.1,3.8,707,4.3,800,18.6,18.9,98439" in contract
    book = pd.read_excel(io.BytesIO(download(page, "daten-xlsx")), sheet_name=None)
    assert list(book)[0] == "Quellen" and "bezirke" in book and "kennzahlen" in book
    assert set(book["bezirke"]["Stadtbezirk"]) == {"III"}


def test_link_is_copied_and_the_chosen_table_stays_in_the_url(page, page_log, app_server):
    open_page(page, app_server, page_log, "/daten?bezirk=III", "#daten-table")
    page.click("#daten-choice")
    page.get_by_role("option", name="Kennzahlenkatalog").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('tabelle') === 'kennzahlen'")
    assert "bezirk=III" in page.url
    page.click("#copy-link")
    page.wait_for_function("() => document.querySelector('#copy-link-status').textContent.startsWith('Link')")
    status = page.inner_text("#copy-link-status")
    assert status == "Link kopiert" or (status.startswith("Link: ") and "tabelle=kennzahlen" in status)


def test_download_links_are_named_by_their_chart(page, page_log, app_server):
    open_page(page, app_server, page_log, "/zuteilung", "#zuteilung-bars-dl a")
    names = page.locator("#zuteilung-bars-dl a").evaluate_all("links => links.map(a => a.textContent)")
    assert names == ["Balken als PNG", "Balken als SVG", "Balken als PDF"]


def test_mit_satz_prints_the_sentence_under_the_export(page, page_log, app_server):
    """Pressing "mit Satz" makes the chart's downloads carry caption=1; the exported SVG then holds the sentence."""
    open_page(page, app_server, page_log, "/zuteilung", "#zuteilung-bars-dl a")
    link = page.locator("#zuteilung-dl-bars-svg")
    assert "caption" not in link.get_attribute("href")
    toggle = page.locator("#zuteilung-dl-bars-caption")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert "caption=1" in link.get_attribute("href")
    with page.expect_download() as download:
        link.click()
    svg = open(download.value.path(), encoding="utf-8").read()
    sentence = page.locator("#zuteilung-bars-caption").inner_text().split()[:5]
    assert " ".join(sentence) in re.sub(r"<[^>]+>", " ", svg).replace("  ", " ")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "false"
    assert "caption" not in link.get_attribute("href")


def test_profile_offers_every_pack_format(page, page_log, app_server):
    open_page(page, app_server, page_log, "/bezirk/III?stichtag=2016-09-30", "#bezirk-pack-pdf")
    hrefs = {i: page.get_attribute(f"#bezirk-pack-{i}", "href") for i in ("pdf", "pptx", "zip", "alle")}
    assert hrefs == {"pdf": "/download/pack?bezirk=III&stichtag=2016-09-30&format=pdf",
                     "pptx": "/download/pack?bezirk=III&stichtag=2016-09-30&format=pptx",
                     "zip": "/download/pack?bezirk=III&stichtag=2016-09-30&format=zip",
                     "alle": "/download/pack?bezirk=alle&stichtag=2016-09-30"}
