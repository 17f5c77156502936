"""The commissioners' gap report: searches that found nothing eligible, by need, age band and area.

Built from the unmet searches the knowledge base logs (need codes, age band, district or
authority and the reason only: no personal data). Names come from the catalogue's
vocabulary and gazetteer. Families outside the coverage area have no district: their
searches are grouped by their own authority. A search for several needs counts once
under each need, so the need totals can add up to more than the number of searches.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.catalogue import Catalogue

AGE_BANDS = ("0-4", "5-10", "11-15", "16-18", "19-25", "26+", "unknown")
AGE_BAND_NAMES = {
    "0-4": "0 to 4",
    "5-10": "5 to 10",
    "11-15": "11 to 15",
    "16-18": "16 to 18",
    "19-25": "19 to 25",
    "26+": "26 and over",
    "unknown": "Age not known",
}
REASONS = {
    "no_match": "Nothing in the Local Offer fitted",
    "only_general": "Found only general services (for any need), nothing for this need",
    "out_of_area": "Lives outside our area",
    "over_age": "Aged 26 or over",
}
GAP_REASONS = ("no_match", "only_general")
"""Searches that show a gap in the local offer (out-of-area and over-25 searches are counted apart)."""
SORTS = ("count", "need", "age", "area")
UNKNOWN_AREA = "Area not known"


class GapFilterError(ValueError):
    """A filter that can't be used; `field` is the form field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Area:
    code: str | None
    name: str
    kind: str  # district | authority | unknown
    in_coverage: bool


@dataclass(frozen=True)
class GapRow:
    need_code: str
    need: str
    age_band: str
    area: Area
    count: int

    @property
    def age_band_name(self) -> str:
        return AGE_BAND_NAMES.get(self.age_band, self.age_band)


@dataclass(frozen=True)
class GapReport:
    date_from: date | None
    date_to: date | None
    total: int
    """Searches that found nothing (each counted once, whatever its number of needs)."""
    rows: tuple[GapRow, ...]
    by_need: tuple[tuple[str, int], ...]
    by_area: tuple[tuple[str, int], ...]
    by_reason: tuple[tuple[str, str, int], ...]
    """(reason code, plain name, count) for every reason, zeros included."""
    outside_rows: tuple[GapRow, ...] = ()
    """Searches by families outside our area, by need, age band and their own council."""
    outside_total: int = 0

    @property
    def gaps(self) -> int:
        """Local searches that found nothing, or only general services."""
        return sum(count for code, _name, count in self.by_reason if code in GAP_REASONS)


