"""The sample Local Offer meets the brief: size, spread and honesty of the seed data."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from knowledge import models as m
from knowledge.importer import export_records
from knowledge.vocabulary import CATEGORIES, NEED_CODES, TIERS


def _records(kb):
    with kb.sessions() as session:
        return export_records(session)


def test_seed_spans_the_local_offer(seeded_kb, catalogue):
    organizations, services = _records(seeded_kb)
    assert len(services) >= 150
    active = [s for s in services if s["status"] == "active"]
    assert {n for s in active for n in s["needs"]} >= set(NEED_CODES)
    assert {s["tier"] for s in active} == set(TIERS)
    assert {s["category"] for s in active} == set(CATEGORIES)
    assert {s["access_route"] for s in active} == {"self_referral", "professional_referral", "ehc_plan"}
    areas = {a for s in active for a in s["service_areas"]}
    assert set(catalogue.gazetteer.districts) <= areas
    costs = [c["amount"] for s in active for c in s["cost_options"]]
    assert 0 in costs and any(c and c > 0 for c in costs)
    assert min(s["minimum_age"] for s in active) == 0 and max(s["maximum_age"] for s in active) == 25
    narrow = [s for s in active if s["maximum_age"] - s["minimum_age"] <= 7]
    assert len(narrow) >= 30


def test_every_district_has_services_of_its_own(seeded_kb, catalogue):
    _orgs, services = _records(seeded_kb)
    per_district = Counter(a for s in services for a in s["service_areas"])
    for code in catalogue.gazetteer.districts:
        assert per_district[code] >= 5, catalogue.gazetteer.districts[code].name


def test_sample_data_is_marked_and_uses_reserved_contacts(seeded_kb):
    organizations, services = _records(seeded_kb)
    assert all(s["is_sample"] for s in services)
    for s in services:
        for contact in s["contacts"]:
            if contact["phone"]:
                digits = contact["phone"].replace(" ", "")
                assert digits.startswith("01632960"), (s["id"], contact["phone"])
            if contact["email"]:
                assert contact["email"].endswith(".example"), (s["id"], contact["email"])
        if s["url"]:
            assert ".example" in s["url"]


def test_signposts_for_every_authority_in_coverage(seeded_kb, catalogue):
    for gss in ("E10000014", "E06000045", "E06000044"):
        kinds = {sp.kind for sp in catalogue.signposts if sp.authority_gss == gss}
        assert {"sendias", "parent_carer_forum", "helpline", "local_offer", "adult_services"} <= kinds, gss
    national = [sp for sp in catalogue.signposts if sp.scope == "national"]
    assert len(national) >= 15
    assert all(not sp.is_sample for sp in national)
    local = [sp for sp in catalogue.signposts if sp.scope == "local"]
    assert all(sp.is_sample for sp in local)


def test_some_entries_are_overdue_for_review(seeded_kb):
    from datetime import date

    from knowledge.validation import quality_summary

    _orgs, services = _records(seeded_kb)
    summary = quality_summary(services, date(2026, 11, 23))
    assert 0 < summary.counts["review_overdue"] < len(services) / 4


def test_need_synonyms_have_no_clashes(seeded_kb):
    with seeded_kb.sessions() as session:
        phrases = session.execute(select(m.NeedSynonym.phrase)).scalars().all()
    assert len(phrases) == len(set(phrases)) and len(phrases) > 150
