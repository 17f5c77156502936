"""Editing services and organisations by hand (knowledge.editing), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm.exc import StaleDataError

from knowledge import editing
from knowledge import models as m
from knowledge.audit import EditConflict
from knowledge.catalogue import current_version
from knowledge.db import make_engine
from knowledge.kb import KnowledgeBase
from knowledge.store import organization_to_record, service_query, service_to_record

PORTAGE = "svc-east-hampshire-portage"  # seed: ages 0 to 4, East Hampshire, professional referral
TODAY = date(2026, 11, 23)


def stored(kb: KnowledgeBase, service_id: str) -> tuple[dict, int]:
    with kb.sessions() as session:
        service = session.execute(service_query().where(m.Service.id == service_id)).scalar_one()
        return service_to_record(service), service.version


def audit(kb: KnowledgeBase, entity_id: str) -> list[m.AuditEntry]:
    with kb.sessions() as session:
        return list(
            session.execute(select(m.AuditEntry).where(m.AuditEntry.entity_id == entity_id).order_by(m.AuditEntry.id)).scalars()
        )


def counts(kb: KnowledgeBase) -> tuple[int, int, int]:
    with kb.sessions() as session:
        return (
            session.execute(select(func.count()).select_from(m.Service)).scalar_one(),
            session.execute(select(func.count()).select_from(m.AuditEntry)).scalar_one(),
            current_version(session),
        )


_SECOND_KBS: list[KnowledgeBase] = []


@pytest.fixture(autouse=True)
def _close_second_kbs():
    yield
    while _SECOND_KBS:
        _SECOND_KBS.pop().dispose()


def second_kb(kb: KnowledgeBase) -> KnowledgeBase:
    """Another KnowledgeBase on the same database, with its own engine, as the action server has
    (closed after the test)."""
    url = kb.engine.url.render_as_string(hide_password=False)
    if kb.engine.dialect.name == "postgresql":
        with kb.engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        other = KnowledgeBase(engine=make_engine(url, connect_args={"options": f"-csearch_path={schema}"}))
    else:
        other = KnowledgeBase(url)
    _SECOND_KBS.append(other)
    return other


def eligible_ids(kb: KnowledgeBase, age, needs, place) -> set[str]:
    return {match.service.id for match in kb.find(age, needs, place, record_unmet=False).eligible}


NEW_SERVICE = {
    "name": "Fareham tiny steps play group",
    "organization_id": "org-hn-portage",
    "description": "A small play group.",
    "category": "leisure_childcare",
    "tier": "universal",
    "access_route": "self_referral",
    "minimum_age": "1",
    "maximum_age": "4",
    "needs": ["autism", "speech_language"],
    "service_areas": ["Fareham"],  # a name: the reader turns it into its GSS code, as an import does
    "cost_options": [{"option": "Free", "amount": 0, "amount_description": "Free"}],
    "contacts": [{"name": "Play team", "phone": "01632 960999"}],
}


def test_create_service_stores_the_record_with_an_audit_entry(fresh_kb):
    with fresh_kb.sessions.begin() as session:
        record = editing.create_service(session, dict(NEW_SERVICE), "editor-a")
        again = editing.create_service(session, dict(NEW_SERVICE), "editor-a")
    assert record["id"] == "svc-fareham-tiny-steps-play-group"
    assert again["id"] == "svc-fareham-tiny-steps-play-group-2"
    saved, version = stored(fresh_kb, record["id"])
    assert saved == record and version == 1
    assert saved["service_areas"] == ["E07000087"] and saved["minimum_age"] == 1.0
    [entry] = audit(fresh_kb, record["id"])
    assert (entry.actor, entry.entity_type, entry.action) == ("editor-a", "service", "create")
    assert entry.before is None and entry.after == saved


def test_update_service_records_full_before_and_after_and_keeps_other_data(fresh_kb):
    before, version = stored(fresh_kb, PORTAGE)
    with fresh_kb.sessions.begin() as session:
        editing.update_service(session, PORTAGE, {"maximum_age": "11", "needs": ["autism"]}, version, "editor-a")
    after, new_version = stored(fresh_kb, PORTAGE)
    assert after["maximum_age"] == 11.0 and after["needs"] == ["autism"]
    assert new_version == version + 1
    assert {k: v for k, v in after.items() if k not in ("maximum_age", "needs")} == {
        k: v for k, v in before.items() if k not in ("maximum_age", "needs")
    }  # schedules, locations, contacts and costs as they were
    [entry] = audit(fresh_kb, PORTAGE)
    assert entry.action == "update" and entry.before == before and entry.after == after
    assert entry.summary == "Changed maximum age, needs"


def test_a_change_to_tags_only_still_moves_the_version(fresh_kb):
    _before, version = stored(fresh_kb, PORTAGE)
    with fresh_kb.sessions.begin() as session:
        editing.update_service(session, PORTAGE, {"service_areas": ["E07000085", "E07000086"]}, version, "editor-a")
    after, new_version = stored(fresh_kb, PORTAGE)
    assert after["service_areas"] == ["E07000085", "E07000086"] and new_version == version + 1


def test_saving_the_same_values_writes_nothing(fresh_kb):
    before, version = stored(fresh_kb, PORTAGE)
    totals = counts(fresh_kb)
    with fresh_kb.sessions.begin() as session:
        editing.update_service(session, PORTAGE, {"maximum_age": "4"}, version, "editor-a")
    assert stored(fresh_kb, PORTAGE) == (before, version) and counts(fresh_kb) == totals


def test_invalid_input_is_refused_with_plain_messages_and_writes_nothing(fresh_kb):
    before, version = stored(fresh_kb, PORTAGE)
    totals = counts(fresh_kb)
    bad = {"name": "", "minimum_age": "five", "maximum_age": "30", "organization_id": "org-nobody", "url": "www.x.example"}
    with pytest.raises(editing.ValidationFailed) as failed:
        with fresh_kb.sessions.begin() as session:
            editing.update_service(session, PORTAGE, bad, version, "editor-a")
    errors = failed.value.errors
    assert errors["name"] == "A service needs a name"
    assert errors["minimum_age"].startswith("Enter the minimum age as a number")
    assert "outside the Local Offer's ages" in errors["maximum_age"]
    assert "org-nobody" in errors["organization_id"]
    assert "should start with https://" in errors["url"]
    with pytest.raises(editing.ValidationFailed):
        with fresh_kb.sessions.begin() as session:
            editing.create_service(session, {**NEW_SERVICE, "maximum_age": "0.5", "minimum_age": "3"}, "editor-a")
    assert stored(fresh_kb, PORTAGE) == (before, version)
    assert counts(fresh_kb) == totals


def test_a_stale_version_is_a_conflict_and_writes_nothing(fresh_kb):
    _before, version = stored(fresh_kb, PORTAGE)
    with fresh_kb.sessions.begin() as session:
        editing.update_service(session, PORTAGE, {"maximum_age": "5"}, version, "editor-a")
    current, new_version = stored(fresh_kb, PORTAGE)
    totals = counts(fresh_kb)
    with pytest.raises(EditConflict) as conflict:
        with fresh_kb.sessions.begin() as session:
            editing.update_service(session, PORTAGE, {"maximum_age": "7"}, version, "editor-b")
    assert conflict.value.current == current and conflict.value.entity_id == PORTAGE
    with pytest.raises(EditConflict):
        with fresh_kb.sessions.begin() as session:
            editing.retire_service(session, PORTAGE, "editor-b", version)
    assert stored(fresh_kb, PORTAGE) == (current, new_version) and counts(fresh_kb) == totals


def test_a_race_between_check_and_write_is_a_conflict_too(fresh_kb):
    """Editor B reads the row, editor A saves and commits, then B writes: the database's version check stops B."""
    _before, version = stored(fresh_kb, PORTAGE)
    with fresh_kb.sessions() as session_b:
        with session_b.begin():
            held = session_b.execute(service_query().where(m.Service.id == PORTAGE)).scalar_one()  # B has read version N
            with fresh_kb.sessions.begin() as session_a:
                editing.update_service(session_a, PORTAGE, {"maximum_age": "5"}, version, "editor-a")
            assert held.version == version  # B still believes version N, so only the database can stop it
            with pytest.raises(EditConflict) as conflict:
                editing.update_service(session_b, PORTAGE, {"maximum_age": "9"}, version, "editor-b")
            assert isinstance(conflict.value.__cause__, StaleDataError)
            session_b.rollback()
    after, new_version = stored(fresh_kb, PORTAGE)
    assert after["maximum_age"] == 5.0 and new_version == version + 1
    assert [e.actor for e in audit(fresh_kb, PORTAGE)] == ["editor-a"]


