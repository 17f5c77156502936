"""ORUK 3.0 export: every service validates against the official profile, and a round trip changes nothing."""

from __future__ import annotations

import json

from knowledge.db import make_session_factory
from knowledge.formats import read_text
from knowledge.importer import export_records, export_text, import_dataset, oruk_services
from knowledge.oruk import page
from knowledge.seed import SEED_DIR, load_needs, load_places
from tests.conftest import TODAY
from tests.oruk_schemas import page_errors, schema_errors


def test_every_exported_service_validates_against_the_profile(seeded_kb):
    with seeded_kb.sessions() as session:
        organizations, services = export_records(session)
        oruk = oruk_services(session, organizations, services)
    assert len(oruk) == len(services) > 200
    failures = {s["id"]: errors[:3] for s in oruk if (errors := schema_errors("service", s))}
    assert not failures, f"{len(failures)} of {len(oruk)} services do not validate: {dict(list(failures.items())[:3])}"
    listing = page(oruk[:50], len(oruk), 1, 50)
    assert page_errors("service_list", listing) == []
    with seeded_kb.sessions() as session:
        organisations = json.loads(export_text(session, "json")[0])["organizations"]
    assert organisations and all(schema_errors("organization", item) == [] for item in organisations)


def test_local_offer_fields_travel_as_taxonomy_terms(seeded_kb):
    with seeded_kb.sessions() as session:
        organizations, services = export_records(session)
        oruk = {s["id"]: s for s in oruk_services(session, organizations, services)}
    record = next(s for s in services if s["access_route"] == "professional_referral" and s["referrers"] and s["needs"])
    terms = {(a["taxonomy_term"]["taxonomy"], a["taxonomy_term"]["name"]) for a in oruk[record["id"]]["attributes"]}
    taxonomies = {taxonomy for taxonomy, _name in terms}
    assert {"local-offer-needs", "local-offer-tier", "local-offer-access-route", "local-offer-referrer"} <= taxonomies
    assert {("local-offer-referrer", name) for name in record["referrers"]} <= terms
    # Without the `local_offer` object (as a plain ORUK reader sees it) the taxonomy terms still carry the fields.
    bare = {k: v for k, v in oruk[record["id"]].items() if k != "local_offer"}
    again = read_text(json.dumps([bare]), "json").services[0][1]
    for name in ("needs", "category", "tier", "access_route", "referrers", "diagnosis_required", "is_sample"):
        assert again[name] == record[name], name


def test_round_trip_into_an_empty_database_gives_the_same_json(seeded_kb, empty_engine):
    with seeded_kb.sessions() as session:
        first, count = export_text(session, "json")
    sessions = make_session_factory(empty_engine)
    with sessions.begin() as session:  # places and needs are reference data, not part of a services file
        load_needs(session, SEED_DIR / "needs.yaml")
        load_places(session, SEED_DIR)
    with sessions.begin() as session:
        report = import_dataset(session, read_text(first, "json"), today=TODAY)
    assert len(report.created) == count
    with sessions() as session:
        second, _count = export_text(session, "json")
    assert second == first
