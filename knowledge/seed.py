"""Load the seed files (knowledge/seed/) into the knowledge base, in one transaction.

Loading is an upsert keyed on stable ids, codes and names: running it twice
changes nothing the second time, and data an administrator added is kept.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.formats import read_file
from knowledge.helpline import WEEKDAYS
from knowledge.importer import ImportReport, import_dataset
from knowledge.records import Dataset
from knowledge.text import loose
from knowledge.vocabulary import SERVICE_TAGS, SIGNPOST_KINDS, SIGNPOST_SCOPES

SEED_DIR = Path(__file__).resolve().parent / "seed"
DEFAULT_HELPLINE_ID = "sp-hampshire-send-helpline"


def seed_helpline(signpost_id: str = DEFAULT_HELPLINE_ID) -> dict:
    """A helpline's contact from the seed file itself: for replies when the database can't be reached."""
    data = yaml.safe_load((SEED_DIR / "signposts.yaml").read_text(encoding="utf-8"))
    return next(sp for sp in data["signposts"] if sp["id"] == signpost_id)


class SeedError(ValueError):
    pass


@dataclass
class SeedReport:
    changed: dict[str, int] = field(default_factory=dict)
    services: ImportReport | None = None

    def lines(self) -> list[str]:
        out = [f"{name}: {count} added or changed" for name, count in self.changed.items()]
        if self.services:
            out.append(self.services.summary())
        return out


def _upsert(session: Session, model, key: dict, values: dict) -> bool:
    """Insert or update one row; True if anything changed."""
    row = session.get(model, tuple(key.values()) if len(key) > 1 else next(iter(key.values())))
    if row is None:
        session.add(model(**key, **values))
        return True
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split("|") if part.strip()]


def _age(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def load_needs(session: Session, path: Path) -> int:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    changed = 0
    owner: dict[str, str] = {}
    for entry in data["needs"]:
        code = entry["code"]
        if code not in SERVICE_TAGS:
            raise SeedError(f"{path.name}: {code!r} is not a need code of the shared vocabulary")
        term_id = f"{m.NEEDS_TAXONOMY}:{code}"
        values = {
            "code": code,
            "taxonomy": m.NEEDS_TAXONOMY,
            "name": entry["name"],
            "plain_name": entry.get("plain_name"),
            "description": entry.get("description"),
            "broad_area": entry.get("broad_area"),
        }
        changed += _upsert(session, m.TaxonomyTerm, {"id": term_id}, values)
        session.flush()
        for kind, key in (
            ("synonym", "synonyms"),
            ("abbreviation", "abbreviations"),
            ("misspelling", "misspellings"),
            ("description", "descriptions"),
            ("cue", "cues"),
        ):
            for phrase in entry.get(key) or []:
                phrase = " ".join(str(phrase).split()).lower()
                if loose(phrase) in owner and owner[loose(phrase)] != code:
                    raise SeedError(f"{path.name}: {phrase!r} is listed under both {owner[loose(phrase)]} and {code}")
                owner[loose(phrase)] = code
                existing = session.execute(select(m.NeedSynonym).where(m.NeedSynonym.phrase == phrase)).scalar_one_or_none()
                if existing is None:
                    session.add(m.NeedSynonym(taxonomy_term_id=term_id, phrase=phrase, kind=kind))
                    changed += 1
                elif (existing.taxonomy_term_id, existing.kind) != (term_id, kind):
                    existing.taxonomy_term_id, existing.kind = term_id, kind
                    changed += 1
    return changed


def load_places(session: Session, seed_dir: Path) -> dict[str, int]:
    counts = {}
    counts["authorities"] = sum(
        _upsert(
            session,
            m.LocalAuthority,
            {"gss_code": r["gss_code"]},
            {
                "name": r["name"],
                "kind": r["kind"],
                "region": r.get("region") or None,
                "in_coverage": r["in_coverage"].lower() == "yes",
                "website": r.get("website") or None,
                "council_name": r.get("council_name") or None,
                "local_offer_url": r.get("local_offer_url") or None,
            },
        )
        for r in _csv_rows(seed_dir / "authorities.csv")
    )
    session.flush()
    counts["districts"] = sum(
        _upsert(
            session,
            m.District,
            {"gss_code": r["gss_code"]},
            {"name": r["name"], "authority_gss": r["authority_gss"], "neighbours": _split(r.get("neighbours"))},
        )
        for r in _csv_rows(seed_dir / "districts.csv")
    )
    session.flush()
    existing = {(p.name, p.authority_gss): p for p in session.execute(select(m.Place)).scalars()}
    changed = 0
    for r in _csv_rows(seed_dir / "places.csv"):
        values = {
            "kind": r["kind"] or "town",
            "district_gss": r.get("district_gss") or None,
            "aliases": _split(r.get("aliases")),
        }
        place = existing.get((r["name"], r["authority_gss"]))
        if place is None:
            place = m.Place(name=r["name"], authority_gss=r["authority_gss"], **values)
            session.add(place)
            existing[(r["name"], r["authority_gss"])] = place
            changed += 1
        elif any(getattr(place, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(place, k, v)
            changed += 1
    counts["places"] = changed
    counts["postcodes"] = sum(
        _upsert(
            session,
            m.PostcodeDistrict,
            {"outward_code": r["outward_code"].upper()},
            {"district_gss": r.get("district_gss") or None, "authority_gss": r["authority_gss"], "note": r.get("note") or None},
        )
        for r in _csv_rows(seed_dir / "postcodes.csv")
    )
    session.flush()
    centroids = seed_dir / "postcode_centroids.csv"
    if centroids.exists():
        counts["postcode centres"] = sum(
            _upsert(
                session,
                m.PostcodeDistrict,
                {"outward_code": r["outward_code"].upper()},
                {"latitude": Decimal(r["latitude"]), "longitude": Decimal(r["longitude"])},
            )
            for r in _csv_rows(centroids)
            if session.get(m.PostcodeDistrict, r["outward_code"].upper()) is not None
        )
    return counts


def load_signposts(session: Session, path: Path) -> int:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    changed = 0
    for entry in data["signposts"]:
        if entry["kind"] not in SIGNPOST_KINDS or entry["scope"] not in SIGNPOST_SCOPES:
            raise SeedError(f"{path.name}: {entry['id']} has kind {entry['kind']!r} / scope {entry['scope']!r}")
        unknown = [n for n in entry.get("needs") or [] if n not in SERVICE_TAGS]
        if unknown:
            raise SeedError(f"{path.name}: {entry['id']} has unknown need codes {unknown}")
        values = {
            "name": entry["name"],
            "kind": entry["kind"],
            "scope": entry["scope"],
            "authority_gss": entry.get("authority_gss"),
            "needs": sorted(entry.get("needs") or []),
            "minimum_age": _age(entry.get("minimum_age")),
            "maximum_age": _age(entry.get("maximum_age")),
            "description": entry.get("description") or "",
            "how_to_access": entry.get("how_to_access"),
            "website": entry.get("website"),
            "phone": None if entry.get("phone") is None else str(entry["phone"]),
            "email": entry.get("email"),
            "opening_hours": entry.get("opening_hours"),
            "is_sample": bool(entry.get("is_sample", False)),
        }
        changed += _upsert(session, m.Signpost, {"id": entry["id"]}, values)
    return changed


def read_service_files(seed_dir: Path) -> Dataset:
    """All services/*.yaml files as one dataset (rows numbered per file, so problems name the file)."""
    merged = Dataset()
    for path in sorted((seed_dir / "services").glob("*.y*ml")):
        part = read_file(path)
        for problem in part.problems:
            problem.field = f"{path.name}: {problem.field}"
        merged.organizations += part.organizations
        merged.services += part.services
        merged.problems += part.problems
    return merged


def load_seed(session: Session, seed_dir: Path = SEED_DIR, today: date | None = None) -> SeedReport:
    """Load everything, in the caller's transaction: vocabulary, places, signposts, then services."""
    report = SeedReport()
    report.changed["need vocabulary"] = load_needs(session, seed_dir / "needs.yaml")
    report.changed.update(load_places(session, seed_dir))
    session.flush()
    report.changed["signposts"] = load_signposts(session, seed_dir / "signposts.yaml")
    session.flush()
    report.services = import_dataset(session, read_service_files(seed_dir), today=today)
    report.changed["helpline hours"] = load_helpline_hours(session, seed_dir / "helpline_hours.yaml")
    return report


def load_helpline_hours(session: Session, path: Path) -> int:
    """The helpline's opening hours, only into an empty table (administrators' changes are kept)."""
    if not path.exists() or session.execute(select(m.HelplineHours).limit(1)).first() is not None:
        return 0
    days = yaml.safe_load(path.read_text()) or {}
    for weekday, name in enumerate(WEEKDAYS):
        hours = days.get(name) or {}
        session.add(m.HelplineHours(weekday=weekday, opens=hours.get("opens"), closes=hours.get("closes")))
    return len(WEEKDAYS)