def test_retire_and_reinstate_change_what_the_assistant_offers(fresh_kb):
    family = (2, ["learning_disability"], "Petersfield")
    assert PORTAGE in eligible_ids(fresh_kb, *family)
    _before, version = stored(fresh_kb, PORTAGE)
    with fresh_kb.sessions.begin() as session:
        retired = editing.retire_service(session, PORTAGE, "editor-a", version)
    assert retired["status"] == "inactive"
    assert PORTAGE not in eligible_ids(fresh_kb, *family)
    with fresh_kb.sessions.begin() as session:
        editing.reinstate_service(session, PORTAGE, "editor-a", version + 1)
    assert PORTAGE in eligible_ids(fresh_kb, *family)
    entries = audit(fresh_kb, PORTAGE)
    assert [(e.action, e.before["status"], e.after["status"]) for e in entries] == [
        ("retire", "active", "inactive"),
        ("reinstate", "inactive", "active"),
    ]


def test_an_edit_reaches_another_process_next_answer_without_retraining(fresh_kb):
    """The action server is another process with its own KnowledgeBase: its next find() sees the edit."""
    other = second_kb(fresh_kb)
    try:
        six_year_old = (6, ["learning_disability"], "Petersfield")
        autistic_toddler = (3, ["autism"], "Petersfield")
        assert PORTAGE not in eligible_ids(other, *six_year_old)
        assert PORTAGE not in eligible_ids(other, *autistic_toddler)
        _before, version = stored(fresh_kb, PORTAGE)
        with fresh_kb.sessions.begin() as session:
            editing.update_service(session, PORTAGE, {"maximum_age": "11"}, version, "editor-a")
        assert PORTAGE in eligible_ids(other, *six_year_old)
        assert PORTAGE not in eligible_ids(other, *autistic_toddler)
        with fresh_kb.sessions.begin() as session:
            editing.update_service(session, PORTAGE, {"needs": ["autism"]}, version + 1, "editor-a")
        assert PORTAGE in eligible_ids(other, *autistic_toddler)
        assert PORTAGE not in eligible_ids(other, *six_year_old)
    finally:
        other.dispose()


