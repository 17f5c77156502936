"""The commissioners' gap report, from real searches that found nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from knowledge import models as m
from knowledge.gaps import GapFilterError, csv_rows, gap_report, parse_period

GAP = (7, ["vision"], "Gosport")  # the seed serves it; the test closes those services to make a real gap


def close_services_for(kb, age, needs, place) -> None:
    ids = [match.service.id for match in kb.find(age, needs, place, record_unmet=False).eligible]
    assert ids
    with kb.sessions.begin() as session:
        for service in session.execute(select(m.Service).where(m.Service.id.in_(ids))).scalars():
            service.status = "inactive"
    assert kb.find(age, needs, place, record_unmet=False).status == "no_match"


def search(kb, age, needs, place, expected_status):
    result = kb.find(age, needs, place, record_unmet=True)
    assert result.status == expected_status
    return result


@pytest.fixture
def gap_kb(fresh_kb):
    """Real unmet searches: two in Gosport for vision, one from Reading, one over 25 in Havant, one that found something."""
    close_services_for(fresh_kb, *GAP)
    search(fresh_kb, *GAP, "no_match")
    search(fresh_kb, 7.5, ["vision"], "PO12", "no_match")  # a Gosport postcode district
    search(fresh_kb, 9, ["autism", "adhd"], "Reading", "out_of_area")
    search(fresh_kb, 30, ["autism"], "Havant", "over_age")
    search(fresh_kb, 7, ["autism"], "Havant", "ok")  # found something: not a gap
    return fresh_kb


def sentence_case(label: str) -> str:
    return label[:1].upper() + label[1:]


def report_of(kb, **kwargs):
    with kb.sessions() as session:
        return gap_report(session, kb.catalogue(), **kwargs)


def test_unmet_searches_are_counted_by_need_age_band_and_area(gap_kb):
    report = report_of(gap_kb)
    catalogue = gap_kb.catalogue()
    vision, autism, adhd = (sentence_case(catalogue.vocabulary.label(c)) for c in ("vision", "autism", "adhd"))
    assert report.total == 4
    cells = {(r.need, r.age_band, r.area.name, r.area.kind): r.count for r in report.rows}
    assert cells == {(vision, "5-10", "Gosport", "district"): 2, (autism, "26+", "Havant", "district"): 1}
    outside = {(r.need, r.age_band, r.area.name, r.area.kind): r.count for r in report.outside_rows}
    assert outside == {
        (autism, "5-10", "Reading (outside our area)", "authority"): 1,
        (adhd, "5-10", "Reading (outside our area)", "authority"): 1,
    }
    assert report.outside_total == 1
    assert report.rows[0].count == 2  # sorted by count, most first
    assert dict(report.by_need) == {vision: 2, autism: 1}  # out-of-area searches are not our gaps
    assert dict(report.by_area) == {"Gosport": 2, "Havant": 1}
    assert report.by_area[0] == ("Gosport", 2)
    assert [(code, n) for code, _name, n in report.by_reason] == [
        ("no_match", 2), ("only_general", 0), ("out_of_area", 1), ("over_age", 1),
    ]  # fmt: skip
    assert report.gaps == 2


def test_searches_that_found_only_general_services_count_as_gaps(gap_kb):
    result = gap_kb.find(4, ["hearing"], "Fareham", record_unmet=False)
    gap_kb.record_unmet(result, "only_general")  # as the search action does when every match is for any need
    report = report_of(gap_kb)
    assert dict((code, n) for code, _name, n in report.by_reason)["only_general"] == 1
    assert report.gaps == 3 and report.total == 5
    hearing = sentence_case(gap_kb.catalogue().vocabulary.label("hearing"))
    assert (hearing, "0-4", "Fareham") in {(r.need, r.age_band, r.area.name) for r in report.rows}
    with pytest.raises(ValueError):
        gap_kb.record_unmet(result, "bored")


def test_the_report_is_limited_to_the_dates_asked_for(gap_kb):
    today = m.utcnow().date()  # searches are stamped in UTC
    with gap_kb.sessions.begin() as session:  # the search from Reading was made last month
        session.execute(
            update(m.UnmetSearch).where(m.UnmetSearch.reason == "out_of_area").values(created_at=m.utcnow() - timedelta(days=40))
        )
    assert report_of(gap_kb, date_from=today - timedelta(days=1)).total == 3
    assert report_of(gap_kb, date_from=today, date_to=today).total == 3
    old = report_of(gap_kb, date_to=today - timedelta(days=30))
    assert old.total == 1 and old.rows == () and {r.area.name for r in old.outside_rows} == {"Reading (outside our area)"}
    assert report_of(gap_kb, date_from=today + timedelta(days=1)).rows == ()


def test_other_sort_orders_and_the_csv_rows(gap_kb):
    by_area = report_of(gap_kb, sort="area")
    assert [r.area.name for r in by_area.rows] == sorted((r.area.name for r in by_area.rows), key=str.lower)
    by_age = report_of(gap_kb, sort="age")
    assert by_age.rows[-1].age_band == "26+"
    rows = csv_rows(report_of(gap_kb))
    assert rows[0] == (sentence_case(gap_kb.catalogue().vocabulary.label("vision")), "5 to 10", "Gosport", "District", "2")
    with pytest.raises(GapFilterError):
        report_of(gap_kb, sort="colour")


def test_period_text_is_checked():
    assert parse_period("2026-01-01", "2026-01-31") == (date(2026, 1, 1), date(2026, 1, 31))
    assert parse_period("", " ") == (None, None)
    with pytest.raises(GapFilterError, match="real date") as error:
        parse_period("31/01/2026", "")
    assert error.value.field == "from"
    with pytest.raises(GapFilterError, match="after the from date") as error:
        parse_period("2026-02-01", "2026-01-01")
    assert error.value.field == "to"
