"""The eligibility engine on the real seed data: boundaries, several needs, out of area, over 25, bad input."""

from __future__ import annotations

import math

import pytest

from knowledge.engine import GENERAL_GROUP, MAX_NEAR_MISSES, NEED_GROUP, age_band, age_fits, evaluate
from knowledge.vocabulary import ENGLAND_GSS, NEED_CODES, TIER_ORDER

HAVANT = "E07000090"
HAMPSHIRE = "E10000014"


def _offered_in(catalogue, district_gss):
    place = catalogue.gazetteer.districts[district_gss]
    codes = {district_gss, place.authority_gss, ENGLAND_GSS}
    return [s for s in catalogue.services if s.status == "active" and codes & set(s.areas)]


def _bounded_service(catalogue, district_gss):
    """A district service with a whole-number age range starting above 0 and ending below 25."""
    for s in sorted(_offered_in(catalogue, district_gss), key=lambda s: s.id):
        if (
            district_gss in s.areas
            and s.minimum_age
            and s.maximum_age is not None
            and s.maximum_age < 25
            and float(s.maximum_age).is_integer()
            and float(s.minimum_age).is_integer()
            and s.needs - {"any_need"}
        ):
            return s
    pytest.skip("no bounded service in this district")


def _need_of(service):
    return sorted(service.needs - {"any_need"})[0]


@pytest.mark.parametrize("district", [HAVANT, "E07000084", "E06000045"])
def test_age_boundaries_are_inclusive_of_the_whole_last_year(catalogue, district):
    service = _bounded_service(catalogue, district)
    name = catalogue.gazetteer.districts[district].name
    need = _need_of(service)
    low, high = service.minimum_age, service.maximum_age

    def eligible_ids(age):
        return {m.service.id for m in evaluate(catalogue, age, [need], name).eligible}

    assert service.id in eligible_ids(low)
    assert service.id in eligible_ids(high)
    assert service.id in eligible_ids(high + 0.99)
    assert service.id not in eligible_ids(high + 1)
    assert service.id not in eligible_ids(low - 0.01)
    near = {m.service.id: m for m in evaluate(catalogue, low - 0.5, [need], name).near_misses}
    if service.id in near:  # only the ten nearest misses are kept
        assert near[service.id].kind == "age"
        assert "your child is" in near[service.id].why_not


def test_age_fits_rules():
    assert age_fits(11.99, 5, 11) and not age_fits(12, 5, 11)
    assert age_fits(1.5, 0, 1.5) and not age_fits(1.51, 0, 1.5)
    assert age_fits(0, 0, None) and not age_fits(4.99, 5, None)


def test_every_eligible_service_really_fits(catalogue):
    for age in (0, 1.5, 4, 7, 11, 15, 17, 19, 24.5):
        for need in NEED_CODES:
            result = evaluate(catalogue, age, [need], "Havant")
            assert result.status in {"ok", "no_match"}
            for match in result.eligible:
                s = match.service
                assert s.status == "active"
                assert age_fits(age, s.minimum_age, s.maximum_age)
                assert need in s.needs or "any_need" in s.needs
                assert {HAVANT, HAMPSHIRE, ENGLAND_GSS} & set(s.areas)
                if need == "unsure":
                    assert not s.diagnosis_required


def _order_key(match):
    return (
        match.group != NEED_GROUP,
        match.service.access_route == "ehc_plan",
        TIER_ORDER.get(match.service.tier, 3),
        match.area_rank,
    )


@pytest.mark.parametrize(
    "age, needs, place",
    [(8, ["autism", "adhd"], "Waterlooville"), (4, ["speech_language"], "Andover"), (14, ["semh"], "Southampton")],
)
def test_order_is_the_childs_need_first_then_general_plan_only_last_then_tier_then_nearest_area(catalogue, age, needs, place):
    result = evaluate(catalogue, age, needs, place)
    assert result.status == "ok"
    keys = [_order_key(m) for m in result.eligible]
    assert keys == sorted(keys)
    for match in result.eligible:
        specific = bool(set(needs) & match.service.needs)
        assert match.group == (NEED_GROUP if specific else GENERAL_GROUP), match
    assert {m.group for m in result.eligible} == {NEED_GROUP, GENERAL_GROUP}
    groups = result.groups
    assert [g.key for g in groups] == [NEED_GROUP, GENERAL_GROUP]
    assert sum((g.matches for g in groups), ()) == result.eligible
    assert [g.start for g in groups] == [0, len(groups[0].matches)]


def test_a_child_not_talking_in_andover_gets_speech_and_language_help_before_any_general_service(catalogue):
    result = evaluate(catalogue, 4, ["speech_language"], "Andover")
    names = [m.service.name for m in result.eligible]
    speech = [i for i, m in enumerate(result.eligible) if "speech_language" in m.service.needs]
    general = [
        i for i, m in enumerate(result.eligible) if "any_need" in m.service.needs and "speech_language" not in m.service.needs
    ]
    assert speech and general, names
    assert max(speech) < min(general), names
    assert not result.only_general