def test_the_service_form_round_trips_and_keeps_what_it_does_not_show(fresh_kb):
    before, version = stored(fresh_kb, PORTAGE)
    form = editing.service_form(before)
    assert form["maximum_age"] == "4" and form["cost"] == "free" and form["last_reviewed_year"] == "2026"
    with fresh_kb.sessions.begin() as session:
        unchanged = editing.save_service_form(session, PORTAGE, form, "editor-a", expected_version=version, today=TODAY)
    assert unchanged == before and audit(fresh_kb, PORTAGE) == []
    form.update(
        cost="paid", cost_amount="£7.50", cost_description="per session", contact_phone="01632 960111", mark_reviewed="yes"
    )
    with fresh_kb.sessions.begin() as session:
        editing.save_service_form(session, PORTAGE, form, "editor-a", expected_version=version, today=TODAY)
    after, _v = stored(fresh_kb, PORTAGE)
    assert after["cost_options"] == [{"option": None, "amount": 7.5, "currency": "GBP", "amount_description": "per session"}]
    assert after["contacts"][0]["phone"] == "01632 960111" and after["contacts"][0]["email"] == before["contacts"][0]["email"]
    assert after["last_reviewed"] == after["assured_date"] == TODAY.isoformat()
    assert after["schedules"] == before["schedules"] and after["locations"] == before["locations"]


