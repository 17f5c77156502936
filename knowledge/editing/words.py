"""Editing the words families use for each need (synonyms, abbreviations, misspellings, descriptions).

The assistant reads the new vocabulary on its next answer, without retraining (the catalogue's
data_version moves with every change).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import models as m
from knowledge.audit import NotFound, ValidationFailed, record_change
from knowledge.editing.common import check, checked_delete, flush, heading
from knowledge.text import loose

WORD = "need_synonym"
SYNONYM_KINDS = {
    "synonym": "Synonym",
    "abbreviation": "Abbreviation",
    "misspelling": "Misspelling",
    "description": "Everyday description",
    "cue": "Cue word (counts only when a parent describes a difficulty)",
}


def need_choices(session: Session) -> list[tuple[str, str]]:
    """(code, plain name as a label) of every need in the vocabulary, in name order."""
    terms = session.execute(select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)).scalars()
    return sorted(((t.code, heading(t.plain_name or t.name)) for t in terms), key=lambda pair: pair[1].casefold())


def normalise_phrase(phrase: str) -> str:
    """As the seed stores phrases: spaces folded, lower case."""
    return " ".join(str(phrase or "").split()).lower()


def _need_term(session: Session, code: str) -> m.TaxonomyTerm:
    term = session.execute(
        select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY, m.TaxonomyTerm.code == code)
    ).scalar_one_or_none()
    if term is None:
        raise NotFound(f"There is no need {code}")
    return term


def phrase_owner(session: Session, phrase: str) -> tuple[str, str] | None:
    """(code, plain name) of the need that already has this word or phrase, compared loosely; None if free."""
    key = loose(phrase)
    terms = session.execute(select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)).scalars().all()
    for term in terms:
        if key in {loose(term.code.replace("_", " ")), loose(term.name), loose(term.plain_name or "")}:
            return term.code, term.plain_name or term.name
    rows = session.execute(
        select(m.NeedSynonym.phrase, m.TaxonomyTerm.code, m.TaxonomyTerm.name, m.TaxonomyTerm.plain_name).join(m.NeedSynonym.term)
    )
    for existing, code, name, plain in rows:
        if loose(existing) == key:
            return code, plain or name
    return None


def synonym_to_record(synonym: m.NeedSynonym, code: str) -> dict:
    return {"id": synonym.id, "need": code, "phrase": synonym.phrase, "kind": synonym.kind}


def get_synonym(session: Session, code: str, synonym_id) -> m.NeedSynonym:
    """A word listed for the need `code` (NotFound if it is not, or no longer is)."""
    return _get_synonym(session, _need_term(session, code), synonym_id)


def _get_synonym(session: Session, term: m.TaxonomyTerm, synonym_id) -> m.NeedSynonym:
    try:
        synonym = session.get(m.NeedSynonym, int(synonym_id))
    except (TypeError, ValueError):
        synonym = None
    if synonym is None or synonym.taxonomy_term_id != term.id:
        raise NotFound(f"That word is not listed for {term.plain_name or term.name}")
    return synonym


def _clean_word(session: Session, code: str, phrase: str, kind: str, current: m.NeedSynonym | None = None) -> str:
    """The phrase as stored, or ValidationFailed: empty, too long, already a word for a need, unknown kind."""
    phrase = normalise_phrase(phrase)
    errors = {}
    unchanged = current is not None and loose(current.phrase) == loose(phrase)
    if not loose(phrase):
        errors["phrase"] = "Enter a word or phrase families use for this need"
    elif len(phrase) > 200:
        errors["phrase"] = "The phrase must be 200 characters or fewer"
    elif not unchanged and (owner := phrase_owner(session, phrase)) is not None:
        where = "this need" if owner[0] == code else f"the need \u201c{owner[1]}\u201d"
        errors["phrase"] = f"\u201c{phrase}\u201d is already a word for {where}"
    if kind not in SYNONYM_KINDS:
        errors["kind"] = "Choose what kind of word this is"
    if errors:
        raise ValidationFailed(errors)
    return phrase


def add_synonym(session: Session, actor: str, code: str, phrase: str, kind: str = "synonym") -> m.NeedSynonym:
    """Teach the assistant another word for a need; refused if any need already has it."""
    term = _need_term(session, code)
    phrase = _clean_word(session, code, phrase, kind)
    synonym = m.NeedSynonym(taxonomy_term_id=term.id, phrase=phrase, kind=kind)
    session.add(synonym)
    flush(session, WORD, phrase)
    record_change(
        session, actor, WORD, synonym.id, "create", None, synonym_to_record(synonym, code),
        f"Added \u201c{phrase}\u201d to {term.plain_name or term.name}",
    )  # fmt: skip
    return synonym


def update_synonym(
    session: Session, actor: str, code: str, synonym_id, phrase: str, kind: str, expected_version
) -> m.NeedSynonym:
    """Change a word (its spelling or kind) the editor saw at `expected_version`; EditConflict if it moved since."""
    term = _need_term(session, code)
    synonym = _get_synonym(session, term, synonym_id)
    before = synonym_to_record(synonym, code)
    check(WORD, synonym.id, synonym, expected_version, before)
    synonym.phrase, synonym.kind = _clean_word(session, code, phrase, kind, synonym), kind
    if session.is_modified(synonym):
        flush(session, WORD, synonym.id)
        after = synonym_to_record(synonym, code)
        record_change(session, actor, WORD, synonym.id, "update", before, after, f"Changed \u201c{before['phrase']}\u201d")
    return synonym


def remove_synonym(session: Session, actor: str, code: str, synonym_id, expected_version) -> dict:
    """Stop the assistant reading a word as this need; EditConflict if it changed since the editor saw it."""
    term = _need_term(session, code)
    synonym = _get_synonym(session, term, synonym_id)
    before = synonym_to_record(synonym, code)
    summary = f"Removed \u201c{before['phrase']}\u201d from {term.plain_name or term.name}"
    return checked_delete(session, actor, WORD, synonym.id, synonym, expected_version, before, summary)


def needs_with_synonyms(session: Session) -> list[dict]:
    """Every need with its plain name and its words, grouped by kind, in the order families see them."""
    terms = session.execute(select(m.TaxonomyTerm).where(m.TaxonomyTerm.taxonomy == m.NEEDS_TAXONOMY)).scalars().all()
    out = []
    for term in sorted(terms, key=lambda t: (t.plain_name or t.name).casefold()):
        synonyms = sorted(
            term.synonyms, key=lambda s: (list(SYNONYM_KINDS).index(s.kind) if s.kind in SYNONYM_KINDS else 9, s.phrase)
        )
        out.append(
            {
                "code": term.code,
                "name": term.name,
                "plain_name": term.plain_name or term.name,
                "heading": heading(term.plain_name or term.name),
                "description": term.description,
                "synonyms": synonyms,
            }
        )
    return out