def test_ehc_plan_services_are_last_in_their_group_unless_the_family_says_whether_there_is_a_plan(catalogue):
    unknown = evaluate(catalogue, 4, ["speech_language"], "Andover")
    plan_only = [m.service.id for m in unknown.eligible if m.needs_ehc_plan]
    assert plan_only, "the seed has services that need an EHC plan"
    general = [m for m in unknown.eligible if m.group == GENERAL_GROUP]
    assert [m.needs_ehc_plan for m in general] == sorted(m.needs_ehc_plan for m in general)  # plan-only at the end
    assert general[-1].needs_ehc_plan

    with_plan = evaluate(catalogue, 4, ["speech_language"], "Andover", has_ehc_plan=True)
    assert {m.service.id for m in with_plan.eligible} == {m.service.id for m in unknown.eligible}
    ranked = [(m.group != NEED_GROUP, TIER_ORDER.get(m.service.tier, 3), m.area_rank) for m in with_plan.eligible]
    assert ranked == sorted(ranked)
    assert with_plan.eligible != unknown.eligible  # the plan-only services move up among the others

    without_plan = evaluate(catalogue, 4, ["speech_language"], "Andover", has_ehc_plan=False)
    assert {m.service.id for m in without_plan.eligible} == {m.service.id for m in unknown.eligible} - set(plan_only)
    explained = [miss for miss in without_plan.near_misses if miss.kind == "ehc_plan"]
    assert explained and {miss.service.id for miss in explained} <= set(plan_only)  # said why, not dropped silently
    assert all("with an EHC plan" in miss.why_not for miss in explained)


def test_only_general_help_for_a_deaf_23_year_old_in_the_new_forest(catalogue):
    result = evaluate(catalogue, 23, ["hearing"], "New Forest")
    assert result.status == "ok" and result.eligible
    assert result.only_general
    assert all(m.group == GENERAL_GROUP and "hearing" not in m.service.needs for m in result.eligible)
    assert [g.key for g in result.groups] == [GENERAL_GROUP]
    assert not evaluate(catalogue, 4, ["hearing"], "New Forest").only_general  # a young deaf child has specific help


def test_several_needs_find_the_union_and_say_which_need_matched(catalogue):
    both = evaluate(catalogue, 10, ["autism", "adhd"], "Fareham")
    autism = evaluate(catalogue, 10, ["autism"], "Fareham")
    adhd = evaluate(catalogue, 10, ["adhd"], "Fareham")
    ids = lambda r: {m.service.id for m in r.eligible}  # noqa: E731
    assert ids(both) == ids(autism) | ids(adhd)
    for match in both.eligible:
        assert any("autism" in r.lower() or "adhd" in r.lower() or "any special" in r for r in match.reasons)


def test_deterministic(catalogue):
    first = evaluate(catalogue, 6, ["speech_language", "unsure"], "SO16 3AB")
    for _ in range(3):
        assert evaluate(catalogue, 6, ["speech_language", "unsure"], "SO16 3AB") == first


def test_out_of_area_names_the_families_own_authority(catalogue):
    result = evaluate(catalogue, 9, ["autism"], "Reading")
    assert result.status == "out_of_area"
    assert result.place.authority_name == "Reading"
    assert not result.eligible
    assert all(sp.signpost.scope == "national" for sp in result.signposts)
    by_postcode = evaluate(catalogue, 9, ["autism"], "SP1 2AB")
    assert by_postcode.status == "out_of_area" and by_postcode.place.authority_name == "Wiltshire"
    far = evaluate(catalogue, 9, ["autism"], "M1 1AE")
    assert far.status == "out_of_area" and far.place.authority_gss is None


def test_over_25_signposts_adult_services(catalogue):
    result = evaluate(catalogue, 26, ["learning_disability"], "Winchester")
    assert result.status == "over_age"
    assert not result.eligible
    assert any(sp.signpost.kind == "adult_services" for sp in result.signposts)
    assert evaluate(catalogue, 25.9, ["learning_disability"], "Winchester").status in {"ok", "no_match"}


@pytest.mark.parametrize(
    ("age", "needs", "place", "field", "code"),
    [
        (None, ["autism"], "Havant", "age", "missing"),
        (-1, ["autism"], "Havant", "age", "negative"),
        ("seven", ["autism"], "Havant", "age", "not_a_number"),
        (math.nan, ["autism"], "Havant", "age", "negative"),
        (400, ["autism"], "Havant", "age", "implausible"),
        (7, ["wobbly knees syndrome"], "Havant", "needs", "unknown_need"),
        (7, [], "Havant", "needs", "missing"),
        (7, ["autism"], "Narnia", "place", "unknown_place"),
        (7, ["autism"], "", "place", "empty"),
        (7, ["autism"], None, "place", "missing"),
        (7, ["autism"], "PO99 9ZZ", "place", "unknown_postcode"),
    ],
)
def test_bad_input_is_an_error_value(catalogue, age, needs, place, field, code):
    result = evaluate(catalogue, age, needs, place)
    assert result.status == "invalid"
    assert (field, code) in {(e.field, e.code) for e in result.errors}
    assert not result.eligible