def _with_extra_rows(kb: KnowledgeBase, service_id: str) -> dict:
    """Give a service what an import can carry and the form does not show: second rows, titles, days, fees."""
    record, version = stored(kb, service_id)
    changes = {
        "email": "team@example.org",
        "fees_description": "Free for families on a low income",
        "contacts": [{"name": "Sam Lee", "title": "Lead", "email": "sam@example.org", "phone": "01632 960000"},
                     {"name": "Ana", "title": "Admin", "email": None, "phone": "01632 960001"}],
        "cost_options": [{"option": "Session", "amount": 5, "currency": "GBP", "amount_description": "a session"},
                         {"option": "Term", "amount": 40, "currency": "GBP", "amount_description": "a term"}],
        "locations": [{"name": "Hub", "address_1": "1 High St", "city": "Alton", "postcode": "GU34 1AA"},
                      {"name": "Annexe", "address_1": "2 Low St", "city": "Alton", "postcode": "GU34 2BB"}],
        "schedules": [{"freq": "WEEKLY", "interval": 1, "byday": "MO,WE", "opens_at": "09:30", "closes_at": "15:00",
                       "description": "Term time"},
                      {"freq": "WEEKLY", "interval": 1, "byday": "SA", "opens_at": "10:00", "closes_at": "12:00",
                       "description": None}],
    }  # fmt: skip
    with kb.sessions.begin() as session:
        return editing.update_service(session, service_id, changes, version, "importer")


def test_a_form_save_keeps_every_value_the_form_does_not_show(fresh_kb):
    before = _with_extra_rows(fresh_kb, PORTAGE)
    _record, version = stored(fresh_kb, PORTAGE)
    form = {**editing.service_form(before), "name": "East Hampshire Portage (home visits)"}
    with fresh_kb.sessions.begin() as session:
        editing.save_service_form(session, PORTAGE, form, "editor-a", expected_version=version, today=TODAY)
    after, _v = stored(fresh_kb, PORTAGE)
    assert after == {**before, "name": "East Hampshire Portage (home visits)"}
    (entry,) = [e for e in audit(fresh_kb, PORTAGE) if e.actor == "editor-a"]
    assert entry.summary == "Changed name"


def test_venue_and_opening_times_are_edited_in_the_form_and_the_other_rows_kept(fresh_kb):
    before = _with_extra_rows(fresh_kb, PORTAGE)
    _record, version = stored(fresh_kb, PORTAGE)
    form = editing.service_form(before)
    assert (form["location_name"], form["location_postcode"], form["schedule_description"]) == ("Hub", "GU34 1AA", "Term time")
    form.update(location_name="Alton Family Hub", location_postcode="gu34 9zz", schedule_description="Mondays 9:30 to 3")
    with fresh_kb.sessions.begin() as session:
        editing.save_service_form(session, PORTAGE, form, "editor-a", expected_version=version, today=TODAY)
    after, version = stored(fresh_kb, PORTAGE)
    assert after["locations"] == [
        {"name": "Alton Family Hub", "address_1": "1 High St", "city": "Alton", "postcode": "GU34 9ZZ"},
        before["locations"][1],
    ]
    assert after["schedules"][0] == {**before["schedules"][0], "description": "Mondays 9:30 to 3"}
    assert after["schedules"][1] == before["schedules"][1]
    form = editing.service_form(after)
    form.update(location_name="", location_address_1="", location_city="", location_postcode="")
    form["schedule_description"] = "x" * 10
    form["location_name"] = "V" * 301  # longer than the column holds: refused with the field's own message
    with pytest.raises(editing.ValidationFailed) as failed, fresh_kb.sessions.begin() as session:
        editing.save_service_form(session, PORTAGE, form, "editor-a", expected_version=version, today=TODAY)
    assert failed.value.errors == {"location_name": "Venue must be 300 characters or fewer (it has 301)"}
    form["location_name"] = ""  # emptied: the first venue goes, the second stays
    with fresh_kb.sessions.begin() as session:
        editing.save_service_form(session, PORTAGE, form, "editor-a", expected_version=version, today=TODAY)
    assert stored(fresh_kb, PORTAGE)[0]["locations"] == [before["locations"][1]]


