"""knowledge.changes and knowledge.import_preview: what an import would do, and applying exactly that."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from sqlalchemy import select

from knowledge import models as m
from knowledge.changes import differences, plan_changes
from knowledge.cli import main
from knowledge.formats import FileFormatError, read_text
from knowledge.import_preview import (
    RETIRE_SCOPE,
    PreviewOutdated,
    apply_file,
    pack,
    plan_lines,
    preview_file,
    unpack,
)
from knowledge.importer import check_dataset, export_text, import_dataset
from tests.conftest import TODAY


def exported(kb) -> dict:
    with kb.sessions() as session:
        return json.loads(export_text(session, "json")[0])


def as_file(data: dict) -> bytes:
    return json.dumps(data).encode()


def preview(kb, content: bytes, name: str = "services.json"):
    with kb.sessions() as session:
        try:
            return preview_file(session, name, content, "", TODAY)
        finally:
            session.rollback()


def apply(kb, content: bytes, digest: str, name: str = "services.json", **kwargs):
    with kb.sessions.begin() as session:
        return apply_file(session, "ada", name, content, "", digest, today=TODAY, **kwargs)


def service(kb, service_id: str) -> m.Service:
    with kb.sessions() as session:
        return session.get(m.Service, service_id)


def audits(kb, action: str | None = None) -> list[m.AuditEntry]:
    with kb.sessions() as session:
        query = select(m.AuditEntry).order_by(m.AuditEntry.id)
        return [a for a in session.execute(query).scalars() if action is None or a.action == action]


def one_changed(kb) -> tuple[dict, dict]:
    """The whole export with one service's maximum age and name changed: (file data, that service)."""
    data = exported(kb)
    target = data["services"][3]
    target["maximum_age"] = 25 if target["maximum_age"] != 25 else 24
    target["name"] += " (new name)"
    return data, target


def test_differences_are_field_by_field_and_only_what_the_new_record_says():
    before = {"id": "a", "name": "Old", "maximum_age": 18.0, "email": "x@example.org"}
    assert differences(before, {"id": "a", "name": "New", "maximum_age": 18.0}) == {"name": ["Old", "New"]}
    assert differences(before, {"id": "b", "email": "x@example.org"}) == {}


def test_the_plan_of_a_whole_export_with_one_change_is_that_change_and_matches_the_import(fresh_kb):
    data, target = one_changed(fresh_kb)
    before = service(fresh_kb, target["id"])
    shown = preview(fresh_kb, as_file(data))
    plan = shown.plan
    assert plan.services_changed == {
        target["id"]: {"name": [before.name, target["name"]], "maximum_age": [float(before.maximum_age), target["maximum_age"]]}
    }
    assert plan.services_added == [] and plan.organisations_added == [] and plan.organisations_changed == {}
    assert len(plan.services_unchanged) == len(data["services"]) - 1 and plan.absent == []
    assert plan.names[target["id"]] == target["name"]
    with fresh_kb.sessions() as session:  # the dry-run importer agrees with the plan, service by service
        report = import_dataset(session, read_text(json.dumps(data), "json"), dry_run=True, today=TODAY)
        session.rollback()
    assert (report.updated, sorted(report.unchanged), report.created) == ([target["id"]], sorted(plan.services_unchanged), [])
    assert service(fresh_kb, target["id"]).name == before.name and audits(fresh_kb) == []  # a preview writes nothing
    lines = plan_lines(plan)
    assert f"  change service {target['id']} ({target['name']}):" in lines
    assert f"    Maximum age: {float(before.maximum_age):g} -> {target['maximum_age']:g}" in lines


def test_new_records_and_services_left_out_of_a_partial_file(fresh_kb):
    data = exported(fresh_kb)
    kept = data["services"][:2]
    new = json.loads(json.dumps(kept[0]))
    new.update(id="svc-new-sensory-swim", name="New sensory swim")
    new["organization"] = {"id": "org-new-swim", "name": "New Swim Club", "description": "Swimming for all"}
    with fresh_kb.sessions.begin() as session:
        synced = session.execute(select(m.Service).where(m.Service.id.notin_([s["id"] for s in kept]))).scalars().first()
        synced.source_url = "https://directory.example/api"  # kept in step by a sync: never retired by an import
    shown = preview(fresh_kb, as_file({"services": [*kept, new], "organizations": []}), "partial.json")
    plan = shown.plan
    assert [r["id"] for r in plan.services_added] == ["svc-new-sensory-swim"]
    assert [o["id"] for o in plan.organisations_added] == ["org-new-swim"]
    with fresh_kb.sessions() as session:
        offered = set(session.execute(select(m.Service.id).where(m.Service.status.notin_(("inactive", "defunct")))).scalars())
    absent = {a["id"] for a in plan.absent}
    assert absent == offered - {s["id"] for s in kept} - {synced.id}
    assert shown.can_apply
    assert any("are not in the file and are kept" in line for line in plan_lines(plan))


def test_apply_does_exactly_what_the_preview_showed_and_audits_it(fresh_kb):
    data, target = one_changed(fresh_kb)
    content = as_file(data)
    shown = preview(fresh_kb, content, "one.json")
    assert preview(fresh_kb, content, "one.json").digest == shown.digest  # the same file and knowledge base: the same digest
    applied = apply(fresh_kb, content, shown.digest, "one.json")
    assert applied.report.updated == [target["id"]] and applied.retired == []
    stored = service(fresh_kb, target["id"])
    assert stored.name == target["name"] and float(stored.maximum_age) == target["maximum_age"]
    assert [(a.entity_type, a.entity_id) for a in audits(fresh_kb)] == [("service", target["id"]), ("import", "one.json")]
    again = preview(fresh_kb, content, "one.json")
    assert again.plan.services_changed == {} and not again.can_apply and again.digest != shown.digest