def parse_date(text: str | None, field: str, label: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise GapFilterError(field, f"Enter the {label} date as a real date, for example 2026-01-31") from None


def parse_period(date_from: str | None, date_to: str | None) -> tuple[date | None, date | None]:
    """The report's optional from and to dates (both inclusive) from form text."""
    start = parse_date(date_from, "from", "from")
    end = parse_date(date_to, "to", "to")
    if start and end and start > end:
        raise GapFilterError("to", "The to date must be the same as or after the from date")
    return start, end


def area_of(catalogue: Catalogue, district_gss: str | None, authority_gss: str | None) -> Area:
    gazetteer = catalogue.gazetteer
    district = gazetteer.districts.get(district_gss) if district_gss else None
    if district is not None:
        return Area(district.gss_code, district.name, "district", True)
    authority = gazetteer.authorities.get(authority_gss) if authority_gss else None
    if authority is not None:
        name = authority.name if authority.in_coverage else f"{authority.name} (outside our area)"
        return Area(authority.gss_code, name, "authority", authority.in_coverage)
    code = district_gss or authority_gss
    if code:
        return Area(code, code, "district" if district_gss else "authority", False)
    return Area(None, UNKNOWN_AREA, "unknown", False)


def gap_report(
    session: Session, catalogue: Catalogue, date_from: date | None = None, date_to: date | None = None, sort: str = "count"
) -> GapReport:
    """Count the unmet searches from `date_from` to `date_to` (inclusive, either may be None)."""
    if sort not in SORTS:
        raise GapFilterError("sort", "Choose how to sort the table")
    query = select(m.UnmetSearch.needs, m.UnmetSearch.age_band, m.UnmetSearch.district_gss, m.UnmetSearch.authority_gss,
                   m.UnmetSearch.reason)  # fmt: skip
    if date_from:
        query = query.where(m.UnmetSearch.created_at >= datetime.combine(date_from, time.min))
    if date_to:
        query = query.where(m.UnmetSearch.created_at < datetime.combine(date_to + timedelta(days=1), time.min))
    vocabulary = catalogue.vocabulary
    cells: Counter = Counter()
    needs: Counter = Counter()
    areas: Counter = Counter()
    reasons: Counter = Counter()
    outside: Counter = Counter()
    area_cache: dict[tuple, Area] = {}
    total = outside_total = 0
    for need_text, band, district_gss, authority_gss, reason in session.execute(query):
        total += 1
        reasons[reason] += 1
        key = (district_gss, authority_gss)
        if key not in area_cache:
            area_cache[key] = area_of(catalogue, district_gss, authority_gss)
        area = area_cache[key]
        codes = [c for c in dict.fromkeys((need_text or "").split(",")) if c] or ["unknown"]
        if reason == "out_of_area":  # their own council's gap, not ours: a table of its own
            outside_total += 1
            for code in codes:
                outside[(code, band, area)] += 1
            continue
        areas[area] += 1
        for code in codes:
            needs[code] += 1
            cells[(code, band, area)] += 1

    def need_name(code: str) -> str:
        if code == "unknown":
            return "Need not known"
        label = vocabulary.label(code)
        return label[:1].upper() + label[1:]  # plain names are lower case ("sight loss or visual impairment")

    rows = [GapRow(code, need_name(code), band, area, count) for (code, band, area), count in cells.items()]
    outside_rows = [GapRow(code, need_name(code), band, area, count) for (code, band, area), count in outside.items()]
    band_rank = {band: i for i, band in enumerate(AGE_BANDS)}

    def by_name(row: GapRow):
        return (row.need.lower(), band_rank.get(row.age_band, 99), row.area.name.lower())

    orders = {
        "count": lambda r: (-r.count, *by_name(r)),
        "need": by_name,
        "age": lambda r: (band_rank.get(r.age_band, 99), r.need.lower(), r.area.name.lower()),
        "area": lambda r: (r.area.name.lower(), r.need.lower(), band_rank.get(r.age_band, 99)),
    }
    rows.sort(key=orders[sort])
    outside_rows.sort(key=orders[sort])
    by_need = sorted(((need_name(code), n) for code, n in needs.items()), key=lambda item: (-item[1], item[0].lower()))
    by_area = sorted(((area.name, n) for area, n in areas.items()), key=lambda item: (-item[1], item[0].lower()))
    known = [(code, name, reasons.get(code, 0)) for code, name in REASONS.items()]
    other = [(code, code, n) for code, n in sorted(reasons.items()) if code not in REASONS]
    return GapReport(
        date_from, date_to, total, tuple(rows), tuple(by_need), tuple(by_area), tuple(known + other),
        tuple(outside_rows), outside_total,
    )  # fmt: skip


CSV_HEADER = ("Need", "Age band", "Area", "Area type", "Searches that found nothing")


def csv_rows(report: GapReport, outside: bool = False) -> list[tuple[str, ...]]:
    """The table as text cells, in the order shown on the page (`outside`: the out-of-area table)."""
    kinds = {"district": "District", "authority": "Authority", "unknown": "Not known"}
    rows = report.outside_rows if outside else report.rows
    return [(r.need, r.age_band_name, r.area.name, kinds[r.area.kind], str(r.count)) for r in rows]