def test_form_level_problems_come_with_the_readers_own(fresh_kb):
    form = editing.service_form(editing.blank_service())
    form.update(name="Club", organization_id="org-hn-portage", cost="paid", last_reviewed_day="31", last_reviewed_month="2",
                last_reviewed_year="2026", review_interval_days="0", contact_email="not-an-address")  # fmt: skip
    with pytest.raises(editing.ValidationFailed) as failed:
        with fresh_kb.sessions.begin() as session:
            editing.save_service_form(session, None, form, "editor-a", today=TODAY)
    errors = failed.value.errors
    assert set(errors) == {"cost_amount", "last_reviewed", "review_interval_days", "contact_email"}
    assert errors["review_interval_days"] == "Must be a positive number of days"


def test_organisations_are_created_and_updated_with_the_same_rules(fresh_kb):
    with fresh_kb.sessions.begin() as session:
        created = editing.create_organisation(session, {"name": "Gosport Family Hub", "website": "https://g.example"}, "editor-a")
    assert created["id"] == "org-gosport-family-hub" and created["description"] == "" and created["is_sample"] is False
    with pytest.raises(editing.ValidationFailed) as failed:
        with fresh_kb.sessions.begin() as session:
            editing.update_organisation(session, created["id"], {"name": "", "email": "nope", "website": "g.example"}, 1, "x")
    assert set(failed.value.errors) == {"name", "email", "website"}
    with fresh_kb.sessions.begin() as session:
        editing.update_organisation(
            session, created["id"], {"name": "Gosport Family Hub", "email": "hi@g.example"}, 1, "editor-b"
        )
    with pytest.raises(EditConflict):
        with fresh_kb.sessions.begin() as session:
            editing.update_organisation(session, created["id"], {"name": "Old name"}, 1, "editor-c")
    with fresh_kb.sessions() as session:
        org = session.get(m.Organization, created["id"])
        assert (org.name, org.email, org.website, org.version) == ("Gosport Family Hub", "hi@g.example", None, 2)
        final = organization_to_record(org)
    entries = audit(fresh_kb, created["id"])
    assert [(e.action, e.actor) for e in entries] == [("create", "editor-a"), ("update", "editor-b")]
    assert entries[1].before == created and entries[1].after == final


def test_search_and_audit_lists_filter_and_page(fresh_kb):
    with fresh_kb.sessions() as session:
        everything = editing.search_services(session, per_page=10)
        portage = editing.search_services(session, q="PORTAGE")
        east_hants = editing.search_services(session, district="E07000085", need="learning_disability", tier="targeted")
        last = editing.search_services(session, per_page=10, page=10_000)
    assert everything.total > 100 and len(everything.items) == 10
    assert PORTAGE in {s["id"] for s in portage.items} and all("portage" in s["name"].lower() for s in portage.items)
    assert PORTAGE in {s["id"] for s in east_hants.items} and all(s["tier"] == "targeted" for s in east_hants.items)
    assert last.page == everything.pages and last.items
    for actor, age in (("alice", "5"), ("bob", "6"), ("alice", "7")):
        _r, version = stored(fresh_kb, PORTAGE)
        with fresh_kb.sessions.begin() as session:
            editing.update_service(session, PORTAGE, {"maximum_age": age}, version, actor)
    with fresh_kb.sessions() as session:
        alice = editing.audit_entries(session, actor="ALI")
        portage_changes = editing.audit_entries(session, entity_type="service", entity_id=PORTAGE, per_page=2)
    assert [e.after["maximum_age"] for e in alice.items] == [7.0, 5.0]
    assert portage_changes.total == 3 and portage_changes.pages == 2 and len(portage_changes.items) == 2
