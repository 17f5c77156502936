"""knowledge.age_wording: the age fields against the "who it's for" text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge.age_wording import age_statements, disagreements
from knowledge.formats import read_file
from knowledge.seed import SEED_DIR
from knowledge.validation import quality_checks

DISAGREE = [
    (0, 5, "Young people aged 16 to 25 who want to learn to travel on their own."),
    (0, 18, "For children under 5 and their parents."),
    (0, 5, "Pupils in Year 7 who find the move to secondary school hard."),
    (0, 18, "Young people aged 16 to 25 with an EHC plan."),
    (5, 25, "Children and young people aged 0 to 25 with any additional need."),
    (11, 18, "Babies up to 18 months and their parents."),
    (0, 4, "Teenagers aged 13 and over who want to make friends."),
    (5, 16, "Babies and toddlers from birth to 3 years old."),
    (0, 11, "Sixteen to twenty-five year olds with learning difficulties."),
    (0, 25, "Families of children under five in Havant."),
    (16, 25, "Children in Reception who need extra help to settle."),
    (0, 8, "Students in Years 7 to 11 at Fair Oak Ridge."),
    (0, 11, "Disabled young people over 18 who want a paid job."),
]
AGREE = [
    (0, 25, "Children and young people aged 0 to 25 with special educational needs."),
    (0, 25, "Families of disabled children, from birth."),
    (0, 5, "From birth to 5: babies and young children with any additional need."),
    (0, 25, "Any parent or carer of a child or young person up to 25 with additional needs."),
    (0, 4, "Under 5s and their parents."),
    (0, 5, "Under 5s and their parents."),
    (0, 25, "Children and young people with additional needs, and their families."),
    (11, 16, "Students in Years 7 to 11 who need extra help with friendships."),
    (11, 12, "Pupils starting Year 7 in September."),
    (0, 17, "Parents of a disabled child under 18 who need support for themselves."),
    (0, 11, "Families of deaf children up to age 12 who want to learn to sign."),
    (1.5, 3, "Toddlers from 18 months to 3 years who are saying few words."),
    (0, 1.5, "Babies up to 18 months old with extra needs."),
    (2, 11, "Parents of children aged 2 to 11 diagnosed as autistic in the last 18 months."),
    (5, 17, "Children aged 5 and over who still wet or soil."),
    (0, 25, "Young people aged 16 to 25 can ask for themselves, and families of younger children."),
    (16, 25, "Young people aged 16-25 going to sixth form, college or training."),
    (0, 18, "Families who wait up to 6 weeks for an appointment, with children up to 18."),
    (0, 18, "Support for up to 12 months for children and young people up to 18."),
    (11, 18, "Teenagers aged 11-18; our staff have over 20 years' experience."),
    (0, 25, "Sessions for up to 8 children at a time."),
    (None, None, "Young people aged 16 to 25."),
    (0, 25, ""),
    (0, 25, None),
]


@pytest.mark.parametrize("low,high,text", DISAGREE)
def test_ages_and_words_that_disagree_are_flagged(low, high, text):
    warnings = disagreements(low, high, text)
    assert warnings, f"no warning for ages {low} to {high} and {text!r}"
    assert all(w.startswith("\u201cWho it\u2019s for\u201d says \u201c") for w in warnings)


@pytest.mark.parametrize("low,high,text", AGREE)
def test_no_false_alarms_on_ordinary_wording(low, high, text):
    assert disagreements(low, high, text) == []


def test_the_warning_quotes_the_words_and_the_ages():
    (warning,) = disagreements(0, 5, "Young people aged 16 to 25 who want to travel alone.")
    assert warning == "\u201cWho it\u2019s for\u201d says \u201caged 16 to 25\u201d, but the ages are 0 to 5"
    (warning,) = disagreements(0, 18, "For children under 5.")
    assert warning.endswith("\u201cunder 5\u201d, but the maximum age is 18")
    (warning,) = disagreements(0.5, 0.75, "Babies from 18 months to 3 years.")
    assert warning.endswith("\u201cfrom 18 months to 3 years\u201d, but the maximum age is 9 months")
    assert disagreements(0, 1, "Babies up to 18 months.") == []  # within a year: the same intent


def test_statements_read_numbers_words_months_and_school_years():
    spans = {(s.phrase, s.low, s.high) for s in age_statements("Sixteen to twenty-five year olds, babies under 18 months")}
    assert ("sixteen to twenty-five year olds", 16.0, 25.0) in spans and ("under 18 months", None, 1.5) in spans
    (year,) = age_statements("Pupils in Year 7")
    assert (year.low, year.high, year.bounds_range) == (11.0, 12.0, False)
    assert age_statements("Open 9 to 5, up to 3 times a week, for over 10 years") == []


def test_every_seed_service_agrees_with_its_words():
    """The sample Local Offer was written with care: the rule must not cry wolf on any of its 221 services."""
    records = [r for path in sorted((SEED_DIR / "services").glob("*.yaml")) for _row, r in read_file(Path(path)).services]
    assert len(records) > 200
    flagged = [(r["id"], disagreements(r["minimum_age"], r["maximum_age"], r["who_for"])) for r in records]
    assert [f for f in flagged if f[1]] == []
    assert sum(1 for r in records if age_statements(r["who_for"])) > 100  # the rule did read their ages


def test_a_disagreement_is_a_data_quality_check():
    record = {
        "minimum_age": 0, "maximum_age": 5, "who_for": "Young people aged 16 to 25.", "needs": ["autism"],
        "email": "a@example.org", "contacts": [], "service_areas": ["E07000090"], "last_reviewed": date.today().isoformat(),
        "assured_date": None, "review_interval_days": 365, "tier": "targeted", "access_route": "self_referral",
    }  # fmt: skip
    assert quality_checks(record, date.today()) == ["age_wording"]
    assert quality_checks({**record, "maximum_age": 25}, date.today()) == []


# --- in the editor ---------------------------------------------------------------------------------


async def test_saving_ages_that_disagree_with_the_words_saves_and_warns_on_the_service_and_review_pages(web):
    from tests.test_web_admin import PORTAGE, edit_form, replace, stored  # "Babies and young children under 5", ages 0 to 4

    await web.sign_in("editor")
    page = await (await web.get(f"/admin/services/{PORTAGE}")).text()
    assert 'id="age-warning"' not in page
    assert "Check the ages" not in await (await web.get("/admin/review")).text()

    response = await web.submit(
        f"/admin/services/{PORTAGE}/edit", replace(await edit_form(web), maximum_age="11"), form_page="/admin"
    )
    assert response.status == 303  # a warning, not an error: the change is saved
    assert stored(web, PORTAGE)[0]["maximum_age"] == 11.0
    page = await (await web.get(response.headers["Location"])).text()
    assert "Changes saved" in page and 'id="age-warning"' in page
    assert "\u201cunder 5\u201d, but the maximum age is 11" in page
    review = await (await web.get("/admin/review")).text()
    row = review[review.index(f"/admin/services/{PORTAGE}/edit") :].split("</tr>")[0]
    assert "Check the ages: \u201cWho it\u2019s for\u201d says \u201cunder 5\u201d, but the maximum age is 11" in row

    await web.submit(f"/admin/services/{PORTAGE}/edit", replace(await edit_form(web), maximum_age="4"), form_page="/admin")
    page = await (await web.get(f"/admin/services/{PORTAGE}")).text()
    assert 'id="age-warning"' not in page
    assert "Check the ages" not in (await (await web.get("/admin/review")).text())
