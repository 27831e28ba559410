"""Write a made-up council submission in the text format of 1846/2016, with other numbers."""

from __future__ import annotations

from dataclasses import dataclass, field


def de(x: float, decimals: int = 1) -> str:
    return f"{x:,.{decimals}f}".replace(",", "X").replace(".", ",").replace("X", ".")


def de_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


@dataclass
class FakeVorlage:
    """Every figure the made-up submission states; defaults differ from 2016 on purpose."""

    number: str = "0427"
    year: str = "2019"
    stand_day: str = "31.12.2018"
    stand_words: str = "31. Dezember 2018"
    jc_stand: str = "15.01.2019"
    population: int = 591_032
    non_german: int = 101_500
    non_german_pct: float = 17.2
    nationalities: list = field(default_factory=lambda: [
        ("syrische", 12_001, 2.0), ("türkische", 13_500, 2.3)])
    third: tuple = ("Rumänien", 5_123, 0.9)
    non_german_share: tuple = ("syrischen", 11.8, "Türkei", 13.3)
    # id: population, non-German %, 12-country % and count, BG/RO total %, BG % and count, RO % and count, housing %
    bezirke: dict = field(default_factory=lambda: {
        b: (60_000 + 1_000 * i, 10.0 + i, 3.0 + i / 10, 1_800 + 100 * i, 6.0 + i / 10, 2.0, 120 + i, 4.0 + i / 10,
            240 + i, 11.1 if i < 8 else 11.2)
        for i, b in enumerate(("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"))
    })
    hotspots: dict = field(default_factory=lambda: {"I": [("Stadtkern", 12.5)], "V": [("Karnap", 6.0),
                                                                                        ("Vogelheim", 7.1)]})
    countries: list = field(default_factory=lambda: ["Syrien", "Irak", "Iran", "Afghanistan", "Eritrea",
                                                       "Somalia", "Nigeria", "Pakistan", "Ukraine", "Libanon"])
    jc_groups: list = field(default_factory=lambda: [("Afghanistan", False), ("Syrien", False),
                                                       ("weitere Länder*", False), ("Rumänien", True)])
    jc_rows: dict = field(default_factory=lambda: {
        "Zentrum": (50.0, 40.5, 30.0, 25.0), "Nord": (30.0, 29.5, 30.0, 25.0), "Süd A": (10.0, 15.0, 20.0, 25.0),
        "Süd B": (10.0, 15.0, 20.0, 25.0), "nicht zugeordnet": (0.0, 0.0, 0.0, 0.0)})
    jc_further: list = field(default_factory=lambda: ["Eritrea", "Somalia"])
    areas: list = field(default_factory=lambda: [
        "Zentrum: Stadtkern, Ostviertel, teilw. Nordviertel",
        "Nord: Karnap, Vogelheim, teilw. Nordviertel",
        "Süd A & Süd B: Werden, Kettwig, Bredeney..."])

    def text(self) -> str:
        nat = self.nationalities
        lines = [
            "**Vorlage  \n- öffentlich -**", "", "lfd. Nummer  ", f"**{self.number}**", "", "Jahr  ",
            f"**{self.year}**", "", "Geschäftsbereich  ", "**5**", "", "**Betreff**", "",
            "Fortschreibung Sozialdaten Integration", "", "Datum: 02.03.2019", "",
            "## 2. Irgendein Abschnitt", "", "Text ohne Zahlen.", "",
            "#### 3.1. Sozialdatenstruktur der Bezirke", "",
            f"Zum Stand {self.stand_words} leben in Essen {de_int(self.population)} Menschen, davon sind "
            f"{de_int(self.non_german)} bzw. {de(self.non_german_pct)} % Nichtdeutsche mit ausschließlich "
            f"nichtdeutscher Staatsangehörigkeit. Die größte Gruppe ist die {nat[0][0]} mit "
            f"{de_int(nat[0][1])} ({de(nat[0][2])} %), gefolgt von der {nat[1][0]} Staatsangehörigkeit mit "
            f"{de_int(nat[1][1])} ({de(nat[1][2])} %). Die drittstärkste Gruppe stammt aus "
            f"{self.third[0]} ({de_int(self.third[1])}, {de(self.third[2])} %).", "",
            f"Die {self.non_german_share[0]} Staatsangehörigkeiten haben einen Anteil von "
            f"{de(self.non_german_share[1])} % der Nichtdeutschen in Essen ({self.non_german_share[2]} "
            f"{de(self.non_german_share[3])} %).", "",
            "##### 3.1.1 Auswertung nach Stadtbezirken", "",
        ]
        for i, (b, v) in enumerate(self.bezirke.items()):
            spots = self.hotspots.get(b)
            spot_text = ", ".join(f"{n} ({de(p)} %)" for n, p in spots) if spots else "./."
            lines += [
                f"{'###' if i % 2 else '######'} Bezirk {b}", "",
                f"Gesamtbevölkerung\t{de_int(v[0])}",
                f"Anteil nichtdeutscher Bevölkerung\t{de(v[1])} %",
                f"<b>Anteil der wesentlichen {len(self.countries)} Herkunftsländer*</b>\t<b>{de(v[2])} % "
                f"({de_int(v[3])})</b>",
                f"Besonders betroffene Stadtteile: {spot_text}\t",
                f"Anteil Bulgarien/Rumänien an Nichtdeutschen\tgesamt {de(v[4])} % ({de(v[5])} % "
                f"({de_int(v[6])}) bzw. {de(v[7])} % ({de_int(v[8])}))",
                f"Anteil Projektwohnungen für Flüchtlinge\t{de(v[9])} %", "",
            ]
        lines += [f"Quelle: FB 12, Stand {self.stand_day}", "",
                  "\\* " + ", ".join(self.countries[:-1]) + " und " + self.countries[-1], "",
                  "### 3.1.2 Auswertung nach JobCenter-Bereichen", "", "Tabelle:", ""]
        eu_at = next(i for i, (_, eu) in enumerate(self.jc_groups) if eu)
        head = ["JC-Verteilung", "Personen aus"] + [""] * (eu_at - 1) + ["Personen aus EU-Ländern"]
        lines += ["\t".join(head) + "\t", "\t" + "\t".join(g for g, _ in self.jc_groups)]
        lines += [f"{area}\t" + "\t".join(f"{de(v)}%" for v in vals) for area, vals in self.jc_rows.items()]
        lines += ["", "\\* " + ", ".join(self.jc_further), ""]
        lines += [f" {a}  " for a in self.areas]
        lines += ["", f"Quelle: FB 56, Stand {self.jc_stand}", "", "Weiterer Text."]
        return "\n".join(lines) + "\n"
