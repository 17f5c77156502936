"""knowledge/listing.py on SQLite and PostgreSQL: searching and paging words, places and postcode districts."""

from __future__ import annotations

from sqlalchemy import func, select

from knowledge import listing
from knowledge import models as m


def test_words_filter_order_and_page_past_the_end(seeded_kb):
    with seeded_kb.sessions() as s:
        total = s.execute(select(func.count()).select_from(m.NeedSynonym)).scalar_one()
        first = listing.search_words(s)
        assert (first.total, first.page, len(first.items)) == (total, 1, listing.PER_PAGE)
        last = listing.search_words(s, page=10**6)
        assert last.page == first.pages and last.last == total
        found = listing.search_words(s, q="50% OFF_")  # LIKE wildcards are taken as themselves
        assert found.total == 0 and found.items == []
        hearing = listing.search_words(s, need="hearing", kind="abbreviation").items
        assert hearing and {(w.need_code, w.kind) for w in hearing} == {("hearing", "abbreviation")}
        kinds = [w.kind for w in listing.search_words(s, need="hearing", page=1).items]
        assert kinds == sorted(kinds, key=list(listing.SYNONYM_KINDS).index)  # synonyms first, as families see them


def test_places_and_postcodes_search(seeded_kb):
    with seeded_kb.sessions() as s:
        assert [p.name for p in listing.search_places(s, q="POMPEY").items] == ["Portsmouth"]
        in_area = listing.search_places(s, area="E07000090", kind="town").items
        assert in_area and all(p.area.district == "Havant" and p.kind == "Town" for p in in_area)
        codes = [r.outward_code for r in listing.search_postcodes(s, q="po1").items]
        assert codes == ["PO1", *(f"PO{n}" for n in range(10, 20))]
        assert [r.outward_code for r in listing.search_postcodes(s, q="PO9 1AB").items] == ["PO9"]
        assert listing.search_postcodes(s, q="P_9").total == 0
