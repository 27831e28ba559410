"""The figures of section 3.1 of Vorlage 1846/2016, typed from the document by hand.

Kept independent of the importer so that a parser bug cannot confirm itself.
"""

BEZIRKE = {  # id: population, non-German %, 12-country % and count, BG/RO total %, BG % and count, RO % and count, project housing %
    "I": (67297, 26.5, 7.1, 4795, 5.6, 1.4, 256, 4.2, 754, 22.3),
    "II": (54409, 8.7, 1.3, 677, 3.6, 1.4, 67, 2.2, 103, 1.8),
    "III": (98439, 18.9, 4.2, 4162, 8.1, 3.8, 707, 4.3, 800, 18.6),
    "IV": (84069, 10.9, 2.6, 2158, 9.3, 2.6, 240, 6.7, 615, 10.4),
    "V": (58471, 21.4, 5.1, 2995, 8.5, 1.9, 233, 6.6, 830, 11.0),
    "VI": (52373, 17.8, 4.2, 2206, 5.6, 1.4, 130, 4.2, 392, 10.4),
    "VII": (70867, 14.5, 4.2, 2981, 5.8, 2.4, 246, 3.4, 353, 19.0),
    "VIII": (52215, 6.3, 1.4, 736, 2.2, 0.5, 16, 1.7, 58, 4.5),
    "IX": (50735, 7.2, 1.1, 577, 3.8, 1.1, 41, 2.7, 100, 2.4),
}
BEZIRK_COLUMNS = ("population_count", "non_german_pct", "origin12_pct", "origin12_count", "bg_ro_pct",
                  "bg_pct", "bg_count", "ro_pct", "ro_count", "project_housing_pct")

HOTSPOTS = {  # (Bezirk, Stadtteil): published 12-country share
    ("I", "Stadtkern"): 11.7, ("I", "Nordviertel"): 10.8, ("I", "Südostviertel"): 10.5,
    ("III", "Altendorf"): 8.3, ("IV", "Bergeborbeck"): 6.1, ("V", "Altenessen-Süd"): 6.4,
    ("V", "Karnap"): 5.6, ("VII", "Horst"): 7.4,
}

CITY = {  # group: count, share of population, share of non-Germans
    "Gesamtbevölkerung": (588875, None, None),
    "Nichtdeutsche": (89289, 15.2, None),
    "Türkei": (14948, 2.5, 16.7),
    "Syrien": (8228, 2.0, 9.2),
    "Irak": (4452, 0.8, None),
}

JC_GROUPS = ("Afghanistan", "Irak", "Iran", "Syrien", "weitere Länder", "Bulgarien", "Rumänien")
JOBCENTER = {
    "Mitte": (19.1, 16.1, 17.8, 16.3, 16.5, 17.8, 25.7),
    "Mitte-Nord": (21.2, 22.4, 14.8, 14.4, 14.1, 7.8, 17.9),
    "Nord": (9.9, 5.4, 2.6, 9.2, 6.8, 7.8, 13.8),
    "Nord-Ost": (8.8, 5.8, 5.4, 9.5, 14.4, 8.3, 10.5),
    "Nord-West": (4.7, 4.4, 5.3, 7.3, 9.7, 6.9, 4.4),
    "Ost": (9.8, 14.3, 10.7, 14.3, 10.5, 9.8, 5.9),
    "Süd 1": (8.7, 8.5, 13.5, 8.4, 6.0, 6.0, 4.0),
    "Süd 2": (8.1, 8.4, 16.0, 8.1, 7.9, 5.5, 3.9),
    "West": (9.3, 13.8, 13.8, 11.3, 13.4, 30.0, 13.3),
    "nicht zugeordnet": (0.4, 1.0, 0.0, 1.2, 0.8, 0.4, 0.6),
}

CROSSWALK = {  # area: (full members, partial members)
    "Mitte": ({"Stadtkern", "Westviertel", "Bochold"}, {"Nordviertel", "Altendorf", "Altenessen-Süd"}),
    "Mitte-Nord": ({"Ostviertel", "Südostviertel", "Frillendorf"}, {"Nordviertel", "Stoppenberg", "Kray"}),
    "Nord": ({"Altenessen-Nord", "Karnap"}, {"Altenessen-Süd"}),
    "Nord-Ost": ({"Schonnebeck", "Katernberg"}, {"Stoppenberg"}),
    "Nord-West": ({"Schönebeck", "Bedingrade", "Frintrop", "Dellwig", "Gerschede", "Borbeck-Mitte",
                   "Bergeborbeck", "Vogelheim"}, set()),
    "Ost": ({"Steele", "Freisenbruch", "Horst", "Leithe"}, {"Kray"}),
    "Süd 1": ({"Südviertel", "Huttrop", "Rüttenscheid", "Rellinghausen", "Bergerhausen", "Stadtwald",
               "Heisingen", "Kupferdreh", "Kettwig"}, set()),
    "West": ({"Westviertel"}, {"Altendorf", "Frohnhausen"}),
}
CROSSWALK["Süd 2"] = CROSSWALK["Süd 1"]

ORIGIN12 = ["Syrien", "Irak", "Iran", "Afghanistan", "Libanon", "Eritrea", "Nigeria", "Somalia", "Marokko",
            "Algerien", "Bangladesch", "Pakistan"]
JC_FURTHER = ["Eritrea", "Nigeria", "Pakistan", "Somalia"]
