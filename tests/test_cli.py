"""The administrators' command line, end to end against a real database file."""

from __future__ import annotations

import json

import pytest

from knowledge.cli import main


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'kb.db'}"
    assert main(["--database", url, "seed"]) == 0
    return url


def test_seed_twice_changes_nothing(db, capsys):
    assert main(["--database", db, "seed"]) == 0
    out = capsys.readouterr().out
    assert "0 created, 0 updated" in out


def test_seed_if_empty_keeps_an_administrators_edit(tmp_path, capsys):
    from knowledge.kb import KnowledgeBase
    from knowledge.models import Service

    url = f"sqlite:///{tmp_path / 'kb.db'}"
    assert main(["--database", url, "seed", "--if-empty"]) == 0
    assert "services:" in capsys.readouterr().out  # an empty knowledge base is loaded
    kb = KnowledgeBase(url)
    with kb.sessions.begin() as session:
        service = session.query(Service).order_by(Service.id).first()
        service.name, service_id = "Renamed by an administrator", service.id
    assert main(["--database", url, "seed", "--if-empty"]) == 0
    assert "left as it is" in capsys.readouterr().out
    with kb.sessions() as session:
        assert session.get(Service, service_id).name == "Renamed by an administrator"
    kb.dispose()


def test_export_validate_import_round_trip(db, tmp_path, capsys):
    for fmt in ("json", "csv"):
        path = tmp_path / f"export.{fmt}"
        assert main(["--database", db, "export", str(path)]) == 0
        assert main(["--database", db, "validate", str(path)]) == 0
        assert main(["--database", db, "import", str(path)]) == 0
        assert "0 created, 0 updated" in capsys.readouterr().out


def test_invalid_file_exits_non_zero_and_lists_problems(db, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"id": "x y", "name": "", "minimum_age": -3, "tier": "gold"}]))
    assert main(["--database", db, "validate", str(path)]) == 1
    out = capsys.readouterr().out
    for field in ("id", "name", "organization_id", "minimum_age", "tier"):
        assert f", {field}:" in out
    assert main(["--database", db, "import", str(path)]) == 1
    assert "Import rejected" in capsys.readouterr().out


def test_unreadable_file_is_a_clear_error(db, tmp_path, capsys):
    path = tmp_path / "services.txt"
    path.write_text("hello")
    assert main(["--database", db, "import", str(path)]) == 2
    assert "can't tell the format" in capsys.readouterr().err
    assert main(["--database", db, "import", str(tmp_path / "missing.json")]) == 2


def test_quality_and_find(db, capsys):
    assert main(["--database", db, "quality"]) == 0
    assert "past its review date" in capsys.readouterr().out
    assert main(["--database", db, "find", "--age", "7", "--need", "autism", "--place", "PO9 1AB"]) == 0
    out = capsys.readouterr().out
    assert "Status: ok" in out and "Havant" in out
    assert main(["--database", db, "find", "--age", "7", "--need", "autism", "--place", "Atlantis"]) == 1