def test_retiring_the_services_left_out_only_when_asked(fresh_kb):
    data = exported(fresh_kb)
    content = as_file({"services": data["services"][:5], "organizations": data["organizations"]})
    shown = preview(fresh_kb, content, "five.json")
    absent = [a["id"] for a in shown.plan.absent]
    assert len(absent) > 100
    apply(fresh_kb, content, shown.digest, "five.json")
    service_status_before = service(fresh_kb, absent[0]).status
    assert service_status_before != "inactive"  # not ticked: kept
    shown = preview(fresh_kb, content, "five.json")
    applied = apply(fresh_kb, content, shown.digest, "five.json", retire_absent=True)
    assert applied.retired == absent
    assert {service(fresh_kb, sid).status for sid in absent} == {"inactive"}
    retirements = audits(fresh_kb, "retire")
    assert [a.entity_id for a in retirements] == absent and retirements[0].summary == "Retired: not in five.json"
    assert retirements[0].before == {"status": service_status_before} and retirements[0].after == {"status": "inactive"}
    assert preview(fresh_kb, content, "five.json").plan.absent == []  # retired services are no longer "left out"


def test_a_change_after_the_preview_writes_nothing_and_gives_the_new_preview(fresh_kb):
    data, target = one_changed(fresh_kb)
    content = as_file(data)
    shown = preview(fresh_kb, content)
    with fresh_kb.sessions.begin() as session:  # another editor changes the service meanwhile
        session.get(m.Service, target["id"]).description = "Changed by someone else"
    with pytest.raises(PreviewOutdated) as outdated:
        apply(fresh_kb, content, shown.digest)
    assert service(fresh_kb, target["id"]).name != target["name"] and audits(fresh_kb) == []
    fresh = outdated.value.preview
    assert fresh.plan.services_changed[target["id"]]["description"][0] == "Changed by someone else"
    applied = apply(fresh_kb, content, fresh.digest)
    assert applied.report.updated == [target["id"]]


def test_a_change_to_a_service_left_out_also_outdates_a_preview(fresh_kb):
    data = exported(fresh_kb)
    content = as_file({"services": data["services"][:5], "organizations": data["organizations"]})
    shown = preview(fresh_kb, content)
    left_out = shown.plan.absent[0]["id"]
    with fresh_kb.sessions.begin() as session:
        session.get(m.Service, left_out).name = "Renamed meanwhile"
    with pytest.raises(PreviewOutdated):
        apply(fresh_kb, content, shown.digest, retire_absent=True)
    assert service(fresh_kb, left_out).status != "inactive"


def test_another_file_or_a_forged_digest_is_never_applied(fresh_kb):
    data, _target = one_changed(fresh_kb)
    shown = preview(fresh_kb, as_file(data))
    data["services"][0]["name"] += " (slipped in)"
    with pytest.raises(PreviewOutdated):
        apply(fresh_kb, as_file(data), shown.digest)
    with pytest.raises(PreviewOutdated):
        apply(fresh_kb, as_file(data), "0" * 64)
    assert audits(fresh_kb) == []


def test_a_file_with_errors_has_no_plan(fresh_kb):
    data = exported(fresh_kb)
    data["services"][0]["name"] = ""
    shown = preview(fresh_kb, as_file(data))
    assert shown.plan is None and shown.check.errors and not shown.can_apply and shown.digest == ""
    with pytest.raises(PreviewOutdated):
        apply(fresh_kb, as_file(data), "")


def test_the_file_travels_compressed_and_damage_is_refused():
    content = json.dumps({"services": [{"id": f"s{i}", "name": "Swim"} for i in range(2000)]}).encode()
    packed = pack(content)
    assert unpack(packed) == content and len(packed) < len(content) / 5
    for damaged in ("not base64!", base64.b64encode(b"not zlib").decode(), packed[: len(packed) // 2]):
        with pytest.raises(FileFormatError, match="upload it again"):
            unpack(damaged)
    bomb = base64.b64encode(zlib.compress(b"0" * (21 * 1024 * 1024))).decode()
    with pytest.raises(FileFormatError):
        unpack(bomb)


def test_the_plan_needs_a_checked_dataset_to_match_what_is_stored(fresh_kb):
    """Area names become codes when checked: compared before that, every service would look changed."""
    data = exported(fresh_kb)
    text = json.dumps({"services": data["services"][:3], "organizations": data["organizations"]})
    with fresh_kb.sessions() as session:
        dataset = read_text(text, "json")
        check_dataset(session, dataset, TODAY)
        plan = plan_changes(session, dataset, RETIRE_SCOPE)
    assert plan.services_changed == {} and len(plan.services_unchanged) == 3


def test_the_cli_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    assert main(["--database", url, "seed"]) == 0
    path = tmp_path / "all.json"
    assert main(["--database", url, "export", str(path)]) == 0
    data = json.loads(path.read_text())
    target = data["services"][0]
    old_max = target["maximum_age"]
    target["maximum_age"] = 25 if old_max != 25 else 24
    path.write_text(json.dumps({"services": [target], "organizations": data["organizations"]}))
    capsys.readouterr()
    assert main(["--database", url, "import", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"  change service {target['id']} ({target['name']}):" in out
    assert f"    Maximum age: {old_max:g} -> {target['maximum_age']:g}" in out
    assert "are not in the file and are kept" in out
    assert main(["--database", url, "import", str(path), "--dry-run"]) == 0
    assert f"change service {target['id']}" in capsys.readouterr().out  # still to do: nothing was written
