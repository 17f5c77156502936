"""Editing signposts, need synonyms, places, postcodes and reviews; import and export (knowledge/editing/).

On SQLite and PostgreSQL. Changes reach a second KnowledgeBase on the same database (as the
action server is) through the catalogue's data_version, without retraining.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from knowledge import editing as de
from knowledge import models as m
from knowledge.audit import EditConflict
from knowledge.formats import FileFormatError, read_text
from knowledge.importer import ImportRejected
from knowledge.kb import KnowledgeBase
from tests.conftest import TODAY

HAMPSHIRE = "E10000014"
HAVANT = "E07000090"
WINCHESTER = "E07000094"


def signpost_form(**changes) -> dict:
    form = {
        "name": "Havant autism parents group",
        "kind": "charity",
        "scope": "local",
        "authority_gss": HAMPSHIRE,
        "needs": ["autism"],
        "minimum_age": "4",
        "maximum_age": "18",
        "description": "A monthly coffee morning for parents of autistic children.",
        "how_to_access": "Just turn up.",
        "website": "https://havant-autism.example",
        "phone": "01632 960999",
        "email": "hello@havant-autism.example",
        "opening_hours": "First Tuesday of the month",
        "is_sample": "yes",
    }
    form.update(changes)
    return form


def audit_entries(session, entity_type, entity_id=None):
    query = select(m.AuditEntry).where(m.AuditEntry.entity_type == entity_type).order_by(m.AuditEntry.id)
    if entity_id is not None:
        query = query.where(m.AuditEntry.entity_id == str(entity_id))
    return list(session.execute(query).scalars())


# --- signposts ---------------------------------------------------------------------------------


def test_a_new_signpost_is_saved_audited_and_reaches_the_assistant(fresh_kb):
    assistant = KnowledgeBase(engine=fresh_kb.engine)
    before = {sp.id for sp in assistant.catalogue().signposts}
    with fresh_kb.sessions.begin() as s:
        signpost = de.create_signpost(s, "ed", signpost_form())
        new_id = signpost.id
    assert new_id == "sp-havant-autism-parents-group" and new_id not in before
    entry = next(sp for sp in assistant.catalogue().signposts if sp.id == new_id)
    assert entry.needs == {"autism"} and entry.maximum_age == 18 and entry.authority_gss == HAMPSHIRE and entry.is_sample
    with fresh_kb.sessions() as s:
        (audit,) = audit_entries(s, "signpost", new_id)
        assert audit.actor == "ed" and audit.action == "create" and audit.before is None
        assert audit.after["name"] == "Havant autism parents group" and audit.after["needs"] == ["autism"]
    with fresh_kb.sessions.begin() as s:
        again = de.create_signpost(s, "ed", signpost_form())
        assert again.id == new_id + "-2"


@pytest.mark.parametrize(
    "changes, field_name, words",
    [
        ({"name": "  "}, "name", "Enter the signpost"),
        ({"kind": "pub"}, "kind", "Choose what kind"),
        ({"scope": "regional"}, "scope", "local or national"),
        ({"authority_gss": ""}, "authority_gss", "needs the authority"),
        ({"authority_gss": "E99999999"}, "authority_gss", "from the list"),
        ({"scope": "national"}, "authority_gss", "leave the authority blank"),
        ({"minimum_age": "twelve"}, "minimum_age", "as a number"),
        ({"maximum_age": "26"}, "maximum_age", "between 0 and 25"),
        ({"minimum_age": "-1"}, "minimum_age", "between 0 and 25"),
        ({"minimum_age": "12", "maximum_age": "5"}, "maximum_age", "must not be below"),
        ({"needs": ["autism", "wizardry"]}, "needs", "wizardry"),
        ({"website": "havant-autism.example"}, "website", "https://"),
        ({"website": "javascript:alert(1)"}, "website", "https://"),
        ({"phone": "call us"}, "phone", "phone number"),
        ({"phone": "12"}, "phone", "phone number"),
        ({"email": "not-an-address"}, "email", "e-mail address"),
        ({"description": ""}, "description", "plain words"),
    ],
)
def test_an_invalid_signpost_is_refused_with_a_message_per_field(fresh_kb, changes, field_name, words):
    with fresh_kb.sessions.begin() as s:
        count = len(de.list_signposts(s))
        with pytest.raises(de.ValidationFailed) as failed:
            de.create_signpost(s, "ed", signpost_form(**changes))
        assert words in failed.value.errors[field_name]
        assert len(de.list_signposts(s)) == count
        assert audit_entries(s, "signpost") == []


def test_several_problems_are_reported_together(fresh_kb):
    with fresh_kb.sessions.begin() as s, pytest.raises(de.ValidationFailed) as failed:
        de.create_signpost(s, "ed", signpost_form(name="", kind="", id="has spaces"))
    assert set(failed.value.errors) == {"name", "kind", "id"}


def test_updating_a_signpost_checks_the_version_and_audits_before_and_after(fresh_kb):
    assistant = KnowledgeBase(engine=fresh_kb.engine)
    with fresh_kb.sessions() as s:
        original = de.signpost_to_record(de.get_signpost(s, "sp-hampshire-sendiass"))
    form = {**original, "phone": "01632 960950", "minimum_age": "0", "maximum_age": "25", "authority_gss": HAMPSHIRE}
    form["is_sample"] = "yes"
    with fresh_kb.sessions.begin() as s:
        de.update_signpost(s, "ed", "sp-hampshire-sendiass", form, original["version"])
    assert next(sp for sp in assistant.catalogue().signposts if sp.id == "sp-hampshire-sendiass").phone == "01632 960950"
    with fresh_kb.sessions() as s:
        (audit,) = audit_entries(s, "signpost", "sp-hampshire-sendiass")
        assert audit.action == "update" and audit.before["phone"] == original["phone"] and audit.after["phone"] == "01632 960950"
        assert audit.summary == "Changed phone of Hampshire SENDIAS service (sample)"
    # a second editor who opened the old version is refused, and told what it says now
    with fresh_kb.sessions.begin() as s, pytest.raises(EditConflict) as conflict:
        de.update_signpost(s, "other", "sp-hampshire-sendiass", {**form, "phone": "01632 960951"}, original["version"])
    assert conflict.value.current["phone"] == "01632 960950"
    with fresh_kb.sessions() as s:
        assert de.get_signpost(s, "sp-hampshire-sendiass").phone == "01632 960950"
        assert len(audit_entries(s, "signpost", "sp-hampshire-sendiass")) == 1


def test_saving_an_unchanged_signpost_writes_nothing(fresh_kb):
    with fresh_kb.sessions() as s:
        record = de.signpost_to_record(de.get_signpost(s, "sp-hampshire-sendiass"))
    form = {**record, "minimum_age": "0", "maximum_age": "25", "is_sample": "yes", "authority_gss": HAMPSHIRE}
    with fresh_kb.sessions.begin() as s:
        de.update_signpost(s, "ed", "sp-hampshire-sendiass", form, record["version"])
    with fresh_kb.sessions() as s:
        assert de.get_signpost(s, "sp-hampshire-sendiass").version == record["version"]
        assert audit_entries(s, "signpost") == []


def test_removing_a_signpost_is_version_checked_and_audited(fresh_kb):
    assistant = KnowledgeBase(engine=fresh_kb.engine)
    assert any(sp.id == "sp-hampshire-parent-carer-forum" for sp in assistant.catalogue().signposts)
    with fresh_kb.sessions() as s:
        version = de.get_signpost(s, "sp-hampshire-parent-carer-forum").version
    with fresh_kb.sessions.begin() as s, pytest.raises(EditConflict):
        de.delete_signpost(s, "ed", "sp-hampshire-parent-carer-forum", version + 1)
    with fresh_kb.sessions.begin() as s:
        de.delete_signpost(s, "ed", "sp-hampshire-parent-carer-forum", version)
    assert not any(sp.id == "sp-hampshire-parent-carer-forum" for sp in assistant.catalogue().signposts)
    with fresh_kb.sessions() as s:
        (audit,) = audit_entries(s, "signpost", "sp-hampshire-parent-carer-forum")
        assert audit.action == "delete" and audit.after is None and audit.before["kind"] == "parent_carer_forum"
        with pytest.raises(de.NotFound):
            de.get_signpost(s, "sp-hampshire-parent-carer-forum")


# --- need synonyms -----------------------------------------------------------------------------


def test_a_new_synonym_is_understood_by_a_second_knowledge_base_without_retraining(fresh_kb):
    assistant = KnowledgeBase(engine=fresh_kb.engine)
    phrase = "Zorbly   Wibbles"  # made up: nobody's vocabulary has it
    vocabulary = assistant.catalogue().vocabulary
    assert vocabulary.resolve("zorbly wibbles") is None
    assert vocabulary.codes_in_text("he has the zorbly wibbles at school") == []
    with fresh_kb.sessions.begin() as s:
        synonym = de.add_synonym(s, "ed", "semh", phrase, "description")
        assert synonym.phrase == "zorbly wibbles"
    vocabulary = assistant.catalogue().vocabulary
    assert vocabulary.resolve("Zorbly Wibbles") == "semh"
    assert vocabulary.codes_in_text("he has the zorbly wibbles at school") == ["semh"]
    with fresh_kb.sessions() as s:
        (audit,) = audit_entries(s, "need_synonym")
        assert audit.after == {"id": synonym.id, "need": "semh", "phrase": "zorbly wibbles", "kind": "description"}
        assert audit.actor == "ed"


def test_a_duplicate_synonym_is_refused_naming_the_need_that_has_it(fresh_kb):
    with fresh_kb.sessions.begin() as s:
        with pytest.raises(de.ValidationFailed) as failed:
            de.add_synonym(s, "ed", "adhd", "On The Spectrum")
        assert "autism (including Asperger's)" in failed.value.errors["phrase"] and "already" in failed.value.errors["phrase"]
        with pytest.raises(de.ValidationFailed) as failed:
            de.add_synonym(s, "ed", "autism", "aspergers")  # the seed has "asperger's": the same loosely
        assert "this need" in failed.value.errors["phrase"]
        with pytest.raises(de.ValidationFailed) as failed:
            de.add_synonym(s, "ed", "hearing", "dyslexia")
        assert "dyslexia" in failed.value.errors["phrase"]
        with pytest.raises(de.ValidationFailed) as failed:
            de.add_synonym(s, "ed", "hearing", "  ")
        assert "Enter a word" in failed.value.errors["phrase"]
        with pytest.raises(de.ValidationFailed) as failed:
            de.add_synonym(s, "ed", "hearing", "ear trouble", "nickname")
        assert "kind" in failed.value.errors
        with pytest.raises(de.NotFound):
            de.add_synonym(s, "ed", "telepathy", "mind reading")
        assert audit_entries(s, "need_synonym") == []


def test_removing_a_synonym_stops_it_being_understood(fresh_kb):
    assistant = KnowledgeBase(engine=fresh_kb.engine)
    assert assistant.catalogue().vocabulary.resolve("glue ear") == "hearing"
    with fresh_kb.sessions() as s:
        synonym = s.execute(select(m.NeedSynonym).where(m.NeedSynonym.phrase == "glue ear")).scalar_one()
        synonym_id, version = synonym.id, synonym.version
    with fresh_kb.sessions.begin() as s, pytest.raises(de.NotFound):
        de.remove_synonym(s, "ed", "vision", synonym_id, version)  # it belongs to hearing, not vision
    with fresh_kb.sessions.begin() as s:
        de.remove_synonym(s, "ed", "hearing", synonym_id, version)
    assert assistant.catalogue().vocabulary.codes_in_text("she has glue ear") == []
    with fresh_kb.sessions() as s:
        (audit,) = audit_entries(s, "need_synonym", synonym_id)
        assert audit.action == "delete" and audit.before["phrase"] == "glue ear"


# --- places and postcodes ----------------------------------------------------------------------


def test_a_new_village_resolves_to_its_district_in_a_second_knowledge_base(fresh_kb):
    assistant = KnowledgeBase(engine=fresh_kb.engine)
    assert assistant.catalogue().gazetteer.find_in_text("we live in Little Snorington") is None
    with fresh_kb.sessions.begin() as s:
        place = de.create_place(
            s,
            "ed",
            {
                "name": " Little  Snorington ",
                "kind": "village",
                "district_gss": WINCHESTER,
                "aliases": "Snorington, L. Snorington",
            },
        )
        place_id = place.id
        assert place.authority_gss == HAMPSHIRE and place.aliases == ["Snorington", "L. Snorington"]
    gazetteer = assistant.catalogue().gazetteer
    resolved = gazetteer.find_in_text("we live in Little Snorington")
    assert resolved.district_gss == WINCHESTER and resolved.district_name == "Winchester" and resolved.in_coverage
    assert gazetteer.resolve("snorington").district_gss == WINCHESTER
    with fresh_kb.sessions.begin() as s:
        shown = de.get_place(s, place_id).version  # what the editor's form showed
        de.update_place(
            s, "ed", place_id, {"name": "Little Snorington", "kind": "village", "district_gss": HAVANT, "aliases": ""}, shown
        )
    with fresh_kb.sessions.begin() as s, pytest.raises(EditConflict):  # a second save from that same form
        de.update_place(
            s, "ed", place_id, {"name": "Snorington", "kind": "village", "district_gss": HAVANT, "aliases": ""}, shown
        )
    assert assistant.catalogue().gazetteer.resolve("Little Snorington").district_gss == HAVANT
    assert assistant.catalogue().gazetteer.find_in_text("near snorington") is None
    with fresh_kb.sessions.begin() as s:
        de.delete_place(s, "ed", place_id, shown + 1)
    assert assistant.catalogue().gazetteer.find_in_text("we live in Little Snorington") is None
    with fresh_kb.sessions() as s:
        actions = [a.action for a in audit_entries(s, "place", place_id)]
        assert actions == ["create", "update", "delete"]
        update = audit_entries(s, "place", place_id)[1]
        assert update.before["district_gss"] == WINCHESTER and update.after["district_gss"] == HAVANT


def test_a_stale_save_or_removal_of_a_place_is_a_conflict_and_changes_nothing(fresh_kb):
    with fresh_kb.sessions() as s:
        place = s.execute(select(m.Place).where(m.Place.name == "Emsworth")).scalar_one()
        place_id, shown = place.id, place.version
        form = {"name": "Emsworth", "kind": "town", "district_gss": place.district_gss, "aliases": ""}
    with fresh_kb.sessions.begin() as s:  # another editor saves first
        de.update_place(s, "other", place_id, {**form, "aliases": "Emsworth Harbour"}, shown)
    with fresh_kb.sessions.begin() as s:
        with pytest.raises(EditConflict) as conflict:
            de.update_place(s, "ed", place_id, {**form, "aliases": "Emsworth Village"}, shown)
        assert conflict.value.current["aliases"] == ["Emsworth Harbour"]
        with pytest.raises(EditConflict):
            de.delete_place(s, "ed", place_id, shown)
        with pytest.raises(EditConflict):
            de.delete_place(s, "ed", place_id, None)  # a form that carried no version
    with fresh_kb.sessions() as s:
        assert de.get_place(s, place_id).aliases == ["Emsworth Harbour"]
        assert [a.actor for a in audit_entries(s, "place", place_id)] == ["other"]


def test_a_stale_change_or_removal_of_a_need_word_is_a_conflict_and_changes_nothing(fresh_kb):
    with fresh_kb.sessions() as s:
        synonym = s.execute(select(m.NeedSynonym).where(m.NeedSynonym.phrase == "glue ear")).scalar_one()
        synonym_id, shown = synonym.id, synonym.version
    with fresh_kb.sessions.begin() as s:  # another editor saves first: it is a description, not a synonym
        de.update_synonym(s, "other", "hearing", synonym_id, "glue ear", "description", shown)
    with fresh_kb.sessions.begin() as s:
        with pytest.raises(EditConflict) as conflict:
            de.update_synonym(s, "ed", "hearing", synonym_id, "glue-ear", "misspelling", shown)
        assert conflict.value.current["kind"] == "description"
        with pytest.raises(EditConflict):
            de.remove_synonym(s, "ed", "hearing", synonym_id, shown)
    with fresh_kb.sessions() as s:
        synonym = s.get(m.NeedSynonym, synonym_id)
        assert (synonym.phrase, synonym.kind, synonym.version) == ("glue ear", "description", shown + 1)
        assert [a.actor for a in audit_entries(s, "need_synonym", synonym_id)] == ["other"]
    assert fresh_kb.catalogue().vocabulary.resolve("glue ear") == "hearing"


def test_invalid_places_are_refused(fresh_kb):
    with fresh_kb.sessions.begin() as s:
        cases = [
            ({"name": "", "kind": "village", "district_gss": HAVANT}, "name"),
            ({"name": "Nowhere", "kind": "hamlet", "district_gss": HAVANT}, "kind"),
            ({"name": "Nowhere", "kind": "village", "district_gss": "E07999999"}, "district_gss"),
            ({"name": "Nowhere", "kind": "village"}, "district_gss"),
            ({"name": "Nowhere", "kind": "village", "authority_gss": HAMPSHIRE}, "district_gss"),  # has districts
            ({"name": "Nowhere", "kind": "village", "district_gss": HAVANT, "authority_gss": "E06000045"}, "authority_gss"),
            ({"name": "emsworth", "kind": "town", "district_gss": HAVANT}, "name"),  # already there
        ]
        for form, field_name in cases:
            with pytest.raises(de.ValidationFailed) as failed:
                de.create_place(s, "ed", form)
            assert field_name in failed.value.errors, form
        assert audit_entries(s, "place") == []


def test_a_place_outside_our_districts_takes_its_authority(fresh_kb):
    reading = "E06000038"
    with fresh_kb.sessions.begin() as s:
        place = de.create_place(s, "ed", {"name": "Purley on Thames", "kind": "village", "authority_gss": reading})
        assert place.district_gss is None and place.authority_gss == reading
    resolved = fresh_kb.catalogue().gazetteer.resolve("Purley on Thames")
    assert resolved.authority_gss == reading and not resolved.in_coverage


def test_postcode_districts_are_added_moved_and_removed(fresh_kb):
    assistant = KnowledgeBase(engine=fresh_kb.engine)
    gazetteer = assistant.catalogue().gazetteer
    assert gazetteer.resolve("PO99 1AA").__class__.__name__ == "PlaceError"  # a PO code we do not know
    with fresh_kb.sessions.begin() as s:
        row, created = de.set_postcode(s, "ed", {"outward_code": " po99 ", "district_gss": HAVANT})
        assert created and row.outward_code == "PO99" and row.authority_gss == HAMPSHIRE
    assert assistant.catalogue().gazetteer.resolve("PO99 1AA").district_gss == HAVANT
    with fresh_kb.sessions.begin() as s:
        move = {"outward_code": "PO99", "district_gss": WINCHESTER, "note": "new estate"}
        with pytest.raises(EditConflict) as conflict:  # typed into the add form: the editor has not seen where it is
            de.set_postcode(s, "ed", move)
        assert conflict.value.current["district_gss"] == HAVANT
    with fresh_kb.sessions.begin() as s:
        row, created = de.set_postcode(s, "ed", {**move, "version": "1"})
        assert not created
    assert assistant.catalogue().gazetteer.resolve("po99").district_gss == WINCHESTER
    with fresh_kb.sessions.begin() as s:
        for form, field_name in (
            ({"outward_code": "99PO", "district_gss": HAVANT}, "outward_code"),
            ({"outward_code": "", "district_gss": HAVANT}, "outward_code"),
            ({"outward_code": "PO98", "district_gss": "E07000000"}, "district_gss"),
        ):
            with pytest.raises(de.ValidationFailed) as failed:
                de.set_postcode(s, "ed", form)
            assert field_name in failed.value.errors
    with fresh_kb.sessions.begin() as s:
        de.delete_postcode(s, "ed", "po99", 2)
    assert assistant.catalogue().gazetteer.resolve("PO99 1AA").__class__.__name__ == "PlaceError"
    with fresh_kb.sessions() as s:
        entries = audit_entries(s, "postcode_district", "PO99")
        assert [e.action for e in entries] == ["create", "update", "delete"]
        assert entries[1].before["district_gss"] == HAVANT and entries[1].after == {
            "outward_code": "PO99",
            "district_gss": WINCHESTER,
            "authority_gss": HAMPSHIRE,
            "note": "new estate",
        }


# --- review ------------------------------------------------------------------------------------


def test_services_due_review_oldest_first_and_marking_one_reviewed(fresh_kb):
    today = TODAY + timedelta(days=30)
    with fresh_kb.sessions.begin() as s:
        services = list(s.execute(select(m.Service).order_by(m.Service.id)).scalars())
        old, older, fresh = services[0], services[1], services[2]
        old.last_reviewed, old.review_interval_days = today - timedelta(days=400), 365
        older.last_reviewed, older.review_interval_days = today - timedelta(days=800), 365
        fresh.last_reviewed, fresh.review_interval_days = today - timedelta(days=10), 365
        ids = old.id, older.id, fresh.id
    with fresh_kb.sessions() as s:
        due = de.services_due_review(s, today)
        due_ids = [d.id for d in due]
        assert ids[1] in due_ids and ids[0] in due_ids and ids[2] not in due_ids
        assert due_ids.index(ids[1]) < due_ids.index(ids[0])
        dues = [d.due or date.min for d in due]
        assert dues == sorted(dues)
        version = next(d.version for d in due if d.id == ids[0])
    with fresh_kb.sessions.begin() as s, pytest.raises(EditConflict):
        de.mark_reviewed(s, "ed", ids[0], version - 1, today)
    with fresh_kb.sessions.begin() as s:
        de.mark_reviewed(s, "ed", ids[0], version, today)
    with fresh_kb.sessions() as s:
        assert ids[0] not in [d.id for d in de.services_due_review(s, today)]
        assert s.get(m.Service, ids[0]).last_reviewed == today
        (audit,) = audit_entries(s, "service", ids[0])
        assert audit.before == {"last_reviewed": (today - timedelta(days=400)).isoformat()}
        assert audit.after == {"last_reviewed": today.isoformat()}
        with pytest.raises(de.NotFound):
            de.mark_reviewed(s, "ed", "no-such-service", 1, today)


# --- import and export -------------------------------------------------------------------------


def test_export_then_import_with_one_change_updates_exactly_that_service(fresh_kb):
    with fresh_kb.sessions() as s:
        text, count = de.export_text(s, "json")
    data = json.loads(text)
    assert count == len(data["services"]) > 0
    target = data["services"][0]
    target["maximum_age"] = 24 if target["maximum_age"] != 24 else 23
    dataset = read_text(json.dumps(data), "json")
    with fresh_kb.sessions() as s:
        check = de.check_file(s, dataset, TODAY)
        assert check.errors == [] and check.would.updated == [target["id"]]
        s.rollback()
    with fresh_kb.sessions() as s:
        assert s.get(m.Service, target["id"]).maximum_age != target["maximum_age"]  # the check wrote nothing
    with fresh_kb.sessions.begin() as s:
        report = de.import_file(s, "ed", "services.json", read_text(json.dumps(data), "json"), TODAY)
    assert report.updated == [target["id"]] and report.created == [] and len(report.unchanged) == count - 1
    with fresh_kb.sessions() as s:
        assert float(s.get(m.Service, target["id"]).maximum_age) == target["maximum_age"]
        (service_audit,) = audit_entries(s, "service", target["id"])
        assert service_audit.after["maximum_age"] == target["maximum_age"]
        assert service_audit.before["maximum_age"] != target["maximum_age"]
        (import_audit,) = audit_entries(s, "import")
        assert import_audit.entity_id == "services.json" and import_audit.after["updated"] == 1 and import_audit.actor == "ed"
    with fresh_kb.sessions.begin() as s:
        again = de.import_file(s, "ed", "services.json", read_text(json.dumps(data), "json"), TODAY)
    assert not again.changed and len(again.unchanged) == count
    with fresh_kb.sessions() as s:
        assert len(audit_entries(s, "service")) == 1 and len(audit_entries(s, "import")) == 2


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_an_export_imports_back_unchanged(fresh_kb, fmt):
    with fresh_kb.sessions() as s:
        text, count = de.export_text(s, fmt)
    dataset = de.read_upload(f"export.{fmt}", text.encode("utf-8"))
    with fresh_kb.sessions.begin() as s:
        report = de.import_file(s, "ed", f"export.{fmt}", dataset, TODAY)
    assert not report.changed and len(report.unchanged) == count


def test_a_file_with_one_bad_row_imports_nothing(fresh_kb):
    with fresh_kb.sessions() as s:
        text, _count = de.export_text(s, "json")
        before = de.export_text(s, "json")[0]
    data = json.loads(text)
    data["services"][0]["name"] = data["services"][0]["name"] + " (changed)"
    data["services"][2]["local_offer"]["tier"] = "premium"
    with pytest.raises(ImportRejected) as rejected:
        with fresh_kb.sessions.begin() as s:
            de.import_file(s, "ed", "bad.json", read_text(json.dumps(data), "json"), TODAY)
    errors = [p for p in rejected.value.problems if p.severity == "error"]
    assert [(p.row, p.field) for p in errors] == [(3, "tier")]
    with fresh_kb.sessions() as s:
        assert de.export_text(s, "json")[0] == before
        assert audit_entries(s, "import") == [] and audit_entries(s, "service") == []


def test_unreadable_uploads_are_refused_plainly():
    with pytest.raises(FileFormatError, match="format"):
        de.read_upload("services.txt", b"[]")
    with pytest.raises(FileFormatError, match="UTF-8"):
        de.read_upload("services.csv", "id,name\n1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match="empty"):
        de.read_upload("services.json", b"  ")
    with pytest.raises(FileFormatError, match="JSON"):
        de.read_upload("services.json", b"{not json")
    assert de.upload_format("x.YML") == "yaml" and de.upload_format("x.txt", "csv") == "csv"