def test_everyday_need_words_are_accepted(catalogue):
    result = evaluate(catalogue, 7, ["autistic", "ADHD"], "Havant")
    assert result.needs == ("autism", "adhd")


def test_unsure_is_never_offered_a_diagnosis_only_service(catalogue):
    needing_diagnosis = [s for s in catalogue.services if s.diagnosis_required and s.status == "active"]
    assert needing_diagnosis, "the seed should have services that need a diagnosis"
    service = needing_diagnosis[0]
    district = (
        next(code for code in service.areas if code in catalogue.gazetteer.districts)
        if any(code in catalogue.gazetteer.districts for code in service.areas)
        else next(iter(catalogue.gazetteer.districts))
    )
    name = catalogue.gazetteer.districts[district].name
    age = service.minimum_age or 0
    unsure = evaluate(catalogue, age, ["unsure"], name)
    assert service.id not in {m.service.id for m in unsure.eligible}


def test_inactive_services_are_never_offered(catalogue):
    inactive = [s for s in catalogue.services if s.status != "active"]
    assert inactive, "the seed should have some closed services"
    for service in inactive:
        need = sorted(service.needs)[0] if service.needs - {"any_need"} else "autism"
        for code in service.areas:
            district = catalogue.gazetteer.districts.get(code)
            if district is None:
                continue
            age = service.minimum_age or 0
            result = evaluate(catalogue, age, [need], district.name)
            assert service.id not in {m.service.id for m in result.eligible}
            assert service.id not in {m.service.id for m in result.near_misses}


def test_near_misses_explain_why_not_and_are_capped(catalogue):
    result = evaluate(catalogue, 0.5, ["autism", "adhd", "semh", "specific_learning"], "Gosport")
    assert len(result.near_misses) <= MAX_NEAR_MISSES
    assert result.near_misses
    for miss in result.near_misses:
        assert miss.why_not
        if miss.kind == "age":
            assert "6 months" in miss.why_not


def test_neighbouring_district_services_are_near_misses_with_the_reason(catalogue):
    found = False
    for district in catalogue.gazetteer.districts.values():
        if district.authority_gss != HAMPSHIRE:
            continue
        for need in NEED_CODES:
            for age in (3, 8, 14, 19):
                result = evaluate(catalogue, age, [need], district.name)
                for miss in result.near_misses:
                    if miss.kind == "area":
                        assert "only for families living in" in miss.why_not
                        assert district.name in miss.why_not
                        assert district.gss_code not in miss.service.areas
                        found = True
    assert found


def test_signposts_lead_with_sendias_and_the_parent_carer_forum(catalogue):
    for place, authority in (("Basingstoke", HAMPSHIRE), ("Portsmouth", "E06000044"), ("Southampton", "E06000045")):
        result = evaluate(catalogue, 9, ["hearing"], place)
        kinds = [sp.signpost.kind for sp in result.signposts]
        assert kinds[:2] == ["sendias", "parent_carer_forum"]
        assert all(sp.signpost.authority_gss in (None, authority) for sp in result.signposts)
        assert all(sp.signpost.kind != "urgent" for sp in result.signposts)


def test_no_match_still_signposts(catalogue):
    # A child of 25 and a half with a vision need in Gosport: the Local Offer covers them, little is left.
    result = evaluate(catalogue, 25.5, ["vision"], "Gosport")
    assert result.status in {"ok", "no_match"}
    assert result.signposts


def test_age_band():
    assert [age_band(a) for a in (0, 4.9, 5, 10.9, 11, 15, 16, 18.5, 19, 25.9, 26)] == [
        "0-4",
        "0-4",
        "5-10",
        "5-10",
        "11-15",
        "11-15",
        "16-18",
        "16-18",
        "19-25",
        "19-25",
        "26+",
    ]


def test_only_general_help_is_recorded_as_an_unmet_search(fresh_kb):
    from sqlalchemy import select

    from knowledge import models as m

    def rows():
        with fresh_kb.sessions() as session:
            return [(u.needs, u.age_band, u.district_gss, u.reason) for u in session.execute(select(m.UnmetSearch)).scalars()]

    found = fresh_kb.find(23, ["hearing"], "New Forest")
    assert found.status == "ok" and found.only_general
    new_forest = found.place.district_gss
    assert rows() == [("hearing", "19-25", new_forest, "only_general")]
    fresh_kb.find(4, ["speech_language"], "Andover")  # specific help found: nothing recorded
    fresh_kb.find(23, ["hearing"], "New Forest", record_unmet=False)
    assert len(rows()) == 1
