"""Other directories' taxonomy terms mapped to our need codes (the table administrators edit in the browser)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.audit import NotFound, ValidationFailed, record_change
from knowledge.records import Dataset, Problem
from knowledge.store import need_term_ids


def apply_mapping(session: Session, dataset: Dataset, *, record_new: bool) -> list[Problem]:
    """Add the mapped need codes to each service with foreign terms; warn about unmapped terms.

    With record_new, terms met for the first time are stored (unmapped) so they appear on the
    administrators' mapping page.
    """
    if not dataset.foreign_terms:
        return []
    rows = {(r.taxonomy, r.term_id): r for r in session.execute(select(m.TaxonomyMapping)).scalars()}
    problems: list[Problem] = []
    by_row = dict(dataset.services)
    for row, terms in dataset.foreign_terms.items():
        record = by_row.get(row)
        if record is None:
            continue
        needs = set(record["needs"])
        for term in terms:
            key = (term["taxonomy"], term["term_id"])
            mapping = rows.get(key)
            if mapping is None and record_new:
                mapping = m.TaxonomyMapping(taxonomy=key[0], term_id=key[1], term_name=term["name"], need_code=None)
                session.add(mapping)
                rows[key] = mapping
            if mapping is not None and mapping.need_code:
                needs.add(mapping.need_code)
            else:
                where = f" ({term['taxonomy']})" if term["taxonomy"] else ""
                message = f"taxonomy term {term['name']!r}{where} is not mapped to a need yet (Taxonomy mapping page)"
                problems.append(Problem(row, "attributes", message, "warning", record["id"]))
        record["needs"] = sorted(needs)
    return problems


def list_mappings(session: Session) -> list[m.TaxonomyMapping]:
    """Unmapped terms first, then by taxonomy and name."""
    rows = session.execute(select(m.TaxonomyMapping)).scalars().all()
    return sorted(rows, key=lambda r: (r.need_code is not None, r.taxonomy.casefold(), r.term_name.casefold(), r.term_id))


def set_mapping(session: Session, actor: str, mapping_id, need_code: str | None) -> m.TaxonomyMapping:
    """Map a term to a need (or clear it with None/""); audited. Re-import the feed for services to pick it up."""
    try:
        row = session.get(m.TaxonomyMapping, int(mapping_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound(f"There is no taxonomy term {mapping_id}")
    need_code = (need_code or "").strip() or None
    if need_code is not None and need_code not in need_term_ids(session):
        raise ValidationFailed({"need_code": "Choose one of the needs in the list"})
    before = {"need_code": row.need_code}
    if before["need_code"] == need_code:
        return row
    row.need_code = need_code
    row.updated_by = actor
    session.flush()
    record_change(
        session,
        actor,
        "taxonomy_mapping",
        str(row.id),
        "update",
        before,
        {"need_code": need_code},
        f"Mapped {row.term_name!r} to {need_code or 'no need'}",
    )
    return row
